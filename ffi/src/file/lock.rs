//! The writer lock: an advisory, exclusive `flock`-style lock on `dir/LOCK`.
//!
//! The lock belongs to the open file description, so it conflicts with a
//! second open of the same directory in another process *and* in this one.
//! The operating system drops it when the holder exits, however it exits:
//! a writer killed by `SIGKILL` never leaves a stale lock behind. The file
//! holds the holder's process id, for the error message, and `clean` once a
//! writer has closed the log cleanly (every file synced), which lets the
//! next writer skip syncing it again.

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
        Ok(Self {
            file,
            path,
            created,
            previous_clean,
        })
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
