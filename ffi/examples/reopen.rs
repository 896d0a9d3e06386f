//! Measures W5 alone: the open of a cleanly closed log and its first read,
//! over a log laid out as the harness's W5 log (records of 100 bytes in
//! 8 MiB segments: 15 segments for 1,000,000 records), once with the plain
//! open (sealed segments opened when first used) and once with
//! `Log::open_checked` (every segment checked at open), alternated.
//!
//! `cargo run -p dislog --release --example reopen -- [records] [runs] [parent dir]`
//! (defaults: 1,000,000 records; 200 runs of each open; the log under
//! `target/`, a real disk when run from the repository, else the system's
//! temporary directory). Prints the median and the fastest of each.
//! Numbers only: nothing here is a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Instant;

use dislog::{Config, Log};

fn config() -> Config {
    Config {
        max_store_bytes: 8 << 20,
        ..Config::default()
    }
}

/// Opens the log at `dir` with `open`, reads its first record, and returns
/// the microseconds that took; closes it afterwards.
fn time(dir: &Path, open: fn(&Path, Config) -> dislog::Result<Log>) -> dislog::Result<f64> {
    let start = Instant::now();
    let log = open(dir, config())?;
    let len = log.read_with(0, |r| r.payload.len())?;
    let took = start.elapsed().as_secs_f64() * 1e6;
    assert_eq!(len, 100);
    log.close()?;
    Ok(took)
}

/// The median and the fastest of `times`.
fn summary(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[0])
}

fn main() -> dislog::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let records: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200)
        .max(1);
    let parent = match args.get(3) {
        Some(dir) => dir.into(),
        None if Path::new("target").is_dir() => "target".into(),
        None => std::env::temp_dir(),
    };
    let tmp = tempfile::tempdir_in(&parent).expect("temporary directory");
    let dir = tmp.path().join("log");
    let log = Log::open(&dir, config())?;
    let payload = [0x5a; 100];
    for _ in 0..records {
        log.append(&payload)?;
    }
    let segments = log.segment_count();
    log.close()?;
    let (mut plain, mut checked) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        plain.push(time(&dir, |d, c| Log::open(d, c))?);
        checked.push(time(&dir, |d, c| Log::open_checked(d, c))?);
    }
    let (plain, plain_min) = summary(&mut plain);
    let (checked, checked_min) = summary(&mut checked);
    println!(
        "{records} records in {segments} segments, {runs} runs each: open + first read \
         {plain:.1} us (fastest {plain_min:.1}), open_checked + first read {checked:.1} us \
         (fastest {checked_min:.1})"
    );
    Ok(())
}
