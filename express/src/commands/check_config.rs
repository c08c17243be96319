//! check-config: httpd -t on any configuration (a file, a server root or the system's), with mod_rwsgi's
//! start-up checks counted into the exit code.

use std::path::{Path, PathBuf};

use super::abs;
use crate::error::{Error, Result};
use crate::platform::{Apxs, Platform};

const CHECK_ABOUT: &str = "Run httpd's configuration test on CONFIG (an httpd.conf, or a server root made by \
                           setup-server; default: the system's Apache configuration). mod_rwsgi's start-up checks run \
                           with it: wrong Python version, files the run user cannot read, unreachable socket directory, \
                           missing locale, SELinux denials. Exits non-zero when httpd or a check reports an error.";

/// `check-config [CONFIG] [--httpd-executable PATH]`: httpd -t with mod_rwsgi's checks, for any configuration.
pub(super) fn check_config(rest: &[String]) -> Result<i32> {
    let mut conf: Option<PathBuf> = None;
    let mut httpd_override: Option<PathBuf> = None;
    let mut args = rest.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                print!(
                    "Usage: rwsgi-express check-config [CONFIG] [--httpd-executable PATH]\n\n{}\n",
                    CHECK_ABOUT
                );
                return Ok(0);
            }
            "--httpd-executable" => {
                let v = args
                    .next()
                    .ok_or_else(|| Error::usage("--httpd-executable needs a path"))?;
                httpd_override = Some(abs(v)?);
            }
            s if s.starts_with('-') => return Err(Error::usage(format!("check-config: unknown option {s:?}"))),
            s if conf.is_none() => conf = Some(abs(s)?),
            s => {
                return Err(Error::usage(format!(
                    "check-config takes one configuration (got also {s:?})"
                )));
            }
        }
    }
    let apxs = Apxs::from_env();
    let platform = Platform::discover(apxs.as_ref(), httpd_override.as_deref(), None)?;
    let conf = match conf {
        Some(c) if c.is_dir() => c.join("httpd.conf"),
        Some(c) => c,
        None => ["/etc/apache2/apache2.conf", "/etc/httpd/conf/httpd.conf"]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or_else(|| Error::failed("no system Apache configuration found (/etc/apache2/apache2.conf, /etc/httpd/conf/httpd.conf): name one"))?,
    };
    if !conf.is_file() {
        return Err(Error::usage(format!("{}: no such configuration file", conf.display())));
    }
    let dir = conf
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    // Debian's configuration needs the variables of its envvars file (APACHE_RUN_DIR, ...).
    let envvars = dir.join("envvars");
    let mut cmd = if envvars.is_file() {
        let mut c = std::process::Command::new("sh");
        c.arg("-c")
            .arg(
                "APACHE_CONFDIR=\"$1\"; export APACHE_CONFDIR; . \"$1/envvars\"; \
                 mkdir -p \"${APACHE_RUN_DIR:-/tmp}\" \"${APACHE_LOCK_DIR:-/tmp}\" 2>/dev/null; exec \"$2\" -d \"$1\" -f \"$3\" -t",
            )
            .arg("sh")
            .arg(&dir)
            .arg(&platform.httpd)
            .arg(&conf);
        c
    } else {
        let mut c = std::process::Command::new(&platform.httpd);
        c.arg("-f").arg(&conf).arg("-t");
        c
    };
    let out = cmd
        .output()
        .map_err(|e| Error::failed(format!("cannot run {}: {e}", platform.httpd.display())))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{text}");
    let errors = text.lines().filter(|l| l.starts_with("mod_rwsgi error:")).count();
    let warnings = text.lines().filter(|l| l.starts_with("mod_rwsgi warning:")).count();
    println!(
        "rwsgi-express: {}: {errors} mod_rwsgi error(s), {warnings} warning(s); httpd says {}",
        conf.display(),
        if out.status.success() {
            "OK"
        } else {
            "the configuration is broken"
        }
    );
    Ok(if out.status.success() && errors == 0 { 0 } else { 1 })
}
