//! Unit tests of option validation (split from settings.rs).

use super::values::{mentions_word, normalize_mount_point, parse_entry_point};
use super::*;
use crate::cli::parse;
use crate::error::Result;
use crate::options_table::SERVER_OPTIONS;

fn settings(args: &[&str]) -> Result<Settings> {
    let dir = env!("CARGO_MANIFEST_DIR");
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let p = parse("start-server", &args, SERVER_OPTIONS)?;
    Settings::from_parsed(
        &p,
        &Env {
            cwd: PathBuf::from(dir),
            virtual_env: None,
        },
    )
}

const APP: &str = "../tests/apps/express_hello.wsgi";

#[test]
fn defaults_match_mod_wsgi_express() {
    let s = settings(&[APP]).expect("valid");
    assert_eq!(s.port, 8000);
    assert_eq!((s.processes, s.threads, s.max_request_workers()), (1, 5, 5));
    assert_eq!(s.timeout, 60);
    assert_eq!(s.mount_point, "/");
    assert_eq!(s.log_level, "warn");
    assert_eq!(s.limit_request_body, 10_485_760);
    assert!(matches!(s.app, App::Script(ref p) if p.is_absolute() && p.ends_with("express_hello.wsgi")));
    assert_eq!(s.url_host(), "localhost");
}

#[test]
fn module_entry_points() {
    assert_eq!(
        parse_entry_point("pkg.web:app", "application").expect("ok"),
        App::Module {
            module: "pkg.web".into(),
            callable: "app".into()
        }
    );
    assert_eq!(
        parse_entry_point("web", "application").expect("ok"),
        App::Module {
            module: "web".into(),
            callable: "application".into()
        }
    );
    assert!(parse_entry_point("pkg/web.py", "application").is_err());
    assert!(parse_entry_point("pkg:1x", "application").is_err());
    let s = settings(&["--application-type", "module", "pkg.web:app"]).expect("valid");
    assert!(matches!(s.app, App::Module { .. }));
}

#[test]
fn bad_values_are_usage_errors_naming_the_option() {
    for (args, needle) in [
        (vec![APP, "--port", "0"], "--port"),
        (vec![APP, "--port", "http"], "--port"),
        (vec![APP, "--threads", "0"], "--threads"),
        (vec![APP, "--log-level", "loud"], "--log-level"),
        (vec![APP, "--mount-point", "app"], "--mount-point"),
        (vec![APP, "--https-port", "8443"], "--https-port"),
        (vec![APP, "--passenv", "A B"], "--passenv"),
        (vec![APP, "--error-document", "200", "/x"], "--error-document"),
        (vec!["missing.wsgi"], "not found"),
        (vec![], "no application"),
        (vec![APP, "--application-type", "static"], "--application-type"),
        (
            vec![APP, "--embedded-mode", "--graceful-timeout", "5"],
            "--embedded-mode",
        ),
        (vec![APP, "--process-group", "a/b"], "--process-group"),
        (vec![APP, "--header-buffer-size", "100"], "--header-buffer-size"),
        (vec![APP, "--connect-timeout", "0"], "--connect-timeout"),
        (vec![APP, "--memory-limit", "lots"], "--memory-limit"),
        (vec![APP, "--response-flush-delay", "5"], "not available yet"),
        (vec![APP, "--eviction-timeout", "x"], "--eviction-timeout"),
        (vec![APP, "--host", "a b"], "--host"),
    ] {
        let e = settings(&args).expect_err(needle);
        assert!(e.to_string().contains(needle), "{args:?}: {e}");
        assert!(!e.to_string().contains('\n'));
        assert_eq!(e.exit_code(), 2);
    }
}

#[test]
fn daemon_mode_defaults_like_mod_wsgi_express() {
    let s = settings(&[APP]).expect("valid");
    assert!(!s.embedded);
    assert_eq!(s.process_group, "localhost:8000");
    assert_eq!(
        (s.request_timeout, s.daemon.queue_timeout, s.daemon.socket_timeout),
        (60, 45, None)
    );
    assert!(s.warnings.is_empty());
    let s = settings(&[
        APP,
        "--host",
        "127.0.0.1",
        "--port",
        "9000",
        "--header-buffer-size",
        "0",
    ])
    .expect("valid");
    assert_eq!(
        (s.process_group.as_str(), s.daemon.header_buffer_size),
        ("127.0.0.1:9000", None)
    );
    let s = settings(&[APP, "--deadlock-timeout", "10", "--startup-timeout", "10"]).expect("valid");
    // Both are enforced by the module: no warning.
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let s = settings(&[APP, "--embedded-mode", "--maximum-requests", "5"]).expect("valid");
    assert!(s.embedded && s.maximum_requests == 5);
}

#[test]
fn capacity_and_timeouts() {
    let s = settings(&[APP, "--processes", "3", "--threads", "4", "--request-timeout", "30"]).expect("valid");
    assert_eq!((s.max_request_workers(), s.timeout), (12, 30));
    let s = settings(&[APP, "--max-clients", "50", "--socket-timeout", "9"]).expect("valid");
    assert_eq!((s.max_request_workers(), s.timeout), (50, 9));
}

#[test]
fn a_script_without_its_callable_is_refused() {
    let e = settings(&[APP, "--callable-object", "wsgi_entry"]).expect_err("hello.wsgi has no wsgi_entry");
    assert!(e.to_string().contains("does not define 'wsgi_entry'"), "{e}");
    assert!(mentions_word("x = 1\napplication = f\n", "application"));
    assert!(!mentions_word("my_application = f\napplications = 1\n", "application"));
    let e = settings(&[
        "--application-type",
        "module",
        "pkg.webapp:handler",
        "--working-directory",
        "../tests/apps",
    ])
    .expect_err("webapp has no handler");
    assert!(e.to_string().contains("webapp.py"), "{e}");
}

#[test]
fn mount_points_are_normalised() {
    assert_eq!(normalize_mount_point("/app/").expect("ok"), "/app");
    assert_eq!(normalize_mount_point("///").expect("ok"), "/");
    assert!(normalize_mount_point("/a b").is_err());
}

#[test]
fn virtual_env_is_the_default_python_home() {
    let args = vec![APP.to_string()];
    let p = parse("start-server", &args, SERVER_OPTIONS).expect("parses");
    let env = Env {
        cwd: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        virtual_env: Some("/usr".into()),
    };
    let s = Settings::from_parsed(&p, &env).expect("valid");
    assert_eq!(s.python_home, Some(PathBuf::from("/usr")));
}
