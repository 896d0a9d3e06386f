//! [`FileHandle`]: one open file of a [`super::FileStorage`].

use std::borrow::Cow;

use dislog_core::{StorageError, StorageFile};

use super::buffered::BufferedFile;

/// One open segment file of a [`super::FileStorage`]: a buffered store, a
/// memory-mapped index, or (in a read-only log) an in-memory overlay of
/// either.
#[derive(Debug)]
pub struct FileHandle(pub(crate) Inner);

#[derive(Debug)]
pub(crate) enum Inner {
    Buffered(BufferedFile),
}

impl StorageFile for FileHandle {
    fn len(&self) -> u64 {
        match &self.0 {
            Inner::Buffered(f) => f.len(),
        }
    }

    fn read_into(&self, pos: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        match &self.0 {
            Inner::Buffered(f) => f.read_into(pos, buf),
        }
    }

    fn read_at(&self, pos: u64, len: usize) -> Result<Cow<'_, [u8]>, StorageError> {
        match &self.0 {
            Inner::Buffered(f) => f.read_at(pos, len),
        }
    }

    fn append(&mut self, data: &[u8]) -> Result<(), StorageError> {
        match &mut self.0 {
            Inner::Buffered(f) => f.append(data),
        }
    }

    fn truncate(&mut self, len: u64) -> Result<(), StorageError> {
        match &mut self.0 {
            Inner::Buffered(f) => f.truncate(len),
        }
    }

    fn flush(&mut self) -> Result<(), StorageError> {
        match &mut self.0 {
            Inner::Buffered(f) => f.flush(),
        }
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        match &mut self.0 {
            Inner::Buffered(f) => f.sync(),
        }
    }
}
