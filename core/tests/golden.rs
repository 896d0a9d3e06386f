//! Golden files: small logs written by each format version are kept in
//! `tests/golden/v<N>/` and must open and read back forever; and this build
//! must still write exactly the bytes of the newest (a change means a new
//! format version). Regenerate the newest with
//! `DISLOG_BLESS=1 cargo test -p dislog-core --test golden`.
//! `tests/golden/snapshots/v1.bin` is a version 1 snapshot (the records of
//! `tests/fixtures/`, written by the native library before version 2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use dislog_core::{Config, Log, MemoryStorage, Storage, SyncPolicy};

fn dir(version: u32) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/v{version}"))
}

fn config() -> Config {
    Config {
        max_store_bytes: 24 + 4 * 40,
        max_index_bytes: 24 + 16 * 4,
        initial_offset: 100,
        max_record_bytes: 64,
        sync: SyncPolicy::Manual,
        clock: || 1_700_000_000_000,
    }
}

fn payload(i: u64) -> Vec<u8> {
    format!("golden record {i}").into_bytes()
}

/// The log the golden files hold, written now.
fn write() -> MemoryStorage {
    let storage = MemoryStorage::new();
    let mut log = Log::open(storage.clone(), config()).unwrap();
    for i in 0..10 {
        log.append_at(&payload(i), 1_700_000_000_000 + i * 1_000)
            .unwrap();
    }
    log.close().unwrap();
    storage
}

fn files(storage: &MemoryStorage) -> Vec<(String, Vec<u8>)> {
    let mut names = storage.list().unwrap();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let bytes = storage.file_bytes(&n).unwrap();
            (n, bytes)
        })
        .collect()
}

fn golden(version: u32) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir(version))
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// A storage holding the golden files of `version`.
fn golden_storage(version: u32) -> MemoryStorage {
    let storage = MemoryStorage::new();
    for (name, bytes) in golden(version) {
        storage.set_file_bytes(&name, bytes).unwrap();
    }
    storage
}

/// Checks that `log` holds records `100..end` as [`write`] wrote them.
fn check_records(log: &Log<MemoryStorage>, end: u64) {
    assert_eq!((log.lowest_offset(), log.next_offset()), (Some(100), end));
    let mut n = 0;
    for (i, record) in log.records().enumerate() {
        let record = record.unwrap();
        assert_eq!(record.offset, 100 + i as u64);
        assert_eq!(record.timestamp, 1_700_000_000_000 + i as u64 * 1_000);
        assert_eq!(record.payload.as_ref(), payload(i as u64));
        assert_eq!(log.read(record.offset).unwrap(), record);
        n += 1;
    }
    assert_eq!(n, end - 100);
}

#[test]
#[cfg_attr(miri, ignore = "reads fixture files from disk")]
fn golden_logs_of_every_version_open_and_read_back() {
    if std::env::var_os("DISLOG_BLESS").is_some() {
        let newest = dir(dislog_core::FORMAT_VERSION);
        std::fs::create_dir_all(&newest).unwrap();
        for (name, bytes) in files(&write()) {
            std::fs::write(newest.join(name), bytes).unwrap();
        }
    }
    let mut snapshots = Vec::new();
    for version in 1..=dislog_core::FORMAT_VERSION {
        let log = Log::open(golden_storage(version), config()).unwrap();
        assert!(log.repairs().is_empty(), "v{version}: {:?}", log.repairs());
        assert!(log.segment_count() >= 3);
        check_records(&log, 110);
        assert_eq!(
            log.offset_for_timestamp(1_700_000_004_500).unwrap(),
            Some(105)
        );
        snapshots.push(log.snapshot().unwrap());
    }
    // The same records give the same (newest version) snapshot.
    assert!(snapshots.windows(2).all(|w| w[0] == w[1]));
}

#[test]
#[cfg_attr(miri, ignore = "reads fixture files from disk")]
fn a_version_1_log_takes_appends_and_survives_reopen() {
    let storage = golden_storage(1);
    let mut log = Log::open(storage.clone(), config()).unwrap();
    // The active segment is a version 1 store: its new frames use its
    // checksum; the segments that follow are version 2.
    for i in 10..20 {
        log.append_at(&payload(i), 1_700_000_000_000 + i * 1_000)
            .unwrap();
    }
    check_records(&log, 120);
    log.close().unwrap();
    let mut names = storage.list().unwrap();
    names.sort();
    let mut versions: Vec<u32> = names
        .iter()
        .filter(|n| n.ends_with(".store"))
        .map(|n| {
            let bytes = storage.file_bytes(n).unwrap();
            u32::from_le_bytes(bytes[8..12].try_into().unwrap())
        })
        .collect();
    versions.dedup();
    assert_eq!(
        versions,
        [1, 2],
        "old stores stay version 1, new ones are version 2"
    );
    let log = Log::open(storage.clone(), config()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    check_records(&log, 120);
    // A torn tail of the version 1 store is cut by its own checksum.
    drop(log);
    let first = storage.file_bytes("00000000000000000100.store").unwrap();
    let mut torn = first.clone();
    let last = torn.len() - 1;
    torn[last] ^= 0x40;
    storage
        .set_file_bytes("00000000000000000100.store", torn)
        .unwrap();
    let log = Log::open(storage, config()).unwrap();
    assert!(log.read(100).is_ok());
    let sealed = log.segments().unwrap().into_iter().next().unwrap();
    let last_of_first = sealed.base + sealed.records - 1;
    assert!(
        log.read(last_of_first).is_err(),
        "a flipped bit is CORRUPT, never data"
    );
}

#[test]
#[cfg_attr(miri, ignore = "reads fixture files from disk")]
fn a_version_1_snapshot_restores() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/snapshots/v1.bin");
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[8..12], &1u32.to_le_bytes());
    let log = Log::restore(MemoryStorage::new(), config_for_snapshot(), &bytes).unwrap();
    assert_eq!((log.lowest_offset(), log.next_offset()), (Some(100), 104));
    let records: Vec<_> = log.records().map(|r| r.unwrap().into_owned()).collect();
    assert_eq!(records[0].payload.as_ref(), b"hello from dislog");
    assert_eq!(records[1].payload.as_ref(), &[0, 1, 2, 255]);
    assert_eq!(records[2].payload.as_ref(), b"");
    assert_eq!(records[3].payload.as_ref(), "ünïcødé 🚀".as_bytes());
    assert_eq!(records[3].timestamp, 1_700_000_000_003);
    // Flipping any byte of it is refused.
    for at in [0, 9, 40, bytes.len() - 9] {
        let mut bad = bytes.clone();
        bad[at] ^= 1;
        assert!(Log::restore(MemoryStorage::new(), config_for_snapshot(), &bad).is_err());
    }
}

fn config_for_snapshot() -> Config {
    Config {
        max_record_bytes: 1024,
        ..config()
    }
}

#[test]
#[cfg_attr(miri, ignore = "reads fixture files from disk")]
fn this_build_writes_the_golden_bytes() {
    assert_eq!(
        files(&write()),
        golden(dislog_core::FORMAT_VERSION),
        "the on-disk format changed: bump FORMAT_VERSION, keep the old golden files, add new ones"
    );
}
