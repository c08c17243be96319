//! A small HTTP/1.1 client over a raw TcpStream: the tests need exact control of what is sent (chunked bodies,
//! odd headers, early disconnects) and exact knowledge of what came back (framing, truncation).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

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

pub fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to httpd");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    s
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

/// Reads one response from a (possibly keep-alive) connection.
pub fn read_response<R: BufRead>(r: &mut R, head: bool) -> std::io::Result<Response> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
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
