//! `dislog_read`: a record copied into the caller's buffer.

use super::boundary::{arg_out, put, run, Failure};
use super::handle::{dislog_t, use_handle};
use super::status::dislog_status;

/// Copies the payload of the record at `offset` into `buf` (capacity
/// `cap` bytes) and writes its length to `*len_out` and, when
/// `timestamp_out` is not NULL, its timestamp to `*timestamp_out`.
///
/// When the payload is longer than `cap`, nothing is copied, `*len_out`
/// receives the needed length and `DISLOG_ERR_BUFFER_TOO_SMALL` is returned:
/// call again with a buffer that large. `buf` may be NULL when `cap` is 0
/// (to ask for the length).
///
/// Errors: `DISLOG_ERR_OUT_OF_RANGE` (no record at `offset`),
/// `DISLOG_ERR_BUFFER_TOO_SMALL`, `DISLOG_ERR_NULL_ARGUMENT` (`log`,
/// `len_out`, or `buf` with `cap > 0`), `DISLOG_ERR_CORRUPT`, `DISLOG_ERR_IO`.
///
/// # Safety
/// `log` is NULL or a live handle; `buf` is NULL or valid for writing `cap`
/// bytes; `len_out` and `timestamp_out` are NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn dislog_read(
    log: *const dislog_t,
    offset: u64,
    buf: *mut u8,
    cap: usize,
    len_out: *mut usize,
    timestamp_out: *mut u64,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        let len_out = arg_out(len_out, "len_out")?;
        if buf.is_null() && cap > 0 {
            return Err(Failure::null("buf"));
        }
        let copied = handle.log.read_with(offset, |record| {
            let payload: &[u8] = &record.payload;
            if payload.len() > cap {
                return Err(payload.len());
            }
            if !payload.is_empty() {
                // SAFETY: `buf` is non-NULL (cap >= len > 0) and valid for
                // `cap >= len` bytes by the caller's contract; it cannot
                // overlap the log's own memory.
                unsafe { std::ptr::copy_nonoverlapping(payload.as_ptr(), buf, payload.len()) };
            }
            Ok((payload.len(), record.timestamp))
        })?;
        match copied {
            Ok((len, timestamp)) => {
                // SAFETY: both NULL or writable by the caller's contract.
                unsafe {
                    put(len_out, len);
                    put(timestamp_out, timestamp);
                }
                Ok(())
            }
            Err(needed) => {
                // SAFETY: as above.
                unsafe { put(len_out, needed) };
                Err(Failure::new(
                    dislog_status::DISLOG_ERR_BUFFER_TOO_SMALL,
                    format!(
                        "the record at offset {offset} has {needed} bytes but the buffer holds {cap}"
                    ),
                ))
            }
        }
    })
}
