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
}

impl ProcessGroup {
    /// `WSGIProcessGroup` / `process-group=`: `%{GLOBAL}` is embedded mode, a name a daemon group.
    pub fn parse(v: &str) -> Result<ProcessGroup, String> {
        match v {
            "%{GLOBAL}" => Ok(ProcessGroup::Embedded),
            _ if v.starts_with("%{") => Err(format!(
                "{v:?} is not supported: use %{{GLOBAL}} (embedded mode) or a WSGIDaemonProcess name"
            )),
            _ => Ok(ProcessGroup::Daemon(super::parse::process_group_name(v)?)),
        }
    }

    pub fn daemon(&self) -> Option<&str> {
        match self {
            ProcessGroup::Embedded => None,
            ProcessGroup::Daemon(name) => Some(name),
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
    pub callable: String,
}

/// mod_wsgi's preloading rule: a WSGIScriptAlias of a script file that names a literal application group
/// (`%{GLOBAL}` or a name) is imported when each process of its serving group starts. `servers` are each
/// server's config with its server-level directory defaults. Each script appears once per group.
pub fn preloads<'a>(servers: impl IntoIterator<Item = (&'a ServerConfig, Option<&'a DirConfig>)>) -> Vec<Preload> {
    let none = DirConfig::default();
    let mut out: Vec<Preload> = Vec::new();
    for (server, dir) in servers {
        for a in server.aliases.iter().filter(|a| !a.target_is_dir) {
            if !matches!(a.options.application_group, Some(AppGroup::Global | AppGroup::Named(_))) {
                continue;
            }
            let callable = match &a.options.callable_object {
                Some(CallableName::Named(n)) => n.clone(),
                _ => "application".to_string(),
            };
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
            .map(|p| (p.group.daemon(), p.script.as_str(), p.callable.as_str()))
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
