//! The Prometheus text exposition (version 0.0.4) and OpenMetrics 1.0 of the shared figures. Pure: it reads cells
//! through a function, so the unit tests feed it plain numbers.

use std::fmt::Write;

use super::layout::{BUCKETS, CAUSES, Layout, NB, RESTARTS, SIGNALS, THREAD_BUSY, child, group, proc, req};

/// Reads cell `i`.
pub type Read<'a> = &'a dyn Fn(usize) -> u64;

struct Out {
    text: String,
    open: bool,
}

impl Out {
    /// `# HELP` / `# TYPE` of a family; OpenMetrics names a counter family without its `_total`.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let family = if self.open {
            name.strip_suffix("_total").unwrap_or(name)
        } else {
            name
        };
        let _ = writeln!(self.text, "# HELP {family} {help}");
        let _ = writeln!(self.text, "# TYPE {family} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{k}=\"{}\"", escape(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }

    /// A histogram from per-bucket counts (not cumulative) and its sum in microseconds; its count is the +Inf
    /// bucket (so the two can never disagree while requests finish during a scrape).
    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], buckets: &[u64; NB], sum_us: u64) {
        let mut cumulative = 0u64;
        for (i, n) in buckets.iter().enumerate() {
            cumulative += n;
            let le = if i < BUCKETS.len() {
                format!("{}", BUCKETS[i])
            } else {
                "+Inf".to_string()
            };
            let mut l = labels.to_vec();
            l.push(("le", &le));
            self.sample(&format!("{name}_bucket"), &l, cumulative);
        }
        self.sample(&format!("{name}_sum"), labels, seconds(sum_us));
        self.sample(&format!("{name}_count"), labels, cumulative);
    }
}

fn seconds(us: u64) -> String {
    format!("{:.6}", us as f64 / 1e6)
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn signal_name(n: usize) -> String {
    const NAMES: [&str; 32] = [
        "exit",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    NAMES.get(n).map_or_else(|| format!("SIG{n}"), |s| (*s).to_string())
}

/// Sums a block of `n` cells at `start + offset` over several starts.
fn sum(read: Read<'_>, starts: &[usize], offset: usize) -> u64 {
    starts.iter().map(|s| read(s + offset)).fold(0u64, u64::wrapping_add)
}

/// The whole exposition. `groups`: the daemon groups' names in layout order; `open`: OpenMetrics instead of the
/// Prometheus text format.
pub fn render(l: &Layout, read: Read<'_>, groups: &[String], open: bool) -> String {
    let mut o = Out {
        text: String::with_capacity(16 * 1024),
        open,
    };
    // (mode, group name, index in the child request blocks)
    let mut modes: Vec<(&str, &str, usize)> = vec![("embedded", "", 0)];
    for (i, g) in groups.iter().enumerate().take(l.groups) {
        modes.push(("daemon", g, i + 1));
    }
    let live_children: Vec<usize> = (0..l.children)
        .filter(|c| read(l.child(*c) + child::PID) != 0)
        .collect();
    let all_children: Vec<usize> = (0..l.children).collect();
    let procs = |g: usize| -> Vec<usize> { (0..l.procs).map(|p| l.proc(g, p)).collect() };
    // The request blocks of group `gi` in every child: embedded-mode requests count in their thread's block.
    let blocks = |gi: usize| -> Vec<usize> {
        let mut v: Vec<usize> = all_children.iter().map(|c| l.child_req(*c, gi)).collect();
        if gi == 0 {
            v.extend(
                all_children
                    .iter()
                    .flat_map(|c| (0..l.threads).map(move |t| l.child_thread(*c, t))),
            );
        }
        v
    };

    o.family(
        "rwsgi_requests_total",
        "counter",
        "WSGI requests answered, by status class (counted in the httpd children, both modes).",
    );
    for (mode, name, gi) in &modes {
        let starts = blocks(*gi);
        for (k, class) in ["1xx", "2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
            let n = sum(read, &starts, req::CLASS + k);
            o.sample("rwsgi_requests_total", &labels(mode, name, &[("class", class)]), n);
        }
    }

    o.family(
        "rwsgi_errors_total",
        "counter",
        "5xx answers mod_rwsgi gave itself, by cause (the application's own 5xx responses are not counted here).",
    );
    for (mode, name, gi) in &modes {
        let starts = blocks(*gi);
        for (k, cause) in CAUSES.iter().enumerate() {
            let mut n = sum(read, &starts, req::CAUSE + k);
            if *gi > 0 {
                n = n.wrapping_add(sum(read, &procs(gi - 1), proc::CAUSE + k));
            }
            o.sample("rwsgi_errors_total", &labels(mode, name, &[("cause", cause)]), n);
        }
    }

    o.family(
        "rwsgi_request_duration_seconds",
        "histogram",
        "Time from the arrival of a WSGI request in httpd until mod_rwsgi handed back the response (http.server.request.duration).",
    );
    for (mode, name, gi) in &modes {
        let starts = blocks(*gi);
        let mut b = [0u64; NB];
        for (k, v) in b.iter_mut().enumerate() {
            *v = sum(read, &starts, req::BUCKET + k);
        }
        let s = sum(read, &starts, req::SUM_US);
        o.histogram("rwsgi_request_duration_seconds", &labels(mode, name, &[]), &b, s);
    }

    o.family(
        "rwsgi_queue_duration_seconds",
        "histogram",
        "Daemon mode: time a request waited between its arrival in httpd and a daemon thread taking it.",
    );
    for (gi, name) in groups.iter().enumerate().take(l.groups) {
        let starts = procs(gi);
        let mut b = [0u64; NB];
        for (k, v) in b.iter_mut().enumerate() {
            *v = sum(read, &starts, proc::QUEUE_BUCKET + k);
        }
        o.histogram(
            "rwsgi_queue_duration_seconds",
            &[("group", name)],
            &b,
            sum(read, &starts, proc::QUEUE_SUM_US),
        );
    }

    o.family(
        "rwsgi_requests_in_flight",
        "gauge",
        "WSGI requests running now, per process (one thread each: this is also the number of busy threads).",
    );
    let in_flight = |c: usize| {
        (0..l.threads)
            .map(|t| read(l.child_thread(c, t) + THREAD_BUSY))
            .fold(read(l.child(c) + child::IN_FLIGHT), u64::wrapping_add)
    };
    o.per_process(
        l,
        read,
        groups,
        &live_children,
        "rwsgi_requests_in_flight",
        &in_flight,
        proc::IN_FLIGHT,
    );

    o.family(
        "rwsgi_threads",
        "gauge",
        "Threads that serve requests, per process (capacity: compare with rwsgi_requests_in_flight).",
    );
    o.per_process(
        l,
        read,
        groups,
        &live_children,
        "rwsgi_threads",
        &|c| read(l.child(c) + child::THREADS),
        proc::THREADS,
    );

    o.family(
        "rwsgi_process_resident_bytes",
        "gauge",
        "Resident memory of each daemon process (updated every second).",
    );
    o.family_samples_daemon(l, read, groups, "rwsgi_process_resident_bytes", proc::RSS, |v| {
        v.to_string()
    });
    o.family(
        "rwsgi_process_requests_total",
        "counter",
        "Requests each daemon process slot took (its replacements add to it).",
    );
    o.family_samples_daemon(l, read, groups, "rwsgi_process_requests_total", proc::REQUESTS, |v| {
        v.to_string()
    });
    o.family(
        "rwsgi_process_completed_total",
        "counter",
        "Requests each daemon process slot ran to their end, by the status class they ended with (its replacements \
         add to it).",
    );
    for d in daemon_slots(l, read, groups, true) {
        for (k, class) in ["1xx", "2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
            o.sample(
                "rwsgi_process_completed_total",
                &[("group", d.group), ("process", &d.process), ("class", class)],
                read(d.base + proc::CLASS + k),
            );
        }
    }
    o.family(
        "rwsgi_process_busy_seconds_total",
        "counter",
        "Time the threads of each daemon process slot spent running requests (its rate over rwsgi_threads is the \
         capacity used).",
    );
    o.family_samples_daemon(
        l,
        read,
        groups,
        "rwsgi_process_busy_seconds_total",
        proc::BUSY_US,
        seconds,
    );
    o.family(
        "rwsgi_process_start_time_seconds",
        "gauge",
        "When the daemon process in each slot started (Unix time).",
    );
    for d in daemon_slots(l, read, groups, false) {
        let pid = d.pid.to_string();
        o.sample(
            "rwsgi_process_start_time_seconds",
            &[("group", d.group), ("process", &d.process), ("pid", &pid)],
            seconds(read(d.base + proc::STARTED_US)),
        );
    }

    o.family(
        "rwsgi_process_starts_total",
        "counter",
        "Daemon processes started, per group (first starts and replacements).",
    );
    for (gi, name) in groups.iter().enumerate().take(l.groups) {
        o.sample(
            "rwsgi_process_starts_total",
            &[("group", name)],
            read(l.group(gi) + group::STARTS),
        );
    }
    o.family(
        "rwsgi_process_restarts_total",
        "counter",
        "Daemon processes replaced, per group and cause (crash: died unexpectedly; see rwsgi_process_crashes_total).",
    );
    for (gi, name) in groups.iter().enumerate().take(l.groups) {
        for (k, cause) in RESTARTS.iter().enumerate() {
            o.sample(
                "rwsgi_process_restarts_total",
                &[("group", name), ("cause", cause)],
                read(l.group(gi) + group::RESTART + k),
            );
        }
    }
    o.family(
        "rwsgi_process_crashes_total",
        "counter",
        "Daemon processes that died unexpectedly, per group and signal (exit: a failure exit status).",
    );
    for (gi, name) in groups.iter().enumerate().take(l.groups) {
        for s in 0..SIGNALS {
            let n = read(l.group(gi) + group::CRASH + s);
            if n > 0 {
                let sig = signal_name(s);
                o.sample("rwsgi_process_crashes_total", &[("group", name), ("signal", &sig)], n);
            }
        }
    }
    o.family(
        "rwsgi_daemon_connect_failures_total",
        "counter",
        "Requests an httpd child could not hand to a daemon group within connect-timeout (answered 503).",
    );
    for (gi, name) in groups.iter().enumerate().take(l.groups) {
        o.sample(
            "rwsgi_daemon_connect_failures_total",
            &[("group", name)],
            read(l.group(gi) + group::CONNECT_FAILURES),
        );
    }
    o.family(
        "rwsgi_httpd_children",
        "gauge",
        "httpd child processes that served WSGI requests and are alive.",
    );
    o.sample("rwsgi_httpd_children", &[], live_children.len());
    if open {
        o.text.push_str("# EOF\n");
    }
    o.text
}

impl Out {
    /// A gauge of every live httpd child (`child_value` of its slot number) and every live daemon process (cell
    /// `proc_offset` of its slot).
    #[allow(clippy::too_many_arguments)]
    fn per_process(
        &mut self,
        l: &Layout,
        read: Read<'_>,
        groups: &[String],
        children: &[usize],
        name: &str,
        child_value: &dyn Fn(usize) -> u64,
        proc_offset: usize,
    ) {
        for c in children {
            let p = c.to_string();
            self.sample(name, &[("mode", "embedded"), ("process", &p)], child_value(*c));
        }
        for d in daemon_slots(l, read, groups, false) {
            self.sample(
                name,
                &[("mode", "daemon"), ("group", d.group), ("process", &d.process)],
                read(d.base + proc_offset),
            );
        }
    }

    fn family_samples_daemon(
        &mut self,
        l: &Layout,
        read: Read<'_>,
        groups: &[String],
        name: &str,
        offset: usize,
        value: fn(u64) -> String,
    ) {
        for d in daemon_slots(l, read, groups, true) {
            self.sample(
                name,
                &[("group", d.group), ("process", &d.process)],
                value(read(d.base + offset)),
            );
        }
    }
}

/// A daemon process slot: its group's name, its number in the group, its first cell and the pid in it (0: none).
struct Slot<'a> {
    group: &'a str,
    process: String,
    base: usize,
    pid: u64,
}

/// The daemon process slots worth reporting: those with a process now, and (`with_history`) those whose past
/// processes counted requests.
fn daemon_slots<'a>(l: &Layout, read: Read<'_>, groups: &'a [String], with_history: bool) -> Vec<Slot<'a>> {
    let mut out = Vec::new();
    for (gi, g) in groups.iter().enumerate().take(l.groups) {
        for p in 0..l.procs {
            let base = l.proc(gi, p);
            let pid = read(base + proc::PID);
            if pid != 0 || (with_history && read(base + proc::REQUESTS) != 0) {
                out.push(Slot {
                    group: g,
                    process: p.to_string(),
                    base,
                    pid,
                });
            }
        }
    }
    out
}

fn labels<'a>(mode: &'a str, group: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v = vec![("mode", mode)];
    if !group.is_empty() {
        v.push(("group", group));
    }
    v.extend_from_slice(extra);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sum_over_processes_and_histograms_are_cumulative() {
        let l = Layout {
            children: 2,
            threads: 3,
            groups: 1,
            procs: 2,
        };
        let mut cells = vec![0u64; l.cells()];
        for c in 0..2 {
            cells[l.child(c) + child::PID] = 100 + c as u64;
            cells[l.child(c) + child::THREADS] = 16;
            // Embedded-mode requests count in their thread's block (the child's own block: a thread past the
            // threads configured).
            let r = l.child_req(c, 0);
            cells[r + req::CLASS + 1] = 4; // 2xx
            cells[r + req::BUCKET] = 7;
            cells[r + req::SUM_US] = 200_000;
            let t = l.child_thread(c, 1);
            cells[t + req::CLASS + 1] = 6;
            cells[t + req::BUCKET + 3] = 3;
            cells[t + req::SUM_US] = 300_000;
        }
        cells[l.child(0) + child::IN_FLIGHT] = 1;
        cells[l.child_thread(0, 2) + THREAD_BUSY] = 1;
        cells[l.child_req(0, 1) + req::CAUSE + 1] = 2; // daemon_died
        cells[l.proc(0, 0) + proc::PID] = 7;
        cells[l.proc(0, 0) + proc::CAUSE + 3] = 1; // queue_timeout
        cells[l.proc(0, 0) + proc::BUSY_US] = 2_500_000;
        cells[l.proc(0, 0) + proc::CLASS + 3] = 6; // 4xx
        cells[l.group(0) + group::CRASH + 9] = 4; // SIGKILL
        cells[l.group(0) + group::RESTART] = 5; // maximum_requests
        let read = |i: usize| cells[i];
        let text = render(&l, &read, &["site".to_string()], false);
        assert!(
            text.contains("rwsgi_requests_total{mode=\"embedded\",class=\"2xx\"} 20\n"),
            "{text}"
        );
        assert!(text.contains("rwsgi_errors_total{mode=\"daemon\",group=\"site\",cause=\"daemon_died\"} 2\n"));
        assert!(text.contains("rwsgi_errors_total{mode=\"daemon\",group=\"site\",cause=\"queue_timeout\"} 1\n"));
        assert!(text.contains("rwsgi_request_duration_seconds_bucket{mode=\"embedded\",le=\"0.005\"} 14\n"));
        assert!(text.contains("rwsgi_request_duration_seconds_bucket{mode=\"embedded\",le=\"0.05\"} 20\n"));
        assert!(text.contains("rwsgi_request_duration_seconds_bucket{mode=\"embedded\",le=\"+Inf\"} 20\n"));
        assert!(text.contains("rwsgi_request_duration_seconds_count{mode=\"embedded\"} 20\n"));
        assert!(text.contains("rwsgi_request_duration_seconds_sum{mode=\"embedded\"} 1.000000\n"));
        assert!(text.contains("rwsgi_process_crashes_total{group=\"site\",signal=\"SIGKILL\"} 4\n"));
        assert!(text.contains("rwsgi_process_busy_seconds_total{group=\"site\",process=\"0\"} 2.500000\n"));
        assert!(text.contains("rwsgi_process_completed_total{group=\"site\",process=\"0\",class=\"4xx\"} 6\n"));
        assert!(text.contains("rwsgi_process_restarts_total{group=\"site\",cause=\"maximum_requests\"} 5\n"));
        assert!(text.contains("rwsgi_threads{mode=\"embedded\",process=\"1\"} 16\n"));
        assert!(text.contains("rwsgi_requests_in_flight{mode=\"embedded\",process=\"0\"} 2\n"));
        assert!(text.contains("rwsgi_requests_in_flight{mode=\"embedded\",process=\"1\"} 0\n"));
        assert!(text.contains("rwsgi_httpd_children 2\n"));
        assert!(!text.contains("# EOF"));
        let open = render(&l, &read, &["site".to_string()], true);
        assert!(open.ends_with("# EOF\n"));
        assert!(
            open.contains("# TYPE rwsgi_requests counter\n"),
            "OpenMetrics names the counter family without _total"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
