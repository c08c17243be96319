# Response-side behaviours, selected by PATH_INFO. Marker files let the test drive the timing of streaming.
import os
import sys
import time


def wait_for(path, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            return True
        time.sleep(0.02)
    return False


class ClosingIterable:
    def __init__(self, items, tag, fail_at=None):
        self.items, self.tag, self.fail_at = items, tag, fail_at

    def __iter__(self):
        for i, item in enumerate(self.items):
            if i == self.fail_at:
                raise RuntimeError('failure inside iteration of %s' % self.tag)
            yield item

    def close(self):
        sys.stderr.write('close() called for %s\n' % self.tag)


def application(environ, start_response):
    path = environ['PATH_INFO']
    q = environ['QUERY_STRING']
    text = [('Content-Type', 'text/plain')]
    if path == '/list':
        # n MiB as a list: one pass through the server, no flush between the items.
        n = int(environ['QUERY_STRING'].split('=')[1])
        start_response('200 OK', [('Content-Type', 'application/octet-stream')])
        return [b'x' * (1 << 20)] * n
    if path == '/stream':
        start_response('200 OK', text)
        marker = q

        def gen():
            yield b'first;'
            yield b'second;' if wait_for(marker) else b'timeout;'
        return gen()
    if path == '/cl-short':
        start_response('200 OK', text + [('Content-Length', '10')])
        return [b'12345']
    if path == '/cl-long':
        start_response('200 OK', text + [('Content-Length', '5')])
        return [b'1234567890', b'abc']
    if path == '/cl-gen':
        # A generator whose first item completes Content-Length, then more: cut, but the generator runs to its end.
        start_response('200 OK', text + [('Content-Length', '5')])

        def gen():
            yield b'12345'
            yield b'beyond'
            sys.stderr.write('output.wsgi: after the last yield %s\n' % q)
        return gen()
    if path == '/head':
        start_response('200 OK', text + [('Content-Length', '4')])
        return [b'body']
    if path == '/204':
        start_response('204 No Content', [])
        return [b'should not be sent']
    if path == '/304':
        start_response('304 Not Modified', [('ETag', '"x"')])
        return [b'should not be sent']
    if path == '/hop':
        start_response('200 OK', text + [('Transfer-Encoding', 'chunked'), ('Connection', 'keep-alive'), ('Keep-Alive', 'timeout=5'), ('X-Kept', 'yes')])
        return [b'framed by the server']
    if path == '/write':
        write = start_response('200 OK', text)
        write(b'via-write;')
        return [b'via-iterable;']
    if path == '/empty-items':
        start_response('200 OK', text)
        return iter([b'', b'a', b'', b'b', b''])
    if path == '/close-normal':
        start_response('200 OK', text)
        return ClosingIterable([b'one;', b'two;'], 'normal')
    if path == '/close-exception':
        start_response('200 OK', text)
        return ClosingIterable([b'one;', b'two;'], 'exception', fail_at=1)
    if path == '/close-disconnect':
        start_response('200 OK', text)

        class Slow(ClosingIterable):
            def __iter__(self):
                for i in range(2000):
                    yield b'x' * 65536
                    time.sleep(0.001)
        return Slow([], 'disconnect')
    if path == '/exc-before':
        def inner():
            raise ValueError('boom before output')

        def middle():
            inner()
        middle()
    if path == '/exc-after':
        start_response('200 OK', text)

        def gen():
            yield b'partial;'
            raise ValueError('boom after output')
        return gen()
    if path == '/exc-after-cl':
        start_response('200 OK', text + [('Content-Length', '100')])

        def gen():
            yield b'partial;'
            raise ValueError('boom after output with length')
        return gen()
    if path == '/no-start-response':
        return [b'nothing']
    if path == '/later-not-bytes':
        start_response('200 OK', text)
        return [b'bytes-ok', 12345]
    if path == '/repeated-header':
        start_response('200 OK', text + [('X-Rep', 'first'), ('Set-Cookie', 'a=1'), ('X-Rep', 'second'),
                                         ('Set-Cookie', 'b=2')])
        return [b'rep']
    if path == '/str-body':
        start_response('200 OK', text)
        return ['a str, not bytes']
    if path == '/str-write':
        write = start_response('200 OK', text)
        write('a str')
        return []
    if path == '/non-iterable':
        start_response('200 OK', text)
        return 42
    if path == '/bad-header-type':
        start_response('200 OK', [('X-Number', 42)])
        return [b'x']
    if path == '/headers-not-list':
        start_response('200 OK', (('X-A', 'b'),))
        return [b'x']
    if path == '/non-latin1':
        start_response('200 OK', [('X-Euro', '\u20ac')])
        return [b'x']
    if path == '/crlf':
        start_response('200 OK', [('X-Bad', 'a\r\nSet-Cookie: evil=1')])
        return [b'x']
    if path == '/nul':
        start_response('200 OK', [('X-Bad', 'a\x00b')])
        return [b'x']
    if path == '/bad-status':
        start_response('200-OK', text)
        return [b'x']
    if path == '/status-type':
        start_response(200, text)
        return [b'x']
    if path == '/caught':
        # The app's own error handling sees the invalid header as an exception.
        try:
            start_response('200 OK', [('Bad Name', 'x')])
        except ValueError as e:
            start_response('500 Internal Server Error', text, sys.exc_info())
            return [('caught: %s' % e).encode()]
        return [b'not caught']
    if path == '/second-start':
        start_response('200 OK', text)
        start_response('201 Created', text)
        return [b'x']
    if path == '/exc-info-replace':
        start_response('200 OK', text + [('X-First', '1')])
        try:
            raise KeyError('replaced')
        except KeyError:
            start_response('503 Service Unavailable', text + [('X-Second', '1')], sys.exc_info())
        return [b'replaced']
    if path == '/exc-info-after-output':
        write = start_response('200 OK', text)
        write(b'sent;')
        try:
            raise KeyError('too late')
        except KeyError:
            start_response('500 Error', text, sys.exc_info())
        return [b'unreachable']
    if path == '/exc-info-not-tuple':
        # exc_info must be what sys.exc_info() returns: the app's own handling sees the mistake.
        try:
            start_response('200 OK', text, 'not a tuple')
        except RuntimeError as e:
            start_response('200 OK', text)
            return [('refused: %s' % e).encode()]
        return [b'accepted']
    if path == '/custom-status':
        start_response('299 Custom Thing', text)
        return [b'custom']
    start_response('404 Not Found', text)
    return [b'unknown test path ' + path.encode()]
