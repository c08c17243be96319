//! The daemon side of a request: the WSGI `Transport` over the socket to the httpd child. Response frames are
//! queued and written in batches (at a flush, at 256 KiB, at the end); body bytes are pulled with `Read`. When
//! the exchange ends cleanly the connection goes back to the serving thread through a `Handoff`, to be parked
//! for the httpd child's next request.

use std::sync::{Arc, Mutex};

use super::conn::Conn;
use super::protocol::{Frame, MAX_FRAME};
use crate::apache::log::{self, Level};
use crate::wsgi::headers::Status;
use crate::wsgi::transport::{IoError, Transport};

/// Where a transport leaves its connection after a clean exchange (`End` or `Error` sent). A connection nobody
/// claims is told `Goodbye` before it closes, so that an httpd child that pooled it never mistakes the close
/// for a crash.
#[derive(Default)]
pub struct Handoff(Mutex<Option<Conn>>);

impl Handoff {
    pub fn take(&self) -> Option<Conn> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    pub fn put(&self, conn: Conn) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(conn);
    }
}

impl Drop for Handoff {
    fn drop(&mut self) {
        if let Some(conn) = self.take() {
            goodbye(conn);
        }
    }
}

/// Closes a connection the httpd child may have pooled, telling it first that nothing more is read from it.
pub fn goodbye(mut conn: Conn) {
    let _child_may_be_gone = conn.send(&Frame::Goodbye);
}

pub struct DaemonTransport {
    /// Present until the transport is dropped (then handed back or closed).
    conn: Option<Conn>,
    /// The body frames the httpd child sent with the request (a small body), answered before asking it.
    pushed: std::collections::VecDeque<Frame>,
    back: Arc<Handoff>,
    /// `End` or `Error` went out: the connection can carry another request.
    clean: bool,
    header_only: bool,
    close: bool,
    started: bool,
    ended: bool,
    /// "[client 1.2.3.4:5678] " for log lines.
    tag: String,
}

impl DaemonTransport {
    pub fn new(
        conn: Conn,
        pushed: std::collections::VecDeque<Frame>,
        back: Arc<Handoff>,
        header_only: bool,
        tag: String,
    ) -> DaemonTransport {
        DaemonTransport {
            conn: Some(conn),
            pushed,
            back,
            clean: false,
            header_only,
            close: false,
            started: false,
            ended: false,
            tag,
        }
    }

    fn gone(e: std::io::Error) -> IoError {
        IoError::ClientGone(format!("the httpd child closed the connection: {e}"))
    }

    fn conn(&mut self) -> Result<&mut Conn, IoError> {
        self.conn
            .as_mut()
            .ok_or_else(|| IoError::ClientGone("the connection to the httpd child is closed".to_string()))
    }

    /// Sends the last frame of an exchange; `clean`: the connection may carry another request afterwards.
    fn send_last(&mut self, frame: &Frame, clean: bool) -> Result<(), IoError> {
        self.ended = true;
        self.conn()?.send(frame).map_err(Self::gone)?;
        self.clean = clean;
        Ok(())
    }
}

impl DaemonTransport {
    /// Asks the httpd child for up to `max` body bytes (empty: the end of the body).
    fn pull_body(&mut self, max: usize) -> Result<Vec<u8>, IoError> {
        let frame = match self.pushed.pop_front() {
            Some(f) => f,
            None => {
                let want = u32::try_from(max.min(MAX_FRAME - 16)).unwrap_or(65536);
                let conn = self.conn()?;
                conn.send(&Frame::Read(want)).map_err(Self::gone)?;
                conn.read_frame().map_err(Self::gone)?
            }
        };
        match frame {
            // A pushed frame is at most the whole small body: larger reads than `max` cannot occur.
            Frame::Body(b) => Ok(b),
            Frame::BodyError { status, message } => Err(IoError::Rejected(
                if status == 0 {
                    crate::apache::Status::FILTER_ERROR.code()
                } else {
                    i32::from(status)
                },
                String::from_utf8_lossy(&message).into_owned(),
            )),
            other => Err(IoError::ClientGone(format!(
                "protocol error: expected request body, got {other:?}"
            ))),
        }
    }
}

impl Drop for DaemonTransport {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.clean && conn.is_clean() {
                self.back.put(conn);
            }
        }
    }
}

impl Transport for DaemonTransport {
    fn start(&mut self, status: &Status, headers: &[(Vec<u8>, Vec<u8>)], content_length: Option<u64>) {
        let mut headers = headers.to_vec();
        if self.close {
            headers.push((b"Connection".to_vec(), b"close".to_vec()));
        }
        let frame = Frame::Start {
            status: status.code,
            line: status.line.clone(),
            headers,
            content_length,
        };
        if let Err(e) = self.conn().and_then(|c| c.queue(&frame).map_err(Self::gone)) {
            self.log(
                Level::Error,
                &format!("mod_rwsgi: response headers too large for the daemon protocol: {e}"),
            );
        }
        self.started = true;
    }

    fn write(&mut self, data: &[u8], flush: bool) -> Result<(), IoError> {
        let chunks: Vec<&[u8]> = data.chunks(MAX_FRAME - 16).collect();
        let n = chunks.len();
        for (i, chunk) in chunks.into_iter().enumerate() {
            let frame = Frame::Data {
                flush: flush && i + 1 == n,
                bytes: chunk.to_vec(),
            };
            let conn = self.conn()?;
            conn.queue(&frame).map_err(Self::gone)?;
            if conn.queued() >= 256 * 1024 {
                conn.flush().map_err(Self::gone)?;
            }
        }
        if n == 0 && flush {
            self.conn()?
                .queue(&Frame::Data {
                    flush: true,
                    bytes: Vec::new(),
                })
                .map_err(Self::gone)?;
        }
        if flush {
            self.conn()?.flush().map_err(Self::gone)?;
        }
        Ok(())
    }

    fn send_file(&mut self, fd: i32, offset: i64, len: i64) -> Result<(), IoError> {
        let frame = Frame::File {
            offset: u64::try_from(offset).unwrap_or(0),
            len: u64::try_from(len).unwrap_or(0),
        };
        self.conn()?.send_with_fd(&frame, fd).map_err(Self::gone)
    }

    fn write_final(&mut self, parts: &[&[u8]]) -> Result<(), IoError> {
        for p in parts.iter().filter(|p| !p.is_empty()) {
            self.write(p, false)?;
        }
        self.finish()
    }

    fn finish(&mut self) -> Result<(), IoError> {
        self.send_last(&Frame::End, true)
    }

    fn abort(&mut self) {
        let _client_may_be_gone = self.send_last(&Frame::Abort, false);
    }

    fn read_body(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, IoError> {
        let b = self.pull_body(max)?;
        out.extend_from_slice(&b);
        Ok(b.len())
    }

    fn read_into(&mut self, buf: &mut [std::mem::MaybeUninit<u8>]) -> Result<usize, IoError> {
        let b = self.pull_body(buf.len())?;
        let n = b.len().min(buf.len());
        for (d, s) in buf.iter_mut().zip(&b[..n]) {
            d.write(*s);
        }
        Ok(n)
    }

    fn header_only(&self) -> bool {
        self.header_only
    }

    fn close_connection(&mut self) {
        self.close = true;
    }

    fn respond_error(&mut self, status: i32) {
        if !self.started && !self.ended {
            // Statuses below 100 (httpd's "the filter already answered") travel as 0.
            let status = u16::try_from(status).ok().filter(|s| *s >= 100).unwrap_or(0);
            let _child_may_be_gone = self.send_last(&Frame::Error { status }, true);
        }
    }

    fn restart(&mut self) {
        if !self.started && !self.ended {
            let _child_may_be_gone = self.send_last(&Frame::Restart, false);
        }
    }

    fn log(&self, level: Level, msg: &str) {
        log::server(level, &format!("{}{msg}", self.tag));
    }
}
