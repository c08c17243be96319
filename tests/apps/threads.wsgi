# threading.local must keep its value across requests served by the same thread (one thread state per worker
# thread), and concurrent requests must not see each other's environ.
import threading
import time

local = threading.local()


def application(environ, start_response):
    local.count = getattr(local, 'count', 0) + 1
    token = environ.get('QUERY_STRING', '')
    time.sleep(0.001)
    body = ('%d %d %s %s' % (threading.get_ident(), local.count, token, environ['PATH_INFO'])).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
