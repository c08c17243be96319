//! What a WSGI request needs from httpd, collected once and the same in both modes: the model (`RequestHead`,
//! `Environ`: plain data, encoded by the daemon protocol) and its collection from a `request_rec`.
#![deny(unsafe_code)]

mod model;
pub mod proxy;
pub use model::{Environ, RequestHead};

#[cfg(not(test))]
mod collect;
#[cfg(not(test))]
pub use collect::{application_group, collect, hook_vars};

/// Now, in microseconds since the epoch (the unit of the request's timestamps).
pub fn epoch_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
