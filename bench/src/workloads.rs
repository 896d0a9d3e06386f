//! The workloads, run against every engine, interleaved run by run so that
//! a noisy moment of a shared machine hits every engine alike.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::engines::Engine;
use crate::measure::{median, median_of, proc_status_kib, timed};
use crate::payload::{random_offsets, Payloads};
use crate::BenchResult;

/// Seed of the payload bytes.
const PAYLOAD_SEED: u64 = 0x5eed_da7a;
/// Seed of W4's offsets.
const OFFSET_SEED: u64 = 0x0ff5_e75e;
/// Store file limit of W1–W4 and the batch workloads.
const SEGMENT_BYTES: u64 = 64 << 20;
/// Store file limit of W5/W6's log, small enough for at least ten segments
/// of a million 100-byte records.
const REOPEN_SEGMENT_BYTES: u64 = 8 << 20;

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Records of 100 bytes in W1 (and in W3–W6, which read W1's kind of log).
    pub records: u64,
    /// Records of 4,096 bytes in W2.
    pub big_records: u64,
    /// Random reads in W4.
    pub reads: usize,
    /// Repetitions of W1–W4, W2 and the batch workloads (the median is kept).
    pub runs: usize,
    /// Repetitions of W5 and W6.
    pub reopens: usize,
    /// Where the logs are written (a real disk, not tmpfs).
    pub dir: PathBuf,
}

/// One row of the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// Append 100-byte records one call each, then flush (no sync).
    W1Append,
    /// The one sync after W1.
    W1Sync,
    /// W1 through `append_batch`, 64 records a call.
    Batch64,
    /// W1 through `append_batch`, 1,024 records a call.
    Batch1024,
    /// Append 4,096-byte records, then flush.
    W2Append,
    /// Read W1's log in offset order, checksums verified.
    W3Scan,
    /// Read uniformly random offsets of W1's log.
    W4RandomRead,
    /// Reopen a log of ten or more segments after a clean close, until the
    /// first read works.
    W5Reopen,
    /// The same after an unclean close.
    W6ReopenUnclean,
}

impl Workload {
    /// Every workload, in table order.
    pub const ALL: [Workload; 9] = [
        Workload::W1Append,
        Workload::W1Sync,
        Workload::Batch64,
        Workload::Batch1024,
        Workload::W2Append,
        Workload::W3Scan,
        Workload::W4RandomRead,
        Workload::W5Reopen,
        Workload::W6ReopenUnclean,
    ];

    /// Whether the row is a rate (records per second) rather than the time
    /// of one operation.
    pub fn is_rate(self) -> bool {
        matches!(
            self,
            Workload::W1Append
                | Workload::Batch64
                | Workload::Batch1024
                | Workload::W2Append
                | Workload::W3Scan
        )
    }
}

/// Samples of every (workload, engine) pair and what one sample covers.
#[derive(Debug, Default)]
pub struct Results {
    /// Engine names, in column order.
    pub engines: Vec<&'static str>,
    samples: HashMap<(Workload, usize), Vec<Duration>>,
    /// Records and payload bytes one sample of a rate workload covers.
    pub volume: HashMap<Workload, (u64, u64)>,
    /// Notes printed under the table (segment counts, memory).
    pub notes: Vec<String>,
}

impl Results {
    fn add(&mut self, workload: Workload, engine: usize, time: Duration) {
        self.samples
            .entry((workload, engine))
            .or_default()
            .push(time);
    }

    /// The median sample of `workload` on engine `engine`, per operation
    /// for latency rows.
    pub fn median(&self, workload: Workload, engine: usize) -> Option<Duration> {
        self.samples.get(&(workload, engine)).map(|s| median(s))
    }
}

/// Removes and recreates `dir`.
pub(crate) fn fresh(dir: &Path) -> BenchResult<PathBuf> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(dir.to_path_buf())
}

/// Store files (dislog's `.store`, commitlog's `.log`) in `dir`.
fn segment_files(dir: &Path) -> BenchResult<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("store" | "log")
        ) {
            count += 1;
        }
    }
    Ok(count)
}

fn check(what: &str, got: u64, want: u64) -> BenchResult<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got}, expected {want}").into())
    }
}

/// Times opening the log in `dir` until its first read works (W5, W6),
/// checking that read.
fn reopen(engine: &mut dyn Engine, dir: &Path, workload: &str) -> BenchResult<Duration> {
    let (len, t) = timed(|| {
        engine.open(dir, REOPEN_SEGMENT_BYTES)?;
        engine.read(0)
    })?;
    check(
        &format!("{} {workload} first read", engine.name()),
        len as u64,
        100,
    )?;
    Ok(t)
}

/// Runs every workload on every engine.
pub fn run(
    options: &Options,
    engines: &mut [Box<dyn Engine>],
    mut progress: impl FnMut(&str),
) -> BenchResult<Results> {
    let small = Payloads::new(100, PAYLOAD_SEED);
    let big = Payloads::new(4096, PAYLOAD_SEED);
    let offsets = random_offsets(options.records, options.reads, OFFSET_SEED);
    let all: Vec<&[u8]> = (0..options.records).map(|i| small.get(i)).collect();
    let mut results = Results {
        engines: engines.iter().map(|e| e.name()).collect(),
        ..Results::default()
    };
    let n = options.records;
    results.volume.insert(Workload::W1Append, (n, n * 100));
    results.volume.insert(Workload::Batch64, (n, n * 100));
    results.volume.insert(Workload::Batch1024, (n, n * 100));
    results.volume.insert(Workload::W3Scan, (n, n * 100));
    let nb = options.big_records;
    results.volume.insert(Workload::W2Append, (nb, nb * 4096));

    let mut floors = Vec::new();
    let mut write_floors = Vec::new();
    let mut multi_gets: Vec<(&str, Duration)> = Vec::new();
    let mut parts = Vec::new();
    for run in 1..=options.runs {
        for (e, engine) in engines.iter_mut().enumerate() {
            let name = engine.name();
            let dir = fresh(&options.dir.join(name))?;
            progress(&format!("run {run}/{}: {name}: W1, W3, W4", options.runs));
            let anon_before = proc_status_kib("RssAnon");
            engine.open(&dir, SEGMENT_BYTES)?;
            let ((), t) = timed(|| {
                for &payload in &all {
                    engine.append(payload)?;
                }
                engine.flush()
            })?;
            results.add(Workload::W1Append, e, t);
            if run == 1 {
                if let (Some(before), Some(after)) = (anon_before, proc_status_kib("RssAnon")) {
                    results.notes.push(format!(
                        "{name}: anonymous memory grew by {:.1} MiB during W1 (RssAnon, mapped files excluded)",
                        after.saturating_sub(before) as f64 / 1024.0
                    ));
                }
            }
            let ((), t) = timed(|| engine.sync())?;
            results.add(Workload::W1Sync, e, t);
            let ((records, bytes), t) = timed(|| engine.scan())?;
            check(&format!("{name} W3 records"), records, n)?;
            check(&format!("{name} W3 bytes"), bytes, n * 100)?;
            results.add(Workload::W3Scan, e, t);
            let (sum, t) = timed(|| {
                let mut sum = 0;
                for &offset in &offsets {
                    sum += engine.read(offset)? as u64;
                }
                Ok(sum)
            })?;
            check(&format!("{name} W4 bytes"), sum, offsets.len() as u64 * 100)?;
            results.add(Workload::W4RandomRead, e, t / offsets.len().max(1) as u32);
            let (many, t) = timed(|| engine.read_many(&offsets))?;
            if let Some(sum) = many {
                check(
                    &format!("{name} W4 multi-get bytes"),
                    sum,
                    offsets.len() as u64 * 100,
                )?;
                multi_gets.push((name, t / offsets.len().max(1) as u32));
            }
            engine.close()?;
            if name == "dislog" {
                let floor = crate::floor::dependent_loads(&dir, &offsets)?;
                floors.push(floor);
            }

            for (workload, size) in [(Workload::Batch64, 64), (Workload::Batch1024, 1024)] {
                progress(&format!(
                    "run {run}/{}: {name}: batches of {size}",
                    options.runs
                ));
                let dir = fresh(&options.dir.join(name))?;
                engine.open(&dir, SEGMENT_BYTES)?;
                let ((), t) = timed(|| {
                    for batch in all.chunks(size) {
                        engine.append_batch(batch)?;
                    }
                    engine.flush()
                })?;
                results.add(workload, e, t);
                engine.close()?;
            }

            progress(&format!("run {run}/{}: {name}: W2", options.runs));
            let dir = fresh(&options.dir.join(name))?;
            engine.open(&dir, SEGMENT_BYTES)?;
            let ((), t) = timed(|| {
                for i in 0..nb {
                    engine.append(big.get(i))?;
                }
                engine.flush()
            })?;
            results.add(Workload::W2Append, e, t);
            engine.close()?;
            std::fs::remove_dir_all(&dir)?;
        }
        progress(&format!("run {run}/{}: write floor", options.runs));
        write_floors.push(crate::write_floor::page_cache_writes(&options.dir, n)?);
        progress(&format!("run {run}/{}: dislog's parts", options.runs));
        parts.push(crate::parts::measure(
            &options.dir.join("parts"),
            SEGMENT_BYTES,
            &all,
            &offsets,
        )?);
    }

    let engines_with_multi_get: Vec<&str> = {
        let mut names: Vec<&str> = multi_gets.iter().map(|(n, _)| *n).collect();
        names.dedup();
        names
    };
    for name in engines_with_multi_get {
        let times: Vec<Duration> = multi_gets
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .collect();
        results.notes.push(format!(
            "{name}: W4's offsets through its multi-get (read_many_with, {} reads ahead, checksums \
             checked, zero-copy): {} ns per read (median of {} runs)",
            dislog::READ_GROUP,
            median(&times).as_nanos(),
            times.len()
        ));
    }
    if !floors.is_empty() {
        results.notes.push(format!(
            "W4 floor (bench/src/floor.rs): two dependent 8-byte loads per read (the index entry, then \
             the frame it points to) from dislog's W4 files, mapped, no lock, no checksum: {} ns one \
             read at a time, {} ns when reads overlap, {} ns when they overlap and each loads its \
             whole frame, as a checksum must (medians of {} runs)",
            median_of(&floors, |f| f.serial).as_nanos(),
            median_of(&floors, |f| f.overlapped).as_nanos(),
            median_of(&floors, |f| f.whole).as_nanos(),
            floors.len()
        ));
    }
    if !write_floors.is_empty() {
        let per_record = |t: Duration| t.as_secs_f64() * 1e9 / n as f64;
        let (dislog, baseline) = (
            per_record(median_of(&write_floors, |f| f.dislog)),
            per_record(median_of(&write_floors, |f| f.baseline)),
        );
        results.notes.push(format!(
            "W1 write floor (bench/src/write_floor.rs): the kernel's part alone, a filled 256 KiB \
             buffer written to a new file until it holds {} bytes a record (dislog's frame and \
             index entry of a 100-byte record): {:.1} ns a record ({:.2} M/s); {} bytes a record \
             (the baseline's): {:.1} ns ({:.2} M/s) (medians of {} runs)",
            crate::write_floor::DISLOG_BYTES,
            dislog,
            1e3 / dislog,
            crate::write_floor::BASELINE_BYTES,
            baseline,
            1e3 / baseline,
            write_floors.len()
        ));
    }
    if !parts.is_empty() {
        let per_record = |t: Duration| t.as_secs_f64() * 1e9 / n as f64;
        let append = |f: fn(&crate::parts::Parts) -> Duration| per_record(median_of(&parts, f));
        results.notes.push(format!(
            "dislog's parts (bench/src/parts.rs), W1 again, ns a record: Log::append {:.1}; \
             Log::append_at with the caller's timestamps (no clock read) {:.1}; the engine it \
             wraps (dislog_core::Log over FileStorage, no lock) {:.1}; the engine's append_at \
             (neither) {:.1}. W4's reads: Log::read_with {} ns, under one reader guard held for \
             all of them (no lock per read) {} ns (medians of {} runs)",
            append(|p| p.append),
            append(|p| p.append_at),
            append(|p| p.engine_append),
            append(|p| p.engine_append_at),
            median_of(&parts, |p| p.read_with).as_nanos(),
            median_of(&parts, |p| p.read_guarded).as_nanos(),
            parts.len()
        ));
    }
    for (e, engine) in engines.iter_mut().enumerate() {
        let name = engine.name();
        progress(&format!("{name}: W5, W6"));
        let dir = fresh(&options.dir.join(name))?;
        engine.open(&dir, REOPEN_SEGMENT_BYTES)?;
        for &payload in &all {
            engine.append(payload)?;
        }
        engine.close()?;
        let files = segment_files(&dir)?;
        if files > 0 {
            results.notes.push(format!(
                "{name}: W5/W6 log of {n} records in {files} store files"
            ));
        }
        for _ in 0..options.reopens {
            let t = reopen(engine.as_mut(), &dir, "W5")?;
            results.add(Workload::W5Reopen, e, t);
            engine.close()?;
        }
        // Each unclean close follows an append, so that the active segment
        // really has an unwritten tail (and, for dislog, a preallocated index).
        engine.open(&dir, REOPEN_SEGMENT_BYTES)?;
        for _ in 0..options.reopens {
            engine.append(small.get(0))?;
            engine.flush()?;
            engine.abandon();
            let t = reopen(engine.as_mut(), &dir, "W6")?;
            results.add(Workload::W6ReopenUnclean, e, t);
        }
        engine.close()?;
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(results)
}
