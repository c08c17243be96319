//! The request path: translate_name maps WSGIScriptAlias URLs to scripts; the handler checks what httpd found,
//! resolves the effective settings (config decides which process group serves the request) and runs the app
//! here (embedded mode) or relays it to its daemon group. Failures are `HandlerError`s: the hook trampoline
//! logs each one once and answers with its status.
#![deny(unsafe_code)]

use crate::apache::log::{CurrentRequest, Level};
use crate::apache::{FileKind, Request, Status};
use crate::config::{AliasOptions, DirConfig, Effective, ProcessGroup};
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
    NoDaemons {
        script: String,
        group: String,
    },
    /// `origin`: where a group known only per request came from (%{ENV:var}, $N), with its value.
    UnknownGroup {
        script: String,
        group: String,
        origin: Option<String>,
    },
    ForeignGroup {
        group: String,
        owner: String,
    },
    Embedded {
        script: String,
        why: String,
    },
    /// A process group known only per request (%{ENV:var}, $N) that does not resolve: where it was configured
    /// and why.
    Unresolved {
        origin: String,
        why: String,
    },
    /// script-user= / script-group= of the group: the script's owner differs.
    ScriptOwner {
        script: String,
        group: String,
        why: String,
    },
    /// A WSGIDispatchScript could not decide (it failed, or answered something unusable).
    Dispatch {
        script: String,
        why: String,
    },
    /// WSGIRestrictProcess does not allow the group.
    Restricted {
        group: String,
        allowed: Vec<String>,
    },
}

impl HandlerError {
    pub fn status(&self) -> Status {
        match self {
            HandlerError::ScriptMissing(_) => Status::NOT_FOUND,
            HandlerError::IsDirectory(_)
            | HandlerError::NotRegular(_)
            | HandlerError::ExecCgiOff(_)
            | HandlerError::ScriptOwner { .. } => Status::FORBIDDEN,
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
            HandlerError::Dispatch { script, why } => write!(f, "WSGIDispatchScript {script}: {why}"),
            HandlerError::NoDaemons { script, group } => write!(
                f,
                "{script} is configured for daemon process group {group:?}, but no WSGIDaemonProcess groups are running"
            ),
            HandlerError::UnknownGroup {
                script,
                group,
                origin: None,
            } => write!(
                f,
                "{script} is configured for daemon process group {group:?}, which no WSGIDaemonProcess defines"
            ),
            HandlerError::UnknownGroup {
                script,
                group,
                origin: Some(o),
            } => write!(
                f,
                "{o} gives daemon process group {group:?}, which no WSGIDaemonProcess defines (script {script})"
            ),
            HandlerError::ForeignGroup { group, owner } => write!(
                f,
                "daemon process group {group:?} was defined in the virtual host {owner:?} and can only be used there (groups defined in a virtual host are private to it)"
            ),
            HandlerError::Embedded { script, why } => write!(f, "cannot run {script}: {why}"),
            HandlerError::Unresolved { origin, why } => write!(f, "{origin}: {why}"),
            HandlerError::ScriptOwner { script, group, why } => {
                write!(f, "daemon process group {group:?} refuses {script}: {why}")
            }
            HandlerError::Restricted { group, allowed } => write!(
                f,
                "daemon process group {group:?} cannot be used here: WSGIRestrictProcess allows only {}",
                allowed
                    .iter()
                    .map(|g| if g.is_empty() {
                        "%{GLOBAL}".to_string()
                    } else {
                        g.clone()
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Options of a regex mount that use $N, after substitution (set by translate, read by the handler).
const DEFERRED_NOTE: &str = "mod_rwsgi.mount_options";

pub fn translate(req: Request<'_>) -> Status {
    let Some(uri) = req.uri() else { return Status::DECLINED };
    if !uri.starts_with(b"/") {
        return Status::DECLINED;
    }
    let Some(sc) = req.server_config() else {
        return Status::DECLINED;
    };
    for (i, alias) in sc.aliases.iter().enumerate() {
        if let Some(m) = alias.map(uri) {
            req.set_filename(&m.filename);
            req.set_handler(c"wsgi-script");
            req.set_matched_alias(i);
            if !m.options.is_empty() {
                req.set_note(DEFERRED_NOTE, m.options.join("\n").as_bytes());
            }
            return Status::OK;
        }
    }
    Status::DECLINED
}

/// What serves a request this module handles: a WSGI script (handler wsgi-script) or a WSGIHandlerScript.
struct Target<'c> {
    script: String,
    /// The handler script's options (None for wsgi-script requests).
    handler: Option<&'c AliasOptions>,
}

fn target<'c>(req: Request<'_>, dir: &'c DirConfig) -> Result<Option<Target<'c>>, HandlerError> {
    let Some(h) = req.handler() else { return Ok(None) };
    if HANDLERS.contains(&h) {
        let script = String::from_utf8_lossy(req.filename().unwrap_or_default()).into_owned();
        match req.file_info().kind {
            FileKind::Regular => {}
            FileKind::Missing => return Err(HandlerError::ScriptMissing(script)),
            FileKind::Directory => return Err(HandlerError::IsDirectory(script)),
            FileKind::Other => return Err(HandlerError::NotRegular(script)),
        }
        if req.matched_alias().is_none() && !req.allows_exec_cgi() {
            return Err(HandlerError::ExecCgiOff(script));
        }
        return Ok(Some(Target { script, handler: None }));
    }
    Ok(dir
        .handler_scripts
        .iter()
        .find(|hs| hs.name.as_bytes() == h)
        .map(|hs| Target {
            script: hs.script.clone(),
            handler: Some(&hs.options),
        }))
}

/// The mount's options: as configured, or for a regex mount with $N in them, substituted for this URL.
fn mount_options<'c>(
    req: Request<'_>,
    alias: &'c crate::config::ScriptAlias,
) -> Result<std::borrow::Cow<'c, AliasOptions>, HandlerError> {
    // Only a regex mount with $N in its options leaves the note (no table lookup for the others).
    let Some(text) = (!alias.deferred_options.is_empty())
        .then(|| req.note(DEFERRED_NOTE))
        .flatten()
    else {
        return Ok(std::borrow::Cow::Borrowed(&alias.options));
    };
    let text = String::from_utf8_lossy(text);
    let words: Vec<String> = text.split('\n').map(str::to_string).collect();
    let substituted = crate::config::parse::alias_options(&words).map_err(|why| HandlerError::Unresolved {
        origin: format!("{} WSGIScriptAliasMatch {}", alias.origin, alias.written()),
        why: format!("for this URL the options are {words:?}: {why}"),
    })?;
    let mut merged = alias.options.clone();
    merged.process_group = substituted.process_group.or(merged.process_group);
    merged.application_group = substituted.application_group.or(merged.application_group);
    merged.callable_object = substituted.callable_object.or(merged.callable_object);
    merged.pass_authorization = substituted.pass_authorization.or(merged.pass_authorization);
    Ok(std::borrow::Cow::Owned(merged))
}

pub fn handle(req: Request<'_>) -> Result<Status, HandlerError> {
    let default_dir = DirConfig::default();
    let dir = req.dir_config().unwrap_or(&default_dir);
    let Some(target) = target(req, dir)? else {
        return Ok(Status::DECLINED);
    };
    let script = target.script;
    let alias = req
        .matched_alias()
        .and_then(|i| req.server_config().and_then(|s| s.aliases.get(i)));
    let alias_opts = match (target.handler, alias) {
        (Some(h), _) => Some(std::borrow::Cow::Borrowed(h)),
        (None, Some(a)) => Some(mount_options(req, a)?),
        (None, None) => None,
    };
    let mut eff = Effective::resolve(dir, alias_opts.as_deref());
    if target.handler.is_some() {
        eff.callable_object = crate::config::CallableName::Named("handle_request".to_string());
    }
    if let Some(te) = req.header_in(c"Transfer-Encoding") {
        if !eff.chunked_request && te.windows(7).any(|w| w.eq_ignore_ascii_case(b"chunked")) {
            return Err(HandlerError::ChunkedRefused(script));
        }
    }
    // Only a group named by a variable is known just now (no copy on the common path).
    let written = match &eff.process_group {
        ProcessGroup::Env(_) => eff.process_group.clone(),
        _ => ProcessGroup::Embedded,
    };
    if matches!(written, ProcessGroup::Env(_)) {
        eff.process_group = resolve_group(req, dir, alias, &written)?;
    }
    // Where a group known only now came from, for the error when it names no group.
    let origin = match (&written, alias) {
        (ProcessGroup::Env(var), _) => Some(format!(
            "{} WSGIProcessGroup %{{ENV:{var}}} = {:?}",
            dir.process_group_origin.as_deref().unwrap_or("?"),
            eff.process_group.environ_value()
        )),
        (_, Some(a)) if a.deferred_options.iter().any(|o| o.starts_with("process-group=")) => Some(format!(
            "{} WSGIScriptAliasMatch {} {}",
            a.origin,
            a.written(),
            a.deferred_options
                .iter()
                .find(|o| o.starts_with("process-group="))
                .map_or("", String::as_str)
        )),
        _ => None,
    };
    let handler_script = target.handler.map(|_| script.as_str());
    let mut info = crate::request::collect(req, &eff, handler_script);
    let mut origin = origin;
    if let Some(hook) = &dir.dispatch_script {
        let chosen = crate::dispatch::choose(req, hook, &info).map_err(|why| HandlerError::Dispatch {
            script: hook.script.clone(),
            why,
        })?;
        if let Some(group) = chosen.process_group {
            eff.process_group = match group {
                ProcessGroup::Env(_) => resolve_group(req, dir, alias, &group)?,
                g => g,
            };
            origin = Some(format!(
                "WSGIDispatchScript {} process_group() = {:?}",
                hook.script,
                eff.process_group.environ_value()
            ));
            info.process_group = eff.process_group.environ_value().as_bytes().to_vec();
            info.environ.set(b"mod_wsgi.process_group", &info.process_group.clone());
        }
        if let Some(group) = chosen.application_group {
            info.environ.set(b"mod_wsgi.application_group", &group);
            info.application_group = group;
        }
        if let Some(callable) = chosen.callable_object {
            info.environ.set(b"mod_wsgi.callable_object", &callable);
            info.callable = callable;
        }
    }
    if let Some(allowed) = &dir.restrict_process {
        if !allowed.iter().any(|g| g == eff.process_group.environ_value()) {
            return Err(HandlerError::Restricted {
                group: eff.process_group.environ_value().to_string(),
                allowed: allowed.clone(),
            });
        }
    }
    let started = std::time::Instant::now();
    let metered = crate::metrics::request(
        metrics_group(&eff.process_group),
        req.request_time(),
        crate::python::current::thread_number(),
    );
    let result = run(req, &eff, &info, &script, origin);
    metered.finish(match &result {
        Ok(Status::OK) => req.status(),
        Ok(s) => s.code(),
        Err(e) => e.status().code(),
    });
    slow_request(req, started);
    result
}

/// `SetHandler rwsgi-metrics`: the server's metrics (every httpd child and daemon process) in the Prometheus text
/// format, or OpenMetrics when the scraper asks for it. Protect the location as one would /server-status.
pub fn metrics(req: Request<'_>) -> Status {
    if !matches!(req.method(), Some(b"GET" | b"HEAD")) {
        return Status::http(405);
    }
    let accept = req.header_in(c"Accept").unwrap_or_default();
    let open = accept
        .windows(28)
        .any(|w| w.eq_ignore_ascii_case(b"application/openmetrics-text"));
    let groups: Vec<String> = crate::daemon::manager::table()
        .map(|t| t.groups.iter().map(|g| g.cfg.name.clone()).collect())
        .unwrap_or_default();
    let Some(text) = crate::metrics::render(&groups, open) else {
        req.log(
            Level::Error,
            "mod_rwsgi: rwsgi-metrics: no shared metrics memory in this server (see the error at start-up)",
        );
        return Status::http(503);
    };
    let content_type: &[u8] = if open {
        b"application/openmetrics-text; version=1.0.0; charset=utf-8"
    } else {
        b"text/plain; version=0.0.4; charset=utf-8"
    };
    let mut t = crate::connection::ApacheTransport::new(req);
    let status = crate::wsgi::headers::Status {
        code: 200,
        line: b"200 OK".to_vec(),
    };
    use crate::wsgi::transport::Transport;
    t.start(
        &status,
        &[
            (b"Content-Type".to_vec(), content_type.to_vec()),
            (b"Cache-Control".to_vec(), b"no-store".to_vec()),
        ],
        Some(text.len() as u64),
    );
    let _client_may_be_gone = t.write_final(&[text.as_bytes()]);
    Status::OK
}

/// The metrics index of a request's group: 0 for embedded mode, 1 + its position for a daemon group.
fn metrics_group(group: &ProcessGroup) -> usize {
    match group {
        ProcessGroup::Daemon(name) => crate::daemon::manager::table()
            .and_then(|t| t.groups.iter().position(|g| g.cfg.name == *name))
            .map_or(usize::MAX, |i| i + 1),
        _ => 0,
    }
}

/// The group of a request whose group is named by a variable (%{ENV:var}), looked up like mod_wsgi: the
/// request's notes, then its environment (SetEnv, SetEnvIf, RewriteRule [E=]), then the process environment.
fn resolve_group(
    req: Request<'_>,
    dir: &DirConfig,
    alias: Option<&crate::config::ScriptAlias>,
    group: &ProcessGroup,
) -> Result<ProcessGroup, HandlerError> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    group
        .resolve(|var| {
            req.note(var)
                .or_else(|| req.env_var(var))
                .map(text)
                .or_else(|| std::env::var(var).ok())
        })
        .map_err(|why| HandlerError::Unresolved {
            origin: match (&dir.process_group_origin, alias) {
                (Some(o), _) if dir.process_group.as_ref() == Some(group) => format!("{o} WSGIProcessGroup"),
                (_, Some(a)) => format!("{} {} process-group=", a.origin, a.written()),
                _ => "WSGIProcessGroup".to_string(),
            },
            why,
        })
}

fn run(
    req: Request<'_>,
    eff: &Effective,
    info: &crate::request::RequestHead,
    script: &str,
    origin: Option<String>,
) -> Result<Status, HandlerError> {
    if let ProcessGroup::Daemon(group) = &eff.process_group {
        let Some(table) = crate::daemon::manager::table() else {
            return Err(HandlerError::NoDaemons {
                script: script.to_string(),
                group: group.clone(),
            });
        };
        let Some(g) = table.group(group) else {
            return Err(HandlerError::UnknownGroup {
                script: script.to_string(),
                group: group.clone(),
                origin,
            });
        };
        check_script_owner(script, g)?;
        if let Some(owner) = &g.server_name {
            if req.server_hostname() != Some(owner.as_bytes()) {
                return Err(HandlerError::ForeignGroup {
                    group: group.clone(),
                    owner: owner.clone(),
                });
            }
        }
        return Ok(crate::daemon::client::handle(req, g, &table, info, eff.error_override));
    }
    if req.server_config().and_then(|c| c.restrict_embedded) == Some(true) {
        // Python may run in this child for hook scripts; WSGI applications may not.
        return Err(HandlerError::Embedded {
            script: script.to_string(),
            why: "embedded mode is disabled by WSGIRestrictEmbedded On".to_string(),
        });
    }
    let _current = CurrentRequest::enter(req);
    let outcome = embedded_scope(req, |slot| {
        crate::python::with_python(|py, rt| wsgi::run(py, rt, info, slot))
    });
    match outcome {
        Ok(Outcome::Done) => Ok(Status::OK),
        Ok(Outcome::Status(s)) => {
            match s {
                500 => crate::metrics::note_cause(crate::metrics::Cause::AppException),
                504 => crate::metrics::note_cause(crate::metrics::Cause::RequestTimeout),
                _ => {}
            }
            Ok(Status::http(s))
        }
        Err(why) => Err(HandlerError::Embedded {
            script: script.to_string(),
            why: why.to_string(),
        }),
    }
}

/// WSGISlowRequests: one log line for a request that took longer than the threshold.
fn slow_request(req: Request<'_>, started: std::time::Instant) {
    let Some(limit) = req.server_config().and_then(|c| c.slow_requests) else {
        return;
    };
    let took = started.elapsed().as_secs_f64();
    if took >= limit {
        req.log(
            Level::Warning,
            &format!(
                "mod_rwsgi: slow request: {} took {took:.3} s (WSGISlowRequests {limit}), status {}",
                String::from_utf8_lossy(req.unparsed_uri().unwrap_or_default()),
                req.status()
            ),
        );
    }
}

/// script-user= / script-group=: a daemon group runs only scripts with that owner (mod_wsgi answers 403).
fn check_script_owner(script: &str, g: &crate::daemon::manager::GroupRuntime) -> Result<(), HandlerError> {
    use std::os::unix::fs::MetadataExt;
    let (want_uid, want_gid) = (g.identity.script_uid, g.identity.script_gid);
    if want_uid.is_none() && want_gid.is_none() {
        return Ok(());
    }
    let refuse = |why: String| HandlerError::ScriptOwner {
        script: script.to_string(),
        group: g.cfg.name.clone(),
        why,
    };
    let meta = std::fs::metadata(script).map_err(|e| refuse(format!("cannot stat it: {e}")))?;
    if let Some(uid) = want_uid.filter(|u| *u != meta.uid()) {
        return Err(refuse(format!(
            "it is owned by uid {}, script-user= requires uid {uid}",
            meta.uid()
        )));
    }
    if let Some(gid) = want_gid.filter(|g| *g != meta.gid()) {
        return Err(refuse(format!(
            "its group is gid {}, script-group= requires gid {gid}",
            meta.gid()
        )));
    }
    Ok(())
}
