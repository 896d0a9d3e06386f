//! A full disk: a clear `NoSpace` error, a poisoned log, and a clean
//! recovery of what was written.
//!
//! Needs a small file system to fill: the test mounts a 256 KiB tmpfs, which
//! takes root (as on CI). Where `mount` is refused it says so and passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

use dislog::{Config, ErrorCode, Log, StorageErrorKind};

/// Held by a [`Tmpfs`] for its whole life. A test spawns `mount`: the
/// child holds a copy of the process's file descriptors until it execs, so
/// the files a test running beside it deletes keep their blocks meanwhile,
/// and on a loaded machine that test's freed space is not free yet (it then
/// saw `NoSpace` where space had been freed). One tmpfs test at a time
/// avoids it.
static SERIAL: Mutex<()> = Mutex::new(());

/// A 256 KiB tmpfs mounted in a fresh temporary directory, unmounted on
/// drop; while it exists no other tmpfs test runs.
struct Tmpfs {
    path: PathBuf,
    // Dropped after the unmount (`Drop::drop` runs first): the directory,
    // then the turn of the next test.
    _tmp: tempfile::TempDir,
    _serial: MutexGuard<'static, ()>,
}

impl Tmpfs {
    /// The tmpfs, or `None` (saying the test is skipped) where mounting is
    /// refused.
    fn mount_or_skip() -> Option<Self> {
        // A test that failed while holding the turn does not matter.
        let serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("mnt");
        std::fs::create_dir_all(&path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
            .arg(&path)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs here (not root?)");
            return None;
        }
        Some(Self {
            path,
            _tmp: tmp,
            _serial: serial,
        })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

fn config() -> Config {
    Config {
        max_store_bytes: 64 << 10,
        max_index_bytes: 8 << 10,
        ..Config::default()
    }
}

fn record(i: u64) -> Vec<u8> {
    let mut r = vec![(i % 251) as u8; 1000];
    r[..8].copy_from_slice(&i.to_le_bytes());
    r
}

#[test]
fn a_full_disk_is_a_clear_error_and_recovery_keeps_a_prefix() {
    let Some(fs) = Tmpfs::mount_or_skip() else {
        return;
    };
    let dir = fs.path.join("log");
    let log = Log::open(&dir, config()).unwrap();
    let mut acknowledged = 0;
    let err = loop {
        let appended = log.append(&record(acknowledged));
        match appended.and_then(|_| log.sync()) {
            Ok(()) => acknowledged += 1,
            Err(e) => break e,
        }
    };
    assert!(acknowledged > 100, "only {acknowledged} records fit");
    let dislog::Error::Storage(storage) = &err else {
        panic!("not a storage error: {err}");
    };
    assert_eq!(storage.kind(), StorageErrorKind::NoSpace, "{err}");
    assert!(err.to_string().contains("log"), "the path is named: {err}");
    let refused = log.append(b"x").unwrap_err();
    assert_eq!(refused.code(), ErrorCode::Poisoned);
    drop(log);

    let log = Log::open(&dir, config()).unwrap();
    // Every synced record is back; the one that failed may or may not be.
    let next = log.next_offset();
    assert!(
        (acknowledged..=acknowledged + 1).contains(&next),
        "{next} vs {acknowledged}"
    );
    for i in 0..next {
        assert_eq!(log.read(i).unwrap().payload.as_ref(), record(i).as_slice());
    }
    assert!(log.verify(10).is_empty());
    // Freeing space (prefix truncation) makes the log writable again.
    log.truncate(next / 2).unwrap();
    assert_eq!(log.append(&record(next)).unwrap(), next);
    log.close().unwrap();
    drop(fs);
}

#[test]
fn a_disk_that_fills_between_syncs_is_an_error_and_recovery_keeps_a_prefix() {
    let Some(fs) = Tmpfs::mount_or_skip() else {
        return;
    };
    let dir = fs.path.join("log");
    // A store larger than the file system, so that the store buffer's own
    // writes (every 256 KiB) are what meet the full disk, not a roll.
    let config = Config {
        max_store_bytes: 4 << 20,
        ..config()
    };
    let log = Log::open(&dir, config).unwrap();
    // No syncs: the store buffer writes itself out as it fills, and the
    // write that meets the full disk is retried, and reported, by a later
    // append.
    let mut acknowledged = 0;
    let err = loop {
        match log.append(&record(acknowledged)) {
            Ok(_) => acknowledged += 1,
            Err(e) => break e,
        }
        assert!(acknowledged < 1_000_000, "the disk never filled");
    };
    let dislog::Error::Storage(storage) = &err else {
        panic!("not a storage error: {err}");
    };
    assert_eq!(storage.kind(), StorageErrorKind::NoSpace, "{err}");
    assert_eq!(log.append(b"x").unwrap_err().code(), ErrorCode::Poisoned);
    drop(log);
    // Nothing was synced, so any prefix may be back, but only a prefix, and
    // every record in it as appended.
    let log = Log::open(&dir, config).unwrap();
    let next = log.next_offset();
    assert!(next <= acknowledged, "{next} vs {acknowledged}");
    for i in 0..next {
        assert_eq!(log.read(i).unwrap().payload.as_ref(), record(i).as_slice());
    }
    assert!(log.verify(10).is_empty());
    drop(log);
    drop(fs);
}

#[test]
fn an_open_that_fails_on_a_full_disk_leaves_nothing_behind() {
    let Some(fs) = Tmpfs::mount_or_skip() else {
        return;
    };
    // Fill the file system to the last block.
    let filler = fs.path.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while std::io::Write::write_all(&mut file, &block).is_ok() {}
    drop(file);
    let before: Vec<_> = std::fs::read_dir(&fs.path)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();

    let dir = fs.path.join("new/log");
    let err = Log::open(&dir, config()).unwrap_err();
    // On tmpfs the directories, the lock file and the empty store fit: the
    // open fails when the index grows, after creating all of them.
    let dislog::Error::Storage(storage) = &err else {
        panic!("not a storage error: {err}");
    };
    assert_eq!(storage.kind(), StorageErrorKind::NoSpace, "{err}");
    let after: Vec<_> = std::fs::read_dir(&fs.path)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(after, before, "a failed open left files or directories");
    drop(fs);
}

/// Remounts `at` read-only.
fn remount_read_only(at: &Path) -> bool {
    Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(at)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_read_only_file_system_is_a_clear_permission_error_and_changes_nothing() {
    let Some(fs) = Tmpfs::mount_or_skip() else {
        return;
    };
    let dir = fs.path.join("log");
    let log = Log::open(&dir, config()).unwrap();
    for i in 0..20 {
        log.append(&record(i)).unwrap();
    }
    log.close().unwrap();
    let before: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(remount_read_only(&fs.path), "remount read-only");

    // Root bypasses file modes, not a read-only mount: the writer's open
    // is refused with the path, a new log cannot be made, nothing changes.
    let err = Log::open(&dir, config()).unwrap_err();
    let dislog::Error::Storage(storage) = &err else {
        panic!("not a storage error: {err}")
    };
    assert_eq!(storage.kind(), StorageErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains(&*dir.to_string_lossy()), "{err}");
    let err = Log::open(fs.path.join("new"), config()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io, "{err}");
    assert!(!fs.path.join("new").exists());
    let after: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(before.len(), after.len());

    // Reading needs no write: a read-only open sees every record.
    let log = Log::open_read_only(&dir, config()).unwrap();
    assert_eq!(log.next_offset(), 20);
    assert_eq!(log.read(7).unwrap().payload.as_ref(), record(7).as_slice());
}
