//! start-server serves applications: script and module types, mount point, document root, HTTPS, environ.

use rwsgi_testkit as kit;
use rwsgi_testkit::require_module;

use kit::{ExpressServer, TempDir, run_express};

#[test]
fn serves_a_script_and_prints_the_banner() {
    require_module!();
    let dir = TempDir::new("serve");
    let apps = dir.apps();
    let script = apps.join("express_hello.wsgi");
    let server = ExpressServer::start(
        &dir,
        &[
            script.to_str().expect("utf-8"),
            "--setenv",
            "RWSGI_EXPRESS_TEST",
            "from setenv",
            "--access-log",
        ],
        "/",
    );
    let (status, body) = server.get("/some/path?x=1");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert!(body.contains("hello from rwsgi-express"), "{body}");
    assert!(
        body.contains("SCRIPT_NAME=\n"),
        "mounted at / gives SCRIPT_NAME ''\n{body}"
    );
    assert!(body.contains("PATH_INFO=/some/path\n"), "{body}");
    assert!(body.contains("SETENV=from setenv\n"), "{body}");
    let group = format!("127.0.0.1:{}", server.port);
    assert_eq!(
        kit::field(&body, "PROCESS_GROUP"),
        Some(group.as_str()),
        "daemon mode is the default: {body}"
    );
    let banner = server.stdout();
    for needle in [
        format!("Server URL         : http://127.0.0.1:{}/", server.port).as_ref(),
        "Server Root        : ",
        "Server Conf        : ",
        "Error Log File     : ",
        "Operating Mode     : daemon",
        "Request Capacity   : 5 (1 process * 5 threads)",
        "Request Timeout    : 60 (seconds)",
        "Control Script     : ",
    ] {
        assert!(banner.contains(needle), "banner lacks {needle:?}:\n{banner}");
    }
    assert!(server.server_root.join("access_log").is_file());
}

#[test]
fn mount_point_gives_script_name() {
    require_module!();
    let dir = TempDir::new("mount");
    let script = dir.apps().join("express_hello.wsgi");
    let server = ExpressServer::start(
        &dir,
        &[script.to_str().expect("utf-8"), "--mount-point", "/app/"],
        "/app",
    );
    let (status, body) = server.get("/app/x/y");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("SCRIPT_NAME=/app\n") && body.contains("PATH_INFO=/x/y\n"),
        "{body}"
    );
    let (status, body) = server.get("/elsewhere");
    assert!(
        matches!(status, 403 | 404) && !body.contains("hello"),
        "only the mount point goes to the app: {status}"
    );
}

#[test]
fn module_application_type_imports_from_the_working_directory() {
    require_module!();
    let dir = TempDir::new("module");
    let apps = dir.apps();
    let server = ExpressServer::start(
        &dir,
        &[
            "--application-type",
            "module",
            "pkg.webapp:app",
            "--working-directory",
            apps.to_str().expect("utf-8"),
        ],
        "/",
    );
    let (status, body) = server.get("/");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert_eq!(body, "module app at \n");
}

#[test]
fn document_root_files_win_and_the_rest_goes_to_the_app() {
    require_module!();
    let dir = TempDir::new("docroot");
    let script = dir.apps().join("express_hello.wsgi");
    dir.write("docs/static.txt", "static file\n");
    dir.write("docs/sub/page.html", "<p>page</p>\n");
    let docs = dir.path("docs");
    let server = ExpressServer::start(
        &dir,
        &[
            script.to_str().expect("utf-8"),
            "--document-root",
            docs.to_str().expect("utf-8"),
            "--server-status",
            "--url-alias",
            "/aliased",
            dir.path("docs/sub").to_str().expect("utf-8"),
            "--compress-responses",
        ],
        "/",
    );
    assert_eq!(
        server.get("/aliased/page.html"),
        (200, "<p>page</p>\n".to_string()),
        "--url-alias wins over the app"
    );
    let gz = kit::http_raw(server.port, "/compressible", "Accept-Encoding: gzip\r\n").expect("answer");
    assert!(
        gz.to_ascii_lowercase().contains("content-encoding: gzip"),
        "--compress-responses: {gz}"
    );
    assert_eq!(server.get("/static.txt"), (200, "static file\n".to_string()));
    assert_eq!(server.get("/sub/page.html"), (200, "<p>page</p>\n".to_string()));
    let (status, body) = server.get("/not-a-file");
    assert_eq!(status, 200);
    assert!(body.contains("PATH_INFO=/not-a-file\n"), "{body}");
    let (status, body) = server.get("/server-status?auto");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("ServerMPM"),
        "server-status is served by mod_status, not the app:\n{body}"
    );
}

#[test]
fn https_port_with_a_self_signed_certificate() {
    require_module!();
    let dir = TempDir::new("https");
    let script = dir.apps().join("express_hello.wsgi");
    let (cert, key) = kit::self_signed_cert(&dir.0);
    let https_port = kit::free_port().to_string();
    let server = ExpressServer::start(
        &dir,
        &[
            script.to_str().expect("utf-8"),
            "--https-port",
            &https_port,
            "--ssl-certificate-file",
            cert.to_str().expect("utf-8"),
            "--ssl-certificate-key-file",
            key.to_str().expect("utf-8"),
        ],
        "/",
    );
    let out = std::process::Command::new("curl")
        .args([
            "-sk",
            "--max-time",
            "10",
            &format!("https://127.0.0.1:{https_port}/tls"),
        ])
        .output()
        .expect("curl CLI");
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(
        body.contains("SCHEME=https") && body.contains("PATH_INFO=/tls"),
        "{body}\n{}",
        server.logs()
    );
    assert!(server.stdout().contains(&format!("https://127.0.0.1:{https_port}/")));
}

#[test]
fn envvars_script_and_passenv_reach_the_environ() {
    require_module!();
    let dir = TempDir::new("envvars");
    let script = dir.apps().join("express_hello.wsgi");
    let env_script = dir.write(
        "env.sh",
        "RWSGI_EXPRESS_TEST='from envvars script'\nexport RWSGI_EXPRESS_TEST\n",
    );
    let server = ExpressServer::start(
        &dir,
        &[
            script.to_str().expect("utf-8"),
            "--envvars-script",
            env_script.to_str().expect("utf-8"),
            "--passenv",
            "RWSGI_EXPRESS_TEST",
        ],
        "/",
    );
    let (status, body) = server.get("/");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert!(body.contains("SETENV=from envvars script\n"), "{body}");
    assert_eq!(
        server.httpd_pid(),
        Some(server.child.id() as i32),
        "the shell execs httpd: one PID throughout"
    );
}

#[test]
fn metrics_url_serves_the_servers_metrics_to_localhost() {
    require_module!();
    let dir = TempDir::new("metrics-url");
    let script = dir.apps().join("express_hello.wsgi");
    let server = ExpressServer::start(
        &dir,
        &[script.to_str().expect("utf-8"), "--metrics-url", "/metrics"],
        "/",
    );
    for _ in 0..3 {
        assert_eq!(server.get("/x").0, 200);
    }
    let (status, body) = server.get("/metrics");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("# TYPE rwsgi_requests_total counter"), "{body}");
    let line = body
        .lines()
        .find(|l| l.starts_with("rwsgi_requests_total{mode=\"daemon\"") && l.contains("class=\"2xx\""))
        .unwrap_or_default();
    let n: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    assert!(
        n >= 3.0,
        "the app's requests are counted (express runs a daemon group): {line}"
    );
    assert!(server.stdout().contains("/metrics"), "the banner names the URL");
}

#[test]
fn metrics_url_must_be_a_path() {
    let dir = TempDir::new("metrics-bad");
    let script = dir.apps().join("express_hello.wsgi");
    let (code, _, err) = run_express(
        &[
            "start-server",
            script.to_str().expect("utf-8"),
            "--metrics-url",
            "metrics",
        ],
        &dir.0,
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--metrics-url \"metrics\": must be a URL path starting with /"),
        "{err}"
    );
}
