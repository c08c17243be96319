//! The httpd connection as a WSGI `Transport`: responses through brigades to the output filters, the body from
//! the input filters. Used by embedded mode directly and by the daemon client to relay a daemon's response.

use std::sync::Arc;

use crate::apache::Request;
use crate::apache::io::{self, Brigade};
use crate::apache::log::Level;
use crate::wsgi::Slot;
use crate::wsgi::headers::Status;
use crate::wsgi::state::ReqState;
use crate::wsgi::transport::{IoError, Transport};

pub struct ApacheTransport<'r> {
    req: Request<'r>,
    out: Option<Brigade>,
}

impl<'r> ApacheTransport<'r> {
    pub fn new(req: Request<'r>) -> Self {
        ApacheTransport { req, out: None }
    }

    fn brigade(&mut self) -> &Brigade {
        let req = self.req;
        self.out.get_or_insert_with(|| Brigade::new(req))
    }
}

impl Transport for ApacheTransport<'_> {
    fn start(&mut self, status: &Status, headers: &[(Vec<u8>, Vec<u8>)], content_length: Option<u64>) {
        self.req.set_status(i32::from(status.code), &status.line);
        for (name, value) in headers {
            if name.eq_ignore_ascii_case(b"content-type") {
                self.req.set_content_type(value);
            } else {
                self.req.add_header_out(name, value);
            }
        }
        if let Some(n) = content_length {
            self.req.set_content_length(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    fn write(&mut self, data: &[u8], flush: bool) -> Result<(), IoError> {
        let req = self.req;
        self.brigade().write(req, data, flush)
    }

    fn send_file(&mut self, fd: i32, offset: i64, len: i64) -> Result<(), IoError> {
        let req = self.req;
        self.brigade().send_file(req, fd, offset, len)
    }

    fn finish(&mut self) -> Result<(), IoError> {
        let req = self.req;
        self.brigade().finish(req)
    }

    fn abort(&mut self) {
        let req = self.req;
        self.brigade().abort(req);
    }

    fn write_final(&mut self, parts: &[&[u8]]) -> Result<(), IoError> {
        let req = self.req;
        self.brigade().write_final(req, parts)
    }

    fn read_body(&mut self, out: &mut Vec<u8>, max: usize) -> Result<usize, IoError> {
        io::read_body(self.req, out, max)
    }

    fn read_into(&mut self, buf: &mut [std::mem::MaybeUninit<u8>]) -> Result<usize, IoError> {
        io::read_body_into(self.req, buf)
    }

    fn header_only(&self) -> bool {
        self.req.header_only()
    }

    fn close_connection(&mut self) {
        self.req.close_connection();
    }

    fn log(&self, level: Level, msg: &str) {
        self.req.log(level, msg);
    }
}

/// Runs `f` with a slot whose transport is this request's connection; the slot is closed before returning,
/// so no Python object can reach the request afterwards. Call without holding the GIL.
pub fn embedded_scope<'r, R>(req: Request<'r>, f: impl FnOnce(&Arc<Slot>) -> R) -> R {
    // SAFETY: the 'static request never outlives 'r: it lives only inside the slot's state, which `close`
    // (in the guard below, also on unwind) drops before this function returns.
    let req_static: Request<'static> = unsafe { req.extend_lifetime() };
    let slot = Arc::new(Slot::new(ReqState::new(Box::new(ApacheTransport::new(req_static)))));
    struct Close<'a>(&'a Slot);
    impl Drop for Close<'_> {
        fn drop(&mut self) {
            drop(self.0.close());
        }
    }
    let _close = Close(&slot);
    f(&slot)
}
