//! Issue 3: a Flask app and a single-file Django project from PyPI, in a virtualenv (WSGIPythonHome), mounted
//! at / and at /app: routes, url_for / reverse under the sub-URL, JSON POST, multipart upload, redirects,
//! streaming, Django's CSRF form POST.

use rwsgi_testkit as kit;

use kit::ServerBuilder;
use kit::venv::venv;

fn multipart(note: &str, filename: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----rwsgiBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n{note}\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn sha256_hex(data: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().expect("stdin").write_all(data)?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

fn check_common(s: &kit::Server, prefix: &str, slash: &str, index_text: &str) {
    let p = |x: &str| format!("{prefix}{x}");
    let r = s.get(&p("/"));
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, index_text),
        "index under {prefix:?}:\n{}",
        r.text()
    );
    let r = s.get(&p(&format!("/hello/bob{slash}")));
    assert_eq!(r.text(), "Hello bob");
    let r = s.get(&p(&format!("/url{slash}")));
    assert_eq!(
        r.text(),
        format!("{prefix}/hello/x{slash}"),
        "URL generation honours SCRIPT_NAME"
    );

    let r = s.post(
        &p(&format!("/json{slash}")),
        "application/json",
        br#"{"numbers": [1, 2, 3.5], "name": "caf\u00e9"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("\"total\": 6.5") || r.text().contains("\"total\":6.5"),
        "{}",
        r.text()
    );

    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let (ct, body) = multipart("a note", "data.bin", &content);
    let r = s.post(&p(&format!("/upload{slash}")), &ct, &body);
    assert_eq!(r.text(), format!("data.bin 300000 {} a note", sha256_hex(&content)));

    let r = s.get(&p(&format!("/redirect{slash}")));
    assert_eq!(r.status, 302);
    let loc = r.header("Location").unwrap_or_default().to_string();
    assert!(
        loc.ends_with(&format!("{prefix}/")),
        "redirect to the index under the mount: {loc}"
    );

    let r = s.get(&p(&format!("/stream{slash}")));
    assert_eq!(r.text(), "line 0\nline 1\nline 2\nline 3\nline 4\n");
    assert!(r.complete);
}

#[test]
fn flask_at_root_and_sub_url() {
    let env = venv(&["flask"]);
    let s = ServerBuilder::new("flask")
        .global(&format!("WSGIPythonHome {}", env.display()))
        .conf("WSGIScriptAlias /app {apps}/flask.wsgi\nWSGIScriptAlias / {apps}/flask.wsgi")
        .start();
    check_common(&s, "", "", "flask index");
    check_common(&s, "/app", "", "flask index");
}

#[test]
fn django_at_root_and_sub_url_with_csrf() {
    let env = venv(&["django"]);
    let s = ServerBuilder::new("django")
        .global(&format!("WSGIPythonHome {}", env.display()))
        .conf("WSGIScriptAlias /app {apps}/django_site.wsgi\nWSGIScriptAlias / {apps}/django_site.wsgi")
        .start();
    check_common(&s, "", "/", "django index");
    check_common(&s, "/app", "/", "django index");

    for prefix in ["", "/app"] {
        let r = s.get(&format!("{prefix}/form/"));
        assert_eq!(r.status, 200);
        let token = r
            .text()
            .split("value=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .unwrap_or_default()
            .to_string();
        let cookie = r
            .headers
            .iter()
            .find(|(k, v)| k.eq_ignore_ascii_case("Set-Cookie") && v.starts_with("csrftoken="))
            .map(|(_, v)| v.split(';').next().unwrap_or_default().to_string())
            .unwrap_or_default();
        assert!(
            !token.is_empty() && !cookie.is_empty(),
            "form gives a CSRF token and cookie: {:?}",
            r.headers
        );
        let body = format!("csrfmiddlewaretoken={token}&value=hello");
        let raw = format!(
            "POST {prefix}/form/ HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let r = s.request(raw.as_bytes());
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, "posted: hello"),
            "CSRF form POST under {prefix:?}"
        );
        let raw = "POST /form/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\nConnection: close\r\n\r\nvalue=hello";
        assert_eq!(
            s.request(raw.as_bytes()).status,
            403,
            "a POST without the token is refused by Django"
        );
    }
}
