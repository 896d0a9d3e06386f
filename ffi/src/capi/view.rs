//! `dislog_view`: a zero-copy read that holds the log's read lock.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::{Arc, RwLockReadGuard};

use dislog_core::{Log as Engine, Record, StorageError};

use crate::{FileStorage, Log};

use super::boundary::{arg_out, arg_ref, put, run, run_quiet, Failure};
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

/// A zero-copy read of one record (`dislog_read_view`) or of many
/// (`dislog_read_many`): the records' bytes are read in place
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
    // Field order is drop order: the records borrow from the guard, the
    // guard from the engine inside the `Log` that `log` keeps alive.
    records: Held,
    _guard: RwLockReadGuard<'static, Engine<FileStorage>>,
    log: Arc<Log>,
}

/// The records a view keeps: one (`dislog_read_view`, no allocation for
/// it) or many (`dislog_read_many`).
enum Held {
    One(Record<'static>),
    Many(Vec<Record<'static>>),
}

impl Held {
    fn records(&self) -> &[Record<'static>] {
        match self {
            Held::One(record) => std::slice::from_ref(record),
            Held::Many(records) => records,
        }
    }
}

impl dislog_view {
    /// Takes `log`'s read lock and keeps what `read` reads under it.
    fn open(
        log: &Arc<Log>,
        read: impl FnOnce(&'static Engine<FileStorage>) -> Result<Held, Failure>,
    ) -> Result<Box<Self>, Failure> {
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
        // records are dropped before the guard (field order above); `read`
        // can only hand its borrows back through the records.
        let records = read(unsafe { &*engine })?;
        Ok(Box::new(Self {
            records,
            _guard: guard,
            log,
        }))
    }
}

/// Gives `view` to the caller through `view_out`, marking its log as held
/// by this thread until `dislog_view_free`: the last step of a call that
/// makes a view, after everything that can fail.
///
/// # Safety
/// `view_out` is valid for writing one pointer.
unsafe fn hand_out(view: Box<dislog_view>, view_out: *mut *mut dislog_view) {
    hold(dislog_t::id(&view.log));
    // SAFETY: the caller's contract above.
    unsafe { put(view_out, Box::into_raw(view)) }
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
        let view = dislog_view::open(&handle.log, |engine| Ok(Held::One(engine.read(offset)?)))?;
        // SAFETY: both checked non-NULL and writable by the caller's contract
        // (the view holds exactly the one record read).
        unsafe {
            for record in view.records.records() {
                put(record_out, dislog_record::of(record));
            }
            hand_out(view, view_out);
        }
        Ok(())
    })
}

/// Reads the records at `offsets[0..count]` without copying their payloads,
/// in one go whose cache misses overlap (for many random offsets at once):
/// `records_out[i]` describes the record at `offsets[i]` and
/// `statuses_out[i]` says whether it was read (`DISLOG_OK`) or why not
/// (`DISLOG_ERR_OUT_OF_RANGE`, `DISLOG_ERR_CORRUPT`, ...; the record then
/// has that offset and an empty payload). `*view_out` is a new view that
/// keeps every `records_out[i].data` valid until
/// `dislog_view_free(*view_out)`; see `dislog_view` for the rules.
///
/// Errors of the call itself (nothing is written then):
/// `DISLOG_ERR_NULL_ARGUMENT` (`log` or `view_out` NULL, or an array NULL
/// with `count` > 0), `DISLOG_ERR_VIEW_HELD`, `DISLOG_ERR_IO` (no memory for
/// `count` records).
///
/// # Safety
/// `log` is NULL or a live handle; `offsets` is NULL or valid for reading
/// `count` values, `records_out` and `statuses_out` NULL or valid for
/// writing `count` values each; `view_out` NULL or valid for writing one
/// pointer.
#[no_mangle]
pub unsafe extern "C" fn dislog_read_many(
    log: *const dislog_t,
    offsets: *const u64,
    count: usize,
    records_out: *mut dislog_record,
    statuses_out: *mut dislog_status,
    view_out: *mut *mut dislog_view,
) -> dislog_status {
    run(|| {
        // SAFETY: the caller's contract above.
        let handle = unsafe { use_handle(log) }?;
        let view_out = arg_out(view_out, "view_out")?;
        let offsets: &[u64] = match count {
            0 => &[],
            // SAFETY: non-NULL (checked) and valid for `count` reads by the
            // caller's contract.
            n => unsafe { std::slice::from_raw_parts(arg_ref(offsets, "offsets")?, n) },
        };
        if count > 0 {
            arg_out(records_out, "records_out")?;
            arg_out(statuses_out, "statuses_out")?;
        }
        let mut statuses = Vec::new();
        let view = dislog_view::open(&handle.log, |engine| {
            let no_memory =
                || Failure::from(dislog_core::Error::from(StorageError::out_of_memory()));
            let mut records = Vec::new();
            records.try_reserve_exact(count).map_err(|_| no_memory())?;
            statuses.try_reserve_exact(count).map_err(|_| no_memory())?;
            engine.read_many(offsets, |offset, read| match read {
                Ok(record) => {
                    records.push(record);
                    statuses.push(dislog_status::DISLOG_OK);
                }
                Err(e) => {
                    records.push(Record {
                        offset,
                        timestamp: 0,
                        payload: Cow::Borrowed(&[]),
                    });
                    statuses.push(e.code().into());
                }
            });
            Ok(Held::Many(records))
        })?;
        for (i, (record, status)) in view.records.records().iter().zip(&statuses).enumerate() {
            // SAFETY: both arrays are non-NULL (checked above, as `count` >
            // 0 when there are records) and valid for `count` writes by the
            // caller's contract; `i < count`.
            unsafe {
                put(records_out.add(i), dislog_record::of(record));
                put(statuses_out.add(i), *status);
            }
        }
        // SAFETY: checked non-NULL and writable by the caller's contract.
        unsafe { hand_out(view, view_out) };
        Ok(())
    })
}

/// Frees a view from `dislog_read_view` or `dislog_read_many`, releasing
/// the log's read lock; the records' `data` pointers become invalid. NULL is
/// ignored.
///
/// # Safety
/// `view` is NULL or a view from `dislog_read_view` or `dislog_read_many`
/// not yet freed, freed on the thread that created it.
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
