//! The httpd-child side of daemon mode: connect to the group's socket (retrying until connect-timeout), send
//! the request head, then relay: body bytes when the daemon asks for them, response frames to the client. Every
//! failure ends as one log line naming the cause and the right status: 503 cannot connect, 502 the daemon went
//! away before answering, 504 timeout, 500 response headers over header-buffer-size. The relay is a function of
//! (frame) -> flow; every way it can fail is a `RelayError`, logged once by `handle`.
#![deny(unsafe_code)]

use std::io::ErrorKind;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::conn::Conn;
use super::manager::{GroupRuntime, Table};
use super::protocol::{Frame, RequestHead, VERSION};
use crate::apache::log::Level;
use crate::apache::{Request, Status};
use crate::connection::ApacheTransport;
use crate::wsgi::headers::Status as ResponseStatus;
use crate::wsgi::transport::{IoError, Transport};

fn connect(g: &GroupRuntime) -> Result<UnixStream, String> {
    let deadline = Instant::now() + Duration::from_secs(g.cfg.connect_timeout);
    let mut pause = Duration::from_millis(5);
    loop {
        match UnixStream::connect(&g.socket_path) {
            Ok(s) => return Ok(s),
            Err(e) => {
                if let Ok(why) = std::fs::read_to_string(format!("{}.failed", g.socket_path)) {
                    return Err(why);
                }
                // WouldBlock is EAGAIN: the socket's backlog is full.
                let retry = matches!(
                    e.kind(),
                    ErrorKind::ConnectionRefused | ErrorKind::NotFound | ErrorKind::WouldBlock | ErrorKind::Interrupted
                );
                if !retry || Instant::now() >= deadline {
                    return Err(format!("{e}"));
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(200));
            }
        }
    }
}

fn headers_size(line: &[u8], headers: &[(Vec<u8>, Vec<u8>)]) -> usize {
    line.len() + headers.iter().map(|(k, v)| k.len() + v.len() + 4).sum::<usize>()
}

/// Why relaying a request failed: each names the group and the cause.
#[derive(Debug)]
enum RelayError {
    Connect {
        socket: String,
        timeout: u64,
        why: String,
    },
    Send(String),
    Timeout(String),
    Closed {
        started: bool,
        why: String,
    },
    BodyReadGone,
    HeadersTooLarge(u32),
    FileWithoutDescriptor,
    Protocol(String),
    /// The client went away while the response was sent (logged at info: nothing is wrong on our side).
    Client(String),
    /// The daemon process restarts to load a changed script: the request is sent again (nothing was read).
    Restarted,
}

impl RelayError {
    fn level(&self) -> Level {
        match self {
            RelayError::Client(_) => Level::Info,
            _ => Level::Error,
        }
    }

    /// The status when nothing was sent to the client yet.
    fn status(&self) -> Status {
        match self {
            RelayError::Connect { .. } | RelayError::Restarted => Status::SERVICE_UNAVAILABLE,
            RelayError::Timeout(_) => Status::GATEWAY_TIME_OUT,
            RelayError::HeadersTooLarge(_) => Status::INTERNAL_SERVER_ERROR,
            RelayError::Client(_) => Status::OK,
            _ => Status::BAD_GATEWAY,
        }
    }

    fn describe(&self, group: &str) -> String {
        match self {
            RelayError::Connect { socket, timeout, why } => format!(
                "cannot connect to daemon process group {group} at {socket} within connect-timeout={timeout} s: {why}"
            ),
            RelayError::Send(e) => format!("sending the request to daemon group {group} failed: {e}"),
            RelayError::Timeout(which) => format!("timeout ({which}) waiting for daemon group {group}"),
            RelayError::Closed { started, why } => format!(
                "a daemon process of group {group} closed the connection {} ({why}); it crashed or was killed (the supervisor's log line names the process and the signal)",
                if *started { "mid-response" } else { "before responding" }
            ),
            RelayError::BodyReadGone => {
                format!("a daemon process of group {group} went away while reading the request body")
            }
            RelayError::HeadersTooLarge(limit) => {
                format!("response headers from daemon group {group} are larger than header-buffer-size={limit} bytes")
            }
            RelayError::FileWithoutDescriptor => format!("daemon group {group} sent a file without its descriptor"),
            RelayError::Protocol(what) => format!("protocol error from daemon group {group}: unexpected {what}"),
            RelayError::Client(e) => e.clone(),
            RelayError::Restarted => format!(
                "daemon processes of group {group} kept restarting for changed scripts; the request was sent to each in turn"
            ),
        }
    }
}

/// What the relay does after a frame.
enum Flow {
    Continue,
    /// The exchange is over: the response was sent (OK) or nothing was and httpd answers with this status.
    Done(Status),
}

/// One request in flight between the client (through httpd) and a daemon process.
struct Relay<'r, 'g> {
    g: &'g GroupRuntime,
    conn: Conn,
    t: ApacheTransport<'r>,
    started: bool,
    /// The status httpd refused the request body with (answered if the app then fails).
    rejected: Option<i32>,
    /// WSGIErrorOverride On.
    error_override: bool,
    /// Response bytes written since the last flush (response-buffer-size forces one).
    unflushed: u64,
    body: Vec<u8>,
}

impl Relay<'_, '_> {
    fn on_frame(&mut self, frame: Frame) -> Result<Flow, RelayError> {
        match frame {
            Frame::Read(n) => {
                self.body.clear();
                let reply = match self.t.read_body(&mut self.body, n as usize) {
                    Ok(_) => Frame::Body(std::mem::take(&mut self.body)),
                    Err(IoError::Rejected(status, msg)) => {
                        self.rejected = Some(status);
                        let s = u16::try_from(status).ok().filter(|s| *s >= 100).unwrap_or(0);
                        Frame::BodyError {
                            status: s,
                            message: msg.into_bytes(),
                        }
                    }
                    Err(IoError::ClientGone(msg)) => Frame::BodyError {
                        status: 400,
                        message: msg.into_bytes(),
                    },
                };
                self.conn.send(&reply).map_err(|_| RelayError::BodyReadGone)?;
                Ok(Flow::Continue)
            }
            Frame::Start {
                status,
                line,
                mut headers,
                content_length,
            } => {
                if self.error_override && status >= 400 {
                    // httpd answers with its own error document; the daemon's body is not read (the daemon
                    // sees the connection close).
                    return Ok(Flow::Done(Status::http(i32::from(status))));
                }
                let limit = self.g.cfg.header_buffer_size;
                if headers_size(&line, &headers) > limit as usize {
                    return Err(RelayError::HeadersTooLarge(limit));
                }
                if let Some(i) = headers
                    .iter()
                    .position(|(k, v)| k.eq_ignore_ascii_case(b"connection") && v.eq_ignore_ascii_case(b"close"))
                {
                    headers.remove(i);
                    self.t.close_connection();
                }
                self.t
                    .start(&ResponseStatus { code: status, line }, &headers, content_length);
                self.started = true;
                Ok(Flow::Continue)
            }
            Frame::Data { flush, bytes } => {
                self.unflushed += bytes.len() as u64;
                let flush = flush || self.unflushed >= self.g.cfg.response_buffer_size;
                if flush {
                    self.unflushed = 0;
                }
                self.t
                    .write(&bytes, flush)
                    .map_err(|e| RelayError::Client(e.to_string()))?;
                Ok(Flow::Continue)
            }
            Frame::File { offset, len } => {
                use std::os::fd::AsRawFd;
                let fd = self.conn.take_fd().ok_or(RelayError::FileWithoutDescriptor)?;
                let off = i64::try_from(offset).unwrap_or(0);
                let len = i64::try_from(len).unwrap_or(0);
                self.t
                    .send_file(fd.as_raw_fd(), off, len)
                    .map_err(|e| RelayError::Client(e.to_string()))?;
                Ok(Flow::Continue)
            }
            Frame::End => {
                // The client may be gone; the response is complete on our side either way.
                let _ignored = self.t.finish();
                Ok(Flow::Done(Status::OK))
            }
            Frame::Abort => {
                self.t.abort();
                Ok(Flow::Done(Status::OK))
            }
            Frame::Error { .. } if self.started => {
                self.t.abort();
                Ok(Flow::Done(Status::OK))
            }
            Frame::Restart if !self.started => Err(RelayError::Restarted),
            Frame::Error { status } => Ok(Flow::Done(match (status, self.rejected) {
                (0, Some(r)) => Status::http(r),
                (0, None) => Status::INTERNAL_SERVER_ERROR,
                (s, _) => Status::http(i32::from(s)),
            })),
            other => Err(RelayError::Protocol(format!("{other:?}"))),
        }
    }

    /// A failed exchange: once the response started, the client must be able to tell it is incomplete;
    /// before that, httpd answers with the error's status.
    fn fail(&mut self, e: &RelayError) -> Status {
        if matches!(e, RelayError::Client(_)) {
            return Status::OK;
        }
        if self.started {
            if !matches!(e, RelayError::BodyReadGone) {
                self.t.abort();
            }
            return Status::OK;
        }
        e.status()
    }
}

/// How many more times a request is sent to a group whose processes restart to load changed scripts: each
/// process of the group may send it back once (a restarting process accepts nothing more).
fn resend_attempts(g: &GroupRuntime) -> u32 {
    g.cfg.processes + 1
}

/// Serves `req` through daemon group `g`. Returns the httpd status for the handler.
/// `error_override` (WSGIErrorOverride): a 4xx/5xx response is answered by httpd's error document instead.
pub fn handle(req: Request<'_>, g: &GroupRuntime, table: &Table, head: &RequestHead, error_override: bool) -> Status {
    let mut attempt = 0;
    loop {
        match exchange(req, g, table, head, error_override) {
            Ok(status) => return status,
            // The process restarts to load a changed script (WSGIScriptReloading), as mod_wsgi's daemons do:
            // the replacement gets the request, with nothing of it consumed yet.
            Err((RelayError::Restarted, _)) if attempt < resend_attempts(g) => {
                attempt += 1;
                req.log(
                    Level::Info,
                    &format!(
                        "Reconnecting after WSGI daemon process '{}' restart, attempt #{attempt}.",
                        g.cfg.name
                    ),
                );
            }
            Err((e, status)) => {
                req.log(e.level(), &format!("mod_rwsgi: {}", e.describe(&g.cfg.name)));
                return status;
            }
        }
    }
}

fn exchange(
    req: Request<'_>,
    g: &GroupRuntime,
    table: &Table,
    head: &RequestHead,
    error_override: bool,
) -> Result<Status, (RelayError, Status)> {
    let early = |e: RelayError| {
        let s = e.status();
        (e, s)
    };
    let sock = connect(g).map_err(|why| {
        early(RelayError::Connect {
            socket: g.socket_path.clone(),
            timeout: g.cfg.connect_timeout,
            why,
        })
    })?;
    let socket_timeout = g.cfg.socket_timeout.unwrap_or(table.server_timeout);
    let request_deadline = g.cfg.request_deadline().map(|d| Instant::now() + d);
    // Timeouts on a connected UNIX socket cannot fail for a non-zero duration.
    let _ = sock.set_read_timeout(Some(Duration::from_secs(socket_timeout)));
    let _ = sock.set_write_timeout(Some(Duration::from_secs(socket_timeout)));
    let mut conn = Conn::new(sock);
    conn.queue(&Frame::Hello {
        version: VERSION,
        secret: table.secret,
    })
    .and_then(|_| {
        let mut sent = head.clone();
        sent.queue_start_us = crate::request::epoch_us();
        conn.queue(&Frame::Request(sent))
    })
    .and_then(|_| conn.flush())
    .map_err(|e| early(RelayError::Send(e.to_string())))?;
    // response-socket-timeout (default socket-timeout): each write of the response to the client, as mod_wsgi.
    let previous =
        g.cfg.response_socket_timeout.or(g.cfg.socket_timeout).and_then(|secs| {
            req.swap_client_timeout(i64::try_from(secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX))
        });
    let result = relay_all(req, g, conn, request_deadline, socket_timeout, error_override);
    if let Some(us) = previous {
        req.swap_client_timeout(us);
    }
    result
}

fn relay_all(
    req: Request<'_>,
    g: &GroupRuntime,
    conn: Conn,
    request_deadline: Option<Instant>,
    socket_timeout: u64,
    error_override: bool,
) -> Result<Status, (RelayError, Status)> {
    let mut relay = Relay {
        error_override,
        unflushed: 0,
        g,
        conn,
        t: ApacheTransport::new(req),
        started: false,
        rejected: None,
        body: Vec::new(),
    };
    loop {
        if let Some(d) = request_deadline {
            let left = d
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            let _ = relay
                .conn
                .sock
                .set_read_timeout(Some(left.min(Duration::from_secs(socket_timeout))));
        }
        let step = match relay.conn.read_frame() {
            Ok(frame) => relay.on_frame(frame),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Err(RelayError::Timeout(
                if request_deadline.is_some_and(|d| Instant::now() >= d) {
                    format!("request-timeout={} s", g.cfg.request_timeout.unwrap_or(0))
                } else {
                    format!("socket-timeout={socket_timeout} s")
                },
            )),
            Err(e) => Err(RelayError::Closed {
                started: relay.started,
                why: e.to_string(),
            }),
        };
        match step {
            Ok(Flow::Continue) => {}
            Ok(Flow::Done(status)) => return Ok(status),
            Err(e) => {
                let status = relay.fail(&e);
                return Err((e, status));
            }
        }
    }
}
