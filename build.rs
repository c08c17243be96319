//! Build script: finds httpd and APR headers through apxs (never a hard-coded distribution path), generates
//! the httpd/APR bindings with bindgen, compiles the small C shim for macros bindgen cannot see, and links
//! libpython with an rpath to the Python chosen by `PYO3_PYTHON`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, exit};

/// One clear line and a non-zero exit: what is missing and which package provides it.
fn fail(msg: &str) -> ! {
    eprintln!("\nmod_rwsgi build error: {msg}\n");
    println!("cargo::error={msg}");
    exit(1)
}

fn find_apxs() -> PathBuf {
    if let Some(p) = env::var_os("APXS") {
        return PathBuf::from(p);
    }
    for name in ["apxs", "apxs2"] {
        if let Some(paths) = env::var_os("PATH") {
            for dir in env::split_paths(&paths) {
                let cand = dir.join(name);
                if cand.is_file() {
                    return cand;
                }
            }
        }
    }
    let fallback = PathBuf::from("/usr/bin/apxs");
    if fallback.is_file() {
        return fallback;
    }
    fail(
        "apxs not found (set APXS=/path/to/apxs). Install the httpd development package: \
         `apt-get install apache2-dev` on Debian/Ubuntu, `dnf install httpd-devel` on RHEL/CentOS/Fedora",
    )
}

fn apxs_query(apxs: &Path, var: &str) -> String {
    let out = Command::new(apxs)
        .args(["-q", var])
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot run {} -q {var}: {e}", apxs.display())));
    if !out.status.success() {
        fail(&format!(
            "{} -q {var} failed: {}",
            apxs.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn main() {
    println!("cargo::rerun-if-env-changed=APXS");
    println!("cargo::rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo::rerun-if-changed=src/ffi/wrapper.h");
    println!("cargo::rerun-if-changed=src/ffi/shim.c");

    let apxs = find_apxs();
    let include_dir = apxs_query(&apxs, "INCLUDEDIR");
    let mut includes = vec![include_dir.clone()];
    for var in ["APR_INCLUDEDIR", "APU_INCLUDEDIR"] {
        let dir = apxs_query(&apxs, var);
        if !dir.is_empty() && !includes.contains(&dir) {
            includes.push(dir);
        }
    }
    if !Path::new(&include_dir).join("httpd.h").is_file() {
        fail(&format!(
            "{}/httpd.h not found (apxs {} reports INCLUDEDIR={include_dir}). Install apache2-dev (Debian/Ubuntu) \
             or httpd-devel (RHEL/CentOS)",
            include_dir,
            apxs.display()
        ));
    }
    // Defines httpd was built with (e.g. -D_REENTRANT -D_GNU_SOURCE -D_LARGEFILE64_SOURCE): they change APR types.
    let mut defines: Vec<String> = Vec::new();
    for var in ["EXTRA_CPPFLAGS", "CPPFLAGS", "CFLAGS", "EXTRA_CFLAGS"] {
        for flag in apxs_query(&apxs, var).split_whitespace() {
            if flag.starts_with("-D") && !defines.iter().any(|d| d == flag) {
                defines.push(flag.to_string());
            }
        }
    }

    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap_or_else(|_| fail("OUT_DIR not set by cargo")));
    let mut clang_args: Vec<String> = includes.iter().map(|d| format!("-I{d}")).collect();
    clang_args.extend(defines.iter().cloned());

    let bindings = std::panic::catch_unwind(|| {
        bindgen::Builder::default()
            .header("src/ffi/wrapper.h")
            .clang_arg("-Isrc/ffi")
            .clang_args(&clang_args)
            .default_macro_constant_type(bindgen::MacroTypeVariation::Signed)
            .allowlist_function("ap_.*|apr_.*|rwsgi_shim_.*")
            .allowlist_type("request_rec|conn_rec|server_rec|module|module_struct|command_rec|cmd_parms|ap_.*|apr_.*|process_rec|core_dir_config|authn_provider|authz_provider|authn_status|authz_status|global_score|process_score|worker_score")
            .allowlist_var(
                "MODULE_MAGIC_.*|AP_.*|APR_.*|HTTP_.*|M_.*|OK|DECLINED|DONE|SUSPENDED|RSRC_CONF|ACCESS_CONF|OR_.*|\
                 APLOG_.*|REQUEST_.*|ap_server_conf|ap_server_root|ap_unixd_config|ap_listeners|NOT_IN_.*|GLOBAL_ONLY|\
                 OPT_.*|core_module|ENABLE_SENDFILE_.*|ap_top_module|ap_loaded_modules|ap_prelinked_modules",
            )
            .derive_debug(false)
            .layout_tests(false)
            .generate_comments(false)
            .generate()
    });
    let bindings = match bindings {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => fail(&format!("bindgen could not parse the httpd headers: {e}")),
        Err(_) => fail(
            "bindgen could not load libclang. Install it: `apt-get install libclang-dev` on Debian/Ubuntu, \
             `dnf install clang-devel` on RHEL/CentOS/Fedora (or set LIBCLANG_PATH)",
        ),
    };
    bindings
        .write_to_file(out_dir.join("bindings.rs"))
        .unwrap_or_else(|e| fail(&format!("cannot write bindings: {e}")));

    let mut build = cc::Build::new();
    build.file("src/ffi/shim.c").include("src/ffi").warnings(true);
    for dir in &includes {
        build.include(dir);
    }
    for d in &defines {
        let d = &d[2..];
        match d.split_once('=') {
            Some((k, v)) => build.define(k, Some(v)),
            None => build.define(d, None),
        };
    }
    build.compile("rwsgi_shim");

    // libpython: pyo3-ffi links it, but its rpath does not reach a cdylib; without this another libpython with
    // the same soname could be loaded silently.
    pyo3_build_config::add_libpython_rpath_link_args();
    let cfg = pyo3_build_config::get();
    if cfg.shared() {
        if let Some(dir) = cfg.lib_dir() {
            println!("cargo::rustc-link-arg-cdylib=-Wl,-rpath,{dir}");
        }
    }
    // Record which Python the module was built for, so the module can default to it and express can say so.
    let exe = cfg.executable().map(|e| e.to_string()).unwrap_or_default();
    println!("cargo::rustc-env=RWSGI_BUILD_PYTHON={exe}");
    // The standard library of that Python, for start-up checks (readable by the run user?).
    let stdlib = Command::new(&exe)
        .args(["-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo::rustc-env=RWSGI_BUILD_STDLIB={stdlib}");
    let v = cfg.version();
    println!("cargo::rustc-env=RWSGI_BUILD_PYTHON_VERSION={}.{}", v.major, v.minor);
    println!("cargo::rustc-env=RWSGI_APXS={}", apxs.display());
}
