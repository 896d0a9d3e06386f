//! Unclean shutdowns inside this process, and files cut by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{check_records, copy_dir, cut, files, fill, payload, small};
use dislog::{Config, ErrorCode, Log, Repair};

#[test]
fn dropping_without_close_loses_nothing_and_offsets_continue() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::open(tmp.path(), small()).unwrap();
    fill(&log, 0, 300);
    drop(log);
    // The active index still has its zero-filled preallocation.
    let index = files(tmp.path())
        .into_iter()
        .rfind(|(name, _)| name.ends_with(".index"))
        .unwrap();
    assert_eq!(index.1, small().max_index_bytes, "{index:?}");
    let log = Log::open(tmp.path(), small()).unwrap();
    check_records(&log, 0, 300);
    fill(&log, 300, 320);
    log.close().unwrap();
    let log = Log::open(tmp.path(), small()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    check_records(&log, 0, 320);
    log.close().unwrap();
}

#[test]
fn a_forgotten_log_keeps_its_lock_and_its_flushed_records() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::open(tmp.path(), Config::default()).unwrap();
    fill(&log, 0, 100);
    log.flush().unwrap();
    fill(&log, 100, 150);
    std::mem::forget(log);
    // The leaked handle still holds the lock of this process.
    let err = Log::open(tmp.path(), Config::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Locked);
    // What it flushed is on disk; the rest died with its buffer.
    let ro = Log::open_read_only(tmp.path(), Config::default()).unwrap();
    check_records(&ro, 0, 100);
    ro.close().unwrap();
}

/// Builds a closed log of a few segments in `dir`; returns its records.
fn build(dir: &std::path::Path) -> u64 {
    let log = Log::open(dir, small()).unwrap();
    fill(&log, 0, 250);
    log.close().unwrap();
    250
}

/// (name, length) of the last file of `dir` whose name ends with `suffix`.
fn last(dir: &std::path::Path, suffix: &str) -> (String, u64) {
    files(dir)
        .into_iter()
        .rfind(|(n, _)| n.ends_with(suffix))
        .unwrap()
}

#[test]
fn a_store_cut_anywhere_recovers_to_a_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let total = build(&original);
    let (store, store_len) = last(&original, ".store");
    let base: u64 = store[..20].parse().unwrap();
    let mut previous = base;
    let cuts: std::collections::BTreeSet<u64> = (0..store_len)
        .step_by(7)
        .chain([store_len - 1, store_len])
        .collect();
    for (i, &len) in cuts.iter().enumerate() {
        let dir = copy_dir(&original, &tmp.path().join(format!("cut{i}")));
        cut(&dir.join(&store), len);
        let log = Log::open(&dir, small()).unwrap();
        let next = log.next_offset();
        assert!(
            (base..=total).contains(&next),
            "cut at {len}: next offset {next}"
        );
        assert!(
            next >= previous,
            "cut at {len} kept fewer records than a shorter cut"
        );
        previous = next;
        check_records(&log, 0, next);
        assert_eq!(log.append(&payload(next)).unwrap(), next);
        log.close().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
    assert_eq!(previous, total, "the uncut store keeps every record");
}

#[test]
fn an_index_cut_anywhere_is_rebuilt() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let total = build(&original);
    let (index, index_len) = last(&original, ".index");
    for (i, len) in (0..index_len).step_by(5).enumerate() {
        let dir = copy_dir(&original, &tmp.path().join(format!("cut{i}")));
        cut(&dir.join(&index), len);
        let log = Log::open(&dir, small()).unwrap();
        check_records(&log, 0, total);
        assert!(
            log.repairs()
                .iter()
                .any(|r| matches!(r, Repair::IndexRebuilt { .. })),
            "cut at {len}: {:?}",
            log.repairs()
        );
        log.close().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The log of [`build`] in a copy `dir` of `original`, the second store cut
/// by 3 bytes; the bases of the second and third segments.
fn with_second_store_cut(original: &std::path::Path, dir: &std::path::Path) -> (u64, u64) {
    let stores: Vec<(String, u64)> = files(original)
        .into_iter()
        .filter(|(n, _)| n.ends_with(".store"))
        .collect();
    assert!(stores.len() >= 3);
    let (name, len) = &stores[1];
    let base = |i: usize| -> u64 { stores[i].0[..20].parse().unwrap() };
    let dir = copy_dir(original, dir);
    cut(&dir.join(name), len - 3);
    (base(1), base(2))
}

/// What recovery makes of the cut of [`with_second_store_cut`]: the
/// segments from the damaged one's torn record on are dropped.
fn check_cut_recovered(log: &Log, next_base: u64, total: u64) {
    let next = log.next_offset();
    assert!(next < next_base && next < total);
    check_records(log, 0, next);
    assert!(log
        .repairs()
        .iter()
        .any(|r| matches!(r, Repair::SegmentDropped { .. })));
}

#[test]
fn a_sealed_store_cut_drops_the_segments_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let total = build(&original);
    let dir = tmp.path().join("cut");
    let (_, next_base) = with_second_store_cut(&original, &dir);
    let log = Log::open_checked(&dir, small()).unwrap();
    check_cut_recovered(&log, next_base, total);
    log.close().unwrap();
}

#[test]
fn a_sealed_store_cut_after_a_clean_close_is_found_when_read_and_cut_at_the_next_open() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let total = build(&original);
    let dir = tmp.path().join("cut");
    let (damaged, next_base) = with_second_store_cut(&original, &dir);
    // After a clean close the open checks the active segment only.
    let log = Log::open(&dir, small()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    assert_eq!(log.next_offset(), total);
    for offset in (0..damaged).chain(next_base..total) {
        assert_eq!(
            &*log.read(offset).unwrap().payload,
            payload(offset).as_slice()
        );
    }
    for _ in 0..2 {
        let err = log.read(damaged).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Corrupt, "{err}");
        assert!(err.to_string().contains("next open"), "{err}");
    }
    let err = log.reader().iter(0).unwrap().find_map(Result::err).unwrap();
    assert_eq!(err.code(), ErrorCode::Corrupt, "{err}");
    assert!(!log.verify(10).is_empty());
    log.close().unwrap();
    // That close is not marked clean: the next open checks every segment.
    let log = Log::open(&dir, small()).unwrap();
    check_cut_recovered(&log, next_base, total);
    log.close().unwrap();
}

#[test]
fn a_read_only_rebuild_reads_frames_of_every_size_across_its_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Config {
        max_store_bytes: 8 << 20,
        max_index_bytes: 1 << 16,
        ..Config::default()
    };
    // One segment. Frames from 24 bytes to larger than a rebuild's 256 KiB read, so that
    // frames straddle the reads' ends and one is read in full.
    let body = |i: u64| -> Vec<u8> {
        let len = match i {
            500 => 300 << 10,
            _ => (i * 997 % 9000) as usize,
        };
        (0..len).map(|j| (i as usize + j) as u8).collect()
    };
    let log = Log::open(tmp.path(), config).unwrap();
    for i in 0..1000 {
        assert_eq!(log.append(&body(i)).unwrap(), i);
    }
    log.close().unwrap();
    // Without its index, and without a boot id: the whole store is scanned.
    let (index, _) = last(tmp.path(), ".index");
    cut(&tmp.path().join(index), 0);
    std::fs::write(tmp.path().join("LOCK"), "4000000").unwrap();
    let log = Log::open_read_only(tmp.path(), config).unwrap();
    assert_eq!(log.next_offset(), 1000);
    for (i, record) in (0..).zip(log.reader().iter(0).unwrap()) {
        assert_eq!(record.unwrap().payload.as_ref(), body(i).as_slice());
    }
    log.close().unwrap();
}
