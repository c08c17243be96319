//! Issue 7: the RHEL/CentOS layout. RHEL packages cannot be installed here, so an apxs stand-in reports RHEL's
//! paths (/usr/include/httpd, /usr/lib64/httpd/modules, a binary named httpd) backed by Debian's files. The
//! module is built through that apxs (proving build.rs hard-codes no distribution path), loaded by the renamed
//! binary from the RHEL-style module directory, and rwsgi-express finds the same layout through apxs.

use rwsgi_testkit as kit;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

fn real_apxs(var: &str) -> String {
    let out = Command::new("apxs").args(["-q", var]).output().expect("apxs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Builds a fake RHEL tree under `t` and an apxs script answering with it.
fn rhel_tree(t: &Path) -> PathBuf {
    let inc = t.join("usr/include");
    std::fs::create_dir_all(&inc).expect("include");
    symlink(real_apxs("INCLUDEDIR"), inc.join("httpd")).expect("httpd headers");
    symlink(real_apxs("APR_INCLUDEDIR"), inc.join("apr-1")).expect("apr headers");
    let mods = t.join("usr/lib64/httpd/modules");
    std::fs::create_dir_all(&mods).expect("modules");
    for e in std::fs::read_dir(real_apxs("LIBEXECDIR"))
        .expect("debian modules")
        .flatten()
    {
        if e.file_name().to_string_lossy().ends_with(".so") {
            symlink(e.path(), mods.join(e.file_name())).expect("module link");
        }
    }
    let sbin = t.join("usr/sbin");
    std::fs::create_dir_all(&sbin).expect("sbin");
    symlink(
        format!("{}/{}", real_apxs("SBINDIR"), real_apxs("PROGNAME")),
        sbin.join("httpd"),
    )
    .expect("httpd binary");
    std::fs::create_dir_all(t.join("etc/httpd/conf.modules.d")).expect("conf.modules.d");
    let apxs = t.join("apxs");
    let t = t.display();
    std::fs::write(
        &apxs,
        format!(
            "#!/bin/sh\n# apxs stand-in reporting a RHEL layout\ncase \"$2\" in\n\
             INCLUDEDIR) echo {t}/usr/include/httpd ;;\nAPR_INCLUDEDIR|APU_INCLUDEDIR) echo {t}/usr/include/apr-1 ;;\n\
             LIBEXECDIR) echo {t}/usr/lib64/httpd/modules ;;\nSBINDIR) echo {t}/usr/sbin ;;\nPROGNAME|TARGET) echo httpd ;;\n\
             SYSCONFDIR) echo {t}/etc/httpd/conf ;;\n*) exec apxs \"$@\" ;;\nesac\n"
        ),
    )
    .expect("apxs script");
    std::fs::set_permissions(&apxs, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    apxs
}

#[test]
fn rhel_layout_build_load_and_express() {
    let t = kit::temp_root("rhel");
    let apxs = rhel_tree(&t);
    let repo = kit::repo_dir();
    // A separate target directory: the main build stays untouched.
    let target = repo.join("target/rhel-standin");
    let out = Command::new("cargo")
        .args(["build", "--release", "-p", "mod_rwsgi", "--target-dir"])
        .arg(&target)
        .current_dir(&repo)
        .env("APXS", &apxs)
        .env(
            "PYO3_PYTHON",
            std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into()),
        )
        .output()
        .expect("cargo build");
    assert!(
        out.status.success(),
        "build through the RHEL apxs failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outputs: Vec<_> = std::fs::read_dir(target.join("release/build"))
        .expect("build dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("mod_rwsgi-"))
        .filter_map(|e| std::fs::read_to_string(e.path().join("output")).ok())
        .collect();
    assert!(
        outputs
            .iter()
            .any(|o| o.contains(&format!("RWSGI_APXS={}", apxs.display()))),
        "build.rs used the stand-in apxs"
    );
    let so = t.join("usr/lib64/httpd/modules/mod_rwsgi.so");
    std::fs::copy(target.join("release/libmod_rwsgi.so"), &so).expect("install module");

    // The harness now finds httpd, the modules and our module through the stand-in (RHEL names and paths).
    // SAFETY: this test binary runs this single test; nothing reads the environment concurrently.
    unsafe {
        std::env::set_var("APXS", &apxs);
        std::env::set_var("RWSGI_MODULE", &so);
    }
    assert!(kit::httpd_bin().ends_with("usr/sbin/httpd"));
    assert!(kit::modules_dir().ends_with("usr/lib64/httpd/modules"));
    let s = kit::ServerBuilder::new("rhel-run")
        .conf("WSGIScriptAlias / {apps}/hello.wsgi")
        .start();
    assert_eq!(s.get("/").text(), "Hello World!");

    // rwsgi-express discovers the same layout (httpd binary, modules directory) through apxs.
    let express = repo.join("target/release/rwsgi-express");
    let sr = t.join("express-root");
    let out = Command::new(&express)
        .arg("setup-server")
        .arg(repo.join("examples/hello.wsgi"))
        .arg("--server-root")
        .arg(&sr)
        .arg("--module-path")
        .arg(&so)
        .arg("--port")
        .arg(kit::free_port().to_string())
        .env("APXS", &apxs)
        .output()
        .expect("express setup-server");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let conf = std::fs::read_to_string(sr.join("httpd.conf")).expect("generated conf");
    assert!(
        conf.contains(&format!("{}/usr/lib64/httpd/modules/mod_", t.display())),
        "modules from the RHEL dir:\n{conf}"
    );
    let ctl = std::fs::read_to_string(sr.join("apachectl")).expect("apachectl");
    assert!(
        ctl.contains("usr/sbin/httpd"),
        "apachectl runs the RHEL-named binary:\n{ctl}"
    );
    let _ = std::fs::remove_dir_all(&t);
}
