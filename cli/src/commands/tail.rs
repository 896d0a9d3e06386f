//! `dislog tail`: the last records, and with `-f` the new ones as another
//! process appends them.
//!
//! Following polls: every interval it looks at the names, sizes and
//! modification times of the segment files (a few `stat` calls) and only
//! when they changed reopens the log read-only and prints what is new. It
//! never takes the writer's lock and never busy-waits.
//!
//! A suffix cut (`truncate --from`) followed by appends can replace records
//! already printed before the next look, with the log's end back past where
//! the follower was. So the follower remembers what the last records it
//! printed looked like ([`History`]); at each look it reads the newest of
//! them again, and when it no longer matches it walks back to the first
//! replaced one and prints from there (with a note on standard error).

use std::collections::VecDeque;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use dislog::{Log, Record};

use super::read::print_range;
use super::{open_reader, stdout};
use crate::args::TailArgs;
use crate::error::{CliError, Result};
use crate::output::Printer;

/// How many polls in a row may fail (the writer may be between two steps
/// of a segment roll) before `tail -f` gives up.
const MAX_FAILED_POLLS: u32 = 50;

/// Reopen at least this often even when the files look unchanged, in case
/// a write landed within the file system's timestamp granularity.
const FORCED_REOPEN_EVERY: u32 = 10;

/// `dislog tail`: prints the last records and, with `-f`, keeps polling
/// for new ones until its reader goes away.
pub fn run(args: &TailArgs) -> Result<()> {
    let printer = Printer::new(&args.format);
    let mut out = stdout();
    let log = open_reader(&args.dir)?;
    let next = log.next_offset();
    let lowest = log.lowest_offset().unwrap_or(next);
    let from = next.saturating_sub(args.count).max(lowest);
    let mut history = History::default();
    // The record just before the first one printed is remembered too: one
    // appended in its place after the follower started is news.
    if let Some(before) = from.checked_sub(1).filter(|&b| b >= lowest) {
        let _ = log.read_with(before, |r| history.push(r));
    }
    let (mut position, printed) =
        print_range(&log, from, None, &printer, &mut out, |r| history.push(r));
    out.flush()?;
    printed?;
    if !args.follow {
        return Ok(());
    }
    drop(log);
    let mut seen = Fingerprint::of(&args.dir).ok();
    let mut failures = 0;
    let mut quiet_polls = 0;
    loop {
        if wait_unless_closed(args.interval) {
            // Whoever read our output is gone (`dislog tail -f | head`).
            return Ok(());
        }
        let now = Fingerprint::of(&args.dir).ok();
        quiet_polls += 1;
        if now.is_some() && now == seen && quiet_polls < FORCED_REOPEN_EVERY {
            continue;
        }
        quiet_polls = 0;
        let (next, step) = follow_step(&args.dir, position, &mut history, &printer, &mut out);
        out.flush()?;
        match step {
            Ok(()) => {
                failures = 0;
                seen = now;
            }
            Err(e) if e.is_broken_pipe() => return Err(e),
            Err(e) => {
                // A record being written may not read back yet: retry, and
                // give up only when polls keep failing without progress.
                failures = if next > position { 1 } else { failures + 1 };
                if failures >= MAX_FAILED_POLLS {
                    return Err(e.context("stopped following"));
                }
                seen = None;
            }
        }
        position = next;
    }
}

/// Reopens the log and prints the records from `position` on; returns the
/// new position and how printing ended.
fn follow_step(
    dir: &Path,
    position: u64,
    history: &mut History,
    printer: &Printer,
    out: &mut impl Write,
) -> (u64, Result<()>) {
    let log = match Log::open_read_only(dir, dislog::Config::default()) {
        Ok(log) => log,
        Err(e) => return (position, Err(CliError::from(e))),
    };
    let next = log.next_offset();
    // The log may have been cut from the end (suffix truncation, reset) or
    // from the front (retention) since the last look, and the end may have
    // been cut and appended past again.
    let lowest = log.lowest_offset().unwrap_or(next);
    let mut from = position.min(next).max(lowest);
    if let Some(replaced) = history.first_replaced(&log, from) {
        eprintln!(
            "dislog tail: records from offset {replaced} on were replaced (the log was cut \
             and appended to); printing them again"
        );
        from = replaced;
    }
    history.forget_from(from);
    print_range(&log, from, None, printer, out, |r| history.push(r))
}

/// Records remembered to notice a replaced one.
const HISTORY: usize = 1024;

/// The offsets and fingerprints of the last records printed (and of the
/// one before the first printed), oldest first.
#[derive(Default)]
struct History(VecDeque<(u64, u64)>);

impl History {
    /// A record's fingerprint: its timestamp and payload, hashed.
    fn fingerprint(record: &Record<'_>) -> u64 {
        let mut h = DefaultHasher::new();
        record.timestamp.hash(&mut h);
        record.payload.hash(&mut h);
        h.finish()
    }

    fn push(&mut self, record: &Record<'_>) {
        if self.0.len() == HISTORY {
            self.0.pop_front();
        }
        self.0.push_back((record.offset, Self::fingerprint(record)));
    }

    /// Drops what is remembered from `offset` on (about to be printed).
    fn forget_from(&mut self, offset: u64) {
        while self.0.back().is_some_and(|&(o, _)| o >= offset) {
            self.0.pop_back();
        }
    }

    /// The first remembered record below `from` that `log` now holds
    /// differently, walking back from the newest while they differ:
    /// offsets below an unchanged record were not cut. `None` when the
    /// newest still reads the same (or cannot be read: the print reports
    /// that). A cut deeper than the history resumes at its oldest record.
    fn first_replaced(&self, log: &Log, from: u64) -> Option<u64> {
        let mut replaced = None;
        for &(offset, fingerprint) in self.0.iter().rev().skip_while(|&&(o, _)| o >= from) {
            match log.read_with(offset, |r| Self::fingerprint(r) == fingerprint) {
                Ok(false) => replaced = Some(offset),
                _ => break,
            }
        }
        replaced
    }
}

/// What the segment files look like: a change means there may be news.
#[derive(PartialEq, Eq)]
struct Fingerprint(Vec<(String, u64, Option<SystemTime>)>);

impl Fingerprint {
    fn of(dir: &Path) -> std::io::Result<Self> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if dislog::dislog_core::parse_file_name(&name).is_none() {
                continue;
            }
            let meta = entry.metadata()?;
            files.push((name, meta.len(), meta.modified().ok()));
        }
        files.sort();
        Ok(Self(files))
    }
}

/// Waits `interval`; returns early with `true` when standard output is a
/// pipe whose reading end was closed, so that `tail -f` ends even while no
/// record arrives to be written (as coreutils' `tail -f` does).
#[cfg(unix)]
fn wait_unless_closed(interval: Duration) -> bool {
    let mut fd = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        // No events asked for: POLLERR and POLLHUP are always reported.
        events: 0,
        revents: 0,
    };
    let timeout = libc::c_int::try_from(interval.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `fd` is one valid, initialized pollfd and the count says one;
    // poll only writes its `revents` field during the call.
    let ready = unsafe { libc::poll(&mut fd, 1, timeout) };
    if ready > 0 && fd.revents & (libc::POLLERR | libc::POLLHUP) != 0 {
        return true;
    }
    if ready != 0 {
        // Interrupted, or an event we do not act on: still wait the
        // interval rather than spin.
        std::thread::sleep(interval);
    }
    false
}

#[cfg(not(unix))]
fn wait_unless_closed(interval: Duration) -> bool {
    std::thread::sleep(interval);
    false
}
