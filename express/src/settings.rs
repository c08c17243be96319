//! Typed, validated settings for start-server / setup-server: the structs the rest of rwsgi-express reads.
//! `from_parsed` builds them from a parsed command line, with the daemon and HTTPS option groups in `sections`
//! and the checks of single values in `values`. Every bad value becomes one `Error::Usage` line naming the
//! option. File-system checks here are only "does it exist"; access as the run user is checked in `users`.

mod from_parsed;
mod sections;
mod values;

use std::path::PathBuf;

pub use values::bracket_v6;

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
    /// Options passed through as written, checked by the module's own option table:
    /// (WSGIDaemonProcess option, value).
    pub passed: Vec<(&'static str, String)>,
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
    /// --error-override: WSGIErrorOverride On.
    pub error_override: bool,
    pub include_files: Vec<PathBuf>,
    pub application_group: Option<String>,
    pub host: Option<String>,
    pub port: u16,
    pub ssl: Option<Ssl>,
    pub server_name: Option<String>,
    /// --trust-proxy-header: WSGITrustedProxyHeaders.
    pub trusted_proxy_headers: Vec<String>,
    /// --trust-proxy: WSGITrustedProxies.
    pub trusted_proxies: Vec<String>,
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
    /// --server-metrics: mod_wsgi.server_metrics() answers (WSGIServerMetrics On, server-metrics=On).
    pub server_metrics: bool,
    /// --metrics-url: where the rwsgi-metrics handler answers (None: not served).
    pub metrics_url: Option<String>,
    /// --metrics-allow: clients besides localhost that may read it.
    pub metrics_allow: Vec<String>,
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

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
