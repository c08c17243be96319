# The mod_wsgi module's runtime API as an app uses it: events, request_data(), metrics, RequestTimeout.
import json
import threading

import mod_wsgi

import sys

mod_wsgi.start_recording_metrics()


@mod_wsgi.subscribe_signals
def on_signal(name, **event):
    print('api.wsgi: %s %s %d' % (name, event['signame'], event['signum']), file=sys.stderr)


@mod_wsgi.subscribe_shutdown
def on_shutdown(name, **event):
    print('api.wsgi: %s shutdown_reason=%s' % (name, event['shutdown_reason']), file=sys.stderr)

EVENTS = []
FINISHED = []


@mod_wsgi.subscribe_events
def on_event(name, **event):
    EVENTS.append(name)
    if name == 'request_started':
        event['request_data']['started_by'] = threading.current_thread().name
        event['request_data']['path'] = event['request_environ'].get('PATH_INFO')
        if event['request_environ'].get('PATH_INFO') == '/replaced':
            def replacement(environ, start_response):
                start_response('200 OK', [('Content-Type', 'text/plain')])
                return [b'replaced by a subscriber']
            return {'application_object': replacement}
    if name == 'request_finished':
        FINISHED.append((event['request_data'].get('path'),
                         dict((k, v) for k, v in event.items() if k != 'request_data')))
    if name == 'request_exception':
        EVENTS.append('exception:%s' % event['exception_info'][0].__name__)


def answer(start_response, obj, status='200 OK'):
    # One KEY=json line per item of a dict (what the tests read), else the JSON of the whole.
    if isinstance(obj, dict):
        body = ''.join('%s=%s\n' % (k, json.dumps(v, default=repr, sort_keys=True)) for k, v in sorted(obj.items()))
    else:
        body = json.dumps(obj, default=repr)
    body = body.encode()
    start_response(status, [('Content-Type', 'application/json')])
    return [body]


def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    if path == '/post':
        body = environ['wsgi.input'].read()
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'got ', str(len(body)).encode()]
    if path == '/missing':
        start_response('404 Not Found', [('Content-Type', 'text/plain')])
        return [b'no']
    if path == '/raise':
        raise KeyError('from the app')
    if path == '/events':
        # request_finished of the last /post with ?len=N bytes (it runs after that response was sent: wait for it
        # a little).
        import time
        want = int((environ.get('QUERY_STRING') or 'len=-1').split('=')[-1])
        for _ in range(100):
            posted = [e for p, e in FINISHED if p == '/post' and e['input_length'] == want]
            if posted:
                break
            time.sleep(0.02)
        names, EVENTS[:] = list(EVENTS), []
        FINISHED[:] = []
        return answer(start_response, {'events': names, 'finished': posted[-1] if posted else None})
    if path == '/data':
        data = mod_wsgi.request_data()
        data['mine'] = 1
        return answer(start_response, {
            'data': sorted(k for k in data if k != 'path'), 'same': data is mod_wsgi.request_data(),
            'active': environ['mod_wsgi.request_id'] in mod_wsgi.active_requests,
            'active_is_data': mod_wsgi.active_requests.get(environ['mod_wsgi.request_id']) is data})
    if path == '/outside':
        out = []

        def other():
            try:
                mod_wsgi.request_data()
                out.append('no error')
            except RuntimeError as e:
                out.append(str(e))
        t = threading.Thread(target=other)
        t.start()
        t.join()
        return answer(start_response, out)
    if path == '/metrics':
        return answer(start_response, mod_wsgi.request_metrics())
    if path == '/process':
        return answer(start_response, mod_wsgi.process_metrics())
    if path == '/module':
        return answer(start_response, {
            'version': mod_wsgi.version, 'rwsgi_version': mod_wsgi.rwsgi_version,
            'application_group': mod_wsgi.application_group, 'process_group': mod_wsgi.process_group,
            'timeout_base': [c.__name__ for c in mod_wsgi.RequestTimeout.__mro__],
            'server_metrics': mod_wsgi.server_metrics(),
            'environ': dict((k, [type(environ[k]).__name__, environ[k]]) for k in (
                'mod_wsgi.thread_id', 'mod_wsgi.request_start', 'mod_wsgi.queue_start', 'mod_wsgi.daemon_start',
                'mod_wsgi.application_start', 'mod_wsgi.version', 'mod_rwsgi.version', 'mod_wsgi.request_id'))})
    if path == '/replaced':
        return answer(start_response, 'not replaced')
    return answer(start_response, 'ok')
