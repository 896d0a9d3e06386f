//! `dislog demo`: the quick start. Appends and reads back a million
//! records, shows the throughput and the segment layout, then crashes the
//! log on purpose and shows recovery.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dislog::{Config, Log};

use super::stat;
use crate::args::DemoArgs;
use crate::error::{CliError, Context, Result};
use crate::progress;
use crate::units::{
    count_of, format_byte_rate, format_bytes, format_count, format_elapsed, format_rate,
};

/// Records per `append_batch` call.
const BATCH: u64 = 10_000;
/// Store size of the demo's segments: small enough that a million records
/// make several segments.
const STORE_BYTES: u64 = 32 << 20;
/// Records appended and synced before the crash.
const SYNCED: u64 = 1_000;
/// Records appended after the last sync, before the crash.
const UNSYNCED: u64 = 500;
/// Bytes cut off the end of the active store to simulate a torn write.
const TORN_BYTES: u64 = 7;

/// `dislog demo`: runs the quick start in `DIR`, or in a temporary
/// directory removed afterwards.
pub fn run(args: &DemoArgs) -> Result<()> {
    let (dir, temp) = match &args.dir {
        Some(dir) => {
            require_empty(dir)?;
            (dir.clone(), None)
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("dislog-demo-")
                .tempdir()
                .context(|| "cannot create a temporary directory")?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    let demo = Demo {
        dir,
        records: args.records,
        payload: args.payload_bytes as usize,
    };
    let result = demo.run(temp.is_some());
    if let Some(temp) = temp {
        let shown = temp.path().display().to_string();
        temp.close()
            .context(|| format!("cannot remove the demo directory {shown}"))?;
    }
    result
}

fn require_empty(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(CliError::usage(format!(
                    "the demo needs a new or empty directory, and {} is not empty",
                    dir.display()
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CliError::from(e).context(format!("cannot read {}", dir.display()))),
    }
}

struct Demo {
    dir: PathBuf,
    records: u64,
    payload: usize,
}

/// Prints a line and flushes, so each step shows as it happens.
fn line(text: impl std::fmt::Display) -> Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

impl Demo {
    fn config() -> Config {
        Config {
            max_store_bytes: STORE_BYTES,
            ..Config::default()
        }
    }

    fn open(&self) -> Result<Log> {
        Log::open(&self.dir, Self::config())
            .context(|| format!("cannot open the demo log at {}", self.dir.display()))
    }

    fn run(&self, temporary: bool) -> Result<()> {
        line(format!(
            "dislog demo: {} of {} bytes in {}{}",
            count_of(self.records, "record"),
            self.payload,
            self.dir.display(),
            if temporary {
                " (removed at the end)"
            } else {
                ""
            }
        ))?;
        line(format!(
            "segments roll at {} of store; batches of {} records; one sync at the end\n",
            format_bytes(STORE_BYTES),
            format_count(BATCH)
        ))?;
        let started = Instant::now();
        let log = self.open()?;
        let appended = self.append(&log)?;
        self.report("append", appended)?;
        let read = self.read_back(&log, self.records)?;
        self.report("read", read)?;
        line("\nsegment layout")?;
        let mut table = Vec::new();
        stat::write_table(&mut table, &stat::segments(&log)?)?;
        io::stdout().lock().write_all(&table)?;
        line(format!(
            "{}, {} on disk\n",
            count_of(log.len(), "record"),
            format_bytes(log.size_bytes().context(|| "measuring the log failed")?)
        ))?;
        self.crash(log)?;
        line(format!(
            "\ndemo done in {}",
            format_elapsed(started.elapsed())
        ))?;
        if !temporary {
            line(format!(
                "\nthe log stays in {0}: try 'dislog stat {0}' or 'dislog tail {0}'",
                self.dir.display()
            ))?;
        }
        Ok(())
    }

    fn report(&self, what: &str, elapsed: Duration) -> Result<()> {
        let bytes = self.records * self.payload as u64;
        line(format!(
            "{what:<7} {} in {}: {} records/s, {} of payload",
            count_of(self.records, "record"),
            format_elapsed(elapsed),
            format_rate(self.records as f64, elapsed),
            format_byte_rate(bytes, elapsed)
        ))
    }

    /// Appends records `next_offset..` up to `count` of them, in batches.
    fn append_records(&self, log: &Log, count: u64, bar: &indicatif::ProgressBar) -> Result<()> {
        let p = self.payload;
        let mut data = vec![0u8; BATCH as usize * p];
        let mut done = 0;
        while done < count {
            let n = (count - done).min(BATCH);
            let first = log.next_offset();
            for (i, chunk) in data.chunks_mut(p).take(n as usize).enumerate() {
                fill_payload(first + i as u64, chunk);
            }
            let records: Vec<&[u8]> = data.chunks(p).take(n as usize).collect();
            let got = log.append_batch(&records).context(|| "append failed")?;
            if got != first {
                return Err(CliError::new(format!(
                    "append_batch returned offset {got}, expected {first}"
                )));
            }
            done += n;
            bar.inc(n);
        }
        Ok(())
    }

    fn append(&self, log: &Log) -> Result<Duration> {
        let bar = progress::items("appending", self.records);
        let start = Instant::now();
        self.append_records(log, self.records, &bar)?;
        log.sync().context(|| "sync failed")?;
        let elapsed = start.elapsed();
        bar.finish_and_clear();
        Ok(elapsed)
    }

    /// Reads `count` records from the lowest offset through the iterator,
    /// checking each payload and offset.
    fn read_back(&self, log: &Log, count: u64) -> Result<Duration> {
        let bar = progress::items("reading", count);
        let start = Instant::now();
        let mut expected = vec![0u8; self.payload];
        let base = log.lowest_offset().unwrap_or(0);
        let mut next = base;
        let reader = log.reader();
        let limit = usize::try_from(count).unwrap_or(usize::MAX);
        for record in reader.iter(base).context(|| "read failed")?.take(limit) {
            let record = record.context(|| "read failed")?;
            fill_payload(next, &mut expected);
            if record.offset != next || *record.payload != *expected {
                return Err(CliError::new(format!(
                    "record {next} did not read back as it was written"
                )));
            }
            next += 1;
            if next.is_multiple_of(BATCH) {
                bar.inc(BATCH);
            }
        }
        let elapsed = start.elapsed();
        drop(reader);
        bar.finish_and_clear();
        if next - base != count {
            return Err(CliError::new(format!(
                "read back {}, expected {count}",
                count_of(next - base, "record")
            )));
        }
        Ok(elapsed)
    }

    /// Syncs some records, appends more without syncing, drops the log
    /// without closing it, tears the last write, and reopens.
    fn crash(&self, log: Log) -> Result<()> {
        line("crash recovery")?;
        let hidden = indicatif::ProgressBar::hidden();
        self.append_records(&log, SYNCED, &hidden)?;
        log.sync().context(|| "sync failed")?;
        let synced_end = log.next_offset();
        line(format!(
            "  appended {} records and synced: offsets up to {} are durable",
            format_count(SYNCED),
            format_count(synced_end - 1)
        ))?;
        self.append_records(&log, UNSYNCED, &hidden)?;
        let unsynced_end = log.next_offset();
        // Hand the unsynced writes to the OS (as a process crash after
        // write(2) would leave them), so that cutting bytes below tears the
        // last record rather than an older one.
        log.flush().context(|| "flush failed")?;
        let active = log
            .segments()
            .context(|| "reading the segments failed")?
            .last()
            .copied()
            .ok_or_else(|| CliError::new("the log has no segment"))?;
        line(format!(
            "  appended {} more without syncing (offsets {} to {}), then dropped the log without close()",
            format_count(UNSYNCED),
            format_count(synced_end),
            format_count(unsynced_end - 1)
        ))?;
        drop(log);
        let store = self.dir.join(dislog::dislog_core::file_name(
            active.base,
            dislog::dislog_core::FileKind::Store,
        ));
        let torn_len = active.store_bytes - TORN_BYTES;
        OpenOptions::new()
            .write(true)
            .open(&store)
            .and_then(|f| f.set_len(torn_len))
            .context(|| format!("cannot cut {}", store.display()))?;
        line(format!(
            "  simulated a torn write: cut the last {TORN_BYTES} bytes of {}",
            store
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ))?;

        let start = Instant::now();
        let log = self.open()?;
        let reopen = start.elapsed();
        line(format!(
            "  reopened in {}; recovery did:",
            format_elapsed(reopen)
        ))?;
        let repairs = log.repairs();
        if repairs.is_empty() {
            line("    nothing")?;
        }
        for repair in &repairs {
            line(format!("    - {repair}"))?;
        }
        let lowest = log.lowest_offset().unwrap_or(0);
        self.read_back(&log, synced_end - lowest)?;
        let next = log.next_offset();
        if next < synced_end {
            return Err(CliError::new(format!(
                "recovery lost synced records: next offset {next}, synced up to {synced_end}"
            )));
        }
        line(format!(
            "  all {} synced records read back intact; {} of the {} unsynced records survived \
             (they had reached the OS; a power cut could have lost them all)",
            format_count(synced_end - lowest),
            format_count(next - synced_end),
            format_count(UNSYNCED)
        ))?;
        let offset = log.append(b"after the crash").context(|| "append failed")?;
        line(format!(
            "  the next append got offset {}: offsets continue after the last intact record",
            format_count(offset)
        ))?;
        let problems = log.verify(10);
        if let Some(problem) = problems.first() {
            return Err(CliError::from(problem.clone()).context("verify after recovery"));
        }
        line("  verify: no problems")?;
        log.close().context(|| "close failed")?;
        Ok(())
    }
}

/// The payload of the record at `offset`: its number, then letters that
/// depend on it, so that reading back checks every byte.
fn fill_payload(offset: u64, out: &mut [u8]) {
    let mut n = offset;
    let digits = out.len().min(12);
    for slot in out[..digits].iter_mut().rev() {
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
    }
    for (j, slot) in out[digits..].iter_mut().enumerate() {
        *slot = b'a' + ((offset + j as u64) % 26) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::fill_payload;

    #[test]
    fn payloads_differ_and_start_with_the_offset() {
        let mut a = [0u8; 20];
        let mut b = [0u8; 20];
        fill_payload(42, &mut a);
        fill_payload(43, &mut b);
        assert_eq!(&a[..12], b"000000000042");
        assert_ne!(a, b);
        assert!(a.iter().all(u8::is_ascii_alphanumeric));
    }
}
