//! Apache's access and authentication phases answered by Python, as mod_wsgi's WSGIAccessScript,
//! WSGIAuthUserScript (the "wsgi" authn provider: Basic and Digest) and WSGIAuthGroupScript (`Require
//! wsgi-group`). The scripts run in the httpd child's interpreter, whatever process group serves the app. A
//! script that fails to load, lacks the function, raises or returns something else is logged with the reason
//! and answered as an error (500 for authentication, 403 for access), never cached as broken.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::apache::Request;
use crate::apache::log::Level;
use crate::config::{AppGroup, DirConfig, HookScript};
use crate::python::hooks::{self, HookError};

/// What an authentication provider answers httpd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authn {
    Granted,
    Denied,
    UserNotFound,
    /// get_realm_hash: the user's HA1 (hex of md5("user:realm:password")).
    Found(Vec<u8>),
    Error,
}

/// What an authorisation provider answers httpd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authz {
    Granted,
    Denied,
    Neutral,
    NoUser,
    Error,
}

/// What the access checker answers httpd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Allow,
    Forbid,
    NoOpinion,
}

fn group_name(req: Request<'_>, g: &AppGroup) -> Vec<u8> {
    match g {
        AppGroup::Global => Vec::new(),
        AppGroup::Named(n) => n.as_bytes().to_vec(),
        AppGroup::Host => req.header_in(c"Host").unwrap_or_default().to_vec(),
        AppGroup::Server | AppGroup::Resource | AppGroup::Env(_) => req.server_hostname().unwrap_or_default().to_vec(),
    }
}

/// Runs `function` of the hook script with the request's hook environ; `map` turns its result into the answer.
/// Errors are logged (with the directive named) and become `on_error`.
fn run<T>(
    req: Request<'_>,
    directive: &str,
    hook: &HookScript,
    function: &str,
    args: impl for<'py> FnOnce(Python<'py>) -> Vec<Bound<'py, PyAny>>,
    map: impl for<'py> FnOnce(Python<'py>, &Bound<'py, PyAny>) -> Result<T, String>,
    on_error: T,
) -> T {
    let dir = req.dir_config();
    let reloading = dir.and_then(|d| d.script_reloading).unwrap_or(true);
    let vars = crate::request::hook_vars(req, &group_name(req, &hook.application_group));
    let result = crate::python::with_python(|py, rt| -> Result<T, String> {
        let environ = hooks::environ(py, rt, &vars).map_err(|e| e.to_string())?;
        let args = args(py);
        match hooks::call(py, rt, &hook.script, reloading, function, false, &environ, args) {
            Ok(Some(v)) => map(py, &v),
            Ok(None) => Err(format!("{function}() of '{}' is missing", hook.script)),
            Err(HookError::Unusable(why)) | Err(HookError::Raised(why)) => Err(why),
        }
    });
    match result {
        Ok(Ok(v)) => v,
        Ok(Err(why)) => {
            for line in format!("mod_rwsgi: {directive} {}: {why}", hook.script).lines() {
                req.log(Level::Error, line);
            }
            on_error
        }
        Err(why) => {
            req.log(
                Level::Error,
                &format!(
                    "mod_rwsgi: {directive} {} cannot run in the httpd child: {why} (hook scripts run in embedded Python, which WSGIRestrictEmbedded On disables)",
                    hook.script
                ),
            );
            on_error
        }
    }
}

fn text<'py>(py: Python<'py>, b: &[u8]) -> Bound<'py, PyAny> {
    crate::python::latin1(py, b).into_any()
}

/// Basic authentication: check_password(environ, user, password).
pub fn check_password(req: Request<'_>, user: &[u8], password: &[u8]) -> Authn {
    let Some(hook) = req.dir_config().and_then(|d| d.auth_user_script.as_ref()) else {
        req.log(
            Level::Error,
            "mod_rwsgi: AuthBasicProvider wsgi is used here but no WSGIAuthUserScript is configured for this location",
        );
        return Authn::Error;
    };
    let renamed = std::cell::RefCell::new(None);
    let answer = run(
        req,
        "WSGIAuthUserScript",
        hook,
        "check_password",
        |py| vec![text(py, user), text(py, password)],
        |_, v| {
            if v.is_none() {
                return Ok(Authn::UserNotFound);
            }
            if let Ok(b) = v.cast::<pyo3::types::PyBool>() {
                return Ok(if b.is_true() { Authn::Granted } else { Authn::Denied });
            }
            if let Ok(s) = v.cast::<PyString>() {
                let name = s.to_cow().map_err(|e| e.to_string())?;
                if name.is_empty() {
                    return Err("check_password() returned an empty user name".to_string());
                }
                let bytes = crate::wsgi::headers::latin1_bytes(&name)
                    .map_err(|_| "check_password() returned a user name that is not latin-1".to_string())?;
                *renamed.borrow_mut() = Some(bytes);
                return Ok(Authn::Granted);
            }
            Err(format!(
                "check_password() must return True, False, None or the user name as a str, not {}",
                v.get_type().name().map(|n| n.to_string()).unwrap_or_default()
            ))
        },
        Authn::Error,
    );
    if let Some(name) = renamed.into_inner() {
        req.set_user(&name);
    }
    answer
}

/// Digest authentication: get_realm_hash(environ, user, realm) returns the HA1 or None.
pub fn realm_hash(req: Request<'_>, user: &[u8], realm: &[u8]) -> Authn {
    let Some(hook) = req.dir_config().and_then(|d| d.auth_user_script.as_ref()) else {
        req.log(
            Level::Error,
            "mod_rwsgi: AuthDigestProvider wsgi is used here but no WSGIAuthUserScript is configured for this location",
        );
        return Authn::Error;
    };
    run(
        req,
        "WSGIAuthUserScript",
        hook,
        "get_realm_hash",
        |py| vec![text(py, user), text(py, realm)],
        |_, v| {
            if v.is_none() {
                return Ok(Authn::UserNotFound);
            }
            let hash = if let Ok(b) = v.cast::<PyBytes>() {
                b.as_bytes().to_vec()
            } else if let Ok(s) = v.cast::<PyString>() {
                crate::wsgi::headers::latin1_bytes(&s.to_cow().map_err(|e| e.to_string())?)
                    .map_err(|_| "get_realm_hash() returned a str that is not latin-1".to_string())?
            } else {
                return Err(format!(
                    "get_realm_hash() must return the hash as str or bytes, or None, not {}",
                    v.get_type().name().map(|n| n.to_string()).unwrap_or_default()
                ));
            };
            if hash.is_empty() {
                return Err("get_realm_hash() returned an empty hash".to_string());
            }
            Ok(Authn::Found(hash))
        },
        Authn::Error,
    )
}

/// `Require wsgi-group NAME...`: groups_for_user(environ, user) returns the user's groups (compared without
/// case, as mod_wsgi does).
pub fn check_groups(req: Request<'_>, require_line: &[u8]) -> Authz {
    let Some(user) = req.user() else {
        return Authz::NoUser;
    };
    let dir: Option<&DirConfig> = req.dir_config();
    let Some(hook) = dir.and_then(|d| d.auth_group_script.as_ref()) else {
        req.log(
            Level::Error,
            "mod_rwsgi: Require wsgi-group is used here but no WSGIAuthGroupScript is configured for this location",
        );
        return Authz::Error;
    };
    let authoritative = dir.and_then(|d| d.group_authoritative).unwrap_or(true);
    let wanted: Vec<String> =
        crate::config::parse::split_args(&String::from_utf8_lossy(require_line)).unwrap_or_default();
    let groups = run(
        req,
        "WSGIAuthGroupScript",
        hook,
        "groups_for_user",
        |py| vec![text(py, user)],
        |_, v| {
            let iter = v
                .try_iter()
                .map_err(|_| "groups_for_user() must return an iterable of group names".to_string())?;
            let mut out = Vec::new();
            for item in iter {
                let item = item.map_err(|e| e.to_string())?;
                let name = if let Ok(b) = item.cast::<PyBytes>() {
                    String::from_utf8_lossy(b.as_bytes()).into_owned()
                } else if let Ok(s) = item.cast::<PyString>() {
                    s.to_cow().map_err(|e| e.to_string())?.into_owned()
                } else {
                    return Err("groups_for_user() must return group names as str or bytes".to_string());
                };
                out.push(name);
            }
            Ok(Some(out))
        },
        None,
    );
    let Some(groups) = groups else {
        return Authz::Error;
    };
    let uri = String::from_utf8_lossy(req.uri().unwrap_or_default()).into_owned();
    let user = String::from_utf8_lossy(user);
    let member = groups.iter().any(|g| wanted.iter().any(|w| w.eq_ignore_ascii_case(g)));
    if member {
        return Authz::Granted;
    }
    let why = if groups.is_empty() {
        "User is not a member of any groups."
    } else {
        "User is not a member of designated groups."
    };
    req.log(
        Level::Error,
        &format!("Authorization of user '{user}' to access '{uri}' failed. {why}"),
    );
    if authoritative { Authz::Denied } else { Authz::Neutral }
}

/// WSGIAccessScript: allow_access(environ, host).
pub fn check_access(req: Request<'_>) -> Access {
    let Some(hook) = req.dir_config().and_then(|d| d.access_script.as_ref()) else {
        return Access::NoOpinion;
    };
    let host = crate::request::hook_vars(req, b"")
        .into_iter()
        .find(|(k, _)| k == b"REMOTE_ADDR")
        .map(|(_, v)| v);
    let answer = run(
        req,
        "WSGIAccessScript",
        hook,
        "allow_access",
        |py| {
            vec![
                host.as_deref()
                    .map_or_else(|| py.None().into_bound(py), |h| text(py, h)),
            ]
        },
        |_, v| {
            if v.is_none() {
                return Ok(Access::NoOpinion);
            }
            match v.cast::<pyo3::types::PyBool>() {
                Ok(b) if b.is_true() => Ok(Access::Allow),
                Ok(_) => Ok(Access::Forbid),
                Err(_) => Err("allow_access() must return True, False or None".to_string()),
            }
        },
        Access::Forbid,
    );
    if answer == Access::Forbid {
        req.log(
            Level::Error,
            &format!(
                "Client denied by server configuration: '{}'.",
                String::from_utf8_lossy(req.filename().or(req.uri()).unwrap_or_default())
            ),
        );
    }
    answer
}
