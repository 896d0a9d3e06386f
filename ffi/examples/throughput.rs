//! Measures appends per second and the latency of a random read by offset.
//!
//! `cargo run -p dislog --release --example throughput -- [records] [payload bytes] [dir]`
//! (defaults: 10,000,000 records of 100 bytes in a temporary directory).
//! Numbers only: nothing here is a test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Instant;

use dislog::{Config, Log};

fn main() -> dislog::Result<()> {
    let mut args = std::env::args().skip(1);
    let records: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let size: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let dir = args.next().map_or(tmp.path().join("log"), Into::into);
    let payload = vec![0x5a; size];

    let log = Log::open(&dir, Config::default())?;
    let start = Instant::now();
    for _ in 0..records {
        log.append(&payload)?;
    }
    log.flush()?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "append:       {records} x {size} B in {secs:.2} s = {:.2} M records/s ({:.0} ns each, flushed, not synced)",
        records as f64 / secs / 1e6,
        secs * 1e9 / records as f64
    );

    // The same appends with the caller's timestamps: no clock read.
    let start = Instant::now();
    for i in 0..records {
        log.append_at(&payload, 1_700_000_000_000 + i / 1000)?;
    }
    log.flush()?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "append_at:    {records} x {size} B in {secs:.2} s = {:.2} M records/s (the caller's timestamps: no clock read)",
        records as f64 / secs / 1e6
    );

    let batch: Vec<&[u8]> = vec![&payload; 100];
    let start = Instant::now();
    let batches = records / 100;
    for _ in 0..batches {
        log.append_batch(&batch)?;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "append_batch: {} x {size} B in batches of 100 = {:.2} M records/s",
        batches * 100,
        (batches * 100) as f64 / secs / 1e6
    );
    let start = Instant::now();
    log.sync()?;
    println!(
        "sync:         {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );

    // Random reads over the first `records` offsets (xorshift, no allocation).
    let reads = records.min(10_000_000);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut total = 0usize;
    let start = Instant::now();
    {
        let reader = log.reader();
        for _ in 0..reads {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let record = reader.read(x % records)?;
            total += record.payload.len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(total);
    println!(
        "random read:  {:.0} ns per read by offset (index lookup + frame + CRC, one read guard)",
        secs * 1e9 / reads as f64
    );
    let start = Instant::now();
    for _ in 0..reads {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        total += log.read_with(x % records, |r| r.payload.len())?;
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(total);
    println!(
        "read_with:    {:.0} ns per read by offset (taking the RwLock each time)",
        secs * 1e9 / reads as f64
    );
    let start = Instant::now();
    {
        let reader = log.reader();
        for i in 0..reads {
            total += reader.read(i % 1024)?.payload.len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(total);
    println!(
        "hot read:     {:.0} ns per read of one of 1024 cached records",
        secs * 1e9 / reads as f64
    );
    let start = Instant::now();
    let mut n = 0u64;
    for record in log.reader().iter(0)? {
        n += record?.payload.len() as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "iterate:      {:.0} ns per record, {:.2} GB/s of payload",
        secs * 1e9 / log.len() as f64,
        n as f64 / secs / 1e9
    );
    let start = Instant::now();
    log.close()?;
    println!(
        "close:        {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
