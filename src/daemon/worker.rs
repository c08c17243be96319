//! A daemon worker process: chdir/env/locale for its group, Python started with the group's python-home and
//! python-path, `threads` threads accepting connections from httpd children on the group's socket, and a monitor
//! that recycles the process (maximum-requests, restart-interval, inactivity-timeout, memory-limit,
//! request-timeout) after the supervisor started its replacement.
#![deny(unsafe_code)]

use std::os::fd::AsRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::conn::{Conn, peer_cred};
use super::manager::{GroupRuntime, Table};
use super::parking::{Connections, LISTENER, declining};
use super::protocol::{Frame, RequestHead, VERSION};
use super::transport::{DaemonTransport, Handoff, goodbye};
use crate::apache::log::{self, Level};
use crate::sys::process::{exit_now, set_name};
use crate::sys::signals::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SigSet};
use crate::wsgi::state::ReqState;
use crate::wsgi::{self, Outcome, Slot};

/// Exit status when Python cannot start (the supervisor backs off).
pub(super) const EXIT_PYTHON: i32 = 65;

pub(super) struct Busy {
    pub(super) since: Instant,
    pub(super) uri: String,
    /// Python's thread identifier of the worker thread, for the stack dump.
    pub(super) py_thread: u64,
    pub(super) reported: bool,
    /// When mod_wsgi.RequestTimeout was raised in the request's thread (interrupt-timeout).
    pub(super) injected_at: Option<Instant>,
}

pub(super) struct State {
    /// Accept loops still running (a stop waits for them: a woken loop always serves what it accepted).
    pub(super) loops: AtomicUsize,
    /// Last time the GIL watchdog thread got the GIL (microseconds since the epoch).
    pub(super) gil_tick: AtomicI64,
    pub(super) stopping: AtomicBool,
    pub(super) active: AtomicUsize,
    pub(super) requests: AtomicU64,
    pub(super) last_activity: AtomicI64,
    pub(super) busy: Mutex<Vec<Option<Busy>>>,
    pub(super) started: Instant,
    /// WSGIDestroyInterpreter (default On): run atexit handlers when the process stops.
    pub(super) destroy_interpreter: bool,
    /// Why this process asked to be recycled (mod_wsgi's shutdown_reason names, for process_stopping).
    pub(super) recycle_reason: Mutex<&'static str>,
    /// The supervisor was asked for a replacement (once per process).
    pub(super) recycle_asked: AtomicBool,
    /// Restarting for changed code: accept nothing more (a request accepted here would only be sent back).
    pub(super) restarting: AtomicBool,
    /// Python started (the GIL watchdog runs).
    pub(super) python_ok: bool,
    /// memory-limit: MemoryError was raised in the running requests (once per process).
    pub(super) memory_interrupted: AtomicBool,
    pub(super) conns: Connections,
}

use super::watch::{monitor, request_recycle, watch_memory};
pub(super) use crate::request::epoch_us as now_us;

fn set_title(g: &GroupRuntime) {
    let title = g.cfg.title().unwrap_or_else(|| format!("(wsgi:{})", g.cfg.name));
    set_name(&title);
    // The full title in /proc/PID/cmdline (what ps shows): overwrite our argv area.
    crate::apache::process::set_cmdline(&title);
}

fn prepare_environment(g: &GroupRuntime) {
    if let Some(mask) = g.cfg.umask {
        crate::sys::process::set_umask(mask);
    }
    let limits = [
        g.cfg
            .cpu_time_limit
            .map(|n| crate::sys::process::set_limit(crate::sys::process::Limit::Cpu, n)),
        g.cfg
            .virtual_memory_limit
            .map(|n| crate::sys::process::set_limit(crate::sys::process::Limit::AddressSpace, n)),
    ];
    for e in limits.into_iter().flatten().filter_map(Result::err) {
        log::server(
            Level::Error,
            &format!("mod_rwsgi: daemon group {}: cannot set {e}", g.cfg.name),
        );
    }
    let home = g
        .cfg
        .home
        .clone()
        .or_else(|| crate::sys::users::by_uid(crate::sys::users::current().0).map(|u| u.home));
    if let Some(h) = &home {
        if let Err(e) = std::env::set_current_dir(h) {
            log::server(
                Level::Warning,
                &format!(
                    "mod_rwsgi: daemon group {}: cannot chdir to {h}: {e}; using /",
                    g.cfg.name
                ),
            );
            let _ = std::env::set_current_dir("/");
        }
    }
    let mut vars: Vec<(&str, String)> = g.cfg.env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    if let Some(eggs) = &g.cfg.python_eggs {
        vars.push(("PYTHON_EGG_CACHE", eggs.clone()));
    }
    if let Some(lang) = &g.cfg.lang {
        vars.push(("LANG", lang.clone()));
    }
    if let Some(locale) = &g.cfg.locale {
        let chosen = if crate::sys::fs::locale_exists(locale) {
            locale.clone()
        } else {
            log::server(
                Level::Warning,
                &format!(
                    "mod_rwsgi: daemon group {}: locale {locale:?} is not installed; using C.UTF-8 instead (install it, e.g. with locale-gen)",
                    g.cfg.name
                ),
            );
            "C.UTF-8".to_string()
        };
        vars.push(("LC_ALL", chosen.clone()));
        vars.push(("LANG", chosen));
    }
    crate::sys::process::set_environment(&vars);
}

/// Runs a worker process (forked by the supervisor). Never returns.
/// `ready`: written once the process serves (its supervisor then treats a death as a crash, not a start-up
/// failure).
pub fn run(g: &Arc<GroupRuntime>, table: &Arc<Table>, index: usize, ready: Option<std::os::fd::OwnedFd>) -> ! {
    // A group defined in a virtual host writes to that host's ErrorLog (the app's output included).
    crate::apache::process::log_here(g.log_server);
    crate::metrics::enter_daemon(super::manager::group_index(table, g), index, u64::from(g.cfg.threads));
    set_title(g);
    prepare_environment(g);
    let mut path = Vec::new();
    if let Some(h) = &g.cfg.home {
        path.push(h.clone());
    }
    path.extend(g.cfg.python_path.iter().cloned());
    let mut python = table.python.clone();
    if let Some(secs) = g.cfg.switch_interval.as_deref().and_then(|v| v.parse().ok()) {
        python.switch_interval = Some(secs);
    }
    if g.cfg.server_metrics.is_some() {
        python.server_metrics = g.cfg.server_metrics;
    }
    let settings = crate::python::Settings {
        home: g.cfg.python_home.clone(),
        python,
        path,
        process_group: g.cfg.name.clone(),
        multithread: g.cfg.threads > 1,
        multiprocess: g.cfg.processes > 1,
        threads: i32::try_from(g.cfg.threads).unwrap_or(i32::MAX),
        processes: i32::try_from(g.cfg.processes).unwrap_or(i32::MAX),
    };
    // When Python cannot start, the process still answers (500, with the reason logged once at start and per
    // request) instead of dying in a loop; it exits after a while so that the supervisor tries again.
    let python_ok = crate::python::start(&settings);
    for (script, callable) in &g.preload {
        let _ =
            crate::python::with_python(|py, rt| crate::python::loader::preload(py, rt, script, callable.as_deref()));
    }
    let listener = super::manager::listener(g.listen_fd);
    let _ = listener.set_nonblocking(true);
    let conns = match Connections::new(&listener) {
        Ok(c) => c,
        Err(e) => {
            log::server(
                Level::Crit,
                &format!(
                    "mod_rwsgi: daemon group {}: cannot create an epoll instance: {e}",
                    g.cfg.name
                ),
            );
            exit_now(1);
        }
    };
    let state = Arc::new(State {
        loops: AtomicUsize::new(g.cfg.threads as usize),
        gil_tick: AtomicI64::new(now_us()),
        stopping: AtomicBool::new(false),
        active: AtomicUsize::new(0),
        requests: AtomicU64::new(0),
        last_activity: AtomicI64::new(now_us()),
        busy: Mutex::new((0..g.cfg.threads).map(|_| None).collect()),
        started: Instant::now(),
        destroy_interpreter: table.python.destroy_interpreter != Some(false),
        recycle_reason: Mutex::new("graceful_signal"),
        recycle_asked: AtomicBool::new(false),
        restarting: AtomicBool::new(false),
        python_ok,
        memory_interrupted: AtomicBool::new(false),
        conns,
    });
    // Signals are taken synchronously by the main thread; worker threads inherit the mask.
    // SIGHUP and SIGUSR2 are the application's (mod_wsgi.subscribe_signals), as in mod_wsgi's daemon processes.
    let handled = SigSet::new(&[SIGTERM, SIGUSR1, SIGINT, SIGHUP, SIGUSR2]);
    handled.block();
    let listener = Arc::new(listener);
    for t in 0..g.cfg.threads as usize {
        let (l, st, gr, tb) = (listener.clone(), state.clone(), g.clone(), table.clone());
        let mut builder = std::thread::Builder::new().name(format!("rwsgi-{t}"));
        if let Some(size) = g.cfg.stack_size.and_then(|n| usize::try_from(n).ok()) {
            builder = builder.stack_size(size);
        }
        let spawned = builder.spawn(move || serve_loop(&l, &gr, &tb, &st, t));
        if let Err(e) = spawned {
            log::server(
                Level::Crit,
                &format!("mod_rwsgi: daemon group {}: cannot start thread: {e}", g.cfg.name),
            );
            exit_now(1);
        }
    }
    if python_ok {
        // deadlock-timeout: a thread that takes the GIL every second; if it cannot, something holds the GIL.
        let st = state.clone();
        let _ = std::thread::Builder::new()
            .name("rwsgi-gil-watch".to_string())
            .spawn(move || {
                loop {
                    let _ = crate::python::with_python(|_, _| ());
                    st.gil_tick.store(now_us(), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_secs(1));
                }
            });
    }
    if let (Some(limit), true) = (g.cfg.memory_limit, python_ok) {
        let (st, gr) = (state.clone(), g.clone());
        let _ = std::thread::Builder::new()
            .name("rwsgi-memory".to_string())
            .spawn(move || watch_memory(&gr, &st, limit));
    }
    if python_ok {
        if let Some(fd) = ready {
            crate::sys::process::signal_ready(fd);
        }
    }
    monitor(g, &state, &handled, python_ok)
}

fn serve_loop(listener: &UnixListener, g: &GroupRuntime, table: &Table, state: &State, index: usize) {
    let conns = &state.conns;
    while !state.stopping.load(Ordering::SeqCst) {
        // The timeout lets a stop request be noticed.
        let woken = conns.poller.wait(200);
        if declining(state) {
            // Parked connections are told Goodbye (their requests go elsewhere); a new connection stays queued for
            // the group's other processes (see below). Not a busy loop while declining (a level-triggered wait
            // returns at once).
            conns.close_all();
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        match woken {
            Some(token) if token != LISTENER => {
                if let Some(p) = conns.take(token) {
                    serve_conn(p.conn, p.token, g, state, index);
                }
            }
            // Woken for a connection: accept and serve it even when stopping (with EPOLLEXCLUSIVE no other
            // process was woken for it). Not woken (the 200 ms timeout): try anyway, without blocking. A
            // connection whose wake-up went to a process that declined it (restarting, or its GIL stuck) wakes
            // nobody else, so every idle thread looks for such a connection five times a second.
            _ => match listener.accept() {
                Ok((stream, _)) => {
                    if let Some(conn) = admit(stream, g, table) {
                        serve_conn(conn, 0, g, state, index);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    log::server(
                        Level::Error,
                        &format!("mod_rwsgi: daemon group {}: accept failed: {e}", g.cfg.name),
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            },
        }
    }
    conns.close_all();
    state.loops.fetch_sub(1, Ordering::SeqCst);
}

/// Serves the next request of `conn` (a new connection, or a parked one that became readable), then parks the
/// connection for the one after (unless the exchange did not end cleanly or the process stops).
fn serve_conn(mut conn: Conn, token: u64, g: &GroupRuntime, state: &State, index: usize) {
    let head = match conn.read_frame() {
        Ok(Frame::Request(mut h)) => {
            h.daemon_start_us = now_us();
            h
        }
        // The httpd child closed a connection it kept (its process exits, or its pool had no room).
        Err(e) if conn.requests > 0 && e.kind() == std::io::ErrorKind::UnexpectedEof => return,
        Ok(other) => {
            log::server(
                Level::Error,
                &format!(
                    "mod_rwsgi: daemon group {}: protocol error: expected a request, got {other:?}",
                    g.cfg.name
                ),
            );
            return;
        }
        Err(e) => {
            log::server(
                Level::Error,
                &format!(
                    "mod_rwsgi: daemon group {}: reading the request failed: {e}",
                    g.cfg.name
                ),
            );
            return;
        }
    };
    // A small body sent with the request: its frames, up to the end of the body (or httpd's refusal of it).
    let mut pushed = std::collections::VecDeque::new();
    if head.body_pushed {
        loop {
            match conn.read_frame() {
                Ok(f @ Frame::Body(_)) => {
                    let end = matches!(&f, Frame::Body(b) if b.is_empty());
                    pushed.push_back(f);
                    if end {
                        break;
                    }
                }
                Ok(f @ Frame::BodyError { .. }) => {
                    pushed.push_back(f);
                    break;
                }
                other => {
                    log::server(
                        Level::Error,
                        &format!(
                            "mod_rwsgi: daemon group {}: protocol error: expected the request body, got {other:?}",
                            g.cfg.name
                        ),
                    );
                    return;
                }
            }
        }
    }
    conn.requests += 1;
    // A parked connection's httpd child learns that its request runs here (until this frame, a close of the
    // connection means the request never ran, and it is sent elsewhere).
    if token != 0 && conn.send(&Frame::Taken).is_err() {
        return;
    }
    state.active.fetch_add(1, Ordering::SeqCst);
    // maximum-requests is a limit: the process stops taking requests the moment it took its last one (threads
    // already woken may take one more each), and its replacement starts in parallel.
    let taken = state.requests.fetch_add(1, Ordering::SeqCst) + 1;
    if g.cfg.maximum_requests.is_some_and(|max| taken >= max) && !state.stopping.swap(true, Ordering::SeqCst) {
        log::server(
            Level::Info,
            &format!(
                "mod_rwsgi: daemon process {} of group {} is recycling: maximum-requests={} reached",
                std::process::id(),
                g.cfg.name,
                g.cfg.maximum_requests.unwrap_or(0)
            ),
        );
        request_recycle(state, "maximum_requests");
    }
    let allocations = crate::sys::allocs::begin();
    let back = Arc::new(Handoff::default());
    // A request under WSGIIgnoreActivity On does not keep the process alive (inactivity-timeout); while any
    // request runs, the process is not idle anyway.
    if serve(conn, head, pushed, &back, g, state, index) {
        state.last_activity.store(now_us(), Ordering::SeqCst);
    }
    state.active.fetch_sub(1, Ordering::SeqCst);
    crate::sys::allocs::end(allocations);
    if let Some(conn) = back.take() {
        if state.stopping.load(Ordering::SeqCst) {
            goodbye(conn);
        } else {
            state.conns.park(conn, token, state);
        }
    }
}

/// No thread got the GIL for 2 s (the watchdog takes it every second): new connections are left to the group's
/// healthy processes (a woken waiter of another process sees them within 200 ms); deadlock-timeout replaces this
/// one if it stays stuck.
pub(super) fn gil_stuck(state: &State) -> bool {
    state.python_ok && now_us() - state.gil_tick.load(Ordering::SeqCst) > 2_000_000
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A new connection from an httpd child: its peer and its secret are checked once, for every request it will
/// carry. None (closed unread) for anything else.
fn admit(stream: UnixStream, g: &GroupRuntime, table: &Table) -> Option<Conn> {
    let _ = stream.set_nonblocking(false);
    // Only httpd children (Apache's user) or root may talk to us; anything else is closed unread.
    match peer_cred(&stream) {
        Some((_, uid)) if uid == table.apache_uid || uid == 0 || Some(uid) == g.identity.socket_uid => {}
        Some((pid, uid)) => {
            log::server(
                Level::Warning,
                &format!(
                    "mod_rwsgi: daemon group {}: refused a connection from pid {pid} uid {uid} (not Apache's user)",
                    g.cfg.name
                ),
            );
            return None;
        }
        None => return None,
    }
    crate::sys::fs::set_buffers(stream.as_raw_fd(), g.cfg.send_buffer_size, g.cfg.receive_buffer_size);
    let timeout = Duration::from_secs(g.cfg.socket_timeout.unwrap_or(table.server_timeout));
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let mut conn = Conn::new(stream);
    match conn.read_frame() {
        Ok(Frame::Hello { version, secret }) if version == VERSION && constant_time_eq(&secret, &table.secret) => {
            Some(conn)
        }
        Ok(Frame::Hello { version, .. }) if version != VERSION => {
            log::server(
                Level::Error,
                &format!(
                    "mod_rwsgi: daemon group {}: protocol version {version} from an httpd child, expected {VERSION} (restart httpd fully after upgrading)",
                    g.cfg.name
                ),
            );
            None
        }
        _ => {
            log::server(
                Level::Warning,
                &format!(
                    "mod_rwsgi: daemon group {}: refused a connection without the right secret",
                    g.cfg.name
                ),
            );
            None
        }
    }
}

/// Runs one request read from `conn`; true when it counts as activity (for inactivity-timeout). A clean end
/// leaves the connection in `back`.
fn serve(
    mut conn: Conn,
    head: RequestHead,
    pushed: std::collections::VecDeque<Frame>,
    back: &Arc<Handoff>,
    g: &GroupRuntime,
    state: &State,
    index: usize,
) -> bool {
    let find = |k: &[u8]| head.environ.get(k).map(|v| String::from_utf8_lossy(v).into_owned());
    let tag = format!(
        "[client {}:{}] ",
        find(b"REMOTE_ADDR").unwrap_or_default(),
        find(b"REMOTE_PORT").unwrap_or_default()
    );
    let uri = find(b"REQUEST_URI").unwrap_or_default();
    if let Some(qt) = g.cfg.queue_timeout {
        let waited = (now_us() - head.start_us) as f64 / 1e6;
        if waited > qt as f64 {
            log::server(
                Level::Error,
                &format!(
                    "{tag}mod_rwsgi: queue-timeout={qt}: request {uri} waited {waited:.1} s for daemon group {}; answered 504 without running the application",
                    g.cfg.name
                ),
            );
            crate::metrics::daemon_refused(crate::metrics::Cause::QueueTimeout);
            if conn.send(&Frame::Error { status: 504 }).is_ok() {
                back.put(conn);
            }
            return false;
        }
    }
    let taken = crate::metrics::daemon_taken(
        u64::try_from(now_us() - head.start_us).unwrap_or(0),
        crate::python::current::thread_number(),
    );
    let mut head = head;
    if let Some(avg) = crate::sys::allocs::per_request() {
        head.environ.push(
            b"mod_rwsgi.daemon_allocations_per_request",
            format!("{avg:.1}").as_bytes(),
        );
    }
    let transport = DaemonTransport::new(conn, pushed, back.clone(), head.header_only, tag.clone());
    let slot = Arc::new(Slot::new(ReqState::new(Box::new(transport))));
    let script = String::from_utf8_lossy(&head.script).into_owned();
    let _ctx = log::CurrentRequest::enter_tag(format!("{tag}[script {script}] "));

    let outcome = crate::python::with_python(|py, rt| {
        // WSGIScriptReloading in daemon mode, as mod_wsgi: changed code is loaded by a fresh process (which
        // re-imports everything the script imports), and this request goes to it.
        if head.script_reloading {
            if crate::python::loader::needs_reload(py, rt, &head.script, head.mtime) {
                return None;
            }
            head.script_reloading = false;
        }
        if let Ok(mut busy) = state.busy.lock() {
            if let Some(b) = busy.get_mut(index) {
                *b = Some(Busy {
                    since: Instant::now(),
                    uri: uri.clone(),
                    py_thread: crate::python::thread_ident(py),
                    reported: false,
                    injected_at: None,
                });
            }
        }
        let outcome = wsgi::run(py, rt, &head, &slot);
        // Still holding the GIL: a RequestTimeout raised for this request cannot arrive after this point, and
        // one that was raised but not delivered (the request ended in C code) is withdrawn.
        let injected = state
            .busy
            .lock()
            .ok()
            .and_then(|mut busy| busy.get_mut(index).and_then(Option::take))
            .is_some_and(|b| b.injected_at.is_some());
        if injected {
            crate::python::withdraw_from_thread(py, crate::python::thread_ident(py));
        }
        Some(outcome)
    });
    let status = match &outcome {
        Ok(Some(o)) => Some(wsgi::final_status(*o, &slot)),
        Ok(None) => None,
        Err(_) => Some(500),
    };
    let cause = match &outcome {
        Ok(Some(Outcome::Status(504))) => Some(crate::metrics::Cause::RequestTimeout),
        Ok(Some(Outcome::Status(500))) | Err(_) => Some(crate::metrics::Cause::AppException),
        _ => None,
    };
    taken.done(status, cause);
    let counts = head.environ.get(b"mod_wsgi.ignore_activity") != Some(b"1".as_slice());
    let Some(mut st) = slot.close() else { return counts };
    match outcome {
        Ok(None) => {
            log::server(
                Level::Info,
                &format!(
                    "Forcing restart of daemon process '{}' due to modification of script '{script}'.",
                    g.cfg.name
                ),
            );
            // No more requests here: the httpd child sends this one again, to the replacement.
            state.restarting.store(true, Ordering::SeqCst);
            state.stopping.store(true, Ordering::SeqCst);
            request_recycle(state, "script_reload");
            st.transport.restart();
            return false;
        }
        Ok(Some(Outcome::Done)) => {}
        Ok(Some(Outcome::Status(s))) => st.transport.respond_error(s),
        Err(why) => {
            log::server(
                Level::Error,
                &format!(
                    "{tag}mod_rwsgi: cannot run {script} in daemon group {}: {why}",
                    g.cfg.name
                ),
            );
            st.transport.respond_error(500);
        }
    }
    counts
}
