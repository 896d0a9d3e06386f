//! Round trips through close and reopen, and what a clean close leaves.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dislog::{Config, ErrorCode, Log, SyncPolicy};

fn small() -> Config {
    Config {
        max_store_bytes: 4 << 10,
        max_index_bytes: 1 << 10,
        ..Config::default()
    }
}

fn payload(i: u64) -> Vec<u8> {
    format!("record-{i}-{}", "x".repeat((i % 37) as usize)).into_bytes()
}

#[test]
fn records_survive_close_and_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b/log");
    let log = Log::open(&dir, small()).unwrap();
    assert!(log.is_empty());
    for i in 0..500 {
        assert_eq!(log.append(&payload(i)).unwrap(), i);
    }
    assert!(log.segments().len() > 5, "{:?}", log.segments().len());
    for i in (0..500).step_by(7) {
        assert_eq!(log.read(i).unwrap().payload.as_ref(), payload(i).as_slice());
    }
    log.close().unwrap();

    let log = Log::open(&dir, small()).unwrap();
    assert!(log.repairs().is_empty(), "{:?}", log.repairs());
    assert_eq!(
        (log.lowest_offset(), log.highest_offset()),
        (Some(0), Some(499))
    );
    let mut n = 0;
    for record in log.reader().iter(0).unwrap() {
        let record = record.unwrap();
        assert_eq!(record.payload.as_ref(), payload(record.offset).as_slice());
        n += 1;
    }
    assert_eq!(n, 500);
    assert!(log.verify(10).is_empty());
    assert_eq!(log.append(b"more").unwrap(), 500);
    log.close().unwrap();
}

#[test]
fn second_open_in_process_is_locked_until_close() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::open(tmp.path(), Config::default()).unwrap();
    let err = Log::open(tmp.path(), Config::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Locked, "{err}");
    assert!(err.to_string().contains("locked"), "{err}");
    log.close().unwrap();
    Log::open(tmp.path(), Config::default())
        .unwrap()
        .close()
        .unwrap();
}

#[test]
fn every_policy_round_trips() {
    for sync in [
        SyncPolicy::Manual,
        SyncPolicy::EveryAppend,
        SyncPolicy::EveryBytes(100),
        SyncPolicy::EveryMillis(1),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let config = Config { sync, ..small() };
        let log = Log::open(tmp.path(), config).unwrap();
        let first = log.append_batch(&[b"a".as_slice(), b"bb", b"ccc"]).unwrap();
        assert_eq!(first, 0);
        log.append_at(b"dddd", 42).unwrap();
        log.close().unwrap();
        let log = Log::open(tmp.path(), config).unwrap();
        assert_eq!(log.len(), 4, "{sync:?}");
        assert_eq!(log.read(3).unwrap().timestamp, 42);
        assert_eq!(log.offset_for_timestamp(0).unwrap(), Some(0));
        assert_eq!(log.offset_for_timestamp(u64::MAX).unwrap(), None);
        log.close().unwrap();
    }
}

#[test]
fn read_only_sees_records_and_refuses_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let log = Log::open(tmp.path(), small()).unwrap();
    for i in 0..100 {
        log.append(&payload(i)).unwrap();
    }
    log.flush().unwrap();
    let ro = Log::open_read_only(tmp.path(), small()).unwrap();
    assert!(ro.is_read_only());
    assert_eq!(ro.next_offset(), 100);
    assert_eq!(
        ro.read(99).unwrap().payload.as_ref(),
        payload(99).as_slice()
    );
    let err = ro.append(b"no").unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io);
    assert!(err.to_string().contains("read-only"), "{err}");
    assert!(ro.truncate_suffix(3).is_err());
    assert!(ro.sync().is_err());
    ro.close().unwrap();
    log.close().unwrap();
}
