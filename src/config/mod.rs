//! Configuration: the directive table, the per-server and per-directory config structures, their merge, and
//! the pure parsers behind every directive. No httpd types here: the apache layer turns `command_rec` calls into
//! `Directive::parse` calls and owns the memory these structs live in.
#![deny(unsafe_code)]

pub mod daemon;
mod directive_table;
pub mod directives;
pub mod mount;
pub mod parse;
pub mod proxy;
pub mod routing;

pub use directives::{DIRECTIVES, Scope};
pub use mount::{MountKind, ScriptAlias, UrlPattern};
pub use routing::{ProcessGroup, preloads, serving_group};

/// A value of WSGIApplicationGroup / application-group= (reported to the app; mod_rwsgi runs one interpreter
/// per process, see docs/compat.md).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppGroup {
    Global,
    Resource,
    Server,
    Host,
    Env(String),
    Named(String),
}

/// A value of WSGICallableObject / callable-object=.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallableName {
    Named(String),
    Env(String),
}

/// Options that can ride on a WSGIScriptAlias line and override the directory config for that mount.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AliasOptions {
    pub process_group: Option<ProcessGroup>,
    pub application_group: Option<AppGroup>,
    pub callable_object: Option<CallableName>,
    pub pass_authorization: Option<bool>,
}

/// Per-server (main server or virtual host) configuration.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    pub aliases: Vec<ScriptAlias>,
    pub python_home: Option<String>,
    pub python_path: Vec<String>,
    pub restrict_embedded: Option<bool>,
    /// WSGIDaemonProcess groups defined in this server (main server or one virtual host).
    pub daemons: Vec<daemon::DaemonGroup>,
    /// As written: absolute, or relative to ServerRoot (resolved by whoever creates the sockets).
    pub socket_prefix: Option<String>,
    /// WSGIImportScript lines of this server.
    pub imports: Vec<routing::Preload>,
    /// Literal daemon group names used by WSGIProcessGroup / WSGIRestrictProcess in this server's sections,
    /// checked against the defined groups once the whole configuration is read.
    pub group_refs: Vec<GroupRef>,
    /// Interpreter-wide settings (main server only).
    pub python: PythonOptions,
    /// WSGISlowRequests: log requests that took longer than this many seconds.
    pub slow_requests: Option<f64>,
    /// A hook script (WSGIDispatchScript, WSGIAccessScript, WSGIAuth*Script) is configured in this server's
    /// sections: the httpd children need Python even under WSGIRestrictEmbedded On (as mod_wsgi).
    pub hook_scripts: bool,
}

impl ServerConfig {
    /// WSGISocketPrefix as a path: a relative prefix is under ServerRoot (RHEL's documented `run/wsgi`).
    pub fn socket_prefix_in(&self, server_root: &str) -> Option<String> {
        self.socket_prefix.as_ref().map(|p| {
            if p.starts_with('/') {
                p.clone()
            } else {
                format!("{}/{p}", server_root.trim_end_matches('/'))
            }
        })
    }
}

/// A daemon group named by a directive, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupRef {
    pub name: String,
    /// "file:line DIRECTIVE".
    pub origin: String,
}

/// The global directives that shape every interpreter mod_rwsgi starts (embedded and daemon processes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PythonOptions {
    /// WSGIPythonOptimize: 0, 1 or 2 (-O, -OO).
    pub optimize: Option<u8>,
    pub dont_write_bytecode: Option<bool>,
    /// WSGIPythonWarnings, in order (-W options).
    pub warnings: Vec<String>,
    /// WSGIPythonHashSeed: None = random (PYTHONHASHSEED unset), Some(n) = fixed seed (0 disables hashing
    /// randomisation).
    pub hash_seed: Option<u32>,
    /// WSGISwitchInterval, seconds (sys.setswitchinterval).
    pub switch_interval: Option<f64>,
    pub restrict_stdin: Option<bool>,
    pub restrict_stdout: Option<bool>,
    /// Default On: signal.signal() in app code is ignored with a warning.
    pub restrict_signal: Option<bool>,
    /// Default On: atexit handlers and interpreter finalisation run when a process exits.
    pub destroy_interpreter: Option<bool>,
    /// WSGIServerMetrics (default Off): mod_wsgi.server_metrics() answers with Apache's scoreboard.
    pub server_metrics: Option<bool>,
}

/// A WSGIHandlerScript: a script whose `handle_request` serves requests given the handler NAME.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandlerScript {
    pub name: String,
    pub script: String,
    pub options: AliasOptions,
}

/// Per-directory configuration (also the server default for requests outside any section).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirConfig {
    pub application_group: Option<AppGroup>,
    pub callable_object: Option<CallableName>,
    pub pass_authorization: Option<bool>,
    pub script_reloading: Option<bool>,
    pub chunked_request: Option<bool>,
    pub process_group: Option<ProcessGroup>,
    /// "file:line" of the WSGIProcessGroup that set `process_group` (named in per-request errors).
    pub process_group_origin: Option<String>,
    /// WSGIRestrictProcess: the only groups requests here may be sent to ("" = embedded mode).
    pub restrict_process: Option<Vec<String>>,
    /// WSGIHandlerScript lines (nearest section first).
    pub handler_scripts: Vec<HandlerScript>,
    /// WSGIEnableSendfile (None: Apache's EnableSendfile decides).
    pub enable_sendfile: Option<bool>,
    /// WSGIIgnoreActivity: requests here do not count as activity for inactivity-timeout.
    pub ignore_activity: Option<bool>,
    /// WSGIPassApacheRequest: environ['apache.request_rec'] in embedded mode.
    pub pass_apache_request: Option<bool>,
    /// WSGICaseSensitivity Off: SCRIPT_NAME lower-cased (case-insensitive file systems).
    pub case_sensitivity: Option<bool>,
    /// WSGIErrorOverride: a daemon's 4xx/5xx response is replaced by httpd's error document.
    pub error_override: Option<bool>,
    /// WSGIMapHEADToGET.
    pub map_head_to_get: Option<HeadToGet>,
    /// WSGITrustedProxyHeaders: the proxy headers applied (and their synonyms removed).
    pub trusted_proxy_headers: Option<Vec<proxy::ProxyHeader>>,
    /// WSGITrustedProxies: the peers whose proxy headers are applied (None: every peer).
    pub trusted_proxies: Option<Vec<proxy::ProxyNet>>,
    /// WSGIAccessScript: allow_access(environ, host) decides access.
    pub access_script: Option<HookScript>,
    /// WSGIAuthUserScript: check_password() / get_realm_hash() behind the "wsgi" authn provider.
    pub auth_user_script: Option<HookScript>,
    /// WSGIAuthGroupScript: groups_for_user() behind `Require wsgi-group`.
    pub auth_group_script: Option<HookScript>,
    /// WSGIDispatchScript: chooses process group, application group and callable per request.
    pub dispatch_script: Option<HookScript>,
    /// WSGIGroupAuthoritative Off: a user in none of the groups is not denied by `Require wsgi-group`
    /// (neutral: other Require lines decide).
    pub group_authoritative: Option<bool>,
}

/// A Python script run for an Apache phase (access, authentication, group authorisation) in the httpd child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookScript {
    pub script: String,
    /// Reported as mod_wsgi.application_group to the script (one interpreter per process).
    pub application_group: AppGroup,
}

/// WSGIMapHEADToGET: whether the application sees a HEAD request as GET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadToGet {
    /// Always (so that output filters get a full body).
    On,
    Off,
    /// When an output filter that needs the body (a content filter such as mod_deflate) is on the request.
    Auto,
}

/// Child values win over parent values, field by field.
pub trait Merge {
    fn merge(parent: &Self, child: &Self) -> Self;
}

impl Merge for DirConfig {
    fn merge(parent: &Self, child: &Self) -> Self {
        DirConfig {
            application_group: child
                .application_group
                .clone()
                .or_else(|| parent.application_group.clone()),
            callable_object: child.callable_object.clone().or_else(|| parent.callable_object.clone()),
            pass_authorization: child.pass_authorization.or(parent.pass_authorization),
            script_reloading: child.script_reloading.or(parent.script_reloading),
            chunked_request: child.chunked_request.or(parent.chunked_request),
            process_group: child.process_group.clone().or_else(|| parent.process_group.clone()),
            process_group_origin: if child.process_group.is_some() {
                child.process_group_origin.clone()
            } else {
                parent.process_group_origin.clone()
            },
            restrict_process: child
                .restrict_process
                .clone()
                .or_else(|| parent.restrict_process.clone()),
            handler_scripts: child
                .handler_scripts
                .iter()
                .chain(parent.handler_scripts.iter())
                .cloned()
                .collect(),
            enable_sendfile: child.enable_sendfile.or(parent.enable_sendfile),
            ignore_activity: child.ignore_activity.or(parent.ignore_activity),
            pass_apache_request: child.pass_apache_request.or(parent.pass_apache_request),
            case_sensitivity: child.case_sensitivity.or(parent.case_sensitivity),
            error_override: child.error_override.or(parent.error_override),
            map_head_to_get: child.map_head_to_get.or(parent.map_head_to_get),
            trusted_proxy_headers: child
                .trusted_proxy_headers
                .clone()
                .or_else(|| parent.trusted_proxy_headers.clone()),
            trusted_proxies: child.trusted_proxies.clone().or_else(|| parent.trusted_proxies.clone()),
            access_script: child.access_script.clone().or_else(|| parent.access_script.clone()),
            auth_user_script: child
                .auth_user_script
                .clone()
                .or_else(|| parent.auth_user_script.clone()),
            auth_group_script: child
                .auth_group_script
                .clone()
                .or_else(|| parent.auth_group_script.clone()),
            group_authoritative: child.group_authoritative.or(parent.group_authoritative),
            dispatch_script: child.dispatch_script.clone().or_else(|| parent.dispatch_script.clone()),
        }
    }
}

impl Merge for ServerConfig {
    fn merge(parent: &Self, child: &Self) -> Self {
        // A virtual host's own aliases are tried first, then the main server's (first declared, first matched).
        let mut aliases = child.aliases.clone();
        aliases.extend(parent.aliases.iter().cloned());
        ServerConfig {
            aliases,
            // Global-only settings always come from the main server.
            python_home: parent.python_home.clone(),
            python_path: parent.python_path.clone(),
            restrict_embedded: parent.restrict_embedded,
            // Each server keeps the groups it defines; the daemon manager walks every server.
            daemons: child.daemons.clone(),
            socket_prefix: parent.socket_prefix.clone(),
            imports: child.imports.clone(),
            group_refs: child.group_refs.clone(),
            python: parent.python.clone(),
            slow_requests: parent.slow_requests,
            hook_scripts: child.hook_scripts || parent.hook_scripts,
        }
    }
}

/// The effective settings for one request: directory config overridden by the matched alias's options.
#[derive(Clone, Debug)]
pub struct Effective {
    pub application_group: AppGroup,
    pub callable_object: CallableName,
    pub pass_authorization: bool,
    pub script_reloading: bool,
    pub chunked_request: bool,
    pub process_group: ProcessGroup,
    pub ignore_activity: bool,
    pub pass_apache_request: bool,
    pub case_sensitive: bool,
    pub error_override: bool,
    pub map_head_to_get: HeadToGet,
    pub trusted_proxy_headers: Vec<proxy::ProxyHeader>,
    pub trusted_proxies: Option<Vec<proxy::ProxyNet>>,
}

impl Effective {
    pub fn resolve(dir: &DirConfig, alias: Option<&AliasOptions>) -> Effective {
        let process_group = serving_group(alias, dir);
        let a = alias.cloned().unwrap_or_default();
        Effective {
            application_group: a
                .application_group
                .or_else(|| dir.application_group.clone())
                .unwrap_or(AppGroup::Global),
            callable_object: a
                .callable_object
                .or_else(|| dir.callable_object.clone())
                .unwrap_or_else(|| CallableName::Named("application".to_string())),
            pass_authorization: a.pass_authorization.or(dir.pass_authorization).unwrap_or(false),
            script_reloading: dir.script_reloading.unwrap_or(true),
            chunked_request: dir.chunked_request.unwrap_or(false),
            process_group,
            ignore_activity: dir.ignore_activity.unwrap_or(false),
            pass_apache_request: dir.pass_apache_request.unwrap_or(false),
            case_sensitive: dir.case_sensitivity.unwrap_or(true),
            error_override: dir.error_override.unwrap_or(false),
            map_head_to_get: dir.map_head_to_get.unwrap_or(HeadToGet::Auto),
            trusted_proxy_headers: dir.trusted_proxy_headers.clone().unwrap_or_default(),
            trusted_proxies: dir.trusted_proxies.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_merge_child_wins() {
        let p = DirConfig {
            pass_authorization: Some(true),
            script_reloading: Some(false),
            ..Default::default()
        };
        let c = DirConfig {
            pass_authorization: Some(false),
            ..Default::default()
        };
        let m = DirConfig::merge(&p, &c);
        assert_eq!(m.pass_authorization, Some(false));
        assert_eq!(m.script_reloading, Some(false));
    }

    #[test]
    fn alias_options_override_dir() {
        let dir = DirConfig {
            callable_object: Some(CallableName::Named("app".into())),
            ..Default::default()
        };
        let opts = AliasOptions {
            callable_object: Some(CallableName::Named("other".into())),
            ..Default::default()
        };
        let e = Effective::resolve(&dir, Some(&opts));
        assert_eq!(e.callable_object, CallableName::Named("other".into()));
        let e = Effective::resolve(&dir, None);
        assert_eq!(e.callable_object, CallableName::Named("app".into()));
        assert!(e.script_reloading);
        assert!(!e.pass_authorization);
    }
}
