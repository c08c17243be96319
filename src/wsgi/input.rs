//! wsgi.input: the request body as a file-like object. Reads block until the requested amount or the end of the
//! body (never past it), with the GIL released while waiting for the client.

use std::sync::Arc;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use super::slot::Slot;

#[pyclass(module = "mod_wsgi", name = "Input", frozen)]
pub struct InputStream {
    pub slot: Arc<Slot>,
}

fn size_arg(size: Option<&Bound<'_, PyAny>>) -> PyResult<Option<usize>> {
    match size {
        None => Ok(None),
        Some(s) if s.is_none() => Ok(None),
        Some(s) => {
            let n: i64 = s
                .extract()
                .map_err(|_| PyValueError::new_err("size must be an integer or None"))?;
            Ok(usize::try_from(n).ok())
        }
    }
}

/// Reads of at least this many bytes go straight into the bytes object returned (when nothing is buffered).
const DIRECT_READ: usize = 8192;

impl InputStream {
    /// read(n) with nothing buffered: the body is read into the returned object itself, until n bytes or the
    /// end of the body.
    fn read_direct(&self, py: Python<'_>, n: usize) -> PyResult<Option<Py<PyBytes>>> {
        self.slot
            .with(|st| -> PyResult<Option<Py<PyBytes>>> {
                if st.input.pos < st.input.buf.len() {
                    return Ok(None);
                }
                let filled = crate::python::bytes_filled(py, n, |buf| {
                    let mut got = 0;
                    while got < buf.len() {
                        let rest = &mut buf[got..];
                        match crate::python::current::detach_timed(py, || st.fill_into(rest))? {
                            0 => break,
                            k => got += k,
                        }
                    }
                    Ok::<usize, crate::wsgi::transport::IoError>(got)
                })?;
                filled
                    .map(|b| Some(b.unbind()))
                    .map_err(|e| PyOSError::new_err(format!("request body: {e}")))
            })
            .map_err(|e| PyOSError::new_err(e.to_string()))?
    }

    /// Takes bytes from the buffer until `done(buffered)` says how many to return, reading more as needed.
    fn take(&self, py: Python<'_>, done: impl Fn(&[u8], bool) -> Option<usize>) -> PyResult<Py<PyBytes>> {
        self.slot
            .with(|st| -> PyResult<Py<PyBytes>> {
                loop {
                    let avail = &st.input.buf[st.input.pos..];
                    if let Some(n) = done(avail, st.input.eof) {
                        let n = n.min(avail.len());
                        let out = PyBytes::new(py, &avail[..n]).unbind();
                        st.input.pos += n;
                        return Ok(out);
                    }
                    let want = 65536;
                    crate::python::current::detach_timed(py, || st.fill(want))
                        .map_err(|e| PyOSError::new_err(format!("request body: {e}")))?;
                }
            })
            .map_err(|e| PyOSError::new_err(e.to_string()))?
    }
}

#[pymethods]
impl InputStream {
    #[pyo3(signature = (size=None))]
    fn read(&self, py: Python<'_>, size: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyBytes>> {
        match size_arg(size)? {
            None => self.take(py, |b, eof| eof.then_some(b.len())),
            Some(0) => Ok(PyBytes::new(py, b"").unbind()),
            Some(n) => {
                if n >= DIRECT_READ {
                    if let Some(b) = self.read_direct(py, n)? {
                        return Ok(b);
                    }
                }
                self.take(py, move |b, eof| (eof || b.len() >= n).then_some(n))
            }
        }
    }

    #[pyo3(signature = (size=None))]
    fn readline(&self, py: Python<'_>, size: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyBytes>> {
        let limit = size_arg(size)?;
        if limit == Some(0) {
            return Ok(PyBytes::new(py, b"").unbind());
        }
        self.take(py, move |b, eof| {
            let nl = b.iter().position(|&c| c == b'\n').map(|i| i + 1);
            match (nl, limit) {
                (Some(i), Some(l)) => Some(i.min(l)),
                (Some(i), None) => Some(i),
                (None, Some(l)) if b.len() >= l => Some(l),
                (None, _) if eof => Some(b.len()),
                _ => None,
            }
        })
    }

    #[pyo3(signature = (hint=None))]
    fn readlines(&self, py: Python<'_>, hint: Option<&Bound<'_, PyAny>>) -> PyResult<Py<PyList>> {
        let hint = size_arg(hint)?.filter(|&h| h > 0);
        let lines = PyList::empty(py);
        let mut total = 0usize;
        loop {
            let line = self.readline(py, None)?;
            let n = line.bind(py).as_bytes().len();
            if n == 0 {
                break;
            }
            lines.append(line)?;
            total += n;
            if hint.is_some_and(|h| total >= h) {
                break;
            }
        }
        Ok(lines.unbind())
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyBytes>>> {
        let line = self.readline(py, None)?;
        Ok(if line.bind(py).as_bytes().is_empty() {
            None
        } else {
            Some(line)
        })
    }

    fn close(&self) {}
}
