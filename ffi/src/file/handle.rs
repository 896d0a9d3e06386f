//! [`FileHandle`]: one open file of a [`super::FileStorage`].

use std::borrow::Cow;

use dislog_core::{FileSyncer, StorageError, StorageFile};

use super::buffered::BufferedFile;
use super::storage::OpenName;

/// One open segment file of a [`super::FileStorage`]: a store or an index,
/// appended through a buffer and read from a read-only map (or, in a
/// read-only log, an in-memory overlay of the file).
///
/// A file is open through one handle at a time (a second `open` or
/// `create` of it is `Busy`), and a handle keeps the directory's writer lock
/// alive until it is dropped, after its last write.
#[derive(Debug)]
pub struct FileHandle {
    // Dropped first: flushes, unmaps; then the name is released.
    inner: BufferedFile,
    _open: OpenName,
}

impl FileHandle {
    pub(crate) fn new(inner: BufferedFile, open: OpenName) -> Self {
        Self { inner, _open: open }
    }
}

impl StorageFile for FileHandle {
    fn len(&self) -> u64 {
        self.inner.len()
    }

    fn read_into(&self, pos: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        self.inner.read_into(pos, buf)
    }

    fn read_at(&self, pos: u64, len: usize) -> Result<Cow<'_, [u8]>, StorageError> {
        self.inner.read_at(pos, len)
    }

    #[inline]
    fn resident(&self) -> Option<&[u8]> {
        self.inner.resident()
    }

    fn append(&mut self, data: &[u8]) -> Result<(), StorageError> {
        self.inner.append(data)
    }

    #[inline(always)]
    fn append_with<W: FnOnce(&mut Vec<u8>)>(
        &mut self,
        len: usize,
        write: W,
    ) -> Result<(), StorageError> {
        self.inner.append_with(len, write)
    }

    fn truncate(&mut self, len: u64) -> Result<(), StorageError> {
        self.inner.truncate(len)
    }

    fn flush(&mut self) -> Result<(), StorageError> {
        self.inner.flush()
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        self.inner.sync()
    }

    fn sync_barrier(&mut self) -> Result<(), StorageError> {
        self.inner.sync_barrier()
    }

    fn sync_prefix(&mut self, len: u64) -> Result<(), StorageError> {
        self.inner.sync_prefix(len)
    }

    fn seal(&mut self) -> Result<(), StorageError> {
        self.inner.seal_for_roll()
    }

    fn syncer(&self) -> Option<Box<dyn FileSyncer>> {
        self.inner.syncer()
    }

    fn close(self) -> Result<(), StorageError> {
        let Self { mut inner, _open } = self;
        let closed = inner.close();
        drop(inner);
        drop(_open);
        closed
    }
}
