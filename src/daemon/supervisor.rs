//! The supervisor of one daemon process group: a small process forked by the httpd parent that never runs
//! Python. It drops privileges, forks the group's worker processes, restarts a worker that dies (logging its exit
//! code or signal, with a growing delay if it keeps dying at start-up), starts a replacement before a worker
//! recycles, and on SIGTERM lets every worker drain and exit.

use std::time::{Duration, Instant};

use super::manager::{EXIT_FATAL, GroupRuntime, Table};
use crate::apache::log::{self, Level};

struct Slot {
    pid: i32,
    started: Instant,
    /// Consecutive deaths soon after start (drives the restart delay).
    failures: u32,
    restart_at: Option<Instant>,
}

/// Signals the supervisor handles synchronously (sigtimedwait): no async handlers anywhere.
fn signal_set(sigs: &[i32]) -> libc::sigset_t {
    // SAFETY: sigset manipulation on a local.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in sigs {
            libc::sigaddset(&mut set, *s);
        }
        set
    }
}

/// Process set-up shared by supervisor and workers: default signal dispositions, die with the parent.
pub fn detach_from_parent(parent: i32) {
    // SAFETY: resetting signal state of this freshly forked, single-threaded process.
    unsafe {
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        let empty = signal_set(&[]);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
        if libc::getppid() != parent {
            libc::_exit(0);
        }
    }
}

pub fn set_name(name: &str) {
    let mut b = name.as_bytes().to_vec();
    b.truncate(15);
    b.push(0);
    // SAFETY: PR_SET_NAME copies at most 16 bytes from a NUL-terminated buffer.
    unsafe { libc::prctl(libc::PR_SET_NAME, b.as_ptr()) };
}

fn drop_privileges(g: &GroupRuntime) -> Result<(), String> {
    // SAFETY: identity changes of this single-threaded process; each result is checked.
    unsafe {
        if libc::geteuid() == 0 {
            let name = std::ffi::CString::new(g.user_name.clone()).map_err(|_| "invalid user name".to_string())?;
            if libc::initgroups(name.as_ptr(), g.gid) != 0 && libc::setgroups(0, std::ptr::null()) != 0 {
                return Err(format!(
                    "initgroups({}) failed: {}",
                    g.user_name,
                    std::io::Error::last_os_error()
                ));
            }
            if libc::setgid(g.gid) != 0 {
                return Err(format!("setgid({}) failed: {}", g.gid, std::io::Error::last_os_error()));
            }
            if libc::setuid(g.uid) != 0 {
                return Err(format!("setuid({}) failed: {}", g.uid, std::io::Error::last_os_error()));
            }
        }
        if libc::getuid() == 0 || libc::geteuid() == 0 {
            return Err(
                "still running as root after dropping privileges; refusing to run applications as root".to_string(),
            );
        }
        if libc::getuid() != g.uid && libc::geteuid() != g.uid && g.uid != libc::getuid() {
            return Err(format!("running as uid {} instead of {}", libc::getuid(), g.uid));
        }
    }
    Ok(())
}

fn describe(status: i32) -> String {
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        // SAFETY: strsignal returns a static string for any number.
        let name = unsafe { std::ffi::CStr::from_ptr(libc::strsignal(sig)) }
            .to_string_lossy()
            .into_owned();
        format!("was killed by signal {sig} ({name})")
    } else {
        format!("exited with status {}", libc::WEXITSTATUS(status))
    }
}

fn spawn_worker(g: &GroupRuntime, table: &Table, index: usize) -> i32 {
    let me = std::process::id() as i32;
    // SAFETY: the supervisor is single-threaded; the child runs the worker and never returns.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        detach_from_parent(me);
        super::worker::run(g, table, index);
    }
    if pid < 0 {
        log::server(
            Level::Error,
            &format!(
                "mod_rwsgi: daemon group {}: fork failed: {}",
                g.cfg.name,
                std::io::Error::last_os_error()
            ),
        );
    }
    pid
}

/// Runs the supervisor in a process just forked from the httpd parent. Never returns.
pub fn run(g: &GroupRuntime, table: &Table) -> ! {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    detach_from_parent(parent);
    crate::apache::process::close_listeners();
    // Other groups' sockets must not be reachable from this group's (possibly differently privileged) code.
    for other in &table.groups {
        if other.listen_fd != g.listen_fd {
            // SAFETY: closing an inherited descriptor this process does not use.
            unsafe { libc::close(other.listen_fd) };
        }
    }
    set_name(&format!("rwsgi:{}", g.cfg.name));
    if let Err(e) = drop_privileges(g) {
        log::server(Level::Crit, &format!("mod_rwsgi: daemon group {}: {e}", g.cfg.name));
        // SAFETY: ends this forked process without running httpd's exit handlers.
        unsafe { libc::_exit(EXIT_FATAL) };
    }
    let handled = signal_set(&[libc::SIGTERM, libc::SIGCHLD, libc::SIGUSR2, libc::SIGHUP, libc::SIGINT]);
    // SAFETY: blocks the handled signals so that sigtimedwait receives them.
    unsafe { libc::sigprocmask(libc::SIG_BLOCK, &handled, std::ptr::null_mut()) };
    let n = g.cfg.processes as usize;
    let mut slots: Vec<Slot> = (0..n)
        .map(|i| Slot {
            pid: spawn_worker(g, table, i),
            started: Instant::now(),
            failures: 0,
            restart_at: None,
        })
        .collect();
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
        // SAFETY: waits for one of the blocked signals for up to 1 s; info is a local.
        let (sig, sender) = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let ts = libc::timespec { tv_sec: 1, tv_nsec: 0 };
            let s = libc::sigtimedwait(&handled, &mut info, &ts);
            (s, info.si_pid())
        };
        match sig {
            libc::SIGTERM | libc::SIGINT | libc::SIGHUP => shutdown(g, &slots, &retiring),
            libc::SIGUSR2 => {
                // A worker asks to be recycled: start its replacement first, then let it drain.
                if let Some(i) = slots.iter().position(|s| s.pid == sender) {
                    retiring.push(sender);
                    slots[i] = Slot {
                        pid: spawn_worker(g, table, i),
                        started: Instant::now(),
                        failures: 0,
                        restart_at: None,
                    };
                    // SAFETY: signalling our own worker.
                    unsafe { libc::kill(sender, libc::SIGUSR1) };
                }
            }
            _ => {}
        }
        loop {
            let mut status = 0;
            // SAFETY: reaps any exited child without blocking.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid <= 0 {
                break;
            }
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
                    describe(status)
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
                s.pid = spawn_worker(g, table, i);
                s.started = Instant::now();
                s.restart_at = None;
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
        // SAFETY: signalling our own workers: drain and exit.
        unsafe { libc::kill(*pid, libc::SIGTERM) };
    }
    let deadline = Instant::now() + Duration::from_secs(g.cfg.graceful_timeout.max(g.cfg.shutdown_timeout) + 5);
    let mut left = pids.len();
    while left > 0 && Instant::now() < deadline {
        let mut status = 0;
        // SAFETY: non-blocking reap.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid > 0 {
            left -= 1;
        } else if pid < 0 {
            break;
        } else {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    for pid in &pids {
        // SAFETY: whatever did not exit in time is killed.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    // SAFETY: ends the supervisor without running httpd's exit handlers.
    unsafe { libc::_exit(0) }
}
