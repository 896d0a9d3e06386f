//! Round trips through close and reopen, and what a clean close leaves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::borrow::Cow;

use common::{check_records, files, fill, payload, small};
use dislog::{Config, ErrorCode, Log, SyncPolicy};

const HEADER: u64 = 24;
const ENTRY: u64 = 16;

#[test]
fn records_survive_close_and_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/log");
    let log = Log::open(&dir, small()).unwrap();
    assert!(log.is_empty());
    assert_eq!(log.path(), dir);
    fill(&log, 0, 500);
    assert!(log.segment_count() > 5, "{:?}", log.segment_count());
    for i in (0..500).step_by(7) {
        assert_eq!(log.read(i).unwrap().payload.as_ref(), payload(i).as_slice());
    }
    log.close().unwrap();

    let log = Log::open(&dir, small()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    assert_eq!(
        (log.lowest_offset(), log.highest_offset()),
        (Some(0), Some(499))
    );
    check_records(&log, 0, 500);
    assert_eq!(log.append(b"more").unwrap(), 500);
    log.close().unwrap();
}

/// A roll seals the segment it leaves: its index is trimmed to its
/// entries while the log is still open (by the write-behind thread, landed
/// by the next sync at the latest; its buffers go to the new segment), and
/// a suffix cut back into it makes it the active segment again, which
/// takes appends as before.
#[test]
fn a_roll_trims_the_sealed_index_and_a_cut_back_into_it_appends_again() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Config {
        max_store_bytes: 64 << 10,
        max_index_bytes: 1 << 20,
        ..Config::default()
    };
    let log = Log::open(tmp.path(), config).unwrap();
    let mut next = 0;
    while log.segment_count() < 3 {
        fill(&log, next, next + 1);
        next += 1;
    }
    log.sync().unwrap();
    let segments = log.segments().unwrap();
    for sealed in &segments[..2] {
        let name = format!("{:020}.index", sealed.base);
        let len = std::fs::metadata(tmp.path().join(&name)).unwrap().len();
        assert_eq!(len, HEADER + sealed.records * ENTRY, "{name} trimmed");
    }
    // Back into the first segment, which becomes the active one again.
    let cut = segments[0].base + segments[0].records / 2;
    log.truncate_suffix(cut).unwrap();
    assert_eq!(log.segment_count(), 1);
    fill(&log, cut, cut + 50);
    check_records(&log, 0, cut + 50);
    log.close().unwrap();
    let log = Log::open(tmp.path(), config).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    check_records(&log, 0, cut + 50);
    log.close().unwrap();
}

/// A multi-get reads what single reads do: sealed segments (mapped), the
/// active one (partly still in its append buffer), and offsets out of range.
#[test]
fn read_many_matches_read_across_segments_and_the_buffer() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::open(tmp.path(), small()).unwrap();
    fill(&log, 0, 400);
    assert!(log.segment_count() > 5);
    let asked: Vec<u64> = (0..420).map(|i| (i * 7919) % 420).collect();
    let mut got = Vec::new();
    log.read_many_with(&asked, |offset, r| {
        got.push((
            offset,
            r.map(|r| r.payload.into_owned()).map_err(|e| e.code()),
        ));
    });
    assert_eq!(got.len(), asked.len());
    for (&offset, (at, r)) in asked.iter().zip(&got) {
        assert_eq!(*at, offset);
        match r {
            Ok(bytes) => assert_eq!(bytes.as_slice(), payload(offset).as_slice()),
            Err(code) => {
                assert!(offset >= 400, "{offset}: {code:?}");
                assert_eq!(*code, ErrorCode::OutOfRange);
            }
        }
    }
    log.close().unwrap();
}

#[test]
fn close_trims_the_preallocated_index() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Config {
        max_index_bytes: 1 << 20,
        ..Config::default()
    };
    let log = Log::open(tmp.path(), config).unwrap();
    fill(&log, 0, 10);
    log.sync().unwrap();
    let index = tmp.path().join("00000000000000000000.index");
    let live = std::fs::metadata(&index).unwrap().len();
    assert!(live >= 64 << 10, "index not preallocated: {live} bytes");
    assert_eq!(log.segments().unwrap()[0].index_bytes, HEADER + 10 * ENTRY);
    log.close().unwrap();
    assert_eq!(
        std::fs::metadata(&index).unwrap().len(),
        HEADER + 10 * ENTRY
    );
    let names: Vec<String> = files(tmp.path()).into_iter().map(|f| f.0).collect();
    assert_eq!(
        names,
        [
            "00000000000000000000.index",
            "00000000000000000000.store",
            "LOCK"
        ]
    );
}

#[test]
fn index_grows_past_its_first_step() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Config {
        max_index_bytes: 1 << 20,
        max_store_bytes: 16 << 20,
        ..Config::default()
    };
    let log = Log::open(tmp.path(), config).unwrap();
    // 10,000 entries are 160 KB of index: more than one growth step.
    let batch: Vec<Vec<u8>> = (0..10_000).map(payload).collect();
    log.append_batch(&batch).unwrap();
    check_records(&log, 0, 10_000);
    log.close().unwrap();
    let log = Log::open(tmp.path(), config).unwrap();
    assert!(log.repairs().is_empty());
    check_records(&log, 0, 10_000);
    log.close().unwrap();
}

#[test]
fn reads_borrow_from_the_map_and_the_buffer() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::open(tmp.path(), Config::default()).unwrap();
    fill(&log, 0, 100);
    let borrowed = |offset| {
        log.read_with(offset, |r| matches!(r.payload, Cow::Borrowed(_)))
            .unwrap()
    };
    assert!(borrowed(5), "a buffered record is borrowed from the buffer");
    log.flush().unwrap();
    assert!(borrowed(5), "a flushed record is borrowed from the map");
    assert_eq!(
        log.read(99).unwrap().payload.as_ref(),
        payload(99).as_slice()
    );
    log.close().unwrap();
}

#[test]
fn second_open_in_process_is_locked_until_close() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::open(tmp.path(), Config::default()).unwrap();
    let err = Log::open(tmp.path(), Config::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Locked, "{err}");
    assert!(err.to_string().contains("locked"), "{err}");
    assert!(
        err.to_string().contains(&std::process::id().to_string()),
        "{err}"
    );
    log.close().unwrap();
    Log::open(tmp.path(), Config::default())
        .unwrap()
        .close()
        .unwrap();
}

#[test]
fn every_policy_round_trips() {
    for sync in [
        SyncPolicy::Manual,
        SyncPolicy::EveryAppend,
        SyncPolicy::EveryBytes(100),
        SyncPolicy::EveryMillis(1),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let config = Config { sync, ..small() };
        let log = Log::open(tmp.path(), config).unwrap();
        let first = log.append_batch(&[b"a".as_slice(), b"bb", b"ccc"]).unwrap();
        assert_eq!(first, 0);
        log.append_at(b"dddd", 42).unwrap();
        log.close().unwrap();
        let log = Log::open(tmp.path(), config).unwrap();
        assert_eq!(log.len(), 4, "{sync:?}");
        assert_eq!(log.read(3).unwrap().timestamp, 42);
        assert_eq!(log.offset_for_timestamp(0).unwrap(), Some(0));
        assert_eq!(log.offset_for_timestamp(u64::MAX).unwrap(), None);
        log.close().unwrap();
    }
}

#[test]
fn truncation_retention_and_reset_persist() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::open(tmp.path(), small()).unwrap();
    fill(&log, 0, 400);
    let removed = log.truncate(100).unwrap();
    assert!(removed.segments > 0 && removed.records <= 100);
    let lowest = log.lowest_offset().unwrap();
    log.truncate_suffix(300).unwrap();
    let before = log.size_bytes().unwrap();
    let removed = log.retain_bytes(before / 2).unwrap();
    assert!(removed.bytes > 0 && log.size_bytes().unwrap() <= before / 2 + (8 << 10));
    let lowest = lowest.max(log.lowest_offset().unwrap());
    log.close().unwrap();

    let log = Log::open(tmp.path(), small()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    check_records(&log, lowest, 300);
    log.reset().unwrap();
    assert!(log.is_empty());
    assert_eq!(log.append(b"again").unwrap(), 0);
    log.close().unwrap();
    let log = Log::open(tmp.path(), small()).unwrap();
    assert_eq!(log.len(), 1);
    log.close().unwrap();
}

#[test]
fn snapshot_restores_into_a_new_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::open(tmp.path().join("src"), small()).unwrap();
    fill(&log, 0, 200);
    log.truncate(50).unwrap();
    let bytes = log.snapshot().unwrap();
    let mut streamed = Vec::new();
    assert_eq!(log.snapshot_to(&mut streamed).unwrap(), bytes.len() as u64);
    assert_eq!(streamed, bytes);
    let lowest = log.lowest_offset().unwrap();
    log.close().unwrap();

    let copy = Log::restore(tmp.path().join("copy"), small(), &bytes).unwrap();
    check_records(&copy, lowest, 200);
    let err =
        Log::restore(tmp.path().join("copy2"), small(), &bytes[..bytes.len() - 1]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidSnapshot);
    assert!(
        !tmp.path().join("copy2").exists(),
        "a failed restore left its directory"
    );
    copy.close().unwrap();
}

#[test]
fn remove_deletes_log_files_but_not_foreign_ones() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), b"mine").unwrap();
    let log = Log::open(tmp.path(), small()).unwrap();
    fill(&log, 0, 100);
    log.remove().unwrap();
    assert_eq!(files(tmp.path()), [("notes.txt".to_string(), 4)]);
}

/// Whether the storage of `dir` (opened, then released) says its previous
/// writer closed cleanly.
fn closed_cleanly(dir: &std::path::Path) -> bool {
    use dislog::dislog_core::Storage;
    dislog::FileStorage::open(dir).unwrap().closed_cleanly()
}

#[test]
fn a_clean_close_is_marked_and_only_a_clean_close() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = Log::open(&dir, small()).unwrap();
    fill(&log, 0, 50);
    log.close().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("LOCK")).unwrap().trim(),
        "clean"
    );
    assert!(closed_cleanly(&dir));
    // Opening overwrites the marker with the writer's pid (and boot id): a
    // writer that then crashes (here: is dropped without close) leaves no
    // `clean` marker.
    let log = Log::open(&dir, small()).unwrap();
    let lock = std::fs::read_to_string(dir.join("LOCK")).unwrap();
    let pid = lock.split_whitespace().next();
    assert_eq!(pid, Some(std::process::id().to_string().as_str()));
    fill(&log, 50, 60);
    drop(log);
    assert!(!closed_cleanly(&dir));
    // The log is intact either way, and the next clean close marks it again.
    let log = Log::open(&dir, small()).unwrap();
    check_records(&log, 0, 60);
    log.close().unwrap();
    assert!(closed_cleanly(&dir));
}

#[test]
fn a_moved_directory_keeps_its_writer_away_from_what_takes_its_old_path() {
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("log");
    let moved = tmp.path().join("moved");
    let log = Log::open(&old, small()).unwrap();
    fill(&log, 0, 400);
    let oldest = files(&old)
        .into_iter()
        .find(|(n, _)| n.ends_with(".store"))
        .unwrap()
        .0;
    std::fs::rename(&old, &moved).unwrap();
    // Another directory at the old path, holding files with the log's names.
    std::fs::create_dir(&old).unwrap();
    for name in [oldest.as_str(), "LOCK"] {
        std::fs::write(old.join(name), b"not yours").unwrap();
    }
    // Retention lists and removes in the directory the writer holds.
    let removed = log.truncate(100).unwrap();
    assert!(removed.segments > 0);
    assert!(!moved.join(&oldest).exists());
    log.reset().unwrap();
    assert_eq!(log.append(b"again").unwrap(), 0);
    log.remove().unwrap();
    assert!(files(&moved).is_empty(), "{:?}", files(&moved));
    assert_eq!(
        files(&old),
        [(oldest, 9), ("LOCK".to_string(), 9)],
        "the other directory's files were touched"
    );
}
