//! Every CPython on the machine that mod_rwsgi supports (3.9 and later): the distribution's /usr/bin/python3 and
//! pyenv's, each copied to a world-readable place first (httpd children, running as Apache's user, cannot read
//! root's 0700 home). For each: a fresh venv with Flask from PyPI, `pip install` of the checkout into it, then
//! hello and the Flask app served by that module in embedded and in daemon mode (hand-written httpd.conf), and by
//! the venv's `rwsgi-express start-server`. A CPython found in the supported range that fails fails the test; the
//! ones below it are listed as outside the range.

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

/// A venv of `python` with Flask from PyPI (reused while it exists) and mod_rwsgi pip-installed from the checkout
/// (each run: the checkout may have changed; cargo's target directory per Python keeps it quick).
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
    let out = Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--force-reinstall",
            "--no-deps",
        ])
        .arg(kit::repo_dir())
        .env(
            "CARGO_TARGET_DIR",
            kit::repo_dir().join(format!("target/py-{}.{}.{}", v.0, v.1, v.2)),
        )
        .output()
        .expect("pip");
    assert!(
        out.status.success(),
        "pip install of the checkout for {}: {}",
        python.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let st = Command::new("chmod")
        .arg("-R")
        .arg("a+rX")
        .arg(&venv)
        .status()
        .expect("chmod");
    assert!(st.success());
    venv
}

/// `rwsgi-express start-server` of the venv serves the Flask app (its daemon mode, the venv's Flask); the answer.
fn express_answer(venv: &Path, tag: &str) -> String {
    let dir = kit::TempDir::new(tag);
    let port = kit::free_port();
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(venv.join("bin/rwsgi-express"))
        .arg("start-server")
        .arg(kit::apps_dir().join("pyversion.wsgi"))
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .arg("--server-root")
        .arg(dir.path("sr"))
        .env_remove("VIRTUAL_ENV")
        .env_remove("RWSGI_MODULE")
        .current_dir(&dir.0)
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path("err")).expect("err"))
        .spawn()
        .expect("rwsgi-express");
    let started = std::time::Instant::now();
    let answer = loop {
        if let Some((200, body)) = kit::http::http_get(port, "/") {
            break body;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) || child.try_wait().ok().flatten().is_some() {
            kit::signal(child.id() as i32, 15);
            panic!(
                "{tag}: no answer:\n{}",
                std::fs::read_to_string(dir.path("err")).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    kit::signal(child.id() as i32, 15);
    let _ = child.wait();
    answer
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
        let venv = flask_venv(&readable, v);
        let module = PathBuf::from(
            String::from_utf8_lossy(
                &Command::new(venv.join("bin/python"))
                    .args(["-c", "import mod_rwsgi; print(mod_rwsgi.module_path())"])
                    .output()
                    .expect("python")
                    .stdout,
            )
            .trim(),
        );
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
        drop(s);
        let answer = express_answer(&venv, &format!("py{}{}-express", v.0, v.1));
        assert!(answer.starts_with(&want), "{v:?} rwsgi-express: {answer} (want {want})");
        covered.push(format!("{}.{}.{}", v.0, v.1, v.2));
    }
    eprintln!("FIGURE pythons: covered {covered:?}; outside the supported range (3.9+): {outside:?}");
}
