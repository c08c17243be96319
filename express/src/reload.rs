//! `--reload-on-changes`: poll the application's Python files by mtime. rwsgi-express owns this (not the
//! module): when a file changes it sends httpd SIGUSR1, a graceful restart, which gives every child a fresh
//! interpreter while requests in flight finish.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Directories never worth watching: caches, VCS data, installed packages.
const SKIP_DIRS: &[&str] = &["__pycache__", "node_modules", "site-packages", "dist-packages"];
const MAX_DEPTH: usize = 8;
const MAX_FILES: usize = 20_000;

#[derive(Debug)]
pub struct Watcher {
    roots: Vec<PathBuf>,
    files: Vec<PathBuf>,
    snapshot: HashMap<PathBuf, Option<SystemTime>>,
    pub truncated: bool,
}

impl Watcher {
    /// Watch every .py file below `roots`, plus `files` (the WSGI script itself) whatever their extension.
    pub fn new(roots: Vec<PathBuf>, files: Vec<PathBuf>) -> Watcher {
        let mut w = Watcher {
            roots,
            files,
            snapshot: HashMap::new(),
            truncated: false,
        };
        w.snapshot = w.scan();
        w
    }

    pub fn watched(&self) -> usize {
        self.snapshot.len()
    }

    /// The first file that changed, appeared or vanished since the last call.
    pub fn changed(&mut self) -> Option<PathBuf> {
        let now = self.scan();
        let changed = now
            .iter()
            .find(|(path, mtime)| self.snapshot.get(*path) != Some(mtime))
            .map(|(p, _)| p.clone())
            .or_else(|| self.snapshot.keys().find(|p| !now.contains_key(*p)).cloned());
        self.snapshot = now;
        changed
    }

    fn scan(&mut self) -> HashMap<PathBuf, Option<SystemTime>> {
        let mut out = HashMap::new();
        for f in &self.files {
            out.insert(f.clone(), mtime(f));
        }
        let roots = self.roots.clone();
        for root in &roots {
            self.walk(root, 0, &mut out);
        }
        out
    }

    fn walk(&mut self, dir: &Path, depth: usize, out: &mut HashMap<PathBuf, Option<SystemTime>>) {
        if depth > MAX_DEPTH || dir.join("pyvenv.cfg").exists() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            if out.len() >= MAX_FILES {
                self.truncated = true;
                return;
            }
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                if !SKIP_DIRS.contains(&name.as_ref()) {
                    self.walk(&path, depth + 1, out);
                }
            } else if name.ends_with(".py") {
                let m = mtime(&path);
                out.insert(path, m);
            }
        }
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_edits_new_and_removed_files_but_not_caches() {
        let dir = std::env::temp_dir().join(format!("rwsgi-express-unit-reload-{}", std::process::id()));
        let _fresh = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("pkg/__pycache__")).expect("dirs");
        std::fs::write(dir.join("pkg/mod.py"), "a = 1\n").expect("write");
        std::fs::write(dir.join("app.wsgi"), "x\n").expect("write");
        let mut w = Watcher::new(vec![dir.clone()], vec![dir.join("app.wsgi")]);
        assert_eq!(w.watched(), 2);
        assert_eq!(w.changed(), None);
        std::fs::write(dir.join("pkg/__pycache__/mod.cpython-311.py"), "").expect("write");
        std::fs::write(dir.join("notes.txt"), "").expect("write");
        assert_eq!(w.changed(), None);
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        let f = std::fs::File::options()
            .write(true)
            .open(dir.join("pkg/mod.py"))
            .expect("open");
        f.set_modified(later).expect("touch");
        assert_eq!(w.changed(), Some(dir.join("pkg/mod.py")));
        assert_eq!(w.changed(), None);
        std::fs::write(dir.join("new.py"), "").expect("write");
        assert_eq!(w.changed(), Some(dir.join("new.py")));
        std::fs::remove_file(dir.join("new.py")).expect("rm");
        assert_eq!(w.changed(), Some(dir.join("new.py")));
        let _cleanup = std::fs::remove_dir_all(&dir);
    }
}
