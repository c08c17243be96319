//! Where a process's Python comes from (WSGIPythonHome / python-home=): a prefix or a virtualenv, checked for
//! existence, version and readability as the current user. Used at interpreter start-up and by the start-up
//! checks (run as the user the apps will run as).

use std::path::{Path, PathBuf};

const BUILD_PYTHON: &str = env!("RWSGI_BUILD_PYTHON");
const BUILD_VERSION: &str = env!("RWSGI_BUILD_PYTHON_VERSION");
const BUILD_STDLIB: &str = env!("RWSGI_BUILD_STDLIB");

pub fn run_user() -> String {
    let (uid, _) = crate::sys::users::current();
    match crate::sys::users::by_uid(uid) {
        Some(u) => format!("{} (uid {uid})", u.name),
        None => format!("uid {uid}"),
    }
}

/// Why the directory `path` cannot be entered (searched) by this process, naming the component that blocks it.
pub fn unsearchable(path: &Path) -> Option<String> {
    let mut cur = PathBuf::new();
    for comp in path.components() {
        cur.push(comp);
        if let Err(err) = crate::sys::fs::can_search(&cur) {
            if err.kind() == std::io::ErrorKind::NotFound {
                return Some(format!("{} does not exist", cur.display()));
            }
            return Some(format!(
                "user {} cannot enter directory {}: {err}",
                run_user(),
                cur.display()
            ));
        }
    }
    None
}

/// Why `path` cannot be read (or searched, for a directory) by this process, naming the first component that
/// blocks it.
pub fn unreadable(path: &Path) -> Option<String> {
    let mut cur = PathBuf::new();
    for comp in path.components() {
        cur.push(comp);
        let is_last = cur.as_path() == path;
        let allowed = if is_last {
            crate::sys::fs::can_read(&cur)
        } else {
            crate::sys::fs::can_search(&cur)
        };
        if let Err(err) = allowed {
            if err.kind() == std::io::ErrorKind::NotFound {
                return Some(format!("{} does not exist", cur.display()));
            }
            let what = if is_last { "read" } else { "enter directory" };
            return Some(format!("user {} cannot {what} {}: {err}", run_user(), cur.display()));
        }
    }
    None
}

pub enum Location {
    Home(String),
    Executable(String),
}

const MAKE_READABLE: &str = "make it readable by that user (chmod o+rx on every directory of the path, o+r on files), or move it out of the private directory";

fn versions_in(lib: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(lib)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .strip_prefix("python")
                        .map(str::to_string)
                })
                .filter(|v| v.starts_with('3'))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Where Python should come from for `home` (WSGIPythonHome / python-home=; None: the build's Python), checked
/// as the current user. Err is one sentence: what is wrong, which path, which user, what to do.
pub fn locate(home: Option<&str>) -> Result<Location, String> {
    let Some(home) = home else {
        for p in [BUILD_PYTHON, &format!("{BUILD_STDLIB}/os.py")] {
            if let Some(why) = unreadable(Path::new(p)) {
                return Err(format!(
                    "the Python {BUILD_VERSION} mod_rwsgi was built for is not usable: {why}; {MAKE_READABLE}, or set WSGIPythonHome to a Python {BUILD_VERSION} installation or virtualenv the user can read"
                ));
            }
        }
        return Ok(Location::Executable(BUILD_PYTHON.to_string()));
    };
    let what = "WSGIPythonHome/python-home";
    let home_path = Path::new(home);
    if home_path
        .components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with("python3."))
    {
        return Err(format!(
            "{what} {home} points inside a lib/pythonX.Y directory; it must be the installation prefix or virtualenv directory (the one containing bin/ and lib/)"
        ));
    }
    if let Some(why) = unreadable(home_path) {
        let fix = if why.ends_with("does not exist") {
            "create it or correct the path"
        } else {
            MAKE_READABLE
        };
        return Err(format!("{what} {home}: {why}; {fix}"));
    }
    if !home_path.is_dir() {
        return Err(format!(
            "{what} {home} is not a directory; it must be a Python {BUILD_VERSION} prefix or virtualenv directory"
        ));
    }
    let venv_cfg = home_path.join("pyvenv.cfg");
    if venv_cfg.exists() {
        if let Some(why) = unreadable(&venv_cfg) {
            return Err(format!("{what} {home}: {why}; {MAKE_READABLE}"));
        }
        let text = std::fs::read_to_string(&venv_cfg).unwrap_or_default();
        let version = text.lines().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            matches!(k.trim(), "version" | "version_info").then(|| v.trim().to_string())
        });
        if let Some(v) = version {
            let major_minor: String = v.split('.').take(2).collect::<Vec<_>>().join(".");
            if major_minor != BUILD_VERSION {
                return Err(format!(
                    "{what} {home} is a Python {v} virtualenv but mod_rwsgi was built for Python {BUILD_VERSION}; recreate the virtualenv with Python {BUILD_VERSION}, or rebuild mod_rwsgi with PYO3_PYTHON pointing at Python {major_minor}"
                ));
            }
        }
        for exe in ["bin/python3", "bin/python", &format!("bin/python{BUILD_VERSION}")] {
            let p = home_path.join(exe);
            if p.exists() {
                // A venv's python is a symlink to the base interpreter, whose stdlib must be readable too.
                let real = std::fs::canonicalize(&p).unwrap_or_else(|_| p.clone());
                if let Some(why) = unreadable(&real) {
                    return Err(format!(
                        "{what} {home}: its interpreter {}: {why}; {MAKE_READABLE}",
                        real.display()
                    ));
                }
                return Ok(Location::Executable(p.to_string_lossy().into_owned()));
            }
        }
        return Err(format!(
            "{what} {home} has a pyvenv.cfg but no bin/python3; recreate the virtualenv"
        ));
    }
    let stdlib = home_path.join(format!("lib/python{BUILD_VERSION}/os.py"));
    if !stdlib.exists() {
        let found = versions_in(&home_path.join("lib"));
        let extra = if found.is_empty() {
            String::new()
        } else {
            format!(" (it has Python {})", found.join(", "))
        };
        return Err(format!(
            "{what} {home} is not a Python {BUILD_VERSION} installation{extra}: {} is missing; point it at a Python {BUILD_VERSION} prefix or virtualenv, or rebuild mod_rwsgi for that Python",
            stdlib.display()
        ));
    }
    if let Some(why) = unreadable(&stdlib) {
        return Err(format!("{what} {home}: {why}; {MAKE_READABLE}"));
    }
    Ok(Location::Home(home.to_string()))
}
