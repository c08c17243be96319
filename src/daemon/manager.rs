//! The daemon process manager in the httpd parent (post_config; on a first start the supervisors are forked in
//! pre_mpm, once httpd made its scoreboard, which they inherit). For every WSGIDaemonProcess group it keeps one
//! listening UNIX socket for the life of the httpd parent (so graceful restarts never refuse a connection), and
//! starts one supervisor process per configuration generation. A supervisor that dies is restarted at once; at
//! the end of a generation (restart or stop) the supervisors are told to drain and exit, while the next
//! generation's supervisors already accept on the same sockets.
#![deny(unsafe_code)]

use std::os::fd::IntoRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::apache::log::{self, Level};
use crate::apache::process::{ChildEvent, ConfigPool, Server, apache_identity, preliminary_config_pass};
use crate::config::daemon::DaemonGroup;
use crate::daemon::conn::Conn;
use crate::daemon::protocol::SECRET_LEN;
use crate::sys::process::{self, Fork};

/// A group as every process of this generation sees it.
pub struct GroupRuntime {
    pub cfg: DaemonGroup,
    pub socket_path: String,
    pub listen_fd: i32,
    /// ServerName of the virtual host that defined it (None: the main server): usable only from there.
    pub server_name: Option<String>,
    /// That server ([`crate::apache::process::Server::handle`]; 0: the main server): its processes log to its
    /// ErrorLog.
    pub log_server: usize,
    pub uid: u32,
    pub gid: u32,
    pub identity: Identity,
    pub user_name: String,
    /// Scripts to import when a process starts: (path, callable to check) of the WSGIScriptAlias lines that
    /// name this group and a literal application group (mod_wsgi's preloading rule) and its WSGIImportScripts.
    pub preload: Vec<(String, Option<String>)>,
    supervisor: AtomicI32,
    stopping: AtomicBool,
    /// In an httpd child: its idle connections to this group's processes, the most recently used last.
    pub pool: Mutex<Vec<Conn>>,
}

pub struct Table {
    pub groups: Vec<Arc<GroupRuntime>>,
    /// The interpreter-wide directives (WSGIPythonOptimize, WSGIRestrictSignal, WSGIDestroyInterpreter, ...).
    pub python: crate::config::PythonOptions,
    pub secret: [u8; SECRET_LEN],
    pub apache_uid: u32,
    /// httpd's Timeout in seconds (default for socket-timeout).
    pub server_timeout: u64,
}

impl Table {
    pub fn group(&self, name: &str) -> Option<&Arc<GroupRuntime>> {
        self.groups.iter().find(|g| g.cfg.name == name)
    }
}

static TABLE: RwLock<Option<Arc<Table>>> = RwLock::new(None);

/// On a first start, the supervisors wait for httpd's scoreboard (made after post_config): `start_pending`.
static PENDING: Mutex<Option<(ConfigPool, Arc<Table>)>> = Mutex::new(None);

/// This generation's daemon groups (set in the parent before the httpd children are forked).
pub fn table() -> Option<Arc<Table>> {
    TABLE.read().unwrap_or_else(|p| p.into_inner()).clone()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; SECRET_LEN]> {
    let mut out = [0u8; SECRET_LEN];
    if s.len() != SECRET_LEN * 2 {
        return None;
    }
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Why the daemon groups cannot be set up; httpd refuses to start with this as its one line.
#[derive(Debug)]
pub enum ManagerError {
    /// A WSGIDaemonProcess whose user, group or other name does not resolve, or that would run as root.
    Identity { group: String, why: String },
    /// The sockets' directory or a group's socket cannot be made.
    Socket { path: String, why: String },
    /// The per-start secret that authenticates httpd children cannot be read.
    Secret(String),
}

impl std::fmt::Display for ManagerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ManagerError::Identity { group, why } => write!(f, "WSGIDaemonProcess {group}: {why}"),
            ManagerError::Socket { path, why } => write!(f, "daemon socket {path}: {why}"),
            ManagerError::Secret(why) => write!(f, "cannot read /dev/urandom for the daemon socket secret: {why}"),
        }
    }
}

fn socket_error(path: impl std::fmt::Display) -> impl Fn(String) -> ManagerError {
    let path = path.to_string();
    move |why| ManagerError::Socket {
        path: path.clone(),
        why,
    }
}

fn random_secret() -> Result<[u8; SECRET_LEN], ManagerError> {
    use std::io::Read;
    let mut s = [0u8; SECRET_LEN];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut s))
        .map_err(|e| ManagerError::Secret(e.to_string()))?;
    Ok(s)
}

/// Who a group's processes are, resolved once for the manager and the start-up checks.
#[derive(Clone, Debug)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
    /// supplementary-groups=.
    pub extra_gids: Vec<u32>,
    /// socket-user=: the owner of the group's socket, also accepted as a peer.
    pub socket_uid: Option<u32>,
    /// script-user= / script-group=: the owner the scripts must have.
    pub script_uid: Option<u32>,
    pub script_gid: Option<u32>,
}

/// The identity of a group's processes: user=/group=, else Apache's User/Group, plus supplementary-groups=;
/// and script-user=/script-group=. Root is refused; every name must exist.
pub fn identity(g: &DaemonGroup, apache_uid: u32, apache_gid: u32) -> Result<Identity, ManagerError> {
    let named = |why: String| ManagerError::Identity {
        group: g.name.clone(),
        why,
    };
    let (uid, mut gid) = match &g.user {
        Some(u) => lookup_user(u).map_err(named)?,
        None => (apache_uid, apache_gid),
    };
    if let Some(gr) = &g.group {
        gid = lookup_group(gr).map_err(named)?;
    } else if gid == u32::MAX {
        gid = apache_gid;
    }
    if uid == 0 {
        return Err(named(
            "daemon processes must not run as root (uid 0); set user= to an unprivileged user".to_string(),
        ));
    }
    let extra_gids = g
        .supplementary_groups
        .iter()
        .map(|name| lookup_group(name).map_err(|e| named(format!("supplementary-groups: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let socket_uid = match &g.socket_user {
        Some(u) => Some(lookup_user(u).map_err(|e| named(format!("socket-user: {e}")))?.0),
        None => None,
    };
    let script_uid = match &g.script_user {
        Some(u) => Some(lookup_user(u).map_err(|e| named(format!("script-user: {e}")))?.0),
        None => None,
    };
    let script_gid = match &g.script_group {
        Some(gr) => Some(lookup_group(gr).map_err(|e| named(format!("script-group: {e}")))?),
        None => None,
    };
    Ok(Identity {
        uid,
        gid,
        extra_gids,
        socket_uid,
        script_uid,
        script_gid,
    })
}

fn lookup_user(name: &str) -> Result<(u32, u32), String> {
    if let Some(n) = name.strip_prefix('#') {
        let uid: u32 = n.parse().map_err(|_| format!("user={name} is not a valid #uid"))?;
        return Ok((uid, u32::MAX));
    }
    crate::sys::users::by_name(name)
        .map(|u| (u.uid, u.gid))
        .ok_or_else(|| format!("user {name:?} does not exist"))
}

fn lookup_group(name: &str) -> Result<u32, String> {
    if let Some(n) = name.strip_prefix('#') {
        return n.parse().map_err(|_| format!("group={name} is not a valid #gid"));
    }
    crate::sys::users::group_by_name(name).ok_or_else(|| format!("group {name:?} does not exist"))
}

/// The socket directory: private to the Apache user (0700), named after the httpd parent's pid.
fn socket_dir(prefix: &str, apache_uid: u32, apache_gid: u32, shared: bool) -> Result<String, ManagerError> {
    let dir = format!("{prefix}-{}", std::process::id());
    if let Some(parent) = std::path::Path::new(&dir).parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| socket_error(parent.display())(format!("cannot create it: {e}")))?;
    }
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(socket_error(&dir)(format!("cannot create the directory: {e}"))),
    }
    std::fs::set_permissions(
        &dir,
        std::fs::Permissions::from_mode(if shared { 0o711 } else { 0o700 }),
    )
    .map_err(|e| socket_error(&dir)(format!("cannot chmod: {e}")))?;
    if process::is_root() {
        crate::sys::fs::chown(&dir, apache_uid, apache_gid).map_err(socket_error(&dir))?;
    }
    Ok(dir)
}

/// Removes socket directories left by httpd parents that are gone (same prefix, dead pid).
fn remove_stale_dirs(prefix: &str) {
    let p = std::path::Path::new(prefix);
    let (Some(parent), Some(base)) = (p.parent(), p.file_name().map(|b| b.to_string_lossy().into_owned())) else {
        return;
    };
    let Ok(rd) = std::fs::read_dir(parent) else { return };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(&format!("{base}-"))
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if !process::alive(pid) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

fn listen(path: &str, backlog: u32, apache_uid: u32, apache_gid: u32) -> Result<i32, ManagerError> {
    let _ = std::fs::remove_file(path);
    let l = UnixListener::bind(path).map_err(|e| socket_error(path)(format!("cannot listen: {e}")))?;
    let fd = l.into_raw_fd();
    crate::sys::fs::set_backlog(fd, backlog);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| socket_error(path)(format!("cannot chmod: {e}")))?;
    if process::is_root() {
        crate::sys::fs::chown(path, apache_uid, apache_gid).map_err(socket_error(path))?;
    }
    Ok(fd)
}

/// post_config in the httpd parent. Err stops httpd with the message.
pub fn post_config(pconf: ConfigPool, main: Server) -> Result<(), ManagerError> {
    let mut defs: Vec<(DaemonGroup, Option<String>)> = Vec::new();
    let main_home = main.config().and_then(|c| c.python_home.clone());
    let preloads = crate::config::preloads(main.configs());
    let servers: Vec<(Server, String)> = main.all().into_iter().map(|s| (s, s.hostname())).collect();
    let configs: Vec<_> = servers
        .iter()
        .enumerate()
        .filter_map(|(i, (s, host))| s.config().map(|c| (c, (i > 0).then_some(host.as_str()))))
        .collect();
    for (g, scope) in crate::config::routing::daemon_groups(&configs) {
        let mut g = g.clone();
        if g.python_home.is_none() {
            // Like mod_wsgi: daemons default to WSGIPythonHome.
            g.python_home = main_home.clone();
        }
        defs.push((g, scope.map(str::to_string)));
    }
    // The first post_config of a start is a dry run (httpd then re-reads the config): start nothing yet.
    let first = preliminary_config_pass();
    main.keep("started", "1");
    *TABLE.write().unwrap_or_else(|p| p.into_inner()) = None;
    if first {
        return Ok(());
    }
    if defs.is_empty() {
        setup_metrics(main, &[]);
        return Ok(());
    }
    let (apache_uid, apache_gid, _) = apache_identity();
    let secret = match main.kept("secret").and_then(|s| unhex(&s)) {
        Some(s) => s,
        None => {
            let s = random_secret()?;
            main.keep("secret", &hex(&s));
            s
        }
    };
    let prefix = main
        .config()
        .and_then(|c| c.socket_prefix_in(&crate::apache::process::server_root()))
        .unwrap_or_else(|| pconf.runtime_dir("rwsgi"));
    remove_stale_dirs(&prefix);
    // With socket-user=, httpd children run as other users too: they must pass through the directory (0711:
    // they can enter it, not list it) to reach the sockets, which stay 0600.
    let shared = defs.iter().any(|(g, _)| g.socket_user.is_some());
    let dir = socket_dir(&prefix, apache_uid, apache_gid, shared)?;
    let mut groups = Vec::new();
    for (cfg, server_name) in defs {
        let log_server = server_name
            .as_deref()
            .and_then(|host| servers.iter().skip(1).find(|(_, h)| h == host))
            .map_or(0, |(s, _)| s.handle());
        let ident = identity(&cfg, apache_uid, apache_gid)?;
        let (uid, gid) = (ident.uid, ident.gid);
        let socket_path = format!("{dir}/{}.sock", cfg.name);
        let key = format!("sock.{}", cfg.name);
        let listen_fd = match main.kept(&key).and_then(|v| v.parse::<i32>().ok()).filter(|fd| {
            std::path::Path::new(&format!("/proc/self/fd/{fd}")).exists() && std::path::Path::new(&socket_path).exists()
        }) {
            Some(fd) => fd,
            None => {
                let owner = ident.socket_uid.unwrap_or(apache_uid);
                let fd = listen(&socket_path, cfg.listen_backlog, owner, apache_gid)?;
                main.keep(&key, &fd.to_string());
                fd
            }
        };
        let preload = preloads
            .iter()
            .filter(|p| p.group.daemon() == Some(cfg.name.as_str()))
            .map(|p| (p.script.clone(), p.callable.clone()))
            .collect();
        groups.push(Arc::new(GroupRuntime {
            preload,
            user_name: crate::sys::users::name_of(uid),
            cfg,
            socket_path,
            listen_fd,
            server_name,
            log_server,
            uid,
            gid,
            identity: ident,
            supervisor: AtomicI32::new(0),
            stopping: AtomicBool::new(false),
            pool: Mutex::new(Vec::new()),
        }));
    }
    let server_timeout = main.timeout_secs();
    let table = Arc::new(Table {
        groups,
        python: main.config().map(|c| c.python.clone()).unwrap_or_default(),
        secret,
        apache_uid,
        server_timeout,
    });
    *TABLE.write().unwrap_or_else(|p| p.into_inner()) = Some(table.clone());
    // Before any supervisor or httpd child is forked: they all count into the region made here.
    setup_metrics(main, &table.groups);
    if crate::apache::scoreboard::exists() {
        start_supervisors(pconf, main, table);
    } else {
        // First start: httpd makes its scoreboard after post_config. Daemon processes forked before it could
        // never read it (mod_wsgi.server_metrics()), so they are started just after it (`start_pending`).
        *PENDING.lock().unwrap_or_else(|p| p.into_inner()) = Some((pconf, table));
    }
    Ok(())
}

/// In the httpd parent, once httpd has made its scoreboard (the pre_mpm hook of a first start; the monitor hook
/// too, in case an MPM has no pre_mpm): starts the supervisors post_config left waiting.
pub fn start_pending(main: Server) {
    let pending = PENDING.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some((pconf, table)) = pending {
        start_supervisors(pconf, main, table);
    }
}

fn start_supervisors(pconf: ConfigPool, main: Server, table: Arc<Table>) {
    // The previous generation's supervisors are draining: register them too so that httpd, which reaps them,
    // knows they are ours (otherwise it logs "long lost child came home!").
    // Draining supervisors may outlive several generations: every generation registers all that still run.
    let mut pids: Vec<i32> = Vec::new();
    for pid in main
        .kept("supervisors")
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.parse::<i32>().ok())
    {
        if process::alive(pid) {
            pconf.register_other_child(pid, |_| {});
            pids.push(pid);
        }
    }
    for g in &table.groups {
        start_supervisor(pconf, g.clone(), table.clone());
        pids.push(g.supervisor.load(Ordering::SeqCst));
    }
    let list: Vec<String> = pids.iter().map(i32::to_string).collect();
    main.keep("supervisors", &list.join(","));
    let t = table.clone();
    let parent = std::process::id();
    pconf.on_cleanup(move || {
        if std::process::id() != parent {
            return;
        }
        for g in &t.groups {
            g.stopping.store(true, Ordering::SeqCst);
            let pid = g.supervisor.load(Ordering::SeqCst);
            process::signal(pid, crate::sys::signals::SIGTERM);
        }
    });
}

/// The shared metrics region of this generation (kept from the previous one when its shape is the same: then
/// the previous generation's daemon processes count as replaced by a graceful restart).
fn setup_metrics(main: Server, groups: &[Arc<GroupRuntime>]) {
    // Children of two generations overlap during a graceful restart.
    let layout = crate::metrics::layout::Layout {
        children: crate::apache::mpm_server_limit() * 2 + 2,
        threads: usize::try_from(crate::apache::mpm_limits().0).unwrap_or(1),
        groups: groups.len(),
        procs: groups.iter().map(|g| g.cfg.processes as usize).max().unwrap_or(0),
    };
    let kept = main.kept("metrics");
    match crate::metrics::setup(layout, kept.as_deref()) {
        Ok(keep) => {
            if kept.as_deref().is_some_and(|k| k == keep) {
                for (i, g) in groups.iter().enumerate() {
                    for _ in 0..g.cfg.processes {
                        crate::metrics::process_restarted(i, "graceful_restart");
                    }
                }
            }
            main.keep("metrics", &keep);
        }
        Err(e) => log::server(
            Level::Error,
            &format!("mod_rwsgi: cannot map the shared memory for metrics ({e}); rwsgi-metrics will answer 503"),
        ),
    }
}

/// The index of `g` among this generation's daemon groups (its metrics slots).
pub fn group_index(table: &Table, g: &GroupRuntime) -> usize {
    table
        .groups
        .iter()
        .position(|x| std::ptr::eq(x.as_ref(), g))
        .unwrap_or(usize::MAX)
}

/// Exit status of a supervisor that found a problem restarting cannot fix (logged by it).
pub const EXIT_FATAL: i32 = 64;

fn start_supervisor(pconf: ConfigPool, g: Arc<GroupRuntime>, table: Arc<Table>) {
    // The httpd parent is single-threaded here; the child only runs the supervisor and exits.
    let pid = match process::fork() {
        Ok(Fork::Child) => super::supervisor::run(&g, &table),
        Ok(Fork::Parent(pid)) => pid,
        Err(e) => {
            log::server(
                Level::Crit,
                &format!(
                    "mod_rwsgi: cannot fork the supervisor of daemon group {}: {e}",
                    g.cfg.name
                ),
            );
            return;
        }
    };
    g.supervisor.store(pid, Ordering::SeqCst);
    let started = std::time::Instant::now();
    pconf.register_other_child(pid, move |event| {
        if let ChildEvent::Died(status) = event {
            if g.stopping.load(Ordering::SeqCst) {
                return;
            }
            if status == EXIT_FATAL {
                log::server(
                    Level::Crit,
                    &format!(
                        "mod_rwsgi: daemon group {} cannot run (see the error above); not restarting it",
                        g.cfg.name
                    ),
                );
                // Requests to it are answered at once (503) instead of waiting for a process that never comes.
                let _ = std::fs::write(
                    format!("{}.failed", g.socket_path),
                    format!(
                        "daemon group {} could not start (see the error log at start-up)",
                        g.cfg.name
                    ),
                );
                let _ = std::fs::remove_file(&g.socket_path);
                return;
            }
            log::server(
                Level::Error,
                &format!(
                    "mod_rwsgi: supervisor of daemon group {} (pid {pid}) exited with status {status}; restarting it",
                    g.cfg.name
                ),
            );
            if started.elapsed() < std::time::Duration::from_secs(1) {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            start_supervisor(pconf, g.clone(), table.clone());
        }
    });
}

/// Takes ownership of an inherited listening descriptor (in a daemon process).
pub fn listener(fd: i32) -> UnixListener {
    crate::sys::fdpass::adopt_listener(fd)
}
