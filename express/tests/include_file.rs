//! `--include-file` with extra mounts: the included mounts are served, not shadowed by the application's own
//! catch-all `/` mount (mounts match first-declared-first, so express writes includes before its own).

use rwsgi_testkit as kit;
use rwsgi_testkit::require_module;

use kit::{ExpressServer, TempDir};

const SCRIPT: &str = "def application(environ, start_response):\n    body = ('%s SCRIPT_NAME=%s PATH_INFO=%s GROUP=%s' % (NAME, environ['SCRIPT_NAME'], environ['PATH_INFO'], environ['mod_wsgi.process_group'])).encode()\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [body]\n";

fn script(dir: &TempDir, name: &str) -> String {
    let p = dir.write(&format!("mounts/{name}.wsgi"), &format!("NAME = {name:?}\n{SCRIPT}"));
    p.to_str().expect("utf-8").to_string()
}

#[test]
fn included_mounts_are_served_in_embedded_mode() {
    require_module!();
    let dir = TempDir::new("include");
    let apps = dir.apps();
    let main = apps.join("express_hello.wsgi");
    let (one, two, three) = (script(&dir, "one"), script(&dir, "two"), script(&dir, "three"));
    let include = dir.write(
        "extra.conf",
        &format!(
            "WSGIScriptAlias /one {one}\nWSGIScriptAlias /two/ {two}\n\
             WSGIDaemonProcess extra processes=1 threads=2\n\
             WSGIScriptAlias /three {three} process-group=extra application-group=%{{GLOBAL}}\n\
             <Directory {}>\n    Require all granted\n</Directory>\n",
            dir.path("mounts").display()
        ),
    );
    let args = [
        main.to_str().expect("utf-8"),
        "--embedded-mode",
        "--include-file",
        include.to_str().expect("utf-8"),
    ];
    let server = ExpressServer::start(&dir, &args, "/");
    let (status, body) = server.get("/one/x");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert!(body.starts_with("one SCRIPT_NAME=/one PATH_INFO=/x GROUP="), "{body}");
    let (status, body) = server.get("/two/y");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert!(body.starts_with("two SCRIPT_NAME=/two PATH_INFO=/y"), "{body}");
    let (status, body) = server.get("/three/z");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert_eq!(
        body,
        "three SCRIPT_NAME=/three PATH_INFO=/z GROUP=extra",
        "{}",
        server.logs()
    );
    let (status, body) = server.get("/elsewhere");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert!(
        body.contains("hello from rwsgi-express"),
        "the app keeps everything else: {body}"
    );
}

#[test]
fn included_daemon_mounts_are_served_in_daemon_mode() {
    require_module!();
    let dir = TempDir::new("include-daemon");
    let apps = dir.apps();
    let main = apps.join("express_hello.wsgi");
    let extra = script(&dir, "extra");
    let include = dir.write(
        "extra.conf",
        &format!(
            "WSGIDaemonProcess side processes=1 threads=2\n\
             WSGIScriptAlias /side {extra} process-group=side application-group=%{{GLOBAL}}\n\
             <Directory {}>\n    Require all granted\n</Directory>\n",
            dir.path("mounts").display()
        ),
    );
    let server = ExpressServer::start(
        &dir,
        &[
            main.to_str().expect("utf-8"),
            "--include-file",
            include.to_str().expect("utf-8"),
        ],
        "/",
    );
    let (status, body) = server.get("/side/a");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert_eq!(body, "extra SCRIPT_NAME=/side PATH_INFO=/a GROUP=side");
    let (status, body) = server.get("/a");
    assert_eq!(status, 200, "{body}\n{}", server.logs());
    assert!(body.contains("hello from rwsgi-express"), "{body}");
}
