//! Appending records: one, one with a timestamp, or a batch.

use super::boundary::{arg_bytes, put, run, Failure};
use super::handle::{dislog_t, use_handle};
use super::status::dislog_status;

/// Appends one record of `len` bytes stamped with the current time, and
/// writes its offset to `*offset_out` (when not NULL). `data` may be NULL
/// when `len` is 0 (an empty record).
///
/// Errors: `DISLOG_ERR_RECORD_TOO_LARGE`, `DISLOG_ERR_NULL_ARGUMENT`,
/// `DISLOG_ERR_IO` (also on a read-only handle), `DISLOG_ERR_POISONED`.
///
/// # Safety
/// `log` is NULL or a live handle; `data` is valid for reading `len` bytes
/// (or NULL with `len` 0); `offset_out` is NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn dislog_append(
    log: *mut dislog_t,
    data: *const u8,
    len: usize,
    offset_out: *mut u64,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        // SAFETY: as above.
        let payload = unsafe { arg_bytes(data, len, "data") }?;
        let offset = handle.log.append(payload)?;
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { put(offset_out, offset) };
        Ok(())
    })
}

/// As `dislog_append`, with the caller's timestamp (milliseconds, any
/// meaning the caller likes; `dislog_offset_for_timestamp` and
/// `dislog_retain_since` compare against it).
///
/// # Safety
/// As `dislog_append`.
#[no_mangle]
pub unsafe extern "C" fn dislog_append_at(
    log: *mut dislog_t,
    data: *const u8,
    len: usize,
    timestamp_ms: u64,
    offset_out: *mut u64,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        // SAFETY: as above.
        let payload = unsafe { arg_bytes(data, len, "data") }?;
        let offset = handle.log.append_at(payload, timestamp_ms)?;
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { put(offset_out, offset) };
        Ok(())
    })
}

/// Appends `count` records with consecutive offsets in one write (and at
/// most one sync), all stamped with the current time; writes the first
/// offset to `*first_offset_out` (when not NULL). Record `i` is `lens[i]`
/// bytes at `datas[i]` (`datas[i]` may be NULL when `lens[i]` is 0).
///
/// All records are checked before any is written: a batch with one record
/// too large appends nothing. Errors: `DISLOG_ERR_INVALID_ARGUMENT` (`count`
/// is 0), `DISLOG_ERR_NULL_ARGUMENT` (`datas`/`lens` NULL, or a NULL record
/// with a non-zero length), `DISLOG_ERR_RECORD_TOO_LARGE`, `DISLOG_ERR_IO`,
/// `DISLOG_ERR_POISONED`.
///
/// # Safety
/// `log` is NULL or a live handle; `datas` and `lens` are NULL or point to
/// `count` elements; each `datas[i]` is valid for reading `lens[i]` bytes;
/// `first_offset_out` is NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn dislog_append_batch(
    log: *mut dislog_t,
    datas: *const *const u8,
    lens: *const usize,
    count: usize,
    first_offset_out: *mut u64,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        if count == 0 {
            return Err(Failure::invalid(
                "an empty batch appends nothing (count is 0)",
            ));
        }
        if datas.is_null() {
            return Err(Failure::null("datas"));
        }
        if lens.is_null() {
            return Err(Failure::null("lens"));
        }
        let mut records = Vec::with_capacity(count);
        for i in 0..count {
            // SAFETY: `datas` and `lens` hold `count` elements by the
            // caller's contract, and `i < count`.
            let (data, len) = unsafe { (*datas.add(i), *lens.add(i)) };
            if data.is_null() && len > 0 {
                return Err(Failure::null(&format!("datas[{i}]")));
            }
            // SAFETY: each record is readable by the caller's contract.
            records.push(unsafe { arg_bytes(data, len, "datas[i]") }?);
        }
        let first = handle.log.append_batch(&records)?;
        // SAFETY: NULL or writable by the caller's contract.
        unsafe { put(first_offset_out, first) };
        Ok(())
    })
}
