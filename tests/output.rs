//! Issue 3: start_response validation, output rules, close(), exceptions, and bad app behaviour — each ends as
//! a 500 (or a visibly incomplete response) with a log entry, and the same child serves the next request.

use rwsgi_testkit as kit;

use std::io::{BufRead, BufReader, Read, Write};

use kit::ServerBuilder;
use kit::http::connect;

fn server() -> kit::Server {
    ServerBuilder::new("output")
        .mpm("event", 1, 4)
        .conf("WSGIScriptAlias /out {apps}/output.wsgi\nWSGIScriptAlias /env {apps}/environ.wsgi\nWSGIScriptAlias /logs {apps}/logs.wsgi")
        .start()
}

fn pid(s: &kit::Server) -> String {
    s.get("/env").pairs()["process.pid"].clone()
}

#[test]
fn bad_app_behaviour_is_a_500_with_a_log_line_and_the_child_survives() {
    let s = server();
    let first_pid = pid(&s);
    let cases: &[(&str, &str)] = &[
        ("/exc-before", "ValueError: boom before output"),
        ("/no-start-response", "before calling start_response()"),
        ("/str-body", "must yield bytes, not str"),
        ("/str-write", "write() argument must be bytes, not str"),
        ("/non-iterable", "must return an iterable of bytes, not int"),
        ("/bad-header-type", "TypeError: must be str, not int"),
        (
            "/headers-not-list",
            "start_response() argument 2 must be list, not tuple",
        ),
        (
            "/non-latin1",
            "UnicodeEncodeError: 'latin-1' codec can't encode character",
        ),
        ("/crlf", "carriage return/line feed character in header value: b'"),
        ("/nul", "control character in header value (only TAB is allowed): b'"),
        ("/bad-status", "no space following status code: b'200-OK'"),
        ("/status-type", "TypeError: must be str, not int"),
        (
            "/second-start",
            "start_response() called more than once without exc_info",
        ),
    ];
    for (path, log) in cases {
        let r = s.get(&format!("/out{path}"));
        assert_eq!(r.status, 500, "{path}");
        assert!(
            s.wait_log(log, 5),
            "{path}: expected {log:?} in the log:\n{}",
            s.error_log()
        );
        assert_eq!(pid(&s), first_pid, "{path}: the same child must serve the next request");
    }
    assert!(!s.error_log().contains("exit signal"));
}

#[test]
fn exception_before_output_logs_the_full_traceback() {
    let s = server();
    assert_eq!(s.get("/out/exc-before").status, 500);
    assert!(s.wait_log("ValueError: boom before output", 5));
    let log = s.error_log();
    for frame in [
        "in application",
        "in middle",
        "in inner",
        "Traceback (most recent call last):",
    ] {
        assert!(log.contains(frame), "missing {frame:?} in:\n{log}");
    }
}

#[test]
fn exception_after_output_leaves_the_response_visibly_incomplete() {
    let s = server();
    let r = s.get("/out/exc-after");
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "partial;");
    assert!(!r.complete, "a chunked response must lack its final chunk");
    let r = s.get("/out/exc-after-cl");
    assert!(!r.complete, "a Content-Length response must be short");
    let r = s.get("/out/exc-info-after-output");
    assert!(
        !r.complete,
        "start_response(exc_info) after output re-raises and cuts the response"
    );
    assert!(s.wait_log("ValueError: boom after output", 5));
}

#[test]
fn start_response_exc_info_and_app_side_validation() {
    let s = server();
    let r = s.get("/out/exc-info-replace");
    assert_eq!((r.status, r.text().as_str()), (503, "replaced"));
    assert_eq!(r.header("X-Second"), Some("1"));
    assert_eq!(r.header("X-First"), None, "headers are replaced with the status");
    let r = s.get("/out/caught");
    assert_eq!(r.status, 500);
    assert!(
        r.text().starts_with("caught: space character in header name"),
        "{}",
        r.text()
    );
    let r = s.get("/out/custom-status");
    assert_eq!(r.status, 299);
    let r = s.get("/out/exc-info-not-tuple");
    assert!(
        r.text()
            .starts_with("refused: start_response() argument 'exc_info' must be a 3-tuple or None"),
        "{}",
        r.text()
    );
}

#[test]
fn content_length_is_respected() {
    let s = server();
    let r = s.get("/out/cl-long");
    assert_eq!(
        (r.text().as_str(), r.complete),
        ("12345", true),
        "never more than Content-Length"
    );
    let r = s.get("/out/cl-short");
    assert_eq!(r.text(), "12345");
    assert!(!r.complete, "fewer bytes than Content-Length must not look complete");
    assert!(s.wait_log("declared Content-Length 10 but produced only 5 bytes", 5));
    // A generator reaching Content-Length with its first item: that item ends the response, what follows is cut,
    // and the generator still runs to its end (in both orders over a kept-alive connection: nothing leaks).
    for _ in 0..3 {
        let r = s.get("/out/cl-gen?tag-7");
        assert_eq!((r.text().as_str(), r.complete), ("12345", true));
    }
    assert!(s.wait_log("after the last yield tag-7", 5), "{}", s.error_log());
}

#[test]
fn head_204_304_and_hop_by_hop_headers() {
    let s = server();
    let mut c = connect(s.port);
    c.write_all(
        b"HEAD /out/head HTTP/1.1\r\nHost: x\r\n\r\nGET /out/write HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .expect("send");
    let mut rd = BufReader::new(c);
    let head = kit::http::read_response(&mut rd, true).expect("HEAD response");
    assert_eq!((head.status, head.header("Content-Length")), (200, Some("4")));
    let next = kit::http::read_response(&mut rd, false).expect("next response on the connection");
    assert_eq!(
        next.text(),
        "via-write;via-iterable;",
        "no body bytes leaked after HEAD"
    );

    for (path, code) in [("/out/204", 204), ("/out/304", 304)] {
        let mut c = connect(s.port);
        c.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
            .expect("send");
        let mut all = Vec::new();
        let _ = c.read_to_end(&mut all);
        let text = String::from_utf8_lossy(&all);
        assert!(text.starts_with(&format!("HTTP/1.1 {code}")), "{text}");
        assert!(!text.contains("should not be sent"), "{path} must have no body: {text}");
    }

    let r = s.get("/out/hop");
    assert_eq!(r.text(), "framed by the server");
    assert!(r.complete);
    assert_eq!(r.header("X-Kept"), Some("yes"));
    assert_eq!(r.header("Keep-Alive"), None);
    assert!(s.wait_log("dropped hop-by-hop response header", 5));
}

#[test]
fn items_are_streamed_as_produced() {
    let s = server();
    let marker = s.root.join("go-marker");
    let mut c = connect(s.port);
    c.write_all(
        format!(
            "GET /out/stream?{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            marker.display()
        )
        .as_bytes(),
    )
    .expect("send");
    let mut rd = BufReader::new(c);
    let mut seen = String::new();
    // Read until the first item arrives: it must come while the app is still waiting for the marker.
    while !seen.contains("first;") {
        let mut line = String::new();
        assert!(
            rd.read_line(&mut line).expect("read") > 0,
            "connection closed before the first item: {seen}"
        );
        seen.push_str(&line);
    }
    std::fs::write(&marker, b"go").expect("create marker");
    let mut rest = String::new();
    rd.read_to_string(&mut rest).expect("read rest");
    assert!(
        rest.contains("second;"),
        "the app saw the marker only after the first item was delivered: {rest}"
    );
}

#[test]
fn write_callable_empty_items_and_close() {
    let s = server();
    assert_eq!(s.get("/out/write").text(), "via-write;via-iterable;");
    assert_eq!(s.get("/out/empty-items").text(), "ab");
    assert_eq!(s.get("/out/close-normal").text(), "one;two;");
    assert!(s.wait_log("close() called for normal", 5));
    let r = s.get("/out/close-exception");
    assert!(!r.complete);
    assert!(
        s.wait_log("close() called for exception", 5),
        "close() after an exception"
    );
}

#[test]
fn close_is_called_after_client_disconnect_and_the_worker_is_free() {
    let s = server();
    let first_pid = pid(&s);
    let mut c = connect(s.port);
    c.write_all(b"GET /out/close-disconnect HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut buf = [0u8; 1024];
    let _ = c.read(&mut buf).expect("first bytes");
    drop(c);
    assert!(
        s.wait_log("close() called for disconnect", 20),
        "close() after a disconnect:\n{}",
        s.error_log()
    );
    assert_eq!(pid(&s), first_pid);
    assert_eq!(s.get("/out/write").status, 200, "the worker serves again");
}

#[test]
fn app_output_goes_to_the_error_log_with_levels() {
    let s = server();
    assert_eq!(s.get("/logs").text(), "logged");
    assert!(s.wait_log("critical from logging", 5));
    std::thread::sleep(std::time::Duration::from_millis(200));
    let log = s.error_log();
    let line = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not in:\n{log}"))
            .to_string()
    };
    let printed = line("printed to stdout");
    assert!(
        printed.contains("[client 127.0.0.1:") && printed.contains("logs.wsgi]"),
        "tagged with client and script: {printed}"
    );
    assert!(
        line("partial line to stderr").contains("[rwsgi:error]"),
        "line-buffered: one line from two writes"
    );
    line("unterminated tail");
    line("via wsgi.errors");
    line("second of two");
    assert!(line("a warning from logging").contains("[rwsgi:warn]"));
    assert!(line("an error from logging").contains("[rwsgi:error]"));
    assert!(line("a critical from logging").contains("[rwsgi:crit]"));
}

#[test]
fn signal_handlers_from_the_app_are_ignored_with_a_warning() {
    let s = server();
    let r = s.get("/logs/signal");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().starts_with("ignored"), "{}", r.text());
    assert!(
        s.wait_log("signal.signal(SIGTERM, ...) called by the application was ignored", 5),
        "{}",
        s.error_log()
    );
}

/// A list whose later item is not bytes: what came before it is sent, then the response is cut short (as
/// mod_wsgi ends it). A repeated header: one joined line (as httpd takes mod_wsgi's daemon responses), Set-Cookie
/// always separate. Both modes.
#[test]
fn later_non_bytes_item_and_repeated_headers_as_mod_wsgi() {
    let s = ServerBuilder::new("output-modes")
        .conf("WSGIDaemonProcess out processes=1 threads=2\nWSGIScriptAlias /emb {apps}/output.wsgi\nWSGIScriptAlias /dmn {apps}/output.wsgi process-group=out")
        .start();
    for mode in ["/emb", "/dmn"] {
        let r = s.get(&format!("{mode}/later-not-bytes"));
        assert_eq!((r.status, r.text().as_str()), (200, "bytes-ok"), "{mode}");
        assert!(!r.complete, "{mode}: the response must look incomplete");
        let r = s.get(&format!("{mode}/repeated-header"));
        let values = |name: &str| -> Vec<String> {
            r.headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .collect()
        };
        assert_eq!(values("X-Rep"), vec!["first, second"], "{mode}");
        assert_eq!(values("Set-Cookie"), vec!["a=1", "b=2"], "{mode}");
    }
    assert!(
        s.wait_log("TypeError: response iterable must yield bytes, not int", 5),
        "{}",
        s.error_log()
    );
}
