# WSGIDispatchScript functions: choose the process group, application group and callable per request.


def process_group(environ):
    path = environ['SCRIPT_NAME']
    if path.startswith('/daemon'):
        return 'picked'
    if path.startswith('/embedded'):
        return '%{GLOBAL}'
    if path.startswith('/nosuch'):
        return 'no-such-group'
    if path.startswith('/broken'):
        raise RuntimeError('dispatch failed on purpose')
    if path.startswith('/wrongtype'):
        return 42
    return None


def application_group(environ):
    assert 'mod_wsgi.callable_object' not in environ
    if environ['SCRIPT_NAME'].endswith('/sub'):
        return 'named-' + environ['mod_wsgi.application_group']
    return None


def callable_object(environ):
    if environ['SCRIPT_NAME'].endswith('/alt'):
        return 'alternate'
    return None
