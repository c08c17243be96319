//! Pure parsers for directive arguments. Every error names what is wrong; the directive name is added by the
//! caller, and httpd adds the file and line.

use std::sync::Arc;

use super::{AliasOptions, AppGroup, CallableName, MountKind, ProcessGroup, ScriptAlias, UrlPattern};

pub use rwsgi_options::split_args;

/// On/Off, case-insensitive, as httpd FLAG directives take it.
pub fn flag(args: &[String]) -> Result<bool, String> {
    match args {
        [v] if v.eq_ignore_ascii_case("on") => Ok(true),
        [v] if v.eq_ignore_ascii_case("off") => Ok(false),
        [v] => Err(format!("must be On or Off, not {v:?}")),
        _ => Err(format!("takes one argument, On or Off (got {})", args.len())),
    }
}

/// A whole number in `min..=max`.
pub fn number(v: &str, min: u64, max: u64) -> Result<u64, String> {
    let n: u64 = v.parse().map_err(|_| format!("{v:?} is not a whole number"))?;
    if n < min || n > max {
        return Err(format!("{v} is out of range ({min}..={max})"));
    }
    Ok(n)
}

/// `WSGIImportScript PATH process-group=G application-group=A` (both options required, as in mod_wsgi).
pub fn import_script(args: &[String]) -> Result<super::routing::Preload, String> {
    let [script, opts @ ..] = args else {
        return Err("takes a script path, then process-group= and application-group=".to_string());
    };
    if !script.starts_with('/') {
        return Err(format!("the script path {script:?} must be absolute"));
    }
    let options = alias_options(opts)?;
    if options.callable_object.is_some() || options.pass_authorization.is_some() {
        return Err("takes only process-group= and application-group=".to_string());
    }
    let (Some(group), Some(app)) = (options.process_group, options.application_group) else {
        return Err(
            "needs both process-group= and application-group= (which process and interpreter import it)".to_string(),
        );
    };
    if matches!(group, ProcessGroup::Env(_)) {
        return Err("process-group= must name a group (or %{GLOBAL}), not a variable".to_string());
    }
    if !matches!(app, AppGroup::Global | AppGroup::Named(_)) {
        return Err("application-group= must be %{GLOBAL} or a name".to_string());
    }
    Ok(super::routing::Preload {
        group,
        script: script.clone(),
        callable: None,
    })
}

pub fn one(args: &[String]) -> Result<&str, String> {
    match args {
        [v] if !v.is_empty() => Ok(v.as_str()),
        [_] => Err("the value must not be empty".to_string()),
        _ => Err(format!("takes exactly one argument (got {})", args.len())),
    }
}

fn env_var(v: &str) -> Option<Result<String, String>> {
    let name = v.strip_prefix("%{ENV:")?.strip_suffix('}')?;
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
    {
        return Some(Err(format!("{v:?} names an invalid environment variable")));
    }
    Some(Ok(name.to_string()))
}

pub fn app_group(v: &str) -> Result<AppGroup, String> {
    if let Some(name) = env_var(v) {
        return Ok(AppGroup::Env(name?));
    }
    match v {
        "%{GLOBAL}" => Ok(AppGroup::Global),
        "%{RESOURCE}" => Ok(AppGroup::Resource),
        "%{SERVER}" => Ok(AppGroup::Server),
        "%{HOST}" => Ok(AppGroup::Host),
        _ if v.starts_with("%{") => Err(format!(
            "unknown application group {v:?}: use %{{GLOBAL}}, %{{RESOURCE}}, %{{SERVER}}, %{{HOST}}, %{{ENV:var}} or a name"
        )),
        "" => Err("the application group must not be empty".to_string()),
        _ => Ok(AppGroup::Named(v.to_string())),
    }
}

/// `PATH [application-group=G]` of WSGIAccessScript / WSGIAuthUserScript / WSGIAuthGroupScript /
/// WSGIDispatchScript. The group may be %{GLOBAL}, %{SERVER}, %{HOST} or a name (as mod_wsgi).
pub fn hook_script(args: &[String]) -> Result<super::HookScript, String> {
    let [script, opts @ ..] = args else {
        return Err("takes a script path, then optionally application-group=".to_string());
    };
    if !script.starts_with('/') {
        return Err(format!("the script path {script:?} must be absolute"));
    }
    let mut application_group = AppGroup::Global;
    for o in opts {
        match o.split_once('=') {
            Some(("application-group", v)) => {
                application_group = match app_group(v)? {
                    AppGroup::Resource | AppGroup::Env(_) => {
                        return Err(format!(
                            "application-group={v} does not apply here: use %{{GLOBAL}}, %{{SERVER}}, %{{HOST}} or a name"
                        ));
                    }
                    g => g,
                }
            }
            _ => return Err(format!("unknown option {o:?}: the only option is application-group=")),
        }
    }
    Ok(super::HookScript {
        script: script.clone(),
        application_group,
    })
}

pub fn callable(v: &str) -> Result<CallableName, String> {
    if let Some(name) = env_var(v) {
        return Ok(CallableName::Env(name?));
    }
    let valid_ident = v.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && v.chars().all(|c| c.is_alphanumeric() || c == '_');
    if !valid_ident {
        return Err(format!("{v:?} is not a valid Python identifier"));
    }
    Ok(CallableName::Named(v.to_string()))
}

pub use rwsgi_options::daemon::group_name as process_group_name;

const ALIAS_OPTIONS: [&str; 4] = [
    "process-group",
    "application-group",
    "callable-object",
    "pass-authorization",
];

/// The `key=value` options of a WSGIScriptAlias / WSGIScriptAliasMatch / WSGIHandlerScript line.
pub fn alias_options(opts: &[String]) -> Result<AliasOptions, String> {
    let mut options = AliasOptions::default();
    for opt in opts {
        let Some((key, value)) = opt.split_once('=') else {
            return Err(format!("option {opt:?} is not of the form name=value"));
        };
        match key {
            "process-group" => options.process_group = Some(ProcessGroup::parse(value)?),
            "application-group" => options.application_group = Some(app_group(value)?),
            "callable-object" => options.callable_object = Some(callable(value)?),
            "pass-authorization" => options.pass_authorization = Some(flag(&[value.to_string()])?),
            _ => {
                return Err(format!("unknown option {key:?} (known: {})", ALIAS_OPTIONS.join(", ")));
            }
        }
    }
    Ok(options)
}

fn mount_target(target: &str, is_dir: impl Fn(&str) -> bool) -> Result<(String, bool), String> {
    if !target.starts_with('/') {
        return Err(format!("the script path {target:?} must be absolute"));
    }
    let target_is_dir = target.ends_with('/') || is_dir(target);
    let target = if target_is_dir {
        target.to_string()
    } else {
        target.trim_end_matches('/').to_string()
    };
    Ok((target, target_is_dir))
}

/// `WSGIScriptAlias URL PATH [key=value ...]`. `is_dir` tells whether PATH is an existing directory.
pub fn script_alias(args: &[String], is_dir: impl Fn(&str) -> bool) -> Result<ScriptAlias, String> {
    let [url, target, opts @ ..] = args else {
        return Err(format!(
            "takes a URL and a script path, then options (got {} arguments)",
            args.len()
        ));
    };
    if !url.starts_with('/') {
        return Err(format!("the URL {url:?} must start with '/'"));
    }
    let (target, target_is_dir) = mount_target(target, is_dir)?;
    Ok(ScriptAlias {
        kind: MountKind::Prefix(url.clone()),
        target,
        target_is_dir,
        options: alias_options(opts)?,
        deferred_options: Vec::new(),
        origin: String::new(),
    })
}

/// `WSGIScriptAliasMatch REGEX PATH [key=value ...]`: `compile` turns the pattern into httpd's regex; options
/// that use $1..$9 are kept as written and parsed per request, the others are checked now.
pub fn script_alias_match(
    args: &[String],
    is_dir: impl Fn(&str) -> bool,
    compile: &dyn Fn(&str) -> Result<Arc<dyn UrlPattern>, String>,
) -> Result<ScriptAlias, String> {
    let [pattern, target, opts @ ..] = args else {
        return Err(format!(
            "takes a regular expression and a script path, then options (got {} arguments)",
            args.len()
        ));
    };
    let re = compile(pattern).map_err(|e| format!("the regular expression {pattern:?} is invalid: {e}"))?;
    let has_group = |v: &str| v.as_bytes().windows(2).any(|w| w[0] == b'$' && w[1].is_ascii_digit());
    let (deferred, literal): (Vec<String>, Vec<String>) = opts.iter().cloned().partition(|o| has_group(o));
    let options = alias_options(&literal)?;
    // The deferred ones must at least name known options (their values are checked once substituted).
    for o in &deferred {
        let key = o.split_once('=').map_or(o.as_str(), |(k, _)| k);
        if !ALIAS_OPTIONS.contains(&key) {
            return Err(format!("unknown option {key:?} (known: {})", ALIAS_OPTIONS.join(", ")));
        }
    }
    let (target, target_is_dir) = if has_group(target) {
        if !target.starts_with('/') {
            return Err(format!("the script path {target:?} must be absolute"));
        }
        (target.clone(), target.ends_with('/'))
    } else {
        mount_target(target, is_dir)?
    };
    Ok(ScriptAlias {
        kind: MountKind::Regex(pattern.clone(), re),
        target,
        target_is_dir,
        options,
        deferred_options: deferred,
        origin: String::new(),
    })
}

/// `WSGIPythonPath DIR[:DIR...]` (several arguments also accepted).
pub fn python_path(args: &[String]) -> Result<Vec<String>, String> {
    if args.is_empty() {
        return Err("takes one or more directories separated by ':'".to_string());
    }
    let mut out = Vec::new();
    for dir in args.iter().flat_map(|a| a.split(':')).filter(|d| !d.is_empty()) {
        if !dir.starts_with('/') {
            return Err(format!("{dir:?} is not an absolute path"));
        }
        out.push(dir.to_string());
    }
    Ok(out)
}

pub fn absolute_dir(args: &[String]) -> Result<String, String> {
    let v = one(args)?;
    if !v.starts_with('/') {
        return Err(format!("{v:?} is not an absolute path"));
    }
    Ok(v.trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn flags() {
        assert_eq!(flag(&s(&["ON"])), Ok(true));
        assert_eq!(flag(&s(&["off"])), Ok(false));
        assert!(flag(&s(&["yes"])).unwrap_err().contains("On or Off"));
        assert!(flag(&s(&[])).is_err());
    }

    #[test]
    fn app_groups() {
        assert_eq!(app_group("%{GLOBAL}"), Ok(AppGroup::Global));
        assert_eq!(app_group("%{ENV:APPG}"), Ok(AppGroup::Env("APPG".into())));
        assert_eq!(app_group("site1"), Ok(AppGroup::Named("site1".into())));
        assert!(app_group("%{BOGUS}").is_err());
        assert!(app_group("%{ENV:}").is_err());
    }

    #[test]
    fn callables() {
        assert_eq!(callable("app"), Ok(CallableName::Named("app".into())));
        assert_eq!(callable("%{ENV:X}"), Ok(CallableName::Env("X".into())));
        assert!(callable("1abc").is_err());
        assert!(callable("a.b").is_err());
    }

    #[test]
    fn script_alias_options() {
        let a = script_alias(
            &s(&[
                "/app",
                "/srv/x.wsgi",
                "process-group=g",
                "application-group=%{GLOBAL}",
                "callable-object=app",
                "pass-authorization=On",
            ]),
            |_| false,
        )
        .expect("valid");
        assert_eq!(a.options.process_group, Some(ProcessGroup::Daemon("g".into())));
        assert_eq!(a.options.application_group, Some(AppGroup::Global));
        assert_eq!(a.options.pass_authorization, Some(true));
        assert!(
            script_alias(&s(&["/app", "/x", "bogus=1"]), |_| false)
                .unwrap_err()
                .contains("unknown option")
        );
        assert!(
            script_alias(&s(&["app", "/x"]), |_| false)
                .unwrap_err()
                .contains("must start with '/'")
        );
        assert!(
            script_alias(&s(&["/app", "x.wsgi"]), |_| false)
                .unwrap_err()
                .contains("absolute")
        );
        assert!(script_alias(&s(&["/app"]), |_| false).is_err());
        assert!(
            script_alias(&s(&["/a", "/x", "noequals"]), |_| false)
                .unwrap_err()
                .contains("name=value")
        );
        let root = script_alias(&s(&["/", "/x.wsgi"]), |_| false).expect("valid");
        assert_eq!(root.written(), "/");
    }

    #[test]
    fn python_paths() {
        assert_eq!(python_path(&s(&["/a:/b", "/c"])).ok(), Some(s(&["/a", "/b", "/c"])));
        assert!(python_path(&s(&["rel"])).is_err());
        assert!(python_path(&[]).is_err());
    }
}
