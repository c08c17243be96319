import logging
import sys


def application(environ, start_response):
    print('printed to stdout')
    sys.stderr.write('partial ')
    sys.stderr.write('line to stderr\n')
    sys.stderr.write('unterminated tail')
    environ['wsgi.errors'].write('via wsgi.errors\n')
    environ['wsgi.errors'].writelines(['first of two\n', 'second of two\n'])
    environ['wsgi.errors'].flush()
    logging.getLogger('app').warning('a warning from logging')
    logging.getLogger('app').error('an error from logging')
    logging.getLogger('app').critical('a critical from logging')
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'logged']


_logs_application = application


def application(environ, start_response):
    if environ['PATH_INFO'] == '/signal':
        import signal
        previous = signal.signal(signal.SIGTERM, lambda *a: None)
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [('ignored, previous=%r' % (previous,)).encode()]
    return _logs_application(environ, start_response)
