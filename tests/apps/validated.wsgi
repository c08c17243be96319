# An app wrapped in wsgiref.validate.validator with warnings turned into errors: any PEP 3333 violation by the
# server (environ, input, errors, start_response, iteration, close) fails the request.
import warnings
from wsgiref.validate import validator

warnings.simplefilter('error')


def app(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/post':
        n = int(environ.get('CONTENT_LENGTH') or 0)
        body = environ['wsgi.input'].read(n)
        out = [b'got:', body]
    elif path == '/chunked':
        inp = environ['wsgi.input']
        parts = []
        while True:
            line = inp.readline(64)
            if not line:
                break
            parts.append(line)
        out = [b'lines:%d:' % len(parts), b''.join(parts)]
    elif path == '/file':
        f = open(__file__, 'rb')
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return environ['wsgi.file_wrapper'](f, 1024)
    else:
        environ['wsgi.errors'].write('validated request %s\n' % path)
        environ['wsgi.errors'].flush()
        out = [b'ok:', environ['REQUEST_METHOD'].encode()]
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return out


application = validator(app)
