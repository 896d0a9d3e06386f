//! The index file of a writer: a writable shared map over a preallocated
//! file.
//!
//! The map is made on first real use, not on open (see [`super::map`],
//! "When a file is mapped"): the first write (an append or a cut) makes it,
//! and so does a read once the file has served a few copies positionally,
//! so that a reopen's check (the header and the last entry) maps nothing. An
//! index whose map cannot be made when it is first written becomes a
//! buffered file instead ([`MappedFile::into_buffered`]), as it would have
//! had the map failed on open.
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
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use dislog_core::{StorageError, StorageErrorKind};
use memmap2::MmapMut;
use rustix::fs::FallocateFlags;
use rustix::io::Errno;

use super::buffered::{BufferedFile, Mode};
use super::error::{eof, io_error};
use super::map::{map_write, LazyMap};

/// The longest copy [`MappedFile`] remembers (an index entry is 16 bytes).
const LAST_COPY: usize = 16;

/// Bytes checked at a time for zeros when content is cut (and zeroed when
/// any is not).
const ZERO_CHECK: usize = 4096;

/// Bytes read at a time to check a cut range for zeros positionally.
const ZERO_READ: usize = 64 << 10;

/// Whether a cut range is checked for zeros with positional reads (guided
/// by `SEEK_DATA`) rather than through the map: where the page cache is
/// known to be unified with the maps and `SEEK_DATA` tracks pages dirtied
/// through them.
const POSITIONAL_ZERO_CHECK: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// The smallest growth step of an index file.
pub(crate) const GROW_MIN: u64 = 64 << 10;
/// The largest growth step of an index file (it bounds the zero pages
/// that a prefault dirties ahead of the appends).
pub(crate) const GROW_MAX: u64 = 256 << 10;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct MappedFile {
    path: PathBuf,
    file: File,
    /// Made on first real use; once made, covers at least the first `alloc`
    /// bytes of the file. Every write goes through it, so until it is made
    /// nothing was written and the file holds exactly its content.
    map: LazyMap<MmapMut>,
    /// The length to map first: at least `alloc` while there is no map.
    map_len: usize,
    /// The length the log lets the file grow to.
    capacity: u64,
    /// The file's length on disk.
    alloc: u64,
    /// The content length, at most `alloc`.
    len: u64,
    /// Where the bytes written since the last sync start, if any were.
    dirty_from: Option<u64>,
    /// Where the last positional copy was made, how long it was and what it
    /// returned (when at most [`LAST_COPY`] bytes), to serve the same copy
    /// again without a system call: a reopen's check reads the last entry
    /// three times. Consulted only while there is no map, so only while
    /// nothing has been written (every write goes through the map).
    last_copy: Mutex<Option<(u64, usize, [u8; LAST_COPY])>>,
}

impl MappedFile {
    /// Wraps `file` of `file_len` bytes (all content), to be mapped on
    /// first use at `map_len` bytes, which must be at least `file_len`
    /// (see [`super::map::map_len`]); `capacity` is the length the log lets
    /// the file grow to.
    pub fn new(path: PathBuf, file: File, file_len: u64, map_len: usize, capacity: u64) -> Self {
        Self {
            path,
            file,
            map: LazyMap::lazy(),
            map_len,
            capacity,
            alloc: file_len,
            len: file_len,
            dirty_from: None,
            last_copy: Mutex::new(None),
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

    /// The content, once the map is made (`StorageFile::resident`).
    #[inline]
    pub fn resident(&self) -> Option<&[u8]> {
        self.map.get()?.get(..usize::try_from(self.len).ok()?)
    }

    /// Maps the file, writable, at `map_len` bytes.
    fn make_map(&self) -> Option<MmapMut> {
        map_write(&self.file, self.map_len)
    }

    /// Makes the map if it was not tried yet, for a write through it.
    /// False when the file cannot be mapped: the caller then turns it into a
    /// buffered file ([`MappedFile::into_buffered`]) before writing.
    pub fn make_writable(&mut self) -> bool {
        self.map_mut().is_ok()
    }

    /// The map, for a write through it: made now if it was not tried yet.
    /// An error when the file cannot be mapped (which
    /// [`MappedFile::make_writable`] lets the handle avoid).
    fn map_mut(&mut self) -> Result<&mut MmapMut, StorageError> {
        let (file, len, path) = (&self.file, self.map_len, &self.path);
        self.map.for_write(|| map_write(file, len)).ok_or_else(|| {
            StorageError::new(
                StorageErrorKind::NoSpace,
                format!("{}: cannot map {len} bytes", path.display()),
            )
        })
    }

    /// This file, never written and not mappable, as a buffered writer of
    /// the same content (what the storage makes of an index it cannot map
    /// on open).
    pub fn into_buffered(self) -> BufferedFile {
        BufferedFile::new(
            self.path,
            Some(self.file),
            self.len,
            self.capacity,
            Mode::Writer,
        )
    }

    /// Copies the content at `pos` into `out`.
    pub fn read_into(&self, pos: u64, out: &mut [u8]) -> Result<(), StorageError> {
        let range = self.range(pos, out.len())?;
        match self.map.for_copy(|| self.make_map()) {
            Some(map) => out.copy_from_slice(&map[range]),
            None => self.read_file(pos, out)?,
        }
        Ok(())
    }

    /// The content at `pos..pos + len`, borrowed from the map when there is
    /// one.
    pub fn read_at(&self, pos: u64, len: usize) -> Result<Cow<'_, [u8]>, StorageError> {
        let range = self.range(pos, len)?;
        match self.map.for_borrow(|| self.make_map()) {
            Some(map) => Ok(Cow::Borrowed(&map[range])),
            None => {
                let mut out = vec![0; len];
                self.read_file(pos, &mut out)?;
                Ok(Cow::Owned(out))
            }
        }
    }

    /// Copies content at `pos` from the file (no map yet: nothing was
    /// written, so the file holds the content), or from the last copy when
    /// it was the same.
    #[cold]
    fn read_file(&self, pos: u64, out: &mut [u8]) -> Result<(), StorageError> {
        let len = out.len();
        let last = || {
            self.last_copy
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        if let Some((at, n, bytes)) = &*last() {
            if (*at, *n) == (pos, len) {
                out.copy_from_slice(&bytes[..len]);
                return Ok(());
            }
        }
        self.file
            .read_exact_at(out, pos)
            .map_err(|e| io_error(e, "reading", &self.path))?;
        if len <= LAST_COPY {
            let mut bytes = [0; LAST_COPY];
            bytes[..len].copy_from_slice(out);
            *last() = Some((pos, len, bytes));
        }
        Ok(())
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
        let from = self.len as usize;
        // `end <= alloc <= map.len()`: both casts are exact.
        self.map_mut()?[from..end as usize].copy_from_slice(data);
        self.dirty_from = Some(self.dirty_from.map_or(self.len, |d| d.min(self.len)));
        self.len = end;
        Ok(())
    }

    /// Makes the file (and, if needed, the map) at least `end` bytes long.
    fn grow(&mut self, end: u64) -> Result<(), StorageError> {
        let map_len = self.map_mut()?.len() as u64;
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
            let map = map_write(&self.file, len).ok_or_else(|| {
                StorageError::new(
                    StorageErrorKind::NoSpace,
                    format!("{}: cannot map {len} bytes", self.path.display()),
                )
            })?;
            self.map.replace(map);
        }
        self.prefault(from, target);
        Ok(())
    }

    /// Faults in the map's pages for `from..to` in one go (Linux only). A
    /// failure (an older kernel) only means that appends fault them in.
    fn prefault(&self, from: u64, to: u64) {
        #[cfg(target_os = "linux")]
        if let Some(map) = self.map.get() {
            // `to <= map.len()`: the casts are exact.
            let _ = map.advise_range(
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
    ///
    /// Only the ranges that may hold data are read ([`next_data`]: on Linux
    /// `SEEK_DATA`/`SEEK_HOLE` skip holes and unwritten extents that have
    /// no page in the page cache, which read as zeros), and on Linux they
    /// are read with positional reads rather than through the map, which
    /// costs a page fault per 16 pages and their teardown on unmap.
    pub fn truncate(&mut self, len: u64) -> Result<(), StorageError> {
        if len >= self.len {
            return Ok(());
        }
        let end = self.len;
        let mut zeroed = false;
        let mut buf = Vec::new();
        let mut pos = len;
        while let Some(data) = next_data(&self.file, pos, end) {
            zeroed |= self.zero_range(data.start, data.end, &mut buf)?;
            pos = data.end;
        }
        self.len = len;
        self.dirty_from = match (self.dirty_from, zeroed) {
            (Some(d), _) => Some(d.min(len)),
            (None, true) => Some(len),
            (None, false) => None,
        };
        Ok(())
    }

    /// Zeroes the non-zero [`ZERO_CHECK`] chunks of `from..to` (below
    /// `alloc`) through the map; whether there were any. On Linux the range
    /// is read positionally into `buf` ([`ZERO_READ`] bytes at a time: the
    /// page cache is unified, so these reads see every write through the
    /// map), elsewhere through the map ([`POSITIONAL_ZERO_CHECK`]).
    fn zero_range(&mut self, from: u64, to: u64, buf: &mut Vec<u8>) -> Result<bool, StorageError> {
        let mut zeroed = false;
        if !POSITIONAL_ZERO_CHECK {
            // `to <= alloc <= map.len()`: the casts are exact.
            for chunk in self.map_mut()?[from as usize..to as usize].chunks_mut(ZERO_CHECK) {
                if !is_zero(chunk) {
                    chunk.fill(0);
                    zeroed = true;
                }
            }
            return Ok(zeroed);
        }
        let mut pos = from;
        while pos < to {
            // At most `ZERO_READ`: the cast is exact.
            let n = (to - pos).min(ZERO_READ as u64) as usize;
            buf.resize(n, 0);
            self.file
                .read_exact_at(buf, pos)
                .map_err(|e| io_error(e, "reading", &self.path))?;
            for (i, chunk) in buf.chunks(ZERO_CHECK).enumerate() {
                if !is_zero(chunk) {
                    // `pos + n <= to <= alloc <= map.len()`: exact casts.
                    let at = pos as usize + i * ZERO_CHECK;
                    self.map_mut()?[at..at + chunk.len()].fill(0);
                    zeroed = true;
                }
            }
            pos += n as u64;
        }
        Ok(zeroed)
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
            // Bytes were written, so there is a map.
            if let (true, false, Some(map)) = (len > 0, cfg!(target_os = "linux"), self.map.get()) {
                map.flush_range(from, len)
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

/// Whether `chunk` holds only zeros. No early exit: the OR of a whole
/// chunk vectorizes, where `any` went byte by byte (half the time of an
/// unclean reopen).
fn is_zero(chunk: &[u8]) -> bool {
    chunk.iter().fold(0, |acc, &b| acc | b) == 0
}

/// The first range within `pos..end` of `file` that may hold data: on
/// Linux, from `SEEK_DATA` at `pos` to the following `SEEK_HOLE`, clamped
/// to `end`; `None` when the rest reads as zeros without being read (a
/// hole, or an unwritten extent without pages in the page cache: `ENXIO`,
/// or data only at `end` or after it). The file system tracks every byte
/// written, through a map too (a page dirtied in a hole or an unwritten
/// extent is data until it is written back, and after that the extent is
/// written), so nothing non-zero is skipped. Where `SEEK_DATA` is not
/// supported (an error other than `ENXIO`), or elsewhere than Linux, the
/// whole of `pos..end`.
fn next_data(file: &File, pos: u64, end: u64) -> Option<std::ops::Range<u64>> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{seek, SeekFrom};
        data_range(pos, end, |hole, at| {
            seek(
                file,
                if hole {
                    SeekFrom::Hole(at)
                } else {
                    SeekFrom::Data(at)
                },
            )
        })
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = file;
        data_range(pos, end, |_, _| Err(Errno::INVAL))
    }
}

/// [`next_data`] with `seek(hole, at)` for `lseek(at, SEEK_HOLE)` (when
/// `hole`) or `lseek(at, SEEK_DATA)`.
fn data_range(
    pos: u64,
    end: u64,
    seek: impl Fn(bool, u64) -> Result<u64, Errno>,
) -> Option<std::ops::Range<u64>> {
    if pos >= end {
        return None;
    }
    let start = match seek(false, pos) {
        Ok(data) if data >= end => return None,
        // Never before `pos`; `max` only guards the caller's loop.
        Ok(data) => data.max(pos),
        Err(Errno::NXIO) => return None,
        // No `SEEK_DATA` here (`EINVAL`, or anything else): all of it.
        Err(_) => return Some(pos..end),
    };
    let stop = match seek(true, start) {
        Ok(hole) if hole > start => hole.min(end),
        _ => end,
    };
    Some(start..stop)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::file::map::POSITIONAL_READS;
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
        MappedFile::new(path, file, len, map_len.max(len as usize), map_len as u64)
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
        assert!(f.map.get().unwrap().len() >= 100_000);
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
        assert!(f.map.get().unwrap()[1000..5000].iter().all(|&b| b == 0));
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

    #[test]
    fn reads_are_positional_until_the_map_is_made() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 1 << 20);
        let data: Vec<u8> = (0..=255).collect();
        f.append(&data).unwrap();
        f.close().unwrap();
        let f = open(tmp.path(), 1 << 20);
        let mut out = [0; 4];
        for i in 0..POSITIONAL_READS as usize {
            f.read_into(i as u64, &mut out).unwrap();
            assert_eq!(out, data[i..i + 4]);
        }
        assert!(f.map.get().is_none(), "copies are positional at first");
        f.read_into(252, &mut out).unwrap();
        assert_eq!(out, data[252..]);
        assert!(f.map.get().is_some());
        assert!(f.read_into(253, &mut out).is_err());
        // A borrowing read maps at once; so does a write.
        let f = open(tmp.path(), 1 << 20);
        assert!(matches!(f.read_at(7, 2).unwrap(), Cow::Borrowed([7, 8])));
        let mut f = open(tmp.path(), 1 << 20);
        f.read_into(0, &mut out).unwrap();
        assert!(f.map.get().is_none());
        f.append(&[1; 4]).unwrap();
        assert!(f.map.get().is_some());
        f.read_into(256, &mut out).unwrap();
        assert_eq!(out, [1; 4]);
    }

    #[test]
    fn resident_bytes_are_the_content_once_mapped() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 1 << 20);
        f.append(&[3; 40]).unwrap();
        f.close().unwrap();
        let mut f = open(tmp.path(), 1 << 20);
        assert_eq!(f.resident(), None, "not mapped yet");
        f.append(&[4; 8]).unwrap();
        let want: Vec<u8> = [[3; 40].as_slice(), &[4; 8]].concat();
        assert_eq!(
            f.resident(),
            Some(&want[..]),
            "the content, not the preallocation"
        );
        f.truncate(10).unwrap();
        assert_eq!(f.resident(), Some(&want[..10]));
    }

    #[test]
    fn a_repeated_copy_is_served_again_only_for_the_same_range() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 1 << 20);
        let data: Vec<u8> = (0..64).collect();
        f.append(&data).unwrap();
        f.close().unwrap();
        let f = open(tmp.path(), 1 << 20);
        for (pos, len) in [(48, 16), (48, 16), (48, 8), (40, 16), (48, 16), (0, 24)] {
            let mut out = vec![0; len];
            f.read_into(pos, &mut out).unwrap();
            assert_eq!(out, data[pos as usize..pos as usize + len], "{pos} {len}");
        }
        assert!(f.map.get().is_none());
    }

    #[test]
    fn an_index_that_cannot_be_mapped_reads_and_writes_positionally() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f.index");
        std::fs::write(&path, [3; 100]).unwrap();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        // No address space holds a map this long.
        let mut f = MappedFile::new(path.clone(), file, 100, usize::MAX / 2, 1 << 20);
        for _ in 0..=POSITIONAL_READS {
            assert_eq!(&*f.read_at(98, 2).unwrap(), [3, 3]);
        }
        assert!(!f.make_writable());
        assert!(f.append(&[1]).is_err(), "a write needs the map");
        let mut f = f.into_buffered();
        f.append(&[4; 10]).unwrap();
        f.truncate(105).unwrap();
        let mut out = [0; 6];
        f.read_into(99, &mut out).unwrap();
        assert_eq!(out, [3, 4, 4, 4, 4, 4]);
        drop(f);
        assert_eq!(std::fs::read(&path).unwrap().len(), 105);
    }

    #[test]
    fn data_ranges_fall_back_to_the_whole_range_without_seek_data() {
        // No SEEK_DATA support: everything is checked.
        assert_eq!(data_range(10, 100, |_, _| Err(Errno::INVAL)), Some(10..100));
        assert_eq!(data_range(10, 100, |_, _| Err(Errno::IO)), Some(10..100));
        // A SEEK_HOLE that fails after a SEEK_DATA that worked: to the end.
        let data_only = |hole, at| if hole { Err(Errno::INVAL) } else { Ok(at + 5) };
        assert_eq!(data_range(10, 100, data_only), Some(15..100));
        // ENXIO: no data after `pos`; data only at `end` or later: none.
        assert_eq!(data_range(10, 100, |_, _| Err(Errno::NXIO)), None);
        assert_eq!(data_range(10, 100, |_, _| Ok(100)), None);
        assert_eq!(data_range(100, 100, |_, _| Ok(0)), None);
        // A data range inside, and one that runs past the end.
        let seek = |hole, at| Ok(if hole { at + 20 } else { 40 });
        assert_eq!(data_range(10, 100, seek), Some(40..60));
        assert_eq!(data_range(10, 50, seek), Some(40..50));
    }

    #[test]
    fn an_untouched_preallocation_reads_as_no_data_or_is_checked_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f.index");
        let file = File::create(&path).unwrap();
        file.write_all_at(&[1; 100], 0).unwrap();
        file.sync_all().unwrap();
        rustix::fs::fallocate(&file, FallocateFlags::empty(), 100, 1 << 20).unwrap();
        match next_data(&file, 4096, (1 << 20) + 100) {
            // SEEK_DATA (ext4, tmpfs, xfs, btrfs): the unwritten extent is
            // skipped, or (any page of it cached) reported as data.
            None => {}
            Some(range) => assert!(range.start >= 4096 && range.end <= (1 << 20) + 100),
        }
        // The written bytes are data wherever SEEK_DATA works, and always
        // when it does not.
        assert_eq!(next_data(&file, 0, 100), Some(0..100));
    }

    /// Bytes written through the map past the cut point and not synced
    /// (dirty pages in the page cache, over the unwritten extent of an
    /// unclean close's preallocation) are found by `SEEK_DATA`, checked
    /// and zeroed.
    #[test]
    fn a_cut_zeroes_unsynced_bytes_written_through_the_map() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 4 << 20);
        f.append(&[3; 100]).unwrap();
        f.sync().unwrap();
        drop(f);
        // An unclean close: the content is the whole preallocation.
        let mut f = open(tmp.path(), 4 << 20);
        let len = f.len();
        assert_eq!(len, GROW_MIN);
        let map = f.map_mut().unwrap();
        for at in [100, 4095, 4096, 30_000, len as usize - 1] {
            map[at] = 9;
        }
        f.truncate(50).unwrap();
        assert_eq!(f.dirty_from, Some(50));
        assert!(f.map.get().unwrap()[50..len as usize]
            .iter()
            .all(|&b| b == 0));
        // The file says so too (the same pages, through another descriptor).
        let bytes = std::fs::read(tmp.path().join("f.index")).unwrap();
        assert_eq!(bytes.len() as u64, len);
        assert!(bytes[..50].iter().all(|&b| b == 3));
        assert!(bytes[50..].iter().all(|&b| b == 0));
        // Dropped unsynced again and reopened: still zeros past the cut.
        drop(f);
        let mut f = open(tmp.path(), 4 << 20);
        f.truncate(50).unwrap();
        assert_eq!(f.dirty_from, None, "nothing left to zero");
        f.close().unwrap();
        assert_eq!(std::fs::read(tmp.path().join("f.index")).unwrap(), [3; 50]);
    }

    /// The same after growth far past the first step, where most of the
    /// preallocation was never touched: a non-zero page in the middle of
    /// it, and one at its very end, are found.
    #[test]
    fn a_cut_finds_unsynced_bytes_far_into_the_preallocation() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 8 << 20);
        f.append(&vec![5; 3 << 20]).unwrap();
        f.append(&[5; 16]).unwrap();
        f.sync().unwrap();
        let alloc = disk_len(&f) as usize;
        let len = f.len() as usize;
        assert!(alloc > len + 8192, "{alloc} {len}");
        let map = f.map_mut().unwrap();
        map[len + (alloc - len) / 2] = 1;
        map[alloc - 1] = 2;
        // Content as an unclean reopen reports it: the whole file.
        f.len = alloc as u64;
        f.truncate(len as u64 - 10).unwrap();
        let bytes = std::fs::read(tmp.path().join("f.index")).unwrap();
        assert!(bytes[..len - 10].iter().all(|&b| b == 5));
        assert!(bytes[len - 10..].iter().all(|&b| b == 0));
    }
}
