"""The one WSGI application every Python server in the benchmark runs (rwsgi, mod_wsgi, gunicorn).

Mounted at / everywhere, so the URLs are the same for each server:
  /hello       12 bytes, 'Hello World!'
  /64k         65536 bytes built once at import
  /file        the 8 MiB data file through wsgi.file_wrapper (sendfile where the server has it); a server without
               wsgi.file_wrapper (granian: it is optional in PEP 3333) gets the file in 64 KiB reads
  /post        reads the whole request body in 64 KiB reads and answers its SHA-256 (hex)
  /flask/json  a small Flask view returning JSON (the Flask app sees PATH_INFO /flask/json)
  /_probe      the process group name (mod_wsgi.process_group) the request ran in
  /_allocs     Rust heap allocations per request so far in this process (mod_rwsgi built with the
               count-allocations feature): "<httpd child> <daemon process>", '-' where not counted

The data files live in ../data beside this file's directory (written by bench/bench.py).
"""

import hashlib
import os

from flask import Flask, jsonify

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'data')
FILE = os.path.join(DATA, 'file')
HELLO = b'Hello World!'
BODY_64K = b'x' * 65536

flask_app = Flask(__name__)


@flask_app.route('/flask/json')
def flask_json():
    return jsonify(message='Hello World!', items=list(range(10)), ok=True)


def _plain(start_response, body):
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]


def _file_blocks(f, size):
    # PEP 3333's fallback when the server has no wsgi.file_wrapper: the file in blocks, closed at the end.
    with f:
        while True:
            block = f.read(size)
            if not block:
                return
            yield block


def application(environ, start_response):
    path = environ.get('PATH_INFO', '')
    if path == '/hello':
        return _plain(start_response, HELLO)
    if path == '/64k':
        return _plain(start_response, BODY_64K)
    if path == '/file':
        f = open(FILE, 'rb')
        size = os.fstat(f.fileno()).st_size
        start_response('200 OK', [('Content-Type', 'application/octet-stream'), ('Content-Length', str(size))])
        wrapper = environ.get('wsgi.file_wrapper')
        if wrapper is None:
            return _file_blocks(f, 65536)
        return wrapper(f, 65536)
    if path == '/post':
        h = hashlib.sha256()
        stream = environ['wsgi.input']
        while True:
            chunk = stream.read(65536)
            if not chunk:
                break
            h.update(chunk)
        return _plain(start_response, h.hexdigest().encode('ascii'))
    if path.startswith('/flask/'):
        return flask_app(environ, start_response)
    if path == '/_probe':
        # Lets bench.py tell whether a daemon-mode config really runs the app in the daemon process group.
        return _plain(start_response, environ.get('mod_wsgi.process_group', '').encode('latin-1'))
    if path == '/_allocs':
        return _plain(start_response, ('%s %s' % (environ.get('mod_rwsgi.allocations_per_request', '-'),
                                                 environ.get('mod_rwsgi.daemon_allocations_per_request', '-'))
                                       ).encode('ascii'))
    start_response('404 Not Found', [('Content-Type', 'text/plain'), ('Content-Length', '9')])
    return [b'not found']
