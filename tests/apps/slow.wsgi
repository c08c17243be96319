import time


def application(environ, start_response):
    time.sleep(0.4)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'slow\n']
