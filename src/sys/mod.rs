//! The libc calls outside `ffi`/`apache`, behind safe functions: users and groups (reentrant lookups), file
//! descriptors (passing them over UNIX sockets, file sizes). Everything above calls these instead of libc.

pub mod fdpass;
pub mod process;
pub mod users;

pub use fdpass::regular_file_size;
