# mod_wsgi.server_metrics(), summarised as JSON (WSGIServerMetrics / server-metrics=).
import json

import mod_wsgi


def application(environ, start_response):
    m = mod_wsgi.server_metrics()
    if m is None:
        out = None
    else:
        workers = [w for p in m['processes'] for w in p['workers']]
        out = {
            'keys': sorted(m),
            'server_limit': m['server_limit'],
            'running_generation': m['running_generation'],
            'thread_limit': m['thread_limit'],
            'processes': len(m['processes']),
            'pids': sorted(p['pid'] for p in m['processes'] if p['pid']),
            'worker_keys': sorted(workers[0]) if workers else [],
            'this_request_seen': any(environ['REQUEST_URI'] in w['request'] for w in workers),
            'running_time_ok': 0 <= m['running_time'] < 3600,
        }
    body = json.dumps(out).encode()
    start_response('200 OK', [('Content-Type', 'application/json')])
    return [body]
