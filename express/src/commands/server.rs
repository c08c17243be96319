//! start-server and setup-server: the settings checked, the server root written (httpd.conf, handler, envvars,
//! apachectl) with access checks for the run user, then for start-server httpd tested and run or supervised.

use std::path::{Path, PathBuf};

use super::cwd;
use crate::cli::Parsed;
use crate::config_gen::{self, Layout};
use crate::error::{Error, Result};
use crate::platform::{self, Apxs, ModuleSearch, Platform};
use crate::reload::Watcher;
use crate::run;
use crate::server_root;
use crate::settings::{App, Env, Settings};
use crate::users::{self, Need, RunAs};

/// Everything start-server needs after the server root is written.
struct Prepared {
    settings: Settings,
    platform: Platform,
    layout: Layout,
    run_as: Option<RunAs>,
    env: Vec<(String, String)>,
}

pub(super) fn server(start: bool, parsed: &Parsed) -> Result<i32> {
    let env = Env {
        cwd: cwd()?,
        virtual_env: std::env::var("VIRTUAL_ENV").ok(),
    };
    let settings = Settings::from_parsed(parsed, &env)?;
    for w in &settings.warnings {
        eprintln!("rwsgi-express: warning: {w}");
    }
    if settings.process_name.is_some() && settings.envvars_script.is_some() {
        eprintln!(
            "rwsgi-express: warning: --process-name is not applied with --envvars-script (httpd is started by /bin/sh)"
        );
    }
    let start = start && !settings.setup_only;
    if settings.reload_on_changes && !start {
        return Err(Error::usage(
            "--reload-on-changes works only with start-server: rwsgi-express itself watches the files",
        ));
    }
    if start {
        // Before anything is written, so a busy port leaves no server root behind.
        run::check_port_free(settings.host.as_deref(), settings.port)?;
        if let Some(ssl) = &settings.ssl {
            run::check_port_free(settings.host.as_deref(), ssl.port)?;
        }
    }
    let prepared = prepare(settings)?;
    if !start {
        print_banner(&prepared);
        println!(
            "\nStart it with: {} start (also stop|restart|graceful|graceful-stop|configtest)",
            prepared.layout.apachectl.display()
        );
        return Ok(0);
    }
    let s = &prepared.settings;
    let httpd = run::Httpd {
        binary: &prepared.platform.httpd,
        conf: &prepared.layout.conf,
        env: &prepared.env,
        startup_log: prepared.layout.startup_log.as_deref(),
        source: prepared.settings.envvars_script.as_deref(),
        arg0: prepared.settings.process_name.as_deref(),
    };
    // The generated configuration is known to be good; what the user adds (--include-file) is tested first, so
    // that a mistake there is named as such before anything starts. Without additions that test (a whole
    // extra httpd start, ~20 ms of a ~30 ms start-up) is skipped: httpd names any problem on stderr itself,
    // unless a start-up log (-E) takes its stderr.
    if httpd.startup_log.is_some() || !s.include_files.is_empty() {
        run::config_test(&httpd)?;
    }
    print_banner(&prepared);

    let watcher = s.reload_on_changes.then(|| watcher(s));
    if let Some(w) = &watcher {
        println!("Watching {} Python file(s) for changes.", w.watched());
        if w.truncated {
            eprintln!("rwsgi-express: warning: too many files to watch; only the first ones are watched");
        }
    }
    let supervise = s.supervise || watcher.is_some() || run::on_terminal();
    use std::io::Write as _;
    let _flush_best_effort = std::io::stdout().flush();
    if !supervise {
        return Err(run::exec_httpd(&httpd));
    }
    let code = run::supervise_httpd(&httpd, watcher)?;
    if code != 0 {
        return Err(Error::failed(format!(
            "httpd exited with status {code}; see {}",
            prepared.layout.error_log.display()
        )));
    }
    Ok(0)
}

fn watcher(s: &Settings) -> Watcher {
    let mut roots = vec![s.working_directory.clone()];
    let mut files = Vec::new();
    if let App::Script(script) = &s.app {
        files.push(script.clone());
        if let Some(dir) = script.parent() {
            roots.push(dir.to_path_buf());
        }
    }
    roots.extend(s.python_path.iter().cloned());
    roots.sort();
    roots.dedup();
    // A root inside another root would be scanned twice.
    let nested: Vec<PathBuf> = roots
        .iter()
        .filter(|r| roots.iter().any(|o| o != *r && r.starts_with(o)))
        .cloned()
        .collect();
    roots.retain(|r| !nested.contains(r));
    Watcher::new(roots, files)
}

fn prepare(settings: Settings) -> Result<Prepared> {
    let apxs = Apxs::from_env();
    let platform = Platform::discover(
        apxs.as_ref(),
        settings.httpd_executable.as_deref(),
        settings.modules_directory.as_deref(),
    )?;
    let module_path = ModuleSearch::from_env(settings.module_path.clone(), apxs.as_ref()).find()?;

    let (run_as, warning) = users::resolve(
        settings.user.as_deref(),
        settings.group.as_deref(),
        users::effective_uid(),
    )?;
    if let Some(w) = warning {
        eprintln!("rwsgi-express: warning: {w}");
    }
    if let Some(run) = &run_as {
        users::check_access(run, &needs(&settings))?;
    }

    let root = server_root::prepare(settings.server_root.as_deref(), settings.port)?;
    let mime_types = match platform::find_mime_types(settings.mime_types.as_deref()) {
        Some(m) => m,
        None => {
            let m = root.join("mime.types");
            server_root::write_file(&m, "", 0o644)?;
            m
        }
    };
    let layout = Layout::new(&settings, &root, mime_types, module_path);
    if !settings.embedded {
        check_socket_path(&layout, &settings.process_group)?;
    }
    server_root::make_dir(&layout.run_dir, 0o700)?;
    if let (None, Some(run)) = (&settings.socket_prefix, &run_as) {
        // The httpd children (the run user) connect to the daemon sockets in run/rwsgi-PID/ (0700, theirs): they
        // must pass through the server root and run/ (the module checks that they can read run/). Also in
        // embedded mode, where daemon groups may come from included files.
        server_root::share_dir_with_run_group(&root, &layout.run_dir, run)?;
        users::check_access(run, &[Need::dir("the daemon socket directory", &layout.run_dir)])?;
    }
    server_root::make_dir(&layout.htdocs, 0o755)?;

    if let (App::Module { module, callable }, Some(handler)) = (&settings.app, &layout.handler_script) {
        let text = config_gen::handler_script(module, callable, &config_gen::python_path(&settings));
        server_root::write_file(handler, &text, 0o644)?;
        if let Some(run) = &run_as {
            server_root::share_with_run_group(&root, handler, run)?;
            users::check_access(run, &[Need::read("the generated handler script", handler)])?;
        }
    }
    let conf = config_gen::httpd_conf(&settings, &layout, &platform, run_as.as_ref())?;
    server_root::write_file(&layout.conf, &conf, 0o600)?;
    let env = config_gen::env_vars(&settings);
    server_root::write_file(
        &layout.envvars,
        &config_gen::envvars_file(&env, settings.envvars_script.as_deref()),
        0o600,
    )?;
    server_root::write_file(
        &layout.apachectl,
        &config_gen::apachectl(&platform.httpd, &layout),
        0o700,
    )?;
    Ok(Prepared {
        settings,
        platform,
        layout,
        run_as,
        env,
    })
}

/// What the httpd children must be able to read when they run as another user.
fn needs(s: &Settings) -> Vec<Need> {
    let mut needs = Vec::new();
    if let App::Script(script) = &s.app {
        needs.push(Need::read("the WSGI script", script));
        if let Some(dir) = script.parent() {
            needs.push(Need::traverse("the application directory", dir));
        }
    }
    if matches!(s.app, App::Module { .. }) || s.working_directory.join("__init__.py").exists() {
        needs.push(Need::dir("the working directory", &s.working_directory));
    }
    for p in &s.python_path {
        needs.push(Need::dir("the --python-path directory", p));
    }
    if let Some(home) = &s.python_home {
        needs.push(Need::dir("the Python home", home));
        // A virtualenv is only as readable as the interpreter it links to (often under a 0700 /root/.pyenv).
        if let Some(base) = virtualenv_base(home) {
            if let Some(exe) = ["bin/python3", "bin/python"]
                .iter()
                .map(|p| home.join(p))
                .find(|p| p.exists())
            {
                needs.push(Need::read("the virtualenv's Python", &exe));
            }
            needs.push(Need::dir("the virtualenv's base Python", &base));
        }
    }
    if let Some(d) = &s.document_root {
        needs.push(Need::dir("the document root", d));
    }
    if let Some(d) = &s.socket_prefix {
        needs.push(Need::dir("the --socket-prefix directory", d));
    }
    for (_, path) in &s.url_aliases {
        needs.push(Need::read("the --url-alias target", path));
    }
    needs
}

/// The `home =` directory of a virtualenv's pyvenv.cfg (the base interpreter's bin directory).
fn virtualenv_base(home: &Path) -> Option<PathBuf> {
    let cfg = std::fs::read_to_string(home.join("pyvenv.cfg")).ok()?;
    cfg.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| k.trim() == "home")
        .map(|(_, v)| PathBuf::from(v.trim()))
}

/// A UNIX socket path is at most 107 bytes: say so up front instead of letting httpd fail to start.
fn check_socket_path(l: &Layout, group: &str) -> Result<()> {
    // PREFIX-<pid>/<group>.sock, with room for a 7-digit pid.
    let len = l.socket_prefix.as_os_str().len() + "-1234567/".len() + group.len() + ".sock".len();
    if len > 107 {
        return Err(Error::usage(format!(
            "the daemon socket path under {} would be {len} bytes, longer than UNIX sockets allow (107): pass a \
             shorter --socket-prefix or --server-root",
            l.socket_prefix.display()
        )));
    }
    Ok(())
}

fn print_banner(p: &Prepared) {
    let s = &p.settings;
    let host = s.url_host();
    let mount = if s.mount_point == "/" {
        "/".to_string()
    } else {
        format!("{}/", s.mount_point)
    };
    println!("Server URL         : http://{host}:{}{mount}", s.port);
    if let Some(ssl) = &s.ssl {
        println!("Server URL (HTTPS) : https://{host}:{}{mount}", ssl.port);
    }
    if s.server_status {
        println!("Server Status      : http://{host}:{}/server-status", s.port);
    }
    if let Some(url) = &s.metrics_url {
        println!("Server Metrics     : http://{host}:{}{url}", s.port);
    }
    println!("Server Root        : {}", p.layout.server_root.display());
    println!("Server Conf        : {}", p.layout.conf.display());
    println!(
        "Error Log File     : {} ({})",
        p.layout.error_log.display(),
        s.log_level
    );
    if s.access_log {
        println!("Access Log File    : {}", p.layout.access_log.display());
    }
    println!(
        "Operating Mode     : {}",
        if s.embedded { "embedded" } else { "daemon" }
    );
    if !s.embedded {
        println!(
            "Process Group      : {} (processes titled (wsgi:{}))",
            s.process_group, s.process_group
        );
    }
    println!(
        "Request Capacity   : {} ({} process{} * {} thread{})",
        s.processes.saturating_mul(s.threads),
        s.processes,
        if s.processes == 1 { "" } else { "es" },
        s.threads,
        if s.threads == 1 { "" } else { "s" }
    );
    if s.embedded {
        println!("Request Timeout    : {} (seconds)", s.timeout);
    } else {
        println!("Request Timeout    : {} (seconds)", s.request_timeout);
        let queue = s.daemon.queue_timeout;
        println!(
            "Queue Timeout      : {}",
            if queue == 0 {
                "off".to_string()
            } else {
                format!("{queue} (seconds)")
            }
        );
    }
    if let Some(run) = &p.run_as {
        println!("Running As         : {}:{}", run.user, run.group);
    }
    println!("Control Script     : {}", p.layout.apachectl.display());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli;
    use crate::options_table::SERVER_OPTIONS;

    #[test]
    fn daemon_socket_paths_must_fit_a_unix_socket() {
        let s = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let p = cli::parse("start-server", &args, SERVER_OPTIONS).expect("parses");
            Settings::from_parsed(
                &p,
                &Env {
                    cwd: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
                    virtual_env: None,
                },
            )
            .expect("valid")
        };
        let settings = s(&["../tests/apps/express_hello.wsgi"]);
        let layout = |root: &str| Layout::new(&settings, Path::new(root), PathBuf::from("/m"), PathBuf::from("/x.so"));
        check_socket_path(&layout("/tmp/rwsgi-express-8000-abcdef"), &settings.process_group).expect("fits");
        let long = format!("/tmp/{}", "d".repeat(80));
        let e = check_socket_path(&layout(&long), &settings.process_group).expect_err("too long");
        assert!(
            e.to_string().contains("--socket-prefix") && e.to_string().contains("107"),
            "{e}"
        );
    }
}
