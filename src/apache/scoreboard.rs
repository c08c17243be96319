//! Apache's scoreboard (the shared table of httpd children and their worker threads that mod_status shows), read
//! for mod_wsgi.server_metrics().

use super::ffi;

fn text(chars: &[std::ffi::c_char]) -> String {
    let bytes: Vec<u8> = chars.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Seconds since the epoch of an APR time (microseconds).
fn secs(t: ffi::apr_time_t) -> f64 {
    t as f64 / 1e6
}

#[derive(Debug)]
pub struct Worker {
    pub thread_num: i32,
    pub generation: i32,
    /// mod_status's letter: '_' waiting, 'R' reading, 'W' writing, 'K' keep-alive, 'G' graceful, '.' open...
    pub status: char,
    pub access_count: u64,
    pub bytes_served: i64,
    pub start_time: f64,
    pub stop_time: f64,
    pub last_used: f64,
    pub client: String,
    pub request: String,
    pub vhost: String,
}

#[derive(Debug)]
pub struct Process {
    pub process_num: usize,
    pub pid: i32,
    pub generation: i32,
    pub quiescing: bool,
    pub workers: Vec<Worker>,
}

#[derive(Debug)]
pub struct Board {
    pub server_limit: i32,
    pub thread_limit: i32,
    pub running_generation: i32,
    pub restart_time: f64,
    pub processes: Vec<Process>,
}

const STATUS: &[u8; 11] = b".S_RWKLDCGI";

/// Whether this process has httpd's scoreboard (the httpd parent: from its first pre_mpm on).
pub fn exists() -> bool {
    // SAFETY: a plain accessor of httpd's scoreboard global.
    unsafe { ffi::ap_exists_scoreboard_image() != 0 }
}

/// The scoreboard now (None in a process that has none: one forked before httpd's first pre_mpm made it).
pub fn snapshot() -> Option<Board> {
    // SAFETY: reads httpd's shared scoreboard through its accessors; every pointer is checked, and the structs
    // are plain data that other processes update concurrently (a torn read only mixes two states of a counter).
    unsafe {
        if ffi::ap_exists_scoreboard_image() == 0 {
            return None;
        }
        let g = ffi::ap_get_scoreboard_global();
        if g.is_null() {
            return None;
        }
        let g = &*g;
        let mut processes = Vec::new();
        for i in 0..g.server_limit.max(0) {
            let p = ffi::ap_get_scoreboard_process(i);
            if p.is_null() {
                continue;
            }
            let p = &*p;
            let mut workers = Vec::new();
            for j in 0..g.thread_limit.max(0) {
                let w = ffi::ap_get_scoreboard_worker_from_indexes(i, j);
                if w.is_null() {
                    continue;
                }
                let w = &*w;
                workers.push(Worker {
                    thread_num: w.thread_num,
                    generation: w.generation,
                    status: STATUS.get(usize::from(w.status)).map_or('?', |c| *c as char),
                    access_count: w.access_count,
                    bytes_served: w.bytes_served,
                    start_time: secs(w.start_time),
                    stop_time: secs(w.stop_time),
                    last_used: secs(w.last_used),
                    client: text(&w.client),
                    request: text(&w.request),
                    vhost: text(&w.vhost),
                });
            }
            processes.push(Process {
                process_num: i as usize,
                pid: p.pid,
                generation: p.generation,
                quiescing: p.quiescing != 0,
                workers,
            });
        }
        Some(Board {
            server_limit: g.server_limit,
            thread_limit: g.thread_limit,
            running_generation: g.running_generation,
            restart_time: secs(g.restart_time),
            processes,
        })
    }
}
