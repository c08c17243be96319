//! The WSGI environ for one request: httpd's CGI variables (FEATURES.md §4) decoded as latin-1, plus the
//! wsgi.* and mod_wsgi.* keys.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use crate::apache::{Request, apache_version};
use crate::config::{AppGroup, CallableName, Effective};
use crate::python::{Runtime, latin1, modwsgi};

/// Values for environ keys computed before the app runs.
pub struct Resolved {
    pub application_group: Vec<u8>,
    pub callable: String,
}

fn env_value<'a>(vars: &[(&'a [u8], &'a [u8])], name: &str) -> Option<&'a [u8]> {
    vars.iter().find(|(k, _)| *k == name.as_bytes()).map(|(_, v)| *v)
}

pub fn resolve(req: Request<'_>, eff: &Effective, vars: &[(&[u8], &[u8])]) -> Resolved {
    let host = || req.header_in(c"Host").unwrap_or_default().to_vec();
    let server = || {
        let name = env_value(vars, "SERVER_NAME").unwrap_or_default();
        let port = env_value(vars, "SERVER_PORT").unwrap_or(b"80");
        let mut v = name.to_vec();
        if port != b"80" && port != b"443" {
            v.push(b':');
            v.extend_from_slice(port);
        }
        v
    };
    let application_group = match &eff.application_group {
        AppGroup::Global => Vec::new(),
        AppGroup::Named(n) => n.as_bytes().to_vec(),
        AppGroup::Host => host(),
        AppGroup::Server => server(),
        AppGroup::Resource => {
            let mut v = server();
            v.push(b'|');
            v.extend_from_slice(&req.uri().unwrap_or_default()[..req.path_info_start().min(req.uri().map_or(0, <[u8]>::len))]);
            v
        }
        AppGroup::Env(var) => env_value(vars, var).unwrap_or_default().to_vec(),
    };
    let callable = match &eff.callable_object {
        CallableName::Named(n) => n.clone(),
        CallableName::Env(var) => env_value(vars, var)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "application".to_string()),
    };
    Resolved { application_group, callable }
}

/// Builds the environ dict. `vars` is httpd's subprocess_env after ap_add_common_vars.
pub fn build<'py>(
    py: Python<'py>,
    rt: &Runtime,
    req: Request<'_>,
    eff: &Effective,
    vars: &[(&[u8], &[u8])],
    resolved: &Resolved,
    input: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let mut scheme: &[u8] = b"http";
    for (k, v) in vars {
        match *k {
            b"PATH" | b"HTTPS" | b"HTTP_PROXY" | b"HTTP_AUTHORIZATION" | b"PATH_TRANSLATED" => {
                if *k == b"HTTPS" && v.eq_ignore_ascii_case(b"on") {
                    scheme = b"https";
                }
            }
            b"REQUEST_SCHEME" => {
                scheme = v;
                d.set_item(latin1(py, k), latin1(py, v))?;
            }
            _ => d.set_item(latin1(py, k), latin1(py, v))?,
        }
    }
    let uri = req.uri().unwrap_or(b"/");
    let split = req.path_info_start().min(uri.len());
    let script_name = uri[..split].strip_suffix(b"/").unwrap_or(&uri[..split]);
    let path_info = req.path_info().unwrap_or_default();
    let method = req.method().unwrap_or(b"GET");
    let set = |k: &str, v: &[u8]| d.set_item(PyString::intern(py, k), latin1(py, v));
    set("REQUEST_METHOD", method)?;
    set("SERVER_PROTOCOL", req.protocol().unwrap_or(b"HTTP/1.0"))?;
    set("GATEWAY_INTERFACE", b"CGI/1.1")?;
    set("QUERY_STRING", req.args().unwrap_or_default())?;
    set("REQUEST_URI", req.unparsed_uri().unwrap_or(uri))?;
    set("SCRIPT_NAME", script_name)?;
    set("PATH_INFO", path_info)?;
    if eff.pass_authorization {
        if let Some(auth) = req.header_in(c"Authorization") {
            set("HTTP_AUTHORIZATION", auth)?;
        }
    }
    let (a, b, c) = modwsgi::version_tuple();
    let (am, ai, ap) = apache_version();
    d.set_item(PyString::intern(py, "wsgi.version"), PyTuple::new(py, [1, 0])?)?;
    d.set_item(PyString::intern(py, "wsgi.url_scheme"), latin1(py, scheme))?;
    d.set_item(PyString::intern(py, "wsgi.input"), input)?;
    d.set_item(PyString::intern(py, "wsgi.input_terminated"), true)?;
    d.set_item(PyString::intern(py, "wsgi.errors"), rt.stderr.bind(py))?;
    d.set_item(PyString::intern(py, "wsgi.multithread"), rt.multithread)?;
    d.set_item(PyString::intern(py, "wsgi.multiprocess"), rt.multiprocess)?;
    d.set_item(PyString::intern(py, "wsgi.run_once"), false)?;
    d.set_item(PyString::intern(py, "wsgi.file_wrapper"), rt.file_wrapper.bind(py))?;
    set("mod_wsgi.process_group", eff.process_group.as_deref().unwrap_or("").as_bytes())?;
    set("mod_wsgi.application_group", &resolved.application_group)?;
    set("mod_wsgi.callable_object", resolved.callable.as_bytes())?;
    set("mod_wsgi.request_handler", req.handler().unwrap_or(b"wsgi-script"))?;
    set("mod_wsgi.handler_script", b"")?;
    set("mod_wsgi.script_reloading", if eff.script_reloading { b"1" } else { b"0" })?;
    set("mod_wsgi.script_name", script_name)?;
    set("mod_wsgi.path_info", path_info)?;
    set("mod_wsgi.request_id", req.log_id().unwrap_or_default())?;
    set("mod_wsgi.request_start", req.request_time().to_string().as_bytes())?;
    set("mod_wsgi.server", b"mod_rwsgi")?;
    d.set_item(PyString::intern(py, "mod_wsgi.version"), PyTuple::new(py, [a, b, c])?)?;
    d.set_item(PyString::intern(py, "apache.version"), PyTuple::new(py, [am, ai, ap])?)?;
    Ok(d)
}
