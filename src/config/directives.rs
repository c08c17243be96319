//! The directive table: every directive mod_rwsgi accepts is declared here once, with its syntax, where it may
//! appear, its help text and its parser. The httpd command table (`crate::apache::commands`) and
//! docs/directives.md are generated from it; a unit test fails when the doc is stale.

use std::ffi::CStr;

use super::{DirConfig, ServerConfig, parse};

/// Where a directive may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Main server config only (not in a <VirtualHost>).
    Global,
    /// Main server or <VirtualHost>.
    Server,
    /// Server, virtual host, <Directory>/<Location>, and .htaccess with AllowOverride FileInfo.
    Dir,
}

#[cfg_attr(not(test), allow(dead_code))]
impl Scope {
    pub fn describe(self) -> &'static str {
        match self {
            Scope::Global => "server config (not in a virtual host)",
            Scope::Server => "server config, virtual host",
            Scope::Dir => "server config, virtual host, directory, .htaccess (FileInfo)",
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
}

pub type Parser = fn(&mut ParseCtx<'_>, &[String]) -> Result<(), String>;

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

fn removed(ctx: &mut ParseCtx<'_>, _args: &[String]) -> Result<(), String> {
    ctx.warnings
        .push("this mod_wsgi directive was removed and has no effect in mod_rwsgi; delete it".to_string());
    Ok(())
}

pub const DIRECTIVES: &[Directive] = &[
    Directive {
        name: c"WSGIScriptAlias",
        syntax: "WSGIScriptAlias URL PATH [process-group=G] [application-group=A] [callable-object=C] [pass-authorization=On|Off]",
        scope: Scope::Server,
        help: c"Mount a WSGI script file (or a directory of scripts) at a URL",
        parse: |ctx, args| {
            let alias = parse::script_alias(args, |p| std::path::Path::new(p).is_dir())?;
            if let Some(g) = alias.options.process_group.as_ref().and_then(|g| g.daemon()) {
                if !ctx.defined_groups.iter().any(|d| d.as_str() == g) {
                    return Err(format!(
                        "process-group={g} names no daemon process group defined so far: put \"WSGIDaemonProcess {g} ...\" before this line"
                    ));
                }
            }
            if ctx
                .server
                .aliases
                .iter()
                .any(|a| a.url == alias.url && a.url_slash == alias.url_slash)
            {
                ctx.warnings.push(format!(
                    "URL {:?} is already mounted by an earlier WSGIScriptAlias, which wins (first declared, first matched)",
                    args[0]
                ));
            }
            ctx.server.aliases.push(alias);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIPythonHome",
        syntax: "WSGIPythonHome DIR",
        scope: Scope::Global,
        help: c"Python prefix or virtualenv used by embedded mode (default: the Python mod_rwsgi was built for)",
        parse: |ctx, args| {
            ctx.server.python_home = Some(parse::absolute_dir(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIPythonPath",
        syntax: "WSGIPythonPath DIR[:DIR...]",
        scope: Scope::Global,
        help: c"Extra directories placed at the front of sys.path (site.addsitedir semantics)",
        parse: |ctx, args| {
            ctx.server.python_path.extend(parse::python_path(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGICallableObject",
        syntax: "WSGICallableObject NAME|%{ENV:var}",
        scope: Scope::Dir,
        help: c"Name of the WSGI callable in the script (default: application)",
        parse: |ctx, args| {
            ctx.dir.callable_object = Some(parse::callable(parse::one(args)?)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIApplicationGroup",
        syntax: "WSGIApplicationGroup %{GLOBAL}|%{RESOURCE}|%{SERVER}|%{HOST}|%{ENV:var}|NAME",
        scope: Scope::Dir,
        help: c"Application group reported to the app; all groups share the process's one interpreter",
        parse: |ctx, args| {
            ctx.dir.application_group = Some(parse::app_group(parse::one(args)?)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIProcessGroup",
        syntax: "WSGIProcessGroup %{GLOBAL}|NAME",
        scope: Scope::Dir,
        help: c"Process group that serves the request; %{GLOBAL} is embedded mode",
        parse: |ctx, args| {
            ctx.dir.process_group = Some(crate::config::ProcessGroup::parse(parse::one(args)?)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIDaemonProcess",
        syntax: "WSGIDaemonProcess NAME [option=value ...] (the options are listed in docs/compat.md)",
        scope: Scope::Server,
        help: c"Define a daemon process group that runs apps in its own processes",
        parse: |ctx, args| {
            let g = super::daemon::parse(args)?;
            if ctx.defined_groups.contains(&g.name) {
                return Err(format!(
                    "a daemon process group named {:?} is already defined (names are unique server-wide)",
                    g.name
                ));
            }
            for (option, why) in &g.ignored {
                ctx.warnings.push(format!(
                    "{option}= is accepted so that the configuration starts, but has no effect: {why}"
                ));
            }
            ctx.defined_groups.push(g.name.clone());
            ctx.server.daemons.push(g);
            Ok(())
        },
    },
    Directive {
        name: c"WSGISocketPrefix",
        syntax: "WSGISocketPrefix PATH",
        scope: Scope::Global,
        help: c"Where daemon sockets live (a directory is made from this prefix; default: the runtime directory)",
        parse: |ctx, args| {
            let v = parse::one(args)?;
            if !v.starts_with('/') {
                return Err(format!(
                    "{v:?} must be an absolute path (relative prefixes are not supported)"
                ));
            }
            ctx.server.socket_prefix = Some(v.to_string());
            Ok(())
        },
    },
    Directive {
        name: c"WSGIPassAuthorization",
        syntax: "WSGIPassAuthorization On|Off",
        scope: Scope::Dir,
        help: c"Pass the Authorization header to the app as HTTP_AUTHORIZATION (default Off)",
        parse: |ctx, args| {
            ctx.dir.pass_authorization = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIScriptReloading",
        syntax: "WSGIScriptReloading On|Off",
        scope: Scope::Dir,
        help: c"Re-import a script when its modification time changes (default On)",
        parse: |ctx, args| {
            ctx.dir.script_reloading = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIChunkedRequest",
        syntax: "WSGIChunkedRequest On|Off",
        scope: Scope::Dir,
        help: c"Accept chunked request bodies (default Off: such requests get 411 Length Required)",
        parse: |ctx, args| {
            ctx.dir.chunked_request = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIRestrictEmbedded",
        syntax: "WSGIRestrictEmbedded On|Off",
        scope: Scope::Global,
        help: c"Refuse embedded-mode requests and do not start Python in httpd children",
        parse: |ctx, args| {
            ctx.server.restrict_embedded = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGILazyInitialization",
        syntax: "WSGILazyInitialization On|Off",
        scope: Scope::Global,
        help: c"Removed mod_wsgi directive: accepted with a warning, no effect",
        parse: removed,
    },
    Directive {
        name: c"WSGIVerboseDebugging",
        syntax: "WSGIVerboseDebugging On|Off",
        scope: Scope::Global,
        help: c"Removed mod_wsgi directive: accepted with a warning, no effect",
        parse: removed,
    },
    Directive {
        name: c"WSGIPythonEggs",
        syntax: "WSGIPythonEggs DIR",
        scope: Scope::Global,
        help: c"Removed mod_wsgi directive: accepted with a warning, no effect",
        parse: removed,
    },
    Directive {
        name: c"WSGIReloadMechanism",
        syntax: "WSGIReloadMechanism Module|Process",
        scope: Scope::Dir,
        help: c"Removed mod_wsgi directive: accepted with a warning, no effect",
        parse: removed,
    },
    Directive {
        name: c"WSGIOutputBuffering",
        syntax: "WSGIOutputBuffering On|Off",
        scope: Scope::Dir,
        help: c"Removed mod_wsgi directive: accepted with a warning, no effect",
        parse: removed,
    },
    Directive {
        name: c"WSGIPythonExecutable",
        syntax: "WSGIPythonExecutable PATH",
        scope: Scope::Global,
        help: c"Removed mod_wsgi directive: accepted with a warning, no effect",
        parse: removed,
    },
];

/// docs/directives.md, generated from the table.
#[cfg_attr(not(test), allow(dead_code))]
pub fn render_markdown() -> String {
    let mut out = String::from(
        "# mod_rwsgi directives\n\nGenerated from `src/config/directives.rs` (run \
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
        let mut ctx = ParseCtx {
            server: &mut server,
            dir: &mut dir,
            defined_groups: &mut groups,
            warnings: vec![],
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
        assert!(names.iter().all(|n| n.starts_with("WSGI")));
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
