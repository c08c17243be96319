//! mod_rwsgi: an Apache httpd module that runs Python WSGI applications.
//!
//! Layers (raw pointers only in `ffi` and `apache`):
//! - `apache`: module record, hook and directive trampolines, safe wrappers over request_rec, brigades, log.
//! - `config`: the directive table, config structs and their merge, pure parsers.
//! - `python`: interpreter start-up in each child, thread states, script loading, the `mod_wsgi` module.
//! - `wsgi`: environ, wsgi.input, start_response/write, response streaming, file_wrapper.
//! - `handler`: translate_name + handler, tying the above together.
//!
//! Unit tests build only the pure parts (the rest needs httpd's symbols, resolved when httpd loads the module).

#[cfg(not(test))]
mod apache;
#[cfg(not(test))]
mod cgi;
#[cfg(not(test))]
mod checks;
mod config;
#[cfg(not(test))]
mod daemon;
#[cfg(not(test))]
mod ffi;
#[cfg(not(test))]
mod handler;
#[cfg(not(test))]
mod python;
#[cfg(not(test))]
mod wsgi;

#[cfg(test)]
#[path = "daemon/protocol.rs"]
mod daemon_protocol;
#[cfg(test)]
#[path = "wsgi/headers.rs"]
mod wsgi_headers;

#[cfg(not(test))]
pub use apache::module::rwsgi_module;
