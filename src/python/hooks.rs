//! Calling a function of a hook script (WSGIAccessScript, WSGIAuthUserScript, WSGIAuthGroupScript,
//! WSGIDispatchScript) in this process's interpreter: the script is loaded like a WSGI script (cached, reloaded
//! when it changes, a failure never cached), the function gets an environ made of the request's CGI variables
//! plus mod_wsgi's keys, and whatever it raises becomes one error message with the traceback.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::loader::{self, LoadError};
use super::{Runtime, format_error, latin1, modwsgi};

/// Why a hook function could not give an answer (the message names the script and the function).
pub enum HookError {
    /// The script failed to load, or has no such function (a configuration error of the site).
    Unusable(String),
    /// The function raised: the message carries the traceback.
    Raised(String),
}

/// The environ a hook function gets: `vars` as latin-1 str, apache.version, mod_wsgi.version and wsgi.errors.
pub fn environ<'py>(py: Python<'py>, rt: &Runtime, vars: &[(Vec<u8>, Vec<u8>)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in vars {
        d.set_item(latin1(py, k), latin1(py, v))?;
    }
    let (a, b, c) = crate::apache::apache_version();
    d.set_item("apache.version", PyTuple::new(py, [a, b, c])?)?;
    let (a, b, c) = modwsgi::API_LEVEL;
    d.set_item("mod_wsgi.version", PyTuple::new(py, [a, b, c])?)?;
    d.set_item("wsgi.errors", rt.stderr.bind(py))?;
    Ok(d)
}

/// Calls `function(environ, *args)` of `script`; Ok(None) when the script has no such function and
/// `optional` (dispatch functions may be left out).
pub fn call<'py>(
    py: Python<'py>,
    rt: &Runtime,
    script: &str,
    reloading: bool,
    function: &str,
    optional: bool,
    environ: &Bound<'py, PyDict>,
    args: Vec<Bound<'py, PyAny>>,
) -> Result<Option<Bound<'py, PyAny>>, HookError> {
    let mtime = std::fs::metadata(script)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
    let module = loader::script_module(py, rt, OsStr::new(script).as_bytes(), mtime, reloading).map_err(|e| {
        HookError::Unusable(match e {
            LoadError::Failed(text) | LoadError::NoCallable(text) => text,
        })
    })?;
    let f = match module.getattr_opt(function) {
        Ok(Some(f)) => f,
        _ if optional => return Ok(None),
        _ => {
            return Err(HookError::Unusable(format!(
                "the script '{script}' has no function {function}()"
            )));
        }
    };
    let mut all = vec![environ.clone().into_any()];
    all.extend(args);
    let args = PyTuple::new(py, all).map_err(|e| HookError::Raised(e.to_string()))?;
    f.call1(args).map(Some).map_err(|e| {
        HookError::Raised(format!(
            "{} (in {function}()):\n{}",
            super::exception_header(py, &e, OsStr::new(script).as_bytes()),
            format_error(py, rt, &e)
        ))
    })
}
