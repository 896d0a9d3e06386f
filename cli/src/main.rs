//! The `dislog` command: produce, consume, inspect and repair dislog logs
//! from the shell. `dislog --help` lists the subcommands; `cli/README.md` is
//! the guide.
#![deny(unsafe_op_in_unsafe_fn)]

mod args;
mod commands;
mod error;
mod output;
mod progress;
mod units;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    install_panic_hook();
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return error::CliError::from_clap(&e).report(),
    };
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

/// A panic is a bug, but the user still gets one line, not a backtrace.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "dislog: error: internal error{at}: {}; please report this bug",
            one_line(&what)
        );
    }));
}

/// Joins a possibly multi-line message into one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
