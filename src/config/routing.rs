//! The one place that answers "which process serves this mount" and "what is preloaded where". The handler
//! (per request), child_init (embedded preloading), the daemon manager (daemon preloading) and the start-up
//! checks (whose identity reads which script) all ask here, so they cannot disagree.

use super::{AliasOptions, AppGroup, CallableName, DirConfig, ServerConfig};

/// Who runs a request: the httpd child itself (embedded mode) or a daemon process group.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProcessGroup {
    /// `%{GLOBAL}` (mod_wsgi's name for embedded mode wherever a process group is named), or nothing named.
    #[default]
    Embedded,
    Daemon(String),
    /// `%{ENV:var}`: the group named by a variable of the request (SetEnv, SetEnvIf, RewriteRule [E=]).
    Env(String),
}

impl ProcessGroup {
    /// `WSGIProcessGroup` / `process-group=`: `%{GLOBAL}` is embedded mode, `%{ENV:var}` a per-request choice,
    /// a name a daemon group.
    pub fn parse(v: &str) -> Result<ProcessGroup, String> {
        if let Some(var) = v.strip_prefix("%{ENV:").and_then(|r| r.strip_suffix('}')) {
            if var.is_empty() || !var.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)) {
                return Err(format!("{v:?} names an invalid environment variable"));
            }
            return Ok(ProcessGroup::Env(var.to_string()));
        }
        match v {
            "%{GLOBAL}" => Ok(ProcessGroup::Embedded),
            _ if v.starts_with("%{") => Err(format!(
                "{v:?} is not supported: use %{{GLOBAL}} (embedded mode), %{{ENV:variable}} or a WSGIDaemonProcess name"
            )),
            _ => Ok(ProcessGroup::Daemon(super::parse::process_group_name(v)?)),
        }
    }

    /// The group for one request: `%{ENV:var}` looked up with `lookup` (a value of "" or `%{GLOBAL}` means
    /// embedded mode, as in mod_wsgi); the error names the variable and its value.
    pub fn resolve(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<ProcessGroup, String> {
        let ProcessGroup::Env(var) = self else {
            return Ok(self.clone());
        };
        let Some(value) = lookup(var) else {
            return Err(format!("%{{ENV:{var}}} is not set for this request"));
        };
        match value.as_str() {
            "" => Ok(ProcessGroup::Embedded),
            v if v.starts_with("%{ENV:") => Err(format!("%{{ENV:{var}}} is {v:?}, which names another variable")),
            v => ProcessGroup::parse(v).map_err(|e| format!("%{{ENV:{var}}} is {v:?}: {e}")),
        }
    }

    pub fn daemon(&self) -> Option<&str> {
        match self {
            ProcessGroup::Daemon(name) => Some(name),
            _ => None,
        }
    }

    /// The value of environ's mod_wsgi.process_group ("" in embedded mode, as mod_wsgi).
    pub fn environ_value(&self) -> &str {
        self.daemon().unwrap_or("")
    }
}

/// The process group serving a request: the mount's `process-group=` option, else `WSGIProcessGroup` of the
/// directory (or of the server, for questions asked before any request), else embedded mode.
pub fn serving_group(alias: Option<&AliasOptions>, dir: &DirConfig) -> ProcessGroup {
    alias
        .and_then(|a| a.process_group.clone())
        .or_else(|| dir.process_group.clone())
        .unwrap_or_default()
}

/// A script imported when a process of `group` starts, before any request.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Preload {
    pub group: ProcessGroup,
    pub script: String,
    /// The callable that must exist once imported (None: WSGIImportScript, which only imports).
    pub callable: Option<String>,
}

/// mod_wsgi's preloading rule: a WSGIScriptAlias of a script file that names a literal application group
/// (`%{GLOBAL}` or a name) is imported when each process of its serving group starts. `servers` are each
/// server's config with its server-level directory defaults. Each script appears once per group.
pub fn preloads<'a>(servers: impl IntoIterator<Item = (&'a ServerConfig, Option<&'a DirConfig>)>) -> Vec<Preload> {
    let none = DirConfig::default();
    let mut out: Vec<Preload> = Vec::new();
    for (server, dir) in servers {
        for p in &server.imports {
            if !out.contains(p) {
                out.push(p.clone());
            }
        }
        // A regex mount whose script or options depend on the URL has nothing to import before a request.
        let fixed =
            |a: &&super::ScriptAlias| !a.target_is_dir && a.deferred_options.is_empty() && !a.target.contains('$');
        for a in server.aliases.iter().filter(fixed) {
            if !matches!(a.options.application_group, Some(AppGroup::Global | AppGroup::Named(_))) {
                continue;
            }
            let callable = Some(match &a.options.callable_object {
                Some(CallableName::Named(n)) => n.clone(),
                _ => "application".to_string(),
            });
            let p = Preload {
                group: serving_group(Some(&a.options), dir.unwrap_or(&none)),
                script: a.target.clone(),
                callable,
            };
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// Every WSGIDaemonProcess group once, with the ServerName of the virtual host that defines it (None: the main
/// server). `servers` are each server's config with its ServerName (None for the main server), main server
/// first. A virtual host without mod_rwsgi directives of its own shares the main server's config: its groups
/// are the main server's, counted once (names are unique server-wide).
pub fn daemon_groups<'a>(
    servers: &[(&'a super::ServerConfig, Option<&'a str>)],
) -> Vec<(&'a super::daemon::DaemonGroup, Option<&'a str>)> {
    let mut out: Vec<(&super::daemon::DaemonGroup, Option<&str>)> = Vec::new();
    for (cfg, host) in servers {
        for g in &cfg.daemons {
            if !out.iter().any(|(d, _)| d.name == g.name) {
                out.push((g, *host));
            }
        }
    }
    out
}

/// Where each daemon group is defined: its name and the ServerName of the virtual host that defines it (None:
/// the main server, usable everywhere).
pub type GroupDefs<'a> = [(&'a str, Option<&'a str>)];

/// Checks every literal group a directive names against the defined groups, as a request would: the group must
/// exist and be defined in the main server or in a virtual host with the same ServerName. One message per
/// problem, naming the directive's file and line.
pub fn check_group_refs(defs: &GroupDefs<'_>, refs: &[(&super::GroupRef, &str)]) -> Vec<String> {
    let mut out = Vec::new();
    for (r, host) in refs {
        let here: Vec<&Option<&str>> = defs.iter().filter(|(n, _)| *n == r.name).map(|(_, h)| h).collect();
        if here.is_empty() {
            out.push(format!(
                "{}: names daemon process group {:?}, which no WSGIDaemonProcess defines; every request sent there would fail",
                r.origin, r.name
            ));
        } else if !here.iter().any(|h| h.is_none() || **h == Some(*host)) {
            out.push(format!(
                "{}: daemon process group {:?} is defined in a virtual host with another ServerName and cannot be used from {host:?}; define it in the main server or in this virtual host",
                r.origin, r.name
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse;

    fn server(lines: &[&[&str]]) -> ServerConfig {
        let mut s = ServerConfig::default();
        for l in lines {
            let words: Vec<String> = l.iter().map(|w| w.to_string()).collect();
            s.aliases
                .push(parse::script_alias(&words, |_| false).expect("valid alias"));
        }
        s
    }

    #[test]
    fn global_means_embedded_wherever_a_group_is_named() {
        assert_eq!(ProcessGroup::parse("%{GLOBAL}"), Ok(ProcessGroup::Embedded));
        assert_eq!(ProcessGroup::parse("site"), Ok(ProcessGroup::Daemon("site".into())));
        assert!(ProcessGroup::parse("%{RESOURCE}").is_err());
        assert_eq!(ProcessGroup::parse("%{ENV:PG}"), Ok(ProcessGroup::Env("PG".into())));
        assert!(ProcessGroup::parse("%{ENV:}").is_err());
        let s = server(&[&[
            "/",
            "/srv/a.wsgi",
            "process-group=%{GLOBAL}",
            "application-group=%{GLOBAL}",
        ]]);
        let dir = DirConfig {
            process_group: Some(ProcessGroup::Daemon("site".into())),
            ..Default::default()
        };
        // The mount's own %{GLOBAL} wins over a directory's daemon group.
        assert_eq!(serving_group(Some(&s.aliases[0].options), &dir), ProcessGroup::Embedded);
        assert_eq!(preloads([(&s, Some(&dir))])[0].group, ProcessGroup::Embedded);
    }

    #[test]
    fn env_groups_resolve_per_request() {
        let pg = ProcessGroup::Env("PG".into());
        let env = |v: Option<&'static str>| move |_: &str| v.map(str::to_string);
        assert_eq!(pg.resolve(env(Some("site"))), Ok(ProcessGroup::Daemon("site".into())));
        assert_eq!(pg.resolve(env(Some(""))), Ok(ProcessGroup::Embedded));
        assert_eq!(pg.resolve(env(Some("%{GLOBAL}"))), Ok(ProcessGroup::Embedded));
        assert!(pg.resolve(env(None)).unwrap_err().contains("%{ENV:PG} is not set"));
        assert!(
            pg.resolve(env(Some("%{ENV:X}")))
                .unwrap_err()
                .contains("names another variable")
        );
        assert!(
            pg.resolve(env(Some("a b")))
                .unwrap_err()
                .contains("%{ENV:PG} is \"a b\"")
        );
        assert_eq!(ProcessGroup::Embedded.resolve(env(None)), Ok(ProcessGroup::Embedded));
    }

    #[test]
    fn group_references_are_checked_like_requests() {
        let r = |name: &str| super::super::GroupRef {
            name: name.into(),
            origin: "site.conf:3 WSGIProcessGroup".into(),
        };
        let (a, b, c) = (r("main"), r("mine"), r("theirs"));
        let missing = r("nope");
        let defs = [
            ("main", None),
            ("mine", Some("a.example")),
            ("theirs", Some("b.example")),
        ];
        let out = check_group_refs(
            &defs,
            &[
                (&a, "a.example"),
                (&b, "a.example"),
                (&c, "a.example"),
                (&missing, "a.example"),
            ],
        );
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(
            out[0].contains("site.conf:3") && out[0].contains("\"theirs\"") && out[0].contains("another ServerName")
        );
        assert!(out[1].contains("\"nope\"") && out[1].contains("no WSGIDaemonProcess defines"));
    }

    #[test]
    fn groups_of_a_shared_config_count_once() {
        let mut main = ServerConfig::default();
        main.daemons.push(super::super::daemon::DaemonGroup::new("g1"));
        let mut vhost = ServerConfig::default();
        vhost.daemons.push(super::super::daemon::DaemonGroup::new("g2"));
        // The second server shares the main server's config (no directives of its own).
        let got = daemon_groups(&[(&main, None), (&main, Some("b.example")), (&vhost, Some("c.example"))]);
        let names: Vec<(&str, Option<&str>)> = got.iter().map(|(g, h)| (g.name.as_str(), *h)).collect();
        assert_eq!(names, vec![("g1", None), ("g2", Some("c.example"))]);
    }

    #[test]
    fn preload_rule() {
        let s = server(&[
            &["/a", "/srv/a.wsgi", "process-group=site", "application-group=%{GLOBAL}"],
            &["/b", "/srv/b.wsgi", "application-group=x", "callable-object=app"],
            &["/c", "/srv/c.wsgi", "process-group=site"],
            &["/d", "/srv/d.wsgi", "application-group=%{RESOURCE}"],
            &[
                "/a2",
                "/srv/a.wsgi",
                "process-group=site",
                "application-group=%{GLOBAL}",
            ],
        ]);
        let server_dir = DirConfig {
            process_group: Some(ProcessGroup::Daemon("other".into())),
            ..Default::default()
        };
        let p = preloads([(&s, None), (&s, Some(&server_dir))]);
        let got: Vec<(Option<&str>, &str, &str)> = p
            .iter()
            .map(|p| {
                (
                    p.group.daemon(),
                    p.script.as_str(),
                    p.callable.as_deref().unwrap_or("-"),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (Some("site"), "/srv/a.wsgi", "application"),
                (None, "/srv/b.wsgi", "app"),
                (Some("other"), "/srv/b.wsgi", "app"),
            ]
        );
    }
}
