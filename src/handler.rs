//! The request path: translate_name maps WSGIScriptAlias URLs to scripts; the handler checks what httpd found,
//! resolves the effective settings and runs the app in this process's interpreter (embedded mode).

use crate::apache::log::{CurrentRequest, Level};
use crate::apache::transport::embedded_scope;
use crate::apache::{FileKind, Request};
use crate::config::Effective;
use crate::ffi;
use crate::wsgi::{self, Outcome};

const HANDLERS: [&[u8]; 2] = [b"wsgi-script", b"application/x-httpd-wsgi"];

pub fn translate(req: Request<'_>) -> i32 {
    let Some(uri) = req.uri() else { return ffi::DECLINED };
    if !uri.starts_with(b"/") {
        return ffi::DECLINED;
    }
    let Some(sc) = req.server_config() else {
        return ffi::DECLINED;
    };
    for (i, alias) in sc.aliases.iter().enumerate() {
        if let Some(rest) = alias.matches(uri) {
            req.set_filename(&alias.filename_for(rest));
            req.set_handler(c"wsgi-script");
            req.set_matched_alias(i);
            return ffi::OK;
        }
    }
    ffi::DECLINED
}

pub fn handle(req: Request<'_>) -> i32 {
    let Some(h) = req.handler() else { return ffi::DECLINED };
    if !HANDLERS.contains(&h) {
        return ffi::DECLINED;
    }
    let script = String::from_utf8_lossy(req.filename().unwrap_or_default()).into_owned();
    match req.file_info().kind {
        FileKind::Regular => {}
        FileKind::Missing => {
            req.log(
                Level::Error,
                &format!("mod_rwsgi: target WSGI script not found or unable to stat: {script}"),
            );
            return ffi::HTTP_NOT_FOUND;
        }
        FileKind::Directory => {
            req.log(
                Level::Error,
                &format!("mod_rwsgi: attempt to invoke a directory as a WSGI application: {script}"),
            );
            return ffi::HTTP_FORBIDDEN;
        }
        FileKind::Other => {
            req.log(
                Level::Error,
                &format!("mod_rwsgi: target WSGI script is not a regular file: {script}"),
            );
            return ffi::HTTP_FORBIDDEN;
        }
    }
    let alias = req.matched_alias();
    if alias.is_none() && !req.allows_exec_cgi() {
        req.log(
            Level::Error,
            &format!("mod_rwsgi: Options ExecCGI is off in this directory: {script}"),
        );
        return ffi::HTTP_FORBIDDEN;
    }
    let default_dir = crate::config::DirConfig::default();
    let dir = req.dir_config().unwrap_or(&default_dir);
    let alias_opts = alias
        .and_then(|i| req.server_config().and_then(|s| s.aliases.get(i)))
        .map(|a| &a.options);
    let eff = Effective::resolve(dir, alias_opts);
    if let Some(te) = req.header_in(c"Transfer-Encoding") {
        if !eff.chunked_request && te.windows(7).any(|w| w.eq_ignore_ascii_case(b"chunked")) {
            req.log(
                Level::Error,
                &format!("mod_rwsgi: chunked request body refused for {script}: enable it with WSGIChunkedRequest On"),
            );
            return ffi::HTTP_LENGTH_REQUIRED;
        }
    }
    let info = crate::cgi::collect(req, &eff);
    if let Some(group) = eff.process_group.as_deref().filter(|g| !g.is_empty()) {
        let Some(table) = crate::daemon::manager::table() else {
            req.log(Level::Error, &format!("mod_rwsgi: {script} is configured for daemon process group {group:?}, but no WSGIDaemonProcess groups are running"));
            return ffi::HTTP_INTERNAL_SERVER_ERROR;
        };
        let Some(g) = table.group(group) else {
            req.log(Level::Error, &format!("mod_rwsgi: {script} is configured for daemon process group {group:?}, which no WSGIDaemonProcess defines"));
            return ffi::HTTP_INTERNAL_SERVER_ERROR;
        };
        if let Some(owner) = &g.server_name {
            if req.server_hostname() != Some(owner.as_bytes()) {
                req.log(
                    Level::Error,
                    &format!("mod_rwsgi: daemon process group {group:?} was defined in the virtual host {owner:?} and can only be used there (FEATURES: groups defined in a vhost are private to it)"),
                );
                return ffi::HTTP_INTERNAL_SERVER_ERROR;
            }
        }
        return crate::daemon::client::handle(req, g, &table, &info);
    }
    let _current = CurrentRequest::enter(req);
    let outcome = embedded_scope(req, |slot| {
        crate::python::with_python(|py, rt| wsgi::run(py, rt, &info, slot))
    });
    match outcome {
        Ok(Outcome::Done) => ffi::OK,
        Ok(Outcome::Status(s)) => s,
        Err(why) => {
            req.log(Level::Error, &format!("mod_rwsgi: cannot run {script}: {why}"));
            ffi::HTTP_INTERNAL_SERVER_ERROR
        }
    }
}
