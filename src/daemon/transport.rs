//! The daemon side of a request: the WSGI `Transport` over the socket to the httpd child. Response frames are
//! queued and written in batches (at a flush, at 256 KiB, at the end); body bytes are pulled with `Read`.

use super::conn::Conn;
use super::protocol::{Frame, MAX_FRAME};
use crate::apache::log::{self, Level};
use crate::wsgi::headers::Status;
use crate::wsgi::transport::{IoError, Transport};

pub struct DaemonTransport {
    conn: Conn,
    header_only: bool,
    close: bool,
    started: bool,
    ended: bool,
    /// "[client 1.2.3.4:5678] " for log lines.
    tag: String,
}

impl DaemonTransport {
    pub fn new(conn: Conn, header_only: bool, tag: String) -> DaemonTransport {
        DaemonTransport {
            conn,
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
        if let Err(e) = self.conn.queue(&frame) {
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
            self.conn.queue(&frame).map_err(Self::gone)?;
            if self.conn.queued() >= 256 * 1024 {
                self.conn.flush().map_err(Self::gone)?;
            }
        }
        if n == 0 && flush {
            self.conn
                .queue(&Frame::Data {
                    flush: true,
                    bytes: Vec::new(),
                })
                .map_err(Self::gone)?;
        }
        if flush {
            self.conn.flush().map_err(Self::gone)?;
        }
        Ok(())
    }

    fn send_file(&mut self, fd: i32, offset: i64, len: i64) -> Result<(), IoError> {
        let frame = Frame::File {
            offset: u64::try_from(offset).unwrap_or(0),
            len: u64::try_from(len).unwrap_or(0),
        };
        self.conn.send_with_fd(&frame, fd).map_err(Self::gone)
    }

    fn write_final(&mut self, parts: &[&[u8]]) -> Result<(), IoError> {
        for p in parts.iter().filter(|p| !p.is_empty()) {
            self.write(p, false)?;
        }
        self.finish()
    }

    fn finish(&mut self) -> Result<(), IoError> {
        self.ended = true;
        self.conn.send(&Frame::End).map_err(Self::gone)
    }

    fn abort(&mut self) {
        self.ended = true;
        let _client_may_be_gone = self.conn.send(&Frame::Abort);
    }

    fn read_body(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, IoError> {
        let want = u32::try_from(max.min(MAX_FRAME - 16)).unwrap_or(65536);
        self.conn.send(&Frame::Read(want)).map_err(Self::gone)?;
        match self.conn.read_frame().map_err(Self::gone)? {
            Frame::Body(b) => {
                out.extend_from_slice(&b);
                Ok(b.len())
            }
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
            self.ended = true;
            let _child_may_be_gone = self.conn.send(&Frame::Error { status });
        }
    }

    fn restart(&mut self) {
        if !self.started && !self.ended {
            self.ended = true;
            let _child_may_be_gone = self.conn.send(&Frame::Restart);
        }
    }

    fn log(&self, level: Level, msg: &str) {
        log::server(level, &format!("{}{msg}", self.tag));
    }
}
