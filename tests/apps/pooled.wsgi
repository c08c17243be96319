# Probes for daemon connections reused from one request to the next (tests/pooling.rs).
import os
import threading

_event = threading.Event()


def application(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/env':
        # What the request brings with it: nothing of an earlier request on the same connection may show here.
        body = environ['wsgi.input'].read()
        lines = ['%s\t%s' % (k, environ[k]) for k in sorted(environ)
                 if k.startswith('HTTP_') or k in ('CONTENT_LENGTH', 'CONTENT_TYPE', 'REQUEST_METHOD', 'QUERY_STRING')]
        lines.append('body\t%d' % len(body))
        lines.append('pid\t%d' % os.getpid())
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [('\n'.join(lines) + '\n').encode()]
    if path == '/unread':
        # Answers without reading the request body.
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'unread']
    if path == '/missing':
        start_response('404 Not Found', [('Content-Type', 'text/plain'), ('X-Leftover', 'yes')])
        return [b'no such thing']
    if path == '/broken':
        # Output starts, then the application fails: the client sees a cut-short response.
        def gen():
            yield b'partial'
            raise RuntimeError('pooled.wsgi: broken on purpose')
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return gen()
    if path == '/wait':
        # Runs only alongside /set: a second daemon thread must be free while connections sit idle.
        got = _event.wait(10)
        _event.clear()
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'set' if got else b'timed out']
    if path == '/set':
        _event.set()
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'ok']
    if path == '/sleep':
        import time
        time.sleep(float(environ.get('QUERY_STRING') or '0.01'))
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [str(os.getpid()).encode()]
    start_response('404 Not Found', [('Content-Type', 'text/plain')])
    return [b'unknown probe']
