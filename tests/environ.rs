//! The environ as mod_wsgi builds it (docs/compat.md, environ section), key by key.

use rwsgi_testkit as kit;

use kit::ServerBuilder;

fn env_of(s: &kit::Server, raw: &str) -> std::collections::HashMap<String, String> {
    let r = s.request(raw.as_bytes());
    assert_eq!(r.status, 200, "{raw}\n{}", r.text());
    r.pairs()
}

fn get_env(s: &kit::Server, path: &str) -> std::collections::HashMap<String, String> {
    env_of(
        s,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
}

#[test]
fn script_name_and_path_info_for_each_mount_shape() {
    let s = ServerBuilder::new("mounts")
        .conf("WSGIScriptAlias /app/ {apps}/environ.wsgi\nWSGIScriptAlias /app {apps}/environ.wsgi\nWSGIScriptAlias /deep/x/y {apps}/environ.wsgi\nWSGIScriptAlias / {apps}/environ.wsgi")
        .start();
    let cases = [
        ("/", "", "/"),
        ("/foo/bar", "", "/foo/bar"),
        ("/app", "/app", ""),
        ("/app/", "/app", "/"),
        ("/app/a/b", "/app", "/a/b"),
        ("/deep/x/y", "/deep/x/y", ""),
        ("/deep/x/y/z", "/deep/x/y", "/z"),
        ("/app/a%20b/%7Ec", "/app", "/a b/~c"),
        ("/app//a///b", "/app", "/a/b"),
        ("/application", "", "/application"),
    ];
    for (path, script_name, path_info) in cases {
        let e = get_env(&s, path);
        assert_eq!(e["SCRIPT_NAME"], script_name, "SCRIPT_NAME for {path}");
        assert_eq!(e["PATH_INFO"], path_info, "PATH_INFO for {path}");
        assert_eq!(e["mod_wsgi.script_name"], script_name);
        assert_eq!(e["REQUEST_URI"], path, "REQUEST_URI is raw");
    }
}

#[test]
fn headers_become_http_keys_safely() {
    let s = ServerBuilder::new("headers")
        .conf("WSGIScriptAlias /e {apps}/environ.wsgi\nWSGIScriptAlias /auth {apps}/environ.wsgi pass-authorization=On\nSetEnv FROM_SETENV yes")
        .global("<IfModule !mod_env.c>\nLoadModule env_module {mods}/mod_env.so\n</IfModule>".replace("{mods}", &kit::modules_dir()).as_str())
        .start();
    let raw = "GET /e?q=%C3%A9 HTTP/1.1\r\nHost: x\r\nX-Multi: one\r\nX-Multi: two\r\nX_Under: spoof\r\nProxy: http://evil\r\nAuthorization: Basic Zm9vOmJhcg==\r\nX-Latin: caf\u{e9}\r\nConnection: close\r\n\r\n";
    let raw = raw.replace('\u{e9}', "\u{fffd}");
    let mut bytes = raw.into_bytes();
    // A raw latin-1 byte 0xE9 in a header value (replace the U+FFFD placeholder's UTF-8 bytes).
    let pos = bytes
        .windows(3)
        .position(|w| w == [0xef, 0xbf, 0xbd])
        .expect("placeholder");
    bytes.splice(pos..pos + 3, [0xe9]);
    let r = s.request(&bytes);
    let e = r.pairs();
    assert_eq!(e["HTTP_X_MULTI"], "one, two", "repeated headers joined");
    assert!(!e.contains_key("HTTP_X_UNDER"), "a header name with '_' is dropped");
    assert!(!e.contains_key("HTTP_PROXY"), "httpoxy");
    assert!(
        !e.contains_key("HTTP_AUTHORIZATION"),
        "Authorization only with WSGIPassAuthorization On"
    );
    assert_eq!(e["HTTP_X_LATIN"], "caf\\xe9", "latin-1 decoded");
    assert_eq!(e["QUERY_STRING"], "q=%C3%A9", "QUERY_STRING stays encoded");
    assert_eq!(e["FROM_SETENV"], "yes", "SetEnv reaches the environ");
    assert_eq!(get_env(&s, "/e")["QUERY_STRING"], "", "QUERY_STRING always present");
    assert!(
        !get_env(&s, "/e").contains_key("CONTENT_LENGTH"),
        "CONTENT_LENGTH only when sent"
    );

    let e = env_of(
        &s,
        "GET /auth HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Zm9vOmJhcg==\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(e["HTTP_AUTHORIZATION"], "Basic Zm9vOmJhcg==");
}

#[test]
fn pass_authorization_directive_and_application_groups() {
    let s = ServerBuilder::new("dirs")
        .conf(
            "WSGIScriptAlias /a {apps}/environ.wsgi\n<Location /a>\nWSGIPassAuthorization On\nWSGIApplicationGroup site-one\n</Location>\n\
             WSGIScriptAlias /b {apps}/environ.wsgi application-group=%{GLOBAL}",
        )
        .start();
    let e = env_of(
        &s,
        "GET /a HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(e["HTTP_AUTHORIZATION"], "Bearer t");
    assert_eq!(e["mod_wsgi.application_group"], "site-one");
    let e = get_env(&s, "/b");
    assert_eq!(e["mod_wsgi.application_group"], "");
}

#[test]
fn multithread_and_multiprocess_follow_the_mpm() {
    let s = ServerBuilder::new("prefork")
        .mpm("prefork", 2, 1)
        .conf("WSGIScriptAlias /e {apps}/environ.wsgi")
        .start();
    let e = get_env(&s, "/e");
    assert_eq!(
        (e["wsgi.multithread"].as_str(), e["wsgi.multiprocess"].as_str()),
        ("False", "True")
    );
    let s = ServerBuilder::new("event1")
        .mpm("event", 1, 4)
        .conf("WSGIScriptAlias /e {apps}/environ.wsgi")
        .start();
    let e = get_env(&s, "/e");
    assert_eq!(
        (e["wsgi.multithread"].as_str(), e["wsgi.multiprocess"].as_str()),
        ("True", "False")
    );
}

#[test]
fn handler_mounting_needs_exec_cgi() {
    let s = ServerBuilder::new("handler")
        .global(&format!(
            "<IfModule !mod_mime.c>\nLoadModule mime_module {}/mod_mime.so\n</IfModule>\nTypesConfig /dev/null\n<IfModule !mod_alias.c>\nLoadModule alias_module {}/mod_alias.so\n</IfModule>",
            kit::modules_dir(),
            kit::modules_dir()
        ))
        .conf("Alias /h {apps}\n<Directory {apps}>\nAddHandler wsgi-script .wsgi\n</Directory>\nAlias /x {root}/x\n<Directory {root}/x>\nRequire all granted\nOptions +ExecCGI\nAddHandler wsgi-script .wsgi\n</Directory>")
        .start();
    std::fs::create_dir_all(s.root.join("x")).expect("mkdir");
    std::fs::copy(s.root.join("apps/hello.wsgi"), s.root.join("x/hello.wsgi")).expect("copy");
    assert_eq!(
        s.get("/h/hello.wsgi").status,
        403,
        "AddHandler without Options ExecCGI is refused"
    );
    assert!(s.wait_log("Options ExecCGI is off", 5));
    let r = s.get("/x/hello.wsgi");
    assert_eq!((r.status, r.text().as_str()), (200, "Hello World!"));
}
