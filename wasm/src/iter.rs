//! `log.records()`: a lazy JS iterator over a log's records.

use std::cell::Cell;

use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

use crate::convert::{record_object, set};
use crate::error::{JsError, Result};
use crate::log::{with_log, Shared};

/// A lazy iterator over records, made by `Log.records()`. It follows the JS
/// iterator protocol (`next()`, and `[Symbol.iterator]` through its
/// prototype, `Iterator.prototype`), reading each record only when asked.
/// It ends at the log's end as it was when made; records removed by a
/// prefix truncation meanwhile are skipped, a suffix truncation ends it.
#[wasm_bindgen]
pub struct RecordIterator {
    /// The log's state; `None` once the iterator's own `free()` ran.
    shared: Option<Shared>,
    offset: u64,
    end: u64,
}

thread_local! {
    /// Whether `RecordIterator.prototype` was linked to `Iterator.prototype`.
    static LINKED: Cell<bool> = const { Cell::new(false) };
}

impl RecordIterator {
    pub(crate) fn new(shared: Shared, offset: u64, end: u64) -> Self {
        Self {
            shared: Some(shared),
            offset,
            end,
        }
    }

    /// The iterator as a JS value whose prototype chain reaches
    /// `Iterator.prototype`, which supplies `[Symbol.iterator]() { return
    /// this }` (and the iterator helpers where the engine has them).
    pub(crate) fn into_iterable(self) -> JsValue {
        let value: JsValue = self.into();
        if !LINKED.with(Cell::get) {
            let array_iterator = Array::new().values();
            let iterator_prototype =
                Object::get_prototype_of(&Object::get_prototype_of(&array_iterator));
            let own_prototype = Object::get_prototype_of(&value);
            Object::set_prototype_of(&own_prototype, &iterator_prototype);
            LINKED.with(|linked| linked.set(true));
        }
        value
    }

    fn step(&mut self) -> Result<Option<JsValue>> {
        let (offset, end) = (self.offset, self.end);
        let shared = self
            .shared
            .as_ref()
            .ok_or_else(|| JsError::freed_object("iterator"))?;
        let item = with_log(shared, |log| {
            let end = end.min(log.next_offset());
            let Some(lowest) = log.lowest_offset() else {
                return Ok(None);
            };
            let offset = offset.max(lowest);
            if offset >= end {
                return Ok(None);
            }
            Ok(Some((offset, record_object(&log.read(offset)?)?)))
        })?;
        match item {
            Some((offset, record)) => {
                self.offset = offset + 1;
                Ok(Some(record))
            }
            None => {
                self.offset = self.end;
                Ok(None)
            }
        }
    }
}

#[wasm_bindgen]
impl RecordIterator {
    /// Not callable: iterators come from `log.records(from)`. Throws a
    /// `TypeError` with code `INVALID_TYPE`.
    #[wasm_bindgen(constructor)]
    pub fn new_from_js() -> Result<RecordIterator, JsValue> {
        Err(JsError::invalid_type(
            "RecordIterator has no public constructor: make one with log.records(from)",
        )
        .into())
    }

    /// Releases the iterator's hold on its log now (without it, that goes
    /// when the iterator is garbage-collected). Any later `next()` throws
    /// `FREED`; calling `free()` twice is harmless. The log stays usable.
    #[wasm_bindgen(js_name = free)]
    pub fn release(&mut self) {
        self.shared = None;
        self.offset = self.end;
    }

    /// The next record as `{ value: { offset, timestamp, data }, done:
    /// false }`, or `{ value: undefined, done: true }` at the end. Throws
    /// `FREED` once the log or this iterator was freed.
    #[wasm_bindgen(
        js_name = next,
        unchecked_return_type = "IteratorResult<LogRecord, undefined>"
    )]
    pub fn next_result(&mut self) -> Result<JsValue, JsValue> {
        let item = self.step().map_err(JsValue::from)?;
        let result = Object::new();
        let done = item.is_none();
        set(&result, "value", &item.unwrap_or(JsValue::UNDEFINED));
        set(&result, "done", &JsValue::from_bool(done));
        Ok(result.into())
    }
}
