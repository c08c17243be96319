//! A framed connection over a UNIX stream socket: buffered frame reading (collecting any descriptors passed
//! with SCM_RIGHTS) and frame writing. Used by both ends, for one request after another (see `protocol`).

use std::collections::VecDeque;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use super::protocol::{self, Frame, RequestHead};
use crate::sys::fdpass::recv_with_fd;

pub struct Conn {
    pub sock: UnixStream,
    /// Receive scratch space (not zeroed again for every read).
    scratch: Box<[u8]>,
    buf: Vec<u8>,
    pos: usize,
    fds: VecDeque<OwnedFd>,
    out: Vec<u8>,
    /// Requests this connection has carried (the one in progress included).
    pub requests: u64,
    read_timeout: Option<Duration>,
}

impl Conn {
    pub fn new(sock: UnixStream) -> Conn {
        Conn {
            sock,
            scratch: vec![0u8; 65536].into_boxed_slice(),
            buf: Vec::with_capacity(65536),
            pos: 0,
            fds: VecDeque::new(),
            out: Vec::with_capacity(65536),
            requests: 0,
            read_timeout: None,
        }
    }

    /// Nothing of an exchange is left over (no unread frames, descriptors or unsent bytes): the connection can
    /// carry another request.
    pub fn is_clean(&self) -> bool {
        self.pos == self.buf.len() && self.fds.is_empty() && self.out.is_empty()
    }

    /// Sets the receive timeout (a system call only when it changes).
    pub fn set_read_timeout(&mut self, t: Duration) {
        if self.read_timeout != Some(t) {
            // Cannot fail for a non-zero duration on a connected socket.
            let _ = self.sock.set_read_timeout(Some(t));
            self.read_timeout = Some(t);
        }
    }

    /// Queues `Request(head)` stamped with `queue_start_us` (and whether its body follows unasked).
    pub fn queue_request(&mut self, head: &RequestHead, queue_start_us: i64, body_pushed: bool) -> io::Result<()> {
        protocol::encode_request(head, queue_start_us, body_pushed, &mut self.out)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
    }

    /// The next frame; an error for EOF, timeouts (WouldBlock/TimedOut) and protocol violations.
    pub fn read_frame(&mut self) -> io::Result<Frame> {
        loop {
            match protocol::decode(&self.buf[self.pos..]) {
                Ok(Some((frame, n))) => {
                    self.pos += n;
                    if self.pos == self.buf.len() {
                        self.buf.clear();
                        self.pos = 0;
                    }
                    return Ok(frame);
                }
                Ok(None) => {}
                Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
            }
            if self.pos > 0 {
                self.buf.drain(..self.pos);
                self.pos = 0;
            }
            let (n, fd) = recv_with_fd(&self.sock, &mut self.scratch)?;
            self.buf.extend_from_slice(&self.scratch[..n]);
            if let Some(fd) = fd {
                self.fds.push_back(fd);
            }
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed by the other side",
                ));
            }
        }
    }

    /// A descriptor that arrived with the frames read so far.
    pub fn take_fd(&mut self) -> Option<OwnedFd> {
        self.fds.pop_front()
    }

    /// Queues a frame (sent by `flush`).
    pub fn queue(&mut self, frame: &Frame) -> io::Result<()> {
        protocol::encode(frame, &mut self.out).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))
    }

    pub fn queued(&self) -> usize {
        self.out.len()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            let r = self.sock.write_all(&self.out);
            self.out.clear();
            r?;
        }
        Ok(())
    }

    pub fn send(&mut self, frame: &Frame) -> io::Result<()> {
        self.queue(frame)?;
        self.flush()
    }

    /// Sends `frame` with the descriptor `fd` attached (after anything queued).
    pub fn send_with_fd(&mut self, frame: &Frame, fd: i32) -> io::Result<()> {
        self.flush()?;
        let mut bytes = Vec::new();
        protocol::encode(frame, &mut bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        crate::sys::fdpass::send_with_fd(&self.sock, &bytes, fd)
    }
}

/// (pid, uid) of the process at the other end.
pub fn peer_cred(sock: &UnixStream) -> Option<(i32, u32)> {
    use std::os::fd::AsRawFd;
    crate::sys::fs::peer_credentials(sock.as_raw_fd()).map(|(pid, uid, _)| (pid, uid))
}
