//! Recovery after a crash in the running system's boot: the lock file names
//! the boot in which its writer recovered, so a reopen trusts the index
//! entries whose frames check and scans only the store past them; after a
//! restart (another boot id, or none) it scans the whole store.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{check_records, copy_dir, cut, files, fill, payload};
use dislog::{Config, ErrorCode, Log, Repair};

/// One segment: the active store holds every record.
fn config() -> Config {
    Config {
        max_store_bytes: 1 << 20,
        max_index_bytes: 1 << 16,
        ..Config::default()
    }
}

const RECORDS: u64 = 1000;

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .unwrap()
        .trim()
        .to_owned()
}

/// What a writer that recovered in this boot and then crashed leaves in
/// the lock file.
fn crashed_this_boot(dir: &Path) {
    std::fs::write(dir.join("LOCK"), format!("{:<10} {}", 4_000_000, boot_id())).unwrap();
}

/// What the lock file says once the machine restarted after such a crash,
/// as far as this boot can tell: no boot id of its own.
fn crashed_before_a_restart(dir: &Path) {
    let other = boot_id().replace(|c: char| c.is_ascii_hexdigit(), "0");
    std::fs::write(dir.join("LOCK"), format!("{:<10} {other}", 4_000_000)).unwrap();
}

/// A closed log of [`RECORDS`] records in one segment under `dir`; the
/// names of its store and index.
fn build(dir: &Path) -> (PathBuf, PathBuf) {
    let log = Log::open(dir, config()).unwrap();
    fill(&log, 0, RECORDS);
    log.close().unwrap();
    let name = |suffix: &str| {
        let (name, _) = files(dir)
            .into_iter()
            .find(|(n, _)| n.ends_with(suffix))
            .unwrap();
        PathBuf::from(name)
    };
    (name(".store"), name(".index"))
}

/// The store position of record `i`, from the index file.
fn position(index: &[u8], i: u64) -> u64 {
    let at = 24 + 16 * i as usize;
    u64::from_le_bytes(index[at..at + 8].try_into().unwrap())
}

#[test]
fn a_crash_in_this_boot_scans_only_the_store_past_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let (store, index) = build(&original);
    // The index lost its last 400 entries (its unwritten buffer), and a
    // record it still describes is corrupt: a full scan stops there, a
    // scan of the tail never reads it.
    let entries = std::fs::read(original.join(&index)).unwrap();
    let corrupt_at = position(&entries, 300) + 24;
    let mut bytes = std::fs::read(original.join(&store)).unwrap();
    bytes[corrupt_at as usize] ^= 0x40;
    std::fs::write(original.join(&store), bytes).unwrap();
    cut(&original.join(&index), 24 + 16 * 600);

    let same = copy_dir(&original, &tmp.path().join("same"));
    crashed_this_boot(&same);
    let before = files(&same);
    let reader = Log::open_read_only(&same, config()).unwrap();
    assert_eq!(files(&same), before, "a read-only open changes nothing");
    let log = Log::open(&same, config()).unwrap();
    for log in [&reader, &log] {
        assert_eq!(log.next_offset(), RECORDS);
        assert_eq!(
            log.repairs(),
            [Repair::IndexRebuilt {
                segment: 0,
                records: RECORDS
            }]
        );
        assert_eq!(log.read(300).unwrap_err().code(), ErrorCode::Corrupt);
        for i in [0, 299, 301, 599, 600, RECORDS - 1] {
            assert_eq!(log.read(i).unwrap().payload.as_ref(), payload(i));
        }
    }
    reader.close().unwrap();
    log.close().unwrap();

    let restarted = copy_dir(&original, &tmp.path().join("restarted"));
    crashed_before_a_restart(&restarted);
    let log = Log::open(&restarted, config()).unwrap();
    check_records(&log, 0, 300);
    assert!(
        log.repairs().iter().any(|r| matches!(
            r,
            Repair::TailCut {
                records_kept: 300,
                ..
            }
        )),
        "{:?}",
        log.repairs()
    );
    log.close().unwrap();
}

#[test]
fn cuts_anywhere_in_this_boot_recover_what_a_full_scan_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let original = tmp.path().join("original");
    let (store, index) = build(&original);
    let entries = std::fs::read(original.join(&index)).unwrap();
    let store_len = std::fs::metadata(original.join(&store)).unwrap().len();
    // Store cuts inside and between frames, against index cuts that keep
    // more, fewer or no entries than the store has whole frames.
    let store_cuts = [
        0,
        24,
        30,
        store_len / 3,
        position(&entries, 700) + 5,
        store_len - 1,
    ];
    let index_cuts = [
        0,
        24,
        24 + 16,
        24 + 16 * 200 + 7,
        24 + 16 * 800,
        entries.len() as u64,
    ];
    for (i, &store_cut) in store_cuts.iter().enumerate() {
        for (j, &index_cut) in index_cuts.iter().enumerate() {
            let case = format!("store cut at {store_cut}, index cut at {index_cut}");
            let mut kept = Vec::new();
            for (k, mark) in [crashed_this_boot, crashed_before_a_restart]
                .into_iter()
                .enumerate()
            {
                let dir = copy_dir(&original, &tmp.path().join(format!("c{i}-{j}-{k}")));
                cut(&dir.join(&store), store_cut);
                cut(&dir.join(&index), index_cut);
                mark(&dir);
                let log = Log::open(&dir, config()).unwrap();
                let next = log.next_offset();
                check_records(&log, 0, next);
                assert_eq!(log.append(&payload(next)).unwrap(), next, "{case}");
                log.close().unwrap();
                let log = Log::open(&dir, config()).unwrap();
                assert!(log.repairs().is_empty(), "{case}: {:?}", log.repairs());
                check_records(&log, 0, next + 1);
                log.close().unwrap();
                kept.push(next);
            }
            assert_eq!(kept[0], kept[1], "{case}");
        }
    }
}

#[test]
fn an_open_names_this_boot_in_the_lock_file_once_it_has_recovered() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::open(tmp.path(), config()).unwrap();
    let lock = std::fs::read_to_string(tmp.path().join("LOCK")).unwrap();
    let words: Vec<&str> = lock.split_whitespace().collect();
    assert_eq!(words, [std::process::id().to_string(), boot_id()]);
    log.close().unwrap();
    let lock = std::fs::read_to_string(tmp.path().join("LOCK")).unwrap();
    assert_eq!(lock.trim(), "clean");
}
