//! `dislog_t`: an open log, and the calls that open, close and maintain it.

use std::ffi::c_char;
use std::sync::Arc;

use crate::Log;

use super::boundary::{arg_out, arg_path, put, run, Failure};
use super::config::{config_arg, dislog_config};
use super::status::dislog_status;
use super::view;

/// An open log: opaque, created by `dislog_open`, `dislog_open_read_only` or
/// `dislog_restore`, freed by `dislog_close` or `dislog_remove` (never by
/// `free()`).
///
/// Thread safety: one handle may be used from many threads at once. Reads
/// (`dislog_read`, views, iterators, offsets, waits) run in parallel; writes
/// (appends, truncations, sync, reset) are serialized. Only `dislog_close`
/// and `dislog_remove` must not race any other call on the same handle.
#[allow(non_camel_case_types)]
pub struct dislog_t {
    pub(crate) log: Arc<Log>,
}

impl dislog_t {
    /// An identity for the handle, the same for its views and iterators.
    pub(crate) fn id(log: &Arc<Log>) -> usize {
        Arc::as_ptr(log) as usize
    }
}

/// The handle behind a pointer, refused when NULL or when the calling thread
/// holds a view of it (any call could then deadlock).
///
/// # Safety
/// `ptr` is NULL or a live handle from `dislog_open` (or similar).
pub(crate) unsafe fn use_handle<'a>(ptr: *const dislog_t) -> Result<&'a dislog_t, Failure> {
    // SAFETY: the caller's contract above.
    let handle = unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null("log"))?;
    view::check_not_held(&handle.log)?;
    Ok(handle)
}

/// Writes a new handle for `log` into `out`.
///
/// # Safety
/// `out` is valid for a write of one pointer.
pub(crate) unsafe fn hand_out(log: Log, out: *mut *mut dislog_t) {
    let handle = Box::into_raw(Box::new(dislog_t { log: Arc::new(log) }));
    // SAFETY: the caller's contract above.
    unsafe { put(out, handle) }
}

/// Opens the log in directory `path` (creating the directory and an empty
/// log when missing) and takes the directory's writer lock. Recovery after
/// an unclean shutdown happens here.
///
/// `config` may be NULL for the defaults. On success `*log_out` is a new
/// handle to free with `dislog_close` (or `dislog_remove`); on failure it is
/// left unchanged.
///
/// Errors: `DISLOG_ERR_NULL_ARGUMENT` (path or log_out NULL),
/// `DISLOG_ERR_INVALID_ARGUMENT` (empty path), `DISLOG_ERR_LOCKED` (another
/// handle or process holds the directory), `DISLOG_ERR_INVALID_CONFIG`,
/// `DISLOG_ERR_IO`, `DISLOG_ERR_FORMAT`, `DISLOG_ERR_CORRUPT`.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string (bytes of a path, not
/// necessarily UTF-8); `config` is NULL or points to a valid `dislog_config`;
/// `log_out` is NULL or valid for writing one pointer.
#[no_mangle]
pub unsafe extern "C" fn dislog_open(
    path: *const c_char,
    config: *const dislog_config,
    log_out: *mut *mut dislog_t,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above for each pointer.
        let path = unsafe { arg_path(path, "path") }?;
        let out = arg_out(log_out, "log_out")?;
        // SAFETY: as above.
        let config = unsafe { config_arg(config) }?;
        let log = Log::open(path, config)?;
        // SAFETY: `out` is non-NULL and writable by the caller's contract.
        unsafe { hand_out(log, out) };
        Ok(())
    })
}

/// Opens the log in directory `path` for reading only: no lock is taken and
/// nothing on disk changes (recovery happens in memory), so it works beside
/// a live writer in another process. It sees the records present when it
/// was opened. Every write call on the handle fails with `DISLOG_ERR_IO`.
///
/// Arguments, ownership and errors as `dislog_open` (never
/// `DISLOG_ERR_LOCKED`); a missing directory is `DISLOG_ERR_IO`.
///
/// # Safety
/// As `dislog_open`.
#[no_mangle]
pub unsafe extern "C" fn dislog_open_read_only(
    path: *const c_char,
    config: *const dislog_config,
    log_out: *mut *mut dislog_t,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above for each pointer.
        let path = unsafe { arg_path(path, "path") }?;
        let out = arg_out(log_out, "log_out")?;
        // SAFETY: as above.
        let config = unsafe { config_arg(config) }?;
        let log = Log::open_read_only(path, config)?;
        // SAFETY: `out` is non-NULL and writable by the caller's contract.
        unsafe { hand_out(log, out) };
        Ok(())
    })
}

/// Takes the handle out of `*log` for closing or removal, refusing while
/// views or iterators of it are open.
///
/// # Safety
/// `log` is NULL or points to NULL or to a live handle.
unsafe fn take_handle(log: *mut *mut dislog_t) -> Result<Log, Failure> {
    let slot = arg_out(log, "log")?;
    // SAFETY: `slot` is non-NULL and readable by the caller's contract.
    let ptr = unsafe { *slot };
    // SAFETY: NULL or a live handle by the caller's contract.
    let handle = unsafe { use_handle(ptr) }?;
    let users = Arc::strong_count(&handle.log) - 1;
    if users > 0 {
        return Err(Failure::new(
            dislog_status::DISLOG_ERR_IN_USE,
            format!("{users} view(s) or iterator(s) of this log are still open: free them first"),
        ));
    }
    // SAFETY: `ptr` came from `Box::into_raw` in `hand_out` and is live; the
    // caller's pointer is cleared right after, so it cannot be freed twice.
    let handle = unsafe { Box::from_raw(ptr) };
    // SAFETY: `slot` is valid for writes by the caller's contract.
    unsafe { slot.write(std::ptr::null_mut()) };
    Arc::into_inner(handle.log).ok_or_else(|| {
        Failure::new(
            dislog_status::DISLOG_ERR_IN_USE,
            "the log was used by another thread while being closed",
        )
    })
}

/// Closes the log: flushes and syncs it, trims preallocated files and
/// releases the directory lock; frees the handle and sets `*log` to NULL,
/// so a second `dislog_close(&log)` returns `DISLOG_ERR_NULL_ARGUMENT`
/// instead of freeing twice.
///
/// Returns `DISLOG_ERR_IN_USE` (and changes nothing) while views or
/// iterators of the handle are open. If the final sync fails, the handle is
/// freed all the same and the error returned.
///
/// # Safety
/// `log` is NULL or points to NULL or to a handle from `dislog_open` (or
/// similar) that no other thread is using.
#[no_mangle]
pub unsafe extern "C" fn dislog_close(log: *mut *mut dislog_t) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let log = unsafe { take_handle(log) }?;
        Ok(log.close()?)
    })
}

/// Deletes every file of the log (leaving the directory and any foreign
/// files in it), then frees the handle and sets `*log` to NULL, as
/// `dislog_close` does.
///
/// # Safety
/// As `dislog_close`.
#[no_mangle]
pub unsafe extern "C" fn dislog_remove(log: *mut *mut dislog_t) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let log = unsafe { take_handle(log) }?;
        Ok(log.remove()?)
    })
}

/// Deletes every record and starts again, empty, at the config's
/// `initial_offset` (the next append gets that offset). Clears a poisoned
/// state when it succeeds.
///
/// # Safety
/// `log` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn dislog_reset(log: *mut dislog_t) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        Ok(handle.log.reset()?)
    })
}

/// Hands appended records to the operating system (they survive a crash
/// of the process, not of the machine).
///
/// # Safety
/// `log` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn dislog_flush(log: *mut dislog_t) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        Ok(handle.log.flush()?)
    })
}

/// Makes every appended record durable (flush, then fsync): they survive a
/// crash of the machine.
///
/// # Safety
/// `log` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn dislog_sync(log: *mut dislog_t) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        Ok(handle.log.sync()?)
    })
}

/// Checks every record of the log against its checksum and the index
/// against the stores, reporting at most `limit` problems (0: no limit).
///
/// Returns `DISLOG_OK` with `*problems_out` = 0 when the log is sound.
/// When problems are found, returns the status of the first one (usually
/// `DISLOG_ERR_CORRUPT`), writes their number to `*problems_out`, and
/// `dislog_last_error_message()` lists them, one per line.
///
/// # Safety
/// `log` is NULL or a live handle; `problems_out` is NULL (not wanted) or
/// valid for writing a `size_t`.
#[no_mangle]
pub unsafe extern "C" fn dislog_verify(
    log: *const dislog_t,
    limit: usize,
    problems_out: *mut usize,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        let limit = if limit == 0 { usize::MAX } else { limit };
        let problems = handle.log.verify(limit);
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { put(problems_out, problems.len()) };
        match problems.first() {
            None => Ok(()),
            Some(first) => {
                let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
                Err(Failure::new(first.code().into(), lines.join("\n")))
            }
        }
    })
}
