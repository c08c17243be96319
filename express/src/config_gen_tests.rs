//! Unit tests of the generated text (split from config_gen.rs to keep that file readable).

use super::httpd_conf::log_format;
use super::scripts::{py_str, sh_quote};
use super::*;
use crate::cli::parse;
use crate::options_table::SERVER_OPTIONS;
use crate::platform::Platform;
use crate::settings::Env;
use crate::users::RunAs;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn try_settings(args: &[&str]) -> crate::error::Result<Settings> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let p = parse("start-server", &args, SERVER_OPTIONS).expect("parses");
    Settings::from_parsed(
        &p,
        &Env {
            cwd: PathBuf::from(MANIFEST),
            virtual_env: None,
        },
    )
}

fn settings(args: &[&str]) -> Settings {
    try_settings(args).expect("valid")
}

fn settings_err(args: &[&str]) -> String {
    match try_settings(args) {
        Ok(_) => panic!("{args:?} should be refused"),
        Err(e) => e.to_string(),
    }
}

fn platform() -> Platform {
    // The real modules directory when present (it has mod_mpm_event.so), else a made-up one.
    let dir = ["/usr/lib/apache2/modules", "/usr/lib64/httpd/modules"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.join("mod_mpm_event.so").is_file())
        .unwrap_or_else(|| PathBuf::from("/nonexistent/modules"));
    Platform {
        httpd: PathBuf::from("/usr/sbin/apache2"),
        modules_dir: dir,
    }
}

fn conf_for(args: &[&str], run_as: Option<&RunAs>) -> (String, Layout) {
    let s = settings(args);
    let root = PathBuf::from("/srv/rx");
    let layout = Layout::new(
        &s,
        &root,
        PathBuf::from("/etc/mime.types"),
        PathBuf::from("/opt/mod_rwsgi.so"),
    );
    (httpd_conf(&s, &layout, &platform(), run_as).expect("generates"), layout)
}

#[test]
fn basic_config_has_everything_debian_needs() {
    let (c, _) = conf_for(&["../tests/apps/express_hello.wsgi"], None);
    for needle in [
        "ServerRoot \"/srv/rx\"",
        "PidFile \"/srv/rx/httpd.pid\"",
        "DefaultRuntimeDir \"/srv/rx/run\"",
        "Mutex \"file:/srv/rx/run\" default",
        "Listen 8000\n",
        "LoadModule authz_core_module",
        "LoadModule mime_module",
        "LoadModule rwsgi_module \"/opt/mod_rwsgi.so\"",
        "TypesConfig \"/etc/mime.types\"",
        "ErrorLog \"/srv/rx/error_log\"",
        "Timeout 60",
        "WSGIScriptAlias \"/\" \"",
        "tests/apps/express_hello.wsgi\" \"process-group=localhost:8000\" application-group=%{GLOBAL}\n",
        "Require all granted",
    ] {
        assert!(c.contains(needle), "missing {needle:?} in\n{c}");
    }
    assert!(!c.contains("User \""), "User by name only when root");
    let (uid, gid) = (crate::users::effective_uid(), crate::users::effective_gid());
    assert!(
        c.contains(&format!("User #{uid}\nGroup #{gid}\n")),
        "daemon mode names the invoking user: {c}"
    );
    assert!(!c.contains("${"), "no ${{APACHE_...}} references");
    assert!(!c.contains("CustomLog"), "access log off by default");
    assert!(!c.contains("SSLEngine"));
}

#[test]
fn run_user_and_listen_host() {
    let run = RunAs {
        user: "www-data".into(),
        group: "www-data".into(),
        uid: 33,
        gid: 33,
        groups: vec![33],
    };
    let (c, _) = conf_for(
        &[
            "../tests/apps/express_hello.wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            "9001",
        ],
        Some(&run),
    );
    assert!(c.contains("User \"www-data\"\nGroup \"www-data\""));
    assert!(c.contains("Listen 127.0.0.1:9001\n"));
    let (c, _) = conf_for(&["../tests/apps/express_hello.wsgi", "--host", "::1"], None);
    assert!(c.contains("Listen [::1]:8000\n"));
}

#[test]
fn embedded_capacity_maps_to_the_mpm() {
    let (c, _) = conf_for(
        &[
            "../tests/apps/express_hello.wsgi",
            "--embedded-mode",
            "--processes",
            "3",
            "--threads",
            "4",
            "--maximum-requests",
            "100",
        ],
        None,
    );
    assert!(c.contains(
        "StartServers 3\n    ServerLimit 3\n    ThreadLimit 4\n    ThreadsPerChild 4\n    MaxRequestWorkers 12"
    ));
    assert!(c.contains("MaxConnectionsPerChild 100"));
    assert!(!c.contains("WSGIDaemonProcess") && !c.contains("WSGIRestrictEmbedded") && !c.contains("process-group="));
    let (c, _) = conf_for(
        &[
            "../tests/apps/express_hello.wsgi",
            "--embedded-mode",
            "--threads",
            "4",
            "--max-clients",
            "10",
        ],
        None,
    );
    assert!(
        c.contains("ServerLimit 3\n") && c.contains("MaxRequestWorkers 12\n"),
        "rounded up to whole processes"
    );
}

#[test]
fn daemon_mode_is_the_default() {
    let run = RunAs {
        user: "www-data".into(),
        group: "www-data".into(),
        uid: 33,
        gid: 33,
        groups: vec![33],
    };
    let (c, l) = conf_for(
        &[
            "../tests/apps/express_hello.wsgi",
            "--processes",
            "3",
            "--threads",
            "4",
            "--maximum-requests",
            "100",
            "--python-path",
            "tests",
            "--python-home",
            "/usr",
            "--locale",
            "C.UTF-8",
            "--request-timeout",
            "30",
        ],
        Some(&run),
    );
    assert_eq!(l.socket_prefix, PathBuf::from("/srv/rx/run/rwsgi"));
    for needle in [
        "WSGIRestrictEmbedded On\n",
        "WSGISocketPrefix \"/srv/rx/run/rwsgi\"\n",
        "WSGIDaemonProcess \"localhost:8000\" \\\n    processes=3 threads=4 \\\n    display-name=%{GROUP} \\\n",
        &format!("\"home={MANIFEST}\""),
        &format!("\"python-path={MANIFEST}/tests\""),
        "\"python-home=/usr\"",
        "\"user=www-data\" \"group=www-data\"",
        "\"lang=C.UTF-8\" \\\n    \"locale=C.UTF-8\"",
        "request-timeout=30 queue-timeout=45 maximum-requests=100\n",
        "\" \"process-group=localhost:8000\" application-group=%{GLOBAL}\n",
        "MaxConnectionsPerChild 0",
    ] {
        assert!(c.contains(needle), "missing {needle:?} in\n{c}");
    }
    assert!(
        !c.contains("WSGIPythonPath") && !c.contains("WSGIPythonHome"),
        "Python settings go to the daemon group"
    );
    let daemon = c.find("WSGIDaemonProcess").expect("defined");
    assert!(
        c.match_indices("process-group=").all(|(i, _)| i > daemon),
        "the group is defined before it is used"
    );
    // httpd children only pass requests on: 10 + 1.5 x 12 = 28 clients in children of 14 threads.
    assert!(
        c.contains("ServerLimit 2\n    ThreadLimit 14\n    ThreadsPerChild 14\n    MaxRequestWorkers 28\n"),
        "{c}"
    );
}

#[test]
fn daemon_options_map_to_wsgi_daemon_process() {
    let (c, _) = conf_for(
        &[
            "../tests/apps/express_hello.wsgi",
            "--process-group",
            "mysite",
            "--queue-timeout",
            "0",
            "--socket-timeout",
            "20",
            "--connect-timeout",
            "3",
            "--inactivity-timeout",
            "600",
            "--graceful-timeout",
            "7",
            "--shutdown-timeout",
            "4",
            "--deadlock-timeout",
            "30",
            "--startup-timeout",
            "20",
            "--restart-interval",
            "3600",
            "--daemon-backlog",
            "50",
            "--header-buffer-size",
            "65536",
            "--memory-limit",
            "500000000",
            "--socket-prefix",
            "tests",
            "--application-group",
            "site1",
        ],
        None,
    );
    for needle in [
        "WSGIDaemonProcess \"mysite\"",
        "request-timeout=60 queue-timeout=0 socket-timeout=20 connect-timeout=3 inactivity-timeout=600 \
         graceful-timeout=7 shutdown-timeout=4 deadlock-timeout=30 startup-timeout=20 restart-interval=3600 \
         listen-backlog=50 header-buffer-size=65536 memory-limit=500000000\n",
        &format!("WSGISocketPrefix \"{MANIFEST}/tests/rwsgi\""),
        "\"process-group=mysite\" \"application-group=site1\"\n",
        "Timeout 20\n",
    ] {
        assert!(c.contains(needle), "missing {needle:?} in\n{c}");
    }
    // The line goes through the module's own parser and means what the options said.
    let g = module_parse_daemon_line(&c);
    assert_eq!(g.name, "mysite");
    assert_eq!(
        (
            g.socket_timeout,
            g.connect_timeout,
            g.inactivity_timeout,
            g.graceful_timeout,
            g.shutdown_timeout
        ),
        (Some(20), 3, Some(600), 7, 4)
    );
    assert_eq!(
        (g.deadlock_timeout, g.startup_timeout, g.restart_interval),
        (30, Some(20), Some(3600))
    );
    assert_eq!(
        (g.listen_backlog, g.header_buffer_size, g.memory_limit),
        (50, 65536, Some(500_000_000))
    );
    assert_eq!((g.request_timeout, g.queue_timeout), (Some(60), None));
    // startup-timeout is enforced by the module now: nothing is passed on without effect.
    assert!(g.ignored.is_empty(), "{:?}", g.ignored);
}

/// The WSGIDaemonProcess line of a generated config (continuation lines joined), parsed by the module's parser.
fn module_parse_daemon_line(conf: &str) -> rwsgi_options::DaemonGroup {
    let joined = conf.replace("\\\n", " ");
    let line = joined
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("WSGIDaemonProcess "))
        .unwrap_or_else(|| panic!("no WSGIDaemonProcess line in\n{conf}"));
    let words = rwsgi_options::split_args(line).expect("httpd can split the line");
    rwsgi_options::daemon::parse(&words).unwrap_or_else(|e| panic!("the module refuses {line:?}: {e}"))
}

#[test]
fn every_generated_daemon_line_parses_in_the_module() {
    let basic = ["../tests/apps/express_hello.wsgi"];
    let capacity = [
        "../tests/apps/express_hello.wsgi",
        "--processes",
        "3",
        "--threads",
        "7",
        "--maximum-requests",
        "100",
        "--cpu-time-limit",
        "60",
        "--send-buffer-size",
        "65536",
        "--receive-buffer-size",
        "0",
    ];
    let python = [
        "../tests/apps/express_hello.wsgi",
        "--python-path",
        "/tmp",
        "--locale",
        "C.UTF-8",
        "--lang",
        "C.UTF-8",
    ];
    for args in [&basic[..], &capacity[..], &python[..]] {
        let (c, _) = conf_for(args, None);
        let g = module_parse_daemon_line(&c);
        assert!(g.processes >= 1 && g.threads >= 1, "{c}");
    }
    let g = module_parse_daemon_line(&conf_for(&capacity, None).0);
    assert_eq!((g.processes, g.threads, g.maximum_requests), (3, 7, Some(100)));
    assert_eq!(
        (g.cpu_time_limit, g.send_buffer_size, g.receive_buffer_size),
        (Some(60), Some(65536), None)
    );
    let bad = settings_err(&["../tests/apps/express_hello.wsgi", "--send-buffer-size", "12"]);
    assert!(
        bad.contains("--send-buffer-size: send-buffer-size=12 is out of range"),
        "{bad}"
    );
}

#[test]
fn mount_point_callable_and_python() {
    let (c, _) = conf_for(
        &[
            "../tests/apps/express_hello.wsgi",
            "--embedded-mode",
            "--mount-point",
            "/app/",
            "--callable-object",
            "app",
            "--python-path",
            "tests",
            "--application-group",
            "site1",
            "--disable-reloading",
            "--chunked-request",
        ],
        None,
    );
    assert!(
        c.contains("\" \"application-group=site1\" callable-object=app\n"),
        "{c}"
    );
    assert!(c.contains("WSGIScriptAlias \"/app\" "));
    assert!(c.contains(&format!("WSGIPythonPath \"{MANIFEST}:{MANIFEST}/tests\"")));
    assert!(c.contains("WSGIScriptReloading Off") && c.contains("WSGIChunkedRequest On"));
}

#[test]
fn trusted_proxies_are_passed_to_the_module() {
    let (c, _) = conf_for(
        &[
            "../tests/apps/express_hello.wsgi",
            "--trust-proxy-header",
            "X-Forwarded-For",
            "--trust-proxy-header",
            "X-Forwarded-Proto",
            "--trust-proxy",
            "10.0.0.0/8",
            "--error-override",
        ],
        None,
    );
    assert!(
        c.contains("WSGITrustedProxyHeaders \"X-Forwarded-For\" \"X-Forwarded-Proto\"\n"),
        "{c}"
    );
    assert!(c.contains("WSGITrustedProxies \"10.0.0.0/8\"\n"), "{c}");
    assert!(c.contains("WSGIErrorOverride On\n"), "{c}");
    let (c, _) = conf_for(&["../tests/apps/express_hello.wsgi"], None);
    assert!(!c.contains("WSGITrusted") && !c.contains("WSGIErrorOverride"), "{c}");
}

#[test]
fn module_type_mounts_the_generated_handler() {
    let (c, layout) = conf_for(
        &[
            "--application-type",
            "module",
            "pkg.webapp:app",
            "--callable-object",
            "ignored",
        ],
        None,
    );
    let handler = layout.handler_script.expect("handler");
    assert_eq!(handler, PathBuf::from("/srv/rx/handler.wsgi"));
    assert!(
        c.contains("WSGIScriptAlias \"/\" \"/srv/rx/handler.wsgi\" \"process-group="),
        "{c}"
    );
    assert!(c.contains("<Files \"handler.wsgi\">"));
    assert!(!c.contains("callable-object="));
}

#[test]
fn handler_script_imports_the_entry_point() {
    let text = handler_script(
        "pkg.webapp",
        "app",
        &[PathBuf::from(format!("{MANIFEST}/../tests/apps"))],
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!("{text}\nprint(application.__name__, application.__module__)"))
        .output();
    let Ok(out) = out else { return }; // no python3 on this machine: nothing more to check
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "app pkg.webapp");
}

#[test]
fn static_files_ssl_and_extras() {
    let cert = format!("{MANIFEST}/Cargo.toml");
    let (c, _) = conf_for(
        &[
            "../tests/apps/express_hello.wsgi",
            "--document-root",
            "tests",
            "--directory-index",
            "index.html",
            "--https-port",
            "8443",
            "--ssl-certificate-file",
            &cert,
            "--ssl-certificate-key-file",
            &cert,
            "--ssl-environment",
            "--server-status",
            "--compress-responses",
            "--setenv",
            "K",
            "v w",
            "--passenv",
            "HOME",
            "--error-document",
            "404",
            "/nf.html",
            "--url-alias",
            "/s",
            "../tests/apps",
            "--access-log",
            "--log-level",
            "info",
            "--keep-alive-timeout",
            "0",
            "--include-file",
            "Cargo.toml",
        ],
        None,
    );
    for needle in [
        &format!("DocumentRoot \"{MANIFEST}/tests\""),
        &format!("RewriteCond {MANIFEST}/tests%{{REQUEST_URI}} -f [OR]"),
        &format!("RewriteRule ^(/.*)$ {MANIFEST}/tests$1 [L]"),
        "DirectoryIndex \"index.html\"",
        "Listen 8443 https",
        "<VirtualHost *:8443>",
        "SSLEngine on",
        "SSLOptions +StdEnvVars",
        "LoadModule ssl_module",
        "SetHandler server-status",
        "AddOutputFilterByType DEFLATE",
        "SetEnv K \"v w\"",
        "PassEnv HOME",
        "ErrorDocument 404 \"/nf.html\"",
        &format!(
            "Alias \"/s\" \"{}/tests/apps\"",
            std::path::Path::new(MANIFEST)
                .parent()
                .map_or(String::new(), |p| p.display().to_string())
        ),
        "CustomLog \"/srv/rx/access_log\" common",
        "LogLevel info",
        "KeepAlive Off",
        &format!("Include \"{MANIFEST}/Cargo.toml\""),
    ] {
        assert!(c.contains(needle), "missing {needle:?} in\n{c}");
    }
    // One mount, in the main server after the included files: the HTTPS virtual host inherits both, so a
    // mount of its own cannot shadow the included ones.
    assert_eq!(c.matches("WSGIScriptAlias").count(), 1, "{c}");
    let vhost = &c[c.find("<VirtualHost").unwrap_or(0)..];
    assert!(!vhost.contains("WSGIScriptAlias"), "{vhost}");
}

#[test]
fn log_to_terminal() {
    let (c, _) = conf_for(
        &["../tests/apps/express_hello.wsgi", "--log-to-terminal", "--access-log"],
        None,
    );
    assert!(c.contains("ErrorLog \"/dev/stderr\"") && c.contains("CustomLog \"/dev/stdout\" common"));
}

#[test]
fn quoting_refuses_what_httpd_would_reinterpret() {
    assert_eq!(q("/a b").expect("ok"), "\"/a b\"");
    for bad in ["/a\"b", "/a\\b", "/a${HOME}", "/a\nb"] {
        assert!(q(bad).is_err(), "{bad:?}");
    }
    assert_eq!(log_format("%h \"%r\"").expect("ok"), "\"%h \\\"%r\\\"\"");
    assert_eq!(py_str("it's\\\n"), "'it\\'s\\\\\\U0000000a'");
    assert_eq!(sh_quote("a'b"), "'a'\\''b'");
}

#[test]
fn apachectl_and_envvars() {
    let s = settings(&["../tests/apps/express_hello.wsgi", "--locale", "C.UTF-8"]);
    let layout = Layout::new(&s, Path::new("/srv/rx"), PathBuf::from("/m"), PathBuf::from("/x.so"));
    let ctl = apachectl(Path::new("/usr/sbin/apache2"), &layout);
    assert!(ctl.contains("exec \"$HTTPD\" -f \"$CONF\" -k \"$1\"") && ctl.contains("configtest)"));
    assert!(ctl.contains(". '/srv/rx/envvars'"));
    let vars = env_vars(&s);
    assert_eq!(
        vars,
        vec![
            ("LANG".to_string(), "C.UTF-8".to_string()),
            ("LC_ALL".to_string(), "C.UTF-8".to_string())
        ]
    );
    assert!(envvars_file(&vars, None).contains("LANG='C.UTF-8'\nexport LANG"));
    assert!(envvars_file(&vars, Some(Path::new("/etc/app env"))).ends_with("\n. '/etc/app env'\n"));
}

#[test]
fn https_extras_http2_mpm_and_startup_log() {
    let cert = format!("{MANIFEST}/Cargo.toml");
    let (c, layout) = conf_for(
        &[
            "../tests/apps/express_hello.wsgi",
            "--https-port",
            "8443",
            "--ssl-certificate-file",
            &cert,
            "--ssl-certificate-key-file",
            &cert,
            "--ssl-ca-certificate-file",
            &cert,
            "--ssl-verify-client",
            "/secure",
            "--https-only",
            "--hsts-policy",
            "max-age=60",
            "--http2",
            "--server-mpm",
            "worker",
            "--startup-log",
        ],
        None,
    );
    for needle in [
        "RewriteCond %{HTTPS} !=on\nRewriteRule ^ https://%{SERVER_NAME}:8443%{REQUEST_URI} [R=302,L]",
        "Header always set Strict-Transport-Security \"max-age=60\"",
        "<Location \"/secure\">\n        SSLVerifyClient require",
        "SSLCACertificateFile",
        "LoadModule http2_module",
        "Protocols h2 h2c http/1.1",
        "LoadModule headers_module",
    ] {
        assert!(c.contains(needle), "missing {needle:?} in\n{c}");
    }
    if platform().has_module("mod_mpm_worker.so") {
        assert!(c.contains("LoadModule mpm_worker_module"), "{c}");
    }
    assert_eq!(layout.startup_log, Some(PathBuf::from("/srv/rx/startup_log")));
    assert!(apachectl(Path::new("/usr/sbin/apache2"), &layout).contains("-E '/srv/rx/startup_log' -k"));
}

#[test]
fn https_only_options_need_an_https_port() {
    let args: Vec<String> = ["../tests/apps/express_hello.wsgi", "--https-only"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let p = parse("start-server", &args, SERVER_OPTIONS).expect("parses");
    let e = Settings::from_parsed(
        &p,
        &Env {
            cwd: PathBuf::from(MANIFEST),
            virtual_env: None,
        },
    )
    .expect_err("refused");
    assert!(e.to_string().contains("--https-only needs --https-port"), "{e}");
}

#[test]
fn server_metrics_switches_on_the_scoreboard_view() {
    let (c, _) = conf_for(&["../tests/apps/express_hello.wsgi", "--server-metrics"], None);
    assert!(c.contains("WSGIServerMetrics On"), "{c}");
    assert!(c.contains("server-metrics=On"), "{c}");
    let (c, _) = conf_for(
        &[
            "../tests/apps/express_hello.wsgi",
            "--metrics-url",
            "/m",
            "--metrics-allow",
            "10.0.0.0/8",
        ],
        None,
    );
    assert!(
        c.contains(
            "<Location \"/m\">\n    SetHandler rwsgi-metrics\n    Require local\n    Require ip 10.0.0.0/8\n</Location>"
        ),
        "{c}"
    );
}
