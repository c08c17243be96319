//! Command-line parsing and `--help` text, driven by the option table in `options_table`.
//! Owns only syntax (which option, how many values); what a value means is checked in `settings`.

use crate::error::{Error, Result};
use crate::options_table::{Arity, DAEMON_ONLY, Group, OptSpec, State};

/// The subcommands, with the one-line summary `rwsgi-express --help` shows.
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "start-server",
        "Generate a server root for an application and run httpd in the foreground",
    ),
    (
        "setup-server",
        "Generate the server root only; start it later with SERVER_ROOT/apachectl start",
    ),
    (
        "module-config",
        "Print the httpd.conf lines that load mod_rwsgi (paste them into an existing server)",
    ),
    (
        "install-module",
        "Copy mod_rwsgi.so into the Apache modules directory and print the lines to use it",
    ),
    (
        "module-location",
        "Print the path of the mod_rwsgi.so that would be used",
    ),
    (
        "check-config",
        "Test an httpd configuration and run mod_rwsgi's start-up checks on it",
    ),
];

/// A command line split into positional arguments and recognised options, in the order given.
#[derive(Debug, Default)]
pub struct Parsed {
    pub positional: Vec<String>,
    pub values: Vec<(&'static OptSpec, Vec<String>)>,
    pub help: bool,
}

impl Parsed {
    pub fn flag(&self, name: &str) -> bool {
        self.values.iter().any(|(s, _)| s.name == name)
    }

    /// The last value given for a one-value option (later occurrences win, as with optparse).
    pub fn last(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .rev()
            .find(|(s, _)| s.name == name)
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.values
            .iter()
            .filter(|(s, _)| s.name == name)
            .filter_map(|(_, v)| v.first())
            .map(String::as_str)
            .collect()
    }

    pub fn pairs(&self, name: &str) -> Vec<(&str, &str)> {
        self.values
            .iter()
            .filter(|(s, _)| s.name == name)
            .filter_map(|(_, v)| match v.as_slice() {
                [a, b] => Some((a.as_str(), b.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Refuse any option whose feature is not built, naming the first one given.
    pub fn refuse_unbuilt(&self) -> Result<()> {
        for (spec, _) in &self.values {
            if let State::NotYet(why) = spec.state() {
                return Err(Error::usage(format!(
                    "--{} is not available yet in rwsgi-express: {why}",
                    spec.name
                )));
            }
        }
        Ok(())
    }
}

/// Parse `args` (without the program and subcommand names) against `table`.
pub fn parse(command: &str, args: &[String], table: &'static [OptSpec]) -> Result<Parsed> {
    let mut parsed = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            parsed.positional.extend(args[i..].iter().cloned());
            break;
        }
        if arg == "-h" || arg == "--help" {
            parsed.help = true;
            continue;
        }
        let Some(body) = arg.strip_prefix("--") else {
            if arg.starts_with('-') && arg.len() > 1 {
                return Err(unknown(command, arg));
            }
            parsed.positional.push(arg.clone());
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some(spec) = table.iter().find(|s| s.name == name) else {
            return Err(unknown(command, arg));
        };
        let wanted = match spec.arity {
            Arity::Flag => 0,
            Arity::One => 1,
            Arity::Two => 2,
        };
        let mut values = Vec::with_capacity(wanted);
        if let Some(v) = inline {
            if wanted == 0 {
                return Err(Error::usage(format!("--{name} takes no value")));
            }
            values.push(v);
        }
        while values.len() < wanted {
            let Some(v) = args.get(i) else {
                return Err(Error::usage(format!(
                    "--{name} needs {wanted} value(s): --{name} {}",
                    spec.metavar
                )));
            };
            values.push(v.clone());
            i += 1;
        }
        parsed.values.push((spec, values));
    }
    Ok(parsed)
}

fn unknown(command: &str, arg: &str) -> Error {
    Error::usage(format!(
        "unknown option {arg} for {command} (see 'rwsgi-express {command} --help')"
    ))
}

pub fn main_help() -> String {
    let mut out = String::from(
        "Usage: rwsgi-express COMMAND [options]\n\nRun Python WSGI applications under Apache httpd with mod_rwsgi.\n\n\
         Commands:\n",
    );
    for (name, summary) in COMMANDS {
        out.push_str(&format!("  {name:<17}{summary}\n"));
    }
    out.push_str("\nRun 'rwsgi-express COMMAND --help' for the options of a command.\n");
    out
}

/// `--help` for one subcommand: usage, description, then the options grouped by topic.
pub fn command_help(usage: &str, about: &str, table: &[OptSpec]) -> String {
    let mut out = format!("Usage: rwsgi-express {usage}\n\n{}", wrap(about, 0, 100));
    for group in Group::ALL {
        let members: Vec<&OptSpec> = table.iter().filter(|s| s.group == group).collect();
        if members.is_empty() {
            continue;
        }
        out.push_str(&format!("\n{}:\n", group.title()));
        for spec in members {
            let head = match spec.arity {
                Arity::Flag => format!("  --{}", spec.name),
                _ => format!("  --{} {}", spec.name, spec.metavar),
            };
            let mut help = spec.help.to_string();
            match spec.state() {
                State::NotYet(_) => help.push_str(" [refused: not available yet]"),
                _ if spec.daemon_ignored().is_some() => {
                    help.push_str(" [daemon mode only; accepted by mod_rwsgi without effect]")
                }
                _ if DAEMON_ONLY.contains(&spec.name) => help.push_str(" [daemon mode only]"),
                _ => {}
            }
            out.push_str(&head);
            out.push('\n');
            out.push_str(&wrap(&help, 8, 100));
        }
    }
    out.push_str("\n  -h, --help\n        Show this help.\n");
    out
}

/// Word-wrap `text` to `width` columns, each line indented by `indent` spaces.
fn wrap(text: &str, indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent + line.len() + 1 + word.len() > width {
            out.push_str(&" ".repeat(indent));
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&" ".repeat(indent));
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options_table::SERVER_OPTIONS;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_positional_values_pairs_and_equals() {
        let p = parse(
            "start-server",
            &args(&[
                "app.wsgi",
                "--port",
                "9000",
                "--setenv",
                "A",
                "b c",
                "--log-level=info",
                "--access-log",
            ]),
            SERVER_OPTIONS,
        )
        .expect("parses");
        assert_eq!(p.positional, vec!["app.wsgi"]);
        assert_eq!(p.last("port"), Some("9000"));
        assert_eq!(p.pairs("setenv"), vec![("A", "b c")]);
        assert_eq!(p.last("log-level"), Some("info"));
        assert!(p.flag("access-log"));
        assert!(!p.flag("compress-responses"));
    }

    #[test]
    fn later_values_win_and_repeatables_collect() {
        let p = parse(
            "s",
            &args(&["--port", "1", "--port", "2", "--python-path", "a", "--python-path", "b"]),
            SERVER_OPTIONS,
        )
        .expect("parses");
        assert_eq!(p.last("port"), Some("2"));
        assert_eq!(p.all("python-path"), vec!["a", "b"]);
    }

    #[test]
    fn errors_are_one_line_and_name_the_option() {
        let e = parse("start-server", &args(&["--prot", "1"]), SERVER_OPTIONS).expect_err("unknown");
        assert!(e.to_string().contains("--prot") && !e.to_string().contains('\n'));
        let e = parse("start-server", &args(&["--setenv", "A"]), SERVER_OPTIONS).expect_err("short");
        assert!(e.to_string().contains("--setenv"));
        let e = parse("start-server", &args(&["--access-log=yes"]), SERVER_OPTIONS).expect_err("flag value");
        assert!(e.to_string().contains("takes no value"));
        let e = parse("start-server", &args(&["-x"]), SERVER_OPTIONS).expect_err("short option");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn refuses_unbuilt_options_only() {
        let p = parse(
            "s",
            &args(&["--queue-timeout", "5", "--processes", "2"]),
            SERVER_OPTIONS,
        )
        .expect("parses");
        assert!(p.refuse_unbuilt().is_ok(), "daemon options are built now");
        let p = parse("s", &args(&["--rewrite-rules", "rules.conf"]), SERVER_OPTIONS).expect("parses");
        let e = p.refuse_unbuilt().expect_err("refused");
        assert!(e.to_string().contains("not available yet"), "{e}");
        let p = parse("s", &args(&["--port", "5"]), SERVER_OPTIONS).expect("parses");
        assert!(p.refuse_unbuilt().is_ok());
    }

    #[test]
    fn help_is_grouped_and_marks_refusals() {
        let h = command_help("start-server SCRIPT [options]", "Run it.", SERVER_OPTIONS);
        let app = h.find("\nApplication:").expect("group");
        let timeouts = h.find("\nTimeouts:").expect("group");
        assert!(app < timeouts);
        assert!(h.contains("--queue-timeout SECONDS"));
        assert!(h.contains("[daemon mode only]"));
        assert!(h.contains("[refused: not available yet]"));
    }
}
