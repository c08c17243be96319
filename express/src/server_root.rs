//! The server root: a private directory holding httpd.conf, apachectl, envvars, logs and the pid file.
//! A default server root is always fresh (mkdtemp, 0700). A given one must be ours and not writable by anyone
//! else, because httpd started as root reads its config from it.

use std::ffi::CString;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, io_context};
use crate::users::{RunAs, effective_uid};

/// Make (or vet) the server root and return its absolute path.
pub fn prepare(requested: Option<&Path>, port: u16) -> Result<PathBuf> {
    match requested {
        None => fresh(port),
        Some(p) => match std::fs::symlink_metadata(p) {
            Ok(meta) => {
                vet(p, &meta, effective_uid())?;
                Ok(p.to_path_buf())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(p)
                    .map_err(|e| io_context("create the server root", p, e))?;
                Ok(p.to_path_buf())
            }
            Err(e) => Err(io_context("inspect the server root", p, e)),
        },
    }
}

/// An existing server root must be a real directory owned by us and writable only by us.
pub fn vet(p: &Path, meta: &std::fs::Metadata, euid: u32) -> Result<()> {
    if meta.file_type().is_symlink() || !meta.is_dir() {
        return Err(Error::usage(format!(
            "--server-root {}: not a directory (symlinks are refused)",
            p.display()
        )));
    }
    if meta.uid() != euid {
        return Err(Error::usage(format!(
            "--server-root {}: owned by uid {}, not by you (uid {euid}); use a directory of your own",
            p.display(),
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Error::usage(format!(
            "--server-root {}: writable by other users (mode {:o}); run chmod go-w on it or use another directory",
            p.display(),
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

fn fresh(port: u16) -> Result<PathBuf> {
    let base = std::env::var_os("TMPDIR")
        .filter(|t| !t.is_empty())
        .map(PathBuf::from)
        .unwrap_or("/tmp".into());
    let template = base.join(format!("rwsgi-express-{port}-XXXXXX"));
    let mut bytes = CString::new(template.as_os_str().as_bytes())
        .map_err(|_| Error::failed("TMPDIR contains a NUL byte"))?
        .into_bytes_with_nul();
    // SAFETY: bytes is a writable NUL-terminated buffer ending in XXXXXX, as mkdtemp requires; it rewrites the
    // X's in place and returns NULL on failure.
    let made = unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) };
    if made.is_null() {
        return Err(io_context(
            "create a server root in",
            &base,
            std::io::Error::last_os_error(),
        ));
    }
    bytes.pop();
    Ok(PathBuf::from(
        <std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(bytes),
    ))
}

/// Write a generated file, replacing an old one but never following a symlink planted in its place.
pub fn write_file(path: &Path, contents: &str, mode: u32) -> Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && meta.file_type().is_symlink()
    {
        std::fs::remove_file(path).map_err(|e| io_context("replace", path, e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| io_context("write", path, e))?;
    f.write_all(contents.as_bytes())
        .map_err(|e| io_context("write", path, e))?;
    f.set_permissions(std::fs::Permissions::from_mode(mode))
        .map_err(|e| io_context("chmod", path, e))?;
    Ok(())
}

pub fn make_dir(path: &Path, mode: u32) -> Result<()> {
    match std::fs::DirBuilder::new().mode(mode).create(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(io_context("create", path, e)),
    }
    .and_then(|()| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| io_context("chmod", path, e))
    })
}

/// Let the httpd children (running as `run`) reach one file in the otherwise private server root: the root
/// becomes 0710 with the run user's group, the file 0640 with that group. Nobody else gains anything.
pub fn share_with_run_group(server_root: &Path, file: &Path, run: &RunAs) -> Result<()> {
    share(&[(server_root, 0o710), (file, 0o640)], run)
}

/// Let the run user pass through the server root (0710) and list one directory in it (0750), both with the run
/// user's group; nothing else in the server root becomes readable to it.
pub fn share_dir_with_run_group(server_root: &Path, dir: &Path, run: &RunAs) -> Result<()> {
    share(&[(server_root, 0o710), (dir, 0o750)], run)
}

fn share(paths: &[(&Path, u32)], run: &RunAs) -> Result<()> {
    for &(path, mode) in paths {
        std::os::unix::fs::chown(path, None, Some(run.gid)).map_err(|e| io_context("chown", path, e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io_context("chmod", path, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_roots_are_private_and_distinct() {
        let a = prepare(None, 8000).expect("fresh");
        let b = prepare(None, 8000).expect("fresh");
        assert_ne!(a, b);
        let meta = std::fs::metadata(&a).expect("exists");
        assert_eq!(meta.mode() & 0o777, 0o700);
        let _cleanup = (std::fs::remove_dir(&a), std::fs::remove_dir(&b));
    }

    #[test]
    fn vets_owner_mode_and_symlinks() {
        let dir = prepare(None, 1).expect("fresh");
        let meta = std::fs::symlink_metadata(&dir).expect("meta");
        vet(&dir, &meta, effective_uid()).expect("ours");
        let e = vet(&dir, &meta, effective_uid() + 1).expect_err("other owner");
        assert!(e.to_string().contains("owned by"));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let meta = std::fs::symlink_metadata(&dir).expect("meta");
        assert!(
            vet(&dir, &meta, effective_uid())
                .expect_err("writable")
                .to_string()
                .contains("writable")
        );
        let link = dir.with_extension("link");
        std::os::unix::fs::symlink(&dir, &link).expect("symlink");
        let meta = std::fs::symlink_metadata(&link).expect("meta");
        assert!(vet(&link, &meta, effective_uid()).is_err());
        let _cleanup = (std::fs::remove_file(&link), std::fs::remove_dir(&dir));
    }

    #[test]
    fn write_file_sets_mode_and_replaces_symlinks() {
        let dir = prepare(None, 2).expect("fresh");
        let target = dir.join("elsewhere");
        std::fs::write(&target, "keep").expect("write");
        let conf = dir.join("httpd.conf");
        std::os::unix::fs::symlink(&target, &conf).expect("symlink");
        write_file(&conf, "new", 0o600).expect("written");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "keep");
        assert_eq!(std::fs::read_to_string(&conf).expect("read"), "new");
        assert_eq!(std::fs::metadata(&conf).expect("meta").mode() & 0o777, 0o600);
        let _cleanup = std::fs::remove_dir_all(&dir);
    }
}
