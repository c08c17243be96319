//! mod_rwsgi: an Apache httpd module that runs Python WSGI applications.
//!
//! Floors, bottom to top (a module imports only from its own floor or below; `tests/layers.rs` checks it):
//! 0. `ffi` (generated bindings), `config` (directive table, config structs, pure parsers, routing);
//! 1. `apache` (safe wrappers over httpd), `sys` (the other libc calls: users, processes, signals, sockets);
//! 2. `request` (the request model, collected once from httpd), `metrics` (server-wide counters in shared memory);
//! 3. `python` (interpreter start-up, thread states, script loading, the `mod_wsgi` module);
//! 4. `wsgi` (environ, input, start_response, response streaming over a `Transport`);
//! 5. `connection` (the httpd connection as a `Transport`), `daemon` (protocol, manager, client, supervisor,
//!    worker);
//! 6. `handler` (the request path), `checks` (start-up checks), `hooks` (module record, hooks, trampolines).
//!
//! Unit tests build only the pure parts (the rest needs httpd's symbols, resolved when httpd loads the module).
// The pure parts' users are not built then, so their items look unused to the unit-test build.
#![cfg_attr(test, allow(dead_code, unused_imports))]

#[cfg(not(test))]
mod apache;
#[cfg(not(test))]
mod auth;
#[cfg(not(test))]
mod checks;
mod config;
#[cfg(not(test))]
mod connection;
#[cfg(not(test))]
mod daemon;
#[cfg(not(test))]
mod dispatch;
#[cfg(not(test))]
mod ffi;
#[cfg(not(test))]
mod handler;
#[cfg(not(test))]
mod hooks;
mod metrics;
#[cfg(not(test))]
mod python;
mod request;
#[cfg(not(test))]
mod sys;
#[cfg(not(test))]
mod wsgi;

#[cfg(test)]
#[path = "daemon/protocol.rs"]
mod daemon_protocol;
#[cfg(test)]
#[path = "wsgi/headers.rs"]
mod wsgi_headers;

#[cfg(not(test))]
pub use hooks::{rwsgi_module, wsgi_module};
