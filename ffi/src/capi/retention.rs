//! Removing records: prefix and suffix truncation, retention by size or age.

use dislog_core::Removed;

use super::boundary::{put, run};
use super::handle::{dislog_t, use_handle};
use super::status::dislog_status;
use crate::Log;

/// What a prefix truncation or a retention pass removed.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct dislog_removed {
    /// Whole segments deleted.
    pub segments: u64,
    /// Records they held.
    pub records: u64,
    /// Bytes of their store and index files.
    pub bytes: u64,
}

impl From<Removed> for dislog_removed {
    fn from(r: Removed) -> Self {
        Self {
            segments: r.segments as u64,
            records: r.records,
            bytes: r.bytes,
        }
    }
}

/// Runs a removal and reports what it removed.
///
/// # Safety
/// `log` is NULL or a live handle; `removed_out` is NULL or writable.
unsafe fn removal(
    log: *mut dislog_t,
    removed_out: *mut dislog_removed,
    op: impl FnOnce(&Log) -> Result<Removed, dislog_core::Error>,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        let removed = op(&handle.log)?;
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { put(removed_out, removed.into()) };
        Ok(())
    })
}

/// Prefix truncation: deletes every segment whose records all lie below
/// `lowest`. Whole segments only, so records below `lowest` may remain in
/// the segment that holds `lowest`. When every record is below `lowest`, the
/// log becomes empty and keeps its next offset. Writes what was removed to
/// `*removed_out` (when not NULL).
///
/// # Safety
/// `log` is NULL or a live handle; `removed_out` is NULL or valid for one
/// write.
#[no_mangle]
pub unsafe extern "C" fn dislog_truncate(
    log: *mut dislog_t,
    lowest: u64,
    removed_out: *mut dislog_removed,
) -> dislog_status {
    // SAFETY: the caller's contract above.
    unsafe { removal(log, removed_out, |l| l.truncate(lowest)) }
}

/// Suffix truncation: deletes every record at offset `from` and after,
/// durably (it syncs before returning), so that the next append gets offset
/// `from`. With `from` at or below the lowest offset the log becomes empty
/// and its next offset is `from`; a `from` at or past the next offset
/// changes nothing.
///
/// # Safety
/// `log` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn dislog_truncate_suffix(log: *mut dislog_t, from: u64) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        Ok(handle.log.truncate_suffix(from)?)
    })
}

/// Deletes the oldest whole segments until the log's files take at most
/// `max_bytes` (the active segment is always kept). Writes what was
/// removed to `*removed_out` (when not NULL).
///
/// # Safety
/// As `dislog_truncate`.
#[no_mangle]
pub unsafe extern "C" fn dislog_retain_bytes(
    log: *mut dislog_t,
    max_bytes: u64,
    removed_out: *mut dislog_removed,
) -> dislog_status {
    // SAFETY: the caller's contract above.
    unsafe { removal(log, removed_out, |l| l.retain_bytes(max_bytes)) }
}

/// Deletes the oldest whole segments whose records are all older than
/// `timestamp_ms` (the active segment is always kept). Writes what was
/// removed to `*removed_out` (when not NULL).
///
/// # Safety
/// As `dislog_truncate`.
#[no_mangle]
pub unsafe extern "C" fn dislog_retain_since(
    log: *mut dislog_t,
    timestamp_ms: u64,
    removed_out: *mut dislog_removed,
) -> dislog_status {
    // SAFETY: the caller's contract above.
    unsafe { removal(log, removed_out, |l| l.retain_since(timestamp_ms)) }
}
