//! Typed, validated settings for start-server / setup-server, built from a parsed command line. Every bad value
//! becomes one `Error::Usage` line naming the option. File-system checks here are only "does it exist"; access
//! as the run user is checked in `users`.

use std::path::{Path, PathBuf};

use crate::cli::Parsed;
use crate::error::{Error, Result};
use crate::options_table::DAEMON_ONLY;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum App {
    /// A .wsgi/.py file mounted with WSGIScriptAlias.
    Script(PathBuf),
    /// `package.module` + callable, mounted through a generated handler script.
    Module { module: String, callable: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ssl {
    pub port: u16,
    pub certificate: PathBuf,
    pub key: PathBuf,
    pub chain: Option<PathBuf>,
    pub environment: bool,
    pub ca_certificate: Option<PathBuf>,
    /// URL paths below which a client certificate is required.
    pub verify_client: Vec<String>,
    pub https_only: bool,
    pub hsts_policy: Option<String>,
}

/// mod_reqtimeout settings (RequestReadTimeout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadTimeouts {
    pub header: u32,
    pub header_max: u32,
    pub header_min_rate: u32,
    pub body: u32,
    pub body_max: u32,
    pub body_min_rate: u32,
}

/// WSGIDaemonProcess options beyond processes/threads. None: not given, the module's default applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaemonOptions {
    /// queue-timeout= (mod_wsgi-express's default is 45; 0 turns it off).
    pub queue_timeout: u32,
    pub socket_timeout: Option<u32>,
    pub connect_timeout: Option<u32>,
    pub inactivity_timeout: Option<u32>,
    pub graceful_timeout: Option<u32>,
    pub shutdown_timeout: Option<u32>,
    pub deadlock_timeout: Option<u32>,
    pub startup_timeout: Option<u32>,
    pub restart_interval: Option<u32>,
    pub listen_backlog: Option<u32>,
    pub header_buffer_size: Option<u32>,
    pub memory_limit: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub app: App,
    pub callable_object: String,
    pub mount_point: String,
    pub url_aliases: Vec<(String, PathBuf)>,
    pub document_root: Option<PathBuf>,
    pub directory_index: Option<String>,
    pub directory_listing: bool,
    pub allow_override: Option<String>,
    pub error_documents: Vec<(u16, String)>,
    pub include_files: Vec<PathBuf>,
    pub application_group: Option<String>,
    pub host: Option<String>,
    pub port: u16,
    pub ssl: Option<Ssl>,
    pub server_name: Option<String>,
    /// --embedded-mode: the app runs in the httpd children; otherwise (the default) in a WSGIDaemonProcess group.
    pub embedded: bool,
    /// Name of the daemon process group (--process-group, default HOST:PORT).
    pub process_group: String,
    pub daemon: DaemonOptions,
    /// --socket-prefix: directory of the daemon sockets.
    pub socket_prefix: Option<PathBuf>,
    /// --process-name: argv[0] of httpd.
    pub process_name: Option<String>,
    pub processes: u32,
    pub threads: u32,
    pub max_clients: Option<u32>,
    pub maximum_requests: u32,
    pub limit_request_body: u64,
    pub keep_alive_timeout: u32,
    pub server_backlog: u32,
    pub chunked_request: bool,
    pub compress_responses: bool,
    /// httpd `Timeout`: --socket-timeout, else --request-timeout.
    pub timeout: u32,
    /// --request-timeout: request-timeout= in daemon mode.
    pub request_timeout: u32,
    pub read_timeouts: ReadTimeouts,
    pub python_home: Option<PathBuf>,
    pub python_path: Vec<PathBuf>,
    pub working_directory: PathBuf,
    pub reload_on_changes: bool,
    pub disable_reloading: bool,
    pub setenv: Vec<(String, String)>,
    pub passenv: Vec<String>,
    pub locale: Option<String>,
    pub lang: Option<String>,
    pub envvars_script: Option<PathBuf>,
    pub python_eggs: Option<PathBuf>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub log_to_terminal: bool,
    pub log_level: String,
    pub access_log: bool,
    pub access_log_format: Option<String>,
    pub error_log_format: Option<String>,
    pub log_directory: Option<PathBuf>,
    pub error_log_name: String,
    pub access_log_name: String,
    pub server_status: bool,
    pub http2: bool,
    /// Preferred MPMs, in order (empty: event, worker, prefork).
    pub server_mpm: Vec<String>,
    /// httpd -E: start-up errors go to this file name in the log directory.
    pub startup_log: Option<String>,
    pub server_root: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub httpd_executable: Option<PathBuf>,
    pub modules_directory: Option<PathBuf>,
    pub module_path: Option<PathBuf>,
    pub mime_types: Option<PathBuf>,
    pub setup_only: bool,
    pub supervise: bool,
    /// Things to tell the user before starting (options passed on that the module does not enforce yet).
    pub warnings: Vec<String>,
}

/// What the settings depend on besides the command line (passed in so tests control it).
#[derive(Debug, Clone)]
pub struct Env {
    pub cwd: PathBuf,
    pub virtual_env: Option<String>,
}

pub const LOG_LEVELS: &[&str] = &[
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug", "trace1", "trace2", "trace3", "trace4",
    "trace5", "trace6", "trace7", "trace8",
];

impl Settings {
    pub fn from_parsed(p: &Parsed, env: &Env) -> Result<Settings> {
        p.refuse_unbuilt()?;
        let abs = |s: &str| absolute(&env.cwd, s);

        let callable_object = p.last("callable-object").unwrap_or("application").to_string();
        if !is_dotted_identifier(&callable_object) || callable_object.contains('.') {
            return Err(Error::usage(format!(
                "--callable-object {callable_object:?} is not a Python identifier"
            )));
        }

        let target = match (p.last("entry-point"), p.positional.as_slice()) {
            (Some(e), []) => e.to_string(),
            (None, [one]) => one.clone(),
            (Some(_), [_, ..]) => {
                return Err(Error::usage(
                    "give the application either as an argument or with --entry-point, not both",
                ));
            }
            (None, []) => {
                return Err(Error::usage(
                    "no application given: pass a WSGI script (rwsgi-express start-server app.wsgi) or \
                     --application-type module package.module:callable",
                ));
            }
            (None, [_, extra, ..]) => return Err(Error::usage(format!("unexpected extra argument {extra:?}"))),
        };
        let app = match p.last("application-type").unwrap_or("script") {
            "script" => {
                let path = abs(&target);
                if !path.is_file() {
                    return Err(Error::usage(format!("WSGI script not found: {}", path.display())));
                }
                App::Script(path)
            }
            "module" => parse_entry_point(&target, &callable_object)?,
            other => {
                return Err(Error::usage(format!(
                    "--application-type {other:?} is not supported: use 'script' or 'module'"
                )));
            }
        };

        let mount_point = normalize_mount_point(p.last("mount-point").unwrap_or("/"))?;

        let mut url_aliases = Vec::new();
        for (url, path) in p.pairs("url-alias") {
            if !url.starts_with('/') {
                return Err(Error::usage(format!(
                    "--url-alias {url:?}: the URL path must start with '/'"
                )));
            }
            let path = existing(abs(path), "--url-alias target")?;
            url_aliases.push((url.trim_end_matches('/').to_string(), path));
        }

        let document_root = p
            .last("document-root")
            .map(|d| existing_dir(abs(d), "--document-root"))
            .transpose()?;

        let mut error_documents = Vec::new();
        for (code, doc) in p.pairs("error-document") {
            let code = number::<u16>(code, "--error-document status")?;
            if !(400..=599).contains(&code) {
                return Err(Error::usage(format!(
                    "--error-document {code}: the status must be 400..599"
                )));
            }
            if !(doc.starts_with('/') || doc.starts_with("http://") || doc.starts_with("https://")) {
                return Err(Error::usage(format!(
                    "--error-document {code} {doc:?}: give a URL path or URL"
                )));
            }
            error_documents.push((code, doc.to_string()));
        }

        let include_files = p
            .all("include-file")
            .into_iter()
            .map(|f| existing(abs(f), "--include-file"))
            .collect::<Result<_>>()?;

        let port = port(p.last("port").unwrap_or("8000"), "--port")?;
        let process_group = match p.last("process-group") {
            Some(g) => {
                if !is_group_name(g) {
                    return Err(Error::usage(format!(
                        "--process-group {g:?}: use letters, digits and . _ - : @ + only"
                    )));
                }
                g.to_string()
            }
            None => format!(
                "{}:{port}",
                p.last("host").filter(|h| !h.is_empty()).unwrap_or("localhost")
            ),
        };
        let ssl = ssl_settings(p, &abs, port)?;

        let processes = bounded(p.last("processes"), 1, 1, 1000, "--processes")?;
        let threads = bounded(p.last("threads"), 5, 1, 1000, "--threads")?;
        let max_clients = p
            .last("max-clients")
            .map(|v| bounded(Some(v), 0, 1, 100_000, "--max-clients"))
            .transpose()?;

        let embedded = p.flag("embedded-mode");
        if embedded && let Some(name) = DAEMON_ONLY.iter().find(|n| p.values.iter().any(|(s, _)| s.name == **n)) {
            return Err(Error::usage(format!(
                "--{name} configures the daemon processes, which --embedded-mode turns off: drop one of them"
            )));
        }
        let request_timeout = bounded(p.last("request-timeout"), 60, 1, 86_400, "--request-timeout")?;
        let timeout = bounded(p.last("socket-timeout"), request_timeout, 1, 86_400, "--socket-timeout")?;
        let daemon = daemon_options(p)?;
        let mut warnings = Vec::new();
        for (spec, _) in &p.values {
            if let Some((option, why)) = spec.daemon_ignored() {
                let line = format!(
                    "--{} is passed on as {option}=, but mod_rwsgi does not act on it: {why}",
                    spec.name
                );
                if !warnings.contains(&line) {
                    warnings.push(line);
                }
            }
        }
        let read_timeouts = ReadTimeouts {
            header: bounded(p.last("header-timeout"), 15, 0, 86_400, "--header-timeout")?,
            header_max: bounded(p.last("header-max-timeout"), 30, 0, 86_400, "--header-max-timeout")?,
            header_min_rate: bounded(p.last("header-min-rate"), 500, 0, u32::MAX, "--header-min-rate")?,
            body: bounded(p.last("body-timeout"), 15, 0, 86_400, "--body-timeout")?,
            body_max: bounded(p.last("body-max-timeout"), 0, 0, 86_400, "--body-max-timeout")?,
            body_min_rate: bounded(p.last("body-min-rate"), 500, 0, u32::MAX, "--body-min-rate")?,
        };

        let python_home = match p.last("python-home") {
            Some(h) => Some(existing_dir(abs(h), "--python-home")?),
            None => match env.virtual_env.as_deref().filter(|v| !v.is_empty()) {
                Some(v) => Some(existing_dir(abs(v), "$VIRTUAL_ENV")?),
                None => None,
            },
        };
        let python_path: Vec<PathBuf> = p
            .all("python-path")
            .into_iter()
            .map(|d| existing_dir(abs(d), "--python-path"))
            .collect::<Result<_>>()?;
        let working_directory = match p.last("working-directory") {
            Some(d) => existing_dir(abs(d), "--working-directory")?,
            None => env.cwd.clone(),
        };

        let mut setenv = Vec::new();
        for (k, v) in p.pairs("setenv") {
            if k.is_empty() || k.contains(|c: char| c.is_whitespace() || c == '=') {
                return Err(Error::usage(format!("--setenv {k:?}: not a valid variable name")));
            }
            setenv.push((k.to_string(), v.to_string()));
        }
        let mut passenv = Vec::new();
        for k in p.all("passenv") {
            if !is_env_name(k) {
                return Err(Error::usage(format!("--passenv {k:?}: not a valid variable name")));
            }
            passenv.push(k.to_string());
        }

        let log_level = p.last("log-level").unwrap_or("warn").to_ascii_lowercase();
        if !LOG_LEVELS.contains(&log_level.as_str()) {
            return Err(Error::usage(format!(
                "--log-level {log_level:?}: use one of {}",
                LOG_LEVELS.join(", ")
            )));
        }
        let file_name = |opt: &str, default: &str| -> Result<String> {
            let name = p.last(opt).unwrap_or(default);
            if name.is_empty() || name.contains('/') {
                return Err(Error::usage(format!("--{opt} {name:?}: give a file name without '/'")));
            }
            Ok(name.to_string())
        };

        match &app {
            App::Script(path) => check_defines(path, &callable_object)?,
            App::Module { module, callable } => {
                let rel = module.replace('.', "/");
                let dirs = std::iter::once(&working_directory).chain(python_path.iter());
                let file = dirs
                    .flat_map(|d| [d.join(format!("{rel}.py")), d.join(&rel).join("__init__.py")])
                    .find(|f| f.is_file());
                // A module found elsewhere (site-packages) is not checked: only the import would tell.
                if let Some(file) = file {
                    let first = callable.split('.').next().unwrap_or(callable);
                    check_defines(&file, first)?;
                }
            }
        }

        let settings = Settings {
            app,
            callable_object,
            mount_point,
            url_aliases,
            document_root,
            directory_index: p.last("directory-index").map(str::to_string),
            directory_listing: p.flag("directory-listing"),
            allow_override: p.last("allow-override").map(str::to_string),
            error_documents,
            include_files,
            application_group: p.last("application-group").map(str::to_string),
            host: p.last("host").map(str::to_string),
            port,
            ssl,
            server_name: p.last("server-name").map(str::to_string),
            embedded,
            process_group,
            daemon,
            socket_prefix: p
                .last("socket-prefix")
                .map(|d| existing_dir(abs(d), "--socket-prefix"))
                .transpose()?,
            process_name: match p.last("process-name") {
                Some(n) if n.is_empty() || n.chars().any(char::is_control) => {
                    return Err(Error::usage(format!(
                        "--process-name {n:?}: empty or contains control characters"
                    )));
                }
                n => n.map(str::to_string),
            },
            processes,
            threads,
            max_clients,
            maximum_requests: bounded(p.last("maximum-requests"), 0, 0, u32::MAX, "--maximum-requests")?,
            limit_request_body: number::<u64>(
                p.last("limit-request-body").unwrap_or("10485760"),
                "--limit-request-body",
            )?,
            keep_alive_timeout: bounded(p.last("keep-alive-timeout"), 2, 0, 86_400, "--keep-alive-timeout")?,
            server_backlog: bounded(p.last("server-backlog"), 500, 1, 1_000_000, "--server-backlog")?,
            chunked_request: p.flag("chunked-request"),
            compress_responses: p.flag("compress-responses"),
            timeout,
            request_timeout,
            read_timeouts,
            python_home,
            python_path,
            working_directory,
            reload_on_changes: p.flag("reload-on-changes"),
            disable_reloading: p.flag("disable-reloading"),
            setenv,
            passenv,
            locale: p.last("locale").map(str::to_string),
            lang: p.last("lang").map(str::to_string),
            envvars_script: p
                .last("envvars-script")
                .map(|f| existing(abs(f), "--envvars-script"))
                .transpose()?,
            python_eggs: p.last("python-eggs").map(abs),
            user: p.last("user").map(str::to_string),
            group: p.last("group").map(str::to_string),
            log_to_terminal: p.flag("log-to-terminal"),
            log_level,
            access_log: p.flag("access-log"),
            access_log_format: p.last("access-log-format").map(str::to_string),
            error_log_format: p.last("error-log-format").map(str::to_string),
            log_directory: p
                .last("log-directory")
                .map(|d| existing_dir(abs(d), "--log-directory"))
                .transpose()?,
            error_log_name: file_name("error-log-name", "error_log")?,
            access_log_name: file_name("access-log-name", "access_log")?,
            server_status: p.flag("server-status"),
            http2: p.flag("http2"),
            server_mpm: {
                let mpms: Vec<String> = p.all("server-mpm").into_iter().map(str::to_ascii_lowercase).collect();
                if let Some(bad) = mpms
                    .iter()
                    .find(|m| !["event", "worker", "prefork"].contains(&m.as_str()))
                {
                    return Err(Error::usage(format!(
                        "--server-mpm {bad:?}: use event, worker or prefork"
                    )));
                }
                mpms
            },
            startup_log: if p.flag("startup-log") || p.flag("startup-log-name") {
                Some(file_name("startup-log-name", "startup_log")?)
            } else {
                None
            },
            server_root: p.last("server-root").map(abs),
            pid_file: p.last("pid-file").map(abs),
            httpd_executable: p.last("httpd-executable").map(abs),
            modules_directory: p.last("modules-directory").map(abs),
            module_path: p.last("module-path").map(abs),
            mime_types: p
                .last("mime-types")
                .map(|f| existing(abs(f), "--mime-types"))
                .transpose()?,
            setup_only: p.flag("setup-only"),
            supervise: p.flag("supervise"),
            warnings,
        };
        for (what, value) in [
            ("--host", &settings.host),
            ("--server-name", &settings.server_name),
            ("--locale", &settings.locale),
            ("--lang", &settings.lang),
            ("--directory-index", &settings.directory_index),
            ("--allow-override", &settings.allow_override),
            ("--application-group", &settings.application_group),
            ("--user", &settings.user),
            ("--group", &settings.group),
        ] {
            if let Some(v) = value
                && (v.is_empty() || v.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\'))
            {
                return Err(Error::usage(format!(
                    "{what} {v:?}: empty or contains spaces or quotes"
                )));
            }
        }
        Ok(settings)
    }

    /// The `processes x threads` capacity and the MaxRequestWorkers httpd gets.
    pub fn max_request_workers(&self) -> u32 {
        self.max_clients.unwrap_or(self.processes.saturating_mul(self.threads))
    }

    /// The name the server answers to, for ServerName and the banner URL.
    pub fn url_host(&self) -> String {
        match (&self.server_name, &self.host) {
            (Some(n), _) => n.clone(),
            (None, Some(h)) if h != "0.0.0.0" && h != "::" && h != "*" => bracket_v6(h),
            _ => "localhost".to_string(),
        }
    }
}

/// The WSGIDaemonProcess options, with the module's ranges (so httpd never rejects what passed here).
fn daemon_options(p: &Parsed) -> Result<DaemonOptions> {
    const DAY: u32 = 86_400;
    let opt = |name: &str, min: u32, max: u32| -> Result<Option<u32>> {
        p.last(name)
            .map(|v| bounded(Some(v), 0, min, max, &format!("--{name}")))
            .transpose()
    };
    Ok(DaemonOptions {
        queue_timeout: bounded(p.last("queue-timeout"), 45, 0, DAY, "--queue-timeout")?,
        socket_timeout: opt("socket-timeout", 1, DAY)?,
        connect_timeout: opt("connect-timeout", 1, DAY)?,
        inactivity_timeout: opt("inactivity-timeout", 0, DAY)?,
        graceful_timeout: opt("graceful-timeout", 0, DAY)?,
        shutdown_timeout: opt("shutdown-timeout", 0, DAY)?,
        deadlock_timeout: opt("deadlock-timeout", 0, DAY)?,
        startup_timeout: opt("startup-timeout", 0, DAY)?,
        restart_interval: opt("restart-interval", 0, DAY)?,
        listen_backlog: opt("daemon-backlog", 1, 65_535)?,
        // mod_wsgi-express's 0 means "the default".
        header_buffer_size: match opt("header-buffer-size", 0, 1 << 20)? {
            Some(0) | None => None,
            Some(n) if n < 1024 => {
                return Err(Error::usage(format!(
                    "--header-buffer-size {n}: must be 0 (default) or at least 1024"
                )));
            }
            n => n,
        },
        memory_limit: p
            .last("memory-limit")
            .map(|v| number::<u64>(v, "--memory-limit"))
            .transpose()?,
    })
}

/// A daemon process group name that is safe in httpd.conf and as a socket file name.
fn is_group_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-:@+".contains(c))
}

fn ssl_settings(p: &Parsed, abs: &dyn Fn(&str) -> PathBuf, http_port: u16) -> Result<Option<Ssl>> {
    let port_arg = p.last("https-port").or(p.last("ssl-port"));
    let (mut cert, mut key) = (
        p.last("ssl-certificate-file").map(abs),
        p.last("ssl-certificate-key-file").map(abs),
    );
    if let Some(prefix) = p.last("ssl-certificate") {
        cert = cert.or_else(|| Some(abs(&format!("{prefix}.crt"))));
        key = key.or_else(|| Some(abs(&format!("{prefix}.key"))));
    }
    let Some(port_arg) = port_arg else {
        for opt in [
            "ssl-certificate-file",
            "ssl-certificate-key-file",
            "ssl-certificate",
            "ssl-ca-certificate-file",
            "ssl-verify-client",
            "https-only",
            "hsts-policy",
            "ssl-environment",
            "ssl-certificate-chain-file",
        ] {
            if p.flag(opt) {
                return Err(Error::usage(format!("--{opt} needs --https-port")));
            }
        }
        return Ok(None);
    };
    let port = port(port_arg, "--https-port")?;
    if port == http_port {
        return Err(Error::usage(format!("--https-port {port} is the same as --port")));
    }
    let (Some(cert), Some(key)) = (cert, key) else {
        return Err(Error::usage(
            "--https-port needs --ssl-certificate-file and --ssl-certificate-key-file (or --ssl-certificate PREFIX)",
        ));
    };
    Ok(Some(Ssl {
        port,
        certificate: existing(cert, "--ssl-certificate-file")?,
        key: existing(key, "--ssl-certificate-key-file")?,
        chain: p
            .last("ssl-certificate-chain-file")
            .map(|c| existing(abs(c), "--ssl-certificate-chain-file"))
            .transpose()?,
        environment: p.flag("ssl-environment"),
        ca_certificate: p
            .last("ssl-ca-certificate-file")
            .map(|c| existing(abs(c), "--ssl-ca-certificate-file"))
            .transpose()?,
        verify_client: {
            let urls: Vec<String> = p.all("ssl-verify-client").into_iter().map(str::to_string).collect();
            if let Some(bad) = urls.iter().find(|u| !u.starts_with('/')) {
                return Err(Error::usage(format!(
                    "--ssl-verify-client {bad:?}: give a URL path starting with '/'"
                )));
            }
            if !urls.is_empty() && !p.flag("ssl-ca-certificate-file") {
                return Err(Error::usage("--ssl-verify-client needs --ssl-ca-certificate-file"));
            }
            urls
        },
        https_only: p.flag("https-only"),
        hsts_policy: p.last("hsts-policy").map(str::to_string),
    }))
}

/// Refuse a script that never mentions its callable: the module would only answer 404 for every request.
/// Deliberately a weak check (a word search, skipped for `import *`), so it never refuses a working app.
pub fn check_defines(path: &Path, name: &str) -> Result<()> {
    let text = std::fs::read(path)
        .map_err(|e| Error::usage(format!("cannot read the application {}: {e}", path.display())))?;
    let text = String::from_utf8_lossy(&text);
    if text.contains("import *") || mentions_word(&text, name) {
        return Ok(());
    }
    Err(Error::usage(format!(
        "{} does not define '{name}': name the WSGI callable with --callable-object",
        path.display()
    )))
}

fn mentions_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c == '_' || c.is_alphanumeric();
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// `pkg.mod:callable` (callable defaults to --callable-object).
pub fn parse_entry_point(target: &str, default_callable: &str) -> Result<App> {
    let (module, callable) = target.split_once(':').unwrap_or((target, default_callable));
    if !is_dotted_identifier(module) {
        return Err(Error::usage(format!(
            "--application-type module: {target:?} is not a module name like package.module:callable"
        )));
    }
    if !is_dotted_identifier(callable) {
        return Err(Error::usage(format!(
            "--application-type module: {callable:?} is not a Python attribute name"
        )));
    }
    Ok(App::Module {
        module: module.to_string(),
        callable: callable.to_string(),
    })
}

pub fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

pub fn normalize_mount_point(m: &str) -> Result<String> {
    if !m.starts_with('/') || m.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\' || c == '%') {
        return Err(Error::usage(format!(
            "--mount-point {m:?}: give a URL path starting with '/'"
        )));
    }
    let trimmed = m.trim_end_matches('/');
    Ok(if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    })
}

pub fn bracket_v6(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn absolute(cwd: &Path, s: &str) -> PathBuf {
    let p = Path::new(s);
    let joined = if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
    // Lexical clean-up only: ".." must not be resolved through symlinks the user did not name.
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn existing(p: PathBuf, what: &str) -> Result<PathBuf> {
    if p.exists() {
        Ok(p)
    } else {
        Err(Error::usage(format!("{what}: {} does not exist", p.display())))
    }
}

fn existing_dir(p: PathBuf, what: &str) -> Result<PathBuf> {
    if p.is_dir() {
        Ok(p)
    } else {
        Err(Error::usage(format!("{what}: {} is not a directory", p.display())))
    }
}

fn number<T: std::str::FromStr>(v: &str, what: &str) -> Result<T> {
    v.trim()
        .parse::<T>()
        .map_err(|_| Error::usage(format!("{what} {v:?}: not a valid number")))
}

fn bounded(v: Option<&str>, default: u32, min: u32, max: u32, what: &str) -> Result<u32> {
    let Some(v) = v else { return Ok(default) };
    let n = number::<u32>(v, what)?;
    if n < min || n > max {
        return Err(Error::usage(format!("{what} {n}: must be between {min} and {max}")));
    }
    Ok(n)
}

fn port(v: &str, what: &str) -> Result<u16> {
    match number::<u16>(v, what)? {
        0 => Err(Error::usage(format!("{what} 0: give a port between 1 and 65535"))),
        n => Ok(n),
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
