//! The subcommands: each turns a parsed command line into files, output and (for start-server) a running httpd.
//! This module dispatches; start-server / setup-server are in `server`, the module-* commands for an existing
//! Apache in `module`, and check-config in `check_config`.

mod check_config;
mod module;
mod server;

use std::path::PathBuf;

use crate::cli::{self, Parsed};
use crate::error::{Error, Result};
use crate::options_table::{INSTALL_MODULE_OPTIONS, MODULE_CONFIG_OPTIONS, MODULE_LOCATION_OPTIONS, SERVER_OPTIONS};
use check_config::check_config;
use module::{install_module, module_config, module_location};
use server::server;

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
