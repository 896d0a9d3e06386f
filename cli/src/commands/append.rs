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
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(e) => {
                batch.data.truncate(before);
                break Err(e.context(format!("input record {number}")));
            }
        }
        let len = batch.data.len() - before;
        if len as u64 > limit {
            batch.data.truncate(before);
            break Err(CliError::new(format!(
                "input record {number} is {len} bytes, larger than the limit of {limit} bytes (see --max-record-bytes)"
            )));
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
                "the {} before it were appended (offsets {first} to {})",
                count_of(tally.records, "record"),
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

/// Reads the next record onto the end of `out`; false at the end of the
/// input. A length-prefixed record longer than `limit` is not read (its
/// length is checked by the caller against what was read: nothing).
fn next_record(
    input: &mut impl BufRead,
    framing: Framing,
    out: &mut Vec<u8>,
    limit: u64,
) -> Result<bool> {
    match framing {
        Framing::Delimited(delimiter) => {
            let n = input
                .read_until(delimiter, out)
                .context(|| "cannot read standard input")?;
            if n == 0 {
                return Ok(false);
            }
            if out.last() == Some(&delimiter) {
                out.pop();
            }
            Ok(true)
        }
        Framing::LengthPrefixed => {
            let mut prefix = [0u8; 4];
            let got = read_full(input, &mut prefix)?;
            if got == 0 {
                return Ok(false);
            }
            if got < prefix.len() {
                return Err(CliError::new(format!(
                    "the input ends inside a length prefix ({got} of 4 bytes)"
                )));
            }
            let len = u64::from(u32::from_le_bytes(prefix));
            if len > limit {
                return Err(CliError::new(format!(
                    "a framed record of {len} bytes is larger than the limit of {limit} bytes (see --max-record-bytes)"
                )));
            }
            let start = out.len();
            // `len` fits in u32, so in usize on every supported target.
            out.resize(start + len as usize, 0);
            let got = read_full(input, &mut out[start..])?;
            if (got as u64) < len {
                out.truncate(start);
                return Err(CliError::new(format!(
                    "the input ends inside a framed record ({got} of {len} bytes)"
                )));
            }
            Ok(true)
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
