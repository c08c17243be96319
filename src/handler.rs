//! The request path: translate_name maps WSGIScriptAlias URLs to scripts; the handler checks what httpd found,
//! resolves the effective settings (config decides which process group serves the request) and runs the app
//! here (embedded mode) or relays it to its daemon group. Failures are `HandlerError`s: the hook trampoline
//! logs each one once and answers with its status.
#![deny(unsafe_code)]

use crate::apache::log::{CurrentRequest, Level};
use crate::apache::{FileKind, Request, Status};
use crate::config::{DirConfig, Effective, ProcessGroup};
use crate::connection::embedded_scope;
use crate::wsgi::{self, Outcome};

const HANDLERS: [&[u8]; 2] = [b"wsgi-script", b"application/x-httpd-wsgi"];

/// Why a request could not be run; each names the script and the cause.
#[derive(Debug)]
pub enum HandlerError {
    ScriptMissing(String),
    IsDirectory(String),
    NotRegular(String),
    ExecCgiOff(String),
    ChunkedRefused(String),
    NoDaemons { script: String, group: String },
    UnknownGroup { script: String, group: String },
    ForeignGroup { group: String, owner: String },
    Embedded { script: String, why: String },
}

impl HandlerError {
    pub fn status(&self) -> Status {
        match self {
            HandlerError::ScriptMissing(_) => Status::NOT_FOUND,
            HandlerError::IsDirectory(_) | HandlerError::NotRegular(_) | HandlerError::ExecCgiOff(_) => {
                Status::FORBIDDEN
            }
            HandlerError::ChunkedRefused(_) => Status::LENGTH_REQUIRED,
            _ => Status::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn level(&self) -> Level {
        Level::Error
    }
}

impl std::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandlerError::ScriptMissing(s) => write!(f, "target WSGI script not found or unable to stat: {s}"),
            HandlerError::IsDirectory(s) => write!(f, "attempt to invoke a directory as a WSGI application: {s}"),
            HandlerError::NotRegular(s) => write!(f, "target WSGI script is not a regular file: {s}"),
            HandlerError::ExecCgiOff(s) => write!(f, "Options ExecCGI is off in this directory: {s}"),
            HandlerError::ChunkedRefused(s) => {
                write!(
                    f,
                    "chunked request body refused for {s}: enable it with WSGIChunkedRequest On"
                )
            }
            HandlerError::NoDaemons { script, group } => write!(
                f,
                "{script} is configured for daemon process group {group:?}, but no WSGIDaemonProcess groups are running"
            ),
            HandlerError::UnknownGroup { script, group } => write!(
                f,
                "{script} is configured for daemon process group {group:?}, which no WSGIDaemonProcess defines"
            ),
            HandlerError::ForeignGroup { group, owner } => write!(
                f,
                "daemon process group {group:?} was defined in the virtual host {owner:?} and can only be used there (groups defined in a virtual host are private to it)"
            ),
            HandlerError::Embedded { script, why } => write!(f, "cannot run {script}: {why}"),
        }
    }
}

pub fn translate(req: Request<'_>) -> Status {
    let Some(uri) = req.uri() else { return Status::DECLINED };
    if !uri.starts_with(b"/") {
        return Status::DECLINED;
    }
    let Some(sc) = req.server_config() else {
        return Status::DECLINED;
    };
    for (i, alias) in sc.aliases.iter().enumerate() {
        if let Some(rest) = alias.matches(uri) {
            req.set_filename(&alias.filename_for(rest));
            req.set_handler(c"wsgi-script");
            req.set_matched_alias(i);
            return Status::OK;
        }
    }
    Status::DECLINED
}

pub fn handle(req: Request<'_>) -> Result<Status, HandlerError> {
    let Some(h) = req.handler() else {
        return Ok(Status::DECLINED);
    };
    if !HANDLERS.contains(&h) {
        return Ok(Status::DECLINED);
    }
    let script = String::from_utf8_lossy(req.filename().unwrap_or_default()).into_owned();
    match req.file_info().kind {
        FileKind::Regular => {}
        FileKind::Missing => return Err(HandlerError::ScriptMissing(script)),
        FileKind::Directory => return Err(HandlerError::IsDirectory(script)),
        FileKind::Other => return Err(HandlerError::NotRegular(script)),
    }
    let alias = req.matched_alias();
    if alias.is_none() && !req.allows_exec_cgi() {
        return Err(HandlerError::ExecCgiOff(script));
    }
    let default_dir = DirConfig::default();
    let dir = req.dir_config().unwrap_or(&default_dir);
    let alias_opts = alias
        .and_then(|i| req.server_config().and_then(|s| s.aliases.get(i)))
        .map(|a| &a.options);
    let eff = Effective::resolve(dir, alias_opts);
    if let Some(te) = req.header_in(c"Transfer-Encoding") {
        if !eff.chunked_request && te.windows(7).any(|w| w.eq_ignore_ascii_case(b"chunked")) {
            return Err(HandlerError::ChunkedRefused(script));
        }
    }
    let info = crate::request::collect(req, &eff);
    if let ProcessGroup::Daemon(group) = &eff.process_group {
        let Some(table) = crate::daemon::manager::table() else {
            return Err(HandlerError::NoDaemons {
                script,
                group: group.clone(),
            });
        };
        let Some(g) = table.group(group) else {
            return Err(HandlerError::UnknownGroup {
                script,
                group: group.clone(),
            });
        };
        if let Some(owner) = &g.server_name {
            if req.server_hostname() != Some(owner.as_bytes()) {
                return Err(HandlerError::ForeignGroup {
                    group: group.clone(),
                    owner: owner.clone(),
                });
            }
        }
        return Ok(crate::daemon::client::handle(req, g, &table, &info));
    }
    let _current = CurrentRequest::enter(req);
    let outcome = embedded_scope(req, |slot| {
        crate::python::with_python(|py, rt| wsgi::run(py, rt, &info, slot))
    });
    match outcome {
        Ok(Outcome::Done) => Ok(Status::OK),
        Ok(Outcome::Status(s)) => Ok(Status::http(s)),
        Err(why) => Err(HandlerError::Embedded {
            script,
            why: why.to_string(),
        }),
    }
}
