//! Server-wide metrics (the `rwsgi-metrics` handler): counters in memory shared by the httpd parent, every httpd
//! child and every daemon process (`crate::sys::shm`), laid out once per configuration (`layout`), bumped with
//! relaxed atomics on the request path (each process writes only its own slot, so no cache line is shared between
//! processes while requests run) and read by whichever child answers a scrape (`render`).
#![deny(unsafe_code)]

pub mod layout;
pub mod render;

#[cfg(not(test))]
mod store;
#[cfg(not(test))]
pub use store::*;

pub use layout::Cause;
