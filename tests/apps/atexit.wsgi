# Registers an atexit handler that leaves a file named after the process group when the process stops.
import atexit
import os

_registered = []


def application(environ, start_response):
    if not _registered:
        marker = os.path.join(environ['QUERY_STRING'], 'atexit-' + environ['mod_wsgi.process_group'])
        atexit.register(lambda: open(marker, 'w').close())
        _registered.append(marker)
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('pid %d' % os.getpid()).encode()]
