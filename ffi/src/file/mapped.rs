//! The index file of a writer: a writable shared map over a preallocated
//! file.
//!
//! Appends are copies into the map (no system call); the file is grown
//! ahead of them in doubling steps (from [`GROW_MIN`] to [`GROW_MAX`]
//! bytes) with `fallocate`, so that a full disk is an error at growth time
//! and never a `SIGBUS` on a write into a hole. On Linux the new range is
//! also prefaulted (`MADV_POPULATE_WRITE`): one system call instead of a
//! page fault every 256 appends. The content length (`len`) is what the
//! log wrote; the file's length (`alloc`) is larger, the rest zeros.
//!
//! * `close` trims the file to `len` and syncs it: a cleanly closed index
//!   has exactly its entries.
//! * A handle dropped without `close` (a crash, a dropped log) leaves the
//!   zero-filled preallocation; the next open reports it in `len`, and the
//!   log's recovery finds the written entries by binary search over the
//!   zero tail and cuts the rest (`FORMAT.md`, "Recovery").
//! * `truncate` zeroes the cut content in the map and keeps the blocks, so
//!   the bytes past the content are always zeros, which recovery relies on.

use std::borrow::Cow;
use std::fs::File;
use std::path::PathBuf;

use dislog_core::{StorageError, StorageErrorKind};
use memmap2::MmapMut;
use rustix::fs::FallocateFlags;
use rustix::io::Errno;

use super::error::{eof, io_error};
use super::map::map_write;

/// Bytes checked at a time for zeros when content is cut.
const ZERO_CHECK: usize = 4096;

/// The smallest growth step of an index file.
pub(crate) const GROW_MIN: u64 = 64 << 10;
/// The largest growth step of an index file (it bounds the zero pages
/// that a prefault dirties ahead of the appends).
pub(crate) const GROW_MAX: u64 = 1 << 20;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct MappedFile {
    path: PathBuf,
    file: File,
    /// Covers at least the first `alloc` bytes of the file.
    map: MmapMut,
    /// The file's length on disk.
    alloc: u64,
    /// The content length, at most `alloc`.
    len: u64,
    /// Where the bytes written since the last sync start, if any were.
    dirty_from: Option<u64>,
}

impl MappedFile {
    /// Wraps `file` of `file_len` bytes (all content) and its `map`, which
    /// must be at least `file_len` bytes long.
    pub fn new(path: PathBuf, file: File, file_len: u64, map: MmapMut) -> Self {
        Self {
            path,
            file,
            map,
            alloc: file_len,
            len: file_len,
            dirty_from: None,
        }
    }

    fn range(&self, pos: u64, len: usize) -> Result<std::ops::Range<usize>, StorageError> {
        match pos.checked_add(len as u64) {
            // `end <= self.len <= map.len()`, a usize: both casts are exact.
            Some(end) if end <= self.len => Ok(pos as usize..end as usize),
            _ => Err(eof(&self.path, pos, len, self.len)),
        }
    }

    /// Content length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Copies the content at `pos` into `out`.
    pub fn read_into(&self, pos: u64, out: &mut [u8]) -> Result<(), StorageError> {
        out.copy_from_slice(&self.map[self.range(pos, out.len())?]);
        Ok(())
    }

    /// The content at `pos..pos + len`, borrowed from the map.
    pub fn read_at(&self, pos: u64, len: usize) -> Result<Cow<'_, [u8]>, StorageError> {
        Ok(Cow::Borrowed(&self.map[self.range(pos, len)?]))
    }

    /// Copies `data` into the map after the content, growing the file first
    /// when needed.
    pub fn append(&mut self, data: &[u8]) -> Result<(), StorageError> {
        let end = self
            .len
            .checked_add(data.len() as u64)
            .ok_or_else(|| StorageError::new(StorageErrorKind::Other, "file length overflow"))?;
        if end > self.alloc {
            self.grow(end)?;
        }
        // `end <= alloc <= map.len()`: both casts are exact.
        self.map[self.len as usize..end as usize].copy_from_slice(data);
        self.dirty_from = Some(self.dirty_from.map_or(self.len, |d| d.min(self.len)));
        self.len = end;
        Ok(())
    }

    /// Makes the file (and, if needed, the map) at least `end` bytes long.
    fn grow(&mut self, end: u64) -> Result<(), StorageError> {
        let map_len = self.map.len() as u64;
        let target = if end > map_len {
            end.max(map_len.saturating_mul(2))
        } else {
            let step = self.alloc.clamp(GROW_MIN, GROW_MAX);
            end.max(self.alloc + step).min(map_len)
        };
        let from = self.alloc;
        self.allocate(target)?;
        if target > map_len {
            let len = usize::try_from(target).map_err(|_| {
                StorageError::new(StorageErrorKind::NoSpace, "index too large to map")
            })?;
            self.map = map_write(&self.file, len).ok_or_else(|| {
                StorageError::new(
                    StorageErrorKind::NoSpace,
                    format!("{}: cannot map {len} bytes", self.path.display()),
                )
            })?;
        }
        self.prefault(from, target);
        Ok(())
    }

    /// Faults in the map's pages for `from..to` in one go (Linux only). A
    /// failure (an older kernel) only means that appends fault them in.
    fn prefault(&self, from: u64, to: u64) {
        #[cfg(target_os = "linux")]
        {
            // `to <= map.len()`: the casts are exact.
            let _ = self.map.advise_range(
                memmap2::Advice::PopulateWrite,
                from as usize,
                (to - from) as usize,
            );
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (from, to);
    }

    /// Extends the file to `target` bytes with allocated, zeroed blocks.
    fn allocate(&mut self, target: u64) -> Result<(), StorageError> {
        let extra = target - self.alloc;
        match rustix::fs::fallocate(&self.file, FallocateFlags::empty(), self.alloc, extra) {
            Ok(()) => {}
            // The file system cannot preallocate: a sparse extension.
            Err(Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL) => self
                .file
                .set_len(target)
                .map_err(|e| io_error(e, "growing", &self.path))?,
            Err(e) => return Err(io_error(e.into(), "growing", &self.path)),
        }
        self.alloc = target;
        Ok(())
    }

    /// Cuts the content to `len` bytes. The file keeps its allocated
    /// blocks (later appends reuse them; `close` trims): the cut content is
    /// zeroed in the map instead, so the bytes past the content are zeros as
    /// recovery expects. Pages that are already zero (the preallocated tail
    /// an unclean close leaves, which recovery cuts on every such open) are
    /// only read, not dirtied: an `ftruncate` here cost ~1 ms per open.
    pub fn truncate(&mut self, len: u64) -> Result<(), StorageError> {
        if len >= self.len {
            return Ok(());
        }
        // `len < self.len <= map.len()`: the casts are exact.
        let mut zeroed = false;
        for chunk in self.map[len as usize..self.len as usize].chunks_mut(ZERO_CHECK) {
            if chunk.iter().any(|&b| b != 0) {
                chunk.fill(0);
                zeroed = true;
            }
        }
        self.len = len;
        self.dirty_from = match (self.dirty_from, zeroed) {
            (Some(d), _) => Some(d.min(len)),
            (None, true) => Some(len),
            (None, false) => None,
        };
        Ok(())
    }

    /// Cuts the file to the content length, dropping the preallocation.
    fn trim(&mut self) -> Result<(), StorageError> {
        self.file
            .set_len(self.len)
            .map_err(|e| io_error(e, "truncating", &self.path))?;
        self.alloc = self.len;
        Ok(())
    }

    /// Writes the map's dirty pages and the file's length to the media.
    ///
    /// On Linux the page cache tracks the pages dirtied through a shared
    /// map, so `fdatasync` alone writes them (`msync(MS_SYNC)` would be a
    /// second, redundant flush of the same range). Elsewhere the dirty range
    /// is `msync`ed first.
    pub fn sync(&mut self) -> Result<(), StorageError> {
        if let Some(from) = self.dirty_from.take() {
            // `from <= len <= map.len()`: the casts are exact.
            let (from, len) = (from as usize, (self.len - from) as usize);
            if len > 0 && !cfg!(target_os = "linux") {
                self.map
                    .flush_range(from, len)
                    .map_err(|e| io_error(e, "syncing", &self.path))?;
            }
        }
        self.file
            .sync_data()
            .map_err(|e| io_error(e, "syncing", &self.path))
    }

    /// A clean close: trims the preallocation and syncs the new length.
    pub fn close(mut self) -> Result<(), StorageError> {
        if self.alloc != self.len {
            self.trim()?;
            self.sync()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::fs::OpenOptions;

    fn open(dir: &std::path::Path, map_len: usize) -> MappedFile {
        let path = dir.join("f.index");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .unwrap();
        let len = file.metadata().unwrap().len();
        let map = map_write(&file, map_len.max(len as usize)).unwrap();
        MappedFile::new(path, file, len, map)
    }

    fn disk_len(f: &MappedFile) -> u64 {
        f.file.metadata().unwrap().len()
    }

    #[test]
    fn appends_grow_in_steps_and_close_trims() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 4 << 20);
        f.append(&[1; 100]).unwrap();
        assert_eq!(f.len(), 100);
        assert_eq!(disk_len(&f), GROW_MIN);
        let chunk = vec![7; 100_000];
        for _ in 0..30 {
            f.append(&chunk).unwrap();
        }
        assert_eq!(f.len(), 3_000_100);
        let alloc = disk_len(&f);
        assert!(alloc >= f.len() && alloc - f.len() <= GROW_MAX, "{alloc}");
        let mut out = [0; 3];
        f.read_into(99, &mut out).unwrap();
        assert_eq!(out, [1, 7, 7]);
        assert!(matches!(
            f.read_at(100, 5).unwrap(),
            Cow::Borrowed([7, 7, 7, 7, 7])
        ));
        assert!(f.read_into(f.len() - 1, &mut out).is_err());
        f.sync().unwrap();
        f.close().unwrap();
        let f = open(tmp.path(), 4 << 20);
        assert_eq!((f.len(), disk_len(&f)), (3_000_100, 3_000_100));
    }

    #[test]
    fn appends_past_the_map_remap() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 4096);
        for i in 0..100u8 {
            f.append(&[i; 1000]).unwrap();
        }
        assert!(f.map.len() >= 100_000);
        let mut out = [0; 2];
        f.read_into(98_999, &mut out).unwrap();
        assert_eq!(out, [98, 99]);
    }

    #[test]
    fn truncation_leaves_zeros_past_the_content() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 1 << 20);
        f.append(&[9; 5000]).unwrap();
        f.truncate(1000).unwrap();
        // The blocks stay allocated; the cut content is zeroed.
        assert_eq!((f.len(), disk_len(&f)), (1000, GROW_MIN));
        assert!(f.map[1000..5000].iter().all(|&b| b == 0));
        f.append(&[5; 10]).unwrap();
        assert_eq!(f.len(), 1010);
        // Dropped without close: the preallocated tail reads back as zeros.
        drop(f);
        let f = open(tmp.path(), 1 << 20);
        assert!(f.len() > 1010);
        let mut tail = vec![1; (f.len() - 1010) as usize];
        f.read_into(1010, &mut tail).unwrap();
        assert!(tail.iter().all(|&b| b == 0));
        let mut mid = [0; 2];
        f.read_into(1009, &mut mid).unwrap();
        assert_eq!(mid, [5, 0]);
    }

    #[test]
    fn cutting_a_zero_tail_dirties_nothing_and_close_trims() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 1 << 20);
        f.append(&[3; 100]).unwrap();
        f.sync().unwrap();
        drop(f);
        // Reopened after an unclean close: the content is the whole
        // preallocated file; recovery cuts its zero tail.
        let mut f = open(tmp.path(), 1 << 20);
        assert_eq!(f.len(), GROW_MIN);
        f.truncate(100).unwrap();
        assert_eq!(f.dirty_from, None);
        assert_eq!((f.len(), disk_len(&f)), (100, GROW_MIN));
        f.close().unwrap();
        let f = open(tmp.path(), 1 << 20);
        assert_eq!((f.len(), disk_len(&f)), (100, 100));
    }
}
