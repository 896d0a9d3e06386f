//! [`FileHandle`]: one open file of a [`super::FileStorage`].

use std::borrow::Cow;

use dislog_core::{pushed_bytes, StorageError, StorageFile};

use super::buffered::BufferedFile;
use super::mapped::MappedFile;
use super::storage::OpenName;

/// One open segment file of a [`super::FileStorage`]: a buffered store, a
/// memory-mapped index, or (in a read-only log) an in-memory overlay of
/// either.
///
/// A file is open through one handle at a time (a second `open` or
/// `create` of it is `Busy`), and a handle keeps the directory's writer lock
/// alive until it is dropped, after its last write.
#[derive(Debug)]
pub struct FileHandle {
    // Dropped first: flushes, unmaps; then the name is released.
    inner: Inner,
    /// `inner` takes writes as it is: a buffered file, or a mapped one
    /// whose map exists (checked once; every append asks).
    writable: bool,
    _open: OpenName,
}

impl FileHandle {
    pub(crate) fn new(inner: Inner, open: OpenName) -> Self {
        Self {
            writable: matches!(inner, Inner::Buffered(_)),
            inner,
            _open: open,
        }
    }

    /// Prepares a write: an index is mapped on its first write, and one
    /// whose map cannot be made becomes a buffered file, as it would have
    /// had its map failed on open.
    #[inline]
    fn writable(&mut self) -> &mut Inner {
        if !self.writable {
            self.first_write();
        }
        &mut self.inner
    }

    #[cold]
    #[inline(never)]
    fn first_write(&mut self) {
        self.writable = true;
        if let Inner::Mapped(f) = &mut self.inner {
            if !f.make_writable() {
                let placeholder = Inner::Buffered(BufferedFile::detached());
                if let Inner::Mapped(f) = std::mem::replace(&mut self.inner, placeholder) {
                    self.inner = Inner::Buffered(f.into_buffered());
                }
            }
        }
    }
}

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
        match &self.inner {
            Inner::Buffered(f) => f.len(),
            Inner::Mapped(f) => f.len(),
        }
    }

    fn read_into(&self, pos: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        match &self.inner {
            Inner::Buffered(f) => f.read_into(pos, buf),
            Inner::Mapped(f) => f.read_into(pos, buf),
        }
    }

    fn read_at(&self, pos: u64, len: usize) -> Result<Cow<'_, [u8]>, StorageError> {
        match &self.inner {
            Inner::Buffered(f) => f.read_at(pos, len),
            Inner::Mapped(f) => f.read_at(pos, len),
        }
    }

    #[inline]
    fn resident(&self) -> Option<&[u8]> {
        match &self.inner {
            Inner::Buffered(f) => f.resident(),
            Inner::Mapped(f) => f.resident(),
        }
    }

    fn append(&mut self, data: &[u8]) -> Result<(), StorageError> {
        match self.writable() {
            Inner::Buffered(f) => f.append(data),
            Inner::Mapped(f) => f.append(data),
        }
    }

    fn append_with<W: FnOnce(&mut Vec<u8>)>(
        &mut self,
        len: usize,
        write: W,
    ) -> Result<(), StorageError> {
        match self.writable() {
            Inner::Buffered(f) => f.append_with(len, write),
            // Index entries: a few bytes each.
            Inner::Mapped(f) => f.append(&pushed_bytes(len, write)?),
        }
    }

    fn truncate(&mut self, len: u64) -> Result<(), StorageError> {
        // Only a cut writes (an index zeroes what it cuts).
        let inner = if len < self.len() {
            self.writable()
        } else {
            &mut self.inner
        };
        match inner {
            Inner::Buffered(f) => f.truncate(len),
            Inner::Mapped(f) => f.truncate(len),
        }
    }

    fn flush(&mut self) -> Result<(), StorageError> {
        match &mut self.inner {
            Inner::Buffered(f) => f.flush(),
            Inner::Mapped(_) => Ok(()),
        }
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        match &mut self.inner {
            Inner::Buffered(f) => f.sync(),
            Inner::Mapped(f) => f.sync(),
        }
    }

    fn close(self) -> Result<(), StorageError> {
        let Self { inner, _open, .. } = self;
        let closed = match inner {
            Inner::Buffered(mut f) => f.close(),
            Inner::Mapped(f) => f.close(),
        };
        drop(_open);
        closed
    }
}
