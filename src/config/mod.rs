//! Configuration: the directive table, the per-server and per-directory config structures, their merge, and
//! the pure parsers behind every directive. No httpd types here: the apache layer turns `command_rec` calls into
//! `Directive::parse` calls and owns the memory these structs live in.
#![deny(unsafe_code)]

pub mod daemon;
pub mod directives;
pub mod parse;
pub mod routing;

pub use directives::{DIRECTIVES, Scope};
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

/// One WSGIScriptAlias line. `url` has no trailing slash unless the target is a directory mount ("/" becomes "").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptAlias {
    pub url: String,
    /// True when the URL was written with a trailing slash: then only "URL/..." matches, not "URL" alone.
    pub url_slash: bool,
    pub target: String,
    /// The target is a directory of scripts (written with a trailing slash or found to be a directory).
    pub target_is_dir: bool,
    pub options: AliasOptions,
}

impl ScriptAlias {
    /// If `uri` falls under this mount, the remainder of the URI after the mount point (may be empty).
    pub fn matches<'u>(&self, uri: &'u [u8]) -> Option<&'u [u8]> {
        let rest = uri.strip_prefix(self.url.as_bytes())?;
        if self.url_slash {
            // "/app/" matches "/app/..." only.
            return if rest.starts_with(b"/") { Some(rest) } else { None };
        }
        if rest.is_empty() || rest.starts_with(b"/") || self.url.is_empty() {
            Some(rest)
        } else {
            None
        }
    }

    /// The file name httpd should walk for a URI remainder: the directory walk then splits off PATH_INFO.
    pub fn filename_for(&self, rest: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.target.len() + rest.len() + 1);
        if self.target_is_dir {
            out.extend_from_slice(self.target.trim_end_matches('/').as_bytes());
            out.push(b'/');
            let skip = rest.iter().take_while(|&&b| b == b'/').count();
            out.extend_from_slice(&rest[skip..]);
        } else {
            out.extend_from_slice(self.target.as_bytes());
            out.extend_from_slice(rest);
        }
        out
    }
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
    pub socket_prefix: Option<String>,
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alias(url: &str, target: &str, dir: bool) -> ScriptAlias {
        parse::script_alias(&[url.to_string(), target.to_string()], |_| dir).expect("valid alias")
    }

    #[test]
    fn root_mount_matches_everything() {
        let a = alias("/", "/srv/app.wsgi", false);
        assert_eq!(a.matches(b"/"), Some(&b"/"[..]));
        assert_eq!(a.matches(b"/x/y"), Some(&b"/x/y"[..]));
        assert_eq!(a.filename_for(b"/x"), b"/srv/app.wsgi/x".to_vec());
    }

    #[test]
    fn sub_mount_matches_on_segment_boundary() {
        let a = alias("/app", "/srv/app.wsgi", false);
        assert_eq!(a.matches(b"/app"), Some(&b""[..]));
        assert_eq!(a.matches(b"/app/x"), Some(&b"/x"[..]));
        assert_eq!(a.matches(b"/application"), None);
        assert_eq!(a.matches(b"/"), None);
    }

    #[test]
    fn trailing_slash_mount_requires_slash() {
        let a = alias("/app/", "/srv/app.wsgi", false);
        assert_eq!(a.matches(b"/app"), None);
        assert_eq!(a.matches(b"/app/"), Some(&b"/"[..]));
        assert_eq!(a.filename_for(b"/x"), b"/srv/app.wsgi/x".to_vec());
    }

    #[test]
    fn directory_mount_maps_into_directory() {
        let a = alias("/scripts/", "/srv/scripts/", true);
        assert_eq!(a.filename_for(b"/one.wsgi/x"), b"/srv/scripts/one.wsgi/x".to_vec());
    }

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
