//! `dislog_iter`: reading records in order, from an offset onwards.

use std::sync::Arc;

use crate::Log;

use super::boundary::{arg_mut, arg_out, put, run, run_quiet};
use super::handle::{dislog_t, use_handle};
use super::status::dislog_status;
use super::view::{check_not_held, dislog_record};

/// An iterator over the records of a log, oldest first, from a starting
/// offset. Created by `dislog_iter_new`, freed by `dislog_iter_free`.
///
/// It holds no lock between calls: each `dislog_iter_next` reads one record
/// under the log's read lock and copies its payload into the iterator's own
/// buffer. It follows the log as it grows: after `dislog_iter_next` reports
/// the end, records appended later are returned by later calls (pair it
/// with `dislog_wait_for` to tail a log). An iterator may be moved between
/// threads but must not be used by two threads at once. While it exists,
/// `dislog_close` of its log returns `DISLOG_ERR_IN_USE`.
#[allow(non_camel_case_types)]
pub struct dislog_iter {
    log: Arc<Log>,
    next: u64,
    buf: Vec<u8>,
}

/// Creates an iterator starting at offset `from`, which must lie between
/// the lowest offset and the next offset (`from` equal to the next offset
/// gives records appended from now on). `*iter_out` receives the new
/// iterator, to free with `dislog_iter_free`.
///
/// Errors: `DISLOG_ERR_OUT_OF_RANGE` (`from` outside the log),
/// `DISLOG_ERR_NULL_ARGUMENT`.
///
/// # Safety
/// `log` is NULL or a live handle; `iter_out` is NULL or valid for one
/// write.
#[no_mangle]
pub unsafe extern "C" fn dislog_iter_new(
    log: *const dislog_t,
    from: u64,
    iter_out: *mut *mut dislog_iter,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        let out = arg_out(iter_out, "iter_out")?;
        // Checks `from` against the log as it is now.
        handle.log.reader().iter(from)?;
        let iter = Box::new(dislog_iter {
            log: Arc::clone(&handle.log),
            next: from,
            buf: Vec::new(),
        });
        // SAFETY: checked non-NULL and writable by the caller's contract.
        unsafe { put(out, Box::into_raw(iter)) };
        Ok(())
    })
}

/// Reads the next record. When there is one, `*has_record_out` is true and
/// `*record_out` describes it; its `data` points into the iterator's buffer
/// and stays valid until the next `dislog_iter_next` or `dislog_iter_free`
/// on this iterator. At the end of the log, `*has_record_out` is false and
/// `*record_out` is left unchanged; calling again later returns records
/// appended meanwhile.
///
/// Errors: `DISLOG_ERR_OUT_OF_RANGE` when the next record was removed
/// meanwhile (prefix truncation, retention, suffix truncation, reset): make a
/// new iterator. `DISLOG_ERR_CORRUPT` for a damaged record (the iterator
/// stays on it). `DISLOG_ERR_VIEW_HELD` when this thread holds a view of
/// the log.
///
/// # Safety
/// `iter` is NULL or a live iterator used by no other thread; `record_out`
/// and `has_record_out` are NULL or valid for one write (both required).
#[no_mangle]
pub unsafe extern "C" fn dislog_iter_next(
    iter: *mut dislog_iter,
    record_out: *mut dislog_record,
    has_record_out: *mut bool,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let iter = unsafe { arg_mut(iter, "iter") }?;
        let record_out = arg_out(record_out, "record_out")?;
        let has_out = arg_out(has_record_out, "has_record_out")?;
        check_not_held(&iter.log)?;
        let next = {
            let engine = iter.log.reader();
            if iter.next == engine.next_offset() {
                None
            } else {
                // One record by offset, as an iterator started there would
                // yield it (a torn index entry is looked up through the
                // store's frames either way), without building one per call.
                let record = engine.read(iter.next)?;
                iter.buf.clear();
                iter.buf.extend_from_slice(&record.payload);
                Some((record.offset, record.timestamp))
            }
        };
        match next {
            None => {
                // SAFETY: checked non-NULL and writable by the caller's contract.
                unsafe { put(has_out, false) };
            }
            Some((offset, timestamp_ms)) => {
                iter.next = offset + 1;
                let record = dislog_record {
                    offset,
                    timestamp_ms,
                    data: iter.buf.as_ptr(),
                    len: iter.buf.len(),
                };
                // SAFETY: as above.
                unsafe {
                    put(record_out, record);
                    put(has_out, true);
                }
            }
        }
        Ok(())
    })
}

/// The offset the iterator's next record will have.
///
/// # Safety
/// `iter` is NULL or a live iterator; `offset_out` is NULL or valid for one
/// write (required).
#[no_mangle]
pub unsafe extern "C" fn dislog_iter_offset(
    iter: *const dislog_iter,
    offset_out: *mut u64,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let iter = unsafe { super::boundary::arg_ref(iter, "iter") }?;
        let out = arg_out(offset_out, "offset_out")?;
        // SAFETY: checked non-NULL and writable by the caller's contract.
        unsafe { put(out, iter.next) };
        Ok(())
    })
}

/// Frees an iterator (and the buffer its last record pointed into). NULL is
/// ignored.
///
/// # Safety
/// `iter` is NULL or an iterator from `dislog_iter_new` not yet freed.
#[no_mangle]
pub unsafe extern "C" fn dislog_iter_free(iter: *mut dislog_iter) {
    run_quiet(|| {
        if !iter.is_null() {
            // SAFETY: a live iterator from `Box::into_raw` by the caller's
            // contract, freed once.
            drop(unsafe { Box::from_raw(iter) });
        }
    })
}
