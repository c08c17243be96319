//! What both mod_rwsgi and rwsgi-express must read the same way: the table of WSGIDaemonProcess options (name,
//! value syntax, limits, default, state, help and the parser built from them) and httpd's splitting of a
//! directive's arguments. Pure code: no httpd, no libc, no I/O. The module parses configuration with it,
//! rwsgi-express writes and checks its generated WSGIDaemonProcess line with it, and the option rows of
//! docs/compat.md and docs/express.md are rendered from it (tests fail when they are stale).
#![forbid(unsafe_code)]

pub mod args;
pub mod daemon;

pub use args::split_args;
pub use daemon::{DAEMON_OPTIONS, DaemonGroup, DaemonOption, Kind, State};
