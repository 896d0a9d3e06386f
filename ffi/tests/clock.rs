//! The timestamp promise of the native default clock, through the log:
//! an append that comes after a read of the clock at `t` is stamped ≥ `t`
//! (so `offset_for_timestamp(t)` reaches it), and no later than a read
//! after the append.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use dislog::dislog_core::default_clock;
use dislog::{Config, Log};

#[test]
fn appends_from_two_threads_are_stamped_between_the_clock_reads_around_them() {
    let per_thread = if cfg!(debug_assertions) {
        100_000
    } else {
        500_000
    };
    let tmp = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(tmp.path(), Config::default()).unwrap());
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                (0..per_thread)
                    .map(|_| {
                        // `SystemTime::now()`: a direct read, not the cache.
                        let before = default_clock();
                        let offset = log.append(b"x").unwrap();
                        let after = default_clock();
                        (before, offset, after)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut appends: Vec<(u64, u64, u64)> = Vec::new();
    for thread in threads {
        appends.extend(thread.join().unwrap());
    }
    appends.sort_by_key(|&(_, offset, _)| offset);
    assert_eq!(appends.len() as u64, log.next_offset());
    let mut previous = 0;
    for (record, &(before, offset, after)) in log.reader().iter(0).unwrap().zip(&appends) {
        let record = record.unwrap();
        assert_eq!(record.offset, offset);
        let stamp = record.timestamp;
        assert!(
            before <= stamp && stamp <= after,
            "{offset}: {before} {stamp} {after}"
        );
        // In offset order, never going back: a reading taken before the
        // lock that is below the last stamp is taken again under it.
        assert!(previous <= stamp, "{offset}: {previous} then {stamp}");
        previous = stamp;
    }
    // Every append is found from the time read before it.
    for &(before, offset, _) in appends.iter().step_by(997) {
        let first = log.offset_for_timestamp(before).unwrap().unwrap();
        assert!(first <= offset, "{before}: {first} > {offset}");
    }
    Arc::try_unwrap(log).ok().unwrap().close().unwrap();
}
