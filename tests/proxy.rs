//! WSGITrustedProxyHeaders / WSGITrustedProxies through a real httpd: each header from a trusted peer, the same
//! headers from an untrusted peer (removed, nothing rewritten), synonyms of a listed header, underscore spoofs,
//! and the scheme over a TLS connection (mod_ssl) where the proxy's header must win.

use std::collections::HashMap;
use std::process::Command;

use rwsgi_testkit as kit;

use kit::ServerBuilder;

const ALL: &str = "X-Forwarded-For X-Client-IP X-Real-IP X-Forwarded-Host X-Host X-Forwarded-Server X-Forwarded-Port X-Script-Name X-Forwarded-Script-Name X-Forwarded-Proto X-Forwarded-Scheme X-Scheme X-Forwarded-HTTPS X-Forwarded-SSL X-HTTPS";

fn config() -> String {
    format!(
        "WSGIScriptAlias /p {{apps}}/environ.wsgi\n\
         <Location /p/open>\nWSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Host X-Forwarded-Proto X-Forwarded-SSL X-Script-Name\n</Location>\n\
         <Location /p/trusted>\nWSGITrustedProxyHeaders {ALL}\nWSGITrustedProxies 10.0.0.0/8 127.0.0.1 ::1\n</Location>\n\
         <Location /p/untrusted>\nWSGITrustedProxyHeaders {ALL}\nWSGITrustedProxies 10.99.99.99 192.168.0.0/16\n</Location>\n\
         <Location /p/partial>\nWSGITrustedProxyHeaders X-Forwarded-For\n</Location>\n\
         <Location /p/inherit>\nWSGITrustedProxyHeaders X-Real-IP\n</Location>\n\
         <Location /p/inherit/child>\nWSGITrustedProxyHeaders X-Forwarded-Host\n</Location>\n"
    )
}

fn env(s: &kit::Server, path: &str, headers: &[(&str, &str)]) -> HashMap<String, String> {
    let mut raw = format!("GET {path} HTTP/1.1\r\nHost: real.host:{}\r\n", s.port);
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str("Connection: close\r\n\r\n");
    let r = s.request(raw.as_bytes());
    assert_eq!(r.status, 200, "{path} {headers:?}\n{}", r.text());
    r.pairs()
}

#[test]
fn trusted_peer_headers_rewrite_the_environ() {
    let s = ServerBuilder::new("proxy-trusted").conf(&config()).start();
    let e = |h: &[(&str, &str)]| env(&s, "/p/trusted/x", h);
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "X-Forwarded-For",
            "203.0.113.5, 127.0.0.1",
            "REMOTE_ADDR",
            "203.0.113.5",
        ),
        (
            "X-Forwarded-For",
            "198.51.100.9, 203.0.113.5",
            "REMOTE_ADDR",
            "203.0.113.5",
        ),
        (
            "X-Forwarded-For",
            "1.1.1.1, 203.0.113.5, 10.1.1.1, 127.0.0.1",
            "REMOTE_ADDR",
            "203.0.113.5",
        ),
        (
            "X-Forwarded-For",
            "203.0.113.5, , 127.0.0.1,",
            "REMOTE_ADDR",
            "203.0.113.5",
        ),
        ("X-Client-IP", "203.0.113.7", "REMOTE_ADDR", "203.0.113.7"),
        ("X-Real-IP", "203.0.113.8", "REMOTE_ADDR", "203.0.113.8"),
        ("X-Forwarded-Host", "real.example.com", "HTTP_HOST", "real.example.com"),
        (
            "X-Host",
            "other.example.com:8080",
            "HTTP_HOST",
            "other.example.com:8080",
        ),
        (
            "X-Forwarded-Server",
            "srv.example.com",
            "SERVER_NAME",
            "srv.example.com",
        ),
        ("X-Forwarded-Port", "8443", "SERVER_PORT", "8443"),
        ("X-Script-Name", "/mounted", "SCRIPT_NAME", "/mounted"),
        ("X-Script-Name", "/mounted", "mod_wsgi.mount_point", "/mounted"),
        ("X-Script-Name", "/mounted", "mod_wsgi.script_name", "/p"),
        ("X-Forwarded-Script-Name", "/other", "SCRIPT_NAME", "/other"),
        ("X-Forwarded-Proto", "https", "wsgi.url_scheme", "https"),
        ("X-Forwarded-Proto", "https", "REQUEST_SCHEME", "https"),
        ("X-Forwarded-Scheme", "https", "wsgi.url_scheme", "https"),
        ("X-Scheme", "https", "wsgi.url_scheme", "https"),
        ("X-Forwarded-HTTPS", "on", "wsgi.url_scheme", "https"),
        ("X-Forwarded-SSL", "true", "wsgi.url_scheme", "https"),
        ("X-HTTPS", "1", "wsgi.url_scheme", "https"),
        ("X-Forwarded-SSL", "0", "wsgi.url_scheme", "http"),
    ];
    for (header, value, key, want) in cases {
        let got = e(&[(header, value)]);
        assert_eq!(
            got.get(*key).map(String::as_str),
            Some(*want),
            "{header}: {value} -> {key}"
        );
        // The applied header itself stays, so the app can see the chain.
        assert!(
            got.contains_key(&format!("HTTP_{}", header.to_uppercase().replace('-', "_"))),
            "{header} removed"
        );
    }
    // The chain is rewritten to start at the client.
    let got = e(&[("X-Forwarded-For", "9.9.9.9, 203.0.113.5, 127.0.0.1")]);
    assert_eq!(got["HTTP_X_FORWARDED_FOR"], "203.0.113.5, 127.0.0.1");
    // Two synonyms sent: the later listed one wins, the other is gone.
    let got = e(&[("X-Forwarded-For", "203.0.113.5"), ("X-Real-IP", "198.51.100.1")]);
    assert_eq!(got["REMOTE_ADDR"], "198.51.100.1");
    assert!(!got.contains_key("HTTP_X_FORWARDED_FOR"));
    // Nothing sent: nothing changes.
    let got = e(&[]);
    assert_eq!(got["REMOTE_ADDR"], "127.0.0.1");
    assert_eq!(got["HTTP_HOST"], format!("real.host:{}", s.port));
    assert_eq!(got["SCRIPT_NAME"], "/p");
    assert_eq!(got["wsgi.url_scheme"], "http");
    assert!(!got.contains_key("mod_wsgi.mount_point"));
}

#[test]
fn untrusted_peer_headers_are_removed_and_change_nothing() {
    let s = ServerBuilder::new("proxy-untrusted").conf(&config()).start();
    let port = s.port.to_string();
    for name in ALL.split(' ') {
        let value = if name.contains("Script") {
            "/spoof"
        } else if name.contains("Proto") || name.contains("Scheme") {
            "https"
        } else if name.contains("Port") {
            "31337"
        } else if name.contains("SSL") || name.contains("HTTPS") {
            "on"
        } else if name.contains("Host") || name.contains("Server") {
            "spoof.example.com"
        } else {
            "203.0.113.5"
        };
        let got = env(&s, "/p/untrusted/x", &[(name, value)]);
        let key = format!("HTTP_{}", name.to_uppercase().replace('-', "_"));
        assert!(!got.contains_key(&key), "{name} from an untrusted peer reached the app");
        assert_eq!(got["REMOTE_ADDR"], "127.0.0.1", "{name}");
        assert_eq!(got["HTTP_HOST"], format!("real.host:{port}"), "{name}");
        assert_eq!(got["SERVER_PORT"], port, "{name}");
        assert_eq!(got["SCRIPT_NAME"], "/p", "{name}");
        assert_eq!(got["wsgi.url_scheme"], "http", "{name}");
        assert!(!got.contains_key("HTTPS"), "{name}");
    }
    // A header repeated on several lines (httpd joins them) is removed as a whole.
    let got = env(
        &s,
        "/p/untrusted/x",
        &[("X-Forwarded-For", "203.0.113.5"), ("X-Forwarded-For", "10.0.0.1")],
    );
    assert!(!got.contains_key("HTTP_X_FORWARDED_FOR"));
    // Underscores instead of dashes never become HTTP_X_FORWARDED_FOR (httpd drops such headers), trusted or not.
    for path in ["/p/untrusted/x", "/p/trusted/x", "/p/open/x"] {
        let got = env(
            &s,
            path,
            &[
                ("X_Forwarded_For", "203.0.113.5"),
                ("X-Forwarded_Host", "spoof.example.com"),
            ],
        );
        assert_eq!(got["REMOTE_ADDR"], "127.0.0.1", "{path}");
        assert!(!got.contains_key("HTTP_X_FORWARDED_FOR"), "{path}");
        assert!(!got.contains_key("HTTP_X_FORWARDED_HOST"), "{path}");
        assert_eq!(got["HTTP_HOST"], format!("real.host:{port}"), "{path}");
    }
}

#[test]
fn only_listed_categories_are_touched() {
    let s = ServerBuilder::new("proxy-partial").conf(&config()).start();
    let got = env(
        &s,
        "/p/partial/x",
        &[
            ("X-Forwarded-For", "203.0.113.5, 10.0.0.1"),
            ("X-Real-IP", "198.51.100.9"),
            ("X-Forwarded-Host", "proxy.example.com"),
            ("X-Forwarded-Proto", "https"),
            ("X-Script-Name", "/app"),
        ],
    );
    assert_eq!(got["REMOTE_ADDR"], "203.0.113.5");
    assert_eq!(got["HTTP_X_FORWARDED_FOR"], "203.0.113.5, 10.0.0.1");
    // A synonym of the listed header: removed.
    assert!(!got.contains_key("HTTP_X_REAL_IP"));
    // Other categories: ordinary headers, applied to nothing.
    assert_eq!(got["HTTP_X_FORWARDED_HOST"], "proxy.example.com");
    assert_eq!(got["HTTP_HOST"], format!("real.host:{}", s.port));
    assert_eq!(got["HTTP_X_FORWARDED_PROTO"], "https");
    assert_eq!(got["wsgi.url_scheme"], "http");
    assert_eq!(got["SCRIPT_NAME"], "/p");
    // No WSGITrustedProxyHeaders at all: every header is an ordinary one.
    let got = env(
        &s,
        "/p/x",
        &[("X-Forwarded-For", "203.0.113.5"), ("X-Real-IP", "1.2.3.4")],
    );
    assert_eq!(got["REMOTE_ADDR"], "127.0.0.1");
    assert_eq!(got["HTTP_X_REAL_IP"], "1.2.3.4");
    // A nested section's list replaces its parent's (as mod_wsgi merges it).
    let got = env(&s, "/p/inherit/x", &[("X-Real-IP", "1.2.3.4")]);
    assert_eq!(got["REMOTE_ADDR"], "1.2.3.4");
    let got = env(
        &s,
        "/p/inherit/child/x",
        &[("X-Real-IP", "1.2.3.4"), ("X-Forwarded-Host", "h.example")],
    );
    assert_eq!(got["REMOTE_ADDR"], "127.0.0.1");
    assert_eq!(got["HTTP_X_REAL_IP"], "1.2.3.4");
    assert_eq!(got["HTTP_HOST"], "h.example");
}

#[test]
fn bad_proxy_lists_are_refused_and_unknown_headers_named() {
    for (line, needle) in [
        (
            "WSGITrustedProxies 10.0.0.0/33",
            "\"10.0.0.0/33\" is not an IP address or network",
        ),
        (
            "WSGITrustedProxies proxy.example.com",
            "\"proxy.example.com\" is not an IP address or network",
        ),
        ("WSGITrustedProxies", "takes one or more addresses"),
        ("WSGITrustedProxyHeaders", "takes one or more header names"),
    ] {
        let b = ServerBuilder::new("proxy-bad").conf(line);
        let (ok, out) = b.config_test();
        assert!(!ok, "{line} accepted");
        assert!(out.contains("WSGITrustedProx") && out.contains(needle), "{line}: {out}");
    }
    let b = ServerBuilder::new("proxy-unknown").conf("WSGITrustedProxyHeaders X-Forwarded-For X-Forwarded-Prefix");
    let (ok, out) = b.config_test();
    assert!(ok, "{out}");
    assert!(
        out.contains("X-Forwarded-Prefix ignored") && out.contains("X-Forwarded-Proto"),
        "{out}"
    );
}

/// mod_ssl terminates TLS; a trusted proxy's scheme header still decides wsgi.url_scheme (the proxy's client may
/// have used plain HTTP); without one, the TLS connection's own scheme holds.
#[test]
fn scheme_header_wins_over_the_tls_connection() {
    let mods = kit::modules_dir();
    if !std::path::Path::new(&format!("{mods}/mod_ssl.so")).exists()
        || Command::new("curl").arg("--version").output().is_err()
    {
        panic!("mod_ssl.so and curl are needed (apt-get install apache2 curl): ./dev test installs them");
    }
    let b = ServerBuilder::new("proxy-tls");
    let root = b.apps().parent().expect("root").to_path_buf();
    let (cert, key) = kit::self_signed_cert(&root);
    let tls_port = kit::free_port();
    let _server = b
        .global(&format!("<IfModule !mod_ssl.c>\nLoadModule ssl_module {mods}/mod_ssl.so\n</IfModule>\n<IfModule !mod_socache_shmcb.c>\nLoadModule socache_shmcb_module {mods}/mod_socache_shmcb.so\n</IfModule>"))
        .conf(&format!(
            "{}Listen 127.0.0.1:{tls_port}\n<VirtualHost 127.0.0.1:{tls_port}>\nSSLEngine on\nSSLCertificateFile {}\nSSLCertificateKeyFile {}\n</VirtualHost>",
            config(),
            cert.display(),
            key.display()
        ))
        .start();
    let scheme = |path: &str, header: Option<&str>| -> String {
        let mut c = Command::new("curl");
        c.args(["-sk", "--max-time", "20"])
            .arg(format!("https://127.0.0.1:{tls_port}{path}"));
        if let Some(h) = header {
            c.args(["-H", h]);
        }
        let out = c.output().expect("curl");
        let body = String::from_utf8_lossy(&out.stdout).to_string();
        body.lines()
            .find_map(|l| l.strip_prefix("wsgi.url_scheme\t"))
            .unwrap_or_else(|| panic!("{path} {header:?}: {body}"))
            .to_string()
    };
    assert_eq!(scheme("/p/x", None), "https");
    assert_eq!(scheme("/p/trusted/x", Some("X-Forwarded-Proto: http")), "http");
    assert_eq!(scheme("/p/trusted/x", Some("X-Forwarded-Proto: https")), "https");
    assert_eq!(scheme("/p/trusted/x", None), "https");
    assert_eq!(scheme("/p/trusted/x", Some("X-Forwarded-SSL: Off")), "http");
    // Not listed, or from an untrusted peer: httpd's own view.
    assert_eq!(scheme("/p/partial/x", Some("X-Forwarded-Proto: http")), "https");
    assert_eq!(scheme("/p/untrusted/x", Some("X-Forwarded-Proto: http")), "https");
}
