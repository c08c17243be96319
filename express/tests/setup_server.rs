//! setup-server + SERVER_ROOT/apachectl, and module-config lines pasted into a hand-written httpd.conf.

use rwsgi_testkit as kit;
use rwsgi_testkit::require_module;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use kit::{PidGuard, TempDir, alive, free_port, http_get, run_express, wait_until};

#[test]
fn setup_server_then_apachectl_start_and_stop() {
    let module = require_module!();
    let dir = TempDir::new("setup");
    let script = dir.apps().join("express_hello.wsgi");
    let port = free_port();
    let sr = dir.path("sr");
    let (code, out, err) = run_express(
        &[
            "setup-server",
            script.to_str().expect("utf-8"),
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--server-root",
            sr.to_str().expect("utf-8"),
            "--module-path",
            module.to_str().expect("utf-8"),
        ],
        &dir.0,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("apachectl"), "{out}");
    assert!(http_get(port, "/").is_none(), "setup-server must not start httpd");
    let apachectl = sr.join("apachectl");
    let ctl = |arg: &str| {
        let out = Command::new(&apachectl).arg(arg).output().expect("run apachectl");
        assert!(
            out.status.success(),
            "apachectl {arg}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ctl("configtest");
    let _guard = PidGuard(sr.join("httpd.pid"));
    ctl("start");
    assert!(
        wait_until(Duration::from_secs(20), || http_get(port, "/").is_some()),
        "not serving"
    );
    let (status, body) = http_get(port, "/").expect("answer");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("hello from rwsgi-express"));
    let daemon_pid = |body: &str| {
        kit::field(body, "PID")
            .and_then(|p| p.parse::<i32>().ok())
            .expect("PID")
    };
    let before = daemon_pid(&body);
    assert!(
        kit::cmdline(before).starts_with("(wsgi:"),
        "daemon mode: {}",
        kit::cmdline(before)
    );
    let pid: i32 = std::fs::read_to_string(sr.join("httpd.pid"))
        .expect("pid")
        .trim()
        .parse()
        .expect("number");
    ctl("graceful");
    // A graceful restart also replaces the daemon processes (new code is loaded), without failing requests.
    let restarted = wait_until(Duration::from_secs(30), || {
        http_get(port, "/").is_some_and(|(s, b)| s == 200 && daemon_pid(&b) != before)
    });
    assert!(restarted, "the daemon process was not replaced by apachectl graceful");
    let mut all = vec![pid];
    all.extend(kit::descendants_of(pid));
    ctl("stop");
    assert!(
        wait_until(Duration::from_secs(20), || !alive(pid)),
        "httpd still running after apachectl stop"
    );
    assert!(
        wait_until(Duration::from_secs(10), || all.iter().all(|p| !alive(*p))),
        "processes left after stop"
    );
}

#[test]
fn module_config_lines_work_in_a_hand_written_config() {
    let module = require_module!();
    let dir = TempDir::new("modconf");
    let script = dir.apps().join("express_hello.wsgi");
    let (code, lines, err) = run_express(
        &["module-config", "--module-path", module.to_str().expect("utf-8")],
        &dir.0,
    );
    assert_eq!(code, 0, "{err}");
    assert!(lines.starts_with("LoadModule rwsgi_module "), "{lines}");
    let (code, location, _) = run_express(
        &["module-location", "--module-path", module.to_str().expect("utf-8")],
        &dir.0,
    );
    assert_eq!((code, location.trim()), (0, module.to_str().expect("utf-8")));

    let port = free_port();
    let root = dir.path("hand");
    std::fs::create_dir_all(&root).expect("mkdir");
    let m = kit::modules_dir();
    let conf = format!(
        "ServerRoot {root}\nPidFile {root}/httpd.pid\nDefaultRuntimeDir {root}\nErrorLog {root}/error_log\n\
         Listen 127.0.0.1:{port}\nServerName localhost\n{user}\
         <IfModule !mpm_event_module>\nLoadModule mpm_event_module {m}/mod_mpm_event.so\n</IfModule>\n\
         <IfModule !authz_core_module>\nLoadModule authz_core_module {m}/mod_authz_core.so\n</IfModule>\n\
         {lines}\nWSGIScriptAlias /hand {script}\n<Directory {apps}>\n    Require all granted\n</Directory>\n",
        root = root.display(),
        user = kit::run_user_directives(),
        script = script.display(),
        apps = script.parent().expect("dir").display(),
    );
    let conf_path = dir.write("hand/httpd.conf", &conf);
    let _guard = PidGuard(root.join("httpd.pid"));
    let out = Command::new(kit::httpd_bin())
        .arg("-f")
        .arg(&conf_path)
        .args(["-k", "start"])
        .output()
        .expect("httpd");
    assert!(out.status.success(), "{}\n{conf}", String::from_utf8_lossy(&out.stderr));
    let up = wait_until(Duration::from_secs(20), || http_get(port, "/hand/x").is_some());
    let log = || std::fs::read_to_string(root.join("error_log")).unwrap_or_default();
    assert!(up, "hand-written server not answering\n{}", log());
    let (status, body) = http_get(port, "/hand/x").expect("answer");
    assert_eq!(status, 200, "{body}\n{}", log());
    assert!(
        body.contains("SCRIPT_NAME=/hand\n") && body.contains("PATH_INFO=/x\n"),
        "{body}"
    );
}

#[test]
fn install_module_copies_into_the_modules_directory() {
    let module = require_module!();
    let dir = TempDir::new("install");
    let target = dir.path("modules");
    std::fs::create_dir_all(&target).expect("mkdir");
    let (code, out, err) = run_express(
        &[
            "install-module",
            "--module-path",
            module.to_str().expect("utf-8"),
            "--modules-directory",
            target.to_str().expect("utf-8"),
        ],
        &dir.0,
    );
    assert_eq!(code, 0, "{err}");
    let installed = target.join("mod_rwsgi.so");
    assert_eq!(
        std::fs::read(&installed).expect("installed"),
        std::fs::read(&module).expect("module")
    );
    assert_eq!(
        out.lines().next(),
        Some(format!("LoadModule rwsgi_module \"{}\"", installed.display()).as_str())
    );
}

/// Every option rwsgi-express supports at once: httpd (with the real module loaded) must accept the result.
#[test]
fn every_supported_option_passes_httpd_configtest() {
    let module = require_module!();
    every_option_configtest(&module, &["--embedded-mode"]);
    every_option_configtest(
        &module,
        &[
            "--process-group",
            "allopts",
            "--queue-timeout",
            "30",
            "--connect-timeout",
            "5",
            "--inactivity-timeout",
            "600",
            "--graceful-timeout",
            "10",
            "--shutdown-timeout",
            "3",
            "--deadlock-timeout",
            "60",
            "--startup-timeout",
            "15",
            "--restart-interval",
            "3600",
            "--daemon-backlog",
            "50",
            "--header-buffer-size",
            "65536",
            "--memory-limit",
            "1000000000",
            "--process-name",
            "httpd-allopts",
        ],
    );
}

fn every_option_configtest(module: &Path, mode: &[&str]) {
    let dir = TempDir::new("alloptions");
    let apps = dir.apps();
    let script = apps.join("express_hello.wsgi");
    dir.write("docs/index.html", "<p>hi</p>\n");
    dir.write("extra.conf", "# included\n");
    let (cert, key) = kit::self_signed_cert(&dir.0);
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    let port = free_port().to_string();
    let https = free_port().to_string();
    let args: Vec<String> = [
        "setup-server",
        &s(&script),
        "--host",
        "127.0.0.1",
        "--port",
        &port,
        "--server-root",
        &s(&dir.path("sr")),
        "--module-path",
        &s(module),
        "--callable-object",
        "application",
        "--mount-point",
        "/app",
        "--url-alias",
        "/docs",
        &s(&dir.path("docs")),
        "--document-root",
        &s(&dir.path("docs")),
        "--directory-index",
        "index.html",
        "--directory-listing",
        "--allow-override",
        "None",
        "--error-document",
        "404",
        "/docs/index.html",
        "--include-file",
        &s(&dir.path("extra.conf")),
        "--application-group",
        "%{GLOBAL}",
        "--https-port",
        &https,
        "--ssl-certificate-file",
        &s(&cert),
        "--ssl-certificate-key-file",
        &s(&key),
        "--ssl-certificate-chain-file",
        &s(&cert),
        "--ssl-ca-certificate-file",
        &s(&cert),
        "--ssl-verify-client",
        "/secure",
        "--ssl-environment",
        "--https-only",
        "--hsts-policy",
        "max-age=60",
        "--http2",
        "--server-name",
        "localhost",
        "--server-alias",
        "www.localhost",
        "--allow-localhost",
        "--processes",
        "2",
        "--threads",
        "3",
        "--max-clients",
        "8",
        "--maximum-requests",
        "1000",
        "--limit-request-body",
        "1000000",
        "--keep-alive-timeout",
        "3",
        "--server-backlog",
        "100",
        "--chunked-request",
        "--compress-responses",
        "--server-mpm",
        "event",
        "--request-timeout",
        "30",
        "--socket-timeout",
        "40",
        "--header-timeout",
        "10",
        "--header-max-timeout",
        "20",
        "--header-min-rate",
        "100",
        "--body-timeout",
        "10",
        "--body-max-timeout",
        "30",
        "--body-min-rate",
        "100",
        "--python-path",
        &s(&apps),
        "--working-directory",
        &s(&apps),
        "--disable-reloading",
        "--setenv",
        "K",
        "v",
        "--passenv",
        "PATH",
        "--locale",
        "C.UTF-8",
        "--lang",
        "C.UTF-8",
        "--log-level",
        "info",
        "--access-log",
        "--access-log-format",
        "combined",
        "--error-log-format",
        "[%t] %M",
        "--log-directory",
        &s(&dir.0),
        "--error-log-name",
        "err.log",
        "--access-log-name",
        "acc.log",
        "--startup-log",
        "--startup-log-name",
        "start.log",
        "--server-status",
        "--pid-file",
        &s(&dir.path("sr/custom.pid")),
        "--mime-types",
        "/etc/mime.types",
    ]
    .iter()
    .chain(mode)
    .map(|a| a.to_string())
    .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = run_express(&args, &dir.0);
    assert_eq!(code, 0, "{err}");
    let out = Command::new(dir.path("sr/apachectl"))
        .arg("configtest")
        .output()
        .expect("apachectl");
    let conf = std::fs::read_to_string(dir.path("sr/httpd.conf")).unwrap_or_default();
    assert!(out.status.success(), "{}\n{conf}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        conf.contains("WSGIDaemonProcess"),
        !mode.contains(&"--embedded-mode"),
        "{conf}"
    );
}
