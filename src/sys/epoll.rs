//! Waiting for sockets: a daemon process's listening socket and the connections parked between requests, and
//! a peek that tells whether an idle connection is still usable.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// One epoll instance shared by the threads of a process: a listening socket (EPOLLEXCLUSIVE: across processes a
/// new connection wakes one of them) and parked connections (EPOLLONESHOT: a readable one is handed to exactly
/// one thread, and re-armed when it is parked again). Tokens name what became ready.
pub struct Poller {
    ep: OwnedFd,
}

impl Poller {
    pub fn new() -> std::io::Result<Poller> {
        // SAFETY: creates a new epoll descriptor, owned below.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: ep was just created and nothing else owns it.
        let ep = unsafe { OwnedFd::from_raw_fd(ep) };
        Ok(Poller { ep })
    }

    fn ctl(&self, op: i32, fd: RawFd, events: i32, token: u64) -> std::io::Result<()> {
        let mut ev = libc::epoll_event {
            events: events as u32,
            u64: token,
        };
        // SAFETY: (de)registers fd with our epoll instance; ev is read during the call only.
        if unsafe { libc::epoll_ctl(self.ep.as_raw_fd(), op, fd, &mut ev) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// Watches a listening socket (level-triggered, exclusive wake-up across processes).
    pub fn add_listener(&self, fd: RawFd, token: u64) -> std::io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, libc::EPOLLIN | libc::EPOLLEXCLUSIVE, token)
    }

    /// Hands `fd` to one waiter the next time it is readable or closed by its peer. `first`: not registered yet.
    pub fn arm_once(&self, fd: RawFd, token: u64, first: bool) -> std::io::Result<()> {
        let op = if first {
            libc::EPOLL_CTL_ADD
        } else {
            libc::EPOLL_CTL_MOD
        };
        self.ctl(op, fd, libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLONESHOT, token)
    }

    /// Waits up to `timeout_ms`; the token of what became ready.
    pub fn wait(&self, timeout_ms: i32) -> Option<u64> {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: waits on our epoll instance for one event.
        let n = unsafe { libc::epoll_wait(self.ep.as_raw_fd(), &mut ev, 1, timeout_ms) };
        (n > 0).then_some(ev.u64)
    }
}

/// True when nothing is waiting to be read on a connected socket and its peer has not closed it: an idle
/// pooled connection that can carry a request.
pub fn quiet(fd: RawFd) -> bool {
    let mut byte = 0u8;
    // SAFETY: peeks at most one byte into a local.
    let n = unsafe { libc::recv(fd, (&raw mut byte).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
    n < 0 && matches!(std::io::Error::last_os_error().raw_os_error(), Some(libc::EAGAIN))
}
