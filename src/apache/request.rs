//! `Request<'r>`: a borrowed, safe view of httpd's `request_rec` for the duration of one hook call.

use std::ffi::{CStr, c_char};
use std::marker::PhantomData;
use std::ptr::NonNull;

use super::log::{self, Level};
use super::{cstr_bytes, pstrdup, table_entries};
use crate::config::{DirConfig, ServerConfig};
use crate::ffi;

/// A request httpd is processing. Created only by the hook trampolines (`module.rs`) from the pointer httpd
/// passes; valid for `'r`, the duration of that hook call.
#[derive(Clone, Copy)]
pub struct Request<'r> {
    raw: NonNull<ffi::request_rec>,
    _life: PhantomData<&'r mut ffi::request_rec>,
}

// SAFETY: httpd hands one request to one worker thread at a time; the wrapper is moved to another thread only
// by `py.detach` closures that run synchronously within the hook call on the same worker.
unsafe impl Send for Request<'_> {}
// SAFETY: as above: concurrent use is prevented by `RequestSlot`'s mutex in the wsgi layer.
unsafe impl Sync for Request<'_> {}

/// What the directory walk found at r->filename.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Missing,
    Regular,
    Directory,
    Other,
}

#[derive(Clone, Copy, Debug)]
pub struct FileInfo {
    pub kind: FileKind,
    /// Modification time in microseconds since the epoch.
    pub mtime: i64,
}

impl<'r> Request<'r> {
    /// # Safety
    /// `r` must be null or a request_rec that stays valid and is used by this thread only for `'r`.
    pub(crate) unsafe fn from_raw(r: *mut ffi::request_rec) -> Option<Request<'r>> {
        NonNull::new(r).map(|raw| Request {
            raw,
            _life: PhantomData,
        })
    }

    /// # Safety
    /// The caller must stop using the result before `'r` ends (see `scope::scope`).
    pub(crate) unsafe fn extend_lifetime(self) -> Request<'static> {
        Request {
            raw: self.raw,
            _life: PhantomData,
        }
    }

    pub(crate) fn raw(&self) -> *mut ffi::request_rec {
        self.raw.as_ptr()
    }

    fn rec(&self) -> &ffi::request_rec {
        // SAFETY: valid for 'r per the constructor's contract.
        unsafe { self.raw.as_ref() }
    }

    fn pool(&self) -> *mut ffi::apr_pool_t {
        self.rec().pool
    }

    fn field(&self, p: *const c_char) -> Option<&'r [u8]> {
        // SAFETY: request_rec string fields are NUL-terminated and allocated from r->pool, which outlives 'r.
        unsafe { cstr_bytes(p) }
    }

    pub fn handler(&self) -> Option<&'r [u8]> {
        self.field(self.rec().handler)
    }
    pub fn uri(&self) -> Option<&'r [u8]> {
        self.field(self.rec().uri)
    }
    pub fn unparsed_uri(&self) -> Option<&'r [u8]> {
        self.field(self.rec().unparsed_uri)
    }
    pub fn filename(&self) -> Option<&'r [u8]> {
        self.field(self.rec().filename)
    }
    pub fn path_info(&self) -> Option<&'r [u8]> {
        self.field(self.rec().path_info)
    }
    pub fn args(&self) -> Option<&'r [u8]> {
        self.field(self.rec().args)
    }
    pub fn method(&self) -> Option<&'r [u8]> {
        self.field(self.rec().method)
    }
    pub fn protocol(&self) -> Option<&'r [u8]> {
        self.field(self.rec().protocol)
    }
    pub fn log_id(&self) -> Option<&'r [u8]> {
        self.field(self.rec().log_id)
    }
    /// The request's log id (`%L`), generated now if no module made one yet (as mod_wsgi does, so that
    /// mod_wsgi.request_id always identifies the request).
    pub fn ensure_log_id(&self) -> Option<&'r [u8]> {
        if self.rec().log_id.is_null() {
            // SAFETY: r and its connection are live; the hook stores a pool string in r->log_id.
            unsafe {
                let r = self.raw();
                ffi::ap_run_generate_log_id((*r).connection, r, &mut (*r).log_id);
            }
        }
        self.log_id()
    }
    /// ServerName of the (virtual) server handling the request.
    pub fn server_hostname(&self) -> Option<&'r [u8]> {
        // SAFETY: every request has a live server_rec; server_hostname is a pool string or null.
        self.field(unsafe { (*self.rec().server).server_hostname })
    }

    pub fn status(&self) -> i32 {
        self.rec().status
    }
    pub fn header_only(&self) -> bool {
        self.rec().header_only != 0
    }
    /// Request start time in microseconds since the epoch.
    pub fn request_time(&self) -> i64 {
        self.rec().request_time
    }

    pub fn file_info(&self) -> FileInfo {
        let f = &self.rec().finfo;
        let kind = match f.filetype {
            ffi::apr_filetype_e_APR_REG => FileKind::Regular,
            ffi::apr_filetype_e_APR_DIR => FileKind::Directory,
            0 => FileKind::Missing,
            _ => FileKind::Other,
        };
        FileInfo { kind, mtime: f.mtime }
    }

    pub fn header_in(&self, name: &CStr) -> Option<&'r [u8]> {
        // SAFETY: headers_in is a live table; name is a valid C string.
        let v = unsafe { ffi::apr_table_get(self.rec().headers_in, name.as_ptr()) };
        self.field(v)
    }

    /// A value of r->notes (notes are how modules tell each other about a request).
    pub fn note(&self, name: &str) -> Option<&'r [u8]> {
        let key = std::ffi::CString::new(name).ok()?;
        // SAFETY: notes is a live table; key is a valid C string.
        let v = unsafe { ffi::apr_table_get(self.rec().notes, key.as_ptr()) };
        self.field(v)
    }

    /// Sets a note (key and value copied into r->pool).
    pub fn set_note(&self, name: &str, value: &[u8]) {
        // SAFETY: both strings are copied into r->pool, which outlives the table's use.
        unsafe {
            let k = pstrdup(self.pool(), name.as_bytes());
            let v = pstrdup(self.pool(), value);
            ffi::apr_table_setn(self.rec().notes, k, v);
        }
    }

    /// A variable of the request's environment (SetEnv, SetEnvIf, RewriteRule [E=], ...).
    pub fn env_var(&self, name: &str) -> Option<&'r [u8]> {
        let key = std::ffi::CString::new(name).ok()?;
        // SAFETY: subprocess_env is a live table; key is a valid C string.
        let v = unsafe { ffi::apr_table_get(self.rec().subprocess_env, key.as_ptr()) };
        self.field(v)
    }

    /// Sets the timeout of each read and write on the client's connection (microseconds); returns the one it
    /// replaces, to be put back before the connection serves another request.
    pub fn swap_client_timeout(&self, us: i64) -> Option<i64> {
        // SAFETY: the connection's socket lives as long as the connection; the calls read and set a field of it.
        unsafe {
            let sock = ffi::ap_get_conn_socket(self.rec().connection);
            if sock.is_null() {
                return None;
            }
            let mut old: ffi::apr_interval_time_t = 0;
            ffi::apr_socket_timeout_get(sock, &mut old);
            ffi::apr_socket_timeout_set(sock, us);
            Some(old)
        }
    }

    /// A HEAD request (httpd counts it as a GET with header_only set).
    pub fn is_head(&self) -> bool {
        self.rec().method_number == ffi::M_GET && self.rec().header_only != 0
    }

    /// The first output filter works on content (e.g. mod_deflate), before httpd's protocol filters.
    pub fn has_content_filter(&self) -> bool {
        let f = self.rec().output_filters;
        // SAFETY: the filter chain and its records live as long as the request.
        unsafe { f.as_ref().and_then(|f| f.frec.as_ref()) }
            .is_some_and(|rec| rec.ftype < ffi::ap_filter_type_AP_FTYPE_PROTOCOL)
    }

    /// The request_rec as an address (handed to Python for WSGIPassApacheRequest; never dereferenced by us).
    pub fn address(&self) -> usize {
        self.raw() as usize
    }

    /// Adds the CGI "common" variables (HTTP_*, SERVER_*, REMOTE_*, DOCUMENT_ROOT, ...) to subprocess_env.
    pub fn add_common_vars(&self) {
        // SAFETY: the request is live; httpd fills subprocess_env from its own fields.
        unsafe { ffi::ap_add_common_vars(self.raw()) };
    }

    pub fn subprocess_env(&self) -> Vec<(&'r [u8], &'r [u8])> {
        // SAFETY: the table is live for 'r and not modified while the caller uses the entries (the caller
        // builds the environ from them before running any code that could change it).
        unsafe { table_entries(self.rec().subprocess_env) }
    }

    /// Where PATH_INFO starts within the URI (httpd's own rule, tolerant of repeated slashes).
    pub fn path_info_start(&self) -> usize {
        let r = self.rec();
        if r.uri.is_null() || r.path_info.is_null() {
            return self.uri().map_or(0, <[u8]>::len);
        }
        // SAFETY: both are live NUL-terminated strings.
        let n = unsafe { ffi::ap_find_path_info(r.uri, r.path_info) };
        usize::try_from(n).unwrap_or(0)
    }

    /// The authenticated user (r->user), if any.
    pub fn user(&self) -> Option<&'r [u8]> {
        self.field(self.rec().user)
    }

    /// Replaces r->user (an authentication provider naming the user differently, as mod_wsgi allows).
    pub fn set_user(&self, user: &[u8]) {
        // SAFETY: the copy lives in r->pool, as long as the request.
        unsafe { (*self.raw()).user = pstrdup(self.pool(), user) };
    }

    /// A copy of `bytes` in the request's pool, as a C string (for values httpd keeps, e.g. a realm hash).
    pub fn pool_string(&self, bytes: &[u8]) -> *mut std::ffi::c_char {
        // SAFETY: the copy lives in r->pool, as long as the request.
        unsafe { pstrdup(self.pool(), bytes) }
    }

    pub fn set_filename(&self, f: &[u8]) {
        // SAFETY: the copy lives in r->pool, as long as the request.
        unsafe { (*self.raw()).filename = pstrdup(self.pool(), f) };
    }

    pub fn set_handler(&self, h: &'static CStr) {
        // SAFETY: a static string outlives the request.
        unsafe { (*self.raw()).handler = h.as_ptr() };
        // Keeps mod_mime from replacing the handler (core's fixup restores "alias-forced-type").
        // SAFETY: static key and value.
        unsafe { ffi::apr_table_setn(self.rec().notes, c"alias-forced-type".as_ptr(), h.as_ptr()) };
    }

    pub fn set_status(&self, code: i32, line: &[u8]) {
        // SAFETY: the status line is copied into r->pool.
        unsafe {
            (*self.raw()).status = code;
            (*self.raw()).status_line = pstrdup(self.pool(), line);
        }
    }

    pub fn add_header_out(&self, name: &[u8], value: &[u8]) {
        // SAFETY: both strings are copied into r->pool; apr_table_addn keeps the pointers.
        unsafe {
            let k = pstrdup(self.pool(), name);
            let v = pstrdup(self.pool(), value);
            ffi::apr_table_addn(self.rec().headers_out, k, v);
        }
    }

    pub fn set_content_type(&self, value: &[u8]) {
        // SAFETY: copied into r->pool as ap_set_content_type requires.
        unsafe { ffi::ap_set_content_type(self.raw(), pstrdup(self.pool(), value)) };
    }

    pub fn set_content_length(&self, n: i64) {
        // SAFETY: live request.
        unsafe { ffi::ap_set_content_length(self.raw(), n) };
    }

    pub fn connection_aborted(&self) -> bool {
        // SAFETY: every request has a live connection.
        unsafe { (*self.rec().connection).aborted != 0 }
    }

    /// The connection will be closed after this response (no keep-alive).
    pub fn close_connection(&self) {
        // SAFETY: live connection.
        unsafe { (*self.rec().connection).keepalive = ffi::ap_conn_keepalive_e_AP_CONN_CLOSE };
    }

    pub fn log(&self, level: Level, msg: &str) {
        log::request_raw(self.raw(), level, 0, msg);
    }

    /// mod_rwsgi's per-directory config for this request.
    pub fn dir_config(&self) -> Option<&'r DirConfig> {
        // SAFETY: the vector slot for our module holds a DirConfig created by create_dir_config/merge, allocated
        // in a pool that outlives the request (or null).
        unsafe { super::module::module_config::<DirConfig>(self.rec().per_dir_config) }
    }

    pub fn server_config(&self) -> Option<&'r ServerConfig> {
        // SAFETY: as dir_config, for the server vector.
        unsafe { super::module::module_config::<ServerConfig>((*self.rec().server).module_config) }
    }

    /// Per-request note kept by translate_name: the index of the matched WSGIScriptAlias (+1; 0 = none).
    pub fn matched_alias(&self) -> Option<usize> {
        // SAFETY: request_config slot for our module holds an integer cast to a pointer or null.
        let v = unsafe { super::module::module_slot(self.rec().request_config) } as usize;
        v.checked_sub(1)
    }

    pub fn set_matched_alias(&self, idx: usize) {
        // SAFETY: stores an integer in our module's request_config slot.
        unsafe { super::module::set_module_slot(self.rec().request_config, (idx + 1) as *mut std::ffi::c_void) };
    }

    /// Whether file responses may use sendfile: WSGIEnableSendfile where set, else `EnableSendfile` (httpd's
    /// default is Off).
    pub fn sendfile_enabled(&self) -> bool {
        if let Some(on) = self.dir_config().and_then(|d| d.enable_sendfile) {
            return on;
        }
        // SAFETY: core's per-dir config for this request (core always has one); read-only.
        unsafe {
            let c = ffi::ap_get_module_config(self.rec().per_dir_config, &raw const ffi::core_module)
                as *const ffi::core_dir_config;
            !c.is_null() && (*c).enable_sendfile() == ffi::ENABLE_SENDFILE_ON as u32
        }
    }

    /// `Options ExecCGI` is on for this request's directory (needed for AddHandler/SetHandler mounting).
    pub fn allows_exec_cgi(&self) -> bool {
        // SAFETY: live request.
        let opts = unsafe { ffi::ap_allow_options(self.raw()) };
        opts & ffi::OPT_EXECCGI != 0
    }

    pub(crate) fn pool_ptr(&self) -> *mut ffi::apr_pool_t {
        self.pool()
    }

    pub(crate) fn connection_ptr(&self) -> *mut ffi::conn_rec {
        self.rec().connection
    }

    pub(crate) fn output_filters(&self) -> *mut ffi::ap_filter_t {
        self.rec().output_filters
    }

    pub(crate) fn input_filters(&self) -> *mut ffi::ap_filter_t {
        self.rec().input_filters
    }
}

/// The httpd version as "2.4.71".
pub fn apache_version() -> (i32, i32, i32) {
    let mut v = ffi::ap_version_t {
        major: 0,
        minor: 0,
        patch: 0,
        add_string: std::ptr::null(),
    };
    // SAFETY: fills a caller-provided struct.
    unsafe { ffi::ap_get_server_revision(&mut v) };
    (v.major, v.minor, v.patch)
}
