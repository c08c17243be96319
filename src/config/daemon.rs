//! WSGIDaemonProcess NAME option=value ...: the definition of a daemon process group. Pure parsing.

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
    /// Options accepted for compatibility that have no effect yet (logged once at start-up).
    pub ignored: Vec<String>,
}

impl DaemonGroup {
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

const P2_ACCEPTED: &[&str] = &[
    "interrupt-timeout",
    "eviction-timeout",
    "response-buffer-size",
    "response-socket-timeout",
    "send-buffer-size",
    "receive-buffer-size",
    "stack-size",
    "umask",
    "supplementary-groups",
    "socket-user",
    "script-user",
    "script-group",
    "cpu-time-limit",
    "cpu-priority",
    "virtual-memory-limit",
    "switch-interval",
    "server-metrics",
    "maximum-requests-jitter",
];

fn num<T: std::str::FromStr>(key: &str, v: &str, min: u64, max: u64) -> Result<T, String> {
    let n: u64 = v.parse().map_err(|_| format!("{key}={v:?} is not a whole number"))?;
    if n < min || n > max {
        return Err(format!("{key}={v} is out of range ({min}..={max})"));
    }
    v.parse::<T>().map_err(|_| format!("{key}={v:?} is not a whole number"))
}

fn abs_path(key: &str, v: &str) -> Result<String, String> {
    if !v.starts_with('/') {
        return Err(format!("{key}={v:?} must be an absolute path"));
    }
    Ok(v.trim_end_matches('/').to_string())
}

const DAY: u64 = 86_400 * 365;

/// `WSGIDaemonProcess NAME [option=value ...]`.
pub fn parse(args: &[String]) -> Result<DaemonGroup, String> {
    let [name, opts @ ..] = args else {
        return Err("takes a process group name, then options".to_string());
    };
    let name = super::parse::process_group_name(name)?;
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
        match key {
            "processes" => g.processes = num(key, v, 1, 1000)?,
            "threads" => g.threads = num(key, v, 1, 10_000)?,
            "user" => {
                g.user = Some(
                    Some(v.to_string())
                        .filter(|u| !u.is_empty())
                        .ok_or("user= must not be empty")?,
                )
            }
            "group" => {
                g.group = Some(
                    Some(v.to_string())
                        .filter(|u| !u.is_empty())
                        .ok_or("group= must not be empty")?,
                )
            }
            "python-home" => g.python_home = Some(abs_path(key, v)?),
            "python-path" => {
                for p in v.split(':').filter(|p| !p.is_empty()) {
                    g.python_path.push(abs_path(key, p)?);
                }
            }
            "home" => g.home = Some(abs_path(key, v)?),
            "display-name" => g.display_name = Some(v.to_string()),
            "maximum-requests" => g.maximum_requests = Some(num(key, v, 0, u64::MAX)?).filter(|&n| n > 0),
            "inactivity-timeout" => g.inactivity_timeout = Some(num(key, v, 0, DAY)?).filter(|&n| n > 0),
            "request-timeout" => g.request_timeout = Some(num(key, v, 0, DAY)?).filter(|&n| n > 0),
            "deadlock-timeout" => g.deadlock_timeout = num(key, v, 0, DAY)?,
            "graceful-timeout" => g.graceful_timeout = num(key, v, 0, DAY)?,
            "shutdown-timeout" => g.shutdown_timeout = num(key, v, 0, DAY)?,
            "connect-timeout" => g.connect_timeout = num(key, v, 1, DAY)?,
            "socket-timeout" => g.socket_timeout = Some(num(key, v, 0, DAY)?).filter(|&n| n > 0),
            "queue-timeout" => g.queue_timeout = Some(num(key, v, 0, DAY)?).filter(|&n| n > 0),
            "listen-backlog" => g.listen_backlog = num(key, v, 1, 65_535)?,
            "header-buffer-size" => g.header_buffer_size = num(key, v, 1024, 1 << 20)?,
            "startup-timeout" => g.startup_timeout = Some(num(key, v, 0, DAY)?).filter(|&n| n > 0),
            "restart-interval" => g.restart_interval = Some(num(key, v, 0, DAY)?).filter(|&n| n > 0),
            "lang" => g.lang = Some(v.to_string()),
            "locale" => g.locale = Some(v.to_string()),
            "memory-limit" => g.memory_limit = Some(num(key, v, 0, u64::MAX)?).filter(|&n| n > 0),
            "env" => {
                let Some((k, val)) = v.split_once('=') else {
                    return Err(format!("env={v:?} must be env=NAME=VALUE"));
                };
                if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(format!("env={v:?}: {k:?} is not a valid environment variable name"));
                }
                g.env.push((k.to_string(), val.to_string()));
            }
            _ if P2_ACCEPTED.contains(&key) => g.ignored.push(key.to_string()),
            _ => return Err(format!("unknown option {key:?}")),
        }
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<DaemonGroup, String> {
        parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
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
        ])
        .expect("ok");
        assert_eq!((g.processes, g.threads), (3, 4));
        assert_eq!(g.python_path, vec!["/a", "/b"]);
        assert_eq!(g.env, vec![("A".to_string(), "b=c".to_string())]);
        assert_eq!(g.title().as_deref(), Some("(wsgi:site)"));
        assert_eq!(g.request_timeout, Some(3));
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
        assert!(p(&[]).is_err());
        assert!(p(&["%{GLOBAL}"]).is_err());
        assert_eq!(
            p(&["s", "stack-size=524288"]).map(|g| g.ignored),
            Ok(vec!["stack-size".to_string()])
        );
    }
}
