//! Removing the oldest segments in two steps: [`Log::detach`] takes them out
//! of the log (quick, under the caller's exclusive access), then
//! [`Detached::remove_files`] deletes their files (directory syncs and
//! unlinks, which may take milliseconds each), which needs only the storage:
//! a thread-safe wrapper runs it without blocking appends and reads, then
//! hands the outcome to [`Log::settle`].
//!
//! [`Log::detach`]: crate::Log::detach
//! [`Log::settle`]: crate::Log::settle

use alloc::vec::Vec;

use crate::error::Result;
use crate::log::Removed;
use crate::segment::remove_files;
use crate::slot::Slot;
use crate::storage::Storage;

/// Which of the oldest segments a removal takes (never the active one,
/// except as [`Oldest::Below`] says).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Oldest {
    /// Retention by size: while the log holds more than this many bytes
    /// ([`crate::Log::retain_bytes`]).
    WhileOverBytes(u64),
    /// Retention by age: those whose records all have timestamps before
    /// this one ([`crate::Log::retain_since`]).
    OlderThan(u64),
    /// Prefix truncation: those whose records all lie below this offset;
    /// when every record does, the active segment too, after a roll
    /// ([`crate::Log::truncate`]).
    Below(u64),
}

/// Segments taken out of the log whose files are still to be deleted, oldest
/// first. Until [`Detached::remove_files`] runs, the files stay on disk and
/// a reopen finds the segments again (their records come back); nothing is
/// lost either way.
#[derive(Debug)]
#[must_use = "the detached segments' files stay until `remove_files` runs"]
pub struct Detached<F> {
    pub(crate) segments: Vec<Slot<F>>,
    pub(crate) removed: Removed,
}

impl<F> Detached<F> {
    /// What the removal takes.
    pub fn removed(&self) -> Removed {
        self.removed
    }

    /// Deletes the segments' files, oldest first, each removal after a
    /// directory sync that makes every earlier creation and removal durable
    /// (names are durable in no particular order until then, and a removal
    /// that landed while an earlier one did not would leave a gap, which
    /// recovery resolves by dropping the newer side). The first removal
    /// syncs the directory too, whatever the log's flags say: a sync begun
    /// before it may have taken the directory's pending changes and not
    /// have made them durable yet. The last removal is left for the log's
    /// next sync; pass the outcome to [`crate::Log::settle`]. Removals of
    /// one log must not overlap: run one at a time.
    pub fn remove_files<S: Storage<File = F>>(self, storage: &S) -> Result<Removed> {
        let Detached { segments, removed } = self;
        for segment in segments {
            let base = segment.base;
            drop(segment);
            storage.sync_dir()?;
            remove_files(storage, base)?;
        }
        Ok(removed)
    }
}
