//! The top of the module: the record `rwsgi_module`, hook registration, the command table built from the
//! directive table, config allocation, and the `extern "C"` functions httpd calls. Each one is a thin
//! trampoline: catch panics (a panic crossing into C would abort the whole child with all its requests), call
//! the safe function of the subsystem that owns the work, and turn its error into a status and ONE log line.

use std::ffi::{c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::apache::cmd::{Cmd, raw_args};
use crate::apache::log::{self, Level};
use crate::apache::module::{ModuleRec, bind, pool_box};
use crate::apache::process::{self, Server};
use crate::apache::{Request, Status};
use crate::config::directives::ParseCtx;
use crate::config::{DIRECTIVES, DirConfig, Merge, Scope, ServerConfig, parse};
use crate::ffi;

/// The module's name as httpd sees it: mod_wsgi's, so that `<IfModule mod_wsgi.c>` sections of existing
/// configurations apply (httpd matches that form against this field). Log lines are tagged after the symbol
/// LoadModule named (`[wsgi:error]` when loaded as wsgi_module, `[rwsgi:error]` as rwsgi_module).
const NAME: &std::ffi::CStr = c"mod_wsgi.c";

const fn record(register: unsafe extern "C" fn(*mut ffi::apr_pool_t)) -> ffi::module {
    ffi::module {
        version: ffi::MODULE_MAGIC_NUMBER_MAJOR,
        minor_version: ffi::MODULE_MAGIC_NUMBER_MINOR,
        module_index: -1,
        name: NAME.as_ptr(),
        dynamic_load_handle: std::ptr::null_mut(),
        next: std::ptr::null_mut(),
        magic: ffi::MODULE_MAGIC_COOKIE as std::ffi::c_ulong,
        rewrite_args: None,
        create_dir_config: Some(create_dir_config),
        merge_dir_config: Some(merge_dir_config),
        create_server_config: Some(create_server_config),
        merge_server_config: Some(merge_server_config),
        cmds: COMMANDS.0.as_ptr(),
        register_hooks: Some(register),
        flags: 0,
    }
}

/// `LoadModule rwsgi_module /path/mod_rwsgi.so`.
#[allow(non_upper_case_globals)]
#[unsafe(no_mangle)]
pub static rwsgi_module: ModuleRec = ModuleRec::new(record(register_as_rwsgi));

/// `LoadModule wsgi_module /path/mod_rwsgi.so`: a site that changes only the module's path keeps its
/// `<IfModule wsgi_module>` sections (httpd matches that form against the symbol LoadModule named).
#[allow(non_upper_case_globals)]
#[unsafe(no_mangle)]
pub static wsgi_module: ModuleRec = ModuleRec::new(record(register_as_wsgi));

// ---- the command table ------------------------------------------------------------------------------------

const N: usize = DIRECTIVES.len();

#[repr(transparent)]
struct CommandTable([ffi::command_rec; N + 1]);

// SAFETY: the table is immutable after compilation; its pointers are to static strings and functions.
unsafe impl Sync for CommandTable {}

const fn override_for(scope: Scope) -> i32 {
    match scope {
        Scope::Global | Scope::Server => ffi::RSRC_CONF,
        Scope::Dir => ffi::RSRC_CONF | ffi::ACCESS_CONF | ffi::OR_FILEINFO,
        Scope::Auth => ffi::OR_AUTHCFG,
        Scope::Section => ffi::RSRC_CONF | ffi::ACCESS_CONF,
    }
}

const fn commands() -> [ffi::command_rec; N + 1] {
    // SAFETY: an all-zero command_rec is httpd's table terminator (null name, null function).
    const ZERO: ffi::command_rec = unsafe { std::mem::zeroed() };
    let mut out = [ZERO; N + 1];
    let mut i = 0;
    while i < N {
        let d = &DIRECTIVES[i];
        out[i] = ffi::command_rec {
            name: d.name.as_ptr(),
            func: ffi::cmd_func {
                raw_args: Some(directive),
            },
            cmd_data: std::ptr::without_provenance_mut(i),
            req_override: override_for(d.scope),
            args_how: ffi::cmd_how_RAW_ARGS,
            errmsg: d.help.as_ptr(),
        };
        i += 1;
    }
    out
}

static COMMANDS: CommandTable = CommandTable(commands());

/// WSGIDaemonProcess names seen while reading the configuration, in file order (for the rule that a
/// WSGIScriptAlias naming a group comes after its definition). Emptied before each read (pre_config).
static DEFINED_GROUPS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Every directive: split the arguments, check the context, call the table's parser, turn its error into the
/// message httpd prints with the file and line ("WSGIScriptAlias: ...").
unsafe extern "C" fn directive(cmd: *mut ffi::cmd_parms, mconfig: *mut c_void, args: *const c_char) -> *const c_char {
    // SAFETY: httpd passes a live cmd_parms for the call.
    let Some(cmd) = (unsafe { Cmd::from_raw(cmd) }) else {
        return c"mod_rwsgi: directive called without its parameters".as_ptr();
    };
    // SAFETY: mconfig is the DirConfig our create_dir_config made for this section; args the raw text.
    let (dir, raw) = unsafe { ((mconfig as *mut DirConfig).as_mut(), raw_args(args)) };
    match catch_unwind(AssertUnwindSafe(|| run_directive(&cmd, dir, raw.unwrap_or_default()))) {
        Ok(Ok(())) => std::ptr::null(),
        Ok(Err(msg)) => cmd.error(&msg),
        Err(_) => cmd.error("internal error in mod_rwsgi while reading this directive (please report)"),
    }
}

fn run_directive(cmd: &Cmd<'_>, dir: Option<&mut DirConfig>, raw: &[u8]) -> Result<(), String> {
    let d = DIRECTIVES
        .get(cmd.entry())
        .ok_or_else(|| "unknown directive".to_string())?;
    let name = d.name_str();
    if d.scope == Scope::Global {
        cmd.check_global_only()?;
    }
    let raw = std::str::from_utf8(raw).map_err(|_| format!("{name}: arguments are not valid UTF-8"))?;
    let words = parse::split_args(raw).map_err(|e| format!("{name}: {e}"))?;
    // An .htaccess file is read per request, while other threads use the server config: its directives get
    // a scratch one (only directory settings apply there).
    let mut scratch = ServerConfig::default();
    let server = if cmd.reading_server_config() {
        cmd.server_config()
            .ok_or_else(|| format!("{name}: mod_rwsgi server config missing"))?
    } else {
        &mut scratch
    };
    let dir = dir.ok_or_else(|| format!("{name}: mod_rwsgi directory config missing"))?;
    let mut groups = DEFINED_GROUPS.lock().unwrap_or_else(|p| p.into_inner());
    let (file, line) = cmd.location();
    let compile = |pattern: &str| cmd.compile_regex(pattern);
    let mut ctx = ParseCtx {
        server,
        dir,
        defined_groups: &mut groups,
        warnings: Vec::new(),
        origin: format!("{file}:{line}"),
        compile: &compile,
    };
    // A section's argument text ends with its '>' (e.g. "<WSGIInterpreterOptions a=b>").
    let words = match (name.starts_with('<'), words) {
        (true, mut w) => {
            if let Some(last) = w.last_mut() {
                *last = last.trim_end_matches('>').to_string();
            }
            w.retain(|x| !x.is_empty());
            w
        }
        (false, w) => w,
    };
    (d.parse)(&mut ctx, &words).map_err(|e| format!("{name}: {e}"))?;
    if !ctx.warnings.is_empty() {
        for w in ctx.warnings {
            cmd.log(Level::Warning, &format!("{name} at {file}:{line}: {w}"));
        }
    }
    Ok(())
}

// ---- config allocation -------------------------------------------------------------------------------------

fn guard<R>(what: &str, fallback: R, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(e) => {
            log::server(
                Level::Crit,
                &format!("mod_rwsgi: internal error (panic) in {what}: {}", panic_text(&*e)),
            );
            fallback
        }
    }
}

fn panic_text(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// The merge httpd asks for: child values win over the parent's, field by field.
fn merged<T: Merge + Clone + Default>(p: *mut ffi::apr_pool_t, base: *mut c_void, add: *mut c_void) -> *mut c_void {
    // SAFETY: both are T's created by our create/merge functions for this slot (or null).
    let (b, a) = unsafe { ((base as *const T).as_ref(), (add as *const T).as_ref()) };
    match (b, a) {
        (Some(b), Some(a)) => pool_box(p, T::merge(b, a)),
        (_, Some(a)) => pool_box(p, a.clone()),
        (Some(b), None) => pool_box(p, b.clone()),
        (None, None) => pool_box(p, T::default()),
    }
}

unsafe extern "C" fn create_dir_config(p: *mut ffi::apr_pool_t, _dir: *mut c_char) -> *mut c_void {
    guard("create_dir_config", std::ptr::null_mut(), || {
        pool_box(p, DirConfig::default())
    })
}

unsafe extern "C" fn merge_dir_config(p: *mut ffi::apr_pool_t, base: *mut c_void, add: *mut c_void) -> *mut c_void {
    guard("merge_dir_config", std::ptr::null_mut(), || {
        merged::<DirConfig>(p, base, add)
    })
}

unsafe extern "C" fn create_server_config(p: *mut ffi::apr_pool_t, _s: *mut ffi::server_rec) -> *mut c_void {
    guard("create_server_config", std::ptr::null_mut(), || {
        pool_box(p, ServerConfig::default())
    })
}

unsafe extern "C" fn merge_server_config(p: *mut ffi::apr_pool_t, base: *mut c_void, add: *mut c_void) -> *mut c_void {
    guard("merge_server_config", std::ptr::null_mut(), || {
        merged::<ServerConfig>(p, base, add)
    })
}

// ---- hooks -------------------------------------------------------------------------------------------------

/// A NULL-terminated list of module names for hook ordering.
struct HookNames<const K: usize>([*const c_char; K]);
// SAFETY: immutable pointers to static strings.
unsafe impl<const K: usize> Sync for HookNames<K> {}

unsafe extern "C" fn register_as_rwsgi(p: *mut ffi::apr_pool_t) {
    register_hooks(&rwsgi_module);
    register_auth_providers(p);
}

unsafe extern "C" fn register_as_wsgi(p: *mut ffi::apr_pool_t) {
    register_hooks(&wsgi_module);
    register_auth_providers(p);
}

/// Another module with our name: a real mod_wsgi, or this file loaded under both symbols. Either would split
/// the directives between two modules, so the configuration is refused with what to remove.
fn duplicate_module() -> Option<String> {
    let other = crate::apache::module::others_named(NAME.to_str().unwrap_or_default())
        .into_iter()
        .next()?;
    Some(if other.is_ours {
        "mod_rwsgi is loaded twice (LoadModule rwsgi_module and LoadModule wsgi_module name the same file): keep one of the two lines".to_string()
    } else {
        "mod_wsgi is loaded as well as mod_rwsgi: remove mod_wsgi's LoadModule line (LoadModule wsgi_module .../mod_wsgi.so; on Debian `a2dismod wsgi`), mod_rwsgi replaces it".to_string()
    })
}

fn register_hooks(me: &'static ModuleRec) {
    bind(me);
    // httpd keeps these pointers until it sorts the hooks, so they must be static.
    static ALIAS_FIRST: HookNames<2> = HookNames([c"mod_alias.c".as_ptr(), std::ptr::null()]);
    static BEFORE: HookNames<3> = HookNames([
        c"mod_userdir.c".as_ptr(),
        c"mod_vhost_alias.c".as_ptr(),
        std::ptr::null(),
    ]);
    let none = std::ptr::null();
    // SAFETY: registering hook functions with static predecessor/successor lists during register_hooks.
    unsafe {
        ffi::ap_hook_pre_config(Some(pre_config), none, none, ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_post_config(Some(post_config), none, none, ffi::APR_HOOK_MIDDLE);
        // After the core's, which makes the scoreboard.
        ffi::ap_hook_pre_mpm(Some(pre_mpm), none, none, ffi::APR_HOOK_REALLY_LAST);
        ffi::ap_hook_monitor(Some(monitor), none, none, ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_test_config(Some(test_config), none, none, ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_child_init(Some(child_init), none, none, ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_translate_name(
            Some(translate_name),
            ALIAS_FIRST.0.as_ptr(),
            BEFORE.0.as_ptr(),
            ffi::APR_HOOK_MIDDLE,
        );
        ffi::ap_hook_handler(Some(handler), none, none, ffi::APR_HOOK_MIDDLE);
        ffi::ap_hook_access_checker(Some(access_checker), none, none, ffi::APR_HOOK_MIDDLE);
    }
}

/// The "wsgi" authentication provider (AuthBasicProvider / AuthDigestProvider wsgi) and the "wsgi-group"
/// authorisation provider (`Require wsgi-group`), registered with httpd's auth provider registry.
fn register_auth_providers(pool: *mut ffi::apr_pool_t) {
    static AUTHN: ffi::authn_provider = ffi::authn_provider {
        check_password: Some(authn_check_password),
        get_realm_hash: Some(authn_realm_hash),
    };
    static AUTHZ: ffi::authz_provider = ffi::authz_provider {
        check_authorization: Some(authz_check_groups),
        parse_require_line: None,
    };
    // SAFETY: static provider structs outlive the registry; names and versions are static strings.
    unsafe {
        ffi::ap_register_auth_provider(
            pool,
            c"authn".as_ptr(),
            c"wsgi".as_ptr(),
            c"0".as_ptr(),
            (&raw const AUTHN).cast(),
            ffi::AP_AUTH_INTERNAL_PER_CONF as c_int,
        );
        ffi::ap_register_auth_provider(
            pool,
            c"authz".as_ptr(),
            c"wsgi-group".as_ptr(),
            c"0".as_ptr(),
            (&raw const AUTHZ).cast(),
            ffi::AP_AUTH_INTERNAL_PER_CONF as c_int,
        );
    }
}

/// Runs an auth phase with panics caught: a panic answers `on_panic` with one log line.
fn auth_phase<T>(r: *mut ffi::request_rec, what: &str, on_panic: T, f: impl FnOnce(Request<'_>) -> T) -> T {
    // SAFETY: httpd passes a live request for the duration of the call.
    let Some(req) = (unsafe { Request::from_raw(r) }) else {
        return on_panic;
    };
    match catch_unwind(AssertUnwindSafe(|| f(req))) {
        Ok(v) => v,
        Err(e) => {
            req.log(
                Level::Crit,
                &format!("mod_rwsgi: internal error (panic) in {what}: {}", panic_text(&*e)),
            );
            on_panic
        }
    }
}

fn c_bytes<'a>(p: *const c_char) -> &'a [u8] {
    if p.is_null() {
        return b"";
    }
    // SAFETY: httpd passes NUL-terminated strings that live for the call.
    unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes()
}

fn authn_code(a: &crate::auth::Authn) -> ffi::authn_status {
    use crate::auth::Authn;
    match a {
        Authn::Granted => ffi::authn_status_AUTH_GRANTED,
        Authn::Denied => ffi::authn_status_AUTH_DENIED,
        Authn::UserNotFound => ffi::authn_status_AUTH_USER_NOT_FOUND,
        Authn::Found(_) => ffi::authn_status_AUTH_USER_FOUND,
        Authn::Error => ffi::authn_status_AUTH_GENERAL_ERROR,
    }
}

unsafe extern "C" fn authn_check_password(
    r: *mut ffi::request_rec,
    user: *const c_char,
    password: *const c_char,
) -> ffi::authn_status {
    auth_phase(r, "check_password", ffi::authn_status_AUTH_GENERAL_ERROR, |req| {
        authn_code(&crate::auth::check_password(req, c_bytes(user), c_bytes(password)))
    })
}

unsafe extern "C" fn authn_realm_hash(
    r: *mut ffi::request_rec,
    user: *const c_char,
    realm: *const c_char,
    rethash: *mut *mut c_char,
) -> ffi::authn_status {
    auth_phase(r, "get_realm_hash", ffi::authn_status_AUTH_GENERAL_ERROR, |req| {
        let answer = crate::auth::realm_hash(req, c_bytes(user), c_bytes(realm));
        if let crate::auth::Authn::Found(hash) = &answer {
            if !rethash.is_null() {
                // SAFETY: httpd passes where to store the hash; the copy lives in r->pool.
                unsafe { *rethash = req.pool_string(hash) };
            }
        }
        authn_code(&answer)
    })
}

unsafe extern "C" fn authz_check_groups(
    r: *mut ffi::request_rec,
    require_line: *const c_char,
    _parsed: *const c_void,
) -> ffi::authz_status {
    use crate::auth::Authz;
    auth_phase(
        r,
        "Require wsgi-group",
        ffi::authz_status_AUTHZ_GENERAL_ERROR,
        |req| match crate::auth::check_groups(req, c_bytes(require_line)) {
            Authz::Granted => ffi::authz_status_AUTHZ_GRANTED,
            Authz::Denied => ffi::authz_status_AUTHZ_DENIED,
            Authz::Neutral => ffi::authz_status_AUTHZ_NEUTRAL,
            Authz::NoUser => ffi::authz_status_AUTHZ_DENIED_NO_USER,
            Authz::Error => ffi::authz_status_AUTHZ_GENERAL_ERROR,
        },
    )
}

unsafe extern "C" fn access_checker(r: *mut ffi::request_rec) -> c_int {
    use crate::auth::Access;
    auth_phase(
        r,
        "WSGIAccessScript",
        ffi::HTTP_FORBIDDEN as c_int,
        |req| match crate::auth::check_access(req) {
            Access::Allow => ffi::OK,
            Access::Forbid => ffi::HTTP_FORBIDDEN as c_int,
            Access::NoOpinion => ffi::DECLINED,
        },
    )
}

unsafe extern "C" fn pre_config(
    _pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
) -> c_int {
    guard("pre_config", ffi::OK, || {
        DEFINED_GROUPS.lock().unwrap_or_else(|p| p.into_inner()).clear();
        ffi::OK
    })
}

unsafe extern "C" fn post_config(
    pconf: *mut ffi::apr_pool_t,
    _plog: *mut ffi::apr_pool_t,
    _ptemp: *mut ffi::apr_pool_t,
    s: *mut ffi::server_rec,
) -> c_int {
    // SAFETY: pconf and s are the configuration pool and main server httpd passes to post_config.
    let (pconf, main) = unsafe { (process::ConfigPool::from_raw(pconf), Server::from_raw(s)) };
    guard("post_config", ffi::HTTP_INTERNAL_SERVER_ERROR, || {
        if let Some(why) = duplicate_module() {
            log::server(Level::Crit, &format!("mod_rwsgi: {why}"));
            eprintln!("mod_rwsgi: {why}");
            return ffi::HTTP_INTERNAL_SERVER_ERROR;
        }
        pconf.add_version_component(&format!(
            "mod_rwsgi/{} Python/{}",
            env!("CARGO_PKG_VERSION"),
            env!("RWSGI_BUILD_PYTHON_VERSION")
        ));
        if !process::preliminary_config_pass() {
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

/// A first start: httpd has made its scoreboard; the daemon processes can start (they inherit it).
unsafe extern "C" fn pre_mpm(_p: *mut ffi::apr_pool_t, _sb: ffi::ap_scoreboard_e) -> c_int {
    guard("pre_mpm", ffi::OK, || {
        // SAFETY: ap_server_conf is the main server of the configuration the MPM is about to run.
        let main = unsafe { Server::from_raw(ffi::ap_server_conf) };
        crate::daemon::manager::start_pending(main);
        ffi::OK
    })
}

/// The httpd parent, about once a second: daemon processes still waiting for the scoreboard (an MPM without
/// pre_mpm) start now.
unsafe extern "C" fn monitor(_p: *mut ffi::apr_pool_t, s: *mut ffi::server_rec) -> c_int {
    // SAFETY: s is the main server httpd passes to monitor.
    let main = unsafe { Server::from_raw(s) };
    guard("monitor", ffi::DECLINED, || {
        crate::daemon::manager::start_pending(main);
        ffi::DECLINED
    })
}

/// `apachectl -t`: print the start-up checks; errors fail the test.
unsafe extern "C" fn test_config(_pconf: *mut ffi::apr_pool_t, s: *mut ffi::server_rec) {
    // SAFETY: s is the main server httpd passes to test_config.
    let main = unsafe { Server::from_raw(s) };
    guard("test_config", (), || {
        if let Some(why) = duplicate_module() {
            eprintln!("mod_rwsgi error: {why}");
            std::process::exit(1);
        }
        let findings = crate::checks::run(main);
        for f in &findings {
            eprintln!("mod_rwsgi {}: {}", f.tag(), f.message);
        }
        if findings.iter().any(|f| f.level <= Level::Error) {
            // httpd reports "Syntax OK" after test_config; a failed check must not look like success.
            std::process::exit(1);
        }
    });
}

unsafe extern "C" fn child_init(_p: *mut ffi::apr_pool_t, s: *mut ffi::server_rec) {
    // SAFETY: s is the main server passed to child_init.
    let main = unsafe { Server::from_raw(s) };
    guard("child_init", (), || {
        crate::metrics::enter_child(u64::try_from(crate::apache::mpm_limits().0).unwrap_or(1));
        let hooks = main.configs().iter().any(|(c, _)| c.hook_scripts);
        crate::python::child_init(main.config(), &embedded_preloads(main), hooks)
    });
}

/// The scripts config::preloads assigns to embedded mode, as (script, callable to check).
fn embedded_preloads(main: Server) -> Vec<(String, Option<String>)> {
    crate::config::preloads(main.configs())
        .into_iter()
        .filter(|p| p.group.daemon().is_none())
        .map(|p| (p.script, p.callable))
        .collect()
}

unsafe extern "C" fn translate_name(r: *mut ffi::request_rec) -> c_int {
    // SAFETY: httpd passes a live request for the duration of the hook.
    let Some(req) = (unsafe { Request::from_raw(r) }) else {
        return ffi::DECLINED;
    };
    guard("translate_name", ffi::DECLINED, || {
        crate::handler::translate(req).code()
    })
}

unsafe extern "C" fn handler(r: *mut ffi::request_rec) -> c_int {
    // SAFETY: httpd passes a live request for the duration of the hook.
    let Some(req) = (unsafe { Request::from_raw(r) }) else {
        return ffi::DECLINED;
    };
    if req.handler() == Some(b"rwsgi-metrics".as_slice()) {
        return guard("rwsgi-metrics handler", ffi::HTTP_INTERNAL_SERVER_ERROR, || {
            crate::handler::metrics(req).code()
        });
    }
    let allocations = crate::sys::allocs::begin();
    let handled = catch_unwind(AssertUnwindSafe(|| crate::handler::handle(req)));
    crate::sys::allocs::end(allocations);
    match handled {
        Ok(Ok(status)) => status.code(),
        Ok(Err(e)) => {
            req.log(e.level(), &format!("mod_rwsgi: {e}"));
            e.status().code()
        }
        Err(e) => {
            req.log(
                Level::Crit,
                &format!(
                    "mod_rwsgi: internal error (panic) while handling the request: {}",
                    panic_text(&*e)
                ),
            );
            Status::INTERNAL_SERVER_ERROR.code()
        }
    }
}
