//! HTTP/2 cleartext (h2c, mod_http2): a request body sent without Content-Length (HTTP/2 frames it itself)
//! reaches the app as mod_wsgi passes it — in embedded and daemon mode, with WSGIChunkedRequest On as for a
//! chunked HTTP/1.1 body, and refused with 411 without it.

use std::io::Write;
use std::process::{Command, Stdio};

use rwsgi_testkit as kit;

use kit::ServerBuilder;

/// (HTTP version, status, body) of a POST of `body` whose size curl does not announce (read from a pipe).
fn post_streamed(port: u16, path: &str, body: &[u8]) -> (String, u16, String) {
    let mut child = Command::new("curl")
        .args([
            "-s",
            "--http2-prior-knowledge",
            "--max-time",
            "20",
            "-w",
            "\n%{http_version} %{http_code}",
            "-T",
            "-",
            "-X",
            "POST",
        ])
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl (./dev test installs it)");
    // curl may stop reading when the server answers early (411): a broken pipe then is not the test's concern.
    let _ = child.stdin.take().expect("stdin").write_all(body);
    let out = child.wait_with_output().expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, tail) = text.rsplit_once('\n').unwrap_or(("", ""));
    let (version, code) = tail.split_once(' ').unwrap_or(("", "0"));
    (version.to_string(), code.parse().unwrap_or(0), body.to_string())
}

#[test]
fn h2c_body_without_content_length_reaches_the_app() {
    let mods = kit::modules_dir();
    let s = ServerBuilder::new("h2c")
        .global(&format!(
            "<IfModule !mod_http2.c>\nLoadModule http2_module {mods}/mod_http2.so\n</IfModule>\nProtocols h2c http/1.1"
        ))
        .conf(
            "WSGIDaemonProcess h2 processes=1 threads=2\n\
             WSGIScriptAlias /emb {apps}/echo.wsgi\nWSGIScriptAlias /dmn {apps}/echo.wsgi process-group=h2\n\
             WSGIScriptAlias /strict {apps}/echo.wsgi\n\
             <Location /emb>\nWSGIChunkedRequest On\n</Location>\n<Location /dmn>\nWSGIChunkedRequest On\n</Location>",
        )
        .start();
    let body: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    for path in ["/emb", "/dmn"] {
        let (version, code, echoed) = post_streamed(s.port, path, &body);
        assert_eq!((version.as_str(), code), ("2", 200), "{path}: {echoed:.200}");
        assert_eq!(echoed.len(), body.len(), "{path}");
        assert_eq!(echoed.as_bytes(), &body[..], "{path}");
    }
    // Without WSGIChunkedRequest On, as a chunked HTTP/1.1 body: 411 (a small body: curl sends it all first).
    let (version, code, _) = post_streamed(s.port, "/strict", b"small body");
    assert_eq!((version.as_str(), code), ("2", 411));
    assert!(
        s.error_log().contains("enable it with WSGIChunkedRequest On"),
        "{}",
        s.error_log()
    );
}
