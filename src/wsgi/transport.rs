//! Where a request's bytes go: the httpd connection (embedded mode) or the daemon socket (daemon mode). The
//! WSGI logic above this trait is the same in both modes, so the app sees the same behaviour in both.

use crate::apache::log::Level;

use super::headers::Status;

/// Why a body read or response write failed (the same cases as httpd's own I/O).
pub use crate::apache::io::IoError;

/// One request's connection to its client. Methods that move bytes block: callers release the GIL.
pub trait Transport: Send {
    /// Status and headers (validated; hop-by-hop headers removed; Content-Length given apart).
    fn start(&mut self, status: &Status, headers: &[(Vec<u8>, Vec<u8>)], content_length: Option<u64>);
    fn write(&mut self, data: &[u8], flush: bool) -> Result<(), IoError>;
    fn send_file(&mut self, fd: i32, offset: i64, len: i64) -> Result<(), IoError>;
    /// The response is complete.
    fn finish(&mut self) -> Result<(), IoError>;
    /// All remaining body parts and the end of the response at once (one pass through httpd's filters; lets
    /// httpd add Content-Length itself).
    fn write_final(&mut self, parts: &[&[u8]]) -> Result<(), IoError> {
        for p in parts {
            self.write(p, false)?;
        }
        self.finish()
    }
    /// The response was cut short: make that visible to the client.
    fn abort(&mut self);
    /// Appends up to `max` body bytes to `out`; Ok(0) at the end of the body.
    fn read_body(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, IoError>;
    /// Reads up to `buf.len()` body bytes into `buf` (possibly uninitialised memory); Ok(0) at the end of the
    /// body. Embedded mode reads straight from httpd's buckets into it.
    fn read_into(&mut self, buf: &mut [std::mem::MaybeUninit<u8>]) -> Result<usize, IoError> {
        let mut tmp = Vec::with_capacity(buf.len());
        let n = self.read_body(&mut tmp, buf.len())?.min(buf.len());
        for (d, s) in buf.iter_mut().zip(&tmp[..n]) {
            d.write(*s);
        }
        Ok(n)
    }
    fn header_only(&self) -> bool;
    /// No keep-alive after this response (the app sent `Connection: close`).
    fn close_connection(&mut self);
    /// A log line about this request (tagged with its client).
    fn log(&self, level: Level, msg: &str);
    /// Nothing was sent and the request failed with `status`: answer it (daemon mode sends it to the httpd
    /// child; embedded mode returns the status to httpd instead, so the default does nothing).
    fn respond_error(&mut self, _status: i32) {}

    /// Daemon mode: instead of a response, tell the httpd child to send the request again (this process restarts
    /// to load changed code).
    fn restart(&mut self) {}
}
