//! The sync policies sync exactly when they say they do: counted on a
//! storage that records every file and directory sync, with a clock the test
//! moves by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use dislog_core::{
    Config, FileHint, Log, MemoryFile, MemoryStorage, Storage, StorageError, StorageFile,
    SyncPolicy,
};

/// [`MemoryStorage`] that counts syncs.
#[derive(Clone, Default)]
struct Counting {
    inner: MemoryStorage,
    file_syncs: Arc<AtomicUsize>,
    dir_syncs: Arc<AtomicUsize>,
}

impl Counting {
    /// File and directory syncs so far.
    fn syncs(&self) -> (usize, usize) {
        (
            self.file_syncs.load(Ordering::SeqCst),
            self.dir_syncs.load(Ordering::SeqCst),
        )
    }
}

struct CountingFile {
    inner: MemoryFile,
    syncs: Arc<AtomicUsize>,
}

impl Storage for Counting {
    type File = CountingFile;

    fn list(&self) -> Result<Vec<String>, StorageError> {
        self.inner.list()
    }

    fn open(&self, name: &str, hint: FileHint) -> Result<CountingFile, StorageError> {
        Ok(CountingFile {
            inner: self.inner.open(name, hint)?,
            syncs: Arc::clone(&self.file_syncs),
        })
    }

    fn create(&self, name: &str, hint: FileHint) -> Result<CountingFile, StorageError> {
        Ok(CountingFile {
            inner: self.inner.create(name, hint)?,
            syncs: Arc::clone(&self.file_syncs),
        })
    }

    fn remove(&self, name: &str) -> Result<(), StorageError> {
        self.inner.remove(name)
    }

    fn sync_dir(&self) -> Result<(), StorageError> {
        self.dir_syncs.fetch_add(1, Ordering::SeqCst);
        self.inner.sync_dir()
    }
}

impl StorageFile for CountingFile {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_into(&self, pos: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        self.inner.read_into(pos, buf)
    }

    fn read_at(&self, pos: u64, len: usize) -> Result<Cow<'_, [u8]>, StorageError> {
        self.inner.read_at(pos, len)
    }

    fn append(&mut self, data: &[u8]) -> Result<(), StorageError> {
        self.inner.append(data)
    }

    fn truncate(&mut self, len: u64) -> Result<(), StorageError> {
        self.inner.truncate(len)
    }

    fn flush(&mut self) -> Result<(), StorageError> {
        self.inner.flush()
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        self.inner.sync()
    }
}

/// The time the clock of [`at_now`] reads; only `every_millis` moves it.
static NOW: AtomicU64 = AtomicU64::new(1_000);

fn at_now() -> u64 {
    NOW.load(Ordering::SeqCst)
}

/// A fresh log under `policy` (segments large enough never to roll here).
fn open(policy: SyncPolicy) -> (Counting, Log<Counting>) {
    let storage = Counting::default();
    let config = Config {
        sync: policy,
        clock: at_now,
        ..Config::default()
    };
    let log = Log::open(storage.clone(), config).unwrap();
    (storage, log)
}

/// Appends one 10-byte record (a 34-byte frame) and returns how many file
/// syncs it caused.
fn append_syncs(storage: &Counting, log: &mut Log<Counting>) -> usize {
    let (before, _) = storage.syncs();
    log.append(&[7; 10]).unwrap();
    storage.syncs().0 - before
}

#[test]
fn manual_never_syncs_until_asked() {
    let (storage, mut log) = open(SyncPolicy::Manual);
    for _ in 0..20 {
        assert_eq!(append_syncs(&storage, &mut log), 0);
    }
    let (files, dirs) = storage.syncs();
    log.sync().unwrap();
    // The store and the index of the one segment, and the directory.
    assert_eq!(storage.syncs(), (files + 2, dirs + 1));
    // Nothing new: nothing to sync.
    log.sync().unwrap();
    assert_eq!(storage.syncs(), (files + 2, dirs + 1));
}

#[test]
fn every_append_syncs_each_append_and_batch_once() {
    let (storage, mut log) = open(SyncPolicy::EveryAppend);
    let (_, dirs) = storage.syncs();
    for _ in 0..5 {
        assert_eq!(append_syncs(&storage, &mut log), 2);
    }
    // The directory (dirty since open) once, then never again.
    assert_eq!(storage.syncs().1, dirs + 1);
    let (before, _) = storage.syncs();
    log.append_batch(&[[1u8; 10]; 8]).unwrap();
    assert_eq!(storage.syncs().0 - before, 2);
}

#[test]
fn every_bytes_syncs_at_the_append_that_crosses_the_mark() {
    let (storage, mut log) = open(SyncPolicy::EveryBytes(100));
    // 34, 68: below; 102: crosses and syncs (the count starts again).
    let pattern: Vec<usize> = (0..6).map(|_| append_syncs(&storage, &mut log)).collect();
    assert_eq!(pattern, [0, 0, 2, 0, 0, 2]);
    // An explicit sync resets the count too.
    append_syncs(&storage, &mut log);
    log.sync().unwrap();
    assert_eq!(append_syncs(&storage, &mut log), 0);
    assert_eq!(append_syncs(&storage, &mut log), 0);
    assert_eq!(append_syncs(&storage, &mut log), 2);
}

#[test]
fn every_millis_syncs_the_first_append_after_the_interval() {
    NOW.store(1_000, Ordering::SeqCst);
    let (storage, mut log) = open(SyncPolicy::EveryMillis(50));
    let mut at = |ms: u64| {
        NOW.store(ms, Ordering::SeqCst);
        append_syncs(&storage, &mut log)
    };
    assert_eq!(at(1_010), 0);
    assert_eq!(at(1_049), 0);
    assert_eq!(at(1_050), 2, "50 ms after open");
    assert_eq!(at(1_060), 0);
    assert_eq!(at(1_099), 0);
    assert_eq!(at(1_100), 2, "50 ms after the last sync");
    // Time passing without appends syncs nothing; the next append does.
    assert_eq!(at(5_000), 2);
    // A clock that goes back never syncs early.
    assert_eq!(at(10), 0);
}

#[test]
fn deferred_policy_syncs_are_left_to_the_caller_who_takes_each_once() {
    let (storage, mut log) = open(SyncPolicy::EveryBytes(100));
    log.defer_policy_syncs();
    // 34, 68: below the mark; 102: due, but not run by the append.
    let due: Vec<(usize, bool)> = (0..3)
        .map(|_| (append_syncs(&storage, &mut log), log.take_due_sync()))
        .collect();
    assert_eq!(due, [(0, false), (0, false), (0, true)]);
    assert!(!log.take_due_sync(), "taken once");
    assert_eq!(log.durable_next(), 0);
    // The caller's sync covers all three and starts the count again.
    log.sync().unwrap();
    assert_eq!(log.durable_next(), 3);
    assert_eq!(
        (append_syncs(&storage, &mut log), log.take_due_sync()),
        (0, false)
    );
    // A suffix truncation gives offsets out again: no longer durable until
    // its own sync (which it runs) says so.
    log.truncate_suffix(1).unwrap();
    assert_eq!(log.durable_next(), 1);
}

#[test]
fn a_retention_that_removes_nothing_leaves_the_directory_clean() {
    let (storage, mut log) = open(SyncPolicy::Manual);
    log.append(&[7; 10]).unwrap();
    log.sync().unwrap();
    let (_, dirs) = storage.syncs();
    assert_eq!(log.retain_bytes(u64::MAX).unwrap().segments, 0);
    assert_eq!(log.truncate(0).unwrap().segments, 0);
    log.sync().unwrap();
    assert_eq!(storage.syncs().1, dirs, "no directory sync for no removal");
}

#[test]
fn after_an_unclean_open_the_first_roll_makes_the_header_it_seals_durable() {
    // `Counting` never reports a clean close: every open is unclean, and
    // the active store's header may then be only in a page cache.
    let storage = Counting::default();
    let config = Config {
        max_store_bytes: 24 + 3 * 34,
        clock: at_now,
        ..Config::default()
    };
    let mut log = Log::open(storage.clone(), config).unwrap();
    for _ in 0..3 {
        log.append(&[7; 10]).unwrap();
    }
    drop(log);
    let mut log = Log::open(storage.clone(), config).unwrap();
    let rolls = |log: &mut Log<Counting>| {
        let before = (storage.syncs().0, log.segment_count());
        while log.segment_count() == before.1 {
            log.append(&[7; 10]).unwrap();
        }
        storage.syncs().0 - before.0
    };
    // The header of the store being sealed (`sync_prefix`, a whole sync
    // here: `Counting` keeps the default), then the new store's header.
    assert_eq!(rolls(&mut log), 2);
    // Its header is known to be on the media: only the new header.
    assert_eq!(rolls(&mut log), 1);
    drop(log);
    // A sync after the unclean open puts every header on the media too.
    let mut log = Log::open(storage.clone(), config).unwrap();
    log.sync().unwrap();
    assert_eq!(rolls(&mut log), 1);
}
