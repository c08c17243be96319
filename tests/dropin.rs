//! mod_wsgi configurations that must work unchanged: %{GLOBAL} as a process group, <IfModule mod_wsgi.c> and
//! <IfModule wsgi_module> sections with `LoadModule wsgi_module .../mod_rwsgi.so`, the module loaded twice
//! refused, and WSGIDaemonProcess umask= seen by the application.

use rwsgi_testkit as kit;

use kit::ServerBuilder;

#[test]
fn global_process_group_means_embedded_mode() {
    let s = ServerBuilder::new("dropin-global")
        .conf(
            "WSGIDaemonProcess other processes=1 threads=2\n\
             WSGIScriptAlias /g {apps}/process.wsgi process-group=%{GLOBAL} application-group=%{GLOBAL}\n\
             <Location /g>\nWSGIProcessGroup other\n</Location>\n\
             WSGIScriptAlias /d {apps}/process.wsgi process-group=other application-group=%{GLOBAL}",
        )
        .start();
    let r = s.get("/g");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), s.error_log());
    let pairs = r.pairs();
    assert_eq!(
        pairs["process_group"], "",
        "embedded mode, even under WSGIProcessGroup other"
    );
    let d = s.get("/d");
    assert_eq!(d.status, 200, "{}", s.error_log());
    assert_eq!(d.pairs()["process_group"], "other");
    assert_ne!(d.pairs()["pid"], pairs["pid"], "the daemon is another process");
    assert!(
        !s.error_log().contains("no WSGIDaemonProcess groups are running"),
        "{}",
        s.error_log()
    );
}

#[test]
fn ifmodule_sections_apply_when_loaded_as_wsgi_module() {
    let module = kit::module_path();
    let s = ServerBuilder::new("dropin-ifmodule")
        .without_module()
        .global(&format!(
            "LoadModule wsgi_module {}\n\
             <IfModule mod_wsgi.c>\nWSGIScriptAlias /by-name {{apps}}/process.wsgi\n</IfModule>\n\
             <IfModule wsgi_module>\nWSGIScriptAlias /by-symbol {{apps}}/process.wsgi\n</IfModule>\n\
             <IfModule !mod_wsgi.c>\nWSGIScriptAlias /never {{apps}}/process.wsgi\n</IfModule>\n\
             WSGIScriptAlias /dir/ {{apps}}/\n",
            module.display()
        ))
        .start();
    for path in ["/by-name", "/by-symbol"] {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{path}: {}\n{}", r.text(), s.error_log());
        assert_eq!(r.pairs()["process_group"], "");
    }
    assert_eq!(s.get("/never").status, 404);
    // Log lines carry the tag of the symbol the module was loaded as, like mod_wsgi's.
    assert_eq!(s.get("/dir/missing.wsgi").status, 404);
    assert!(s.wait_log("target WSGI script not found", 5), "{}", s.error_log());
    let line = s
        .error_log()
        .lines()
        .find(|l| l.contains("target WSGI script not found"))
        .unwrap_or_default()
        .to_string();
    assert!(line.contains("[wsgi:error]"), "{line}");
    // Loaded as rwsgi_module, <IfModule mod_wsgi.c> applies too (the module's name is mod_wsgi's).
    let s = ServerBuilder::new("dropin-ifmodule-rwsgi")
        .global("<IfModule mod_wsgi.c>\nWSGIScriptAlias /by-name {apps}/process.wsgi\n</IfModule>\n")
        .conf("<IfModule mod_wsgi.c>\nWSGIScriptAlias /late {apps}/process.wsgi\n</IfModule>")
        .start();
    assert_eq!(s.get("/late").status, 200, "{}", s.error_log());
}

#[test]
fn loading_the_module_twice_is_refused_with_what_to_remove() {
    let module = kit::module_path();
    let b = ServerBuilder::new("dropin-twice").global(&format!("LoadModule wsgi_module {}\n", module.display()));
    let (ok, out) = b.config_test();
    assert!(!ok, "two WSGI modules must not pass apachectl -t:\n{out}");
    assert!(out.contains("mod_rwsgi is loaded twice"), "{out}");
    assert!(out.contains("keep one of the two lines"), "{out}");
}

#[test]
fn daemon_umask_is_what_the_application_sees() {
    let s = ServerBuilder::new("dropin-umask")
        .conf(
            "WSGIDaemonProcess masked processes=1 threads=2 umask=0027\n\
             WSGIDaemonProcess plain processes=1 threads=2\n\
             WSGIScriptAlias /masked {apps}/process.wsgi process-group=masked\n\
             WSGIScriptAlias /plain {apps}/process.wsgi process-group=plain",
        )
        .start();
    let r = s.get("/masked");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), s.error_log());
    assert_eq!(r.pairs()["umask"], "0027");
    let plain = s.get("/plain").pairs()["umask"].clone();
    assert_ne!(plain, "0027", "without umask= the daemon keeps httpd's mask");
    let (ok, out) = ServerBuilder::new("dropin-umask-bad")
        .conf("WSGIDaemonProcess bad umask=0999")
        .config_test();
    assert!(!ok && out.contains("umask=\"0999\" is not an octal number"), "{out}");
}
