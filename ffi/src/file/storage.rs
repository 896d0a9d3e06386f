//! [`FileStorage`]: a log directory on the file system.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use dislog_core::{FileHint, FileKind, Storage, StorageError, StorageErrorKind};

use super::buffered::{BufferedFile, Mode};
use super::error::io_error;
use super::handle::{FileHandle, Inner};
use super::lock::DirLock;
use super::map::{map_len, map_read, map_write};
use super::mapped::MappedFile;

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
    /// `Some` for a read-only storage: changes made in memory only.
    shadows: Option<Mutex<HashMap<String, Shadow>>>,
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

impl FileStorage {
    /// Opens `dir` for writing: creates it (and missing parents) when it
    /// does not exist, then takes its writer lock (the `LOCK` file).
    ///
    /// Errors: [`StorageErrorKind::Locked`] when another handle, in this
    /// process or another, holds the lock; `PermissionDenied`, `NotFound`
    /// and others with the path in the detail.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StorageError> {
        let dir = dir.as_ref();
        if !check_dir(dir)? {
            create_dirs(dir)?;
        }
        let dir_file = File::open(dir).map_err(|e| io_error(e, "opening directory", dir))?;
        let lock = DirLock::acquire(dir)?;
        Ok(Self {
            shared: Arc::new(Shared {
                dir: dir.to_path_buf(),
                dir_file: Some(dir_file),
                lock: Some(lock),
                shadows: None,
            }),
        })
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
                shadows: Some(Mutex::new(HashMap::new())),
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

    /// Whether this storage was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.shared.shadows.is_some()
    }

    /// The writer lock, `None` when read-only.
    pub(crate) fn lock(&self) -> Option<&DirLock> {
        self.shared.lock.as_ref()
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

    /// Runs `f` on the shadow table of a read-only storage.
    fn shadows<T>(&self, f: impl FnOnce(&mut HashMap<String, Shadow>) -> T) -> Option<T> {
        let shadows = self.shared.shadows.as_ref()?;
        let mut table = shadows.lock().unwrap_or_else(PoisonError::into_inner);
        Some(f(&mut table))
    }

    /// The handle for `file` (`None`: created by a read-only log): a
    /// writer's index is mapped writable, a writer's store is buffered and
    /// mapped read-only, a read-only log's files are unmapped overlays.
    fn handle(
        &self,
        path: PathBuf,
        file: Option<File>,
        hint: FileHint,
    ) -> Result<FileHandle, StorageError> {
        let disk_len = match &file {
            Some(f) => f
                .metadata()
                .map_err(|e| io_error(e, "inspecting", &path))?
                .len(),
            None => 0,
        };
        let file = match file {
            Some(file) if !self.is_read_only() => file,
            file => {
                return Ok(FileHandle(Inner::Buffered(BufferedFile::new(
                    path,
                    file,
                    None,
                    disk_len,
                    hint.capacity,
                    Mode::Overlay,
                ))))
            }
        };
        let len = map_len(hint.capacity, disk_len);
        if hint.kind == FileKind::Index {
            if let Some(map) = len.and_then(|len| map_write(&file, len)) {
                return Ok(FileHandle(Inner::Mapped(MappedFile::new(
                    path, file, disk_len, map,
                ))));
            }
        }
        let map = len.and_then(|len| map_read(&file, len));
        Ok(FileHandle(Inner::Buffered(BufferedFile::new(
            path,
            Some(file),
            map,
            disk_len,
            hint.capacity,
            Mode::Writer,
        ))))
    }
}

impl Storage for FileStorage {
    type File = FileHandle;

    fn list(&self) -> Result<Vec<String>, StorageError> {
        let dir = &self.shared.dir;
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(|e| io_error(e, "listing", dir))? {
            let entry = entry.map_err(|e| io_error(e, "listing", dir))?;
            // Names that are not UTF-8 are not ours: the log ignores them.
            if let Ok(name) = entry.file_name().into_string() {
                names.push(name);
            }
        }
        self.shadows(|table| {
            names.retain(|n| table.get(n) != Some(&Shadow::Removed));
            for (name, shadow) in table.iter() {
                if *shadow == Shadow::Created && !names.contains(name) {
                    names.push(name.clone());
                }
            }
        });
        Ok(names)
    }

    fn open(&self, name: &str, hint: FileHint) -> Result<FileHandle, StorageError> {
        let path = self.file_path(name)?;
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
            None => OpenOptions::new().read(true).write(true).open(&path),
        }
        .map_err(|e| io_error(e, "opening", &path))?;
        self.handle(path, Some(file), hint)
    }

    fn create(&self, name: &str, hint: FileHint) -> Result<FileHandle, StorageError> {
        let path = self.file_path(name)?;
        if self.is_read_only() {
            self.shadows(|table| table.insert(name.to_owned(), Shadow::Created));
            return self.handle(path, None, hint);
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(|e| io_error(e, "creating", &path))?;
        self.handle(path, Some(file), hint)
    }

    fn remove(&self, name: &str) -> Result<(), StorageError> {
        let path = self.file_path(name)?;
        if self.is_read_only() {
            self.shadows(|table| table.insert(name.to_owned(), Shadow::Removed));
            return Ok(());
        }
        match fs::remove_file(&path) {
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
}
