//! Minimal reproductions of what the crash simulation found in core, one
//! test per finding (see `RELIABILITY.md`, "Findings").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dislog_core::{Config, Log};
use dislog_sim::{CrashMode, SimStorage};

/// After a process crash (files complete, nothing synced), reopening and
/// calling `sync` must make the recovered records durable.
#[test]
fn sync_after_unclean_reopen_makes_old_records_durable() {
    let storage = SimStorage::new(1);
    let mut log = Log::open(storage.clone(), Config::default()).unwrap();
    log.append(b"before the process died").unwrap();
    drop(log); // the process dies; the OS still holds the bytes
    let mut log = Log::open(storage.clone(), Config::default()).unwrap();
    assert_eq!(log.next_offset(), 1);
    log.sync().unwrap(); // acknowledged as durable
    drop(log);
    let media = storage.crash_with(CrashMode::LoseUnsynced);
    let log = Log::open(media, Config::default()).unwrap();
    assert_eq!(log.next_offset(), 1, "a synced record was lost");
    assert_eq!(&*log.read(0).unwrap().payload, b"before the process died");
}
