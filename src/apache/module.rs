//! This module's record as httpd sees it, and our slots in httpd's config vectors. The record itself (its hooks,
//! command table and config constructors) is declared at the top, in src/hooks.rs; this layer only needs to
//! know where it is, which `bind` tells it when httpd loads the module.

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::ffi;

/// A module record httpd writes into (module_index, next, dynamic_load_handle): it must live in writable
/// memory, hence the UnsafeCell (a plain static lands in .rodata and httpd segfaults on load).
#[repr(transparent)]
pub struct ModuleRec(UnsafeCell<ffi::module>);

// SAFETY: httpd writes the record only during single-threaded config loading.
unsafe impl Sync for ModuleRec {}

impl ModuleRec {
    pub const fn new(m: ffi::module) -> ModuleRec {
        ModuleRec(UnsafeCell::new(m))
    }

    pub fn as_ptr(&self) -> *mut ffi::module {
        self.0.get()
    }
}

/// The record httpd loaded this module through (set by its register_hooks, before any config is read).
static CURRENT: AtomicPtr<ffi::module> = AtomicPtr::new(std::ptr::null_mut());

pub fn bind(rec: &'static ModuleRec) {
    CURRENT.store(rec.as_ptr(), Ordering::Release);
}

fn module_ptr() -> *const ffi::module {
    CURRENT.load(Ordering::Acquire)
}

/// This module's index in httpd's config vectors and log tags (-1, "no module", before it is loaded).
pub fn index() -> i32 {
    // SAFETY: null or our bound record, whose module_index httpd sets when it adds the module.
    unsafe { module_ptr().as_ref() }.map_or(-1, |m| m.module_index)
}

/// Our slot of an httpd config vector, typed.
///
/// # Safety
/// `v` must be null or a config vector whose slot for this module holds null or a `T` allocated by
/// `pool_box` in a pool that outlives `'a`.
pub(crate) unsafe fn module_config<'a, T>(v: *const ffi::ap_conf_vector_t) -> Option<&'a T> {
    let m = module_ptr();
    if v.is_null() || m.is_null() {
        return None;
    }
    // SAFETY: per the contract.
    unsafe { (ffi::ap_get_module_config(v, m) as *const T).as_ref() }
}

/// # Safety
/// As `module_config`, and no other reference to the `T` may be live (httpd config reading is single-threaded).
pub(crate) unsafe fn module_config_mut<'a, T>(v: *const ffi::ap_conf_vector_t) -> Option<&'a mut T> {
    let m = module_ptr();
    if v.is_null() || m.is_null() {
        return None;
    }
    // SAFETY: per the contract.
    unsafe { (ffi::ap_get_module_config(v, m) as *mut T).as_mut() }
}

/// # Safety
/// `v` must be a live request_config vector.
pub(crate) unsafe fn module_slot(v: *const ffi::ap_conf_vector_t) -> *mut c_void {
    // SAFETY: per the contract.
    unsafe { ffi::ap_get_module_config(v, module_ptr()) }
}

/// # Safety
/// `v` must be a live request_config vector.
pub(crate) unsafe fn set_module_slot(v: *mut ffi::ap_conf_vector_t, val: *mut c_void) {
    // SAFETY: per the contract.
    unsafe { ffi::ap_set_module_config(v, module_ptr(), val) };
}

unsafe extern "C" fn drop_box<T>(data: *mut c_void) -> ffi::apr_status_t {
    // SAFETY: data came from Box::into_raw in pool_box and this cleanup runs once, when the pool is cleared.
    drop(unsafe { Box::from_raw(data as *mut T) });
    0
}

/// Moves `value` into memory owned by `pool`: it is dropped when the pool is cleared (config pools are cleared
/// on every restart, so nothing leaks across them).
pub fn pool_box<T>(pool: *mut ffi::apr_pool_t, value: T) -> *mut c_void {
    let p = Box::into_raw(Box::new(value)) as *mut c_void;
    // SAFETY: registers the matching drop for p on a live pool.
    unsafe { ffi::apr_pool_cleanup_register(pool, p, Some(drop_box::<T>), Some(ffi::apr_pool_cleanup_null)) };
    p
}

/// A module in httpd's list of active modules.
pub struct LoadedModule {
    /// It is this module loaded a second time (under another symbol, from the same file).
    pub is_ours: bool,
}

/// The active modules other than the record this module was loaded through that carry `name` (e.g. a real
/// mod_wsgi, or this module loaded twice under two symbols).
pub fn others_named(name: &str) -> Vec<LoadedModule> {
    let me = module_ptr();
    let mut out = Vec::new();
    // SAFETY: ap_top_module is httpd's list of active modules, stable after configuration is read (each
    // record lives in its loaded .so until the next restart).
    let mut m = unsafe { ffi::ap_top_module };
    while !m.is_null() {
        // SAFETY: a live module record of that list.
        let rec = unsafe { &*m };
        // SAFETY: a module's name is a static NUL-terminated string.
        let n = unsafe { super::cstr_bytes(rec.name) }.map(|b| String::from_utf8_lossy(b).into_owned());
        if m.cast_const() != me && n.as_deref() == Some(name) {
            // SAFETY: `me` is null or our bound record.
            let our_cmds = unsafe { me.as_ref() }.map(|r| r.cmds);
            out.push(LoadedModule {
                is_ours: our_cmds == Some(rec.cmds),
            });
        }
        m = rec.next;
    }
    out
}
