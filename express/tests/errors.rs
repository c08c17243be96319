//! Errors for humans: one line naming the problem, a non-zero exit, no panic or backtrace.

use rwsgi_testkit as kit;
use rwsgi_testkit::require_module;

use kit::{TempDir, run_express};

fn one_line_error(code: i32, stderr: &str, expected_code: i32, needle: &str) {
    assert_eq!(code, expected_code, "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.contains("warning:")).collect();
    assert_eq!(lines.len(), 1, "one line expected:\n{stderr}");
    assert!(
        lines[0].starts_with("rwsgi-express: error: ") && lines[0].contains(needle),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
}

#[test]
fn bad_command_lines() {
    let dir = TempDir::new("errors");
    let apps = dir.apps();
    let script = apps.join("express_hello.wsgi");
    let s = script.to_str().expect("utf-8");
    let no_callable = dir.write("nocallable.wsgi", "def app(environ, start_response):\n    return []\n");
    let nc = no_callable.to_str().expect("utf-8");
    for (args, code, needle) in [
        (vec!["start-server", "missing.wsgi"], 2, "WSGI script not found"),
        (vec!["start-server", s, "--port", "http"], 2, "--port"),
        (vec!["start-server", s, "--no-such-option"], 2, "--no-such-option"),
        (
            vec!["start-server", s, "--embedded-mode", "--queue-timeout", "10"],
            2,
            "--embedded-mode",
        ),
        (
            vec!["start-server", s, "--response-flush-delay", "5"],
            2,
            "not available yet",
        ),
        (vec!["start-server", s, "--queue-timeout", "soon"], 2, "--queue-timeout"),
        (vec!["start-server", s, "--processes"], 2, "--processes"),
        (
            vec!["start-server", s, "--rewrite-rules", "rules.conf"],
            2,
            "not available yet",
        ),
        (vec!["setup-server", s, "--reload-on-changes"], 2, "start-server"),
        (
            vec!["start-server", "--application-type", "module", "not a module"],
            2,
            "module name",
        ),
        (
            vec!["start-server", s, "--module-path", "/nonexistent/mod_rwsgi.so"],
            2,
            "--module-path",
        ),
        (vec!["frobnicate"], 2, "unknown command"),
        (vec!["start-server", nc], 2, "does not define 'application'"),
        (
            vec!["module-location", "--module-path", "/nonexistent.so"],
            2,
            "--module-path",
        ),
    ] {
        let (c, _, err) = run_express(&args, &dir.0);
        one_line_error(c, &err, code, needle);
    }
}

#[test]
fn port_in_use_is_detected_up_front() {
    let module = require_module!();
    let dir = TempDir::new("port");
    let script = dir.apps().join("express_hello.wsgi");
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port().to_string();
    let (c, _, err) = run_express(
        &[
            "start-server",
            script.to_str().expect("utf-8"),
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--module-path",
            module.to_str().expect("utf-8"),
            "--server-root",
            dir.path("sr").to_str().expect("utf-8"),
        ],
        &dir.0,
    );
    one_line_error(c, &err, 1, "already in use");
    assert!(
        !dir.path("sr").exists(),
        "a busy port must not leave a server root behind"
    );
}

#[test]
fn every_subcommand_has_grouped_help() {
    let dir = TempDir::new("help");
    let (c, out, _) = run_express(&["--help"], &dir.0);
    assert_eq!(c, 0);
    for cmd in [
        "start-server",
        "setup-server",
        "module-config",
        "install-module",
        "module-location",
    ] {
        assert!(out.contains(cmd), "{out}");
        let (c, help, err) = run_express(&[cmd, "--help"], &dir.0);
        assert_eq!(c, 0, "{err}");
        assert!(help.starts_with(&format!("Usage: rwsgi-express {cmd}")), "{help}");
    }
    let (_, help, _) = run_express(&["start-server", "--help"], &dir.0);
    for group in [
        "Application:",
        "Network, HTTPS and proxies:",
        "Timeouts:",
        "Logging and monitoring:",
    ] {
        assert!(help.contains(group), "{help}");
    }
}

#[test]
fn a_configuration_httpd_rejects_shows_httpds_message() {
    let module = require_module!();
    let dir = TempDir::new("badconf");
    let script = dir.apps().join("express_hello.wsgi");
    let bad = dir.write("bad.conf", "ThisIsNotADirective on\n");
    let port = kit::free_port().to_string();
    let (code, _, err) = run_express(
        &[
            "start-server",
            script.to_str().expect("utf-8"),
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--include-file",
            bad.to_str().expect("utf-8"),
            "--module-path",
            module.to_str().expect("utf-8"),
            "--server-root",
            dir.path("sr").to_str().expect("utf-8"),
        ],
        &dir.0,
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("rwsgi-express: error: httpd rejected the configuration"),
        "{err}"
    );
    assert!(
        err.contains("ThisIsNotADirective"),
        "httpd's own message is shown: {err}"
    );
    assert!(
        kit::http_get(port.parse().expect("port"), "/").is_none(),
        "nothing was started"
    );
}
