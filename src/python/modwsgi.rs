//! The importable `mod_wsgi` module inside the process (apps written for mod_wsgi import it).

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::apache::log::{self, Level};

/// The mod_wsgi API level implemented, reported as `mod_wsgi.version` / `environ['mod_wsgi.version']` (apps test
/// it to decide what they may use).
pub const API_LEVEL: (u32, u32, u32) = (6, 1, 0);

/// mod_rwsgi's own version: `mod_wsgi.rwsgi_version` / `environ['mod_rwsgi.version']`.
pub fn version_tuple() -> (u32, u32, u32) {
    let v: Vec<u32> = env!("CARGO_PKG_VERSION")
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    (
        v.first().copied().unwrap_or(0),
        v.get(1).copied().unwrap_or(0),
        v.get(2).copied().unwrap_or(0),
    )
}

/// Internal: one line into the Apache error log at an Apache level (tagged with the current request).
#[pyfunction]
#[pyo3(name = "_log")]
fn log_line(py: Python<'_>, level: i32, msg: &str) {
    let level = match level {
        0..=2 => Level::Crit,
        3 => Level::Error,
        4 => Level::Warning,
        5 => Level::Notice,
        6 => Level::Info,
        _ => Level::Debug,
    };
    let msg = msg.to_string();
    // The error log write may block; other Python threads can run meanwhile.
    py.detach(|| log::current(level, &msg));
}

/// `mod_wsgi.request_data()`: the dict of the request this thread serves (the same object every event of the
/// request carries).
#[pyfunction]
fn request_data(py: Python<'_>) -> PyResult<Py<pyo3::types::PyDict>> {
    super::current::with_current(py, |py, c| c.data.clone_ref(py))
        .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("no active request for thread"))
}

/// Internal: the application group of the request this thread serves (None outside a request).
#[pyfunction]
#[pyo3(name = "_request_application_group")]
fn request_application_group(py: Python<'_>) -> Option<Py<pyo3::types::PyString>> {
    super::current::with_current(py, |py, c| c.application_group.clone_ref(py))
}

/// Internal: Apache's scoreboard as mod_wsgi.server_metrics() returns it (None without one in this process).
#[pyfunction]
#[pyo3(name = "_server_metrics")]
fn server_metrics(py: Python<'_>) -> PyResult<Option<Py<pyo3::types::PyDict>>> {
    use pyo3::types::{PyDict, PyList};
    let Some(board) = py.detach(crate::apache::scoreboard::snapshot) else {
        return Ok(None);
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let d = PyDict::new(py);
    d.set_item("server_limit", board.server_limit)?;
    d.set_item("thread_limit", board.thread_limit)?;
    d.set_item("running_generation", board.running_generation)?;
    d.set_item("restart_time", board.restart_time)?;
    d.set_item("current_time", now)?;
    d.set_item("running_time", (now - board.restart_time).max(0.0))?;
    let processes = PyList::empty(py);
    for p in &board.processes {
        let pd = PyDict::new(py);
        pd.set_item("process_num", p.process_num)?;
        pd.set_item("pid", p.pid)?;
        pd.set_item("generation", p.generation)?;
        pd.set_item("quiescing", p.quiescing)?;
        let workers = PyList::empty(py);
        for w in &p.workers {
            let wd = PyDict::new(py);
            wd.set_item("thread_num", w.thread_num)?;
            wd.set_item("generation", w.generation)?;
            wd.set_item("status", w.status.to_string())?;
            wd.set_item("access_count", w.access_count)?;
            wd.set_item("bytes_served", w.bytes_served)?;
            wd.set_item("start_time", w.start_time)?;
            wd.set_item("stop_time", w.stop_time)?;
            wd.set_item("last_used", w.last_used)?;
            wd.set_item("client", &w.client)?;
            wd.set_item("request", &w.request)?;
            wd.set_item("vhost", &w.vhost)?;
            workers.append(wd)?;
        }
        pd.set_item("workers", workers)?;
        processes.append(pd)?;
    }
    d.set_item("processes", processes)?;
    Ok(Some(d.unbind()))
}

/// Internal: what this process's Python has run since the process started, counted with the figures the
/// `rwsgi-metrics` handler adds up: (requests by status class 1xx..5xx, busy seconds, (started, finished) per
/// thread number 1..).
#[pyfunction]
#[pyo3(name = "_process_counters")]
fn process_counters() -> ([u64; 5], f64, Vec<(u64, u64)>) {
    let o = crate::metrics::own();
    (o.classes, o.busy_us as f64 / 1e6, o.per_thread)
}

pub fn create<'py>(py: Python<'py>, settings: &super::Settings) -> PyResult<Bound<'py, PyModule>> {
    let m = PyModule::new(py, "mod_wsgi")?;
    let (a, b, c) = API_LEVEL;
    m.add("version", PyTuple::new(py, [a, b, c])?)?;
    let (a, b, c) = version_tuple();
    m.add("rwsgi_version", PyTuple::new(py, [a, b, c])?)?;
    m.add("server_name", "mod_rwsgi")?;
    m.add("process_group", settings.process_group.as_str())?;
    // application_group is answered per request by the module's __getattr__ (bootstrap.py).
    m.add("_default_application_group", "")?;
    m.add("active_requests", pyo3::types::PyDict::new(py))?;
    m.add_function(wrap_pyfunction!(request_data, &m)?)?;
    m.add_function(wrap_pyfunction!(request_application_group, &m)?)?;
    m.add("maximum_processes", settings.processes)?;
    m.add("threads_per_process", settings.threads)?;
    m.add("multithread", settings.multithread)?;
    m.add("multiprocess", settings.multiprocess)?;
    m.add_function(wrap_pyfunction!(log_line, &m)?)?;
    m.add_function(wrap_pyfunction!(server_metrics, &m)?)?;
    m.add_function(wrap_pyfunction!(process_counters, &m)?)?;
    m.add("_server_metrics_enabled", settings.python.server_metrics == Some(true))?;
    m.add_class::<super::file_wrapper::FileWrapper>()?;
    Ok(m)
}
