//! Processes: fork, exit, wait, signals to other processes, privilege drop, and this process's own attributes
//! (name, umask, parent). The daemon manager, supervisor and workers and the start-up checks call these.

use std::ffi::{CStr, CString};

/// What `fork` returned.
pub enum Fork {
    /// In the new process.
    Child,
    /// In the caller: the child's pid.
    Parent(i32),
}

/// Forks this process. Call only from a single-threaded process (the httpd parent while it reads the
/// configuration, a supervisor) or when the child only execs or `exit_now`s.
pub fn fork() -> std::io::Result<Fork> {
    // SAFETY: fork has no memory-safety preconditions; the callers' contract above keeps the child sound.
    match unsafe { libc::fork() } {
        0 => Ok(Fork::Child),
        pid if pid > 0 => Ok(Fork::Parent(pid)),
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Ends this (forked) process at once, without running atexit handlers or httpd's cleanups.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// How a child ended, as waitpid reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitStatus(pub i32);

impl ExitStatus {
    /// The signal that ended the process (0: it exited by itself).
    pub fn signal(self) -> i32 {
        if libc::WIFSIGNALED(self.0) {
            libc::WTERMSIG(self.0)
        } else {
            0
        }
    }

    /// "was killed by signal 9 (Killed)" / "exited with status 1".
    pub fn describe(self) -> String {
        if libc::WIFSIGNALED(self.0) {
            let sig = libc::WTERMSIG(self.0);
            // SAFETY: strsignal returns a static (or thread-local) string for any number.
            let name = unsafe { CStr::from_ptr(libc::strsignal(sig)) }
                .to_string_lossy()
                .into_owned();
            format!("was killed by signal {sig} ({name})")
        } else {
            format!("exited with status {}", libc::WEXITSTATUS(self.0))
        }
    }
}

/// What a non-blocking wait for any child found.
pub enum Reaped {
    Exited(i32, ExitStatus),
    /// Children exist, none has exited.
    Running,
    NoChildren,
}

/// Reaps one exited child of this process without blocking.
pub fn reap_any() -> Reaped {
    let mut status = 0;
    // SAFETY: waitpid writes the status into our local.
    match unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } {
        0 => Reaped::Running,
        pid if pid > 0 => Reaped::Exited(pid, ExitStatus(status)),
        _ => Reaped::NoChildren,
    }
}

/// Waits for child `pid` to exit.
pub fn wait(pid: i32) -> Option<ExitStatus> {
    let mut status = 0;
    // SAFETY: waitpid writes the status into our local.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    (rc == pid).then_some(ExitStatus(status))
}

/// Sends `sig` to process `pid` (an error when it is gone or not ours is of no interest to callers).
pub fn signal(pid: i32, sig: i32) {
    if pid > 0 {
        // SAFETY: kill only sends a signal.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Whether process `pid` exists (also when it belongs to another user).
pub fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks existence.
    pid > 0
        && (unsafe { libc::kill(pid, 0) } == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM))
}

pub fn parent() -> i32 {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() }
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The kernel's name of this process (ps -o comm), at most 15 bytes.
pub fn set_name(name: &str) {
    let mut b = name.as_bytes().to_vec();
    b.truncate(15);
    b.push(0);
    // SAFETY: PR_SET_NAME copies at most 16 bytes from a NUL-terminated buffer.
    unsafe { libc::prctl(libc::PR_SET_NAME, b.as_ptr()) };
}

/// A freshly forked process: default signal dispositions (SIGPIPE ignored), nothing blocked, and death when
/// `parent` dies (exits at once if it already has).
pub fn detach_from_parent(parent_pid: i32) {
    // SAFETY: resetting signal state of this freshly forked, single-threaded process.
    unsafe {
        for sig in 1..32 {
            if sig != libc::SIGKILL && sig != libc::SIGSTOP {
                libc::signal(sig, libc::SIG_DFL);
            }
        }
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
    }
    super::signals::SigSet::new(&[]).set_mask();
    if parent() != parent_pid {
        exit_now(0);
    }
}

/// Becomes `uid`/`gid` with `user`'s supplementary groups (none when they cannot be set) plus `extra`, checking
/// every step; refuses to end up as root. Single-threaded callers only.
pub fn drop_privileges(uid: u32, gid: u32, user: &str, extra: &[u32]) -> Result<(), String> {
    // SAFETY: identity changes of this single-threaded process; each result is checked.
    unsafe {
        if libc::geteuid() == 0 {
            let name = CString::new(user).map_err(|_| "invalid user name".to_string())?;
            if libc::initgroups(name.as_ptr(), gid) != 0 && libc::setgroups(0, std::ptr::null()) != 0 {
                return Err(format!(
                    "initgroups({user}) failed: {}",
                    std::io::Error::last_os_error()
                ));
            }
            if !extra.is_empty() {
                let mut groups = vec![0 as libc::gid_t; 256];
                let n = libc::getgroups(groups.len() as i32, groups.as_mut_ptr());
                groups.truncate(usize::try_from(n).unwrap_or(0));
                for g in extra {
                    if !groups.contains(g) {
                        groups.push(*g);
                    }
                }
                if libc::setgroups(groups.len(), groups.as_ptr()) != 0 {
                    return Err(format!(
                        "setgroups (supplementary-groups {extra:?}) failed: {}",
                        std::io::Error::last_os_error()
                    ));
                }
            }
            if libc::setgid(gid) != 0 {
                return Err(format!("setgid({gid}) failed: {}", std::io::Error::last_os_error()));
            }
            if libc::setuid(uid) != 0 {
                return Err(format!("setuid({uid}) failed: {}", std::io::Error::last_os_error()));
            }
        }
        if libc::getuid() == 0 || libc::geteuid() == 0 {
            return Err(
                "still running as root after dropping privileges; refusing to run applications as root".to_string(),
            );
        }
        if libc::getuid() != uid && libc::geteuid() != uid {
            return Err(format!("running as uid {} instead of {uid}", libc::getuid()));
        }
    }
    Ok(())
}

/// Runs `f` as uid/gid in a forked helper when this process is root (otherwise here) and returns its lines.
/// The helper drops all supplementary groups first. For the single-threaded httpd parent.
pub fn run_as(uid: u32, gid: u32, f: impl FnOnce() -> Vec<String>) -> Vec<String> {
    use std::io::{Read, Write};
    use std::os::fd::FromRawFd;
    if !is_root() {
        return f();
    }
    let mut fds = [0i32; 2];
    // SAFETY: pipe writes two descriptors into fds.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return vec![format!(
            "cannot run the check as uid {uid}: pipe failed: {}",
            std::io::Error::last_os_error()
        )];
    }
    // SAFETY: both descriptors were just created and are owned by these files from here on.
    let (mut input, output) = unsafe { (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) };
    match fork() {
        Ok(Fork::Child) => {
            drop(input);
            // SAFETY: identity changes in the single-threaded helper; results checked.
            let ok = unsafe {
                libc::setgroups(0, std::ptr::null()) == 0 && libc::setgid(gid) == 0 && libc::setuid(uid) == 0
            };
            let lines = if ok {
                f()
            } else {
                vec![format!("cannot switch to uid {uid} to check access")]
            };
            let mut out = output;
            // The parent reads what arrives; a failed write shows as missing lines there.
            let _ignored = out.write_all(lines.join("\0").as_bytes());
            drop(out);
            exit_now(0);
        }
        Ok(Fork::Parent(pid)) => {
            drop(output);
            let mut text = String::new();
            let _ignored = input.read_to_string(&mut text);
            wait(pid);
            text.split('\0').filter(|l| !l.is_empty()).map(str::to_string).collect()
        }
        Err(e) => vec![format!("cannot run the check as uid {uid}: fork failed: {e}")],
    }
}

/// Sets the file mode creation mask (the previous mask is of no interest).
pub fn set_umask(mask: u32) {
    // SAFETY: umask cannot fail; it only replaces this process's mask.
    unsafe { libc::umask(mask as libc::mode_t) };
}

/// The memory page size.
pub fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
}

/// Sets environment variables of this process. Only before it starts any thread (daemon processes set
/// env=/lang=/locale= right after fork).
pub fn set_environment(vars: &[(&str, String)]) {
    for (k, v) in vars {
        // SAFETY: the caller's contract: no other thread exists yet that could read the environment.
        unsafe { std::env::set_var(k, v) };
    }
}

/// chroot(root) and chdir("/") (WSGIDaemonProcess chroot=): must run as root, before privileges are dropped.
pub fn change_root(root: &str) -> Result<(), String> {
    let c = CString::new(root).map_err(|_| format!("invalid chroot directory {root:?}"))?;
    // SAFETY: chroot and chdir take valid C paths; results are checked.
    unsafe {
        if libc::chroot(c.as_ptr()) != 0 {
            return Err(format!("chroot({root}) failed: {}", std::io::Error::last_os_error()));
        }
        if libc::chdir(c"/".as_ptr()) != 0 {
            return Err(format!(
                "chdir(/) inside the chroot {root} failed: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(())
}

/// Per-process resource limits (soft = hard).
pub enum Limit {
    /// Seconds of CPU time.
    Cpu,
    /// Bytes of address space.
    AddressSpace,
}

pub fn set_limit(which: Limit, value: u64) -> Result<(), String> {
    let (resource, name) = match which {
        Limit::Cpu => (libc::RLIMIT_CPU, "RLIMIT_CPU"),
        Limit::AddressSpace => (libc::RLIMIT_AS, "RLIMIT_AS"),
    };
    let lim = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: setrlimit reads one rlimit struct.
    if unsafe { libc::setrlimit(resource, &lim) } != 0 {
        return Err(format!("{name}={value}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Sets this process's nice value.
pub fn set_priority(nice: i32) -> Result<(), String> {
    // SAFETY: setpriority on this process only.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0 {
        return Err(format!("setpriority({nice}): {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// CPU time this thread has used: (user, system) seconds (getrusage RUSAGE_THREAD).
pub fn thread_cpu() -> (f64, f64) {
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) } != 0 {
        return (0.0, 0.0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(u.ru_utime), secs(u.ru_stime))
}

/// A one-way signal from a child process to its parent ("I am ready"): the parent keeps `Ready`, the child
/// gets the descriptor to pass to [`signal_ready`]. Both ends close on exec.
pub struct Ready {
    read: std::os::fd::OwnedFd,
}

/// Makes the pipe of a readiness signal: (the parent's end, the child's end).
pub fn ready_pipe() -> std::io::Result<(Ready, std::os::fd::OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills both descriptors on success; they are owned from here on.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fresh descriptors from pipe2, not owned elsewhere.
    let (r, w) = unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    Ok((Ready { read: r }, w))
}

impl Ready {
    /// Whether the child signalled readiness (never blocks).
    pub fn signalled(&self) -> bool {
        use std::os::fd::AsRawFd;
        let mut b = [0u8; 1];
        // SAFETY: reads at most one byte into a local buffer from a descriptor we own.
        unsafe { libc::read(self.read.as_raw_fd(), b.as_mut_ptr().cast(), 1) == 1 }
    }
}

/// The child side: tells the parent it is ready (the descriptor is consumed).
pub fn signal_ready(fd: std::os::fd::OwnedFd) {
    use std::os::fd::AsRawFd;
    // SAFETY: writes one byte from a static buffer to a descriptor we own; failure only means the parent is gone.
    let _ = unsafe { libc::write(fd.as_raw_fd(), b"R".as_ptr().cast(), 1) };
}
