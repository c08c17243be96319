//! Settings from a parsed command line: every start-server / setup-server option read, defaulted and checked,
//! and the rules across options (one application target, no daemon options with --embedded-mode, ...).

use std::path::PathBuf;

use super::sections::{daemon_options, ssl_settings};
use super::values::{
    absolute, bounded, check_defines, existing, existing_dir, is_dotted_identifier, is_env_name, is_group_name,
    normalize_mount_point, number, parse_entry_point, port,
};
use super::{App, Env, LOG_LEVELS, ReadTimeouts, Settings};
use crate::cli::Parsed;
use crate::error::{Error, Result};
use crate::options_table::DAEMON_ONLY;

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
            error_override: p.flag("error-override"),
            include_files,
            application_group: p.last("application-group").map(str::to_string),
            host: p.last("host").map(str::to_string),
            port,
            ssl,
            server_name: p.last("server-name").map(str::to_string),
            trusted_proxy_headers: p.all("trust-proxy-header").into_iter().map(str::to_string).collect(),
            trusted_proxies: p.all("trust-proxy").into_iter().map(str::to_string).collect(),
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
            server_metrics: p.flag("server-metrics"),
            metrics_url: match p.last("metrics-url") {
                Some(u) if u.starts_with('/') && !u.contains(char::is_whitespace) => Some(u.to_string()),
                Some(u) => {
                    return Err(Error::usage(format!(
                        "--metrics-url {u:?}: must be a URL path starting with / (e.g. /metrics)"
                    )));
                }
                None => None,
            },
            metrics_allow: p.all("metrics-allow").into_iter().map(str::to_string).collect(),
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
}
