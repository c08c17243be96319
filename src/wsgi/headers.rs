//! Validation of what an app passes to start_response (PEP 3333, and stricter on purpose: any control character
//! other than TAB in a header value is refused). Pure functions over Rust strings.
#![deny(unsafe_code)]

/// A validated status: code and the full "NNN Reason" line as latin-1 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub code: u16,
    pub line: Vec<u8>,
}

pub fn latin1_bytes(s: &str, what: &str) -> Result<Vec<u8>, String> {
    s.chars()
        .map(|c| {
            u8::try_from(u32::from(c))
                .map_err(|_| format!("{what} {s:?} contains {c:?}, which is not latin-1 encodable"))
        })
        .collect()
}

pub fn parse_status(s: &str) -> Result<Status, String> {
    let line = latin1_bytes(s, "status")?;
    let digits_ok = line.len() >= 3 && line[..3].iter().all(u8::is_ascii_digit);
    if !digits_ok || (line.len() > 3 && line[3] != b' ') || line.len() < 4 {
        return Err(format!(
            "invalid status {s:?}: it must be a 3-digit code, a space and a reason phrase, e.g. '200 OK'"
        ));
    }
    if let Some(c) = line.iter().find(|&&b| b < 0x20 && b != b'\t' || b == 0x7f) {
        return Err(format!(
            "invalid status {s:?}: it contains the control character 0x{c:02x}"
        ));
    }
    let code = u16::from(line[0] - b'0') * 100 + u16::from(line[1] - b'0') * 10 + u16::from(line[2] - b'0');
    if code < 100 {
        return Err(format!("invalid status {s:?}: the code must be between 100 and 999"));
    }
    Ok(Status { code, line })
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

pub fn check_header(name: &str, value: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(format!(
            "invalid header name {name:?}: only token characters are allowed"
        ));
    }
    let v = latin1_bytes(value, &format!("value of header {name:?}"))?;
    if let Some(c) = v.iter().find(|&&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(format!(
            "value of header {name:?} contains the control character 0x{c:02x} (CR, LF, NUL and other control characters are not allowed)"
        ));
    }
    Ok((name.as_bytes().to_vec(), v))
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

    #[test]
    fn statuses() {
        assert_eq!(parse_status("200 OK").map(|s| s.code), Ok(200));
        assert_eq!(parse_status("404 Not Found").map(|s| s.code), Ok(404));
        assert!(parse_status("200").is_err());
        assert!(parse_status("20 OK").is_err());
        assert!(parse_status("200OK").is_err());
        assert!(parse_status("abc OK").is_err());
        assert!(parse_status("200 OK\r\nX: y").is_err());
        assert!(parse_status("200 \u{263a}").is_err());
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
        assert!(check_header("Bad Name", "x").is_err());
        assert!(check_header("", "x").is_err());
        assert!(check_header("X", "a\r\nSet-Cookie: x").unwrap_err().contains("0x0d"));
        assert!(check_header("X", "a\0b").is_err());
        assert!(check_header("X", "a\x7fb").is_err());
        assert!(check_header("X", "\u{20ac}").unwrap_err().contains("latin-1"));
        assert_eq!(check_header("X", "\u{e9}").map(|h| h.1), Ok(vec![0xe9]));
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
