//! Issue 3: WSGIScriptReloading — an edited script is re-imported on the next request; reload_required();
//! a syntax error is reported (500 + traceback) and retried on the next request; Off keeps the old code.

use rwsgi_testkit as kit;

use std::time::Duration;

use kit::ServerBuilder;

fn write_script(path: &std::path::Path, body: &str, bump_secs: i64) {
    std::fs::write(path, body).expect("write script");
    // Make the mtime differ even within the same second.
    let t = std::time::SystemTime::now() + Duration::from_secs(bump_secs as u64);
    let f = std::fs::File::options().write(true).open(path).expect("open");
    f.set_modified(t).expect("set mtime");
}

fn app(version: &str) -> String {
    format!(
        "def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [b'{version}']\n"
    )
}

#[test]
fn edited_script_is_reloaded_and_syntax_errors_are_retried() {
    let b = ServerBuilder::new("reload").mpm("event", 1, 4);
    let script = b.apps().join("live.wsgi");
    write_script(&script, &app("v1"), 0);
    let s = b.conf("WSGIScriptAlias /live {apps}/live.wsgi").start();
    assert_eq!(s.get("/live").text(), "v1");
    write_script(&script, &app("v2"), 2);
    assert_eq!(s.get("/live").text(), "v2", "re-imported after the edit");
    write_script(&script, "def application(:\n", 4);
    let r = s.get("/live");
    assert_eq!(r.status, 500);
    assert!(
        s.wait_log("SyntaxError", 5),
        "the syntax error is in the log:\n{}",
        s.error_log()
    );
    assert!(s.error_log().contains("live.wsgi\", line 1"), "with its location");
    assert_eq!(s.get("/live").status, 500, "still broken: tried again, still failing");
    write_script(&script, &app("v3"), 6);
    assert_eq!(
        s.get("/live").text(),
        "v3",
        "fixed script is loaded on the next request"
    );
}

#[test]
fn reload_required_hook_and_reloading_off() {
    let b = ServerBuilder::new("reload2").mpm("event", 1, 4);
    let hook = b.apps().join("hook.wsgi");
    std::fs::write(
        &hook,
        "import os, time\nLOADED = time.time()\nFLAG = os.path.join(os.path.dirname(__file__), 'reload-now')\n\
def reload_required(resource):\n    if os.path.exists(FLAG):\n        os.unlink(FLAG)\n        return True\n    return False\n\
def application(environ, start_response):\n    start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [repr(LOADED).encode()]\n",
    )
    .expect("write");
    let fixed = b.apps().join("fixed.wsgi");
    write_script(&fixed, &app("old"), 0);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(b.apps(), std::fs::Permissions::from_mode(0o777)).expect("chmod apps");
    let s = b
        .conf("WSGIScriptAlias /hook {apps}/hook.wsgi\nWSGIScriptAlias /fixed {apps}/fixed.wsgi\n<Location /fixed>\nWSGIScriptReloading Off\n</Location>")
        .start();
    let t1 = s.get("/hook").text();
    assert_eq!(
        s.get("/hook").text(),
        t1,
        "no reload while reload_required() says False"
    );
    std::fs::write(s.root.join("apps/reload-now"), b"1").expect("flag");
    let t2 = s.get("/hook").text();
    assert_ne!(t1, t2, "reload_required() returning True re-imports the script");

    assert_eq!(s.get("/fixed").text(), "old");
    write_script(&fixed, &app("new"), 3);
    assert_eq!(
        s.get("/fixed").text(),
        "old",
        "WSGIScriptReloading Off keeps the loaded code"
    );
}
