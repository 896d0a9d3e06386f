//! `std::io::Error` to [`StorageError`], with the path and the operation in
//! the detail.

use std::io;
use std::path::Path;

use dislog_core::{StorageError, StorageErrorKind};

/// Converts `e`, raised while doing `what` on `path`, keeping its kind.
pub(crate) fn io_error(e: io::Error, what: &str, path: &Path) -> StorageError {
    let detail = format!("{what} {}: {e}", path.display());
    StorageError::new(StorageError::from(e).kind(), detail)
}

/// A read that runs past the end of a file.
pub(crate) fn eof(path: &Path, pos: u64, len: usize, file_len: u64) -> StorageError {
    StorageError::new(
        StorageErrorKind::UnexpectedEof,
        format!(
            "{}: {len} bytes at {pos} past length {file_len}",
            path.display()
        ),
    )
}
