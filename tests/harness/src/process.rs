//! Processes, from /proc: which exist, which belong to a server, how to signal them and wait for them. A test
//! only ever signals processes it started itself (by PID).

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

/// How often the waiting helpers look again.
const POLL: Duration = Duration::from_millis(50);

/// Calls `f` until it is true or `timeout` has passed; whether it became true (checked once more at the end).
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(POLL);
    }
    f()
}

/// The (pid, parent pid) of every process, from /proc/PID/stat.
fn process_table() -> Vec<(i32, i32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_str()?.parse::<i32>().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name in parentheses may contain spaces: the fields start after the last ')'.
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse::<i32>()
                .ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// Direct children of a process.
pub fn children_of(pid: i32) -> Vec<i32> {
    process_table()
        .into_iter()
        .filter(|(_, ppid)| *ppid == pid)
        .map(|(p, _)| p)
        .collect()
}

/// Every process below `pid` (children, their children, ...): httpd's workers and the daemon processes.
pub fn descendants_of(pid: i32) -> Vec<i32> {
    let table = process_table();
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for (child, _) in table.iter().filter(|(_, ppid)| *ppid == p) {
            if !out.contains(child) {
                out.push(*child);
                todo.push(*child);
            }
        }
    }
    out
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

/// /proc/PID/cmdline with the NULs as spaces (what ps shows).
pub fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ").trim().to_string()
}

pub fn signal(pid: i32, sig: i32) {
    // SAFETY: kill has no memory-safety preconditions; callers pass PIDs of processes their test started.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Waits up to 20 s for a server just started as `child` to be `ready`. Panics with `logs()` when `child`
/// exits first or the time runs out.
pub fn wait_for_start(what: &str, child: &mut Child, mut ready: impl FnMut() -> bool, logs: impl Fn() -> String) {
    let mut exit = None;
    let up = wait_until(Duration::from_secs(20), || {
        exit = child.try_wait().ok().flatten();
        exit.is_some() || ready()
    });
    if let Some(status) = exit {
        panic!("{what} exited during start-up ({status}):\n{}", logs());
    }
    assert!(up, "{what} did not answer within 20 s:\n{}", logs());
}

/// An httpd started directly (apachectl or a hand-written config), stopped by the PID in its PID file on drop.
pub struct PidGuard(pub PathBuf);

impl Drop for PidGuard {
    fn drop(&mut self) {
        let pid = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        if let Some(pid) = pid {
            stop_pid(pid);
        }
    }
}

/// SIGTERM to a process that is alive, then up to 15 s for it to go.
pub fn stop_pid(pid: i32) {
    if alive(pid) {
        signal(pid, libc::SIGTERM);
        wait_until(Duration::from_secs(15), || !alive(pid));
    }
}
