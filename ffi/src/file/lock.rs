//! The writer lock: an advisory, exclusive `flock`-style lock on `dir/LOCK`.
//!
//! The lock belongs to the open file description, so it conflicts with a
//! second open of the same directory in another process *and* in this one.
//! The operating system drops it when the holder exits, however it exits:
//! a writer killed by `SIGKILL` never leaves a stale lock behind. The file
//! holds the holder's process id, for the error message, and `clean` once a
//! writer has closed the log cleanly (every file synced), which lets the
//! next writer skip syncing it again.
//!
//! A lock file can be deleted: an open that fails in a directory that held
//! no log removes the `LOCK` it created. A second opener that opened the
//! file just before and locks it just after would then hold a lock on a
//! file no longer in the directory, while a third creates a new `LOCK` and
//! locks that: two writers. So a lock counts only if, once it is taken, the
//! path still names the locked file (same device and inode); otherwise the
//! opener lets go and starts over.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use dislog_core::{StorageError, StorageErrorKind};

use super::error::io_error;

/// Name of the lock file inside a log directory.
pub const LOCK_FILE: &str = "LOCK";

/// Bytes of the lock file: a process id or [`CLEAN`], space-padded.
const PID_WIDTH: usize = 10;

/// What the lock file says after a clean close.
const CLEAN: &str = "clean";

/// Bytes of the lock file read in one go on open: any file shorter than
/// this is read with a single positional read.
const LOCK_READ: usize = 64;

/// Reads the start of `file` into `buf` with one positional read; the
/// bytes read, `None` on an error. A read of a regular file is short only
/// at its end; were one short anyway, the worst outcome is a `clean`
/// marker missed (the next sync syncs everything) or a longer file not
/// cut to the width (its marker then never reads `clean` either).
fn read_head(file: &File, buf: &mut [u8]) -> Option<usize> {
    loop {
        match file.read_at(buf, 0) {
            Ok(n) => return Some(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// Attempts of [`DirLock::acquire`] that may find the lock file replaced.
const STALE_RETRIES: usize = 16;

/// Whether `path` still names `file` (the same device and inode). A
/// missing path is `false`; any other failure to look is an error.
fn still_at(file: &File, path: &Path) -> Result<bool, StorageError> {
    use std::os::unix::fs::MetadataExt;
    let held = file
        .metadata()
        .map_err(|e| io_error(e, "inspecting lock file", path))?;
    match std::fs::metadata(path) {
        Ok(named) => Ok((named.dev(), named.ino()) == (held.dev(), held.ino())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error(e, "inspecting lock file", path)),
    }
}

/// A held writer lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct DirLock {
    file: File,
    path: PathBuf,
    created: bool,
    /// Whether the previous holder marked the log cleanly closed.
    previous_clean: bool,
}

impl DirLock {
    /// Takes the lock of `dir`, creating the lock file if needed. Fails with
    /// [`StorageErrorKind::Locked`] when another handle holds it.
    pub fn acquire(dir: &Path) -> Result<Self, StorageError> {
        let path = dir.join(LOCK_FILE);
        // Each retry means another opener deleted the file in between; a
        // bound keeps a pathological neighbour from spinning us forever.
        for _ in 0..STALE_RETRIES {
            if let Some(lock) = Self::try_acquire(dir, &path)? {
                return Ok(lock);
            }
        }
        Err(StorageError::new(
            StorageErrorKind::Locked,
            format!(
                "{}: the lock file kept being replaced while it was taken",
                dir.display()
            ),
        ))
    }

    /// One attempt of [`DirLock::acquire`]: `None` when the file locked was
    /// no longer the one at `path` (see the module docs).
    fn try_acquire(dir: &Path, path: &Path) -> Result<Option<Self>, StorageError> {
        let path = path.to_path_buf();
        let mut options = OpenOptions::new();
        options.read(true).write(true);
        // The lock file usually exists: open it first (one system call
        // where an exclusive create that fails costs two), and create it
        // only when that fails.
        let (mut file, created) = match options.open(&path) {
            Ok(file) => (file, false),
            Err(_) => match options.clone().create_new(true).open(&path) {
                Ok(file) => (file, true),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => (
                    options
                        .open(&path)
                        .map_err(|e| io_error(e, "opening lock file", &path))?,
                    false,
                ),
                Err(e) => return Err(io_error(e, "creating lock file", &path)),
            },
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let by = if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (held by process {holder})")
                };
                return Err(StorageError::new(
                    StorageErrorKind::Locked,
                    format!("{}{by}", dir.display()),
                ));
            }
            Err(TryLockError::Error(e)) => return Err(io_error(e, "locking", &path)),
        }
        if !still_at(&file, &path)? {
            return Ok(None);
        }
        // What the previous holder left: `clean` after a clean close. One
        // positional read serves a file shorter than the buffer (what every
        // writer leaves); a longer one is read whole, as before.
        let mut head = [0; LOCK_READ];
        let short = read_head(&file, &mut head).filter(|&n| n < LOCK_READ);
        let previous_clean = match short {
            Some(n) => std::str::from_utf8(&head[..n]).is_ok_and(|s| s.trim() == CLEAN),
            None => {
                let mut previous = String::new();
                let _ = file.read_to_string(&mut previous);
                previous.trim() == CLEAN
            }
        };
        // The pid is informative only: failing to write it is not an error.
        // Overwriting `clean` needs no sync: after a power loss the page
        // cache is gone, so whatever the old marker says, every byte the
        // files hold is on the media.
        // It is written in place, padded to a fixed width, and the file is
        // cut only when it was longer: truncating a file to zero and
        // rewriting it makes ext4 (auto_da_alloc) write it back at once,
        // which cost milliseconds per open.
        let pid = format!("{:<PID_WIDTH$}", std::process::id());
        let longer = |file: &File| match short {
            Some(n) => n > PID_WIDTH,
            None => file.metadata().is_ok_and(|m| m.len() > PID_WIDTH as u64),
        };
        if file.write_all_at(pid.as_bytes(), 0).is_ok() && longer(&file) {
            let _ = file.set_len(PID_WIDTH as u64);
        }
        Ok(Some(Self {
            file,
            path,
            created,
            previous_clean,
        }))
    }

    /// Whether the previous writer closed the log cleanly: every byte of
    /// it was synced, so a reopen has nothing left to make durable.
    pub fn previous_clean(&self) -> bool {
        self.previous_clean
    }

    /// Records a clean close, once every file is synced: the next writer
    /// then skips syncing what this one already did. Best effort: a marker
    /// that fails to land only costs the next writer those syncs.
    pub fn mark_clean(&self) {
        let _ = self
            .file
            .write_all_at(format!("{CLEAN:<PID_WIDTH$}").as_bytes(), 0);
    }

    /// Whether this open created the lock file (so a failed open removes it).
    pub fn created(&self) -> bool {
        self.created
    }

    /// Deletes the lock file while still holding the lock.
    pub fn remove_file(&self) -> Result<(), StorageError> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(e, "removing lock file", &self.path)),
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes the
        // release independent of other handles to the same description.
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_lock_on_a_deleted_or_replaced_lock_file_does_not_count() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(LOCK_FILE);
        let first = File::create(&path).unwrap();
        assert!(still_at(&first, &path).unwrap());
        std::fs::remove_file(&path).unwrap();
        assert!(!still_at(&first, &path).unwrap(), "deleted");
        let second = File::create(&path).unwrap();
        assert!(!still_at(&first, &path).unwrap(), "replaced");
        assert!(still_at(&second, &path).unwrap());
        // The stale file is locked by someone (as the opener that raced a
        // failed open would hold it): acquiring takes the file at the path.
        first.try_lock().unwrap();
        let lock = DirLock::acquire(tmp.path()).unwrap();
        assert!(still_at(&lock.file, &path).unwrap());
        assert!(matches!(
            DirLock::acquire(tmp.path()),
            Err(e) if e.kind() == StorageErrorKind::Locked
        ));
    }
}
