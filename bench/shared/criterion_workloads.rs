//! The workloads of the comparison harness (W1–W5, batch appends) as
//! criterion benchmarks, shared by the benches of `dislog-core` (in-memory
//! backend) and `dislog` (file backend): each bench file implements
//! [`BenchLog`] for its log and calls [`register`].
//!
//! Sizes are the (1,000,000 records of 100 B, 50,000 of 4 KiB);
//! `cargo test --benches` runs each once as a smoke test.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};

#[path = "../src/payload.rs"]
mod payload;
use payload::{random_offsets, Payloads};

/// Records of W1 (100 B each).
pub const W1_RECORDS: u64 = 1_000_000;
/// Records of W2 (4 KiB each).
pub const W2_RECORDS: u64 = 50_000;
/// Store file limit for W1–W4.
pub const SEGMENT_BYTES: u64 = 64 << 20;
/// Store file limit for W5 (at least ten segments of W1's records).
pub const REOPEN_SEGMENT_BYTES: u64 = 8 << 20;

/// A log the workloads drive; offsets start at 0.
pub trait BenchLog: Sized {
    /// A new, empty log whose store files hold at most `segment_bytes`.
    fn create(segment_bytes: u64) -> Self;
    /// Appends one record.
    fn append(&mut self, payload: &[u8]);
    /// Appends records in one call.
    fn append_batch(&mut self, batch: &[&[u8]]);
    /// Hands buffered records to the storage (no sync).
    fn flush(&mut self);
    /// Reads the record at `offset`, checksum verified; its length.
    fn read_len(&self, offset: u64) -> usize;
    /// Reads every record in order, checksums verified; their total length.
    fn scan(&self) -> u64;
    /// Closes the log cleanly and opens it again; the first read works.
    fn reopen(self) -> Self;
}

/// The write methods of a [`BenchLog`] impl whose `log` field has
/// `append`, `append_batch` and `flush` returning `Result`s.
macro_rules! delegate_writes {
    () => {
        fn append(&mut self, payload: &[u8]) {
            self.log.append(payload).expect("append");
        }

        fn append_batch(&mut self, batch: &[&[u8]]) {
            self.log.append_batch(batch).expect("append_batch");
        }

        fn flush(&mut self) {
            self.log.flush().expect("flush");
        }
    };
}
pub(crate) use delegate_writes;

fn fill<L: BenchLog>(log: &mut L, payloads: &Payloads, records: u64) {
    for i in 0..records {
        log.append(payloads.get(i));
    }
    log.flush();
}

/// Times `run` on a fresh log per iteration (creation not timed).
fn fresh<L: BenchLog>(iters: u64, segment_bytes: u64, mut run: impl FnMut(&mut L)) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let mut log = L::create(segment_bytes);
        let start = Instant::now();
        run(&mut log);
        total += start.elapsed();
    }
    total
}

/// Registers every workload under `group_prefix` (such as `memory`).
pub fn register<L: BenchLog>(c: &mut Criterion, group_prefix: &str) {
    let small = Payloads::new(100, 0x5eed_da7a);
    let big = Payloads::new(4096, 0x5eed_da7a);

    let mut group = c.benchmark_group(format!("{group_prefix}/append"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(W1_RECORDS));
    group.bench_function("W1 100 B one call each", |b| {
        b.iter_custom(|iters| fresh::<L>(iters, SEGMENT_BYTES, |log| fill(log, &small, W1_RECORDS)))
    });
    let all: Vec<&[u8]> = (0..W1_RECORDS).map(|i| small.get(i)).collect();
    for size in [64, 1024] {
        group.bench_with_input(
            BenchmarkId::new("W1 100 B batches", size),
            &size,
            |b, &size| {
                b.iter_custom(|iters| {
                    fresh::<L>(iters, SEGMENT_BYTES, |log| {
                        for batch in all.chunks(size) {
                            log.append_batch(batch);
                        }
                        log.flush();
                    })
                })
            },
        );
    }
    group.throughput(Throughput::Bytes(W2_RECORDS * 4096));
    group.bench_function("W2 4 KiB one call each", |b| {
        b.iter_custom(|iters| fresh::<L>(iters, SEGMENT_BYTES, |log| fill(log, &big, W2_RECORDS)))
    });
    group.finish();

    let mut log = L::create(SEGMENT_BYTES);
    fill(&mut log, &small, W1_RECORDS);
    let mut group = c.benchmark_group(format!("{group_prefix}/read"));
    group.sample_size(10);
    group.throughput(Throughput::Elements(W1_RECORDS));
    group.bench_function("W3 iterate", |b| b.iter(|| black_box(log.scan())));
    group.throughput(Throughput::Elements(1));
    let offsets = random_offsets(W1_RECORDS, 1 << 20, 0x0ff5_e75e);
    let mut next = offsets.iter().copied().cycle();
    group.sample_size(50);
    group.bench_function("W4 random read", |b| {
        b.iter(|| black_box(log.read_len(next.next().unwrap_or(0))))
    });
    group.finish();
    drop(log);

    let mut log = Some(L::create(REOPEN_SEGMENT_BYTES));
    if let Some(log) = log.as_mut() {
        fill(log, &small, W1_RECORDS);
    }
    let mut group = c.benchmark_group(format!("{group_prefix}/reopen"));
    group.sample_size(20);
    group.bench_function("W5 clean close, 1M records, 8 MiB segments", |b| {
        b.iter(|| log = log.take().map(BenchLog::reopen))
    });
    group.finish();
}
