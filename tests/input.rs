//! Issue 3: wsgi.input — read(), read(n), read(0), readline(), readline(n), readlines(hint), iteration, past the
//! end, chunked bodies (WSGIChunkedRequest), unread bodies with keep-alive, LimitRequestBody.

use rwsgi_testkit as kit;

use std::io::{BufReader, Write};

use kit::ServerBuilder;
use kit::http::{connect, read_response};

fn server() -> kit::Server {
    ServerBuilder::new("input")
        .conf("WSGIScriptAlias /in {apps}/input.wsgi\nWSGIScriptAlias /chunked {apps}/input.wsgi\n<Location /chunked>\nWSGIChunkedRequest On\n</Location>\n<Location /limited>\nLimitRequestBody 1000\nWSGIChunkedRequest On\n</Location>\nWSGIScriptAlias /limited {apps}/echo.wsgi")
        .start()
}

fn post(s: &kit::Server, path: &str, body: &[u8]) -> std::collections::HashMap<String, String> {
    let r = s.post(path, "application/octet-stream", body);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.pairs()
}

fn chunked(s: &kit::Server, path: &str, chunks: &[&[u8]]) -> kit::Response {
    let mut raw = format!("POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        .into_bytes();
    for c in chunks {
        raw.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        raw.extend_from_slice(c);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    s.request(&raw)
}

#[test]
fn read_variants() {
    let s = server();
    let body: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let e = post(&s, "/in/read", &body);
    assert_eq!(e["len"], "100000");
    assert_eq!(e["again"], "b''", "read() past the end");
    assert_eq!(e["again_n"], "b''", "read(n) past the end");

    let e = post(&s, "/in/readn?7", &[b'x'; 30]);
    assert_eq!(e["sizes"], "[7, 7, 7, 7, 2]", "read(n) returns n until the end");
    let e = post(&s, "/in/readn?65536", &vec![b'x'; 200_000]);
    assert_eq!(
        e["sizes"], "[65536, 65536, 65536, 3392]",
        "read(n) blocks until n bytes"
    );

    // Large reads land straight in the returned bytes: every byte arrives, in order, also after a readline()
    // that left part of the body buffered, and for chunked bodies.
    let body: Vec<u8> = (0..300_001u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for q in ["65536", "10000", "65536,line"] {
        let r = s.post(&format!("/in/readn-echo?{q}"), "application/octet-stream", &body);
        assert_eq!(r.status, 200);
        assert!(
            r.body == body,
            "read({q}) returned the body exactly ({} of {} bytes)",
            r.body.len(),
            body.len()
        );
    }
    let pieces: Vec<&[u8]> = body.chunks(7_777).collect();
    let r = chunked(&s, "/chunked/readn-echo?65536", &pieces);
    assert!(r.body == body, "chunked: {} of {} bytes", r.body.len(), body.len());
    let e = post(&s, "/in/read0", b"abc");
    assert_eq!((e["zero"].as_str(), e["rest"].as_str()), ("b''", "b'abc'"));
    let e = post(&s, "/in/none", b"abc");
    assert_eq!(e["none"], "b'abc'");
}

#[test]
fn readline_readlines_iteration() {
    let s = server();
    let e = post(&s, "/in/readline", b"first line\nsecond\nthird\nfourth");
    assert_eq!(e["l1"], "b'first line\\n'");
    assert_eq!(e["l2_limited"], "b'sec'");
    assert_eq!(e["l2_rest"], "b'ond\\n'");
    assert_eq!(e["l0"], "b''");
    assert_eq!(e["rest"], "[b'third\\n', b'fourth']");
    assert_eq!(e["eof"], "b''");
    let e = post(&s, "/in/readlines-hint", b"aa\nbb\ncc\ndd\n");
    assert_eq!(
        e["lines"], "[b'aa\\n', b'bb\\n']",
        "readlines(hint) stops once hint bytes were read"
    );
    assert_eq!(e["rest"], "b'cc\\ndd\\n'");
    let e = post(&s, "/in/iter", b"x\ny\nz");
    assert_eq!(e["lines"], "[b'x\\n', b'y\\n', b'z']");
    let long_line = vec![b'q'; 300_000];
    let e = post(&s, "/in/iter", &long_line);
    assert!(
        e["lines"].len() > 300_000,
        "a line longer than any buffer is returned whole"
    );
}

#[test]
fn chunked_request_bodies() {
    let s = server();
    let r = chunked(
        &s,
        "/chunked/readline",
        &[b"first ", b"line\nsec", b"ond\nthird\nfourth"],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let e = r.pairs();
    assert_eq!(e["l1"], "b'first line\\n'");
    assert_eq!(e["rest"], "[b'third\\n', b'fourth']");
    let big: Vec<u8> = vec![b'z'; 70_000];
    let r = chunked(&s, "/chunked/read", &[&big, &big, b"end"]);
    assert_eq!(r.pairs()["len"], "140003");
    // WSGIChunkedRequest Off (the default) refuses chunked bodies with 411.
    let r = chunked(&s, "/in/read", &[b"abc"]);
    assert_eq!(r.status, 411);
    assert!(s.wait_log("WSGIChunkedRequest On", 5));
    // A malformed chunked body: httpd answers 400 once (no second error page), the app sees OSError.
    let r = s.request(b"POST /chunked/read HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\nab\r\n0\r\n\r\n");
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text().matches("<html>").count(),
        1,
        "exactly one error page: {}",
        r.text()
    );
}

#[test]
fn unread_body_does_not_break_keep_alive() {
    let s = server();
    let mut conn = connect(s.port);
    let body = vec![b'u'; 50_000];
    let mut raw = format!(
        "POST /in/ignore HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(&body);
    raw.extend_from_slice(b"GET /in/read HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    conn.write_all(&raw).expect("send two pipelined requests");
    let mut reader = BufReader::new(conn);
    let first = read_response(&mut reader, false).expect("first response");
    assert_eq!(first.status, 200);
    assert_eq!(first.pairs()["ignored"], "True");
    let second = read_response(&mut reader, false).expect("second response on the same connection");
    assert_eq!(second.status, 200);
    assert_eq!(second.pairs()["len"], "5");
    assert_eq!(second.pairs()["head"], "b'hello'");
}

#[test]
fn limit_request_body_gives_413() {
    let s = server();
    let r = s.post("/limited", "application/octet-stream", &[b'x'; 5000]);
    assert_eq!(r.status, 413);
    let r = chunked(&s, "/limited", &[&[b'y'; 3000]]);
    assert_eq!(r.status, 413);
    let r = s.post("/limited", "application/octet-stream", &[b'x'; 500]);
    assert_eq!(r.status, 200);
    assert!(
        s.wait_log("LimitRequestBody", 5),
        "the log names the cause:\n{}",
        s.error_log()
    );
}
