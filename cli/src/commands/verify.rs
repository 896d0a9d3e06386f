//! `dislog verify`: check every record, checksum, index entry and header.

use std::io::Write;
use std::path::Path;

use dislog::{Config, Error, Log, Repair};

use super::{cannot_open, close, open_existing, require_log, say, stdout};
use crate::args::VerifyArgs;
use crate::error::{CliError, Context, Result, EXIT_CORRUPT};
use crate::progress;
use crate::units::{count_of, format_bytes, format_count};

/// `dislog verify`: prints the pending or applied repairs, one `problem:`
/// line per problem found and an `ok:` line when there is none; exits 3
/// when the log is corrupt, including when it is too damaged to open.
pub fn run(args: &VerifyArgs) -> Result<()> {
    let mut out = stdout();
    let (problems, summary, recoverable) = if args.repair {
        let log = open(&args.dir, true)?;
        let mut repairs = log.repairs();
        // What the fast check of an open does not look at: index entries
        // in the middle of a segment.
        repairs.extend(
            log.repair_indexes()
                .context(|| "rewriting damaged indexes failed")?,
        );
        if repairs.is_empty() {
            writeln!(out, "nothing to repair: the log was closed cleanly")?;
        }
        for repair in &repairs {
            writeln!(out, "repaired: {repair}")?;
        }
        let problems = check(&log, args.limit, &[]);
        let summary = summary(&log);
        close(log)?;
        (problems, summary, false)
    } else {
        let log = open(&args.dir, false)?;
        // A read-only open recovers in memory only: what it would have
        // changed on disk is reported too, and data it would cut is a problem.
        let pending = log.repairs();
        let notes: Vec<&Repair> = pending.iter().filter(|r| !loses_data(r)).collect();
        for note in notes {
            writeln!(out, "note: opening for writing would do this: {note}")?;
        }
        let problems = check(&log, args.limit, &pending);
        let recoverable = pending.iter().any(loses_data);
        (problems, summary(&log), recoverable)
    };
    for problem in &problems {
        writeln!(out, "problem: {problem}")?;
    }
    if problems.is_empty() {
        writeln!(out, "ok: {summary}")?;
        out.flush()?;
        return Ok(());
    }
    out.flush()?;
    let mut message = format!(
        "{} found in {}",
        count_of(problems.len() as u64, "problem"),
        args.dir.display()
    );
    if problems.len() >= args.limit {
        message.push_str(" (stopped at --limit)");
    }
    if recoverable {
        message.push_str("; 'dislog verify --repair' runs recovery, which cuts the torn tail");
    } else {
        message.push_str(
            "; recovery keeps corrupt records of sealed segments so that reads report them: \
             'dislog truncate' (--before N or --from N) removes them",
        );
    }
    Err(CliError::with_code(message, EXIT_CORRUPT))
}

/// Opens the log at `dir`, for writing (recovery runs and is written) or
/// read-only. When damage stops the open (a foreign or unreadable header, a
/// corrupt segment), that damage is the problem found: it is printed as a
/// `problem:` line naming the segment, and the error exits 3.
fn open(dir: &Path, writable: bool) -> Result<Log> {
    let opened = if writable {
        // Every segment checked, and repaired, now: not only when first
        // used, as a plain open after a clean close does.
        require_log(dir)?;
        Log::open_checked(dir, Config::default())
    } else {
        open_existing(dir, false)?
    };
    opened.map_err(|e| {
        let Some(problem) = open_problem(&e) else {
            return CliError::from(e).context(cannot_open(dir));
        };
        if let Err(printing) = say(format!("problem: {problem}")) {
            return printing;
        }
        CliError::with_code(
            format!(
                "1 problem found in {}: {}: {e}; nothing else could be checked",
                dir.display(),
                cannot_open(dir)
            ),
            EXIT_CORRUPT,
        )
    })
}

/// Runs `Log::verify` (with a spinner on a terminal) and describes each
/// problem, after the pending repairs that would lose data.
fn check(log: &Log, limit: usize, pending: &[Repair]) -> Vec<String> {
    let mut problems: Vec<String> = pending
        .iter()
        .filter(|r| loses_data(r))
        .map(describe_repair)
        .collect();
    let spinner = progress::spinner(&format!("verifying {} records", format_count(log.len())));
    let found = log.verify(limit.saturating_sub(problems.len()));
    spinner.finish_and_clear();
    problems.extend(found.iter().map(describe));
    problems.truncate(limit);
    problems
}

fn summary(log: &Log) -> String {
    let segments = log.segment_count();
    format!(
        "{} in {} ({}) verified",
        count_of(log.len(), "record"),
        count_of(segments as u64, "segment"),
        log.size_bytes()
            .map_or_else(|e| format!("size unknown: {e}"), format_bytes)
    )
}

/// Whether recovery would cut records or bytes (rather than rebuild an
/// index, which loses nothing).
fn loses_data(repair: &Repair) -> bool {
    matches!(
        repair,
        Repair::TailCut { .. } | Repair::SegmentDropped { .. }
    )
}

fn describe_repair(repair: &Repair) -> String {
    match repair {
        Repair::TailCut {
            segment,
            bytes,
            records_kept,
        } => format!(
            "segment {segment}, offset {}: torn or corrupt data; recovery would cut {bytes} bytes from here ({records_kept} valid records before it)",
            segment + records_kept
        ),
        other => format!("{other} (on opening for writing)"),
    }
}

/// The problem line for damage that stops the log from opening, naming the
/// segment; `None` for failures that are not damage (a lock, an I/O error).
fn open_problem(e: &Error) -> Option<String> {
    match e {
        Error::Corrupt { .. } => Some(describe(e)),
        Error::Format { file, reason } => {
            let (base, _) = dislog::dislog_core::parse_file_name(file)?;
            Some(format!("segment {base}: {file}: {reason}"))
        }
        _ => None,
    }
}

fn describe(problem: &Error) -> String {
    match problem {
        Error::Corrupt {
            segment,
            offset: Some(offset),
            reason,
        } => format!("segment {segment}, offset {offset}: {reason}"),
        Error::Corrupt {
            segment,
            offset: None,
            reason,
        } => format!("segment {segment}: {reason}"),
        other => other.to_string(),
    }
}
