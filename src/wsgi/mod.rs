//! Running one WSGI request in this process, over any `Transport` (the httpd connection in embedded mode, the
//! daemon socket in daemon mode): load the app, build the environ, call it, stream what it returns, always call
//! close(), and map every failure to a status plus a log entry. Python is touched only with the GIL held; every
//! blocking transport call goes through `py.detach`.
#![deny(unsafe_code)]

mod environ;
mod events;

pub mod headers;
mod input;
mod response;
pub mod slot;
pub mod state;
pub mod transport;

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

pub use crate::python::file_wrapper::FileWrapper;
pub use crate::request::RequestHead as RequestInfo;
pub use slot::Slot;

use crate::apache::log::Level;
use crate::python::loader::{self, LoadError};
use crate::python::{Runtime, format_error};
use state::OutputError;

/// How the request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A response was sent (complete, or visibly cut short).
    Done,
    /// Nothing was sent: answer with this status (httpd's error page).
    Status(i32),
}

const HTTP_INTERNAL_SERVER_ERROR: i32 = 500;
const HTTP_NOT_FOUND: i32 = 404;

fn log(slot: &Slot, level: Level, msg: &str) {
    if slot.with(|st| st.log(level, msg)).is_err() {
        for line in msg.lines() {
            crate::apache::log::current(level, line);
        }
    }
}

pub fn run(py: Python<'_>, rt: &Runtime, info: &RequestInfo, slot: &Arc<Slot>) -> Outcome {
    let callable = String::from_utf8_lossy(&info.callable);
    let app = match loader::application(py, rt, &info.script, info.mtime, info.script_reloading, &callable) {
        Ok(app) => app,
        Err(LoadError::NoCallable(msg)) => {
            log(slot, Level::Error, &format!("mod_rwsgi: {msg}"));
            return Outcome::Status(HTTP_NOT_FOUND);
        }
        Err(LoadError::Failed(text)) => {
            log(slot, Level::Error, &format!("mod_rwsgi: {text}"));
            return Outcome::Status(HTTP_INTERNAL_SERVER_ERROR);
        }
    };
    let request = events::Request::begin(py, rt, info);
    let outcome = call_app(py, rt, info, slot, &app, &request);
    rt.flush_output(py);
    let status = u16::try_from(final_status(outcome, slot)).unwrap_or(500);
    let stats = slot.with(|st| st.stats).unwrap_or_default();
    request.finished(py, rt, status, stats);
    outcome
}

/// The HTTP status a request ended with: the one it is answered with, or its response's (500 if none started).
pub fn final_status(outcome: Outcome, slot: &Slot) -> i32 {
    match outcome {
        Outcome::Status(s) => s,
        Outcome::Done => slot
            .with(|st| st.resp.status.as_ref().map_or(500, |s| i32::from(s.code)))
            .unwrap_or(500),
    }
}

fn call_app(
    py: Python<'_>,
    rt: &Runtime,
    info: &RequestInfo,
    slot: &Arc<Slot>,
    app: &Bound<'_, PyAny>,
    request: &events::Request,
) -> Outcome {
    let setup = || -> PyResult<_> {
        let input = Bound::new(py, input::InputStream { slot: slot.clone() })?.into_any();
        let environ = environ::build(py, rt, info, input, request)?;
        let start_response = Bound::new(py, response::StartResponse { slot: slot.clone() })?;
        let callable = String::from_utf8_lossy(&info.callable);
        let app = request.started(py, rt, &environ, app.clone(), &callable)?;
        Ok((environ, start_response, app))
    };
    let (environ, start_response, app) = match setup() {
        Ok(v) => v,
        Err(e) => {
            return fail(
                py,
                slot,
                &format!("building the WSGI environ failed:\n{}", format_error(py, rt, &e)),
            );
        }
    };
    let result = match app.call1((environ, start_response)) {
        Ok(r) => r,
        Err(e) if is_request_timeout(py, rt, &e) => return interrupted(py, slot),
        Err(e) => {
            request.exception(py, rt, &e);
            return fail(
                py,
                slot,
                &format!(
                    "{}:\n{}",
                    crate::python::exception_header(py, &e, &info.script),
                    format_error(py, rt, &e)
                ),
            );
        }
    };
    let outcome = stream(py, rt, info, slot, &result, request);
    // close() is called whatever happened (PEP 3333), also after an exception or a client disconnect. A plain
    // list/tuple has none (asking would build an AttributeError); getattr_opt asks without raising.
    let plain = result.is_exact_instance_of::<PyList>() || result.is_exact_instance_of::<PyTuple>();
    let closed = if plain {
        Ok(())
    } else {
        match result.getattr_opt(pyo3::intern!(py, "close")) {
            Ok(Some(close)) => close.call0().map(|_| ()),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        }
    };
    // A RequestTimeout arriving in close() is the end of a request that ended anyway (mod_wsgi drops it too).
    let closed = closed.or_else(|e| if is_request_timeout(py, rt, &e) { Ok(()) } else { Err(e) });
    if let Err(e) = closed {
        request.exception(py, rt, &e);
        let text = format!(
            "exception raised by close() of the application's iterable:\n{}",
            format_error(py, rt, &e)
        );
        if outcome == Outcome::Done {
            log(slot, Level::Error, &format!("mod_rwsgi: {text}"));
        } else {
            return fail(py, slot, &text);
        }
    }
    if outcome != Outcome::Done {
        return outcome;
    }
    // A list or tuple result went out whole with the end of the response; otherwise end it now (without
    // handing the GIL over when there is nothing left to send).
    match slot.with(|st| {
        if st.resp.finished {
            Ok(())
        } else {
            crate::python::current::detach_timed(py, || st.finish())
        }
    }) {
        Ok(Ok(())) | Err(_) => Outcome::Done,
        Ok(Err(OutputError::App(msg))) => fail(py, slot, &msg),
        Ok(Err(OutputError::Client(msg))) => {
            log(slot, Level::Info, &format!("mod_rwsgi: {msg}"));
            Outcome::Done
        }
    }
}

fn is_request_timeout(py: Python<'_>, rt: &Runtime, e: &PyErr) -> bool {
    rt.bootstrap
        .bind(py)
        .getattr(pyo3::intern!(py, "RequestTimeout"))
        .is_ok_and(|t| e.is_instance(py, &t))
}

/// The request ended on mod_wsgi.RequestTimeout (raised by interrupt-timeout, or by the app): 504 when nothing
/// was sent, else the response is cut short. Not an application error: no traceback, and the thread serves on.
fn interrupted(py: Python<'_>, slot: &Arc<Slot>) -> Outcome {
    let sent = slot.with(|st| st.resp.headers_sent).unwrap_or(false);
    if sent {
        log(
            slot,
            Level::Info,
            "Request interrupted by RequestTimeout after headers sent; response truncated.",
        );
        let _ = slot.with(|st| py.detach(|| st.abort()));
        return Outcome::Done;
    }
    log(
        slot,
        Level::Info,
        "Request interrupted by RequestTimeout; thread recovered.",
    );
    Outcome::Status(504)
}

/// The app failed (the message says how). Before any output: log and answer 500 (or the status httpd answered
/// when it refused the request body). After output: log and cut the response so that the client can tell.
fn fail(py: Python<'_>, slot: &Arc<Slot>, msg: &str) -> Outcome {
    let (sent, rejected, gone) = slot
        .with(|st| (st.resp.headers_sent, st.input.rejected, st.resp.client_gone))
        .unwrap_or((false, None, false));
    if gone {
        log(slot, Level::Info, &format!("mod_rwsgi: client disconnected; {msg}"));
        return Outcome::Done;
    }
    log(slot, Level::Error, &format!("mod_rwsgi: {msg}"));
    if sent {
        let _ = slot.with(|st| py.detach(|| st.abort()));
        return Outcome::Done;
    }
    Outcome::Status(rejected.unwrap_or(HTTP_INTERNAL_SERVER_ERROR))
}

fn item_bytes<'a, 'py>(item: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyBytes>> {
    item.cast::<PyBytes>().map_err(|_| {
        let t = item.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        PyTypeError::new_err(format!("response iterable must yield bytes, not {t}"))
    })
}

fn write_item(py: Python<'_>, slot: &Slot, item: &Bound<'_, PyAny>, flush: bool) -> Result<(), PyErr> {
    let data = item_bytes(item)?.as_bytes();
    if data.is_empty() {
        return Ok(());
    }
    response::write_bytes(py, slot, data, flush)
}

fn stream(
    py: Python<'_>,
    rt: &Runtime,
    info: &RequestInfo,
    slot: &Arc<Slot>,
    result: &Bound<'_, PyAny>,
    request: &events::Request,
) -> Outcome {
    if let Ok(fw) = result.cast::<FileWrapper>() {
        if let Some(outcome) = send_file_wrapper(py, slot, fw.get()) {
            return outcome;
        }
    }
    let sequence: Option<Vec<Bound<'_, PyAny>>> = if let Ok(list) = result.cast::<PyList>() {
        Some(list.iter().collect())
    } else if let Ok(tuple) = result.cast::<PyTuple>() {
        Some(tuple.iter().collect())
    } else {
        None
    };
    let written = if let Some(items) = sequence {
        // A list or tuple is the complete body already: one pass with the end of the response.
        write_sequence(py, slot, &items)
    } else {
        match result.try_iter() {
            Ok(iter) => iter.into_iter().try_for_each(|item| {
                let item = item?;
                // The item that completes a declared Content-Length goes out with the end of the response, in
                // one pass (what a framework's one-chunk response does); later items can only be cut anyway, but
                // the iteration goes on, so that code after the last yield still runs.
                if slot.with(|st| st.resp.finished).unwrap_or(false) {
                    return Ok(());
                }
                let n = item_bytes(&item)?.as_bytes().len();
                if slot.with(|st| st.completes_declared_length(n)).unwrap_or(false) {
                    write_sequence(py, slot, std::slice::from_ref(&item))
                } else {
                    write_item(py, slot, &item, true)
                }
            }),
            Err(_) => {
                let t = result.get_type().name().map(|n| n.to_string()).unwrap_or_default();
                Err(PyTypeError::new_err(format!(
                    "the application must return an iterable of bytes, not {t}"
                )))
            }
        }
    };
    if let Err(e) = written {
        if slot.with(|st| st.resp.client_gone).unwrap_or(false) {
            log(
                slot,
                Level::Info,
                &format!(
                    "mod_rwsgi: client disconnected while the response was sent: {}",
                    e.value(py)
                ),
            );
            return Outcome::Done;
        }
        if is_request_timeout(py, rt, &e) {
            return interrupted(py, slot);
        }
        request.exception(py, rt, &e);
        return fail(
            py,
            slot,
            &format!(
                "{} (while sending the response):\n{}",
                crate::python::exception_header(py, &e, &info.script),
                format_error(py, rt, &e)
            ),
        );
    }
    if slot.with(|st| st.resp.status.is_none()).unwrap_or(false) {
        return fail(
            py,
            slot,
            "the WSGI application returned without calling start_response()",
        );
    }
    Outcome::Done
}

/// Largest body sent without releasing the GIL: httpd's core output filter takes it without blocking (it
/// blocks only past 64 KiB of buffered data), and not handing the GIL over saves two thread switches a request.
const SMALL_BODY: usize = 16 * 1024;

fn write_sequence(py: Python<'_>, slot: &Slot, items: &[Bound<'_, PyAny>]) -> Result<(), PyErr> {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(items.len());
    for item in items {
        match item_bytes(item) {
            Ok(b) => parts.push(b.as_bytes()),
            Err(e) => {
                // As mod_wsgi, which sends item by item: what came before the bad item goes out first.
                for p in parts {
                    if !p.is_empty() {
                        response::write_bytes(py, slot, p, true)?;
                    }
                }
                return Err(e);
            }
        }
    }
    let total: usize = parts.iter().map(|p| p.len()).sum();
    if total == 0 && slot.with(|st| st.resp.status.is_none()).unwrap_or(false) {
        // Nothing to send and no start_response: reported by the caller.
        return Ok(());
    }
    let result = if total <= SMALL_BODY {
        slot.with(|st| st.write_final(&parts))
    } else {
        slot.with(|st| crate::python::current::detach_timed(py, || st.write_final(&parts)))
    };
    result
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?
        .map_err(|e| match e {
            OutputError::App(m) => pyo3::exceptions::PyRuntimeError::new_err(m),
            OutputError::Client(m) => pyo3::exceptions::PyOSError::new_err(format!("client connection closed: {m}")),
        })
}

/// The sendfile path for a FileWrapper over a regular file; None when the file-like is not one (iterate it).
fn send_file_wrapper(py: Python<'_>, slot: &Arc<Slot>, fw: &FileWrapper) -> Option<Outcome> {
    let f = fw.filelike.bind(py);
    let fd: i32 = f.call_method0("fileno").ok()?.extract().ok()?;
    let size = crate::sys::regular_file_size(fd)?;
    let pos: i64 = f.call_method0("tell").ok()?.extract().ok()?;
    let mut len = (size - pos).max(0);
    if slot.with(|st| st.resp.status.is_none()).unwrap_or(true) {
        return Some(fail(
            py,
            slot,
            "the WSGI application returned without calling start_response()",
        ));
    }
    let declared = slot
        .with(|st| {
            st.resp
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(b"content-length"))
                .map(|(_, v)| headers::parse_content_length(v))
        })
        .ok()
        .flatten();
    match declared {
        Some(Ok(cl)) => len = len.min(i64::try_from(cl).unwrap_or(i64::MAX)),
        Some(Err(e)) => return Some(fail(py, slot, &e)),
        None => {
            let _ = slot.with(|st| {
                st.resp
                    .headers
                    .push((b"Content-Length".to_vec(), len.to_string().into_bytes()))
            });
        }
    }
    let sent = slot.with(|st| {
        py.detach(|| {
            if len > 0 {
                st.send_file(fd, pos, len)
            } else {
                st.apply_headers()
            }
        })
    });
    match sent {
        Ok(Ok(())) | Err(_) => Some(Outcome::Done),
        Ok(Err(OutputError::App(msg))) => Some(fail(py, slot, &msg)),
        Ok(Err(OutputError::Client(msg))) => {
            log(slot, Level::Info, &format!("mod_rwsgi: {msg}"));
            Some(Outcome::Done)
        }
    }
}
