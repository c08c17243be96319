//! A virtualenv with packages from PyPI, made from the same Python the module was built for, in a
//! world-readable directory (httpd children must read it). Reused across runs while its requirements match.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

static LOCK: Mutex<()> = Mutex::new(());

fn python() -> String {
    std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".to_string())
}

pub fn venv(packages: &[&str]) -> PathBuf {
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let key: String = packages
        .join("-")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let dir = crate::scratch_base().join(format!("rwsgi-venv-{key}"));
    let marker = dir.join(".rwsgi-ready");
    if marker.exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    let st = Command::new(python())
        .args(["-m", "venv"])
        .arg(&dir)
        .status()
        .expect("run python -m venv");
    assert!(st.success(), "python3 -m venv failed (install python3-venv)");
    let pip = dir.join("bin/pip");
    let st = Command::new(&pip)
        .args(["install", "--quiet", "--disable-pip-version-check", "--no-cache-dir"])
        .args(packages)
        .status()
        .expect("run pip");
    assert!(st.success(), "pip install {packages:?} failed");
    let st = Command::new("chmod")
        .arg("-R")
        .arg("a+rX")
        .arg(&dir)
        .status()
        .expect("chmod");
    assert!(st.success());
    std::fs::write(&marker, b"ok").expect("marker");
    dir
}
