//! The Python runtime of an httpd child: interpreter start-up after fork (PyPreConfig/PyConfig, never a
//! crash), one thread state per httpd worker thread, and the in-process `mod_wsgi` module. Owns every call into
//! the CPython C API that is not covered by pyo3's safe API.

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
    pub file_wrapper: Py<PyAny>,
    pub multithread: bool,
    pub multiprocess: bool,
    /// environ keys as interned str objects, made once per process.
    keys: Mutex<HashMap<Vec<u8>, Py<PyString>>>,
}

impl Runtime {
    pub fn new(
        bootstrap: Py<PyModule>,
        stdout: Py<PyAny>,
        stderr: Py<PyAny>,
        file_wrapper: Py<PyAny>,
        multithread: bool,
        multiprocess: bool,
    ) -> Runtime {
        Runtime { bootstrap, stdout, stderr, file_wrapper, multithread, multiprocess, keys: Mutex::new(HashMap::new()) }
    }

    /// The environ key for `k` (latin-1), created once per process and shared by every request.
    pub fn key<'py>(&self, py: Python<'py>, k: &[u8]) -> Bound<'py, PyString> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
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

    /// Emits partial lines the app left in sys.stdout / sys.stderr, tagged with the request just served.
    pub fn flush_output(&self, py: Python<'_>) {
        for stream in [&self.stdout, &self.stderr] {
            if let Err(e) = stream.bind(py).call_method0("flush") {
                crate::apache::log::current(crate::apache::log::Level::Error, &format!("mod_rwsgi: flushing app output failed: {e}"));
            }
        }
    }
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

thread_local! {
    // A raw pointer only: no destructor runs at thread exit (the module may be unloaded by then).
    static THREAD_STATE: Cell<*mut pyo3::ffi::PyThreadState> = const { Cell::new(std::ptr::null_mut()) };
}

/// Called once in each httpd child after privileges were dropped.
pub fn child_init(cfg: Option<&ServerConfig>) {
    let default = ServerConfig::default();
    let cfg = cfg.unwrap_or(&default);
    if cfg.restrict_embedded == Some(true) {
        let _ = RUNTIME.set(Err("embedded mode is disabled by WSGIRestrictEmbedded On".to_string()));
        return;
    }
    let result = init::start(cfg);
    if let Err(e) = &result {
        crate::apache::log::server(crate::apache::log::Level::Crit, &e.to_string());
    }
    let _ = RUNTIME.set(result.map_err(|e| e.to_string()));
}

/// Runs `f` with this thread attached to the interpreter, using the thread's own long-lived thread state
/// (created on first use). Err when Python did not start in this process.
pub fn with_python<R>(f: impl for<'py> FnOnce(Python<'py>, &Runtime) -> R) -> Result<R, &'static str> {
    let rt = match RUNTIME.get() {
        Some(Ok(rt)) => rt,
        Some(Err(e)) => return Err(e.as_str()),
        None => return Err("Python was not started in this process"),
    };
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
    // SAFETY: ts belongs to this thread and is not current anywhere (we always save it before returning).
    unsafe { pyo3::ffi::PyEval_RestoreThread(ts) };
    let _release = Release;
    Ok(Python::attach(|py| f(py, rt)))
}

/// The main thread's state after start-up: it becomes this thread's state (prefork runs requests there).
pub(crate) fn adopt_main_thread_state(ts: *mut pyo3::ffi::PyThreadState) {
    THREAD_STATE.with(|c| c.set(ts));
}

/// A str from bytes decoded as latin-1 (PEP 3333 "native strings").
pub fn latin1<'py>(py: Python<'py>, b: &[u8]) -> Bound<'py, PyString> {
    // SAFETY: PyUnicode_DecodeLatin1 cannot fail on any byte sequence except out of memory; the pointer and
    // length describe a valid slice; the new reference is owned by the Bound.
    unsafe {
        let p = pyo3::ffi::PyUnicode_DecodeLatin1(b.as_ptr().cast(), b.len() as pyo3::ffi::Py_ssize_t, std::ptr::null());
        if p.is_null() {
            pyo3::ffi::PyErr_Clear();
            return PyString::new(py, "");
        }
        Bound::from_owned_ptr(py, p).cast_into_unchecked()
    }
}

/// Text of the exception `err` with its full traceback.
pub fn format_error(py: Python<'_>, rt: &Runtime, err: &PyErr) -> String {
    let value = err.value(py);
    let tb = err.traceback(py);
    let r = rt.bootstrap.bind(py).getattr("format_exception").and_then(|f| f.call1((value.get_type(), value, tb)));
    match r.and_then(|s| s.extract::<String>()) {
        Ok(s) => s,
        Err(_) => format!("{err}"),
    }
}
