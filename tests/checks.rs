//! Issue 7: start-up checks, each provoked for real. `httpd -t` prints them (errors fail it); a normal start
//! logs them; none ends in a crash loop.

use rwsgi_testkit as kit;

use std::os::unix::fs::PermissionsExt;

use kit::ServerBuilder;

fn fake_venv(dir: &std::path::Path, version: &str) {
    std::fs::create_dir_all(dir.join("bin")).expect("venv");
    std::fs::write(
        dir.join("pyvenv.cfg"),
        format!("home = /usr/bin\nversion = {version}\n"),
    )
    .expect("cfg");
}

#[test]
fn python_version_mismatch() {
    let b = ServerBuilder::new("chk-ver");
    let venv = b.root.join("venv39");
    fake_venv(&venv, "3.9.2");
    let b = b
        .global(&format!("WSGIPythonHome {}", venv.display()))
        .conf("WSGIScriptAlias / {apps}/hello.wsgi");
    let (ok, out) = b.config_test();
    assert!(!ok, "{out}");
    assert!(
        out.contains("is a Python 3.9.2 virtualenv but mod_rwsgi was built for Python 3.11"),
        "{out}"
    );
    assert!(out.contains("recreate the virtualenv"), "remedy named: {out}");
    // A real start still serves (500 with the reason), children do not crash-loop.
    let s = b.start();
    assert_eq!(s.get("/").status, 500);
    assert!(s.wait_log("Python 3.9.2 virtualenv", 5));
    assert!(!s.error_log().contains("exit signal"));
}

#[test]
fn unreadable_python_home_and_script_name_user_and_path() {
    let b = ServerBuilder::new("chk-read");
    let private = b.root.join("private");
    std::fs::create_dir_all(private.join("venv")).expect("dir");
    fake_venv(&private.join("venv"), "3.11.2");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let secret_script = b.apps().join("secret.wsgi");
    std::fs::write(&secret_script, "application = None\n").expect("script");
    std::fs::set_permissions(&secret_script, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let b = b
        .global(&format!("WSGIPythonHome {}/venv", private.display()))
        .conf("WSGIScriptAlias /secret {apps}/secret.wsgi");
    let (ok, out) = b.config_test();
    assert!(!ok, "{out}");
    let user = kit::run_user();
    assert!(
        out.contains(&format!("user {user}")) && out.contains(&private.display().to_string()),
        "python home: {out}"
    );
    assert!(
        out.contains("WSGIScriptAlias target")
            && out.contains("secret.wsgi")
            && out.contains(&format!("run as {user}")),
        "script: {out}"
    );
    assert!(
        out.contains("chmod o+rx") || out.contains("make the script"),
        "remedy: {out}"
    );
}

#[test]
fn python_home_inside_lib_or_missing() {
    let (ok, out) = ServerBuilder::new("chk-lib")
        .global("WSGIPythonHome /usr/lib/python3.11")
        .conf("WSGIScriptAlias / {apps}/hello.wsgi")
        .config_test();
    assert!(!ok && out.contains("points inside a lib/pythonX.Y directory"), "{out}");
    let (ok, out) = ServerBuilder::new("chk-missing")
        .global("WSGIPythonHome /nonexistent/venv")
        .conf("WSGIScriptAlias / {apps}/hello.wsgi")
        .config_test();
    assert!(
        !ok && out.contains("/nonexistent does not exist") && out.contains("correct the path"),
        "{out}"
    );
    let b = ServerBuilder::new("chk-prefix");
    let prefix = b.root.join("py39");
    std::fs::create_dir_all(prefix.join("lib/python3.9")).expect("prefix");
    let (ok, out) = b
        .global(&format!("WSGIPythonHome {}", prefix.display()))
        .conf("WSGIScriptAlias / {apps}/hello.wsgi")
        .config_test();
    assert!(
        !ok && out.contains("is not a Python 3.11 installation (it has Python 3.9)"),
        "{out}"
    );
}

#[test]
fn socket_directory_not_reachable_by_httpd_children() {
    let b = ServerBuilder::new("chk-sock");
    let closed = b.root.join("closed");
    std::fs::create_dir_all(&closed).expect("dir");
    std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let (ok, out) = b
        .global(&format!("WSGISocketPrefix {}/sub/wsgi", closed.display()))
        .conf("WSGIDaemonProcess site\nWSGIScriptAlias / {apps}/hello.wsgi process-group=site")
        .config_test();
    assert!(!ok, "{out}");
    assert!(
        out.contains("WSGISocketPrefix")
            && out.contains("cannot reach the socket directory")
            && out.contains(kit::run_user()),
        "{out}"
    );
}

#[test]
fn missing_locale_falls_back_to_c_utf8() {
    let b = ServerBuilder::new("chk-locale")
        .conf("WSGIDaemonProcess site locale=xx_NOPE.UTF-8\nWSGIScriptAlias /d {apps}/daemon.wsgi process-group=site");
    let (ok, out) = b.config_test();
    assert!(ok, "a missing locale is a warning: {out}");
    assert!(
        out.contains("locale \"xx_NOPE.UTF-8\" is not installed") && out.contains("C.UTF-8"),
        "{out}"
    );
    let s = b.start();
    let e = s.get("/d/whoami").pairs();
    assert_eq!(e["lang"], "C.UTF-8");
    assert!(s.wait_log("using C.UTF-8 instead", 5));
}

#[test]
fn selinux_denials_name_the_remedy() {
    let b = ServerBuilder::new("chk-selinux");
    let enforce = b.root.join("enforce");
    std::fs::write(&enforce, "1\n").expect("fake enforce");
    let private = b.root.join("private");
    std::fs::create_dir_all(&private).expect("dir");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let (ok, out) = b
        .global(&format!("WSGIPythonHome {}", private.display()))
        .conf("WSGIScriptAlias / {apps}/hello.wsgi")
        .config_test_env(&[("RWSGI_SELINUX_ENFORCE_FILE", &enforce.to_string_lossy())]);
    assert!(!ok);
    assert!(
        out.contains("SELinux is enforcing")
            && out.contains("httpd_sys_content_t")
            && out.contains("httpd_can_network_connect"),
        "{out}"
    );
}

#[test]
fn broken_script_and_missing_callable_reported_at_preload() {
    let s = ServerBuilder::new("chk-preload")
        .conf(
            "WSGIDaemonProcess site\nWSGIScriptAlias /broken {apps}/broken.wsgi process-group=site application-group=%{GLOBAL}\n\
             WSGIScriptAlias /nocall {apps}/nocallable.wsgi process-group=site application-group=%{GLOBAL}\n\
             WSGIScriptAlias /emb {apps}/broken.wsgi application-group=%{GLOBAL}",
        )
        .start();
    assert!(
        s.wait_log("SyntaxError", 10),
        "the syntax error is logged before any request:\n{}",
        s.error_log()
    );
    assert!(s.wait_log("preloading", 5));
    assert!(
        s.wait_log("does not contain WSGI application \"application\"", 5),
        "{}",
        s.error_log()
    );
    assert!(
        s.error_log().contains("broken.wsgi\", line 1"),
        "with the traceback location"
    );
    assert_eq!(s.get("/broken").status, 500);
    assert_eq!(s.get("/nocall").status, 404);
}

#[test]
fn application_groups_sharing_a_process_get_a_notice() {
    let (ok, out) = ServerBuilder::new("chk-groups")
        .conf("WSGIScriptAlias /a {apps}/hello.wsgi application-group=site-a\nWSGIScriptAlias /b {apps}/hello.wsgi application-group=site-b")
        .config_test();
    assert!(ok, "{out}");
    assert!(
        out.contains("application groups site-a, site-b share one Python interpreter"),
        "{out}"
    );
}
