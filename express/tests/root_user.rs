//! Started as root without --user: the app runs as www-data / apache / nobody with a warning, and an app that
//! user cannot read is refused before httpd starts.

use rwsgi_testkit as kit;
use rwsgi_testkit::require_module;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use kit::{ExpressServer, TempDir, run_express};

fn uid_of(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn root_without_user_runs_the_app_unprivileged_with_a_warning() {
    let _module = require_module!();
    if !kit::is_root() {
        eprintln!("SKIPPED: needs root");
        return;
    }
    let dir = TempDir::new("rootuser");
    let script = dir.apps().join("express_hello.wsgi");
    let server = ExpressServer::start(&dir, &[script.to_str().expect("utf-8")], "/");
    let (status, body) = server.get("/");
    assert_eq!(status, 200, "{body}");
    let served_by: i32 = kit::field(&body, "PID").and_then(|p| p.parse().ok()).expect("PID");
    assert_ne!(
        uid_of(served_by),
        Some(0),
        "the daemon process that ran the app runs as root"
    );
    assert_ne!(kit::field(&body, "UID"), Some("0"));
    let logs = server.logs();
    assert!(logs.contains("warning: running as root without --user"), "{logs}");
    assert!(server.stdout().contains("Running As         : "), "{}", server.stdout());
    let httpd = server.httpd_pid().expect("pid");
    kit::wait_until(Duration::from_secs(5), || !kit::children_of(httpd).is_empty());
    let children = kit::descendants_of(httpd);
    assert!(children.contains(&served_by), "the daemon process is below httpd");
    for child in children {
        assert_ne!(uid_of(child), Some(0), "httpd child {child} runs as root");
    }
}

#[test]
fn an_app_the_run_user_cannot_read_is_refused() {
    let module = require_module!();
    if !kit::is_root() {
        eprintln!("SKIPPED: needs root");
        return;
    }
    let dir = TempDir::new("private");
    let script = dir.write("private/app.wsgi", "def application(e, s):\n    return []\n");
    std::fs::set_permissions(dir.path("private"), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let (code, _, err) = run_express(
        &[
            "start-server",
            script.to_str().expect("utf-8"),
            "--module-path",
            module.to_str().expect("utf-8"),
            "--server-root",
            dir.path("sr").to_str().expect("utf-8"),
        ],
        &dir.0,
    );
    assert_eq!(code, 1, "{err}");
    let line = err.lines().find(|l| l.contains("error:")).expect("an error line");
    assert!(
        line.contains("cannot") && line.contains("private/app.wsgi") && line.contains("runs as user"),
        "{err}"
    );
}

#[test]
fn a_virtualenv_whose_python_the_run_user_cannot_read_is_refused() {
    let module = require_module!();
    if !kit::is_root() {
        eprintln!("SKIPPED: needs root");
        return;
    }
    let dir = TempDir::new("venv");
    let script = dir.apps().join("express_hello.wsgi");
    // The shape of a virtualenv made from a Python under a 0700 home (e.g. /root/.pyenv).
    let base = dir.path("private/bin");
    std::fs::create_dir_all(&base).expect("mkdir");
    std::fs::copy("/bin/true", base.join("python3")).expect("fake python");
    std::fs::set_permissions(dir.path("private"), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    dir.write("venv/pyvenv.cfg", &format!("home = {}\n", base.display()));
    std::fs::create_dir_all(dir.path("venv/bin")).expect("mkdir");
    std::os::unix::fs::symlink(base.join("python3"), dir.path("venv/bin/python3")).expect("symlink");
    let (code, _, err) = run_express(
        &[
            "start-server",
            script.to_str().expect("utf-8"),
            "--python-home",
            dir.path("venv").to_str().expect("utf-8"),
            "--module-path",
            module.to_str().expect("utf-8"),
            "--server-root",
            dir.path("sr").to_str().expect("utf-8"),
        ],
        &dir.0,
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot read the virtualenv's Python"), "{err}");
}
