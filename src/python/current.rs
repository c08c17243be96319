//! Per-thread request bookkeeping behind the mod_wsgi module's runtime API: the worker thread number
//! (`mod_wsgi.thread_id`), the time this thread waited for the GIL, and the request it is serving
//! (`mod_wsgi.request_data()`, `mod_wsgi.active_requests`, `mod_wsgi.application_group`).

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

static NEXT_THREAD: AtomicU32 = AtomicU32::new(1);

thread_local! {
    static THREAD_NUMBER: Cell<u32> = const { Cell::new(0) };
    /// Nanoseconds this thread waited to (re)acquire the GIL, and how many times it acquired it.
    static GIL_WAIT: Cell<(u64, u32)> = const { Cell::new((0, 0)) };
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// This thread's number among the threads that served requests in this process: 1, 2, ... in order of first
/// use (as mod_wsgi numbers them).
pub fn thread_number() -> u32 {
    THREAD_NUMBER.with(|n| {
        if n.get() == 0 {
            n.set(NEXT_THREAD.fetch_add(1, Ordering::Relaxed));
        }
        n.get()
    })
}

/// Records one acquisition of the GIL that took `waited`.
pub fn gil_acquired(waited: std::time::Duration) {
    GIL_WAIT.with(|g| {
        let (ns, n) = g.get();
        g.set((ns.saturating_add(waited.as_nanos() as u64), n.saturating_add(1)));
    });
}

/// The GIL wait recorded on this thread since the last call: (seconds, acquisitions).
pub fn take_gil_wait() -> (f64, u32) {
    GIL_WAIT.with(|g| {
        let (ns, n) = g.replace((0, 0));
        (ns as f64 / 1e9, n)
    })
}

/// `py.detach(f)`, counting the wait to get the GIL back.
pub fn detach_timed<T: Send>(py: Python<'_>, f: impl FnOnce() -> T + Send) -> T {
    let mut done = None;
    let result = py.detach(|| {
        let r = f();
        done = Some(Instant::now());
        r
    });
    if let Some(t) = done {
        gil_acquired(t.elapsed());
    }
    result
}

/// The request this thread serves.
pub struct Current {
    pub request_id: Py<PyString>,
    pub data: Py<PyDict>,
    pub application_group: Py<PyString>,
}

/// Marks this thread as serving a request until the guard drops (also on unwinding).
pub struct Serving {
    active_requests: Py<PyDict>,
    request_id: Py<PyString>,
}

impl Serving {
    pub fn enter(py: Python<'_>, active_requests: &Py<PyDict>, current: Current) -> Serving {
        let _ = active_requests
            .bind(py)
            .set_item(current.request_id.bind(py), current.data.bind(py));
        let request_id = current.request_id.clone_ref(py);
        CURRENT.with(|c| *c.borrow_mut() = Some(current));
        Serving {
            active_requests: active_requests.clone_ref(py),
            request_id,
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        // Dropped with the GIL held (the request runs attached).
        Python::attach(|py| {
            let _ = self.active_requests.bind(py).del_item(self.request_id.bind(py));
            let old = CURRENT.with(|c| c.borrow_mut().take());
            drop(old);
        });
    }
}

/// `f` over this thread's current request, if it serves one.
pub fn with_current<R>(py: Python<'_>, f: impl FnOnce(Python<'_>, &Current) -> R) -> Option<R> {
    CURRENT.with(|c| c.borrow().as_ref().map(|cur| f(py, cur)))
}
