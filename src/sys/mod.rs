//! The libc calls outside `ffi`/`apache`, behind safe functions: users and groups (reentrant lookups),
//! processes (fork, wait, signals, privilege drop), signal sets, epoll, sockets and file descriptors. Everything
//! above calls these instead of libc, so `unsafe` stays in this floor.

pub mod allocs;
pub mod epoll;
pub mod fdpass;
pub mod fs;
pub mod process;
pub mod shm;
pub mod signals;
pub mod users;

pub use fdpass::regular_file_size;
