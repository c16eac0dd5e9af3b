//! rsgdd's errors and the exit status each one gives.

use std::fmt;
use std::io;

#[derive(Clone, Debug)]
pub enum Error {
    /// Bad arguments, or a setup the arguments cannot work with.
    Usage(String),
    /// A system call failed, or a SCSI command completed with an error.
    Io(String),
    /// Verify found data that is not the pattern.
    Verify(String),
    /// SIGINT or SIGTERM.
    Interrupted,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }

    /// "CONTEXT: strerror".
    pub fn sys(context: impl fmt::Display, e: io::Error) -> Self {
        let text = e.to_string();
        // std appends " (os error N)" to strerror's text; people want the text.
        let text = text.split(" (os error").next().unwrap_or(&text);
        Error::Io(format!("{context}: {text}"))
    }

    /// The documented exit status.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Io(_) => 1,
            Error::Usage(_) => 2,
            Error::Verify(_) => 3,
            Error::Interrupted => 130,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Io(m) | Error::Verify(m) => f.write_str(m),
            Error::Interrupted => f.write_str("interrupted"),
        }
    }
}
