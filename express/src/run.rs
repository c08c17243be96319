//! Running httpd: the up-front checks (port free, `httpd -t`), and the foreground run. Without a terminal
//! rwsgi-express execs httpd so httpd is the process a container supervisor sees; on a terminal (or with
//! --supervise / --reload-on-changes) it stays the parent, forwards signals and never leaves httpd behind.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::reload::Watcher;

/// Fail early, with one line, when httpd could not bind a port.
pub fn check_port_free(host: Option<&str>, port: u16) -> Result<()> {
    let addrs: Vec<SocketAddr> = match host.filter(|h| !h.is_empty() && *h != "*") {
        Some(h) => {
            let bare = h.trim_start_matches('[').trim_end_matches(']');
            (bare, port)
                .to_socket_addrs()
                .map_err(|e| Error::usage(format!("--host {h}: cannot resolve it: {e}")))?
                .collect()
        }
        None => vec![
            SocketAddr::from(([0, 0, 0, 0], port)),
            SocketAddr::from(([0u16; 8], port)),
        ],
    };
    let wildcard = host.is_none();
    for addr in addrs {
        if let Err(e) = TcpListener::bind(addr) {
            let shown = host.map_or_else(|| format!("port {port}"), |h| format!("{h}:{port}"));
            return Err(match e.kind() {
                std::io::ErrorKind::AddrInUse => Error::failed(format!(
                    "{shown} is already in use (is another server running?): choose another with --port / --https-port"
                )),
                std::io::ErrorKind::PermissionDenied => {
                    Error::failed(format!("not allowed to listen on {shown}: ports below 1024 need root"))
                }
                // The IPv6 wildcard is only a courtesy check: hosts without IPv6 cannot bind it at all.
                _ if wildcard && addr.is_ipv6() => continue,
                _ => Error::failed(format!("cannot listen on {shown}: {e}")),
            });
        }
    }
    Ok(())
}

/// How to invoke httpd for one server root.
#[derive(Debug, Clone, Copy)]
pub struct Httpd<'a> {
    pub binary: &'a Path,
    pub conf: &'a Path,
    pub env: &'a [(String, String)],
    /// `httpd -E FILE`: where start-up errors go (--startup-log).
    pub startup_log: Option<&'a Path>,
    /// A shell script sourced first (--envvars-script); httpd then replaces the shell, keeping its PID.
    pub source: Option<&'a Path>,
    /// argv[0] of httpd (--process-name); not applied through the shell of --envvars-script.
    pub arg0: Option<&'a str>,
}

impl Httpd<'_> {
    /// A Command for httpd with `args`, run through `/bin/sh` when a script must be sourced first.
    fn command(&self, args: &[&std::ffi::OsStr]) -> Command {
        let mut cmd = match self.source {
            Some(script) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c").arg(". \"$0\" && exec \"$@\"").arg(script).arg(self.binary);
                c
            }
            None => {
                let mut c = Command::new(self.binary);
                if let Some(name) = self.arg0 {
                    c.arg0(name);
                }
                c
            }
        };
        cmd.args(args).envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }
}

/// `httpd -t -f CONF`: show httpd's own complaint when the generated config is bad.
pub fn config_test(h: &Httpd) -> Result<()> {
    let (httpd, conf) = (h.binary, h.conf);
    let out = h
        .command(&["-t".as_ref(), "-f".as_ref(), conf.as_os_str()])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::failed(format!("cannot run {}: {e}", httpd.display())))?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if text.is_empty() {
        text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    Err(Error::failed(format!(
        "httpd rejected the configuration {}:\n{text}",
        conf.display()
    )))
}

fn httpd_command(h: &Httpd) -> Command {
    let mut cmd = h.command(&["-f".as_ref(), h.conf.as_os_str(), "-DFOREGROUND".as_ref()]);
    if let Some(log) = h.startup_log {
        cmd.arg("-E").arg(log);
    }
    cmd
}

/// Replace this process with httpd (returns only on failure).
pub fn exec_httpd(h: &Httpd) -> Error {
    let err = httpd_command(h).exec();
    Error::failed(format!("cannot run {}: {err}", h.binary.display()))
}

const FORWARDED: [libc::c_int; 5] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGUSR1, libc::SIGCHLD];

fn signal_set() -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the zeroed set; sigaddset only adds valid signal numbers.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in FORWARDED {
            libc::sigaddset(&mut set, sig);
        }
        set
    }
}

/// Run httpd as our child until it exits; returns the exit code to pass on.
pub fn supervise_httpd(h: &Httpd, mut watcher: Option<Watcher>) -> Result<i32> {
    let set = signal_set();
    // SAFETY: blocking signals in this (single-threaded) process so they queue for sigtimedwait below instead of
    // killing us; `set` is a valid initialised sigset.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(Error::failed(format!(
            "cannot block signals: {}",
            std::io::Error::from_raw_os_error(rc)
        )));
    }
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let mut cmd = httpd_command(h);
    // SAFETY: the closure runs in the forked child before exec and only makes async-signal-safe calls
    // (sigprocmask, prctl, getppid, kill).
    unsafe {
        cmd.pre_exec(move || {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            // If rwsgi-express dies (even by SIGKILL), httpd is told to stop instead of lingering.
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0);
            if libc::getppid() != parent {
                libc::kill(libc::getpid(), libc::SIGTERM);
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| Error::failed(format!("cannot run {}: {e}", h.binary.display())))?;
    let pid = libc::pid_t::try_from(child.id()).map_err(|_| Error::failed("child pid out of range"))?;

    let mut stopping = false;
    let mut last_poll = Instant::now();
    loop {
        let timeout = libc::timespec {
            tv_sec: 0,
            tv_nsec: 250_000_000,
        };
        // SAFETY: zeroed siginfo_t is a valid out-parameter.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: set, info and timeout are valid for the call.
        let sig = unsafe { libc::sigtimedwait(&set, &mut info, &timeout) };
        match sig {
            libc::SIGINT | libc::SIGTERM => {
                stopping = true;
                send(pid, libc::SIGTERM);
            }
            libc::SIGHUP | libc::SIGUSR1 => send(pid, sig),
            _ => {}
        }
        if let Some(code) = reap(pid)? {
            return Ok(if stopping && code == 128 + libc::SIGTERM {
                0
            } else {
                code
            });
        }
        if let Some(w) = watcher.as_mut()
            && !stopping
            && last_poll.elapsed() >= Duration::from_secs(1)
        {
            last_poll = Instant::now();
            if let Some(path) = w.changed() {
                println!("rwsgi-express: {} changed, restarting httpd gracefully", path.display());
                send(pid, libc::SIGUSR1);
            }
        }
    }
}

fn send(pid: libc::pid_t, sig: libc::c_int) {
    // SAFETY: kill has no memory-safety preconditions; pid is our own child, not yet reaped.
    let rc = unsafe { libc::kill(pid, sig) };
    if rc != 0 {
        eprintln!(
            "rwsgi-express: warning: cannot signal httpd (pid {pid}): {}",
            std::io::Error::last_os_error()
        );
    }
}

/// Exit code of our httpd child if it has exited.
fn reap(pid: libc::pid_t) -> Result<Option<i32>> {
    let mut status = 0;
    // SAFETY: pid is our child; status is a valid out-pointer.
    let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if rc == 0 {
        return Ok(None);
    }
    if rc < 0 {
        let err = std::io::Error::last_os_error();
        if err.kind() == std::io::ErrorKind::Interrupted {
            return Ok(None);
        }
        return Err(Error::failed(format!("waitpid failed: {err}")));
    }
    let status = std::process::ExitStatus::from_raw(status);
    Ok(Some(match (status.code(), status.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        (None, None) => 1,
    }))
}

/// Whether stdin is a terminal (an interactive run that should supervise rather than exec).
pub fn on_terminal() -> bool {
    // SAFETY: isatty only inspects the descriptor.
    unsafe { libc::isatty(libc::STDIN_FILENO) == 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_in_use_is_one_clear_line() {
        let busy = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = busy.local_addr().expect("addr").port();
        let e = check_port_free(Some("127.0.0.1"), port).expect_err("in use");
        assert!(
            e.to_string().contains("already in use") && !e.to_string().contains('\n'),
            "{e}"
        );
        drop(busy);
        check_port_free(Some("127.0.0.1"), port).expect("free again");
    }
}
