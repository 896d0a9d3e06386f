//! `dislog append`: records from stdin, in batches.

use std::io::{self, BufRead, BufReader, Read};

use dislog::Log;

use super::{close, config_with, open_or_create, say};
use crate::args::AppendArgs;
use crate::error::{CliError, Context, Result};
use crate::progress;
use crate::units::{count_of, format_bytes, format_count};

/// A batch is handed to the log once it holds this many records...
const BATCH_RECORDS: usize = 4096;
/// ...or this many payload bytes.
const BATCH_BYTES: usize = 1 << 20;

/// How records are cut out of the input.
#[derive(Clone, Copy)]
enum Framing {
    /// Records end with this byte (the last may lack it).
    Delimited(u8),
    /// Each record is a u32 little-endian length, then the payload.
    LengthPrefixed,
}

/// Records read but not yet appended: payloads back to back, and where each
/// ends.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Batch {
    fn is_full(&self) -> bool {
        self.ends.len() >= BATCH_RECORDS || self.data.len() >= BATCH_BYTES
    }

    /// Appends the batch; returns the offset of its first record.
    fn append_to(&mut self, log: &Log) -> dislog::Result<Option<u64>> {
        if self.ends.is_empty() {
            return Ok(None);
        }
        let mut start = 0;
        let records: Vec<&[u8]> = self
            .ends
            .iter()
            .map(|&end| {
                let record = &self.data[start..end];
                start = end;
                record
            })
            .collect();
        let first = log.append_batch(&records)?;
        self.data.clear();
        self.ends.clear();
        Ok(Some(first))
    }
}

/// What was appended so far.
#[derive(Default)]
struct Tally {
    first: Option<u64>,
    records: u64,
    bytes: u64,
}

/// `dislog append`: appends the records of standard input in batches and
/// prints how many and their offsets; a bad record stops it after the
/// records before it are appended.
pub fn run(args: &AppendArgs) -> Result<()> {
    let config = config_with(&args.layout);
    let config = dislog::Config {
        sync: args.sync,
        ..config
    };
    let limit = config.record_limit();
    let log = open_or_create(&args.dir, config)?;
    let framing = if args.framed {
        Framing::LengthPrefixed
    } else {
        Framing::Delimited(args.delimiter.unwrap_or(b'\n'))
    };
    let bar = progress::bytes("appending", stdin_file_len());
    let mut input = BufReader::with_capacity(1 << 16, bar.wrap_read(io::stdin().lock()));
    let mut batch = Batch::default();
    let mut tally = Tally::default();
    let read = loop {
        let number = tally.records + batch.ends.len() as u64 + 1;
        let before = batch.data.len();
        match next_record(&mut input, framing, &mut batch.data, limit) {
            Ok(Next::Record) => {}
            Ok(Next::End) => break Ok(()),
            Ok(Next::TooLarge(len)) => {
                batch.data.truncate(before);
                let size = len.map_or_else(String::new, |len| format!(" ({len} bytes)"));
                break Err(CliError::new(format!(
                    "input record {number}{size} is larger than the limit of {limit} bytes (see --max-record-bytes)"
                )));
            }
            Err(e) => {
                batch.data.truncate(before);
                break Err(e.context(format!("input record {number}")));
            }
        }
        batch.ends.push(batch.data.len());
        // Before waiting for more input, append what came and hand it to
        // the OS: a slow producer's records show up (for `tail -f`) as they
        // come, while a fast one still gets full batches.
        let idle = input.buffer().is_empty();
        if batch.is_full() || idle {
            flush(&log, &mut batch, &mut tally)?;
        }
        if idle {
            log.flush()
                .context(|| format!("cannot write to the log at {}", log.path().display()))?;
        }
    };
    // Records before a bad one are kept: append them, then report.
    flush(&log, &mut batch, &mut tally)?;
    bar.finish_and_clear();
    let next = log.next_offset();
    close(log)?;
    if let Err(e) = read {
        let kept = match tally.first {
            Some(first) => format!(
                "the {} before it {} appended (offsets {first} to {})",
                count_of(tally.records, "record"),
                if tally.records == 1 { "was" } else { "were" },
                next - 1
            ),
            None => "nothing was appended".to_owned(),
        };
        return Err(e.note(kept));
    }
    match tally.first {
        Some(first) => say(format!(
            "appended {} ({}), offsets {first} to {}",
            count_of(tally.records, "record"),
            format_bytes(tally.bytes),
            next - 1
        )),
        None => say(format!("appended 0 records; next offset {next}")),
    }
}

fn flush(log: &Log, batch: &mut Batch, tally: &mut Tally) -> Result<()> {
    let records = batch.ends.len() as u64;
    let bytes = batch.data.len() as u64;
    let first = batch.append_to(log).context(|| {
        format!(
            "cannot append to the log at {} (after {} records)",
            log.path().display(),
            format_count(tally.records)
        )
    })?;
    if let Some(first) = first {
        tally.first.get_or_insert(first);
        tally.records += records;
        tally.bytes += bytes;
    }
    Ok(())
}

/// What [`next_record`] found.
enum Next {
    /// A record, now on the end of the output.
    Record,
    /// The end of the input.
    End,
    /// A record longer than the limit, with its length when the input
    /// announced it; the output holds part of it (or nothing).
    TooLarge(Option<u64>),
}

/// Reads the next record onto the end of `out`. Never reads more than
/// `limit + 1` bytes of a record, so that an oversized one (a file without
/// delimiters, a bogus length prefix) is refused as soon as it is seen
/// rather than after buffering all of it.
fn next_record(
    input: &mut impl BufRead,
    framing: Framing,
    out: &mut Vec<u8>,
    limit: u64,
) -> Result<Next> {
    match framing {
        Framing::Delimited(delimiter) => {
            let n = input
                .by_ref()
                .take(limit.saturating_add(1))
                .read_until(delimiter, out)
                .context(|| "cannot read standard input")?;
            if n == 0 {
                return Ok(Next::End);
            }
            if out.last() == Some(&delimiter) {
                out.pop();
            } else if n as u64 > limit {
                return Ok(Next::TooLarge(None));
            }
            Ok(Next::Record)
        }
        Framing::LengthPrefixed => {
            let mut prefix = [0u8; 4];
            let got = read_full(input, &mut prefix)?;
            if got == 0 {
                return Ok(Next::End);
            }
            if got < prefix.len() {
                return Err(CliError::new(format!(
                    "the input ends inside a length prefix ({got} of 4 bytes)"
                )));
            }
            let len = u64::from(u32::from_le_bytes(prefix));
            if len > limit {
                return Ok(Next::TooLarge(Some(len)));
            }
            // Grows with what arrives: a length prefix promising more than
            // the input holds costs no more memory than the input.
            let got = input
                .by_ref()
                .take(len)
                .read_to_end(out)
                .context(|| "cannot read standard input")?;
            if (got as u64) < len {
                return Err(CliError::new(format!(
                    "the input ends inside a framed record ({got} of {len} bytes)"
                )));
            }
            Ok(Next::Record)
        }
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(CliError::from(e).context("cannot read standard input")),
        }
    }
    Ok(filled)
}

/// The size of stdin when it is a regular file (for the progress bar).
fn stdin_file_len() -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let fd = io::stdin().as_fd().try_clone_to_owned().ok()?;
        let meta = std::fs::File::from(fd).metadata().ok()?;
        meta.is_file().then_some(meta.len())
    }
    #[cfg(not(unix))]
    {
        None
    }
}
