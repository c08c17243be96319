//! Issue 2: the module loads into httpd and serves WSGI scripts in embedded mode.

use rwsgi_testkit as kit;

use kit::ServerBuilder;

#[test]
fn hello_at_root_and_at_sub_url() {
    let s = ServerBuilder::new("hello")
        .conf("WSGIScriptAlias /app {apps}/hello.wsgi\nWSGIScriptAlias / {apps}/hello.wsgi")
        .start();
    for path in ["/", "/app", "/app/", "/anything/else"] {
        let r = s.get(path);
        assert_eq!(r.status, 200, "GET {path}");
        assert_eq!(r.text(), "Hello World!", "GET {path}");
        assert_eq!(r.header("Content-Type"), Some("text/plain"));
        assert!(
            r.header("Server").is_some_and(|v| v.contains("mod_rwsgi/")),
            "version component in Server header"
        );
    }
    assert!(
        !s.error_log().contains("exit signal"),
        "a child crashed:\n{}",
        s.error_log()
    );
}

#[test]
fn environ_basics() {
    let s = ServerBuilder::new("environ")
        .conf("WSGIScriptAlias /env {apps}/environ.wsgi")
        .start();
    let raw = format!(
        "POST /env/a/b?x=1&y=%20 HTTP/1.1\r\nHost: example.test:{}\r\nX-Custom-Thing: v1\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
        s.port
    );
    let r = s.request(raw.as_bytes());
    assert_eq!(r.status, 200);
    let e = r.pairs();
    let want = [
        ("REQUEST_METHOD", "POST"),
        ("SCRIPT_NAME", "/env"),
        ("PATH_INFO", "/a/b"),
        ("QUERY_STRING", "x=1&y=%20"),
        ("REQUEST_URI", "/env/a/b?x=1&y=%20"),
        ("CONTENT_TYPE", "text/plain"),
        ("CONTENT_LENGTH", "3"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("HTTP_X_CUSTOM_THING", "v1"),
        ("wsgi.url_scheme", "http"),
        ("wsgi.version", "(1, 0)"),
        ("wsgi.input_terminated", "True"),
        ("wsgi.run_once", "False"),
        ("wsgi.multithread", "True"),
        ("wsgi.multiprocess", "True"),
        ("mod_wsgi.application_group", ""),
        ("mod_wsgi.process_group", ""),
        ("mod_wsgi.callable_object", "application"),
        ("types.str_values", "True"),
    ];
    for (k, v) in want {
        assert_eq!(e.get(k).map(String::as_str), Some(v), "environ[{k}] in:\n{}", r.text());
    }
    assert_eq!(
        e.get("SERVER_PORT").map(String::as_str),
        Some(s.port.to_string().as_str())
    );
    assert_eq!(e.get("HTTP_HOST").cloned(), Some(format!("example.test:{}", s.port)));
    assert!(e.get("SERVER_NAME").is_some() && e.get("SERVER_SOFTWARE").is_some() && e.get("REMOTE_PORT").is_some());
    assert_eq!(e.get("wsgi.input").map(String::as_str), Some("<Input>"));
    assert_eq!(e.get("wsgi.errors").map(String::as_str), Some("<TextIOWrapper>"));
    assert!(
        e.get("SCRIPT_FILENAME")
            .is_some_and(|v| v.ends_with("/apps/environ.wsgi"))
    );
    assert!(!e.contains_key("PATH"), "PATH must not be passed");
    assert!(e.get("apache.version").is_some_and(|v| v.starts_with("(2, 4,")));
}

#[test]
fn post_echo_of_one_megabyte() {
    let s = ServerBuilder::new("echo")
        .conf("WSGIScriptAlias /echo {apps}/echo.wsgi")
        .start();
    let body: Vec<u8> = (0..1_048_576u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let r = s.post("/echo", "application/octet-stream", &body);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("X-Body-Length"), Some("1048576"));
    assert!(r.complete);
    assert!(r.body == body, "echoed body differs");
}

#[test]
fn two_scripts_at_two_mounts() {
    let s = ServerBuilder::new("two")
        .conf("WSGIScriptAlias /one {apps}/hello.wsgi\nWSGIScriptAlias /two {apps}/second.wsgi")
        .start();
    assert_eq!(s.get("/one").text(), "Hello World!");
    assert_eq!(s.get("/two/x").text(), "second:/two");
    assert_eq!(s.get("/twox").status, 404);
    assert_eq!(s.get("/three").status, 404);
}

#[test]
fn config_errors_are_refused_by_config_test() {
    let cases: &[(&str, &str)] = &[
        ("WSGIScriptAlias /app", "WSGIScriptAlias: takes a URL and a script path"),
        (
            "WSGIScriptAlias app {apps}/hello.wsgi",
            "WSGIScriptAlias: the URL \"app\" must start with '/'",
        ),
        ("WSGIScriptAlias /app relative.wsgi", "must be absolute"),
        (
            "WSGIScriptAlias /app {apps}/hello.wsgi bogus-option=1",
            "unknown option \"bogus-option\"",
        ),
        (
            "WSGIPassAuthorization Maybe",
            "WSGIPassAuthorization: must be On or Off",
        ),
        (
            "WSGICallableObject 1app",
            "WSGICallableObject: \"1app\" is not a valid Python identifier",
        ),
        (
            "WSGIApplicationGroup %{NOPE}",
            "WSGIApplicationGroup: unknown application group",
        ),
        (
            "WSGIPythonHome relative/dir",
            "WSGIPythonHome: \"relative/dir\" is not an absolute path",
        ),
        ("WSGIPythonPath a:b", "WSGIPythonPath: \"a\" is not an absolute path"),
        (
            "<VirtualHost *:80>\nWSGIPythonHome /usr\n</VirtualHost>",
            "WSGIPythonHome cannot occur within <VirtualHost> section",
        ),
        ("WSGIScriptAlias /a \"{apps}/unterminated", "unterminated quote"),
    ];
    for (line, want) in cases {
        let b = ServerBuilder::new("cfg").conf(line);
        let (ok, out) = b.config_test();
        assert!(!ok, "config test passed for {line:?}:\n{out}");
        assert!(out.contains(want), "for {line:?} expected {want:?} in:\n{out}");
        assert!(out.contains("httpd.conf"), "error must name the file: {out}");
    }
    // A removed mod_wsgi directive is accepted with a warning.
    let (ok, out) = ServerBuilder::new("cfg")
        .conf("WSGILazyInitialization On")
        .config_test();
    assert!(ok, "{out}");
}

#[test]
fn unreadable_python_home_gives_500_and_one_clear_line_without_crash_loop() {
    use std::os::unix::fs::PermissionsExt;
    let b = ServerBuilder::new("pyhome");
    // A Python home the Apache user cannot enter.
    let home = b.root.join("private-python");
    std::fs::create_dir_all(home.join("lib/python3.11")).expect("mkdir");
    std::fs::write(home.join("lib/python3.11/os.py"), "").expect("write");
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let s = b
        .mpm("event", 2, 4)
        .conf(&format!(
            "WSGIPythonHome {}\nWSGIScriptAlias / {{apps}}/hello.wsgi",
            home.display()
        ))
        .start();
    // httpd starts its children one maintenance tick apart: wait for both before taking the census.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while s.children().len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut before = s.children();
    before.sort();
    for _ in 0..5 {
        assert_eq!(s.get("/").status, 500);
    }
    assert!(s.wait_log("cannot start Python", 5), "{}", s.error_log());
    let log = s.error_log();
    let line = log
        .lines()
        .find(|l| l.contains("cannot start Python"))
        .unwrap_or_default()
        .to_string();
    assert!(line.contains(&home.display().to_string()), "names the path: {line}");
    assert!(line.contains(kit::run_user()), "names the user: {line}");
    assert!(
        log.contains("Python is not available") || log.contains("cannot run"),
        "requests say why they failed:\n{log}"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(!log.contains("exit signal"), "a child crashed:\n{log}");
    let mut after = s.children();
    after.sort();
    assert_eq!(after, before, "children were replaced (crash loop?)");
}

#[test]
fn graceful_restart_five_times_with_requests_after_each() {
    let s = ServerBuilder::new("graceful")
        .conf("WSGIScriptAlias / {apps}/hello.wsgi")
        .start();
    assert_eq!(s.get("/").status, 200);
    for i in 0..5 {
        let generation_marker = "AH00493"; // "SIGUSR1 received.  Doing graceful restart"
        s.apachectl("graceful");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while s.error_log().matches(generation_marker).count() <= i && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        for _ in 0..5 {
            let r = s.get("/");
            assert_eq!(
                (r.status, r.text().as_str()),
                (200, "Hello World!"),
                "after graceful restart {}",
                i + 1
            );
        }
    }
    assert_eq!(s.error_log().matches("AH00493").count(), 5);
    assert!(!s.error_log().contains("exit signal"), "{}", s.error_log());
}

#[test]
fn module_exports_only_its_record_and_pins_libpython() {
    let so = kit::module_path();
    let out = std::process::Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&so)
        .output()
        .expect("nm");
    let exported: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        .collect();
    assert_eq!(
        exported,
        vec!["rwsgi_module".to_string(), "wsgi_module".to_string()],
        "exported symbols: its record under both LoadModule names"
    );
    let out = std::process::Command::new("readelf")
        .arg("-d")
        .arg(&so)
        .output()
        .expect("readelf");
    let dynamic = String::from_utf8_lossy(&out.stdout).to_string();
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
    let libdir = std::process::Command::new(&python)
        .args(["-c", "import sysconfig; print(sysconfig.get_config_var('LIBDIR'))"])
        .output()
        .expect("python");
    let libdir = String::from_utf8_lossy(&libdir.stdout).trim().to_string();
    let runpath = dynamic
        .lines()
        .find(|l| l.contains("RUNPATH") || l.contains("RPATH"))
        .unwrap_or_default();
    assert!(runpath.contains(&libdir), "RUNPATH names {libdir}: {runpath}");
    assert!(dynamic.contains("libpython3."), "links libpython: {dynamic}");
}

/// Start-up cost: each httpd child (and daemon process) starts Python before its first request, so the server's
/// own Python code imports no slow standard module the application did not ask for; what it sets up for
/// logging and signal happens when the application imports them.
#[test]
fn the_server_imports_only_what_it_needs_at_start_up() {
    let s = ServerBuilder::new("imports")
        .conf("WSGIScriptAlias /imports {apps}/imports.wsgi")
        .start();
    let r = s.get("/imports");
    assert_eq!(r.status, 200, "{}", s.error_log());
    assert_eq!(r.pairs()["loaded-before-app"], "", "{}", r.text());
    let r = s.get("/imports?logging").pairs();
    assert_eq!(r["last-resort"], "ApacheLogHandler");
    assert!(
        s.wait_log("imports.wsgi: a warning through the last-resort handler", 5),
        "{}",
        s.error_log()
    );
    let log = s.error_log();
    let line = log
        .lines()
        .find(|l| l.contains("through the last-resort handler"))
        .unwrap_or_default();
    assert!(line.contains(":warn]"), "logged at Apache's warning level: {line}");
    let r = s.get("/imports?signal").pairs();
    assert_eq!(
        r["signal-restricted"], "True",
        "WSGIRestrictSignal applies once the app imports signal"
    );
}
