//! The snapshot format is the same on every backend: a snapshot the wasm
//! build wrote (tests/fixtures/snapshot-from-wasm.bin, made by
//! tests/js/snapshot.test.mjs) restores in the native library, and the
//! native library writes tests/fixtures/snapshot-from-native.bin, which that
//! JS test restores in wasm. Both hold the four records of [`records`].
//!
//! `DISLOG_UPDATE_FIXTURES=1` rewrites the native fixture; otherwise the
//! snapshot made here must equal the committed bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use dislog::{Config, Log};

/// The offset of the first record of both fixtures.
const FIRST: u64 = 100;

/// The fixtures' records as (timestamp, payload), at offsets 100 to 103
/// (the `FIXTURE_RECORDS` of tests/js/snapshot.test.mjs).
fn records() -> Vec<(u64, Vec<u8>)> {
    let payloads: [&[u8]; 4] = [
        b"hello from dislog",
        &[0, 1, 2, 255],
        b"",
        "ünïcødé 🚀".as_bytes(),
    ];
    (1_700_000_000_000..)
        .zip(payloads)
        .map(|(ts, p)| (ts, p.to_vec()))
        .collect()
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// Checks that `log` holds exactly the fixtures' records.
fn check_records(log: &Log) {
    let expected = records();
    assert_eq!(log.lowest_offset(), Some(FIRST));
    assert_eq!(log.next_offset(), FIRST + expected.len() as u64);
    for (offset, (timestamp, payload)) in (FIRST..).zip(&expected) {
        let record = log.read(offset).unwrap();
        assert_eq!(record.offset, offset);
        assert_eq!(record.timestamp, *timestamp, "timestamp of {offset}");
        assert_eq!(
            record.payload.as_ref(),
            payload.as_slice(),
            "payload of {offset}"
        );
    }
}

#[test]
fn a_snapshot_written_by_wasm_restores_natively() {
    let bytes = std::fs::read(fixture("snapshot-from-wasm.bin"))
        .expect("tests/fixtures/snapshot-from-wasm.bin (written by tests/js/snapshot.test.mjs)");
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::restore(tmp.path().join("log"), Config::default(), &bytes).unwrap();
    check_records(&log);
    assert_eq!(
        log.snapshot().unwrap(),
        bytes,
        "re-snapshotting the restored log must give the same bytes"
    );
    // The restored log is a live log: it goes on at the next offset.
    assert_eq!(log.append_at(b"native", 1_700_000_000_004).unwrap(), 104);
    log.close().unwrap();
}

#[test]
fn the_native_snapshot_fixture_is_what_this_build_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let config = Config {
        initial_offset: FIRST,
        ..Config::default()
    };
    let log = Log::open(tmp.path().join("log"), config).unwrap();
    for (timestamp, payload) in records() {
        log.append_at(&payload, timestamp).unwrap();
    }
    check_records(&log);
    let bytes = log.snapshot().unwrap();
    log.close().unwrap();

    let path = fixture("snapshot-from-native.bin");
    if std::env::var_os("DISLOG_UPDATE_FIXTURES").is_some_and(|v| v == "1") {
        std::fs::write(&path, &bytes).unwrap();
    }
    let committed = std::fs::read(&path).expect(
        "tests/fixtures/snapshot-from-native.bin: run with DISLOG_UPDATE_FIXTURES=1 to write it",
    );
    assert_eq!(
        bytes, committed,
        "snapshot format changed: rerun with DISLOG_UPDATE_FIXTURES=1 only if intended"
    );
    // The same records give the same bytes on both backends.
    let from_wasm = std::fs::read(fixture("snapshot-from-wasm.bin")).unwrap();
    assert_eq!(
        bytes, from_wasm,
        "native and wasm snapshots of the same records differ"
    );
}
