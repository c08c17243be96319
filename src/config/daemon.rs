//! WSGIDaemonProcess: the option table, the group definition and its parser live in the `rwsgi-options` crate,
//! which rwsgi-express shares, so that the module and the launcher read every option the same way.

pub use rwsgi_options::daemon::{DaemonGroup, parse};
