//! Command-line arguments (clap derive).

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args, Parser, Subcommand};
use dislog::SyncPolicy;

use crate::units;

/// Produce, consume, inspect and repair dislog logs.
#[derive(Debug, Parser)]
#[command(
    name = "dislog",
    version,
    propagate_version = true,
    after_help = "Exit codes: 0 success, 1 failure, 2 bad arguments, 3 corrupt log.\nThe guide: cli/README.md in the dislog repository."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Append records read from standard input; prints the first and last offsets.
    Append(AppendArgs),
    /// Print records, oldest first, like a console consumer.
    Read(ReadArgs),
    /// Print the last records; with -f, follow records appended by another process.
    Tail(TailArgs),
    /// Describe the log: segments, offsets, sizes, time range, format version.
    Stat(StatArgs),
    /// Check every record, checksum, index entry and header; exit 3 on corruption.
    Verify(VerifyArgs),
    /// Remove old segments (--before N) or every record from an offset on (--from N).
    Truncate(TruncateArgs),
    /// Remove the oldest segments by total size or by age.
    Retain(RetainArgs),
    /// Write a snapshot of the log (one self-checking file) to FILE, or '-' for stdout.
    Snapshot(SnapshotArgs),
    /// Rebuild a log in DIR from a snapshot FILE (or '-' for stdin).
    Restore(RestoreArgs),
    /// The quick start: append and read a million records, show the layout and a crash recovery.
    Demo(DemoArgs),
}

/// `dislog append`.
#[derive(Debug, Args)]
pub struct AppendArgs {
    /// The log's directory (created with the log when missing).
    pub dir: PathBuf,
    /// End records with this byte instead of a newline: one character, an
    /// escape (\n \t \r \0) or a hex byte (0x1e).
    #[arg(long, short = 'd', value_name = "BYTE", value_parser = units::parse_delimiter, conflicts_with = "framed")]
    pub delimiter: Option<u8>,
    /// Read binary records, each a u32 little-endian length then that many bytes.
    #[arg(long)]
    pub framed: bool,
    /// When to sync: never (only when the command ends), always (each batch),
    /// bytes:N (every N bytes), ms:N (every N milliseconds).
    #[arg(long, value_name = "POLICY", default_value = "never", value_parser = units::parse_sync)]
    pub sync: SyncPolicy,
    #[command(flatten)]
    pub layout: LayoutArgs,
}

/// How new segments are sized (only matters for segments created now).
#[derive(Debug, Args)]
pub struct LayoutArgs {
    /// Largest store file of a segment (e.g. 64MiB).
    #[arg(long, value_name = "SIZE", value_parser = units::parse_size)]
    pub max_store_bytes: Option<u64>,
    /// Largest index file of a segment, 16 bytes per record (e.g. 16MiB).
    #[arg(long, value_name = "SIZE", value_parser = units::parse_size)]
    pub max_index_bytes: Option<u64>,
    /// Largest record accepted (e.g. 8MiB).
    #[arg(long, value_name = "SIZE", value_parser = units::parse_size)]
    pub max_record_bytes: Option<u64>,
}

/// How records are printed.
#[derive(Debug, Args)]
pub struct FormatArgs {
    /// Print each payload as lowercase hex.
    #[arg(long, conflicts_with = "json")]
    pub hex: bool,
    /// Print JSON Lines: offset, timestamp, time and payload (or payload_base64).
    #[arg(long)]
    pub json: bool,
    /// Prefix text and hex lines with the offset and time, tab-separated.
    #[arg(long, short = 'm', conflicts_with = "json")]
    pub meta: bool,
}

/// `dislog read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// First offset to print (default: the lowest).
    #[arg(long, value_name = "N", conflicts_with = "since")]
    pub from: Option<u64>,
    /// Print at most this many records.
    #[arg(long, short = 'n', value_name = "M")]
    pub count: Option<u64>,
    /// Start at the first record at or after TIME: RFC 3339
    /// (2026-01-02T03:04:05Z), milliseconds since the epoch, or an age such
    /// as 10m, 2h, 7d (that long ago).
    #[arg(long, value_name = "TIME", value_parser = units::parse_time)]
    pub since: Option<u64>,
    #[command(flatten)]
    pub format: FormatArgs,
}

/// `dislog tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// How many of the last records to print.
    #[arg(long, short = 'n', value_name = "N", default_value_t = 10)]
    pub count: u64,
    /// Keep running and print records as another process appends them.
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// How often -f looks for new records (e.g. 200ms, 1s; at least 10ms).
    #[arg(long, value_name = "D", default_value = "200ms", value_parser = parse_interval)]
    pub interval: Duration,
    #[command(flatten)]
    pub format: FormatArgs,
}

/// The shortest `tail --interval`: polling more often only burns CPU.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// Parses `tail --interval`: a duration of at least [`MIN_INTERVAL`].
fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = units::parse_duration(text)?;
    if interval < MIN_INTERVAL {
        return Err(format!(
            "the interval must be at least {}ms, so that -f does not busy-loop",
            MIN_INTERVAL.as_millis()
        ));
    }
    Ok(interval)
}

/// `dislog stat`.
#[derive(Debug, Args)]
pub struct StatArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `dislog verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// Open the log for writing so that recovery runs (cutting a torn tail,
    /// rebuilding indexes), report what it changed, then verify.
    #[arg(long)]
    pub repair: bool,
    /// Report at most this many problems.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: usize,
}

/// `dislog truncate`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("cut").required(true).args(["before", "from"])))]
pub struct TruncateArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// Remove every segment whose records all lie below N (whole segments:
    /// records below N in N's segment stay).
    #[arg(long, value_name = "N")]
    pub before: Option<u64>,
    /// Remove every record at offset N and after; the next append gets N.
    #[arg(long, value_name = "N")]
    pub from: Option<u64>,
}

/// `dislog retain`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("limit").required(true).args(["max_bytes", "max_age"])))]
pub struct RetainArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// Remove the oldest segments while the log is larger than B (e.g. 1GiB).
    #[arg(long, value_name = "B", value_parser = units::parse_size)]
    pub max_bytes: Option<u64>,
    /// Remove the oldest segments whose records are all older than D (e.g. 7d, 12h, 30m).
    #[arg(long, value_name = "D", value_parser = units::parse_duration)]
    pub max_age: Option<Duration>,
}

/// `dislog snapshot`.
#[derive(Debug, Args)]
pub struct SnapshotArgs {
    /// The log's directory.
    pub dir: PathBuf,
    /// Where to write the snapshot ('-' for stdout).
    pub file: PathBuf,
}

/// `dislog restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The snapshot ('-' for stdin).
    pub file: PathBuf,
    /// Where to create the log: a new or empty directory.
    pub dir: PathBuf,
}

/// `dislog demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to build the demo log (kept afterwards); default: a temporary
    /// directory, removed at the end. Must be new or empty.
    pub dir: Option<PathBuf>,
    /// How many records to append and read back.
    #[arg(long, value_name = "N", default_value_t = 1_000_000)]
    pub records: u64,
    /// Payload size of each record.
    #[arg(long, value_name = "B", default_value_t = 100, value_parser = clap::value_parser!(u32).range(16..=65536))]
    pub payload_bytes: u32,
}
