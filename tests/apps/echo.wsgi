import hashlib


def application(environ, start_response):
    data = environ['wsgi.input'].read()
    headers = [('Content-Type', 'application/octet-stream'),
               ('X-Body-Length', str(len(data))),
               ('X-Body-Sha256', hashlib.sha256(data).hexdigest()),
               ('X-Content-Length', environ.get('CONTENT_LENGTH', '-'))]
    start_response('200 OK', headers)
    return [data]
