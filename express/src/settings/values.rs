//! Checks of one option value at a time: numbers in range, ports, paths made absolute and checked to exist,
//! names that are safe in httpd.conf, the mount point, and the application target (a module entry point, a
//! script that defines its callable).

use std::path::{Path, PathBuf};

use super::App;
use crate::error::{Error, Result};

/// A daemon process group name that is safe in httpd.conf and as a socket file name.
pub(super) fn is_group_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-:@+".contains(c))
}

/// Refuse a script that never mentions its callable: the module would only answer 404 for every request.
/// Deliberately a weak check (a word search, skipped for `import *`), so it never refuses a working app.
pub fn check_defines(path: &Path, name: &str) -> Result<()> {
    let text = std::fs::read(path)
        .map_err(|e| Error::usage(format!("cannot read the application {}: {e}", path.display())))?;
    let text = String::from_utf8_lossy(&text);
    if text.contains("import *") || mentions_word(&text, name) {
        return Ok(());
    }
    Err(Error::usage(format!(
        "{} does not define '{name}': name the WSGI callable with --callable-object",
        path.display()
    )))
}

pub(super) fn mentions_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c == '_' || c.is_alphanumeric();
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// `pkg.mod:callable` (callable defaults to --callable-object).
pub fn parse_entry_point(target: &str, default_callable: &str) -> Result<App> {
    let (module, callable) = target.split_once(':').unwrap_or((target, default_callable));
    if !is_dotted_identifier(module) {
        return Err(Error::usage(format!(
            "--application-type module: {target:?} is not a module name like package.module:callable"
        )));
    }
    if !is_dotted_identifier(callable) {
        return Err(Error::usage(format!(
            "--application-type module: {callable:?} is not a Python attribute name"
        )));
    }
    Ok(App::Module {
        module: module.to_string(),
        callable: callable.to_string(),
    })
}

pub fn is_dotted_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut chars = part.chars();
            matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

pub(super) fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

pub fn normalize_mount_point(m: &str) -> Result<String> {
    if !m.starts_with('/') || m.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\' || c == '%') {
        return Err(Error::usage(format!(
            "--mount-point {m:?}: give a URL path starting with '/'"
        )));
    }
    let trimmed = m.trim_end_matches('/');
    Ok(if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    })
}

pub fn bracket_v6(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

pub(super) fn absolute(cwd: &Path, s: &str) -> PathBuf {
    let p = Path::new(s);
    let joined = if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
    // Lexical clean-up only: ".." must not be resolved through symlinks the user did not name.
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

pub(super) fn existing(p: PathBuf, what: &str) -> Result<PathBuf> {
    if p.exists() {
        Ok(p)
    } else {
        Err(Error::usage(format!("{what}: {} does not exist", p.display())))
    }
}

pub(super) fn existing_dir(p: PathBuf, what: &str) -> Result<PathBuf> {
    if p.is_dir() {
        Ok(p)
    } else {
        Err(Error::usage(format!("{what}: {} is not a directory", p.display())))
    }
}

pub(super) fn number<T: std::str::FromStr>(v: &str, what: &str) -> Result<T> {
    v.trim()
        .parse::<T>()
        .map_err(|_| Error::usage(format!("{what} {v:?}: not a valid number")))
}

pub(super) fn bounded(v: Option<&str>, default: u32, min: u32, max: u32, what: &str) -> Result<u32> {
    let Some(v) = v else { return Ok(default) };
    let n = number::<u32>(v, what)?;
    if n < min || n > max {
        return Err(Error::usage(format!("{what} {n}: must be between {min} and {max}")));
    }
    Ok(n)
}

pub(super) fn port(v: &str, what: &str) -> Result<u16> {
    match number::<u16>(v, what)? {
        0 => Err(Error::usage(format!("{what} 0: give a port between 1 and 65535"))),
        n => Ok(n),
    }
}
