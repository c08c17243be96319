# wsgi.file_wrapper over a regular file (sendfile path), over a file-like without a descriptor, and with an
# app-set Content-Length.
import io
import os
import sys

DATA = os.path.join(os.path.dirname(__file__), 'data.bin')


class Tracked(io.BytesIO):
    def close(self):
        sys.stderr.write('BytesIO closed\n')
        super().close()


def application(environ, start_response):
    path = environ['PATH_INFO']
    wrapper = environ['wsgi.file_wrapper']
    if path == '/file':
        f = open(DATA, 'rb')
        f.seek(int(environ['QUERY_STRING'] or '0'))
        start_response('200 OK', [('Content-Type', 'application/octet-stream')])
        return wrapper(f, 4096)
    if path == '/file-cl':
        f = open(DATA, 'rb')
        start_response('200 OK', [('Content-Type', 'application/octet-stream'), ('Content-Length', '1000')])
        return wrapper(f)
    if path == '/bytesio':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return wrapper(Tracked(b'0123456789' * 1000), 100)
    if path == '/is-modwsgi':
        import mod_wsgi
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [repr((wrapper is mod_wsgi.FileWrapper, mod_wsgi.version, mod_wsgi.process_group,
                      mod_wsgi.application_group, mod_wsgi.threads_per_process > 0)).encode()]
    start_response('404 Not Found', [])
    return [b'']
