//! The httpd command table, generated at compile time from `config::DIRECTIVES`, and the one trampoline every
//! directive goes through: split the arguments, check the context, call the table's parser, turn its error into
//! the message httpd prints with the file and line ("WSGIScriptAlias: ...").

use std::ffi::{c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::log::{self, Level};
use super::module::module_config_mut;
use super::{cstr_bytes, pstrdup};
use crate::config::directives::ParseCtx;
use crate::config::{DIRECTIVES, DirConfig, Scope, ServerConfig, parse};
use crate::ffi;

const N: usize = DIRECTIVES.len();

#[repr(transparent)]
pub struct CommandTable(pub [ffi::command_rec; N + 1]);

// SAFETY: the table is immutable after compilation; its pointers are to static strings and functions.
unsafe impl Sync for CommandTable {}

const fn override_for(scope: Scope) -> i32 {
    match scope {
        Scope::Global | Scope::Server => ffi::RSRC_CONF,
        Scope::Dir => ffi::RSRC_CONF | ffi::ACCESS_CONF | ffi::OR_FILEINFO,
    }
}

const fn build() -> [ffi::command_rec; N + 1] {
    // SAFETY: an all-zero command_rec is httpd's table terminator (null name, null function).
    const ZERO: ffi::command_rec = unsafe { std::mem::zeroed() };
    let mut out = [ZERO; N + 1];
    let mut i = 0;
    while i < N {
        let d = &DIRECTIVES[i];
        out[i] = ffi::command_rec {
            name: d.name.as_ptr(),
            func: ffi::cmd_func {
                raw_args: Some(directive_trampoline),
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

pub static COMMANDS: CommandTable = CommandTable(build());

/// WSGIDaemonProcess names seen while reading the configuration, in file order (for the rule that a
/// WSGIScriptAlias naming a group comes after its definition). Emptied before each read (pre_config).
pub static DEFINED_GROUPS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

pub fn reset_defined_groups() {
    DEFINED_GROUPS.lock().unwrap_or_else(|p| p.into_inner()).clear();
}

unsafe extern "C" fn directive_trampoline(
    cmd: *mut ffi::cmd_parms,
    mconfig: *mut c_void,
    args: *const c_char,
) -> *const c_char {
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: httpd passes a live cmd_parms, our per-dir config for the section, and the raw argument text.
        unsafe { run_directive(cmd, mconfig, args) }
    }));
    let msg = match result {
        Ok(Ok(())) => return std::ptr::null(),
        Ok(Err(msg)) => msg,
        Err(_) => "internal error in mod_rwsgi while reading this directive (please report)".to_string(),
    };
    // SAFETY: cmd->pool is the config pool; httpd prints and then discards the message.
    unsafe { pstrdup((*cmd).pool, msg.as_bytes()) }
}

/// # Safety
/// Arguments as httpd passes them to a RAW_ARGS directive function of this module.
unsafe fn run_directive(cmd: *mut ffi::cmd_parms, mconfig: *mut c_void, args: *const c_char) -> Result<(), String> {
    // SAFETY: live cmd_parms.
    let cmd_ref = unsafe { &*cmd };
    let idx = cmd_ref.info as usize;
    let d = DIRECTIVES.get(idx).ok_or_else(|| "unknown directive".to_string())?;
    let name = d.name_str();
    if d.scope == Scope::Global {
        // SAFETY: httpd's own context check; returns a static/pool message or null.
        let err = unsafe { ffi::ap_check_cmd_context(cmd, ffi::GLOBAL_ONLY as u32) };
        // SAFETY: null or a NUL-terminated message.
        if let Some(e) = unsafe { cstr_bytes(err) } {
            return Err(String::from_utf8_lossy(e).into_owned());
        }
    }
    // SAFETY: null or the NUL-terminated argument text.
    let raw = unsafe { cstr_bytes(args) }.unwrap_or_default();
    let raw = std::str::from_utf8(raw).map_err(|_| format!("{name}: arguments are not valid UTF-8"))?;
    let words = parse::split_args(raw).map_err(|e| format!("{name}: {e}"))?;
    // SAFETY: the server's config vector holds our ServerConfig (create_server_config ran for every server).
    let server = unsafe { module_config_mut::<ServerConfig>((*cmd_ref.server).module_config) }
        .ok_or_else(|| format!("{name}: mod_rwsgi server config missing"))?;
    // SAFETY: mconfig is the DirConfig httpd created with our create_dir_config for this section.
    let dir = unsafe { (mconfig as *mut DirConfig).as_mut() }
        .ok_or_else(|| format!("{name}: mod_rwsgi directory config missing"))?;
    let mut groups = DEFINED_GROUPS.lock().unwrap_or_else(|p| p.into_inner());
    let mut ctx = ParseCtx {
        server,
        dir,
        defined_groups: &mut groups,
        warnings: Vec::new(),
    };
    (d.parse)(&mut ctx, &words).map_err(|e| format!("{name}: {e}"))?;
    if !ctx.warnings.is_empty() {
        let (file, line) = directive_location(cmd_ref);
        for w in ctx.warnings {
            log::server_on(cmd_ref.server, Level::Warning, &format!("{name} at {file}:{line}: {w}"));
        }
    }
    Ok(())
}

fn directive_location(cmd: &ffi::cmd_parms) -> (String, i32) {
    if cmd.directive.is_null() {
        return ("?".to_string(), 0);
    }
    // SAFETY: live directive node from the config tree.
    let d = unsafe { &*cmd.directive };
    // SAFETY: filename is a NUL-terminated pool string or null.
    let f =
        unsafe { cstr_bytes(d.filename) }.map_or_else(|| "?".to_string(), |b| String::from_utf8_lossy(b).into_owned());
    (f, d.line_num)
}
