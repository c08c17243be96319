//! start_response and write(): validate what the app passes (so the app's own error handling sees a bad status
//! or header as an exception) and send body data with the GIL released.

use std::sync::Arc;

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use super::headers;
use super::slot::Slot;
use super::state::OutputError;

#[pyclass(module = "mod_wsgi", name = "StartResponse", frozen)]
pub struct StartResponse {
    pub slot: Arc<Slot>,
}

#[pyclass(module = "mod_wsgi", name = "Write", frozen)]
pub struct Write {
    slot: Arc<Slot>,
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".to_string())
}

fn parse_headers(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let list = headers
        .cast::<PyList>()
        .map_err(|_| PyTypeError::new_err(format!("response headers must be a list, not {}", type_name(headers))))?;
    let mut out = Vec::with_capacity(list.len());
    for item in list.iter() {
        let tuple = item.cast::<PyTuple>().map_err(|_| {
            PyTypeError::new_err(format!(
                "each response header must be a tuple, not {}",
                type_name(&item)
            ))
        })?;
        if tuple.len() != 2 {
            return Err(PyValueError::new_err(format!(
                "a response header must be a (name, value) tuple, got {} items",
                tuple.len()
            )));
        }
        let (name, value) = (tuple.get_item(0)?, tuple.get_item(1)?);
        let name_s = name
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err(format!("header name must be str, not {}", type_name(&name))))?
            .to_cow()?;
        let value_s = value
            .cast::<PyString>()
            .map_err(|_| {
                PyTypeError::new_err(format!(
                    "value of header {name_s:?} must be str, not {}",
                    type_name(&value)
                ))
            })?
            .to_cow()?;
        out.push(headers::check_header(&name_s, &value_s).map_err(PyValueError::new_err)?);
    }
    Ok(out)
}

fn reraise(exc_info: &Bound<'_, PyAny>) -> PyErr {
    match exc_info.get_item(1) {
        Ok(value) if !value.is_none() => {
            let err = PyErr::from_value(value.clone());
            if let Ok(tb) = exc_info.get_item(2) {
                if let Ok(tb) = tb.cast::<pyo3::types::PyTraceback>() {
                    err.set_traceback(exc_info.py(), Some(tb.clone()));
                }
            }
            err
        }
        _ => PyRuntimeError::new_err("start_response() called with exc_info after the response headers were sent"),
    }
}

#[pymethods]
impl StartResponse {
    #[pyo3(signature = (status, headers, exc_info=None))]
    fn __call__(
        &self,
        py: Python<'_>,
        status: &Bound<'_, PyAny>,
        headers: &Bound<'_, PyAny>,
        exc_info: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<Write>> {
        let exc_info = exc_info.filter(|e| !e.is_none());
        // PEP 3333: exc_info is what sys.exc_info() returns; anything else is the app's bug (mod_wsgi refuses it too).
        if let Some(info) = exc_info {
            if !info.cast::<pyo3::types::PyTuple>().is_ok_and(|t| t.len() == 3) {
                return Err(PyRuntimeError::new_err(format!(
                    "start_response() exc_info must be a (type, value, traceback) tuple as sys.exc_info() returns, not {}",
                    type_name(info)
                )));
            }
        }
        let status_s = status
            .cast::<PyString>()
            .map_err(|_| PyTypeError::new_err(format!("status must be str, not {}", type_name(status))))?
            .to_cow()?;
        let parsed_status = headers::parse_status(&status_s).map_err(PyValueError::new_err)?;
        let parsed_headers = parse_headers(headers)?;
        self.slot
            .with(|st| -> PyResult<()> {
                match exc_info {
                    Some(info) if st.resp.headers_sent => Err(reraise(info)),
                    None if st.resp.status.is_some() => Err(PyRuntimeError::new_err(
                        "start_response() was already called; a second call is only allowed with exc_info (PEP 3333)",
                    )),
                    _ => {
                        st.resp.status = Some(parsed_status);
                        st.resp.headers = parsed_headers;
                        Ok(())
                    }
                }
            })
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))??;
        Py::new(
            py,
            Write {
                slot: self.slot.clone(),
            },
        )
    }
}

/// Sends `data` as body output: GIL released during the write. Errors become Python exceptions.
pub fn write_bytes(py: Python<'_>, slot: &Slot, data: &[u8], flush: bool) -> PyResult<()> {
    slot.with(|st| py.detach(|| st.write(data, flush)))
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))?
        .map_err(|e| match e {
            OutputError::App(m) => PyRuntimeError::new_err(m),
            OutputError::Client(m) => PyOSError::new_err(format!("client connection closed: {m}")),
        })
}

#[pymethods]
impl Write {
    fn __call__(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        let bytes = data
            .cast::<PyBytes>()
            .map_err(|_| PyTypeError::new_err(format!("write() argument must be bytes, not {}", type_name(data))))?;
        write_bytes(py, &self.slot, bytes.as_bytes(), true)
    }
}
