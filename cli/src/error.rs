//! Errors as the user sees them: one line on stderr and an exit code.

use std::fmt::Display;
use std::io;
use std::process::ExitCode;

use dislog::ErrorCode;

/// Exit code for any failure that is not one of the more specific ones.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for bad arguments (as clap uses).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when the log is corrupt (a failed `verify`, or a read that hit
/// a corrupt record or an unreadable file).
pub const EXIT_CORRUPT: u8 = 3;

/// A failure of a command: what to print and how to exit.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: u8,
    /// Print nothing: the output went to a closed pipe (exit 0, as `head`
    /// expects of the command feeding it), or clap already printed.
    quiet: bool,
}

/// The result type of every command.
pub type Result<T, E = CliError> = std::result::Result<T, E>;

impl CliError {
    /// A failure with exit code 1.
    pub fn new(message: impl Into<String>) -> Self {
        Self::with_code(message, EXIT_FAILURE)
    }

    /// A failure with the given exit code.
    pub fn with_code(message: impl Into<String>, code: u8) -> Self {
        Self {
            message: message.into(),
            code,
            quiet: false,
        }
    }

    /// Bad arguments found after clap parsed them (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::with_code(message, EXIT_USAGE)
    }

    /// Turns clap's multi-line error into one line; `--help` and
    /// `--version` print as clap wants and exit 0.
    pub fn from_clap(e: &clap::Error) -> Self {
        use clap::error::ErrorKind;
        if matches!(
            e.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        ) {
            let _ = e.print();
            let code = if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                EXIT_USAGE
            } else {
                0
            };
            return Self {
                message: String::new(),
                code,
                quiet: true,
            };
        }
        let rendered = e.render().to_string();
        // clap's message is everything before the first blank line (the
        // tip and usage follow it).
        let head: Vec<&str> = rendered
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .map(str::trim)
            .collect();
        let text = head.join(" ");
        let text = text.strip_prefix("error: ").unwrap_or(&text);
        Self::usage(format!("{text} (see 'dislog --help')"))
    }

    /// Prefixes the message with what was being done.
    pub fn context(mut self, what: impl Display) -> Self {
        if !self.quiet {
            self.message = format!("{what}: {}", self.message);
        }
        self
    }

    /// Whether this is a write to a closed pipe (nothing to print).
    pub fn is_broken_pipe(&self) -> bool {
        self.quiet && self.code == 0
    }

    /// Appends a note after the message.
    pub fn note(mut self, note: impl Display) -> Self {
        if !self.quiet {
            self.message = format!("{}; {note}", self.message);
        }
        self
    }

    /// Prints the error (one line on stderr) and gives the exit code.
    pub fn report(self) -> std::process::ExitCode {
        if !self.quiet {
            eprintln!("dislog: error: {}", crate::one_line(&self.message));
        }
        ExitCode::from(self.code)
    }
}

impl From<dislog::Error> for CliError {
    fn from(e: dislog::Error) -> Self {
        let code = match e.code() {
            ErrorCode::Corrupt | ErrorCode::Format => EXIT_CORRUPT,
            _ => EXIT_FAILURE,
        };
        let message = match &e {
            // The backend's text already says who holds the lock.
            dislog::Error::Storage(storage) if e.code() == ErrorCode::Locked => storage.to_string(),
            _ => e.to_string(),
        };
        Self::with_code(message, code)
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return Self {
                message: String::new(),
                code: 0,
                quiet: true,
            };
        }
        Self::new(e.to_string())
    }
}

/// Adds context to errors of any kind that converts into [`CliError`].
pub trait Context<T> {
    /// Prefixes an error with `what()`.
    fn context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: Into<CliError>> Context<T> for std::result::Result<T, E> {
    fn context<D: Display>(self, what: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| e.into().context(what()))
    }
}
