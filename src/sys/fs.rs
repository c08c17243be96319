//! Files and sockets by path or descriptor: ownership, access as this process, listen backlog, the peer of a
//! UNIX socket, installed locales.

use std::ffi::CString;
use std::os::fd::RawFd;
use std::path::Path;

fn c_path(path: &Path) -> Option<CString> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).ok()
}

pub fn chown(path: &str, uid: u32, gid: u32) -> Result<(), String> {
    let c = CString::new(path).map_err(|_| format!("invalid path {path:?}"))?;
    // SAFETY: c is a valid path string.
    if unsafe { libc::chown(c.as_ptr(), uid, gid) } != 0 {
        return Err(format!(
            "cannot chown {path} to uid {uid}: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Whether this process (with its real ids) may read `path`; the error says why not.
pub fn can_read(path: &Path) -> std::io::Result<()> {
    access(path, libc::R_OK)
}

/// Whether this process may enter (search) directory `path`; the error says why not.
pub fn can_search(path: &Path) -> std::io::Result<()> {
    access(path, libc::X_OK)
}

fn access(path: &Path, mode: i32) -> std::io::Result<()> {
    let c = c_path(path).ok_or_else(|| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: access only checks permissions of a valid C path.
    if unsafe { libc::access(c.as_ptr(), mode) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sets the listen backlog of a listening socket.
pub fn set_backlog(fd: RawFd, backlog: u32) {
    // SAFETY: listen() on our own listening socket only changes its backlog.
    unsafe { libc::listen(fd, i32::try_from(backlog).unwrap_or(100)) };
}

/// (pid, uid, gid) of the process at the other end of a connected UNIX socket.
pub fn peer_credentials(fd: RawFd) -> Option<(i32, u32, u32)> {
    // SAFETY: ucred is plain data filled by getsockopt.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: SO_PEERCRED writes one ucred of the given length.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&raw mut cred).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some((cred.pid, cred.uid, cred.gid))
}

/// Whether the C library can load locale `name` (e.g. "en_US.UTF-8").
pub fn locale_exists(name: &str) -> bool {
    let Ok(c) = CString::new(name) else { return false };
    // SAFETY: newlocale returns a new locale object or null; a non-null one is freed at once.
    unsafe {
        let l = libc::newlocale(libc::LC_ALL_MASK, c.as_ptr(), std::ptr::null_mut());
        if l.is_null() {
            return false;
        }
        libc::freelocale(l);
    }
    true
}

/// SO_SNDBUF / SO_RCVBUF of a connected socket (the kernel doubles what it is given, as socket(7) says).
pub fn set_buffers(fd: RawFd, send: Option<u64>, receive: Option<u64>) {
    for (opt, size) in [(libc::SO_SNDBUF, send), (libc::SO_RCVBUF, receive)] {
        if let Some(n) = size.and_then(|n| i32::try_from(n).ok()) {
            let len = std::mem::size_of::<i32>() as libc::socklen_t;
            // SAFETY: setsockopt reads one int; a failure leaves the system default, which is harmless.
            unsafe { libc::setsockopt(fd, libc::SOL_SOCKET, opt, (&raw const n).cast(), len) };
        }
    }
}
