//! `dislog_view`: a zero-copy read that holds the log's read lock.

use std::cell::RefCell;
use std::sync::{Arc, RwLockReadGuard};

use dislog_core::{Log as Engine, Record};

use crate::{FileStorage, Log};

use super::boundary::{arg_out, put, run, run_quiet, Failure};
use super::handle::{dislog_t, use_handle};
use super::status::dislog_status;

thread_local! {
    /// The handles (by id) the current thread holds a view of, once per view.
    static HELD: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Refuses a call on `log` from a thread that holds a view of it: the call
/// would take the log's lock again, which deadlocks when a writer waits.
pub(crate) fn check_not_held(log: &Arc<Log>) -> Result<(), Failure> {
    let id = dislog_t::id(log);
    let held = HELD
        .try_with(|held| held.borrow().contains(&id))
        .unwrap_or(false);
    if held {
        return Err(Failure::new(
            dislog_status::DISLOG_ERR_VIEW_HELD,
            "this thread holds a dislog_view of this log: free it (dislog_view_free) before any \
             other call on the log",
        ));
    }
    Ok(())
}

fn hold(id: usize) {
    let _ = HELD.try_with(|held| held.borrow_mut().push(id));
}

fn release(id: usize) {
    let _ = HELD.try_with(|held| {
        let mut held = held.borrow_mut();
        if let Some(i) = held.iter().position(|h| *h == id) {
            held.swap_remove(i);
        }
    });
}

/// One record as C sees it: its offset, timestamp and payload bytes. The
/// bytes are owned by the view or iterator that produced the record and
/// stay valid as long as that object's documentation says.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct dislog_record {
    /// The record's offset (its id).
    pub offset: u64,
    /// The record's timestamp in milliseconds (since the Unix epoch, unless
    /// the writer chose its own with `dislog_append_at`).
    pub timestamp_ms: u64,
    /// The payload; never NULL (a valid pointer even for an empty payload).
    pub data: *const u8,
    /// The payload's length in bytes (may be 0).
    pub len: usize,
}

impl dislog_record {
    pub(crate) fn of(record: &Record<'_>) -> Self {
        Self {
            offset: record.offset,
            timestamp_ms: record.timestamp,
            data: record.payload.as_ptr(),
            len: record.payload.len(),
        }
    }
}

/// A zero-copy read of one record: the record's bytes are read in place
/// (from the log's buffers or memory-mapped files) and kept valid by holding
/// the log's read lock until `dislog_view_free`.
///
/// Rules, all checked where possible:
/// - hold a view briefly: while it exists, appends and truncations from
///   other threads wait;
/// - the thread holding a view makes no other call on the same log until
///   it frees the view: such calls return `DISLOG_ERR_VIEW_HELD` instead of
///   deadlocking (views of other logs are fine);
/// - free the view on the thread that created it, and before closing the
///   log (`dislog_close` returns `DISLOG_ERR_IN_USE` otherwise).
#[allow(non_camel_case_types)]
pub struct dislog_view {
    // Field order is drop order: the record borrows from the guard, the
    // guard from the engine inside the `Log` that `log` keeps alive.
    record: Record<'static>,
    _guard: RwLockReadGuard<'static, Engine<FileStorage>>,
    log: Arc<Log>,
}

impl dislog_view {
    fn open(log: &Arc<Log>, offset: u64) -> Result<Box<Self>, Failure> {
        let log = Arc::clone(log);
        let guard: RwLockReadGuard<'_, Engine<FileStorage>> = log.reader();
        // SAFETY: the guard borrows the `Log` in the `Arc`'s heap allocation,
        // which does not move and lives as long as the `Arc` stored beside
        // the guard in the view; fields drop in declaration order, so the
        // guard is released before that `Arc` is dropped.
        let guard: RwLockReadGuard<'static, Engine<FileStorage>> =
            unsafe { std::mem::transmute(guard) };
        let engine: *const Engine<FileStorage> = &*guard;
        // SAFETY: `engine` points into the locked log, which stays locked for
        // reading (so unchanged) and alive as long as the guard, and the
        // record is dropped before the guard (field order above).
        let record = unsafe { &*engine }.read(offset)?;
        Ok(Box::new(Self {
            record,
            _guard: guard,
            log,
        }))
    }
}

/// Reads the record at `offset` without copying its payload: `*record_out`
/// describes it and `*view_out` is a new view that keeps `record_out->data`
/// valid until `dislog_view_free(*view_out)`. See `dislog_view` for the
/// rules (short-lived, same thread, no other call on the log meanwhile).
///
/// Errors: `DISLOG_ERR_OUT_OF_RANGE` (no such offset), `DISLOG_ERR_CORRUPT`,
/// `DISLOG_ERR_VIEW_HELD` (this thread already holds a view of the log),
/// `DISLOG_ERR_NULL_ARGUMENT`, `DISLOG_ERR_IO`. Nothing is written on failure.
///
/// # Safety
/// `log` is NULL or a live handle; `record_out` and `view_out` are NULL or
/// valid for writing one `dislog_record` / one pointer.
#[no_mangle]
pub unsafe extern "C" fn dislog_read_view(
    log: *const dislog_t,
    offset: u64,
    record_out: *mut dislog_record,
    view_out: *mut *mut dislog_view,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        let record_out = arg_out(record_out, "record_out")?;
        let view_out = arg_out(view_out, "view_out")?;
        let view = dislog_view::open(&handle.log, offset)?;
        hold(dislog_t::id(&view.log));
        let record = dislog_record::of(&view.record);
        // SAFETY: both checked non-NULL and writable by the caller's contract.
        unsafe {
            put(record_out, record);
            put(view_out, Box::into_raw(view));
        }
        Ok(())
    })
}

/// Frees a view from `dislog_read_view`, releasing the log's read lock; the
/// record's `data` pointer becomes invalid. NULL is ignored.
///
/// # Safety
/// `view` is NULL or a view from `dislog_read_view` not yet freed, freed on
/// the thread that created it.
#[no_mangle]
pub unsafe extern "C" fn dislog_view_free(view: *mut dislog_view) {
    run_quiet(|| {
        if view.is_null() {
            return;
        }
        // SAFETY: a live view from `Box::into_raw` by the caller's contract.
        let view = unsafe { Box::from_raw(view) };
        release(dislog_t::id(&view.log));
        drop(view);
    })
}
