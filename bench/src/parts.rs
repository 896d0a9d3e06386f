//! What one call of dislog costs, part by part: W1's appends and W4's reads
//! again, dislog only, each time with one part of the call taken away, so
//! that the table's gap to the baseline can be laid out in nanoseconds.
//!
//! * `Log::append`: W1 as the table runs it.
//! * `Log::append_at` with the caller's timestamp: the same call without
//!   the clock read (`realtime_ms`, whose ordered TSC read waits for every
//!   earlier instruction, see `ffi/src/clock.rs`).
//! * `dislog_core::Log` over `FileStorage`, the engine that `Log` wraps,
//!   appended to through `&mut` with the same native clock: the call
//!   without `Log`'s lock (an uncontended `RwLock`, two locked
//!   instructions).
//! * The engine's `append_at`: without both.
//! * W4's reads through `Log::read_with`, one lock per read as the table's
//!   W4; then the same reads under one reader guard held across all of them
//!   (`Log::reader`), no lock per read.
//!
//! The write floor beside these (`write_floor.rs`) is the kernel's part of
//! an append; what lies between it and the engine's `append_at` is the
//! engine's own work (framing, checksum, index entry, buffer).

use std::path::Path;
use std::time::Duration;

use dislog::{Config, FileStorage, Log};

use crate::measure::timed;
use crate::workloads::fresh;
use crate::BenchResult;

/// The timestamp of `append_at`'s records.
const TIMESTAMP_MS: u64 = 1_700_000_000_000;

/// One run's times, each for all of W1's records or per read.
#[derive(Clone, Copy, Debug)]
pub struct Parts {
    /// `Log::append`, W1's records.
    pub append: Duration,
    /// `Log::append_at`, the caller's timestamps.
    pub append_at: Duration,
    /// The engine's `append`, no lock.
    pub engine_append: Duration,
    /// The engine's `append_at`: no lock, no clock.
    pub engine_append_at: Duration,
    /// `Log::read_with`, one read.
    pub read_with: Duration,
    /// One read under a reader guard held for all of them.
    pub read_guarded: Duration,
}

/// The default config but for the store file limit, as the harness's dislog
/// engine opens its logs.
fn config(segment_bytes: u64) -> Config {
    Config {
        max_store_bytes: segment_bytes,
        ..Config::default()
    }
}

/// How the four append loops reach the log.
#[derive(Clone, Copy)]
enum Route {
    Append,
    AppendAt,
    EngineAppend,
    EngineAppendAt,
}

/// Appends `payloads` into a new log at `dir` the way `how` says, flushes,
/// closes; returns the time of the appends and the flush.
fn appends(
    dir: &Path,
    segment_bytes: u64,
    payloads: &[&[u8]],
    how: Route,
) -> BenchResult<Duration> {
    fresh(dir)?;
    let config = config(segment_bytes);
    let at = matches!(how, Route::AppendAt | Route::EngineAppendAt).then_some(TIMESTAMP_MS);
    match how {
        Route::Append | Route::AppendAt => {
            let mut log = Log::open(dir, config)?;
            let t = time_appends(&mut log, payloads, at)?;
            log.close()?;
            Ok(t)
        }
        Route::EngineAppend | Route::EngineAppendAt => {
            let config = Config {
                clock: dislog::realtime_ms,
                ..config
            };
            let mut log = dislog::dislog_core::Log::open(FileStorage::open(dir)?, config)?;
            let t = time_appends(&mut log, payloads, at)?;
            log.close()?;
            Ok(t)
        }
    }
}

/// What [`time_appends`] calls: `Log` and the engine it wraps.
trait Appender {
    /// Appends `payload`, stamped `at` or by the log's clock.
    fn put(&mut self, payload: &[u8], at: Option<u64>) -> dislog::Result<u64>;
    /// Hands the appends to the operating system.
    fn hand_over(&mut self) -> dislog::Result<()>;
}

/// The same two calls on both (`Log`'s take `&self`, the engine's `&mut`).
macro_rules! appender {
    ($log:ty) => {
        impl Appender for $log {
            fn put(&mut self, payload: &[u8], at: Option<u64>) -> dislog::Result<u64> {
                match at {
                    Some(ms) => self.append_at(payload, ms),
                    None => self.append(payload),
                }
            }

            fn hand_over(&mut self) -> dislog::Result<()> {
                self.flush()
            }
        }
    };
}

appender!(Log);
appender!(dislog::dislog_core::Log<FileStorage>);

/// Times appending every payload to `log`, then the flush.
fn time_appends(
    log: &mut impl Appender,
    payloads: &[&[u8]],
    at: Option<u64>,
) -> BenchResult<Duration> {
    let ((), t) = timed(|| {
        for &payload in payloads {
            log.put(payload, at)?;
        }
        Ok(log.hand_over()?)
    })?;
    Ok(t)
}

/// Runs every part once in `dir` (removed afterwards) over `payloads` and,
/// for the reads, `offsets` (each below `payloads.len()`); checks that each
/// read found its record.
pub fn measure(
    dir: &Path,
    segment_bytes: u64,
    payloads: &[&[u8]],
    offsets: &[u64],
) -> BenchResult<Parts> {
    let append = appends(dir, segment_bytes, payloads, Route::Append)?;
    let append_at = appends(dir, segment_bytes, payloads, Route::AppendAt)?;
    let engine_append = appends(dir, segment_bytes, payloads, Route::EngineAppend)?;
    let engine_append_at = appends(dir, segment_bytes, payloads, Route::EngineAppendAt)?;

    // The last log holds W1's records: read them back both ways.
    let log = Log::open(dir, config(segment_bytes))?;
    let want: u64 = offsets
        .iter()
        .map(|&o| payloads.get(o as usize).map_or(0, |p| p.len() as u64))
        .sum();
    let (sum, read_with) = timed(|| {
        let mut sum = 0;
        for &offset in offsets {
            sum += log.read_with(offset, |r| r.payload.len() as u64)?;
        }
        Ok(sum)
    })?;
    let (guarded, read_guarded) = timed(|| {
        let reader = log.reader();
        let mut sum = 0;
        for &offset in offsets {
            sum += reader.read(offset)?.payload.len() as u64;
        }
        Ok(sum)
    })?;
    log.close()?;
    std::fs::remove_dir_all(dir)?;
    if sum != want || guarded != want {
        return Err(format!("parts: reads found {sum} and {guarded} bytes of {want}").into());
    }
    let per_read = |t: Duration| t / offsets.len().max(1) as u32;
    Ok(Parts {
        append,
        append_at,
        engine_append,
        engine_append_at,
        read_with: per_read(read_with),
        read_guarded: per_read(read_guarded),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_and_reads_find_their_records() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let payloads: Vec<Vec<u8>> = (0..2_000u32).map(|i| i.to_le_bytes().repeat(25)).collect();
        let payloads: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let offsets: Vec<u64> = (0..500).map(|i| i * 7 % 2_000).collect();
        let parts =
            measure(&dir.path().join("parts"), 64 << 10, &payloads, &offsets).expect("parts");
        for t in [
            parts.append,
            parts.append_at,
            parts.engine_append,
            parts.engine_append_at,
            parts.read_with,
            parts.read_guarded,
        ] {
            assert!(t > Duration::ZERO);
        }
        assert!(!dir.path().join("parts").exists());
    }

    #[test]
    fn reads_of_offsets_past_the_log_are_an_error() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let payloads: Vec<&[u8]> = vec![b"record"; 10];
        let err = measure(&dir.path().join("parts"), 64 << 10, &payloads, &[3, 10]);
        assert!(err.is_err());
    }
}
