//! The mod_wsgi module's runtime API through a real httpd, in embedded and daemon mode: request_data() and
//! active_requests, the events (request_started may replace the application), request_metrics() and
//! process_metrics() against the requests the test sent and the rwsgi-metrics handler's figures (the same
//! counters), the environ's timestamps and thread number.

use rwsgi_testkit as kit;

use kit::ServerBuilder;
use kit::http::field;

fn start(tag: &str, daemon: bool) -> kit::Server {
    let app = if daemon {
        "WSGIDaemonProcess api processes=1 threads=4\nWSGIScriptAlias /api {apps}/api.wsgi process-group=api application-group=%{GLOBAL}"
    } else {
        // One child: the metrics of one process are what the test reads.
        "WSGIScriptAlias /api {apps}/api.wsgi application-group=%{GLOBAL}"
    };
    let conf = format!("{app}\n<Location /server/metrics>\nSetHandler rwsgi-metrics\nRequire all granted\n</Location>");
    let b = ServerBuilder::new(tag).conf(&conf);
    let b = if daemon { b } else { b.mpm("event", 1, 8) };
    b.start()
}

fn text(s: &kit::Server, path: &str) -> String {
    if path.ends_with("/metrics") || path.ends_with("/process") {
        // A request's figures are recorded just after its response went out: let the previous one's land.
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let r = s.get(path);
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.text()
}

fn num(body: &str, key: &str) -> f64 {
    field(body, key)
        .unwrap_or_else(|| panic!("no {key} in {body}"))
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not a number in {body}"))
}

/// The value of the exposition line `series` (name and labels as rendered).
fn sample(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in {exposition}"))
}

fn check(daemon: bool) {
    let s = start(if daemon { "api-daemon" } else { "api-embedded" }, daemon);
    // The interval starts with the first request (start_recording_metrics() runs when the script loads).
    text(&s, "/api/warm");
    // This request ends in the interval it starts: it is counted in the next answer.
    let first = text(&s, "/api/metrics");

    // Known traffic: 3 POSTs of 1000 bytes, one 404, one exception (500).
    let body = vec![b'x'; 1000];
    for _ in 0..3 {
        let r = s.post("/api/post", "application/octet-stream", &body);
        assert_eq!(r.text(), "got 1000");
    }
    assert_eq!(s.get("/api/missing").status, 404);
    assert_eq!(s.get("/api/raise").status, 500);
    let m = text(&s, "/api/metrics");
    assert_eq!(num(&m, "request_count"), 6.0, "{m}");
    assert_eq!(num(&m, "status_2xx"), 4.0, "{m}");
    assert_eq!(num(&m, "status_4xx"), 1.0, "{m}");
    assert_eq!(num(&m, "status_5xx"), 1.0, "{m}");
    assert_eq!(num(&m, "input_bytes"), 3000.0, "{m}");
    // The first answer, "got 1000" x 3 and "no".
    assert_eq!(num(&m, "output_bytes"), (first.len() + 26) as f64, "{m}");
    assert!(num(&m, "input_reads") >= 3.0, "{m}");
    assert!(
        num(&m, "sample_period") > 0.0 && num(&m, "request_throughput") > 0.0,
        "{m}"
    );
    assert!(
        num(&m, "application_time") > 0.0 && num(&m, "capacity_utilization") > 0.0,
        "{m}"
    );
    let buckets = field(&m, "request_time_buckets").expect("buckets");
    assert_eq!(buckets.matches(',').count(), 64, "65 buckets: {buckets}");
    let counted: u32 = buckets
        .trim_matches(['[', ']'])
        .split(", ")
        .map(|v| v.parse::<u32>().unwrap_or(0))
        .sum();
    assert_eq!(counted, 6, "{buckets}");
    if daemon {
        assert!(num(&m, "queue_time") >= 0.0, "{m}");
    } else {
        assert_eq!(field(&m, "queue_time"), Some("null"), "{m}");
    }
    // The interval was reset by the call.
    let m = text(&s, "/api/metrics");
    assert_eq!(num(&m, "request_count"), 1.0, "only /api/metrics itself: {m}");

    // One set of counters, two views: process_metrics() reads the cells the rwsgi-metrics handler adds up.
    let scraped = text(&s, "/server/metrics");
    let p = text(&s, "/api/process");
    // warm, the first /api/metrics, 3 POSTs, the 404, the 500 and two more /api/metrics (since the process
    // started, not since start_recording_metrics()).
    assert_eq!(num(&p, "request_count"), 9.0, "{p}");
    assert_eq!(num(&p, "active_requests"), 1.0, "/api/process itself: {p}");
    let threads = field(&p, "threads").expect("threads");
    let per_thread: f64 = threads
        .split("\"request_count\": ")
        .skip(1)
        .map(|v| {
            v.split(['}', ','])
                .next()
                .unwrap_or("")
                .parse::<f64>()
                .unwrap_or(f64::NAN)
        })
        .sum();
    // As mod_wsgi, a thread's count includes the request it is running (this one).
    assert_eq!(per_thread, 10.0, "{threads}");
    let (count, busy) = if daemon {
        let count: f64 = ["1xx", "2xx", "3xx", "4xx", "5xx"]
            .iter()
            .map(|c| {
                let series = format!("rwsgi_process_completed_total{{group=\"api\",process=\"0\",class=\"{c}\"}}");
                sample(&scraped, &series)
            })
            .sum();
        (
            count,
            sample(
                &scraped,
                "rwsgi_process_busy_seconds_total{group=\"api\",process=\"0\"}",
            ),
        )
    } else {
        (
            sample(&scraped, "rwsgi_request_duration_seconds_count{mode=\"embedded\"}"),
            sample(&scraped, "rwsgi_request_duration_seconds_sum{mode=\"embedded\"}"),
        )
    };
    assert_eq!(count, 9.0, "{scraped}");
    let busy_time = num(&p, "request_busy_time");
    assert!(
        busy_time > 0.0 && (busy_time - busy).abs() < 2e-6,
        "{busy_time} vs {busy}: {p}\n{scraped}"
    );
    assert!(num(&p, "memory_rss") > 1e6 && num(&p, "cpu_time") > 0.0, "{p}");

    // Events of the previous request, in order, and the measured values of request_finished.
    s.post("/api/post", "text/plain", b"abc");
    let e = text(&s, "/api/events?len=3");
    let events = field(&e, "events").expect("events");
    assert!(
        events.contains(r#""request_started", "response_started", "request_finished""#),
        "{events}"
    );
    let finished = field(&e, "finished").expect("finished");
    for key in [
        r#""input_length": 3"#,
        r#""output_length": 5"#,
        r#""output_writes": 2"#,
        r#""status": 200"#,
        "\"request_id\"",
        "\"gil_wait_time\"",
        "\"gil_wait_count\"",
        "\"cpu_time\"",
        "\"daemon_start\"",
        "\"queue_start\"",
        "\"thread_id\"",
    ] {
        assert!(finished.contains(key), "{key} not in {finished}");
    }
    assert_eq!(s.get("/api/raise").status, 500);
    let e = text(&s, "/api/events");
    assert!(
        field(&e, "events").is_some_and(|v| v.contains("exception:KeyError")),
        "{e}"
    );

    // A subscriber may replace the application.
    assert_eq!(text(&s, "/api/replaced"), "replaced by a subscriber");

    // request_data(): one dict per request, the one the events carry, listed in active_requests.
    let d = text(&s, "/api/data");
    assert_eq!(field(&d, "data"), Some(r#"["mine", "started_by"]"#), "{d}");
    assert_eq!(field(&d, "same"), Some("true"));
    assert_eq!(field(&d, "active"), Some("true"));
    assert_eq!(field(&d, "active_is_data"), Some("true"));
    assert_eq!(text(&s, "/api/outside"), r#"["no active request for thread"]"#);

    let m = text(&s, "/api/module");
    assert_eq!(field(&m, "version"), Some("[6, 1, 0]"));
    assert_eq!(
        field(&m, "process_group"),
        Some(if daemon { r#""api""# } else { r#""""# })
    );
    assert_eq!(field(&m, "application_group"), Some(r#""""#));
    assert_eq!(
        field(&m, "timeout_base"),
        Some(r#"["RequestTimeout", "BaseException", "object"]"#)
    );
    let environ = field(&m, "environ").expect("environ");
    assert!(environ.contains(r#""mod_wsgi.thread_id": ["int", "#), "{environ}");
    assert!(
        environ.contains(r#""mod_wsgi.request_start": ["float", 1"#),
        "{environ}"
    );
    assert!(
        environ.contains(r#""mod_wsgi.application_start": ["float", 1"#),
        "{environ}"
    );
    if daemon {
        assert!(environ.contains(r#""mod_wsgi.daemon_start": ["float", 1"#), "{environ}");
        assert!(environ.contains(r#""mod_wsgi.queue_start": ["float", 1"#), "{environ}");
    } else {
        assert!(
            environ.contains(r#""mod_wsgi.daemon_start": ["float", 0.0]"#),
            "{environ}"
        );
    }
    assert!(
        !environ.contains(r#""mod_wsgi.request_id": ["str", ""]"#),
        "a request id is generated: {environ}"
    );
}

#[test]
fn runtime_api_in_embedded_mode() {
    check(false);
}

#[test]
fn runtime_api_in_daemon_mode() {
    check(true);
}

/// mod_wsgi.application_group is the running request's group (one interpreter per process).
#[test]
fn application_group_follows_the_request() {
    let s = ServerBuilder::new("api-groups")
        .conf("WSGIScriptAlias /a {apps}/api.wsgi application-group=site-a\nWSGIScriptAlias /b {apps}/api.wsgi application-group=site-b")
        .start();
    assert_eq!(field(&text(&s, "/a/module"), "application_group"), Some(r#""site-a""#));
    assert_eq!(field(&text(&s, "/b/module"), "application_group"), Some(r#""site-b""#));
}

/// subscribe_shutdown: a daemon process tells why it stops (mod_wsgi's reason names).
#[test]
fn shutdown_subscribers_hear_why_the_process_stops() {
    let s = ServerBuilder::new("api-stop")
        .conf("WSGIDaemonProcess stopper processes=1 threads=2 maximum-requests=2\nWSGIScriptAlias /api {apps}/api.wsgi process-group=stopper application-group=%{GLOBAL}")
        .start();
    for _ in 0..2 {
        text(&s, "/api/warm");
    }
    assert!(
        s.wait_log("api.wsgi: process_stopping shutdown_reason=maximum_requests", 15),
        "{}",
        s.error_log()
    );
}

/// subscribe_signals: SIGHUP / SIGUSR2 sent to a daemon process reach the callbacks (process_signal), and the
/// process keeps serving.
#[test]
fn signal_subscribers_hear_sighup_and_sigusr2() {
    let s = ServerBuilder::new("api-signals")
        .conf("WSGIDaemonProcess signals processes=1 threads=2\nWSGIScriptAlias /api {apps}/api.wsgi process-group=signals application-group=%{GLOBAL}")
        .start();
    text(&s, "/api/warm");
    let pids = s.daemon_pids("(wsgi:signals)");
    assert_eq!(pids.len(), 1, "{pids:?}");
    kit::signal(pids[0] as i32, libc::SIGUSR2);
    assert!(
        s.wait_log("api.wsgi: process_signal SIGUSR2 12", 10),
        "{}",
        s.error_log()
    );
    kit::signal(pids[0] as i32, libc::SIGHUP);
    assert!(s.wait_log("api.wsgi: process_signal SIGHUP 1", 10), "{}", s.error_log());
    text(&s, "/api/warm");
    assert_eq!(s.daemon_pids("(wsgi:signals)"), pids, "the same process serves on");
}
