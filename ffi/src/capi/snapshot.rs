//! Snapshots: the whole log as one byte string, to memory or a file, and
//! restoring a log from one.

use std::ffi::c_char;
use std::io::Write;

use crate::Log;

use super::boundary::{arg_bytes, arg_mut, arg_out, arg_path, put, run, run_quiet, Failure};
use super::config::{config_arg, dislog_config};
use super::handle::{dislog_t, hand_out, use_handle};
use super::status::dislog_status;

/// A byte buffer allocated by dislog (a snapshot). Read `data[0..len]`;
/// free it with `dislog_bytes_free`, never with `free()`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct dislog_bytes {
    /// The bytes; NULL when `len` is 0.
    pub data: *mut u8,
    /// How many bytes.
    pub len: usize,
}

impl dislog_bytes {
    fn from_vec(bytes: Vec<u8>) -> Self {
        if bytes.is_empty() {
            return Self {
                data: std::ptr::null_mut(),
                len: 0,
            };
        }
        let boxed: Box<[u8]> = bytes.into_boxed_slice();
        let len = boxed.len();
        Self {
            data: Box::into_raw(boxed).cast::<u8>(),
            len,
        }
    }
}

/// Writes a snapshot of the whole log (every record with its offset and
/// timestamp, checksummed; format in FORMAT.md) into `*bytes_out`, a new
/// buffer to free with `dislog_bytes_free`. The snapshot is consistent: it is
/// taken under the read lock, so concurrent appends land before or after it.
///
/// # Safety
/// `log` is NULL or a live handle; `bytes_out` is NULL or valid for writing
/// one `dislog_bytes`.
#[no_mangle]
pub unsafe extern "C" fn dislog_snapshot(
    log: *const dislog_t,
    bytes_out: *mut dislog_bytes,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        let out = arg_out(bytes_out, "bytes_out")?;
        let bytes = handle.log.snapshot()?;
        // SAFETY: checked non-NULL and writable by the caller's contract.
        unsafe { put(out, dislog_bytes::from_vec(bytes)) };
        Ok(())
    })
}

/// Writes a snapshot of the whole log to the file at `path` (created, or
/// replaced when it exists), streaming it without holding it in memory, and
/// syncs the file. Writes the snapshot's size to `*bytes_written_out` (when
/// not NULL). On failure the file may be partly written.
///
/// # Safety
/// `log` is NULL or a live handle; `path` is NULL or NUL-terminated;
/// `bytes_written_out` is NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn dislog_snapshot_to_file(
    log: *const dislog_t,
    path: *const c_char,
    bytes_written_out: *mut u64,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        // SAFETY: as above.
        let path = unsafe { arg_path(path, "path") }?;
        let io = |what: &str, e: std::io::Error| {
            Failure::new(
                dislog_status::DISLOG_ERR_IO,
                format!("{what} snapshot file {}: {e}", path.display()),
            )
        };
        let file = std::fs::File::create(&path).map_err(|e| io("cannot create", e))?;
        let mut out = std::io::BufWriter::new(file);
        let written = handle.log.snapshot_to(&mut out)?;
        out.flush().map_err(|e| io("cannot write", e))?;
        let file = out
            .into_inner()
            .map_err(|e| io("cannot write", e.into_error()))?;
        file.sync_all().map_err(|e| io("cannot sync", e))?;
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { put(bytes_written_out, written) };
        Ok(())
    })
}

/// Creates a log in directory `path` from snapshot bytes (which are checked
/// in full first): the directory must not hold a log yet. On success
/// `*log_out` is a new open handle, to free with `dislog_close`.
///
/// Errors: `DISLOG_ERR_INVALID_SNAPSHOT` (bad bytes; nothing is left
/// behind), `DISLOG_ERR_INVALID_ARGUMENT` (the directory holds a log, or an
/// empty path), `DISLOG_ERR_NULL_ARGUMENT`, `DISLOG_ERR_LOCKED`,
/// `DISLOG_ERR_INVALID_CONFIG`, `DISLOG_ERR_IO`.
///
/// # Safety
/// `path` is NULL or NUL-terminated; `config` is NULL (defaults) or points to
/// a valid `dislog_config`; `data` is valid for reading `len` bytes;
/// `log_out` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn dislog_restore(
    path: *const c_char,
    config: *const dislog_config,
    data: *const u8,
    len: usize,
    log_out: *mut *mut dislog_t,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above, for each pointer.
        let path = unsafe { arg_path(path, "path") }?;
        // SAFETY: as above.
        let snapshot = unsafe { arg_bytes(data, len, "data") }?;
        let out = arg_out(log_out, "log_out")?;
        // SAFETY: as above.
        let config = unsafe { config_arg(config) }?;
        let log = Log::restore(path, config, snapshot)?;
        // SAFETY: checked non-NULL and writable by the caller's contract.
        unsafe { hand_out(log, out) };
        Ok(())
    })
}

/// As `dislog_restore`, reading the snapshot from the file at
/// `snapshot_path` (as written by `dislog_snapshot_to_file`).
///
/// # Safety
/// As `dislog_restore`; `snapshot_path` is NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn dislog_restore_from_file(
    path: *const c_char,
    config: *const dislog_config,
    snapshot_path: *const c_char,
    log_out: *mut *mut dislog_t,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above, for each pointer.
        let path = unsafe { arg_path(path, "path") }?;
        // SAFETY: as above.
        let snapshot_path = unsafe { arg_path(snapshot_path, "snapshot_path") }?;
        let out = arg_out(log_out, "log_out")?;
        // SAFETY: as above.
        let config = unsafe { config_arg(config) }?;
        let snapshot = std::fs::read(&snapshot_path).map_err(|e| {
            Failure::new(
                dislog_status::DISLOG_ERR_IO,
                format!("cannot read snapshot file {}: {e}", snapshot_path.display()),
            )
        })?;
        let log = Log::restore(path, config, &snapshot)?;
        // SAFETY: checked non-NULL and writable by the caller's contract.
        unsafe { hand_out(log, out) };
        Ok(())
    })
}

/// Frees the buffer of a `dislog_bytes` from `dislog_snapshot` and sets its
/// fields to NULL / 0, so freeing it twice is harmless. NULL is ignored.
///
/// # Safety
/// `bytes` is NULL or points to a `dislog_bytes` filled by dislog (or
/// already freed by this function) and not modified by the caller.
#[no_mangle]
pub unsafe extern "C" fn dislog_bytes_free(bytes: *mut dislog_bytes) {
    run_quiet(|| {
        // SAFETY: the caller's contract above.
        let Ok(bytes) = (unsafe { arg_mut(bytes, "bytes") }) else {
            return;
        };
        if !bytes.data.is_null() && bytes.len > 0 {
            let slice = std::ptr::slice_from_raw_parts_mut(bytes.data, bytes.len);
            // SAFETY: `data`/`len` came from `Box::into_raw` of a boxed slice
            // of exactly `len` bytes in `from_vec`, unmodified and not yet
            // freed (the fields are cleared below).
            drop(unsafe { Box::from_raw(slice) });
        }
        bytes.data = std::ptr::null_mut();
        bytes.len = 0;
    })
}
