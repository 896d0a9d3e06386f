//! Blocking until records arrive: for consumers that tail the log.

use std::time::Duration;

use super::boundary::{arg_out, put, run};
use super::handle::{dislog_t, use_handle};
use super::status::dislog_status;

/// Blocks until a record with offset `offset` or later exists (that is,
/// until the next offset is past `offset`) or `timeout_ms` milliseconds pass,
/// then writes whether it exists to `*available_out`. A timeout is not an
/// error: the call returns `DISLOG_OK` with `*available_out` false. Returns at
/// once when the record already exists; `timeout_ms` 0 just checks.
///
/// Woken by appends from any thread on the same handle (no polling); a
/// read-only handle sees only the records present when it was opened.
///
/// # Safety
/// `log` is NULL or a live handle; `available_out` is NULL or valid for one
/// write (required).
#[no_mangle]
pub unsafe extern "C" fn dislog_wait_for(
    log: *const dislog_t,
    offset: u64,
    timeout_ms: u64,
    available_out: *mut bool,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        let out = arg_out(available_out, "available_out")?;
        let available = handle
            .log
            .wait_for(offset, Duration::from_millis(timeout_ms))?;
        // SAFETY: checked non-NULL and writable by the caller's contract.
        unsafe { put(out, available) };
        Ok(())
    })
}
