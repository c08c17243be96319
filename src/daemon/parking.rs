//! A daemon process's idle connections: the listener and the connections httpd children keep open between
//! requests ("parked"), all in one epoll set that every serving thread waits on. A parked connection holds no
//! thread; one that becomes readable is handed to exactly one thread. A process that will not serve them any more
//! says Goodbye on each.

use std::collections::HashMap;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::conn::Conn;
use super::transport::goodbye;
use super::worker::{State, gil_stuck};
use crate::sys::epoll::Poller;

/// The token of the listening socket in the process's poller; parked connections have 1, 2, ...
pub(super) const LISTENER: u64 = 0;

/// The connections of a process that no thread serves right now: the listener and the connections httpd
/// children keep open between requests ("parked": watched by the poller, holding no thread). Every serving
/// thread waits on the one poller; a parked connection that becomes readable is handed to exactly one of them.
pub(super) struct Connections {
    pub(super) poller: Poller,
    parked: Mutex<HashMap<u64, Parked>>,
    next_token: AtomicU64,
}

pub(super) struct Parked {
    pub(super) conn: Conn,
    pub(super) token: u64,
}

impl Connections {
    pub(super) fn new(listener: &UnixListener) -> std::io::Result<Connections> {
        let poller = Poller::new()?;
        poller.add_listener(listener.as_raw_fd(), LISTENER)?;
        Ok(Connections {
            poller,
            parked: Mutex::new(HashMap::new()),
            next_token: AtomicU64::new(LISTENER + 1),
        })
    }

    fn parked(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Parked>> {
        self.parked.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `conn` for the httpd child's next request (token 0: never parked before). A process that stops
    /// meanwhile says Goodbye instead (checked after parking, so that a concurrent `close_all` cannot miss it).
    pub(super) fn park(&self, conn: Conn, token: u64, state: &State) {
        let (token, first) = if token == 0 {
            (self.next_token.fetch_add(1, Ordering::Relaxed), true)
        } else {
            (token, false)
        };
        let fd = conn.sock.as_raw_fd();
        self.parked().insert(token, Parked { conn, token });
        if self.poller.arm_once(fd, token, first).is_err() {
            if let Some(p) = self.parked().remove(&token) {
                goodbye(p.conn);
            }
        }
        if state.stopping.load(Ordering::SeqCst) || declining(state) {
            self.close_all();
        }
    }

    pub(super) fn take(&self, token: u64) -> Option<Parked> {
        self.parked().remove(&token)
    }

    /// Says Goodbye on every parked connection (the process stops, restarts or cannot serve): their next requests
    /// go to the group's other processes.
    pub(super) fn close_all(&self) {
        let all: Vec<Parked> = self.parked().drain().map(|(_, p)| p).collect();
        for p in all {
            goodbye(p.conn);
        }
    }
}

/// This process takes no new work: it restarts for changed code, or its GIL is stuck.
pub(super) fn declining(state: &State) -> bool {
    state.restarting.load(Ordering::SeqCst) || gil_stuck(state)
}
