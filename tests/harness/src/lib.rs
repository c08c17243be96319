//! The one integration-test harness of mod_rwsgi (`tests/*.rs`) and rwsgi-express (`express/tests/*.rs`).
//!
//! Everything a test needs to run the real httpd: scratch directories under a world-readable /tmp (httpd
//! children run as the Apache user, who cannot read root's 0700 home), free loopback ports, the built
//! mod_rwsgi.so, the apps in `tests/apps`, an HTTP client with exact control of the bytes, /proc process
//! helpers, and two servers that stop exactly the processes a test started (by PID, also on panic) and print
//! their logs when a test fails: [`Server`] (httpd from a hand-written config, built with [`ServerBuilder`])
//! and [`ExpressServer`] (`rwsgi-express start-server`).

pub mod apache;
pub mod express;
pub mod http;
pub mod load;
pub mod process;
pub mod venv;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use apache::{Server, ServerBuilder, httpd_bin, modules_dir};
pub use express::{ExpressServer, express_bin, run_express};
pub use http::{Response, field, get, http_get, http_raw, request};
pub use process::{PidGuard, alive, children_of, cmdline, descendants_of, signal, wait_until};

/// The repository root (this crate lives in `tests/harness`).
pub fn repo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/harness is two levels below the repository root")
        .to_path_buf()
}

/// The test apps, `tests/apps`.
pub fn apps_dir() -> PathBuf {
    repo_dir().join("tests/apps")
}

/// mod_rwsgi.so built by `./dev build` (target/release/mod_rwsgi.so), or $RWSGI_MODULE. None when it does not
/// exist; a panic when it is older than the library cargo built last (the copy was not refreshed).
pub fn find_module() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("RWSGI_MODULE").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let p = repo_dir().join("target/release/mod_rwsgi.so");
    if !p.is_file() {
        return None;
    }
    let built = p.with_file_name("libmod_rwsgi.so");
    let mtime = |f: &Path| std::fs::metadata(f).and_then(|m| m.modified()).ok();
    if let (Some(copy), Some(lib)) = (mtime(&p), mtime(&built)) {
        assert!(
            copy >= lib,
            "{} is older than cargo's {}: run ./dev build",
            p.display(),
            built.display()
        );
    }
    Some(p)
}

/// The built mod_rwsgi.so; a panic when it has not been built.
pub fn module_path() -> PathBuf {
    find_module().unwrap_or_else(|| {
        panic!("mod_rwsgi.so is missing (target/release/mod_rwsgi.so or $RWSGI_MODULE): build it with ./dev build")
    })
}

/// The module for the rwsgi-express tests: `let module = require_module!();`. Without a built module the test
/// returns early with a loud SKIPPED note; RWSGI_EXPRESS_REQUIRE_MODULE=1 (./dev test, CI) makes that a failure.
#[macro_export]
macro_rules! require_module {
    () => {
        match $crate::find_module() {
            Some(p) => p,
            None => {
                if std::env::var_os("RWSGI_EXPRESS_REQUIRE_MODULE").is_some() {
                    panic!("mod_rwsgi.so is not built (target/release/mod_rwsgi.so or $RWSGI_MODULE)");
                }
                eprintln!("SKIPPED: mod_rwsgi.so is not built (target/release/mod_rwsgi.so or $RWSGI_MODULE)");
                return;
            }
        }
    };
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The unprivileged user httpd children run as when the tests run as root.
pub fn run_user() -> &'static str {
    for u in ["www-data", "apache", "nobody"] {
        if Command::new("id")
            .arg("-u")
            .arg(u)
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return u;
        }
    }
    "nobody"
}

/// `User` / `Group` lines for a hand-written httpd.conf: the run user when the tests run as root, else none.
pub fn run_user_directives() -> String {
    if !is_root() {
        return String::new();
    }
    let out = Command::new("id").arg("-g").arg(run_user()).output().expect("id -g");
    let gid = String::from_utf8_lossy(&out.stdout).trim().to_string();
    format!("User {}\nGroup #{gid}\n", run_user())
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Where the tests put what httpd children must read: /tmp (world-readable), not $TMPDIR or root's 0700 home.
pub fn scratch_base() -> &'static Path {
    Path::new("/tmp")
}

/// A fresh path `/tmp/rwsgi-test-PID-TAG-N`, unique in this test run.
pub fn scratch_path(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    scratch_base().join(format!("rwsgi-test-{}-{tag}-{n}", std::process::id()))
}

/// A fresh, empty directory (mode 0755) at [`scratch_path`].
pub fn scratch_dir(tag: &str) -> PathBuf {
    let dir = scratch_path(tag);
    let _stale = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod scratch dir");
    dir
}

/// A server root for [`ServerBuilder`]: a scratch directory with `logs/` and `run/` (0755). Not removed on
/// its own: a [`Server`] removes its root when its test passes.
pub fn temp_root(tag: &str) -> PathBuf {
    let dir = scratch_dir(tag);
    std::fs::create_dir_all(dir.join("logs")).expect("create logs dir");
    std::fs::create_dir_all(dir.join("run")).expect("create run dir");
    std::fs::set_permissions(dir.join("run"), std::fs::Permissions::from_mode(0o755)).expect("chmod run dir");
    dir
}

/// Copies tests/apps (without `__pycache__`) into `root/apps`, readable by the Apache user; returns that path.
pub fn copy_apps(root: &Path) -> PathBuf {
    let dst = root.join("apps");
    copy_tree(&apps_dir(), &dst);
    dst
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read tests/apps") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_tree(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).expect("copy app");
        }
    }
}

/// A self-signed certificate for CN=localhost and its key, written as `dir/cert.pem` and `dir/key.pem` with
/// the openssl command (which `./dev test` installs).
pub fn self_signed_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl CLI (apt-get install openssl)");
    assert!(
        made.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&made.stderr)
    );
    (cert, key)
}

/// A scratch directory (mode 0755, see [`scratch_dir`]) removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        TempDir(scratch_dir(tag))
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.0.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write");
        p
    }

    /// Copies tests/apps into this directory and returns the copy's path.
    pub fn apps(&self) -> PathBuf {
        copy_apps(&self.0)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _best_effort = std::fs::remove_dir_all(&self.0);
    }
}
