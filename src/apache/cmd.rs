//! A directive call as httpd makes it (`cmd_parms`), as safe accessors: which table entry, where in which file,
//! the raw argument text, httpd's own context check, and our server config of the section.

use std::ffi::c_char;

use super::log::{self, Level};
use super::module::module_config_mut;
use super::{cstr_bytes, pstrdup};
use crate::config::ServerConfig;
use crate::ffi;

/// One directive call, borrowed for its duration.
pub struct Cmd<'a>(&'a ffi::cmd_parms);

impl<'a> Cmd<'a> {
    /// # Safety
    /// `cmd` must be null or the live cmd_parms httpd passes to a directive function.
    pub unsafe fn from_raw(cmd: *mut ffi::cmd_parms) -> Option<Cmd<'a>> {
        // SAFETY: per the contract.
        unsafe { cmd.as_ref() }.map(Cmd)
    }

    /// The `cmd_data` of the command table entry (our index into the directive table).
    pub fn entry(&self) -> usize {
        self.0.info as usize
    }

    /// httpd's check that the directive is outside <VirtualHost>/<Directory>/...; the error is httpd's message.
    pub fn check_global_only(&self) -> Result<(), String> {
        let raw = std::ptr::from_ref(self.0).cast_mut();
        // SAFETY: httpd's own context check on the live cmd_parms; returns a static/pool message or null.
        let err = unsafe { ffi::ap_check_cmd_context(raw, ffi::GLOBAL_ONLY as u32) };
        // SAFETY: null or a NUL-terminated message.
        match unsafe { cstr_bytes(err) } {
            Some(e) => Err(String::from_utf8_lossy(e).into_owned()),
            None => Ok(()),
        }
    }

    /// The ServerConfig of the server (main or virtual host) being read.
    pub fn server_config(&self) -> Option<&'a mut ServerConfig> {
        // SAFETY: every server's config vector holds our ServerConfig (create_server_config ran for it), and
        // httpd reads the configuration on one thread, so no other reference is live.
        unsafe { module_config_mut::<ServerConfig>((*self.0.server).module_config) }
    }

    /// Whether httpd is reading its configuration (false: an .htaccess file read for a request, when the server
    /// config is shared with other threads and must not be written).
    pub fn reading_server_config(&self) -> bool {
        // SAFETY: ap_state_query only reads httpd's state.
        let state = unsafe { ffi::ap_state_query(ffi::AP_SQ_MAIN_STATE) };
        state == ffi::AP_SQ_MS_CREATE_PRE_CONFIG || state == ffi::AP_SQ_MS_CREATE_CONFIG
    }

    /// The file and line of the directive.
    pub fn location(&self) -> (String, i32) {
        if self.0.directive.is_null() {
            return ("?".to_string(), 0);
        }
        // SAFETY: live directive node from the config tree.
        let d = unsafe { &*self.0.directive };
        // SAFETY: filename is a NUL-terminated pool string or null.
        let f = unsafe { cstr_bytes(d.filename) }
            .map_or_else(|| "?".to_string(), |b| String::from_utf8_lossy(b).into_owned());
        (f, d.line_num)
    }

    /// Compiles a regular expression into the configuration pool.
    pub fn compile_regex(&self, pattern: &str) -> Result<std::sync::Arc<dyn crate::config::UrlPattern>, String> {
        // SAFETY: cmd->pool is the configuration pool, which outlives the configuration that holds the result.
        unsafe { super::regex::Regex::compile(self.0.pool, pattern) }
    }

    pub fn log(&self, level: Level, msg: &str) {
        log::server_on(self.0.server, level, msg);
    }

    /// `msg` copied into the config pool, as a directive function returns its error to httpd.
    pub fn error(&self, msg: &str) -> *const c_char {
        // SAFETY: cmd->pool is the config pool; httpd prints and then discards the message.
        unsafe { pstrdup(self.0.pool, msg.as_bytes()) }
    }
}

/// Raw argument text of a RAW_ARGS directive as UTF-8.
///
/// # Safety
/// `args` must be null or the NUL-terminated argument text httpd passes with the call.
pub unsafe fn raw_args<'a>(args: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: per the contract.
    unsafe { cstr_bytes(args) }
}
