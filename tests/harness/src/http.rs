//! A small HTTP client over a raw TcpStream: the tests need exact control of what is sent (chunked bodies,
//! odd headers, early disconnects) and exact knowledge of what came back (framing, truncation). Two ways to read
//! the answer: [`request`] parses one framed response (keep-alive connections, truncation checks); [`http_get`]
//! and [`http_raw`] send HTTP/1.0 and take everything until the server closes, None when nothing answers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long [`request`] waits for the server to send something.
const FRAMED_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`http_raw`] and [`http_get`] wait for the server to send something.
const TEXT_READ_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body ended as its framing said (Content-Length reached, or the final chunk seen, or a close-delimited
    /// body). False when the server cut the response short.
    pub complete: bool,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// Lines "KEY\tVALUE" produced by the test apps, as pairs.
    pub fn pairs(&self) -> std::collections::HashMap<String, String> {
        self.text()
            .lines()
            .filter_map(|l| l.split_once('\t').map(|(k, v)| (k.to_string(), v.to_string())))
            .collect()
    }
}

/// The value of a `KEY=value` line in a test app's answer.
pub fn field<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    body.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

fn open(port: u16, read_timeout: Duration) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(read_timeout))?;
    Ok(s)
}

pub fn connect(port: u16) -> TcpStream {
    open(port, FRAMED_READ_TIMEOUT).expect("connect to httpd")
}

pub fn get(port: u16, path: &str) -> Response {
    request(
        port,
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

pub fn request(port: u16, raw: &[u8]) -> Response {
    let mut s = connect(port);
    s.write_all(raw).expect("send request");
    let mut r = BufReader::new(s);
    read_response(&mut r, raw.starts_with(b"HEAD ")).expect("read response")
}

/// A minimal HTTP/1.0 GET: (status, body), or None when nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let text = http_raw(port, path, "Accept-Encoding: identity\r\n")?;
    let status = status_of(&text)?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// An HTTP/1.0 GET with extra header lines (each ending in CRLF); the whole response as text, or None when the
/// connection, the send or the read until the server closes fails.
pub fn http_raw(port: u16, path: &str, headers: &str) -> Option<String> {
    let mut s = open(port, TEXT_READ_TIMEOUT).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n{headers}\r\n").ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    Some(String::from_utf8_lossy(&raw).into_owned())
}

/// The status code of a status line ("HTTP/1.1 200 OK").
fn status_of(line: &str) -> Option<u16> {
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Reads one response from a (possibly keep-alive) connection.
pub fn read_response<R: BufRead>(r: &mut R, head: bool) -> std::io::Result<Response> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = status_of(&line).unwrap_or(0);
    let mut headers = Vec::new();
    loop {
        let mut l = String::new();
        if r.read_line(&mut l)? == 0 {
            break;
        }
        let l = l.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let find = |n: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    let mut complete = true;
    if head || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(Response {
            status,
            headers,
            body,
            complete,
        });
    }
    if find("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        complete = false;
        loop {
            let mut size_line = String::new();
            if r.read_line(&mut size_line)? == 0 {
                break;
            }
            let size =
                usize::from_str_radix(size_line.trim().split(';').next().unwrap_or(""), 16).unwrap_or(usize::MAX);
            if size == usize::MAX {
                break;
            }
            if size == 0 {
                let mut trailer = String::new();
                let _ = r.read_line(&mut trailer);
                complete = true;
                break;
            }
            let mut chunk = vec![0u8; size];
            if r.read_exact(&mut chunk).is_err() {
                break;
            }
            body.extend_from_slice(&chunk);
            let mut crlf = [0u8; 2];
            if r.read_exact(&mut crlf).is_err() {
                break;
            }
        }
    } else if let Some(cl) = find("Content-Length").and_then(|v| v.parse::<usize>().ok()) {
        let mut buf = vec![0u8; cl];
        let mut got = 0;
        while got < cl {
            match r.read(&mut buf[got..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        buf.truncate(got);
        complete = got == cl;
        body = buf;
    } else {
        let _ = r.read_to_end(&mut body);
    }
    Ok(Response {
        status,
        headers,
        body,
        complete,
    })
}
