//! The in-memory backend: a directory of byte vectors, shared between clones.
//!
//! Used by the browser package and by most tests. Every write is "durable" at
//! once (there is no media to lose). Reads are zero-copy.

use alloc::borrow::Cow;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;

use hashbrown::HashMap;
use spin::Mutex;

use crate::storage::{FileHint, Storage, StorageError, StorageErrorKind, StorageFile};

/// A file's bytes while it is not open, or a marker while a handle owns them.
#[derive(Debug)]
enum Slot {
    Closed(Vec<u8>),
    Open,
}

/// An in-memory directory of files. Clones share the same files, so a log can
/// be closed and reopened over the same bytes.
#[derive(Clone, Debug, Default)]
pub struct MemoryStorage {
    files: Arc<Mutex<HashMap<String, Slot>>>,
}

impl MemoryStorage {
    /// An empty directory.
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the bytes of a file that is not open, or `None` if it does
    /// not exist or is open.
    pub fn file_bytes(&self, name: &str) -> Option<Vec<u8>> {
        match self.files.lock().get(name) {
            Some(Slot::Closed(bytes)) => Some(bytes.clone()),
            _ => None,
        }
    }

    /// Replaces (or creates) a file that is not open with `bytes`. Tests use
    /// it to plant torn writes and corruption.
    pub fn set_file_bytes(&self, name: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        let mut files = self.files.lock();
        if let Some(Slot::Open) = files.get(name) {
            return Err(busy(name));
        }
        files.insert(name.to_string(), Slot::Closed(bytes));
        Ok(())
    }

    /// Total bytes held by files that are not open.
    pub fn total_bytes(&self) -> u64 {
        self.files
            .lock()
            .values()
            .map(|slot| match slot {
                Slot::Closed(bytes) => bytes.len() as u64,
                Slot::Open => 0,
            })
            .sum()
    }

    fn take(&self, name: &str, create: bool) -> Result<MemoryFile, StorageError> {
        let mut files = self.files.lock();
        let data = match files.get_mut(name) {
            Some(Slot::Open) => return Err(busy(name)),
            Some(slot) => match core::mem::replace(slot, Slot::Open) {
                Slot::Closed(bytes) if !create => bytes,
                _ => Vec::new(),
            },
            None if create => {
                files.insert(name.to_string(), Slot::Open);
                Vec::new()
            }
            None => return Err(StorageError::new(StorageErrorKind::NotFound, name)),
        };
        Ok(MemoryFile {
            name: name.to_string(),
            data,
            home: Arc::clone(&self.files),
        })
    }
}

fn busy(name: &str) -> StorageError {
    StorageError::new(StorageErrorKind::Busy, name)
}

impl Storage for MemoryStorage {
    type File = MemoryFile;

    fn list(&self) -> Result<Vec<String>, StorageError> {
        Ok(self.files.lock().keys().cloned().collect())
    }

    fn open(&self, name: &str, _hint: FileHint) -> Result<MemoryFile, StorageError> {
        self.take(name, false)
    }

    fn create(&self, name: &str, _hint: FileHint) -> Result<MemoryFile, StorageError> {
        self.take(name, true)
    }

    fn remove(&self, name: &str) -> Result<(), StorageError> {
        let mut files = self.files.lock();
        if let Some(Slot::Open) = files.get(name) {
            return Err(busy(name));
        }
        files.remove(name);
        Ok(())
    }

    fn sync_dir(&self) -> Result<(), StorageError> {
        Ok(())
    }

    /// Memory has no volatile cache: every write is durable at once.
    fn closed_cleanly(&self) -> bool {
        true
    }
}

/// An open in-memory file. It owns its bytes while open and hands them back to
/// its [`MemoryStorage`] when dropped.
#[derive(Debug)]
pub struct MemoryFile {
    name: String,
    data: Vec<u8>,
    home: Arc<Mutex<HashMap<String, Slot>>>,
}

impl MemoryFile {
    fn range(&self, pos: u64, len: usize) -> Result<&[u8], StorageError> {
        usize::try_from(pos)
            .ok()
            .and_then(|start| Some(start..start.checked_add(len)?))
            .and_then(|range| self.data.get(range))
            .ok_or_else(|| {
                StorageError::new(
                    StorageErrorKind::UnexpectedEof,
                    alloc::format!(
                        "{}: {len} bytes at {pos} past length {}",
                        self.name,
                        self.data.len()
                    ),
                )
            })
    }
}

impl StorageFile for MemoryFile {
    fn len(&self) -> u64 {
        self.data.len() as u64
    }

    fn read_into(&self, pos: u64, buf: &mut [u8]) -> Result<(), StorageError> {
        buf.copy_from_slice(self.range(pos, buf.len())?);
        Ok(())
    }

    fn read_at(&self, pos: u64, len: usize) -> Result<Cow<'_, [u8]>, StorageError> {
        self.range(pos, len).map(Cow::Borrowed)
    }

    fn resident(&self) -> Option<&[u8]> {
        Some(&self.data)
    }

    fn append(&mut self, data: &[u8]) -> Result<(), StorageError> {
        self.append_with(data.len(), |out| out.extend_from_slice(data))
    }

    fn append_with<W: FnOnce(&mut Vec<u8>)>(
        &mut self,
        len: usize,
        write: W,
    ) -> Result<(), StorageError> {
        // Doubling first (amortised appends); near the memory's end, only
        // what this append needs.
        self.data
            .try_reserve(len)
            .or_else(|_| self.data.try_reserve_exact(len))
            .map_err(|_| StorageError::out_of_memory())?;
        write(&mut self.data);
        Ok(())
    }

    fn truncate(&mut self, len: u64) -> Result<(), StorageError> {
        if let Ok(len) = usize::try_from(len) {
            self.data.truncate(len);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StorageError> {
        Ok(())
    }

    fn sync(&mut self) -> Result<(), StorageError> {
        Ok(())
    }
}

impl Drop for MemoryFile {
    fn drop(&mut self) {
        let mut files = self.home.lock();
        // A file removed while open stays removed.
        if let Some(slot) = files.get_mut(&self.name) {
            *slot = Slot::Closed(core::mem::take(&mut self.data));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::FileKind;

    const HINT: FileHint = FileHint {
        kind: FileKind::Store,
        capacity: 1024,
    };

    #[test]
    fn files_survive_close_and_reopen() {
        let storage = MemoryStorage::new();
        let mut f = storage.create("a", HINT).unwrap();
        f.append(b"hello").unwrap();
        assert_eq!(&*f.read_at(1, 3).unwrap(), b"ell");
        assert!(matches!(f.read_at(1, 3).unwrap(), Cow::Borrowed(_)));
        assert_eq!(
            storage.open("a", HINT).unwrap_err().kind(),
            StorageErrorKind::Busy
        );
        drop(f);
        let f = storage.open("a", HINT).unwrap();
        assert_eq!(f.len(), 5);
        assert_eq!(storage.list().unwrap(), ["a"]);
    }

    #[test]
    fn reads_past_end_and_missing_files_are_errors() {
        let storage = MemoryStorage::new();
        assert_eq!(
            storage.open("x", HINT).unwrap_err().kind(),
            StorageErrorKind::NotFound
        );
        let mut f = storage.create("x", HINT).unwrap();
        f.append(b"abc").unwrap();
        let mut buf = [0; 2];
        assert_eq!(
            f.read_into(2, &mut buf).unwrap_err().kind(),
            StorageErrorKind::UnexpectedEof
        );
        assert!(f.read_at(u64::MAX, 1).is_err());
        f.truncate(1).unwrap();
        assert_eq!(f.len(), 1);
    }

    #[test]
    fn create_truncates_and_remove_deletes() {
        let storage = MemoryStorage::new();
        storage.set_file_bytes("f", alloc::vec![1, 2, 3]).unwrap();
        assert!(storage.create("f", HINT).unwrap().is_empty());
        assert_eq!(storage.file_bytes("f").unwrap(), Vec::<u8>::new());
        storage.remove("f").unwrap();
        storage.remove("f").unwrap();
        assert!(storage.list().unwrap().is_empty());
    }
}
