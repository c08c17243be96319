//! Every CPython on the machine that mod_rwsgi supports (3.9 and later): the distribution's /usr/bin/python3 and
//! pyenv's, each copied to a world-readable place first (httpd children, running as Apache's user, cannot read
//! root's 0700 home). For each: build the module against it, then serve hello and a Flask app (Flask from PyPI in
//! a venv of that Python) in embedded and in daemon mode. A CPython found in the supported range that does not
//! build and serve fails the test; the ones below it are listed as outside the range.

use std::path::{Path, PathBuf};
use std::process::Command;

use rwsgi_testkit as kit;

use kit::ServerBuilder;

/// The oldest CPython mod_rwsgi supports (mod_wsgi 6 supports the same).
const OLDEST: (u32, u32) = (3, 9);

fn version_of(python: &Path) -> Option<(u32, u32, u32)> {
    let out = Command::new(python)
        .args(["-c", "import sys; print(*sys.version_info[:3])"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let v: Vec<u32> = text.split_whitespace().filter_map(|p| p.parse().ok()).collect();
    (v.len() == 3).then(|| (v[0], v[1], v[2]))
}

/// (python, version) of every CPython found: /usr/bin/python3, then pyenv's versions.
fn discover() -> Vec<(PathBuf, (u32, u32, u32))> {
    let mut found = Vec::new();
    let system = PathBuf::from(std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".to_string()));
    if let Some(v) = version_of(&system) {
        found.push((system, v));
    }
    let pyenv = std::env::var("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".pyenv"));
    if let Ok(entries) = std::fs::read_dir(pyenv.join("versions")) {
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        for d in dirs {
            let python = d.join("bin/python3");
            if let Some(v) = python.is_file().then(|| version_of(&python)).flatten() {
                found.push((python, v));
            }
        }
    }
    found
}

/// A world-readable copy of the installation `python` belongs to (reused while it exists).
fn readable_copy(python: &Path, v: (u32, u32, u32)) -> PathBuf {
    let home = python.parent().and_then(Path::parent).expect("prefix");
    let copy = kit::scratch_base().join(format!("rwsgi-python-{}.{}.{}", v.0, v.1, v.2));
    if !copy.join(".rwsgi-ready").exists() {
        let _ = std::fs::remove_dir_all(&copy);
        let st = Command::new("cp").arg("-a").arg(home).arg(&copy).status().expect("cp");
        assert!(st.success(), "copy {}", home.display());
        let st = Command::new("chmod")
            .arg("-R")
            .arg("a+rX")
            .arg(&copy)
            .status()
            .expect("chmod");
        assert!(st.success());
        std::fs::write(copy.join(".rwsgi-ready"), b"ok").expect("marker");
    }
    copy.join("bin/python3")
}

/// mod_rwsgi.so built against `python` (its own cargo target directory; the tests' build is untouched).
fn build_for(python: &Path, v: (u32, u32, u32)) -> PathBuf {
    let target = kit::repo_dir().join(format!("target/py-{}.{}.{}", v.0, v.1, v.2));
    let out = Command::new("cargo")
        .args(["build", "--release", "--locked", "-p", "mod_rwsgi"])
        .current_dir(kit::repo_dir())
        .env("PYO3_PYTHON", python)
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("cargo");
    assert!(
        out.status.success(),
        "build for {}: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let so = target.join("release/mod_rwsgi.so");
    let _ = std::fs::remove_file(&so);
    std::fs::copy(target.join("release/libmod_rwsgi.so"), &so).expect("copy module");
    so
}

/// A venv of `python` with Flask from PyPI (reused while it exists).
fn flask_venv(python: &Path, v: (u32, u32, u32)) -> PathBuf {
    let venv = kit::scratch_base().join(format!("rwsgi-venv-py{}.{}.{}-flask", v.0, v.1, v.2));
    if !venv.join(".rwsgi-ready").exists() {
        let _ = std::fs::remove_dir_all(&venv);
        let st = Command::new(python)
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("venv");
        assert!(st.success(), "venv of {}", python.display());
        let st = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "flask"])
            .status()
            .expect("pip");
        assert!(st.success(), "pip install flask for {}", python.display());
        let st = Command::new("chmod")
            .arg("-R")
            .arg("a+rX")
            .arg(&venv)
            .status()
            .expect("chmod");
        assert!(st.success());
        std::fs::write(venv.join(".rwsgi-ready"), b"ok").expect("marker");
    }
    venv
}

#[test]
fn every_supported_cpython_on_the_machine_builds_and_serves() {
    let found = discover();
    assert!(!found.is_empty(), "no CPython found");
    let mut covered = Vec::new();
    let mut outside = Vec::new();
    for (python, v) in found {
        if (v.0, v.1) < OLDEST {
            outside.push(format!("{}.{}.{} ({})", v.0, v.1, v.2, python.display()));
            continue;
        }
        let system = python.starts_with("/usr/");
        let readable = if system {
            python.clone()
        } else {
            readable_copy(&python, v)
        };
        let module = if system && kit::find_module().is_some() {
            kit::module_path()
        } else {
            build_for(&readable, v)
        };
        let venv = flask_venv(&readable, v);
        let venv_s = venv.display().to_string();
        let s = ServerBuilder::new(&format!("py{}{}", v.0, v.1))
            .module(&module)
            .conf(&format!(
                "WSGIPythonHome {venv_s}\nWSGIDaemonProcess d processes=1 threads=2 python-home={venv_s}\n\
                 WSGIScriptAlias /e/hello {{apps}}/hello.wsgi\nWSGIScriptAlias /e/flask {{apps}}/pyversion.wsgi\n\
                 WSGIScriptAlias /d/hello {{apps}}/hello.wsgi process-group=d\nWSGIScriptAlias /d/flask {{apps}}/pyversion.wsgi process-group=d"
            ))
            .start();
        let want = format!("{}.{}.{} {venv_s} flask=", v.0, v.1, v.2);
        for mode in ["/e", "/d"] {
            let r = s.get(&format!("{mode}/hello"));
            assert_eq!((r.status, r.text().as_str()), (200, "Hello World!"), "{v:?} {mode}");
            let r = s.get(&format!("{mode}/flask"));
            assert_eq!(r.status, 200, "{v:?} {mode}: {}", r.text());
            assert!(r.text().starts_with(&want), "{v:?} {mode}: {} (want {want})", r.text());
        }
        covered.push(format!("{}.{}.{}", v.0, v.1, v.2));
    }
    eprintln!("FIGURE pythons: covered {covered:?}; outside the supported range (3.9+): {outside:?}");
}
