//! The storage trait family: what a backend must provide, and what the log
//! assumes of it after a power loss.
//!
//! A [`Storage`] is a flat directory of named byte files. Each [`StorageFile`]
//! is appendable, positionally readable, truncatable, flushable and syncable.
//! Three backends implement it: [`crate::MemoryStorage`] (in this crate), the
//! mmap file backend of the `dislog` crate, and the fault-injecting simulator
//! used by the reliability tests.
//!
//! # The power-loss contract
//!
//! Each method below says what the media may hold if power is lost while it
//! runs, or at any time after it returns but before the next successful
//! [`StorageFile::sync`]. The log's recovery (see `FORMAT.md`) relies on
//! exactly these statements and nothing more:
//!
//! * bytes that were covered by a completed `sync` are intact;
//! * anything written or truncated since the last `sync` may be in any state:
//!   absent, present, partly present, zeroed or garbage, and the file length may
//!   be anywhere between the synced length and the live length — or longer, for
//!   backends that preallocate;
//! * a file created or removed since the last [`Storage::sync_dir`] may or may
//!   not exist.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// What went wrong inside a storage backend, as a category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// The named file does not exist.
    NotFound,
    /// The file or directory may not be accessed.
    PermissionDenied,
    /// The device is full (or a quota was reached).
    NoSpace,
    /// Another writer holds the log (an advisory lock is taken).
    Locked,
    /// The file is already open through this storage.
    Busy,
    /// A read ran past the end of the file.
    UnexpectedEof,
    /// The operation is not supported by this backend.
    Unsupported,
    /// An injected fault (test backends only).
    Injected,
    /// Any other I/O failure.
    Other,
}

impl StorageErrorKind {
    /// A short, stable, human-readable name for the kind.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not found",
            Self::PermissionDenied => "permission denied",
            Self::NoSpace => "no space left on device",
            Self::Locked => "log is locked by another writer",
            Self::Busy => "file is already open",
            Self::UnexpectedEof => "read past end of file",
            Self::Unsupported => "unsupported operation",
            Self::Injected => "injected fault",
            Self::Other => "I/O error",
        }
    }
}

/// An error from a storage backend: a kind plus a human-readable detail.
///
/// This is the `no_std` stand-in for `std::io::Error`; with the `std` feature
/// it converts from one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageError {
    kind: StorageErrorKind,
    detail: String,
    /// Made by [`StorageError::out_of_memory`].
    out_of_memory: bool,
}

impl StorageError {
    /// The error of a buffer that cannot grow: [`StorageErrorKind::NoSpace`],
    /// "out of memory". A file call that returns it changed nothing (its
    /// content and length are as before the call), so the log does not
    /// poison itself for it ([`StorageError::is_out_of_memory`]).
    pub fn out_of_memory() -> Self {
        Self {
            out_of_memory: true,
            ..Self::new(StorageErrorKind::NoSpace, "out of memory")
        }
    }

    /// Whether this is [`StorageError::out_of_memory`]'s error: a call that
    /// changed nothing. The log undoes the rest of an append that gets it
    /// and stays writable.
    pub fn is_out_of_memory(&self) -> bool {
        self.out_of_memory
    }

    /// Creates an error of `kind` with a detail message.
    pub fn new(kind: StorageErrorKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            out_of_memory: false,
        }
    }

    /// The category of the error.
    pub fn kind(&self) -> StorageErrorKind {
        self.kind
    }

    /// The detail message (may be empty).
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            f.write_str(self.kind.as_str())
        } else {
            write!(f, "{}: {}", self.kind.as_str(), self.detail)
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for StorageError {}

#[cfg(feature = "std")]
impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e.kind() {
            K::NotFound => StorageErrorKind::NotFound,
            K::PermissionDenied | K::ReadOnlyFilesystem => StorageErrorKind::PermissionDenied,
            K::StorageFull | K::QuotaExceeded => StorageErrorKind::NoSpace,
            K::UnexpectedEof => StorageErrorKind::UnexpectedEof,
            K::Unsupported => StorageErrorKind::Unsupported,
            K::WouldBlock => StorageErrorKind::Locked,
            _ => StorageErrorKind::Other,
        };
        Self::new(kind, alloc::format!("{e}"))
    }
}

/// Which of a segment's two files a [`StorageFile`] holds, so that a backend
/// can treat them differently (the file backend memory-maps the index and
/// buffers the store).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// The record bytes of a segment (`.store`).
    Store,
    /// The fixed-width offset index of a segment (`.index`).
    Index,
}

/// How a file is about to be used: its kind and the most bytes the log will
/// ever write to it (a hint for preallocation and mapping; it is not a limit
/// the backend must enforce).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileHint {
    /// Store or index.
    pub kind: FileKind,
    /// The configured maximum size of this kind of file, in bytes.
    pub capacity: u64,
}

/// A directory of named byte files.
///
/// Names are plain file names (no separators), such as
/// `00000000000000000000.store`. A storage holds one log.
pub trait Storage {
    /// The file handle type.
    type File: StorageFile;

    /// Names of all files in the directory, in any order, including files the
    /// log does not own (the log ignores those).
    ///
    /// Power loss: no effect on the media. The names it returns include
    /// creations and removals not yet made durable by [`Storage::sync_dir`].
    fn list(&self) -> Result<Vec<String>, StorageError>;

    /// Opens an existing file for reading and appending.
    ///
    /// Errors with [`StorageErrorKind::NotFound`] when it does not exist.
    /// Power loss: no effect on the media.
    fn open(&self, name: &str, hint: FileHint) -> Result<Self::File, StorageError>;

    /// Creates a file, empty; an existing file of that name is truncated to
    /// zero length first.
    ///
    /// Power loss: until the next [`Storage::sync_dir`] the file may not exist;
    /// a truncated old file may keep any part of its old content until the
    /// new file is synced.
    fn create(&self, name: &str, hint: FileHint) -> Result<Self::File, StorageError>;

    /// Removes a file. Removing a file that does not exist is not an error.
    ///
    /// Power loss: until the next [`Storage::sync_dir`] the file may still
    /// exist afterwards, with its content as of its last sync.
    fn remove(&self, name: &str) -> Result<(), StorageError>;

    /// Makes the creation and removal of files durable.
    ///
    /// Power loss: after it returns, the set of names is durable.
    fn sync_dir(&self) -> Result<(), StorageError>;

    /// Whether everything the storage holds is known to be durable already:
    /// its previous writer closed cleanly (after syncing), or it has no
    /// volatile cache at all. When `false` (the default, always safe), the
    /// log's first sync after opening covers every segment and the
    /// directory, because a writer that crashed may have left unsynced
    /// bytes in the operating system's cache.
    ///
    /// Power loss: no effect on the media.
    fn closed_cleanly(&self) -> bool {
        false
    }

    /// Whether the previous writer closed the log cleanly, every segment
    /// checked and intact: the log then opens only its active segment, and
    /// each sealed one when it is first used (a read, a lookup, a change),
    /// with the same checks but no repair. A sealed segment found damaged
    /// then (a file changed since the close) is reported by the call that
    /// used it, and [`crate::Log::found_damage`] asks the next open to
    /// check and repair every segment. When `false` (the default, always
    /// safe), open checks every segment at once and repairs what a crash
    /// left.
    ///
    /// Power loss: no effect on the media.
    fn segments_intact_at_close(&self) -> bool {
        false
    }

    /// Whether every write made to the files since they were last checked
    /// is still there as it was made, synced or not: the files' writer
    /// crashed (or lives on) but the machine did not lose power or restart
    /// since. Recovery then trusts the index entries up to the last whose
    /// frame lies whole in the store and checks, and scans only the store
    /// after it (`FORMAT.md`, "Recovery on open"). When `false` (the
    /// default, always safe), an index that does not describe its whole
    /// store is rebuilt by scanning the store from its first frame, since
    /// after a power loss any unsynced block may be lost or stale whatever
    /// came after it.
    ///
    /// Power loss: no effect on the media.
    fn unsynced_writes_kept(&self) -> bool {
        false
    }
}

/// The `len` bytes `write` pushes, in a vector of their own: what
/// [`StorageFile::append_with`] appends where a backend has no buffer of its
/// own to hand over. Fails with [`StorageError::out_of_memory`] when the
/// vector cannot be allocated.
pub fn pushed_bytes<W: FnOnce(&mut Vec<u8>)>(
    len: usize,
    write: W,
) -> Result<Vec<u8>, StorageError> {
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(len)
        .map_err(|_| StorageError::out_of_memory())?;
    write(&mut bytes);
    Ok(bytes)
}

/// One open file of a [`Storage`].
///
/// Reads must observe every prior `append` and `truncate` made through this
/// handle, whether or not it was flushed.
pub trait StorageFile {
    /// The file's current length in bytes, as seen by reads: every appended
    /// byte counts, flushed or not. A backend that preallocates reports the
    /// preallocated length of a file it opened after an unclean close; the
    /// log's recovery cuts it back with [`StorageFile::truncate`].
    ///
    /// Power loss: no effect on the media. The length it reports may be more
    /// than what would survive a power loss (see [`StorageFile::sync`]).
    fn len(&self) -> u64;

    /// Whether the file holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` with the bytes at `pos..pos + buf.len()`.
    ///
    /// Errors with [`StorageErrorKind::UnexpectedEof`] if the range runs past
    /// [`StorageFile::len`]. Power loss: no effect on the media.
    fn read_into(&self, pos: u64, buf: &mut [u8]) -> Result<(), StorageError>;

    /// Returns the bytes at `pos..pos + len`: borrowed from the backend when
    /// it holds them in memory or in a mapping (zero-copy), copied otherwise.
    ///
    /// The default copies through [`StorageFile::read_into`]. Power loss: no
    /// effect on the media.
    fn read_at(&self, pos: u64, len: usize) -> Result<Cow<'_, [u8]>, StorageError> {
        let mut buf = alloc::vec![0; len];
        self.read_into(pos, &mut buf)?;
        Ok(Cow::Owned(buf))
    }

    /// The file's first bytes, borrowed, when the backend already holds
    /// them in memory or in a mapping: every byte the slice holds is the
    /// file's content, but it may end before [`StorageFile::len`] (appended
    /// bytes still in a buffer, say). Reads by offset and the iterator parse
    /// records straight out of it, and go through
    /// [`StorageFile::read_into`] and [`StorageFile::read_at`] for whatever
    /// it does not hold.
    ///
    /// Must not do anything costly (make a mapping, read the disk): the
    /// default, `None`, means the backend has nothing to lend right now.
    /// Power loss: no effect on the media.
    fn resident(&self) -> Option<&[u8]> {
        None
    }

    /// Appends `data` at the end of the file. The backend may buffer it.
    ///
    /// Power loss (until the next sync): any prefix of `data` may be on the
    /// media, and any of its bytes may be zero or garbage.
    fn append(&mut self, data: &[u8]) -> Result<(), StorageError>;

    /// Appends the `len` bytes that `write` pushes onto the vector it is
    /// given: a backend that buffers appends in a `Vec` hands over that
    /// buffer (with room for `len` more bytes), so the bytes are laid down
    /// once instead of built elsewhere and copied. `write` must push exactly
    /// `len` bytes and nothing else; the log's record framing does.
    ///
    /// The default builds the bytes in a new vector and calls
    /// [`StorageFile::append`]. Power loss: as for `append`.
    fn append_with<W: FnOnce(&mut Vec<u8>)>(
        &mut self,
        len: usize,
        write: W,
    ) -> Result<(), StorageError>
    where
        Self: Sized,
    {
        self.append(&pushed_bytes(len, write)?)
    }

    /// Cuts the file to `len` bytes (`len` is at most [`StorageFile::len`]).
    ///
    /// Power loss (until the next sync): the file may have its old length and
    /// content, the new one, or anything in between.
    fn truncate(&mut self, len: u64) -> Result<(), StorageError>;

    /// Hands buffered appends to the operating system (survives a crash of
    /// the process, not of the machine).
    ///
    /// Power loss: the same as for the appends it flushes.
    fn flush(&mut self) -> Result<(), StorageError>;

    /// Makes every prior append and truncate of this file durable.
    ///
    /// Power loss: after it returns, the file's content and length are those
    /// seen by reads at the time of the call.
    fn sync(&mut self) -> Result<(), StorageError>;

    /// Makes every prior append and truncate of this file durable before
    /// any later append reaches the medium, without waiting for that: the
    /// log calls it for a new store's header at a roll, which then costs
    /// the appending thread no sync. The default is [`StorageFile::sync`].
    ///
    /// Power loss: the file holds a prefix of its appends in which every
    /// byte appended before the call is durable before any byte after it
    /// (the call alone promises nothing durable).
    fn sync_barrier(&mut self) -> Result<(), StorageError> {
        self.sync()
    }

    /// Makes the file's first `len` bytes (at most [`StorageFile::len`])
    /// durable, with what it takes to read them back, where the backend can
    /// do that without the rest of the file. The log calls it for a store's
    /// header before it seals the store after an unclean open, when the
    /// header may be only in a page cache: a [`StorageFile::sync`] there
    /// would write every byte the crashed process left unsynced, under the
    /// log's write lock (the log's next sync covers those bytes). The
    /// default syncs the whole file.
    ///
    /// Power loss: after it returns, bytes `0..len` are those reads saw at
    /// the time of the call; the rest of the file is as if it had not been
    /// called.
    fn sync_prefix(&mut self, len: u64) -> Result<(), StorageError> {
        let _ = len;
        self.sync()
    }

    /// Flushes, as a hint that no append is expected soon: the log calls it
    /// when it seals the file's segment (a roll). A backend may give back
    /// what it holds for appends (buffers, preallocated or reserved blocks)
    /// and must still take appends afterwards (a suffix truncation can make
    /// a sealed segment the active one again). The default only flushes.
    ///
    /// Power loss: the same as for the appends it flushes; a trim of
    /// preallocated blocks is a truncation and may or may not land unless
    /// the file is synced afterwards.
    fn seal(&mut self) -> Result<(), StorageError> {
        self.flush()
    }

    /// A handle that makes what this file holds on its medium so far (every
    /// flushed append and truncate) durable without borrowing the file, so
    /// that a sync can run while appends go on ([`crate::Log::begin_sync`]).
    /// `None` (the default): the file is synced through
    /// [`StorageFile::sync`] only.
    ///
    /// Power loss: after the handle's `sync` returns, as after
    /// [`StorageFile::sync`] for everything flushed before the handle was
    /// made.
    fn syncer(&self) -> Option<Box<dyn FileSyncer>> {
        None
    }

    /// Closes the file after a clean shutdown: flushes, and lets a backend
    /// that preallocates trim the file to its real length. Dropping a file
    /// without closing it is an unclean close; recovery handles it.
    ///
    /// Power loss: the same as for the appends it flushes; the trim is a
    /// truncation and may or may not land (the file may come back with its
    /// preallocated zero fill) unless the file is synced afterwards.
    fn close(mut self) -> Result<(), StorageError>
    where
        Self: Sized,
    {
        self.flush()
    }
}

/// Makes a file's flushed content durable on its own: what
/// [`StorageFile::syncer`] hands out.
pub trait FileSyncer {
    /// The file's `fdatasync`, or the backend's equivalent.
    fn sync(&self) -> Result<(), StorageError>;
}
