//! Stopping start-server with SIGINT (Ctrl-C) or SIGTERM leaves no httpd process behind, both when
//! rwsgi-express execs httpd (no terminal) and when it supervises httpd and forwards signals.

use rwsgi_testkit as kit;
use rwsgi_testkit::require_module;

use kit::{ExpressServer, TempDir, alive};

fn stops_cleanly(sig: i32, supervise: bool) {
    let dir = TempDir::new("signals");
    let script = dir.apps().join("express_hello.wsgi");
    let mut args = vec![
        script.to_str().expect("utf-8").to_string(),
        "--processes".into(),
        "2".into(),
    ];
    if supervise {
        args.push("--supervise".into());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = ExpressServer::start(&dir, &args, "/");
    assert_eq!(server.get("/").0, 200);
    let httpd = server.httpd_pid().expect("pid file");
    if supervise {
        assert_ne!(httpd, server.child.id() as i32, "httpd runs as a child");
    } else {
        assert_eq!(
            httpd,
            server.child.id() as i32,
            "rwsgi-express execs httpd without a terminal"
        );
    }
    kit::wait_until(std::time::Duration::from_secs(5), || kit::children_of(httpd).len() >= 2);
    server.note_httpd_pids();
    assert!(
        server.httpd_pids.len() >= 3,
        "parent + 2 children: {:?}",
        server.httpd_pids
    );
    let status = server.stop_with(sig);
    assert!(
        server.all_httpd_gone(),
        "httpd processes left: {:?}",
        server.httpd_pids.iter().filter(|p| alive(**p)).collect::<Vec<_>>()
    );
    if supervise {
        assert!(
            status.success(),
            "a requested stop exits 0: {status:?}\n{}",
            server.logs()
        );
    }
    assert!(kit::http_get(server.port, "/").is_none(), "port closed");
}

#[test]
fn sigint_with_exec() {
    require_module!();
    stops_cleanly(libc::SIGINT, false);
}

#[test]
fn sigterm_with_exec() {
    require_module!();
    stops_cleanly(libc::SIGTERM, false);
}

#[test]
fn sigint_supervised() {
    require_module!();
    stops_cleanly(libc::SIGINT, true);
}

#[test]
fn sigterm_supervised() {
    require_module!();
    stops_cleanly(libc::SIGTERM, true);
}

#[test]
fn supervised_forwards_restarts_and_httpd_dies_with_rwsgi_express() {
    require_module!();
    let dir = TempDir::new("forward");
    let script = dir.apps().join("express_hello.wsgi");
    let mut server = ExpressServer::start(&dir, &[script.to_str().expect("utf-8"), "--supervise"], "/");
    let express = server.child.id() as i32;
    let log = || std::fs::read_to_string(server.server_root.join("error_log")).unwrap_or_default();
    kit::signal(express, libc::SIGUSR1);
    assert!(
        kit::wait_until(std::time::Duration::from_secs(10), || log().contains("AH00493")),
        "graceful restart\n{}",
        log()
    );
    assert_eq!(server.get("/").0, 200);
    kit::signal(express, libc::SIGHUP);
    assert!(
        kit::wait_until(std::time::Duration::from_secs(10), || log().contains("AH00494")),
        "restart\n{}",
        log()
    );
    assert!(kit::wait_until(std::time::Duration::from_secs(10), || {
        kit::http_get(server.port, "/").is_some_and(|(s, _)| s == 200)
    }));
    server.note_httpd_pids();
    // Even SIGKILL (no chance to forward anything) must not leave httpd running: it has PR_SET_PDEATHSIG.
    kit::signal(express, libc::SIGKILL);
    let _status = server.child.wait();
    assert!(server.all_httpd_gone(), "httpd outlived rwsgi-express");
}
