//! After a clean close, `Log::open` opens the active segment only; each
//! sealed segment is opened when a call first needs it
//! (`Storage::segments_intact_at_close`). Every call on such a log answers
//! what it answers on a log whose segments were all checked at open
//! (`Log::open_checked`), and the files of a sealed segment nobody used
//! stay closed. Damage found that way is in `crash.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{check_records, copy_dir, payload};
use dislog::{Config, Log, Record, Result};

const RECORDS: u64 = 3000;

/// Segments of ~100 records: a log of [`RECORDS`] spans about thirty.
fn config() -> Config {
    Config {
        max_store_bytes: 4 << 10,
        max_index_bytes: 2 << 10,
        ..Config::default()
    }
}

/// A cleanly closed log of [`RECORDS`] records in `dir`, their timestamps
/// rising by one millisecond every ten records; its segment count.
fn build(dir: &Path) -> usize {
    let log = Log::open(dir, config()).unwrap();
    for i in 0..RECORDS {
        assert_eq!(
            log.append_at(&payload(i), 1_700_000_000_000 + i / 10)
                .unwrap(),
            i
        );
    }
    let segments = log.segment_count();
    assert!(segments >= 20, "{segments}");
    log.close().unwrap();
    segments
}

/// The descriptors of this process open on files in `dir`.
fn open_files_in(dir: &Path) -> Vec<PathBuf> {
    let dir = dir.canonicalize().unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.parent() == Some(dir.as_path()))
        .collect()
}

/// Segment files among `paths`.
fn segment_files(paths: &[PathBuf]) -> usize {
    paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "store" || e == "index"))
        .count()
}

#[test]
fn a_clean_reopen_opens_the_active_segment_and_each_other_when_used() {
    let tmp = tempfile::tempdir().unwrap();
    let segments = build(tmp.path());
    let log = Log::open(tmp.path(), config()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    assert_eq!(log.segment_count(), segments);
    assert_eq!(log.next_offset(), RECORDS);
    assert_eq!(log.lowest_offset(), Some(0));
    // The active segment's store and index, nothing else.
    assert_eq!(segment_files(&open_files_in(tmp.path())), 2);
    assert_eq!(&*log.read(0).unwrap().payload, payload(0).as_slice());
    assert_eq!(segment_files(&open_files_in(tmp.path())), 4);
    // Records go on being appended; a sealed segment's files are opened
    // as they are read.
    assert_eq!(log.append(&payload(RECORDS)).unwrap(), RECORDS);
    check_records(&log, 0, RECORDS + 1);
    assert!(segment_files(&open_files_in(tmp.path())) >= 2 * segments);
    log.close().unwrap();
    // Nothing was damaged: the close was clean, and so is the next open.
    let log = Log::open(tmp.path(), config()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    check_records(&log, 0, RECORDS + 1);
    log.close().unwrap();
}

/// How many questions [`answer`] knows.
const QUESTIONS: usize = 5;

/// The answer to question `q` of what a reader can ask, comparable.
fn answer(log: &Log, q: usize) -> Result<String> {
    Ok(match q {
        0 => format!("{:?}", log.segments()?),
        1 => format!("{}", log.size_bytes()?),
        2 => {
            let stamps = [
                0,
                1_700_000_000_000,
                1_700_000_000_123,
                1_700_000_000_299,
                u64::MAX,
            ];
            let found: Result<Vec<_>> = stamps
                .iter()
                .map(|&ts| log.offset_for_timestamp(ts))
                .collect();
            format!("{:?}", found?)
        }
        3 => {
            let offsets: Vec<u64> = (0..RECORDS).rev().step_by(7).collect();
            let mut many = Vec::new();
            log.read_many_with(&offsets, |offset, record: Result<Record<'_>>| {
                many.push((offset, record.map(|r| (r.timestamp, r.payload.len()))));
            });
            format!("{many:?}")
        }
        _ => format!("{:?}", log.verify(10)),
    })
}

#[test]
fn every_answer_is_the_one_of_a_log_checked_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    build(&dir);
    let checked = Log::open_checked(&dir, config()).unwrap();
    let want: Vec<String> = (0..QUESTIONS)
        .map(|q| answer(&checked, q).unwrap())
        .collect();
    checked.close().unwrap();
    // Each question asked first of a fresh reopen, then the others.
    for first in 0..QUESTIONS {
        let log = Log::open(&dir, config()).unwrap();
        for q in (first..QUESTIONS).chain(0..first) {
            assert_eq!(
                answer(&log, q).unwrap(),
                want[q],
                "question {q} after {first}"
            );
        }
        log.close().unwrap();
    }
}

#[test]
fn truncations_and_retention_reach_into_unopened_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    build(&original);
    let fresh = |name: &str| {
        let dir = copy_dir(&original, &tmp.path().join(name));
        (Log::open(&dir, config()).unwrap(), dir)
    };

    // A suffix cut in the middle of a sealed segment never opened, which
    // becomes the active one; appends go on from there.
    let (log, dir) = fresh("suffix");
    log.truncate_suffix(1234).unwrap();
    assert_eq!(log.next_offset(), 1234);
    assert_eq!(log.append(&payload(1234)).unwrap(), 1234);
    check_records(&log, 0, 1235);
    log.close().unwrap();
    let log = Log::open(&dir, config()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    check_records(&log, 0, 1235);
    log.close().unwrap();

    // Prefix truncation, retention by size and by age: what goes and what
    // it held are what they are on a log checked at open.
    for (name, step) in [("below", 0), ("bytes", 1), ("age", 2)] {
        let run = |log: &Log| match step {
            0 => log.truncate(1500),
            1 => log.retain_bytes(40 << 10),
            _ => log.retain_since(1_700_000_000_200),
        };
        let checked_dir = copy_dir(&original, &tmp.path().join(format!("{name}-checked")));
        let checked = Log::open_checked(&checked_dir, config()).unwrap();
        let want = run(&checked).unwrap();
        let want_low = checked.lowest_offset();
        checked.close().unwrap();
        assert!(want.segments > 0, "{name}: {want:?}");

        let (log, dir) = fresh(name);
        assert_eq!(run(&log).unwrap(), want, "{name}");
        assert_eq!(log.lowest_offset(), want_low, "{name}");
        log.close().unwrap();
        let log = Log::open(&dir, config()).unwrap();
        let low = want_low.unwrap();
        check_records(&log, low, RECORDS);
        log.close().unwrap();
    }
}

#[test]
fn threads_reading_unopened_segments_at_once_all_read_them() {
    let tmp = tempfile::tempdir().unwrap();
    let segments = build(tmp.path());
    for _ in 0..5 {
        let log = Log::open(tmp.path(), config()).unwrap();
        let bases: Vec<u64> = (0..RECORDS).step_by(50).collect();
        std::thread::scope(|s| {
            for t in 0..4 {
                let (log, bases) = (&log, &bases);
                s.spawn(move || {
                    // Each thread in another order, so that first reads of
                    // one segment meet.
                    let mut order = bases.clone();
                    order.rotate_left(t * bases.len() / 4);
                    for offset in order {
                        let record = log.read(offset).unwrap();
                        assert_eq!(&*record.payload, payload(offset).as_slice());
                    }
                });
            }
        });
        // Every segment opened once: two descriptors each.
        assert_eq!(segment_files(&open_files_in(tmp.path())), 2 * segments);
        log.close().unwrap();
    }
}
