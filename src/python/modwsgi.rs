//! The importable `mod_wsgi` module inside the process (apps written for mod_wsgi import it).

use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::apache::log::{self, Level};

/// Version reported as `mod_wsgi.version` / `environ['mod_wsgi.version']`: mod_rwsgi's own.
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

pub fn create<'py>(py: Python<'py>, settings: &super::Settings) -> PyResult<Bound<'py, PyModule>> {
    let m = PyModule::new(py, "mod_wsgi")?;
    let (a, b, c) = version_tuple();
    m.add("version", PyTuple::new(py, [a, b, c])?)?;
    m.add("server_name", "mod_rwsgi")?;
    m.add("process_group", settings.process_group.as_str())?;
    m.add("application_group", "")?;
    m.add("maximum_processes", settings.processes)?;
    m.add("threads_per_process", settings.threads)?;
    m.add("multithread", settings.multithread)?;
    m.add("multiprocess", settings.multiprocess)?;
    m.add_function(wrap_pyfunction!(log_line, &m)?)?;
    m.add_class::<super::file_wrapper::FileWrapper>()?;
    Ok(m)
}
