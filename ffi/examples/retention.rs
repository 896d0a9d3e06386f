//! Measures how long appends wait while retention removes segments: a log
//! of records of 100 bytes in 4 MiB segments, one thread appending without
//! pause, and the main thread calling `retain_bytes` once to keep 8 MiB.
//! Reported: the longest single append while the call ran (from 50 ms
//! before it to 50 ms after), against the same measure with a
//! `retain_bytes` that removes nothing, in the same run.
//!
//! `cargo run -p dislog --release --example retention -- [records] [runs] [parent dir]`
//! (defaults: 1,000,000 records, about 30 segments; 3 runs; logs under
//! `target/`, a real disk when run from the repository, else the system's
//! temporary directory).
//! Numbers only: nothing here is a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dislog::{Config, Log};

/// Appends while `retain` runs; returns (segments removed, the call's
/// time, the longest append, appends made).
fn measure(dir: &std::path::Path, records: u64, retain: u64) -> (usize, Duration, Duration, u64) {
    let config = Config {
        max_store_bytes: 4 << 20,
        ..Config::default()
    };
    let log = Arc::new(Log::open(dir, config).unwrap());
    for _ in 0..records {
        log.append(&[0x5a; 100]).unwrap();
    }
    log.sync().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let appender = {
        let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
        std::thread::spawn(move || {
            let (mut longest, mut appends) = (Duration::ZERO, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let start = Instant::now();
                log.append(&[0xa5; 100]).unwrap();
                longest = longest.max(start.elapsed());
                appends += 1;
            }
            (longest, appends)
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    let removed = log.retain_bytes(retain).unwrap();
    let took = start.elapsed();
    std::thread::sleep(Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    let (longest, appends) = appender.join().unwrap();
    Arc::try_unwrap(log).ok().unwrap().close().unwrap();
    (removed.segments, took, longest, appends)
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
    for run in 1..=runs {
        for (what, retain) in [("removes nothing", u64::MAX), ("keeps 8 MiB", 8 << 20)] {
            let tmp = tempfile::tempdir_in(&parent).expect("temporary directory");
            let (segments, took, longest, appends) = measure(tmp.path(), records, retain);
            println!(
                "run {run}: retain_bytes that {what}: {segments} segments removed in {:.2} ms; longest of {appends} appends beside it {:.2} ms",
                ms(took),
                ms(longest)
            );
        }
    }
}
