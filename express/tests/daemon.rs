//! Daemon mode, the default: the application runs in WSGIDaemonProcess processes titled (wsgi:GROUP), the
//! daemon options reach the module, and --embedded-mode still runs it inside the httpd children.

use rwsgi_testkit as kit;
use rwsgi_testkit::require_module;

use std::time::{Duration, Instant};

use kit::{ExpressServer, TempDir, cmdline, field};

fn pid_of(body: &str) -> i32 {
    field(body, "PID")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no PID in {body}"))
}

#[test]
fn the_app_runs_in_a_daemon_process_titled_wsgi_group() {
    require_module!();
    let dir = TempDir::new("daemon");
    let apps = dir.apps();
    let script = apps.join("express_hello.wsgi");
    let mut server = ExpressServer::start(
        &dir,
        &[
            script.to_str().expect("utf-8"),
            "--processes",
            "2",
            "--threads",
            "3",
            "--working-directory",
            apps.to_str().expect("utf-8"),
        ],
        "/",
    );
    let (status, body) = server.get("/where");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    let group = format!("127.0.0.1:{}", server.port);
    assert_eq!(field(&body, "PROCESS_GROUP"), Some(group.as_str()), "{body}");
    assert_eq!(
        field(&body, "CWD"),
        apps.to_str(),
        "--working-directory is the daemon's home"
    );

    // The process that answered is a daemon process with the mod_wsgi-style title, below httpd.
    let pid = pid_of(&body);
    let title = cmdline(pid);
    assert_eq!(
        title,
        format!("(wsgi:{group})"),
        "cmdline of the process that served the request"
    );
    let httpd = server.httpd_pid().expect("pid file");
    assert_ne!(pid, httpd);
    assert!(
        kit::descendants_of(httpd).contains(&pid),
        "the daemon process belongs to this httpd"
    );
    let daemons = || {
        kit::descendants_of(httpd)
            .into_iter()
            .filter(|p| cmdline(*p).starts_with("(wsgi:"))
            .collect::<Vec<_>>()
    };
    assert!(
        kit::wait_until(Duration::from_secs(10), || daemons().len() == 2),
        "two daemon processes: {:?}",
        daemons()
    );
    if kit::is_root() {
        assert_ne!(field(&body, "UID"), Some("0"), "the daemon dropped root");
    }

    let banner = server.stdout();
    for needle in [
        "Operating Mode     : daemon",
        "Request Capacity   : 6 (2 processes * 3 threads)",
        "Request Timeout    : 60 (seconds)",
        "Queue Timeout      : 45 (seconds)",
        &format!("Process Group      : {group}"),
    ] {
        assert!(banner.contains(needle), "banner lacks {needle:?}:\n{banner}");
    }
    let conf = std::fs::read_to_string(server.server_root.join("httpd.conf")).expect("conf");
    assert!(
        conf.contains("WSGIRestrictEmbedded On") && conf.contains("display-name=%{GROUP}"),
        "{conf}"
    );

    // Stopping leaves no daemon process behind either.
    server.note_httpd_pids();
    let all = server.httpd_pids.clone();
    assert!(all.contains(&pid));
    server.stop_with(libc::SIGTERM);
    assert!(
        server.all_httpd_gone(),
        "left: {:?}",
        all.iter().filter(|p| kit::alive(**p)).collect::<Vec<_>>()
    );
}

#[test]
fn request_timeout_answers_504_for_a_wedged_request() {
    require_module!();
    let dir = TempDir::new("reqtimeout");
    let script = dir.apps().join("express_hello.wsgi");
    let server = ExpressServer::start(
        &dir,
        &[
            script.to_str().expect("utf-8"),
            "--request-timeout",
            "2",
            "--threads",
            "2",
            "--graceful-timeout",
            "1",
        ],
        "/",
    );
    assert!(
        server.stdout().contains("Request Timeout    : 2 (seconds)"),
        "{}",
        server.stdout()
    );
    let started = Instant::now();
    let (status, body) = server.get("/sleep/30");
    let took = started.elapsed();
    assert_eq!(status, 504, "{body}\n{}", server.logs());
    assert!(
        took < Duration::from_secs(15),
        "answered after {took:?}, not after the app's 30 s"
    );
    assert!(took >= Duration::from_millis(1500), "not before the timeout: {took:?}");
    // The cause is in the error log, and the server serves again.
    let log = || std::fs::read_to_string(server.server_root.join("error_log")).unwrap_or_default();
    assert!(
        kit::wait_until(Duration::from_secs(5), || log().contains("request-timeout")),
        "{}",
        log()
    );
    assert!(
        kit::wait_until(Duration::from_secs(20), || kit::http_get(server.port, "/ok")
            .is_some_and(|(s, _)| s == 200)),
        "serving again after the timeout\n{}",
        server.logs()
    );
}

#[test]
fn embedded_mode_runs_the_app_in_the_httpd_children() {
    require_module!();
    let dir = TempDir::new("embedded");
    let script = dir.apps().join("express_hello.wsgi");
    let server = ExpressServer::start(
        &dir,
        &[
            script.to_str().expect("utf-8"),
            "--embedded-mode",
            "--processes",
            "1",
            "--threads",
            "4",
            "--mount-point",
            "/e",
        ],
        "/e",
    );
    let (status, body) = server.get("/e/x");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert!(
        body.contains("SCRIPT_NAME=/e\n") && body.contains("PATH_INFO=/x\n"),
        "{body}"
    );
    assert_eq!(
        field(&body, "PROCESS_GROUP"),
        Some(""),
        "embedded mode has no process group: {body}"
    );
    let pid = pid_of(&body);
    let httpd = server.httpd_pid().expect("pid file");
    assert!(kit::children_of(httpd).contains(&pid), "served by an httpd child");
    assert!(!cmdline(pid).contains("(wsgi:"), "{}", cmdline(pid));
    let banner = server.stdout();
    assert!(banner.contains("Operating Mode     : embedded"), "{banner}");
    assert!(
        banner.contains("Request Capacity   : 4 (1 process * 4 threads)"),
        "{banner}"
    );
    let conf = std::fs::read_to_string(server.server_root.join("httpd.conf")).expect("conf");
    assert!(
        !conf.contains("WSGIDaemonProcess") && !conf.contains("WSGIRestrictEmbedded"),
        "{conf}"
    );
}

#[test]
fn daemon_only_options_are_refused_with_embedded_mode() {
    let dir = TempDir::new("embedded-refusal");
    let script = dir.apps().join("express_hello.wsgi");
    let (code, _, err) = kit::run_express(
        &[
            "start-server",
            script.to_str().expect("utf-8"),
            "--embedded-mode",
            "--queue-timeout",
            "5",
        ],
        &dir.0,
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--queue-timeout") && err.contains("--embedded-mode"),
        "{err}"
    );
}

/// Not root (a developer's machine): httpd and the daemon processes run as the invoking user, no User switch.
#[test]
fn not_root_the_daemon_runs_as_the_invoking_user() {
    require_module!();
    if !kit::is_root() {
        // Already not root: every other test here covers this case.
        return;
    }
    let id = |flag: &str| -> Option<u32> {
        let out = std::process::Command::new("id").args([flag, "nobody"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    let (Some(uid), Some(gid)) = (id("-u"), id("-g")) else {
        eprintln!("SKIPPED: no user nobody");
        return;
    };
    let dir = TempDir::new("notroot");
    let script = dir.apps().join("express_hello.wsgi");
    let sr = dir.path("sr");
    std::fs::create_dir(&sr).expect("server root");
    std::os::unix::fs::chown(&sr, Some(uid), Some(gid)).expect("chown");
    std::fs::set_permissions(&sr, std::os::unix::fs::PermissionsExt::from_mode(0o700)).expect("chmod");
    let server = ExpressServer::start_with(
        &dir,
        &[script.to_str().expect("utf-8"), "--process-name", "rwsgi-test-httpd"],
        "/",
        |cmd| {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid).env_remove("VIRTUAL_ENV");
        },
    );
    let (status, body) = server.get("/");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert_eq!(field(&body, "UID"), Some(uid.to_string().as_str()), "{body}");
    let pid = pid_of(&body);
    assert!(cmdline(pid).starts_with("(wsgi:"), "{}", cmdline(pid));
    let httpd = server.httpd_pid().expect("pid file");
    assert!(
        cmdline(httpd).starts_with("rwsgi-test-httpd "),
        "--process-name is httpd's argv[0]: {}",
        cmdline(httpd)
    );
    assert!(!server.stdout().contains("Running As"), "{}", server.stdout());
}

#[test]
fn maximum_requests_recycles_the_daemon_process() {
    require_module!();
    let dir = TempDir::new("maxreq");
    let script = dir.apps().join("express_hello.wsgi");
    let server = ExpressServer::start(
        &dir,
        &[
            script.to_str().expect("utf-8"),
            "--maximum-requests",
            "3",
            "--threads",
            "1",
            "--log-level",
            "info",
        ],
        "/",
    );
    let first = pid_of(&server.get("/").1);
    // The module recycles in the background after the third request; requests keep succeeding meanwhile.
    let mut pids = Vec::new();
    let recycled = kit::wait_until(Duration::from_secs(20), || {
        let (status, body) = server.get("/");
        assert_eq!(
            status,
            200,
            "no request fails because of a recycle: {body}\n{}",
            server.logs()
        );
        pids.push(pid_of(&body));
        pids.last() != Some(&first)
    });
    assert!(
        recycled,
        "still the same process: {first} then {pids:?}\n{}",
        server.logs()
    );
    let log = std::fs::read_to_string(server.server_root.join("error_log")).unwrap_or_default();
    assert!(log.contains("maximum-requests=3 reached"), "{log}");
}
