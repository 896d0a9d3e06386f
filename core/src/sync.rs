//! Syncing in three steps, so that the slow part runs beside appends:
//! [`Log::begin_sync`] flushes the dirty segments and takes a
//! [`FileSyncer`] for each of their files (quick, under the caller's
//! exclusive access); [`SyncJob::run`] makes them durable (`fdatasync`s and
//! the directory's sync, milliseconds each), which needs only the storage;
//! [`Log::finish_sync`] takes the outcome.
//!
//! [`Log::begin_sync`]: crate::Log::begin_sync
//! [`Log::finish_sync`]: crate::Log::finish_sync

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::error::Result;
use crate::storage::{FileSyncer, Storage};

/// What a sync begun by [`crate::Log::begin_sync`] has left to do.
#[must_use = "a sync is only done once the job has run and its outcome is finished"]
pub struct SyncJob {
    /// The flushed files to make durable, in the order of the log's own
    /// sync: segment by segment, store before index.
    pub(crate) files: Vec<Box<dyn FileSyncer>>,
    /// Whether the directory's names need syncing too.
    pub(crate) dir: bool,
    /// The log's unsynced bytes when the sync began: those are durable once
    /// it is done.
    pub(crate) unsynced_bytes: u64,
    /// The clock when the sync began.
    pub(crate) started_ms: u64,
    /// The log's next offset when the sync began: every record below it is
    /// durable once the job has run.
    pub(crate) next: u64,
    /// The log's count of rewinds (suffix truncations, resets) then.
    pub(crate) rewinds: u64,
    /// Bases of the segments among `files` whose store header was not yet
    /// known to be on the media: it is once the job has run.
    pub(crate) headers: Vec<u64>,
}

impl core::fmt::Debug for SyncJob {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SyncJob")
            .field("files", &self.files.len())
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl SyncJob {
    /// Makes the files flushed by [`crate::Log::begin_sync`] durable, then
    /// the directory's names if they changed; stops at the first failure.
    /// Pass the outcome to [`crate::Log::finish_sync`]. Syncs of one log
    /// must not overlap: run one job at a time (a job that began while
    /// another ran would find the other's files clean and skip them).
    pub fn run<S: Storage>(&self, storage: &S) -> Result<()> {
        for file in &self.files {
            file.sync()?;
        }
        if self.dir {
            storage.sync_dir()?;
        }
        Ok(())
    }
}
