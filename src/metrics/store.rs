//! The region of this generation and the slots of this process; the functions the request path calls.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::layout::{self, Cause, Layout, child, group, proc, req};
use crate::sys::shm::{Cells, alive};

struct Region {
    cells: Cells,
    layout: Layout,
}

static REGION: OnceLock<Region> = OnceLock::new();
/// This httpd child's slot (usize::MAX: none).
static CHILD: AtomicUsize = AtomicUsize::new(usize::MAX);
/// This daemon process's (group, slot).
static DAEMON: OnceLock<(usize, usize)> = OnceLock::new();
/// This daemon process's pid, once it has entered its slot.
static ME: AtomicU64 = AtomicU64::new(0);
/// This process's own share of the figures, per mod_wsgi thread number (index 0: any number past the threads
/// configured): what mod_wsgi.process_metrics() / request_metrics() report. Bumped by the same calls, with the same
/// values, as the shared slot's cells, and kept here because a slot may hold a predecessor's counts (and, for a
/// while, a retiring daemon process's last requests) and a process may have no slot at all.
static PER_THREAD: OnceLock<Box<[ThreadCount]>> = OnceLock::new();

/// One thread's figures, alone on its cache line (threads counting side by side must not contend).
#[repr(align(64))]
#[derive(Default)]
struct ThreadCount {
    started: AtomicU64,
    classes: [AtomicU64; 5],
    busy_us: AtomicU64,
}

fn region() -> Option<&'static Region> {
    REGION.get()
}

fn add(i: usize, n: u64) {
    if let Some(r) = region() {
        r.cells.get(i).fetch_add(n, Ordering::Relaxed);
    }
}

fn sub(i: usize, n: u64) {
    if let Some(r) = region() {
        r.cells.get(i).fetch_sub(n, Ordering::Relaxed);
    }
}

fn set(i: usize, v: u64) {
    if let Some(r) = region() {
        r.cells.get(i).store(v, Ordering::Relaxed);
    }
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// In the httpd parent, once per configuration: the region for `layout`, the one kept from the previous
/// generation (`kept`: "addr:len:children:groups:procs") when it has the same shape, else a new one. Returns the
/// text to keep for the next generation. Counters survive a graceful restart unless the shape changed.
pub fn setup(layout: Layout, kept: Option<&str>) -> std::io::Result<String> {
    let reuse = kept.and_then(|k| {
        let v: Vec<usize> = k.split(':').filter_map(|x| x.parse().ok()).collect();
        (v.len() == 6
            && v[1] == layout.cells()
            && v[2..] == [layout.children, layout.groups, layout.procs, layout.threads])
        .then_some((v[0], v[1]))
    });
    // The region of the previous generation, if it was laid out by this very format (a module upgraded by a
    // graceful restart may lay the same number of cells out differently).
    let header = layout.header();
    let same_format = |c: &Cells| (0..2).all(|i| c.get(i).load(Ordering::Relaxed) == header[i]);
    let cells = match reuse
        .and_then(|(addr, len)| Cells::reattach(addr, len))
        .filter(same_format)
    {
        Some(cells) => cells,
        None => {
            let cells = Cells::map(layout.cells())?;
            for (i, v) in header.into_iter().enumerate() {
                cells.get(i).store(v, Ordering::Relaxed);
            }
            cells.get(6).store(now_us(), Ordering::Relaxed);
            cells
        }
    };
    let keep = format!(
        "{}:{}:{}:{}:{}:{}",
        cells.addr(),
        cells.cells(),
        layout.children,
        layout.groups,
        layout.procs,
        layout.threads
    );
    let _ = REGION.set(Region { cells, layout });
    Ok(keep)
}

/// In a new httpd child: takes a free slot (or that of a child that has exited: its counters stay and this one
/// adds to them).
pub fn enter_child(threads: u64) {
    count_threads(threads);
    let Some(r) = region() else { return };
    let me = u64::from(std::process::id());
    for c in 0..r.layout.children {
        let pid = r.cells.get(r.layout.child(c) + child::PID);
        let cur = pid.load(Ordering::Relaxed);
        if (cur == 0 || !alive(cur))
            && pid
                .compare_exchange(cur, me, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            set(r.layout.child(c) + child::IN_FLIGHT, 0);
            for t in 0..r.layout.threads {
                // A child that died mid-request left its threads' flags up.
                set(r.layout.child_thread(c, t) + layout::THREAD_BUSY, 0);
            }
            set(r.layout.child(c) + child::THREADS, threads);
            CHILD.store(c, Ordering::Relaxed);
            return;
        }
    }
}

/// In a daemon process: its slot (process `index` of daemon group `group`), taken over from its predecessor.
pub fn enter_daemon(group_index: usize, index: usize, threads: u64) {
    count_threads(threads);
    let Some(r) = region() else { return };
    if group_index >= r.layout.groups || index >= r.layout.procs {
        return;
    }
    let _ = DAEMON.set((group_index, index));
    let base = r.layout.proc(group_index, index);
    set(base + proc::IN_FLIGHT, 0);
    set(base + proc::THREADS, threads);
    set(base + proc::STARTED_US, now_us());
    let me = u64::from(std::process::id());
    ME.store(me, Ordering::Relaxed);
    set(base + proc::PID, me);
}

fn count_threads(threads: u64) {
    let n = usize::try_from(threads).unwrap_or(1).clamp(1, 100_000);
    let _ = PER_THREAD.set((0..=n).map(|_| ThreadCount::default()).collect());
}

fn thread_count(thread: u32) -> Option<&'static ThreadCount> {
    let t = PER_THREAD.get()?;
    let i = usize::try_from(thread).unwrap_or(0);
    t.get(i).or_else(|| t.first())
}

/// This process's own figures since it started: the Python side of the figures the `rwsgi-metrics` handler adds
/// up (mod_wsgi.process_metrics() and request_metrics()).
#[derive(Debug, Clone, Default)]
pub struct Own {
    /// Finished requests by status class (1xx .. 5xx); their sum is the request count.
    pub classes: [u64; 5],
    /// Time spent on them (us): in an httpd child from the request's arrival in httpd (as the duration
    /// histogram), in a daemon process from the moment a thread took it (as rwsgi_process_busy_seconds_total).
    pub busy_us: u64,
    /// (requests started, requests finished) per thread number 1.. (index 0: thread 1).
    pub per_thread: Vec<(u64, u64)>,
}

pub fn own() -> Own {
    let mut o = Own::default();
    for (i, t) in PER_THREAD.get().map_or(&[][..], |t| &t[..]).iter().enumerate() {
        let mut finished = 0;
        for (k, c) in t.classes.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            o.classes[k] += n;
            finished += n;
        }
        o.busy_us += t.busy_us.load(Ordering::Relaxed);
        if i > 0 {
            o.per_thread.push((t.started.load(Ordering::Relaxed), finished));
        }
    }
    o
}

/// A WSGI request in this httpd child, for group `g` (0: embedded; n: the n-th daemon group): in flight until
/// `finish`.
pub struct Request {
    /// This child's slot.
    child: Option<usize>,
    /// The request block it counts in: its thread's own (embedded mode), or the child's block for its group.
    block: Option<usize>,
    /// Its thread's block, whose flag shows it in flight (None: the child's in-flight count does).
    thread_block: Option<usize>,
    started_us: u64,
    /// Embedded mode: this process's own tally for the thread.
    tally: Option<&'static ThreadCount>,
}

/// `started_us`: when the request arrived in httpd (microseconds since the epoch); `thread`: the mod_wsgi number
/// of the thread that serves it.
pub fn request(g: usize, started_us: i64, thread: u32) -> Request {
    let _ = take_cause();
    let tally = if g == 0 { thread_count(thread) } else { None };
    if let Some(t) = tally {
        t.started.fetch_add(1, Ordering::Relaxed);
    }
    let mut req = Request {
        child: None,
        block: None,
        thread_block: None,
        started_us: u64::try_from(started_us).unwrap_or(0),
        tally,
    };
    let Some(r) = region() else { return req };
    let c = CHILD.load(Ordering::Relaxed);
    if c >= r.layout.children || g > r.layout.groups {
        return req;
    }
    let child_base = r.layout.child(c);
    let thread_block = usize::try_from(thread)
        .ok()
        .and_then(|t| t.checked_sub(1))
        .filter(|t| *t < r.layout.threads)
        .map(|t| r.layout.child_thread(c, t));
    match thread_block {
        Some(b) => set(b + layout::THREAD_BUSY, 1),
        None => add(child_base + child::IN_FLIGHT, 1),
    }
    req.child = Some(child_base);
    req.thread_block = thread_block;
    req.block = Some(match thread_block {
        Some(b) if g == 0 => b,
        _ => r.layout.child_req(c, g),
    });
    req
}

impl Request {
    /// The request ended with HTTP `status` (and the cause noted for it, if mod_rwsgi answered it itself).
    pub fn finish(self, status: i32) {
        let cause = take_cause();
        let class = layout::class(status);
        let took = now_us().saturating_sub(self.started_us);
        if let Some(t) = self.tally {
            t.classes[class].fetch_add(1, Ordering::Relaxed);
            t.busy_us.fetch_add(took, Ordering::Relaxed);
        }
        let (Some(child_base), Some(r)) = (self.child, self.block) else {
            return;
        };
        match self.thread_block {
            Some(b) => set(b + layout::THREAD_BUSY, 0),
            None => sub(child_base + child::IN_FLIGHT, 1),
        }
        add(r + req::CLASS + class, 1);
        if let Some(c) = cause {
            add(r + req::CAUSE + c as usize, 1);
        }
        add(r + req::BUCKET + layout::bucket(took), 1);
        add(r + req::SUM_US, took);
    }
}

std::thread_local! {
    /// Why the request this thread serves was answered by mod_rwsgi itself (taken by `Request::finish`).
    static CAUSE: std::cell::Cell<Option<Cause>> = const { std::cell::Cell::new(None) };
}

/// The request this thread serves is answered by mod_rwsgi itself for `cause`.
pub fn note_cause(cause: Cause) {
    let _ = CAUSE.try_with(|c| c.set(Some(cause)));
}

fn take_cause() -> Option<Cause> {
    CAUSE.try_with(std::cell::Cell::take).ok().flatten()
}

/// In an httpd child: a request for daemon group `g` (0-based) could not reach it within connect-timeout.
pub fn connect_failed(g: usize) {
    if let Some(r) = region().filter(|r| g < r.layout.groups) {
        add(r.layout.group(g) + group::CONNECT_FAILURES, 1);
    }
}

fn daemon_base() -> Option<usize> {
    let (g, p) = *DAEMON.get()?;
    region().map(|r| r.layout.proc(g, p))
}

/// This daemon process's slot while it is still the slot's process: a replacement started while this one
/// retires (maximum-requests, graceful restart...) owns the gauges (in flight, resident memory) from then on.
fn owned_base() -> Option<usize> {
    let b = daemon_base()?;
    let r = region()?;
    (r.cells.get(b + proc::PID).load(Ordering::Relaxed) == ME.load(Ordering::Relaxed)).then_some(b)
}

/// A request a thread of this daemon process took: in flight until `done`.
pub struct Taken {
    at: std::time::Instant,
    thread: Option<&'static ThreadCount>,
    /// The slot whose in-flight gauge was raised (this process owned it then).
    counted: Option<usize>,
}

/// In a daemon process: thread number `thread` took a request that waited `queued_us` since its arrival in httpd.
pub fn daemon_taken(queued_us: u64, thread: u32) -> Taken {
    let thread = thread_count(thread);
    if let Some(t) = thread {
        t.started.fetch_add(1, Ordering::Relaxed);
    }
    let counted = owned_base();
    if let Some(b) = counted {
        add(b + proc::IN_FLIGHT, 1);
    }
    if let Some(b) = daemon_base() {
        add(b + proc::REQUESTS, 1);
        add(b + proc::QUEUE_BUCKET + layout::bucket(queued_us), 1);
        add(b + proc::QUEUE_SUM_US, queued_us);
    }
    Taken {
        at: std::time::Instant::now(),
        thread,
        counted,
    }
}

impl Taken {
    /// The request ended with HTTP `status` (None: it was not run here, it goes to another process); `cause`:
    /// answered by mod_rwsgi itself.
    pub fn done(self, status: Option<i32>, cause: Option<Cause>) {
        // Lowered only while still this process's gauge (a replacement starts its own from 0).
        if let Some(b) = self.counted.filter(|b| Some(*b) == owned_base()) {
            sub(b + proc::IN_FLIGHT, 1);
        }
        let busy = u64::try_from(self.at.elapsed().as_micros()).unwrap_or(u64::MAX);
        let class = status.map(layout::class);
        if let (Some(t), Some(k)) = (self.thread, class) {
            t.classes[k].fetch_add(1, Ordering::Relaxed);
            t.busy_us.fetch_add(busy, Ordering::Relaxed);
        }
        let Some(b) = daemon_base() else { return };
        if let Some(k) = class {
            add(b + proc::CLASS + k, 1);
            add(b + proc::BUSY_US, busy);
        }
        if let Some(c) = cause {
            add(b + proc::CAUSE + c as usize, 1);
        }
    }
}

/// In a daemon process: a request answered without being taken by a thread (queue-timeout).
pub fn daemon_refused(cause: Cause) {
    if let Some(b) = daemon_base() {
        add(b + proc::CAUSE + cause as usize, 1);
    }
}

pub fn daemon_resident(bytes: u64) {
    if let Some(b) = owned_base() {
        set(b + proc::RSS, bytes);
    }
}

/// A daemon process of group `g` was started (by its supervisor).
pub fn process_started(g: usize) {
    if let Some(r) = region().filter(|r| g < r.layout.groups) {
        add(r.layout.group(g) + group::STARTS, 1);
    }
}

/// A daemon process of group `g` is replaced for `reason` (mod_wsgi's shutdown_reason names).
pub fn process_restarted(g: usize, reason: &str) {
    if let (Some(r), Some(k)) = (region().filter(|r| g < r.layout.groups), layout::restart_index(reason)) {
        add(r.layout.group(g) + group::RESTART + k, 1);
    }
}

/// A daemon process of group `g` died unexpectedly (`signal` 0: a failure exit status).
pub fn process_crashed(g: usize, signal: i32) {
    if let Some(r) = region().filter(|r| g < r.layout.groups) {
        let s = usize::try_from(signal)
            .ok()
            .filter(|s| *s < layout::SIGNALS)
            .unwrap_or(0);
        add(r.layout.group(g) + group::CRASH + s, 1);
        process_restarted(g, "crash");
    }
}

/// This process's own daemon slot, when it is a daemon process (the group index for process_restarted).
pub fn daemon_group() -> Option<usize> {
    DAEMON.get().map(|(g, _)| *g)
}

/// The exposition of everything in the region (None: no region in this process).
pub fn render(groups: &[String], openmetrics: bool) -> Option<String> {
    let r = region()?;
    let read = |i: usize| r.cells.get(i).load(Ordering::Relaxed);
    Some(super::render::render(&r.layout, &read, groups, openmetrics))
}
