# Daemon-mode probes: identity, environment, slow and wedged requests.
import os
import sys
import time


def application(environ, start_response):
    path = environ['PATH_INFO']
    q = environ.get('QUERY_STRING', '')
    if path == '/whoami':
        import mod_wsgi
        body = '\n'.join([
            'pid\t%d' % os.getpid(),
            'uid\t%d' % os.getuid(),
            'gid\t%d' % os.getgid(),
            'cwd\t%s' % os.getcwd(),
            'env\t%s' % os.environ.get('RWSGI_TEST_ENV', '-'),
            'path0\t%s' % sys.path[0],
            'group\t%s' % mod_wsgi.process_group,
            'threads\t%d' % mod_wsgi.threads_per_process,
            'processes\t%d' % mod_wsgi.maximum_processes,
            'lang\t%s' % os.environ.get('LANG', '-'),
        ]) + '\n'
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [body.encode()]
    if path == '/sleep':
        time.sleep(float(q or '1'))
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [('slept %s in %d' % (q, os.getpid())).encode()]
    if path == '/wedge':
        def wedged_forever():
            while True:
                time.sleep(0.05)
        wedged_forever()
    if path == '/spin':
        # Pure Python, never sleeping: RequestTimeout arrives at its next bytecode.
        while True:
            pass
    if path == '/catch':
        import mod_wsgi
        try:
            while True:
                pass
        except mod_wsgi.RequestTimeout:
            sys.stderr.write('daemon.wsgi: caught RequestTimeout, cleaning up\n')
            raise
    if path == '/ignore-timeout':
        import mod_wsgi
        while True:
            try:
                while True:
                    time.sleep(0.05)
            except mod_wsgi.RequestTimeout:
                sys.stderr.write('daemon.wsgi: ignoring RequestTimeout\n')
    if path == '/raise-timeout':
        import mod_wsgi
        raise mod_wsgi.RequestTimeout('raised by the app')
    if path == '/pid':
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [str(os.getpid()).encode()]
    if path == '/queued':
        sys.stderr.write('queued request reached the app: %s\n' % q)
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'ran']
    if path == '/big-headers':
        start_response('200 OK', [('X-Big', 'x' * 5000)])
        return [b'x']
    if path == '/download':
        n = int(q)
        start_response('200 OK', [('Content-Type', 'application/octet-stream'), ('Content-Length', str(n))])

        def gen():
            chunk = b'd' * 65536
            left = n
            while left > 0:
                yield chunk[:left]
                left -= len(chunk)
        return gen()
    if path == '/upload':
        inp = environ['wsgi.input']
        total = 0
        while True:
            data = inp.read(65536)
            if not data:
                break
            total += len(data)
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [str(total).encode()]
    start_response('404 Not Found', [('Content-Type', 'text/plain')])
    return [b'unknown']


def _hold_gil_forever():
    # A C-level busy loop that never releases the GIL (simulates a C extension deadlock).
    import ctypes
    libc = ctypes.CDLL(None)
    libc.sleep.argtypes = [ctypes.c_uint]
    # ctypes releases the GIL around foreign calls; PyDLL does not.
    pylibc = ctypes.PyDLL(None)
    pylibc.sleep.argtypes = [ctypes.c_uint]
    pylibc.sleep(3600)


_original = application


def _allocate(mb, step_ms):
    # Grows in 8 MiB steps (touched, so resident), like a request loading something too big.
    import time
    chunks = []
    for _ in range(mb // 8):
        chunks.append(bytearray(8 << 20))
        time.sleep(step_ms / 1000.0)
    return len(chunks) * 8


def application(environ, start_response):
    path = environ['PATH_INFO']
    if path == '/hold-gil':
        _hold_gil_forever()
    if path == '/crash':
        os._exit(1)
    if path == '/segv':
        import ctypes
        ctypes.string_at(0)
    if path == '/alloc':
        got = _allocate(int(environ.get('QUERY_STRING') or '600'), 20)
        start_response('200 OK', [('Content-Type', 'text/plain')])
        return [b'allocated %d MiB' % got]
    return _original(environ, start_response)
