//! Daemon processes that keep their promises under load: a crash during a request is replaced at once (no
//! start-up back-off), maximum-requests is a limit, memory-limit stops the offender, a process whose GIL is stuck
//! stops taking requests, startup-timeout replaces a process that cannot load its application. Real httpd,
//! concurrent clients, bounded in time and count; the figures are printed for the closing note.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rwsgi_testkit as kit;

use kit::ServerBuilder;

fn pid_of(s: &kit::Server, path: &str) -> Option<String> {
    let r = s.get(path);
    (r.status == 200).then(|| r.text())
}

#[test]
fn a_crash_during_a_request_is_replaced_at_once_every_time() {
    let s = ServerBuilder::new("rel-crash")
        .conf("WSGIDaemonProcess site processes=1 threads=5\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site")
        .start();
    let mut pid = pid_of(&s, "/d/pid").expect("serving");
    let mut worst = Duration::ZERO;
    for (i, how) in ["/d/crash", "/d/segv", "/d/crash", "/d/segv", "/d/crash"]
        .iter()
        .enumerate()
    {
        let r = s.get(how);
        assert_eq!(r.status, 502, "crash {i} ({how}): {}", r.text());
        let t = Instant::now();
        // The next request: it waits in the socket's backlog for the replacement.
        let next =
            pid_of(&s, "/d/pid").unwrap_or_else(|| panic!("crash {i}: the next request failed\n{}", s.error_log()));
        let took = t.elapsed();
        worst = worst.max(took);
        assert_ne!(next, pid, "crash {i}: a new process");
        assert!(
            took < Duration::from_millis(1500),
            "crash {i}: served again after {took:?}"
        );
        pid = next;
    }
    eprintln!("FIGURE crash: 5 mid-request crashes, worst time to serve again {worst:?}");
    let log = s.error_log();
    assert!(!log.contains("keeps failing at start-up"), "{log}");
    assert_eq!(log.matches("; restarting it").count(), 5, "{log}");
    assert!(log.contains("killed by signal 11") || log.contains("SIGSEGV"), "{log}");
}

#[test]
fn maximum_requests_is_a_limit_under_load() {
    let (limit, threads) = (50usize, 4usize);
    let s = ServerBuilder::new("rel-maxreq")
        .mpm("event", 2, 16)
        .conf(&format!(
            "WSGIDaemonProcess site processes=2 threads={threads} maximum-requests={limit}\nWSGIScriptAlias /d {{apps}}/daemon.wsgi process-group=site"
        ))
        .start();
    let served: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let failed = Arc::new(Mutex::new(Vec::new()));
    let port = s.port;
    let total = 1000;
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (served, failed) = (served.clone(), failed.clone());
            std::thread::spawn(move || {
                for _ in 0..total / 16 {
                    let r = kit::get(port, "/d/pid");
                    if r.status == 200 {
                        *served.lock().unwrap().entry(r.text()).or_default() += 1;
                    } else {
                        failed.lock().unwrap().push(r.status);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("client");
    }
    let served = served.lock().unwrap().clone();
    let failed = failed.lock().unwrap().clone();
    let most = served.values().copied().max().unwrap_or(0);
    eprintln!(
        "FIGURE maximum-requests={limit}: {} requests over {} processes, most by one process {most}, failed {}",
        served.values().sum::<usize>(),
        served.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "failed requests: {failed:?}\n{}", s.error_log());
    assert!(
        most <= limit + threads,
        "a process served {most} (limit {limit} + {threads} threads)"
    );
    assert!(
        served.len() >= total / (limit + threads),
        "{} processes for {total} requests",
        served.len()
    );
}

#[test]
fn memory_limit_stops_the_offender() {
    let limit: u64 = 256 << 20;
    let s = ServerBuilder::new("rel-memory")
        .conf(&format!(
            "WSGIDaemonProcess site processes=2 threads=2 memory-limit={limit} graceful-timeout=5\nWSGIScriptAlias /d {{apps}}/daemon.wsgi process-group=site"
        ))
        .start();
    let before = s.daemon_pids("(wsgi:site)");
    let t = Instant::now();
    let r = s.get("/d/alloc?600");
    assert_eq!(
        r.status,
        500,
        "the request allocating past the limit fails: {}",
        r.text()
    );
    assert!(s.wait_log("MemoryError raised in the", 5), "{}", s.error_log());
    let log = s.error_log();
    let rss: u64 = log
        .lines()
        .find(|l| l.contains("MemoryError raised in the"))
        .and_then(|l| l.split("resident set size ").nth(1))
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the log names the resident set size");
    eprintln!(
        "FIGURE memory-limit=256 MiB: interrupted at {} MiB after {:?}",
        rss >> 20,
        t.elapsed()
    );
    assert!(
        rss < limit + limit / 4 + (96 << 20),
        "resident set {rss} far past the limit"
    );
    assert!(log.contains("MemoryError"), "{log}");
    // Replaced within 2 s; the other process served meanwhile.
    let gone = Instant::now();
    loop {
        let now = s.daemon_pids("(wsgi:site)");
        if now.len() == 2 && now.iter().filter(|p| before.contains(p)).count() == 1 {
            break;
        }
        assert!(
            gone.elapsed() < Duration::from_secs(4),
            "not replaced: {before:?} -> {now:?}"
        );
        assert_eq!(s.get("/d/pid").status, 200);
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("FIGURE memory-limit: replaced {:?} after the 500", gone.elapsed());
    for _ in 0..10 {
        assert_eq!(s.get("/d/pid").status, 200);
    }
}

#[test]
fn a_process_whose_gil_is_stuck_takes_no_new_requests() {
    let s = ServerBuilder::new("rel-gil")
        .conf("WSGIDaemonProcess site processes=2 threads=2 deadlock-timeout=15 socket-timeout=30\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site")
        .start();
    let port = s.port;
    let stuck = std::thread::spawn(move || kit::get(port, "/d/hold-gil").status);
    std::thread::sleep(Duration::from_millis(2600));
    let mut slowest = Duration::ZERO;
    for i in 0..12 {
        let t = Instant::now();
        let r = s.get("/d/pid");
        let took = t.elapsed();
        slowest = slowest.max(took);
        assert_eq!(r.status, 200, "request {i}");
        assert!(
            took < Duration::from_secs(2),
            "request {i} waited {took:?} (sent to the stuck process?)"
        );
    }
    eprintln!("FIGURE stuck GIL: 12 requests during the stall, slowest {slowest:?}");
    assert!(s.wait_log("deadlock-timeout=15", 20), "{}", s.error_log());
    assert_eq!(stuck.join().expect("stuck"), 502);
}

#[test]
fn startup_timeout_replaces_a_process_that_cannot_load_its_application() {
    let b = ServerBuilder::new("rel-startup");
    std::fs::write(
        b.apps().join("unloadable.wsgi"),
        "raise RuntimeError('the database is not up yet')\n",
    )
    .expect("script");
    let s = b
        .conf("WSGIDaemonProcess site processes=1 threads=2 startup-timeout=2\nWSGIScriptAlias /u {apps}/unloadable.wsgi process-group=site")
        .start();
    let before = s.daemon_pids("(wsgi:site)");
    assert_eq!(s.get("/u").status, 500);
    assert!(
        s.wait_log("startup-timeout=2: no WSGI script could be loaded", 8),
        "{}",
        s.error_log()
    );
    let t = Instant::now();
    while s.daemon_pids("(wsgi:site)") == before {
        assert!(t.elapsed() < Duration::from_secs(8), "not replaced\n{}", s.error_log());
        std::thread::sleep(Duration::from_millis(100));
    }
}
