//! Who the application runs as. httpd started as root switches its children to `User`/`Group`; those children
//! must be able to read the script, the application's directories and Python. This module picks the run user and
//! checks that access *as that user* (fork + setuid + access(2)), so a 0700 home directory is reported before
//! httpd starts instead of as a 500 later.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The account httpd children run as when httpd is started by root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub user: String,
    pub group: String,
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<libc::gid_t>,
}

/// Default run users when root gives no --user, in order of preference.
pub const DEFAULT_USERS: &[&str] = &["www-data", "apache", "nobody"];

struct Passwd {
    name: String,
    uid: u32,
    gid: u32,
}

fn lookup_user(name: &str) -> Option<Passwd> {
    let cname = CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value for an out-parameter that getpwnam_r overwrites.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; buf outlives the use of the strings pwd points into.
    let rc = unsafe { libc::getpwnam_r(cname.as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points to a NUL-terminated string inside buf.
    let name = unsafe { CStr::from_ptr(pwd.pw_name) }.to_string_lossy().into_owned();
    Some(Passwd {
        name,
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
    })
}

fn lookup_user_by_uid(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: zeroed passwd is a valid out-parameter.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: as in lookup_user.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success pw_name points into buf.
    Some(unsafe { CStr::from_ptr(pwd.pw_name) }.to_string_lossy().into_owned())
}

/// (name, gid) of a group given by name or by gid.
fn lookup_group(name: Option<&str>, gid: u32) -> Option<(String, u32)> {
    let mut buf = vec![0 as libc::c_char; 64 * 1024];
    // SAFETY: zeroed group is a valid out-parameter.
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::group = std::ptr::null_mut();
    let rc = match name {
        Some(n) => {
            let cname = CString::new(n).ok()?;
            // SAFETY: valid pointers; buf outlives the strings grp points into.
            unsafe { libc::getgrnam_r(cname.as_ptr(), &mut grp, buf.as_mut_ptr(), buf.len(), &mut result) }
        }
        // SAFETY: as above.
        None => unsafe { libc::getgrgid_r(gid, &mut grp, buf.as_mut_ptr(), buf.len(), &mut result) },
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success gr_name points into buf.
    let gname = unsafe { CStr::from_ptr(grp.gr_name) }.to_string_lossy().into_owned();
    Some((gname, grp.gr_gid))
}

fn group_list(user: &str, gid: u32) -> Vec<libc::gid_t> {
    let Ok(cname) = CString::new(user) else {
        return vec![gid];
    };
    let mut groups = vec![0 as libc::gid_t; 256];
    let mut n = groups.len() as libc::c_int;
    // SAFETY: groups has room for n entries; getgrouplist writes at most n and updates n.
    let rc = unsafe { libc::getgrouplist(cname.as_ptr(), gid, groups.as_mut_ptr(), &mut n) };
    if rc < 0 {
        return vec![gid];
    }
    groups.truncate(usize::try_from(n).unwrap_or(0));
    groups
}

pub fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

pub fn effective_gid() -> u32 {
    // SAFETY: getegid has no preconditions and cannot fail.
    unsafe { libc::getegid() }
}

/// Decide the run user. Returns None when not root (httpd then runs everything as the invoking user), and a
/// warning to print when root gave no --user.
pub fn resolve(user: Option<&str>, group: Option<&str>, euid: u32) -> Result<(Option<RunAs>, Option<String>)> {
    if euid != 0 {
        let me = lookup_user_by_uid(euid);
        if let Some(u) = user
            && Some(u) != me.as_deref()
        {
            return Err(Error::usage(format!(
                "--user {u}: httpd can switch users only when started as root; run rwsgi-express as root or drop \
                 --user"
            )));
        }
        if group.is_some() && user.is_none() {
            return Err(Error::usage("--group needs rwsgi-express to run as root"));
        }
        return Ok((None, None));
    }
    let (pw, warning) = match user {
        Some(u) => (
            lookup_user(u).ok_or_else(|| Error::usage(format!("--user {u}: no such user")))?,
            None,
        ),
        None => {
            let pw = DEFAULT_USERS.iter().find_map(|u| lookup_user(u)).ok_or_else(|| {
                Error::failed(format!(
                    "running as root without --user, and none of the users {} exists: pass --user",
                    DEFAULT_USERS.join(", ")
                ))
            })?;
            let warning = format!(
                "running as root without --user: the application runs as user '{}' (pass --user to choose)",
                pw.name
            );
            (pw, Some(warning))
        }
    };
    if pw.uid == 0 {
        return Err(Error::usage(
            "refusing to run the application as root: pass --user with an unprivileged user".to_string(),
        ));
    }
    let (gname, gid) = match group {
        Some(g) => lookup_group(Some(g), 0).ok_or_else(|| Error::usage(format!("--group {g}: no such group")))?,
        None => lookup_group(None, pw.gid).unwrap_or_else(|| (pw.gid.to_string(), pw.gid)),
    };
    let mut groups = group_list(&pw.name, pw.gid);
    if !groups.contains(&gid) {
        groups.push(gid);
    }
    Ok((
        Some(RunAs {
            user: pw.name,
            group: gname,
            uid: pw.uid,
            gid,
            groups,
        }),
        warning,
    ))
}

/// One thing the run user must be able to reach.
#[derive(Debug, Clone)]
pub struct Need {
    pub what: &'static str,
    pub path: PathBuf,
    /// libc::R_OK / X_OK bits.
    pub mode: libc::c_int,
}

impl Need {
    pub fn read(what: &'static str, path: &Path) -> Need {
        Need {
            what,
            path: path.to_path_buf(),
            mode: libc::R_OK,
        }
    }
    pub fn dir(what: &'static str, path: &Path) -> Need {
        Need {
            what,
            path: path.to_path_buf(),
            mode: libc::R_OK | libc::X_OK,
        }
    }
    pub fn traverse(what: &'static str, path: &Path) -> Need {
        Need {
            what,
            path: path.to_path_buf(),
            mode: libc::X_OK,
        }
    }
}

/// Check every need as `run` (in a forked child that drops to that user), failing on the first one it can't meet.
pub fn check_access(run: &RunAs, needs: &[Need]) -> Result<()> {
    for need in needs {
        if !accessible_as(run, &need.path, need.mode)? {
            let verb = if need.mode & libc::R_OK != 0 { "read" } else { "enter" };
            return Err(Error::failed(format!(
                "the application runs as user '{}', who cannot {verb} {} {}: make it readable by that user (for \
                 example keep the app and Python outside /root), or choose another --user",
                run.user,
                need.what,
                need.path.display()
            )));
        }
    }
    Ok(())
}

fn accessible_as(run: &RunAs, path: &Path, mode: libc::c_int) -> Result<bool> {
    let cpath = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| Error::usage(format!("path contains a NUL byte: {}", path.display())))?;
    let groups = run.groups.clone();
    // SAFETY: fork has no memory-safety preconditions; the child below only makes async-signal-safe system calls
    // (setgroups, setgid, setuid, access, _exit) on data prepared before the fork, so it is sound even if the
    // parent has other threads.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(Error::failed(format!(
            "fork failed: {}",
            std::io::Error::last_os_error()
        )));
    }
    if pid == 0 {
        // SAFETY: child process; the pointers (groups, cpath) were created before fork and stay valid.
        unsafe {
            let ok = libc::setgroups(groups.len(), groups.as_ptr()) == 0
                && libc::setgid(run.gid) == 0
                && libc::setuid(run.uid) == 0
                && libc::access(cpath.as_ptr(), mode) == 0;
            libc::_exit(if ok { 0 } else { 1 });
        }
    }
    let mut status = 0;
    loop {
        // SAFETY: pid is our child; status is a valid out-pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(Error::failed(format!("waitpid failed: {err}")));
        }
    }
    Ok(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_root_cannot_switch_user() {
        if effective_uid() == 0 {
            return;
        }
        let e = resolve(Some("nobody"), None, effective_uid()).expect_err("refused");
        assert!(e.to_string().contains("root"));
    }

    #[test]
    fn root_picks_a_default_user_with_a_warning() {
        let (run, warning) = resolve(None, None, 0).expect("some default user exists");
        let run = run.expect("root gets a run user");
        assert!(DEFAULT_USERS.contains(&run.user.as_str()));
        assert!(warning.expect("warned").contains(&run.user));
        assert!(resolve(Some("root"), None, 0).is_err());
        assert!(
            resolve(Some("no-such-user-xyz"), None, 0)
                .expect_err("missing")
                .to_string()
                .contains("no such user")
        );
    }

    #[test]
    fn access_is_checked_as_the_run_user() {
        if effective_uid() != 0 {
            return;
        }
        let (Some(run), _) = resolve(None, None, 0).expect("resolves") else {
            return;
        };
        let dir = std::env::temp_dir().join(format!("rwsgi-express-unit-access-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("app.wsgi");
        std::fs::write(&file, b"x").expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let e = check_access(&run, &[Need::read("the WSGI script", &file)]).expect_err("0700 dir blocks");
        assert!(
            e.to_string().contains(&run.user) && e.to_string().contains("app.wsgi"),
            "{e}"
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        check_access(&run, &[Need::read("the WSGI script", &file), Need::dir("dir", &dir)]).expect("readable");
        let _cleanup = std::fs::remove_dir_all(&dir);
    }
}
