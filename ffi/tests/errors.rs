//! Bad paths, foreign files and failed opens: clear errors, nothing left
//! behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{files, fill, small};
use dislog::{Config, ErrorCode, Log, StorageErrorKind};

fn storage_kind(err: &dislog::Error) -> Option<StorageErrorKind> {
    match err {
        dislog::Error::Storage(e) => Some(e.kind()),
        _ => None,
    }
}

#[test]
fn a_file_in_place_of_the_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("plain");
    std::fs::write(&file, b"not a dir").unwrap();
    let err = Log::open(&file, Config::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io);
    assert!(err.to_string().contains("not a directory"), "{err}");
    let err = Log::open(file.join("below"), Config::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io, "{err}");
    assert!(err.to_string().contains("plain"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"not a dir");
    assert!(Log::open_read_only(&file, Config::default()).is_err());
}

#[test]
fn an_invalid_config_creates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new/log");
    let config = Config {
        max_store_bytes: 1,
        ..Config::default()
    };
    let err = Log::open(&dir, config).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfig);
    assert!(!tmp.path().join("new").exists());
}

#[test]
fn read_only_needs_an_existing_log() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing");
    let err = Log::open_read_only(&missing, Config::default()).unwrap_err();
    assert_eq!(
        storage_kind(&err),
        Some(StorageErrorKind::NotFound),
        "{err}"
    );
    assert!(!missing.exists());
    let err = Log::open_read_only(tmp.path(), Config::default()).unwrap_err();
    assert_eq!(
        storage_kind(&err),
        Some(StorageErrorKind::NotFound),
        "{err}"
    );
    assert!(err.to_string().contains("no dislog log"), "{err}");
    assert!(files(tmp.path()).is_empty());
}

#[test]
fn foreign_files_are_ignored_and_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let foreign = [
        ("README", &b"hello"[..]),
        ("x.store", b"?"),
        ("123.index", b"??"),
        ("00000000000000000000.store.bak", b"???"),
    ];
    for (name, bytes) in foreign {
        std::fs::write(tmp.path().join(name), bytes).unwrap();
    }
    std::fs::create_dir(tmp.path().join("subdir")).unwrap();
    let log = Log::open(tmp.path(), small()).unwrap();
    fill(&log, 0, 200);
    log.close().unwrap();
    let log = Log::open(tmp.path(), small()).unwrap();
    assert_eq!(log.len(), 200);
    log.remove().unwrap();
    let mut left: Vec<String> = files(tmp.path()).into_iter().map(|f| f.0).collect();
    left.sort();
    let mut expected: Vec<String> = foreign.iter().map(|f| f.0.to_string()).collect();
    expected.push("subdir".into());
    expected.sort();
    assert_eq!(left, expected);
}

#[test]
fn a_foreign_file_with_a_segment_name_fails_the_open_and_is_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let name = tmp.path().join("00000000000000000000.store");
    let junk = b"#!/bin/sh\necho this is not a dislog store\n";
    std::fs::write(&name, junk).unwrap();
    let err = Log::open(tmp.path(), Config::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Format, "{err}");
    assert!(
        err.to_string().contains("00000000000000000000.store"),
        "{err}"
    );
    // Nothing changed, and the lock file this open created is gone.
    assert_eq!(
        files(tmp.path()),
        [("00000000000000000000.store".to_string(), junk.len() as u64)]
    );
    let err = Log::open_read_only(tmp.path(), Config::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Format, "{err}");
}

#[test]
fn a_failed_open_of_an_existing_log_keeps_its_lock_file() {
    let tmp = tempfile::tempdir().unwrap();
    Log::open(tmp.path(), small()).unwrap().close().unwrap();
    // An orphan "index" the log cannot remove (a directory) fails the open.
    std::fs::create_dir(tmp.path().join("00000000000000000099.index")).unwrap();
    let before = files(tmp.path());
    let err = Log::open(tmp.path(), small()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io, "{err}");
    assert_eq!(files(tmp.path()), before);
}
