//! Finding the WSGI callable for a script: a per-process cache keyed by path and modification time in front of
//! the Python-side loader (which serialises loading and never caches a failure).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Mutex;

use pyo3::prelude::*;

use super::{Runtime, format_error};

/// Why no callable could be had.
pub enum LoadError {
    /// Import failed: the full traceback (answer 500).
    Failed(String),
    /// The script has no such callable (answer 404, like mod_wsgi).
    NoCallable(String),
}

/// (script path, modification time, module) of every script loaded in this process.
type Loaded = Vec<(Vec<u8>, i64, Py<PyAny>)>;

static CACHE: Mutex<Loaded> = Mutex::new(Vec::new());

fn cached(py: Python<'_>, path: &[u8], mtime: i64, reloading: bool) -> Option<Py<PyAny>> {
    let cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    cache
        .iter()
        .find(|(p, m, _)| p == path && (!reloading || *m == mtime))
        .map(|(_, _, module)| module.clone_ref(py))
}

/// When the first load of a script failed while none has loaded yet (startup-timeout counts from there).
static FIRST_FAILURE: Mutex<Option<std::time::Instant>> = Mutex::new(None);
static LOADED_ONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// How long loading has been failing without any script having loaded in this process (None: one loaded, or
/// none failed).
pub fn failing_since() -> Option<std::time::Duration> {
    if LOADED_ONE.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    FIRST_FAILURE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .map(|t| t.elapsed())
}

/// A script that was loaded before was imported again because it changed (or reload_required said so).
static RELOADED: std::sync::Mutex<Option<Vec<u8>>> = std::sync::Mutex::new(None);

/// Which script was re-imported since the last call (daemon processes restart then, like mod_wsgi).
pub fn take_reloaded() -> Option<Vec<u8>> {
    RELOADED.lock().unwrap_or_else(|p| p.into_inner()).take()
}

fn remember(path: &[u8], mtime: i64, module: Py<PyAny>, fresh: bool) {
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    // Only a real re-import of a script loaded before counts (two threads that both missed the cache on the
    // first request get the same, once-imported module: fresh is false for the second).
    if fresh && cache.iter().any(|(p, _, _)| p == path) {
        *RELOADED.lock().unwrap_or_else(|p| p.into_inner()) = Some(path.to_vec());
    }
    cache.retain(|(p, _, _)| p != path);
    cache.push((path.to_vec(), mtime, module));
}

/// `module.name` without raising AttributeError when it is missing.
fn module_attr<'py>(module: &Bound<'py, PyAny>, name: &Bound<'py, pyo3::types::PyString>) -> Option<Bound<'py, PyAny>> {
    match module.cast::<PyModule>() {
        Ok(m) => m.dict().get_item(name).ok().flatten(),
        Err(_) => module.getattr_opt(name).ok().flatten(),
    }
}

/// The app callable `name` of the script at `path` (re-imported when `reloading` and the mtime changed, or when
/// the script's `reload_required(resource)` says so).
pub fn application<'py>(
    py: Python<'py>,
    rt: &Runtime,
    path: &[u8],
    mtime: i64,
    reloading: bool,
    name: &str,
) -> Result<Bound<'py, PyAny>, LoadError> {
    let module = script_module(py, rt, path, mtime, reloading)?;
    let shown = Path::new(OsStr::from_bytes(path)).display();
    // The usual name as an interned string (its hash is kept: no hashing per request).
    let name_obj = if name == "application" {
        pyo3::intern!(py, "application").clone()
    } else {
        pyo3::types::PyString::new(py, name)
    };
    // Module-level __getattr__ (PEP 562) is honoured on the slow path only.
    match module_attr(&module, &name_obj).or_else(|| module.getattr_opt(&name_obj).ok().flatten()) {
        Some(app) => Ok(app),
        None => Err(LoadError::NoCallable(format!(
            "WSGI script {} does not contain WSGI application {name:?}",
            shown
        ))),
    }
}

/// The script's module: cached while its modification time is unchanged (or always, without reloading).
pub fn script_module<'py>(
    py: Python<'py>,
    rt: &Runtime,
    path: &[u8],
    mtime: i64,
    reloading: bool,
) -> Result<Bound<'py, PyAny>, LoadError> {
    let path_os = OsStr::from_bytes(path);
    let path_obj = path_os;
    let shown = Path::new(path_os).display();
    let mut module = cached(py, path, mtime, reloading).map(|m| m.into_bound(py));
    if let Some(m) = &module {
        if reloading && stale(py, rt, m, path) {
            let _ = rt
                .bootstrap
                .bind(py)
                .getattr("forget_script")
                .and_then(|f| f.call1((path_obj,)));
            module = None;
        }
    }
    let module = match module {
        Some(m) => m,
        None => {
            let loaded = rt
                .bootstrap
                .bind(py)
                .getattr("load_script")
                .and_then(|f| f.call1((path_obj, mtime, reloading)))
                .and_then(|t| Ok((t.get_item(0)?, t.get_item(1)?.is_truthy()?)));
            match loaded {
                Ok((m, fresh)) => {
                    LOADED_ONE.store(true, std::sync::atomic::Ordering::Relaxed);
                    if fresh {
                        // mod_wsgi's words: log monitors and its tests look for them.
                        let again = CACHE
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .iter()
                            .any(|(p, _, _)| p == path);
                        let verb = if again { "Reloading" } else { "Loading" };
                        crate::apache::log::server(
                            crate::apache::log::Level::Info,
                            &format!("{verb} WSGI script '{shown}' into main interpreter {}.", rt.context),
                        );
                    }
                    remember(path, mtime, m.clone().unbind(), fresh);
                    m
                }
                Err(e) => {
                    FIRST_FAILURE
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get_or_insert_with(std::time::Instant::now);
                    return Err(LoadError::Failed(format!(
                        "{}: the script failed to load (the next request tries again):\n{}",
                        super::exception_header(py, &e, path),
                        format_error(py, rt, &e)
                    )));
                }
            }
        }
    };
    Ok(module)
}

/// Whether a loaded module must be loaded again although its file did not change, as mod_wsgi decides: its
/// `__mtime__` is gone or not a number (an app deletes it to force a reload), or its `reload_required(path)`
/// says so. A reload_required that raises is logged and means no.
fn stale(py: Python<'_>, rt: &Runtime, module: &Bound<'_, PyAny>, path: &[u8]) -> bool {
    let mtime_ok = module_attr(module, pyo3::intern!(py, "__mtime__")).is_some_and(|v| v.extract::<i64>().is_ok());
    if !mtime_ok {
        return true;
    }
    // A lookup in the module's dict: getattr would build (and throw away) an AttributeError on every request
    // for scripts without the hook.
    let Some(hook) = module_attr(module, pyo3::intern!(py, "reload_required")) else {
        return false;
    };
    match hook.call1((OsStr::from_bytes(path),)).and_then(|v| v.is_truthy()) {
        Ok(answer) => answer,
        Err(e) => {
            let text = format!(
                "mod_rwsgi: {} (in reload_required(); the loaded code is kept):\n{}",
                super::exception_header(py, &e, path),
                format_error(py, rt, &e)
            );
            for line in text.lines() {
                crate::apache::log::current(crate::apache::log::Level::Error, line);
            }
            false
        }
    }
}

/// Daemon mode: whether the loaded code of `path` is out of date (changed file, `__mtime__` gone,
/// `reload_required()` true). The process then restarts instead of reloading in place, as mod_wsgi's daemons do:
/// a fresh process imports every module again. False when the script is not loaded yet.
pub fn needs_reload(py: Python<'_>, rt: &Runtime, path: &[u8], mtime: i64) -> bool {
    let Some(module) = cached(py, path, mtime, false).map(|m| m.into_bound(py)) else {
        return false;
    };
    cached(py, path, mtime, true).is_none() || stale(py, rt, &module, path)
}

/// Imports `script` before any request (WSGIScriptAlias preloading, WSGIImportScript); with a callable, checks
/// that it exists.
pub fn preload(py: Python<'_>, rt: &Runtime, script: &str, callable: Option<&str>) {
    let mtime = std::fs::metadata(script)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_micros() as i64);
    use crate::apache::log::{self, Level};
    let result = match callable {
        Some(c) => application(py, rt, script.as_bytes(), mtime, true, c).map(|_| ()),
        None => script_module(py, rt, script.as_bytes(), mtime, true).map(|_| ()),
    };
    match result {
        Ok(()) => {}
        Err(LoadError::Failed(text)) => {
            for line in format!("mod_rwsgi: preloading {script} failed: {text}").lines() {
                log::server(Level::Error, line);
            }
        }
        Err(LoadError::NoCallable(msg)) => log::server(Level::Error, &format!("mod_rwsgi: preloading: {msg}")),
    }
}
