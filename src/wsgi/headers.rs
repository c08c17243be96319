//! Validation of what an app passes to start_response (PEP 3333, with mod_wsgi's messages; stricter on purpose:
//! any control character other than TAB in a header value is refused). Pure functions over Rust strings.
#![deny(unsafe_code)]

/// A validated status: code and the full "NNN Reason" line as latin-1 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub code: u16,
    pub line: Vec<u8>,
}

/// Why a status or header was refused. The messages are mod_wsgi's, word for word (apps and tests compare them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// A ValueError with this message.
    Value(String),
    /// Not latin-1: the caller raises Python's own UnicodeEncodeError (as mod_wsgi does).
    NotLatin1,
}

fn value(msg: String) -> Invalid {
    Invalid::Value(msg)
}

pub fn latin1_bytes(s: &str) -> Result<Vec<u8>, Invalid> {
    if s.is_ascii() {
        // The usual case: the same bytes, copied at once.
        return Ok(s.as_bytes().to_vec());
    }
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        out.push(u8::try_from(u32::from(c)).map_err(|_| Invalid::NotLatin1)?);
    }
    Ok(out)
}

/// Python's repr of a bytes object (b'...'), as mod_wsgi's messages show the offending value.
pub fn bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = format!("b{quote}");
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            c if c as char == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(quote);
    out
}

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

/// "NNN Reason" (a bare "NNN" too, as mod_wsgi allows: httpd adds the space).
pub fn parse_status(s: &str) -> Result<Status, Invalid> {
    let line = latin1_bytes(s)?;
    let digits_ok = line.len() >= 3 && line[..3].iter().all(u8::is_ascii_digit);
    if !digits_ok || line.get(3).is_some_and(u8::is_ascii_digit) {
        return Err(value(format!(
            "status code must be a 3 digit integer: {}",
            bytes_repr(&line)
        )));
    }
    if line.len() > 3 && line[3] != b' ' {
        return Err(value(format!("no space following status code: {}", bytes_repr(&line))));
    }
    if line.iter().any(|&b| is_control(b)) {
        return Err(value(format!(
            "control character in status reason phrase: {}",
            bytes_repr(&line)
        )));
    }
    let code = u16::from(line[0] - b'0') * 100 + u16::from(line[1] - b'0') * 10 + u16::from(line[2] - b'0');
    if code < 100 {
        return Err(value(format!(
            "status code must be between 100 and 999: {}",
            bytes_repr(&line)
        )));
    }
    Ok(Status { code, line })
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A header name (an RFC 9110 token) and value (latin-1; no control character other than TAB: stricter than
/// mod_wsgi, which refuses only CR and LF, see docs/compat.md).
pub fn check_header(name: &str, val: &str) -> Result<(Vec<u8>, Vec<u8>), Invalid> {
    let n = latin1_bytes(name)?;
    if n.is_empty() {
        return Err(value("header name is empty".to_string()));
    }
    if n.iter().any(|&b| is_control(b)) {
        return Err(value(format!("control character in header name: {}", bytes_repr(&n))));
    }
    if n.contains(&b' ') {
        return Err(value(format!("space character in header name: {}", bytes_repr(&n))));
    }
    if !n.iter().all(|&b| is_tchar(b)) {
        return Err(value(format!(
            "header name is not an HTTP token (letters, digits and !#$%&'*+-.^_`|~ only): {}",
            bytes_repr(&n)
        )));
    }
    let v = latin1_bytes(val)?;
    if v.iter().any(|&b| b == b'\r' || b == b'\n') {
        return Err(value(format!(
            "carriage return/line feed character in header value: {}",
            bytes_repr(&v)
        )));
    }
    if v.iter().any(|&b| is_control(b) && b != b'\t') {
        return Err(value(format!(
            "control character in header value (only TAB is allowed): {}",
            bytes_repr(&v)
        )));
    }
    Ok((n, v))
}

/// Response headers as httpd takes a CGI-style response (mod_wsgi's daemon mode, and mod_rwsgi's both modes): a
/// header repeated by the app is sent once, its values joined with ", ", except Set-Cookie and WWW-Authenticate
/// (never joinable), and Location / Content-Range, where the last one wins.
pub fn merge_repeated(headers: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let repeated = headers
        .iter()
        .enumerate()
        .any(|(i, (k, _))| headers[..i].iter().any(|(p, _)| p.eq_ignore_ascii_case(k)));
    if !repeated {
        return headers;
    }
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(headers.len());
    for (k, v) in headers {
        let separate = k.eq_ignore_ascii_case(b"set-cookie") || k.eq_ignore_ascii_case(b"www-authenticate");
        match out.iter_mut().find(|(p, _)| p.eq_ignore_ascii_case(&k)) {
            Some(_) if separate => out.push((k, v)),
            Some((_, old)) if k.eq_ignore_ascii_case(b"location") || k.eq_ignore_ascii_case(b"content-range") => {
                *old = v
            }
            Some((_, old)) => {
                old.extend_from_slice(b", ");
                old.extend_from_slice(&v);
            }
            None => out.push((k, v)),
        }
    }
    out
}

/// Hop-by-hop headers an app must not send (PEP 3333); the server owns the connection's framing.
pub fn is_hop_by_hop(name: &[u8]) -> bool {
    const HOP: [&[u8]; 8] = [
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    ];
    HOP.iter().any(|h| h.eq_ignore_ascii_case(name))
}

pub fn parse_content_length(v: &[u8]) -> Result<u64, String> {
    let s = std::str::from_utf8(v)
        .map_err(|_| "Content-Length is not ASCII".to_string())?
        .trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid Content-Length {s:?}"));
    }
    s.parse::<u64>()
        .map_err(|_| format!("Content-Length {s:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Result<impl std::fmt::Debug, Invalid>) -> String {
        match r {
            Err(Invalid::Value(m)) => m,
            other => panic!("not a ValueError: {other:?}"),
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(parse_status("200 OK").map(|s| s.code), Ok(200));
        assert_eq!(parse_status("404 Not Found").map(|s| s.code), Ok(404));
        assert_eq!(parse_status("200").map(|s| s.code), Ok(200));
        assert_eq!(msg(parse_status("OK")), "status code must be a 3 digit integer: b'OK'");
        assert_eq!(
            msg(parse_status("20X OK")),
            "status code must be a 3 digit integer: b'20X OK'"
        );
        assert_eq!(
            msg(parse_status("2000 OK")),
            "status code must be a 3 digit integer: b'2000 OK'"
        );
        assert_eq!(
            msg(parse_status("20 OK")),
            "status code must be a 3 digit integer: b'20 OK'"
        );
        assert_eq!(msg(parse_status("200OK")), "no space following status code: b'200OK'");
        assert_eq!(
            msg(parse_status("200 OK\r\nX-Injected: yes")),
            "control character in status reason phrase: b'200 OK\\r\\nX-Injected: yes'"
        );
        assert_eq!(parse_status("200 \u{263a}"), Err(Invalid::NotLatin1));
        assert!(parse_status("099 Low").is_err());
        assert_eq!(
            parse_status("200 caf\u{e9}").map(|s| s.line),
            Ok(b"200 caf\xe9".to_vec())
        );
    }

    #[test]
    fn headers() {
        assert!(check_header("Content-Type", "text/plain").is_ok());
        assert!(check_header("X-Tab", "a\tb").is_ok());
        assert_eq!(msg(check_header("", "x")), "header name is empty");
        assert_eq!(
            msg(check_header("X Foo", "x")),
            "space character in header name: b'X Foo'"
        );
        assert_eq!(
            msg(check_header("X\tFoo", "x")),
            "control character in header name: b'X\\tFoo'"
        );
        assert!(msg(check_header("X:Foo", "x")).contains("not an HTTP token"));
        assert_eq!(
            msg(check_header("X", "line1\r\nline2")),
            "carriage return/line feed character in header value: b'line1\\r\\nline2'"
        );
        assert_eq!(
            msg(check_header("X", "a\0b")),
            "control character in header value (only TAB is allowed): b'a\\x00b'"
        );
        assert!(check_header("X", "a\x7fb").is_err());
        assert_eq!(check_header("X", "\u{20ac}"), Err(Invalid::NotLatin1));
        assert_eq!(check_header("X", "\u{e9}").map(|h| h.1), Ok(vec![0xe9]));
        assert_eq!(bytes_repr(b"it's"), "b\"it's\"");
        assert_eq!(bytes_repr(b"a'\"b\\"), "b'a\\'\"b\\\\'");
        assert_eq!(bytes_repr(&[0xe9, 0x01]), "b'\\xe9\\x01'");
    }

    #[test]
    fn repeated_headers_merge_as_httpd_takes_cgi_headers() {
        let h = |v: &[(&str, &str)]| -> Vec<(Vec<u8>, Vec<u8>)> {
            v.iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect()
        };
        let once = h(&[("A", "1"), ("B", "2")]);
        assert_eq!(merge_repeated(once.clone()), once);
        assert_eq!(
            merge_repeated(h(&[
                ("X-R", "first-value"),
                ("Set-Cookie", "a=1"),
                ("x-r", "second-value"),
                ("Set-Cookie", "b=2"),
                ("Location", "/one"),
                ("WWW-Authenticate", "Basic"),
                ("Location", "/two"),
                ("WWW-Authenticate", "Digest"),
            ])),
            h(&[
                ("X-R", "first-value, second-value"),
                ("Set-Cookie", "a=1"),
                ("Set-Cookie", "b=2"),
                ("Location", "/two"),
                ("WWW-Authenticate", "Basic"),
                ("WWW-Authenticate", "Digest"),
            ])
        );
    }

    #[test]
    fn hop_by_hop_and_length() {
        assert!(is_hop_by_hop(b"Transfer-Encoding"));
        assert!(is_hop_by_hop(b"connection"));
        assert!(!is_hop_by_hop(b"Content-Length"));
        assert_eq!(parse_content_length(b"12"), Ok(12));
        assert!(parse_content_length(b"-1").is_err());
        assert!(parse_content_length(b"1e3").is_err());
        assert!(parse_content_length(b"99999999999999999999999").is_err());
    }
}
