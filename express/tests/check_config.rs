//! check-config: httpd's configuration test plus mod_rwsgi's start-up checks, for a server root made by
//! setup-server and for a hand-written httpd.conf.

use rwsgi_testkit as kit;
use rwsgi_testkit::require_module;

use std::os::unix::fs::PermissionsExt;

use kit::{TempDir, free_port, run_express};

#[test]
fn check_config_reports_a_clean_root_and_an_unreadable_script() {
    let module = require_module!();
    let dir = TempDir::new("check");
    let script = dir.apps().join("express_hello.wsgi");
    let sr = dir.path("sr");
    let port = free_port().to_string();
    let (code, _, err) = run_express(
        &[
            "setup-server",
            script.to_str().expect("utf-8"),
            "--port",
            &port,
            "--server-root",
            sr.to_str().expect("utf-8"),
            "--module-path",
            module.to_str().expect("utf-8"),
        ],
        &dir.0,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run_express(&["check-config", sr.to_str().expect("utf-8")], &dir.0);
    assert_eq!(code, 0, "a fresh server root passes: {out}{err}");
    assert!(out.contains("0 mod_rwsgi error(s)"), "{out}");

    // A hand-written config whose script the run user cannot read fails with the reason.
    if kit::is_root() {
        let secret = dir.write("apps/secret.wsgi", "application = None\n");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let conf = std::fs::read_to_string(sr.join("httpd.conf")).expect("conf");
        let conf = conf.replace(script.to_str().expect("utf-8"), secret.to_str().expect("utf-8"));
        let bad = dir.write("bad.conf", &conf);
        let (code, out, _) = run_express(&["check-config", bad.to_str().expect("utf-8")], &dir.0);
        assert_eq!(code, 1, "{out}");
        assert!(
            out.contains("mod_rwsgi error:") && out.contains("secret.wsgi") && out.contains("cannot read"),
            "{out}"
        );
    }
    let (code, _, err) = run_express(&["check-config", "/nonexistent/httpd.conf"], &dir.0);
    assert_ne!(code, 0);
    assert!(err.contains("no such configuration file"), "{err}");
}
