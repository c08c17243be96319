//! httpd from a configuration the test writes: [`ServerBuilder`] writes a server root under /tmp, picks a free
//! loopback port, starts the real httpd binary found through apxs with the built mod_rwsgi.so, waits until it
//! answers, prints error_log when a test fails, and stops the server by PID when the test ends (also on panic).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::http::{Response, get, request};
use crate::process::{children_of, cmdline, descendants_of, signal, wait_for_start, wait_until};
use crate::{copy_apps, free_port, module_path, run_user_directives, temp_root};

fn apxs() -> String {
    std::env::var("APXS").ok().unwrap_or_else(|| {
        for c in ["apxs", "apxs2", "/usr/bin/apxs"] {
            if Command::new(c)
                .arg("-q")
                .arg("SBINDIR")
                .output()
                .is_ok_and(|o| o.status.success())
            {
                return c.to_string();
            }
        }
        panic!("apxs not found: install apache2-dev (Debian) or httpd-devel (RHEL)")
    })
}

fn apxs_q(var: &str) -> String {
    let out = Command::new(apxs()).args(["-q", var]).output().expect("run apxs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The httpd binary (apache2 on Debian, httpd on RHEL).
pub fn httpd_bin() -> PathBuf {
    Path::new(&apxs_q("SBINDIR")).join(apxs_q("PROGNAME"))
}

pub fn modules_dir() -> String {
    apxs_q("LIBEXECDIR")
}

pub struct ServerBuilder {
    pub root: PathBuf,
    pub port: u16,
    extra: String,
    globals: String,
    mpm: &'static str,
    threads: u32,
    servers: u32,
    without_module: bool,
    /// Another build of mod_rwsgi.so than the one the tests use (e.g. for another Python).
    module: Option<PathBuf>,
}

pub struct Server {
    pub root: PathBuf,
    pub port: u16,
    pub conf: PathBuf,
    child: Option<Child>,
}

impl ServerBuilder {
    pub fn new(tag: &str) -> ServerBuilder {
        let root = temp_root(tag);
        copy_apps(&root);
        ServerBuilder {
            root,
            port: free_port(),
            extra: String::new(),
            globals: String::new(),
            mpm: "event",
            threads: 8,
            servers: 2,
            without_module: false,
            module: None,
        }
    }

    pub fn apps(&self) -> PathBuf {
        self.root.join("apps")
    }

    /// Config lines; `{apps}` and `{root}` are replaced.
    pub fn conf(mut self, text: &str) -> Self {
        self.extra.push_str(&self.expand(text));
        self.extra.push('\n');
        self
    }

    /// Lines placed before LoadModule rwsgi_module (e.g. other modules).
    pub fn global(mut self, text: &str) -> Self {
        self.globals.push_str(&self.expand(text));
        self.globals.push('\n');
        self
    }

    /// Starts httpd without mod_rwsgi (and without the `conf` lines) — to load it later with a graceful restart.
    pub fn without_module(mut self) -> Self {
        self.without_module = true;
        self
    }

    /// Loads this mod_rwsgi.so instead of the tests' build.
    pub fn module(mut self, path: &std::path::Path) -> Self {
        self.module = Some(path.to_path_buf());
        self
    }

    pub fn mpm(mut self, mpm: &'static str, servers: u32, threads: u32) -> Self {
        self.mpm = mpm;
        self.servers = servers;
        self.threads = threads;
        self
    }

    fn expand(&self, text: &str) -> String {
        text.replace("{apps}", &self.apps().to_string_lossy())
            .replace("{root}", &self.root.to_string_lossy())
    }

    pub fn config_text(&self) -> String {
        let root = self.root.display();
        let mods = modules_dir();
        let user = run_user_directives();
        let mpm_conf = match self.mpm {
            "prefork" => format!(
                "StartServers {0}\nMinSpareServers 1\nMaxSpareServers {0}\nMaxRequestWorkers {0}\nServerLimit {0}\n",
                self.servers
            ),
            _ => format!(
                "StartServers {0}\nServerLimit {0}\nThreadsPerChild {1}\nMaxRequestWorkers {2}\nMinSpareThreads 1\nMaxSpareThreads {2}\nThreadLimit {1}\n",
                self.servers,
                self.threads,
                self.servers * self.threads
            ),
        };
        let module_line = if self.without_module {
            String::new()
        } else {
            let module = self.module.clone().unwrap_or_else(module_path);
            format!("LoadModule rwsgi_module {}\n", module.display())
        };
        let extra = if self.without_module { "" } else { self.extra.as_str() };
        format!(
            "ServerRoot {root}\nListen 127.0.0.1:{port}\nPidFile {root}/httpd.pid\nErrorLog {root}/logs/error_log\n\
             LogLevel info\nServerName 127.0.0.1\nDefaultRuntimeDir {root}/run\nMutex file:{root}/run default\n{user}\
             LoadModule mpm_{mpm}_module {mods}/mod_mpm_{mpm}.so\n{mpm_conf}\
             <IfModule !mod_authz_core.c>\nLoadModule authz_core_module {mods}/mod_authz_core.so\n</IfModule>\n\
             {globals}{module_line}\
             <Directory {root}/apps>\nRequire all granted\n</Directory>\n{extra}",
            port = self.port,
            mpm = self.mpm,
            globals = self.globals,
        )
    }

    /// The full configuration (with mod_rwsgi and every `conf` line), e.g. to write before a graceful restart.
    pub fn full_config_text(&self) -> String {
        let b = ServerBuilder {
            root: self.root.clone(),
            port: self.port,
            extra: self.extra.clone(),
            globals: self.globals.clone(),
            mpm: self.mpm,
            threads: self.threads,
            servers: self.servers,
            without_module: false,
            module: self.module.clone(),
        };
        b.config_text()
    }

    fn write_conf(&self) -> PathBuf {
        let conf = self.root.join("httpd.conf");
        std::fs::write(&conf, self.config_text()).expect("write httpd.conf");
        conf
    }

    /// `httpd -t`: (success, output).
    pub fn config_test(&self) -> (bool, String) {
        self.config_test_env(&[])
    }

    pub fn config_test_env(&self, env: &[(&str, &str)]) -> (bool, String) {
        let conf = self.write_conf();
        let out = Command::new(httpd_bin())
            .arg("-t")
            .arg("-f")
            .arg(&conf)
            .envs(env.iter().copied())
            .output()
            .expect("run httpd -t");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }

    pub fn start(self) -> Server {
        let conf = self.write_conf();
        use std::os::unix::process::CommandExt;
        let child = Command::new(httpd_bin())
            // Its own process group: prefork signals its whole group when it shuts down.
            .process_group(0)
            .arg("-f")
            .arg(&conf)
            .arg("-DFOREGROUND")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start httpd");
        let mut server = Server {
            root: self.root,
            port: self.port,
            conf,
            child: Some(child),
        };
        server.wait_ready();
        server
    }
}

impl Server {
    /// A server started by a test itself (e.g. from a packaged layout): stopped and cleaned up like ours.
    pub fn adopt(root: PathBuf, port: u16, conf: PathBuf, child: Child) -> Server {
        let mut s = Server {
            root,
            port,
            conf,
            child: Some(child),
        };
        s.wait_ready();
        s
    }

    fn wait_ready(&mut self) {
        let (port, root) = (self.port, self.root.clone());
        let child = self.child.as_mut().expect("a server being started has its httpd");
        wait_for_start(
            &format!("httpd on port {port}"),
            child,
            || TcpStream::connect(("127.0.0.1", port)).is_ok(),
            || error_log(&root),
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn error_log(&self) -> String {
        error_log(&self.root)
    }

    /// Waits up to `secs` for `needle` to appear in error_log.
    pub fn wait_log(&self, needle: &str, secs: u64) -> bool {
        wait_until(Duration::from_secs(secs), || self.error_log().contains(needle))
    }

    pub fn get(&self, path: &str) -> Response {
        get(self.port, path)
    }

    pub fn request(&self, raw: &[u8]) -> Response {
        request(self.port, raw)
    }

    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Response {
        let mut raw = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .into_bytes();
        raw.extend_from_slice(body);
        request(self.port, &raw)
    }

    /// Runs `httpd -k <signal>` against this server's config (graceful, restart, ...).
    pub fn apachectl(&self, action: &str) {
        let out = Command::new(httpd_bin())
            .arg("-f")
            .arg(&self.conf)
            .arg("-k")
            .arg(action)
            .output()
            .expect("httpd -k");
        assert!(
            out.status.success(),
            "httpd -k {action} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Child processes of the httpd parent (from /proc).
    pub fn children(&self) -> Vec<u32> {
        children_of(self.pid() as i32).into_iter().map(|p| p as u32).collect()
    }

    /// All descendants of the httpd parent (pids), from /proc.
    pub fn descendants(&self) -> Vec<u32> {
        descendants_of(self.pid() as i32)
            .into_iter()
            .map(|p| p as u32)
            .collect()
    }

    /// Daemon worker processes of this server whose title starts with `title` (e.g. "(wsgi:site)").
    pub fn daemon_pids(&self, title: &str) -> Vec<u32> {
        self.descendants()
            .into_iter()
            .filter(|pid| cmdline(*pid as i32).starts_with(title))
            .collect()
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // The httpd parent this harness started (by PID); it stops its children.
            signal(c.id() as i32, libc::SIGTERM);
            if !wait_until(Duration::from_secs(15), || matches!(c.try_wait(), Ok(Some(_)))) {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- error_log of the server on port {} ({}) ----\n{}",
                self.port,
                self.root.display(),
                self.error_log()
            );
        }
        self.stop();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// The error log of a server root (error_log as configured here, error.log as Debian's apache2.conf names it).
fn error_log(root: &Path) -> String {
    std::fs::read_to_string(root.join("logs/error_log"))
        .or_else(|_| std::fs::read_to_string(root.join("logs/error.log")))
        .unwrap_or_default()
}
