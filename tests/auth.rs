//! Python answering Apache's access and authentication phases (WSGIAccessScript, WSGIAuthUserScript behind
//! AuthBasicProvider / AuthDigestProvider wsgi, WSGIAuthGroupScript behind `Require wsgi-group`), with the app
//! in embedded and in daemon mode: real httpd, real Basic and Digest clients (curl).

use std::process::Command;

use rwsgi_testkit as kit;

use kit::ServerBuilder;

fn modules() -> String {
    let mods = kit::modules_dir();
    [
        ("auth_basic_module", "mod_auth_basic.so", "mod_auth_basic.c"),
        ("auth_digest_module", "mod_auth_digest.so", "mod_auth_digest.c"),
        ("authn_core_module", "mod_authn_core.so", "mod_authn_core.c"),
        ("authz_user_module", "mod_authz_user.so", "mod_authz_user.c"),
    ]
    .iter()
    .map(|(name, file, c)| format!("<IfModule !{c}>\nLoadModule {name} {mods}/{file}\n</IfModule>\n"))
    .collect()
}

fn server(tag: &str) -> kit::Server {
    let mut conf = String::from("WSGIDaemonProcess authd processes=1 threads=2\n");
    for (mount, group) in [("/emb", ""), ("/dmn", " process-group=authd")] {
        conf.push_str(&format!(
            "WSGIScriptAlias {mount} {{apps}}/environ.wsgi{group}\n\
             <Location {mount}/basic>\nAuthType Basic\nAuthName \"Basic Area\"\nAuthBasicProvider wsgi\nWSGIAuthUserScript {{apps}}/authnz.wsgi\nRequire valid-user\n</Location>\n\
             <Location {mount}/digest>\nAuthType Digest\nAuthName \"Digest Area\"\nAuthDigestProvider wsgi\nWSGIAuthUserScript {{apps}}/authnz.wsgi\nRequire valid-user\n</Location>\n\
             <Location {mount}/group>\nAuthType Basic\nAuthName \"Group Area\"\nAuthBasicProvider wsgi\nWSGIAuthUserScript {{apps}}/authnz.wsgi\nWSGIAuthGroupScript {{apps}}/authnz.wsgi\nRequire wsgi-group secret-agents\n</Location>\n\
             <Location {mount}/lenient>\nAuthType Basic\nAuthName \"Lenient\"\nAuthBasicProvider wsgi\nWSGIAuthUserScript {{apps}}/authnz.wsgi\nWSGIAuthGroupScript {{apps}}/authnz.wsgi\nWSGIGroupAuthoritative Off\n<RequireAny>\nRequire wsgi-group secret-agents\nRequire user citizen\n</RequireAny>\n</Location>\n\
             <Location {mount}/gate>\nWSGIAccessScript {{apps}}/authnz.wsgi application-group=gate\n</Location>\n"
        ));
    }
    ServerBuilder::new(tag).global(&modules()).conf(&conf).start()
}

/// (status, body) of curl with `args`.
fn curl(s: &kit::Server, path: &str, args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "20", "-w", "\n%{http_code}"])
        .args(args)
        .arg(format!("http://127.0.0.1:{}{path}", s.port))
        .output()
        .expect("curl (apt-get install curl; ./dev test installs it)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn env_value(body: &str, key: &str) -> Option<String> {
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}\t")).map(str::to_string))
}

#[test]
fn basic_and_digest_authentication_by_a_python_script() {
    let s = server("auth-users");
    for mode in ["/emb", "/dmn"] {
        let basic = format!("{mode}/basic/x");
        let r = s.get(&basic);
        assert_eq!(r.status, 401, "{mode}");
        assert_eq!(r.header("WWW-Authenticate"), Some("Basic realm=\"Basic Area\""));
        let (code, body) = curl(&s, &basic, &["-u", "spy:secret"]);
        assert_eq!(code, 200, "{mode}: {body}");
        assert_eq!(env_value(&body, "REMOTE_USER").as_deref(), Some("spy"));
        assert_eq!(env_value(&body, "AUTH_TYPE").as_deref(), Some("Basic"));
        assert_eq!(curl(&s, &basic, &["-u", "spy:wrong"]).0, 401, "{mode}");
        assert_eq!(curl(&s, &basic, &["-u", "nobody:x"]).0, 401, "{mode}");
        // A str answer names the user.
        let (code, body) = curl(&s, &basic, &["-u", "renamed:secret"]);
        assert_eq!(
            (code, env_value(&body, "REMOTE_USER").as_deref()),
            (200, Some("canonical-name"))
        );
        // A hook that raises or answers nonsense: 500 with the reason logged, never a grant.
        assert_eq!(curl(&s, &basic, &["-u", "broken:x"]).0, 500, "{mode}");
        assert_eq!(curl(&s, &basic, &["-u", "weird:x"]).0, 500, "{mode}");

        let digest = format!("{mode}/digest/x");
        assert_eq!(s.get(&digest).status, 401);
        let (code, body) = curl(&s, &digest, &["--digest", "-u", "spy:secret"]);
        assert_eq!(code, 200, "{mode}: {body}");
        assert_eq!(env_value(&body, "REMOTE_USER").as_deref(), Some("spy"));
        assert_eq!(env_value(&body, "AUTH_TYPE").as_deref(), Some("Digest"));
        assert_eq!(curl(&s, &digest, &["--digest", "-u", "spy:wrong"]).0, 401);
    }
    let log = s.error_log();
    assert!(log.contains("ValueError: the user store is down"), "{log}");
    assert!(
        log.contains("ValueError exception raised processing WSGI script"),
        "{log}"
    );
    assert!(
        log.contains("check_password() must return True, False, None or the user name as a str, not int"),
        "{log}"
    );
}

#[test]
fn group_authorisation_and_access_scripts() {
    let s = server("auth-groups");
    for mode in ["/emb", "/dmn"] {
        let group = format!("{mode}/group/x");
        let (code, body) = curl(&s, &group, &["-u", "spy:secret"]);
        assert_eq!(code, 200, "{mode}: {body}");
        assert_eq!(env_value(&body, "REMOTE_USER").as_deref(), Some("spy"));
        // In no group / not in the group: 401 (Apache 2.4 answers an authenticated but unauthorised user so).
        assert_eq!(curl(&s, &group, &["-u", "citizen:secret"]).0, 401, "{mode}");
        assert_eq!(curl(&s, &group, &["-u", "renamed:secret"]).0, 401, "{mode}");
        assert_eq!(curl(&s, &group, &["-u", "spy:wrong"]).0, 401, "{mode}");
        // WSGIGroupAuthoritative Off: not a member is neutral, another Require line may grant.
        let lenient = format!("{mode}/lenient/x");
        assert_eq!(curl(&s, &lenient, &["-u", "citizen:secret"]).0, 200, "{mode}");
        assert_eq!(curl(&s, &lenient, &["-u", "renamed:secret"]).0, 401, "{mode}");

        let (code, body) = curl(&s, &format!("{mode}/gate/allow"), &[]);
        assert_eq!(code, 200, "{mode}: {body}");
        assert_eq!(env_value(&body, "REMOTE_USER"), None);
        assert_eq!(curl(&s, &format!("{mode}/gate/deny"), &[]).0, 403, "{mode}");
        // None: no opinion (the rest of the configuration allows).
        assert_eq!(curl(&s, &format!("{mode}/gate/neutral"), &[]).0, 200, "{mode}");
        assert_eq!(curl(&s, &format!("{mode}/gate/bad"), &[]).0, 403, "{mode}");
    }
    let log = s.error_log();
    assert!(log.contains("User is not a member of any groups."), "{log}");
    assert!(log.contains("User is not a member of designated groups."), "{log}");
    assert!(log.contains("Client denied by server configuration"), "{log}");
    assert!(log.contains("allow_access() must return True, False or None"), "{log}");
}

#[test]
fn hook_directives_are_checked_at_config_time() {
    for (line, needle) in [
        ("WSGIAuthUserScript /x.wsgi", "not allowed here"),
        (
            "<Location /a>\nWSGIAuthUserScript relative.wsgi\n</Location>",
            "must be absolute",
        ),
        (
            "<Location /a>\nWSGIAccessScript /x.wsgi process-group=g\n</Location>",
            "the only option is application-group=",
        ),
        (
            "<Location /a>\nWSGIAuthGroupScript /x.wsgi application-group=%{RESOURCE}\n</Location>",
            "does not apply here",
        ),
    ] {
        let (ok, out) = ServerBuilder::new("auth-bad").conf(line).config_test();
        assert!(!ok, "{line} accepted");
        assert!(out.contains(needle), "{line}: {out}");
    }
}

/// WSGIRestrictEmbedded On keeps WSGI apps out of the httpd children, not the hook scripts (as mod_wsgi).
#[test]
fn hooks_run_under_restrict_embedded() {
    let s = ServerBuilder::new("auth-restricted")
        .global(&modules())
        .conf(
            "WSGIRestrictEmbedded On\nWSGIDaemonProcess authd processes=1 threads=2\n\
             WSGIScriptAlias /dmn {apps}/environ.wsgi process-group=authd\nWSGIScriptAlias /emb {apps}/environ.wsgi\n\
             <Location /dmn/basic>\nAuthType Basic\nAuthName \"Basic Area\"\nAuthBasicProvider wsgi\nWSGIAuthUserScript {apps}/authnz.wsgi\nRequire valid-user\n</Location>",
        )
        .start();
    let (code, body) = curl(&s, "/dmn/basic/x", &["-u", "spy:secret"]);
    assert_eq!(code, 200, "{body}");
    assert_eq!(env_value(&body, "REMOTE_USER").as_deref(), Some("spy"));
    assert_eq!(curl(&s, "/dmn/basic/x", &["-u", "spy:wrong"]).0, 401);
    assert_eq!(s.get("/emb").status, 500);
    assert!(
        s.wait_log("embedded mode is disabled by WSGIRestrictEmbedded On", 5),
        "{}",
        s.error_log()
    );
}
