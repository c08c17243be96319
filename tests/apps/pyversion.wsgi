# Which Python serves, and from which environment (tests/pythons.rs).
import platform
import sys

import flask


def application(environ, start_response):
    body = ('%s %s flask=%s' % (platform.python_version(), sys.prefix, flask.__version__)).encode()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body]
