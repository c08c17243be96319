//! The supervisor of one daemon process group: a small process forked by the httpd parent that never runs
//! Python. It drops privileges, forks the group's worker processes, restarts a worker that dies (logging its exit
//! code or signal, with a growing delay if it keeps dying at start-up), starts a replacement before a worker
//! recycles, and on SIGTERM lets every worker drain and exit.
#![deny(unsafe_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::manager::{EXIT_FATAL, GroupRuntime, Table};
use crate::apache::log::{self, Level};
use crate::sys::process::{self, Fork, Reaped, exit_now};
use crate::sys::signals::{SIGCHLD, SIGHUP, SIGINT, SIGKILL, SIGTERM, SIGUSR1, SIGUSR2, SigSet};

struct Slot {
    pid: i32,
    started: Instant,
    /// Consecutive deaths soon after start (drives the restart delay).
    failures: u32,
    restart_at: Option<Instant>,
}

/// Forks worker `index`; None when fork failed (logged; the slot is retried).
fn spawn_worker(g: &Arc<GroupRuntime>, table: &Arc<Table>, index: usize) -> Option<i32> {
    let me = std::process::id() as i32;
    match process::fork() {
        Ok(Fork::Child) => {
            process::detach_from_parent(me);
            super::worker::run(g, table, index)
        }
        Ok(Fork::Parent(pid)) => Some(pid),
        Err(e) => {
            log::server(
                Level::Error,
                &format!(
                    "mod_rwsgi: daemon group {}: fork failed: {e}; retrying in 1 s",
                    g.cfg.name
                ),
            );
            None
        }
    }
}

/// A slot whose worker runs (or, when fork failed, is retried in a second).
fn started(pid: Option<i32>) -> Slot {
    Slot {
        pid: pid.unwrap_or(0),
        started: Instant::now(),
        failures: 0,
        restart_at: pid.is_none().then(|| Instant::now() + Duration::from_secs(1)),
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
    let mut slots: Vec<Slot> = (0..n).map(|i| started(spawn_worker(g, table, i))).collect();
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
                    slots[i] = started(spawn_worker(g, table, i));
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
                let quick = slots[i].started.elapsed() < Duration::from_secs(5);
                let failures = if quick { slots[i].failures + 1 } else { 0 };
                let delay = if failures > 1 {
                    Duration::from_secs(1u64 << failures.min(6))
                } else {
                    Duration::ZERO
                };
                let mut msg = format!(
                    "mod_rwsgi: daemon process {pid} of group {} {}",
                    g.cfg.name,
                    status.describe()
                );
                if delay > Duration::ZERO {
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
                    started: Instant::now(),
                    failures,
                    restart_at: Some(Instant::now() + delay),
                };
            }
        }
        for (i, s) in slots.iter_mut().enumerate() {
            if s.pid == 0 && s.restart_at.is_some_and(|t| Instant::now() >= t) {
                let failures = s.failures;
                *s = started(spawn_worker(g, table, i));
                s.failures = failures;
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
