//! The Apache error log. Messages are passed to httpd with a "%s" format, never as a format string.

use std::ffi::CString;

use crate::ffi;

/// Apache log levels (APLOG_*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Emerg = 0,
    Alert = 1,
    Crit = 2,
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
    Debug = 7,
}

impl Level {
    /// Python logging level number -> Apache level.
    pub fn from_python(levelno: i64) -> Level {
        match levelno {
            n if n >= 50 => Level::Crit,
            n if n >= 40 => Level::Error,
            n if n >= 30 => Level::Warning,
            n if n >= 20 => Level::Info,
            _ => Level::Debug,
        }
    }
}

fn c_message(msg: &str) -> CString {
    CString::new(msg.replace('\0', "\\0")).unwrap_or_default()
}

/// The server whose ErrorLog this process writes to (null: the main server's). A daemon process of a group
/// defined in a virtual host logs to that host's ErrorLog, as mod_wsgi's do.
static PROCESS_SERVER: std::sync::atomic::AtomicPtr<ffi::server_rec> =
    std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

/// Sends this process's server-level log lines to the ErrorLog of `s` (a server_rec of this configuration).
pub(crate) fn set_process_server(s: *mut ffi::server_rec) {
    PROCESS_SERVER.store(s, std::sync::atomic::Ordering::Relaxed);
}

/// Logs against this process's server (the main server, or `s` when given). Safe to call from any thread, with
/// or without the GIL.
pub fn server(level: Level, msg: &str) {
    server_on(std::ptr::null(), level, msg);
}

pub(crate) fn server_on(s: *const ffi::server_rec, level: Level, msg: &str) {
    let m = c_message(msg);
    let own = PROCESS_SERVER.load(std::sync::atomic::Ordering::Relaxed);
    let s = if !s.is_null() {
        s
    } else if !own.is_null() {
        own.cast_const()
    } else {
        // SAFETY: ap_server_conf is set by httpd before any module code runs after config.
        unsafe { ffi::ap_server_conf }
    };
    // SAFETY: file is a static C string, m is a valid C string; a null server is accepted by ap_log_error.
    unsafe {
        ffi::rwsgi_shim_log_error(
            c"mod_rwsgi".as_ptr(),
            0,
            super::module::index(),
            level as i32,
            0,
            s,
            m.as_ptr(),
        )
    };
}

pub(crate) fn request_raw(r: *const ffi::request_rec, level: Level, status: i32, msg: &str) {
    let m = c_message(msg);
    // SAFETY: r is a live request (callers hold a Request); m is a valid C string.
    unsafe {
        ffi::rwsgi_shim_log_rerror(
            c"mod_rwsgi".as_ptr(),
            0,
            super::module::index(),
            level as i32,
            status,
            r,
            m.as_ptr(),
        )
    };
}

thread_local! {
    // The request this worker thread is serving (raw pointer only: no destructor at thread exit).
    static CURRENT: std::cell::Cell<*const ffi::request_rec> = const { std::cell::Cell::new(std::ptr::null()) };
    // In a daemon process: the tag of the request this thread serves (points into a live CurrentRequest).
    static CURRENT_TAG: std::cell::Cell<*const String> = const { std::cell::Cell::new(std::ptr::null()) };
}

/// Marks the request this thread serves until the guard is dropped: Python output is tagged with it.
// The tag is boxed so that its address stays fixed while CURRENT_TAG points at it.
#[allow(clippy::box_collection)]
pub struct CurrentRequest {
    prev: *const ffi::request_rec,
    prev_tag: *const String,
    tag: Option<Box<String>>,
}

impl CurrentRequest {
    pub fn enter(req: super::Request<'_>) -> CurrentRequest {
        let prev = CURRENT.with(|c| c.replace(req.raw()));
        CurrentRequest {
            prev,
            prev_tag: CURRENT_TAG.with(|c| c.get()),
            tag: None,
        }
    }

    /// Daemon mode: lines are logged against the server with this prefix ("[client ...] [script ...] ").
    pub fn enter_tag(tag: String) -> CurrentRequest {
        let tag = Box::new(tag);
        let prev_tag = CURRENT_TAG.with(|c| c.replace(&*tag as *const String));
        CurrentRequest {
            prev: CURRENT.with(|c| c.get()),
            prev_tag,
            tag: Some(tag),
        }
    }
}

impl Drop for CurrentRequest {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
        CURRENT_TAG.with(|c| c.set(self.prev_tag));
        let _ = &self.tag;
    }
}

/// Logs a line of application output against the request this thread is serving (tagged with the client by
/// httpd and with the script here), or against the server when none.
pub fn current(level: Level, msg: &str) {
    let r = CURRENT.with(std::cell::Cell::get);
    if r.is_null() {
        let tag = CURRENT_TAG.with(std::cell::Cell::get);
        if !tag.is_null() {
            // SAFETY: CURRENT_TAG points into the Box of the live CurrentRequest guard of this thread.
            return server(level, &format!("{}{msg}", unsafe { &*tag }));
        }
        return server(level, msg);
    }
    // SAFETY: CURRENT is set only while the handler runs on this thread with that live request.
    let script = unsafe { super::cstr_bytes((*r).filename) }
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    request_raw(r, level, 0, &format!("[script {script}] {msg}"));
}
