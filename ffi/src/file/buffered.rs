//! A file appended through a buffer, read from a read-only map of it.
//!
//! The file's content is `disk` (its first `disk_len` bytes on disk) followed
//! by `buf` (appended bytes not yet written). Reads see both, so a record is
//! readable as soon as it is appended. Bytes on disk are borrowed from the
//! map (made once, at the file's capacity: see [`super::map`]) when there
//! is one, and copied with positional reads otherwise; bytes in the buffer
//! are borrowed from it; a read spanning both is copied.
//!
//! In *writer* mode (stores of a locked log) `flush` writes the buffer at
//! `disk_len` and the buffer flushes itself when full. In *overlay* mode
//! (every file of a read-only log) nothing is ever written: appends and
//! truncations change only what this handle shows.

use std::borrow::Cow;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use dislog_core::{StorageError, StorageErrorKind};
use memmap2::Mmap;

use super::error::{eof, io_error};

/// Size of the append buffer of a store (smaller when the store's capacity
/// is smaller).
pub(crate) const APPEND_BUFFER: usize = 256 << 10;

/// Writer or overlay; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Buffered writes to the file.
    Writer,
    /// Writes stay in memory; the file is never changed.
    Overlay,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct BufferedFile {
    path: PathBuf,
    /// `None` for a file created by a read-only log (it exists only here).
    file: Option<File>,
    /// A map of the file (writer mode only); only its first `disk_len`
    /// bytes are ever read.
    map: Option<Mmap>,
    disk_len: u64,
    buf: Vec<u8>,
    /// The buffer is flushed before it would grow past this (writer mode).
    buf_cap: usize,
    mode: Mode,
}

impl BufferedFile {
    /// Wraps `file`, whose first `disk_len` bytes are its content, and its
    /// map if it has one. `capacity` bounds the append buffer's size.
    pub fn new(
        path: PathBuf,
        file: Option<File>,
        map: Option<Mmap>,
        disk_len: u64,
        capacity: u64,
        mode: Mode,
    ) -> Self {
        let buf_cap = usize::try_from(capacity).map_or(APPEND_BUFFER, |c| c.min(APPEND_BUFFER));
        Self {
            path,
            file,
            map,
            disk_len,
            buf: Vec::new(),
            buf_cap: buf_cap.max(1),
            mode,
        }
    }

    fn check(&self, pos: u64, len: usize) -> Result<u64, StorageError> {
        match pos.checked_add(len as u64) {
            Some(end) if end <= self.len() => Ok(end),
            _ => Err(eof(&self.path, pos, len, self.len())),
        }
    }

    /// The bytes at `pos..end` (below `disk_len`) from the map, if it
    /// covers them.
    fn mapped(&self, pos: u64, end: u64) -> Option<&[u8]> {
        let map = self.map.as_ref()?;
        // `end <= disk_len`; when it is within the map both fit in usize.
        (end <= map.len() as u64).then(|| &map[pos as usize..end as usize])
    }

    /// Copies `out.len()` bytes at `pos` (below `disk_len`) from the file.
    fn read_disk(&self, pos: u64, out: &mut [u8]) -> Result<(), StorageError> {
        if let Some(bytes) = self.mapped(pos, pos + out.len() as u64) {
            out.copy_from_slice(bytes);
            return Ok(());
        }
        match &self.file {
            Some(file) => file
                .read_exact_at(out, pos)
                .map_err(|e| io_error(e, "reading", &self.path)),
            None => Err(eof(&self.path, pos, out.len(), 0)),
        }
    }

    /// The buffered bytes from content position `pos` (at least `disk_len`).
    fn buffered(&self, pos: u64, len: usize) -> &[u8] {
        // `check` ran: pos - disk_len + len <= buf.len(), so this fits usize.
        let start = (pos - self.disk_len) as usize;
        &self.buf[start..start + len]
    }

    /// Content length: disk part plus buffer.
    pub fn len(&self) -> u64 {
        self.disk_len + self.buf.len() as u64
    }

    /// Fills `out` with the content at `pos`.
    pub fn read_into(&self, pos: u64, out: &mut [u8]) -> Result<(), StorageError> {
        let end = self.check(pos, out.len())?;
        if pos >= self.disk_len {
            out.copy_from_slice(self.buffered(pos, out.len()));
            return Ok(());
        }
        let on_disk = (end.min(self.disk_len) - pos) as usize;
        let (head, tail) = out.split_at_mut(on_disk);
        self.read_disk(pos, head)?;
        tail.copy_from_slice(self.buffered(self.disk_len, tail.len()));
        Ok(())
    }

    /// The content at `pos..pos + len`: borrowed when it lies in the map or
    /// in the buffer.
    pub fn read_at(&self, pos: u64, len: usize) -> Result<Cow<'_, [u8]>, StorageError> {
        let end = self.check(pos, len)?;
        if pos >= self.disk_len {
            return Ok(Cow::Borrowed(self.buffered(pos, len)));
        }
        if end <= self.disk_len {
            if let Some(bytes) = self.mapped(pos, end) {
                return Ok(Cow::Borrowed(bytes));
            }
        }
        let mut out = vec![0; len];
        self.read_into(pos, &mut out)?;
        Ok(Cow::Owned(out))
    }

    /// Appends `data`, writing the buffer out first when it would overflow.
    /// A writer's buffer is allocated once, at its full size, on the first
    /// append: later appends never allocate.
    pub fn append(&mut self, data: &[u8]) -> Result<(), StorageError> {
        // The common case: a writer's buffer (allocated at `buf_cap`) has room.
        if self.mode == Mode::Writer && data.len() <= self.buf.capacity() - self.buf.len() {
            self.buf.extend_from_slice(data);
            return Ok(());
        }
        let reserved = match self.mode {
            Mode::Writer => {
                if self.buf.len() + data.len() > self.buf_cap {
                    self.flush()?;
                    if data.len() >= self.buf_cap {
                        return self.write_out(data);
                    }
                }
                self.buf
                    .try_reserve_exact(self.buf_cap.saturating_sub(self.buf.len()))
            }
            Mode::Overlay => self.buf.try_reserve(data.len()),
        };
        reserved.map_err(|_| StorageError::new(StorageErrorKind::NoSpace, "out of memory"))?;
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// Writes `data` at `disk_len` (writer mode only).
    fn write_out(&mut self, data: &[u8]) -> Result<(), StorageError> {
        if let Some(file) = &self.file {
            file.write_all_at(data, self.disk_len)
                .map_err(|e| io_error(e, "writing", &self.path))?;
            self.disk_len += data.len() as u64;
        }
        Ok(())
    }

    /// Cuts the content to `len` bytes.
    pub fn truncate(&mut self, len: u64) -> Result<(), StorageError> {
        if len >= self.disk_len {
            let keep = usize::try_from(len - self.disk_len).unwrap_or(usize::MAX);
            self.buf.truncate(keep);
            return Ok(());
        }
        self.buf.clear();
        if self.mode == Mode::Writer {
            if let Some(file) = &self.file {
                file.set_len(len)
                    .map_err(|e| io_error(e, "truncating", &self.path))?;
            }
        }
        self.disk_len = len;
        Ok(())
    }

    /// Writes the buffer to the file (writer mode; a no-op for an overlay).
    pub fn flush(&mut self) -> Result<(), StorageError> {
        if self.mode == Mode::Writer && !self.buf.is_empty() {
            let buf = std::mem::take(&mut self.buf);
            let written = self.write_out(&buf);
            self.buf = buf;
            written?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Flushes and makes the file's content durable (`fdatasync`).
    pub fn sync(&mut self) -> Result<(), StorageError> {
        self.flush()?;
        if let (Mode::Writer, Some(file)) = (self.mode, &self.file) {
            file.sync_data()
                .map_err(|e| io_error(e, "syncing", &self.path))?;
        }
        Ok(())
    }
}

impl Drop for BufferedFile {
    /// A dropped (not closed) writer still hands its buffer to the operating
    /// system, like `BufWriter`: dropping a log loses no acknowledged record
    /// unless the machine itself goes down. Errors are ignored here; the
    /// next open's recovery cuts whatever tail is torn.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::file::map::map_read;
    use std::fs::OpenOptions;

    fn writer(dir: &std::path::Path, capacity: u64) -> BufferedFile {
        let path = dir.join("f.store");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .unwrap();
        let len = file.metadata().unwrap().len();
        let map = map_read(&file, capacity.max(len) as usize);
        BufferedFile::new(path, Some(file), map, len, capacity, Mode::Writer)
    }

    fn on_disk(dir: &std::path::Path) -> Vec<u8> {
        std::fs::read(dir.join("f.store")).unwrap()
    }

    #[test]
    fn buffered_bytes_are_readable_and_spanning_reads_are_copied() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = writer(tmp.path(), 1 << 20);
        f.append(b"hello ").unwrap();
        assert!(matches!(f.read_at(0, 5).unwrap(), Cow::Borrowed(b"hello")));
        assert!(on_disk(tmp.path()).is_empty());
        f.flush().unwrap();
        f.append(b"world").unwrap();
        assert_eq!(on_disk(tmp.path()), b"hello ");
        assert!(matches!(f.read_at(0, 5).unwrap(), Cow::Borrowed(b"hello")));
        assert!(matches!(f.read_at(6, 5).unwrap(), Cow::Borrowed(b"world")));
        let spanning = f.read_at(3, 6).unwrap();
        assert!(matches!(spanning, Cow::Owned(_)));
        assert_eq!(&*spanning, b"lo wor");
        assert!(f.read_at(8, 4).is_err());
        assert!(f.read_at(u64::MAX, 1).is_err());
    }

    #[test]
    fn a_full_buffer_is_written_and_large_appends_go_straight_through() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = writer(tmp.path(), 100);
        f.append(&[1; 60]).unwrap();
        f.append(&[2; 60]).unwrap();
        assert_eq!(on_disk(tmp.path()).len(), 60);
        f.append(&[3; 150]).unwrap();
        assert_eq!(on_disk(tmp.path()).len(), 270);
        assert_eq!(f.len(), 270);
        let mut out = [0; 3];
        f.read_into(119, &mut out).unwrap();
        assert_eq!(out, [2, 3, 3]);
    }

    #[test]
    fn truncation_cuts_the_buffer_or_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = writer(tmp.path(), 1 << 20);
        f.append(&[1; 50]).unwrap();
        f.flush().unwrap();
        f.append(&[2; 50]).unwrap();
        f.truncate(80).unwrap();
        assert_eq!(f.len(), 80);
        f.truncate(20).unwrap();
        assert_eq!((f.len(), on_disk(tmp.path()).len()), (20, 20));
        f.append(&[3; 5]).unwrap();
        drop(f);
        assert_eq!(on_disk(tmp.path()), [&[1; 20][..], &[3; 5]].concat());
    }

    #[test]
    fn an_overlay_never_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f.store");
        std::fs::write(&path, [4; 40]).unwrap();
        let file = File::open(&path).unwrap();
        let mut f = BufferedFile::new(path.clone(), Some(file), None, 40, 1 << 20, Mode::Overlay);
        f.truncate(10).unwrap();
        f.append(&[5; 1000]).unwrap();
        f.sync().unwrap();
        assert_eq!(f.len(), 1010);
        let mut out = [0; 2];
        f.read_into(9, &mut out).unwrap();
        assert_eq!(out, [4, 5]);
        drop(f);
        assert_eq!(std::fs::read(&path).unwrap(), [4; 40]);
        let mut created = BufferedFile::new(path.clone(), None, None, 0, 1 << 20, Mode::Overlay);
        created.append(b"mem").unwrap();
        assert_eq!(&*created.read_at(0, 3).unwrap(), b"mem");
    }
}
