# Python half of mod_rwsgi's runtime, executed once per process at start-up. It owns script loading (serialised,
# never caching a failure), the error-log streams that replace sys.stdout/sys.stderr and back wsgi.errors, and the
# logging handler that maps Python levels to Apache levels. Rust calls the functions in this namespace.
import hashlib
import io
import logging
import sys
import threading
import traceback
import types

import mod_wsgi

_log = mod_wsgi._log
APLOG_ERR = 3
# Threads that may have a partial line buffered in stdout/stderr (checked cheaply after each request).
dirty = {}
_load_lock = threading.RLock()
_loaded = {}  # script path -> (mtime, module)


def module_name(path):
    return '_mod_wsgi_' + hashlib.md5(path.encode('utf-8', 'surrogateescape')).hexdigest()


def load_script(path, mtime, reloading):
    """Returns (module, fresh). Imports the script as a module named after its path; a failure raises and is
    not remembered, so the next request tries again."""
    with _load_lock:
        entry = _loaded.get(path)
        if entry is not None and (not reloading or entry[0] == mtime):
            return entry[1], False
        name = module_name(path)
        with open(path, 'rb') as f:
            source = f.read()
        code = compile(source, path, 'exec', dont_inherit=True)
        module = types.ModuleType(name)
        module.__file__ = path
        old = sys.modules.get(name)
        sys.modules[name] = module
        try:
            exec(code, module.__dict__)
        except BaseException:
            if old is not None:
                sys.modules[name] = old
            else:
                sys.modules.pop(name, None)
            raise
        _loaded[path] = (mtime, module)
        return module, True


def forget_script(path):
    with _load_lock:
        _loaded.pop(path, None)


def format_exception(etype, value, tb):
    return ''.join(traceback.format_exception(etype, value, tb))


class Log(io.RawIOBase):
    """The binary side of wsgi.errors, sys.stdout and sys.stderr: bytes into the Apache error log, one entry per
    line. Partial lines are buffered per thread, so one object serves every request (each line is tagged with
    the request the writing thread is serving). Never closes: an app closing wsgi.errors only flushes it."""

    def __init__(self, name, level=APLOG_ERR):
        super().__init__()
        self.name = name
        self._level = level
        self._local = threading.local()

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False

    def isatty(self):
        return False

    def fileno(self):
        raise OSError('%s is the Apache error log and has no file descriptor' % self.name)

    def write(self, b):
        if isinstance(b, str):
            b = b.encode('utf-8', 'replace')
        data = memoryview(b).tobytes()
        buf = getattr(self._local, 'buf', b'') + data
        if b'\n' in buf:
            lines = buf.split(b'\n')
            buf = lines.pop()
            for line in lines:
                _log(self._level, line.decode('utf-8', 'replace'))
        self._local.buf = buf
        if buf:
            dirty[threading.get_ident()] = True
        return len(data)

    def writelines(self, lines):
        try:
            items = iter(lines)
        except TypeError as e:
            raise TypeError('writelines() argument must be an iterable of bytes-like objects') from e
        for line in items:
            self.write(line)

    def flush(self):
        buf = getattr(self._local, 'buf', b'')
        if buf:
            self._local.buf = b''
            _log(self._level, buf.decode('utf-8', 'replace'))

    def close(self):
        self.flush()

    @property
    def closed(self):
        return False


Log.__module__ = 'mod_wsgi'


def log_stream(name):
    """A text stream into the error log, as mod_wsgi builds wsgi.errors / sys.stdout / sys.stderr: a
    line-buffered, write-through io.TextIOWrapper (utf-8, errors replaced) whose .buffer takes bytes."""
    return io.TextIOWrapper(Log(name), 'utf-8', 'replace', None, True, True)


class ApacheLogHandler(logging.Handler):
    """Python logging records into the Apache error log at the matching Apache level."""

    _levels = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))

    def emit(self, record):
        try:
            msg = self.format(record)
            level = 7
            for threshold, aplevel in self._levels:
                if record.levelno >= threshold:
                    level = aplevel
                    break
            for line in msg.split('\n'):
                _log(level, line)
        except Exception:
            self.handleError(record)


def _restricted_signal(signum, handler):
    # WSGIRestrictSignal On (mod_wsgi's default): the server owns signal handling; an app's handler would break
    # process management, so the call is ignored with a warning.
    try:
        import signal as _s
        name = _s.Signals(signum).name
        previous = _s.getsignal(signum)
    except Exception:
        name, previous = str(signum), None
    logging.getLogger('mod_wsgi').warning(
        'signal.signal(%s, ...) called by the application was ignored: the server owns signal handling '
        '(WSGIRestrictSignal)', name)
    return previous


import signal as _signal_module  # noqa: E402
_original_signal = _signal_module.signal


class Restricted(object):
    """sys.stdin / sys.stdout under WSGIRestrictStdin / WSGIRestrictStdout On: any use, even looking up a method,
    raises OSError naming why (flush stays a no-op so interpreter shutdown is quiet)."""

    def __init__(self, name, directive):
        why = '%s is not available to WSGI applications (%s On); use wsgi.input / wsgi.errors or logging' % (
            name, directive)
        object.__setattr__(self, '_why', why)

    def __getattr__(self, name):
        raise OSError(object.__getattribute__(self, '_why'))

    def flush(self):
        pass

    def __repr__(self):
        return '<restricted %s>' % object.__getattribute__(self, '_why').split(' ')[0]


# The name mod_wsgi gives the same object, for code that checks it.
Restricted.__module__ = 'mod_wsgi'


def configure(restrict_signal, restrict_stdin, restrict_stdout, switch_interval):
    """Applies the interpreter-wide directives (WSGIRestrictSignal/Stdin/Stdout, WSGISwitchInterval)."""
    _signal_module.signal = _restricted_signal if restrict_signal else _original_signal
    if restrict_stdin:
        sys.stdin = Restricted('sys.stdin', 'WSGIRestrictStdin')
    sys.stdout = Restricted('sys.stdout', 'WSGIRestrictStdout') if restrict_stdout else stdout
    if switch_interval is not None:
        sys.setswitchinterval(switch_interval)


stdout = log_stream('<stdout>')
stderr = log_stream('<stderr>')
sys.stdout = stdout
sys.stderr = stderr
# Records logged while the app configured no handler of its own go to Apache with their level (instead of
# Python's last-resort handler writing "WARNING" lines to stderr).
logging.lastResort = ApacheLogHandler(logging.WARNING)
