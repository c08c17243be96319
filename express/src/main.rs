//! rwsgi-express: run a Python WSGI application under Apache httpd with mod_rwsgi in one command.
//! `main` only turns arguments into a command and any error into one line and an exit code.

mod cli;
mod commands;
mod config_gen;
mod error;
mod options_table;
mod platform;
mod reload;
mod run;
mod server_root;
mod settings;
mod users;

use error::Error;

fn main() {
    // A bug must still end as one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("rwsgi-express: internal error: {info} (please report this)");
    }));
    let args: Result<Vec<String>, Error> = std::env::args_os()
        .skip(1)
        .map(|a| {
            a.into_string()
                .map_err(|a| Error::usage(format!("argument {a:?} is not valid UTF-8")))
        })
        .collect();
    let code = match args.and_then(|a| commands::dispatch(&a)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rwsgi-express: error: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
