//! Watching a daemon process's health from its main thread and helpers: signals (stop, evict, the app's
//! SIGHUP / SIGUSR2), deadlock-timeout, the reasons to recycle (changed script, startup-timeout, restart-interval,
//! inactivity-timeout, request-timeout with interrupt-timeout), memory-limit, and the orderly stop that drains
//! the requests in flight. The accept loops and the serving of requests are in `worker`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::manager::GroupRuntime;
use super::worker::{EXIT_PYTHON, State, now_us};
use crate::apache::log::{self, Level};
use crate::sys::process::{exit_now, page_size};
use crate::sys::signals::{SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SigSet};

pub(super) fn monitor(g: &GroupRuntime, state: &Arc<State>, handled: &SigSet, python_ok: bool) -> ! {
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
            Some((SIGUSR1, _)) => {
                if let Some(gi) = crate::metrics::daemon_group() {
                    crate::metrics::process_restarted(gi, "eviction_signal");
                }
                stop(
                    g,
                    state,
                    Duration::from_secs(cfg.eviction_timeout.unwrap_or(cfg.graceful_timeout)),
                    "eviction_signal",
                )
            }
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
        crate::metrics::daemon_resident(resident_bytes());
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
                if let Some(g) = crate::metrics::daemon_group() {
                    crate::metrics::process_restarted(g, "deadlock_timeout");
                }
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
pub(super) fn request_recycle(state: &State, reason: &'static str) {
    if state.recycle_asked.swap(true, Ordering::SeqCst) {
        return;
    }
    *state.recycle_reason.lock().unwrap_or_else(|p| p.into_inner()) = reason;
    if let Some(g) = crate::metrics::daemon_group() {
        crate::metrics::process_restarted(g, reason);
    }
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
pub(super) fn watch_memory(g: &GroupRuntime, state: &Arc<State>, limit: u64) {
    // A limit below what a freshly started process already uses can never be met: every process would be
    // replaced at once, forever, and its requests interrupted. Such a limit is raised to 25% past the start-up
    // size (said once), so that the group serves and still replaces a process that grows.
    let start = resident_bytes();
    let limit = if start > limit {
        let raised = start.saturating_add(start / 100 * MEMORY_MARGIN_PERCENT);
        log::server(
            Level::Error,
            &format!(
                "mod_rwsgi: daemon group {}: memory-limit={limit}: resident set size of a freshly started process is already {start} bytes; its processes are replaced when they pass {raised} bytes instead (raise memory-limit)",
                g.cfg.name
            ),
        );
        raised
    } else {
        limit
    };
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
    state.conns.close_all();
    crate::python::publish_stopping(reason);
    if state.destroy_interpreter {
        crate::python::run_atexit();
    }
    // Without running httpd's inherited exit handlers.
    exit_now(0)
}
