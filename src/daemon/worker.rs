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
use super::protocol::{Frame, VERSION};
use super::transport::DaemonTransport;
use crate::apache::log::{self, Level};
use crate::sys::epoll::Readiness;
use crate::sys::process::{exit_now, page_size, set_name};
use crate::sys::signals::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SigSet};
use crate::wsgi::state::ReqState;
use crate::wsgi::{self, Outcome, Slot};

/// Exit status when Python cannot start (the supervisor backs off).
const EXIT_PYTHON: i32 = 65;

struct Busy {
    since: Instant,
    uri: String,
    /// Python's thread identifier of the worker thread, for the stack dump.
    py_thread: u64,
    reported: bool,
    /// When mod_wsgi.RequestTimeout was raised in the request's thread (interrupt-timeout).
    injected_at: Option<Instant>,
}

struct State {
    /// Accept loops still running (a stop waits for them: a woken loop always serves what it accepted).
    loops: AtomicUsize,
    /// Last time the GIL watchdog thread got the GIL (microseconds since the epoch).
    gil_tick: AtomicI64,
    stopping: AtomicBool,
    active: AtomicUsize,
    requests: AtomicU64,
    last_activity: AtomicI64,
    busy: Mutex<Vec<Option<Busy>>>,
    started: Instant,
    /// WSGIDestroyInterpreter (default On): run atexit handlers when the process stops.
    destroy_interpreter: bool,
    /// Why this process asked to be recycled (mod_wsgi's shutdown_reason names, for process_stopping).
    recycle_reason: Mutex<&'static str>,
    /// The supervisor was asked for a replacement (once per process).
    recycle_asked: AtomicBool,
    /// Restarting for changed code: accept nothing more (a request accepted here would only be sent back).
    restarting: AtomicBool,
    /// Python started (the GIL watchdog runs).
    python_ok: bool,
    /// memory-limit: MemoryError was raised in the running requests (once per process).
    memory_interrupted: AtomicBool,
}

use crate::request::epoch_us as now_us;

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
        let spawned = builder.spawn(move || accept_loop(&l, &gr, &tb, &st, t));
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
    let _ = index;
    if python_ok {
        if let Some(fd) = ready {
            crate::sys::process::signal_ready(fd);
        }
    }
    monitor(g, &state, &handled, python_ok)
}

fn monitor(g: &GroupRuntime, state: &Arc<State>, handled: &SigSet, python_ok: bool) -> ! {
    let cfg = &g.cfg;
    loop {
        if !python_ok && state.started.elapsed() > Duration::from_secs(30) && state.active.load(Ordering::SeqCst) == 0 {
            // The supervisor starts a new process, which retries Python.
            exit_now(EXIT_PYTHON);
        }
        match handled.wait(Duration::from_secs(1)) {
            Some((SIGTERM | SIGINT, _)) => stop(
                g,
                state,
                Duration::from_secs(cfg.shutdown_timeout.max(cfg.graceful_timeout)),
                "shutdown_signal",
            ),
            // From the supervisor: a recycle (its replacement already runs). From anyone else (an admin's
            // `kill -USR1`): an eviction, drained for eviction-timeout (default graceful-timeout).
            Some((SIGUSR1, sender)) if sender == crate::sys::process::parent() => {
                let reason = *state.recycle_reason.lock().unwrap_or_else(|p| p.into_inner());
                stop(g, state, Duration::from_secs(cfg.graceful_timeout), reason)
            }
            Some((SIGUSR1, _)) => stop(
                g,
                state,
                Duration::from_secs(cfg.eviction_timeout.unwrap_or(cfg.graceful_timeout)),
                "eviction_signal",
            ),
            Some((sig @ (SIGHUP | SIGUSR2), sender)) => {
                let name = if sig == SIGHUP { "SIGHUP" } else { "SIGUSR2" };
                log::server(
                    Level::Info,
                    &format!(
                        "mod_rwsgi: daemon process {} of group {} received {name} from pid {sender}: passed to mod_wsgi.subscribe_signals() callbacks",
                        std::process::id(),
                        cfg.name
                    ),
                );
                if python_ok {
                    crate::python::publish_signal(name, sig);
                }
            }
            _ => {}
        }
        if state.recycle_asked.load(Ordering::SeqCst) {
            continue;
        }
        if python_ok && cfg.deadlock_timeout > 0 {
            let stalled = (now_us() - state.gil_tick.load(Ordering::SeqCst)) / 1_000_000;
            if stalled >= cfg.deadlock_timeout as i64 {
                log::server(
                    Level::Crit,
                    &format!(
                        "mod_rwsgi: deadlock-timeout={}: no thread of daemon process {} (group {}) could take the Python GIL for {stalled} s; the process exits and is replaced",
                        cfg.deadlock_timeout,
                        std::process::id(),
                        cfg.name
                    ),
                );
                // A process whose GIL is stuck cannot drain; end it (the supervisor restarts it).
                exit_now(70);
            }
        }
        let reason = recycle_reason(g, state);
        if let Some((tag, why)) = reason {
            log::server(
                Level::Info,
                &format!(
                    "mod_rwsgi: daemon process {} of group {} is recycling: {why}",
                    std::process::id(),
                    cfg.name
                ),
            );
            request_recycle(state, tag);
        }
    }
}

/// Asks our supervisor (parent) once to start a replacement; it then sends us SIGUSR1.
fn request_recycle(state: &State, reason: &'static str) {
    if state.recycle_asked.swap(true, Ordering::SeqCst) {
        return;
    }
    *state.recycle_reason.lock().unwrap_or_else(|p| p.into_inner()) = reason;
    crate::sys::process::signal(crate::sys::process::parent(), SIGUSR2);
}

fn recycle_reason(g: &GroupRuntime, state: &Arc<State>) -> Option<(&'static str, String)> {
    let cfg = &g.cfg;
    if let Some(script) = crate::python::loader::take_reloaded() {
        // The script was re-imported for the request that noticed the change; a fresh process also picks up
        // every module the script imports.
        return Some((
            "script_reload",
            format!("{} changed (WSGIScriptReloading)", String::from_utf8_lossy(&script)),
        ));
    }
    if let Some(secs) = cfg.restart_interval {
        if state.started.elapsed() >= Duration::from_secs(secs) {
            return Some(("restart_interval", format!("restart-interval={secs} elapsed")));
        }
    }
    if let Some(secs) = cfg.inactivity_timeout {
        let idle = (now_us() - state.last_activity.load(Ordering::SeqCst)) / 1_000_000;
        if state.active.load(Ordering::SeqCst) == 0 && idle >= secs as i64 {
            return Some((
                "inactivity_timeout",
                format!("inactivity-timeout={secs}: idle for {idle} s"),
            ));
        }
    }
    if let Some(limit) = cfg.memory_limit {
        let rss = resident_bytes();
        if rss > limit {
            return Some((
                "memory_limit",
                format!("memory-limit={limit}: resident set size is {rss} bytes"),
            ));
        }
    }
    // startup-timeout, as mod_wsgi: counted from the first failed load of a WSGI script (at preloading or for a
    // request) until one loads; a process that cannot load its application in that time is replaced.
    if let Some(secs) = cfg.startup_timeout.filter(|s| *s > 0) {
        if let Some(failing) = crate::python::loader::failing_since() {
            if failing >= Duration::from_secs(secs) {
                return Some((
                    "startup_timeout",
                    format!(
                        "startup-timeout={secs}: no WSGI script could be loaded in the {} s since the first failed attempt",
                        failing.as_secs()
                    ),
                ));
            }
        }
    }
    if let Some(fire) = cfg.request_timeout_fire() {
        let secs = cfg.request_timeout.unwrap_or(0);
        let interrupt = cfg.interrupt_timeout.filter(|s| *s > 0).map(Duration::from_secs);
        if interrupt.is_some() {
            interrupt_one(g, state.clone(), fire);
        }
        let stuck: Vec<(String, u64, u64)> = {
            let mut busy = state.busy.lock().unwrap_or_else(|p| p.into_inner());
            busy.iter_mut()
                .flatten()
                .filter(|b| {
                    !b.reported
                        && b.since.elapsed() >= fire
                        && match (interrupt, b.injected_at) {
                            // Still running interrupt-timeout after RequestTimeout was raised in it.
                            (Some(it), Some(at)) => at.elapsed() >= it,
                            (Some(_), None) => false,
                            (None, _) => true,
                        }
                })
                .map(|b| {
                    b.reported = true;
                    (b.uri.clone(), b.py_thread, b.since.elapsed().as_secs())
                })
                .collect()
        };
        if !stuck.is_empty() {
            for (uri, thread, age) in &stuck {
                let stack = crate::python::thread_stack(*thread)
                    .unwrap_or_else(|| "(stack not available: the GIL is held)".to_string());
                log::server(
                    Level::Error,
                    &format!(
                        "mod_rwsgi: request-timeout={secs}: request {uri} in daemon group {} has run for {age} s{}; Python stack of its thread:",
                        cfg.name,
                        if interrupt.is_some() {
                            " and did not end on RequestTimeout within interrupt-timeout"
                        } else {
                            ""
                        }
                    ),
                );
                for line in stack.lines() {
                    log::server(Level::Error, line);
                }
            }
            return Some((
                "request_timeout",
                format!("request-timeout={secs} exceeded by {} request(s)", stuck.len()),
            ));
        }
    }
    None
}

/// interrupt-timeout: raises mod_wsgi.RequestTimeout in (at most) one request thread over its limit per pass,
/// as mod_wsgi does, after logging its stack. Done holding the GIL, and the busy table is only changed with the
/// GIL held, so the exception can only land in the request that was found over its limit.
fn interrupt_one(g: &GroupRuntime, state: Arc<State>, fire: Duration) {
    let name = g.cfg.name.clone();
    let secs = g.cfg.request_timeout.unwrap_or(0);
    let _ = crate::python::with_python_timeout(5, move |py, rt| {
        let mut busy = state.busy.lock().unwrap_or_else(|p| p.into_inner());
        let Some((n, b)) = busy.iter_mut().enumerate().find_map(|(i, b)| {
            b.as_mut()
                .filter(|b| b.injected_at.is_none() && b.since.elapsed() >= fire)
                .map(|b| (i + 1, b))
        }) else {
            return;
        };
        log::server(
            Level::Info,
            &format!(
                "Dumping stack trace for thread {n} of daemon process '{name}' which has exceeded request-timeout of {secs} seconds, before injecting RequestTimeout to unwind it."
            ),
        );
        for line in crate::python::stack_of(py, b.py_thread).lines() {
            log::server(Level::Info, line);
        }
        b.injected_at = Some(Instant::now());
        if crate::python::raise_in_thread(py, rt, b.py_thread) {
            log::server(
                Level::Info,
                &format!("Injected RequestTimeout into thread {n} of daemon process '{name}'."),
            );
        }
    });
}

/// How far past memory-limit a process may grow before the requests running on it are interrupted.
const MEMORY_MARGIN_PERCENT: u64 = 25;

/// memory-limit, checked every 100 ms: past the limit the process stops accepting and asks for its replacement
/// (its running requests may finish); past the limit by MEMORY_MARGIN_PERCENT, MemoryError is raised in the
/// requests still running, so the one allocating fails (answered 500 with the cause) and the process can go.
fn watch_memory(g: &GroupRuntime, state: &Arc<State>, limit: u64) {
    let hard = limit.saturating_add(limit / 100 * MEMORY_MARGIN_PERCENT);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let rss = resident_bytes();
        if rss <= limit {
            continue;
        }
        if !state.stopping.swap(true, Ordering::SeqCst) {
            log::server(
                Level::Warning,
                &format!(
                    "mod_rwsgi: daemon process {} of group {} is recycling: memory-limit={limit}: resident set size is {rss} bytes; it accepts no more requests",
                    std::process::id(),
                    g.cfg.name
                ),
            );
            request_recycle(state, "memory_limit");
        }
        if rss > hard && !state.memory_interrupted.swap(true, Ordering::SeqCst) {
            let threads: Vec<(u64, String)> = {
                let busy = state.busy.lock().unwrap_or_else(|p| p.into_inner());
                busy.iter().flatten().map(|b| (b.py_thread, b.uri.clone())).collect()
            };
            let uris: Vec<&str> = threads.iter().map(|(_, u)| u.as_str()).collect();
            log::server(
                Level::Error,
                &format!(
                    "mod_rwsgi: daemon process {} of group {}: resident set size {rss} bytes is more than {MEMORY_MARGIN_PERCENT}% past memory-limit={limit}: MemoryError raised in the {} request(s) still running ({})",
                    std::process::id(),
                    g.cfg.name,
                    threads.len(),
                    uris.join(", ")
                ),
            );
            let ids: Vec<u64> = threads.iter().map(|(t, _)| *t).collect();
            let _ = crate::python::with_python_timeout(5, move |py, _| {
                for t in ids {
                    crate::python::raise_memory_error(py, t);
                }
            });
        }
    }
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * page_size()
}

fn stop(g: &GroupRuntime, state: &State, grace: Duration, reason: &'static str) -> ! {
    state.stopping.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + grace;
    while (state.active.load(Ordering::SeqCst) > 0 || state.loops.load(Ordering::SeqCst) > 0)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = state.active.load(Ordering::SeqCst);
    if left > 0 {
        log::server(
            Level::Warning,
            &format!(
                "mod_rwsgi: daemon process {} of group {} exits with {left} request(s) still running after {} s",
                std::process::id(),
                g.cfg.name,
                grace.as_secs()
            ),
        );
    }
    crate::python::publish_stopping(reason);
    if state.destroy_interpreter {
        crate::python::run_atexit();
    }
    // Without running httpd's inherited exit handlers.
    exit_now(0)
}

fn accept_loop(listener: &UnixListener, g: &GroupRuntime, table: &Table, state: &State, index: usize) {
    // One waiter per thread (EPOLLEXCLUSIVE: a new connection wakes one waiting thread, not every thread of every
    // process of the group); the timeout lets a stop request be noticed.
    let ready = Readiness::new(listener.as_raw_fd());
    while !state.stopping.load(Ordering::SeqCst) {
        let woken = ready.wait(200);
        if state.restarting.load(Ordering::SeqCst) || gil_stuck(state) {
            // Declined: the connection stays queued for the group's other processes (see below). Not a busy
            // loop while it is (a level-triggered wait returns at once).
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        // Woken for a connection: accept and serve it even when stopping (with EPOLLEXCLUSIVE no other thread
        // was woken for it). Not woken (the 200 ms timeout): try anyway, without blocking. A connection whose
        // wake-up went to a thread that declined it (its process restarting, or its GIL stuck) wakes nobody
        // else, so every idle thread looks for such a connection five times a second.
        let _ = woken;
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                log::server(
                    Level::Error,
                    &format!("mod_rwsgi: daemon group {}: accept failed: {e}", g.cfg.name),
                );
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        let _ = stream.set_nonblocking(false);
        state.active.fetch_add(1, Ordering::SeqCst);
        // maximum-requests is a limit: the process stops accepting the moment it took its last request (the
        // threads already woken may take one more each), and its replacement starts in parallel.
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
        // A request under WSGIIgnoreActivity On does not keep the process alive (inactivity-timeout); while
        // any request runs, the process is not idle anyway.
        if serve(stream, g, table, state, index) {
            state.last_activity.store(now_us(), Ordering::SeqCst);
        }
        state.active.fetch_sub(1, Ordering::SeqCst);
    }
    state.loops.fetch_sub(1, Ordering::SeqCst);
}

/// No thread got the GIL for 2 s (the watchdog takes it every second): new connections are left to the group's
/// healthy processes (a woken waiter of another process sees them within 200 ms); deadlock-timeout replaces this
/// one if it stays stuck.
fn gil_stuck(state: &State) -> bool {
    state.python_ok && now_us() - state.gil_tick.load(Ordering::SeqCst) > 2_000_000
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Serves one connection; true when it counts as activity (for inactivity-timeout).
fn serve(stream: UnixStream, g: &GroupRuntime, table: &Table, state: &State, index: usize) -> bool {
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
            return false;
        }
        None => return false,
    }
    crate::sys::fs::set_buffers(stream.as_raw_fd(), g.cfg.send_buffer_size, g.cfg.receive_buffer_size);
    let timeout = Duration::from_secs(g.cfg.socket_timeout.unwrap_or(table.server_timeout));
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let mut conn = Conn::new(stream);
    match conn.read_frame() {
        Ok(Frame::Hello { version, secret }) if version == VERSION && constant_time_eq(&secret, &table.secret) => {}
        Ok(Frame::Hello { version, .. }) if version != VERSION => {
            log::server(
                Level::Error,
                &format!(
                    "mod_rwsgi: daemon group {}: protocol version {version} from an httpd child, expected {VERSION} (restart httpd fully after upgrading)",
                    g.cfg.name
                ),
            );
            return false;
        }
        _ => {
            log::server(
                Level::Warning,
                &format!(
                    "mod_rwsgi: daemon group {}: refused a connection without the right secret",
                    g.cfg.name
                ),
            );
            return false;
        }
    }
    let head = match conn.read_frame() {
        Ok(Frame::Request(mut h)) => {
            h.daemon_start_us = now_us();
            h
        }
        Ok(other) => {
            log::server(
                Level::Error,
                &format!(
                    "mod_rwsgi: daemon group {}: protocol error: expected a request, got {other:?}",
                    g.cfg.name
                ),
            );
            return false;
        }
        Err(e) => {
            log::server(
                Level::Error,
                &format!(
                    "mod_rwsgi: daemon group {}: reading the request failed: {e}",
                    g.cfg.name
                ),
            );
            return false;
        }
    };
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
            let _ = conn.send(&Frame::Error { status: 504 });
            return false;
        }
    }
    let transport = DaemonTransport::new(conn, head.header_only, tag.clone());
    let slot = Arc::new(Slot::new(ReqState::new(Box::new(transport))));
    let script = String::from_utf8_lossy(&head.script).into_owned();
    let _ctx = log::CurrentRequest::enter_tag(format!("{tag}[script {script}] "));
    let mut head = head;
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
