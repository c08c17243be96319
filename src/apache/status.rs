//! What a hook answers httpd: OK, DECLINED, or an HTTP status httpd turns into its error page.

use crate::ffi;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(i32);

impl Status {
    pub const OK: Status = Status(ffi::OK);
    pub const DECLINED: Status = Status(ffi::DECLINED);
    /// An input filter already answered the client (e.g. 400 for bad chunking): send nothing more.
    pub const FILTER_ERROR: Status = Status(ffi::AP_FILTER_ERROR);
    pub const FORBIDDEN: Status = Status(ffi::HTTP_FORBIDDEN);
    pub const NOT_FOUND: Status = Status(ffi::HTTP_NOT_FOUND);
    pub const LENGTH_REQUIRED: Status = Status(ffi::HTTP_LENGTH_REQUIRED);
    pub const INTERNAL_SERVER_ERROR: Status = Status(ffi::HTTP_INTERNAL_SERVER_ERROR);
    pub const BAD_GATEWAY: Status = Status(ffi::HTTP_BAD_GATEWAY);
    pub const SERVICE_UNAVAILABLE: Status = Status(ffi::HTTP_SERVICE_UNAVAILABLE);
    pub const GATEWAY_TIME_OUT: Status = Status(ffi::HTTP_GATEWAY_TIME_OUT);

    /// An HTTP status code (e.g. one a daemon or an input filter answered with).
    pub const fn http(code: i32) -> Status {
        Status(code)
    }

    /// The value handed back to httpd.
    pub const fn code(self) -> i32 {
        self.0
    }
}
