//! mod_wsgi configurations that must work unchanged: %{GLOBAL} as a process group, <IfModule mod_wsgi.c> and
//! <IfModule wsgi_module> sections with `LoadModule wsgi_module .../mod_rwsgi.so`, the module loaded twice
//! refused, and WSGIDaemonProcess umask= seen by the application.

use rwsgi_testkit as kit;

use kit::ServerBuilder;

fn modules(names: &[(&str, &str)]) -> String {
    names
        .iter()
        .map(|(c, m)| {
            format!(
                "<IfModule !mod_{c}.c>\nLoadModule {m}_module {}/mod_{c}.so\n</IfModule>\n",
                kit::modules_dir()
            )
        })
        .collect()
}

/// `apachectl -t` refuses the configuration and its output says each of `needles`.
fn refused(b: ServerBuilder, needles: &[&str]) {
    let (ok, out) = b.config_test();
    assert!(!ok, "apachectl -t accepted it:\n{out}");
    for n in needles {
        assert!(out.contains(n), "{n:?} not in:\n{out}");
    }
}

/// A directory under the server root that the daemon processes (any user) may write to.
fn writable_dir(b: &ServerBuilder, name: &str) -> std::path::PathBuf {
    let d = b.root.join(name);
    std::fs::create_dir_all(&d).expect("dir");
    std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o777)).expect("chmod");
    d
}

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
    refused(
        ServerBuilder::new("dropin-umask-bad").conf("WSGIDaemonProcess bad umask=0999"),
        &["umask=\"0999\" is not an octal number"],
    );
}

#[test]
fn script_alias_match_substitutes_groups_in_path_and_options() {
    let s = ServerBuilder::new("dropin-match")
        .conf(
            "WSGIDaemonProcess blog processes=1 threads=2\n\
             WSGIScriptAliasMatch ^/m/([^/]+) {apps}/$1.wsgi\n\
             WSGIScriptAliasMatch ^/g/([a-z]+) {apps}/process.wsgi process-group=$1 application-group=%{GLOBAL}",
        )
        .start();
    let r = s.get("/m/process/tail");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), s.error_log());
    let p = r.pairs();
    assert_eq!(
        (p["script_name"].as_str(), p["path_info"].as_str()),
        ("/m/process", "/tail")
    );
    assert_eq!(p["process_group"], "", "no process-group: embedded");
    let r = s.get("/g/blog/x");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), s.error_log());
    assert_eq!(r.pairs()["process_group"], "blog", "process-group=$1 substituted");
    assert_eq!(r.pairs()["script_name"], "/g/blog");
    // $1 naming no group: 500 and one line naming the file:line, the directive and the value.
    assert_eq!(s.get("/g/nope").status, 500);
    assert!(s.wait_log("\"nope\"", 5), "{}", s.error_log());
    let line = s
        .error_log()
        .lines()
        .find(|l| l.contains("\"nope\""))
        .unwrap_or_default()
        .to_string();
    assert!(line.contains("which no WSGIDaemonProcess defines"), "{line}");
    assert!(
        line.contains("httpd.conf:") && line.contains("WSGIScriptAliasMatch ^/g/([a-z]+) process-group=$1"),
        "{line}"
    );
    refused(
        ServerBuilder::new("dropin-match-bad").conf("WSGIScriptAliasMatch ^/(unclosed {apps}/process.wsgi"),
        &["WSGIScriptAliasMatch: the regular expression \"^/(unclosed\" is invalid"],
    );
}

#[test]
fn aliases_with_double_slashes_match_as_in_mod_wsgi() {
    let s = ServerBuilder::new("dropin-slashes")
        .conf("WSGIScriptAlias //dbl/ {apps}/process.wsgi/\nWSGIScriptAlias /a//b {apps}/process.wsgi")
        .start();
    let r = s.get("/dbl/x");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), s.error_log());
    assert_eq!(
        (r.pairs()["script_name"].as_str(), r.pairs()["path_info"].as_str()),
        ("/dbl", "/x")
    );
    let r = s.get("/a/b/c");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), s.error_log());
    assert_eq!(r.pairs()["path_info"], "/c");
    // With MergeSlashes Off httpd keeps the client's slashes: any run of them matches, and SCRIPT_NAME has
    // them collapsed, as mod_wsgi's.
    let s = ServerBuilder::new("dropin-slashes-kept")
        .global("MergeSlashes Off\n")
        .conf("WSGIScriptAlias //dbl {apps}/process.wsgi\nWSGIScriptAlias /a/b {apps}/process.wsgi")
        .start();
    for (uri, script_name) in [
        ("//dbl/x", "/dbl"),
        ("///dbl", "/dbl"),
        ("/dbl", "/dbl"),
        ("/a//b/c", "/a/b"),
    ] {
        let r = s.get(uri);
        assert_eq!(r.status, 200, "{uri}: {}\n{}", r.text(), s.error_log());
        assert_eq!(r.pairs()["script_name"], script_name, "{uri}");
    }
}

#[test]
fn import_script_runs_at_process_start_in_embedded_and_daemon_processes() {
    let s = ServerBuilder::new("dropin-import")
        .conf(
            "WSGIDaemonProcess site processes=1 threads=2\n\
             WSGIImportScript {apps}/imported.py process-group=%{GLOBAL} application-group=%{GLOBAL}\n\
             WSGIImportScript {apps}/imported.py process-group=site application-group=%{GLOBAL}\n\
             WSGIScriptAlias /e {apps}/process.wsgi\n\
             WSGIScriptAlias /d {apps}/process.wsgi process-group=site",
        )
        .start();
    for path in ["/e", "/d"] {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{}\n{}", r.text(), s.error_log());
        let p = r.pairs();
        assert_eq!(
            p["imported"],
            format!("pid {}", p["pid"]),
            "{path}: imported in this very process"
        );
    }
    refused(
        ServerBuilder::new("dropin-import-bad").conf("WSGIImportScript {apps}/imported.py process-group=%{GLOBAL}"),
        &["needs both process-group= and application-group="],
    );
}

#[test]
fn handler_script_serves_files_given_its_handler() {
    let s = ServerBuilder::new("dropin-handler")
        .global(&(modules(&[("alias", "alias"), ("mime", "mime")]) + "TypesConfig /dev/null\n"))
        .conf(
            "WSGIHandlerScript wsgi-resource {apps}/handler.py\n\
             Alias /files {apps}\n\
             <Location /files>\nAddHandler wsgi-resource .res\n</Location>",
        )
        .start();
    let r = s.get("/files/data.res");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), s.error_log());
    assert!(
        r.text().starts_with("handled ") && r.text().contains("data.res by ") && r.text().contains("handler.py"),
        "{}",
        r.text()
    );
    assert_eq!(
        s.get("/files/process.wsgi").status,
        200,
        "other files are served as files"
    );
}

#[test]
fn restrict_directives_shape_the_interpreter() {
    let s = ServerBuilder::new("dropin-restrict")
        .global("WSGIRestrictStdin On\nWSGIRestrictStdout On\nWSGIRestrictSignal Off\n")
        .conf("WSGIScriptAlias /p {apps}/process.wsgi")
        .start();
    let r = s.get("/p?io");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), s.error_log());
    let p = r.pairs();
    assert!(
        p["stdin"].starts_with("error sys.stdin is not available") && p["stdin"].contains("WSGIRestrictStdin"),
        "{}",
        p["stdin"]
    );
    assert!(p["stdout"].contains("WSGIRestrictStdout"), "{}", p["stdout"]);
    assert_eq!(p["stdin_lookup"], "refused", "even looking up sys.stdin.read raises");
    // Off: the call reaches Python's own signal.signal, which installs handlers from the main thread only
    // (requests run on other threads), so here it raises instead of being ignored.
    assert!(
        p["signal"].starts_with("error") && p["signal"].contains("main thread"),
        "{}",
        p["signal"]
    );
    // The defaults: stdout goes to the error log, signal handlers are ignored.
    let s = ServerBuilder::new("dropin-restrict-default")
        .conf("WSGIScriptAlias /p {apps}/process.wsgi")
        .start();
    let p = s.get("/p?io").pairs();
    assert_eq!((p["stdout"].as_str(), p["signal"].as_str()), ("ok", "ignored"));
    assert!(s.wait_log("written to stdout by process.wsgi", 5), "{}", s.error_log());
}

#[test]
fn process_group_from_an_environment_variable_and_restrict_process() {
    let s = ServerBuilder::new("dropin-env")
        .global(&modules(&[("setenvif", "setenvif")]))
        .conf(
            "WSGIDaemonProcess site processes=1 threads=2\n\
             WSGIDaemonProcess other processes=1 threads=2\n\
             WSGIScriptAlias /e {apps}/process.wsgi\n\
             SetEnvIf Request_URI ^/e/daemon PG=site\n\
             SetEnvIf Request_URI ^/e/other PG=other\n\
             SetEnvIf Request_URI ^/e/global PG=%{GLOBAL}\n\
             SetEnvIf Request_URI ^/e/bad PG=missing\n\
             <Location /e>\nWSGIProcessGroup %{ENV:PG}\n</Location>\n\
             <Location /e/other>\nWSGIRestrictProcess site %{GLOBAL}\n</Location>",
        )
        .start();
    let r = s.get("/e/daemon");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), s.error_log());
    assert_eq!(r.pairs()["process_group"], "site");
    assert_eq!(s.get("/e/global").pairs()["process_group"], "");
    // Not set, or naming no group: 500 and a line naming where and what.
    assert_eq!(s.get("/e/unset").status, 500);
    assert!(
        s.wait_log("%{ENV:PG} is not set for this request", 5),
        "{}",
        s.error_log()
    );
    let line = s
        .error_log()
        .lines()
        .find(|l| l.contains("%{ENV:PG} is not set"))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains("httpd.conf:") && line.contains("WSGIProcessGroup"),
        "{line}"
    );
    assert_eq!(s.get("/e/bad").status, 500);
    assert!(
        s.wait_log("\"missing\", which no WSGIDaemonProcess defines", 5),
        "{}",
        s.error_log()
    );
    assert_eq!(s.get("/e/other").status, 500);
    assert!(
        s.wait_log("WSGIRestrictProcess allows only site, %{GLOBAL}", 5),
        "{}",
        s.error_log()
    );
}

#[test]
fn literal_groups_are_checked_by_the_config_test() {
    refused(
        ServerBuilder::new("dropin-groupref")
            .conf("WSGIScriptAlias /p {apps}/process.wsgi\n<Location /p>\nWSGIProcessGroup nosuch\n</Location>"),
        &["WSGIProcessGroup", "\"nosuch\", which no WSGIDaemonProcess defines"],
    );
    // Defined after the section that uses it is fine (resolved per request, as in mod_wsgi).
    let (ok, out) = ServerBuilder::new("dropin-groupref-late")
        .conf("<Location /p>\nWSGIProcessGroup late\n</Location>\nWSGIDaemonProcess late threads=1")
        .config_test();
    assert!(ok, "{out}");
}

#[test]
fn relative_socket_prefix_is_under_server_root_and_python_eggs_sets_the_cache() {
    let s = ServerBuilder::new("dropin-prefix")
        .global("WSGISocketPrefix run/wsgi\n")
        .conf(
            "WSGIDaemonProcess site processes=1 threads=2 python-eggs={root}/eggs\n\
             WSGIScriptAlias /d {apps}/process.wsgi process-group=site",
        )
        .start();
    let r = s.get("/d");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), s.error_log());
    assert!(r.pairs()["egg_cache"].ends_with("/eggs"), "{}", r.text());
    let run = s.root.join("run");
    let made: Vec<String> = std::fs::read_dir(&run)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        made.iter().any(|n| n.starts_with("wsgi-")),
        "socket directory under ServerRoot/run: {made:?}"
    );
}

#[test]
fn interpreter_directives_reach_every_interpreter() {
    let s = ServerBuilder::new("dropin-python")
        .global(
            "WSGIPythonOptimize 2\nWSGIDontWriteBytecode On\nWSGIPythonWarnings ignore::DeprecationWarning\n\
             WSGIPythonWarnings error::ResourceWarning\nWSGIPythonHashSeed 0\nWSGISwitchInterval 0.002\n\
             WSGICaseSensitivity Off\n",
        )
        .conf(
            "WSGIDaemonProcess site processes=1 threads=2\n\
             WSGIScriptAlias /Embedded {apps}/process.wsgi\n\
             WSGIScriptAlias /daemon {apps}/process.wsgi process-group=site\n\
             <Location /Embedded>\nWSGIPassApacheRequest On\n</Location>",
        )
        .start();
    for path in ["/Embedded", "/daemon"] {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{path}: {}\n{}", r.text(), s.error_log());
        let p = r.pairs();
        assert_eq!(p["optimize"], "2", "{path}");
        assert_eq!(p["dont_write_bytecode"], "True", "{path}");
        assert_eq!(
            p["warnoptions"], "ignore::DeprecationWarning,error::ResourceWarning",
            "{path}"
        );
        assert_eq!(p["hash_randomization"], "0", "{path}");
        assert_eq!(p["switchinterval"], "0.002", "{path}");
    }
    let p = s.get("/Embedded").pairs();
    assert_eq!(
        p["script_name"], "/embedded",
        "WSGICaseSensitivity Off lower-cases SCRIPT_NAME"
    );
    assert_eq!(
        p["request_rec"], "PyCapsule",
        "WSGIPassApacheRequest On in embedded mode"
    );
    assert_eq!(s.get("/daemon").pairs()["request_rec"], "", "never in a daemon process");
}

#[test]
fn directives_that_cannot_apply_say_why_at_config_test() {
    let (ok, out) = ServerBuilder::new("dropin-noapply")
        .global(
            "WSGIAcceptMutex fcntl\nWSGISocketRotation Off\nWSGIPerInterpreterGIL On\nWSGITelemetryService unix:/tmp/t.sock\n\
             <WSGIInterpreterOptions process-group=a application-group=b>\nWSGIRestrictStdin On\n</WSGIInterpreterOptions>\n\
             WSGIFreeThreading Off\nWSGIDestroyInterpreter Off\nWSGISlowRequests 1.5\n",
        )
        .config_test();
    assert!(ok, "{out}");
    for needle in [
        "WSGIAcceptMutex at ",
        "WSGISocketRotation at ",
        "WSGIPerInterpreterGIL at ",
        "WSGITelemetryService at ",
        "<WSGIInterpreterOptions at ",
    ] {
        let line = out
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} in\n{out}"));
        assert!(line.contains("does not apply to mod_rwsgi: "), "{line}");
    }
    refused(
        ServerBuilder::new("dropin-freethreading").global("WSGIFreeThreading On\n"),
        &["WSGIFreeThreading: On needs a free-threaded CPython"],
    );
}

#[test]
fn slow_requests_are_logged() {
    let s = ServerBuilder::new("dropin-slow")
        .global("WSGISlowRequests 0.2\n")
        .conf("WSGIScriptAlias /slow {apps}/slow.wsgi\nWSGIScriptAlias /fast {apps}/process.wsgi")
        .start();
    assert_eq!(s.get("/fast").status, 200);
    assert_eq!(s.get("/slow").status, 200);
    assert!(s.wait_log("slow request: /slow took", 5), "{}", s.error_log());
    assert!(!s.error_log().contains("slow request: /fast"), "{}", s.error_log());
}

#[test]
fn ignored_activity_does_not_keep_a_daemon_alive() {
    let s = ServerBuilder::new("dropin-activity")
        .conf(
            "WSGIDaemonProcess site processes=1 threads=2 inactivity-timeout=2\n\
             WSGIScriptAlias /health {apps}/process.wsgi process-group=site\n\
             WSGIScriptAlias /work {apps}/process.wsgi process-group=site\n\
             <Location /health>\nWSGIIgnoreActivity On\n</Location>",
        )
        .start();
    let first = s.get("/work").pairs()["pid"].clone();
    // Health checks every 0.5 s for 5 s: they do not count, so the idle process is recycled.
    let mut pids = std::collections::BTreeSet::new();
    for _ in 0..10 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let r = s.get("/health");
        assert_eq!(r.status, 200, "{}", s.error_log());
        pids.insert(r.pairs()["pid"].clone());
    }
    assert!(
        pids.iter().any(|p| *p != first),
        "the process was never recycled: {pids:?}\n{}",
        s.error_log()
    );
    assert!(s.error_log().contains("inactivity-timeout=2"), "{}", s.error_log());
}

#[test]
fn a_main_server_group_starts_once_whatever_the_virtual_hosts() {
    let s = ServerBuilder::new("dropin-vhosts")
        .conf(
            "WSGIDaemonProcess g1 processes=1 threads=2 display-name=%{GROUP}\n\
             WSGIScriptAlias /d {apps}/process.wsgi process-group=g1\n\
             <VirtualHost 127.0.0.2:9>\nServerName other.example\n</VirtualHost>\n\
             <VirtualHost 127.0.0.3:9>\nServerName third.example\n</VirtualHost>",
        )
        .start();
    assert_eq!(s.get("/d").status, 200, "{}", s.error_log());
    let pids = s.daemon_pids("(wsgi:g1)");
    assert_eq!(
        pids.len(),
        1,
        "one process for processes=1: {pids:?}\n{}",
        s.error_log()
    );
}

#[test]
fn daemon_process_limits_groups_and_buffers_are_what_the_process_has() {
    let s = ServerBuilder::new("dropin-limits")
        .conf(
            "WSGIDaemonProcess lim processes=1 threads=1 cpu-time-limit=3600 virtual-memory-limit=8000000000 \
             cpu-priority=5 stack-size=1048576 send-buffer-size=65536 receive-buffer-size=32768 \
             supplementary-groups=#4242 switch-interval=0.001\n\
             WSGIDaemonProcess plain processes=1 threads=1\n\
             WSGIScriptAlias /lim {apps}/process.wsgi process-group=lim\n\
             WSGIScriptAlias /plain {apps}/process.wsgi process-group=plain",
        )
        .start();
    let r = s.get("/lim?threads");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), s.error_log());
    let p = r.pairs();
    assert_eq!(p["cpu_limit"], "3600", "{}", r.text());
    assert_eq!(p["as_limit"], "8000000000", "{}", r.text());
    assert_eq!(p["nice"], "5");
    assert_eq!(p["stack_size"], "1048576");
    assert_eq!(p["switchinterval"], "0.001");
    // The kernel doubles SO_SNDBUF/SO_RCVBUF values (socket(7)).
    assert!(p["buffers"].split(',').any(|b| b == "131072/65536"), "{}", p["buffers"]);
    if kit::is_root() {
        assert!(
            p["groups"].split(',').any(|g| g == "4242"),
            "supplementary-groups: {}",
            p["groups"]
        );
    }
    let plain = s.get("/plain?threads").pairs();
    // Without the options: no CPU limit, and the nice value httpd was started with (this test's own).
    // SAFETY: getpriority only reads this process's priority.
    let own_nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    assert_eq!(
        (plain["cpu_limit"].as_str(), plain["nice"].clone()),
        ("unlimited", own_nice.to_string())
    );
    assert_ne!(plain["stack_size"], "1048576");
    assert!(!plain["groups"].split(',').any(|g| g == "4242"));
}

#[test]
fn script_user_and_group_refuse_scripts_of_another_owner() {
    let b = ServerBuilder::new("dropin-scriptuser");
    let (uid, gid) = {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(b.apps().join("process.wsgi")).expect("app");
        (m.uid(), m.gid())
    };
    let s = b
        .conf(&format!(
            "WSGIDaemonProcess mine processes=1 threads=1 script-user=#{uid} script-group=#{gid}\n\
             WSGIDaemonProcess other processes=1 threads=1 script-user=#{}\n\
             WSGIScriptAlias /mine {{apps}}/process.wsgi process-group=mine\n\
             WSGIScriptAlias /other {{apps}}/process.wsgi process-group=other",
            uid + 1
        ))
        .start();
    assert_eq!(s.get("/mine").status, 200, "{}", s.error_log());
    assert_eq!(s.get("/other").status, 403);
    assert!(
        s.wait_log("daemon process group \"other\" refuses", 5),
        "{}",
        s.error_log()
    );
    assert!(
        s.error_log()
            .contains(&format!("script-user= requires uid {}", uid + 1)),
        "{}",
        s.error_log()
    );
}

#[test]
fn socket_user_owns_the_daemon_socket() {
    if !kit::is_root() {
        return; // Changing a socket's owner needs root.
    }
    let s = ServerBuilder::new("dropin-socketuser")
        .conf(
            "WSGIDaemonProcess su processes=1 threads=1 socket-user=nobody\n\
             WSGIScriptAlias /su {apps}/process.wsgi process-group=su",
        )
        .start();
    // Apache's own children (not nobody) cannot connect: the socket belongs to the other user. (Answering also
    // means the configuration, and so the socket, is complete.)
    assert_eq!(s.get("/su").status, 503, "{}", s.error_log());
    use std::os::unix::fs::MetadataExt;
    let sockets: Vec<std::path::PathBuf> = std::fs::read_dir(s.root.join("run"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("rwsgi-"))
        .map(|e| e.path().join("su.sock"))
        .filter(|p| p.exists())
        .collect();
    let sock = sockets
        .first()
        .unwrap_or_else(|| panic!("no su.sock under {}", s.root.display()));
    let nobody = std::process::Command::new("id")
        .args(["-u", "nobody"])
        .output()
        .expect("id");
    let nobody: u32 = String::from_utf8_lossy(&nobody.stdout)
        .trim()
        .parse()
        .expect("uid of nobody");
    assert_eq!(std::fs::metadata(sock).expect("socket").uid(), nobody);
    let dir = sock.parent().expect("dir");
    assert_eq!(
        std::fs::metadata(dir).expect("dir").mode() & 0o777,
        0o711,
        "others may pass, not list"
    );
}

#[test]
fn eviction_timeout_bounds_an_administrators_sigusr1() {
    let s = ServerBuilder::new("dropin-evict")
        .conf(
            "WSGIDaemonProcess ev processes=1 threads=2 graceful-timeout=30 eviction-timeout=1 display-name=%{GROUP}\n\
             WSGIScriptAlias /ev {apps}/daemon.wsgi process-group=ev",
        )
        .start();
    assert_eq!(s.get("/ev/whoami").status, 200, "{}", s.error_log());
    let pid = *s.daemon_pids("(wsgi:ev)").first().expect("daemon pid");
    let port = s.port;
    let slow = std::thread::spawn(move || kit::get(port, "/ev/sleep?8"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    let started = std::time::Instant::now();
    kit::signal(pid as i32, libc::SIGUSR1);
    let r = slow.join().expect("request thread");
    let took = started.elapsed();
    // Drained for eviction-timeout (1 s), not graceful-timeout (30 s), nor the 8 s the request wanted.
    assert!(took < std::time::Duration::from_secs(6), "{took:?}");
    assert_ne!(r.status, 200, "the evicted request was cut");
    assert!(
        s.wait_log("exits with 1 request(s) still running after 1 s", 5),
        "{}",
        s.error_log()
    );
    // The supervisor replaces the process.
    assert!(kit::wait_until(std::time::Duration::from_secs(10), || s
        .get("/ev/whoami")
        .status
        == 200));
}

#[test]
fn response_socket_timeout_bounds_writes_to_a_client_that_stops_reading() {
    use std::io::Write;
    let s = ServerBuilder::new("dropin-rst")
        .conf(
            "WSGIDaemonProcess rs processes=1 threads=2 response-socket-timeout=1\n\
             WSGIScriptAlias /rs {apps}/daemon.wsgi process-group=rs",
        )
        .start();
    let mut c = kit::http::connect(s.port);
    // 64 MiB that this client never reads: the write to it blocks, then times out after 1 s.
    c.write_all(b"GET /rs/download?67108864 HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    assert!(s.wait_log("failed to write response data", 15), "{}", s.error_log());
    drop(c);
    assert_eq!(s.get("/rs/whoami").status, 200, "the daemon thread is free again");
}

#[test]
fn destroy_interpreter_off_skips_atexit_when_a_daemon_stops() {
    let b = ServerBuilder::new("dropin-atexit");
    let marks = writable_dir(&b, "marks");
    let marks_q = marks.display().to_string();
    let s = b
        .global("WSGIDestroyInterpreter Off\n")
        .conf(
            "WSGIDaemonProcess off processes=1 threads=1 maximum-requests=1\n\
             WSGIScriptAlias /off {apps}/atexit.wsgi process-group=off",
        )
        .start();
    let first = s.get(&format!("/off?{marks_q}"));
    assert_eq!(first.status, 200, "{}", s.error_log());
    // maximum-requests=1: the process is recycled; a second request reaches its replacement.
    assert!(kit::wait_until(std::time::Duration::from_secs(10), || {
        let r = s.get(&format!("/off?{marks_q}"));
        r.status == 200 && r.text() != first.text()
    }));
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        !marks.join("atexit-off").exists(),
        "WSGIDestroyInterpreter Off: atexit handlers did not run"
    );
    // The default (On) runs them.
    let b = ServerBuilder::new("dropin-atexit-on");
    let marks = writable_dir(&b, "marks");
    let marks_q = marks.display().to_string();
    let s = b
        .conf(
            "WSGIDaemonProcess on processes=1 threads=1 maximum-requests=1\n\
             WSGIScriptAlias /on {apps}/atexit.wsgi process-group=on",
        )
        .start();
    let first = s.get(&format!("/on?{marks_q}"));
    assert_eq!(first.status, 200, "{}", s.error_log());
    assert!(
        kit::wait_until(std::time::Duration::from_secs(10), || marks.join("atexit-on").exists()),
        "{}",
        s.error_log()
    );
}

#[test]
fn error_override_uses_apaches_error_document_in_daemon_mode() {
    let s = ServerBuilder::new("dropin-erroroverride")
        .conf(
            "WSGIDaemonProcess eo processes=1 threads=2\n\
             WSGIScriptAlias /eo {apps}/process.wsgi process-group=eo\n\
             WSGIScriptAlias /plain {apps}/process.wsgi process-group=eo\n\
             ErrorDocument 404 \"the site's own 404 page\"\n\
             <Location /eo>\nWSGIErrorOverride On\n</Location>",
        )
        .start();
    let r = s.get("/eo?status404");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("the site's own 404 page"), "{}", r.text());
    let r = s.get("/plain?status404");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("the application says 404"), "{}", r.text());
    assert_eq!(s.get("/eo").status, 200, "successful responses pass through");
}

#[test]
fn map_head_to_get_as_mod_wsgi() {
    let s = ServerBuilder::new("dropin-head")
        .global(&modules(&[("deflate", "deflate"), ("filter", "filter")]))
        .conf(
            "WSGIScriptAlias /on {apps}/process.wsgi\nWSGIScriptAlias /off {apps}/process.wsgi\n\
             WSGIScriptAlias /auto {apps}/process.wsgi\nWSGIScriptAlias /deflated {apps}/process.wsgi\n\
             <Location /on>\nWSGIMapHEADToGET On\n</Location>\n\
             <Location /off>\nWSGIMapHEADToGET Off\n</Location>\n\
             <Location /deflated>\nSetOutputFilter DEFLATE\n</Location>",
        )
        .start();
    let head = |path: &str| {
        let r = s.request(
            format!("HEAD {path} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert_eq!(r.status, 200, "{path}: {}", s.error_log());
        r.header("X-Method").unwrap_or_default().to_string()
    };
    assert_eq!(head("/on"), "GET");
    assert_eq!(head("/off"), "HEAD");
    assert_eq!(head("/auto"), "HEAD", "Auto without a content filter keeps HEAD");
    assert_eq!(
        head("/deflated"),
        "GET",
        "Auto with mod_deflate on the request maps HEAD to GET"
    );
    refused(
        ServerBuilder::new("dropin-head-bad").conf("WSGIMapHEADToGET Maybe"),
        &["WSGIMapHEADToGET: must be On, Off or Auto"],
    );
}

/// Peak resident memory (VmHWM, KiB) of a process.
fn peak_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn response_buffer_size_bounds_what_a_buffering_filter_holds() {
    // mod_buffer holds everything it is given until a flush: the httpd child's memory shows how much.
    let served = |limit: &str| {
        let s = ServerBuilder::new("dropin-rbs")
            .mpm("event", 1, 4)
            .global(&modules(&[("buffer", "buffer")]))
            .conf(&format!(
                "WSGIDaemonProcess rb processes=1 threads=1 response-buffer-size={limit}\n\
                 WSGIScriptAlias /rb {{apps}}/output.wsgi process-group=rb\n\
                 <Location /rb>\nSetOutputFilter BUFFER\nBufferSize 1073741824\n</Location>"
            ))
            .start();
        assert_eq!(s.get("/rb/list?n=1").status, 200, "{}", s.error_log());
        // The MPM's child (the daemon group's supervisor is a child of httpd too, named rwsgi:GROUP).
        let child = s
            .children()
            .into_iter()
            .find(|pid| {
                !std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .unwrap_or_default()
                    .starts_with("rwsgi:")
            })
            .expect("one httpd child");
        let before = peak_kib(child);
        let r = s.get("/rb/list?n=48");
        assert_eq!((r.status, r.body.len()), (200, 48 << 20), "{}", s.error_log());
        peak_kib(child).saturating_sub(before)
    };
    let bounded = served("1048576");
    let unbounded = served("1073741824");
    assert!(
        unbounded > 40 << 10,
        "without a forced flush the filter held the whole body: {unbounded} KiB"
    );
    assert!(
        bounded < 24 << 10,
        "flushed every MiB: {bounded} KiB (unbounded {unbounded} KiB)"
    );
}

#[test]
fn chroot_confines_the_daemon_processes() {
    if !kit::is_root() {
        return; // chroot needs root.
    }
    // An empty root directory: once confined to it the processes cannot see the Python installation, which
    // shows the chroot took effect (a real deployment puts Python and the application inside).
    let b = ServerBuilder::new("dropin-chroot");
    let jail = b.root.join("jail");
    std::fs::create_dir_all(&jail).expect("jail");
    let s = b
        .conf(&format!(
            "WSGIDaemonProcess jailed processes=1 threads=1 chroot={}\n\
             WSGIScriptAlias /j {{apps}}/process.wsgi process-group=jailed\n\
             WSGIDaemonProcess free processes=1 threads=1\n\
             WSGIScriptAlias /f {{apps}}/process.wsgi process-group=free",
            jail.display()
        ))
        .start();
    assert_eq!(s.get("/f").status, 200, "{}", s.error_log());
    assert_ne!(s.get("/j").status, 200);
    assert!(s.wait_log("cannot start Python", 10), "{}", s.error_log());
}
