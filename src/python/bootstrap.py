# Python half of mod_rwsgi's runtime, executed once per process at start-up. It owns script loading (serialised,
# never caching a failure), the error-log streams that replace sys.stdout/sys.stderr and back wsgi.errors, and the
# logging handler that maps Python levels to Apache levels. Rust calls the functions in this namespace.
#
# Start-up cost matters (every httpd child and daemon process runs this before its first request): only modules
# that are loaded anyway are imported here. logging, signal, traceback and hashlib (~17 ms together) are
# imported where they are used, and the logging and signal set-up waits for the application's own import of
# them (`_when_imported`).
import _thread
import io
import sys

import mod_wsgi

_log = mod_wsgi._log
APLOG_ERR = 3
# Threads that may have a partial line buffered in stdout/stderr (checked cheaply after each request).
dirty = {}
_load_lock = _thread.RLock()
_loaded = {}  # script path -> (mtime, module)

try:
    from _md5 import md5 as _md5
except ImportError:  # a Python built without the builtin md5
    from hashlib import md5 as _md5


def module_name(path):
    return '_mod_wsgi_' + _md5(path.encode('utf-8', 'surrogateescape')).hexdigest()


_after_import = {}  # module name -> functions to call with the module once it is imported


class _NotifyingLoader(object):
    """Loads a module with its own loader, then calls the functions waiting for it."""

    def __init__(self, loader, waiting):
        self._loader = loader
        self._waiting = waiting

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        for fn in self._waiting:
            fn(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _ImportWatcher(object):
    """A meta path finder that only notices the first import of the modules in _after_import."""

    def find_spec(self, name, path=None, target=None):
        waiting = _after_import.pop(name, None)
        if waiting is None:
            return None
        if not _after_import and self in sys.meta_path:
            sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, 'find_spec', None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _NotifyingLoader(spec.loader, waiting)
                return spec
        return None


_watcher = _ImportWatcher()


def _when_imported(name, fn):
    """Calls fn(module) once module `name` is imported: now if it is, else right after its first import."""
    module = sys.modules.get(name)
    if module is not None:
        fn(module)
        return
    _after_import.setdefault(name, []).append(fn)
    if _watcher not in sys.meta_path:
        sys.meta_path.insert(0, _watcher)


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
        module = type(sys)(name)
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
        # As mod_wsgi: the modification time (microseconds) the module was loaded from. A module without it (an
        # app may delete it to force a reload) is reloaded.
        module.__mtime__ = mtime
        _loaded[path] = (mtime, module)
        return module, True


def forget_script(path):
    with _load_lock:
        _loaded.pop(path, None)


def format_exception(etype, value, tb):
    import traceback
    return ''.join(traceback.format_exception(etype, value, tb))


class Log(io.RawIOBase):
    """The binary side of wsgi.errors, sys.stdout and sys.stderr: bytes into the Apache error log, one entry per
    line. Partial lines are buffered per thread, so one object serves every request (each line is tagged with
    the request the writing thread is serving). Never closes: an app closing wsgi.errors only flushes it."""

    def __init__(self, name, level=APLOG_ERR):
        super().__init__()
        self.name = name
        self._level = level
        self._local = _thread._local()

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
            dirty[_thread.get_ident()] = True
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


_APACHE_LEVELS = ((50, 2), (40, 3), (30, 4), (20, 6))  # logging's CRITICAL, ERROR, WARNING, INFO


def _emit(handler, record):
    """logging.Handler.emit of the Apache handlers: the record into the error log at the matching level."""
    try:
        msg = handler.format(record)
        level = 7
        for threshold, aplevel in _APACHE_LEVELS:
            if record.levelno >= threshold:
                level = aplevel
                break
        for line in msg.split('\n'):
            _log(level, line)
    except Exception:
        handler.handleError(record)


_handler_classes = {}


def _log_handler_class(name):
    """The logging.Handler subclasses (made on first use: they need logging)."""
    cls = _handler_classes.get(name)
    if cls is None:
        import logging
        cls = type(name, (logging.Handler,), {'emit': _emit, '_levels': _APACHE_LEVELS,
                                               '__doc__': 'Python logging records into the Apache error log.'})
        cls.__module__ = 'mod_wsgi'
        _handler_classes[name] = cls
    return cls


def _warn(message, *args):
    import logging
    logging.getLogger('mod_wsgi').warning(message, *args)


def _restricted_signal(signum, handler):
    # WSGIRestrictSignal On (mod_wsgi's default): the server owns signal handling; an app's handler would break
    # process management, so the call is ignored with a warning.
    try:
        import signal as _s
        name = _s.Signals(signum).name
        previous = _s.getsignal(signum)
    except Exception:
        name, previous = str(signum), None
    _warn('signal.signal(%s, ...) called by the application was ignored: the server owns signal handling '
          '(WSGIRestrictSignal)', name)
    return previous


_original_signal = []  # signal.signal as the signal module defines it (kept once that module is imported)


def _restrict_signal_module(module):
    if not _original_signal:
        _original_signal.append(module.signal)
    module.signal = _restricted_signal


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
    if restrict_signal:
        _when_imported('signal', _restrict_signal_module)
    elif _original_signal and 'signal' in sys.modules:
        sys.modules['signal'].signal = _original_signal[0]
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
_when_imported('logging', lambda logging: setattr(logging, 'lastResort',
                                                     _log_handler_class('ApacheLogHandler')(logging.WARNING)))


# ---- The mod_wsgi module's runtime API (subscribe_events, request_data, *_metrics, RequestTimeout) ----
# Rust calls started()/finished()/publish() only while a subscriber or metrics recording exists, so a process
# that uses neither pays nothing for them.

class RequestTimeout(BaseException):
    """Raised inside a request's thread when it exceeded the daemon group's request-timeout (daemon mode); the
    response is a 504 and the process keeps serving."""


RequestTimeout.__module__ = 'mod_wsgi'

event_callbacks = []
shutdown_callbacks = []
signal_callbacks = []


def subscribe_events(callback):
    event_callbacks.append(callback)
    return callback


def subscribe_shutdown(callback):
    shutdown_callbacks.append(callback)
    return callback


def subscribe_signals(callback):
    if not mod_wsgi.process_group:
        import logging
        logging.getLogger('mod_wsgi').info(
            'mod_wsgi.subscribe_signals() called outside daemon mode; the callback will not be invoked. '
            'Signal callbacks are only delivered in daemon mode processes.')
        return callback
    signal_callbacks.append(callback)
    return callback


def publish(name, event, extra=()):
    """Calls every subscriber as callback(name, **event); a callback returning a dict updates the event for
    the next one (and for the caller: request_started may replace application_object)."""
    for callbacks in (event_callbacks,) + tuple(extra):
        for callback in list(callbacks):
            try:
                result = callback(name, **event)
                if isinstance(result, dict):
                    event.update(result)
            except BaseException as e:
                suffix = '; ignored.' if isinstance(e, SystemExit) else '.'
                _log(APLOG_ERR, "%s exception raised by event callback for '%s'%s" % (type(e).__name__, name, suffix))
                import traceback
                for line in traceback.format_exception(type(e), e, e.__traceback__):
                    for part in line.rstrip('\n').split('\n'):
                        if part:
                            _log(APLOG_ERR, part)
    return event


def publish_stopping(reason):
    if event_callbacks or shutdown_callbacks:
        publish('process_stopping', {'shutdown_reason': reason}, (shutdown_callbacks,))


def publish_signal(signame, signum):
    if event_callbacks or signal_callbacks:
        publish('process_signal', {'signame': signame, 'signum': signum}, (signal_callbacks,))


# Metrics: off until start_recording_metrics(). Request counts by status class, busy time and per-thread counts
# are counted by the same calls, with the same values, as the figures the rwsgi-metrics handler adds up
# (mod_wsgi._process_counters(): this process's share; one set of figures, two views); the phase times, bytes and
# per-thread times only mod_wsgi's views have are folded in by record().
_metrics_lock = _thread.allocate_lock()
recording = [False]
_process_start = None
_BUCKETS = 65


def _bucket(secs):
    """mod_wsgi's histogram: index 0 is under 1 ms, then 16 octaves (1 ms .. 65.536 s) of 4 linear steps,
    index 64 is 65.536 s or more."""
    ms = secs * 1000.0
    if ms < 1.0:
        return 0
    octave = 0
    low = 1.0
    while octave < 16 and ms >= low * 2:
        low *= 2
        octave += 1
    if octave >= 16:
        return _BUCKETS - 1
    step = int((ms - low) / (low / 4.0))
    return 1 + octave * 4 + min(step, 3)


class _Interval(object):
    PHASES = ('server_time', 'queue_time', 'daemon_time', 'application_time', 'request_time', 'gil_wait_time',
              'input_read_time', 'output_write_time')

    def __init__(self, now, threads, counters):
        self.start = now
        self.threads = threads
        self.counters = counters
        # Requests record() saw (the divisor of the phase means).
        self.count = 0
        self.input_bytes = self.input_reads = self.output_bytes = self.output_writes = 0
        self.gil_wait_count = 0
        self.sums = dict((p, 0.0) for p in self.PHASES)
        self.mins = dict((p, None) for p in self.PHASES)
        self.maxs = dict((p, None) for p in self.PHASES)
        self.buckets = dict((p, [0] * _BUCKETS) for p in self.PHASES)
        self.thread_busy = [0.0] * threads
        self.thread_cpu = [0.0] * threads
        self.thread_max = [0.0] * threads
        self.active_threads = set()
        self.cpu = _cpu()


def _cpu():
    t = os.times()
    return t.user, t.system


def _rss():
    import resource
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    try:
        with open('/proc/self/statm') as f:
            rss = int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
    except (OSError, ValueError, IndexError):
        rss = 0
    return max_rss, rss


def _counters():
    """(requests finished by status class, busy seconds, (started, finished) per thread number 1..) since this
    process started."""
    return mod_wsgi._process_counters()


_interval = [None]
import time as _time  # noqa: E402
_process_start = _time.time()


def threads_maximum():
    return max(int(mod_wsgi.threads_per_process or 1), 1)


def start_recording_metrics():
    with _metrics_lock:
        if recording[0]:
            return None
        import time
        _interval[0] = _Interval(time.time(), threads_maximum(), _counters())
        recording[0] = True
    return None


def phases(m):
    """The phase times of one request (seconds), from request_finished's values, as mod_wsgi splits them."""
    app = m['application_time']
    app_start = m['application_finish'] - app
    out = {'application_time': app, 'gil_wait_time': m['gil_wait_time'], 'input_read_time': m['input_time'],
           'output_write_time': m['output_time']}
    if m['daemon_start']:
        out['server_time'] = max(m['queue_start'] - m['request_start'], 0.0)
        out['queue_time'] = max(m['daemon_start'] - m['queue_start'], 0.0)
        out['daemon_time'] = max(app_start - m['daemon_start'], 0.0)
        out['request_time'] = out['server_time'] + out['queue_time'] + out['daemon_time'] + app
    else:
        out['server_time'] = max(app_start - m['request_start'], 0.0)
        out['request_time'] = out['server_time'] + app
    return out


def record(m):
    """One finished request (request_finished's measured values)."""
    times = phases(m)
    with _metrics_lock:
        iv = _interval[0]
        if iv is None:
            return
        iv.count += 1
        iv.input_bytes += m['input_length']
        iv.input_reads += m['input_reads']
        iv.output_bytes += m['output_length']
        iv.output_writes += m['output_writes']
        iv.gil_wait_count += m['gil_wait_count']
        for phase in _Interval.PHASES:
            v = times.get(phase)
            if v is None:
                continue
            iv.sums[phase] += v
            us = int(v * 1e6)
            iv.mins[phase] = us if iv.mins[phase] is None else min(iv.mins[phase], us)
            iv.maxs[phase] = us if iv.maxs[phase] is None else max(iv.maxs[phase], us)
            iv.buckets[phase][_bucket(v)] += 1
        app = m['application_time']
        tid = m['thread_id']
        if 1 <= tid <= iv.threads:
            i = tid - 1
            iv.thread_busy[i] += app
            iv.thread_cpu[i] += m.get('cpu_time', 0.0)
            iv.thread_max[i] = max(iv.thread_max[i], app)
            iv.active_threads.add(tid)


def request_metrics():
    import time
    with _metrics_lock:
        iv = _interval[0]
        if iv is None:
            return None
        now = time.time()
        period = max(now - iv.start, 1e-6)
        counters = _counters()
        classes, busy, per_thread = counters
        status = [n - b for n, b in zip(classes, iv.counters[0])]
        count = sum(status)
        base_threads = iv.counters[2]
        completed = [(per_thread[i][1] if i < len(per_thread) else 0) -
                     (base_threads[i][1] if i < len(base_threads) else 0) for i in range(iv.threads)]
        user, system = _cpu()
        cpu_user = (user - iv.cpu[0]) / period
        cpu_system = (system - iv.cpu[1]) / period
        max_rss, rss = _rss()
        daemon = bool(mod_wsgi.process_group)
        out = {
            'pid': os.getpid(),
            'start_time': iv.start,
            'stop_time': now,
            'sample_period': period,
            'cpu_user_utilization': cpu_user,
            'cpu_system_utilization': cpu_system,
            'cpu_utilization': cpu_user + cpu_system,
            'cpu_user_time': cpu_user,
            'cpu_system_time': cpu_system,
            'cpu_time': cpu_user + cpu_system,
            'memory_max_rss': max_rss,
            'memory_rss': rss,
            'request_threads_maximum': iv.threads,
            'request_threads_started': sum(1 for started, _ in per_thread if started),
            'request_threads_active': len(iv.active_threads),
            'capacity_utilization': (busy - iv.counters[1]) / period / iv.threads,
            'request_count': count,
            'request_throughput': count / period,
            'input_bytes': iv.input_bytes,
            'input_reads': iv.input_reads,
            'output_bytes': iv.output_bytes,
            'output_writes': iv.output_writes,
            'gil_wait_count': iv.gil_wait_count,
            'request_threads_completed': completed,
            'request_threads_buckets': list(completed),
            'request_threads_busy_time': list(iv.thread_busy),
            'request_threads_cpu_time': list(iv.thread_cpu),
            'request_threads_current_elapsed': [0.0] * iv.threads,
            'request_threads_max_duration': list(iv.thread_max),
        }
        for i, n in enumerate(status):
            out['status_%dxx' % (i + 1)] = n
        for phase in _Interval.PHASES:
            embedded_none = not daemon and phase in ('queue_time', 'daemon_time')
            out[phase] = None if embedded_none else (iv.sums[phase] / iv.count if iv.count else 0.0)
            out[phase + '_buckets'] = list(iv.buckets[phase])
            out[phase + '_min_us'] = None if embedded_none else iv.mins[phase]
            out[phase + '_max_us'] = None if embedded_none else iv.maxs[phase]
        with _busy_lock:
            for tid, since in _busy.items():
                if 1 <= tid <= iv.threads:
                    out['request_threads_current_elapsed'][tid - 1] = now - since
        _interval[0] = _Interval(now, iv.threads, counters)
        _interval[0].cpu = (user, system)
        return out


def process_metrics():
    import time
    with _metrics_lock:
        if _interval[0] is None:
            return None
        user, system = _cpu()
        max_rss, rss = _rss()
        now = time.time()
        started = _process_start
        classes, busy, per_thread = _counters()
        return {
            'pid': os.getpid(),
            'request_busy_time': busy,
            'request_count': sum(classes),
            'memory_max_rss': max_rss,
            'memory_rss': rss,
            'cpu_user_time': user,
            'cpu_system_time': system,
            'cpu_time': user + system,
            'restart_time': started,
            'current_time': now,
            'running_time': int(now - started),
            'request_threads': sum(1 for started, _ in per_thread if started),
            'active_requests': len(mod_wsgi.active_requests),
            # As mod_wsgi, a thread's count includes the request it is running.
            'threads': [{'thread_id': i + 1, 'request_count': started}
                        for i, (started, _) in enumerate(per_thread) if started],
        }


def server_metrics():
    """Apache's scoreboard (httpd children and their threads) with WSGIServerMetrics On (server-metrics=On in a
    daemon group); None when off, as mod_wsgi."""
    if not mod_wsgi._server_metrics_enabled:
        return None
    return mod_wsgi._server_metrics()


# Threads serving a request while metrics are recorded: thread_id -> start time (request_threads_current_elapsed).
_busy_lock = _thread.allocate_lock()
_busy = {}


def started(environ, app, callable_name, data, times):
    """request_started: (request_id, thread_id, server_pid, request_start, queue_start, daemon_start,
    application_start, daemon_connects, daemon_restarts). Returns the application to call."""
    request_id, thread_id, server_pid, request_start, queue_start, daemon_start, app_start, connects, restarts = times
    if recording[0]:
        with _busy_lock:
            _busy[thread_id] = app_start
    if not event_callbacks:
        return app
    event = {
        'request_id': request_id,
        'thread_id': thread_id,
        'daemon_connects': connects,
        'daemon_restarts': restarts,
        'server_pid': server_pid,
        'request_start': request_start,
        'queue_start': queue_start,
        'daemon_start': daemon_start,
        'application_object': app,
        'callable_object': callable_name,
        'request_environ': environ,
        'application_start': app_start,
        'request_data': data,
    }
    publish('request_started', event)
    return event.get('application_object', app)


def finished(m, data):
    """request_finished, with the request's measured values; folds them into the metrics when recording."""
    if recording[0]:
        with _busy_lock:
            _busy.pop(m['thread_id'], None)
        record(m)
    if event_callbacks:
        event = dict(m)
        event['request_data'] = data
        publish('request_finished', event)


def response_started(request_id, status, headers, exc_info, data):
    publish('response_started', {
        'request_id': request_id,
        'response_status': status,
        'response_headers': headers,
        'exception_info': exc_info,
        'request_data': data,
    })


def request_exception(request_id, exc, data):
    publish('request_exception', {
        'request_id': request_id,
        'exception_info': (type(exc), exc, exc.__traceback__),
        'request_data': data,
    })


import os  # noqa: E402

for _name in ('RequestTimeout', 'subscribe_events', 'subscribe_shutdown', 'subscribe_signals', 'event_callbacks',
              'shutdown_callbacks', 'signal_callbacks', 'start_recording_metrics', 'request_metrics',
              'process_metrics', 'server_metrics', 'Log'):
    setattr(mod_wsgi, _name, globals()[_name])
mod_wsgi.Restricted = Restricted


def _module_getattr(name):
    # mod_wsgi.application_group: the group of the request this thread serves (mod_rwsgi runs one interpreter
    # per process, so it is the request's, not the interpreter's).
    if name == 'application_group':
        group = mod_wsgi._request_application_group()
        return mod_wsgi._default_application_group if group is None else group
    if name == 'LogHandler':
        # mod_wsgi.LogHandler: logging records into the Apache error log at the matching level.
        return _log_handler_class('LogHandler')
    raise AttributeError("module 'mod_wsgi' has no attribute %r" % (name,))


mod_wsgi.__getattr__ = _module_getattr
