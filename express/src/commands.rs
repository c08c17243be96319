//! The subcommands: each turns a parsed command line into files, output and (for start-server) a running httpd.

use std::path::{Path, PathBuf};

use crate::cli::{self, Parsed};
use crate::config_gen::{self, Layout};
use crate::error::{Error, Result, io_context};
use crate::options_table::{INSTALL_MODULE_OPTIONS, MODULE_CONFIG_OPTIONS, MODULE_LOCATION_OPTIONS, SERVER_OPTIONS};
use crate::platform::{self, Apxs, MODULE_FILE, ModuleSearch, Platform};
use crate::reload::Watcher;
use crate::run;
use crate::server_root;
use crate::settings::{App, Env, Settings};
use crate::users::{self, Need, RunAs};

const SERVER_ABOUT: &str = "Generate a server root (httpd.conf, apachectl, envvars, logs) that runs the WSGI \
                            application with mod_rwsgi, then run httpd in the foreground. The application runs in \
                            a daemon process group (WSGIDaemonProcess, titled (wsgi:GROUP)) unless --embedded-mode \
                            is given. Options marked [refused] are not available yet.";
const SETUP_ABOUT: &str = "Generate the server root like start-server but do not start httpd; run \
                           SERVER_ROOT/apachectl start|stop|restart|graceful|configtest to control it.";

pub fn dispatch(args: &[String]) -> Result<i32> {
    let Some((command, rest)) = args.split_first() else {
        print!("{}", cli::main_help());
        return Err(Error::usage("no command given"));
    };
    match command.as_str() {
        "-h" | "--help" | "help" => {
            print!("{}", cli::main_help());
            Ok(0)
        }
        "-V" | "--version" => {
            println!("rwsgi-express {}", env!("CARGO_PKG_VERSION"));
            Ok(0)
        }
        "start-server" | "setup-server" => {
            let parsed = cli::parse(command, rest, SERVER_OPTIONS)?;
            if parsed.help {
                let (usage, about) = if command == "start-server" {
                    (
                        "start-server [SCRIPT | --application-type module MODULE:CALLABLE] [options]",
                        SERVER_ABOUT,
                    )
                } else {
                    (
                        "setup-server [SCRIPT | --application-type module MODULE:CALLABLE] [options]",
                        SETUP_ABOUT,
                    )
                };
                print!("{}", cli::command_help(usage, about, SERVER_OPTIONS));
                return Ok(0);
            }
            server(command == "start-server", &parsed)
        }
        "module-config" => small(
            command,
            rest,
            MODULE_CONFIG_OPTIONS,
            "Print the lines that load mod_rwsgi into an \
             existing httpd.conf.",
            module_config,
        ),
        "install-module" => small(
            command,
            rest,
            INSTALL_MODULE_OPTIONS,
            "Copy mod_rwsgi.so into the Apache \
             modules directory and print the httpd.conf lines that load it.",
            install_module,
        ),
        "module-location" => small(
            command,
            rest,
            MODULE_LOCATION_OPTIONS,
            "Print the absolute path of the \
             mod_rwsgi.so that module-config and start-server would use.",
            module_location,
        ),
        "check-config" => check_config(rest),
        "options-table" => {
            print!("{}", crate::options_table::markdown_table());
            Ok(0)
        }
        other => Err(Error::usage(format!(
            "unknown command {other:?} (see 'rwsgi-express --help')"
        ))),
    }
}

fn small(
    command: &str,
    rest: &[String],
    table: &'static [crate::options_table::OptSpec],
    about: &str,
    run: fn(&Parsed) -> Result<i32>,
) -> Result<i32> {
    let parsed = cli::parse(command, rest, table)?;
    if parsed.help {
        print!("{}", cli::command_help(&format!("{command} [options]"), about, table));
        return Ok(0);
    }
    if let Some(extra) = parsed.positional.first() {
        return Err(Error::usage(format!("{command} takes no arguments (got {extra:?})")));
    }
    run(&parsed)
}

fn cwd() -> Result<PathBuf> {
    std::env::current_dir().map_err(|e| Error::failed(format!("cannot read the current directory: {e}")))
}

fn abs(p: &str) -> Result<PathBuf> {
    Ok(cwd()?.join(p))
}

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

fn module_config(parsed: &Parsed) -> Result<i32> {
    let apxs = Apxs::from_env();
    let module = ModuleSearch::from_env(parsed.last("module-path").map(abs).transpose()?, apxs.as_ref()).find()?;
    println!("LoadModule rwsgi_module {}", config_gen::qp(&module)?);
    if let Some(line) = python_home_line(parsed)? {
        println!("{line}");
    }
    Ok(0)
}

const CHECK_ABOUT: &str = "Run httpd's configuration test on CONFIG (an httpd.conf, or a server root made by \
                           setup-server; default: the system's Apache configuration). mod_rwsgi's start-up checks run \
                           with it: wrong Python version, files the run user cannot read, unreachable socket directory, \
                           missing locale, SELinux denials. Exits non-zero when httpd or a check reports an error.";

/// `check-config [CONFIG] [--httpd-executable PATH]`: httpd -t with mod_rwsgi's checks, for any configuration.
fn check_config(rest: &[String]) -> Result<i32> {
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

fn module_location(parsed: &Parsed) -> Result<i32> {
    let apxs = Apxs::from_env();
    let module = ModuleSearch::from_env(parsed.last("module-path").map(abs).transpose()?, apxs.as_ref()).find()?;
    println!("{}", module.display());
    Ok(0)
}

fn install_module(parsed: &Parsed) -> Result<i32> {
    let apxs = Apxs::from_env();
    let target_dir = match parsed.last("modules-directory") {
        Some(d) => abs(d)?,
        None => Platform::apxs_modules_dir(apxs.as_ref()).ok_or_else(|| {
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

/// Everything start-server needs after the server root is written.
struct Prepared {
    settings: Settings,
    platform: Platform,
    layout: Layout,
    run_as: Option<RunAs>,
    env: Vec<(String, String)>,
}

fn server(start: bool, parsed: &Parsed) -> Result<i32> {
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
    run::config_test(&httpd)?;
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
    if let (false, None, Some(run)) = (settings.embedded, &settings.socket_prefix, &run_as) {
        // The httpd children (the run user) connect to the daemon sockets in run/rwsgi-PID/ (0700, theirs): they
        // must pass through the server root and run/ (the module checks that they can read run/).
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
        let settings = s(&["tests/apps/hello.wsgi"]);
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
