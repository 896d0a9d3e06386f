//! [`FileStorage`]: a log directory on the file system.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rustix::fs::{Mode as FileMode, OFlags};
use rustix::io::Errno;

use dislog_core::{parse_file_name, FileHint, FileKind, Storage, StorageError, StorageErrorKind};

use super::buffered::{BufferedFile, Mode};
use super::error::io_error;
use super::handle::FileHandle;
use super::lock::{written_this_boot, DirLock, LOCK_FILE};
use super::write_behind::WriteBehind;

/// What a read-only storage pretends happened to a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shadow {
    /// Created in memory (recovery rebuilt an index).
    Created,
    /// Removed (recovery dropped a segment or an orphan index).
    Removed,
}

#[derive(Debug)]
struct Shared {
    dir: PathBuf,
    /// The directory itself, opened for `fsync` (writer only).
    dir_file: Option<File>,
    lock: Option<DirLock>,
    /// Whether the lock file, as found on open, says that its writer
    /// recovered in the running system's boot (see `super::lock`).
    this_boot: bool,
    /// `Some` for a read-only storage: changes made in memory only.
    shadows: Option<Mutex<HashMap<String, Shadow>>>,
    /// Names of the files open through a handle.
    open: Mutex<HashSet<String>>,
    /// The directory's names as [`FileStorage::holds_log`] listed them,
    /// served to the next [`Storage::list`] instead of a second listing
    /// (the engine's first step on open) unless a file was created or
    /// removed through this storage since.
    listed: Mutex<Option<Vec<String>>>,
    /// The thread a writer's files hand their full buffers to.
    behind: Arc<WriteBehind>,
    /// Whether the log's open is to check every segment even after a clean
    /// close ([`FileStorage::check_every_segment`]).
    check_all: AtomicBool,
}

/// The registration of an open file's name; dropping it releases the name
/// (and this handle's share of the directory and its lock).
#[derive(Debug)]
pub(crate) struct OpenName {
    shared: Arc<Shared>,
    name: String,
}

impl Drop for OpenName {
    fn drop(&mut self) {
        let mut open = self
            .shared
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.remove(&self.name);
    }
}

/// A log directory: implements [`dislog_core::Storage`] on real files.
///
/// Opened for writing ([`FileStorage::open`]) it holds the directory's
/// writer lock until it is dropped. Opened read-only
/// ([`FileStorage::open_read_only`]) it takes no lock and never changes the
/// directory: files created, written, truncated or removed by the log's
/// recovery are changed in memory only.
///
/// It is deliberately not `Clone`: one storage is one writer.
#[derive(Debug)]
pub struct FileStorage {
    shared: Arc<Shared>,
}

/// Checks that `dir` is a directory (or does not exist yet).
fn check_dir(dir: &Path) -> Result<bool, StorageError> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(true),
        Ok(_) => Err(StorageError::new(
            StorageErrorKind::Other,
            format!("{}: not a directory", dir.display()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error(e, "inspecting", dir)),
    }
}

/// The length of `file`. A file opened for writing (so not a directory) is
/// asked where its end is (`lseek`), a third of the cost of `fstat`, which
/// fills in some forty fields for this one; `fstat` answers otherwise, and
/// where `lseek` cannot (a pipe).
fn file_len(file: &File, path: &Path, writable: bool) -> Result<u64, StorageError> {
    if writable {
        if let Ok(end) = (&mut &*file).seek(SeekFrom::End(0)) {
            return Ok(end);
        }
    }
    file.metadata()
        .map(|m| m.len())
        .map_err(|e| io_error(e, "inspecting", path))
}

/// Creates `dir` and its missing parents, durably: each new directory's
/// entry is synced in its parent, so that a synced log cannot vanish with
/// its directory after a power loss.
fn create_dirs(dir: &Path) -> Result<(), StorageError> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .collect();
    fs::create_dir_all(dir).map_err(|e| io_error(e, "creating directory", dir))?;
    for created in missing {
        let parent = match created.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(parent)
            .and_then(|p| p.sync_all())
            .map_err(|e| io_error(e, "syncing directory", parent))?;
    }
    Ok(())
}

/// The topmost ancestor of `dir` (or `dir` itself) that does not exist, so
/// that a failed open can remove the directories it created.
fn first_missing(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
        .last()
        .map(Path::to_path_buf)
}

impl FileStorage {
    /// Opens `dir` for writing: creates it (and missing parents) when it
    /// does not exist, then takes its writer lock (the `LOCK` file).
    ///
    /// Errors: [`StorageErrorKind::Locked`] when another handle, in this
    /// process or another, holds the lock; `PermissionDenied`, `NotFound`
    /// and others with the path in the detail.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StorageError> {
        Self::open_tracking(dir.as_ref()).0
    }

    /// [`FileStorage::open`], and the topmost directory it created for it
    /// (`None` when `dir` existed), whether it succeeded or not: a failed
    /// open of a new log removes what it created. The directory is
    /// inspected once.
    pub(crate) fn open_tracking(dir: &Path) -> (Result<Self, StorageError>, Option<PathBuf>) {
        let created = match check_dir(dir) {
            Ok(true) => None,
            Ok(false) => {
                let created = first_missing(dir);
                if let Err(e) = create_dirs(dir) {
                    return (Err(e), created);
                }
                created
            }
            Err(e) => return (Err(e), None),
        };
        let open = || {
            let dir_file = File::open(dir).map_err(|e| io_error(e, "opening directory", dir))?;
            let lock = DirLock::acquire(dir)?;
            Ok(Self {
                shared: Arc::new(Shared {
                    dir: dir.to_path_buf(),
                    dir_file: Some(dir_file),
                    this_boot: lock.previous_this_boot(),
                    lock: Some(lock),
                    shadows: None,
                    open: Mutex::default(),
                    listed: Mutex::default(),
                    behind: Arc::default(),
                    check_all: AtomicBool::new(false),
                }),
            })
        };
        (open(), created)
    }

    /// Opens `dir` without taking the lock and without ever writing to it.
    /// The directory must exist.
    pub fn open_read_only(dir: impl AsRef<Path>) -> Result<Self, StorageError> {
        let dir = dir.as_ref();
        if !check_dir(dir)? {
            return Err(StorageError::new(
                StorageErrorKind::NotFound,
                format!("{}: no such directory", dir.display()),
            ));
        }
        Ok(Self {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                dir_file: None,
                lock: None,
                this_boot: written_this_boot(dir),
                shadows: Some(Mutex::new(HashMap::new())),
                open: Mutex::default(),
                listed: Mutex::default(),
                behind: Arc::default(),
                check_all: AtomicBool::new(false),
            }),
        })
    }

    /// A second handle on the same directory and lock, for `dislog::Log`,
    /// which keeps one beside the engine's (for the path, and to undo a
    /// failed open while still holding the lock).
    pub(crate) fn share(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.shared.dir
    }

    /// Makes the log's next open check (and repair) every segment, as after
    /// a crash, even when the last close was clean: without it the log
    /// opens its sealed segments only when first used
    /// ([`Storage::segments_intact_at_close`]).
    pub fn check_every_segment(&self) {
        self.shared.check_all.store(true, Ordering::Relaxed);
    }

    /// Whether this storage was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.shared.shadows.is_some()
    }

    /// The writer lock, `None` when read-only.
    pub(crate) fn lock(&self) -> Option<&DirLock> {
        self.shared.lock.as_ref()
    }

    /// Deletes the lock file while still holding the lock: in the
    /// directory held open, like every removal (see [`Storage::remove`]).
    pub(crate) fn remove_lock_file(&self) -> Result<(), StorageError> {
        self.remove(LOCK_FILE)
    }

    /// Opens the plain file `name` (at `path`) of a writer for reading and
    /// writing, created empty when `create`. Relative to the directory's
    /// descriptor, the one the lock was taken in: the kernel then looks up
    /// one name instead of walking the whole path again for every file.
    fn open_rw(&self, name: &str, path: &Path, create: bool) -> std::io::Result<File> {
        let Some(dir) = &self.shared.dir_file else {
            return OpenOptions::new()
                .read(true)
                .write(true)
                .create(create)
                .truncate(create)
                .open(path);
        };
        let mut flags = OFlags::RDWR | OFlags::CLOEXEC;
        if create {
            flags |= OFlags::CREATE | OFlags::TRUNC;
        }
        // As `std::fs::File::create`: 0o666, less the umask.
        let mode = FileMode::RUSR
            | FileMode::WUSR
            | FileMode::RGRP
            | FileMode::WGRP
            | FileMode::ROTH
            | FileMode::WOTH;
        let fd = rustix::io::retry_on_intr(|| rustix::fs::openat(dir, name, flags, mode))?;
        Ok(File::from(fd))
    }

    /// The listing kept for the next [`Storage::list`].
    fn listed(&self) -> std::sync::MutexGuard<'_, Option<Vec<String>>> {
        self.shared
            .listed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The names in the directory (UTF-8 ones: others are not ours, the
    /// log ignores them), as the file system lists them. A writer lists the
    /// directory it holds open (and locked), not whatever its path names
    /// now: were the directory renamed, the path could name another log.
    fn read_names(&self) -> Result<Vec<String>, StorageError> {
        let dir = &self.shared.dir;
        let mut names = Vec::new();
        if let Some(dir_file) = &self.shared.dir_file {
            let listing = |e: Errno| io_error(e.into(), "listing", dir);
            for entry in rustix::fs::Dir::read_from(dir_file).map_err(listing)? {
                let entry = entry.map_err(listing)?;
                match entry.file_name().to_str() {
                    Ok("." | "..") | Err(_) => {}
                    Ok(name) => names.push(name.to_owned()),
                }
            }
            return Ok(names);
        }
        for entry in fs::read_dir(dir).map_err(|e| io_error(e, "listing", dir))? {
            let entry = entry.map_err(|e| io_error(e, "listing", dir))?;
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }

    /// `names` as listed on disk, with the changes a read-only storage made
    /// in memory.
    fn with_shadows(&self, mut names: Vec<String>) -> Vec<String> {
        self.shadows(|table| {
            names.retain(|n| table.get(n) != Some(&Shadow::Removed));
            for (name, shadow) in table.iter() {
                if *shadow == Shadow::Created && !names.contains(name) {
                    names.push(name.clone());
                }
            }
        });
        names
    }

    /// Whether the directory holds a file named like a segment file (after
    /// the changes a read-only storage made in memory). The listing is kept
    /// for the next [`Storage::list`] (the engine's first step on open),
    /// which then lists nothing again, unless a file is created or removed
    /// through this storage before it.
    pub(crate) fn holds_log(&self) -> Result<bool, StorageError> {
        let names = self.read_names()?;
        let segment = |names: &[String]| names.iter().any(|n| parse_file_name(n).is_some());
        let held = if self.is_read_only() {
            segment(&self.with_shadows(names.clone()))
        } else {
            segment(&names)
        };
        *self.listed() = Some(names);
        Ok(held)
    }

    /// Drops the listing [`FileStorage::holds_log`] kept, if the engine did
    /// not use it: a later [`Storage::list`] reads the directory.
    pub(crate) fn forget_listing(&self) {
        *self.listed() = None;
    }

    fn file_path(&self, name: &str) -> Result<PathBuf, StorageError> {
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
            return Err(StorageError::new(
                StorageErrorKind::Other,
                format!("{name:?} is not a plain file name"),
            ));
        }
        Ok(self.shared.dir.join(name))
    }

    /// Whether `name` is open through a handle.
    fn is_open(&self, name: &str) -> bool {
        let open = self
            .shared
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.contains(name)
    }

    /// Registers `name` as open, or fails with `Busy` when it already is:
    /// two handles on one file could truncate it under each other's map.
    fn register(&self, name: &str, path: &Path) -> Result<OpenName, StorageError> {
        let mut open = self
            .shared
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if !open.insert(name.to_owned()) {
            return Err(StorageError::new(
                StorageErrorKind::Busy,
                format!("{}: already open", path.display()),
            ));
        }
        Ok(OpenName {
            shared: Arc::clone(&self.shared),
            name: name.to_owned(),
        })
    }

    /// Runs `f` on the shadow table of a read-only storage.
    fn shadows<T>(&self, f: impl FnOnce(&mut HashMap<String, Shadow>) -> T) -> Option<T> {
        let shadows = self.shared.shadows.as_ref()?;
        let mut table = shadows.lock().unwrap_or_else(PoisonError::into_inner);
        Some(f(&mut table))
    }

    /// The handle for `file` (`None`: created by a read-only log): a
    /// writer's files, stores and indexes alike, are buffered and mapped
    /// read-only on first real use (see [`super::map`]), an index also
    /// preallocated ([`super::prealloc`]); a read-only log's files are
    /// unmapped overlays.
    fn handle(
        &self,
        open: OpenName,
        path: PathBuf,
        file: Option<File>,
        hint: FileHint,
    ) -> Result<FileHandle, StorageError> {
        let disk_len = match &file {
            Some(f) => file_len(f, &path, !self.is_read_only())?,
            None => 0,
        };
        let (file, mode) = match file {
            Some(file) if !self.is_read_only() => (Some(file), Mode::Writer),
            file => (file, Mode::Overlay),
        };
        let inner = BufferedFile::new(path, file, disk_len, hint.capacity, mode)
            .write_behind(Arc::clone(&self.shared.behind));
        let inner = match hint.kind {
            FileKind::Index => inner.preallocated(),
            FileKind::Store => inner,
        };
        Ok(FileHandle::new(inner, open))
    }
}

impl Storage for FileStorage {
    type File = FileHandle;

    fn list(&self) -> Result<Vec<String>, StorageError> {
        let listed = self.listed().take();
        let names = match listed {
            Some(names) => names,
            None => self.read_names()?,
        };
        Ok(self.with_shadows(names))
    }

    fn open(&self, name: &str, hint: FileHint) -> Result<FileHandle, StorageError> {
        let path = self.file_path(name)?;
        let open = self.register(name, &path)?;
        let shadow = self.shadows(|table| table.get(name).copied()).flatten();
        let file = match shadow {
            Some(Shadow::Removed) => {
                return Err(io_error(
                    std::io::ErrorKind::NotFound.into(),
                    "opening",
                    &path,
                ))
            }
            Some(Shadow::Created) => {
                return Err(StorageError::new(
                    StorageErrorKind::Unsupported,
                    format!(
                        "{}: created in memory by a read-only log, gone once closed",
                        path.display()
                    ),
                ))
            }
            None if self.is_read_only() => File::open(&path),
            None => self.open_rw(name, &path, false),
        }
        .map_err(|e| io_error(e, "opening", &path))?;
        self.handle(open, path, Some(file), hint)
    }

    fn create(&self, name: &str, hint: FileHint) -> Result<FileHandle, StorageError> {
        let path = self.file_path(name)?;
        let open = self.register(name, &path)?;
        *self.listed() = None;
        if self.is_read_only() {
            self.shadows(|table| table.insert(name.to_owned(), Shadow::Created));
            return self.handle(open, path, None, hint);
        }
        let file = self
            .open_rw(name, &path, true)
            .map_err(|e| io_error(e, "creating", &path))?;
        self.handle(open, path, Some(file), hint)
    }

    fn remove(&self, name: &str) -> Result<(), StorageError> {
        let path = self.file_path(name)?;
        *self.listed() = None;
        if self.is_open(name) {
            return Err(StorageError::new(
                StorageErrorKind::Busy,
                format!("{}: cannot remove an open file", path.display()),
            ));
        }
        if self.is_read_only() {
            self.shadows(|table| table.insert(name.to_owned(), Shadow::Removed));
            return Ok(());
        }
        // Relative to the directory held open, as `open_rw` and the
        // listing are: never a file of another directory now at the path.
        let removed = match &self.shared.dir_file {
            Some(dir) => rustix::io::retry_on_intr(|| {
                rustix::fs::unlinkat(dir, name, rustix::fs::AtFlags::empty())
            })
            .map_err(std::io::Error::from),
            None => fs::remove_file(&path),
        };
        match removed {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error(e, "removing", &path)),
        }
    }

    fn sync_dir(&self) -> Result<(), StorageError> {
        match &self.shared.dir_file {
            Some(dir) => dir
                .sync_all()
                .map_err(|e| io_error(e, "syncing directory", &self.shared.dir)),
            None => Ok(()),
        }
    }

    /// True when the previous writer marked the lock file `clean` (see
    /// `Log::close`); a read-only storage never claims it.
    fn closed_cleanly(&self) -> bool {
        self.lock().is_some_and(DirLock::previous_clean)
    }

    /// The same: a clean close checked every segment (the previous open,
    /// or the use of each since) and synced it; the log then opens its
    /// sealed segments when first used.
    fn segments_intact_at_close(&self) -> bool {
        self.closed_cleanly() && !self.shared.check_all.load(Ordering::Relaxed)
    }

    /// True when the lock file names the running system's boot: the log's
    /// last writer finished recovery since the machine last started, so
    /// whatever it wrote after is in the page cache as written, even if
    /// it crashed (see `Log::open` in the crate README).
    fn unsynced_writes_kept(&self) -> bool {
        self.shared.this_boot
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use dislog_core::StorageFile;

    const HINT: FileHint = FileHint {
        kind: FileKind::Store,
        capacity: 1 << 16,
    };

    #[test]
    fn a_file_is_open_through_one_handle_at_a_time() {
        let tmp = tempfile::tempdir().unwrap();
        let storage = FileStorage::open(tmp.path()).unwrap();
        let mut a = storage.create("a", HINT).unwrap();
        a.append(b"data").unwrap();
        for err in [
            storage.open("a", HINT).unwrap_err(),
            storage.create("a", HINT).unwrap_err(),
            storage.remove("a").unwrap_err(),
        ] {
            assert_eq!(err.kind(), StorageErrorKind::Busy, "{err}");
        }
        drop(a);
        let a = storage.open("a", HINT).unwrap();
        assert_eq!(a.len(), 4);
        drop(a);
        storage.remove("a").unwrap();
        assert!(!storage.list().unwrap().contains(&"a".to_string()));
        assert_eq!(
            storage.open("a", HINT).unwrap_err().kind(),
            StorageErrorKind::NotFound
        );
    }

    #[test]
    fn an_open_file_keeps_the_lock_after_its_storage_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let storage = FileStorage::open(tmp.path()).unwrap();
        let mut file = storage.create("a", HINT).unwrap();
        drop(storage);
        let err = FileStorage::open(tmp.path()).unwrap_err();
        assert_eq!(err.kind(), StorageErrorKind::Locked);
        // A dropped handle flushes its buffer while it still holds the lock.
        file.append(b"late").unwrap();
        drop(file);
        let storage = FileStorage::open(tmp.path()).unwrap();
        assert_eq!(storage.open("a", HINT).unwrap().len(), 4);
    }

    #[test]
    fn names_with_separators_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let storage = FileStorage::open(tmp.path()).unwrap();
        for name in ["", ".", "..", "a/b", "../x"] {
            assert!(storage.create(name, HINT).is_err(), "{name:?}");
            assert!(storage.remove(name).is_err(), "{name:?}");
        }
    }

    #[test]
    fn a_read_only_storage_changes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a"), b"disk").unwrap();
        let storage = FileStorage::open_read_only(tmp.path()).unwrap();
        assert!(storage.is_read_only());
        let mut a = storage.open("a", HINT).unwrap();
        a.truncate(2).unwrap();
        a.append(b"mem").unwrap();
        a.sync().unwrap();
        let mut out = [0; 5];
        a.read_into(0, &mut out).unwrap();
        assert_eq!(&out, b"dimem");
        drop(a);
        storage.create("b", HINT).unwrap();
        storage.remove("a").unwrap();
        let mut names = storage.list().unwrap();
        names.sort();
        assert_eq!(names, ["b"]);
        storage.sync_dir().unwrap();
        assert_eq!(std::fs::read(tmp.path().join("a")).unwrap(), b"disk");
        assert!(!tmp.path().join("b").exists());
    }
}
