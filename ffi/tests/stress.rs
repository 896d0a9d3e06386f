//! Concurrency stress on the file backend: one writer appending (single
//! records and batches) with tiny segments, four readers, and one thread
//! running retention and prefix truncation, all through one `Arc<Log>`.
//!
//! What the readers require:
//! - under one `log.reader()` guard, every offset in `[lowest, next)` reads
//!   back with exactly the bytes appended there, and iterating from
//!   `lowest` yields exactly that range, in order, intact;
//! - across separate calls (no guard held), a read returns the right bytes
//!   or `OutOfRange` for an offset below the lowest offset seen after the
//!   error (retention got there first), never anything else;
//! - lowest and next offsets never go backwards.
//!
//! Bounded in time: 3 s by default; `DISLOG_STRESS_SECS=600` for a long run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dislog::{Config, ErrorCode, Log};

/// Segments of a few records each: rolls and removals happen constantly.
fn tiny() -> Config {
    Config {
        max_store_bytes: 24 + 6 * (24 + 64),
        max_index_bytes: 24 + 16 * 8,
        max_record_bytes: 64,
        ..Config::default()
    }
}

/// The payload of offset `o`, so that any reader can check any record.
fn payload(o: u64) -> Vec<u8> {
    let mut p = o.to_le_bytes().to_vec();
    let fill = (o % 251) as u8;
    p.extend(std::iter::repeat_n(fill, (o % 41) as usize));
    p
}

/// Small deterministic generator (no dependency): xorshift64*.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

fn duration() -> Duration {
    let secs = std::env::var("DISLOG_STRESS_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(3.0);
    Duration::from_secs_f64(secs)
}

/// Lowest offset, or next when the log is empty (nothing below it is held).
fn lowest_or_next(lowest: Option<u64>, next: u64) -> u64 {
    lowest.unwrap_or(next)
}

#[derive(Default, Debug)]
struct Counts {
    guarded_reads: AtomicU64,
    iterated: AtomicU64,
    loose_reads: AtomicU64,
    out_of_range: AtomicU64,
    truncations: AtomicU64,
    removed_segments: AtomicU64,
}

#[test]
fn readers_never_see_a_torn_wrong_or_missing_record_beside_writer_and_retention() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(tmp.path(), tiny()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let run_for = duration();
    let start = Instant::now();

    let writer = {
        let (log, stop) = (Arc::clone(&log), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            let mut next = log.next_offset();
            while !stop.load(SeqCst) {
                if rng.below(4) == 0 {
                    let n = 1 + rng.below(7);
                    let batch: Vec<Vec<u8>> = (next..next + n).map(payload).collect();
                    assert_eq!(log.append_batch(&batch).unwrap(), next);
                    next += n;
                } else {
                    assert_eq!(log.append(&payload(next)).unwrap(), next);
                    next += 1;
                }
                if rng.below(64) == 0 {
                    log.flush().unwrap();
                }
            }
            next
        })
    };

    let retention = {
        let (log, stop, counts) = (Arc::clone(&log), Arc::clone(&stop), Arc::clone(&counts));
        std::thread::spawn(move || {
            let mut rng = Rng(0xdead_beef_cafe_f00d);
            let mut last_lowest = 0;
            while !stop.load(SeqCst) {
                let removed = if rng.below(2) == 0 {
                    log.retain_bytes(rng.below(4 * tiny().max_store_bytes))
                        .unwrap()
                } else {
                    let next = log.next_offset();
                    log.truncate(next.saturating_sub(rng.below(40))).unwrap()
                };
                counts.truncations.fetch_add(1, SeqCst);
                counts
                    .removed_segments
                    .fetch_add(removed.segments as u64, SeqCst);
                let lowest = lowest_or_next(log.lowest_offset(), log.next_offset());
                assert!(
                    lowest >= last_lowest,
                    "lowest went back: {last_lowest} -> {lowest}"
                );
                last_lowest = lowest;
                std::thread::sleep(Duration::from_micros(rng.below(500)));
            }
        })
    };

    let readers: Vec<_> = (0..4u64)
        .map(|r| {
            let (log, stop, counts) = (Arc::clone(&log), Arc::clone(&stop), Arc::clone(&counts));
            std::thread::spawn(move || {
                let mut rng = Rng(0x1234_5678 + r);
                let (mut last_lowest, mut last_next) = (0, 0);
                while !stop.load(SeqCst) {
                    // 1. One guard: the range it reports is all there, intact.
                    {
                        let guard = log.reader();
                        let next = guard.next_offset();
                        let lowest = lowest_or_next(guard.lowest_offset(), next);
                        assert!(lowest <= next);
                        assert!(lowest >= last_lowest && next >= last_next, "reader {r}: went back");
                        (last_lowest, last_next) = (lowest, next);
                        for o in lowest..next {
                            let record = guard
                                .read(o)
                                .unwrap_or_else(|e| panic!("reader {r}: offset {o} in [{lowest}, {next}): {e}"));
                            assert_eq!(record.offset, o);
                            assert_eq!(record.payload.as_ref(), payload(o), "reader {r}: offset {o}");
                        }
                        counts.guarded_reads.fetch_add(next - lowest, SeqCst);
                        let mut expected = lowest;
                        for record in guard.iter(lowest).unwrap() {
                            let record = record
                                .unwrap_or_else(|e| panic!("reader {r}: iterating at {expected}: {e}"));
                            assert_eq!(record.offset, expected);
                            assert_eq!(record.payload.as_ref(), payload(expected));
                            expected += 1;
                        }
                        assert_eq!(expected, next, "reader {r}: the iterator stopped early");
                        counts.iterated.fetch_add(next - lowest, SeqCst);
                    }
                    // 2. Separate calls: right bytes, or OutOfRange below the
                    // lowest offset seen after the error.
                    for _ in 0..64 {
                        let next = log.next_offset();
                        let from = last_lowest.saturating_sub(4);
                        let o = from + rng.below(next - from + 1);
                        counts.loose_reads.fetch_add(1, SeqCst);
                        match log.read(o) {
                            Ok(record) => {
                                assert!(o < next.max(log.next_offset()));
                                assert_eq!(record.offset, o);
                                assert_eq!(record.payload.as_ref(), payload(o), "reader {r}: offset {o}");
                            }
                            Err(e) => {
                                assert_eq!(e.code(), ErrorCode::OutOfRange, "reader {r}: offset {o}: {e}");
                                let now_next = log.next_offset();
                                let now_lowest = lowest_or_next(log.lowest_offset(), now_next);
                                assert!(
                                    o < now_lowest || o >= next,
                                    "reader {r}: OutOfRange for {o} inside [{now_lowest}, {now_next}): {e}"
                                );
                                counts.out_of_range.fetch_add(1, SeqCst);
                            }
                        }
                    }
                }
            })
        })
        .collect();

    while start.elapsed() < run_for {
        std::thread::sleep(Duration::from_millis(20));
        // Fail fast if a worker died.
        if writer.is_finished()
            || retention.is_finished()
            || readers.iter().any(|r| r.is_finished())
        {
            break;
        }
    }
    stop.store(true, SeqCst);
    let appended = writer.join().expect("writer panicked");
    retention.join().expect("retention thread panicked");
    for (i, r) in readers.into_iter().enumerate() {
        r.join().unwrap_or_else(|_| panic!("reader {i} panicked"));
    }

    // The end state is whole, and survives a clean reopen.
    assert_eq!(log.next_offset(), appended);
    let lowest = lowest_or_next(log.lowest_offset(), appended);
    for o in lowest..appended {
        assert_eq!(log.read(o).unwrap().payload.as_ref(), payload(o));
    }
    assert!(log.verify(10).is_empty(), "{:?}", log.verify(10));
    Arc::into_inner(log).unwrap().close().unwrap();
    let log = Log::open(tmp.path(), tiny()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    assert_eq!(log.next_offset(), appended);
    assert_eq!(lowest_or_next(log.lowest_offset(), appended), lowest);

    let c = &counts;
    eprintln!(
        "stress: {:.1} s, {appended} records appended, {} guarded reads, {} iterated, {} separate reads ({} OutOfRange below lowest), {} retention/truncate calls removed {} segments",
        start.elapsed().as_secs_f64(),
        c.guarded_reads.load(SeqCst),
        c.iterated.load(SeqCst),
        c.loose_reads.load(SeqCst),
        c.out_of_range.load(SeqCst),
        c.truncations.load(SeqCst),
        c.removed_segments.load(SeqCst),
    );
    assert!(appended > 100, "the writer barely ran: {appended}");
    assert!(
        c.removed_segments.load(SeqCst) > 0,
        "retention never removed a segment"
    );
    assert!(c.guarded_reads.load(SeqCst) > 0 && c.loose_reads.load(SeqCst) > 0);
}
