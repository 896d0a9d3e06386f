//! Helpers shared by the integration tests of the file backend.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use dislog::{Config, Log};

/// Segments of a few records each, so that tests cross segment boundaries.
pub fn small() -> Config {
    Config {
        max_store_bytes: 4 << 10,
        max_index_bytes: 1 << 10,
        ..Config::default()
    }
}

/// The payload of record `i`: its number and a variable-length tail.
pub fn payload(i: u64) -> Vec<u8> {
    format!("record-{i}-{}", "x".repeat((i % 37) as usize)).into_bytes()
}

/// Appends records `from..to` with [`payload`], checking their offsets.
pub fn fill(log: &Log, from: u64, to: u64) {
    for i in from..to {
        assert_eq!(log.append(&payload(i)).unwrap(), i);
    }
}

/// Checks that the log holds exactly `[lowest, next)`, each record intact.
pub fn check_records(log: &Log, lowest: u64, next: u64) {
    assert_eq!(log.next_offset(), next);
    if lowest == next {
        assert!(log.is_empty());
        return;
    }
    assert_eq!(log.lowest_offset(), Some(lowest));
    let mut expected = lowest;
    for record in log.reader().iter(lowest).unwrap() {
        let record = record.unwrap();
        assert_eq!(record.offset, expected);
        assert_eq!(record.payload.as_ref(), payload(expected).as_slice());
        expected += 1;
    }
    assert_eq!(expected, next);
    assert!(log.verify(10).is_empty(), "{:?}", log.verify(10));
}

/// The files of `dir` with their lengths, sorted by name.
pub fn files(dir: &Path) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().into_string().unwrap(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Copies every file of `from` into a new directory `to`.
pub fn copy_dir(from: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    to.to_path_buf()
}

/// Cuts (or extends with zeros) the file at `path` to `len` bytes.
pub fn cut(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}
