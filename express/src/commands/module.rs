//! The commands for an existing Apache: module-config and install-module print the lines that load mod_rwsgi
//! (install-module first copies it into the modules directory); module-location names the mod_rwsgi.so in use.

use std::path::Path;

use super::abs;
use crate::cli::Parsed;
use crate::config_gen;
use crate::error::{Error, Result, io_context};
use crate::platform::{Apxs, MODULE_FILE, ModuleSearch, Platform};

fn python_home_line(parsed: &Parsed) -> Result<Option<String>> {
    let home = parsed
        .last("python-home")
        .map(str::to_string)
        .or_else(|| std::env::var("VIRTUAL_ENV").ok().filter(|v| !v.is_empty()));
    let Some(home) = home else { return Ok(None) };
    let path = abs(&home)?;
    if !path.is_dir() {
        return Err(Error::usage(format!(
            "python home {} is not a directory",
            path.display()
        )));
    }
    Ok(Some(format!("WSGIPythonHome {}", config_gen::qp(&path)?)))
}

pub(super) fn module_config(parsed: &Parsed) -> Result<i32> {
    let apxs = Apxs::from_env();
    let module = ModuleSearch::from_env(parsed.last("module-path").map(abs).transpose()?, apxs.as_ref()).find()?;
    println!("LoadModule rwsgi_module {}", config_gen::qp(&module)?);
    if let Some(line) = python_home_line(parsed)? {
        println!("{line}");
    }
    Ok(0)
}

pub(super) fn module_location(parsed: &Parsed) -> Result<i32> {
    let apxs = Apxs::from_env();
    let module = ModuleSearch::from_env(parsed.last("module-path").map(abs).transpose()?, apxs.as_ref()).find()?;
    println!("{}", module.display());
    Ok(0)
}

pub(super) fn install_module(parsed: &Parsed) -> Result<i32> {
    let apxs = Apxs::from_env();
    let target_dir = match parsed.last("modules-directory") {
        Some(d) => abs(d)?,
        None => Platform::modules_dir(apxs.as_ref()).ok_or_else(|| {
            Error::failed(
                "cannot find the Apache modules directory (apxs not found): install apache2-dev (Debian) or \
                           httpd-devel (RHEL), or pass --modules-directory",
            )
        })?,
    };
    if !target_dir.is_dir() {
        return Err(Error::usage(format!(
            "--modules-directory {}: not a directory",
            target_dir.display()
        )));
    }
    // Never pick up an already installed copy as the source of the installation.
    let search = ModuleSearch {
        option: parsed.last("module-path").map(abs).transpose()?,
        env: std::env::var_os("RWSGI_MODULE"),
        exe_dir: std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf)),
        modules_dir: None,
    };
    let source = search.find()?;
    let target = target_dir.join(MODULE_FILE);
    if source != target {
        // Copy then rename: a running httpd has the old file mapped, and overwriting it in place would crash it.
        let tmp = target_dir.join(format!(".{MODULE_FILE}.{}", std::process::id()));
        std::fs::copy(&source, &tmp).map_err(|e| io_context("copy the module to", &tmp, e))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644))
            .map_err(|e| io_context("chmod", &tmp, e))?;
        if let Err(e) = std::fs::rename(&tmp, &target) {
            let _cleanup_best_effort = std::fs::remove_file(&tmp);
            return Err(io_context("install the module as", &target, e));
        }
    }
    println!("LoadModule rwsgi_module {}", config_gen::qp(&target)?);
    if let Some(line) = python_home_line(parsed)? {
        println!("{line}");
    }
    Ok(0)
}
