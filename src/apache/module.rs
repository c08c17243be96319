//! The module record `rwsgi_module`, hook registration, config allocation, and the `extern "C"` trampolines
//! httpd calls. Each trampoline catches panics (a panic crossing into C would abort the whole child with all its
//! requests), turns them into a logged 500, and calls safe code.

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::Request;
use super::commands::COMMANDS;
use super::log::{self, Level};
use crate::config::{DirConfig, Merge, ServerConfig};
use crate::ffi;

/// The module record httpd writes into (module_index, next, dynamic_load_handle): it must live in writable
/// memory, hence the UnsafeCell (a plain static lands in .rodata and httpd segfaults on load).
#[repr(transparent)]
pub struct ModuleRec(UnsafeCell<ffi::module>);

// SAFETY: httpd writes the record only during single-threaded config loading.
unsafe impl Sync for ModuleRec {}

#[allow(non_upper_case_globals)]
#[unsafe(no_mangle)]
pub static rwsgi_module: ModuleRec = ModuleRec(UnsafeCell::new(ffi::module {
    version: ffi::MODULE_MAGIC_NUMBER_MAJOR,
    minor_version: ffi::MODULE_MAGIC_NUMBER_MINOR,
    module_index: -1,
    name: c"mod_rwsgi.c".as_ptr(),
    dynamic_load_handle: std::ptr::null_mut(),
    next: std::ptr::null_mut(),
    magic: ffi::MODULE_MAGIC_COOKIE as std::ffi::c_ulong,
    rewrite_args: None,
    create_dir_config: Some(create_dir_config),
    merge_dir_config: Some(merge_dir_config),
    create_server_config: Some(create_server_config),
    merge_server_config: Some(merge_server_config),
    cmds: COMMANDS.0.as_ptr(),
    register_hooks: Some(register_hooks),
    flags: 0,
}));

fn module_ptr() -> *const ffi::module {
    rwsgi_module.0.get()
}

/// Our slot of an httpd config vector, typed.
///
/// # Safety
/// `v` must be null or a config vector whose slot for this module holds null or a `T` allocated by
/// `pool_box` in a pool that outlives `'a`.
pub(crate) unsafe fn module_config<'a, T>(v: *const ffi::ap_conf_vector_t) -> Option<&'a T> {
    if v.is_null() {
        return None;
    }
    // SAFETY: per the contract.
    unsafe { (ffi::ap_get_module_config(v, module_ptr()) as *const T).as_ref() }
}

/// # Safety
/// As `module_config`, and no other reference to the `T` may be live (httpd config reading is single-threaded).
pub(crate) unsafe fn module_config_mut<'a, T>(v: *const ffi::ap_conf_vector_t) -> Option<&'a mut T> {
    if v.is_null() {
        return None;
    }
    // SAFETY: per the contract.
    unsafe { (ffi::ap_get_module_config(v, module_ptr()) as *mut T).as_mut() }
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
fn pool_box<T>(pool: *mut ffi::apr_pool_t, value: T) -> *mut c_void {
    let p = Box::into_raw(Box::new(value)) as *mut c_void;
    // SAFETY: registers the matching drop for p on a live pool.
    unsafe { ffi::apr_pool_cleanup_register(pool, p, Some(drop_box::<T>), Some(ffi::apr_pool_cleanup_null)) };
    p
}

fn guard<R>(what: &str, fallback: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(e) => {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            log::server(
                Level::Crit,
                &format!("mod_rwsgi: internal error (panic) in {what}: {why}"),
            );
            fallback
        }
    }
}

unsafe extern "C" fn create_dir_config(p: *mut ffi::apr_pool_t, _dir: *mut c_char) -> *mut c_void {
    guard("create_dir_config", std::ptr::null_mut(), || {
        pool_box(p, DirConfig::default())
    })
}

unsafe extern "C" fn merge_dir_config(p: *mut ffi::apr_pool_t, base: *mut c_void, add: *mut c_void) -> *mut c_void {
    guard("merge_dir_config", std::ptr::null_mut(), || {
        // SAFETY: both are DirConfigs created by create_dir_config/merge_dir_config.
        let (b, a) = unsafe { ((base as *const DirConfig).as_ref(), (add as *const DirConfig).as_ref()) };
        match (b, a) {
            (Some(b), Some(a)) => pool_box(p, DirConfig::merge(b, a)),
            (_, Some(a)) => pool_box(p, a.clone()),
            (Some(b), None) => pool_box(p, b.clone()),
            (None, None) => pool_box(p, DirConfig::default()),
        }
    })
}

unsafe extern "C" fn create_server_config(p: *mut ffi::apr_pool_t, _s: *mut ffi::server_rec) -> *mut c_void {
    guard("create_server_config", std::ptr::null_mut(), || {
        pool_box(p, ServerConfig::default())
    })
}

unsafe extern "C" fn merge_server_config(p: *mut ffi::apr_pool_t, base: *mut c_void, add: *mut c_void) -> *mut c_void {
    guard("merge_server_config", std::ptr::null_mut(), || {
        // SAFETY: both are ServerConfigs created by create_server_config.
        let (b, a) = unsafe {
            (
                (base as *const ServerConfig).as_ref(),
                (add as *const ServerConfig).as_ref(),
            )
        };
        match (b, a) {
            (Some(b), Some(a)) => pool_box(p, ServerConfig::merge(b, a)),
            (_, Some(a)) => pool_box(p, a.clone()),
            (Some(b), None) => pool_box(p, b.clone()),
            (None, None) => pool_box(p, ServerConfig::default()),
        }
    })
}

/// A NULL-terminated list of module names for hook ordering.
struct HookNames<const K: usize>([*const c_char; K]);
// SAFETY: immutable pointers to static strings.
unsafe impl<const K: usize> Sync for HookNames<K> {}

unsafe extern "C" fn register_hooks(_p: *mut ffi::apr_pool_t) {
    // httpd keeps these pointers until it sorts the hooks, so they must be static.
    static ALIAS_FIRST: HookNames<2> = HookNames([c"mod_alias.c".as_ptr(), std::ptr::null()]);
    static BEFORE: HookNames<3> = HookNames([
        c"mod_userdir.c".as_ptr(),
        c"mod_vhost_alias.c".as_ptr(),
        std::ptr::null(),
    ]);
    // SAFETY: registering hook functions with static predecessor/successor lists during register_hooks.
    unsafe {
        ffi::ap_hook_pre_config(
            Some(pre_config),
            std::ptr::null(),
            std::ptr::null(),
            ffi::APR_HOOK_MIDDLE,
        );
        ffi::ap_hook_post_config(
            Some(post_config),
            std::ptr::null(),
            std::ptr::null(),
            ffi::APR_HOOK_MIDDLE,
        );
        ffi::ap_hook_test_config(
            Some(test_config),
            std::ptr::null(),
            std::ptr::null(),
            ffi::APR_HOOK_MIDDLE,
        );
        ffi::ap_hook_child_init(
            Some(child_init),
            std::ptr::null(),
            std::ptr::null(),
            ffi::APR_HOOK_MIDDLE,
        );
        ffi::ap_hook_translate_name(
            Some(translate_name),
            ALIAS_FIRST.0.as_ptr(),
            BEFORE.0.as_ptr(),
            ffi::APR_HOOK_MIDDLE,
        );
        ffi::ap_hook_handler(Some(handler), std::ptr::null(), std::ptr::null(), ffi::APR_HOOK_MIDDLE);
    }
}

unsafe extern "C" fn pre_config(
    _pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
) -> c_int {
    guard("pre_config", ffi::OK, || {
        super::commands::reset_defined_groups();
        ffi::OK
    })
}

unsafe extern "C" fn post_config(
    pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> c_int {
    guard("post_config", ffi::HTTP_INTERNAL_SERVER_ERROR, || {
        let component = format!(
            "mod_rwsgi/{} Python/{}",
            env!("CARGO_PKG_VERSION"),
            env!("RWSGI_BUILD_PYTHON_VERSION")
        );
        // SAFETY: the component is copied into pconf, which lives until the next restart.
        unsafe { ffi::ap_add_version_component(pconf, super::pstrdup(pconf, component.as_bytes())) };
        // SAFETY: s is the main server httpd passes to post_config.
        let main = unsafe { super::process::Server::from_raw(s) };
        if !super::process::preliminary_config_pass() {
            for f in crate::checks::run(main) {
                log::server(f.level, &format!("mod_rwsgi: {}", f.message));
            }
        }
        match crate::daemon::manager::post_config(pconf, main) {
            Ok(()) => ffi::OK,
            Err(e) => {
                log::server(Level::Crit, &format!("mod_rwsgi: {e}"));
                eprintln!("mod_rwsgi: {e}");
                ffi::HTTP_INTERNAL_SERVER_ERROR
            }
        }
    })
}

/// `apachectl -t`: print the start-up checks; errors fail the test.
unsafe extern "C" fn test_config(_pconf: *mut ffi::apr_pool_t, s: *mut ffi::server_rec) {
    guard("test_config", (), || {
        // SAFETY: s is the main server httpd passes to test_config.
        let main = unsafe { super::process::Server::from_raw(s) };
        let findings = crate::checks::run(main);
        for f in &findings {
            let tag = match f.level {
                Level::Emerg | Level::Alert | Level::Crit | Level::Error => "error",
                Level::Warning => "warning",
                _ => "notice",
            };
            eprintln!("mod_rwsgi {tag}: {}", f.message);
        }
        if findings.iter().any(|f| f.level <= Level::Error) {
            // httpd reports "Syntax OK" after test_config; a failed check must not look like success.
            std::process::exit(1);
        }
    });
}

unsafe extern "C" fn child_init(_p: *mut ffi::apr_pool_t, s: *mut ffi::server_rec) {
    guard("child_init", (), || {
        // SAFETY: the main server's config vector holds our ServerConfig.
        let cfg = unsafe { module_config::<ServerConfig>((*s).module_config) };
        // Embedded preloading: WSGIScriptAlias lines with a literal application group and no daemon group.
        // SAFETY: s is the main server passed to child_init.
        let main = unsafe { super::process::Server::from_raw(s) };
        let mut preload = Vec::new();
        for srv in main.all() {
            for a in srv.config().map(|c| c.aliases.as_slice()).unwrap_or_default() {
                let embedded = a
                    .options
                    .process_group
                    .as_deref()
                    .is_none_or(|p| p.is_empty() || p == "%{GLOBAL}");
                let literal = matches!(
                    a.options.application_group,
                    Some(crate::config::AppGroup::Global | crate::config::AppGroup::Named(_))
                );
                if embedded && literal && !a.target_is_dir {
                    let callable = match &a.options.callable_object {
                        Some(crate::config::CallableName::Named(n)) => n.clone(),
                        _ => "application".to_string(),
                    };
                    preload.push((a.target.clone(), callable));
                }
            }
        }
        crate::python::child_init(cfg, &preload);
    });
}

unsafe extern "C" fn translate_name(r: *mut ffi::request_rec) -> c_int {
    // SAFETY: httpd passes a live request for the duration of the hook.
    let Some(req) = (unsafe { Request::from_raw(r) }) else {
        return ffi::DECLINED;
    };
    guard("translate_name", ffi::DECLINED, || crate::handler::translate(req))
}

unsafe extern "C" fn handler(r: *mut ffi::request_rec) -> c_int {
    // SAFETY: httpd passes a live request for the duration of the hook.
    let Some(req) = (unsafe { Request::from_raw(r) }) else {
        return ffi::DECLINED;
    };
    match catch_unwind(AssertUnwindSafe(|| crate::handler::handle(req))) {
        Ok(status) => status,
        Err(e) => {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
            req.log(
                Level::Crit,
                &format!(
                    "mod_rwsgi: internal error (panic) while handling the request: {}",
                    why.unwrap_or_default()
                ),
            );
            ffi::HTTP_INTERNAL_SERVER_ERROR
        }
    }
}
