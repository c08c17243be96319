//! Running one WSGI request in this process (embedded mode): load the app, build the environ, call it, stream
//! what it returns, always call close(), and map every failure to a status plus a log entry. Python is touched
//! only with the GIL held; every blocking httpd call goes through `py.detach`.

mod environ;
mod file_wrapper;
pub mod headers;
mod input;
mod response;
mod state;

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

pub use file_wrapper::FileWrapper;
pub use state::{ReqState, Slot};

use crate::apache::Request;
use crate::apache::log::Level;
use crate::config::Effective;
use crate::python::loader::{self, LoadError};
use crate::python::{Runtime, format_error};
use state::OutputError;

const HTTP_INTERNAL_SERVER_ERROR: i32 = 500;
const HTTP_NOT_FOUND: i32 = 404;
const OK: i32 = 0;

/// Logs a possibly multi-line message, one error-log entry per line.
pub fn log_lines(req: Request<'_>, level: Level, text: &str) {
    for line in text.trim_end().lines() {
        req.log(level, line);
    }
}

/// How the response ended, for the status the handler returns.
enum Outcome {
    Done,
    /// Nothing was sent: answer with this status (httpd's error page).
    Status(i32),
}

pub fn run(py: Python<'_>, rt: &Runtime, req: Request<'_>, slot: &Arc<Slot>, eff: &Effective) -> i32 {
    let script = req.filename().unwrap_or_default();
    let info = req.file_info();
    let vars = {
        req.add_common_vars();
        req.subprocess_env()
    };
    let resolved = environ::resolve(req, eff, &vars);
    let app = match loader::application(py, rt, script, info.mtime, eff.script_reloading, &resolved.callable) {
        Ok(app) => app,
        Err(LoadError::NoCallable(msg)) => {
            req.log(Level::Error, &format!("mod_rwsgi: {msg}"));
            return HTTP_NOT_FOUND;
        }
        Err(LoadError::Failed(text)) => {
            log_lines(req, Level::Error, &format!("mod_rwsgi: {text}"));
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    };
    let outcome = call_app(py, rt, req, slot, eff, &vars, &resolved, &app);
    for stream in ["stdout", "stderr"] {
        if let Ok(s) = rt.bootstrap.bind(py).getattr(stream) {
            let _ = s.call_method0("flush");
        }
    }
    match outcome {
        Outcome::Done => OK,
        Outcome::Status(s) => s,
    }
}

#[allow(clippy::too_many_arguments)]
fn call_app(
    py: Python<'_>,
    rt: &Runtime,
    req: Request<'_>,
    slot: &Arc<Slot>,
    eff: &Effective,
    vars: &[(&[u8], &[u8])],
    resolved: &environ::Resolved,
    app: &Bound<'_, PyAny>,
) -> Outcome {
    let setup = || -> PyResult<_> {
        let input = Bound::new(py, input::InputStream { slot: slot.clone() })?.into_any();
        let environ = environ::build(py, rt, req, eff, vars, resolved, input)?;
        let start_response = Bound::new(py, response::StartResponse { slot: slot.clone() })?;
        Ok((environ, start_response))
    };
    let (environ, start_response) = match setup() {
        Ok(v) => v,
        Err(e) => return fail(py, rt, req, slot, &format!("building the WSGI environ failed:\n{}", format_error(py, rt, &e))),
    };
    let result = match app.call1((environ, start_response)) {
        Ok(r) => r,
        Err(e) => return fail(py, rt, req, slot, &format!("exception raised by the WSGI application:\n{}", format_error(py, rt, &e))),
    };
    let outcome = stream(py, rt, req, slot, &result);
    // close() is called whatever happened (PEP 3333), also after an exception or a client disconnect.
    let closed = match result.hasattr("close") {
        Ok(true) => result.call_method0("close").map(|_| ()),
        Ok(false) => Ok(()),
        Err(e) => Err(e),
    };
    if let Err(e) = closed {
        let text = format!("exception raised by close() of the application's iterable:\n{}", format_error(py, rt, &e));
        if matches!(outcome, Outcome::Done) {
            log_lines(req, Level::Error, &format!("mod_rwsgi: {text}"));
        } else {
            return fail(py, rt, req, slot, &text);
        }
    }
    if let Outcome::Status(_) = outcome {
        return outcome;
    }
    match slot.with(|r, st| py.detach(|| st.finish(r))) {
        Ok(Ok(())) | Err(_) => Outcome::Done,
        Ok(Err(OutputError::App(msg))) => fail(py, rt, req, slot, &msg),
        Ok(Err(OutputError::Client(msg))) => {
            req.log(Level::Info, &format!("mod_rwsgi: {msg}"));
            Outcome::Done
        }
    }
}

/// The app failed (message says how). Before any output: log and answer 500 (or the status httpd asked for
/// when it refused the request body). After output: log and cut the response so the client can tell.
fn fail(py: Python<'_>, _rt: &Runtime, req: Request<'_>, slot: &Arc<Slot>, msg: &str) -> Outcome {
    let (sent, rejected, gone) = slot
        .with(|_, st| (st.resp.headers_sent, st.input.rejected, st.resp.client_gone))
        .unwrap_or((false, None, false));
    if gone {
        log_lines(req, Level::Info, &format!("mod_rwsgi: client disconnected; {msg}"));
        return Outcome::Done;
    }
    log_lines(req, Level::Error, &format!("mod_rwsgi: {msg}"));
    if sent {
        let _ = slot.with(|r, st| py.detach(|| st.abort(r)));
        return Outcome::Done;
    }
    Outcome::Status(rejected.unwrap_or(HTTP_INTERNAL_SERVER_ERROR))
}

fn item_bytes<'a, 'py>(item: &'a Bound<'py, PyAny>) -> PyResult<&'a Bound<'py, PyBytes>> {
    item.cast::<PyBytes>().map_err(|_| {
        let t = item.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        PyTypeError::new_err(format!("the application's iterable must yield bytes, not {t}"))
    })
}

fn write_item(py: Python<'_>, slot: &Slot, item: &Bound<'_, PyAny>, flush: bool) -> Result<(), PyErr> {
    let b = item_bytes(item)?;
    let data = b.as_bytes();
    if data.is_empty() {
        return Ok(());
    }
    response::write_bytes(py, slot, data, flush)
}

fn stream(py: Python<'_>, rt: &Runtime, req: Request<'_>, slot: &Arc<Slot>, result: &Bound<'_, PyAny>) -> Outcome {
    if let Ok(fw) = result.cast::<FileWrapper>() {
        if let Some(outcome) = send_file_wrapper(py, rt, req, slot, fw.get()) {
            return outcome;
        }
    }
    let written = if let Ok(list) = result.cast::<PyList>() {
        // A list or tuple is complete already: no flush per item (httpd may then add Content-Length itself).
        list.iter().try_for_each(|item| write_item(py, slot, &item, false))
    } else if let Ok(tuple) = result.cast::<PyTuple>() {
        tuple.iter().try_for_each(|item| write_item(py, slot, &item, false))
    } else {
        match result.try_iter() {
            Ok(iter) => iter.into_iter().try_for_each(|item| write_item(py, slot, &item?, true)),
            Err(_) => {
                let t = result.get_type().name().map(|n| n.to_string()).unwrap_or_default();
                Err(PyTypeError::new_err(format!("the application must return an iterable of bytes, not {t}")))
            }
        }
    };
    if let Err(e) = written {
        let client_gone = slot.with(|_, st| st.resp.client_gone).unwrap_or(false);
        if client_gone {
            req.log(Level::Info, &format!("mod_rwsgi: client disconnected while the response was sent: {}", e.value(py)));
            return Outcome::Done;
        }
        return fail(py, rt, req, slot, &format!("error while sending the response:\n{}", format_error(py, rt, &e)));
    }
    if slot.with(|_, st| st.resp.status.is_none()).unwrap_or(false) {
        return fail(py, rt, req, slot, "the WSGI application returned without calling start_response()");
    }
    Outcome::Done
}

/// The sendfile path for a FileWrapper over a regular file; None when the file-like is not one (iterate it).
fn send_file_wrapper(py: Python<'_>, rt: &Runtime, req: Request<'_>, slot: &Arc<Slot>, fw: &FileWrapper) -> Option<Outcome> {
    let f = fw.filelike.bind(py);
    let fd: i32 = f.call_method0("fileno").ok()?.extract().ok()?;
    let meta = crate::apache::io::regular_file_size(fd)?;
    let pos: i64 = f.call_method0("tell").ok()?.extract().ok()?;
    let mut len = (meta - pos).max(0);
    if slot.with(|_, st| st.resp.status.is_none()).unwrap_or(true) {
        return Some(fail(py, rt, req, slot, "the WSGI application returned without calling start_response()"));
    }
    let declared = slot
        .with(|_, st| {
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
        Some(Err(e)) => return Some(fail(py, rt, req, slot, &e)),
        None => {
            let _ = slot.with(|_, st| st.resp.headers.push((b"Content-Length".to_vec(), len.to_string().into_bytes())));
        }
    }
    let sent = slot.with(|r, st| py.detach(|| if len > 0 { st.send_file(r, fd, pos, len) } else { st.apply_headers(r) }));
    match sent {
        Ok(Ok(())) | Err(_) => Some(Outcome::Done),
        Ok(Err(OutputError::App(msg))) => Some(fail(py, rt, req, slot, &msg)),
        Ok(Err(OutputError::Client(msg))) => {
            req.log(Level::Info, &format!("mod_rwsgi: {msg}"));
            Some(Outcome::Done)
        }
    }
}
