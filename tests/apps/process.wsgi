# Reports what the process it runs in looks like, as "KEY<TAB>VALUE" lines.
import os


def application(environ, start_response):
    mask = os.umask(0)
    os.umask(mask)
    lines = [
        'umask\t%04o' % mask,
        'process_group\t%s' % environ['mod_wsgi.process_group'],
        'application_group\t%s' % environ['mod_wsgi.application_group'],
        'pid\t%d' % os.getpid(),
    ]
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('\n'.join(lines) + '\n').encode()]
