//! [`Log`]: a thread-safe log in a directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Condvar, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use dislog_core::{
    parse_file_name, Clock, Config, Error, Oldest, Record, Removed, Repair, Result, SegmentInfo,
    Storage, StorageError, StorageErrorKind,
};

use crate::file::FileStorage;

/// Where [`Log::wait_for`] sleeps until an append wakes it.
///
/// A waiter reads the log's next offset itself (under the read lock), so an
/// append stores nothing for it: after the write lock is released, the
/// appender reads `waiters` and only when it is non-zero takes the mutex and
/// wakes the condvar. A waiter registers in `waiters` (a sequentially
/// consistent read-modify-write) *before* it reads the next offset under
/// the mutex. Either its read lock came after the appender's write lock was
/// released, and it sees the record; or its read unlock came before the
/// appender's write lock was taken, which then synchronises with it, and the
/// appender's read of `waiters` sees the registration and wakes the waiter
/// (after the waiter is asleep, since the waiter holds the mutex from its
/// check until it sleeps). No wake-up is lost, and nothing polls. The
/// appender never holds the write lock while it takes the mutex, and the
/// waiter takes the read lock while it holds the mutex: one order, no
/// deadlock.
#[derive(Debug, Default)]
struct Tail {
    waiters: AtomicUsize,
    lock: Mutex<()>,
    cond: Condvar,
}

impl Tail {
    /// After a write, with the write lock released: wakes the waiters, if
    /// any (a load on every append, inlined; the wake-up out of line).
    #[inline]
    fn wake(&self) {
        if self.waiters.load(SeqCst) > 0 {
            self.wake_all();
        }
    }

    /// Wakes every waiter.
    #[cold]
    #[inline(never)]
    fn wake_all(&self) {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.cond.notify_all();
    }

    /// Waits until `next()` (the log's next offset, read under its read
    /// lock) is above `offset` or `timeout` passes.
    fn wait_for(&self, offset: u64, timeout: Duration, next: impl Fn() -> u64) -> bool {
        if next() > offset {
            return true;
        }
        let deadline = Instant::now().checked_add(timeout);
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.waiters.fetch_add(1, SeqCst);
        let found = loop {
            if next() > offset {
                break true;
            }
            guard = match deadline {
                None => self
                    .cond
                    .wait(guard)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break false;
                    }
                    self.cond
                        .wait_timeout(guard, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        };
        self.waiters.fetch_sub(1, SeqCst);
        found
    }
}

/// The turn to sync: one sync (or call that syncs) at a time, and a place
/// for writers whose records a running sync covers to wait for it to end.
#[derive(Debug, Default)]
struct SyncTurn {
    /// Whether a sync runs.
    busy: Mutex<bool>,
    /// Signalled when one ends.
    ended: Condvar,
}

impl SyncTurn {
    /// Runs `f` once no other sync runs, as the only one.
    fn take<T>(&self, f: impl FnOnce() -> T) -> T {
        let _turn = self.acquire(|| false);
        f()
    }

    /// Runs `f` as the only sync, unless `done` (checked whenever no sync
    /// runs, and after each that ends) says there is no need: a writer
    /// whose records the running sync covers waits for it instead of
    /// running one of its own (a group commit).
    fn unless<T>(&self, done: impl Fn() -> bool, f: impl FnOnce() -> T) -> Option<T> {
        let _turn = self.acquire(done)?;
        Some(f())
    }

    /// Waits until `done` or no sync runs; the turn in the second case.
    fn acquire(&self, done: impl Fn() -> bool) -> Option<Turn<'_>> {
        let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if done() {
                return None;
            }
            if !*busy {
                *busy = true;
                return Some(Turn(self));
            }
            busy = self
                .ended
                .wait(busy)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// A turn to sync; dropping it (also when the sync panicked) ends it.
struct Turn<'a>(&'a SyncTurn);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        *self.0.busy.lock().unwrap_or_else(PoisonError::into_inner) = false;
        self.0.ended.notify_all();
    }
}

/// A log in a directory, thread-safe: share it with `Arc<Log>`.
///
/// Reads ([`Log::read`], [`Log::read_with`], [`Log::reader`]) take a shared
/// lock and run in parallel; appends, truncations and retention take it
/// exclusively, one at a time. [`Log::wait_for`] blocks without holding
/// either.
///
/// Dropping a `Log` without [`Log::close`] is an unclean shutdown: buffered
/// records are handed to the operating system, but nothing is synced and
/// the index keeps its preallocated tail, which the next open repairs.
///
/// ```
/// # fn main() -> dislog::Result<()> {
/// # let tmp = tempfile::tempdir().map_err(|e| dislog::Error::Storage(e.into()))?;
/// # let dir = tmp.path().join("log");
/// let log = dislog::Log::open(&dir, dislog::Config::default())?;
/// let first = log.append(b"hello")?;
/// log.append_batch(&[b"a", b"b"])?;
/// assert_eq!(&*log.read(first)?.payload, b"hello");
/// log.close()?;
/// let log = dislog::Log::open(&dir, dislog::Config::default())?;
/// assert_eq!(log.next_offset(), 3);
/// # log.close()
/// # }
/// ```
#[derive(Debug)]
pub struct Log {
    inner: RwLock<dislog_core::Log<FileStorage>>,
    tail: Tail,
    storage: FileStorage,
    /// Held by a removal of segments from the time it takes them out of the
    /// log until their files are gone, and by a suffix truncation or a
    /// reset: removals run one at a time (their order on disk matters), and
    /// neither of the others can create a segment under a name whose
    /// removal is still to come.
    removal: Mutex<()>,
    /// Taken by [`Log::sync`] (and so by the policy's syncs after appends)
    /// from the start of its sync to its end, and by the calls that sync
    /// inside the write lock (a suffix truncation, a reset): a sync that
    /// began while another ran would find that one's files marked synced and
    /// return before they are. Taken after `removal`, before the write lock.
    syncing: SyncTurn,
    /// The engine's clock (its config's), read by [`Log::append`] and
    /// [`Log::append_batch`] before they take the write lock.
    clock: Clock,
}

/// The error every write method of a read-only log returns.
fn read_only_error() -> Error {
    Error::Storage(StorageError::new(
        StorageErrorKind::Unsupported,
        "log is opened read-only",
    ))
}

/// Undoes what a failed open created: the lock file if it made it and,
/// when the directory held no log before (`fresh`), the segment files and
/// the directories it created. Anything else is left alone.
fn undo_open(storage: FileStorage, fresh: bool, created_dirs: Option<PathBuf>) {
    if fresh {
        if let Ok(names) = storage.list() {
            for name in names.iter().filter(|n| parse_file_name(n).is_some()) {
                let _ = storage.remove(name);
            }
        }
    }
    if storage.lock().is_some_and(|l| l.created()) {
        let _ = storage.remove_lock_file();
    }
    let dir = storage.path().to_path_buf();
    drop(storage);
    remove_created_dirs(&dir, created_dirs);
}

/// Removes `dir` and its ancestors up to `top` while they are empty.
fn remove_created_dirs(dir: &Path, top: Option<PathBuf>) {
    let Some(top) = top else { return };
    for ancestor in dir.ancestors() {
        if std::fs::remove_dir(ancestor).is_err() || ancestor == top {
            break;
        }
    }
}

impl Log {
    /// Opens the log in `dir`, creating the directory (and missing parents)
    /// and an empty log when needed, and recovering it after an unclean
    /// shutdown. Takes the directory's writer lock: a second open of the
    /// same directory, in this process or another, fails with
    /// [`dislog_core::ErrorCode::Locked`].
    ///
    /// A failed open of a new log leaves nothing behind (no segment file,
    /// no lock file, no directory it created).
    ///
    /// After a clean close, only the active segment is opened (and
    /// checked) here; each sealed segment is opened, with the same checks,
    /// when a read, a lookup or a change first needs it. A sealed segment
    /// damaged since the close is then reported as `CORRUPT` by that call
    /// (and by [`Log::verify`]), and the close of this log is left unclean,
    /// so that the next open checks and repairs every segment.
    /// [`Log::open_checked`] does that at once.
    pub fn open(dir: impl AsRef<Path>, config: Config) -> Result<Log> {
        Self::create_with(dir.as_ref(), config, dislog_core::Log::open)
    }

    /// [`Log::open`] that checks every segment now, and repairs what
    /// recovery can, as after a crash, even when the last close was clean
    /// (what `dislog verify --repair` runs).
    pub fn open_checked(dir: impl AsRef<Path>, config: Config) -> Result<Log> {
        Self::create_with(dir.as_ref(), config, |storage, config| {
            storage.check_every_segment();
            dislog_core::Log::open(storage, config)
        })
    }

    /// [`Log::restore`] and [`Log::open`]: takes the directory, then builds
    /// the engine with `build`, undoing a new directory on failure.
    fn create_with(
        dir: &Path,
        config: Config,
        build: impl FnOnce(FileStorage, Config) -> Result<dislog_core::Log<FileStorage>>,
    ) -> Result<Log> {
        config.validate()?;
        let config = crate::clock::native(config);
        let (storage, created_dirs) = FileStorage::open_tracking(dir);
        let storage = match storage {
            Ok(storage) => storage,
            Err(e) => {
                remove_created_dirs(dir, created_dirs);
                return Err(e.into());
            }
        };
        // The listing is kept for the engine's, which then lists nothing.
        let fresh = match storage.holds_log() {
            Ok(held) => !held,
            Err(e) => {
                undo_open(storage, false, created_dirs);
                return Err(e.into());
            }
        };
        match build(storage.share(), config) {
            Ok(log) => {
                storage.forget_listing();
                if let Some(lock) = storage.lock() {
                    lock.mark_recovered();
                }
                Ok(Self::wrap(log, storage))
            }
            Err(e) => {
                undo_open(storage, fresh, created_dirs);
                Err(e)
            }
        }
    }

    /// Opens the log in `dir` without taking the lock and without changing
    /// anything on disk: recovery happens in memory, and every write method
    /// returns an error. Made for reading beside a live writer (it sees
    /// the records the writer had flushed when it opened).
    ///
    /// Fails with a `NotFound` storage error when `dir` holds no log.
    pub fn open_read_only(dir: impl AsRef<Path>, config: Config) -> Result<Log> {
        let storage = FileStorage::open_read_only(dir)?;
        if !storage.holds_log()? {
            return Err(Error::Storage(StorageError::new(
                StorageErrorKind::NotFound,
                format!(
                    "{}: no dislog log in this directory",
                    storage.path().display()
                ),
            )));
        }
        let log = dislog_core::Log::open(storage.share(), crate::clock::native(config))?;
        storage.forget_listing();
        Ok(Self::wrap(log, storage))
    }

    /// Builds a new log in `dir` (which must not hold one) from snapshot
    /// bytes (see [`Log::snapshot`]); offsets and timestamps are kept. On
    /// any error nothing is left behind.
    pub fn restore(dir: impl AsRef<Path>, config: Config, snapshot: &[u8]) -> Result<Log> {
        Self::create_with(dir.as_ref(), config, |storage, config| {
            dislog_core::Log::restore(storage, config, snapshot)
        })
    }

    fn wrap(mut log: dislog_core::Log<FileStorage>, storage: FileStorage) -> Self {
        log.defer_policy_syncs();
        let clock = log.config().clock;
        Self {
            clock,
            inner: RwLock::new(log),
            tail: Tail::default(),
            storage,
            removal: Mutex::new(()),
            syncing: SyncTurn::default(),
        }
    }

    /// Shared access to the engine, for zero-copy iteration:
    /// `log.reader().iter(from)?`. Writers wait while the guard lives: keep
    /// it short, and take no other lock of this log ([`Log::wait_for`] or
    /// another call) while it lives.
    pub fn reader(&self) -> RwLockReadGuard<'_, dislog_core::Log<FileStorage>> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Exclusive access for a change; refused when read-only.
    fn writer(&self) -> Result<RwLockWriteGuard<'_, dislog_core::Log<FileStorage>>> {
        if self.is_read_only() {
            return Err(read_only_error());
        }
        Ok(self.inner.write().unwrap_or_else(PoisonError::into_inner))
    }

    /// Whether the log was opened with [`Log::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.storage.is_read_only()
    }

    /// Appends a record stamped with the config's clock; returns its offset.
    ///
    /// The clock is read before the write lock is taken
    /// ([`dislog_core::Log::append_clocked`] says how concurrent appends are
    /// stamped then): an ordered TSC read waits for every earlier
    /// instruction, the lock's compare-exchange among them.
    pub fn append(&self, payload: &[u8]) -> Result<u64> {
        let now = (self.clock)();
        self.write_then_sync(|log| log.append_clocked(payload, now))
    }

    /// Appends a record with a caller-chosen timestamp (ms since the Unix
    /// epoch); returns its offset.
    pub fn append_at(&self, payload: &[u8], timestamp_ms: u64) -> Result<u64> {
        self.write_then_sync(|log| log.append_at(payload, timestamp_ms))
    }

    /// Appends records with consecutive offsets, all or none; returns the
    /// first offset. An empty batch is an invalid argument.
    pub fn append_batch<R: AsRef<[u8]>>(&self, records: &[R]) -> Result<u64> {
        let now = (self.clock)();
        self.write_then_sync(|log| log.append_batch_clocked(records, now))
    }

    /// Runs `write` under the write lock, then the sync the policy asked
    /// for, if any, after the lock is released ([`Log::sync`]): the write
    /// returns once it is durable, while other threads' writes go on, and
    /// each sync covers every write before it (a group commit).
    #[inline]
    fn write_then_sync(
        &self,
        write: impl FnOnce(&mut dislog_core::Log<FileStorage>) -> Result<u64>,
    ) -> Result<u64> {
        let (offset, due) = {
            let mut log = self.writer()?;
            let offset = write(&mut log)?;
            let due = log.take_due_sync().then(|| log.next_offset());
            (offset, due)
        };
        // The write lock is released: see `Tail`.
        self.tail.wake();
        if let Some(end) = due {
            self.sync_through(end)?;
        }
        Ok(offset)
    }

    /// Makes every record below `end` durable: waits for the sync under
    /// way, if any, and returns when it (or one before) did; runs one
    /// otherwise.
    fn sync_through(&self, end: u64) -> Result<()> {
        self.syncing
            .unless(|| self.reader().durable_next() >= end, || self.run_sync())
            .unwrap_or(Ok(()))
    }

    /// Reads the record at `offset` into an owned copy, checking its
    /// checksum.
    pub fn read(&self, offset: u64) -> Result<Record<'static>> {
        self.reader().read(offset).map(Record::into_owned)
    }

    /// Reads the record at `offset` and hands it to `f` without copying the
    /// payload (it is borrowed from the file mapping or the append buffer).
    pub fn read_with<T>(&self, offset: u64, f: impl FnOnce(&Record<'_>) -> T) -> Result<T> {
        let log = self.reader();
        let record = log.read(offset)?;
        Ok(f(&record))
    }

    /// Reads the records at `offsets` under one shared lock and hands each
    /// to `f`, in order, with its offset: zero-copy and checksum checked,
    /// as [`Log::read_with`] does for one. For many random offsets at once:
    /// their cache misses overlap ([`dislog_core::Log::read_many`]).
    pub fn read_many_with(&self, offsets: &[u64], f: impl FnMut(u64, Result<Record<'_>>)) {
        self.reader().read_many(offsets, f);
    }

    /// The offset of the oldest record, `None` when the log is empty.
    pub fn lowest_offset(&self) -> Option<u64> {
        self.reader().lowest_offset()
    }

    /// The offset of the newest record, `None` when the log is empty.
    pub fn highest_offset(&self) -> Option<u64> {
        self.reader().highest_offset()
    }

    /// The offset the next appended record will get.
    pub fn next_offset(&self) -> u64 {
        self.reader().next_offset()
    }

    /// Records held.
    pub fn len(&self) -> u64 {
        self.reader().len()
    }

    /// Whether the log holds no records.
    pub fn is_empty(&self) -> bool {
        self.reader().is_empty()
    }

    /// Store and index bytes held, headers included. Opens the sealed
    /// segments not opened since a clean close, which can fail (see
    /// [`Log::open`]).
    pub fn size_bytes(&self) -> Result<u64> {
        self.reader().size_bytes()
    }

    /// How many segments the log has (opening none).
    pub fn segment_count(&self) -> usize {
        self.reader().segment_count()
    }

    /// One description per segment, oldest first. Opens the sealed
    /// segments not opened since a clean close, as [`Log::size_bytes`].
    pub fn segments(&self) -> Result<Vec<SegmentInfo>> {
        self.reader().segments()
    }

    /// Prefix truncation by whole segments: removes every segment whose
    /// records all lie below `lowest`. Appends and reads wait only while the
    /// segments are taken out of the log, not for their files' removal.
    pub fn truncate(&self, lowest: u64) -> Result<Removed> {
        self.remove_oldest(Oldest::Below(lowest))
    }

    /// Removes every record at `from` and after, durably; the next append
    /// gets offset `from`.
    pub fn truncate_suffix(&self, from: u64) -> Result<()> {
        let _removal = self.removal.lock().unwrap_or_else(PoisonError::into_inner);
        self.syncing.take(|| self.writer()?.truncate_suffix(from))
    }

    /// Rewrites from its store the index of every segment where an index
    /// entry contradicts the store while every record checks, durably; see
    /// [`dislog_core::Log::repair_indexes`]. Reads every record; appends and
    /// reads wait meanwhile.
    pub fn repair_indexes(&self) -> Result<Vec<Repair>> {
        self.syncing.take(|| self.writer()?.repair_indexes())
    }

    /// Removes the oldest segments while the log holds more than
    /// `max_bytes`; never the active segment. Appends and reads wait only
    /// while the segments are taken out of the log, not for their files'
    /// removal.
    pub fn retain_bytes(&self, max_bytes: u64) -> Result<Removed> {
        self.remove_oldest(Oldest::WhileOverBytes(max_bytes))
    }

    /// Removes the oldest segments whose records are all older than
    /// `timestamp_ms`; never the active segment. Appends and reads wait
    /// only while the segments are taken out of the log, not for their
    /// files' removal.
    pub fn retain_since(&self, timestamp_ms: u64) -> Result<Removed> {
        self.remove_oldest(Oldest::OlderThan(timestamp_ms))
    }

    /// Takes the segments out under the write lock, deletes their files
    /// (directory syncs and unlinks: milliseconds each) under no lock of the
    /// log, then records the outcome under the write lock again.
    fn remove_oldest(&self, which: Oldest) -> Result<Removed> {
        let _one = self.removal.lock().unwrap_or_else(PoisonError::into_inner);
        let detached = self.writer()?.detach(which)?;
        if detached.removed().segments == 0 {
            return Ok(detached.removed());
        }
        let outcome = detached.remove_files(&self.storage);
        self.writer()?.settle(outcome)
    }

    /// The first offset whose record timestamp is at least `timestamp_ms`.
    pub fn offset_for_timestamp(&self, timestamp_ms: u64) -> Result<Option<u64>> {
        self.reader().offset_for_timestamp(timestamp_ms)
    }

    /// Blocks until a record with offset `offset` or later exists (that is,
    /// [`Log::next_offset`] `> offset`) or `timeout` passes; returns whether
    /// it exists. Woken by appends, never polls, holds no lock of the log
    /// while it waits (it takes the read lock for each check, as
    /// [`Log::next_offset`] does: never call it while this thread holds a
    /// [`Log::reader`] guard, which would keep the append it waits for out,
    /// and could block the check itself behind a waiting writer).
    /// `Duration::MAX` waits without limit.
    pub fn wait_for(&self, offset: u64, timeout: Duration) -> Result<bool> {
        Ok(self.tail.wait_for(offset, timeout, || self.next_offset()))
    }

    /// Hands buffered appends to the operating system (survives a crash of
    /// the process, not of the machine).
    pub fn flush(&self) -> Result<()> {
        self.writer()?.flush()
    }

    /// Makes every record appended so far durable (and every truncation).
    /// Appends and reads wait only while the buffers are written out, not
    /// for the `fdatasync`s: those run after the write lock is released
    /// ([`dislog_core::Log::begin_sync`]). Syncs from several threads run
    /// one at a time.
    pub fn sync(&self) -> Result<()> {
        self.syncing.take(|| self.run_sync())
    }

    /// One sync, its `fdatasync`s outside the write lock; the caller holds
    /// `syncing`.
    fn run_sync(&self) -> Result<()> {
        let job = self.writer()?.begin_sync()?;
        let outcome = job.run(&self.storage);
        self.writer()?.finish_sync(job, outcome)
    }

    /// The whole log as snapshot bytes (see `FORMAT.md`).
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        self.reader().snapshot()
    }

    /// Streams the snapshot into `out`; returns the bytes written.
    pub fn snapshot_to(&self, out: &mut impl Write) -> Result<u64> {
        let log = self.reader();
        let mut written = 0;
        for chunk in log.snapshot_chunks() {
            let chunk = chunk?;
            out.write_all(&chunk)
                .map_err(|e| Error::Storage(StorageError::from(e)))?;
            written += chunk.len() as u64;
        }
        Ok(written)
    }

    /// Reads every record and checks the index; returns up to `limit`
    /// problems (none when the log is intact).
    pub fn verify(&self, limit: usize) -> Vec<Error> {
        self.reader().verify(limit)
    }

    /// What recovery changed when the log was opened.
    pub fn repairs(&self) -> Vec<Repair> {
        self.reader().repairs().to_vec()
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.storage.path()
    }

    /// Closes cleanly: syncs, trims the preallocated index files, releases
    /// the lock. The next open has nothing to repair.
    pub fn close(self) -> Result<()> {
        let Self { inner, storage, .. } = self;
        let engine = inner.into_inner().unwrap_or_else(PoisonError::into_inner);
        // A sealed segment found damaged since the open leaves the close
        // unclean: the next open checks and repairs every segment.
        let damaged = engine.found_damage();
        let closed = engine.close();
        if closed.is_ok() && !damaged {
            if let Some(lock) = storage.lock() {
                lock.mark_clean();
            }
        }
        drop(storage);
        closed
    }

    /// Deletes every file of the log and the lock file, leaving the
    /// directory and any foreign file in it.
    pub fn remove(self) -> Result<()> {
        if self.is_read_only() {
            return Err(read_only_error());
        }
        let Self { inner, storage, .. } = self;
        inner
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .remove()?;
        if storage.lock().is_some() {
            storage.remove_lock_file()?;
        }
        Ok(())
    }

    /// Deletes every record and starts again, empty, at the config's initial
    /// offset.
    pub fn reset(&self) -> Result<()> {
        let _removal = self.removal.lock().unwrap_or_else(PoisonError::into_inner);
        self.syncing.take(|| self.writer()?.reset())
    }
}
