//! Moving bytes through httpd: the request body from the input filters, the response through brigades to the
//! output filters. Callers release the GIL around every call here (these block on the client).

use std::ffi::c_void;

use super::Request;
use crate::ffi;

/// Why moving bytes through httpd failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoError {
    /// The client (or the connection) went away.
    ClientGone(String),
    /// httpd refused the request body; the status to answer with when nothing was sent yet (e.g. 413).
    Rejected(i32, String),
}

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IoError::ClientGone(m) | IoError::Rejected(_, m) => f.write_str(m),
        }
    }
}

fn apr_error(rv: ffi::apr_status_t) -> String {
    let mut buf = [0 as std::ffi::c_char; 256];
    // SAFETY: buf is writable for its length; apr_strerror NUL-terminates.
    let p = unsafe { ffi::apr_strerror(rv, buf.as_mut_ptr(), buf.len()) };
    // SAFETY: p points into buf (NUL-terminated) or is a static string.
    unsafe { super::cstr_bytes(p) }.map_or_else(
        || format!("APR error {rv}"),
        |b| String::from_utf8_lossy(b).into_owned(),
    )
}

/// A brigade in r->pool, reused for every pass of one request's response.
pub struct Brigade {
    bb: *mut ffi::apr_bucket_brigade,
}

// SAFETY: used only by the worker thread that owns the request (moved into detach closures that run
// synchronously on the same thread) and guarded by the request scope's mutex.
unsafe impl Send for Brigade {}

fn alloc(req: Request<'_>) -> *mut ffi::apr_bucket_alloc_t {
    // SAFETY: live connection.
    unsafe { (*req.connection_ptr()).bucket_alloc }
}

impl Brigade {
    pub fn new(req: Request<'_>) -> Self {
        // SAFETY: r->pool and the connection's bucket allocator live as long as the request.
        let bb = unsafe { ffi::apr_brigade_create(req.pool_ptr(), alloc(req)) };
        Brigade { bb }
    }

    fn push(&self, b: *mut ffi::apr_bucket) {
        // SAFETY: b is a fresh bucket, bb our live brigade.
        unsafe { ffi::rwsgi_shim_brigade_insert_tail(self.bb, b) };
    }

    fn pass(&self, req: Request<'_>) -> Result<(), IoError> {
        // SAFETY: passes our brigade down the request's output filter chain; cleanup empties it for reuse.
        let rv = unsafe { ffi::ap_pass_brigade(req.output_filters(), self.bb) };
        // SAFETY: our live brigade.
        unsafe { ffi::apr_brigade_cleanup(self.bb.cast()) };
        if rv != 0 || req.connection_aborted() {
            let why = if rv != 0 {
                apr_error(rv)
            } else {
                "connection aborted".to_string()
            };
            return Err(IoError::ClientGone(format!("failed to write response data: {why}")));
        }
        Ok(())
    }

    /// Sends `data` (kept alive by the caller for the call: filters copy transient buckets they hold on to),
    /// optionally followed by a flush so the client sees it now.
    pub fn write(&self, req: Request<'_>, data: &[u8], flush: bool) -> Result<(), IoError> {
        if !data.is_empty() {
            // SAFETY: data outlives this call; filters set transient buckets aside (copy) before returning.
            let b = unsafe { ffi::apr_bucket_transient_create(data.as_ptr().cast(), data.len(), alloc(req)) };
            self.push(b);
        }
        if flush {
            // SAFETY: fresh flush bucket.
            self.push(unsafe { ffi::apr_bucket_flush_create(alloc(req)) });
        }
        self.pass(req)
    }

    /// Sends all `parts` and the end of the response in one pass (transient buckets: the caller keeps the
    /// bytes alive for the call).
    pub fn write_final(&self, req: Request<'_>, parts: &[&[u8]]) -> Result<(), IoError> {
        for data in parts.iter().filter(|d| !d.is_empty()) {
            // SAFETY: data outlives this call; filters set transient buckets aside (copy) before returning.
            let b = unsafe { ffi::apr_bucket_transient_create(data.as_ptr().cast(), data.len(), alloc(req)) };
            self.push(b);
        }
        // SAFETY: fresh EOS bucket.
        self.push(unsafe { ffi::apr_bucket_eos_create(alloc(req)) });
        self.pass(req)
    }

    /// Sends `len` bytes of the open file `fd` from `offset` (sendfile where the platform has it). The fd is
    /// duplicated and the duplicate closed when the request pool goes, after httpd has sent the data.
    pub fn send_file(&self, req: Request<'_>, fd: i32, offset: i64, len: i64) -> Result<(), IoError> {
        // SAFETY: dup of a descriptor the caller owns; failure is reported.
        let dup = unsafe { libc::dup(fd) };
        if dup < 0 {
            return Err(IoError::ClientGone(format!(
                "cannot duplicate file descriptor: {}",
                std::io::Error::last_os_error()
            )));
        }
        let pool = req.pool_ptr();
        let mut file: *mut ffi::apr_file_t = std::ptr::null_mut();
        let mut os_fd = dup;
        // Like httpd's own file handler: the core output filter uses sendfile only for files opened with
        // APR_FOPEN_SENDFILE_ENABLED, which EnableSendfile On asks for.
        let flags = if req.sendfile_enabled() {
            ffi::APR_FOPEN_READ | ffi::APR_FOPEN_SENDFILE_ENABLED
        } else {
            ffi::APR_FOPEN_READ
        };
        // SAFETY: wraps our own dup'd descriptor in an apr_file_t in r->pool (APR does not close it).
        let rv = unsafe { ffi::apr_os_file_put(&mut file, &mut os_fd, flags, pool) };
        if rv != 0 {
            // SAFETY: closing our own descriptor.
            unsafe { libc::close(dup) };
            return Err(IoError::ClientGone(format!("cannot wrap file: {}", apr_error(rv))));
        }
        // SAFETY: registers a cleanup on r->pool that closes `dup`; the pool is destroyed only after the
        // request's data (set-aside file buckets precede the EOR bucket) was written.
        unsafe {
            ffi::apr_pool_cleanup_register(
                pool,
                dup as isize as *const c_void,
                Some(close_fd),
                Some(ffi::apr_pool_cleanup_null),
            );
        }
        // SAFETY: inserts file buckets covering [offset, offset+len) of the wrapped file.
        unsafe { ffi::apr_brigade_insert_file(self.bb, file, offset, len, pool) };
        self.pass(req)
    }

    /// Ends the response normally.
    pub fn finish(&self, req: Request<'_>) -> Result<(), IoError> {
        // SAFETY: fresh EOS bucket.
        self.push(unsafe { ffi::apr_bucket_eos_create(alloc(req)) });
        self.pass(req)
    }

    /// Ends a response that could not be completed so that the client can tell: a 502 error bucket makes httpd
    /// omit the final chunk and close the connection; with a Content-Length the short body plus the close
    /// shows the truncation.
    pub fn abort(&self, req: Request<'_>) {
        req.close_connection();
        // SAFETY: fresh error and EOS buckets.
        unsafe {
            self.push(ffi::ap_bucket_error_create(
                502,
                std::ptr::null(),
                req.pool_ptr(),
                alloc(req),
            ));
            self.push(ffi::apr_bucket_eos_create(alloc(req)));
        }
        // The client may already be gone; nothing more to tell it either way.
        let _ignored = self.pass(req);
    }
}

unsafe extern "C" fn close_fd(data: *mut c_void) -> ffi::apr_status_t {
    // SAFETY: data is the descriptor registered in send_file, closed exactly once by this cleanup.
    unsafe { libc::close(data as isize as i32) };
    0
}

/// Reads up to `max` bytes of the request body into `out` (appending). Returns 0 at the end of the body.
pub fn read_body(req: Request<'_>, out: &mut Vec<u8>, max: usize) -> Result<usize, IoError> {
    read_body_with(req, max, &mut |data| out.extend_from_slice(data))
}

/// Reads up to `buf.len()` body bytes straight into `buf` (which may be uninitialised: e.g. the storage of the
/// bytes object the application gets); Ok(0) at the end of the body.
pub fn read_body_into(req: Request<'_>, buf: &mut [std::mem::MaybeUninit<u8>]) -> Result<usize, IoError> {
    let mut at = 0usize;
    read_body_with(req, buf.len(), &mut |data| {
        let n = data.len().min(buf.len() - at);
        // SAFETY: n bytes fit in buf after `at`; the source is a bucket's data, distinct from buf.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf.as_mut_ptr().add(at).cast::<u8>(), n) };
        at += n;
    })
}

/// Reads up to `max` body bytes, handing each piece to `sink`.
fn read_body_with(req: Request<'_>, max: usize, sink: &mut dyn FnMut(&[u8])) -> Result<usize, IoError> {
    // Filters may hand back metadata only; ask again until data or end of body.
    for _ in 0..64 {
        let (got, eos) = read_body_once(req, sink, max)?;
        if got > 0 || eos {
            return Ok(got);
        }
    }
    Err(IoError::ClientGone("request body read made no progress".to_string()))
}

fn read_body_once(req: Request<'_>, sink: &mut dyn FnMut(&[u8]), max: usize) -> Result<(usize, bool), IoError> {
    // SAFETY: a temporary brigade in r->pool for this read; destroyed below.
    let bb = unsafe { ffi::apr_brigade_create(req.pool_ptr(), (*req.connection_ptr()).bucket_alloc) };
    let max = max.clamp(1, 1 << 20);
    // SAFETY: reads from the request's input filter chain into our brigade.
    let rv = unsafe {
        ffi::ap_get_brigade(
            req.input_filters(),
            bb,
            ffi::ap_input_mode_t_AP_MODE_READBYTES,
            ffi::apr_read_type_e_APR_BLOCK_READ,
            max as ffi::apr_off_t,
        )
    };
    if rv != 0 {
        // SAFETY: our brigade.
        unsafe { ffi::apr_brigade_destroy(bb) };
        // SAFETY: pure mapping function. AP_FILTER_ERROR stays as it is: the filter already answered the
        // client (e.g. 400 for bad chunking), and the handler must return it so httpd sends nothing more.
        let status = unsafe { ffi::ap_map_http_request_error(rv, 400) };
        // Which error the filter answered with shows in r->status (e.g. 413 over LimitRequestBody).
        let answered = if status == ffi::AP_FILTER_ERROR {
            req.status()
        } else {
            status
        };
        let why = match answered {
            413 if status == ffi::AP_FILTER_ERROR => {
                "the body is larger than LimitRequestBody allows; httpd answered the client".to_string()
            }
            413 => "the body is larger than LimitRequestBody allows".to_string(),
            400 => "the body is malformed".to_string(),
            408 => "timed out waiting for the body".to_string(),
            ffi::AP_FILTER_ERROR => {
                "the body is malformed (bad chunked encoding?); httpd answered the client".to_string()
            }
            _ => apr_error(rv),
        };
        return if matches!(status, 400 | 408 | 411 | 413 | ffi::AP_FILTER_ERROR) {
            let shown = if (400..600).contains(&answered) {
                format!("HTTP {answered}")
            } else {
                "HTTP 400".to_string()
            };
            Err(IoError::Rejected(
                status,
                format!("request body rejected by httpd: {why} ({shown})"),
            ))
        } else {
            Err(IoError::ClientGone(format!(
                "failed to read request body: {}",
                apr_error(rv)
            )))
        };
    }
    let mut got = 0usize;
    let mut eos = false;
    // SAFETY: walks our brigade's buckets; each data bucket is read (blocking) and copied out.
    unsafe {
        let sentinel = ffi::rwsgi_shim_brigade_sentinel(bb);
        let mut b = ffi::rwsgi_shim_brigade_first(bb);
        while b != sentinel {
            if ffi::rwsgi_shim_bucket_is_eos(b) != 0 {
                eos = true;
                break;
            }
            if ffi::rwsgi_shim_bucket_is_metadata(b) == 0 {
                let mut p: *const std::ffi::c_char = std::ptr::null();
                let mut n: ffi::apr_size_t = 0;
                let rv = ffi::rwsgi_shim_bucket_read(b, &mut p, &mut n, 0);
                if rv != 0 {
                    ffi::apr_brigade_destroy(bb);
                    return Err(IoError::ClientGone(format!(
                        "failed to read request body: {}",
                        apr_error(rv)
                    )));
                }
                if n > 0 && !p.is_null() {
                    sink(std::slice::from_raw_parts(p.cast::<u8>(), n));
                    got += n;
                }
            }
            b = ffi::rwsgi_shim_bucket_next(b);
        }
        ffi::apr_brigade_destroy(bb);
    }
    Ok((got, eos))
}
