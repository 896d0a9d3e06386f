//! `dislog read`: print records like a console consumer.

use std::io::Write;

use dislog::{Log, Record};

use super::{open_reader, stdout};
use crate::args::ReadArgs;
use crate::error::{CliError, Result};
use crate::output::Printer;

/// `dislog read`: prints records oldest first, from `--from` or `--since`,
/// at most `--count` of them.
pub fn run(args: &ReadArgs) -> Result<()> {
    let log = open_reader(&args.dir)?;
    let from = match (args.from, args.since) {
        (Some(from), _) => from,
        (None, Some(since)) => match log.offset_for_timestamp(since)? {
            Some(offset) => offset,
            None => return Ok(()),
        },
        (None, None) => log.lowest_offset().unwrap_or_else(|| log.next_offset()),
    };
    let mut out = stdout();
    let (_, printed) = print_range(
        &log,
        from,
        args.count,
        &Printer::new(&args.format),
        &mut out,
        |_| {},
    );
    // What was printed before an error still goes out.
    out.flush()?;
    printed?;
    Ok(())
}

/// Prints up to `count` records from `from` (all when `None`), handing
/// each one printed to `printed`. Returns the offset after the last record
/// printed, and how the printing ended: a reader that stops at an error
/// still knows how far it got.
pub fn print_range(
    log: &Log,
    from: u64,
    count: Option<u64>,
    printer: &Printer,
    out: &mut impl Write,
    mut printed: impl FnMut(&Record<'_>),
) -> (u64, Result<()>) {
    let mut next = from;
    let reader = log.reader();
    let records = match reader.iter(from) {
        Ok(records) => records,
        Err(e) => return (next, Err(read_error(log, e))),
    };
    let limit = usize::try_from(count.unwrap_or(u64::MAX)).unwrap_or(usize::MAX);
    for record in records.take(limit) {
        let record = match record {
            Ok(record) => record,
            Err(e) => return (next, Err(read_error(log, e))),
        };
        if let Err(e) = printer.write(out, &record) {
            return (next, Err(e.into()));
        }
        printed(&record);
        next = record.offset + 1;
    }
    (next, Ok(()))
}

fn read_error(log: &Log, e: dislog::Error) -> CliError {
    CliError::from(e).context(format!("cannot read {}", log.path().display()))
}
