//! Safe wrappers over httpd and APR, and nothing else: `Request`, `Server`, the configuration pool, directive
//! calls, brigades, tables, the error log and hook statuses. No policy lives here and nothing above is
//! imported: only `ffi`, and the plain data types of `config` that our config slots hold (a typed accessor here
//! keeps the one unchecked cast of those slots in this layer). The module record, the hooks and their
//! trampolines are at the top, in src/hooks.rs.

pub mod cmd;
pub mod io;
pub mod log;
pub mod module;
pub mod process;
pub mod regex;
mod request;
pub mod scoreboard;
mod status;

pub use request::{FileKind, Request, apache_version};
pub use status::Status;

use std::ffi::{CStr, c_char};

use crate::ffi;

/// Borrow a C string httpd owns as bytes; null becomes None.
///
/// # Safety
/// `p` must be null or point to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn cstr_bytes<'a>(p: *const c_char) -> Option<&'a [u8]> {
    if p.is_null() {
        None
    } else {
        // SAFETY: non-null and NUL-terminated per the caller's contract.
        Some(unsafe { CStr::from_ptr(p) }.to_bytes())
    }
}

/// Copies `bytes` into `pool` as a NUL-terminated string (bytes after an interior NUL are dropped: callers
/// validate header values before they get here).
///
/// # Safety
/// `pool` must be a live APR pool.
pub(crate) unsafe fn pstrdup(pool: *mut ffi::apr_pool_t, bytes: &[u8]) -> *mut c_char {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    // SAFETY: apr_pstrmemdup copies `len` bytes from a valid slice and NUL-terminates the copy in the pool.
    unsafe { ffi::apr_pstrmemdup(pool, bytes.as_ptr().cast(), len) }
}

/// Iterates an APR table's entries as byte slices.
///
/// # Safety
/// `t` must be a live table that is not modified while the returned vector is used (the slices borrow it).
pub(crate) unsafe fn table_entries<'a>(t: *const ffi::apr_table_t) -> Vec<(&'a [u8], &'a [u8])> {
    let mut out = Vec::new();
    if t.is_null() {
        return out;
    }
    // SAFETY: apr_table_t starts with its apr_array_header_t of apr_table_entry_t (apr_table_elts is a cast).
    let arr = unsafe { &*(t as *const ffi::apr_array_header_t) };
    let n = usize::try_from(arr.nelts).unwrap_or(0);
    let elts = arr.elts as *const ffi::apr_table_entry_t;
    out.reserve(n);
    for i in 0..n {
        // SAFETY: i < nelts, entries are initialised apr_table_entry_t.
        let e = unsafe { &*elts.add(i) };
        // SAFETY: keys and values in an APR table are NUL-terminated strings owned by the table's pool.
        if let (Some(k), Some(v)) = unsafe { (cstr_bytes(e.key), cstr_bytes(e.val)) } {
            out.push((k, v));
        }
    }
    out
}

/// (multithread, multiprocess) for wsgi.multithread / wsgi.multiprocess, from the running MPM.
pub fn mpm_concurrency() -> (bool, bool) {
    let q = |what: i32| {
        let mut v: i32 = 0;
        // SAFETY: ap_mpm_query writes one int.
        let rv = unsafe { ffi::ap_mpm_query(what, &mut v) };
        if rv == 0 { v } else { 0 }
    };
    let threaded = q(ffi::AP_MPMQ_IS_THREADED) != ffi::AP_MPMQ_NOT_SUPPORTED && q(ffi::AP_MPMQ_MAX_THREADS) > 1;
    let forked = q(ffi::AP_MPMQ_IS_FORKED) != ffi::AP_MPMQ_NOT_SUPPORTED && q(ffi::AP_MPMQ_MAX_DAEMONS) > 1;
    (threaded, forked)
}

/// The most httpd children that can exist at once (ServerLimit; 1 without a forking MPM).
pub fn mpm_server_limit() -> usize {
    let mut v: i32 = 0;
    // SAFETY: ap_mpm_query writes one int.
    let rv = unsafe { ffi::ap_mpm_query(ffi::AP_MPMQ_HARD_LIMIT_DAEMONS, &mut v) };
    if rv == 0 {
        usize::try_from(v).unwrap_or(1).max(1)
    } else {
        1
    }
}

/// (threads per process, maximum processes) of the running MPM.
pub fn mpm_limits() -> (i32, i32) {
    let q = |what: i32| {
        let mut v: i32 = 0;
        // SAFETY: ap_mpm_query writes one int.
        let rv = unsafe { ffi::ap_mpm_query(what, &mut v) };
        if rv == 0 { v.max(1) } else { 1 }
    };
    (q(ffi::AP_MPMQ_MAX_THREADS), q(ffi::AP_MPMQ_MAX_DAEMONS))
}
