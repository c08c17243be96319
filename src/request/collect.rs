//! Collecting the request model in the httpd child, as plain bytes: the CGI variables
//! (httpd's own `ap_add_common_vars` plus the request keys), the mod_wsgi.* keys, and the resolved script,
//! callable and groups. Embedded mode turns it into the environ directly; daemon mode sends it to the daemon,
//! so the environ is the same in both modes.

use super::{Environ, RequestHead};
use crate::apache::Request;
use crate::config::{AppGroup, CallableName, Effective};

std::thread_local! {
    /// This process's id, asked once per thread (httpd's worker threads start after the fork).
    static SERVER_PID: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

fn server_pid() -> u32 {
    SERVER_PID.with(|c| {
        if c.get() == 0 {
            c.set(std::process::id());
        }
        c.get()
    })
}

fn find<'a>(vars: &[(&'a [u8], &'a [u8])], name: &[u8]) -> Option<&'a [u8]> {
    vars.iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
}

/// `handler_script`: the WSGIHandlerScript serving the request (None: the script httpd mapped the URL to).
pub fn collect(req: Request<'_>, eff: &Effective, handler_script: Option<&str>) -> RequestHead {
    req.add_common_vars();
    let vars = req.subprocess_env();
    let (script_name, path_info) = mount_split(req, eff.case_sensitive);
    let script_name: &[u8] = &script_name;

    let application_group = application_group(req, &vars, &eff.application_group, script_name);
    let callable = match &eff.callable_object {
        CallableName::Named(n) => n.as_bytes().to_vec(),
        CallableName::Env(var) => find(&vars, var.as_bytes())
            .filter(|v| !v.is_empty())
            .unwrap_or(b"application")
            .to_vec(),
    };
    let process_group = eff.process_group.environ_value().as_bytes().to_vec();

    // WSGITrustedProxyHeaders: what the front-end proxy's headers change (nothing when none are listed).
    let proxy = super::proxy::rewrite(&eff.trusted_proxy_headers, eff.trusted_proxies.as_deref(), |k| {
        find(&vars, k)
    });

    let bytes: usize = vars.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() + 1024;
    let mut env = Environ::with_capacity(vars.len() + 24, bytes);
    for (k, v) in &vars {
        // PATH is the server's, not the request's; HTTP_PROXY is attacker-controlled (httpoxy);
        // PATH_TRANSLATED would cost a sub-request. Authorization only when allowed, below.
        if matches!(*k, b"PATH" | b"HTTP_PROXY" | b"HTTP_AUTHORIZATION" | b"PATH_TRANSLATED")
            || proxy.drops(k)
            || (proxy.https.is_some() && matches!(*k, b"HTTPS" | b"REQUEST_SCHEME"))
        {
            continue;
        }
        env.push(k, v);
    }
    for (k, v) in &proxy.set {
        if *k != b"SCRIPT_NAME" {
            env.push(k, v);
        }
    }
    if let Some(https) = proxy.https {
        // The scheme the proxy's client used, not the one of the proxy's connection to httpd.
        env.push(b"REQUEST_SCHEME", if https { b"https" } else { b"http" });
        if https {
            env.push(b"HTTPS", b"on");
        }
    }
    let mut set = |k: &[u8], v: &[u8]| env.push(k, v);
    // WSGIMapHEADToGET: a HEAD the app sees as GET, so that a filter that needs the body gets one.
    let as_get = req.is_head()
        && match eff.map_head_to_get {
            crate::config::HeadToGet::On => true,
            crate::config::HeadToGet::Off => false,
            crate::config::HeadToGet::Auto => req.has_content_filter(),
        };
    set(
        b"REQUEST_METHOD",
        if as_get { b"GET" } else { req.method().unwrap_or(b"GET") },
    );
    set(b"SERVER_PROTOCOL", req.protocol().unwrap_or(b"HTTP/1.0"));
    set(b"GATEWAY_INTERFACE", b"CGI/1.1");
    set(b"QUERY_STRING", req.args().unwrap_or_default());
    set(b"REQUEST_URI", req.unparsed_uri().or(req.uri()).unwrap_or(b"/"));
    match proxy.script_name() {
        Some(mount) => {
            set(b"SCRIPT_NAME", mount);
            set(b"mod_wsgi.mount_point", mount);
        }
        None => set(b"SCRIPT_NAME", script_name),
    }
    set(b"PATH_INFO", path_info);
    if eff.pass_authorization {
        if let Some(auth) = req.header_in(c"Authorization") {
            set(b"HTTP_AUTHORIZATION", auth);
        }
    }
    set(b"mod_wsgi.process_group", &process_group);
    set(b"mod_wsgi.application_group", &application_group);
    set(b"mod_wsgi.callable_object", &callable);
    set(b"mod_wsgi.request_handler", req.handler().unwrap_or(b"wsgi-script"));
    set(
        b"mod_wsgi.handler_script",
        handler_script.unwrap_or_default().as_bytes(),
    );
    set(
        b"mod_wsgi.ignore_activity",
        if eff.ignore_activity { b"1" } else { b"0" },
    );
    set(
        b"mod_wsgi.script_reloading",
        if eff.script_reloading { b"1" } else { b"0" },
    );
    set(b"mod_wsgi.script_name", script_name);
    set(b"mod_wsgi.path_info", path_info);
    set(b"mod_wsgi.request_id", req.ensure_log_id().unwrap_or_default());
    set(b"mod_wsgi.server", b"mod_rwsgi");
    if let Some(avg) = crate::sys::allocs::per_request() {
        set(b"mod_rwsgi.allocations_per_request", format!("{avg:.1}").as_bytes());
    }
    let mut digits = [0u8; 10];
    set(b"mod_wsgi.server_pid", super::decimal(server_pid(), &mut digits));

    let (script, mtime) = match handler_script {
        Some(h) => (h.as_bytes().to_vec(), file_mtime(h)),
        None => (req.filename().unwrap_or_default().to_vec(), req.file_info().mtime),
    };
    RequestHead {
        script,
        mtime,
        apache_request: if eff.pass_apache_request { req.address() } else { 0 },
        callable,
        application_group,
        process_group,
        script_reloading: eff.script_reloading,
        header_only: req.header_only(),
        body_pushed: false,
        start_us: req.request_time(),
        queue_start_us: 0,
        daemon_start_us: 0,
        environ: env,
    }
}

/// The value of an application group for this request (WSGIApplicationGroup, application-group=, or what a
/// WSGIDispatchScript returned).
pub fn application_group(req: Request<'_>, vars: &[(&[u8], &[u8])], group: &AppGroup, script_name: &[u8]) -> Vec<u8> {
    let server = || {
        let mut v = find(vars, b"SERVER_NAME").unwrap_or_default().to_vec();
        let port = find(vars, b"SERVER_PORT").unwrap_or(b"80");
        if port != b"80" && port != b"443" {
            v.push(b':');
            v.extend_from_slice(port);
        }
        v
    };
    match group {
        AppGroup::Global => Vec::new(),
        AppGroup::Named(n) => n.as_bytes().to_vec(),
        AppGroup::Host => req.header_in(c"Host").unwrap_or_default().to_vec(),
        AppGroup::Server => server(),
        AppGroup::Resource => {
            let mut v = server();
            v.push(b'|');
            v.extend_from_slice(script_name);
            v
        }
        AppGroup::Env(var) => find(vars, var.as_bytes()).unwrap_or_default().to_vec(),
    }
}

/// SCRIPT_NAME and PATH_INFO of the request: the mount the URL matched (repeated slashes collapsed, as mod_wsgi's
/// SCRIPT_NAME: the mount matched them as one; lower-cased with WSGICaseSensitivity Off) and the rest.
fn mount_split<'r>(req: Request<'r>, case_sensitive: bool) -> (std::borrow::Cow<'r, [u8]>, &'r [u8]) {
    let uri = req.uri().unwrap_or(b"/");
    let split = req.path_info_start().min(uri.len());
    let script_name = uri[..split].strip_suffix(b"/").unwrap_or(&uri[..split]);
    let path_info = req.path_info().unwrap_or_default();
    if case_sensitive && !script_name.windows(2).any(|w| w == b"//") {
        return (std::borrow::Cow::Borrowed(script_name), path_info);
    }
    let mut v = Vec::with_capacity(script_name.len());
    for &b in script_name {
        if !(b == b'/' && v.last() == Some(&b'/')) {
            v.push(if case_sensitive { b } else { b.to_ascii_lowercase() });
        }
    }
    (std::borrow::Cow::Owned(v), path_info)
}

/// The variables a hook script's environ is made of (WSGIAccessScript, WSGIAuthUserScript, WSGIAuthGroupScript):
/// httpd's CGI variables without the credentials, the request line's keys, SCRIPT_NAME / PATH_INFO, and
/// mod_wsgi.process_group / application_group (hooks run in the httpd child).
pub fn hook_vars(req: Request<'_>, application_group: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    req.add_common_vars();
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = req
        .subprocess_env()
        .into_iter()
        .filter(|(k, _)| {
            !matches!(
                *k,
                b"PATH" | b"HTTP_PROXY" | b"HTTP_AUTHORIZATION" | b"HTTP_PROXY_AUTHORIZATION" | b"PATH_TRANSLATED"
            )
        })
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    let (script_name, path_info) = mount_split(req, true);
    let uri = req.uri().unwrap_or(b"/");
    for (k, v) in [
        (&b"SERVER_PROTOCOL"[..], req.protocol().unwrap_or(b"HTTP/1.0")),
        (b"REQUEST_METHOD", req.method().unwrap_or(b"GET")),
        (b"QUERY_STRING", req.args().unwrap_or_default()),
        (b"REQUEST_URI", req.unparsed_uri().unwrap_or(uri)),
        (b"SCRIPT_NAME", &script_name),
        (b"PATH_INFO", path_info),
        (b"mod_wsgi.process_group", b""),
        (b"mod_wsgi.application_group", application_group),
    ] {
        out.retain(|(n, _)| n != k);
        out.push((k.to_vec(), v.to_vec()));
    }
    out
}

/// Modification time in microseconds since the epoch (0 when the file cannot be read: loading then reports it).
fn file_mtime(path: &str) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
