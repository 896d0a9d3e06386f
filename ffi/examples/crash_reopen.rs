//! Measures the reopen after a process crash: a child process appends
//! records of 100 bytes without flushing or syncing and aborts (its append
//! buffers are lost, what it had written stays in the page cache), then
//! this process opens the log read-only (recovery in memory, no sync; once
//! as found, once with the boot id taken out of `LOCK`, as after a
//! restart), then for writing (recovery syncs what it repaired), reads the
//! first record each time and reports the times and what recovery did.
//!
//! `cargo run -p dislog --release --example crash_reopen -- [records] [runs] [parent dir]`
//! (defaults: 500,000 records, one 64 MiB segment; 3 runs; logs under
//! `target/`, a real disk when run from the repository, else the system's
//! temporary directory).
//! Numbers only: nothing here is a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Instant;

use dislog::{Config, Log};

fn config() -> Config {
    Config {
        max_store_bytes: 64 << 20,
        ..Config::default()
    }
}

fn main() -> dislog::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, mode, dir, records] = args.as_slice() {
        if mode == "--child" {
            let log = Log::open(dir, config())?;
            for _ in 0..records.parse::<u64>().expect("a record count") {
                log.append(&[0x5a; 100])?;
            }
            std::process::abort();
        }
    }
    let records: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(500_000);
    let runs: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let parent = match args.get(3) {
        Some(dir) => dir.into(),
        None if std::path::Path::new("target").is_dir() => "target".into(),
        None => std::env::temp_dir(),
    };
    for run in 1..=runs {
        let tmp = tempfile::tempdir_in(&parent).expect("temporary directory");
        let dir = tmp.path().join("log");
        let status = Command::new(std::env::current_exe().expect("this program"))
            .args([
                "--child",
                dir.to_str().expect("a UTF-8 path"),
                &records.to_string(),
            ])
            .status()
            .expect("the child process");
        assert!(!status.success(), "the child was meant to abort");
        // Readers first: their recovery runs in memory and syncs nothing,
        // so their time is the recovery's reads and checks alone. The first
        // finds the boot id the child left in `LOCK` (it scans the store
        // past the index); the second finds none, as after a restart (it
        // scans the whole store).
        let read_only = || -> dislog::Result<f64> {
            let start = Instant::now();
            let reader = Log::open_read_only(&dir, config())?;
            reader.read_with(0, |r| r.payload.len())?;
            let took = start.elapsed().as_secs_f64() * 1e3;
            reader.close()?;
            Ok(took)
        };
        let same_boot = read_only()?;
        let lock = std::fs::read(dir.join("LOCK")).expect("the lock file");
        std::fs::write(dir.join("LOCK"), "0").expect("the lock file");
        let restarted = read_only()?;
        std::fs::write(dir.join("LOCK"), lock).expect("the lock file");
        let start = Instant::now();
        let log = Log::open(&dir, config())?;
        log.read_with(0, |r| r.payload.len())?;
        let took = start.elapsed();
        println!(
            "run {run}: {records} appends then abort; read-only open + first read {same_boot:.1} ms (LOCK without a boot id: {restarted:.1} ms); open + first read {:.1} ms, {} records kept, repairs: {:?}",
            took.as_secs_f64() * 1e3,
            log.next_offset(),
            log.repairs()
        );
        log.close()?;
    }
    Ok(())
}
