//! A reopened log maps its files only on first real use (`src/file/map.rs`,
//! "When a file is mapped"): the reads of the open check and the first
//! copies are positional. Reads right after such an open, from one thread
//! or several at once, still return every record, and corruption is still
//! found, whether the file is mapped yet or not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{check_records, fill, payload};
use dislog::{Config, Error, ErrorCode, Log};

const RECORDS: u64 = 3000;

/// Segments of ~200 records: a log of [`RECORDS`] spans about fifteen.
fn config() -> Config {
    Config {
        max_store_bytes: 8 << 10,
        max_index_bytes: 4 << 10,
        ..Config::default()
    }
}

/// A cleanly closed log of [`RECORDS`] records in `dir`.
fn build(dir: &Path) {
    let log = Log::open(dir, config()).unwrap();
    fill(&log, 0, RECORDS);
    assert!(log.segment_count() >= 10);
    log.close().unwrap();
}

/// Where `needle` occurs in `haystack` (once).
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    let at: Vec<usize> = haystack
        .windows(needle.len())
        .enumerate()
        .filter(|(_, w)| *w == needle)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1, "{:?}", String::from_utf8_lossy(needle));
    at[0]
}

fn store_path(dir: &Path, base: u64) -> std::path::PathBuf {
    dir.join(format!("{base:020}.store"))
}

fn index_path(dir: &Path, base: u64) -> std::path::PathBuf {
    dir.join(format!("{base:020}.index"))
}

/// Flips one byte of record `offset`'s payload in the store of `base`.
fn corrupt_payload(dir: &Path, base: u64, offset: u64) {
    let path = store_path(dir, base);
    let mut bytes = std::fs::read(&path).unwrap();
    // The payload's number, unique in the store ("record-12-" is not a
    // prefix of "record-123-").
    let at = find(&bytes, format!("record-{offset}-").as_bytes());
    bytes[at + 3] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
}

#[test]
fn reads_after_a_lazy_open_return_every_record() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    // The first read after the open, in the middle of a sealed segment.
    let log = Log::open(tmp.path(), config()).unwrap();
    assert!(log.repairs().is_empty());
    let mid = RECORDS / 2 + 7;
    assert_eq!(log.read(mid).unwrap().payload.as_ref(), payload(mid));
    log.close().unwrap();

    // Several threads race to make each file's map: random reads first,
    // then one iteration each.
    let log = Log::open(tmp.path(), config()).unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let log = &log;
            s.spawn(move || {
                let mut x = 0x9e37_79b9_7f4a_7c15 ^ t;
                for _ in 0..2 * RECORDS {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let i = x % RECORDS;
                    let ok = log
                        .read_with(i, |r| r.payload.as_ref() == payload(i))
                        .unwrap();
                    assert!(ok, "record {i}");
                }
                let reader = log.reader();
                let mut next = t * 100;
                for record in reader.iter(next).unwrap() {
                    let record = record.unwrap();
                    assert_eq!(
                        (record.offset, record.payload.as_ref()),
                        (next, &payload(next)[..])
                    );
                    next += 1;
                }
                assert_eq!(next, RECORDS);
            });
        }
    });
    // Appends after a lazy open go to the active segment (its index is
    // mapped by its first write) and survive the next clean reopen.
    fill(&log, RECORDS, RECORDS + 500);
    log.close().unwrap();
    let log = Log::open(tmp.path(), config()).unwrap();
    assert!(log.repairs().is_empty());
    check_records(&log, 0, RECORDS + 500);
    log.close().unwrap();
}

/// The files of `dir` this process has mapped.
#[cfg(target_os = "linux")]
fn mapped_files(dir: &Path) -> Vec<String> {
    let dir = dir.to_str().unwrap();
    let mut files: Vec<String> = std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter_map(|line| line.split_once(dir).map(|(_, name)| name.to_owned()))
        .collect();
    files.dedup();
    files
}

#[cfg(target_os = "linux")]
#[test]
fn a_clean_reopen_maps_only_what_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let log = Log::open(tmp.path(), config()).unwrap();
    let segments = log.segments().unwrap();
    let active = segments.last().unwrap().base;
    // At most the active store is mapped (the check of its last record
    // borrows it); no other file is.
    let active_store = format!("/{active:020}.store");
    let mapped = mapped_files(tmp.path());
    assert!(mapped.iter().all(|f| *f == active_store), "{mapped:?}");
    // A record read maps its store (it is borrowed); its index is copied
    // from until it has been read a few times.
    let base = segments[4].base;
    log.read(base + 1).unwrap();
    assert!(mapped_files(tmp.path()).contains(&format!("/{base:020}.store")));
    assert!(!mapped_files(tmp.path()).contains(&format!("/{base:020}.index")));
    for i in 0..20 {
        log.read(base + i).unwrap();
    }
    assert!(mapped_files(tmp.path()).contains(&format!("/{base:020}.index")));
    log.close().unwrap();
    assert!(mapped_files(tmp.path()).is_empty());
}

#[test]
fn corruption_is_found_before_and_after_the_files_are_mapped() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let log = Log::open(tmp.path(), config()).unwrap();
    let segments = log.segments().unwrap();
    log.close().unwrap();
    // A record inside a sealed segment, and a sealed segment's last record.
    let inner = &segments[2];
    let bad = inner.base + inner.records / 2;
    corrupt_payload(tmp.path(), inner.base, bad);
    let sealed = &segments[5];
    let bad_last = sealed.base + sealed.records - 1;
    corrupt_payload(tmp.path(), sealed.base, bad_last);

    for round in 0..2 {
        let log = Log::open(tmp.path(), config()).unwrap();
        // Neither is repaired on open: the fast check passes.
        assert!(log.repairs().is_empty(), "{:?}", log.repairs());
        if round == 1 {
            // Map every file first (reads borrow, and copy often enough).
            for _ in 0..20 {
                for s in &segments {
                    log.read(s.base).unwrap();
                }
            }
        }
        for offset in [bad, bad_last] {
            let err = log.read(offset).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Corrupt, "{err}");
            assert!(
                matches!(err, Error::Corrupt { offset: Some(o), .. } if o == offset),
                "{err}"
            );
            assert_eq!(
                log.read(offset - 1).unwrap().payload.as_ref(),
                payload(offset - 1)
            );
            assert_eq!(
                log.read(offset + 1).unwrap().payload.as_ref(),
                payload(offset + 1)
            );
        }
        // Iteration stops at the first bad record, with its error.
        let reader = log.reader();
        let mut it = reader.iter(inner.base).unwrap();
        for i in inner.base..bad {
            assert_eq!(it.next().unwrap().unwrap().offset, i);
        }
        let err = it.next().unwrap().unwrap_err();
        assert_eq!(err.code(), ErrorCode::Corrupt);
        drop(it);
        drop(reader);
        let problems = log.verify(10);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().all(|e| e.code() == ErrorCode::Corrupt));
        log.close().unwrap();
    }
}

#[test]
fn a_torn_index_entry_is_read_through_the_store_after_a_lazy_open() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let log = Log::open(tmp.path(), config()).unwrap();
    let segment = log.segments().unwrap()[3];
    log.close().unwrap();
    // Entry `k` (16 bytes each, after the header: FORMAT.md) gets the
    // position of entry `k + 1`, whose frame holds another offset.
    let path = index_path(tmp.path(), segment.base);
    let mut index = std::fs::read(&path).unwrap();
    let header = index.len() - 16 * segment.records as usize;
    let k = (segment.records / 3) as usize;
    let next_pos: [u8; 8] = index[header + 16 * (k + 1)..][..8].try_into().unwrap();
    index[header + 16 * k..][..8].copy_from_slice(&next_pos);
    std::fs::write(&path, index).unwrap();

    let log = Log::open(tmp.path(), config()).unwrap();
    assert!(log.repairs().is_empty());
    let offset = segment.base + k as u64;
    // The first read of this segment: the index entry is copied positionally.
    assert_eq!(log.read(offset).unwrap().payload.as_ref(), payload(offset));
    let problems = log.verify(10);
    assert!(!problems.is_empty(), "verify still names the torn entry");
    assert!(
        problems
            .iter()
            .all(|e| matches!(e, Error::Corrupt { offset: Some(o), .. } if *o == offset)),
        "{problems:?}"
    );
    check_records_but_verify(&log);
    log.close().unwrap();
}

/// Every record reads back in order (the torn entry makes `verify` report).
fn check_records_but_verify(log: &Log) {
    let mut next = 0;
    for record in log.reader().iter(0).unwrap() {
        let record = record.unwrap();
        assert_eq!(record.payload.as_ref(), payload(next));
        next += 1;
    }
    assert_eq!(next, RECORDS);
}

#[test]
fn a_torn_tail_of_the_active_segment_is_still_cut_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    build(tmp.path());
    let log = Log::open(tmp.path(), config()).unwrap();
    let active = *log.segments().unwrap().last().unwrap();
    log.close().unwrap();
    let last = RECORDS - 1;
    corrupt_payload(tmp.path(), active.base, last);
    let log = Log::open(tmp.path(), config()).unwrap();
    assert!(!log.repairs().is_empty(), "the bad last record is cut");
    check_records(&log, 0, last);
    log.close().unwrap();
}
