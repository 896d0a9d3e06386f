//! Creating the memory maps of the file backend, and why they are sound.
//!
//! Mapping a file is `unsafe` because the bytes behind a map can change (or
//! vanish) underneath Rust references when something else modifies or
//! truncates the file. The backend keeps that from happening:
//!
//! 1. **Only a writer maps.** Maps are made only by a [`super::FileStorage`]
//!    opened for writing, which holds the directory's exclusive `LOCK`.
//!    No other `dislog` writer, in this process or another, can open the
//!    directory meanwhile. A read-only log never maps: it reads with
//!    positional reads (copies), so a writer beside it may append to,
//!    truncate or delete files freely without invalidating anything.
//! 2. **Only the owning handle changes a mapped file, through `&mut self`.**
//!    Every write, truncation or growth of a file goes through its one
//!    [`super::FileHandle`], with `&mut self`: the storage refuses a second
//!    handle on an open file, and its removal (`Busy`), so even a caller of
//!    the public `Storage` trait cannot truncate a file under another
//!    handle's map. A slice borrowed from a map
//!    (`read_at` returns `Cow::Borrowed`) lives as long as a `&self` borrow
//!    of the handle, so no write can happen while it lives: the aliasing
//!    rules hold for the map as for any buffer the handle owns. (Across
//!    threads, `dislog::Log`'s `RwLock` enforces the same.)
//! 3. **Nothing past the end of the file is ever touched.** A map may be
//!    longer than its file (it is made once, at the capacity the log will
//!    use). Reads only cover bytes below the file's written length, writes
//!    only bytes below its allocated length; growing the file (`fallocate`,
//!    or `ftruncate` where that is unsupported) always comes first, and
//!    shrinking it (`ftruncate`) only drops bytes the handle no longer
//!    exposes.
//! 4. **Positional writes and the map see the same bytes.** The store is
//!    written with `pwrite` and read through its map; this relies on the
//!    unified page cache of Linux, macOS and the BSDs other than OpenBSD.
//!
//! What is *not* excluded: another program (not `dislog`) truncating or
//! rewriting the files of a live log. As with every memory-mapped database,
//! that is outside the contract: a read of a page cut off the file raises
//! `SIGBUS`, and rewritten bytes may be seen half-changed (reads check CRCs,
//! so the latter surfaces as a corruption error, not as wrong data).
//!
//! A map that cannot be made (address space exhausted, a file system that
//! does not support it, a length of zero) is not an error: the handle falls
//! back to positional I/O.

use std::fs::File;

use memmap2::{Mmap, MmapMut, MmapOptions};

/// Files larger than this are not mapped (positional I/O instead), so that
/// a huge configured capacity cannot eat the address space.
const MAX_MAP_BYTES: u64 = 1 << 40;

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

/// A shared, writable map of the first `len` bytes of `file`.
pub(crate) fn map_write(file: &File, len: usize) -> Option<MmapMut> {
    // SAFETY: as for `map_read`: one writer, changes only through `&mut`
    // of the owning handle, and only bytes below the allocated length of
    // the file are read or written (rules 1 to 3 of the module docs).
    unsafe { MmapOptions::new().len(len).map_mut(file) }.ok()
}
