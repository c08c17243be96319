//! WSGIDispatchScript: Python choosing, per request, the process group, application group and callable
//! (`process_group(environ)`, `application_group(environ)`, `callable_object(environ)`, each optional; None keeps
//! the configured value). Runs in the httpd child's interpreter, after the environ is collected (trusted proxy
//! headers applied) and before the request goes to its process, as mod_wsgi does.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::apache::Request;
use crate::config::{AppGroup, HookScript, ProcessGroup};
use crate::python::hooks::{self, HookError};
use crate::request::RequestHead;

/// What the dispatch script chose (None: keep what the configuration says).
#[derive(Default)]
pub struct Choice {
    pub process_group: Option<ProcessGroup>,
    pub application_group: Option<Vec<u8>>,
    pub callable_object: Option<Vec<u8>>,
}

/// A str (latin-1) or bytes answer of a dispatch function; None for None.
fn answer(v: &Bound<'_, PyAny>, function: &str) -> Result<Option<String>, String> {
    if v.is_none() {
        return Ok(None);
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return Ok(Some(b.as_bytes().iter().map(|&c| char::from(c)).collect()));
    }
    if let Ok(s) = v.cast::<PyString>() {
        let s = s.to_cow().map_err(|e| e.to_string())?;
        if s.chars().any(|c| u32::from(c) > 0xff) {
            return Err(format!(
                "{function}() returned a str with characters that are not latin-1"
            ));
        }
        return Ok(Some(s.into_owned()));
    }
    Err(format!(
        "{function}() must return a str, bytes or None, not {}",
        v.get_type().name().map(|n| n.to_string()).unwrap_or_default()
    ))
}

fn latin1(s: &str) -> Vec<u8> {
    s.chars().map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?')).collect()
}

pub fn choose(req: Request<'_>, hook: &HookScript, info: &RequestHead) -> Result<Choice, String> {
    let vars_ref: Vec<(&[u8], &[u8])> = info.environ.iter().collect();
    let script_name = info.environ.get(b"SCRIPT_NAME").unwrap_or_default();
    let own_group = crate::request::application_group(req, &vars_ref, &hook.application_group, script_name);
    let mut vars: Vec<(Vec<u8>, Vec<u8>)> = vars_ref
        .iter()
        .filter(|(k, _)| *k != b"mod_wsgi.callable_object")
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    for (k, v) in [
        (&b"mod_wsgi.process_group"[..], &b""[..]),
        (b"mod_wsgi.application_group", &own_group),
    ] {
        vars.retain(|(n, _)| n != k);
        vars.push((k.to_vec(), v.to_vec()));
    }
    let reloading = info.script_reloading;
    let answers = crate::python::with_python(|py, rt| -> Result<[Option<String>; 3], String> {
        let environ = hooks::environ(py, rt, &vars).map_err(|e| e.to_string())?;
        let mut out: [Option<String>; 3] = [None, None, None];
        for (i, function) in ["process_group", "application_group", "callable_object"].iter().enumerate() {
            match hooks::call(py, rt, &hook.script, reloading, function, true, &environ, Vec::new()) {
                Ok(Some(v)) => out[i] = answer(&v, function)?,
                Ok(None) => {}
                Err(HookError::Unusable(why)) | Err(HookError::Raised(why)) => return Err(why),
            }
        }
        Ok(out)
    })
    .map_err(|why| {
        format!("cannot run in the httpd child: {why} (hook scripts run in embedded Python, which WSGIRestrictEmbedded On disables)")
    })??;
    let [process_group, application_group, callable] = answers;
    let mut choice = Choice::default();
    if let Some(g) = process_group {
        choice.process_group = Some(if g.is_empty() {
            ProcessGroup::Embedded
        } else {
            ProcessGroup::parse(&g).map_err(|why| format!("process_group() returned {g:?}: {why}"))?
        });
    }
    if let Some(g) = application_group {
        let group = if g.is_empty() {
            AppGroup::Global
        } else {
            crate::config::parse::app_group(&g).map_err(|why| format!("application_group() returned {g:?}: {why}"))?
        };
        choice.application_group = Some(crate::request::application_group(req, &vars_ref, &group, script_name));
    }
    if let Some(c) = callable {
        choice.callable_object = Some(match c.strip_prefix("%{ENV:").and_then(|r| r.strip_suffix('}')) {
            Some(var) => info
                .environ
                .get(var.as_bytes())
                .filter(|v| !v.is_empty())
                .unwrap_or(b"application")
                .to_vec(),
            None if c.starts_with('%') || c.is_empty() => b"application".to_vec(),
            None => latin1(&c),
        });
    }
    Ok(choice)
}
