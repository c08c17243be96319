//! The option table: every start-server / setup-server option of mod_wsgi-express plus rwsgi's own, declared
//! once. The parser, `--help`, the refusals of options that are not built yet, and the compatibility table in
//! docs/express.md all come from this table (a unit test fails when the doc is stale).

/// How many values an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    Flag,
    One,
    Two,
}

/// Help sections, in the order `--help` prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Application,
    Network,
    Capacity,
    Timeouts,
    Python,
    Users,
    Logging,
    Installation,
    Development,
}

impl Group {
    pub const ALL: [Group; 9] = [
        Group::Application,
        Group::Network,
        Group::Capacity,
        Group::Timeouts,
        Group::Python,
        Group::Users,
        Group::Logging,
        Group::Installation,
        Group::Development,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Group::Application => "Application",
            Group::Network => "Network, HTTPS and proxies",
            Group::Capacity => "Processes, capacity and request handling",
            Group::Timeouts => "Timeouts",
            Group::Python => "Python environment and reloading",
            Group::Users => "Users, access control and authentication",
            Group::Logging => "Logging and monitoring",
            Group::Installation => "Server root, httpd and module locations",
            Group::Development => "Development, debugging and extra services",
        }
    }
}

/// What rwsgi-express does with an option today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Works as in mod_wsgi-express.
    Supported,
    /// Works, with the difference given.
    Partial(&'static str),
    /// Refused: the feature is not built yet (the note says what is missing).
    NotYet(&'static str),
    /// rwsgi-express's own option (not in mod_wsgi-express).
    Rwsgi,
    /// Passed on as this WSGIDaemonProcess option: its state is the option's state in the module's table
    /// (`rwsgi_options::DAEMON_OPTIONS`), so the launcher and the module cannot disagree.
    Daemon(&'static str),
}

impl OptSpec {
    /// The state, with `Daemon` options resolved through the module's option table: an option the module
    /// accepts without acting on is passed on with a warning (`Partial` with the module's reason).
    pub fn state(&self) -> State {
        match self.state {
            State::Daemon(name) => match rwsgi_options::daemon::find(name).map(|o| o.state) {
                Some(rwsgi_options::State::Supported) => State::Supported,
                Some(rwsgi_options::State::Partial(why)) => State::Partial(why),
                Some(rwsgi_options::State::Ignored(why)) => State::Partial(why),
                None => State::NotYet("the module has no such WSGIDaemonProcess option"),
            },
            other => other,
        }
    }

    /// When the module accepts this option's WSGIDaemonProcess counterpart but does not act on it: why.
    pub fn daemon_ignored(&self) -> Option<(&'static str, &'static str)> {
        let State::Daemon(name) = self.state else { return None };
        match rwsgi_options::daemon::find(name)?.state {
            rwsgi_options::State::Ignored(why) => Some((name, why)),
            _ => None,
        }
    }
}

#[derive(Debug)]
pub struct OptSpec {
    /// Without the leading `--`.
    pub name: &'static str,
    pub arity: Arity,
    pub metavar: &'static str,
    pub group: Group,
    pub state: State,
    pub help: &'static str,
}

const fn o(
    name: &'static str,
    arity: Arity,
    metavar: &'static str,
    group: Group,
    state: State,
    help: &'static str,
) -> OptSpec {
    OptSpec {
        name,
        arity,
        metavar,
        group,
        state,
        help,
    }
}

use Arity::{Flag, One, Two};
use Group::*;
use State::*;

const NO_MODULE_DIRECTIVE: &str = "the module has no directive for it yet";
const NO_SERVICES: &str = "service scripts are not built yet";

/// Options that configure the daemon process group: refused with --embedded-mode (where they would do nothing).
pub const DAEMON_ONLY: &[&str] = &[
    "process-group",
    "startup-timeout",
    "shutdown-timeout",
    "graceful-timeout",
    "deadlock-timeout",
    "inactivity-timeout",
    "connect-timeout",
    "queue-timeout",
    "restart-interval",
    "daemon-backlog",
    "header-buffer-size",
    "memory-limit",
    "socket-prefix",
];

/// Every option start-server and setup-server know, in help order within each group.
pub static SERVER_OPTIONS: &[OptSpec] = &[
    // Application
    o(
        "application-type",
        One,
        "TYPE",
        Application,
        Partial("script and module; static and paste are not supported"),
        "How the positional argument is read: 'script' (a .wsgi/.py file, default) or 'module' (package.module:callable).",
    ),
    o(
        "entry-point",
        One,
        "SCRIPT-OR-MODULE",
        Application,
        Supported,
        "The script file or module, instead of the positional argument.",
    ),
    o(
        "callable-object",
        One,
        "NAME",
        Application,
        Supported,
        "Name of the WSGI callable in the script or module (default: application).",
    ),
    o(
        "mount-point",
        One,
        "URL-PATH",
        Application,
        Supported,
        "URL path the application is mounted at; it becomes SCRIPT_NAME (default: /).",
    ),
    o(
        "url-alias",
        Two,
        "URL-PATH FILE-PATH",
        Application,
        Supported,
        "Serve a static file or directory at a URL path (repeatable).",
    ),
    o(
        "document-root",
        One,
        "DIRECTORY-PATH",
        Application,
        Supported,
        "Directory of static files; a file that exists there is served, every other URL goes to the application.",
    ),
    o(
        "directory-index",
        One,
        "FILE-NAME",
        Application,
        Supported,
        "Index file served for a directory of the document root (for example index.html).",
    ),
    o(
        "directory-listing",
        Flag,
        "",
        Application,
        Supported,
        "List the contents of document root directories that have no index file.",
    ),
    o(
        "allow-override",
        One,
        "DIRECTIVE-TYPE",
        Application,
        Supported,
        "Let .htaccess files in the document root override these directive types (AllowOverride).",
    ),
    o(
        "error-document",
        Two,
        "STATUS URL-PATH",
        Application,
        Supported,
        "Apache ErrorDocument for a status code (repeatable).",
    ),
    o(
        "error-override",
        Flag,
        "",
        Application,
        Supported,
        "Let ErrorDocument replace error responses of the application.",
    ),
    o(
        "include-file",
        One,
        "FILE-PATH",
        Application,
        Supported,
        "Include an extra Apache configuration file at the end of the generated one (repeatable).",
    ),
    o(
        "rewrite-rules",
        One,
        "FILE-PATH",
        Application,
        NotYet("not built yet"),
        "File of mod_rewrite rules for the document root.",
    ),
    o(
        "add-handler",
        Two,
        "EXTENSION SCRIPT-PATH",
        Application,
        NotYet("the module has WSGIHandlerScript; the launcher does not generate its lines yet"),
        "Handle files with an extension in the document root by a WSGI handler script.",
    ),
    o(
        "application-group",
        One,
        "NAME",
        Application,
        Partial("accepted and reported; apps share the process's interpreter"),
        "WSGI application group (interpreter name) of the application (default: %{GLOBAL}).",
    ),
    o(
        "process-group",
        One,
        "NAME",
        Application,
        Supported,
        "Name of the daemon process group (default: HOST:PORT); the processes are titled (wsgi:NAME).",
    ),
    // Network
    o(
        "host",
        One,
        "IP-ADDRESS",
        Network,
        Supported,
        "Address to listen on (default: all interfaces).",
    ),
    o(
        "port",
        One,
        "NUMBER",
        Network,
        Supported,
        "HTTP port to listen on (default: 8000).",
    ),
    o(
        "https-port",
        One,
        "NUMBER",
        Network,
        Supported,
        "Also listen for HTTPS on this port (needs the SSL certificate options).",
    ),
    o("ssl-port", One, "NUMBER", Network, Supported, "Same as --https-port."),
    o(
        "ssl-certificate-file",
        One,
        "FILE-PATH",
        Network,
        Supported,
        "PEM certificate for HTTPS.",
    ),
    o(
        "ssl-certificate-key-file",
        One,
        "FILE-PATH",
        Network,
        Supported,
        "PEM private key for HTTPS.",
    ),
    o(
        "ssl-certificate",
        One,
        "FILE-PATH-PREFIX",
        Network,
        Supported,
        "Certificate and key as FILE-PATH-PREFIX.crt and FILE-PATH-PREFIX.key.",
    ),
    o(
        "ssl-certificate-chain-file",
        One,
        "FILE-PATH",
        Network,
        Supported,
        "Intermediate certificates for HTTPS.",
    ),
    o(
        "ssl-ca-certificate-file",
        One,
        "FILE-PATH",
        Network,
        Supported,
        "CA certificates for verifying client certificates.",
    ),
    o(
        "ssl-verify-client",
        One,
        "URL-PATH",
        Network,
        Supported,
        "Require a client certificate below a URL path (needs --ssl-ca-certificate-file; repeatable).",
    ),
    o(
        "ssl-environment",
        Flag,
        "",
        Network,
        Supported,
        "Pass the SSL_* variables of mod_ssl to the application.",
    ),
    o(
        "https-only",
        Flag,
        "",
        Network,
        Supported,
        "Redirect HTTP requests to the HTTPS port (needs --https-port).",
    ),
    o(
        "hsts-policy",
        One,
        "PARAMS",
        Network,
        Supported,
        "Send this Strict-Transport-Security header value on HTTPS responses (needs --https-port).",
    ),
    o(
        "http2",
        Flag,
        "",
        Network,
        Supported,
        "Enable HTTP/2 (mod_http2: h2 over HTTPS, h2c over HTTP).",
    ),
    o(
        "server-name",
        One,
        "HOSTNAME",
        Network,
        Partial("other host names are not rejected (no virtual hosts)"),
        "Host name of the server (ServerName); used in the server URL.",
    ),
    o(
        "server-alias",
        One,
        "HOSTNAME",
        Network,
        Partial("accepted; without virtual hosts httpd answers to every host name anyway"),
        "Another host name of the server (repeatable).",
    ),
    o(
        "allow-localhost",
        Flag,
        "",
        Network,
        Partial("accepted; localhost is always served (no virtual hosts)"),
        "Accept requests for localhost when --server-name is set.",
    ),
    o(
        "trust-proxy-header",
        One,
        "HEADER-NAME",
        Network,
        Supported,
        "Trust a proxy header such as X-Forwarded-For (repeatable).",
    ),
    o(
        "trust-proxy",
        One,
        "IP-ADDRESS",
        Network,
        Supported,
        "Address or CIDR of a trusted proxy (repeatable).",
    ),
    o(
        "proxy-mount-point",
        Two,
        "URL-PATH URL",
        Network,
        NotYet("not built yet"),
        "Reverse-proxy a URL path to another server.",
    ),
    o(
        "proxy-url-alias",
        Two,
        "URL-PATH URL",
        Network,
        NotYet("not built yet"),
        "Reverse-proxy a URL path to another server.",
    ),
    o(
        "proxy-virtual-host",
        Two,
        "HOSTNAME URL",
        Network,
        NotYet("not built yet"),
        "Reverse-proxy a host name to another server.",
    ),
    // Capacity
    o(
        "processes",
        One,
        "NUMBER",
        Capacity,
        Supported,
        "Number of daemon processes that run the application (default: 1); with --embedded-mode, httpd child \
       processes.",
    ),
    o(
        "threads",
        One,
        "NUMBER",
        Capacity,
        Supported,
        "Number of request threads per process (default: 5).",
    ),
    o(
        "max-clients",
        One,
        "NUMBER",
        Capacity,
        Supported,
        "Maximum number of requests httpd handles at once (MaxRequestWorkers; default: processes x threads).",
    ),
    o(
        "initial-workers",
        One,
        "NUMBER",
        Capacity,
        NotYet("not built yet"),
        "Fraction of workers started at once.",
    ),
    o(
        "minimum-spare-workers",
        One,
        "NUMBER",
        Capacity,
        NotYet("not built yet"),
        "Fraction of idle workers kept.",
    ),
    o(
        "maximum-spare-workers",
        One,
        "NUMBER",
        Capacity,
        NotYet("not built yet"),
        "Fraction of idle workers allowed.",
    ),
    o(
        "embedded-mode",
        Flag,
        "",
        Capacity,
        Supported,
        "Run the application inside the httpd child processes instead of daemon processes (the default is daemon \
       mode: WSGIDaemonProcess).",
    ),
    o(
        "maximum-requests",
        One,
        "NUMBER",
        Capacity,
        Partial("with --embedded-mode: MaxConnectionsPerChild, which counts connections"),
        "Recycle a process after this many requests (0: never; maximum-requests= of the daemon process group).",
    ),
    o(
        "limit-request-body",
        One,
        "NUMBER",
        Capacity,
        Supported,
        "Largest request body accepted, in bytes (default: 10485760).",
    ),
    o(
        "keep-alive-timeout",
        One,
        "SECONDS",
        Capacity,
        Supported,
        "How long an idle keep-alive connection is kept (0 turns keep-alive off; default: 2).",
    ),
    o(
        "server-backlog",
        One,
        "NUMBER",
        Capacity,
        Supported,
        "Listen backlog of the HTTP sockets (default: 500).",
    ),
    o(
        "chunked-request",
        Flag,
        "",
        Capacity,
        Supported,
        "Accept chunked request bodies (WSGIChunkedRequest On).",
    ),
    o(
        "compress-responses",
        Flag,
        "",
        Capacity,
        Supported,
        "Compress text responses with mod_deflate.",
    ),
    o(
        "map-head-to-get",
        One,
        "OFF|ON|AUTO",
        Capacity,
        NotYet(NO_MODULE_DIRECTIVE),
        "Whether the application sees GET for HEAD requests.",
    ),
    o(
        "enable-sendfile",
        Flag,
        "",
        Capacity,
        NotYet(NO_MODULE_DIRECTIVE),
        "Send file wrapper responses with sendfile.",
    ),
    o(
        "server-mpm",
        One,
        "NAME",
        Capacity,
        Supported,
        "Apache MPM to load: event (default), worker or prefork (repeatable: the first one available wins).",
    ),
    // Timeouts
    o(
        "request-timeout",
        One,
        "SECONDS",
        Timeouts,
        Partial("with --embedded-mode: httpd Timeout (I/O), not a cap on app run time"),
        "Maximum time a request may run (default: 60); a request over it gets 504 and its Python stack is logged.",
    ),
    o(
        "socket-timeout",
        One,
        "SECONDS",
        Timeouts,
        Supported,
        "I/O timeout of httpd (Timeout) and of the daemon sockets (default: --request-timeout).",
    ),
    o(
        "header-timeout",
        One,
        "SECONDS",
        Timeouts,
        Supported,
        "Time to receive the request headers (mod_reqtimeout; default: 15).",
    ),
    o(
        "header-max-timeout",
        One,
        "SECONDS",
        Timeouts,
        Supported,
        "Upper limit for receiving the headers while data arrives (default: 30).",
    ),
    o(
        "header-min-rate",
        One,
        "BYTES",
        Timeouts,
        Supported,
        "Minimum header data rate in bytes per second (default: 500).",
    ),
    o(
        "body-timeout",
        One,
        "SECONDS",
        Timeouts,
        Supported,
        "Time to receive the request body (default: 15).",
    ),
    o(
        "body-max-timeout",
        One,
        "SECONDS",
        Timeouts,
        Supported,
        "Upper limit for receiving the body while data arrives (0: none).",
    ),
    o(
        "body-min-rate",
        One,
        "BYTES",
        Timeouts,
        Supported,
        "Minimum body data rate in bytes per second (default: 500).",
    ),
    o(
        "proxy-timeout",
        One,
        "SECONDS",
        Timeouts,
        NotYet("proxying is not built yet"),
        "Timeout of proxied requests.",
    ),
    o(
        "startup-timeout",
        One,
        "SECONDS",
        Timeouts,
        Daemon("startup-timeout"),
        "Time a daemon process may take to load the application (startup-timeout=).",
    ),
    o(
        "shutdown-timeout",
        One,
        "SECONDS",
        Timeouts,
        Daemon("shutdown-timeout"),
        "Time a daemon process may take to stop before it is killed (default: 5).",
    ),
    o(
        "graceful-timeout",
        One,
        "SECONDS",
        Timeouts,
        Daemon("graceful-timeout"),
        "Time in-flight requests get to finish when a daemon process is recycled (default: 15).",
    ),
    o(
        "eviction-timeout",
        One,
        "SECONDS",
        Timeouts,
        Daemon("eviction-timeout"),
        "Daemon process eviction timeout.",
    ),
    o(
        "deadlock-timeout",
        One,
        "SECONDS",
        Timeouts,
        Daemon("deadlock-timeout"),
        "Restart a daemon process whose Python is deadlocked for this long (deadlock-timeout=).",
    ),
    o(
        "inactivity-timeout",
        One,
        "SECONDS",
        Timeouts,
        Daemon("inactivity-timeout"),
        "Restart a daemon process that received no request for this long (0: never).",
    ),
    o(
        "ignore-activity",
        One,
        "URL-PATH",
        Timeouts,
        NotYet(NO_MODULE_DIRECTIVE),
        "URL ignored by the inactivity timeout.",
    ),
    o(
        "interrupt-timeout",
        One,
        "SECONDS",
        Timeouts,
        Daemon("interrupt-timeout"),
        "Time given to interrupt a stuck request.",
    ),
    o(
        "connect-timeout",
        One,
        "SECONDS",
        Timeouts,
        Daemon("connect-timeout"),
        "Time an httpd child may wait to connect to a daemon process before answering 503 (default: 15).",
    ),
    o(
        "queue-timeout",
        One,
        "SECONDS",
        Timeouts,
        Daemon("queue-timeout"),
        "Time a request may wait for a free daemon thread before it is answered with 504 (default: 45).",
    ),
    o(
        "restart-interval",
        One,
        "SECONDS",
        Timeouts,
        Daemon("restart-interval"),
        "Recycle the daemon processes at this interval (0: never).",
    ),
    o(
        "cpu-time-limit",
        One,
        "SECONDS",
        Timeouts,
        Daemon("cpu-time-limit"),
        "CPU time limit of a daemon process.",
    ),
    o(
        "daemon-backlog",
        One,
        "NUMBER",
        Timeouts,
        Daemon("listen-backlog"),
        "Listen backlog of the daemon socket (listen-backlog=; default: 100).",
    ),
    o(
        "send-buffer-size",
        One,
        "NUMBER",
        Timeouts,
        Daemon("send-buffer-size"),
        "Daemon socket send buffer size.",
    ),
    o(
        "receive-buffer-size",
        One,
        "NUMBER",
        Timeouts,
        Daemon("receive-buffer-size"),
        "Daemon socket receive buffer size.",
    ),
    o(
        "header-buffer-size",
        One,
        "NUMBER",
        Timeouts,
        Daemon("header-buffer-size"),
        "Largest response header block a daemon process may send, in bytes (0: the default of 32768).",
    ),
    o(
        "response-buffer-size",
        One,
        "NUMBER",
        Timeouts,
        Daemon("response-buffer-size"),
        "Daemon response buffer size.",
    ),
    o(
        "response-socket-timeout",
        One,
        "SECONDS",
        Timeouts,
        Daemon("response-socket-timeout"),
        "Daemon response socket timeout.",
    ),
    o(
        "response-flush-delay",
        One,
        "MILLISECONDS",
        Timeouts,
        NotYet(NO_MODULE_DIRECTIVE),
        "Daemon response flush delay.",
    ),
    o(
        "memory-limit",
        One,
        "BYTES",
        Timeouts,
        Daemon("memory-limit"),
        "Recycle a daemon process gracefully when its resident memory exceeds this many bytes (memory-limit=).",
    ),
    // Python
    o(
        "python-home",
        One,
        "DIRECTORY-PATH",
        Python,
        Rwsgi,
        "Python prefix or virtualenv for the application (WSGIPythonHome; default: $VIRTUAL_ENV if set, \
       else the Python the module was built against).",
    ),
    o(
        "python-path",
        One,
        "DIRECTORY-PATH",
        Python,
        Supported,
        "Directory added to the front of sys.path (repeatable).",
    ),
    o(
        "working-directory",
        One,
        "DIRECTORY-PATH",
        Python,
        Partial("with --embedded-mode: put on sys.path only, httpd's cwd is not changed"),
        "Working directory of the daemon processes and first entry of sys.path (home=; default: the current \
       directory).",
    ),
    o(
        "reload-on-changes",
        Flag,
        "",
        Python,
        Partial("rwsgi-express polls .py files and gracefully restarts httpd, which restarts the daemon processes"),
        "Restart the application when a Python file of it changes (start-server only).",
    ),
    o(
        "disable-reloading",
        Flag,
        "",
        Python,
        Supported,
        "Do not reload the script when it changes (WSGIScriptReloading Off).",
    ),
    o(
        "setenv",
        Two,
        "KEY VALUE",
        Python,
        Supported,
        "Set a variable in the WSGI environ (SetEnv; repeatable).",
    ),
    o(
        "passenv",
        One,
        "KEY",
        Python,
        Supported,
        "Pass a variable of rwsgi-express's environment into the WSGI environ (PassEnv; repeatable).",
    ),
    o(
        "locale",
        One,
        "NAME",
        Python,
        Supported,
        "Locale of the httpd and daemon processes (LANG and LC_ALL; locale=), for example C.UTF-8.",
    ),
    o(
        "lang",
        One,
        "NAME",
        Python,
        Supported,
        "LANG of the httpd and daemon processes (lang=).",
    ),
    o(
        "envvars-script",
        One,
        "FILE-PATH",
        Python,
        Supported,
        "Shell script sourced before httpd starts (by start-server and by SERVER_ROOT/apachectl).",
    ),
    o(
        "python-eggs",
        One,
        "DIRECTORY-PATH",
        Python,
        Supported,
        "Python egg cache directory (PYTHON_EGG_CACHE).",
    ),
    o(
        "python-warnings",
        One,
        "FILTER",
        Python,
        NotYet(NO_MODULE_DIRECTIVE),
        "Python warnings filter.",
    ),
    o(
        "switch-interval",
        One,
        "SECONDS",
        Python,
        NotYet(NO_MODULE_DIRECTIVE),
        "Python thread switch interval.",
    ),
    o(
        "free-threading",
        Flag,
        "",
        Python,
        NotYet("not built yet"),
        "Run on a free-threaded Python.",
    ),
    o(
        "orphan-interpreter",
        Flag,
        "",
        Python,
        NotYet(NO_MODULE_DIRECTIVE),
        "Do not destroy the interpreter on shutdown.",
    ),
    // Users
    o(
        "user",
        One,
        "USERNAME",
        Users,
        Supported,
        "When run as root, the user the application runs as (default: www-data, apache or nobody, with a warning).",
    ),
    o(
        "group",
        One,
        "GROUP",
        Users,
        Supported,
        "When run as root, the group the application runs as (default: the user's group).",
    ),
    o(
        "host-access-script",
        One,
        "SCRIPT-PATH",
        Users,
        NotYet("needs WSGIAccessScript, which is not built yet"),
        "Python script deciding host access.",
    ),
    o(
        "auth-user-script",
        One,
        "SCRIPT-PATH",
        Users,
        NotYet("needs WSGIAuthUserScript, which is not built yet"),
        "Python script checking user passwords.",
    ),
    o(
        "auth-type",
        One,
        "TYPE",
        Users,
        NotYet("needs WSGIAuthUserScript, which is not built yet"),
        "Basic or Digest.",
    ),
    o(
        "auth-group-script",
        One,
        "SCRIPT-PATH",
        Users,
        NotYet("needs WSGIAuthGroupScript, which is not built yet"),
        "Python script returning a user's groups.",
    ),
    o(
        "auth-group",
        One,
        "NAME",
        Users,
        NotYet("needs WSGIAuthGroupScript, which is not built yet"),
        "Group required by the group script.",
    ),
    // Logging
    o(
        "log-to-terminal",
        Flag,
        "",
        Logging,
        Supported,
        "Write the error log (and access log) to the terminal instead of files.",
    ),
    o(
        "log-level",
        One,
        "NAME",
        Logging,
        Supported,
        "Apache log level: emerg, alert, crit, error, warn, notice, info, debug, trace1..trace8 (default: warn).",
    ),
    o("access-log", Flag, "", Logging, Supported, "Write an access log."),
    o(
        "access-log-format",
        One,
        "FORMAT",
        Logging,
        Supported,
        "LogFormat of the access log: a format string or common / combined (default: common).",
    ),
    o(
        "error-log-format",
        One,
        "FORMAT",
        Logging,
        Supported,
        "ErrorLogFormat of the error log.",
    ),
    o(
        "log-directory",
        One,
        "DIRECTORY-PATH",
        Logging,
        Supported,
        "Directory for the log files (default: the server root).",
    ),
    o(
        "error-log-name",
        One,
        "FILE-NAME",
        Logging,
        Supported,
        "File name of the error log (default: error_log).",
    ),
    o(
        "access-log-name",
        One,
        "FILE-NAME",
        Logging,
        Supported,
        "File name of the access log (default: access_log).",
    ),
    o(
        "startup-log",
        Flag,
        "",
        Logging,
        Supported,
        "Write httpd's start-up errors to a file in the log directory (httpd -E).",
    ),
    o(
        "startup-log-name",
        One,
        "FILE-NAME",
        Logging,
        Supported,
        "File name of the start-up log (default: startup_log).",
    ),
    o(
        "rotate-logs",
        Flag,
        "",
        Logging,
        NotYet("not built yet"),
        "Rotate the log files with rotatelogs.",
    ),
    o(
        "max-log-size",
        One,
        "MB",
        Logging,
        NotYet("not built yet"),
        "Size at which logs are rotated.",
    ),
    o(
        "rotatelogs-executable",
        One,
        "FILE-PATH",
        Logging,
        NotYet("not built yet"),
        "Path of rotatelogs.",
    ),
    o(
        "verbose-debugging",
        Flag,
        "",
        Logging,
        NotYet(NO_MODULE_DIRECTIVE),
        "Verbose module logging.",
    ),
    o(
        "server-status",
        Flag,
        "",
        Logging,
        Supported,
        "Serve Apache's server status at /server-status (to localhost only).",
    ),
    o(
        "metrics-url",
        One,
        "URL-PATH",
        Logging,
        Supported,
        "Serve mod_rwsgi's metrics (Prometheus text format, or OpenMetrics when asked) at this URL path, to localhost only unless --metrics-allow names more clients (rwsgi's own; off by default).",
    ),
    o(
        "metrics-allow",
        One,
        "IP-ADDRESS",
        Logging,
        Supported,
        "Address or CIDR that may also read --metrics-url, besides localhost (repeatable; rwsgi's own).",
    ),
    o(
        "server-metrics",
        Flag,
        "",
        Logging,
        Supported,
        "Let mod_wsgi.server_metrics() answer with Apache's scoreboard (WSGIServerMetrics On, server-metrics=On).",
    ),
    o(
        "slow-requests",
        One,
        "SECONDS",
        Logging,
        NotYet("not built yet"),
        "Log requests slower than this.",
    ),
    o(
        "enable-telemetry",
        Flag,
        "",
        Logging,
        NotYet("not built yet"),
        "Telemetry service.",
    ),
    o(
        "telemetry-service",
        One,
        "TARGET",
        Logging,
        NotYet("not built yet"),
        "Telemetry target.",
    ),
    o(
        "telemetry-ui-port",
        One,
        "NUMBER",
        Logging,
        NotYet("not built yet"),
        "Telemetry UI port.",
    ),
    o(
        "telemetry-interval",
        One,
        "SECONDS",
        Logging,
        NotYet("not built yet"),
        "Telemetry interval.",
    ),
    o(
        "telemetry-options",
        One,
        "OPTIONS",
        Logging,
        NotYet("not built yet"),
        "Telemetry options.",
    ),
    // Installation
    o(
        "server-root",
        One,
        "DIRECTORY-PATH",
        Installation,
        Partial("default is a fresh private directory, never a shared one"),
        "Directory for the generated configuration, control script and logs (default: a new private directory in /tmp).",
    ),
    o(
        "pid-file",
        One,
        "FILE-PATH",
        Installation,
        Supported,
        "PID file of httpd (default: SERVER_ROOT/httpd.pid).",
    ),
    o(
        "httpd-executable",
        One,
        "FILE-PATH",
        Installation,
        Supported,
        "The httpd binary (default: found through apxs: apache2 on Debian, httpd on RHEL).",
    ),
    o(
        "modules-directory",
        One,
        "DIRECTORY-PATH",
        Installation,
        Supported,
        "Directory of the Apache modules (default: apxs LIBEXECDIR).",
    ),
    o(
        "module-path",
        One,
        "FILE-PATH",
        Installation,
        Rwsgi,
        "mod_rwsgi.so to load (default: $RWSGI_MODULE, next to rwsgi-express, then the modules directory).",
    ),
    o(
        "mime-types",
        One,
        "FILE-PATH",
        Installation,
        Supported,
        "MIME types file (default: /etc/mime.types when present).",
    ),
    o(
        "setup-only",
        Flag,
        "",
        Installation,
        Supported,
        "Generate the server root but do not start httpd (what setup-server does).",
    ),
    o(
        "supervise",
        Flag,
        "",
        Installation,
        Rwsgi,
        "Stay the parent of httpd and forward signals even without a terminal (default: exec httpd).",
    ),
    o(
        "shell-executable",
        One,
        "FILE-PATH",
        Installation,
        NotYet("apachectl always uses /bin/sh"),
        "Shell for the generated scripts.",
    ),
    o(
        "process-name",
        One,
        "NAME",
        Installation,
        Partial("names httpd when rwsgi-express starts it, not when apachectl does"),
        "Name of the httpd parent process (its argv[0], what ps shows); the daemon processes are titled \
       (wsgi:GROUP).",
    ),
    o(
        "socket-prefix",
        One,
        "DIRECTORY-PATH",
        Installation,
        Supported,
        "Directory for the daemon sockets (WSGISocketPrefix DIRECTORY-PATH/rwsgi; default: SERVER_ROOT/run).",
    ),
    // Development
    o(
        "debug-mode",
        Flag,
        "",
        Development,
        NotYet("not built yet"),
        "Single-process debug mode.",
    ),
    o(
        "enable-debugger",
        Flag,
        "",
        Development,
        NotYet("not built yet"),
        "Post-mortem debugger.",
    ),
    o(
        "debugger-startup",
        Flag,
        "",
        Development,
        NotYet("not built yet"),
        "Debugger at start-up.",
    ),
    o(
        "enable-coverage",
        Flag,
        "",
        Development,
        NotYet("not built yet"),
        "Code coverage.",
    ),
    o(
        "coverage-directory",
        One,
        "DIRECTORY-PATH",
        Development,
        NotYet("not built yet"),
        "Coverage output.",
    ),
    o(
        "enable-profiler",
        Flag,
        "",
        Development,
        NotYet("not built yet"),
        "Profiler.",
    ),
    o(
        "profiler-directory",
        One,
        "DIRECTORY-PATH",
        Development,
        NotYet("not built yet"),
        "Profiler output.",
    ),
    o(
        "enable-recorder",
        Flag,
        "",
        Development,
        NotYet("not built yet"),
        "Request recorder.",
    ),
    o(
        "recorder-directory",
        One,
        "DIRECTORY-PATH",
        Development,
        NotYet("not built yet"),
        "Recorder output.",
    ),
    o(
        "enable-gdb",
        Flag,
        "",
        Development,
        NotYet("not built yet"),
        "Run httpd under gdb.",
    ),
    o(
        "gdb-executable",
        One,
        "FILE-PATH",
        Development,
        NotYet("not built yet"),
        "Path of gdb.",
    ),
    o(
        "enable-docs",
        Flag,
        "",
        Development,
        NotYet("not built yet"),
        "Serve the mod_wsgi documentation.",
    ),
    o(
        "with-cgi",
        Flag,
        "",
        Development,
        NotYet("not built yet"),
        "Run CGI scripts of the document root.",
    ),
    o(
        "service-script",
        Two,
        "NAME SCRIPT-PATH",
        Development,
        NotYet(NO_SERVICES),
        "Run a managed service script.",
    ),
    o(
        "service-user",
        Two,
        "NAME USERNAME",
        Development,
        NotYet(NO_SERVICES),
        "User of a service script.",
    ),
    o(
        "service-group",
        Two,
        "NAME GROUP",
        Development,
        NotYet(NO_SERVICES),
        "Group of a service script.",
    ),
    o(
        "service-log-file",
        Two,
        "NAME FILE-NAME",
        Development,
        NotYet(NO_SERVICES),
        "Log file of a service script.",
    ),
];

/// Options of the small subcommands (module-config, install-module, module-location).
pub static MODULE_CONFIG_OPTIONS: &[OptSpec] = &[
    o(
        "module-path",
        One,
        "FILE-PATH",
        Installation,
        Rwsgi,
        "mod_rwsgi.so to use (default: $RWSGI_MODULE, next to rwsgi-express, then the modules directory).",
    ),
    o(
        "python-home",
        One,
        "DIRECTORY-PATH",
        Python,
        Rwsgi,
        "Python prefix or virtualenv for WSGIPythonHome (default: $VIRTUAL_ENV if set).",
    ),
];

pub static INSTALL_MODULE_OPTIONS: &[OptSpec] = &[
    o(
        "modules-directory",
        One,
        "DIRECTORY-PATH",
        Installation,
        Supported,
        "Where to install mod_rwsgi.so (default: apxs LIBEXECDIR).",
    ),
    o(
        "module-path",
        One,
        "FILE-PATH",
        Installation,
        Rwsgi,
        "mod_rwsgi.so to install (default: $RWSGI_MODULE, then the one next to rwsgi-express).",
    ),
    o(
        "python-home",
        One,
        "DIRECTORY-PATH",
        Python,
        Rwsgi,
        "Python prefix or virtualenv for the printed WSGIPythonHome line (default: $VIRTUAL_ENV if set).",
    ),
];

pub static MODULE_LOCATION_OPTIONS: &[OptSpec] = &[o(
    "module-path",
    One,
    "FILE-PATH",
    Installation,
    Rwsgi,
    "mod_rwsgi.so to report (default: $RWSGI_MODULE, next to rwsgi-express, then the modules directory).",
)];

/// The compatibility table of docs/express.md: one row per mod_wsgi-express option.
pub fn markdown_table() -> String {
    let mut out = String::from("| Option | rwsgi-express | Notes |\n|---|---|---|\n");
    for spec in SERVER_OPTIONS {
        let (state, note) = match spec.state() {
            Supported => ("supported", String::new()),
            Partial(n) => ("partial", n.to_string()),
            NotYet(n) => ("not yet", n.to_string()),
            Rwsgi => ("supported (rwsgi only)", "not a mod_wsgi-express option".to_string()),
            Daemon(_) => ("supported", String::new()),
        };
        let note = match (spec.state, spec.daemon_ignored()) {
            (_, Some((option, _))) => format!("passed on as {option}=, which mod_rwsgi accepts without effect: {note}"),
            (Daemon(option), None) if option != spec.name => {
                format!("passed on as {option}= {note}").trim_end().to_string()
            }
            _ => note,
        };
        let value = match spec.arity {
            Flag => String::new(),
            _ => format!(" {}", spec.metavar),
        };
        out.push_str(&format!("| `--{}{}` | {} | {} |\n", spec.name, value, state, note));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for spec in SERVER_OPTIONS {
            assert!(seen.insert(spec.name), "duplicate option --{}", spec.name);
            assert!(!spec.name.starts_with('-'));
            assert_eq!(spec.arity == Flag, spec.metavar.is_empty(), "--{}", spec.name);
        }
    }

    #[test]
    fn daemon_only_options_exist_and_are_built() {
        for name in DAEMON_ONLY {
            let spec = SERVER_OPTIONS.iter().find(|s| s.name == *name).expect("in the table");
            assert!(!matches!(spec.state(), NotYet(_)), "--{name}");
        }
    }

    #[test]
    fn docs_table_is_current() {
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/express.md")).unwrap_or_default();
        assert!(
            doc.contains(&markdown_table()),
            "docs/express.md is stale: paste the output of `rwsgi-express options-table` into it"
        );
    }
}
