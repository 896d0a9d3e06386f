//! `dislog truncate` and `dislog retain`: removing records.

use dislog::{Log, Removed};

use super::{close, open_writer, say};
use crate::args::{RetainArgs, TruncateArgs};
use crate::error::{CliError, Context, Result};
use crate::units::{count_of, format_bytes, millis, now_ms};

/// `dislog truncate`: removes whole old segments (`--before N`) or every
/// record from an offset on (`--from N`), and says what it removed.
pub fn truncate(args: &TruncateArgs) -> Result<()> {
    let log = open_writer(&args.dir)?;
    let what = match (args.before, args.from) {
        (Some(before), _) => {
            let removed = log
                .truncate(before)
                .context(|| format!("cannot truncate {}", args.dir.display()))?;
            let mut line = describe(&removed, &log);
            if log.lowest_offset().is_some_and(|low| low < before) {
                line.push_str(&format!(
                    " (whole segments only: offsets below {before} in its segment remain)"
                ));
            }
            line
        }
        (None, Some(from)) => {
            let old_next = log.next_offset();
            log.truncate_suffix(from)
                .context(|| format!("cannot truncate {}", args.dir.display()))?;
            format!(
                "removed {}; {}",
                count_of(old_next.saturating_sub(log.next_offset()), "record"),
                holds(&log)
            )
        }
        (None, None) => return Err(CliError::usage("give --before N or --from N")),
    };
    close(log)?;
    say(what)
}

/// `dislog retain`: removes the oldest segments beyond a total size or an
/// age, and says what it removed.
pub fn retain(args: &RetainArgs) -> Result<()> {
    let log = open_writer(&args.dir)?;
    let removed = match (args.max_bytes, args.max_age) {
        (Some(bytes), _) => log.retain_bytes(bytes),
        (None, Some(age)) => log.retain_since(now_ms().saturating_sub(millis(age))),
        (None, None) => return Err(CliError::usage("give --max-bytes B or --max-age D")),
    }
    .context(|| format!("cannot apply retention to {}", args.dir.display()))?;
    let line = describe(&removed, &log);
    close(log)?;
    say(line)
}

fn describe(removed: &Removed, log: &Log) -> String {
    format!(
        "removed {} ({}, {}); {}",
        count_of(removed.segments as u64, "segment"),
        count_of(removed.records, "record"),
        format_bytes(removed.bytes),
        holds(log)
    )
}

fn holds(log: &Log) -> String {
    match (log.lowest_offset(), log.highest_offset()) {
        (Some(low), Some(high)) => format!(
            "the log holds offsets {low} to {high} ({})",
            log.size_bytes()
                .map_or_else(|e| format!("size unknown: {e}"), format_bytes)
        ),
        _ => format!("the log is empty; next offset {}", log.next_offset()),
    }
}
