//! The preallocation of a writer's index file.
//!
//! An index is extended ahead of its appends, in doubling steps (from
//! [`GROW_MIN`] to [`GROW_MAX`] bytes, at most to its capacity), with
//! `fallocate`: a full disk is then an error of the append that needs the
//! room, and the writes of the entries (buffered, then `pwrite`, like a
//! store's) go to blocks that are already allocated. The file's length
//! (`alloc`) is therefore larger than its content; the rest is zeros.
//!
//! * A clean close trims the file to its content ([`Preallocation::trim`])
//!   and syncs it: a cleanly closed index has exactly its entries. So does a
//!   roll that seals the index's segment (without the sync); appends after
//!   a suffix cut reopens the segment preallocate again.
//! * A handle dropped without `close` (a crash, a dropped log) leaves the
//!   zero-filled preallocation; the next open reports it as content, and
//!   the log's recovery finds the written entries by binary search over the
//!   zero tail and cuts the rest (`FORMAT.md`, "Recovery").
//! * A cut zeroes the content it drops ([`Preallocation::zero`]) and keeps
//!   the blocks, so the bytes past the content are always zeros, which
//!   recovery relies on.
//!
//! Entries used to be written through a writable map of the file, grown
//! and prefaulted (`MADV_POPULATE_WRITE`) the same way. On ext4 (Linux
//! 6.18, the development VM) every page faulted in that way was read as a
//! hole (zero-filled) and then made writable, which cost more than a
//! store's whole `pwrite`: appends of 100-byte records spent a third of
//! their kernel time there. Buffered `pwrite`s of whole pages skip both.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use dislog_core::StorageError;
use rustix::fs::FallocateFlags;
use rustix::io::Errno;

use super::error::io_error;

/// The smallest growth step of an index file.
pub(crate) const GROW_MIN: u64 = 64 << 10;
/// The largest growth step of an index file (it bounds the zeros a dropped
/// index leaves past its content).
pub(crate) const GROW_MAX: u64 = 256 << 10;

/// Bytes checked at a time for zeros when content is cut (and zeroed when
/// any is not).
const ZERO_CHECK: usize = 4096;

/// Bytes read at a time to check a cut range for zeros.
const ZERO_READ: usize = 64 << 10;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Preallocation {
    /// The file's length on disk: its content, then zeros.
    alloc: u64,
    /// The length the log lets the file grow to (steps stop there, unless
    /// an append needs more).
    capacity: u64,
}

impl Preallocation {
    /// For a file of `file_len` bytes, all of them content.
    pub fn new(file_len: u64, capacity: u64) -> Self {
        Self {
            alloc: file_len,
            capacity,
        }
    }

    /// Whether content of `end` bytes needs the file extended first.
    #[inline]
    pub fn must_grow(&self, end: u64) -> bool {
        end > self.alloc
    }

    /// Before the content grows to `end` bytes: extends the file first when
    /// it is shorter. An error (a full disk) leaves the file as it was.
    #[inline]
    pub fn before_append(
        &mut self,
        file: &File,
        path: &Path,
        end: u64,
    ) -> Result<(), StorageError> {
        if self.must_grow(end) {
            self.grow(file, path, end)?;
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, file: &File, path: &Path, end: u64) -> Result<(), StorageError> {
        let step = self.alloc.clamp(GROW_MIN, GROW_MAX);
        let target = end.max(self.alloc.saturating_add(step).min(self.capacity));
        let extra = target - self.alloc;
        match rustix::fs::fallocate(file, FallocateFlags::empty(), self.alloc, extra) {
            Ok(()) => {}
            // The file system cannot preallocate: a sparse extension.
            Err(Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL) => file
                .set_len(target)
                .map_err(|e| io_error(e, "growing", path))?,
            Err(e) => return Err(io_error(e.into(), "growing", path)),
        }
        self.alloc = target;
        Ok(())
    }

    /// Makes the file's bytes `from..to` (content being cut, below `alloc`)
    /// read as zeros, keeping the blocks (later appends reuse them; `close`
    /// trims). Bytes that are already zero (the preallocated tail an unclean
    /// close leaves, which recovery cuts on every such open) are only read,
    /// not rewritten: an `ftruncate` here cost ~1 ms per open.
    ///
    /// Only the ranges that may hold data are read ([`next_data`]: on Linux
    /// `SEEK_DATA`/`SEEK_HOLE` skip holes and unwritten extents that have
    /// no page in the page cache, which read as zeros).
    pub fn zero(&self, file: &File, path: &Path, from: u64, to: u64) -> Result<(), StorageError> {
        let mut buf = Vec::new();
        let mut pos = from;
        while let Some(data) = next_data(file, pos, to) {
            zero_range(file, path, data.start, data.end, &mut buf)?;
            pos = data.end;
        }
        Ok(())
    }

    /// Drops the preallocation as [`Preallocation::trim`] does, leaving the
    /// cut itself, to `len` bytes, to the caller; whether there was any.
    pub fn forget(&mut self, len: u64) -> bool {
        let had = self.alloc != len;
        self.alloc = len;
        had
    }

    /// Cuts the file to its content, `len` bytes, dropping the
    /// preallocation; whether it had any (the caller then syncs the new
    /// length).
    pub fn trim(&mut self, file: &File, path: &Path, len: u64) -> Result<bool, StorageError> {
        if self.alloc == len {
            return Ok(false);
        }
        file.set_len(len)
            .map_err(|e| io_error(e, "truncating", path))?;
        self.alloc = len;
        Ok(true)
    }
}

/// Zeroes the non-zero [`ZERO_CHECK`] chunks of the file's `from..to`,
/// reading it [`ZERO_READ`] bytes at a time into `buf`.
fn zero_range(
    file: &File,
    path: &Path,
    from: u64,
    to: u64,
    buf: &mut Vec<u8>,
) -> Result<(), StorageError> {
    let zeros = [0; ZERO_CHECK];
    let mut pos = from;
    while pos < to {
        // At most `ZERO_READ`: the cast is exact.
        let n = (to - pos).min(ZERO_READ as u64) as usize;
        buf.resize(n, 0);
        file.read_exact_at(buf, pos)
            .map_err(|e| io_error(e, "reading", path))?;
        for (i, chunk) in buf.chunks(ZERO_CHECK).enumerate() {
            if !is_zero(chunk) {
                file.write_all_at(&zeros[..chunk.len()], pos + (i * ZERO_CHECK) as u64)
                    .map_err(|e| io_error(e, "zeroing", path))?;
            }
        }
        pos += n as u64;
    }
    Ok(())
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
    use crate::file::buffered::{tests::writer_of, BufferedFile};
    use std::fs::OpenOptions;

    /// A writer's preallocated index file in `dir`, content as on open.
    fn open(dir: &Path, capacity: u64) -> BufferedFile {
        writer_of(dir.join("f.index"), capacity).preallocated()
    }

    fn on_disk(dir: &Path) -> Vec<u8> {
        std::fs::read(dir.join("f.index")).unwrap()
    }

    /// Writes `bytes` at `pos` behind the handle's back (what a crash
    /// leaves: unsynced bytes past the content).
    fn scribble(dir: &Path, pos: u64, bytes: &[u8]) {
        let file = OpenOptions::new()
            .write(true)
            .open(dir.join("f.index"))
            .unwrap();
        file.write_all_at(bytes, pos).unwrap();
    }

    #[test]
    fn appends_grow_the_file_in_steps_and_close_trims() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 4 << 20);
        f.append(&[1; 100]).unwrap();
        assert_eq!(f.len(), 100);
        assert_eq!(on_disk(tmp.path()).len() as u64, GROW_MIN);
        let chunk = vec![7; 100_000];
        for _ in 0..30 {
            f.append(&chunk).unwrap();
        }
        assert_eq!(f.len(), 3_000_100);
        f.flush().unwrap();
        let bytes = on_disk(tmp.path());
        let alloc = bytes.len() as u64;
        assert!(alloc >= f.len() && alloc - f.len() <= GROW_MAX, "{alloc}");
        assert!(bytes[3_000_100..].iter().all(|&b| b == 0));
        let mut out = [0; 3];
        f.read_into(99, &mut out).unwrap();
        assert_eq!(out, [1, 7, 7]);
        assert!(f.read_into(f.len() - 1, &mut out).is_err());
        f.close().unwrap();
        drop(f);
        assert_eq!(on_disk(tmp.path()).len(), 3_000_100);
    }

    #[test]
    fn a_cut_leaves_zeros_past_the_content_and_keeps_the_blocks() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 1 << 20);
        f.append(&[9; 5000]).unwrap();
        f.flush().unwrap();
        f.truncate(1000).unwrap();
        let bytes = on_disk(tmp.path());
        assert_eq!(bytes.len() as u64, GROW_MIN, "the blocks stay");
        assert!(bytes[1000..].iter().all(|&b| b == 0));
        f.append(&[5; 10]).unwrap();
        assert_eq!(f.len(), 1010);
        // Dropped without close: the preallocated tail reads back as zeros.
        drop(f);
        let f = open(tmp.path(), 1 << 20);
        assert_eq!(f.len(), GROW_MIN);
        let mut tail = vec![1; (f.len() - 1010) as usize];
        f.read_into(1010, &mut tail).unwrap();
        assert!(tail.iter().all(|&b| b == 0));
        let mut mid = [0; 2];
        f.read_into(1009, &mut mid).unwrap();
        assert_eq!(mid, [5, 0]);
    }

    /// What recovery does after an unclean close: the content reported is
    /// the whole preallocated file, and the cut to the written entries
    /// zeroes whatever is not zero past them (unsynced bytes a crash left),
    /// near the cut and far into the preallocation.
    #[test]
    fn a_cut_after_an_unclean_close_zeroes_stray_bytes_and_close_trims() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 8 << 20);
        f.append(&vec![3; 3 << 20]).unwrap();
        f.append(&[3; 16]).unwrap();
        f.sync().unwrap();
        drop(f);
        let alloc = on_disk(tmp.path()).len() as u64;
        let len = (3u64 << 20) + 16;
        assert!(alloc > len + 8192, "{alloc}");
        for at in [
            len,
            len + 4095,
            len + 4096,
            len + (alloc - len) / 2,
            alloc - 1,
        ] {
            scribble(tmp.path(), at, &[9]);
        }
        let mut f = open(tmp.path(), 8 << 20);
        assert_eq!(f.len(), alloc);
        f.truncate(len - 10).unwrap();
        assert_eq!(f.len(), len - 10);
        let bytes = on_disk(tmp.path());
        assert_eq!(bytes.len() as u64, alloc);
        assert!(bytes[..len as usize - 10].iter().all(|&b| b == 3));
        assert!(bytes[len as usize - 10..].iter().all(|&b| b == 0));
        f.append(&[4; 10]).unwrap();
        f.close().unwrap();
        drop(f);
        let bytes = on_disk(tmp.path());
        assert_eq!(bytes.len() as u64, len);
        assert_eq!(
            bytes[len as usize - 11..],
            [3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]
        );
    }

    #[test]
    fn a_seal_trims_and_frees_and_appends_still_work() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 1 << 20);
        f.append(&[1; 100]).unwrap();
        f.seal().unwrap();
        assert_eq!(on_disk(tmp.path()), [1; 100], "flushed and trimmed");
        f.append(&[2; 10]).unwrap();
        assert_eq!(f.len(), 110);
        assert_eq!(
            on_disk(tmp.path()).len() as u64,
            100 + GROW_MIN,
            "grown again"
        );
        let mut out = [0; 2];
        f.read_into(99, &mut out).unwrap();
        assert_eq!(out, [1, 2]);
        f.close().unwrap();
        drop(f);
        assert_eq!(on_disk(tmp.path()).len(), 110);
    }

    #[test]
    fn the_file_grows_to_what_an_append_needs_past_the_capacity() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = open(tmp.path(), 100);
        f.append(&[1; 60]).unwrap();
        assert_eq!(on_disk(tmp.path()).len(), 100, "steps stop at the capacity");
        f.append(&[2; 60]).unwrap();
        f.flush().unwrap();
        assert_eq!(on_disk(tmp.path()).len(), 120);
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
}
