//! Passing an open file descriptor over a UNIX socket (SCM_RIGHTS), so that a daemon's file_wrapper response is
//! sent by the httpd child with sendfile, like a static file.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// Size of `fd` when it is a regular file (None for pipes, sockets, ...).
pub fn regular_file_size(fd: i32) -> Option<i64> {
    // SAFETY: fstat writes into a zeroed stat buffer; an invalid fd just fails.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return None;
    }
    ((st.st_mode & libc::S_IFMT) == libc::S_IFREG).then_some(st.st_size)
}

/// A control-message buffer on the stack (aligned as cmsghdr needs), so a receive allocates nothing.
#[repr(C, align(8))]
struct ControlBuf([u8; 64]);

/// Room for one descriptor in a control message.
fn control_space() -> usize {
    // SAFETY: CMSG_SPACE is a pure size computation.
    unsafe { libc::CMSG_SPACE(std::mem::size_of::<i32>() as u32) as usize }
}

/// A msghdr over one iovec and a control buffer (both must outlive its use).
fn message(iov: &mut libc::iovec, cbuf: &mut [u8]) -> libc::msghdr {
    // SAFETY: msghdr is plain data; zeroed then pointed at the caller's buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = cbuf.len();
    msg
}

/// Sends `data` with `fd` attached.
pub fn send_with_fd(sock: &UnixStream, data: &[u8], fd: i32) -> io::Result<()> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let mut cbuf = vec![0u8; control_space()];
    let msg = message(&mut iov, &mut cbuf);
    // SAFETY: the control buffer has room for one cmsg carrying one int (CMSG_SPACE above).
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<i32>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<i32>(), fd);
    }
    let mut sent = 0usize;
    while sent < data.len() {
        // SAFETY: msg points at live buffers for the duration of the call.
        let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        sent += n as usize;
        if sent < data.len() {
            // The descriptor went with the first bytes; send the rest plainly.
            use std::io::Write;
            let mut s = sock;
            return s.write_all(&data[sent..]);
        }
    }
    Ok(())
}

/// Receives into `buf` (at least 1 byte), returning the byte count and a descriptor if one was attached.
pub fn recv_with_fd(sock: &UnixStream, buf: &mut [u8]) -> io::Result<(usize, Option<OwnedFd>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = ControlBuf([0; 64]);
    let mut msg = message(&mut iov, &mut cbuf.0[..control_space()]);
    let n = loop {
        // SAFETY: msg points at live buffers; MSG_CMSG_CLOEXEC keeps received descriptors out of children.
        let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        break n as usize;
    };
    let mut fd = None;
    // SAFETY: walks the control messages the kernel wrote into cbuf.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let raw = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<i32>());
                if raw >= 0 {
                    fd = Some(OwnedFd::from_raw_fd(raw));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((n, fd))
}

/// Closes an inherited descriptor this process does not use (errors: it was not open, nothing to do).
pub fn close(fd: i32) {
    // SAFETY: the caller owns `fd` and no Rust object refers to it.
    unsafe { libc::close(fd) };
}

/// Takes ownership of an inherited listening socket (a daemon process's copy of its group's socket).
pub fn adopt_listener(fd: i32) -> std::os::unix::net::UnixListener {
    // SAFETY: fd is the group's listening socket inherited from the httpd parent; this process owns its copy
    // and nothing else in it refers to the descriptor.
    unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) }
}
