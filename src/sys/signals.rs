//! Signal sets handled synchronously (blocked, then taken with sigtimedwait): no async handlers anywhere.

use std::time::Duration;

pub use libc::{SIGCHLD, SIGHUP, SIGINT, SIGKILL, SIGTERM, SIGUSR1, SIGUSR2};

#[derive(Clone, Copy)]
pub struct SigSet(libc::sigset_t);

impl SigSet {
    pub fn new(sigs: &[i32]) -> SigSet {
        // SAFETY: sigset manipulation on a local.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for s in sigs {
                libc::sigaddset(&mut set, *s);
            }
            SigSet(set)
        }
    }

    /// Blocks these signals in the calling thread (and threads it starts afterwards).
    pub fn block(&self) {
        // SAFETY: changes this thread's signal mask only.
        unsafe { libc::sigprocmask(libc::SIG_BLOCK, &self.0, std::ptr::null_mut()) };
    }

    /// Makes exactly these signals the blocked ones.
    pub fn set_mask(&self) {
        // SAFETY: changes this thread's signal mask only.
        unsafe { libc::sigprocmask(libc::SIG_SETMASK, &self.0, std::ptr::null_mut()) };
    }

    /// Waits up to `timeout` for one of these (blocked) signals: Some((signal, sending pid)).
    pub fn wait(&self, timeout: Duration) -> Option<(i32, i32)> {
        let ts = libc::timespec {
            tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: libc::c_long::try_from(timeout.subsec_nanos()).unwrap_or(0),
        };
        // SAFETY: siginfo_t is plain data, filled by sigtimedwait.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid set, info and timeout for the call.
        let sig = unsafe { libc::sigtimedwait(&self.0, &mut info, &ts) };
        // SAFETY: si_pid is valid for the signals sent by kill()/sigqueue (the ones we handle).
        (sig > 0).then(|| (sig, unsafe { info.si_pid() }))
    }
}
