//! The subcommands, and how they open logs.

mod append;
mod demo;
mod maintain;
mod read;
mod snapshot;
mod stat;
mod tail;
mod verify;

use std::io::{self, Write};
use std::path::Path;

use dislog::{Config, Log};

use crate::args::{Command, LayoutArgs};
use crate::error::{CliError, Context, Result};

/// Runs one subcommand.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Append(args) => append::run(&args),
        Command::Read(args) => read::run(&args),
        Command::Tail(args) => tail::run(&args),
        Command::Stat(args) => stat::run(&args),
        Command::Verify(args) => verify::run(&args),
        Command::Truncate(args) => maintain::truncate(&args),
        Command::Retain(args) => maintain::retain(&args),
        Command::Snapshot(args) => snapshot::save(&args),
        Command::Restore(args) => snapshot::restore(&args),
        Command::Demo(args) => demo::run(&args),
    }
}

/// Fails unless `dir` is a directory holding at least one segment, so that
/// commands on an existing log never create one by mistake (a typo in the
/// path) and say plainly what is missing.
fn require_log(dir: &Path) -> Result<()> {
    let shown = dir.display();
    if !dir.exists() {
        return Err(CliError::new(format!(
            "no log at {shown}: the directory does not exist"
        )));
    }
    if !has_segments(dir)? {
        return Err(CliError::new(format!(
            "no log at {shown}: the directory holds no segment files"
        )));
    }
    Ok(())
}

/// Whether the directory `dir` holds segment files.
fn has_segments(dir: &Path) -> Result<bool> {
    let cannot = || format!("cannot read {}", dir.display());
    for entry in std::fs::read_dir(dir).context(cannot)? {
        let entry = entry.context(cannot)?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| dislog::dislog_core::parse_file_name(n).is_some())
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Opens an existing log without its writer lock, so it works beside a
/// live writer; nothing on disk changes.
fn open_reader(dir: &Path) -> Result<Log> {
    open_existing(dir, false)?.context(|| cannot_open(dir))
}

/// Opens an existing log for writing (takes the writer lock; recovery runs).
fn open_writer(dir: &Path) -> Result<Log> {
    open_existing(dir, true)?.context(|| cannot_open(dir))
}

/// Opens the existing log at `dir`, for writing or read-only. The outer
/// error says there is no log there; the inner one is the library's, left
/// as it is for callers that look into it.
fn open_existing(dir: &Path, writable: bool) -> Result<dislog::Result<Log>> {
    require_log(dir)?;
    Ok(if writable {
        Log::open(dir, Config::default())
    } else {
        Log::open_read_only(dir, Config::default())
    })
}

/// Opens the log for writing, creating the directory and the log if needed.
fn open_or_create(dir: &Path, config: Config) -> Result<Log> {
    Log::open(dir, config).context(|| cannot_open(dir))
}

/// What a failed open of the log at `dir` is reported as.
fn cannot_open(dir: &Path) -> String {
    format!("cannot open the log at {}", dir.display())
}

/// The default config with the layout options applied.
fn config_with(layout: &LayoutArgs) -> Config {
    let mut config = Config::default();
    if let Some(n) = layout.max_store_bytes {
        config.max_store_bytes = n;
    }
    if let Some(n) = layout.max_index_bytes {
        config.max_index_bytes = n;
    }
    if let Some(n) = layout.max_record_bytes {
        config.max_record_bytes = n;
    }
    config
}

/// Closes a log, adding the directory to any error.
fn close(log: Log) -> Result<()> {
    let dir = log.path().to_path_buf();
    log.close()
        .context(|| format!("cannot close the log at {}", dir.display()))
}

/// Standard output, buffered; flushed by the caller.
fn stdout() -> io::BufWriter<io::StdoutLock<'static>> {
    io::BufWriter::with_capacity(1 << 16, io::stdout().lock())
}

/// Prints one line on stdout, ending quietly on a closed pipe.
fn say(line: impl std::fmt::Display) -> Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}
