//! Golden files: a small log written by format version 1 is kept in
//! `tests/golden/v1/` and must open and read back forever; and this build
//! must still write exactly those bytes (a change means a new format
//! version). Regenerate with `DISLOG_BLESS=1 cargo test -p dislog-core --test golden`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use dislog_core::{Config, Log, MemoryStorage, Storage, SyncPolicy};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/v1")
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

fn golden() -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir())
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

#[test]
#[cfg_attr(miri, ignore = "reads fixture files from disk")]
fn golden_v1_log_opens_and_reads_back() {
    if std::env::var_os("DISLOG_BLESS").is_some() {
        std::fs::create_dir_all(dir()).unwrap();
        for (name, bytes) in files(&write()) {
            std::fs::write(dir().join(name), bytes).unwrap();
        }
    }
    let storage = MemoryStorage::new();
    for (name, bytes) in golden() {
        storage.set_file_bytes(&name, bytes).unwrap();
    }
    let log = Log::open(storage, config()).unwrap();
    assert!(log.repairs().is_empty());
    assert_eq!((log.lowest_offset(), log.next_offset()), (Some(100), 110));
    assert!(log.segments().len() >= 3);
    for (i, record) in log.records().enumerate() {
        let record = record.unwrap();
        assert_eq!(record.offset, 100 + i as u64);
        assert_eq!(record.timestamp, 1_700_000_000_000 + i as u64 * 1_000);
        assert_eq!(record.payload.as_ref(), payload(i as u64));
    }
    assert_eq!(
        log.offset_for_timestamp(1_700_000_004_500).unwrap(),
        Some(105)
    );
}

#[test]
#[cfg_attr(miri, ignore = "reads fixture files from disk")]
fn this_build_writes_the_golden_bytes() {
    assert_eq!(
        files(&write()),
        golden(),
        "the on-disk format changed: bump FORMAT_VERSION, keep the old golden files, add new ones"
    );
}
