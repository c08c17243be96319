//! Issue 15: daemon connections reused between requests — an httpd child keeps its connections to a group's
//! processes between requests, a daemon process parks them without a thread, nothing of one request reaches the
//! next, and a process that stops, restarts or dies never costs a request that had not started to run.

use rwsgi_testkit as kit;

use std::time::Duration;

use kit::ServerBuilder;
use kit::load::{Load, summary};

/// Connected sockets the group's daemon processes hold on their listening socket `NAME.sock` (accepted
/// connections carry the listener's path in /proc/net/unix; state 03 is "connected").
fn daemon_connections(group: &str) -> usize {
    let suffix = format!("/{group}.sock");
    std::fs::read_to_string("/proc/net/unix")
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() >= 8 && f[5] == "03" && f[7].ends_with(&suffix)
        })
        .count()
}

/// The value of a `KEY<TAB>value` line of pooled.wsgi's answer.
fn field(body: &str, key: &str) -> Option<String> {
    body.lines().find_map(|l| {
        l.split_once('\t')
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    })
}

#[test]
fn one_connection_carries_request_after_request_and_nothing_carries_over() {
    // One httpd child with one worker thread: every request goes through the same pooled connection.
    let group = "pool-one";
    let s = ServerBuilder::new("pool-one")
        .mpm("event", 1, 1)
        .conf(&format!(
            "WSGIDaemonProcess {group} processes=1 threads=2\nWSGIScriptAlias /p {{apps}}/pooled.wsgi process-group={group}"
        ))
        .start();
    let first = s.get("/p/env");
    assert_eq!(first.status, 200, "{}", s.error_log());
    assert_eq!(
        daemon_connections(group),
        1,
        "the connection stays open after the response"
    );

    // A body the app never reads, a custom header; then the next request must see neither.
    let mut raw = b"POST /p/unread HTTP/1.1\r\nHost: x\r\nX-Earlier: leak\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n".to_vec();
    raw.extend_from_slice(&[b'y'; 5000]);
    let unread = s.request(&raw);
    assert_eq!(unread.status, 200);
    let next = s.get("/p/env?after-unread");
    assert_eq!(next.status, 200);
    let body = next.text();
    assert!(
        !body.contains("HTTP_X_EARLIER"),
        "a header of the earlier request leaked: {body}"
    );
    assert_eq!(field(&body, "body").as_deref(), Some("0"), "{body}");
    assert_eq!(field(&body, "REQUEST_METHOD").as_deref(), Some("GET"), "{body}");
    assert_eq!(field(&body, "QUERY_STRING").as_deref(), Some("after-unread"), "{body}");
    assert!(field(&body, "CONTENT_LENGTH").unwrap_or_default().is_empty(), "{body}");

    // A POST whose body is read, an error answer, an application failing mid-response: each followed by a
    // request that sees only itself.
    let posted = s.post("/p/env", "text/plain", &[b'x'; 70_000]);
    assert_eq!(field(&posted.text(), "body").as_deref(), Some("70000"));
    let missing = s.get("/p/missing");
    assert_eq!(missing.status, 404);
    let after = s.get("/p/env?after-404");
    assert_eq!(after.status, 200);
    assert!(
        after.header("X-Leftover").is_none(),
        "a response header of the earlier request leaked"
    );
    let broken = s.get("/p/broken");
    assert!(
        !broken.complete || broken.status == 500,
        "the failed response is cut short"
    );
    let after = s.get("/p/env?after-broken");
    assert_eq!(after.status, 200, "{}", s.error_log());
    assert_eq!(field(&after.text(), "QUERY_STRING").as_deref(), Some("after-broken"));

    let pid = field(&first.text(), "pid");
    for i in 0..50 {
        let r = s.get(&format!("/p/env?n={i}"));
        assert_eq!(r.status, 200);
        assert_eq!(field(&r.text(), "pid"), pid, "same daemon process");
    }
    // Reused, not reconnected: still one connection (an aborted exchange may have cost one reconnect).
    assert_eq!(daemon_connections(group), 1, "{}", s.error_log());
    assert!(!s.error_log().contains("closed the connection"), "{}", s.error_log());
}

#[test]
fn idle_connections_hold_no_daemon_thread() {
    // 16 httpd threads, 2 daemon threads: up to 16 idle connections per process may be parked.
    let group = "pool-idle";
    let s = ServerBuilder::new("pool-idle")
        .mpm("event", 1, 16)
        .conf(&format!(
            "WSGIDaemonProcess {group} processes=1 threads=2 queue-timeout=5\nWSGIScriptAlias /p {{apps}}/pooled.wsgi process-group={group}"
        ))
        .start();
    assert_eq!(s.get("/p/sleep?0").status, 200);
    // 16 concurrent clients leave up to 16 connections in the child's pool when they are done.
    let statuses = Load::start(s.port, "/p/sleep?0.05", 16, 160).finish_when_done();
    let (ok, bad) = summary(&statuses);
    assert_eq!(
        (ok, bad.clone()),
        (160, vec![]),
        "no 503/504 with 8x more httpd threads than daemon threads"
    );
    let parked = daemon_connections(group);
    assert!(
        parked > 2,
        "more connections parked ({parked}) than the daemon has threads"
    );
    // Both daemon threads are free although all those connections are open: /wait runs on one thread and is
    // released by /set on the other.
    let port = s.port;
    let waiter = std::thread::spawn(move || kit::http::get(port, "/p/wait"));
    std::thread::sleep(Duration::from_millis(200));
    let set = s.get("/p/set");
    assert_eq!(set.status, 200);
    let waited = waiter.join().expect("waiter");
    assert_eq!(waited.text(), "set", "/wait was released by /set on the second thread");
    // And again under load: 16 clients on 2 threads, all served.
    let statuses = Load::start(s.port, "/p/sleep?0.005", 16, 400).finish_when_done();
    let (ok, bad) = summary(&statuses);
    assert_eq!((ok, bad), (400, vec![]), "{}", s.error_log());
}

#[test]
fn a_daemon_killed_while_connections_are_idle_costs_no_request() {
    let group = "pool-kill";
    let s = ServerBuilder::new("pool-kill")
        .mpm("event", 1, 8)
        .conf(&format!(
            "WSGIDaemonProcess {group} processes=1 threads=4\nWSGIScriptAlias /p {{apps}}/pooled.wsgi process-group={group}"
        ))
        .start();
    let statuses = Load::start(s.port, "/p/sleep?0.01", 8, 80).finish_when_done();
    assert_eq!(summary(&statuses).0, 80);
    assert!(daemon_connections(group) > 1);
    let title = format!("(wsgi:{group})");
    let victim = s.daemon_pids(&title)[0];
    // SAFETY: SIGKILL to a daemon process of the server this test started.
    unsafe { libc::kill(victim as i32, libc::SIGKILL) };
    // The pooled connections are dead now; each next request notices that before sending and connects anew
    // (it waits on the group's socket for the replacement).
    let statuses = Load::start(s.port, "/p/sleep?0.01", 8, 80).finish_when_done();
    let (ok, bad) = summary(&statuses);
    assert_eq!((ok, bad), (80, vec![]), "{}", s.error_log());
    assert!(
        !s.error_log().contains("closed the connection before responding"),
        "{}",
        s.error_log()
    );
}

#[test]
fn requests_queued_on_a_dying_process_run_elsewhere() {
    // 2 processes x 1 thread, 8 clients: requests queue on pooled connections of busy processes. When one
    // process is killed, only the request it was running fails (502); those queued behind it were never taken
    // and are sent to the other process.
    let group = "pool-queue";
    let s = ServerBuilder::new("pool-queue")
        .mpm("event", 1, 8)
        .conf(&format!(
            "WSGIDaemonProcess {group} processes=2 threads=1\nWSGIScriptAlias /p {{apps}}/pooled.wsgi process-group={group}"
        ))
        .start();
    let load = Load::start(s.port, "/p/sleep?0.1", 8, 100_000);
    std::thread::sleep(Duration::from_millis(1500));
    let title = format!("(wsgi:{group})");
    let victim = s.daemon_pids(&title)[0];
    // SAFETY: SIGKILL to a daemon process of the server this test started.
    unsafe { libc::kill(victim as i32, libc::SIGKILL) };
    std::thread::sleep(Duration::from_millis(1500));
    let statuses = load.finish();
    let (ok, bad) = summary(&statuses);
    assert!(ok > 20, "load ran ({ok} ok)");
    assert!(bad.iter().all(|s| *s == 502), "only 502s: {bad:?}\n{}", s.error_log());
    assert!(
        bad.len() <= 1,
        "only the request the killed process was running failed: {bad:?}\n{}",
        s.error_log()
    );
}

#[test]
fn small_bodies_travel_with_the_request_and_refused_ones_never_reach_the_daemon() {
    let group = "pool-body";
    let s = ServerBuilder::new("pool-body")
        .mpm("event", 1, 2)
        .conf(&format!(
            "WSGIDaemonProcess {group} processes=1 threads=2\nWSGIScriptAlias /p {{apps}}/pooled.wsgi process-group={group}\n<Location /p/limited>\nLimitRequestBody 1000\n</Location>"
        ))
        .start();
    // Up to 8 KiB the body goes with the request; larger ones are pulled by the daemon as it reads. Both arrive
    // whole, alternating over the same kept connection.
    for (i, n) in [1usize, 3000, 8192, 8193, 70_000, 5000].into_iter().enumerate() {
        let body: Vec<u8> = (0..n).map(|j| b'a' + ((i + j) % 26) as u8).collect();
        let r = s.post("/p/env", "text/plain", &body);
        assert_eq!(r.status, 200, "{}", s.error_log());
        assert_eq!(field(&r.text(), "body"), Some(n.to_string()), "{n}-byte body");
        assert_eq!(field(&r.text(), "CONTENT_LENGTH"), Some(n.to_string()));
    }
    // A body httpd refuses (LimitRequestBody) is answered by httpd before any daemon sees the request.
    let r = s.post("/p/limited", "text/plain", &[b'x'; 2000]);
    assert_eq!(r.status, 413, "{}", s.error_log());
    assert!(
        !s.error_log().contains("unknown probe"),
        "the daemon never ran /limited"
    );
    let r = s.get("/p/env?after-413");
    assert_eq!(field(&r.text(), "QUERY_STRING").as_deref(), Some("after-413"));
}
