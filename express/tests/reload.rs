//! --reload-on-changes: editing a Python module the app imports makes the next requests see the new code.

use rwsgi_testkit as kit;
use rwsgi_testkit::require_module;

use std::time::{Duration, SystemTime};

use kit::{ExpressServer, TempDir, wait_until};

#[test]
fn an_edited_module_is_picked_up() {
    require_module!();
    let dir = TempDir::new("reload");
    dir.write("app/reloadhelper.py", "VALUE = 'one'\n");
    let script = dir.write(
        "app/reloadapp.wsgi",
        "import reloadhelper\n\ndef application(environ, start_response):\n    body = reloadhelper.VALUE.encode()\n    \
         start_response('200 OK', [('Content-Type', 'text/plain')])\n    return [body]\n",
    );
    let app_dir = dir.path("app");
    let server = ExpressServer::start(
        &dir,
        &[
            script.to_str().expect("utf-8"),
            "--reload-on-changes",
            "--working-directory",
            app_dir.to_str().expect("utf-8"),
        ],
        "/",
    );
    assert_eq!(server.get("/"), (200, "one".to_string()), "{}", server.logs());
    let helper = dir.write("app/reloadhelper.py", "VALUE = 'two'\n");
    // Make the change visible even on file systems with coarse mtimes.
    let f = std::fs::File::options().write(true).open(&helper).expect("open");
    f.set_modified(SystemTime::now() + Duration::from_secs(2))
        .expect("touch");
    let reloaded = wait_until(Duration::from_secs(30), || {
        kit::http_get(server.port, "/").is_some_and(|(_, b)| b == "two")
    });
    assert!(reloaded, "the edit was not picked up\n{}", server.logs());
    assert!(
        server.stdout().contains("reloadhelper.py changed"),
        "{}",
        server.stdout()
    );
}
