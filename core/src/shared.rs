//! A thread-safe handle: many readers, one writer at a time, without std.

use alloc::sync::Arc;
use alloc::vec::Vec;

use spin::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::error::Result;
use crate::log::Log;
use crate::record::Record;
use crate::storage::Storage;

/// A [`Log`] behind a `spin::RwLock`, cheap to clone and share between
/// threads. Reads take the lock shared, so they run in parallel; appends,
/// truncation and retention take it exclusively, one at a time.
///
/// The lock spins: keep read guards short (the std layers use a blocking
/// lock instead).
pub struct SharedLog<S: Storage> {
    inner: Arc<RwLock<Log<S>>>,
}

impl<S: Storage> Clone for SharedLog<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: Storage> SharedLog<S> {
    /// Shares `log`.
    pub fn new(log: Log<S>) -> Self {
        Self {
            inner: Arc::new(RwLock::new(log)),
        }
    }

    /// Shared access, for zero-copy reads: the records borrowed from the
    /// guard stay valid while it lives.
    pub fn read(&self) -> RwLockReadGuard<'_, Log<S>> {
        self.inner.read()
    }

    /// Exclusive access, for changes.
    pub fn write(&self) -> RwLockWriteGuard<'_, Log<S>> {
        self.inner.write()
    }

    /// Appends one record; see [`Log::append`].
    pub fn append(&self, payload: &[u8]) -> Result<u64> {
        self.write().append(payload)
    }

    /// Appends a batch; see [`Log::append_batch`].
    pub fn append_batch<R: AsRef<[u8]>>(&self, records: &[R]) -> Result<u64> {
        self.write().append_batch(records)
    }

    /// Reads one record into an owned copy; see [`Log::read`].
    pub fn read_owned(&self, offset: u64) -> Result<Record<'static>> {
        self.read().read(offset).map(Record::into_owned)
    }

    /// Reads one record and hands it to `f` without copying the payload.
    pub fn read_with<T>(&self, offset: u64, f: impl FnOnce(&Record<'_>) -> T) -> Result<T> {
        let log = self.read();
        let record = log.read(offset)?;
        Ok(f(&record))
    }

    /// Reads up to `max` records from `from` into owned copies.
    pub fn read_many(&self, from: u64, max: usize) -> Result<Vec<Record<'static>>> {
        let log = self.read();
        log.iter(from)?
            .take(max)
            .map(|r| r.map(Record::into_owned))
            .collect()
    }

    /// The offset the next append will get.
    pub fn next_offset(&self) -> u64 {
        self.read().next_offset()
    }

    /// Unwraps the log when this is the last handle.
    pub fn try_into_inner(self) -> Result<Log<S>, Self> {
        Arc::try_unwrap(self.inner)
            .map(RwLock::into_inner)
            .map_err(|inner| Self { inner })
    }
}
