//! [`FileHandle`]: one open file of a [`super::FileStorage`].

use std::borrow::Cow;

use dislog_core::{StorageError, StorageFile};

use super::buffered::BufferedFile;
use super::mapped::MappedFile;

/// One open segment file of a [`super::FileStorage`]: a buffered store, a
/// memory-mapped index, or (in a read-only log) an in-memory overlay of
/// either.
#[derive(Debug)]
pub struct FileHandle(pub(crate) Inner);

#[derive(Debug)]
pub(crate) enum Inner {
    /// A store, or any file of a read-only log (or an index that could not
    /// be mapped).
    Buffered(BufferedFile),
    /// The index of a writer.
    Mapped(MappedFile),
}

impl StorageFile for FileHandle {
    fn len(&self) -> u64 {
        match &self.0 {
            Inner::Buffered(f) => f.len(),
            Inner::Mapped(f) => f.len(),
        }
    }

    fn read_into(&self, pos: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        match &self.0 {
            Inner::Buffered(f) => f.read_into(pos, buf),
            Inner::Mapped(f) => f.read_into(pos, buf),
        }
    }

    fn read_at(&self, pos: u64, len: usize) -> Result<Cow<'_, [u8]>, StorageError> {
        match &self.0 {
            Inner::Buffered(f) => f.read_at(pos, len),
            Inner::Mapped(f) => f.read_at(pos, len),
        }
    }

    fn append(&mut self, data: &[u8]) -> Result<(), StorageError> {
        match &mut self.0 {
            Inner::Buffered(f) => f.append(data),
            Inner::Mapped(f) => f.append(data),
        }
    }

    fn truncate(&mut self, len: u64) -> Result<(), StorageError> {
        match &mut self.0 {
            Inner::Buffered(f) => f.truncate(len),
            Inner::Mapped(f) => f.truncate(len),
        }
    }

    fn flush(&mut self) -> Result<(), StorageError> {
        match &mut self.0 {
            Inner::Buffered(f) => f.flush(),
            Inner::Mapped(_) => Ok(()),
        }
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        match &mut self.0 {
            Inner::Buffered(f) => f.sync(),
            Inner::Mapped(f) => f.sync(),
        }
    }

    fn close(self) -> Result<(), StorageError> {
        match self.0 {
            Inner::Buffered(mut f) => f.flush(),
            Inner::Mapped(f) => f.close(),
        }
    }
}
