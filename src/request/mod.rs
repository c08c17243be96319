//! What a WSGI request needs from httpd, collected once and the same in both modes: the model (`RequestHead`,
//! `Environ`: plain data, encoded by the daemon protocol) and its collection from a `request_rec`.
#![deny(unsafe_code)]

mod model;
pub mod proxy;
pub use model::{Environ, RequestHead};

#[cfg(not(test))]
mod collect;
#[cfg(not(test))]
pub use collect::collect;
