//! Per-request state shared by the Python objects of one request (start_response, write, wsgi.input), held in
//! the request scope so that it disappears with the request.

use crate::apache::Request;
use crate::apache::io::{Brigade, IoError};
use crate::apache::log::Level;
use crate::apache::scope::RequestScoped;

use super::headers::{self, Status};

pub type Slot = RequestScoped<ReqState>;

#[derive(Default)]
pub struct Response {
    pub status: Option<Status>,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub headers_sent: bool,
    pub content_length: Option<u64>,
    pub sent: u64,
    pub client_gone: bool,
}

#[derive(Default)]
pub struct Input {
    pub buf: Vec<u8>,
    pub pos: usize,
    pub eof: bool,
    /// A status httpd asked for when it refused the body (413, 400): used if the app then fails.
    pub rejected: Option<i32>,
}

#[derive(Default)]
pub struct ReqState {
    pub out: Option<Brigade>,
    pub resp: Response,
    pub input: Input,
}

/// Why response output failed.
pub enum OutputError {
    /// The app broke the protocol (the message names how): a 500 if nothing was sent yet.
    App(String),
    /// The client is gone.
    Client(String),
}

impl ReqState {
    fn brigade(&mut self, req: Request<'_>) -> &Brigade {
        self.out.get_or_insert_with(|| Brigade::new(req))
    }

    /// Applies status and headers to the request (httpd sends them with the first body data).
    pub fn apply_headers(&mut self, req: Request<'_>) -> Result<(), OutputError> {
        if self.resp.headers_sent {
            return Ok(());
        }
        let Some(status) = self.resp.status.clone() else {
            return Err(OutputError::App("the application produced output before calling start_response()".to_string()));
        };
        req.set_status(i32::from(status.code), &status.line);
        for (name, value) in &self.resp.headers {
            if name.eq_ignore_ascii_case(b"content-type") {
                req.set_content_type(value);
            } else if name.eq_ignore_ascii_case(b"content-length") {
                let n = headers::parse_content_length(value).map_err(OutputError::App)?;
                self.resp.content_length = Some(n);
                req.set_content_length(i64::try_from(n).unwrap_or(i64::MAX));
            } else if headers::is_hop_by_hop(name) {
                if name.eq_ignore_ascii_case(b"connection") && value.eq_ignore_ascii_case(b"close") {
                    req.close_connection();
                } else {
                    req.log(
                        Level::Warning,
                        &format!(
                            "mod_rwsgi: dropped hop-by-hop response header {:?} set by the application (the server frames the response)",
                            String::from_utf8_lossy(name)
                        ),
                    );
                }
            } else {
                req.add_header_out(name, value);
            }
        }
        self.resp.headers_sent = true;
        Ok(())
    }

    /// Sends body data (headers first if needed), never more than a declared Content-Length. Blocks: the
    /// caller has released the GIL.
    pub fn write(&mut self, req: Request<'_>, data: &[u8], flush: bool) -> Result<(), OutputError> {
        self.apply_headers(req)?;
        if self.resp.client_gone {
            return Err(OutputError::Client("the client closed the connection".to_string()));
        }
        let n = match self.resp.content_length {
            Some(cl) => data.len().min(usize::try_from(cl.saturating_sub(self.resp.sent)).unwrap_or(usize::MAX)),
            None => data.len(),
        };
        let result = self.brigade(req).write(req, &data[..n], flush);
        self.resp.sent += n as u64;
        result.map_err(|e| {
            self.resp.client_gone = true;
            OutputError::Client(e.to_string())
        })
    }

    pub fn send_file(&mut self, req: Request<'_>, fd: i32, offset: i64, len: i64) -> Result<(), OutputError> {
        self.apply_headers(req)?;
        let result = self.brigade(req).send_file(req, fd, offset, len);
        self.resp.sent += u64::try_from(len).unwrap_or(0);
        result.map_err(|e| {
            self.resp.client_gone = true;
            OutputError::Client(e.to_string())
        })
    }

    /// Ends the response: EOS, or an abort when a declared Content-Length was not reached.
    pub fn finish(&mut self, req: Request<'_>) -> Result<(), OutputError> {
        self.apply_headers(req)?;
        if let Some(cl) = self.resp.content_length {
            if self.resp.sent < cl && !req.header_only() {
                req.log(
                    Level::Error,
                    &format!("mod_rwsgi: the application declared Content-Length {cl} but produced only {} bytes; the response was cut short", self.resp.sent),
                );
                self.abort(req);
                return Ok(());
            }
        }
        if self.resp.client_gone {
            return Ok(());
        }
        self.brigade(req).finish(req).map_err(|e| OutputError::Client(e.to_string()))
    }

    pub fn abort(&mut self, req: Request<'_>) {
        self.brigade(req).abort(req);
        self.resp.client_gone = true;
    }

    /// Reads more of the request body into the input buffer. Blocks: the caller has released the GIL.
    pub fn fill(&mut self, req: Request<'_>, want: usize) -> Result<usize, IoError> {
        if self.input.eof {
            return Ok(0);
        }
        if self.input.pos > 0 && self.input.pos * 2 >= self.input.buf.len() {
            self.input.buf.drain(..self.input.pos);
            self.input.pos = 0;
        }
        match crate::apache::io::read_body(req, &mut self.input.buf, want.max(8192)) {
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
}
