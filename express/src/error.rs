//! The one error type of rwsgi-express: every failure becomes one line for a human and an exit code.

use std::fmt;

/// What went wrong, split by who has to act: the person typing the command (`Usage`) or the system (`Failed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A bad command line: unknown option, bad value, missing script. Exit code 2.
    Usage(String),
    /// The command line was fine but something on the machine is not: httpd missing, port in use. Exit code 1.
    Failed(String),
}

impl Error {
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    pub fn failed(msg: impl Into<String>) -> Self {
        Error::Failed(msg.into())
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            Error::Failed(_) => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Failed(m) => f.write_str(m),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Attach the path an I/O operation was about to its error, so the message names what failed.
pub fn io_context(what: &str, path: &std::path::Path, err: std::io::Error) -> Error {
    Error::failed(format!("cannot {what} {}: {err}", path.display()))
}
