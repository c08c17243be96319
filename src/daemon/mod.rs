//! Daemon mode: process groups defined with WSGIDaemonProcess run the apps in their own processes, started and
//! restarted by the httpd parent; httpd children relay requests to them over UNIX sockets.
//!
//! - `protocol`: the framed wire format (pure, fuzzed).
//! - `fdpass`: SCM_RIGHTS for sendfile of daemon file_wrapper responses.

pub mod fdpass;
pub mod protocol;
