//! Per-request response and input state shared by start_response, write and wsgi.input, on top of a
//! `Transport`.

use crate::apache::log::Level;

use super::headers::{self, Status};
use super::transport::{IoError, Transport};

#[derive(Default)]
pub struct Response {
    pub status: Option<Status>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub headers_sent: bool,
    pub content_length: Option<u64>,
    pub sent: u64,
    pub client_gone: bool,
    /// The end of the response was sent (write_final).
    pub finished: bool,
}

#[derive(Default)]
pub struct Input {
    pub buf: Vec<u8>,
    pub pos: usize,
    pub eof: bool,
    /// The status httpd answered the body with when it refused it (413, 400): used if the app then fails.
    pub rejected: Option<i32>,
}

/// What the request did, for mod_wsgi's request_finished event and metrics.
#[derive(Default, Clone, Copy, Debug)]
pub struct Stats {
    pub input_reads: u64,
    pub input_length: u64,
    pub input_time: std::time::Duration,
    pub output_writes: u64,
    /// Bytes the application produced (before a Content-Length cut).
    pub output_length: u64,
    pub output_time: std::time::Duration,
}

pub struct ReqState {
    pub transport: Box<dyn Transport>,
    pub resp: Response,
    pub input: Input,
    pub stats: Stats,
}

/// Why response output failed.
pub enum OutputError {
    /// The app broke the protocol (the message says how): a 500 if nothing was sent yet.
    App(String),
    /// The client is gone.
    Client(String),
}

impl ReqState {
    pub fn new(transport: Box<dyn Transport>) -> ReqState {
        ReqState {
            transport,
            resp: Response::default(),
            input: Input::default(),
            stats: Stats::default(),
        }
    }

    pub fn log(&self, level: Level, msg: &str) {
        for line in msg.trim_end().lines() {
            self.transport.log(level, line);
        }
    }

    /// Hands status and headers to the transport (sent with the first body data).
    pub fn apply_headers(&mut self) -> Result<(), OutputError> {
        if self.resp.headers_sent {
            return Ok(());
        }
        let Some(status) = self.resp.status.clone() else {
            return Err(OutputError::App(
                "the application produced output before calling start_response()".to_string(),
            ));
        };
        // Moved, not copied: nothing reads them once they are sent.
        let all = std::mem::take(&mut self.resp.headers);
        let mut kept = Vec::with_capacity(all.len());
        let mut content_length = None;
        for (name, value) in all {
            if name.eq_ignore_ascii_case(b"content-length") {
                content_length = Some(headers::parse_content_length(&value).map_err(OutputError::App)?);
            } else if headers::is_hop_by_hop(&name) {
                if name.eq_ignore_ascii_case(b"connection") && value.eq_ignore_ascii_case(b"close") {
                    self.transport.close_connection();
                } else {
                    self.transport.log(
                        Level::Warning,
                        &format!(
                            "mod_rwsgi: dropped hop-by-hop response header {:?} set by the application (the server frames the response)",
                            String::from_utf8_lossy(&name)
                        ),
                    );
                }
            } else {
                kept.push((name, value));
            }
        }
        self.resp.content_length = content_length;
        // A repeated header goes out as one line, as httpd takes the response of mod_wsgi's daemon mode (both
        // modes send the same bytes).
        let kept = headers::merge_repeated(kept);
        self.transport.start(&status, &kept, content_length);
        self.resp.headers_sent = true;
        Ok(())
    }

    /// Whether `n` more body bytes reach the Content-Length the application declared (start_response called,
    /// nothing sent past it yet).
    pub fn completes_declared_length(&self, n: usize) -> bool {
        if self.resp.finished || self.resp.status.is_none() {
            return false;
        }
        let declared = if self.resp.headers_sent {
            self.resp.content_length
        } else {
            self.resp
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(b"content-length"))
                .and_then(|(_, v)| headers::parse_content_length(v).ok())
        };
        declared.is_some_and(|cl| self.resp.sent + n as u64 >= cl)
    }

    /// Sends body data (headers first if needed), never more than a declared Content-Length. Blocks.
    pub fn write(&mut self, data: &[u8], flush: bool) -> Result<(), OutputError> {
        self.apply_headers()?;
        if self.resp.client_gone {
            return Err(OutputError::Client("the client closed the connection".to_string()));
        }
        let n = match self.resp.content_length {
            Some(cl) => data
                .len()
                .min(usize::try_from(cl.saturating_sub(self.resp.sent)).unwrap_or(usize::MAX)),
            None => data.len(),
        };
        let t = std::time::Instant::now();
        let result = self.transport.write(&data[..n], flush);
        self.stats.output_time += t.elapsed();
        self.stats.output_writes += 1;
        self.stats.output_length += data.len() as u64;
        self.resp.sent += n as u64;
        result.map_err(|e| {
            self.resp.client_gone = true;
            OutputError::Client(e.to_string())
        })
    }

    pub fn send_file(&mut self, fd: i32, offset: i64, len: i64) -> Result<(), OutputError> {
        self.apply_headers()?;
        let t = std::time::Instant::now();
        let result = self.transport.send_file(fd, offset, len);
        self.stats.output_time += t.elapsed();
        self.stats.output_writes += 1;
        self.stats.output_length += u64::try_from(len).unwrap_or(0);
        self.resp.sent += u64::try_from(len).unwrap_or(0);
        result.map_err(|e| {
            self.resp.client_gone = true;
            OutputError::Client(e.to_string())
        })
    }

    /// The whole (remaining) body and the end of the response in one go. Parts beyond a declared
    /// Content-Length are cut; a body shorter than it ends as an abort.
    pub fn write_final(&mut self, parts: &[&[u8]]) -> Result<(), OutputError> {
        self.apply_headers()?;
        if self.resp.client_gone {
            return Err(OutputError::Client("the client closed the connection".to_string()));
        }
        let mut kept: Vec<&[u8]> = Vec::with_capacity(parts.len());
        let mut total = self.resp.sent;
        for p in parts {
            let n = match self.resp.content_length {
                Some(cl) => p
                    .len()
                    .min(usize::try_from(cl.saturating_sub(total)).unwrap_or(usize::MAX)),
                None => p.len(),
            };
            total += n as u64;
            kept.push(&p[..n]);
        }
        if self.resp.content_length.is_some_and(|cl| total < cl) && !self.transport.header_only() {
            // Short: send what there is, then the usual truncation path.
            for p in kept {
                self.write(p, false)?;
            }
            return self.finish();
        }
        self.resp.sent = total;
        self.resp.finished = true;
        self.stats.output_writes += parts.iter().filter(|p| !p.is_empty()).count() as u64;
        self.stats.output_length += parts.iter().map(|p| p.len() as u64).sum::<u64>();
        let t = std::time::Instant::now();
        let result = self.transport.write_final(&kept);
        self.stats.output_time += t.elapsed();
        result.map_err(|e| {
            self.resp.client_gone = true;
            OutputError::Client(e.to_string())
        })
    }

    /// Ends the response: complete, or cut short when a declared Content-Length was not reached.
    pub fn finish(&mut self) -> Result<(), OutputError> {
        if self.resp.finished {
            return Ok(());
        }
        self.apply_headers()?;
        if let Some(cl) = self.resp.content_length {
            if self.resp.sent < cl && !self.transport.header_only() {
                self.transport.log(
                    Level::Error,
                    &format!("mod_rwsgi: the application declared Content-Length {cl} but produced only {} bytes; the response was cut short", self.resp.sent),
                );
                self.abort();
                return Ok(());
            }
        }
        if self.resp.client_gone {
            return Ok(());
        }
        self.transport.finish().map_err(|e| OutputError::Client(e.to_string()))
    }

    pub fn abort(&mut self) {
        self.transport.abort();
        self.resp.client_gone = true;
    }

    /// Reads body bytes straight into `buf` (the input buffer must be empty). Blocks.
    pub fn fill_into(&mut self, buf: &mut [std::mem::MaybeUninit<u8>]) -> Result<usize, IoError> {
        if self.input.eof || buf.is_empty() {
            return Ok(0);
        }
        let t = std::time::Instant::now();
        let read = self.transport.read_into(buf);
        self.stats.input_time += t.elapsed();
        self.stats.input_reads += 1;
        self.body_read(read)
    }

    /// Accounts for one read of the body (end of body, httpd's refusal).
    fn body_read(&mut self, read: Result<usize, IoError>) -> Result<usize, IoError> {
        if let Ok(n) = read {
            self.stats.input_length += n as u64;
        }
        match read {
            Ok(0) => {
                self.input.eof = true;
                Ok(0)
            }
            Ok(n) => Ok(n),
            Err(e) => {
                self.input.eof = true;
                if let IoError::Rejected(status, _) = &e {
                    self.input.rejected = Some(*status);
                }
                Err(e)
            }
        }
    }

    /// Reads more of the request body into the input buffer. Blocks.
    pub fn fill(&mut self, want: usize) -> Result<usize, IoError> {
        if self.input.eof {
            return Ok(0);
        }
        if self.input.pos > 0 && self.input.pos * 2 >= self.input.buf.len() {
            self.input.buf.drain(..self.input.pos);
            self.input.pos = 0;
        }
        let t = std::time::Instant::now();
        let read = self.transport.read_body(&mut self.input.buf, want.max(8192));
        self.stats.input_time += t.elapsed();
        self.stats.input_reads += 1;
        self.body_read(read)
    }
}
