//! The floors of the module's layout (DESIGN: a file imports only from its own floor or below) and no cycle
//! between top-level modules. Reads every `crate::` path in src/ (comments and doc text skipped), so the
//! structure stays as it was left. Pure: no httpd needed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules of src/, by floor (bottom first).
const FLOORS: &[&[&str]] = &[
    &["ffi", "config"],
    &["apache", "sys"],
    &["request", "metrics"],
    &["python"],
    &["wsgi"],
    &["connection", "daemon"],
    &["handler", "checks", "auth", "dispatch", "hooks"],
];

fn floor(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (src/daemon/client.rs -> daemon, src/handler.rs -> handler).
fn owner(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy().into_owned();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib").then_some(name)
}

/// Every top-level module named as `crate::NAME` in code (not comments) of `text`.
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + 7..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = after;
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let Some(m) = owner(&src, &f) else { continue };
        let text = std::fs::read_to_string(&f).expect("read source");
        let deps = g.entry(m.clone()).or_default();
        for d in imports(&text) {
            if d != m {
                deps.insert(d);
            }
        }
    }
    g
}

#[test]
fn every_module_has_a_floor() {
    for m in graph().keys() {
        assert!(
            floor(m).is_some(),
            "src/{m} is not on any floor of tests/layers.rs: place it (and in DESIGN)"
        );
    }
}

#[test]
fn no_import_from_a_lower_floor_to_a_higher_one() {
    let mut bad = Vec::new();
    for (m, deps) in graph() {
        let Some(mine) = floor(&m) else { continue };
        for d in deps {
            if floor(&d).is_some_and(|theirs| theirs > mine) {
                bad.push(format!("{m} (floor {mine}) imports {d} (floor {:?})", floor(&d)));
            }
        }
    }
    assert!(bad.is_empty(), "imports up the floors:\n{}", bad.join("\n"));
}

#[test]
fn no_cycle_between_top_level_modules() {
    let g = graph();
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<String> {
        if let Some(i) = path.iter().position(|p| p == n) {
            return Some(format!("{} -> {n}", path[i..].join(" -> ")));
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(d, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in g.keys() {
        if let Some(cycle) = visit(n, &g, &mut Vec::new(), &mut done) {
            panic!("import cycle: {cycle}");
        }
    }
}

#[test]
fn the_checker_sees_imports() {
    let text = "use crate::apache::Request; // crate::hooks in a comment\n/// crate::daemon in a doc\nlet x = crate::wsgi::run;";
    let found: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(found, vec!["apache".to_string(), "wsgi".to_string()]);
}
