//! Where each figure lives in the shared cells (pure index arithmetic, the same in every process of a
//! generation): a header, one slot per httpd child (its in-flight requests and, per process group, what its
//! requests ended as), and one block per daemon group (starts, restarts by cause, crashes by signal, connection
//! failures) with a slot per daemon process (in flight, threads, resident memory, its requests' queue time and the
//! errors it answered itself). Counters only ever grow; a process that takes over a slot adds to them, so the
//! figures of exited processes stay in the totals.

/// Upper bounds of the duration histograms, in seconds (OpenTelemetry's default buckets for
/// http.server.request.duration); one more bucket counts the rest (+Inf).
pub const BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
pub const NB: usize = BUCKETS.len() + 1;

/// Why mod_rwsgi answered a request with a 5xx itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    AppException = 0,
    DaemonDied = 1,
    ConnectFailed = 2,
    QueueTimeout = 3,
    RequestTimeout = 4,
    HeaderTooLarge = 5,
}

pub const CAUSES: [&str; 6] = [
    "app_exception",
    "daemon_died",
    "connect_failed",
    "queue_timeout",
    "request_timeout",
    "header_too_large",
];

/// Why a daemon process was replaced (besides crashes, counted by signal).
pub const RESTARTS: [&str; 11] = [
    "maximum_requests",
    "memory_limit",
    "request_timeout",
    "deadlock_timeout",
    "inactivity_timeout",
    "restart_interval",
    "startup_timeout",
    "script_reload",
    "eviction",
    "graceful_restart",
    "crash",
];

/// Crashes are counted by signal (1..64); 0: the process exited by itself with a failure status.
pub const SIGNALS: usize = 65;

pub const MAGIC: u64 = 0x7277_7367_696d_6574; // "rwsgimet"
pub const VERSION: u64 = 4;

const HEADER: usize = 8;
/// A block of request figures: 5 status classes, the causes, a duration histogram and its sum (us); the count is
/// the histogram's total.
pub const REQ: usize = 5 + CAUSES.len() + NB + 1;
/// Per httpd child: pid, requests in flight (beyond those its threads' own cells show), threads.
const CHILD_HEAD: usize = 3;
/// Per request thread of an httpd child (by mod_wsgi thread number): a request block for the embedded-mode requests
/// it ran and whether it serves a request now, on lines of its own, so that threads counting side by side never
/// write the same line.
pub const THREAD: usize = lines(REQ + 1);
/// Offset of the in-request flag (0 / 1) in a thread's block.
pub const THREAD_BUSY: usize = REQ;
/// Per group: starts, connection failures, restarts by cause, crashes by signal.
const GROUP_HEAD: usize = 2 + RESTARTS.len() + SIGNALS;
/// Per daemon process: pid, start time (us), in flight, threads, requests taken, resident bytes, the time its
/// threads spent on requests (us), the status classes of the requests it ran, the causes it answered itself, the
/// queue-time histogram and its sum (us).
pub const PROC: usize = 7 + 5 + CAUSES.len() + NB + 1;

/// The shape of one region; every process of a generation computes the same one from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub children: usize,
    /// Request threads per httpd child (ThreadsPerChild).
    pub threads: usize,
    pub groups: usize,
    pub procs: usize,
}

/// Offsets within a REQ block.
pub mod req {
    pub const CLASS: usize = 0;
    pub const CAUSE: usize = 5;
    pub const BUCKET: usize = CAUSE + super::CAUSES.len();
    pub const SUM_US: usize = BUCKET + super::NB;
}

/// Offsets within a daemon process slot.
pub mod proc {
    pub const PID: usize = 0;
    pub const STARTED_US: usize = 1;
    pub const IN_FLIGHT: usize = 2;
    pub const THREADS: usize = 3;
    pub const REQUESTS: usize = 4;
    pub const RSS: usize = 5;
    pub const BUSY_US: usize = 6;
    pub const CLASS: usize = 7;
    pub const CAUSE: usize = CLASS + 5;
    pub const QUEUE_BUCKET: usize = CAUSE + super::CAUSES.len();
    pub const QUEUE_SUM_US: usize = QUEUE_BUCKET + super::NB;
}

/// Offsets within a group's head.
pub mod group {
    pub const STARTS: usize = 0;
    pub const CONNECT_FAILURES: usize = 1;
    pub const RESTART: usize = 2;
    pub const CRASH: usize = RESTART + super::RESTARTS.len();
}

pub mod child {
    pub const PID: usize = 0;
    pub const IN_FLIGHT: usize = 1;
    pub const THREADS: usize = 2;
}

/// Cells per cache line: every process's slot starts on a line of its own, so that two processes counting side
/// by side never write the same line (the region itself is page-aligned).
pub const LINE: usize = 8;

const fn lines(cells: usize) -> usize {
    cells.div_ceil(LINE) * LINE
}

impl Layout {
    fn child_head_len(&self) -> usize {
        lines(CHILD_HEAD + (self.groups + 1) * REQ)
    }

    fn child_len(&self) -> usize {
        self.child_head_len() + self.threads * THREAD
    }

    fn group_len(&self) -> usize {
        lines(GROUP_HEAD) + self.procs * lines(PROC)
    }

    /// Cells in all.
    pub fn cells(&self) -> usize {
        HEADER + self.children * self.child_len() + self.groups * self.group_len()
    }

    pub fn header(&self) -> [u64; 6] {
        [
            MAGIC,
            VERSION,
            self.children as u64,
            self.groups as u64,
            self.procs as u64,
            self.threads as u64,
        ]
    }

    /// First cell of httpd child slot `c`.
    pub fn child(&self, c: usize) -> usize {
        HEADER + c * self.child_len()
    }

    /// First cell of the block of request thread `t` (0-based: mod_wsgi thread number - 1) of httpd child `c`.
    pub fn child_thread(&self, c: usize, t: usize) -> usize {
        self.child(c) + self.child_head_len() + t * THREAD
    }

    /// First cell of the request block of httpd child `c` for group `g` (0: embedded mode; 1..: daemon groups).
    pub fn child_req(&self, c: usize, g: usize) -> usize {
        self.child(c) + CHILD_HEAD + g * REQ
    }

    /// First cell of daemon group `g`'s head (0-based among the daemon groups).
    pub fn group(&self, g: usize) -> usize {
        HEADER + self.children * self.child_len() + g * self.group_len()
    }

    /// First cell of process `p` of daemon group `g`.
    pub fn proc(&self, g: usize, p: usize) -> usize {
        self.group(g) + lines(GROUP_HEAD) + p * lines(PROC)
    }
}

/// The status class cell (0: 1xx .. 4: 5xx) a request's HTTP status counts in; a status outside 100..599 (none was
/// sent) counts as 5xx, so the classes always add up to the requests.
pub fn class(status: i32) -> usize {
    match status {
        100..=599 => (status / 100 - 1) as usize,
        _ => 4,
    }
}

/// The histogram bucket of a duration in microseconds.
pub fn bucket(us: u64) -> usize {
    let secs = us as f64 / 1e6;
    BUCKETS.iter().position(|b| secs <= *b).unwrap_or(NB - 1)
}

/// The restart cause index of a recycle reason (mod_wsgi's shutdown_reason names).
pub fn restart_index(reason: &str) -> Option<usize> {
    let name = match reason {
        "deadlock" => "deadlock_timeout",
        "eviction_signal" => "eviction",
        other => other,
    };
    RESTARTS.iter().position(|r| *r == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_do_not_overlap_and_each_process_has_its_own_lines() {
        let l = Layout {
            children: 3,
            threads: 5,
            groups: 2,
            procs: 4,
        };
        let mut seen = vec![false; l.cells()];
        let mut mark = |start: usize, n: usize| {
            for s in &mut seen[start..start + n] {
                assert!(!*s, "cell {start} used twice");
                *s = true;
            }
        };
        mark(0, HEADER);
        for c in 0..3 {
            assert_eq!(l.child(c) % LINE, 0, "child {c} starts a line");
            mark(l.child(c), CHILD_HEAD);
            for g in 0..3 {
                mark(l.child_req(c, g), REQ);
            }
            for t in 0..5 {
                assert_eq!(l.child_thread(c, t) % LINE, 0, "thread {t} of child {c} starts a line");
                mark(l.child_thread(c, t), THREAD_BUSY + 1);
            }
        }
        for g in 0..2 {
            mark(l.group(g), GROUP_HEAD);
            for p in 0..4 {
                assert_eq!(l.proc(g, p) % LINE, 0, "process {p} of group {g} starts a line");
                mark(l.proc(g, p), PROC);
            }
        }
        // Padding only at the end of a process's lines.
        let used = seen.iter().filter(|s| **s).count();
        assert!(
            l.cells() - used < (3 + 3 * 5 + 2 + 2 * 4) * LINE,
            "{used} of {}",
            l.cells()
        );
        assert!(seen[l.cells() - lines(PROC)], "the last process's slot ends the region");
    }

    #[test]
    fn buckets_follow_the_upper_bounds() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(5_000), 0);
        assert_eq!(bucket(5_001), 1);
        assert_eq!(bucket(1_000_000), 9);
        assert_eq!(bucket(10_000_000), 13);
        assert_eq!(bucket(10_000_001), NB - 1);
        assert_eq!((class(200), class(304), class(404), class(503)), (1, 2, 3, 4));
        assert_eq!(
            (class(100), class(599), class(0), class(600), class(-1)),
            (0, 4, 4, 4, 4)
        );
        assert_eq!(restart_index("maximum_requests"), Some(0));
        assert_eq!(restart_index("eviction_signal"), Some(8));
        assert_eq!(restart_index("shutdown_signal"), None);
    }
}
