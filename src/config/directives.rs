//! The directive table: every directive mod_rwsgi accepts is declared here once, with its syntax, where it may
//! appear, its help text and its parser. The httpd command table (`crate::apache::commands`) and
//! docs/directives.md are generated from it; a unit test fails when the doc is stale.

use std::ffi::CStr;

use std::sync::Arc;

use super::{AliasOptions, DirConfig, GroupRef, ProcessGroup, ScriptAlias, ServerConfig, UrlPattern};

/// Where a directive may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Main server config only (not in a <VirtualHost>).
    Global,
    /// Main server or <VirtualHost>.
    Server,
    /// Server, virtual host, <Directory>/<Location>, and .htaccess with AllowOverride FileInfo.
    Dir,
    /// Server, virtual host, <Directory>/<Location>; not .htaccess (it names code the server runs).
    Section,
    /// <Directory>/<Location>/<Files> and .htaccess with AllowOverride AuthConfig (not server or virtual host
    /// level), as Apache's own authentication directives.
    Auth,
}

#[cfg_attr(not(test), allow(dead_code))]
impl Scope {
    pub fn describe(self) -> &'static str {
        match self {
            Scope::Global => "server config (not in a virtual host)",
            Scope::Server => "server config, virtual host",
            Scope::Dir => "server config, virtual host, directory, .htaccess (FileInfo)",
            Scope::Auth => "directory, location, files, .htaccess (AuthConfig)",
            Scope::Section => "server config, virtual host, directory (not .htaccess)",
        }
    }
}

/// What a parser sees: the config objects of the section being read.
pub struct ParseCtx<'a> {
    pub server: &'a mut ServerConfig,
    pub dir: &'a mut DirConfig,
    /// Names of the WSGIDaemonProcess groups defined so far in the whole configuration (file order).
    pub defined_groups: &'a mut Vec<String>,
    /// Warnings to log (with file and line) while still accepting the directive.
    pub warnings: Vec<String>,
    /// "file:line" of the directive being read.
    pub origin: String,
    /// Compiles a regular expression with httpd's engine (WSGIScriptAliasMatch).
    pub compile: &'a dyn Fn(&str) -> Result<Arc<dyn UrlPattern>, String>,
}

impl ParseCtx<'_> {
    /// A literal daemon group used by this directive: checked against the groups defined in the whole
    /// configuration once it is read (a group may be defined after a <Directory> that uses it).
    pub(super) fn refer(&mut self, group: &ProcessGroup, directive: &str) {
        if let Some(name) = group.daemon() {
            let origin = format!("{} {directive}", self.origin);
            self.server.group_refs.push(GroupRef {
                name: name.to_string(),
                origin,
            });
        }
    }

    /// A mount's process-group= must name a group defined on an earlier line (mod_wsgi's rule for mounts).
    pub(super) fn defined_before(&self, options: &AliasOptions) -> Result<(), String> {
        if let Some(g) = options.process_group.as_ref().and_then(|g| g.daemon()) {
            if !self.defined_groups.iter().any(|d| d.as_str() == g) {
                return Err(format!(
                    "process-group={g} names no daemon process group defined so far: put \"WSGIDaemonProcess {g} ...\" before this line"
                ));
            }
        }
        Ok(())
    }

    /// Adds a mount, warning when an earlier one already covers the same URLs.
    pub(super) fn mount(&mut self, mut alias: ScriptAlias, directive: &str) -> Result<(), String> {
        self.defined_before(&alias.options)?;
        if self.server.aliases.iter().any(|a| a.same_place(&alias)) {
            self.warnings.push(format!(
                "{:?} is already mounted by an earlier {directive}, which wins (first declared, first matched)",
                alias.written()
            ));
        }
        alias.origin = self.origin.clone();
        self.server.aliases.push(alias);
        Ok(())
    }

    /// A directive accepted so that existing configurations start, that cannot apply here: the reason is logged
    /// with the file and line (and printed by apachectl -t).
    pub(super) fn cannot_apply(&mut self, why: &str) -> Result<(), String> {
        self.warnings
            .push(format!("accepted, but it does not apply to mod_rwsgi: {why}"));
        Ok(())
    }
}

pub type Parser = fn(&mut ParseCtx<'_>, &[String]) -> Result<(), String>;

pub use super::directive_table::DIRECTIVES;

#[cfg_attr(not(test), allow(dead_code))]
pub struct Directive {
    pub name: &'static CStr,
    pub syntax: &'static str,
    pub scope: Scope,
    pub help: &'static CStr,
    pub parse: Parser,
}

#[cfg_attr(not(test), allow(dead_code))]
impl Directive {
    pub fn name_str(&self) -> &'static str {
        self.name.to_str().unwrap_or("?")
    }
    pub fn help_str(&self) -> &'static str {
        self.help.to_str().unwrap_or("")
    }
}

/// docs/directives.md, generated from the table.
#[cfg_attr(not(test), allow(dead_code))]
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# mod_rwsgi directives\n\nGenerated from the directive table in `src/config/directive_table.rs` (run \
         `UPDATE_DOCS=1 cargo test --release -p mod_rwsgi directives_doc` after changing the table).\n\n\
         | Directive | Syntax | Where | Meaning |\n|---|---|---|---|\n",
    );
    for d in DIRECTIVES {
        out.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            d.name_str(),
            d.syntax.replace('|', "\\|"),
            d.scope.describe(),
            d.help_str()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(name: &str, args: &[&str]) -> (Result<(), String>, ServerConfig, DirConfig, Vec<String>) {
        let mut server = ServerConfig::default();
        let mut dir = DirConfig::default();
        let d = DIRECTIVES
            .iter()
            .find(|d| d.name_str() == name)
            .expect("directive exists");
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut groups = vec!["known".to_string()];
        let no_regex = |_: &str| -> Result<Arc<dyn UrlPattern>, String> { Err("no regex engine in unit tests".into()) };
        let mut ctx = ParseCtx {
            server: &mut server,
            dir: &mut dir,
            defined_groups: &mut groups,
            warnings: vec![],
            origin: "test.conf:1".to_string(),
            compile: &no_regex,
        };
        let r = (d.parse)(&mut ctx, &args);
        let w = ctx.warnings;
        (r, server, dir, w)
    }

    #[test]
    fn names_unique_and_prefixed() {
        let mut names: Vec<_> = DIRECTIVES.iter().map(|d| d.name_str()).collect();
        names.sort();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
        assert!(names.iter().all(|n| n.trim_start_matches('<').starts_with("WSGI")));
    }

    #[test]
    fn parsers_store_values() {
        let (r, s, _, _) = run("WSGIScriptAlias", &["/app", "/srv/a.wsgi", "callable-object=app"]);
        assert!(r.is_ok());
        assert_eq!(s.aliases.len(), 1);
        let (r, _, d, _) = run("WSGIPassAuthorization", &["On"]);
        assert!(r.is_ok());
        assert_eq!(d.pass_authorization, Some(true));
        let (r, ..) = run("WSGIPassAuthorization", &["maybe"]);
        assert!(r.is_err());
        let (r, _, _, w) = run("WSGILazyInitialization", &["On"]);
        assert!(r.is_ok());
        assert_eq!(w.len(), 1);
        let (r, _, d, _) = run("WSGIProcessGroup", &["site"]);
        assert!(r.is_ok());
        assert_eq!(
            d.process_group,
            Some(crate::config::ProcessGroup::Daemon("site".into()))
        );
        let (r, ..) = run("WSGIScriptAlias", &["/a", "/x.wsgi", "process-group=unknown"]);
        assert!(r.unwrap_err().contains("WSGIDaemonProcess unknown"));
        let (r, ..) = run("WSGIScriptAlias", &["/a", "/x.wsgi", "process-group=known"]);
        assert!(r.is_ok());
        let (r, s, ..) = run("WSGIDaemonProcess", &["site", "processes=2"]);
        assert!(r.is_ok());
        assert_eq!(s.daemons[0].processes, 2);
        let (r, ..) = run("WSGIDaemonProcess", &["known"]);
        assert!(r.unwrap_err().contains("already defined"));
    }

    #[test]
    fn directives_doc() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/directives.md");
        let want = render_markdown();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(path, &want).expect("write docs/directives.md");
        }
        let have = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            have == want,
            "docs/directives.md is stale: run UPDATE_DOCS=1 cargo test --release -p mod_rwsgi directives_doc"
        );
    }
}
