//! A bounded load generator for loopback tests: `conns` threads send requests until told to stop (or a request
//! cap is reached) and report every status (0: the connection failed or the response was cut short).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;

pub struct Load {
    stop: Arc<AtomicBool>,
    handles: Vec<JoinHandle<Vec<u16>>>,
    pub sent: Arc<AtomicUsize>,
}

impl Load {
    pub fn start(port: u16, path: &str, conns: usize, max_requests: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let handles = (0..conns)
            .map(|_| {
                let (stop, sent, path) = (stop.clone(), sent.clone(), path.to_string());
                std::thread::spawn(move || {
                    let mut out = Vec::new();
                    while !stop.load(Ordering::SeqCst) && sent.fetch_add(1, Ordering::SeqCst) < max_requests {
                        let r = std::panic::catch_unwind(|| crate::http::get(port, &path));
                        out.push(match r {
                            Ok(r) if r.complete => r.status,
                            _ => 0,
                        });
                    }
                    out
                })
            })
            .collect();
        Load { stop, handles, sent }
    }

    /// Waits until the request cap is reached, then returns every status.
    pub fn finish_when_done(self) -> Vec<u16> {
        self.handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    }

    pub fn finish(self) -> Vec<u16> {
        self.stop.store(true, Ordering::SeqCst);
        self.handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    }
}

/// (count of 200s, statuses that were not 200).
pub fn summary(statuses: &[u16]) -> (usize, Vec<u16>) {
    let ok = statuses.iter().filter(|s| **s == 200).count();
    (ok, statuses.iter().copied().filter(|s| *s != 200).collect())
}
