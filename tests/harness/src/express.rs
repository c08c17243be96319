//! The rwsgi-express binary as the tests run it: [`ExpressServer`] (start-server as a child of the test, stopped
//! with every httpd process it started) and [`run_express`] (a command run to completion).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::http::http_get;
use crate::process::{alive, descendants_of, signal, stop_pid, wait_for_start, wait_until};
use crate::{TempDir, scratch_path};

/// The rwsgi-express binary cargo built for the running test: in the profile directory (target/release),
/// beside the `deps/` directory that holds the test executable.
pub fn express_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the test executable");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable is in target/PROFILE/deps")
        .join("rwsgi-express");
    assert!(
        bin.is_file(),
        "{} is missing: run the tests with cargo test -p rwsgi-express",
        bin.display()
    );
    bin
}

/// rwsgi-express start-server running as a child of the test.
pub struct ExpressServer {
    pub child: Child,
    pub port: u16,
    pub server_root: PathBuf,
    out: PathBuf,
    err: PathBuf,
    /// httpd processes seen while running (parent and its children), checked and cleaned up at the end.
    pub httpd_pids: Vec<i32>,
}

impl ExpressServer {
    /// Start `rwsgi-express start-server ARGS --host 127.0.0.1 --port P --server-root DIR/sr --module-path M`
    /// and wait until it answers HTTP (any status) on `probe`.
    pub fn start(dir: &TempDir, args: &[&str], probe: &str) -> ExpressServer {
        ExpressServer::start_with(dir, args, probe, |_| {})
    }

    pub fn start_with(dir: &TempDir, args: &[&str], probe: &str, tweak: impl FnOnce(&mut Command)) -> ExpressServer {
        let module = crate::find_module().expect("module built");
        let port = crate::free_port();
        let server_root = dir.path("sr");
        let (out, err) = (dir.path("express.out"), dir.path("express.err"));
        let mut cmd = Command::new(express_bin());
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
        let mut server = ExpressServer {
            child,
            port,
            server_root,
            out,
            err,
            httpd_pids: Vec::new(),
        };
        let logs = server.log_files();
        wait_for_start(
            &format!("rwsgi-express on port {port}"),
            &mut server.child,
            || http_get(port, probe).is_some(),
            || logs.read(),
        );
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

    fn log_files(&self) -> LogFiles {
        LogFiles {
            out: self.out.clone(),
            err: self.err.clone(),
            error_log: self.server_root.join("error_log"),
        }
    }

    /// rwsgi-express's stdout and stderr and httpd's error_log, for failure messages.
    pub fn logs(&self) -> String {
        self.log_files().read()
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Send `sig` to the rwsgi-express process and wait for it to exit.
    pub fn stop_with(&mut self, sig: i32) -> ExitStatus {
        signal(self.child.id() as i32, sig);
        let mut status = None;
        wait_until(Duration::from_secs(20), || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        status.unwrap_or_else(|| panic!("rwsgi-express did not exit after signal {sig}\n{}", self.logs()))
    }

    pub fn all_httpd_gone(&self) -> bool {
        wait_until(Duration::from_secs(10), || self.httpd_pids.iter().all(|p| !alive(*p)))
    }
}

impl Drop for ExpressServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- logs of rwsgi-express on port {} ----\n{}", self.port, self.logs());
        }
        if let Ok(None) = self.child.try_wait() {
            signal(self.child.id() as i32, libc::SIGTERM);
            wait_until(Duration::from_secs(15), || matches!(self.child.try_wait(), Ok(Some(_))));
        }
        // Only the httpd this test started: its PID file names it.
        if let Some(pid) = self.httpd_pid() {
            stop_pid(pid);
        }
    }
}

/// Where an [`ExpressServer`] writes: readable after the server is gone (or while it is being started).
struct LogFiles {
    out: PathBuf,
    err: PathBuf,
    error_log: PathBuf,
}

impl LogFiles {
    fn read(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!(
            "--- rwsgi-express stdout\n{}\n--- rwsgi-express stderr\n{}\n--- error_log\n{}",
            read(&self.out),
            read(&self.err),
            read(&self.error_log)
        )
    }
}

/// Run rwsgi-express to completion: (exit code, stdout, stderr). A command that unexpectedly starts a server
/// (it execs httpd, keeping its PID) is stopped with SIGTERM after 60 s and the test fails.
pub fn run_express(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let base = scratch_path("run");
    let (out_path, err_path) = (base.with_extension("out"), base.with_extension("err"));
    let mut child = Command::new(express_bin())
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
