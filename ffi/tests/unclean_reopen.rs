//! Reopening after unclean closes: the preallocated index tail is cut (its
//! zero check skips what `SEEK_DATA` reports as holes), unsynced index
//! bytes past the kept records are zeroed, and the directory is listed and
//! opened relative to its descriptor without changing what open sees.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{check_records, fill, payload};
use dislog::{Config, Log};

const HEADER: usize = 24;
const ENTRY: usize = 16;

/// Larger segments than `common::small`, so that the active index really
/// grows in preallocation steps.
fn config() -> Config {
    Config {
        max_store_bytes: 1 << 20,
        max_index_bytes: 1 << 20,
        ..Config::default()
    }
}

/// The active (last) segment's index file.
fn active_index(dir: &std::path::Path) -> std::path::PathBuf {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".index"))
        .collect();
    names.sort();
    dir.join(names.last().unwrap())
}

#[test]
fn repeated_unclean_reopens_keep_every_record_and_zeros_past_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = Log::open(&dir, config()).unwrap();
    fill(&log, 0, 3000);
    drop(log);
    let mut next = 3000;
    for round in 0..20 {
        let log = Log::open(&dir, config()).unwrap();
        assert_eq!(log.next_offset(), next, "round {round}");
        assert!(log.repairs().is_empty(), "{:?}", log.repairs());
        fill(&log, next, next + 1 + round * 50);
        next += 1 + round * 50;
        log.flush().unwrap();
        // Unclean: the index keeps its preallocated tail.
        drop(log);
        let index = std::fs::read(active_index(&dir)).unwrap();
        let entries = index[HEADER..]
            .chunks(ENTRY)
            .take_while(|e| e[..8] != [0; 8]);
        let written = HEADER + entries.count() * ENTRY;
        assert!(
            index[written..].iter().all(|&b| b == 0),
            "round {round}: non-zero bytes past the entries"
        );
    }
    let log = Log::open(&dir, config()).unwrap();
    check_records(&log, 0, next);
    log.close().unwrap();
    let index = std::fs::read(active_index(&dir)).unwrap();
    assert_eq!((index.len() - HEADER) % ENTRY, 0, "close trims the index");
}

/// Index entries written past what the store kept (the store's tail lost,
/// as after a power cut) are cut and zeroed, though nothing synced them:
/// `SEEK_DATA` reports their dirty pages as data.
#[test]
fn entries_past_a_lost_store_tail_are_zeroed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    let log = Log::open(&dir, config()).unwrap();
    fill(&log, 0, 100);
    log.sync().unwrap();
    assert_eq!(log.segment_count(), 1);
    let store = active_index(&dir).with_extension("store");
    let synced = std::fs::metadata(&store).unwrap().len();
    fill(&log, 100, 400);
    log.flush().unwrap();
    drop(log);
    // The store loses its unsynced tail; the index still holds the entries
    // of records 100..400 (written, never synced) and its
    // zero tail.
    assert!(std::fs::metadata(&store).unwrap().len() > synced);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&store)
        .unwrap()
        .set_len(synced)
        .unwrap();
    let log = Log::open(&dir, config()).unwrap();
    assert_eq!(log.next_offset(), 100);
    check_records(&log, 0, 100);
    drop(log);
    let index = std::fs::read(active_index(&dir)).unwrap();
    let written = HEADER + 100 * ENTRY;
    assert!(index[HEADER..written]
        .chunks(ENTRY)
        .all(|e| e[..8] != [0; 8]));
    assert!(index[written..].iter().all(|&b| b == 0));
    // And the next records get the next offsets.
    let log = Log::open(&dir, config()).unwrap();
    fill(&log, 100, 120);
    check_records(&log, 0, 120);
    assert_eq!(
        log.read(119).unwrap().payload.as_ref(),
        payload(119).as_slice()
    );
    log.close().unwrap();
}

/// The directory is listed once per open; the listing open kept is never
/// served after a change: a log created in a directory with foreign files
/// sees its own segments, and a read-only open beside it sees them too.
#[test]
fn listings_kept_by_open_are_not_served_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("log");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), b"foreign").unwrap();
    let log = Log::open(&dir, config()).unwrap();
    fill(&log, 0, 10);
    log.truncate_suffix(5).unwrap();
    fill(&log, 5, 8);
    log.flush().unwrap();
    let reader = Log::open_read_only(&dir, config()).unwrap();
    assert_eq!(reader.next_offset(), 8);
    drop(reader);
    log.reset().unwrap();
    fill(&log, 0, 3);
    log.close().unwrap();
    let log = Log::open(&dir, config()).unwrap();
    check_records(&log, 0, 3);
    log.remove().unwrap();
    assert_eq!(std::fs::read(dir.join("notes.txt")).unwrap(), b"foreign");
}
