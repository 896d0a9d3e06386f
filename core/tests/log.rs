//! The log's API over the in-memory backend.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{all, filled, payload, tiny};
use dislog_core::{Config, Error, ErrorCode, Log, MemoryStorage, SharedLog, SyncPolicy};

#[test]
fn empty_log_is_distinguishable_from_offset_zero() {
    let mut log = Log::open(MemoryStorage::new(), Config::default()).unwrap();
    assert_eq!(
        (log.lowest_offset(), log.highest_offset(), log.next_offset()),
        (None, None, 0)
    );
    assert!(log.is_empty());
    log.append(b"a").unwrap();
    assert_eq!(
        (log.lowest_offset(), log.highest_offset(), log.next_offset()),
        (Some(0), Some(0), 1)
    );
    assert_eq!(log.len(), 1);
}

#[test]
fn appends_roll_segments_and_read_back_after_reopen() {
    let (storage, log) = filled(tiny(), 50);
    assert!(
        log.segment_count() > 10,
        "tiny segments roll: {}",
        log.segment_count()
    );
    for i in 0..50 {
        assert_eq!(log.read(i).unwrap().payload.as_ref(), payload(i));
    }
    let before = all(&log);
    log.close().unwrap();
    let log = Log::open(storage, tiny()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    assert_eq!(all(&log), before);
    assert_eq!(log.next_offset(), 50);
}

#[test]
fn initial_offset_is_honoured() {
    let config = Config {
        initial_offset: 1_000,
        ..tiny()
    };
    let (_, log) = filled(config, 5);
    assert_eq!(log.lowest_offset(), Some(1_000));
    assert_eq!(log.read(1_004).unwrap().payload.as_ref(), payload(4));
}

#[test]
fn out_of_range_reads_name_the_offset_and_range() {
    let (_, mut log) = filled(tiny(), 10);
    let err = log.read(10).unwrap_err();
    assert_eq!(
        err,
        Error::OutOfRange {
            offset: 10,
            lowest: Some(0),
            next: 10
        }
    );
    assert!(
        err.to_string().contains("offset 10") && err.to_string().contains("0 to 9"),
        "{err}"
    );
    log.truncate(8).unwrap();
    let low = log.lowest_offset().unwrap();
    assert!(low > 0 && low <= 8);
    assert_eq!(log.read(low - 1).unwrap_err().code(), ErrorCode::OutOfRange);
    assert_eq!(
        log.read(u64::MAX).unwrap_err().code(),
        ErrorCode::OutOfRange
    );
    assert!(log.iter(11).is_err());
    assert_eq!(log.iter(10).unwrap().count(), 0);
}

#[test]
fn batch_gets_consecutive_offsets_across_rolls() {
    let mut log = Log::open(MemoryStorage::new(), tiny()).unwrap();
    log.append(b"first").unwrap();
    let batch: Vec<Vec<u8>> = (0..20).map(payload).collect();
    assert_eq!(log.append_batch(&batch).unwrap(), 1);
    assert_eq!(log.next_offset(), 21);
    for (i, p) in batch.iter().enumerate() {
        assert_eq!(&*log.read(i as u64 + 1).unwrap().payload, p.as_slice());
    }
}

#[test]
fn a_batch_larger_than_a_chunk_is_written_in_pieces_and_reads_back() {
    // 3,000 frames of 124 bytes are several 64 KiB chunks, in 1 MiB
    // segments; a record larger than a chunk goes through on its own.
    // (Fewer under miri, which interprets every checksum step: still more
    // than a chunk.)
    let (n, big) = if cfg!(miri) {
        (700, 70 << 10)
    } else {
        (3000, 200 << 10)
    };
    let config = Config {
        max_store_bytes: 1 << 20,
        max_index_bytes: 1 << 20,
        ..Config::default()
    };
    let mut log = Log::open(MemoryStorage::new(), config).unwrap();
    let mut batch: Vec<Vec<u8>> = (0..n)
        .map(|i: u32| {
            let mut p = vec![(i % 251) as u8; 100];
            p[..4].copy_from_slice(&i.to_le_bytes());
            p
        })
        .collect();
    batch.insert(n as usize / 2, vec![9; big]);
    assert_eq!(log.append_batch_at(&batch, 77).unwrap(), 0);
    assert_eq!(log.next_offset(), u64::from(n) + 1);
    for (record, want) in log.records().zip(&batch) {
        let record = record.unwrap();
        assert_eq!(
            record.payload.as_ref(),
            want.as_slice(),
            "offset {}",
            record.offset
        );
        assert_eq!(record.timestamp, 77);
    }
    assert_eq!(log.read(u64::from(n) / 2).unwrap().payload.len(), big);
}

#[test]
fn a_batch_may_end_at_the_last_offset() {
    let config = Config {
        initial_offset: u64::MAX - 3,
        ..Config::default()
    };
    let mut log = Log::open(MemoryStorage::new(), config).unwrap();
    assert_eq!(log.append_batch(&[b"a", b"b", b"c"]).unwrap(), u64::MAX - 3);
    assert_eq!(log.next_offset(), u64::MAX);
    assert_eq!(&*log.read(u64::MAX - 1).unwrap().payload, b"c");
    assert_eq!(
        log.append_batch(&[b"d"]).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
}

#[test]
fn bad_batches_append_nothing() {
    let mut log = Log::open(MemoryStorage::new(), tiny()).unwrap();
    let too_big = vec![0u8; 65];
    let err = log.append_batch(&[&b"ok"[..], &too_big]).unwrap_err();
    assert_eq!(err, Error::RecordTooLarge { len: 65, max: 64 });
    assert_eq!(
        log.append_batch::<&[u8]>(&[]).unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(log.next_offset(), 0);
    assert_eq!(
        log.append(&too_big).unwrap_err().code(),
        ErrorCode::RecordTooLarge
    );
    assert_eq!(log.append(&[]).unwrap(), 0, "empty records are records");
    assert_eq!(log.read(0).unwrap().payload.len(), 0);
}

#[test]
fn record_limit_is_capped_by_the_store() {
    let config = Config {
        max_store_bytes: 24 + 24 + 10,
        max_record_bytes: 1 << 20,
        ..tiny()
    };
    let mut log = Log::open(MemoryStorage::new(), config).unwrap();
    log.append(&[7; 10]).unwrap();
    assert_eq!(
        log.append(&[7; 11]).unwrap_err(),
        Error::RecordTooLarge { len: 11, max: 10 }
    );
}

#[test]
fn invalid_config_is_refused_at_open() {
    let config = Config {
        max_index_bytes: 10,
        ..Config::default()
    };
    let err = Log::open(MemoryStorage::new(), config).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfig);
    assert!(err.to_string().contains("max_index_bytes"), "{err}");
}

#[test]
fn prefix_truncate_removes_whole_segments_only() {
    let (storage, mut log) = filled(tiny(), 30);
    let removed = log.truncate(10).unwrap();
    let low = log.lowest_offset().unwrap();
    assert!(
        low <= 10 && removed.records == low,
        "low {low}, removed {removed:?}"
    );
    assert!(removed.segments > 0 && removed.bytes > 0);
    assert_eq!(all(&log).len() as u64, 30 - low);
    log.close().unwrap();
    let log = Log::open(storage, tiny()).unwrap();
    assert_eq!(log.lowest_offset(), Some(low));
}

#[test]
fn prefix_truncate_of_everything_keeps_next_offset() {
    let (storage, mut log) = filled(tiny(), 7);
    let removed = log.truncate(1_000).unwrap();
    assert_eq!(removed.records, 7);
    assert_eq!((log.lowest_offset(), log.next_offset()), (None, 7));
    assert_eq!(log.append(b"again").unwrap(), 7);
    drop(log);
    let log = Log::open(storage, tiny()).unwrap();
    assert_eq!((log.lowest_offset(), log.next_offset()), (Some(7), 8));
}

#[test]
fn suffix_truncate_inside_and_across_segments() {
    let (storage, mut log) = filled(tiny(), 30);
    log.truncate_suffix(29).unwrap();
    assert_eq!(log.next_offset(), 29);
    log.truncate_suffix(5).unwrap();
    assert_eq!(log.next_offset(), 5);
    assert_eq!(log.highest_offset(), Some(4));
    assert_eq!(log.append(b"new five").unwrap(), 5);
    assert_eq!(&*log.read(5).unwrap().payload, b"new five");
    log.truncate_suffix(100).unwrap();
    assert_eq!(
        log.next_offset(),
        6,
        "truncating past the end changes nothing"
    );
    drop(log);
    let log = Log::open(storage, tiny()).unwrap();
    assert_eq!(log.next_offset(), 6);
    assert_eq!(&*log.read(5).unwrap().payload, b"new five");
    assert_eq!(log.read(4).unwrap().payload.as_ref(), payload(4));
}

#[test]
fn suffix_truncate_of_everything_leaves_a_valid_empty_log() {
    let (storage, mut log) = filled(tiny(), 30);
    log.truncate(20).unwrap();
    let low = log.lowest_offset().unwrap();
    log.truncate_suffix(low).unwrap();
    assert_eq!(
        (log.lowest_offset(), log.highest_offset(), log.next_offset()),
        (None, None, low)
    );
    log.truncate_suffix(3).unwrap();
    assert_eq!(
        log.next_offset(),
        3,
        "below the lowest offset the log restarts there"
    );
    assert_eq!(log.records().count(), 0);
    assert_eq!(log.append(b"x").unwrap(), 3);
    drop(log);
    let log = Log::open(storage, tiny()).unwrap();
    assert_eq!((log.lowest_offset(), log.next_offset()), (Some(3), 4));
}

#[test]
fn retention_by_bytes_and_age_keeps_the_active_segment() {
    let (_, mut log) = filled(tiny(), 40);
    let size = log.size_bytes().unwrap();
    let removed = log.retain_bytes(size / 2).unwrap();
    assert!(log.size_bytes().unwrap() <= size / 2 || log.segment_count() == 1);
    assert_eq!(removed.bytes, size - log.size_bytes().unwrap());
    let removed = log.retain_bytes(0).unwrap();
    assert_eq!(log.segment_count(), 1, "{removed:?}");
    assert!(!log.is_empty());

    let mut log = Log::open(MemoryStorage::new(), tiny()).unwrap();
    for i in 0..12 {
        log.append_at(&payload(i), 100 + i).unwrap();
    }
    let removed = log.retain_since(105).unwrap();
    let low = log.lowest_offset().unwrap();
    assert_eq!(removed.records, low);
    assert!(log.read(low).unwrap().timestamp <= 105);
    assert!(
        log.segments()
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
            .max_timestamp
            .unwrap()
            >= 105
    );
    log.retain_since(u64::MAX).unwrap();
    assert_eq!(log.segment_count(), 1);
}

#[test]
fn offset_for_timestamp_handles_out_of_order_times() {
    let mut log = Log::open(MemoryStorage::new(), tiny()).unwrap();
    let times = [10, 30, 20, 20, 50, 40, 45, 60, 55, 70, 65, 80];
    for (i, t) in times.iter().enumerate() {
        log.append_at(&payload(i as u64), *t).unwrap();
    }
    for t in 0..=85 {
        let expected = times.iter().position(|&x| x >= t).map(|p| p as u64);
        assert_eq!(log.offset_for_timestamp(t).unwrap(), expected, "t = {t}");
    }
    log.truncate(5).unwrap();
    let low = log.lowest_offset().unwrap() as usize;
    let expected = times[low..]
        .iter()
        .position(|&x| x >= 15)
        .map(|p| (p + low) as u64);
    assert_eq!(log.offset_for_timestamp(15).unwrap(), expected);
}

#[test]
fn iterator_starts_anywhere_and_spans_segments() {
    let (_, log) = filled(tiny(), 25);
    for from in [0, 1, 7, 24, 25] {
        let got: Vec<u64> = log.iter(from).unwrap().map(|r| r.unwrap().offset).collect();
        assert_eq!(got, (from..25).collect::<Vec<_>>());
    }
    let mut it = log.iter(3).unwrap();
    assert_eq!(it.offset(), 3);
    it.next();
    assert_eq!(it.offset(), 4);
}

#[test]
fn timestamps_come_from_the_clock_or_the_caller() {
    let config = Config {
        clock: || 42,
        ..tiny()
    };
    let mut log = Log::open(MemoryStorage::new(), config).unwrap();
    log.append(b"a").unwrap();
    log.append_at(b"b", 7).unwrap();
    log.append_batch(&[b"c"]).unwrap();
    let times: Vec<u64> = log.records().map(|r| r.unwrap().timestamp).collect();
    assert_eq!(times, [42, 7, 42]);
}

#[test]
fn a_clock_reading_below_the_last_clock_stamp_is_taken_again() {
    use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
    static NOW: AtomicU64 = AtomicU64::new(9);
    let config = Config {
        clock: || NOW.load(SeqCst),
        ..tiny()
    };
    let mut log = Log::open(MemoryStorage::new(), config).unwrap();
    log.append_clocked(b"a", 5).unwrap();
    log.append_clocked(b"b", 7).unwrap();
    // Read before `b` was let in: the clock is read again (9).
    log.append_clocked(b"c", 6).unwrap();
    // Caller-chosen timestamps are not clock stamps.
    log.append_at(b"d", 100).unwrap();
    log.append_batch_clocked(&[b"e", b"f"], 9).unwrap();
    // The clock went back: its own reading is the stamp.
    NOW.store(3, SeqCst);
    log.append_clocked(b"g", 2).unwrap();
    log.append_batch_clocked(&[b"h"], 4).unwrap();
    let times: Vec<u64> = log.records().map(|r| r.unwrap().timestamp).collect();
    assert_eq!(times, [5, 7, 9, 100, 9, 9, 3, 4]);
}

#[test]
fn snapshot_restores_offsets_timestamps_and_bytes() {
    let (_, mut log) = filled(tiny(), 30);
    log.truncate(10).unwrap();
    let snapshot = log.snapshot().unwrap();
    let chunks: Vec<u8> = log.snapshot_chunks().flat_map(|c| c.unwrap()).collect();
    assert_eq!(chunks, snapshot);
    let restored = Log::restore(MemoryStorage::new(), Config::default(), &snapshot).unwrap();
    assert_eq!(all(&restored), all(&log));
    assert_eq!(restored.next_offset(), log.next_offset());
    let times = |l: &Log<MemoryStorage>| {
        l.records()
            .map(|r| r.unwrap().timestamp)
            .collect::<Vec<_>>()
    };
    assert_eq!(times(&restored), times(&log));

    let mut empty = Log::open(
        MemoryStorage::new(),
        Config {
            initial_offset: 9,
            ..tiny()
        },
    )
    .unwrap();
    empty.append(b"gone").unwrap();
    empty.truncate_suffix(9).unwrap();
    let restored = Log::restore(MemoryStorage::new(), tiny(), &empty.snapshot().unwrap()).unwrap();
    assert_eq!(
        (restored.lowest_offset(), restored.next_offset()),
        (None, 9)
    );
}

#[test]
fn bad_snapshots_are_refused_and_leave_nothing() {
    let (_, log) = filled(tiny(), 5);
    let snapshot = log.snapshot().unwrap();
    for cut in [0, 10, 31, 32, 40, snapshot.len() - 24, snapshot.len() - 1] {
        let storage = MemoryStorage::new();
        let err = Log::restore(storage.clone(), tiny(), &snapshot[..cut]).unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::InvalidSnapshot,
            "cut at {cut}: {err}"
        );
        assert!(common::names(&storage).is_empty());
    }
    for byte in 0..snapshot.len() {
        let mut bad = snapshot.clone();
        bad[byte] ^= 0x10;
        let storage = MemoryStorage::new();
        let err = Log::restore(storage.clone(), tiny(), &bad).unwrap_err();
        assert_eq!(
            err.code(),
            ErrorCode::InvalidSnapshot,
            "flip in byte {byte}: {err}"
        );
        assert!(
            common::names(&storage).is_empty(),
            "flip in byte {byte} left files"
        );
    }
    let (storage, _log) = filled(tiny(), 1);
    drop(_log);
    let err = Log::restore(storage, tiny(), &snapshot).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
}

#[test]
fn reset_and_remove() {
    let (storage, mut log) = filled(
        Config {
            initial_offset: 5,
            ..tiny()
        },
        20,
    );
    log.reset().unwrap();
    assert_eq!((log.lowest_offset(), log.next_offset()), (None, 5));
    assert_eq!(log.append(b"a").unwrap(), 5);
    storage
        .set_file_bytes("notes.txt", b"mine".to_vec())
        .unwrap();
    log.remove().unwrap();
    assert_eq!(
        common::names(&storage),
        ["notes.txt"],
        "remove deletes only the log's files"
    );
}

#[test]
fn stray_files_are_ignored() {
    let storage = MemoryStorage::new();
    for name in [
        "README",
        "00000000000000000000.store.tmp",
        "x.index",
        ".lock",
    ] {
        storage.set_file_bytes(name, b"not ours".to_vec()).unwrap();
    }
    let mut log = Log::open(storage.clone(), tiny()).unwrap();
    log.append(b"a").unwrap();
    log.close().unwrap();
    assert_eq!(storage.file_bytes("README").unwrap(), b"not ours");
    assert_eq!(Log::open(storage, tiny()).unwrap().next_offset(), 1);
}

#[test]
fn sync_policies_validate_and_apply() {
    for sync in [
        SyncPolicy::EveryAppend,
        SyncPolicy::EveryBytes(100),
        SyncPolicy::EveryMillis(5),
    ] {
        let (_, log) = filled(Config { sync, ..tiny() }, 10);
        assert_eq!(log.next_offset(), 10);
    }
}

#[test]
fn append_hook_reports_the_new_end() {
    use std::sync::{Arc, Mutex};
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut log = Log::open(MemoryStorage::new(), tiny()).unwrap();
    let sink = Arc::clone(&seen);
    log.set_append_hook(Some(Box::new(move |next| sink.lock().unwrap().push(next))));
    log.append(b"a").unwrap();
    log.append_batch(&[b"b", b"c"]).unwrap();
    log.truncate_suffix(1).unwrap();
    assert_eq!(*seen.lock().unwrap(), [1, 3, 1]);
}

#[test]
fn shared_log_reads_while_another_thread_appends() {
    // Fewer records under miri (about a thousand times slower), same checks.
    const N: u64 = if cfg!(miri) { 20 } else { 300 };
    let shared = SharedLog::new(Log::open(MemoryStorage::new(), tiny()).unwrap());
    let writer = {
        let shared = shared.clone();
        std::thread::spawn(move || {
            for i in 0..N {
                shared.append(&payload(i)).unwrap();
            }
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let shared = shared.clone();
            std::thread::spawn(move || {
                let mut checked = 0;
                while checked < N {
                    let next = shared.next_offset();
                    for offset in checked..next {
                        let ok = shared
                            .read_with(offset, |r| r.payload.as_ref() == payload(offset))
                            .unwrap();
                        assert!(ok, "offset {offset}");
                    }
                    checked = next;
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for r in readers {
        r.join().unwrap();
    }
    let log = shared.try_into_inner().ok().unwrap();
    assert_eq!(log.next_offset(), N);
    assert_eq!(shared_many(&log), N as usize);
}

fn shared_many(log: &Log<MemoryStorage>) -> usize {
    log.records().filter(|r| r.is_ok()).count()
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Log<MemoryStorage>>();
    check::<SharedLog<MemoryStorage>>();
}

#[test]
fn verify_reports_nothing_on_a_healthy_log() {
    let (_, log) = filled(tiny(), 33);
    assert!(log.verify(100).is_empty());
}

#[test]
fn detached_segments_leave_the_log_at_once_and_their_files_after() {
    use dislog_core::{Oldest, Storage};
    let (storage, mut log) = filled(tiny(), 30);
    let names = |s: &MemoryStorage| {
        let mut n = s.list().unwrap();
        n.sort();
        n
    };
    let before = names(&storage);
    let detached = log.detach(Oldest::Below(10)).unwrap();
    let removed = detached.removed();
    let low = log.lowest_offset().unwrap();
    assert!(removed.segments > 0 && removed.records == low && low <= 10);
    // Out of the log: reads and appends go on without them...
    assert_eq!(log.read(0).unwrap_err().code(), ErrorCode::OutOfRange);
    assert_eq!(all(&log).len() as u64, 30 - low);
    assert_eq!(log.append(&payload(30)).unwrap(), 30);
    // ...while their files are all still there.
    assert!(before.iter().all(|n| names(&storage).contains(n)));
    let outcome = detached.remove_files(&storage);
    assert_eq!(log.settle(outcome).unwrap(), removed);
    let after = names(&storage);
    let gone: Vec<&String> = before.iter().filter(|n| !after.contains(n)).collect();
    assert_eq!(gone.len(), 2 * removed.segments, "{gone:?}");
    assert!(gone.iter().all(|n| n[..20].parse::<u64>().unwrap() < low));
    log.close().unwrap();
    let log = Log::open(storage, tiny()).unwrap();
    assert_eq!((log.lowest_offset(), log.next_offset()), (Some(low), 31));
}

#[test]
fn segments_detached_but_never_removed_come_back_on_reopen() {
    use dislog_core::Oldest;
    let (storage, mut log) = filled(tiny(), 30);
    let detached = log.detach(Oldest::WhileOverBytes(0)).unwrap();
    assert!(detached.removed().segments > 0);
    assert!(log.lowest_offset() > Some(0));
    // The removal never runs (its thread died, say): nothing is lost.
    drop(detached);
    log.close().unwrap();
    let log = Log::open(storage, tiny()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    assert_eq!(
        all(&log),
        (0..30).map(|i| (i, payload(i))).collect::<Vec<_>>()
    );
}
