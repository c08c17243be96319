//! Issue 7: the Debian install (`./dev install` + `a2enmod rwsgi`) into a scratch copy of /etc/apache2 (never
//! the machine's own), then httpd started from that tree serves an app through the installed module.

use rwsgi_testkit as kit;

use std::process::{Command, Stdio};

#[test]
fn debian_install_into_a_scratch_tree_serves_an_app() {
    if !std::path::Path::new("/etc/apache2/mods-available").is_dir() {
        panic!("this test needs Debian's apache2 package (/etc/apache2)");
    }
    let root = kit::temp_root("install");
    kit::copy_apps(&root);
    let etc = root.join("etc/apache2");
    std::fs::create_dir_all(root.join("etc")).expect("etc");
    let st = Command::new("cp")
        .arg("-a")
        .arg("/etc/apache2")
        .arg(&etc)
        .status()
        .expect("cp");
    assert!(st.success());
    let st = Command::new(kit::repo_dir().join("dev"))
        .args(["install", "--root"])
        .arg(&root)
        .status()
        .expect("dev install");
    assert!(st.success(), "./dev install --root failed");
    let libexec = kit::modules_dir();
    let installed = root.join(libexec.trim_start_matches('/')).join("mod_rwsgi.so");
    assert!(installed.is_file(), "module installed at {}", installed.display());
    let load = std::fs::read_to_string(etc.join("mods-available/rwsgi.load")).expect("rwsgi.load");
    assert!(load.contains(&installed.display().to_string()), "{load}");
    assert!(etc.join("mods-available/rwsgi.conf").is_file());
    // Loaded as mod_wsgi's symbol, so mod_wsgi-era <IfModule> sections apply (the site below uses both forms).
    assert!(load.contains("LoadModule wsgi_module "), "{load}");

    enable_and_serve(&root, &etc);
}

/// `a2enmod rwsgi` on the scratch tree `etc` (a copy of /etc/apache2 holding rwsgi.load), then httpd started
/// from that tree serves a site through the module (mod_wsgi-era <IfModule> sections included).
fn enable_and_serve(root: &std::path::Path, etc: &std::path::Path) {
    // a2enmod works on the scratch tree.
    let out = Command::new("a2enmod")
        .arg("rwsgi")
        .env("APACHE_CONFDIR", &etc)
        .output()
        .expect("a2enmod");
    assert!(
        out.status.success(),
        "a2enmod: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(etc.join("mods-enabled/rwsgi.load").exists());

    let port = kit::free_port();
    std::fs::write(etc.join("ports.conf"), format!("Listen 127.0.0.1:{port}\n")).expect("ports");
    for e in std::fs::read_dir(etc.join("sites-enabled")).expect("sites").flatten() {
        let _ = std::fs::remove_file(e.path());
    }
    let apps = root.join("apps");
    std::fs::write(
        etc.join("sites-enabled/app.conf"),
        format!(
            "<VirtualHost 127.0.0.1:{port}>\nServerName app.test\n<IfModule wsgi_module>\nWSGIDaemonProcess app processes=1 threads=4\n</IfModule>\n<IfModule mod_wsgi.c>\nWSGIScriptAlias / {0}/hello.wsgi process-group=app application-group=%{{GLOBAL}}\n</IfModule>\n<Directory {0}>\nRequire all granted\n</Directory>\n</VirtualHost>\n",
            apps.display()
        ),
    )
    .expect("site");
    for d in ["run", "lock", "logs"] {
        std::fs::create_dir_all(root.join(d)).expect("dir");
    }
    let user = kit::run_user();
    let env = [
        ("APACHE_CONFDIR", etc.display().to_string()),
        ("APACHE_RUN_USER", user.to_string()),
        ("APACHE_RUN_GROUP", user.to_string()),
        ("APACHE_PID_FILE", root.join("run/apache2.pid").display().to_string()),
        ("APACHE_RUN_DIR", root.join("run").display().to_string()),
        ("APACHE_LOCK_DIR", root.join("lock").display().to_string()),
        ("APACHE_LOG_DIR", root.join("logs").display().to_string()),
    ];
    let conf = etc.join("apache2.conf");
    let check = Command::new(kit::httpd_bin())
        .arg("-d")
        .arg(&etc)
        .arg("-f")
        .arg(&conf)
        .arg("-t")
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .output()
        .expect("-t");
    assert!(
        check.status.success(),
        "config test of the installed tree: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    use std::os::unix::process::CommandExt;
    let child = Command::new(kit::httpd_bin())
        .arg("-d")
        .arg(&etc)
        .arg("-f")
        .arg(&conf)
        .arg("-DFOREGROUND")
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start httpd");
    let s = kit::Server::adopt(root.to_path_buf(), port, conf, child);
    let r = s.get("/");
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "Hello World!"),
        "{}",
        s.error_log()
    );
    assert!(
        s.error_log().contains("mod_rwsgi/"),
        "the installed module is loaded: {}",
        s.error_log()
    );
}

/// The Debian package: `./dev deb` builds libapache2-mod-rwsgi; `dpkg -i` installs it (module and
/// mods-available), `a2enmod` enables it in a scratch copy of the configuration (never the machine's live
/// apache2), httpd from that tree serves; the package is purged whatever happens.
#[test]
fn debian_package_installs_enables_and_serves() {
    if !std::path::Path::new("/etc/apache2/mods-available").is_dir()
        || Command::new("dpkg-deb").arg("--version").output().is_err()
    {
        panic!("this test needs Debian's apache2 and dpkg");
    }
    struct Purge;
    impl Drop for Purge {
        fn drop(&mut self) {
            let _ = Command::new("dpkg").args(["--purge", "libapache2-mod-rwsgi"]).output();
        }
    }
    let root = kit::temp_root("deb");
    kit::copy_apps(&root);
    let out = Command::new(kit::repo_dir().join("dev"))
        .arg("deb")
        .arg(root.join("deb"))
        .output()
        .expect("./dev deb");
    assert!(
        out.status.success(),
        "./dev deb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let deb = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let info = String::from_utf8_lossy(
        &Command::new("dpkg-deb")
            .args(["-I", &deb])
            .output()
            .expect("dpkg-deb -I")
            .stdout,
    )
    .to_string();
    for field in [
        "Package: libapache2-mod-rwsgi",
        "Depends: apache2-api-",
        "libpython3",
        "Conflicts: libapache2-mod-wsgi-py3",
    ] {
        assert!(info.contains(field), "{field} in:\n{info}");
    }
    let size = std::fs::metadata(&deb).map(|m| m.len()).unwrap_or(0);
    eprintln!("FIGURE deb: {deb}, {} KiB", size / 1024);

    let _purge = Purge;
    let out = Command::new("dpkg").args(["-i", &deb]).output().expect("dpkg -i");
    assert!(
        out.status.success(),
        "dpkg -i: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let module = format!("{}/mod_rwsgi.so", kit::modules_dir());
    assert!(std::path::Path::new(&module).is_file(), "{module} installed");
    let load = std::fs::read_to_string("/etc/apache2/mods-available/rwsgi.load").expect("rwsgi.load installed");
    assert!(load.contains(&module), "{load}");

    let etc = root.join("etc/apache2");
    std::fs::create_dir_all(root.join("etc")).expect("etc");
    let st = Command::new("cp")
        .arg("-a")
        .arg("/etc/apache2")
        .arg(&etc)
        .status()
        .expect("cp");
    assert!(st.success());
    enable_and_serve(&root, &etc);
}

/// The RPM spec (apache/rhel/mod_rwsgi.spec) builds with rpmbuild (Debian's rpm package; --nodeps: no RPM database
/// here) and the package holds the module and the drop-in where RHEL's httpd reads them.
#[test]
fn rpm_spec_builds_with_the_rhel_file_list() {
    if Command::new("rpmbuild").arg("--version").output().is_err() {
        panic!("rpmbuild is needed (apt-get install rpm; ./dev test installs it)");
    }
    let top = kit::temp_root("rpm");
    let repo = kit::repo_dir();
    let out = Command::new("rpmbuild")
        .args(["-bb", "--build-in-place", "--nodeps", "--define"])
        .arg(format!("_topdir {}", top.display()))
        .arg("--define")
        .arg(format!("cargo_target_dir {}", repo.join("target/rpm-test").display()))
        .arg(repo.join("apache/rhel/mod_rwsgi.spec"))
        .current_dir(&repo)
        .output()
        .expect("rpmbuild");
    assert!(
        out.status.success(),
        "rpmbuild: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rpm = std::fs::read_dir(top.join("RPMS/x86_64"))
        .expect("RPMS")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "rpm"))
        .expect("an rpm");
    let list = String::from_utf8_lossy(
        &Command::new("rpm")
            .args(["-qlp"])
            .arg(&rpm)
            .output()
            .expect("rpm -qlp")
            .stdout,
    )
    .to_string();
    assert!(
        list.lines().any(|l| l == "/usr/lib64/httpd/modules/mod_rwsgi.so"),
        "{list}"
    );
    assert!(
        list.lines().any(|l| l == "/etc/httpd/conf.modules.d/10-rwsgi.conf"),
        "{list}"
    );
    let info = String::from_utf8_lossy(
        &Command::new("rpm")
            .args(["-qip", "--requires", "--conflicts"])
            .arg(&rpm)
            .output()
            .expect("rpm -qip")
            .stdout,
    )
    .to_string();
    assert!(
        info.contains("httpd-mmn") && info.contains("python3-mod_wsgi"),
        "{info}"
    );
    let size = std::fs::metadata(&rpm).map(|m| m.len()).unwrap_or(0);
    eprintln!("FIGURE rpm: {}, {} KiB", rpm.display(), size / 1024);
}
