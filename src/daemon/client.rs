//! The httpd-child side of daemon mode: take an idle connection to the group from this child's pool (or connect
//! to the group's socket, retrying until connect-timeout), send the request head, then relay: body bytes when the
//! daemon asks for them, response frames to the client; a connection whose exchange ended cleanly goes back to
//! the pool. A request that meets a daemon's `Goodbye` was not read and is sent again on a new connection. Every
//! failure ends as one log line naming the cause and the right status: 503 cannot connect, 502 the daemon went
//! away before answering, 504 timeout, 500 response headers over header-buffer-size. The relay is a function of
//! (frame) -> flow; every way it can fail is a `RelayError`, logged once by `handle`.
#![deny(unsafe_code)]

use std::io::ErrorKind;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use std::os::fd::AsRawFd;

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
    /// A pooled connection was closed by its daemon process before it read the request (`Goodbye`, or the send
    /// failed): the request is sent again on a new connection.
    NotTaken,
}

impl RelayError {
    fn level(&self) -> Level {
        match self {
            RelayError::Client(_) => Level::Info,
            _ => Level::Error,
        }
    }

    /// The metrics cause of the answer mod_rwsgi gives for this failure (None: the client went away).
    fn cause(&self) -> Option<crate::metrics::Cause> {
        use crate::metrics::Cause;
        Some(match self {
            RelayError::Connect { .. } | RelayError::Restarted | RelayError::NotTaken => Cause::ConnectFailed,
            RelayError::Timeout(_) => Cause::RequestTimeout,
            RelayError::HeadersTooLarge(_) => Cause::HeaderTooLarge,
            RelayError::Client(_) => return None,
            _ => Cause::DaemonDied,
        })
    }

    /// The status when nothing was sent to the client yet.
    fn status(&self) -> Status {
        match self {
            RelayError::Connect { .. } | RelayError::Restarted | RelayError::NotTaken => Status::SERVICE_UNAVAILABLE,
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
            RelayError::NotTaken => format!(
                "daemon processes of group {group} kept closing their connections (stopping); the request was sent to each in turn"
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
    /// The connection came from the pool and no daemon thread has taken the request yet: a `Goodbye` or a
    /// close means it never ran (send it again).
    untaken: bool,
    /// The exchange ended with `End` or `Error`: the connection can carry another request.
    clean: bool,
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
                self.clean = true;
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
            Frame::Goodbye if self.untaken => Err(RelayError::NotTaken),
            Frame::Taken if self.untaken => {
                self.untaken = false;
                Ok(Flow::Continue)
            }
            Frame::Error { status } => {
                self.clean = true;
                Ok(Flow::Done(match (status, self.rejected) {
                    (0, Some(r)) => Status::http(r),
                    (0, None) => Status::INTERNAL_SERVER_ERROR,
                    (s, _) => Status::http(i32::from(s)),
                }))
            }
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

/// How many more times a request is sent to a group whose processes restart to load changed scripts (each
/// process of the group may send it back once: a restarting process accepts nothing more) or close their pooled
/// connections.
fn resend_attempts(g: &GroupRuntime) -> u32 {
    g.cfg.processes + 1
}

/// Serves `req` through daemon group `g`. Returns the httpd status for the handler.
/// `error_override` (WSGIErrorOverride): a 4xx/5xx response is answered by httpd's error document instead.
pub fn handle(req: Request<'_>, g: &GroupRuntime, table: &Table, head: &RequestHead, error_override: bool) -> Status {
    let mut attempt = 0;
    let mut pooled = true;
    // Read once: a request sent again carries the same bytes.
    let pushed = match read_ahead(req, head) {
        Ok(p) => p,
        Err((status, why)) => {
            req.log(Level::Info, &format!("mod_rwsgi: {why}"));
            return status;
        }
    };
    loop {
        match exchange(req, g, table, head, pushed.as_deref(), error_override, pooled) {
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
            // A pooled connection's process stopped taking requests: a new connection reaches one that does.
            Err((RelayError::NotTaken, _)) if attempt < resend_attempts(g) => {
                attempt += 1;
                pooled = false;
            }
            Err((e, status)) => {
                req.log(e.level(), &format!("mod_rwsgi: {}", e.describe(&g.cfg.name)));
                if let Some(cause) = e.cause() {
                    crate::metrics::note_cause(cause);
                }
                if matches!(e, RelayError::Connect { .. }) {
                    crate::metrics::connect_failed(super::manager::group_index(table, g));
                }
                return status;
            }
        }
    }
}

/// Bodies of at most this many bytes (by Content-Length) are read before the request is sent and go with it, as
/// mod_wsgi's daemon mode sends bodies unasked: the daemon does not have to ask for them, a round trip less.
const PUSHED_BODY: u64 = 8192;

/// A small request body read ahead, as the frames that answer the daemon's reads (ending with an empty `Body`).
/// Ok(None): the body is not pushed (none, larger, of unknown length, or the client waits for `100 Continue`,
/// which only the application's first read should send). Err: httpd refused the body (or the client went away)
/// with this status: answered without involving the daemon, as a refused body is before the application runs.
fn read_ahead(req: Request<'_>, head: &RequestHead) -> Result<Option<Vec<Frame>>, (Status, String)> {
    let len = head
        .environ
        .get(b"CONTENT_LENGTH")
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(len) = len else { return Ok(None) };
    if len == 0 || len > PUSHED_BODY || head.environ.get(b"HTTP_EXPECT").is_some() {
        return Ok(None);
    }
    let mut frames = Vec::new();
    loop {
        let mut buf = Vec::new();
        match crate::apache::io::read_body(req, &mut buf, PUSHED_BODY as usize) {
            Ok(0) => {
                frames.push(Frame::Body(Vec::new()));
                return Ok(Some(frames));
            }
            Ok(_) => frames.push(Frame::Body(buf)),
            Err(IoError::Rejected(status, msg)) => return Err((Status::http(status), msg)),
            Err(IoError::ClientGone(msg)) => return Err((Status::http(400), msg)),
        }
    }
}

/// An idle connection of this child to the group that its daemon process has not closed (a closed one, or one
/// with a `Goodbye` waiting, is dropped).
fn pooled_conn(g: &GroupRuntime) -> Option<Conn> {
    let mut pool = g.pool.lock().unwrap_or_else(|p| p.into_inner());
    while let Some(conn) = pool.pop() {
        if crate::sys::epoll::quiet(conn.sock.as_raw_fd()) {
            return Some(conn);
        }
    }
    None
}

/// At most this many idle connections per group in one httpd child (each worker thread uses one at a time).
const POOL_LIMIT: usize = 256;

fn give_back(g: &GroupRuntime, conn: Conn) {
    if conn.is_clean() {
        let mut pool = g.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < POOL_LIMIT {
            pool.push(conn);
        }
    }
}

fn new_conn(g: &GroupRuntime, table: &Table, socket_timeout: u64) -> Result<Conn, RelayError> {
    let sock = connect(g).map_err(|why| RelayError::Connect {
        socket: g.socket_path.clone(),
        timeout: g.cfg.connect_timeout,
        why,
    })?;
    // Cannot fail for a non-zero duration on a connected UNIX socket.
    let _ = sock.set_write_timeout(Some(Duration::from_secs(socket_timeout)));
    let mut conn = Conn::new(sock);
    conn.queue(&Frame::Hello {
        version: VERSION,
        secret: table.secret,
    })
    .map_err(|e| RelayError::Send(e.to_string()))?;
    Ok(conn)
}

fn exchange(
    req: Request<'_>,
    g: &GroupRuntime,
    table: &Table,
    head: &RequestHead,
    pushed: Option<&[Frame]>,
    error_override: bool,
    pooled: bool,
) -> Result<Status, (RelayError, Status)> {
    let early = |e: RelayError| {
        let s = e.status();
        (e, s)
    };
    let socket_timeout = g.cfg.socket_timeout.unwrap_or(table.server_timeout);
    let (mut conn, reused) = match pooled.then(|| pooled_conn(g)).flatten() {
        Some(c) => (c, true),
        None => (new_conn(g, table, socket_timeout).map_err(early)?, false),
    };
    conn.requests += 1;
    conn.set_read_timeout(Duration::from_secs(socket_timeout));
    let request_deadline = g.cfg.request_deadline().map(|d| Instant::now() + d);
    // The head (after the Hello of a new connection) and a small body in one write.
    conn.queue_request(head, crate::request::epoch_us(), pushed.is_some())
        .and_then(|_| pushed.iter().flat_map(|p| p.iter()).try_for_each(|f| conn.queue(f)))
        .and_then(|_| conn.flush())
        .map_err(|e| {
            // A pooled connection its process closed meanwhile: nothing was read, send it again.
            early(if reused {
                RelayError::NotTaken
            } else {
                RelayError::Send(e.to_string())
            })
        })?;
    // response-socket-timeout (default socket-timeout): each write of the response to the client, as mod_wsgi.
    let previous =
        g.cfg.response_socket_timeout.or(g.cfg.socket_timeout).and_then(|secs| {
            req.swap_client_timeout(i64::try_from(secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX))
        });
    let result = relay_all(req, g, conn, reused, request_deadline, socket_timeout, error_override);
    if let Some(us) = previous {
        req.swap_client_timeout(us);
    }
    result
}

fn relay_all(
    req: Request<'_>,
    g: &GroupRuntime,
    conn: Conn,
    reused: bool,
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
        untaken: reused,
        clean: false,
    };
    loop {
        if let Some(d) = request_deadline {
            let left = d
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            relay
                .conn
                .set_read_timeout(left.min(Duration::from_secs(socket_timeout)));
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
            // The daemon process died before any thread read the request from its pooled connection.
            Err(_) if relay.untaken => Err(RelayError::NotTaken),
            Err(e) => Err(RelayError::Closed {
                started: relay.started,
                why: e.to_string(),
            }),
        };
        match step {
            Ok(Flow::Continue) => {}
            Ok(Flow::Done(status)) => {
                if relay.clean {
                    give_back(g, relay.conn);
                }
                return Ok(status);
            }
            Err(e) => {
                let status = relay.fail(&e);
                return Err((e, status));
            }
        }
    }
}
