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
//! Once a writer's open has finished recovery, the file also holds the
//! machine's boot id (Linux: `/proc/sys/kernel/random/boot_id`) after the
//! process id. A later open that finds the boot id of the running system
//! knows that no power loss or reboot came between: every write of that
//! writer is in the page cache as it was made, synced or not, so recovery
//! may trust index entries whose frame checks and scan only the store's
//! tail past them (`Storage::unsynced_writes_kept`). The boot id is erased
//! when the next writer takes the lock and written again only after its
//! recovery: a writer that dies while recovering leaves none.
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
use std::path::Path;
use std::sync::OnceLock;

use dislog_core::{StorageError, StorageErrorKind};

use super::error::io_error;

/// Name of the lock file inside a log directory.
pub const LOCK_FILE: &str = "LOCK";

/// Bytes of a process id (or [`CLEAN`]), space-padded, at the start of the
/// lock file.
const PID_WIDTH: usize = 10;

/// Bytes of the whole lock file: the process id's field, a space, and room
/// for a boot id (36 bytes on Linux), space-padded. Every marker is written
/// at this width, so each one overwrites the whole of the one before.
const LOCK_WIDTH: usize = PID_WIDTH + 1 + 37;

/// The running system's boot id, read once: `None` where there is none (not
/// Linux, no `/proc`) or it does not fit the lock file's field.
pub(crate) fn boot_id() -> Option<&'static str> {
    static BOOT_ID: OnceLock<Option<String>> = OnceLock::new();
    BOOT_ID
        .get_or_init(|| {
            let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
            let id = id.trim();
            let fits = !id.is_empty() && id.len() < LOCK_WIDTH - PID_WIDTH;
            (fits && !id.contains(char::is_whitespace)).then(|| id.to_owned())
        })
        .as_deref()
}

/// What a lock file says: whether its writer closed cleanly, and whether
/// its writer finished recovery in the running system's boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Marker {
    clean: bool,
    same_boot: bool,
}

impl Marker {
    /// The marker at the start of `file`, with the file's length when one
    /// positional read held all of it (what every writer leaves); a longer
    /// file, or one that cannot be read, holds no marker of ours.
    fn read(file: &File) -> (Marker, Option<usize>) {
        let mut head = [0; LOCK_READ];
        let short = read_head(file, &mut head).filter(|&n| n < LOCK_READ);
        let marker = short.map_or_else(Marker::default, |n| Marker::parse(&head[..n]));
        (marker, short)
    }

    fn parse(content: &[u8]) -> Marker {
        let Ok(text) = std::str::from_utf8(content) else {
            return Marker::default();
        };
        let mut words = text.split_whitespace();
        let first = words.next();
        let boot = words.next();
        Marker {
            clean: first == Some(CLEAN) && boot.is_none(),
            same_boot: boot.is_some() && boot == boot_id() && words.next().is_none(),
        }
    }
}

/// Whether the lock file of `dir` names the running system's boot (see the
/// module docs), read without taking the lock: for a read-only open beside
/// a live writer, or after one died. Any failure to read it is `false`.
pub(crate) fn written_this_boot(dir: &Path) -> bool {
    let Ok(file) = File::open(dir.join(LOCK_FILE)) else {
        return false;
    };
    Marker::read(&file).0.same_boot
}

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

/// Writes `first` (a process id or [`CLEAN`]) and `boot` over the start of
/// the lock file, padded to [`LOCK_WIDTH`].
fn write_marker(file: &File, first: &str, boot: Option<&str>) -> std::io::Result<()> {
    let marker = match boot {
        Some(boot) => format!("{first:<PID_WIDTH$} {boot}"),
        None => first.to_owned(),
    };
    file.write_all_at(format!("{marker:<LOCK_WIDTH$}").as_bytes(), 0)
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
    created: bool,
    /// What the previous holder left in the file.
    previous: Marker,
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
        let mut options = OpenOptions::new();
        options.read(true).write(true);
        // The lock file usually exists: open it first (one system call
        // where an exclusive create that fails costs two), and create it
        // only when that fails.
        let (mut file, created) = match options.open(path) {
            Ok(file) => (file, false),
            Err(_) => match options.clone().create_new(true).open(path) {
                Ok(file) => (file, true),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => (
                    options
                        .open(path)
                        .map_err(|e| io_error(e, "opening lock file", path))?,
                    false,
                ),
                Err(e) => return Err(io_error(e, "creating lock file", path)),
            },
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.split_whitespace().next().unwrap_or_default();
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
            Err(TryLockError::Error(e)) => return Err(io_error(e, "locking", path)),
        }
        if !still_at(&file, path)? {
            return Ok(None);
        }
        // What the previous holder left: `clean` after a clean close, its
        // process id and boot id after its recovery.
        let (previous, short) = Marker::read(&file);
        // The pid is informative only: failing to write it is not an error.
        // Overwriting `clean` needs no sync: after a power loss the page
        // cache is gone, so whatever the old marker says, every byte the
        // files hold is on the media. Writing the whole width erases the
        // previous holder's boot id until this writer has recovered.
        // It is written in place, padded to a fixed width, and the file is
        // cut only when it was longer: truncating a file to zero and
        // rewriting it makes ext4 (auto_da_alloc) write it back at once,
        // which cost milliseconds per open.
        let longer = |file: &File| match short {
            Some(n) => n > LOCK_WIDTH,
            None => file.metadata().is_ok_and(|m| m.len() > LOCK_WIDTH as u64),
        };
        if write_marker(&file, &std::process::id().to_string(), None).is_ok() && longer(&file) {
            let _ = file.set_len(LOCK_WIDTH as u64);
        }
        Ok(Some(Self {
            file,
            created,
            previous,
        }))
    }

    /// Whether the previous writer closed the log cleanly: every byte of
    /// it was synced, so a reopen has nothing left to make durable.
    pub fn previous_clean(&self) -> bool {
        self.previous.clean
    }

    /// Whether the previous writer finished its recovery in the running
    /// system's boot (see the module docs).
    pub fn previous_this_boot(&self) -> bool {
        self.previous.same_boot
    }

    /// Records a clean close, once every file is synced: the next writer
    /// then skips syncing what this one already did. Best effort: a marker
    /// that fails to land only costs the next writer those syncs.
    pub fn mark_clean(&self) {
        let _ = write_marker(&self.file, CLEAN, None);
    }

    /// Records that this writer's open, recovery included, is done, with
    /// the boot id (see the module docs). Best effort: a marker that fails
    /// to land only costs the next open after a crash a scan of the whole
    /// active store.
    pub fn mark_recovered(&self) {
        if let Some(boot) = boot_id() {
            let _ = write_marker(&self.file, &std::process::id().to_string(), Some(boot));
        }
    }

    /// Whether this open created the lock file (so a failed open removes it).
    pub fn created(&self) -> bool {
        self.created
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
