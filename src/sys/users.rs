//! Users and groups: the reentrant lookups (`getpwnam_r`, `getpwuid_r`, `getgrnam_r`), safe from any thread.

use std::ffi::{CStr, CString, c_char};

/// One passwd entry, copied out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
}

/// Calls a `get*_r` function with a growing buffer until it fits; None when there is no such entry.
fn with_buffer<T>(mut call: impl FnMut(&mut [c_char]) -> (i32, Option<T>)) -> Option<T> {
    let mut size = 1024usize;
    loop {
        let mut buf = vec![0 as c_char; size];
        match call(&mut buf) {
            (libc::ERANGE, _) if size < (1 << 20) => size *= 4,
            (_, found) => return found,
        }
    }
}

fn text(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: a NUL-terminated string inside the entry's buffer, alive while the caller holds it.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

fn user_from(pw: &libc::passwd) -> User {
    User {
        name: text(pw.pw_name),
        uid: pw.pw_uid,
        gid: pw.pw_gid,
        home: text(pw.pw_dir),
    }
}

pub fn by_name(name: &str) -> Option<User> {
    let c = CString::new(name).ok()?;
    with_buffer(|buf| {
        // SAFETY: zeroed passwd filled by getpwnam_r from our buffer; result is null or &pw.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the call; buf's length is passed.
        let rc = unsafe { libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut result) };
        (rc, (!result.is_null()).then(|| user_from(&pw)))
    })
}

pub fn by_uid(uid: u32) -> Option<User> {
    with_buffer(|buf| {
        // SAFETY: as by_name.
        let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: as by_name.
        let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut result) };
        (rc, (!result.is_null()).then(|| user_from(&pw)))
    })
}

/// The gid of group `name`.
pub fn group_by_name(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    with_buffer(|buf| {
        // SAFETY: zeroed group filled by getgrnam_r from our buffer; result is null or &gr.
        let mut gr: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the call; buf's length is passed.
        let rc = unsafe { libc::getgrnam_r(c.as_ptr(), &mut gr, buf.as_mut_ptr(), buf.len(), &mut result) };
        (rc, (!result.is_null()).then_some(gr.gr_gid))
    })
}

/// The name of `uid`, or `#uid` when it has none.
pub fn name_of(uid: u32) -> String {
    by_uid(uid).map_or_else(|| format!("#{uid}"), |u| u.name)
}

/// (uid, gid) of this process (real ids).
pub fn current() -> (u32, u32) {
    // SAFETY: getuid/getgid cannot fail.
    unsafe { (libc::getuid(), libc::getgid()) }
}
