//! Issue 16: the rwsgi-metrics handler against a real httpd under load — exact counts from every httpd child and
//! daemon process, histograms consistent, the output read by prometheus_client's parsers (from PyPI), restarts by
//! cause after kill -9, maximum-requests and memory-limit, and counters that survive a graceful restart.

use rwsgi_testkit as kit;

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use kit::ServerBuilder;
use kit::load::{Load, summary};

/// Samples as (name, "k=v,k=v" sorted) -> value, read by prometheus_client.
struct Samples(HashMap<(String, String), f64>);

impl Samples {
    fn get(&self, name: &str, labels: &str) -> f64 {
        self.0
            .get(&(name.to_string(), labels.to_string()))
            .copied()
            .unwrap_or_else(|| panic!("no sample {name}{{{labels}}} in {:?}", self.names()))
    }

    fn or0(&self, name: &str, labels: &str) -> f64 {
        self.0
            .get(&(name.to_string(), labels.to_string()))
            .copied()
            .unwrap_or(0.0)
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.0.keys().map(|(n, l)| format!("{n}{{{l}}}")).collect();
        v.sort();
        v
    }

    /// Sum of every sample of `name` whose labels contain all of `with`.
    fn sum(&self, name: &str, with: &[&str]) -> f64 {
        self.0
            .iter()
            .filter(|((n, l), _)| n == name && with.iter().all(|w| l.split(',').any(|x| x == *w)))
            .map(|(_, v)| v)
            .sum()
    }
}

/// Labels "k=v,..." in the parser's (sorted) order.
fn sorted(labels: &str) -> String {
    let mut v: Vec<&str> = labels.split(',').collect();
    v.sort_unstable();
    v.join(",")
}

fn parser() -> std::path::PathBuf {
    kit::venv::venv(&["prometheus_client"]).join("bin/python")
}

fn parse(text: &str, format: &str) -> Samples {
    let mut child = Command::new(parser())
        .arg(kit::apps_dir().join("metrics_parse.py"))
        .arg(format)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the parser");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("feed the parser");
    let out = child.wait_with_output().expect("parser");
    assert!(
        out.status.success(),
        "prometheus_client rejected the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if let [name, labels, value] = f.as_slice() {
            m.insert(
                (name.to_string(), labels.to_string()),
                value.parse().unwrap_or(f64::NAN),
            );
        }
    }
    Samples(m)
}

fn scrape(s: &kit::Server) -> Samples {
    let r = s.get("/metrics");
    assert_eq!(r.status, 200, "{}", s.error_log());
    assert_eq!(
        r.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    parse(&r.text(), "text")
}

fn server(tag: &str, daemon_opts: &str) -> kit::Server {
    ServerBuilder::new(tag)
        .mpm("event", 2, 8)
        .conf(&format!(
            "WSGIDaemonProcess site processes=2 threads=4 {daemon_opts}\n\
             WSGIScriptAlias /e {{apps}}/daemon.wsgi\n\
             WSGIScriptAlias /d {{apps}}/daemon.wsgi process-group=site\n\
             WSGIScriptAlias /o {{apps}}/output.wsgi\n\
             WSGIScriptAlias /od {{apps}}/output.wsgi process-group=site\n\
             <Location /metrics>\nSetHandler rwsgi-metrics\nRequire all granted\n</Location>"
        ))
        .start()
}

fn wait_for(what: &str, secs: u64, f: impl FnMut() -> bool) {
    assert!(
        kit::process::wait_until(Duration::from_secs(secs), f),
        "timed out waiting for {what}"
    );
}

#[test]
fn counts_are_exact_across_every_child_and_daemon_process() {
    let s = server("metrics-counts", "");
    let before = scrape(&s);
    let base = |m: &str, labels: &str| before.or0(m, labels);
    // 16 clients, 400 requests each to an embedded and a daemon URL, while scrapes run.
    let load_e = Load::start(s.port, "/e/pid", 8, 400);
    let load_d = Load::start(s.port, "/d/pid", 8, 400);
    // Scrapes while requests run: no process shows more requests in flight than it has threads.
    for _ in 0..5 {
        let during = scrape(&s);
        for (name, labels) in during.0.keys().filter(|(n, _)| n == "rwsgi_requests_in_flight") {
            let threads = during.get("rwsgi_threads", labels);
            let in_flight = during.get(name, labels);
            assert!(
                (0.0..=threads).contains(&in_flight),
                "{labels}: {in_flight} in flight, {threads} threads"
            );
        }
    }
    let (ok_e, bad_e) = summary(&load_e.finish_when_done());
    let (ok_d, bad_d) = summary(&load_d.finish_when_done());
    assert_eq!((ok_e, ok_d, bad_e.len(), bad_d.len()), (400, 400, 0, 0));
    // Errors mod_rwsgi answers itself, and the application's own 404.
    for _ in 0..3 {
        assert_eq!(s.get("/o/exc-before").status, 500);
        assert_eq!(s.get("/od/exc-before").status, 500);
    }
    assert_eq!(
        s.get("/o/not-here").status,
        404,
        "output.wsgi answers 404 for unknown paths"
    );
    // Every child answers for the whole server: the same totals from several scrapes (each may reach another
    // child).
    // Resident memory is read by each daemon process every second.
    wait_for("the daemon processes' resident memory", 5, || {
        let m = scrape(&s);
        ["0", "1"]
            .iter()
            .all(|p| m.get("rwsgi_process_resident_bytes", &format!("group=site,process={p}")) > 1e6)
    });
    let mut seen = Vec::new();
    for _ in 0..6 {
        let m = scrape(&s);
        // What the test's own requests added.
        let delta = |name: &str, labels: &str| m.get(name, labels) - base(name, labels);
        let e2 = delta("rwsgi_requests_total", "class=2xx,mode=embedded");
        let d2 = delta("rwsgi_requests_total", "class=2xx,group=site,mode=daemon");
        seen.push((e2, d2));
        assert_eq!(delta("rwsgi_requests_total", "class=5xx,mode=embedded"), 3.0);
        assert_eq!(
            delta("rwsgi_errors_total", "cause=app_exception,group=site,mode=daemon"),
            3.0,
            "counted once, by the daemon process that ran it"
        );
        assert_eq!(delta("rwsgi_errors_total", "cause=app_exception,mode=embedded"), 3.0);
        assert!(delta("rwsgi_requests_total", "class=4xx,mode=embedded") >= 1.0);
        // Histograms: cumulative buckets, +Inf = count, as many observations as requests.
        for labels in ["mode=embedded", "group=site,mode=daemon"] {
            let count = m.get("rwsgi_request_duration_seconds_count", labels);
            let inf = m.get(
                "rwsgi_request_duration_seconds_bucket",
                &sorted(&format!("{labels},le=+Inf")),
            );
            assert_eq!(count, inf);
            let total = m.sum("rwsgi_requests_total", &labels.split(',').collect::<Vec<_>>());
            assert_eq!(count, total, "one duration per request ({labels})");
        }
        let q = m.get("rwsgi_queue_duration_seconds_count", "group=site");
        assert!(q >= 403.0, "each daemon request waited once: {q}");
        // Capacity: 2 children x 8 threads, 2 daemon processes x 4 threads.
        assert_eq!(m.sum("rwsgi_threads", &["mode=embedded"]), 16.0);
        assert_eq!(m.sum("rwsgi_threads", &["mode=daemon"]), 8.0);
        assert_eq!(m.get("rwsgi_httpd_children", ""), 2.0);
    }
    // The load's requests exactly (the scrapes themselves are not WSGI requests), whichever child answered.
    assert!(seen.iter().all(|x| *x == (400.0, 400.0)), "{seen:?}");
    // OpenMetrics when asked for it.
    let r = s.request(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: application/openmetrics-text; version=1.0.0\r\nConnection: close\r\n\r\n");
    assert_eq!(
        r.header("Content-Type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(r.text().ends_with("# EOF\n"));
    let om = parse(&r.text(), "openmetrics");
    assert!(om.get("rwsgi_requests_total", "class=2xx,mode=embedded") >= 400.0);
}

#[test]
fn restarts_by_cause_and_survival_of_a_graceful_restart() {
    let s = server(
        "metrics-restarts",
        "maximum-requests=20 memory-limit=150000000 graceful-timeout=5",
    );
    // maximum-requests: 60 requests over 2 processes recycle at least one.
    let statuses = Load::start(s.port, "/d/pid", 4, 60).finish_when_done();
    assert_eq!(summary(&statuses).0, 60);
    wait_for("a maximum-requests restart", 10, || {
        scrape(&s).get("rwsgi_process_restarts_total", "cause=maximum_requests,group=site") >= 1.0
    });
    // kill -9: a crash with its signal.
    let victim = s.daemon_pids("(wsgi:site)")[0];
    // SAFETY: SIGKILL to a daemon process of the server this test started.
    unsafe { libc::kill(victim as i32, libc::SIGKILL) };
    wait_for("the crash counted", 10, || {
        let m = scrape(&s);
        m.or0("rwsgi_process_crashes_total", "group=site,signal=SIGKILL") == 1.0
            && m.get("rwsgi_process_restarts_total", "cause=crash,group=site") == 1.0
    });
    // memory-limit: a request that allocates past the limit.
    let r = s.get("/d/alloc?300");
    assert!(matches!(r.status, 200 | 500), "{}", r.status);
    wait_for("a memory-limit restart", 15, || {
        scrape(&s).get("rwsgi_process_restarts_total", "cause=memory_limit,group=site") >= 1.0
    });
    let before = scrape(&s);
    let served = before.get("rwsgi_requests_total", "class=2xx,group=site,mode=daemon");
    let starts = before.get("rwsgi_process_starts_total", "group=site");
    assert!(starts >= 5.0, "2 first starts and at least 3 replacements: {starts}");
    // A graceful restart keeps the counters and counts its replacements.
    s.apachectl("graceful");
    wait_for("the graceful restart counted", 15, || {
        let m = scrape(&s);
        m.get("rwsgi_process_restarts_total", "cause=graceful_restart,group=site") >= 2.0
            && m.get("rwsgi_requests_total", "class=2xx,group=site,mode=daemon") >= served
    });
    assert_eq!(s.get("/d/pid").status, 200);
}

/// A process retiring after maximum-requests finishes its last request while its replacement already holds the
/// slot: the slot's in-flight gauge is the replacement's (it never goes below zero), the counters keep the retiring
/// process's requests, and the replacement's process_metrics() counts only its own.
#[test]
fn a_retiring_process_leaves_its_replacement_the_slot() {
    let s = ServerBuilder::new("metrics-retire")
        .conf(
            "WSGIDaemonProcess retire processes=1 threads=2 maximum-requests=2 graceful-timeout=15\n\
             WSGIScriptAlias /d {apps}/daemon.wsgi process-group=retire\n\
             WSGIScriptAlias /api {apps}/api.wsgi process-group=retire application-group=%{GLOBAL}\n\
             <Location /metrics>\nSetHandler rwsgi-metrics\nRequire all granted\n</Location>",
        )
        .start();
    let first = s.daemon_pids("(wsgi:retire)");
    assert_eq!(first.len(), 1, "{first:?}");
    let port = s.port;
    let slow = std::thread::spawn(move || kit::get(port, "/d/sleep?3").status);
    std::thread::sleep(Duration::from_millis(500));
    // The second request: the process retires, its replacement starts while /sleep still runs.
    assert_eq!(s.get("/d/pid").status, 200);
    wait_for("the replacement", 15, || {
        s.daemon_pids("(wsgi:retire)").iter().any(|p| !first.contains(p))
    });
    assert_eq!(slow.join().expect("slow request"), 200);
    std::thread::sleep(Duration::from_millis(300));
    let m = scrape(&s);
    assert_eq!(
        m.get("rwsgi_requests_in_flight", "group=retire,mode=daemon,process=0"),
        0.0
    );
    assert_eq!(
        m.get("rwsgi_process_completed_total", "class=2xx,group=retire,process=0"),
        2.0
    );
    let p = s.get("/api/process").text();
    let pid = kit::http::field(&p, "pid").unwrap_or_default().to_string();
    assert!(
        !pid.is_empty() && pid != first[0].to_string(),
        "the replacement answers: {p}"
    );
    assert_eq!(
        kit::http::field(&p, "request_count"),
        Some("0"),
        "none of its own requests finished yet: {p}"
    );
}

#[test]
fn server_metrics_reads_apaches_scoreboard_when_switched_on() {
    let s = ServerBuilder::new("metrics-scoreboard")
        .mpm("event", 2, 4)
        .conf(
            "ExtendedStatus On\nWSGIServerMetrics On\n\
             WSGIDaemonProcess on processes=1 threads=2 server-metrics=On\n\
             WSGIDaemonProcess off processes=1 threads=2 server-metrics=Off\n\
             WSGIScriptAlias /e {apps}/server_metrics.wsgi\n\
             WSGIScriptAlias /on {apps}/server_metrics.wsgi process-group=on\n\
             WSGIScriptAlias /off {apps}/server_metrics.wsgi process-group=off",
        )
        .start();
    let r = s.get("/e/x?probe-1");
    assert_eq!(r.status, 200, "{}", s.error_log());
    let e = r.text();
    for needle in [
        "\"keys\": [\"current_time\", \"processes\", \"restart_time\", \"running_generation\", \"running_time\", \"server_limit\", \"thread_limit\"]",
        "\"server_limit\": 2",
        "\"thread_limit\": 4",
        "\"processes\": 2",
        "\"worker_keys\": [\"access_count\", \"bytes_served\", \"client\", \"generation\", \"last_used\", \"request\", \"start_time\", \"status\", \"stop_time\", \"thread_num\", \"vhost\"]",
        "\"this_request_seen\": true",
        "\"running_time_ok\": true",
    ] {
        assert!(e.contains(needle), "{needle} in {e}");
    }
    // The scoreboard's two processes are children of this server's httpd parent.
    let pids: Vec<u32> = e
        .split("\"pids\": [")
        .nth(1)
        .and_then(|r| r.split(']').next())
        .map(|l| l.split(',').filter_map(|p| p.trim().parse().ok()).collect())
        .unwrap_or_default();
    assert_eq!(pids.len(), 2, "{e}");
    let children = s.children();
    assert!(pids.iter().all(|p| children.contains(p)), "{pids:?} among {children:?}");
    assert_eq!(
        s.get("/off/x").text(),
        "null",
        "server-metrics=Off overrides WSGIServerMetrics On"
    );
    // Daemon processes see the scoreboard from the first start (they are forked after httpd made it) and after a
    // graceful restart; a process that answers sees the httpd children serving it.
    let seen = |s: &kit::Server| {
        let d = s.get("/on/x?probe-d").text();
        for needle in ["\"server_limit\": 2", "\"processes\": 2", "\"this_request_seen\": true"] {
            assert!(d.contains(needle), "{needle} in {d}");
        }
    };
    seen(&s);
    s.apachectl("graceful");
    wait_for("the new generation's daemon", 15, || {
        s.get("/on/x").text().contains("\"running_generation\": 1")
    });
    seen(&s);
    assert_eq!(s.get("/off/x").text(), "null");
}
