# wsgi.input behaviours, selected by PATH_INFO; the result is "KEY<TAB>repr" lines.
def application(environ, start_response):
    path = environ['PATH_INFO']
    inp = environ['wsgi.input']
    out = []
    if path == '/read':
        data = inp.read()
        out.append(('len', len(data)))
        out.append(('again', inp.read()))
        out.append(('again_n', inp.read(10)))
        out.append(('head', data[:40]))
    elif path == '/readn':
        n = int(environ['QUERY_STRING'] or '7')
        sizes = []
        while True:
            chunk = inp.read(n)
            if not chunk:
                break
            sizes.append(len(chunk))
        out.append(('sizes', sizes))
    elif path == '/readn-echo':
        # read(n) chunks (n large: read straight into the returned object), after an optional readline():
        # the body comes back exactly.
        n = int(environ['QUERY_STRING'].split(',')[0] or '65536')
        parts = [inp.readline()] if 'line' in environ['QUERY_STRING'] else []
        while True:
            chunk = inp.read(n)
            if not chunk:
                break
            parts.append(chunk)
        body = b''.join(parts)
        start_response('200 OK', [('Content-Type', 'application/octet-stream'), ('Content-Length', str(len(body)))])
        return [body]
    elif path == '/read0':
        out.append(('zero', inp.read(0)))
        out.append(('rest', inp.read()))
    elif path == '/readline':
        out.append(('l1', inp.readline()))
        out.append(('l2_limited', inp.readline(3)))
        out.append(('l2_rest', inp.readline()))
        out.append(('l0', inp.readline(0)))
        out.append(('rest', inp.readlines()))
        out.append(('eof', inp.readline()))
    elif path == '/readlines-hint':
        out.append(('lines', inp.readlines(5)))
        out.append(('rest', inp.read()))
    elif path == '/iter':
        out.append(('lines', [line for line in inp]))
    elif path == '/ignore':
        out.append(('ignored', True))
    elif path == '/none':
        out.append(('none', inp.read(None)))
    body = ''.join('%s\t%r\n' % kv for kv in out).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'), ('Content-Length', str(len(body)))])
    return [body]
