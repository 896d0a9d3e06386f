//! Sharing one log between threads, waiting for appends, and reading
//! beside a live writer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{check_records, files, fill, payload, small};
use dislog::{Config, Log};

#[test]
fn wait_for_wakes_on_append_and_times_out_otherwise() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(tmp.path(), Config::default()).unwrap());
    fill(&log, 0, 3);
    // Already there: no wait.
    assert!(log.wait_for(2, Duration::ZERO).unwrap());
    // Nothing comes: times out after about the timeout.
    let start = Instant::now();
    assert!(!log.wait_for(3, Duration::from_millis(50)).unwrap());
    assert!(start.elapsed() >= Duration::from_millis(50));

    let writer = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            fill(&log, 3, 5);
        })
    };
    let start = Instant::now();
    assert!(log.wait_for(4, Duration::from_secs(60)).unwrap());
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "woken by the append, not by the timeout"
    );
    writer.join().unwrap();
    assert_eq!(log.read(4).unwrap().payload.as_ref(), payload(4).as_slice());
    // A suffix truncation lowers the end: waiting past it times out again.
    log.truncate_suffix(2).unwrap();
    assert!(!log.wait_for(2, Duration::from_millis(10)).unwrap());
    Arc::into_inner(log).unwrap().close().unwrap();
}

#[test]
fn many_waiters_are_all_woken() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(tmp.path(), Config::default()).unwrap());
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || log.wait_for(0, Duration::from_secs(60)).unwrap())
        })
        .collect();
    std::thread::sleep(Duration::from_millis(20));
    log.append(b"wake up").unwrap();
    for waiter in waiters {
        assert!(waiter.join().unwrap());
    }
}

/// Each append races a waiter that is just starting to wait for it (the
/// writer appends as soon as the waiter says it is about to wait): a lost
/// wake-up would leave the waiter asleep until its timeout (the final check
/// then finds the record, so only the time spent shows it).
#[test]
fn a_wake_up_is_not_lost_when_the_append_races_the_wait() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let tmp = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(tmp.path(), Config::default()).unwrap());
    const ROUNDS: u64 = 2000;
    let waiting_for = Arc::new(AtomicU64::new(u64::MAX));
    let waiter = {
        let (log, waiting_for) = (Arc::clone(&log), Arc::clone(&waiting_for));
        std::thread::spawn(move || {
            for k in 0..ROUNDS {
                waiting_for.store(k, Ordering::SeqCst);
                let start = Instant::now();
                assert!(log.wait_for(k, Duration::from_secs(3)).unwrap());
                if start.elapsed() >= Duration::from_secs(2) {
                    return Some((k, start.elapsed()));
                }
            }
            None
        })
    };
    for k in 0..ROUNDS {
        while waiting_for.load(Ordering::SeqCst) != k && !waiter.is_finished() {
            std::hint::spin_loop();
        }
        if waiter.is_finished() {
            break;
        }
        assert_eq!(log.append(b"x").unwrap(), k);
    }
    if let Some((k, took)) = waiter.join().unwrap() {
        panic!("the wait for {k} took {took:?}: woken by its timeout, not by the append");
    }
}

#[test]
fn readers_run_beside_one_writer() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(tmp.path(), small()).unwrap());
    const TOTAL: u64 = 3000;
    let readers: Vec<_> = (0..4)
        .map(|r| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut seen = 0u64;
                let mut next = 0;
                while next < TOTAL {
                    if !log.wait_for(next, Duration::from_secs(60)).unwrap() {
                        panic!("reader {r} starved at {next}");
                    }
                    let end = log.next_offset();
                    for offset in next..end {
                        log.read_with(offset, |rec| {
                            assert_eq!(rec.payload.as_ref(), payload(offset).as_slice())
                        })
                        .unwrap();
                        seen += 1;
                    }
                    next = end;
                }
                seen
            })
        })
        .collect();
    for i in 0..TOTAL {
        assert_eq!(log.append(&payload(i)).unwrap(), i);
        if i.is_multiple_of(500) {
            log.sync().unwrap();
        }
    }
    for reader in readers {
        assert_eq!(reader.join().unwrap(), TOTAL);
    }
    let log = Arc::into_inner(log).unwrap();
    check_records(&log, 0, TOTAL);
    log.close().unwrap();
}

#[test]
fn a_read_only_open_beside_a_live_writer_sees_flushed_records_and_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let writer = Log::open(tmp.path(), small()).unwrap();
    fill(&writer, 0, 500);
    writer.flush().unwrap();
    // Buffered, not flushed: the index (mapped) already has entries for
    // them, the store on disk does not.
    fill(&writer, 500, 510);
    let before = files(tmp.path());

    let reader = Log::open_read_only(tmp.path(), small()).unwrap();
    check_records(&reader, 0, 500);
    let err = reader.append(b"x").unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    assert!(reader.reset().is_err());
    reader.close().unwrap();
    assert_eq!(files(tmp.path()), before, "a read-only open changed files");

    // The writer is unaffected.
    fill(&writer, 510, 520);
    check_records(&writer, 0, 520);
    writer.close().unwrap();
    let reader = Log::open_read_only(tmp.path(), small()).unwrap();
    assert!(reader.repairs().is_empty());
    check_records(&reader, 0, 520);
    assert!(Log::open_read_only(tmp.path(), small())
        .unwrap()
        .remove()
        .is_err());
}

#[test]
fn retention_and_truncation_beside_appends_and_reads_keep_every_kept_record() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(tmp.path(), small()).unwrap());
    const RECORDS: u64 = 4000;
    let writer = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || fill(&log, 0, RECORDS))
    };
    // Two removers: their removals take turns, whatever they race.
    let removers: Vec<_> = (0..2u64)
        .map(|r| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut removed = 0;
                while log.next_offset() < RECORDS {
                    let gone = match r {
                        0 => log.retain_bytes(16 << 10).unwrap(),
                        _ => log.truncate(log.next_offset().saturating_sub(300)).unwrap(),
                    };
                    removed += gone.segments;
                    std::thread::yield_now();
                }
                removed
            })
        })
        .collect();
    let reader = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut checked = 0u64;
            while log.next_offset() < RECORDS {
                let (Some(low), next) = (log.lowest_offset(), log.next_offset()) else {
                    continue;
                };
                for offset in [low, (low + next) / 2, next - 1] {
                    // A removal may take the offset between the two calls;
                    // anything it returns is the record appended there.
                    match log.read(offset) {
                        Ok(record) => {
                            assert_eq!(record.payload.as_ref(), payload(offset).as_slice());
                            checked += 1;
                        }
                        Err(e) => {
                            assert_eq!(e.code(), dislog::ErrorCode::OutOfRange, "{e}");
                            assert!(log.lowest_offset() > Some(offset));
                        }
                    }
                }
            }
            checked
        })
    };
    writer.join().unwrap();
    let removed: usize = removers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(reader.join().unwrap() > 0);
    assert!(removed > 0);
    let low = log.lowest_offset().unwrap();
    check_records(&log, low, RECORDS);
    Arc::try_unwrap(log).unwrap().close().unwrap();
    let log = Log::open(tmp.path(), small()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    check_records(&log, low, RECORDS);
    // The files left are those of the segments left.
    let stores = files(tmp.path())
        .iter()
        .filter(|(n, _)| n.ends_with(".store"))
        .count();
    assert_eq!(stores, log.segment_count());
    log.close().unwrap();
}

#[test]
fn syncs_beside_appends_keep_every_record_and_take_turns() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(tmp.path(), small()).unwrap());
    const RECORDS: u64 = 3000;
    let writer = {
        let log = Arc::clone(&log);
        std::thread::spawn(move || fill(&log, 0, RECORDS))
    };
    let syncers: Vec<_> = (0..2)
        .map(|_| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut syncs = 0u64;
                while log.next_offset() < RECORDS {
                    log.sync().unwrap();
                    syncs += 1;
                }
                syncs
            })
        })
        .collect();
    writer.join().unwrap();
    let syncs: u64 = syncers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(syncs > 0);
    log.sync().unwrap();
    check_records(&log, 0, RECORDS);
    Arc::try_unwrap(log).unwrap().close().unwrap();
    let log = Log::open(tmp.path(), small()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    check_records(&log, 0, RECORDS);
    log.close().unwrap();
}

#[test]
fn every_append_returns_once_a_sync_covers_it_whichever_thread_ran_it() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Config {
        sync: dislog::SyncPolicy::EveryAppend,
        ..small()
    };
    let log = Arc::new(Log::open(tmp.path(), config).unwrap());
    let writers: Vec<_> = (0..4u64)
        .map(|_| {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for _ in 0..100 {
                    let offset = log.append(b"durable before it returns").unwrap();
                    // The sync that covered it may have been another
                    // thread's: either way it ended before the append did.
                    assert!(log.reader().durable_next() > offset);
                    mine.push(offset);
                }
                mine
            })
        })
        .collect();
    let mut offsets: Vec<u64> = writers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    offsets.sort_unstable();
    assert_eq!(offsets, (0..400).collect::<Vec<_>>());
    Arc::try_unwrap(log).unwrap().close().unwrap();
    let log = Log::open(tmp.path(), config).unwrap();
    assert_eq!(log.next_offset(), 400);
    assert!(log.verify(10).is_empty());
    log.close().unwrap();
}
