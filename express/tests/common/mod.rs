//! The one harness of the rwsgi-express integration tests: a world-readable scratch directory, free loopback
//! ports, the real binary started as a subprocess, a tiny HTTP client, and guards that stop exactly the
//! processes a test started (by PID) even when the test panics.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const EXPRESS: &str = env!("CARGO_BIN_EXE_rwsgi-express");
const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// mod_rwsgi.so built by the workspace (or $RWSGI_MODULE). None when it has not been built.
pub fn module_path() -> Option<PathBuf> {
    let p = std::env::var_os("RWSGI_MODULE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(MANIFEST).join("../target/release/mod_rwsgi.so"));
    p.is_file().then_some(p)
}

/// Tests that need a running httpd return early (with a loud note) when the module is not built; set
/// RWSGI_EXPRESS_REQUIRE_MODULE=1 (CI does) to make that a failure instead.
macro_rules! require_module {
    () => {
        match common::module_path() {
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

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory under /tmp, mode 0755 so httpd children running as www-data can read the apps in it
/// (root's home is 0700). Removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let p = PathBuf::from(format!("/tmp/rwsgi-express-it-{tag}-{}-{n}", std::process::id()));
        let _stale = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
        TempDir(p)
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

    /// Copy tests/apps into this directory and return the copy's path.
    pub fn apps(&self) -> PathBuf {
        let dest = self.0.join("apps");
        copy_tree(&Path::new(MANIFEST).join("tests/apps"), &dest);
        dest
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _best_effort = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read apps") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_tree(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A minimal HTTP/1.0 GET: (status, body), or None when nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let text = http_raw(port, path, "Accept-Encoding: identity\r\n")?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

/// A GET with extra header lines (each ending in CRLF); the whole response as text.
pub fn http_raw(port: u16, path: &str, headers: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n{headers}\r\n").ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    Some(String::from_utf8_lossy(&raw).into_owned())
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

/// Direct children of a process, from /proc.
pub fn children_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// Every process below `pid` (children, their children, ...): httpd's workers and the daemon processes.
pub fn descendants_of(pid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for c in children_of(p) {
            if !out.contains(&c) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

/// The value of a `KEY=value` line in a test app's answer.
pub fn field<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    body.lines().find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

/// /proc/PID/cmdline with the NULs as spaces (what ps shows).
pub fn cmdline(pid: i32) -> String {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&raw).replace('\0', " ").trim().to_string()
}

pub fn signal(pid: i32, sig: i32) {
    // SAFETY: kill has no memory-safety preconditions; callers pass PIDs of processes this test started.
    unsafe {
        libc::kill(pid, sig);
    }
}

pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

/// rwsgi-express start-server running as a child of the test.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub server_root: PathBuf,
    out: PathBuf,
    err: PathBuf,
    /// httpd processes seen while running (parent and its children), checked and cleaned up at the end.
    pub httpd_pids: Vec<i32>,
}

impl Server {
    /// Start `rwsgi-express start-server ARGS --host 127.0.0.1 --port P --server-root DIR/sr --module-path M`
    /// and wait until it answers HTTP (any status) on `probe`.
    pub fn start(dir: &TempDir, args: &[&str], probe: &str) -> Server {
        Server::start_with(dir, args, probe, |_| {})
    }

    pub fn start_with(dir: &TempDir, args: &[&str], probe: &str, tweak: impl FnOnce(&mut Command)) -> Server {
        let module = module_path().expect("module built");
        let port = free_port();
        let server_root = dir.path("sr");
        let (out, err) = (dir.path("express.out"), dir.path("express.err"));
        let mut cmd = Command::new(EXPRESS);
        cmd.arg("start-server")
            .args(args)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--server-root")
            .arg(&server_root)
            .arg("--module-path")
            .arg(&module)
            .current_dir(&dir.0)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("out file"))
            .stderr(std::fs::File::create(&err).expect("err file"));
        tweak(&mut cmd);
        let child = cmd.spawn().expect("spawn rwsgi-express");
        let mut server = Server {
            child,
            port,
            server_root,
            out,
            err,
            httpd_pids: Vec::new(),
        };
        let up = wait_until(Duration::from_secs(20), || {
            http_get(port, probe).is_some() || matches!(server.child.try_wait(), Ok(Some(_)))
        });
        if !up || http_get(port, probe).is_none() {
            panic!("server did not start\n{}", server.logs());
        }
        server.note_httpd_pids();
        server
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path).unwrap_or_else(|| panic!("no answer for {path}\n{}", self.logs()))
    }

    pub fn httpd_pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.server_root.join("httpd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Remember httpd's parent, its worker children and the daemon processes below them, so the test can check
    /// they all went away.
    pub fn note_httpd_pids(&mut self) {
        if let Some(pid) = self.httpd_pid() {
            for p in std::iter::once(pid).chain(descendants_of(pid)) {
                if !self.httpd_pids.contains(&p) {
                    self.httpd_pids.push(p);
                }
            }
        }
    }

    pub fn logs(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!(
            "--- rwsgi-express stdout\n{}\n--- rwsgi-express stderr\n{}\n--- error_log\n{}",
            read(&self.out),
            read(&self.err),
            read(&self.server_root.join("error_log"))
        )
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Send `sig` to the rwsgi-express process and wait for it to exit.
    pub fn stop_with(&mut self, sig: i32) -> ExitStatus {
        signal(self.child.id() as i32, sig);
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > end {
                panic!("rwsgi-express did not exit after signal {sig}\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn all_httpd_gone(&self) -> bool {
        wait_until(Duration::from_secs(10), || self.httpd_pids.iter().all(|p| !alive(*p)))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal(self.child.id() as i32, libc::SIGTERM);
            wait_until(Duration::from_secs(15), || matches!(self.child.try_wait(), Ok(Some(_))));
        }
        // Only the httpd this test started: its PID file names it.
        if let Some(pid) = self.httpd_pid().filter(|p| alive(*p)) {
            signal(pid, libc::SIGTERM);
            wait_until(Duration::from_secs(15), || !alive(pid));
        }
    }
}

/// An httpd started directly (apachectl or a hand-written config), stopped by PID on drop.
pub struct PidGuard(pub PathBuf);

impl Drop for PidGuard {
    fn drop(&mut self) {
        let pid = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        if let Some(pid) = pid.filter(|p| alive(*p)) {
            signal(pid, libc::SIGTERM);
            wait_until(Duration::from_secs(15), || !alive(pid));
        }
    }
}

/// Run rwsgi-express to completion: (exit code, stdout, stderr). A command that unexpectedly starts a server
/// (it execs httpd, keeping its PID) is stopped with SIGTERM after 60 s and the test fails.
pub fn run_express(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let base = std::env::temp_dir().join(format!("rwsgi-express-it-run-{}-{n}", std::process::id()));
    let (out_path, err_path) = (base.with_extension("out"), base.with_extension("err"));
    let mut child = Command::new(EXPRESS)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("out file"))
        .stderr(std::fs::File::create(&err_path).expect("err file"))
        .spawn()
        .expect("run");
    let pid = child.id() as i32;
    let finished = wait_until(Duration::from_secs(60), || matches!(child.try_wait(), Ok(Some(_))));
    if !finished {
        signal(pid, libc::SIGTERM);
        let _reaped = child.wait();
    }
    let status = child.wait().expect("wait");
    let read = |p: &Path| {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        let _cleanup = std::fs::remove_file(p);
        text
    };
    let (out, err) = (read(&out_path), read(&err_path));
    assert!(
        finished,
        "rwsgi-express {args:?} did not finish (a server started?)\n{out}\n{err}"
    );
    (status.code().unwrap_or(-1), out, err)
}
