//! The rows of the directive table: every directive mod_rwsgi accepts, with its syntax, where it may appear,
//! its help text and its parser (the table's types and its uses are in `directives`).

use super::directives::{Directive, ParseCtx, Scope};
use super::{HandlerScript, ProcessGroup, parse};

fn is_dir(p: &str) -> bool {
    std::path::Path::new(p).is_dir()
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
            let alias = parse::script_alias(args, is_dir)?;
            ctx.mount(alias, "WSGIScriptAlias")
        },
    },
    Directive {
        name: c"WSGIScriptAliasMatch",
        syntax: "WSGIScriptAliasMatch REGEX PATH [process-group=G] [application-group=A] [callable-object=C] [pass-authorization=On|Off] ($1..$9 in PATH and options)",
        scope: Scope::Server,
        help: c"Mount a WSGI script at the URLs a regular expression matches; $1..$9 substitute its groups",
        parse: |ctx, args| {
            let alias = parse::script_alias_match(args, is_dir, ctx.compile)?;
            ctx.mount(alias, "WSGIScriptAliasMatch")
        },
    },
    Directive {
        name: c"WSGIImportScript",
        syntax: "WSGIImportScript PATH process-group=G application-group=A",
        scope: Scope::Server,
        help: c"Import a script when each process of the group starts, before any request",
        parse: |ctx, args| {
            let p = parse::import_script(args)?;
            if let Some(g) = p.group.daemon() {
                if !ctx.defined_groups.iter().any(|d| d.as_str() == g) {
                    return Err(format!(
                        "process-group={g} names no daemon process group defined so far: put \"WSGIDaemonProcess {g} ...\" before this line"
                    ));
                }
            }
            ctx.server.imports.push(p);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIHandlerScript",
        syntax: "WSGIHandlerScript NAME PATH [process-group=G] [application-group=A] [pass-authorization=On|Off]",
        scope: Scope::Dir,
        help: c"Register a handler NAME (for SetHandler/AddHandler) served by the script's handle_request()",
        parse: |ctx, args| {
            let [name, script, opts @ ..] = args else {
                return Err("takes a handler name and a script path, then options".to_string());
            };
            if !script.starts_with('/') {
                return Err(format!("the script path {script:?} must be absolute"));
            }
            let options = parse::alias_options(opts)?;
            if options.callable_object.is_some() {
                return Err("callable-object= does not apply: the callable of a handler script is handle_request".to_string());
            }
            if let Some(g) = &options.process_group {
                ctx.refer(g, "WSGIHandlerScript");
            }
            ctx.dir.handler_scripts.retain(|h| h.name != *name);
            ctx.dir.handler_scripts.push(HandlerScript {
                name: name.clone(),
                script: script.clone(),
                options,
            });
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
        syntax: "WSGIProcessGroup %{GLOBAL}|%{ENV:variable}|NAME",
        scope: Scope::Dir,
        help: c"Process group that serves the request; %{GLOBAL} is embedded mode, %{ENV:var} chooses per request",
        parse: |ctx, args| {
            let group = ProcessGroup::parse(parse::one(args)?)?;
            ctx.refer(&group, "WSGIProcessGroup");
            ctx.dir.process_group = Some(group);
            ctx.dir.process_group_origin = Some(ctx.origin.clone());
            Ok(())
        },
    },
    Directive {
        name: c"WSGIRestrictProcess",
        syntax: "WSGIRestrictProcess GROUP [GROUP ...]",
        scope: Scope::Dir,
        help: c"Requests here may only be sent to these process groups (%{GLOBAL}: embedded mode)",
        parse: |ctx, args| {
            if args.is_empty() {
                return Err("takes one or more process group names".to_string());
            }
            let mut allowed = Vec::new();
            for a in args {
                let group = ProcessGroup::parse(a)?;
                if matches!(group, ProcessGroup::Env(_)) {
                    return Err(format!("{a:?}: list group names (or %{{GLOBAL}}), not variables"));
                }
                ctx.refer(&group, "WSGIRestrictProcess");
                allowed.push(group.environ_value().to_string());
            }
            ctx.dir.restrict_process = Some(allowed);
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
        help: c"Where daemon sockets live: absolute, or relative to ServerRoot (a directory is made from this prefix; default: the runtime directory)",
        parse: |ctx, args| {
            let v = parse::one(args)?;
            if v.ends_with('/') {
                return Err(format!("{v:?} is a directory: give a prefix such as {v}wsgi"));
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
        name: c"WSGIRestrictStdin",
        syntax: "WSGIRestrictStdin On|Off",
        scope: Scope::Global,
        help: c"On: reading sys.stdin raises an error naming the directive (default Off: sys.stdin reads nothing)",
        parse: |ctx, args| {
            ctx.server.python.restrict_stdin = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIRestrictStdout",
        syntax: "WSGIRestrictStdout On|Off",
        scope: Scope::Global,
        help: c"On: writing to sys.stdout raises an error naming the directive (default Off: it goes to the error log)",
        parse: |ctx, args| {
            ctx.server.python.restrict_stdout = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIRestrictSignal",
        syntax: "WSGIRestrictSignal On|Off",
        scope: Scope::Global,
        help: c"On (default): signal.signal() in application code is ignored with a logged warning",
        parse: |ctx, args| {
            ctx.server.python.restrict_signal = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIPythonOptimize",
        syntax: "WSGIPythonOptimize 0|1|2",
        scope: Scope::Global,
        help: c"Python optimisation level of every interpreter (as python -O / -OO)",
        parse: |ctx, args| {
            ctx.server.python.optimize = Some(parse::number(parse::one(args)?, 0, 2)? as u8);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIDontWriteBytecode",
        syntax: "WSGIDontWriteBytecode On|Off",
        scope: Scope::Global,
        help: c"On: Python does not write .pyc files (as python -B)",
        parse: |ctx, args| {
            ctx.server.python.dont_write_bytecode = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIPythonWarnings",
        syntax: "WSGIPythonWarnings action:message:category:module:lineno",
        scope: Scope::Global,
        help: c"Adds a warnings filter to every interpreter (as python -W); repeatable",
        parse: |ctx, args| {
            ctx.server.python.warnings.push(parse::one(args)?.to_string());
            Ok(())
        },
    },
    Directive {
        name: c"WSGIPythonHashSeed",
        syntax: "WSGIPythonHashSeed random|0..4294967295",
        scope: Scope::Global,
        help: c"Hash randomisation seed of every interpreter (as PYTHONHASHSEED)",
        parse: |ctx, args| {
            let v = parse::one(args)?;
            ctx.server.python.hash_seed = if v == "random" {
                None
            } else {
                Some(parse::number(v, 0, u64::from(u32::MAX))? as u32)
            };
            Ok(())
        },
    },
    Directive {
        name: c"WSGISwitchInterval",
        syntax: "WSGISwitchInterval SECONDS",
        scope: Scope::Global,
        help: c"sys.setswitchinterval() of every interpreter (how often the GIL holder lets other threads run)",
        parse: |ctx, args| {
            let v = parse::one(args)?;
            let secs: f64 = v.parse().map_err(|_| format!("{v:?} is not a number of seconds"))?;
            if !(secs > 0.0 && secs <= 10.0) {
                return Err(format!("{v} is out of range (a positive number of seconds, at most 10)"));
            }
            ctx.server.python.switch_interval = Some(secs);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIDestroyInterpreter",
        syntax: "WSGIDestroyInterpreter On|Off",
        scope: Scope::Global,
        help: c"Off: a stopping process skips atexit handlers and interpreter finalisation (default On)",
        parse: |ctx, args| {
            ctx.server.python.destroy_interpreter = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIServerMetrics",
        syntax: "WSGIServerMetrics On|Off",
        scope: Scope::Global,
        help: c"On: mod_wsgi.server_metrics() answers with Apache's scoreboard (default Off: None)",
        parse: |ctx, args| {
            ctx.server.python.server_metrics = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGICaseSensitivity",
        syntax: "WSGICaseSensitivity On|Off",
        scope: Scope::Global,
        help: c"Off: script paths are compared case-insensitively (SCRIPT_NAME lower-cased); default On",
        parse: |ctx, args| {
            ctx.dir.case_sensitivity = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIEnableSendfile",
        syntax: "WSGIEnableSendfile On|Off",
        scope: Scope::Dir,
        help: c"Send wsgi.file_wrapper responses with sendfile() (default: as Apache's EnableSendfile)",
        parse: |ctx, args| {
            ctx.dir.enable_sendfile = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIIgnoreActivity",
        syntax: "WSGIIgnoreActivity On|Off",
        scope: Scope::Dir,
        help: c"On: requests here do not count as activity for a daemon's inactivity-timeout",
        parse: |ctx, args| {
            ctx.dir.ignore_activity = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIMapHEADToGET",
        syntax: "WSGIMapHEADToGET On|Off|Auto",
        scope: Scope::Dir,
        help: c"Whether the app sees HEAD as GET: Auto (default) when a content output filter needs the body, On always, Off never",
        parse: |ctx, args| {
            let v = parse::one(args)?;
            ctx.dir.map_head_to_get = Some(match v.to_ascii_lowercase().as_str() {
                "on" => super::HeadToGet::On,
                "off" => super::HeadToGet::Off,
                "auto" => super::HeadToGet::Auto,
                _ => return Err(format!("must be On, Off or Auto, not {v:?}")),
            });
            Ok(())
        },
    },
    Directive {
        name: c"WSGIErrorOverride",
        syntax: "WSGIErrorOverride On|Off",
        scope: Scope::Dir,
        help: c"On: a daemon-mode 4xx/5xx response is replaced by Apache's ErrorDocument (no effect in embedded mode)",
        parse: |ctx, args| {
            ctx.dir.error_override = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGITrustedProxyHeaders",
        syntax: "WSGITrustedProxyHeaders HEADER [HEADER ...]",
        scope: Scope::Dir,
        help: c"Proxy headers (X-Forwarded-For, X-Forwarded-Host, X-Forwarded-Proto, X-Script-Name, ...) that rewrite REMOTE_ADDR, HTTP_HOST, wsgi.url_scheme, SCRIPT_NAME, ...; their unlisted synonyms are removed",
        parse: |ctx, args| {
            let (known, unknown) = super::proxy::parse_headers(args)?;
            if !unknown.is_empty() {
                ctx.warnings.push(format!(
                    "{} ignored, as mod_wsgi ignores it: the headers that can be trusted are {}",
                    unknown.join(", "),
                    super::proxy::known_names()
                ));
            }
            let list = ctx.dir.trusted_proxy_headers.get_or_insert_with(Vec::new);
            for h in known {
                if !list.contains(&h) {
                    list.push(h);
                }
            }
            Ok(())
        },
    },
    Directive {
        name: c"WSGITrustedProxies",
        syntax: "WSGITrustedProxies ADDRESS|NETWORK [...] (10.0.0.1, 10.0.0.0/8, 10.0.0.0/255.0.0.0, 10.1, fd00::/8)",
        scope: Scope::Dir,
        help: c"Only requests from these peers have their WSGITrustedProxyHeaders applied; from any other peer those headers are removed",
        parse: |ctx, args| {
            let nets = super::proxy::parse_proxies(args)?;
            ctx.dir.trusted_proxies.get_or_insert_with(Vec::new).extend(nets);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIDispatchScript",
        syntax: "WSGIDispatchScript PATH [application-group=G]",
        scope: Scope::Section,
        help: c"Script whose process_group(environ), application_group(environ), callable_object(environ) choose per request where and what runs (None keeps the configured value)",
        parse: |ctx, args| {
            ctx.dir.dispatch_script = Some(parse::hook_script(args)?);
            ctx.server.hook_scripts = true;
            Ok(())
        },
    },
    Directive {
        name: c"WSGIAccessScript",
        syntax: "WSGIAccessScript PATH [application-group=G]",
        scope: Scope::Auth,
        help: c"Script whose allow_access(environ, host) decides access: True allows, False answers 403, None has no say",
        parse: |ctx, args| {
            ctx.dir.access_script = Some(parse::hook_script(args)?);
            ctx.server.hook_scripts = true;
            Ok(())
        },
    },
    Directive {
        name: c"WSGIAuthUserScript",
        syntax: "WSGIAuthUserScript PATH [application-group=G]",
        scope: Scope::Auth,
        help: c"Script behind the \"wsgi\" authentication provider (AuthBasicProvider / AuthDigestProvider wsgi): check_password(environ, user, password), get_realm_hash(environ, user, realm)",
        parse: |ctx, args| {
            ctx.dir.auth_user_script = Some(parse::hook_script(args)?);
            ctx.server.hook_scripts = true;
            Ok(())
        },
    },
    Directive {
        name: c"WSGIAuthGroupScript",
        syntax: "WSGIAuthGroupScript PATH [application-group=G]",
        scope: Scope::Auth,
        help: c"Script behind `Require wsgi-group NAME...`: groups_for_user(environ, user) returns the user's groups",
        parse: |ctx, args| {
            ctx.dir.auth_group_script = Some(parse::hook_script(args)?);
            ctx.server.hook_scripts = true;
            Ok(())
        },
    },
    Directive {
        name: c"WSGIGroupAuthoritative",
        syntax: "WSGIGroupAuthoritative On|Off",
        scope: Scope::Auth,
        help: c"Off: `Require wsgi-group` is neutral (not a denial) for a user in none of its groups, so other Require lines decide; default On",
        parse: |ctx, args| {
            ctx.dir.group_authoritative = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIPassApacheRequest",
        syntax: "WSGIPassApacheRequest On|Off",
        scope: Scope::Dir,
        help: c"On: environ['apache.request_rec'] holds the request_rec as a capsule (embedded mode only)",
        parse: |ctx, args| {
            ctx.dir.pass_apache_request = Some(parse::flag(args)?);
            Ok(())
        },
    },
    Directive {
        name: c"WSGISlowRequests",
        syntax: "WSGISlowRequests SECONDS",
        scope: Scope::Global,
        help: c"Log every request that took longer than this (mod_wsgi sends it to its telemetry service)",
        parse: |ctx, args| {
            let v = parse::one(args)?;
            let secs: f64 = v.parse().map_err(|_| format!("{v:?} is not a number of seconds"))?;
            if !(secs > 0.0) {
                return Err(format!("{v} must be a positive number of seconds"));
            }
            ctx.server.slow_requests = Some(secs);
            Ok(())
        },
    },
    Directive {
        name: c"WSGIAcceptMutex",
        syntax: "WSGIAcceptMutex Default|flock|fcntl|sysvsem|posixsem|pthread",
        scope: Scope::Global,
        help: c"Accepted: daemon processes need no accept mutex (each connection wakes one thread via EPOLLEXCLUSIVE)",
        parse: |ctx, args| {
            let v = parse::one(args)?;
            if !["default", "flock", "fcntl", "sysvsem", "posixsem", "pthread"].contains(&v.to_ascii_lowercase().as_str()) {
                return Err(format!("{v:?} is not a mutex type (Default, flock, fcntl, sysvsem, posixsem, pthread)"));
            }
            ctx.cannot_apply("daemon processes accept without a mutex (EPOLLEXCLUSIVE wakes one thread per connection)")
        },
    },
    Directive {
        name: c"WSGISocketRotation",
        syntax: "WSGISocketRotation On|Off",
        scope: Scope::Global,
        help: c"Accepted: daemon sockets are kept across graceful restarts (no requests lost), so names never rotate",
        parse: |ctx, args| {
            parse::flag(args)?;
            ctx.cannot_apply("each daemon group keeps one listening socket for the life of the httpd parent, so graceful restarts lose no request; there are no per-generation socket names to rotate")
        },
    },
    Directive {
        name: c"WSGIFreeThreading",
        syntax: "WSGIFreeThreading On|Off",
        scope: Scope::Global,
        help: c"Accepted: On is refused unless mod_rwsgi was built for a free-threaded CPython (3.13t+)",
        parse: |_ctx, args| {
            if parse::flag(args)? {
                return Err(format!(
                    "On needs a free-threaded CPython (3.13t or later); this mod_rwsgi was built for Python {} with the GIL",
                    env!("RWSGI_BUILD_PYTHON_VERSION")
                ));
            }
            Ok(())
        },
    },
    Directive {
        name: c"WSGIPerInterpreterGIL",
        syntax: "WSGIPerInterpreterGIL On|Off",
        scope: Scope::Global,
        help: c"Accepted: mod_rwsgi runs one interpreter per process, so there is no other interpreter to give a GIL",
        parse: |ctx, args| {
            if parse::flag(args)? {
                return ctx.cannot_apply("mod_rwsgi runs one Python interpreter per process (no sub-interpreters); give each application its own WSGIDaemonProcess group for isolation");
            }
            Ok(())
        },
    },
    Directive {
        name: c"<WSGIInterpreterOptions",
        syntax: "<WSGIInterpreterOptions [process-group=G] [application-group=A]> ... </WSGIInterpreterOptions>",
        scope: Scope::Global,
        help: c"Accepted: per-interpreter options do not apply to mod_rwsgi's one interpreter per process",
        parse: |ctx, _args| {
            ctx.cannot_apply("mod_rwsgi runs one Python interpreter per process, so options scoped to sub-interpreters have nothing to apply to; the directives inside the section are not used")
        },
    },
    Directive {
        name: c"WSGITelemetryService",
        syntax: "WSGITelemetryService unix:/path [interval=SECONDS]",
        scope: Scope::Global,
        help: c"Accepted: mod_rwsgi does not speak mod_wsgi's telemetry datagram format",
        parse: |ctx, args| {
            if args.is_empty() {
                return Err("takes unix:/path [interval=SECONDS]".to_string());
            }
            ctx.cannot_apply("mod_rwsgi does not send mod_wsgi's telemetry datagrams; slow requests are logged with WSGISlowRequests")
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
