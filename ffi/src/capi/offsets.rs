//! Where the log starts and ends, its size, and timestamp lookup.

use super::boundary::{arg_out, put, run, Outcome};
use super::handle::{dislog_t, use_handle};
use super::status::dislog_status;
use crate::Log;

/// Runs a query returning an optional offset: `*found_out` tells whether
/// there is one, `*offset_out` holds it (0 when there is none).
///
/// # Safety
/// `log` is NULL or a live handle; the out pointers are NULL or writable.
unsafe fn optional_offset(
    log: *const dislog_t,
    offset_out: *mut u64,
    found_out: *mut bool,
    query: impl FnOnce(&Log) -> Result<Option<u64>, dislog_core::Error>,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        let offset_out = arg_out(offset_out, "offset_out")?;
        let found_out = arg_out(found_out, "found_out")?;
        let found = query(&handle.log)?;
        // SAFETY: both checked non-NULL and writable by the caller's contract.
        unsafe {
            put(offset_out, found.unwrap_or(0));
            put(found_out, found.is_some());
        }
        Ok(())
    })
}

/// Runs a query returning a number into `*out`.
///
/// # Safety
/// `log` is NULL or a live handle; `out` is NULL or writable.
unsafe fn number<T>(
    log: *const dislog_t,
    out: *mut T,
    name: &str,
    query: impl FnOnce(&Log) -> Result<T, dislog_core::Error>,
) -> dislog_status {
    run(|| -> Outcome {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        let out = arg_out(out, name)?;
        let value = query(&handle.log)?;
        // SAFETY: checked non-NULL and writable by the caller's contract.
        unsafe { put(out, value) };
        Ok(())
    })
}

/// The offset of the oldest record: `*found_out` is false (and
/// `*offset_out` 0) when the log is empty.
///
/// # Safety
/// `log` is NULL or a live handle; `offset_out` and `found_out` are NULL or
/// valid for one write (both are required).
#[no_mangle]
pub unsafe extern "C" fn dislog_lowest_offset(
    log: *const dislog_t,
    offset_out: *mut u64,
    found_out: *mut bool,
) -> dislog_status {
    // SAFETY: the caller's contract above.
    unsafe { optional_offset(log, offset_out, found_out, |l| Ok(l.lowest_offset())) }
}

/// The offset of the newest record: `*found_out` is false (and
/// `*offset_out` 0) when the log is empty.
///
/// # Safety
/// As `dislog_lowest_offset`.
#[no_mangle]
pub unsafe extern "C" fn dislog_highest_offset(
    log: *const dislog_t,
    offset_out: *mut u64,
    found_out: *mut bool,
) -> dislog_status {
    // SAFETY: the caller's contract above.
    unsafe { optional_offset(log, offset_out, found_out, |l| Ok(l.highest_offset())) }
}

/// The offset the next append will get (one past the newest record; the
/// initial offset for a new log).
///
/// # Safety
/// `log` is NULL or a live handle; `offset_out` is NULL or valid for one
/// write (required).
#[no_mangle]
pub unsafe extern "C" fn dislog_next_offset(
    log: *const dislog_t,
    offset_out: *mut u64,
) -> dislog_status {
    // SAFETY: the caller's contract above.
    unsafe { number(log, offset_out, "offset_out", |l| Ok(l.next_offset())) }
}

/// The number of records held (next offset minus lowest offset).
///
/// # Safety
/// `log` is NULL or a live handle; `count_out` is NULL or valid for one
/// write (required).
#[no_mangle]
pub unsafe extern "C" fn dislog_len(log: *const dislog_t, count_out: *mut u64) -> dislog_status {
    // SAFETY: the caller's contract above.
    unsafe { number(log, count_out, "count_out", |l| Ok(l.len())) }
}

/// The bytes of every store and index file of the log. Opens the sealed
/// segments not opened since a clean close, and fails with the error of one
/// that does not open (`DISLOG_ERR_CORRUPT` for a damaged one).
///
/// # Safety
/// `log` is NULL or a live handle; `bytes_out` is NULL or valid for one
/// write (required).
#[no_mangle]
pub unsafe extern "C" fn dislog_size_bytes(
    log: *const dislog_t,
    bytes_out: *mut u64,
) -> dislog_status {
    // SAFETY: the caller's contract above.
    unsafe { number(log, bytes_out, "bytes_out", Log::size_bytes) }
}

/// The first offset whose record timestamp is at least `timestamp_ms`:
/// `*found_out` is false (and `*offset_out` 0) when every record is older
/// (or the log is empty).
///
/// # Safety
/// As `dislog_lowest_offset`.
#[no_mangle]
pub unsafe extern "C" fn dislog_offset_for_timestamp(
    log: *const dislog_t,
    timestamp_ms: u64,
    offset_out: *mut u64,
    found_out: *mut bool,
) -> dislog_status {
    // SAFETY: the caller's contract above.
    unsafe {
        optional_offset(log, offset_out, found_out, |l| {
            l.offset_for_timestamp(timestamp_ms)
        })
    }
}
