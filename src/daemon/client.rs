//! The httpd-child side of daemon mode: connect to the group's socket (retrying until connect-timeout), send
//! the request head, then relay: body bytes when the daemon asks for them, response frames to the client. Every
//! failure ends as one log line naming the cause and the right status: 503 cannot connect, 502 the daemon went
//! away before answering, 504 timeout, 500 response headers over header-buffer-size.

use std::io::ErrorKind;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::conn::Conn;
use super::manager::{GroupRuntime, Table};
use super::protocol::{Frame, RequestHead, VERSION};
use crate::apache::Request;
use crate::apache::log::Level;
use crate::apache::transport::ApacheTransport;
use crate::ffi;
use crate::wsgi::headers::Status;
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
                let retry = matches!(
                    e.kind(),
                    ErrorKind::ConnectionRefused | ErrorKind::NotFound | ErrorKind::WouldBlock | ErrorKind::Interrupted
                ) || e.raw_os_error() == Some(libc::EAGAIN);
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

/// Serves `req` through daemon group `g`. Returns the httpd status for the handler.
pub fn handle(req: Request<'_>, g: &GroupRuntime, table: &Table, head: &RequestHead) -> i32 {
    let name = &g.cfg.name;
    let sock = match connect(g) {
        Ok(s) => s,
        Err(e) => {
            req.log(
                Level::Error,
                &format!(
                    "mod_rwsgi: cannot connect to daemon process group {name} at {} within connect-timeout={} s: {e}",
                    g.socket_path, g.cfg.connect_timeout
                ),
            );
            return ffi::HTTP_SERVICE_UNAVAILABLE;
        }
    };
    let socket_timeout = g.cfg.socket_timeout.unwrap_or(table.server_timeout);
    let request_deadline = g.cfg.request_timeout.map(|s| Instant::now() + Duration::from_secs(s));
    let _ = sock.set_read_timeout(Some(Duration::from_secs(socket_timeout)));
    let _ = sock.set_write_timeout(Some(Duration::from_secs(socket_timeout)));
    let mut conn = Conn::new(sock);
    let sent = conn
        .queue(&Frame::Hello {
            version: VERSION,
            secret: table.secret,
        })
        .and_then(|_| conn.queue(&Frame::Request(head.clone())))
        .and_then(|_| conn.flush());
    if let Err(e) = sent {
        req.log(
            Level::Error,
            &format!("mod_rwsgi: sending the request to daemon group {name} failed: {e}"),
        );
        return ffi::HTTP_BAD_GATEWAY;
    }
    let mut t = ApacheTransport::new(req);
    let mut started = false;
    let mut rejected: Option<i32> = None;
    let mut body = Vec::new();
    loop {
        if let Some(d) = request_deadline {
            let left = d
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            let _ = conn
                .sock
                .set_read_timeout(Some(left.min(Duration::from_secs(socket_timeout))));
        }
        let frame = match conn.read_frame() {
            Ok(f) => f,
            Err(e) => {
                let timed_out = matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
                let why = if timed_out {
                    let which = if request_deadline.is_some_and(|d| Instant::now() >= d) {
                        format!("request-timeout={} s", g.cfg.request_timeout.unwrap_or(0))
                    } else {
                        format!("socket-timeout={socket_timeout} s")
                    };
                    format!("timeout ({which}) waiting for daemon group {name}")
                } else {
                    format!(
                        "a daemon process of group {name} closed the connection {} ({e}); it crashed or was killed (the supervisor's log line names the process and the signal)",
                        if started { "mid-response" } else { "before responding" }
                    )
                };
                req.log(Level::Error, &format!("mod_rwsgi: {why}"));
                if started {
                    t.abort();
                    return ffi::OK;
                }
                return if timed_out {
                    ffi::HTTP_GATEWAY_TIME_OUT
                } else {
                    ffi::HTTP_BAD_GATEWAY
                };
            }
        };
        match frame {
            Frame::Read(n) => {
                body.clear();
                let reply = match t.read_body(&mut body, n as usize) {
                    Ok(_) => Frame::Body(std::mem::take(&mut body)),
                    Err(IoError::Rejected(status, msg)) => {
                        rejected = Some(status);
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
                if conn.send(&reply).is_err() {
                    req.log(
                        Level::Error,
                        &format!(
                            "mod_rwsgi: a daemon process of group {name} went away while reading the request body"
                        ),
                    );
                    return if started { ffi::OK } else { ffi::HTTP_BAD_GATEWAY };
                }
            }
            Frame::Start {
                status,
                line,
                mut headers,
                content_length,
            } => {
                if headers_size(&line, &headers) > g.cfg.header_buffer_size as usize {
                    req.log(
                        Level::Error,
                        &format!("mod_rwsgi: response headers from daemon group {name} are larger than header-buffer-size={} bytes", g.cfg.header_buffer_size),
                    );
                    return ffi::HTTP_INTERNAL_SERVER_ERROR;
                }
                if let Some(i) = headers
                    .iter()
                    .position(|(k, v)| k.eq_ignore_ascii_case(b"connection") && v.eq_ignore_ascii_case(b"close"))
                {
                    headers.remove(i);
                    t.close_connection();
                }
                t.start(&Status { code: status, line }, &headers, content_length);
                started = true;
            }
            Frame::Data { flush, bytes } => {
                if let Err(e) = t.write(&bytes, flush) {
                    req.log(Level::Info, &format!("mod_rwsgi: {e}"));
                    return ffi::OK;
                }
            }
            Frame::File { offset, len } => {
                let Some(fd) = conn.take_fd() else {
                    req.log(
                        Level::Error,
                        &format!("mod_rwsgi: daemon group {name} sent a file without its descriptor"),
                    );
                    t.abort();
                    return ffi::OK;
                };
                use std::os::fd::AsRawFd;
                let off = i64::try_from(offset).unwrap_or(0);
                let len = i64::try_from(len).unwrap_or(0);
                if let Err(e) = t.send_file(fd.as_raw_fd(), off, len) {
                    req.log(Level::Info, &format!("mod_rwsgi: {e}"));
                    return ffi::OK;
                }
            }
            Frame::End => {
                let _ = t.finish();
                return ffi::OK;
            }
            Frame::Abort => {
                t.abort();
                return ffi::OK;
            }
            Frame::Error { status } => {
                if started {
                    t.abort();
                    return ffi::OK;
                }
                return match (status, rejected) {
                    (0, Some(r)) => r,
                    (0, None) => ffi::HTTP_INTERNAL_SERVER_ERROR,
                    (s, _) => i32::from(s),
                };
            }
            other => {
                req.log(
                    Level::Error,
                    &format!("mod_rwsgi: protocol error from daemon group {name}: unexpected {other:?}"),
                );
                if started {
                    t.abort();
                    return ffi::OK;
                }
                return ffi::HTTP_BAD_GATEWAY;
            }
        }
    }
}
