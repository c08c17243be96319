//! The supervisor of one daemon process group: a small process forked by the httpd parent that never runs
//! Python. It drops privileges, forks the group's worker processes, restarts a worker that dies (logging its exit
//! code or signal): at once when it had finished starting (a crash during a request), with a growing delay only
//! when it keeps dying before it could serve; starts a replacement before a worker recycles, and on SIGTERM lets
//! every worker drain and exit.
#![deny(unsafe_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::manager::{EXIT_FATAL, GroupRuntime, Table};
use crate::apache::log::{self, Level};
use crate::sys::process::{self, Fork, Reaped, exit_now};
use crate::sys::signals::{SIGCHLD, SIGHUP, SIGINT, SIGKILL, SIGTERM, SIGUSR1, SIGUSR2, SigSet};

struct Slot {
    pid: i32,
    /// Signals when the worker finished starting (Python up, scripts preloaded, accepting).
    ready: Option<process::Ready>,
    /// The worker said it was ready: its death is a crash, not a start-up failure.
    was_ready: bool,
    /// Consecutive deaths before being ready, or failed forks (drive the restart delay).
    failures: u32,
    restart_at: Option<Instant>,
}

/// The delay before the next start after `failures` consecutive start-up failures: none for the first, then
/// 2, 4, 8 ... 64 s.
fn backoff(failures: u32) -> Duration {
    if failures > 1 {
        Duration::from_secs(1u64 << failures.min(6))
    } else {
        Duration::ZERO
    }
}

/// Forks worker `index` into a slot. When fork fails (logged), the slot is retried after a growing delay; a
/// slot is never lost.
fn spawn(g: &Arc<GroupRuntime>, table: &Arc<Table>, index: usize, failures: u32) -> Slot {
    let me = std::process::id() as i32;
    let pipe = process::ready_pipe();
    let (ready, tell) = match pipe {
        Ok((r, w)) => (Some(r), Some(w)),
        Err(_) => (None, None),
    };
    match process::fork() {
        Ok(Fork::Child) => {
            drop(ready);
            process::detach_from_parent(me);
            super::worker::run(g, table, index, tell)
        }
        Ok(Fork::Parent(pid)) => {
            crate::metrics::process_started(super::manager::group_index(table, g));
            Slot {
                pid,
                ready,
                was_ready: false,
                failures,
                restart_at: None,
            }
        }
        Err(e) => {
            let failures = failures + 1;
            let delay = backoff(failures).max(Duration::from_secs(1));
            log::server(
                Level::Error,
                &format!(
                    "mod_rwsgi: daemon group {}: fork failed: {e}; retrying in {} s",
                    g.cfg.name,
                    delay.as_secs()
                ),
            );
            Slot {
                pid: 0,
                ready: None,
                was_ready: false,
                failures,
                restart_at: Some(Instant::now() + delay),
            }
        }
    }
}

/// Runs the supervisor in a process just forked from the httpd parent. Never returns.
pub fn run(g: &Arc<GroupRuntime>, table: &Arc<Table>) -> ! {
    process::detach_from_parent(process::parent());
    crate::apache::process::close_listeners();
    // Other groups' sockets must not be reachable from this group's (possibly differently privileged) code.
    for other in &table.groups {
        if other.listen_fd != g.listen_fd {
            crate::sys::fdpass::close(other.listen_fd);
        }
    }
    process::set_name(&format!("rwsgi:{}", g.cfg.name));
    // cpu-priority before privileges are dropped: only root may lower an inherited nice value (workers inherit
    // it); chroot= needs root too.
    if let Some(nice) = g.cfg.cpu_priority {
        if let Err(e) = process::set_priority(nice) {
            log::server(
                Level::Error,
                &format!("mod_rwsgi: daemon group {}: cannot set {e}", g.cfg.name),
            );
        }
    }
    let chrooted = match &g.cfg.chroot {
        Some(root) => process::change_root(root),
        None => Ok(()),
    };
    if let Err(e) = chrooted.and_then(|()| process::drop_privileges(g.uid, g.gid, &g.user_name, &g.identity.extra_gids))
    {
        log::server(Level::Crit, &format!("mod_rwsgi: daemon group {}: {e}", g.cfg.name));
        exit_now(EXIT_FATAL);
    }
    let handled = SigSet::new(&[SIGTERM, SIGCHLD, SIGUSR2, SIGHUP, SIGINT]);
    handled.block();
    let n = g.cfg.processes as usize;
    let mut slots: Vec<Slot> = (0..n).map(|i| spawn(g, table, i, 0)).collect();
    // Workers being replaced (recycled): their exit is expected.
    let mut retiring: Vec<i32> = Vec::new();
    log::server(
        Level::Info,
        &format!(
            "mod_rwsgi: daemon group {} started {n} process(es) x {} threads as {}",
            g.cfg.name, g.cfg.threads, g.user_name
        ),
    );
    loop {
        match handled.wait(Duration::from_secs(1)) {
            Some((SIGTERM | SIGINT | SIGHUP, _)) => shutdown(g, &slots, &retiring),
            Some((SIGUSR2, sender)) => {
                // A worker asks to be recycled: start its replacement first, then let it drain.
                if let Some(i) = slots.iter().position(|s| s.pid == sender && sender > 0) {
                    retiring.push(sender);
                    slots[i] = spawn(g, table, i, 0);
                    process::signal(sender, SIGUSR1);
                }
            }
            _ => {}
        }
        while let Reaped::Exited(pid, status) = process::reap_any() {
            if let Some(r) = retiring.iter().position(|p| *p == pid) {
                retiring.swap_remove(r);
                continue;
            }
            if let Some(i) = slots.iter().position(|s| s.pid == pid) {
                let ready = slots[i].was_ready || slots[i].ready.as_ref().is_some_and(process::Ready::signalled);
                crate::metrics::process_crashed(super::manager::group_index(table, g), status.signal());
                // A worker that was serving is replaced at once, every time; one that died before it could
                // serve is retried with a growing delay.
                let failures = if ready { 0 } else { slots[i].failures + 1 };
                let delay = backoff(failures);
                let mut msg = format!(
                    "mod_rwsgi: daemon process {pid} of group {} {}",
                    g.cfg.name,
                    status.describe()
                );
                if !ready && delay > Duration::ZERO {
                    msg.push_str(&format!(
                        "; it keeps failing at start-up, restarting in {} s",
                        delay.as_secs()
                    ));
                } else {
                    msg.push_str("; restarting it");
                }
                log::server(Level::Error, &msg);
                slots[i] = Slot {
                    pid: 0,
                    ready: None,
                    was_ready: false,
                    failures,
                    restart_at: Some(Instant::now() + delay),
                };
            }
        }
        for (i, s) in slots.iter_mut().enumerate() {
            if s.pid == 0 && s.restart_at.is_some_and(|t| Instant::now() >= t) {
                *s = spawn(g, table, i, s.failures);
            } else if s.pid > 0 && !s.was_ready && s.ready.as_ref().is_some_and(process::Ready::signalled) {
                s.was_ready = true;
                s.failures = 0;
                s.ready = None;
            }
        }
    }
}

fn shutdown(g: &GroupRuntime, slots: &[Slot], retiring: &[i32]) -> ! {
    let pids: Vec<i32> = slots
        .iter()
        .map(|s| s.pid)
        .chain(retiring.iter().copied())
        .filter(|p| *p > 0)
        .collect();
    for pid in &pids {
        // Drain and exit.
        process::signal(*pid, SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(g.cfg.graceful_timeout.max(g.cfg.shutdown_timeout) + 5);
    let mut left = pids.len();
    while left > 0 && Instant::now() < deadline {
        match process::reap_any() {
            Reaped::Exited(..) => left -= 1,
            Reaped::NoChildren => break,
            Reaped::Running => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    for pid in &pids {
        // Whatever did not exit in time is killed.
        process::signal(*pid, SIGKILL);
    }
    // Without running httpd's exit handlers.
    exit_now(0)
}
