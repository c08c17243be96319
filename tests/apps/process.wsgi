# Reports what the process and interpreter it runs in look like, as "KEY<TAB>VALUE" lines.
import builtins
import os
import signal
import sys


def _stdin_lookup():
    try:
        sys.stdin.read
        return 'allowed'
    except OSError:
        return 'refused'


def _stdin():
    try:
        return 'read %r' % sys.stdin.read(1)
    except Exception as e:
        return 'error %s' % e


def _stdout():
    try:
        sys.stdout.write('written to stdout by process.wsgi\n')
        sys.stdout.flush()
        return 'ok'
    except Exception as e:
        return 'error %s' % e


def _signal():
    def handler(signum, frame):
        pass
    try:
        signal.signal(signal.SIGUSR2, handler)
    except Exception as e:
        # Python's own rule: handlers are installed from the main thread only (requests run elsewhere).
        return 'error %s' % e
    installed = signal.getsignal(signal.SIGUSR2) is handler
    signal.signal(signal.SIGUSR2, signal.SIG_DFL) if installed else None
    return 'installed' if installed else 'ignored'


def _limit(name):
    with open('/proc/self/limits') as f:
        for line in f:
            if line.startswith(name):
                return line[len(name):].split()[0]
    return '?'


def _stack_size():
    # pthread_getattr_np on this (request) thread: the stack size the server gave it.
    import ctypes
    libc = ctypes.CDLL(None)
    attr = ctypes.create_string_buffer(256)
    libc.pthread_self.restype = ctypes.c_ulong
    if libc.pthread_getattr_np(ctypes.c_ulong(libc.pthread_self()), attr) != 0:
        return '?'
    size = ctypes.c_size_t()
    libc.pthread_attr_getstacksize(attr, ctypes.byref(size))
    libc.pthread_attr_destroy(attr)
    return str(size.value)


def _connection_buffers():
    # The daemon's end of this request's connection: the connected UNIX stream sockets of this process.
    import socket
    found = []
    for fd in os.listdir('/proc/self/fd'):
        try:
            if not os.readlink('/proc/self/fd/%s' % fd).startswith('socket:'):
                continue
            s = socket.socket(fileno=os.dup(int(fd)))
        except OSError:
            continue
        try:
            listening = s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
            if s.family == socket.AF_UNIX and s.type == socket.SOCK_STREAM and not listening and s.getsockname():
                found.append('%d/%d' % (s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF),
                                        s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)))
        except OSError:
            pass
        finally:
            s.close()
    return ','.join(found)


def application(environ, start_response):
    if environ.get('QUERY_STRING') == 'status404':
        start_response('404 Not Found', [('Content-Type', 'text/plain')])
        return [b'the application says 404\n']
    mask = os.umask(0)
    os.umask(mask)
    capsule = environ.get('apache.request_rec')
    lines = [
        'umask\t%04o' % mask,
        'process_group\t%s' % environ['mod_wsgi.process_group'],
        'application_group\t%s' % environ['mod_wsgi.application_group'],
        'handler_script\t%s' % environ.get('mod_wsgi.handler_script', ''),
        'script_name\t%s' % environ['SCRIPT_NAME'],
        'path_info\t%s' % environ['PATH_INFO'],
        'pid\t%d' % os.getpid(),
        'optimize\t%d' % sys.flags.optimize,
        'dont_write_bytecode\t%s' % sys.dont_write_bytecode,
        'warnoptions\t%s' % ','.join(sys.warnoptions),
        'hash_randomization\t%d' % sys.flags.hash_randomization,
        'switchinterval\t%g' % sys.getswitchinterval(),
        'egg_cache\t%s' % os.environ.get('PYTHON_EGG_CACHE', ''),
        'imported\t%s' % getattr(builtins, 'RWSGI_IMPORTED', ''),
        'request_rec\t%s' % (type(capsule).__name__ if capsule is not None else ''),
        'groups\t%s' % ','.join(str(g) for g in sorted(os.getgroups())),
        'nice\t%d' % os.nice(0),
        'cpu_limit\t%s' % _limit('Max cpu time'),
        'as_limit\t%s' % _limit('Max address space'),
    ]
    if environ.get('QUERY_STRING') == 'threads':
        lines += ['stack_size\t%s' % _stack_size(), 'buffers\t%s' % _connection_buffers()]
    if environ.get('QUERY_STRING') == 'io':
        lines += ['stdin\t%s' % _stdin(), 'stdout\t%s' % _stdout(), 'signal\t%s' % _signal(),
                  'stdin_lookup\t%s' % _stdin_lookup()]
    start_response('200 OK', [('Content-Type', 'text/plain'), ('X-Method', environ['REQUEST_METHOD'])])
    return [('\n'.join(lines) + '\n').encode()]
