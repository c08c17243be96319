//! Waiting for a listening socket to become readable: an epoll instance per waiting thread with
//! EPOLLEXCLUSIVE (a new connection wakes one waiter, not every thread of every process), poll() where epoll
//! cannot be used.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub enum Readiness {
    Epoll(OwnedFd),
    Poll(RawFd),
}

impl Readiness {
    /// A waiter for `fd` (which must stay open while the waiter is used).
    pub fn new(fd: RawFd) -> Readiness {
        // SAFETY: creates a new epoll descriptor, owned below.
        let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if ep < 0 {
            return Readiness::Poll(fd);
        }
        // SAFETY: ep was just created and nothing else owns it.
        let ep = unsafe { OwnedFd::from_raw_fd(ep) };
        let mut ev = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLEXCLUSIVE) as u32,
            u64: 0,
        };
        // SAFETY: registers fd with our epoll instance.
        if unsafe { libc::epoll_ctl(ep.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut ev) } != 0 {
            return Readiness::Poll(fd);
        }
        Readiness::Epoll(ep)
    }

    /// Waits up to `timeout_ms` for the descriptor to be readable.
    pub fn wait(&self, timeout_ms: i32) -> bool {
        let n = match self {
            Readiness::Epoll(ep) => {
                let mut ev = libc::epoll_event { events: 0, u64: 0 };
                // SAFETY: waits on our epoll instance for one event.
                unsafe { libc::epoll_wait(ep.as_raw_fd(), &mut ev, 1, timeout_ms) }
            }
            Readiness::Poll(fd) => {
                let mut pfd = libc::pollfd {
                    fd: *fd,
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: polls one descriptor.
                unsafe { libc::poll(&mut pfd, 1, timeout_ms) }
            }
        };
        n > 0
    }
}
