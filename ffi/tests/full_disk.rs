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

/// Held by each test for its whole run. A test spawns `mount`: the child
/// holds a copy of the process's file descriptors until it execs, so the
/// files a test running beside it deletes keep their blocks meanwhile, and
/// on a loaded machine that test's freed space is not free yet (it then saw
/// `NoSpace` where space had been freed). One test at a time avoids it.
static SERIAL: Mutex<()> = Mutex::new(());

/// The test lock; a test that failed while holding it does not matter.
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A mounted tmpfs, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path) -> Option<Self> {
        std::fs::create_dir_all(at).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
            .arg(at)
            .stderr(std::process::Stdio::null())
            .status()
            .ok()?;
        status.success().then(|| Self(at.to_path_buf()))
    }
}

impl Tmpfs {
    /// A tmpfs at `dir/mnt`, or `None` (saying the test is skipped) where
    /// mounting is refused.
    fn mount_or_skip(dir: &Path) -> Option<Self> {
        let fs = Self::mount(&dir.join("mnt"));
        if fs.is_none() {
            eprintln!("skipped: cannot mount a tmpfs here (not root?)");
        }
        fs
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
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
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount_or_skip(tmp.path()) else {
        return;
    };
    let dir = fs.0.join("log");
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
fn an_open_that_fails_on_a_full_disk_leaves_nothing_behind() {
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount_or_skip(tmp.path()) else {
        return;
    };
    // Fill the file system to the last block.
    let filler = fs.0.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while std::io::Write::write_all(&mut file, &block).is_ok() {}
    drop(file);
    let before: Vec<_> = std::fs::read_dir(&fs.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();

    let dir = fs.0.join("new/log");
    let err = Log::open(&dir, config()).unwrap_err();
    // On tmpfs the directories, the lock file and the empty store fit: the
    // open fails when the index grows, after creating all of them.
    let dislog::Error::Storage(storage) = &err else {
        panic!("not a storage error: {err}");
    };
    assert_eq!(storage.kind(), StorageErrorKind::NoSpace, "{err}");
    let after: Vec<_> = std::fs::read_dir(&fs.0)
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
    let _serial = serial();
    let tmp = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount_or_skip(tmp.path()) else {
        return;
    };
    let dir = fs.0.join("log");
    let log = Log::open(&dir, config()).unwrap();
    for i in 0..20 {
        log.append(&record(i)).unwrap();
    }
    log.close().unwrap();
    let before: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(remount_read_only(&fs.0), "remount read-only");

    // Root bypasses file modes, not a read-only mount: the writer's open
    // is refused with the path, a new log cannot be made, nothing changes.
    let err = Log::open(&dir, config()).unwrap_err();
    let dislog::Error::Storage(storage) = &err else {
        panic!("not a storage error: {err}")
    };
    assert_eq!(storage.kind(), StorageErrorKind::PermissionDenied, "{err}");
    assert!(err.to_string().contains(&*dir.to_string_lossy()), "{err}");
    let err = Log::open(fs.0.join("new"), config()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Io, "{err}");
    assert!(!fs.0.join("new").exists());
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
