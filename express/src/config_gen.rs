//! Text generation: httpd.conf, the handler script for `--application-type module`, apachectl and envvars.
//! Pure functions of the settings, the platform and the server-root layout; nothing here touches the disk.
//! This module owns the layout and the quoting and path-list helpers every generated file shares; httpd.conf is
//! written by `httpd_conf` (with the MPM and daemon process sizing in `processes`), the other files by `scripts`.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::settings::{App, Settings};

/// Append one formatted line to a String (writing to a String cannot fail, so there is no Result to drop).
macro_rules! emit {
    ($w:expr, $($arg:tt)*) => {{
        $w.push_str(&format!($($arg)*));
        $w.push('\n');
    }};
}

mod httpd_conf;
mod processes;
mod scripts;

pub use httpd_conf::httpd_conf;
pub use scripts::{apachectl, env_vars, envvars_file, handler_script};

/// Where the generated files go and what the generated config points at.
#[derive(Debug, Clone)]
pub struct Layout {
    pub server_root: PathBuf,
    pub conf: PathBuf,
    pub pid_file: PathBuf,
    pub run_dir: PathBuf,
    pub htdocs: PathBuf,
    /// A file path, or /dev/stderr with --log-to-terminal.
    pub error_log: PathBuf,
    pub access_log: PathBuf,
    pub mime_types: PathBuf,
    pub module_path: PathBuf,
    /// The generated handler for `--application-type module`.
    pub handler_script: Option<PathBuf>,
    pub apachectl: PathBuf,
    pub envvars: PathBuf,
    /// httpd -E target (--startup-log).
    pub startup_log: Option<PathBuf>,
    /// WSGISocketPrefix: the module makes `PREFIX-<httpd pid>/` (0700) and puts the daemon sockets in it.
    pub socket_prefix: PathBuf,
    /// uid/gid of whoever runs rwsgi-express: httpd's identity when it is not started as root.
    pub invoker: (u32, u32),
}

impl Layout {
    pub fn new(s: &Settings, server_root: &Path, mime_types: PathBuf, module_path: PathBuf) -> Layout {
        let logs = s.log_directory.clone().unwrap_or_else(|| server_root.to_path_buf());
        let (error_log, access_log) = if s.log_to_terminal {
            (PathBuf::from("/dev/stderr"), PathBuf::from("/dev/stdout"))
        } else {
            (logs.join(&s.error_log_name), logs.join(&s.access_log_name))
        };
        Layout {
            server_root: server_root.to_path_buf(),
            conf: server_root.join("httpd.conf"),
            pid_file: s.pid_file.clone().unwrap_or_else(|| server_root.join("httpd.pid")),
            run_dir: server_root.join("run"),
            htdocs: server_root.join("htdocs"),
            error_log,
            access_log,
            mime_types,
            module_path,
            handler_script: matches!(s.app, App::Module { .. }).then(|| server_root.join("handler.wsgi")),
            apachectl: server_root.join("apachectl"),
            envvars: server_root.join("envvars"),
            startup_log: s.startup_log.as_ref().map(|name| logs.join(name)),
            socket_prefix: s
                .socket_prefix
                .as_deref()
                .unwrap_or(&server_root.join("run"))
                .join("rwsgi"),
            invoker: (crate::users::effective_uid(), crate::users::effective_gid()),
        }
    }

    /// The script WSGIScriptAlias mounts.
    pub fn mounted_script<'a>(&'a self, s: &'a Settings) -> &'a Path {
        match (&s.app, &self.handler_script) {
            (App::Script(p), _) => p,
            (App::Module { .. }, Some(h)) => h,
            (App::Module { .. }, None) => &self.server_root,
        }
    }
}

/// A double-quoted httpd.conf argument. Refuses what httpd would reinterpret (quotes, backslashes, `${VAR}`
/// expansion, control characters) instead of trying to escape it.
pub fn q(value: &str) -> Result<String> {
    if value.contains(['"', '\\']) || value.contains("${") || value.chars().any(char::is_control) {
        return Err(Error::usage(format!(
            "{value:?} cannot be written into httpd.conf (it contains a quote, backslash, control character or ${{)"
        )));
    }
    Ok(format!("\"{value}\""))
}

pub fn qp(path: &Path) -> Result<String> {
    let s = path
        .to_str()
        .ok_or_else(|| Error::usage(format!("path is not valid UTF-8: {}", path.display())))?;
    q(s)
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| Error::usage(format!("path is not valid UTF-8: {}", p.display())))
}

/// A colon-separated path list (a directory whose name has a ':' cannot be in one).
fn join_paths(paths: &[PathBuf]) -> Result<String> {
    let mut parts = Vec::new();
    for p in paths {
        let s = path_str(p)?;
        if s.contains(':') {
            return Err(Error::usage(format!(
                "{s}: a directory with ':' in its name cannot be on the Python path"
            )));
        }
        parts.push(s);
    }
    Ok(parts.join(":"))
}

/// sys.path additions: the working directory first, then --python-path, as mod_wsgi-express does.
pub fn python_path(s: &Settings) -> Vec<PathBuf> {
    let mut out = vec![s.working_directory.clone()];
    for p in &s.python_path {
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    out
}

#[cfg(test)]
#[path = "config_gen_tests.rs"]
mod tests;
