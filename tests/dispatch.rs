//! WSGIDispatchScript through a real httpd: the script's process_group / application_group / callable_object
//! choose per request where and what runs; a failing or unusable answer is a 500 naming the script.

use rwsgi_testkit as kit;

use kit::ServerBuilder;

fn server() -> kit::Server {
    let mut conf = String::from(
        "WSGIDaemonProcess picked processes=1 threads=2\nWSGIDaemonProcess configured processes=1 threads=2\n\
         WSGIDispatchScript {apps}/dispatch.py application-group=dispatcher\n",
    );
    for m in [
        "/daemon/sub",
        "/daemon/alt",
        "/daemon",
        "/embedded",
        "/nosuch",
        "/broken",
        "/wrongtype",
        "/kept",
    ] {
        conf.push_str(&format!(
            "WSGIScriptAlias {m} {{apps}}/environ.wsgi process-group=configured\n"
        ));
    }
    ServerBuilder::new("dispatch").conf(&conf).start()
}

#[test]
fn dispatch_script_chooses_group_interpreter_and_callable() {
    let s = server();
    let env = |path: &str| {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.pairs()
    };
    let e = env("/daemon");
    assert_eq!(e["mod_wsgi.process_group"], "picked");
    assert_ne!(e["process.pid"], env("/embedded")["process.pid"]);
    let e = env("/embedded");
    assert_eq!(e["mod_wsgi.process_group"], "");
    let e = env("/daemon/sub");
    assert_eq!(e["mod_wsgi.application_group"], "named-dispatcher");
    assert_eq!(e["mod_wsgi.process_group"], "picked");
    let e = env("/daemon/alt");
    assert_eq!(e.get("x.callable").map(String::as_str), Some("alternate"));
    assert_eq!(e["mod_wsgi.callable_object"], "alternate");
    // None keeps the configuration's choice.
    let e = env("/kept");
    assert_eq!(e["mod_wsgi.process_group"], "configured");
    assert_eq!(e["mod_wsgi.callable_object"], "application");
    // The daemon groups really serve what the script chose.
    let picked = env("/daemon")["process.pid"].clone();
    assert_eq!(env("/daemon/sub")["process.pid"], picked);
    assert_ne!(env("/kept")["process.pid"], picked);

    for (path, needle) in [
        ("/nosuch", "no-such-group"),
        ("/broken", "RuntimeError: dispatch failed on purpose"),
        (
            "/wrongtype",
            "process_group() must return a str, bytes or None, not int",
        ),
    ] {
        assert_eq!(s.get(path).status, 500, "{path}");
        assert!(
            s.wait_log(needle, 5),
            "{path}: {needle:?} not logged:\n{}",
            s.error_log()
        );
    }
    assert!(s.error_log().contains("WSGIDispatchScript"), "{}", s.error_log());
}

#[test]
fn dispatch_script_is_refused_in_htaccess_and_with_unknown_options() {
    for (line, needle) in [
        ("WSGIDispatchScript relative.py", "must be absolute"),
        (
            "WSGIDispatchScript /x.py callable-object=y",
            "the only option is application-group=",
        ),
    ] {
        let (ok, out) = ServerBuilder::new("dispatch-bad").conf(line).config_test();
        assert!(!ok, "{line} accepted");
        assert!(out.contains(needle), "{line}: {out}");
    }
}
