# Reports the environ as "KEY<TAB>repr-or-value" lines; values of str keys as they are (escaped).
import os
import threading


def application(environ, start_response):
    lines = []
    for key, value in sorted(environ.items()):
        if isinstance(value, str):
            shown = value.encode('unicode_escape').decode('ascii')
        elif isinstance(value, (bool, int, tuple)):
            shown = repr(value)
        else:
            shown = '<%s>' % type(value).__name__
        lines.append('%s\t%s' % (key, shown))
    lines.append('types.str_values\t%s' % all(isinstance(v, str) for k, v in environ.items() if k.isupper()))
    lines.append('process.pid\t%d' % os.getpid())
    lines.append('process.thread\t%d' % threading.get_ident())
    body = ('\n'.join(lines) + '\n').encode('ascii')
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body]


def alternate(environ, start_response):
    # A second callable (callable-object=alternate, or chosen by a WSGIDispatchScript).
    environ['x.callable'] = 'alternate'
    return application(environ, start_response)
