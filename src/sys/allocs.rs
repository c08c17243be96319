//! Counting Rust heap allocations per request, for bench/ (cargo feature `count-allocations`; without it every
//! function here is a no-op and the system allocator is used directly). A global allocator over the system one
//! counts allocations (and reallocations) per thread; a request scope adds the count of its thread during the
//! request to process-wide totals, whose average the environ reports as `mod_rwsgi.allocations_per_request`.

#[cfg(feature = "count-allocations")]
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, Ordering};

    std::thread_local! {
        static COUNT: Cell<u64> = const { Cell::new(0) };
    }

    pub struct Counting;

    fn bump() {
        // A thread being torn down has no counter any more; its allocations are not a request's.
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
    }

    // SAFETY: every call is forwarded unchanged to the system allocator; counting has no effect on memory.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            bump();
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            bump();
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            bump();
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;

    pub static TOTAL: AtomicU64 = AtomicU64::new(0);
    pub static REQUESTS: AtomicU64 = AtomicU64::new(0);

    pub fn thread_count() -> u64 {
        COUNT.try_with(Cell::get).unwrap_or(0)
    }

    pub fn add(n: u64) {
        TOTAL.fetch_add(n, Ordering::Relaxed);
        REQUESTS.fetch_add(1, Ordering::Relaxed);
    }
}

/// The allocations a request made on its thread, from `begin` to `end`.
#[derive(Debug)]
pub struct RequestAllocations(#[allow(dead_code)] u64);

pub fn begin() -> RequestAllocations {
    #[cfg(feature = "count-allocations")]
    return RequestAllocations(counting::thread_count());
    #[cfg(not(feature = "count-allocations"))]
    RequestAllocations(0)
}

pub fn end(r: RequestAllocations) {
    #[cfg(feature = "count-allocations")]
    counting::add(counting::thread_count().saturating_sub(r.0));
    #[cfg(not(feature = "count-allocations"))]
    let _ = r;
}

/// The average allocations per finished request of this process (None: not counted in this build, or no
/// request finished yet).
pub fn per_request() -> Option<f64> {
    #[cfg(feature = "count-allocations")]
    {
        use std::sync::atomic::Ordering;
        let n = counting::REQUESTS.load(Ordering::Relaxed);
        return (n > 0).then(|| counting::TOTAL.load(Ordering::Relaxed) as f64 / n as f64);
    }
    #[cfg(not(feature = "count-allocations"))]
    None
}
