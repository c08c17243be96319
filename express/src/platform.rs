//! Finding Apache on this machine: apxs, the httpd binary, the modules directory, mime.types, and mod_rwsgi.so.
//! Debian names the binary apache2 (/usr/lib/apache2/modules); RHEL names it httpd (/usr/lib64/httpd/modules).
//! Command-line overrides win; then what apxs said when rwsgi-express was built (unless APXS is set now, or
//! those paths are gone); then apxs itself; the usual paths are the fallback.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

pub const MODULE_FILE: &str = "mod_rwsgi.so";

const HTTPD_CANDIDATES: &[&str] = &[
    "/usr/sbin/apache2",
    "/usr/sbin/httpd",
    "/usr/local/apache2/bin/httpd",
    "/usr/local/sbin/httpd",
];
const MODULES_CANDIDATES: &[&str] = &[
    "/usr/lib/apache2/modules",
    "/usr/lib64/httpd/modules",
    "/usr/lib/httpd/modules",
    "/usr/local/apache2/modules",
];
const MIME_CANDIDATES: &[&str] = &[
    "/etc/mime.types",
    "/etc/httpd/conf/mime.types",
    "/etc/apache2/mime.types",
];

const INSTALL_HINT: &str = "install the apache2 package (Debian/Ubuntu: apt-get install apache2) or httpd \
                            (RHEL/Fedora: dnf install httpd)";

/// apxs, the tool that knows how this machine's Apache was built.
#[derive(Debug, Clone)]
pub struct Apxs(pub PathBuf);

impl Apxs {
    /// `$APXS`, then apxs / apxs2 on PATH, then /usr/bin/apxs.
    pub fn find(env_apxs: Option<OsString>, path_var: Option<OsString>) -> Option<Apxs> {
        if let Some(p) = env_apxs.filter(|p| !p.is_empty()) {
            return Some(Apxs(PathBuf::from(p)));
        }
        if let Some(path_var) = path_var {
            for dir in std::env::split_paths(&path_var) {
                for name in ["apxs", "apxs2"] {
                    let candidate = dir.join(name);
                    if is_executable(&candidate) {
                        return Some(Apxs(candidate));
                    }
                }
            }
        }
        let fallback = PathBuf::from("/usr/bin/apxs");
        is_executable(&fallback).then_some(Apxs(fallback))
    }

    pub fn from_env() -> Option<Apxs> {
        Apxs::find(std::env::var_os("APXS"), std::env::var_os("PATH"))
    }

    /// `apxs -q NAME`, or None when apxs fails or prints nothing.
    pub fn query(&self, name: &str) -> Option<String> {
        let out = Command::new(&self.0).arg("-q").arg(name).output().ok()?;
        if !out.status.success() {
            return None;
        }
        let value = String::from_utf8(out.stdout).ok()?.trim().to_string();
        (!value.is_empty()).then_some(value)
    }
}

/// Where httpd and its modules are.
#[derive(Debug, Clone)]
pub struct Platform {
    pub httpd: PathBuf,
    pub modules_dir: PathBuf,
}

impl Platform {
    pub fn discover(
        apxs: Option<&Apxs>,
        httpd_override: Option<&Path>,
        modules_override: Option<&Path>,
    ) -> Result<Platform> {
        if let Some(built) = Platform::as_built() {
            // Overrides are still checked (and named when wrong) as below.
            return Platform::discover_among(
                None,
                Some(httpd_override.unwrap_or(&built.httpd)),
                Some(modules_override.unwrap_or(&built.modules_dir)),
                &[],
                &[],
            );
        }
        Platform::discover_among(
            apxs,
            httpd_override,
            modules_override,
            HTTPD_CANDIDATES,
            MODULES_CANDIDATES,
        )
    }

    /// `discover` with the fallback paths given (tests use paths that do not exist).
    fn discover_among(
        apxs: Option<&Apxs>,
        httpd_override: Option<&Path>,
        modules_override: Option<&Path>,
        httpd_candidates: &[&str],
        modules_candidates: &[&str],
    ) -> Result<Platform> {
        let httpd = match httpd_override {
            Some(h) if is_executable(h) => h.to_path_buf(),
            Some(h) => {
                return Err(Error::usage(format!(
                    "--httpd-executable {}: not an executable file",
                    h.display()
                )));
            }
            None => {
                let from_apxs = apxs.and_then(|a| {
                    let sbin = a.query("SBINDIR")?;
                    let prog = a.query("PROGNAME").unwrap_or_else(|| "httpd".to_string());
                    Some(Path::new(&sbin).join(prog))
                });
                from_apxs
                    .into_iter()
                    .chain(httpd_candidates.iter().map(PathBuf::from))
                    .find(|p| is_executable(p))
                    .ok_or_else(|| {
                        Error::failed(format!(
                            "Apache httpd not found (asked apxs, looked for {}): {INSTALL_HINT}, or pass \
                             --httpd-executable",
                            httpd_candidates.join(", ")
                        ))
                    })?
            }
        };
        let modules_dir = match modules_override {
            Some(m) if m.is_dir() => m.to_path_buf(),
            Some(m) => {
                return Err(Error::usage(format!(
                    "--modules-directory {}: not a directory",
                    m.display()
                )));
            }
            None => Platform::apxs_modules_dir(apxs)
                .into_iter()
                .chain(modules_candidates.iter().map(PathBuf::from))
                .find(|p| p.is_dir())
                .ok_or_else(|| {
                    Error::failed(format!(
                        "Apache modules directory not found (asked apxs, looked in {}): {INSTALL_HINT}, or pass \
                         --modules-directory",
                        modules_candidates.join(", ")
                    ))
                })?,
        };
        Ok(Platform { httpd, modules_dir })
    }

    /// What apxs answered when rwsgi-express was built, if both paths still exist and APXS does not ask for
    /// another Apache.
    pub fn as_built() -> Option<Platform> {
        if std::env::var_os("APXS").is_some_and(|v| !v.is_empty()) {
            return None;
        }
        let httpd = PathBuf::from(option_env!("RWSGI_BUILT_HTTPD")?);
        let modules_dir = PathBuf::from(option_env!("RWSGI_BUILT_MODULES")?);
        (is_executable(&httpd) && modules_dir.is_dir()).then_some(Platform { httpd, modules_dir })
    }

    /// The modules directory: as built, else apxs's answer.
    pub fn modules_dir(apxs: Option<&Apxs>) -> Option<PathBuf> {
        Platform::as_built()
            .map(|p| p.modules_dir)
            .or_else(|| Platform::apxs_modules_dir(apxs))
    }

    pub fn apxs_modules_dir(apxs: Option<&Apxs>) -> Option<PathBuf> {
        apxs.and_then(|a| a.query("LIBEXECDIR")).map(PathBuf::from)
    }

    /// Path of a module shipped with Apache (e.g. "mod_ssl.so").
    pub fn module(&self, file: &str) -> PathBuf {
        self.modules_dir.join(file)
    }

    pub fn has_module(&self, file: &str) -> bool {
        self.module(file).is_file()
    }
}

pub fn find_mime_types(override_path: Option<&Path>) -> Option<PathBuf> {
    override_path
        .map(Path::to_path_buf)
        .or_else(|| MIME_CANDIDATES.iter().map(PathBuf::from).find(|p| p.is_file()))
}

/// Where mod_rwsgi.so is looked for, in order. Explicit choices (option, environment) that name a missing file
/// are errors rather than falling through, so a typo never silently loads another build.
#[derive(Debug, Default)]
pub struct ModuleSearch {
    pub option: Option<PathBuf>,
    pub env: Option<OsString>,
    pub exe_dir: Option<PathBuf>,
    pub modules_dir: Option<PathBuf>,
}

impl ModuleSearch {
    pub fn from_env(option: Option<PathBuf>, apxs: Option<&Apxs>) -> ModuleSearch {
        ModuleSearch {
            option,
            env: std::env::var_os("RWSGI_MODULE"),
            exe_dir: std::env::current_exe()
                .ok()
                .and_then(|e| e.parent().map(Path::to_path_buf)),
            modules_dir: Platform::modules_dir(apxs)
                .or_else(|| MODULES_CANDIDATES.iter().map(PathBuf::from).find(|p| p.is_dir())),
        }
    }

    pub fn find(&self) -> Result<PathBuf> {
        if let Some(p) = &self.option {
            return absolute_file(p, "--module-path");
        }
        if let Some(p) = self.env.as_ref().filter(|p| !p.is_empty()) {
            return absolute_file(Path::new(p), "$RWSGI_MODULE");
        }
        let candidates: Vec<PathBuf> = [&self.exe_dir, &self.modules_dir]
            .into_iter()
            .flatten()
            .map(|d| d.join(MODULE_FILE))
            .collect();
        candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
            let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            Error::failed(format!(
                "{MODULE_FILE} not found (looked at {}): build it with cargo build --release (the build step puts it \
                 in target/release/), or pass --module-path or set RWSGI_MODULE",
                looked.join(", ")
            ))
        })
    }
}

fn absolute_file(p: &Path, what: &str) -> Result<PathBuf> {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| Error::failed(format!("cannot read the current directory: {e}")))?
            .join(p)
    };
    if abs.is_file() {
        Ok(abs)
    } else {
        Err(Error::usage(format!("{what}: {} is not a file", abs.display())))
    }
}

pub fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory removed on drop.
    struct Scratch(PathBuf);
    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let p = std::env::temp_dir().join(format!("rwsgi-express-unit-{tag}-{}", std::process::id()));
            let _ignore_missing = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).expect("scratch dir");
            Scratch(p)
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _best_effort = std::fs::remove_dir_all(&self.0);
        }
    }

    fn write_exe(path: &Path, text: &str) {
        std::fs::write(path, text).expect("write");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    fn fake_apxs(root: &Path) -> Apxs {
        std::fs::create_dir_all(root.join("sbin")).expect("dir");
        std::fs::create_dir_all(root.join("modules")).expect("dir");
        write_exe(&root.join("sbin/httpd"), "#!/bin/sh\n");
        let apxs = root.join("apxs");
        write_exe(
            &apxs,
            &format!(
                "#!/bin/sh\ncase \"$2\" in\nSBINDIR) echo {0}/sbin;;\nPROGNAME) echo httpd;;\nLIBEXECDIR) echo \
                 {0}/modules;;\n*) exit 1;;\nesac\n",
                root.display()
            ),
        );
        Apxs(apxs)
    }

    #[test]
    fn discovers_httpd_and_modules_through_apxs() {
        let s = Scratch::new("apxs");
        let apxs = fake_apxs(&s.0);
        assert_eq!(apxs.query("PROGNAME").as_deref(), Some("httpd"));
        assert_eq!(apxs.query("NOPE"), None);
        // (discover() itself takes what apxs said at build time when it still holds: discover_among is the
        // asking-apxs path.)
        let p = Platform::discover_among(Some(&apxs), None, None, &[], &[]).expect("found");
        assert_eq!(p.httpd, s.0.join("sbin/httpd"));
        assert_eq!(p.modules_dir, s.0.join("modules"));
    }

    #[test]
    fn overrides_win_and_bad_overrides_are_named() {
        let s = Scratch::new("override");
        let apxs = fake_apxs(&s.0);
        let other = s.0.join("other");
        std::fs::create_dir_all(&other).expect("dir");
        write_exe(&other.join("apache2"), "#!/bin/sh\n");
        let p = Platform::discover(Some(&apxs), Some(&other.join("apache2")), Some(&other)).expect("found");
        assert_eq!((p.httpd, p.modules_dir), (other.join("apache2"), other.clone()));
        let e = Platform::discover(Some(&apxs), Some(&other.join("missing")), None).expect_err("bad");
        assert!(e.to_string().contains("--httpd-executable"));
    }

    #[test]
    fn missing_httpd_names_the_packages() {
        let e = Platform::discover_among(None, None, None, &["/nonexistent/apache2"], &["/nonexistent/modules"])
            .expect_err("nothing installed");
        let msg = e.to_string();
        assert!(
            msg.contains("apache2") && msg.contains("httpd") && msg.contains("--httpd-executable"),
            "{msg}"
        );
        assert_eq!(e.exit_code(), 1);
        let s = Scratch::new("nomods");
        write_exe(&s.0.join("httpd"), "#!/bin/sh\n");
        let e = Platform::discover_among(None, Some(&s.0.join("httpd")), None, &[], &["/nonexistent/modules"])
            .expect_err("no modules");
        assert!(e.to_string().contains("--modules-directory"));
    }

    #[test]
    fn apxs_search_order() {
        let s = Scratch::new("search");
        let bin = s.0.join("bin");
        std::fs::create_dir_all(&bin).expect("dir");
        write_exe(&bin.join("apxs2"), "#!/bin/sh\n");
        let found = Apxs::find(None, Some(bin.clone().into_os_string())).expect("on PATH");
        assert_eq!(found.0, bin.join("apxs2"));
        let env = Apxs::find(Some("/opt/apxs".into()), Some(bin.into_os_string())).expect("env");
        assert_eq!(env.0, PathBuf::from("/opt/apxs"));
    }

    #[test]
    fn module_search_order() {
        let s = Scratch::new("module");
        let exe_dir = s.0.join("release");
        let mods = s.0.join("modules");
        std::fs::create_dir_all(&exe_dir).expect("dir");
        std::fs::create_dir_all(&mods).expect("dir");
        std::fs::write(mods.join(MODULE_FILE), b"").expect("write");
        let mut search = ModuleSearch {
            exe_dir: Some(exe_dir.clone()),
            modules_dir: Some(mods.clone()),
            ..Default::default()
        };
        assert_eq!(search.find().expect("in modules dir"), mods.join(MODULE_FILE));
        std::fs::write(exe_dir.join(MODULE_FILE), b"").expect("write");
        assert_eq!(search.find().expect("next to exe"), exe_dir.join(MODULE_FILE));
        search.env = Some(s.0.join("nope.so").into_os_string());
        assert!(
            search
                .find()
                .expect_err("env names missing file")
                .to_string()
                .contains("RWSGI_MODULE")
        );
        search.option = Some(mods.join(MODULE_FILE));
        assert_eq!(search.find().expect("option wins"), mods.join(MODULE_FILE));
        let none = ModuleSearch::default().find().expect_err("nothing");
        assert!(none.to_string().contains("--module-path"));
    }
}
