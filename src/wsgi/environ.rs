//! The environ dict: the CGI and mod_wsgi.* string pairs collected by the httpd child (`crate::request`), decoded
//! as latin-1, plus the wsgi.* keys of this process.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::RequestInfo;
use crate::apache::apache_version;
use crate::python::{Runtime, latin1, modwsgi};

pub fn build<'py>(
    py: Python<'py>,
    rt: &Runtime,
    info: &RequestInfo,
    input: Bound<'py, PyAny>,
    request: &super::events::Request,
) -> PyResult<Bound<'py, PyDict>> {
    let d = crate::python::dict_with_capacity(py, info.environ.len() + 12);
    let mut scheme: &[u8] = b"http";
    let keys = rt.keys(py, &info.environ);
    for ((k, v), key) in info.environ.iter().zip(keys) {
        match k {
            // HTTPS only decides the scheme; it is not passed on (as mod_wsgi).
            b"HTTPS" => {
                if v.eq_ignore_ascii_case(b"on") {
                    scheme = b"https";
                }
            }
            b"REQUEST_SCHEME" => {
                scheme = v;
                d.set_item(key, latin1(py, v))?;
            }
            _ => d.set_item(key, latin1(py, v))?,
        }
    }
    let (a, b, c) = modwsgi::API_LEVEL;
    let (am, ai, ap) = apache_version();
    d.set_item(rt.key(py, b"wsgi.version"), PyTuple::new(py, [1, 0])?)?;
    d.set_item(rt.key(py, b"wsgi.url_scheme"), latin1(py, scheme))?;
    d.set_item(rt.key(py, b"wsgi.input"), input)?;
    d.set_item(rt.key(py, b"wsgi.input_terminated"), true)?;
    d.set_item(rt.key(py, b"wsgi.errors"), rt.stderr.bind(py))?;
    d.set_item(rt.key(py, b"wsgi.multithread"), rt.multithread)?;
    d.set_item(rt.key(py, b"wsgi.multiprocess"), rt.multiprocess)?;
    d.set_item(rt.key(py, b"wsgi.run_once"), false)?;
    d.set_item(rt.key(py, b"wsgi.file_wrapper"), rt.file_wrapper.bind(py))?;
    d.set_item(rt.key(py, b"mod_wsgi.version"), PyTuple::new(py, [a, b, c])?)?;
    d.set_item(rt.key(py, b"apache.version"), PyTuple::new(py, [am, ai, ap])?)?;
    let (ra, rb, rc) = modwsgi::version_tuple();
    d.set_item(rt.key(py, b"mod_rwsgi.version"), PyTuple::new(py, [ra, rb, rc])?)?;
    d.set_item(rt.key(py, b"mod_wsgi.thread_id"), request.thread_id)?;
    d.set_item(rt.key(py, b"mod_wsgi.request_start"), request.request_start)?;
    d.set_item(rt.key(py, b"mod_wsgi.queue_start"), request.queue_start)?;
    d.set_item(rt.key(py, b"mod_wsgi.daemon_start"), request.daemon_start)?;
    d.set_item(rt.key(py, b"mod_wsgi.application_start"), request.application_start)?;
    if info.apache_request != 0 {
        d.set_item(
            rt.key(py, b"apache.request_rec"),
            crate::python::request_capsule(py, info.apache_request)?,
        )?;
    }
    Ok(d)
}
