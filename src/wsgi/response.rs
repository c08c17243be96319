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

/// A refusal as the exception mod_wsgi raises: ValueError, or Python's own UnicodeEncodeError for text that is
/// not latin-1 (raised by encoding `text` as Python would).
fn invalid(text: &Bound<'_, PyString>, e: headers::Invalid) -> PyErr {
    match e {
        headers::Invalid::Value(m) => PyValueError::new_err(m),
        headers::Invalid::NotLatin1 => match text.call_method1(pyo3::intern!(text.py(), "encode"), ("latin-1",)) {
            Err(e) => e,
            Ok(_) => PyValueError::new_err("text is not latin-1 encodable"),
        },
    }
}

fn string<'a, 'py>(v: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyString>> {
    v.cast::<PyString>()
        .map_err(|_| PyTypeError::new_err(format!("must be str, not {}", type_name(v))))
}

fn parse_headers(headers: &Bound<'_, PyAny>) -> PyResult<Vec<(Vec<u8>, Vec<u8>)>> {
    let list = headers.cast::<PyList>().map_err(|_| {
        PyTypeError::new_err(format!(
            "start_response() argument 2 must be list, not {}",
            type_name(headers)
        ))
    })?;
    let mut out = Vec::with_capacity(list.len());
    for item in list.iter() {
        let tuple = item
            .cast::<PyTuple>()
            .map_err(|_| PyTypeError::new_err(format!("each header must be a 2-tuple, not {}", type_name(&item))))?;
        if tuple.len() != 2 {
            return Err(PyValueError::new_err(format!(
                "each header must be a 2-tuple, got length {}",
                tuple.len()
            )));
        }
        let (name, value) = (tuple.get_item(0)?, tuple.get_item(1)?);
        let (name, value) = (string(&name)?, string(&value)?);
        let checked = headers::check_header(&name.to_cow()?, &value.to_cow()?).map_err(|e| match e {
            headers::Invalid::NotLatin1 if headers::latin1_bytes(&name.to_string_lossy()).is_err() => invalid(name, e),
            e => invalid(value, e),
        })?;
        out.push(checked);
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
        // PEP 3333: exc_info is what sys.exc_info() returns; anything else is the app's bug (mod_wsgi's words).
        if let Some(info) = exc_info {
            if !info.cast::<pyo3::types::PyTuple>().is_ok_and(|t| t.len() == 3) {
                return Err(PyRuntimeError::new_err(
                    "start_response() argument 'exc_info' must be a 3-tuple or None",
                ));
            }
        }
        super::events::response_started(py, status, headers, exc_info);
        let status = string(status)?;
        let parsed_status = headers::parse_status(&status.to_cow()?).map_err(|e| invalid(status, e))?;
        let parsed_headers = parse_headers(headers)?;
        self.slot
            .with(|st| -> PyResult<()> {
                match exc_info {
                    Some(info) if st.resp.headers_sent => Err(reraise(info)),
                    // Also before any output (PEP 3333; mod_wsgi would replace the first call's status there).
                    None if st.resp.status.is_some() => Err(PyRuntimeError::new_err(
                        "start_response() called more than once without exc_info",
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
    slot.with(|st| crate::python::current::detach_timed(py, || st.write(data, flush)))
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
