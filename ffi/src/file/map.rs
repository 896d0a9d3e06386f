//! Creating the memory maps of the file backend, and why they are sound.
//!
//! Mapping a file is `unsafe` because the bytes behind a map can change (or
//! vanish) underneath Rust references when something else modifies or
//! truncates the file. The backend keeps that from happening:
//!
//! 1. **Only a writer maps.** Maps are made only by the handles of a
//!    [`super::FileStorage`] opened for writing, which hold the directory's
//!    exclusive `LOCK` as long as they live, so a map made on first use,
//!    long after the open, is made under the same lock. No other `dislog`
//!    writer, in this process or another, can open the directory meanwhile.
//!    A read-only log never maps: it reads with positional reads (copies),
//!    so a writer beside it may append to, truncate or delete files freely
//!    without invalidating anything.
//! 2. **Only the owning handle changes a mapped file, through `&mut self`.**
//!    Every write or truncation of a file goes through its one
//!    [`super::FileHandle`], with `&mut self`: the storage refuses a second
//!    handle on an open file, and its removal (`Busy`), so even a caller of
//!    the public `Storage` trait cannot truncate a file under another
//!    handle's map. A slice borrowed from a map
//!    (`read_at` returns `Cow::Borrowed`) lives as long as a `&self` borrow
//!    of the handle, so no write can happen while it lives: the aliasing
//!    rules hold for the map as for any buffer the handle owns. (Across
//!    threads, `dislog::Log`'s `RwLock` enforces the same.) A map made by a
//!    read, through `&self`, is made while no write can run either.
//! 3. **Nothing past the end of the file is ever touched.** A map may be
//!    longer than its file (it is made at the capacity the log will use).
//!    Maps are only read, and only below the file's written length
//!    (what `pwrite` has put there); shrinking the file (`ftruncate`) only
//!    drops bytes the handle no longer exposes.
//! 4. **Positional writes and the map see the same bytes.** Stores and
//!    indexes are written with `pwrite` and read through their maps; this
//!    relies on the unified page cache of Linux, macOS and the BSDs other
//!    than OpenBSD.
//!
//! What is *not* excluded: another program (not `dislog`) truncating or
//! rewriting the files of a live log. As with every memory-mapped database,
//! that is outside the contract: a read of a page cut off the file raises
//! `SIGBUS`, and rewritten bytes may be seen half-changed (reads check CRCs,
//! so the latter surfaces as a corruption error, not as wrong data).
//!
//! **When a file is mapped.** Not on open: after a clean close, a reopen
//! checks each segment by copying a handful of bytes out of it (the
//! headers, the index's last entry, the store's last frame header; only the
//! active segment's last frame is borrowed, for its checksum), and mapping,
//! faulting in and unmapping two files per segment for that cost several
//! times what the reads do. A [`LazyMap`] maps its file on the first read
//! that hands out a borrowed slice (`read_at`: a record read, an iterator
//! window), so that such reads stay zero-copy, and on the first copying
//! read (`read_into`) after [`POSITIONAL_READS`] of them, which until then
//! are positional reads. Once made, the map is kept until the handle is
//! dropped, so a read of a mapped file costs what it did when maps were
//! made on open: one acquire load decides.
//!
//! A map that cannot be made (address space exhausted, a file system that
//! does not support it, a length of zero) is not an error: the handle falls
//! back to positional reads.

use std::fs::File;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use memmap2::{Mmap, MmapOptions};

/// Files larger than this are not mapped (positional I/O instead), so that
/// a huge configured capacity cannot eat the address space.
const MAX_MAP_BYTES: u64 = 1 << 40;

/// Copying reads of a file served by positional reads before it is
/// mapped. Making and dropping a map (`mmap`, `munmap`) costs about as much
/// as this many small `pread`s on the development VM (4–5 µs against 0.5
/// µs; each page fault through a map costs about as much again), so a file
/// copied from more often than this pays at most about twice what the
/// better choice in hindsight would have, while a reopen's check (two or
/// three copies per file) and a few reads after it map nothing.
pub(crate) const POSITIONAL_READS: u32 = 8;

/// A map of a file made on first real use (see the module docs), or never.
///
/// Reads take `&self` and may come from several threads; the map is made
/// at most once (a [`OnceLock`]), and a failure to make it is remembered,
/// so that a file that cannot be mapped is not retried on every read.
#[derive(Debug)]
pub(crate) struct LazyMap<M> {
    /// Unset: not tried yet; `Some(None)`: not mapped, and never will be.
    map: OnceLock<Option<M>>,
    /// Reads served without a map so far (counted until the map is made).
    unmapped_reads: AtomicU32,
}

impl<M> LazyMap<M> {
    /// A file to map on first real use.
    pub fn lazy() -> Self {
        Self {
            map: OnceLock::new(),
            unmapped_reads: AtomicU32::new(0),
        }
    }

    /// A file that is never mapped (read-only logs, unmappable lengths).
    pub fn never() -> Self {
        Self {
            map: OnceLock::from(None),
            unmapped_reads: AtomicU32::new(0),
        }
    }

    /// The map, if it has been made.
    #[inline]
    pub fn get(&self) -> Option<&M> {
        self.map.get().and_then(Option::as_ref)
    }

    /// The map to copy bytes out of: the existing one, or one made now by
    /// `make` when this file has served [`POSITIONAL_READS`] copies
    /// without it. `None`: read positionally.
    #[inline]
    pub fn for_copy(&self, make: impl FnOnce() -> Option<M>) -> Option<&M> {
        match self.map.get() {
            Some(map) => map.as_ref(),
            None => self.unmapped_copy(make),
        }
    }

    #[cold]
    #[inline(never)]
    fn unmapped_copy(&self, make: impl FnOnce() -> Option<M>) -> Option<&M> {
        // Relaxed: the count only paces the decision; two racing readers
        // at worst map one read early or late, and `OnceLock` maps once.
        let served = self.unmapped_reads.fetch_add(1, Ordering::Relaxed);
        if served < POSITIONAL_READS {
            return None;
        }
        self.map.get_or_init(make).as_ref()
    }

    /// The map to borrow bytes from: the existing one, or one made now by
    /// `make`. `None`: the file cannot be mapped (read positionally).
    #[inline]
    pub fn for_borrow(&self, make: impl FnOnce() -> Option<M>) -> Option<&M> {
        match self.map.get() {
            Some(map) => map.as_ref(),
            None => self.map.get_or_init(make).as_ref(),
        }
    }
}

/// The length to map for a file of `file_len` bytes that will grow to about
/// `capacity`: the larger, if it is mappable at all.
pub(crate) fn map_len(capacity: u64, file_len: u64) -> Option<usize> {
    let len = capacity.max(file_len);
    if len == 0 || len > MAX_MAP_BYTES {
        return None;
    }
    usize::try_from(len)
        .ok()
        .filter(|&l| l <= isize::MAX as usize)
}

/// A shared, read-only map of the first `len` bytes of `file`.
pub(crate) fn map_read(file: &File, len: usize) -> Option<Mmap> {
    // SAFETY: the file belongs to a locked writer storage and is changed
    // only through its handle with `&mut self`, which rules out live borrows
    // of the map; only bytes below the file's length are read (rules 1 to 3
    // of the module docs).
    unsafe { MmapOptions::new().len(len).map(file) }.ok()
}
