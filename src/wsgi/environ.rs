//! The environ dict: the CGI and mod_wsgi.* string pairs collected by the httpd child (`crate::request`), decoded
//! as latin-1, plus the per-request wsgi.* / mod_wsgi.* items and the items every request of this process shares.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::RequestInfo;
use crate::python::{Runtime, latin1};

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
    let k = &rt.request_keys;
    d.set_item(k.url_scheme.bind(py), latin1(py, scheme))?;
    d.set_item(k.input.bind(py), input)?;
    d.set_item(k.thread_id.bind(py), request.thread_id)?;
    d.set_item(k.request_start.bind(py), request.request_start)?;
    d.set_item(k.queue_start.bind(py), request.queue_start)?;
    d.set_item(k.daemon_start.bind(py), request.daemon_start)?;
    d.set_item(k.application_start.bind(py), request.application_start)?;
    if info.apache_request != 0 {
        d.set_item(
            k.request_rec.bind(py),
            crate::python::request_capsule(py, info.apache_request)?,
        )?;
    }
    // The items every request shares, made once per process (merged last: into a dict that already has items,
    // so the presized table is kept).
    d.update(rt.environ_constants.bind(py).as_mapping())?;
    Ok(d)
}
