//! Daemon mode: process groups defined with WSGIDaemonProcess run the apps in their own processes, started and
//! restarted by the httpd parent; httpd children relay requests to them over UNIX sockets.
//!
//! - `protocol`: the framed wire format (pure, fuzzed); `conn`: framed I/O over a socket; descriptors travel with `crate::sys::fdpass`.
//! - `manager` (httpd parent): sockets kept across restarts, one supervisor per group per generation.
//! - `supervisor`: forks, restarts and recycles the group's worker processes; never runs Python.
//! - `worker`: a daemon process running the apps (`transport` is its side of a request); `watch`: its health
//!   (signals, timeouts, limits, recycling, the orderly stop); `parking`: its idle connections (kept between
//!   requests without a thread).
//! - `client` (httpd child): relays one request to a daemon (on a kept connection when it has one) and maps
//!   failures to statuses.
#![deny(unsafe_code)]

pub mod client;
pub mod conn;
pub mod manager;
mod parking;
pub mod protocol;
pub mod supervisor;
pub mod transport;
mod watch;
pub mod worker;
