//! Measures how long appends wait while another thread maintains the log:
//! one thread appends records of 100 bytes without pause (4 MiB segments)
//! while the main thread
//! - calls `retain_bytes` once to keep 8 MiB of a log of `records` records
//!   (about 30 segments to remove), or
//! - calls `sync` every 10 ms, 20 times (and, with 64 MiB segments, the
//!   default, 100 times),
//!
//! each against the same loop beside a call that does nothing (a
//! `retain_bytes` that removes nothing, sleeps without syncs), in the same
//! run. Reported per case: the appends made, the longest one, how many took
//! over 1 ms, the time spent in those over 100 µs, and the median and
//! longest of the appends that rolled (found by offset: the appends are all
//! of one size, so a segment holds a known number). Then, under
//! `SyncPolicy::EveryAppend` (each append durable before it returns), the
//! appends per second of 1 and of 4 threads appending for 500 ms, which
//! share syncs (a group commit). Last, the longest append until the first
//! roll after an unclean reopen (a log of 64 MiB segments dropped with
//! `records / 2` records unsynced, reopened), with and without a `sync()`
//! right after the open: that roll makes the header of the store it seals
//! durable unless a sync since the open did.
//!
//! `cargo run -p dislog --release --example stalls -- [records] [runs] [parent dir]`
//! (defaults: 1,000,000 records; 3 runs; logs under `target/`, a real disk
//! when run from the repository, else the system's temporary directory).
//! Numbers only: nothing here is a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dislog::{Config, Log};

/// What the main thread does beside the appender.
#[derive(Clone, Copy)]
enum Beside {
    Retain(u64),
    /// Whether to sync, how many times, in segments of how many MiB.
    Syncs(bool, u32, u64),
}

/// The appender's view of one case.
struct Waits {
    appends: u64,
    longest: Duration,
    over_1ms: u64,
    in_over_100us: Duration,
    rolls: Vec<Duration>,
}

/// Records of 100 bytes (124-byte frames) in a store of `mib` MiB after its
/// 24-byte header: the appends of offsets that are multiples of this roll.
fn per_segment(mib: u64) -> u64 {
    ((mib << 20) - 24) / 124
}

fn measure(dir: &std::path::Path, records: u64, beside: Beside) -> Waits {
    let mib = match beside {
        Beside::Syncs(_, _, mib) => mib,
        Beside::Retain(_) => 4,
    };
    let config = Config {
        max_store_bytes: mib << 20,
        ..Config::default()
    };
    let log = Arc::new(Log::open(dir, config).unwrap());
    if let Beside::Retain(_) = beside {
        for _ in 0..records {
            log.append(&[0x5a; 100]).unwrap();
        }
        log.sync().unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let appender = {
        let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut waits = Waits {
                appends: 0,
                longest: Duration::ZERO,
                over_1ms: 0,
                in_over_100us: Duration::ZERO,
                rolls: Vec::new(),
            };
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                let offset = log.append(&[0xa5; 100]).unwrap();
                let took = start.elapsed();
                if offset % per_segment(mib) == 0 && offset > 0 {
                    waits.rolls.push(took);
                }
                waits.appends += 1;
                waits.longest = waits.longest.max(took);
                waits.over_1ms += u64::from(took > Duration::from_millis(1));
                if took > Duration::from_micros(100) {
                    waits.in_over_100us += took;
                }
            }
            waits
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    match beside {
        Beside::Retain(keep) => {
            log.retain_bytes(keep).unwrap();
        }
        Beside::Syncs(sync, times, _) => {
            for _ in 0..times {
                std::thread::sleep(Duration::from_millis(10));
                if sync {
                    log.sync().unwrap();
                }
            }
        }
    }
    std::thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    let waits = appender.join().unwrap();
    Arc::try_unwrap(log).ok().unwrap().close().unwrap();
    waits
}

/// Appends per second of `threads` threads appending for 500 ms, each
/// append durable before it returns.
fn every_append(dir: &std::path::Path, threads: usize) -> f64 {
    let config = Config {
        sync: dislog::SyncPolicy::EveryAppend,
        ..Config::default()
    };
    let log = Arc::new(Log::open(dir, config).unwrap());
    let start = Instant::now();
    let appenders: Vec<_> = (0..threads)
        .map(|_| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut appends = 0u64;
                while start.elapsed() < Duration::from_millis(500) {
                    log.append(&[0x3c; 100]).unwrap();
                    appends += 1;
                }
                appends
            })
        })
        .collect();
    let appends: u64 = appenders.into_iter().map(|h| h.join().unwrap()).sum();
    let rate = appends as f64 / start.elapsed().as_secs_f64();
    Arc::try_unwrap(log).ok().unwrap().close().unwrap();
    rate
}

/// The longest append until the first roll after an unclean reopen of a
/// log left with `records` unsynced records, a `sync()` after the open or
/// not.
fn first_roll(dir: &std::path::Path, records: u64, sync_first: bool) -> Duration {
    let config = Config {
        max_store_bytes: 64 << 20,
        ..Config::default()
    };
    let log = Log::open(dir, config).unwrap();
    for _ in 0..records {
        log.append(&[0x7e; 100]).unwrap();
    }
    drop(log);
    let log = Log::open(dir, config).unwrap();
    if sync_first {
        log.sync().unwrap();
    }
    let segments = log.segment_count();
    let mut longest = Duration::ZERO;
    while log.segment_count() == segments {
        let start = Instant::now();
        log.append(&[0x7e; 100]).unwrap();
        longest = longest.max(start.elapsed());
    }
    log.close().unwrap();
    longest
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let records: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runs: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let parent = match args.get(3) {
        Some(dir) => dir.into(),
        None if std::path::Path::new("target").is_dir() => "target".into(),
        None => std::env::temp_dir(),
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let cases = [
        ("retain_bytes removing nothing", Beside::Retain(u64::MAX)),
        ("retain_bytes keeping 8 MiB", Beside::Retain(8 << 20)),
        ("20 sleeps of 10 ms", Beside::Syncs(false, 20, 4)),
        ("20 syncs 10 ms apart", Beside::Syncs(true, 20, 4)),
        (
            "100 syncs 10 ms apart, 64 MiB segments",
            Beside::Syncs(true, 100, 64),
        ),
    ];
    for run in 1..=runs {
        for (what, beside) in cases {
            let tmp = tempfile::tempdir_in(&parent).expect("temporary directory");
            let mut w = measure(tmp.path(), records, beside);
            w.rolls.sort();
            let median = w.rolls.get(w.rolls.len() / 2).copied().unwrap_or_default();
            let slowest = w.rolls.last().copied().unwrap_or_default();
            println!(
                "run {run}: beside {what}: {} appends, longest {:.2} ms, {} over 1 ms, {:.1} ms in those over 100 us; {} rolls, median {:.2} ms, longest {:.2} ms",
                w.appends,
                ms(w.longest),
                w.over_1ms,
                ms(w.in_over_100us),
                w.rolls.len(),
                ms(median),
                ms(slowest)
            );
        }
        for threads in [1, 4] {
            let tmp = tempfile::tempdir_in(&parent).expect("temporary directory");
            println!(
                "run {run}: EveryAppend, {threads} thread(s): {:.0} appends/s",
                every_append(tmp.path(), threads)
            );
        }
        for sync_first in [false, true] {
            let tmp = tempfile::tempdir_in(&parent).expect("temporary directory");
            let longest = first_roll(tmp.path(), records / 2, sync_first);
            let how = if sync_first {
                "after a sync"
            } else {
                "no sync first"
            };
            println!(
                "run {run}: first roll after an unclean reopen, {how}: longest append {:.2} ms",
                ms(longest)
            );
        }
    }
}
