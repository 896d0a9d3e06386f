//! `dislog tail`: the last records, and with `-f` the new ones as another
//! process appends them.
//!
//! Following polls: every interval it looks at the names, sizes and
//! modification times of the segment files (a few `stat` calls) and only
//! when they changed reopens the log read-only and prints what is new. It
//! never takes the writer's lock and never busy-waits.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use dislog::Log;

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
    let (mut position, printed) = print_range(&log, from, None, &printer, &mut out);
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
        let (next, step) = follow_step(&args.dir, position, &printer, &mut out);
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
    printer: &Printer,
    out: &mut impl Write,
) -> (u64, Result<()>) {
    let log = match Log::open_read_only(dir, dislog::Config::default()) {
        Ok(log) => log,
        Err(e) => return (position, Err(CliError::from(e))),
    };
    let next = log.next_offset();
    // The log may have been cut from the end (suffix truncation, reset) or
    // from the front (retention) since the last look.
    let lowest = log.lowest_offset().unwrap_or(next);
    let from = position.min(next).max(lowest);
    print_range(&log, from, None, printer, out)
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
