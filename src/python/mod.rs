//! The Python runtime of an httpd child: interpreter start-up after fork (PyPreConfig/PyConfig, never a
//! crash), one thread state per httpd worker thread, and the in-process `mod_wsgi` module. Owns every call into
//! the CPython C API that is not covered by pyo3's safe API.

pub mod current;
pub mod file_wrapper;
pub mod home;
pub mod hooks;
mod init;
pub mod loader;
pub mod modwsgi;

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::config::ServerConfig;

/// What child_init produced: the interpreter and our Python-side helpers, or why Python could not start.
pub struct Runtime {
    pub bootstrap: Py<PyModule>,
    pub stdout: Py<PyAny>,
    pub stderr: Py<PyAny>,
    /// Where this interpreter runs, as mod_wsgi words it in log lines: "of daemon process 'G'" or "in embedded
    /// mode".
    pub context: String,
    /// bootstrap.dirty: threads that may have a partial line buffered in stdout/stderr.
    dirty: Py<pyo3::types::PyDict>,
    /// mod_wsgi.active_requests: request id -> request_data() of every request in flight.
    pub active_requests: Py<pyo3::types::PyDict>,
    /// mod_wsgi.event_callbacks (apps may append to it directly).
    event_callbacks: Py<pyo3::types::PyList>,
    /// bootstrap.recording: [True] once mod_wsgi.start_recording_metrics() was called.
    recording: Py<pyo3::types::PyList>,
    /// environ keys as interned str objects, made once per process.
    keys: Mutex<KeyCache>,
    /// The environ items that are the same for every request of this process (wsgi.version, wsgi.errors,
    /// wsgi.file_wrapper, the version tuples, ...): merged into each environ instead of being built again.
    pub environ_constants: Py<pyo3::types::PyDict>,
    /// The keys of the per-request items the WSGI layer adds itself.
    pub request_keys: RequestKeys,
}

/// Interned keys of the environ items set per request (besides the collected CGI variables).
pub struct RequestKeys {
    pub url_scheme: Py<PyString>,
    pub input: Py<PyString>,
    pub thread_id: Py<PyString>,
    pub request_start: Py<PyString>,
    pub queue_start: Py<PyString>,
    pub daemon_start: Py<PyString>,
    pub application_start: Py<PyString>,
    pub request_rec: Py<PyString>,
}

type KeyMap = HashMap<Vec<u8>, Py<PyString>, std::hash::BuildHasherDefault<Fnv>>;

/// FNV-1a: environ keys are short and not attacker-chosen in number (the map is bounded), so a fast hash
/// beats SipHash here.
#[derive(Default)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

fn key_in<'py>(keys: &mut KeyMap, py: Python<'py>, k: &[u8]) -> Bound<'py, PyString> {
    if let Some(s) = keys.get(k) {
        return s.bind(py).clone();
    }
    let s = latin1(py, k);
    // Bounded: a hostile client could send many distinct header names, so only the first few hundred keys
    // are kept.
    if keys.len() < 512 {
        keys.insert(k.to_vec(), s.clone().unbind());
    }
    s
}

/// The environ keys of the previous request in their order: requests to one site carry the same variables in
/// the same order, so most keys are found by one comparison at their position, without hashing.
#[derive(Default)]
struct KeyCache {
    map: KeyMap,
    recent: Vec<(Vec<u8>, Py<PyString>)>,
}

/// A bytes object of at most `n` bytes that `fill` writes in place (returning how many it wrote, or why it
/// failed): a request body read lands in the object the application gets, with no buffer in between.
pub fn bytes_filled<'py, E>(
    py: Python<'py>,
    n: usize,
    fill: impl FnOnce(&mut [std::mem::MaybeUninit<u8>]) -> Result<usize, E>,
) -> PyResult<Result<Bound<'py, pyo3::types::PyBytes>, E>> {
    unsafe extern "C" {
        fn _PyBytes_Resize(bytes: *mut *mut pyo3::ffi::PyObject, size: pyo3::ffi::Py_ssize_t) -> std::ffi::c_int;
    }
    let len =
        pyo3::ffi::Py_ssize_t::try_from(n).map_err(|_| pyo3::exceptions::PyOverflowError::new_err("read size"))?;
    // SAFETY: attached to Python. PyBytes_FromStringAndSize(NULL, n) makes a new, unshared bytes object whose n
    // bytes are uninitialised: they are handed out only as MaybeUninit, and the object is shrunk to what `fill`
    // wrote before anyone sees it (or released on failure).
    unsafe {
        let mut p = pyo3::ffi::PyBytes_FromStringAndSize(std::ptr::null(), len);
        if p.is_null() {
            return Err(PyErr::fetch(py));
        }
        let data = pyo3::ffi::PyBytes_AsString(p).cast::<std::mem::MaybeUninit<u8>>();
        match fill(std::slice::from_raw_parts_mut(data, n)) {
            Ok(got) => {
                let got = got.min(n);
                if got < n && _PyBytes_Resize(&mut p, got as pyo3::ffi::Py_ssize_t) != 0 {
                    return Err(PyErr::fetch(py));
                }
                Ok(Ok(Bound::from_owned_ptr(py, p).cast_into_unchecked()))
            }
            Err(e) => {
                pyo3::ffi::Py_DECREF(p);
                Ok(Err(e))
            }
        }
    }
}

/// A new dict with room for `n` items (no resizing while the environ is filled).
pub fn dict_with_capacity(py: Python<'_>, n: usize) -> Bound<'_, pyo3::types::PyDict> {
    unsafe extern "C" {
        fn _PyDict_NewPresized(minused: pyo3::ffi::Py_ssize_t) -> *mut pyo3::ffi::PyObject;
    }
    // SAFETY: attached to Python; _PyDict_NewPresized returns a new reference or null (then a plain dict).
    unsafe {
        let p = _PyDict_NewPresized(n as pyo3::ffi::Py_ssize_t);
        if p.is_null() {
            pyo3::ffi::PyErr_Clear();
            return pyo3::types::PyDict::new(py);
        }
        Bound::from_owned_ptr(py, p).cast_into_unchecked()
    }
}

impl Runtime {
    /// The runtime over the executed bootstrap module (its streams and the dirty-thread dict are taken once).
    pub fn new(
        bootstrap: &Bound<'_, PyModule>,
        file_wrapper: Py<PyAny>,
        multithread: bool,
        multiprocess: bool,
    ) -> PyResult<Runtime> {
        let py = bootstrap.py();
        let mut keys = KeyMap::default();
        let mut key = |k: &[u8]| key_in(&mut keys, py, k);
        let request_keys = RequestKeys {
            url_scheme: key(b"wsgi.url_scheme").unbind(),
            input: key(b"wsgi.input").unbind(),
            thread_id: key(b"mod_wsgi.thread_id").unbind(),
            request_start: key(b"mod_wsgi.request_start").unbind(),
            queue_start: key(b"mod_wsgi.queue_start").unbind(),
            daemon_start: key(b"mod_wsgi.daemon_start").unbind(),
            application_start: key(b"mod_wsgi.application_start").unbind(),
            request_rec: key(b"apache.request_rec").unbind(),
        };
        let stderr = bootstrap.getattr("stderr")?;
        let constants = pyo3::types::PyDict::new(py);
        let (a, b, c) = modwsgi::API_LEVEL;
        let (am, ai, ap) = crate::apache::apache_version();
        let (ra, rb, rc) = modwsgi::version_tuple();
        constants.set_item(key(b"wsgi.version"), pyo3::types::PyTuple::new(py, [1, 0])?)?;
        constants.set_item(key(b"wsgi.input_terminated"), true)?;
        constants.set_item(key(b"wsgi.errors"), &stderr)?;
        constants.set_item(key(b"wsgi.multithread"), multithread)?;
        constants.set_item(key(b"wsgi.multiprocess"), multiprocess)?;
        constants.set_item(key(b"wsgi.run_once"), false)?;
        constants.set_item(key(b"wsgi.file_wrapper"), file_wrapper.bind(py))?;
        constants.set_item(key(b"mod_wsgi.version"), pyo3::types::PyTuple::new(py, [a, b, c])?)?;
        constants.set_item(key(b"apache.version"), pyo3::types::PyTuple::new(py, [am, ai, ap])?)?;
        constants.set_item(key(b"mod_rwsgi.version"), pyo3::types::PyTuple::new(py, [ra, rb, rc])?)?;
        Ok(Runtime {
            environ_constants: constants.unbind(),
            request_keys,
            stdout: bootstrap.getattr("stdout")?.unbind(),
            stderr: stderr.unbind(),
            dirty: bootstrap.getattr("dirty")?.cast_into::<pyo3::types::PyDict>()?.unbind(),
            active_requests: bootstrap
                .getattr("mod_wsgi")?
                .getattr("active_requests")?
                .cast_into::<pyo3::types::PyDict>()?
                .unbind(),
            event_callbacks: bootstrap
                .getattr("event_callbacks")?
                .cast_into::<pyo3::types::PyList>()?
                .unbind(),
            recording: bootstrap
                .getattr("recording")?
                .cast_into::<pyo3::types::PyList>()?
                .unbind(),
            bootstrap: bootstrap.clone().unbind(),
            context: String::new(),
            keys: Mutex::new(KeyCache {
                map: keys,
                recent: Vec::new(),
            }),
        })
    }

    /// Every key of `pairs` at once (one lock for the whole environ).
    pub fn keys<'py>(&self, py: Python<'py>, env: &crate::request::Environ) -> Vec<Bound<'py, PyString>> {
        let mut cache = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        let KeyCache { map, recent } = &mut *cache;
        let mut out = Vec::with_capacity(env.len());
        for (i, (k, _)) in env.iter().enumerate() {
            match recent.get_mut(i) {
                Some((rk, key)) if rk.as_slice() == k => out.push(key.bind(py).clone()),
                Some(slot) => {
                    let key = key_in(map, py, k);
                    *slot = (k.to_vec(), key.clone().unbind());
                    out.push(key);
                }
                None => {
                    let key = key_in(map, py, k);
                    if recent.len() < 256 {
                        recent.push((k.to_vec(), key.clone().unbind()));
                    }
                    out.push(key);
                }
            }
        }
        out
    }

    /// Whether anything listens to request events (a subscriber, or metrics recording): the per-request
    /// bookkeeping in Python runs only then.
    pub fn hooks_active(&self, py: Python<'_>) -> bool {
        !self.event_callbacks.bind(py).is_empty()
            || self
                .recording
                .bind(py)
                .get_item(0)
                .and_then(|v| v.is_truthy())
                .unwrap_or(false)
    }

    /// Whether event subscribers exist (response_started, request_exception are only built then).
    pub fn has_subscribers(&self, py: Python<'_>) -> bool {
        !self.event_callbacks.bind(py).is_empty()
    }

    /// Calls bootstrap.`name`(*args).
    pub fn call_api<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        args: impl pyo3::call::PyCallArgs<'py>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.bootstrap.bind(py).getattr(name)?.call1(args)
    }

    /// Emits partial lines the app left in sys.stdout / sys.stderr, tagged with the request just served. Costs a
    /// dict lookup unless this thread left a partial line.
    pub fn flush_output(&self, py: Python<'_>) {
        let ident = thread_ident(py);
        let dirty = self.dirty.bind(py);
        if !matches!(dirty.contains(ident), Ok(true)) {
            return;
        }
        let _ = dirty.del_item(ident);
        for stream in [&self.stdout, &self.stderr] {
            if let Err(e) = stream.bind(py).call_method0("flush") {
                crate::apache::log::current(
                    crate::apache::log::Level::Error,
                    &format!("mod_rwsgi: flushing app output failed: {e}"),
                );
            }
        }
    }
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

thread_local! {
    // A raw pointer only: no destructor runs at thread exit (the module may be unloaded by then).
    static THREAD_STATE: Cell<*mut pyo3::ffi::PyThreadState> = const { Cell::new(std::ptr::null_mut()) };
}

/// Where and how to start Python in this process.
pub struct Settings {
    pub home: Option<String>,
    /// The interpreter-wide directives (WSGIPythonOptimize, WSGIRestrictSignal, ...).
    pub python: crate::config::PythonOptions,
    pub path: Vec<String>,
    pub process_group: String,
    pub multithread: bool,
    pub multiprocess: bool,
    pub threads: i32,
    pub processes: i32,
}

/// Called once in each httpd child after privileges were dropped (embedded mode). `hooks`: hook scripts are
/// configured, which run in the httpd child even when WSGIRestrictEmbedded On keeps WSGI apps out of it.
pub fn child_init(cfg: Option<&ServerConfig>, preload: &[(String, Option<String>)], hooks: bool) {
    let default = ServerConfig::default();
    let cfg = cfg.unwrap_or(&default);
    let restricted = cfg.restrict_embedded == Some(true);
    if restricted && !hooks {
        let _ = RUNTIME.set(Err("embedded mode is disabled by WSGIRestrictEmbedded On".to_string()));
        return;
    }
    let preload = if restricted { &[][..] } else { preload };
    let (multithread, multiprocess) = crate::apache::mpm_concurrency();
    let (threads, processes) = crate::apache::mpm_limits();
    let settings = Settings {
        home: cfg.python_home.clone(),
        python: cfg.python.clone(),
        path: cfg.python_path.clone(),
        process_group: String::new(),
        multithread,
        multiprocess,
        threads,
        processes,
    };
    if start(&settings) {
        for (script, callable) in preload {
            let _ = with_python(|py, rt| loader::preload(py, rt, script, callable.as_deref()));
        }
    }
}

/// Starts Python in this process; on failure logs one line and records why (requests then get 500).
pub fn start(settings: &Settings) -> bool {
    let result = init::start(settings);
    if let Err(e) = &result {
        crate::apache::log::server(crate::apache::log::Level::Crit, &e.to_string());
    }
    let ok = result.is_ok();
    let _ = RUNTIME.set(result.map_err(|e| e.to_string()));
    ok
}

/// Runs `f` with this thread attached to the interpreter, using the thread's own long-lived thread state
/// (created on first use). Err when Python did not start in this process.
pub fn with_python<R>(f: impl for<'py> FnOnce(Python<'py>, &Runtime) -> R) -> Result<R, &'static str> {
    let rt = runtime()?;
    let ts = THREAD_STATE.with(|c| {
        let mut ts = c.get();
        if ts.is_null() {
            // SAFETY: the interpreter is initialised; PyThreadState_New may be called without holding the GIL.
            ts = unsafe { pyo3::ffi::PyThreadState_New(pyo3::ffi::PyInterpreterState_Main()) };
            c.set(ts);
        }
        ts
    });
    if ts.is_null() {
        return Err("could not create a Python thread state");
    }
    struct Release;
    impl Drop for Release {
        fn drop(&mut self) {
            // SAFETY: paired with the PyEval_RestoreThread below on this thread (also when unwinding).
            unsafe { pyo3::ffi::PyEval_SaveThread() };
        }
    }
    let asked = std::time::Instant::now();
    // SAFETY: ts belongs to this thread and is not current anywhere (we always save it before returning).
    unsafe { pyo3::ffi::PyEval_RestoreThread(ts) };
    current::gil_acquired(asked.elapsed());
    let _release = Release;
    Ok(Python::attach(|py| f(py, rt)))
}

/// The runtime of this process (Err: why Python is not available).
pub fn runtime() -> Result<&'static Runtime, &'static str> {
    match RUNTIME.get() {
        Some(Ok(rt)) => Ok(rt),
        Some(Err(e)) => Err(e.as_str()),
        None => Err("Python was not started in this process"),
    }
}

/// The main thread's state after start-up: it becomes this thread's state (prefork runs requests there).
pub(crate) fn adopt_main_thread_state(ts: *mut pyo3::ffi::PyThreadState) {
    THREAD_STATE.with(|c| c.set(ts));
}

/// WSGIPassApacheRequest: a capsule named "apache.request_rec" holding the request_rec's address, for C
/// extensions that talk to httpd directly (as mod_wsgi passes it). Python never dereferences it.
pub fn request_capsule(py: Python<'_>, address: usize) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: PyCapsule_New only stores the pointer and the static name; no destructor is registered (httpd
    // owns the request_rec). The capsule is valid only during the request, like mod_wsgi's.
    unsafe {
        let p = pyo3::ffi::PyCapsule_New(address as *mut std::ffi::c_void, c"apache.request_rec".as_ptr(), None);
        Bound::from_owned_ptr_or_err(py, p)
    }
}

/// A str from bytes decoded as latin-1 (PEP 3333 "native strings").
pub fn latin1<'py>(py: Python<'py>, b: &[u8]) -> Bound<'py, PyString> {
    // SAFETY: PyUnicode_DecodeLatin1 cannot fail on any byte sequence except out of memory; the pointer and
    // length describe a valid slice; the new reference is owned by the Bound.
    unsafe {
        let p =
            pyo3::ffi::PyUnicode_DecodeLatin1(b.as_ptr().cast(), b.len() as pyo3::ffi::Py_ssize_t, std::ptr::null());
        if p.is_null() {
            pyo3::ffi::PyErr_Clear();
            return PyString::new(py, "");
        }
        Bound::from_owned_ptr(py, p).cast_into_unchecked()
    }
}

/// Text of the exception `err` with its full traceback.
/// The line mod_wsgi starts an application error with (log monitors look for it): "ValueError exception raised
/// processing WSGI script '/path'", or for SystemExit "SystemExit exception raised by WSGI script '/path'".
pub fn exception_header(py: Python<'_>, err: &PyErr, script: &[u8]) -> String {
    let script = String::from_utf8_lossy(script);
    if err.is_instance_of::<pyo3::exceptions::PySystemExit>(py) {
        return format!("SystemExit exception raised by WSGI script '{script}'");
    }
    let name = err
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".to_string());
    format!("{name} exception raised processing WSGI script '{script}'")
}

pub fn format_error(py: Python<'_>, rt: &Runtime, err: &PyErr) -> String {
    let value = err.value(py);
    let tb = err.traceback(py);
    let r = rt
        .bootstrap
        .bind(py)
        .getattr("format_exception")
        .and_then(|f| f.call1((value.get_type(), value, tb)));
    match r.and_then(|s| s.extract::<String>()) {
        Ok(s) => s,
        Err(_) => format!("{err}"),
    }
}

/// Python's identifier of the current thread (threading.get_ident()).
pub fn thread_ident(_py: Python<'_>) -> u64 {
    // SAFETY: the caller is attached (holds a Python token).
    // c_ulong is u64 on the 64-bit Linux targets httpd runs on.
    #[allow(clippy::useless_conversion)]
    u64::from(unsafe { pyo3::ffi::PyThread_get_thread_ident() })
}

/// Runs `f` attached to Python on a helper thread, giving up after `secs` (a thread stuck holding the GIL
/// must not block the caller, e.g. the daemon monitor).
pub fn with_python_timeout<R: Send + 'static>(
    secs: u64,
    f: impl for<'py> FnOnce(Python<'py>, &Runtime) -> R + Send + 'static,
) -> Option<R> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("rwsgi-probe".to_string())
        .spawn(move || {
            let _ = tx.send(with_python(f));
        })
        .ok()?;
    rx.recv_timeout(std::time::Duration::from_secs(secs)).ok()?.ok()
}

/// The Python stack of the thread with identifier `ident`, formatted like a traceback.
pub fn thread_stack(ident: u64) -> Option<String> {
    with_python_timeout(3, move |py, _| stack_of(py, ident))
}

/// The Python stack of thread `ident`, formatted like a traceback (the caller holds the GIL).
pub fn stack_of(py: Python<'_>, ident: u64) -> String {
    let code = c"import sys, traceback\ndef _stack(i):\n    f = sys._current_frames().get(i)\n    return ''.join(traceback.format_stack(f)) if f else '(thread not running Python)'\n";
    PyModule::from_code(py, code, c"<rwsgi-stack>", c"_rwsgi_stack")
        .and_then(|m| m.getattr("_stack")?.call1((ident,))?.extract::<String>())
        .unwrap_or_else(|e| format!("(stack not available: {e})"))
}

/// Raises mod_wsgi.RequestTimeout in thread `ident` at its next bytecode (interrupt-timeout). False when no
/// such thread runs Python.
pub fn raise_in_thread(py: Python<'_>, rt: &Runtime, ident: u64) -> bool {
    let Ok(exc) = rt.bootstrap.bind(py).getattr("RequestTimeout") else {
        return false;
    };
    // SAFETY: the GIL is held; the exception type stays alive (a module global), the call takes a new reference.
    let n = unsafe { pyo3::ffi::PyThreadState_SetAsyncExc(ident as std::os::raw::c_long, exc.as_ptr()) };
    n == 1
}

/// Raises MemoryError in thread `ident` at its next bytecode (memory-limit).
pub fn raise_memory_error(_py: Python<'_>, ident: u64) {
    // SAFETY: the GIL is held; PyExc_MemoryError is a static type object, the call takes a new reference.
    unsafe { pyo3::ffi::PyThreadState_SetAsyncExc(ident as std::os::raw::c_long, pyo3::ffi::PyExc_MemoryError) };
}

/// Withdraws a RequestTimeout raised in thread `ident` that was not delivered before its request ended.
pub fn withdraw_from_thread(_py: Python<'_>, ident: u64) {
    // SAFETY: the GIL is held; a null exception clears the pending one.
    unsafe { pyo3::ffi::PyThreadState_SetAsyncExc(ident as std::os::raw::c_long, std::ptr::null_mut()) };
}

/// Tells mod_wsgi.subscribe_shutdown / subscribe_events subscribers that the process stops, and why (mod_wsgi's
/// reason names: shutdown_signal, maximum_requests, restart_interval, inactivity_timeout, request_timeout, ...).
pub fn publish_stopping(reason: &'static str) {
    let _ = with_python_timeout(5, move |py, rt| {
        let _ = rt.call_api(py, "publish_stopping", (reason,));
    });
}

/// Tells mod_wsgi.subscribe_signals / subscribe_events subscribers about a signal the process received
/// (process_signal, daemon processes only).
pub fn publish_signal(name: &'static str, signum: i32) {
    let _ = with_python_timeout(5, move |py, rt| {
        let _ = rt.call_api(py, "publish_signal", (name, signum));
    });
}

/// Runs atexit handlers before a daemon process exits (bounded in time).
pub fn run_atexit() {
    let _ = with_python_timeout(5, |py, _| {
        if let Ok(m) = py.import("atexit") {
            let _ = m.call_method0("_run_exitfuncs");
        }
    });
}
