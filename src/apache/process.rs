//! What daemon-process management needs from httpd, as safe functions: Apache's run-as identity, values kept in
//! the process pool across restarts, the runtime directory, httpd's "other child" registry (to hear when a
//! process we forked dies) and pool cleanups running Rust closures.

use std::ffi::{CString, c_int, c_void};

use super::cstr_bytes;
use crate::config::{DirConfig, ServerConfig};
use crate::ffi;

/// Apache's `User` / `Group` (uid, gid, user name as configured): who httpd children run as. When httpd is
/// not started as root it cannot switch users, so that is the current user (None: look its name up).
pub fn apache_identity() -> (u32, u32, Option<String>) {
    // SAFETY: geteuid/getegid have no preconditions.
    let (euid, egid) = unsafe { (libc::geteuid(), libc::getegid()) };
    if euid != 0 {
        return (euid, egid, None);
    }
    // SAFETY: ap_unixd_config is a plain global set while reading the config; read-only afterwards.
    unsafe {
        let c = (&raw const ffi::ap_unixd_config).read();
        let name = cstr_bytes(c.user_name).map(|b| String::from_utf8_lossy(b).into_owned());
        (c.user_id, c.group_id, name)
    }
}

/// A server as post_config sees it: the main server followed by the virtual hosts.
#[derive(Clone, Copy)]
pub struct Server(*mut ffi::server_rec);

impl Server {
    /// # Safety
    /// `s` must be the server_rec httpd passed to a hook (valid for the hook call and the configuration's life).
    pub unsafe fn from_raw(s: *mut ffi::server_rec) -> Server {
        Server(s)
    }

    pub fn all(self) -> Vec<Server> {
        let mut out = Vec::new();
        let mut s = self.0;
        while !s.is_null() {
            out.push(Server(s));
            // SAFETY: the server list is a valid linked list for the configuration's life.
            s = unsafe { (*s).next };
        }
        out
    }

    pub fn config(self) -> Option<&'static ServerConfig> {
        // SAFETY: our server config lives in pconf, which outlives every use during this generation.
        unsafe { super::module::module_config(((*self.0).module_config).cast_const()) }
    }

    /// The directory config of the server itself (its directives outside any <Directory>/<Location>).
    pub fn dir_defaults(self) -> Option<&'static DirConfig> {
        // SAFETY: lookup_defaults is the server's per-dir config vector, in pconf like the server config.
        unsafe { super::module::module_config(((*self.0).lookup_defaults).cast_const()) }
    }

    /// Every server's (config, server-level directory config), main server first.
    pub fn configs(self) -> Vec<(&'static ServerConfig, Option<&'static DirConfig>)> {
        self.all()
            .into_iter()
            .filter_map(|s| s.config().map(|c| (c, s.dir_defaults())))
            .collect()
    }

    /// httpd's Timeout of this server, in whole seconds (at least 1).
    pub fn timeout_secs(self) -> u64 {
        // SAFETY: a live server_rec; timeout is in microseconds.
        let us = unsafe { (*self.0).timeout };
        u64::try_from(us / 1_000_000).unwrap_or(60).max(1)
    }

    /// An opaque handle on this server, to pass between threads (see [`log_here`]).
    pub fn handle(self) -> usize {
        self.0 as usize
    }

    pub fn hostname(self) -> String {
        // SAFETY: server_hostname is null or a pool string.
        unsafe { cstr_bytes((*self.0).server_hostname) }
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }

    /// The runtime directory (DefaultRuntimeDir) joined with `name`.
    pub fn runtime_dir(self, name: &str) -> String {
        // SAFETY: the process pool outlives every generation; the joined path is copied out at once.
        unsafe { ConfigPool::from_raw(self.process_pool()) }.runtime_dir(name)
    }

    /// The process pool: lives for the whole life of the httpd parent, across restarts.
    fn process_pool(self) -> *mut ffi::apr_pool_t {
        // SAFETY: every server has a process record.
        unsafe { (*(*self.0).process).pool }
    }

    /// A value kept across restarts (plain text only: the module's code may change between generations).
    pub fn kept(self, key: &str) -> Option<String> {
        let k = CString::new(format!("mod_rwsgi.{key}")).ok()?;
        let mut data: *mut c_void = std::ptr::null_mut();
        // SAFETY: reads a userdata pointer of the process pool.
        unsafe { ffi::apr_pool_userdata_get(&mut data, k.as_ptr(), self.process_pool()) };
        // SAFETY: values are NUL-terminated strings we stored in the same pool.
        unsafe { cstr_bytes(data as *const std::ffi::c_char) }.map(|b| String::from_utf8_lossy(b).into_owned())
    }

    pub fn keep(self, key: &str, value: &str) {
        let pool = self.process_pool();
        // SAFETY: key and value are copied into the process pool, which outlives every generation.
        unsafe {
            let k = super::pstrdup(pool, format!("mod_rwsgi.{key}").as_bytes());
            let v = super::pstrdup(pool, value.as_bytes());
            ffi::apr_pool_userdata_set(v as *const c_void, k, None, pool);
        }
    }
}

/// ServerRoot.
pub fn server_root() -> String {
    // SAFETY: ap_server_root is set while reading the configuration and read-only afterwards.
    unsafe { cstr_bytes(ffi::ap_server_root) }
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_else(|| "/".to_string())
}

/// True during httpd's first, preliminary configuration pass at start-up (before it re-reads the config
/// for real): nothing long-lived may be started then. A module first loaded by a graceful restart never sees
/// this pass, which is why this asks httpd instead of remembering a flag.
pub fn preliminary_config_pass() -> bool {
    // SAFETY: ap_state_query only reads httpd's state.
    unsafe { ffi::ap_state_query(ffi::AP_SQ_MAIN_STATE) == ffi::AP_SQ_MS_CREATE_PRE_CONFIG }
}

/// Closes httpd's listening sockets in a process forked from the parent (daemon processes must not hold them).
pub fn close_listeners() {
    // SAFETY: closes the inherited listener sockets of this (forked) process only.
    unsafe { ffi::ap_close_listeners() };
}

/// The configuration pool of one generation (pconf): cleared at the next restart or at stop. Used by the httpd
/// parent only.
#[derive(Clone, Copy)]
pub struct ConfigPool(*mut ffi::apr_pool_t);

// SAFETY: only the httpd parent's main thread uses it (post_config and the other-child callbacks httpd runs on
// that thread); the wrapper crosses into closures stored in the pool, never into other threads.
unsafe impl Send for ConfigPool {}
// SAFETY: as above.
unsafe impl Sync for ConfigPool {}

type Cleanup = Box<dyn FnOnce() + Send>;

unsafe extern "C" fn run_cleanup(data: *mut c_void) -> ffi::apr_status_t {
    // SAFETY: data is the Box<Cleanup> leaked in on_cleanup, run once when the pool is cleared.
    let f = unsafe { Box::from_raw(data as *mut Cleanup) };
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err() {
        super::log::server(super::log::Level::Crit, "mod_rwsgi: panic in a pool cleanup");
    }
    0
}

impl ConfigPool {
    /// # Safety
    /// `p` must be the configuration pool httpd passes to post_config.
    pub unsafe fn from_raw(p: *mut ffi::apr_pool_t) -> ConfigPool {
        ConfigPool(p)
    }

    /// Adds `component` to the Server header / server version string for this generation.
    pub fn add_version_component(self, component: &str) {
        // SAFETY: the component is copied into pconf, which lives until the next restart.
        unsafe { ffi::ap_add_version_component(self.0, super::pstrdup(self.0, component.as_bytes())) };
    }

    /// The runtime directory (DefaultRuntimeDir) joined with `name`.
    pub fn runtime_dir(self, name: &str) -> String {
        let Ok(n) = CString::new(name) else {
            return format!("/tmp/{name}");
        };
        // SAFETY: returns a pool string (or null).
        let p = unsafe { ffi::ap_runtime_dir_relative(self.0, n.as_ptr()) };
        // SAFETY: null or NUL-terminated.
        unsafe { cstr_bytes(p) }
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_else(|| format!("/tmp/{name}"))
    }

    /// Runs `f` when the pool is cleared in this process (not in processes forked from it).
    pub fn on_cleanup(self, f: impl FnOnce() + Send + 'static) {
        let boxed: Box<Cleanup> = Box::new(Box::new(f));
        // SAFETY: registers a plain cleanup with our boxed closure; the child cleanup is a no-op.
        unsafe {
            ffi::apr_pool_cleanup_register(
                self.0,
                Box::into_raw(boxed) as *const c_void,
                Some(run_cleanup),
                Some(ffi::apr_pool_cleanup_null),
            );
        }
    }

    /// Asks httpd's parent to tell `callback` when process `pid` dies (httpd reaps it). The registration lives
    /// in this pool (removed at the next restart).
    pub fn register_other_child(self, pid: i32, callback: impl Fn(ChildEvent) + Send + 'static) {
        let pool = self.0;
        // SAFETY: apr_proc_t and the registration are allocated in (and freed with) the pool they are
        // registered in.
        unsafe {
            let proc_ = ffi::apr_palloc(pool, std::mem::size_of::<ffi::apr_proc_t>()) as *mut ffi::apr_proc_t;
            std::ptr::write_bytes(proc_, 0, 1);
            (*proc_).pid = pid;
            let reg = Box::into_raw(Box::new(Registration {
                callback: Box::new(callback),
            }));
            let addr = reg as usize;
            // SAFETY (cleanup): the registration is freed once, after apr removed it with the same pool.
            self.on_cleanup(move || drop(Box::from_raw(addr as *mut Registration)));
            ffi::apr_proc_other_child_register(proc_, Some(other_child), reg.cast(), std::ptr::null_mut(), pool);
        }
    }
}

/// Why httpd called an other-child callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildEvent {
    /// The process exited (status: exit code or signal number, as httpd's wait reports it).
    Died(i32),
    /// httpd is restarting or the registration is being removed.
    Unregister,
    Running,
}

struct Registration {
    callback: Box<dyn Fn(ChildEvent) + Send>,
}

unsafe extern "C" fn other_child(reason: c_int, data: *mut c_void, status: c_int) {
    // SAFETY: data is the Registration allocated in register_other_child, alive until unregistered.
    let reg = unsafe { &*(data as *const Registration) };
    let event = match reason {
        ffi::APR_OC_REASON_DEATH | ffi::APR_OC_REASON_LOST => {
            // SAFETY: httpd requires the callback to unregister a dead child.
            unsafe { ffi::apr_proc_other_child_unregister(data) };
            ChildEvent::Died(status)
        }
        ffi::APR_OC_REASON_RESTART | ffi::APR_OC_REASON_UNREGISTER => ChildEvent::Unregister,
        _ => ChildEvent::Running,
    };
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (reg.callback)(event))).is_err() {
        super::log::server(
            super::log::Level::Crit,
            "mod_rwsgi: panic in the daemon process monitor",
        );
    }
}

/// Replaces this process's command line as `ps` shows it (daemon processes: display-name). Writes into the
/// kernel's argv area of this process ([arg_start, arg_end) from /proc/self/stat).
pub fn set_cmdline(title: &str) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return;
    };
    // Fields after the ")" of the command name; arg_start and arg_end are fields 48 and 49 (1-based).
    let rest: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let field = |n: usize| rest.get(n - 3).and_then(|v| v.parse::<usize>().ok());
    let (Some(start), Some(end)) = (field(48), field(49)) else {
        return;
    };
    if end <= start + 1 {
        return;
    }
    let room = end - start - 1;
    let bytes = title.as_bytes();
    let n = bytes.len().min(room);
    // SAFETY: [start, end) is this process's own argv area (readable and writable stack memory set up by the
    // kernel); we write within it and keep a final NUL.
    unsafe {
        let p = start as *mut u8;
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, n);
        std::ptr::write_bytes(p.add(n), 0, end - start - n);
    }
}

/// Makes this process log to the ErrorLog of the server `handle` came from ([`Server::handle`] of this
/// configuration; 0: the main server).
pub fn log_here(handle: usize) {
    super::log::set_process_server(handle as *mut ffi::server_rec);
}
