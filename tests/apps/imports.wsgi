# Which of the slow-to-import standard modules the server loaded before the application asked for any, and
# whether the server's logging and signal set-up happens once the application imports them itself.
import sys

HEAVY = ('logging', 'hashlib', 'traceback', 'signal', 're', 'enum', 'threading')
before = [m for m in HEAVY if m in sys.modules]


def application(environ, start_response):
    q = environ.get('QUERY_STRING', '')
    lines = ['loaded-before-app\t%s' % ','.join(before)]
    if q == 'logging':
        import logging
        # The last-resort handler is mod_rwsgi's (records go to the Apache error log with their level).
        lines.append('last-resort\t%s' % type(logging.lastResort).__name__)
        logging.getLogger('imports').warning('imports.wsgi: a warning through the last-resort handler')
    if q == 'signal':
        import signal
        lines.append('signal-restricted\t%s' % (signal.signal.__name__ == '_restricted_signal'))
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('\n'.join(lines) + '\n').encode()]
