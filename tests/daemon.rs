//! Issue 6: daemon mode against a real httpd — WSGIDaemonProcess options, crash restarts, timeouts, recycling,
//! graceful restarts under load, privileges, socket security, and the same environ as embedded mode.

use rwsgi_testkit as kit;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kit::ServerBuilder;
use kit::load::{Load, summary};

fn pairs(s: &kit::Server, path: &str) -> HashMap<String, String> {
    let r = s.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.pairs()
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn environ_is_identical_to_embedded_mode() {
    let s = ServerBuilder::new("d-environ")
        .conf("WSGIDaemonProcess site processes=2 threads=4\nWSGIScriptAlias /emb {apps}/environ.wsgi\nWSGIScriptAlias /dmn {apps}/environ.wsgi process-group=site")
        .start();
    let raw = |p: &str| {
        format!(
            "POST {p}/x/y?a=1 HTTP/1.1\r\nHost: h.test\r\nX-Thing: v\r\nX-Thing: w\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nab"
        )
    };
    let emb = s.request(raw("/emb").as_bytes()).pairs();
    let dmn = s.request(raw("/dmn").as_bytes()).pairs();
    let differ_by_design = [
        "SCRIPT_NAME",
        "REQUEST_URI",
        "mod_wsgi.script_name",
        "REMOTE_PORT",
        "process.pid",
        "process.thread",
        "mod_wsgi.process_group",
        "mod_wsgi.request_id",
        "mod_wsgi.request_start",
        "mod_wsgi.queue_start",
        "mod_wsgi.daemon_start",
        "mod_wsgi.application_start",
        "mod_wsgi.thread_id",
        "mod_wsgi.server_pid",
        "UNIQUE_ID",
    ];
    for (k, v) in &emb {
        if differ_by_design.contains(&k.as_str()) {
            continue;
        }
        assert_eq!(
            dmn.get(k),
            Some(v),
            "environ[{k}] differs between embedded and daemon mode"
        );
    }
    assert_eq!(emb.len(), dmn.len(), "same keys:\nembedded {emb:?}\ndaemon {dmn:?}");
    assert_eq!(dmn["mod_wsgi.process_group"], "site");
    assert_eq!(dmn["SCRIPT_NAME"], "/dmn");
    assert_eq!(dmn["HTTP_X_THING"], "v, w");
}

#[test]
fn options_user_home_env_display_name_and_python_path() {
    let b = ServerBuilder::new("d-opts");
    let home = b.root.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let s = b
        .conf(&format!(
            "WSGIDaemonProcess site processes=2 threads=3 user=nobody group=nogroup home={} python-path={{apps}} \
             env=RWSGI_TEST_ENV=hello=world display-name=%{{GROUP}} lang=C.UTF-8 locale=C.UTF-8 maximum-requests=1000 \
             inactivity-timeout=300 deadlock-timeout=60 graceful-timeout=5 shutdown-timeout=3 connect-timeout=5 \
             socket-timeout=30 queue-timeout=30 listen-backlog=50 header-buffer-size=16384 restart-interval=3600 \
             memory-limit=2000000000 request-timeout=60 startup-timeout=30\n\
             WSGIScriptAlias /d {{apps}}/daemon.wsgi process-group=site",
            home.display()
        ))
        .start();
    let e = pairs(&s, "/d/whoami");
    let nobody_uid = std::process::Command::new("id")
        .args(["-u", "nobody"])
        .output()
        .expect("id");
    assert_eq!(e["uid"], String::from_utf8_lossy(&nobody_uid.stdout).trim());
    assert_eq!(e["cwd"], home.display().to_string(), "home= is the working directory");
    assert_eq!(e["path0"], home.display().to_string(), "home= is sys.path[0]");
    assert_eq!(e["env"], "hello=world");
    assert_eq!(
        (e["group"].as_str(), e["threads"].as_str(), e["processes"].as_str()),
        ("site", "3", "2")
    );
    assert_eq!(e["lang"], "C.UTF-8");
    let pids = s.daemon_pids("(wsgi:site)");
    assert_eq!(pids.len(), 2, "two processes titled (wsgi:site)");
    let pid: u32 = e["pid"].parse().expect("pid");
    assert!(pids.contains(&pid));
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let uid_line = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .unwrap_or_default()
        .to_string();
    assert!(
        uid_line.split_whitespace().skip(1).all(|u| u == e["uid"]),
        "real/effective/saved uid all dropped: {uid_line}"
    );
}

#[test]
fn config_errors_name_the_problem() {
    let cases: &[(&str, &str)] = &[
        (
            "WSGIDaemonProcess site bogus=1",
            "WSGIDaemonProcess: unknown option \"bogus\"",
        ),
        ("WSGIDaemonProcess site processes=zero", "not a whole number"),
        (
            "WSGIScriptAlias /a {apps}/hello.wsgi process-group=later\nWSGIDaemonProcess later",
            "put \"WSGIDaemonProcess later ...\" before this line",
        ),
        ("WSGIDaemonProcess twice\nWSGIDaemonProcess twice", "already defined"),
    ];
    for (conf, want) in cases {
        let (ok, out) = ServerBuilder::new("d-cfg").conf(conf).config_test();
        assert!(!ok && out.contains(want), "{conf:?}: expected {want:?} in:\n{out}");
    }
    // user=root is refused at start-up, with the reason, instead of running apps as root.
    let b = ServerBuilder::new("d-root")
        .conf("WSGIDaemonProcess rooty user=root\nWSGIScriptAlias / {apps}/hello.wsgi process-group=rooty");
    let conf = b.root.join("httpd.conf");
    let _ = b.config_test();
    let out = std::process::Command::new(kit::httpd_bin())
        .arg("-f")
        .arg(&conf)
        .arg("-DFOREGROUND")
        .output()
        .expect("run httpd");
    let log = std::fs::read_to_string(b.root.join("logs/error_log")).unwrap_or_default();
    assert!(!out.status.success());
    assert!(
        log.contains("must not run as root") || String::from_utf8_lossy(&out.stderr).contains("must not run as root"),
        "{log}"
    );
}

#[test]
fn killed_daemon_fails_only_its_in_flight_requests_and_is_replaced() {
    let s = ServerBuilder::new("d-kill")
        .mpm("event", 2, 16)
        .conf("WSGIDaemonProcess site processes=2 threads=8\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site")
        .start();
    assert_eq!(s.get("/d/sleep?0").status, 200);
    let load = Load::start(s.port, "/d/sleep?0.02", 16, 100_000);
    std::thread::sleep(Duration::from_millis(700));
    let victim = s.daemon_pids("(wsgi:site)")[0];
    // SAFETY: SIGKILL to a daemon process of the server this test started.
    unsafe { libc::kill(victim as i32, libc::SIGKILL) };
    let killed_at = Instant::now();
    wait_for("a replacement daemon process", 10, || {
        let p = s.daemon_pids("(wsgi:site)");
        p.len() == 2 && !p.contains(&victim)
    });
    let replaced_in = killed_at.elapsed();
    std::thread::sleep(Duration::from_millis(700));
    let statuses = load.finish();
    let (ok, bad) = summary(&statuses);
    assert!(ok > 100, "load ran ({ok} ok)");
    assert!(
        bad.iter().all(|s| *s == 502),
        "only 502s for the killed process's in-flight requests: {bad:?}"
    );
    assert!(
        bad.len() <= 8,
        "at most one process's worth of threads failed: {} failures",
        bad.len()
    );
    assert!(
        replaced_in < Duration::from_secs(2),
        "replaced within 2 s (took {replaced_in:?})"
    );
    assert!(s.wait_log("was killed by signal 9", 5), "{}", s.error_log());
    let r = s.get("/d/sleep?0");
    assert_eq!(r.status, 200);
}

#[test]
fn request_timeout_answers_504_and_logs_the_stuck_stack() {
    let s = ServerBuilder::new("d-reqtimeout")
        .conf("WSGIDaemonProcess site processes=1 threads=2 request-timeout=3 graceful-timeout=2\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site")
        .start();
    let started = Instant::now();
    let r = s.get("/d/wedge");
    assert_eq!(r.status, 504, "{}", r.text());
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(s.wait_log("request-timeout=3", 10), "{}", s.error_log());
    assert!(
        s.wait_log("in wedged_forever", 10),
        "the stuck thread's Python stack is logged:\n{}",
        s.error_log()
    );
    // The process recycles and the group serves again.
    wait_for("the group to serve again", 20, || s.get("/d/sleep?0").status == 200);
}

/// interrupt-timeout: RequestTimeout is raised in the stuck request's thread after request-timeout x
/// (1 + ln(threads)); the request ends 504 and the same process keeps serving. A request that ignores it for
/// interrupt-timeout gets the process recycled.
#[test]
fn interrupt_timeout_unwinds_the_request_and_keeps_the_process() {
    let s = ServerBuilder::new("d-interrupt")
        .conf("WSGIDaemonProcess site processes=1 threads=2 request-timeout=1 interrupt-timeout=2 graceful-timeout=1\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site")
        .start();
    let pid = s.get("/d/pid").text();
    let started = Instant::now();
    let r = s.get("/d/spin");
    assert_eq!(r.status, 504, "{}", r.text());
    // request-timeout 1 s x (1 + ln 2) = 1.7 s, checked every second.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1600) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert_eq!(s.get("/d/pid").text(), pid, "the same process serves on");
    assert_eq!(s.get("/d/catch").status, 504);
    assert!(s.wait_log("daemon.wsgi: caught RequestTimeout, cleaning up", 5));
    assert_eq!(s.get("/d/pid").text(), pid);
    let log = s.error_log();
    for line in [
        "Dumping stack trace for thread",
        "Injected RequestTimeout into thread",
        "Request interrupted by RequestTimeout; thread recovered.",
        "in application",
    ] {
        assert!(log.contains(line), "{line:?} missing:\n{log}");
    }
    assert!(
        !log.contains("RequestTimeout exception raised"),
        "not an application error:\n{log}"
    );

    // Ignored: after interrupt-timeout the process is recycled and the httpd child answers 504.
    let r = s.get("/d/ignore-timeout");
    assert_eq!(r.status, 504);
    assert!(
        s.wait_log("did not end on RequestTimeout within interrupt-timeout", 10),
        "{}",
        s.error_log()
    );
    wait_for("a new process", 20, || {
        let r = s.get("/d/pid");
        r.status == 200 && r.text() != pid
    });
}

/// An app raising mod_wsgi.RequestTimeout itself gets the same 504 (in embedded mode too), without a traceback.
#[test]
fn request_timeout_raised_by_the_app_is_a_504() {
    let s = ServerBuilder::new("d-raise-timeout")
        .conf("WSGIDaemonProcess site processes=1 threads=2\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site\nWSGIScriptAlias /e {apps}/daemon.wsgi")
        .start();
    for p in ["/d/raise-timeout", "/e/raise-timeout"] {
        assert_eq!(s.get(p).status, 504, "{p}");
    }
    assert!(s.wait_log("Request interrupted by RequestTimeout; thread recovered.", 5));
    assert!(!s.error_log().contains("raised by the app"), "{}", s.error_log());
}

#[test]
fn queue_timeout_sheds_requests_that_waited_too_long() {
    let s = ServerBuilder::new("d-queue")
        .mpm("event", 1, 8)
        .conf("WSGIDaemonProcess site processes=1 threads=1 queue-timeout=1\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site")
        .start();
    let port = s.port;
    let slow = std::thread::spawn(move || kit::get(port, "/d/sleep?3").status);
    std::thread::sleep(Duration::from_millis(300));
    let r = s.get("/d/queued?shed-me");
    assert_eq!(r.status, 504);
    assert_eq!(slow.join().expect("slow request"), 200);
    assert!(s.wait_log("queue-timeout=1", 5), "{}", s.error_log());
    assert!(
        !s.error_log().contains("queued request reached the app: shed-me"),
        "the app must never see a shed request"
    );
    assert_eq!(s.get("/d/queued?fine").status, 200);
}

#[test]
fn maximum_requests_recycles_under_load_without_failures() {
    let s = ServerBuilder::new("d-maxreq")
        .mpm("event", 2, 8)
        .conf("WSGIDaemonProcess site processes=2 threads=4 maximum-requests=50\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site")
        .start();
    let load = Load::start(s.port, "/d/sleep?0.005", 8, 600);
    let statuses = load.finish_when_done();
    let (ok, bad) = summary(&statuses);
    assert_eq!(
        bad,
        Vec::<u16>::new(),
        "no request fails because of a recycle ({ok} ok)"
    );
    assert!(s.wait_log("maximum-requests=50 reached", 5), "{}", s.error_log());
}

#[test]
fn graceful_restart_under_load_without_failures() {
    let s = ServerBuilder::new("d-graceful")
        .mpm("event", 2, 16)
        .conf("WSGIDaemonProcess site processes=2 threads=8\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site")
        .start();
    let load = Load::start(s.port, "/d/sleep?0.05", 16, 100_000);
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(600));
        s.apachectl("graceful");
    }
    std::thread::sleep(Duration::from_millis(1500));
    let (ok, bad) = summary(&load.finish());
    assert!(ok > 50, "load ran ({ok} ok)");
    assert_eq!(
        bad,
        Vec::<u16>::new(),
        "graceful restarts must not fail requests, in flight or new"
    );
    assert!(!s.error_log().contains("long lost child"), "{}", s.error_log());
}

#[test]
fn socket_refuses_strangers() {
    use std::io::{Read, Write};
    let s = ServerBuilder::new("d-sock")
        .conf("WSGIDaemonProcess site\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site\nWSGIScriptAlias /q {apps}/daemon.wsgi process-group=site")
        .start();
    assert_eq!(s.get("/d/sleep?0").status, 200);
    let sock = std::fs::read_dir(s.root.join("run"))
        .expect("run dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("rwsgi-"))
        .flat_map(|e| {
            std::fs::read_dir(e.path())
                .expect("socket dir")
                .flatten()
                .map(|f| f.path())
                .collect::<Vec<_>>()
        })
        .find(|p| p.to_string_lossy().ends_with("site.sock"))
        .expect("socket file");
    let dir_mode = std::fs::metadata(sock.parent().expect("dir"))
        .expect("stat")
        .permissions();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(dir_mode.mode() & 0o777, 0o700, "socket directory is private");
    // Another user cannot even reach the socket.
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "python3", "-c"])
        .arg(format!(
            "import socket; s=socket.socket(socket.AF_UNIX); s.connect({:?})",
            sock.display().to_string()
        ))
        .output()
        .expect("setpriv");
    assert!(
        !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Someone who can reach it but lacks the secret is cut off before anything reaches the app.
    let mut c = std::os::unix::net::UnixStream::connect(&sock).expect("connect as root");
    let mut frame = vec![1u8, 0, 0, 0, 37];
    frame.extend_from_slice(b"RWSG");
    frame.push(2); // the protocol version
    frame.extend_from_slice(&[0u8; 32]);
    c.write_all(&frame).expect("send hello");
    let mut buf = Vec::new();
    c.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    let _ = c.read_to_end(&mut buf);
    assert!(buf.is_empty(), "no answer without the secret");
    assert!(
        s.wait_log("refused a connection without the right secret", 5),
        "{}",
        s.error_log()
    );
}

#[test]
fn file_wrapper_uses_fd_passing_and_large_bodies_stream_in_bounded_memory() {
    let b = ServerBuilder::new("d-files")
        .conf("WSGIDaemonProcess site processes=1 threads=4\nWSGIScriptAlias /f {apps}/files.wsgi process-group=site\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site\nEnableSendfile On");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i.wrapping_mul(7919) >> 3) as u8).collect();
    std::fs::write(b.apps().join("data.bin"), &data).expect("data");
    let s = b.start();
    let r = s.get("/f/file?1000");
    assert_eq!(r.header("Content-Length"), Some("2999000"));
    assert!(
        r.complete && r.body == data[1000..],
        "file_wrapper over a regular file in daemon mode"
    );

    // 1 GiB down and 1 GiB up through the daemon: both processes stay small.
    let gib: u64 = 1 << 30;
    let mut c = kit::http::connect(s.port);
    use std::io::{Read, Write};
    c.write_all(format!("GET /d/download?{gib} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .expect("send");
    let mut total = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n as u64,
        }
    }
    assert!(total > gib, "downloaded {total} bytes");
    let mut c = kit::http::connect(s.port);
    c.write_all(
        format!("POST /d/upload HTTP/1.1\r\nHost: x\r\nContent-Length: {gib}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .expect("send");
    let chunk = vec![b'u'; 1 << 20];
    for _ in 0..1024 {
        c.write_all(&chunk).expect("upload");
    }
    let mut resp = String::new();
    let _ = c.read_to_string(&mut resp);
    assert!(resp.contains(&format!("\r\n{gib}\r\n")), "{resp}");
    for pid in s.descendants() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let hwm_kb: u64 = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(hwm_kb < 200 * 1024, "process {pid} peaked at {hwm_kb} kB");
    }
}

#[test]
fn oversized_response_headers_are_a_500_with_the_cause() {
    let s = ServerBuilder::new("d-hdr")
        .conf(
            "WSGIDaemonProcess site header-buffer-size=4096\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site",
        )
        .start();
    assert_eq!(s.get("/d/big-headers").status, 500);
    assert!(s.wait_log("larger than header-buffer-size=4096", 5));
}

#[test]
fn unreachable_group_is_a_503_after_connect_timeout() {
    let s = ServerBuilder::new("d-503")
        .conf("WSGIDaemonProcess site connect-timeout=1 python-home=/nonexistent/python\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site")
        .start();
    let r = s.get("/d/sleep?0");
    assert!(r.status == 503 || r.status == 500, "{}", r.status);
    assert!(
        s.wait_log("/nonexistent/python", 5),
        "the reason Python cannot start is logged:\n{}",
        s.error_log()
    );
    assert!(!s.error_log().contains("exit signal"));
}

#[test]
fn process_group_directive_restrict_embedded_and_recycling_reasons() {
    let s = ServerBuilder::new("d-misc")
        .conf(
            "WSGIRestrictEmbedded On\n\
             WSGIDaemonProcess idle processes=1 threads=2 inactivity-timeout=1\n\
             WSGIDaemonProcess interval processes=1 threads=2 restart-interval=2\n\
             WSGIDaemonProcess fat processes=1 threads=2 memory-limit=1000\n\
             WSGIScriptAlias /idle {apps}/daemon.wsgi\n<Location /idle>\nWSGIProcessGroup idle\n</Location>\n\
             WSGIScriptAlias /interval {apps}/daemon.wsgi process-group=interval\n\
             WSGIScriptAlias /fat {apps}/daemon.wsgi process-group=fat\n\
             WSGIScriptAlias /embedded {apps}/hello.wsgi",
        )
        .start();
    let e = pairs(&s, "/idle/whoami");
    assert_eq!(e["group"], "idle", "WSGIProcessGroup in a <Location> selects the group");
    let r = s.get("/embedded");
    assert_eq!(r.status, 500, "WSGIRestrictEmbedded On: no embedded Python");
    assert!(s.wait_log("WSGIRestrictEmbedded On", 5));
    assert!(s.wait_log("inactivity-timeout=1: idle", 10), "{}", s.error_log());
    assert!(s.wait_log("restart-interval=2 elapsed", 10), "{}", s.error_log());
    assert_eq!(s.get("/fat/sleep?0").status, 200);
    assert!(
        s.wait_log("memory-limit=1000: resident set size", 10),
        "{}",
        s.error_log()
    );
    for path in ["/idle/sleep?0", "/interval/sleep?0", "/fat/sleep?0"] {
        assert_eq!(s.get(path).status, 200, "{path} still served after recycling");
    }
    // httpd children never started Python.
    assert!(!s.error_log().contains("cannot start Python"));
}

#[test]
fn vhost_group_is_private_to_its_vhost() {
    let b = ServerBuilder::new("d-vhost");
    let port = b.port;
    let s = b
        .conf(&format!(
            "<VirtualHost 127.0.0.1:{port}>\nServerName one.test\nWSGIDaemonProcess onlyone\nWSGIScriptAlias /d {{apps}}/daemon.wsgi process-group=onlyone\n</VirtualHost>\n\
             <VirtualHost 127.0.0.1:{port}>\nServerName two.test\n<Location /d>\nWSGIProcessGroup onlyone\n</Location>\nWSGIScriptAlias /d {{apps}}/daemon.wsgi\n</VirtualHost>"
        ))
        .start();
    let r = s.request(b"GET /d/whoami HTTP/1.1\r\nHost: one.test\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 200);
    let r = s.request(b"GET /d/whoami HTTP/1.1\r\nHost: two.test\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 500);
    assert!(s.wait_log("can only be used there", 5));
}

#[test]
fn deadlock_timeout_replaces_a_process_whose_gil_is_stuck() {
    let s = ServerBuilder::new("d-deadlock")
        .conf("WSGIDaemonProcess site processes=1 threads=2 deadlock-timeout=2 socket-timeout=20\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site")
        .start();
    let before = s.daemon_pids("(wsgi:site)");
    let port = s.port;
    let stuck = std::thread::spawn(move || kit::get(port, "/d/hold-gil").status);
    assert!(s.wait_log("deadlock-timeout=2", 15), "{}", s.error_log());
    assert_eq!(
        stuck.join().expect("stuck request"),
        502,
        "the stuck request fails as a daemon failure"
    );
    wait_for("a replacement process", 10, || {
        let now = s.daemon_pids("(wsgi:site)");
        now.len() == 1 && now != before
    });
    assert_eq!(s.get("/d/sleep?0").status, 200);
}

#[test]
fn stopping_httpd_stops_every_daemon_process() {
    let mut s = ServerBuilder::new("d-stop")
        .conf("WSGIDaemonProcess site processes=3 threads=2 shutdown-timeout=2\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site")
        .start();
    assert_eq!(s.get("/d/sleep?0").status, 200);
    let daemons = s.daemon_pids("(wsgi:site)");
    let all = s.descendants();
    assert_eq!(daemons.len(), 3);
    s.stop();
    wait_for("every daemon process to exit", 15, || {
        all.iter().all(|p| {
            !std::path::Path::new(&format!("/proc/{p}")).exists()
                || std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|st| st.contains(") Z "))
        })
    });
}

/// WSGIScriptReloading in daemon mode, as mod_wsgi: a changed script (or a module whose `__mtime__` was
/// removed, or whose reload_required() says so) is loaded by a fresh process, and the request that noticed it is
/// sent again to that process: the edit is served at once, imported once.
#[test]
fn changed_script_restarts_the_daemon_process() {
    let b = ServerBuilder::new("d-reload");
    let script = b.apps().join("live.wsgi");
    // Writable by the daemon's user: reload_required() removes the trigger.
    let scratch = kit::TempDir::new("d-reload-trigger");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&scratch.0, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let trigger = scratch.path("trigger").display().to_string();
    let app = |v: &str| {
        format!(
            "import os, time\nLOADED = time.time_ns()\n\
             def reload_required(path):\n    t = {trigger:?}\n    return os.path.exists(t) and not os.remove(t)\n\
             def application(environ, start_response):\n    if environ['PATH_INFO'] == '/forget':\n        del globals()['__mtime__']\n\
             \x20   start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'{v} %d %d' % (os.getpid(), LOADED)]\n"
        )
    };
    std::fs::write(&script, app("v1")).expect("script");
    let s = b
        .conf("WSGIDaemonProcess site processes=1 threads=2\nWSGIScriptAlias /live {apps}/live.wsgi process-group=site")
        .start();
    let get = |p: &str| {
        let r = s.get(p);
        assert_eq!(r.status, 200, "{p}: {}", r.text());
        r.text().split(' ').map(str::to_string).collect::<Vec<_>>()
    };
    let first = get("/live");
    assert_eq!(first[0], "v1");
    assert_eq!(get("/live"), first, "unchanged: the same process and module");
    std::fs::write(&script, app("v2")).expect("edit");
    let f = std::fs::File::options().write(true).open(&script).expect("open");
    f.set_modified(std::time::SystemTime::now() + Duration::from_secs(2))
        .expect("mtime");
    let second = get("/live");
    assert_eq!(second[0], "v2", "the edit is served at once");
    assert_ne!(second[1], first[1], "by a fresh process");
    assert_eq!(get("/live"), second, "imported once");
    let log = s.error_log();
    assert!(
        log.contains("Forcing restart of daemon process 'site' due to modification of script"),
        "{log}"
    );
    assert!(
        log.contains("Reconnecting after WSGI daemon process 'site' restart, attempt #1."),
        "{log}"
    );

    // reload_required() true once: a fresh process once, then stable.
    std::fs::write(&trigger, "").expect("trigger");
    let third = get("/live");
    assert_ne!(third[1], second[1]);
    assert_eq!(get("/live"), third);
    // A module whose __mtime__ is gone is loaded again by a fresh process.
    let before = get("/live/forget");
    let after = get("/live");
    assert_ne!(after[2], before[2], "loaded again");
    assert_eq!(get("/live"), after);
}

#[test]
fn first_load_by_graceful_restart_starts_daemon_groups() {
    let b = ServerBuilder::new("d-firstload")
        .without_module()
        .conf("WSGIDaemonProcess site\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site");
    let full = b.full_config_text();
    let s = b.start();
    assert_eq!(s.get("/d/whoami").status, 404, "no module yet");
    std::fs::write(&s.conf, full).expect("rewrite config");
    s.apachectl("graceful");
    wait_for("the daemon group to serve after the graceful restart", 15, || {
        s.get("/d/whoami").status == 200
    });
}

#[test]
fn a_group_cannot_reach_another_groups_socket() {
    let s = ServerBuilder::new("d-isolate")
        .conf("WSGIDaemonProcess one\nWSGIDaemonProcess two\nWSGIScriptAlias /one {apps}/daemon.wsgi process-group=one\nWSGIScriptAlias /two {apps}/daemon.wsgi process-group=two")
        .start();
    assert_eq!(s.get("/one/sleep?0").status, 200);
    assert_eq!(s.get("/two/sleep?0").status, 200);
    for pid in s.daemon_pids("(wsgi:one)") {
        let fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .expect("fds")
            .flatten()
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .map(|l| l.display().to_string())
            .collect();
        let sockets = fds.iter().filter(|l| l.starts_with("socket:")).count();
        // Its own listening socket plus at most the connections it serves; never group two's listener:
        // compare the socket inodes with the ones group two's processes listen on.
        let two: Vec<String> = s
            .daemon_pids("(wsgi:two)")
            .iter()
            .flat_map(|p| {
                std::fs::read_dir(format!("/proc/{p}/fd"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter_map(|e| std::fs::read_link(e.path()).ok())
            })
            .map(|l| l.display().to_string())
            .filter(|l| l.starts_with("socket:"))
            .collect();
        let shared: Vec<&String> = fds
            .iter()
            .filter(|l| l.starts_with("socket:") && two.contains(l))
            .collect();
        assert!(
            shared.is_empty(),
            "group one's process {pid} shares sockets with group two: {shared:?} ({sockets} sockets)"
        );
    }
}

#[test]
fn root_daemon_user_is_refused_by_the_config_test() {
    let (ok, out) = ServerBuilder::new("d-rootchk")
        .conf("WSGIDaemonProcess broken user=#0\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=broken")
        .config_test();
    assert!(!ok && out.contains("must not run as root"), "{out}");
}

/// A daemon group defined in a virtual host writes the app's output (and its own lines) to that host's
/// ErrorLog, as mod_wsgi does; a group of the main server to the main one.
#[test]
fn group_of_a_virtual_host_logs_to_its_error_log() {
    let b = ServerBuilder::new("d-vhostlog");
    let port = b.port;
    let s = b
        .conf(&format!(
            "WSGIDaemonProcess maingroup processes=1 threads=2\nWSGIScriptAlias /m {{apps}}/logs.wsgi process-group=maingroup\n\
             <VirtualHost 127.0.0.1:{port}>\nServerName v.test\nErrorLog {{root}}/logs/vhost_error_log\n\
             WSGIDaemonProcess vhostgroup processes=1 threads=2\nWSGIScriptAlias /v {{apps}}/logs.wsgi process-group=vhostgroup\n</VirtualHost>"
        ))
        .start();
    let r = s.request(format!("GET /v HTTP/1.1\r\nHost: v.test:{port}\r\nConnection: close\r\n\r\n").as_bytes());
    assert_eq!(r.status, 200, "{}", r.text());
    let vhost_log = s.root.join("logs/vhost_error_log");
    wait_for("the app's output in the virtual host's ErrorLog", 5, || {
        std::fs::read_to_string(&vhost_log)
            .is_ok_and(|l| l.contains("via wsgi.errors") && l.contains("printed to stdout"))
    });
    assert!(!s.error_log().contains("via wsgi.errors"), "{}", s.error_log());
    // The main server's group: the main log.
    let r = s.request(format!("GET /m HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n").as_bytes());
    assert_eq!(r.status, 200);
    assert!(s.wait_log("via wsgi.errors", 5), "{}", s.error_log());
}
