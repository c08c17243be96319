//! `pip install` of the checkout into a virtualenv, as Python teams install mod_wsgi: it builds mod_rwsgi.so and
//! rwsgi-express for that venv's Python, `rwsgi-express start-server` from the venv serves a Flask app with the
//! venv's Flask (no VIRTUAL_ENV, no --python-home), and `module-config` prints lines for a system httpd.conf.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rwsgi_testkit as kit;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The first 200 of the server `child` started on `port` (its stderr in `err`, shown when it never answers).
fn first_answer(child: &mut std::process::Child, port: u16, err: &std::path::Path) -> String {
    let started = Instant::now();
    loop {
        if let Some((200, body)) = kit::http::http_get(port, "/") {
            return body;
        }
        if started.elapsed() > Duration::from_secs(60) || child.try_wait().ok().flatten().is_some() {
            kit::signal(child.id() as i32, 15);
            panic!(
                "no answer on port {port}:\n{}",
                std::fs::read_to_string(err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn pip_install_from_the_checkout_serves_a_flask_app_from_its_venv() {
    let dir = kit::TempDir::new("pip");
    let venv = dir.path("venv");
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".to_string());
    run(Command::new(&python).args(["-m", "venv"]).arg(&venv));
    let pip = venv.join("bin/pip");
    run(Command::new(&pip).args(["install", "--quiet", "--disable-pip-version-check", "flask"]));
    // The build of the checkout (cargo, for this venv's Python); its own target directory, so the module the
    // other tests use is not touched.
    run(Command::new(&pip)
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(kit::repo_dir())
        .env("CARGO_TARGET_DIR", kit::repo_dir().join("target/pip-test")));
    run(Command::new("chmod").arg("-R").arg("a+rX").arg(&venv));

    let express = venv.join("bin/rwsgi-express");
    assert!(express.is_file(), "rwsgi-express on the venv's PATH");
    let module =
        run(Command::new(venv.join("bin/python")).args(["-c", "import mod_rwsgi; print(mod_rwsgi.module_path())"]));
    let module = module.trim();
    assert!(
        module.contains("site-packages/mod_rwsgi/") && std::path::Path::new(module).is_file(),
        "{module}"
    );

    // Lines for a system httpd.conf.
    let conf = run(Command::new(&express).arg("module-config").env_remove("VIRTUAL_ENV"));
    assert!(
        conf.contains(&format!("LoadModule rwsgi_module \"{module}\""))
            || conf.contains(&format!("LoadModule rwsgi_module {module}")),
        "{conf}"
    );
    assert!(
        conf.contains(&venv.display().to_string()),
        "WSGIPythonHome names the venv:\n{conf}"
    );

    let app = dir.write(
        "app.py",
        "import flask\napp = flask.Flask(__name__)\n\n@app.route('/')\ndef index():\n    return 'flask from ' + flask.__file__\n",
    );
    let port = kit::free_port();
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(&express)
        .arg("start-server")
        .arg(&app)
        .args([
            "--callable-object",
            "app",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .arg("--server-root")
        .arg(dir.path("sr"))
        .env_remove("VIRTUAL_ENV")
        .env_remove("RWSGI_MODULE")
        .current_dir(&dir.0)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path("express.err")).expect("err"))
        .spawn()
        .expect("start rwsgi-express");
    let answer = first_answer(&mut child, port, &dir.path("express.err"));
    kit::signal(child.id() as i32, 15);
    let _ = child.wait();
    assert!(
        answer.starts_with(&format!("flask from {}", venv.display())),
        "{answer}"
    );

    // Django: `manage.py runmodwsgi` (mod_wsgi's command name) with 'mod_rwsgi.server' in INSTALLED_APPS.
    run(Command::new(&pip).args(["install", "--quiet", "--disable-pip-version-check", "django"]));
    run(Command::new(venv.join("bin/django-admin"))
        .args(["startproject", "site1"])
        .current_dir(&dir.0));
    let settings = dir.path("site1/site1/settings.py");
    let text = std::fs::read_to_string(&settings).expect("settings");
    let text = text.replacen("INSTALLED_APPS = [", "INSTALLED_APPS = [\n    'mod_rwsgi.server',", 1);
    std::fs::write(&settings, format!("{text}\nSTATIC_ROOT = BASE_DIR / 'static'\n")).expect("settings");
    std::fs::create_dir_all(dir.path("site1/static")).expect("static");
    std::fs::write(dir.path("site1/static/hello.txt"), "static file\n").expect("static file");
    run(Command::new("chmod").arg("-R").arg("a+rX").arg(&dir.0).arg(&venv));
    let port = kit::free_port();
    let mut child = Command::new(venv.join("bin/python"))
        .args([
            "manage.py",
            "runmodwsgi",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .arg("--server-root")
        .arg(dir.path("sr-django"))
        .env_remove("VIRTUAL_ENV")
        .env_remove("RWSGI_MODULE")
        .current_dir(dir.path("site1"))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path("django.err")).expect("err"))
        .spawn()
        .expect("manage.py runmodwsgi");
    let page = first_answer(&mut child, port, &dir.path("django.err"));
    let static_file = kit::http::http_get(port, "/static/hello.txt");
    kit::signal(child.id() as i32, 15);
    let _ = child.wait();
    assert!(page.contains("Django"), "Django's start page: {page:.300}");
    assert_eq!(static_file, Some((200, "static file\n".to_string())));
}

/// A missing build tool is one error naming what to install, not pages of compiler output.
#[test]
fn pip_install_without_cargo_names_what_to_install() {
    let dir = kit::TempDir::new("pip-nocargo");
    let venv = dir.path("venv");
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".to_string());
    run(Command::new(&python).args(["-m", "venv"]).arg(&venv));
    let out = Command::new(venv.join("bin/pip"))
        .args(["install", "--disable-pip-version-check"])
        .arg(kit::repo_dir())
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .output()
        .expect("pip");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("mod_rwsgi: building needs Rust >= 1.85: install it with rustup"),
        "{text}"
    );
}

/// `pip wheel` builds a wheel once; it installs into another venv and serves where Rust, clang and the httpd/APR
/// headers are not there (hidden in a mount namespace: empty directories over them, /dev/null over apxs).
#[test]
fn a_wheel_installs_and_serves_without_rust_clang_or_headers() {
    let dir = kit::TempDir::new("pip-wheel");
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".to_string());
    let builder = dir.path("build-venv");
    run(Command::new(&python).args(["-m", "venv"]).arg(&builder));
    run(Command::new(builder.join("bin/pip"))
        .args(["wheel", "--quiet", "--disable-pip-version-check", "--no-deps", "-w"])
        .arg(dir.path("dist"))
        .arg(kit::repo_dir())
        .env("CARGO_TARGET_DIR", kit::repo_dir().join("target/pip-test")));
    let wheel = std::fs::read_dir(dir.path("dist"))
        .expect("dist")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("a wheel");
    let name = wheel.file_name().unwrap_or_default().to_string_lossy().to_string();
    let tag = run(Command::new(&python).args(["-c", "import sys; print('cp%d%d' % sys.version_info[:2])"]));
    assert!(
        name.contains(&format!("-{0}-{0}-linux_x86_64.whl", tag.trim())),
        "honest tag: {name}"
    );
    let size = std::fs::metadata(&wheel).map(|m| m.len()).unwrap_or(0);

    let venv = dir.path("venv");
    run(Command::new(&python).args(["-m", "venv"]).arg(&venv));
    run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", "--disable-pip-version-check", "flask"]));
    let app = dir.write(
        "app.py",
        "import flask\napp = flask.Flask(__name__)\n\n@app.route('/')\ndef index():\n    return 'wheel served ' + flask.__file__\n",
    );
    run(Command::new("chmod").arg("-R").arg("a+rX").arg(&dir.0));
    let hide: Vec<String> = [
        "/root/.cargo",
        "/root/.rustup",
        "/usr/include/apache2",
        "/usr/include/apr-1.0",
        "/usr/lib/llvm-14",
    ]
    .iter()
    .filter(|d| std::path::Path::new(d).is_dir())
    .map(|d| format!("mount -t tmpfs none {d}"))
    .chain(
        ["/usr/bin/apxs", "/usr/bin/apxs2"]
            .iter()
            .filter(|f| std::path::Path::new(f).exists())
            .map(|f| format!("mount --bind /dev/null {f}")),
    )
    .collect();
    let port = kit::free_port();
    let script = format!(
        "set -e; {mounts}; if command -v cargo || command -v clang || [ -s /usr/bin/apxs ] || ls /usr/include/apache2/httpd.h 2>/dev/null; then echo 'build tools still visible' >&2; exit 3; fi; \
         {venv}/bin/pip install --quiet --disable-pip-version-check {wheel}; chmod -R a+rX {venv}; \
         exec {venv}/bin/rwsgi-express start-server {app} --callable-object app --host 127.0.0.1 --port {port} --server-root {root}",
        mounts = hide.join("; "),
        venv = venv.display(),
        wheel = wheel.display(),
        app = app.display(),
        root = dir.path("sr").display(),
    );
    use std::os::unix::process::CommandExt;
    let mut child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env_remove("VIRTUAL_ENV")
        .env_remove("RWSGI_MODULE")
        .env("PATH", format!("{}/bin:/usr/sbin:/usr/bin:/sbin:/bin", venv.display()))
        .current_dir(&dir.0)
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path("wheel.err")).expect("err"))
        .spawn()
        .expect("unshare (util-linux)");
    let answer = first_answer(&mut child, port, &dir.path("wheel.err"));
    kit::signal(child.id() as i32, 15);
    let _ = child.wait();
    assert!(
        answer.starts_with(&format!("wheel served {}", venv.display())),
        "{answer}"
    );
    eprintln!("FIGURE wheel: {name}, {} KiB", size / 1024);
}
