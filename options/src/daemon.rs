//! `WSGIDaemonProcess NAME option=value ...`: the one table of daemon process group options. Each row gives the
//! option's name, the syntax and limits of its value, its default, what mod_rwsgi does with it (its state) and
//! its help; `parse` is built from the rows, and so are the docs. rwsgi-express takes names, limits and states
//! from here too, so the launcher and the module cannot drift apart.

/// One daemon process group. Times are in seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonGroup {
    pub name: String,
    pub processes: u32,
    pub threads: u32,
    pub user: Option<String>,
    pub group: Option<String>,
    pub python_home: Option<String>,
    pub python_path: Vec<String>,
    pub home: Option<String>,
    pub display_name: Option<String>,
    pub maximum_requests: Option<u64>,
    pub inactivity_timeout: Option<u64>,
    pub request_timeout: Option<u64>,
    /// Seconds a request gets to unwind after mod_wsgi.RequestTimeout was raised in it (0/None: no injection,
    /// the process is recycled at once).
    pub interrupt_timeout: Option<u64>,
    pub deadlock_timeout: u64,
    pub graceful_timeout: u64,
    pub shutdown_timeout: u64,
    pub connect_timeout: u64,
    pub socket_timeout: Option<u64>,
    pub queue_timeout: Option<u64>,
    pub listen_backlog: u32,
    pub header_buffer_size: u32,
    pub startup_timeout: Option<u64>,
    pub restart_interval: Option<u64>,
    pub lang: Option<String>,
    pub locale: Option<String>,
    pub memory_limit: Option<u64>,
    pub env: Vec<(String, String)>,
    /// umask of the processes (mod_wsgi: the octal value given, e.g. 0027).
    pub umask: Option<u32>,
    /// PYTHON_EGG_CACHE of the processes (python-eggs=).
    pub python_eggs: Option<String>,
    /// Root directory of the processes (chroot=; needs root).
    pub chroot: Option<String>,
    /// Extra groups of the processes, by name or #gid (supplementary-groups=).
    pub supplementary_groups: Vec<String>,
    /// Owner and group the script files must have (script-user= / script-group=; 403 otherwise).
    pub script_user: Option<String>,
    pub script_group: Option<String>,
    /// RLIMIT_CPU seconds, RLIMIT_AS bytes, nice value, request threads' stack size in bytes.
    pub cpu_time_limit: Option<u64>,
    pub virtual_memory_limit: Option<u64>,
    pub cpu_priority: Option<i32>,
    pub stack_size: Option<u64>,
    /// SO_SNDBUF / SO_RCVBUF of a daemon's connections from httpd children.
    pub send_buffer_size: Option<u64>,
    pub receive_buffer_size: Option<u64>,
    /// sys.setswitchinterval() of the processes (seconds; overrides WSGISwitchInterval).
    pub switch_interval: Option<String>,
    /// server-metrics=On: mod_wsgi.server_metrics() answers with Apache's scoreboard (None: WSGIServerMetrics).
    pub server_metrics: Option<bool>,
    /// Owner of the group's socket (socket-user=): httpd children running as that user may connect.
    pub socket_user: Option<String>,
    /// Drain time of a process sent SIGUSR1 by an administrator (eviction-timeout=; default graceful-timeout).
    pub eviction_timeout: Option<u64>,
    /// Timeout of each write of response data to the client (response-socket-timeout=; default socket-timeout).
    pub response_socket_timeout: Option<u64>,
    /// Response bytes passed to httpd's output filters without a flush before one is forced.
    pub response_buffer_size: u64,
    /// Options given that mod_rwsgi accepts but does not act on, with the reason (the directive logs them).
    pub ignored: Vec<(String, &'static str)>,
}

impl DaemonGroup {
    /// When a request counts as over request-timeout: request-timeout x (1 + ln(threads)), as mod_wsgi scales it
    /// (with more threads, a process at its limit is more likely one slow request among many).
    pub fn request_timeout_fire(&self) -> Option<std::time::Duration> {
        let secs = self.request_timeout.filter(|s| *s > 0)? as f64;
        let scale = 1.0 + f64::from(self.threads.max(1)).ln();
        Some(std::time::Duration::from_secs_f64(secs * scale))
    }

    /// How long the httpd child waits for a request's response before answering 504 itself: the firing time,
    /// plus, with interrupt-timeout, the time the request gets to end on RequestTimeout and half a second (the
    /// daemon gives up on it no earlier, and drains for graceful-timeout before exiting).
    pub fn request_deadline(&self) -> Option<std::time::Duration> {
        let fire = self.request_timeout_fire()?;
        Some(match self.interrupt_timeout.filter(|s| *s > 0) {
            Some(it) => fire + std::time::Duration::from_millis(it * 1000 + 500),
            None => fire,
        })
    }

    pub fn new(name: &str) -> DaemonGroup {
        DaemonGroup {
            name: name.to_string(),
            processes: 1,
            threads: 15,
            user: None,
            group: None,
            python_home: None,
            python_path: Vec::new(),
            home: None,
            display_name: None,
            maximum_requests: None,
            inactivity_timeout: None,
            request_timeout: None,
            interrupt_timeout: None,
            deadlock_timeout: 300,
            graceful_timeout: 15,
            shutdown_timeout: 5,
            connect_timeout: 15,
            socket_timeout: None,
            queue_timeout: None,
            listen_backlog: 100,
            header_buffer_size: 32768,
            startup_timeout: None,
            restart_interval: None,
            lang: None,
            locale: None,
            memory_limit: None,
            env: Vec::new(),
            umask: None,
            python_eggs: None,
            chroot: None,
            supplementary_groups: Vec::new(),
            script_user: None,
            script_group: None,
            cpu_time_limit: None,
            virtual_memory_limit: None,
            cpu_priority: None,
            stack_size: None,
            send_buffer_size: None,
            receive_buffer_size: None,
            switch_interval: None,
            server_metrics: None,
            socket_user: None,
            eviction_timeout: None,
            response_socket_timeout: None,
            response_buffer_size: 8 << 20,
            ignored: Vec::new(),
        }
    }

    /// The process title: display-name with %{GROUP} expanded, as mod_wsgi.
    pub fn title(&self) -> Option<String> {
        self.display_name
            .as_ref()
            .map(|d| d.replace("%{GROUP}", &format!("(wsgi:{})", self.name)))
    }
}

/// What an option's value must look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A whole number in `min..=max`; `zero_off`: 0 means "no limit" (the field stays unset).
    Number { min: u64, max: u64, zero_off: bool },
    /// An absolute path (a trailing '/' is dropped).
    Path,
    /// Absolute paths separated by ':'.
    PathList,
    /// Any text, not empty.
    Text,
    /// `NAME=VALUE` (an environment variable for the daemon processes).
    EnvPair,
    /// An octal mode (e.g. 0027), at most 0777.
    Octal,
    /// A positive number of seconds with a fraction, at most 10 (e.g. 0.005).
    Interval,
    /// On or Off (any case).
    OnOff,
}

/// What mod_rwsgi does with an option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Works as mod_wsgi documents it.
    Supported,
    /// Works, with the difference given.
    Partial(&'static str),
    /// Accepted so that existing configurations start, but it has no effect: the reason is logged at start-up.
    Ignored(&'static str),
}

/// A parsed value, handed to the row's setter.
pub enum Value {
    Number(Option<u64>),
    Text(String),
    Paths(Vec<String>),
    Env(String, String),
}

impl Value {
    fn num(&self) -> Option<u64> {
        match self {
            Value::Number(n) => *n,
            _ => None,
        }
    }
    fn text(self) -> Option<String> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
    fn paths(self) -> Vec<String> {
        match self {
            Value::Paths(p) => p,
            Value::Text(t) => vec![t],
            _ => Vec::new(),
        }
    }
}

pub struct DaemonOption {
    pub name: &'static str,
    pub kind: Kind,
    /// The default, as the docs show it.
    pub default: &'static str,
    pub state: State,
    pub help: &'static str,
    set: fn(&mut DaemonGroup, Value),
}

const DAY: u64 = 86_400 * 365;
const fn secs(min: u64) -> Kind {
    Kind::Number {
        min,
        max: DAY,
        zero_off: false,
    }
}
const fn secs_or_off() -> Kind {
    Kind::Number {
        min: 0,
        max: DAY,
        zero_off: true,
    }
}
const fn count(min: u64, max: u64) -> Kind {
    Kind::Number {
        min,
        max,
        zero_off: false,
    }
}
/// A 32-bit count; the limits keep the value in range.
fn u32_of(v: &Value) -> u32 {
    v.num().and_then(|n| u32::try_from(n).ok()).unwrap_or(u32::MAX)
}

const NOT_BUILT: &str = "not implemented by mod_rwsgi yet";

const fn row(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    state: State,
    help: &'static str,
    set: fn(&mut DaemonGroup, Value),
) -> DaemonOption {
    DaemonOption {
        name,
        kind,
        default,
        state,
        help,
        set,
    }
}

/// An option accepted for compatibility that has no effect (see `State::Ignored`).
const fn ignored(name: &'static str, why: &'static str, help: &'static str) -> DaemonOption {
    row(name, Kind::Text, "-", State::Ignored(why), help, |_, _| {})
}

use State::Supported;

/// Every option of WSGIDaemonProcess, in the order the docs list them.
pub static DAEMON_OPTIONS: &[DaemonOption] = &[
    row(
        "processes",
        count(1, 1000),
        "1",
        Supported,
        "Number of daemon processes in the group.",
        |g, v| g.processes = u32_of(&v),
    ),
    row(
        "threads",
        count(1, 10_000),
        "15",
        Supported,
        "Request threads per daemon process.",
        |g, v| g.threads = u32_of(&v),
    ),
    row(
        "user",
        Kind::Text,
        "Apache's User",
        Supported,
        "User the processes run as (name or #uid); initgroups/setgid/setuid are checked and root is refused at start-up.",
        |g, v| g.user = v.text(),
    ),
    row(
        "group",
        Kind::Text,
        "the user's group",
        Supported,
        "Group the processes run as (name or #gid).",
        |g, v| g.group = v.text(),
    ),
    row(
        "python-home",
        Kind::Path,
        "WSGIPythonHome",
        Supported,
        "Python prefix or virtualenv of the group (default WSGIPythonHome).",
        |g, v| g.python_home = v.text(),
    ),
    row(
        "python-path",
        Kind::PathList,
        "-",
        Supported,
        "Directories added to sys.path (site.addsitedir semantics).",
        |g, v| g.python_path.extend(v.paths()),
    ),
    row(
        "home",
        Kind::Path,
        "-",
        Supported,
        "Working directory of the processes and sys.path[0]; not given, the working directory is the run user's home directory and nothing is added to sys.path.",
        |g, v| g.home = v.text(),
    ),
    row(
        "display-name",
        Kind::Text,
        "the httpd command line",
        Supported,
        "Process title shown by ps (the command line); %{GROUP} becomes (wsgi:NAME).",
        |g, v| g.display_name = v.text(),
    ),
    row(
        "maximum-requests",
        count_or_off(),
        "0 (off)",
        Supported,
        "A limit: a process stops taking requests the moment it has taken this many (threads already woken may take one more each) and closes the connections httpd children keep to it (their next requests go to the other processes), while its replacement starts in parallel; it then drains for graceful-timeout. No request fails.",
        |g, v| g.maximum_requests = v.num(),
    ),
    row(
        "inactivity-timeout",
        secs_or_off(),
        "0 (off)",
        Supported,
        "Recycle a process that served no request for this long.",
        |g, v| g.inactivity_timeout = v.num(),
    ),
    row(
        "request-timeout",
        secs_or_off(),
        "0 (off)",
        Supported,
        "A request running longer than request-timeout x (1 + ln(threads)) (mod_wsgi's scaling) has mod_wsgi.RequestTimeout raised in it when interrupt-timeout is set (504; the process keeps serving); otherwise, or when it ignores that for interrupt-timeout, the daemon logs the stuck thread's Python stack, recycles, and the httpd child answers 504 (or cuts a started response).",
        |g, v| g.request_timeout = v.num(),
    ),
    row(
        "deadlock-timeout",
        secs(0),
        "300",
        Supported,
        "A watchdog thread takes the GIL every second; a process where it could not for 2 s takes no new requests (the group's other processes get them) until it can again; after this long the process logs it and exits, and the supervisor replaces it.",
        |g, v| g.deadlock_timeout = v.num().unwrap_or(0),
    ),
    row(
        "graceful-timeout",
        secs(0),
        "15",
        Supported,
        "Time in-flight requests get when a process is recycled.",
        |g, v| g.graceful_timeout = v.num().unwrap_or(0),
    ),
    row(
        "shutdown-timeout",
        secs(0),
        "5",
        Supported,
        "Time a stopping process gets before it is killed.",
        |g, v| g.shutdown_timeout = v.num().unwrap_or(0),
    ),
    row(
        "connect-timeout",
        secs(1),
        "15",
        Supported,
        "Time an httpd child tries to connect before answering 503 (the socket path and the error are logged).",
        |g, v| g.connect_timeout = v.num().unwrap_or(15),
    ),
    row(
        "socket-timeout",
        secs_or_off(),
        "Apache's Timeout",
        Supported,
        "Timeout of reads and writes between httpd child and daemon; a daemon silent for longer gives 504.",
        |g, v| g.socket_timeout = v.num(),
    ),
    row(
        "queue-timeout",
        secs_or_off(),
        "0 (off)",
        Supported,
        "A request that waited this long for a daemon thread is answered 504 and never reaches the app (logged).",
        |g, v| g.queue_timeout = v.num(),
    ),
    row(
        "listen-backlog",
        count(1, 65_535),
        "100",
        Supported,
        "Listen backlog of the group's socket.",
        |g, v| g.listen_backlog = u32_of(&v),
    ),
    row(
        "header-buffer-size",
        count(1024, 1 << 20),
        "32768",
        Supported,
        "Largest response header block a daemon may send, in bytes; larger headers give 500 with the cause logged.",
        |g, v| g.header_buffer_size = u32_of(&v),
    ),
    row(
        "startup-timeout",
        secs_or_off(),
        "0 (off)",
        Supported,
        "A process whose WSGI script keeps failing to load (at preloading or for requests) for this long since the first failure is replaced (graceful, logged), as mod_wsgi.",
        |g, v| g.startup_timeout = v.num(),
    ),
    row(
        "restart-interval",
        secs_or_off(),
        "0 (off)",
        Supported,
        "Recycle every process at this interval.",
        |g, v| g.restart_interval = v.num(),
    ),
    row("lang", Kind::Text, "-", Supported, "LANG of the processes.", |g, v| {
        g.lang = v.text()
    }),
    row(
        "locale",
        Kind::Text,
        "-",
        Supported,
        "LC_ALL of the processes; a locale that is not installed falls back to C.UTF-8 with a warning (also reported by apachectl -t).",
        |g, v| g.locale = v.text(),
    ),
    row(
        "memory-limit",
        Kind::Number {
            min: 0,
            max: u64::MAX,
            zero_off: true,
        },
        "0 (off)",
        State::Partial(
            "a resident-set limit (mod_wsgi sets an address-space rlimit): checked every 100 ms; past it the process stops accepting and is replaced; 25% past it MemoryError is raised in its running requests; a limit below the size of a freshly started process (which could never be met: every process would be replaced at once, forever) is raised to 25% past that size, with an error logged once",
        ),
        "Replace a process whose resident memory exceeds this many bytes: it stops accepting at once; if it grows 25% past the limit, MemoryError is raised in the requests still running on it (500, logged).",
        |g, v| g.memory_limit = v.num(),
    ),
    row(
        "env",
        Kind::EnvPair,
        "-",
        State::Partial("mod_rwsgi's own option (mod_wsgi has none)"),
        "Set an environment variable in the processes (repeatable).",
        |g, v| {
            if let Value::Env(k, val) = v {
                g.env.push((k, val));
            }
        },
    ),
    row(
        "supplementary-groups",
        Kind::Text,
        "-",
        Supported,
        "Extra groups of the processes, comma separated names or #gids (added to the user's own groups).",
        |g, v| {
            g.supplementary_groups = v
                .text()
                .map(|t| t.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect())
                .unwrap_or_default()
        },
    ),
    row(
        "script-user",
        Kind::Text,
        "-",
        Supported,
        "The group serves only scripts owned by this user (name or #uid); others are answered 403.",
        |g, v| g.script_user = v.text(),
    ),
    row(
        "script-group",
        Kind::Text,
        "-",
        Supported,
        "The group serves only scripts owned by this group (name or #gid); others are answered 403.",
        |g, v| g.script_group = v.text(),
    ),
    row(
        "cpu-time-limit",
        Kind::Number {
            min: 0,
            max: DAY,
            zero_off: true,
        },
        "0 (off)",
        Supported,
        "RLIMIT_CPU of the processes, in seconds of CPU time (the kernel ends a process that uses more).",
        |g, v| g.cpu_time_limit = v.num(),
    ),
    row(
        "virtual-memory-limit",
        Kind::Number {
            min: 0,
            max: u64::MAX,
            zero_off: true,
        },
        "0 (off)",
        Supported,
        "RLIMIT_AS of the processes, in bytes (allocations beyond it fail with MemoryError).",
        |g, v| g.virtual_memory_limit = v.num(),
    ),
    row(
        "cpu-priority",
        Kind::Number {
            min: 0,
            max: 19,
            zero_off: true,
        },
        "0",
        Supported,
        "Scheduling priority (nice value, 0..19) of the processes.",
        |g, v| g.cpu_priority = v.num().and_then(|n| i32::try_from(n).ok()),
    ),
    row(
        "stack-size",
        Kind::Number {
            min: 65_536,
            max: 1 << 30,
            zero_off: false,
        },
        "the system's thread stack size",
        Supported,
        "Stack size of the request threads, in bytes.",
        |g, v| g.stack_size = v.num(),
    ),
    row(
        "send-buffer-size",
        Kind::Number {
            min: 512,
            max: 1 << 30,
            zero_off: false,
        },
        "the system's",
        Supported,
        "SO_SNDBUF of a daemon's connections from httpd children (response data), in bytes.",
        |g, v| g.send_buffer_size = v.num(),
    ),
    row(
        "receive-buffer-size",
        Kind::Number {
            min: 512,
            max: 1 << 30,
            zero_off: false,
        },
        "the system's",
        Supported,
        "SO_RCVBUF of a daemon's connections from httpd children (request data), in bytes.",
        |g, v| g.receive_buffer_size = v.num(),
    ),
    row(
        "switch-interval",
        Kind::Interval,
        "WSGISwitchInterval",
        Supported,
        "sys.setswitchinterval() of the processes, in seconds (overrides WSGISwitchInterval).",
        |g, v| g.switch_interval = v.text(),
    ),
    row(
        "python-eggs",
        Kind::Path,
        "-",
        Supported,
        "PYTHON_EGG_CACHE of the processes (where old setuptools eggs unpack).",
        |g, v| g.python_eggs = v.text(),
    ),
    row(
        "chroot",
        Kind::Path,
        "-",
        Supported,
        "Root directory of the processes (chroot before dropping privileges; the Python installation and the application must be inside it).",
        |g, v| g.chroot = v.text(),
    ),
    row(
        "interrupt-timeout",
        secs_or_off(),
        "0 (off)",
        Supported,
        "With request-timeout: a request over its limit gets mod_wsgi.RequestTimeout raised in its thread (answered 504, the process keeps serving); if it is still running this many seconds later the process is recycled.",
        |g, v| g.interrupt_timeout = v.num(),
    ),
    row(
        "response-buffer-size",
        count(65_536, 1 << 30),
        "8388608",
        Supported,
        "Response bytes passed to Apache's output filters without a flush before one is forced (bounds a filter that buffers without draining).",
        |g, v| g.response_buffer_size = v.num().unwrap_or(8 << 20),
    ),
    row(
        "umask",
        Kind::Octal,
        "inherited from httpd",
        Supported,
        "umask of the processes (octal, e.g. 0027): files the application creates get it.",
        |g, v| g.umask = v.num().and_then(|n| u32::try_from(n).ok()),
    ),
    row(
        "eviction-timeout",
        secs_or_off(),
        "graceful-timeout",
        State::Partial(
            "the evicted process stops accepting at once (mod_wsgi keeps accepting until idle); the supervisor starts its replacement when it exits",
        ),
        "Time a process sent SIGUSR1 by an administrator gets to finish its requests.",
        |g, v| g.eviction_timeout = v.num(),
    ),
    row(
        "response-socket-timeout",
        secs_or_off(),
        "socket-timeout",
        Supported,
        "Timeout of each write of response data to the HTTP client, in seconds.",
        |g, v| g.response_socket_timeout = v.num(),
    ),
    row(
        "socket-user",
        Kind::Text,
        "Apache's User",
        Supported,
        "Owner of the group's socket (name or #uid), for httpd children that run as another user (mod_ruid2, ITK, PrivilegesMode SECURE); the daemon accepts connections from that user too.",
        |g, v| g.socket_user = v.text(),
    ),
    row(
        "server-metrics",
        Kind::OnOff,
        "WSGIServerMetrics",
        Supported,
        "On: mod_wsgi.server_metrics() in the processes answers with Apache's scoreboard (the httpd children and their threads); Off: None.",
        |g, v| g.server_metrics = v.num().map(|n| n == 1),
    ),
    ignored(
        "maximum-requests-jitter",
        NOT_BUILT,
        "Random spread added to maximum-requests.",
    ),
];

const fn count_or_off() -> Kind {
    Kind::Number {
        min: 0,
        max: u64::MAX,
        zero_off: true,
    }
}

/// The row of option `name`.
pub fn find(name: &str) -> Option<&'static DaemonOption> {
    DAEMON_OPTIONS.iter().find(|o| o.name == name)
}

impl DaemonOption {
    /// Checks `v` against the row's syntax and limits; the error names the option and the value.
    pub fn value(&self, v: &str) -> Result<Value, String> {
        let key = self.name;
        match self.kind {
            Kind::Number { min, max, zero_off } => {
                let n: u64 = v.parse().map_err(|_| format!("{key}={v:?} is not a whole number"))?;
                if n < min || n > max {
                    return Err(format!("{key}={v} is out of range ({min}..={max})"));
                }
                Ok(Value::Number(Some(n).filter(|&n| !(zero_off && n == 0))))
            }
            Kind::Path => Ok(Value::Text(abs_path(key, v)?)),
            Kind::PathList => {
                let mut out = Vec::new();
                for p in v.split(':').filter(|p| !p.is_empty()) {
                    out.push(abs_path(key, p)?);
                }
                Ok(Value::Paths(out))
            }
            Kind::Text if v.is_empty() => Err(format!("{key}= must not be empty")),
            Kind::Text => Ok(Value::Text(v.to_string())),
            Kind::Interval => match v.parse::<f64>() {
                Ok(x) if x > 0.0 && x <= 10.0 => Ok(Value::Text(v.to_string())),
                _ => Err(format!("{key}={v:?} must be a positive number of seconds, at most 10")),
            },
            Kind::OnOff => match v.to_ascii_lowercase().as_str() {
                "on" => Ok(Value::Number(Some(1))),
                "off" => Ok(Value::Number(Some(0))),
                _ => Err(format!("{key}={v:?} must be On or Off")),
            },
            Kind::Octal => {
                let n =
                    u64::from_str_radix(v, 8).map_err(|_| format!("{key}={v:?} is not an octal number (e.g. 0027)"))?;
                if n > 0o777 {
                    return Err(format!("{key}={v} is out of range (0..=0777)"));
                }
                Ok(Value::Number(Some(n)))
            }
            Kind::EnvPair => {
                let Some((k, val)) = v.split_once('=') else {
                    return Err(format!("{key}={v:?} must be {key}=NAME=VALUE"));
                };
                if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(format!("{key}={v:?}: {k:?} is not a valid environment variable name"));
                }
                Ok(Value::Env(k.to_string(), val.to_string()))
            }
        }
    }

    /// The value syntax as the docs show it.
    pub fn syntax(&self) -> String {
        match self.kind {
            Kind::Number { min, max, .. } if max == DAY => format!("seconds ({min}..)"),
            Kind::Number { min, max, .. } if max == u64::MAX => format!("number ({min}..)"),
            Kind::Number { min, max, .. } => format!("number ({min}..{max})"),
            Kind::Path => "absolute path".to_string(),
            Kind::PathList => "absolute paths separated by ':'".to_string(),
            Kind::Text => "text".to_string(),
            Kind::EnvPair => "NAME=VALUE".to_string(),
            Kind::Octal => "octal (0..0777)".to_string(),
            Kind::Interval => "seconds (e.g. 0.005)".to_string(),
            Kind::OnOff => "On or Off".to_string(),
        }
    }
}

fn abs_path(key: &str, v: &str) -> Result<String, String> {
    if !v.starts_with('/') {
        return Err(format!("{key}={v:?} must be an absolute path"));
    }
    Ok(v.trim_end_matches('/').to_string())
}

/// A daemon process group name: not empty, no whitespace or control characters, not `%{...}` (reserved for
/// the expansions WSGIProcessGroup takes).
pub fn group_name(v: &str) -> Result<String, String> {
    if v.is_empty() {
        return Err("the process group name must not be empty".to_string());
    }
    if v.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!("invalid process group name {v:?}"));
    }
    Ok(v.to_string())
}

/// `WSGIDaemonProcess NAME [option=value ...]` (the words after the directive name).
pub fn parse(args: &[String]) -> Result<DaemonGroup, String> {
    let [name, opts @ ..] = args else {
        return Err("takes a process group name, then options".to_string());
    };
    let name = group_name(name)?;
    if name.starts_with("%{") {
        return Err(format!(
            "{name:?} is reserved: a daemon process group name cannot start with %{{"
        ));
    }
    let mut g = DaemonGroup::new(&name);
    for opt in opts {
        let Some((key, v)) = opt.split_once('=') else {
            return Err(format!("option {opt:?} is not of the form name=value"));
        };
        let Some(row) = find(key) else {
            return Err(format!("unknown option {key:?}"));
        };
        let value = row.value(v)?;
        if let State::Ignored(why) = row.state {
            g.ignored.push((key.to_string(), why));
        }
        (row.set)(&mut g, value);
    }
    Ok(g)
}

/// The option rows of docs/compat.md (between its `daemon-options` markers).
pub fn compat_rows() -> String {
    let mut out = String::from("| Option | Value | Default | State | Notes |\n|---|---|---|---|---|\n");
    for o in DAEMON_OPTIONS {
        let (state, note) = match o.state {
            State::Supported => ("supported", o.help.to_string()),
            State::Partial(why) => ("partial", format!("{} Differs: {why}.", o.help)),
            State::Ignored(why) => (
                "not yet",
                format!("{} Accepted with a start-up warning: {why}.", o.help),
            ),
        };
        out.push_str(&format!(
            "| `{}=` | {} | {} | {state} | {note} |\n",
            o.name,
            o.syntax(),
            o.default
        ));
    }
    out
}

/// Replaces the text between `<!-- begin NAME -->` and `<!-- end NAME -->` in `doc` with `body`; None when
/// the markers are missing.
pub fn splice(doc: &str, name: &str, body: &str) -> Option<String> {
    let begin = format!("<!-- begin {name} -->\n");
    let end = format!("<!-- end {name} -->");
    let a = doc.find(&begin)? + begin.len();
    let b = a + doc[a..].find(&end)?;
    Some(format!("{}{body}{}", &doc[..a], &doc[b..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<DaemonGroup, String> {
        parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn request_timeout_scales_with_threads_as_mod_wsgi() {
        let ms = |v: &[&str]| p(v).expect("ok").request_timeout_fire().map(|d| d.as_millis());
        assert_eq!(ms(&["s", "request-timeout=10", "threads=1"]), Some(10_000));
        assert_eq!(ms(&["s", "request-timeout=2", "threads=2"]), Some(3386));
        assert_eq!(ms(&["s", "request-timeout=10", "threads=10"]), Some(33_025));
        assert_eq!(ms(&["s", "threads=10"]), None);
        let g = p(&["s", "request-timeout=2", "threads=2", "interrupt-timeout=5"]).expect("ok");
        assert_eq!(g.request_deadline().map(|d| d.as_millis()), Some(3386 + 5500));
        let g = p(&["s", "request-timeout=2", "threads=2"]).expect("ok");
        assert_eq!(g.request_deadline().map(|d| d.as_millis()), Some(3386));
    }

    #[test]
    fn defaults_and_options() {
        let g = p(&["site"]).expect("ok");
        assert_eq!(
            (g.processes, g.threads, g.graceful_timeout, g.connect_timeout),
            (1, 15, 15, 15)
        );
        let g = p(&[
            "site",
            "processes=3",
            "threads=4",
            "user=www-data",
            "home=/srv/app",
            "python-path=/a:/b",
            "env=A=b=c",
            "display-name=%{GROUP}",
            "request-timeout=3",
            "memory-limit=100000000",
            "maximum-requests=0",
        ])
        .expect("ok");
        assert_eq!((g.processes, g.threads), (3, 4));
        assert_eq!(g.python_path, vec!["/a", "/b"]);
        assert_eq!(g.env, vec![("A".to_string(), "b=c".to_string())]);
        assert_eq!(g.title().as_deref(), Some("(wsgi:site)"));
        assert_eq!(g.request_timeout, Some(3));
        assert_eq!(g.memory_limit, Some(100_000_000));
        assert_eq!(g.maximum_requests, None);
    }

    #[test]
    fn errors_name_the_option() {
        assert!(p(&["s", "bogus=1"]).unwrap_err().contains("unknown option \"bogus\""));
        assert!(
            p(&["s", "processes=0"])
                .unwrap_err()
                .contains("processes=0 is out of range")
        );
        assert!(p(&["s", "threads=x"]).unwrap_err().contains("not a whole number"));
        assert!(p(&["s", "home=rel"]).unwrap_err().contains("absolute"));
        assert!(p(&["s", "env=NOVALUE"]).unwrap_err().contains("env=NAME=VALUE"));
        assert!(p(&["s", "processes"]).unwrap_err().contains("name=value"));
        assert!(p(&["s", "user="]).unwrap_err().contains("must not be empty"));
        assert!(p(&[]).is_err());
        assert!(p(&["%{GLOBAL}"]).is_err());
        assert!(p(&["s", "umask=0899"]).unwrap_err().contains("octal"));
        assert!(p(&["s", "umask=01777"]).unwrap_err().contains("out of range"));
        assert_eq!(p(&["s", "umask=0027"]).map(|g| g.umask), Ok(Some(0o027)));
        let g = p(&["s", "maximum-requests-jitter=5"]).expect("accepted");
        assert_eq!(
            g.ignored.first().map(|(n, _)| n.as_str()),
            Some("maximum-requests-jitter")
        );
        assert!(
            p(&["s", "response-buffer-size=100"])
                .unwrap_err()
                .contains("out of range")
        );
        assert!(
            p(&["s", "switch-interval=fast"])
                .unwrap_err()
                .contains("positive number of seconds")
        );
        assert!(p(&["s", "cpu-priority=20"]).unwrap_err().contains("out of range"));
        let g = p(&["s", "supplementary-groups=adm,#4", "switch-interval=0.001"]).expect("ok");
        assert_eq!(
            (g.supplementary_groups, g.switch_interval.as_deref()),
            (vec!["adm".to_string(), "#4".to_string()], Some("0.001"))
        );
    }

    #[test]
    fn table_is_well_formed() {
        let mut names: Vec<_> = DAEMON_OPTIONS.iter().map(|o| o.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len(), "option names are unique");
        for o in DAEMON_OPTIONS {
            assert!(
                o.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{}",
                o.name
            );
            assert!(!o.help.is_empty() && o.help.ends_with('.'), "{}", o.name);
            // Every default the docs show parses (where it is a literal value).
            if o.default.bytes().all(|b| b.is_ascii_digit()) && !o.default.is_empty() {
                assert!(o.value(o.default).is_ok(), "{}", o.name);
            }
        }
        let g = DaemonGroup::new("x");
        let parsed = p(&[
            "x",
            "processes=1",
            "threads=15",
            "deadlock-timeout=300",
            "graceful-timeout=15",
        ]);
        assert_eq!(
            parsed.map(|d| (d.processes, d.threads, d.deadlock_timeout)),
            Ok((g.processes, g.threads, g.deadlock_timeout))
        );
    }

    #[test]
    fn splice_replaces_between_markers() {
        let doc = "a\n<!-- begin x -->\nold\n<!-- end x -->\nb\n";
        assert_eq!(
            splice(doc, "x", "new\n").as_deref(),
            Some("a\n<!-- begin x -->\nnew\n<!-- end x -->\nb\n")
        );
        assert_eq!(splice(doc, "y", "new\n"), None);
    }
}

#[cfg(test)]
mod docs {
    /// docs/compat.md's option rows come from the table.
    #[test]
    fn compat_doc_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/compat.md");
        let have = std::fs::read_to_string(path).unwrap_or_default();
        let want = super::splice(&have, "daemon-options", &super::compat_rows()).expect("markers in docs/compat.md");
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &want).expect("write docs/compat.md");
        }
        let now = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            now == want,
            "docs/compat.md is stale: run UPDATE_DOCS=1 cargo test -p rwsgi-options"
        );
    }
}
