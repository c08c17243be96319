//! httpd's regular expressions (PCRE, as mod_alias and mod_rewrite use them), compiled into the configuration
//! pool and matched against request URIs from any thread.

use std::ffi::{CString, c_void};
use std::sync::Arc;

use crate::config::mount::{Captures, UrlPattern};
use crate::ffi;

/// A compiled expression living in the configuration pool (freed with it).
#[derive(Debug)]
pub struct Regex(*mut ffi::ap_regex_t);

// SAFETY: a compiled ap_regex_t is read-only after ap_regcomp; ap_regexec_len keeps its match state on the
// caller's side, so concurrent matching from worker threads is safe (mod_rewrite relies on the same).
unsafe impl Send for Regex {}
// SAFETY: as above.
unsafe impl Sync for Regex {}

unsafe extern "C" fn free_regex(data: *mut c_void) -> ffi::apr_status_t {
    // SAFETY: data is the ap_regex_t compiled in `compile`, freed once when its pool is cleared.
    unsafe { ffi::ap_regfree(data.cast()) };
    0
}

impl Regex {
    /// Compiles `pattern`; the error is PCRE's message.
    ///
    /// # Safety
    /// `pool` must be a live pool that outlives every use of the result (the configuration pool).
    pub(crate) unsafe fn compile(pool: *mut ffi::apr_pool_t, pattern: &str) -> Result<Arc<dyn UrlPattern>, String> {
        let c = CString::new(pattern).map_err(|_| "it contains a NUL byte".to_string())?;
        // SAFETY: pool memory for one ap_regex_t, zeroed before ap_regcomp fills it.
        let re = unsafe { ffi::apr_palloc(pool, std::mem::size_of::<ffi::ap_regex_t>()) }.cast::<ffi::ap_regex_t>();
        if re.is_null() {
            return Err("out of memory".to_string());
        }
        // SAFETY: re points to size_of::<ap_regex_t>() writable bytes.
        unsafe { std::ptr::write_bytes(re, 0, 1) };
        // SAFETY: re is writable, c a valid C string.
        let rc = unsafe { ffi::ap_regcomp(re, c.as_ptr(), ffi::AP_REG_EXTENDED) };
        if rc != 0 {
            let mut buf = [0 as std::ffi::c_char; 256];
            // SAFETY: ap_regerror writes a NUL-terminated message of at most buf.len() bytes.
            unsafe { ffi::ap_regerror(rc, re, buf.as_mut_ptr(), buf.len()) };
            // SAFETY: NUL-terminated by ap_regerror.
            let msg = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
                .to_string_lossy()
                .into_owned();
            return Err(msg);
        }
        // SAFETY: frees the compiled expression when the pool is cleared.
        unsafe {
            ffi::apr_pool_cleanup_register(pool, re.cast(), Some(free_regex), Some(ffi::apr_pool_cleanup_null));
        }
        Ok(Arc::new(Regex(re)))
    }
}

impl UrlPattern for Regex {
    fn captures(&self, uri: &[u8]) -> Option<Captures> {
        let mut m = [ffi::ap_regmatch_t { rm_so: -1, rm_eo: -1 }; 10];
        // SAFETY: matches the compiled expression against the bytes of `uri` (length given: no NUL needed).
        let rc = unsafe { ffi::ap_regexec_len(self.0, uri.as_ptr().cast(), uri.len(), m.len(), m.as_mut_ptr(), 0) };
        if rc != 0 {
            return None;
        }
        let mut caps: Captures = [None; 10];
        for (c, r) in caps.iter_mut().zip(m) {
            if let (Ok(s), Ok(e)) = (usize::try_from(r.rm_so), usize::try_from(r.rm_eo)) {
                *c = Some((s, e));
            }
        }
        Some(caps)
    }
}
