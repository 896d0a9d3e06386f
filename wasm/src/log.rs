//! The JS class `Log`: one in-memory dislog log.

use std::cell::RefCell;
use std::rc::Rc;

use dislog_core::{Log as CoreLog, MemoryStorage, Removed};
use dislog_core::{HEADER_LEN, SNAPSHOT_HEADER_LEN, SNAPSHOT_TRAILER_LEN};
use js_sys::{Array, JsString, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::convert::{
    as_array, byte_len_hint, from_u64, record_object, reserve, reserve_u64, set, to_byte_array,
    to_bytes, to_config, to_opt_u64, to_u64, utf8_to_js, MemoryCopier, MAX_SAFE,
};
use crate::error::{JsError, Result, UNSAFE_INTEGER};
use crate::iter::RecordIterator;
use crate::waiters;

/// The engine log and the id its `waitFor` promises are filed under.
pub(crate) struct State {
    pub(crate) log: CoreLog<MemoryStorage>,
    id: u64,
}

impl State {
    fn new(mut log: CoreLog<MemoryStorage>) -> Self {
        let id = waiters::new_id();
        log.set_append_hook(Some(waiters::hook(id)));
        Self { log, id }
    }
}

impl Drop for State {
    fn drop(&mut self) {
        waiters::close(self.id);
    }
}

/// The state shared by a log and its iterators; `None` once freed.
pub(crate) type Shared = Rc<RefCell<Option<State>>>;

/// Runs `f` on the engine log, or fails with `FREED`.
pub(crate) fn with_log<T>(
    shared: &Shared,
    f: impl FnOnce(&CoreLog<MemoryStorage>) -> Result<T>,
) -> Result<T> {
    let state = shared.try_borrow().map_err(|_| JsError::freed())?;
    match state.as_ref() {
        Some(state) => f(&state.log),
        None => Err(JsError::freed()),
    }
}

/// A dislog log held in memory.
///
/// Offsets and timestamps are JS `number`s: non-negative integers no larger
/// than `Number.MAX_SAFE_INTEGER` (2^53 - 1). A larger or otherwise invalid
/// value throws a `RangeError` (`code` `"UNSAFE_INTEGER"` or
/// `"INVALID_ARGUMENT"`); a value of the wrong type throws a `TypeError`
/// (`code` `"INVALID_TYPE"`). Every error thrown has a stable `code`.
#[wasm_bindgen]
pub struct Log {
    shared: Shared,
}

impl Log {
    fn wrap(log: CoreLog<MemoryStorage>) -> Self {
        Self {
            shared: Rc::new(RefCell::new(Some(State::new(log)))),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&CoreLog<MemoryStorage>) -> Result<T>) -> Result<T> {
        with_log(&self.shared, f)
    }

    fn with_mut<T>(&self, f: impl FnOnce(&mut CoreLog<MemoryStorage>) -> Result<T>) -> Result<T> {
        let mut state = self.shared.try_borrow_mut().map_err(|_| JsError::freed())?;
        match state.as_mut() {
            Some(state) => f(&mut state.log),
            None => Err(JsError::freed()),
        }
    }

    /// The largest payload the log accepts.
    fn record_limit(&self) -> Result<u64> {
        self.with(|log| Ok(log.config().record_limit()))
    }

    /// Appends `payloads` (one contiguous buffer cut at `ends`), refusing
    /// a batch whose offsets would pass `MAX_SAFE`.
    fn append_buffers(&self, buf: &[u8], ends: &[usize], timestamp: Option<u64>) -> Result<f64> {
        let mut records = Vec::new();
        reserve(&mut records, ends.len(), "the batch")?;
        let mut start = 0;
        for &end in ends {
            records.push(buf.get(start..end).unwrap_or_default());
            start = end;
        }
        self.with_mut(|log| {
            let next = log.next_offset();
            if next.saturating_add(records.len() as u64) > MAX_SAFE {
                return Err(JsError::range(
                    UNSAFE_INTEGER,
                    format!(
                        "appending {} records at offset {next} would pass Number.MAX_SAFE_INTEGER",
                        records.len()
                    ),
                ));
            }
            let now = timestamp.unwrap_or_else(|| (log.config().clock)());
            let first = log.append_batch_at(&records, now)?;
            from_u64(first, "offset")
        })
    }
}

fn removed_object(removed: Removed) -> JsValue {
    let object = Object::new();
    set(&object, "segments", &(removed.segments as f64).into());
    set(&object, "records", &(removed.records as f64).into());
    set(&object, "bytes", &(removed.bytes as f64).into());
    object.into()
}

#[wasm_bindgen]
impl Log {
    /// Creates an empty log. `options` may set `maxStoreBytes` (largest
    /// segment store, default 64 MiB), `maxIndexBytes` (largest segment
    /// index, 16 bytes per record, default 16 MiB), `initialOffset` (offset
    /// of the first record, default 0) and `maxRecordBytes` (largest payload,
    /// default 8 MiB). An unknown option or an impossible layout throws
    /// `INVALID_CONFIG`. Records are stamped with `Date.now()`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_optional_param_type = "LogOptions")] options: JsValue,
    ) -> Result<Log, JsValue> {
        let config = to_config(&options)?;
        let log = CoreLog::open(MemoryStorage::new(), config).map_err(JsError::from)?;
        Ok(Self::wrap(log))
    }

    /// Appends one record (bytes, or a string stored as UTF-8) stamped with
    /// `Date.now()`; returns its offset.
    pub fn append(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] data: JsValue,
    ) -> Result<f64, JsValue> {
        let buf = to_bytes(&data, self.record_limit()?, "data")?;
        Ok(self.append_buffers(&buf, &[buf.len()], None)?)
    }

    /// Appends one record with a caller-chosen timestamp (milliseconds);
    /// returns its offset.
    #[wasm_bindgen(js_name = appendAt)]
    pub fn append_at(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] data: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number", js_name = timestampMs)]
        timestamp_ms: JsValue,
    ) -> Result<f64, JsValue> {
        let timestamp = to_u64(&timestamp_ms, "timestampMs")?;
        let buf = to_bytes(&data, self.record_limit()?, "data")?;
        Ok(self.append_buffers(&buf, &[buf.len()], Some(timestamp))?)
    }

    /// Appends an array of records (each a `Uint8Array` or a string) with
    /// consecutive offsets, all stamped with `timestampMs` or `Date.now()`;
    /// returns the first offset. All or nothing: one bad or too-large
    /// element appends none. An empty array throws `INVALID_ARGUMENT`.
    #[wasm_bindgen(js_name = appendBatch)]
    pub fn append_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Array<Uint8Array | string>")] records: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "number", js_name = timestampMs)]
        timestamp_ms: JsValue,
    ) -> Result<f64, JsValue> {
        let timestamp = to_opt_u64(&timestamp_ms, "timestampMs")?;
        let array = as_array(&records, "records")?;
        let n = array.length();
        let limit = self.record_limit()?;
        let mut ends = Vec::new();
        reserve(&mut ends, n as usize, "the batch")?;
        // Each element is fetched from the array once (every fetch and
        // every drop of a `JsValue` is a call into JS).
        let mut values = Vec::new();
        reserve(&mut values, n as usize, "the batch")?;
        values.extend((0..n).map(|i| array.get(i)));
        // One reservation for the whole batch (elements past the limit are
        // refused below, before they are copied), so a batch wasm memory
        // cannot hold fails at once, without copying anything.
        let total = values
            .iter()
            .map(byte_len_hint)
            .filter(|&len| len <= limit)
            .fold(0u64, u64::saturating_add);
        let mut buf = Vec::new();
        reserve_u64(&mut buf, total, "the batch")?;
        let mut copier = MemoryCopier::new();
        for (i, value) in values.iter().enumerate() {
            copier.push(&mut buf, value, limit, || format!("records[{i}]"))?;
            ends.push(buf.len());
        }
        Ok(self.append_buffers(&buf, &ends, timestamp)?)
    }

    /// The payload of the record at `offset`. Throws `OUT_OF_RANGE` when the
    /// log does not hold it.
    pub fn read(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] offset: JsValue,
    ) -> Result<Uint8Array, JsValue> {
        let offset = to_u64(&offset, "offset")?;
        Ok(self.with(|log| Ok(Uint8Array::from(log.read(offset)?.payload.as_ref())))?)
    }

    /// The payloads of the records at `offsets` (an array of numbers), in
    /// order, as `Uint8Array`s: one call for many reads, whose memory loads
    /// overlap (`Log::read_many`). An offset may repeat.
    /// The arrays are views of one buffer holding them all (one allocation
    /// instead of one per record).
    /// Throws the error `read` would give for the first offset that fails
    /// (`OUT_OF_RANGE`, `CORRUPT`), and `INVALID_TYPE` for an element that
    /// is not an offset; an empty array gives an empty array.
    #[wasm_bindgen(js_name = readMany, unchecked_return_type = "Uint8Array[]")]
    pub fn read_many(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number[]")] offsets: JsValue,
    ) -> Result<Array, JsValue> {
        let array = as_array(&offsets, "offsets")?;
        let mut wanted = Vec::new();
        reserve(&mut wanted, array.length() as usize, "the offsets")?;
        for (i, value) in (0..array.length()).map(|i| (i, array.get(i))) {
            // The element's index is named only when it is refused.
            let offset =
                to_u64(&value, "offset").or_else(|_| to_u64(&value, &format!("offsets[{i}]")));
            wanted.push(offset?);
        }
        // Every payload is copied into one buffer, then handed out as views
        // of one `Uint8Array`: a JS buffer per record would cost an
        // allocation each, most of a record's time.
        Ok(self.with(|log| {
            let mut bytes = Vec::new();
            let mut ends = Vec::new();
            reserve(&mut ends, wanted.len(), "the offsets")?;
            let mut first_error = None;
            log.read_many(&wanted, |_, read| match read {
                Ok(record) if first_error.is_none() => {
                    match reserve(&mut bytes, record.payload.len(), "the payloads") {
                        Ok(()) => bytes.extend_from_slice(&record.payload),
                        Err(e) => first_error = Some(e),
                    }
                    ends.push(bytes.len());
                }
                Ok(_) => {}
                Err(e) => {
                    first_error.get_or_insert(e.into());
                }
            });
            if let Some(e) = first_error {
                return Err(e);
            }
            let all = Uint8Array::from(bytes.as_slice());
            let out = Array::new_with_length(array.length());
            let mut start = 0;
            for (i, &end) in (0u32..).zip(&ends) {
                // Wasm memory is below 4 GiB: positions fit in u32.
                out.set(i, all.subarray(start as u32, end as u32).into());
                start = end;
            }
            Ok(out)
        })?)
    }

    /// The payload of the record at `offset` decoded as UTF-8 (invalid
    /// sequences become U+FFFD, as `TextDecoder` does).
    #[wasm_bindgen(js_name = readString)]
    pub fn read_string(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] offset: JsValue,
    ) -> Result<JsString, JsValue> {
        let offset = to_u64(&offset, "offset")?;
        Ok(self.with(|log| Ok(utf8_to_js(&log.read(offset)?.payload)))?)
    }

    /// The record at `offset` as `{ offset, timestamp, data }`.
    #[wasm_bindgen(js_name = readRecord, unchecked_return_type = "LogRecord")]
    pub fn read_record(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] offset: JsValue,
    ) -> Result<JsValue, JsValue> {
        let offset = to_u64(&offset, "offset")?;
        Ok(self.with(|log| record_object(&log.read(offset)?))?)
    }

    /// The offset of the oldest record, `undefined` when the log is empty.
    #[wasm_bindgen(getter, js_name = lowestOffset)]
    pub fn lowest_offset(&self) -> Result<Option<f64>, JsValue> {
        Ok(self.with(|log| {
            log.lowest_offset()
                .map(|o| from_u64(o, "offset"))
                .transpose()
        })?)
    }

    /// The offset of the newest record, `undefined` when the log is empty.
    #[wasm_bindgen(getter, js_name = highestOffset)]
    pub fn highest_offset(&self) -> Result<Option<f64>, JsValue> {
        Ok(self.with(|log| {
            log.highest_offset()
                .map(|o| from_u64(o, "offset"))
                .transpose()
        })?)
    }

    /// The offset the next appended record will get.
    #[wasm_bindgen(getter, js_name = nextOffset)]
    pub fn next_offset(&self) -> Result<f64, JsValue> {
        Ok(self.with(|log| from_u64(log.next_offset(), "offset"))?)
    }

    /// How many records the log holds.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> Result<f64, JsValue> {
        Ok(self.with(|log| Ok(log.len() as f64))?)
    }

    /// Bytes held (segment stores and indexes, headers included).
    #[wasm_bindgen(getter, js_name = sizeBytes)]
    pub fn size_bytes(&self) -> Result<f64, JsValue> {
        Ok(self.with(|log| Ok(log.size_bytes()? as f64))?)
    }

    /// Prefix truncation: removes every whole segment whose records all lie
    /// below `lowest` (records below it may remain in the segment holding
    /// it). Returns `{ segments, records, bytes }` removed.
    #[wasm_bindgen(unchecked_return_type = "Removed")]
    pub fn truncate(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] lowest: JsValue,
    ) -> Result<JsValue, JsValue> {
        let lowest = to_u64(&lowest, "lowest")?;
        Ok(self.with_mut(|log| Ok(removed_object(log.truncate(lowest)?)))?)
    }

    /// Suffix truncation: removes every record at `from` and after, so the
    /// next append gets offset `from`. A `from` at or past `nextOffset`
    /// changes nothing.
    #[wasm_bindgen(js_name = truncateSuffix)]
    pub fn truncate_suffix(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] from: JsValue,
    ) -> Result<(), JsValue> {
        let from = to_u64(&from, "from")?;
        Ok(self.with_mut(|log| Ok(log.truncate_suffix(from)?))?)
    }

    /// Retention by size: removes the oldest segments while the log holds
    /// more than `maxBytes` (never the newest segment). Returns
    /// `{ segments, records, bytes }` removed.
    #[wasm_bindgen(js_name = retainBytes, unchecked_return_type = "Removed")]
    pub fn retain_bytes(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number", js_name = maxBytes)] max_bytes: JsValue,
    ) -> Result<JsValue, JsValue> {
        let max = to_u64(&max_bytes, "maxBytes")?;
        Ok(self.with_mut(|log| Ok(removed_object(log.retain_bytes(max)?)))?)
    }

    /// Retention by age: removes the oldest segments whose records are all
    /// older than `timestampMs` (never the newest segment). Returns
    /// `{ segments, records, bytes }` removed.
    #[wasm_bindgen(js_name = retainSince, unchecked_return_type = "Removed")]
    pub fn retain_since(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number", js_name = timestampMs)]
        timestamp_ms: JsValue,
    ) -> Result<JsValue, JsValue> {
        let ts = to_u64(&timestamp_ms, "timestampMs")?;
        Ok(self.with_mut(|log| Ok(removed_object(log.retain_since(ts)?)))?)
    }

    /// The first offset whose record timestamp is at least `timestampMs`,
    /// `undefined` when every record is older.
    #[wasm_bindgen(js_name = offsetForTimestamp)]
    pub fn offset_for_timestamp(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number", js_name = timestampMs)]
        timestamp_ms: JsValue,
    ) -> Result<Option<f64>, JsValue> {
        let ts = to_u64(&timestamp_ms, "timestampMs")?;
        Ok(self.with(|log| {
            log.offset_for_timestamp(ts)?
                .map(|o| from_u64(o, "offset"))
                .transpose()
        })?)
    }

    /// A lazy iterator over the records from `from` (default: the oldest)
    /// to the end of the log as it is now: `for (const r of log.records())`.
    /// Each item is `{ offset, timestamp, data }`, read when asked for.
    /// Throws `OUT_OF_RANGE` when `from` is neither held nor `nextOffset`.
    #[wasm_bindgen(unchecked_return_type = "RecordIterator")]
    pub fn records(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "number")] from: JsValue,
    ) -> Result<JsValue, JsValue> {
        let from = to_opt_u64(&from, "from")?;
        let (start, end) = self.with(|log| {
            let end = log.next_offset();
            let start = match from {
                None => log.lowest_offset().unwrap_or(end),
                Some(from) if from == end => end,
                Some(from) => {
                    log.read(from)?;
                    from
                }
            };
            Ok((start, end))
        })?;
        Ok(RecordIterator::new(Rc::clone(&self.shared), start, end).into_iterable())
    }

    /// The whole log as snapshot bytes, the same format on every backend
    /// (restorable by the native library and by `Log.restore`). Throws
    /// `OUT_OF_MEMORY` (changing nothing) when the wasm memory cannot hold
    /// a copy of the log.
    pub fn snapshot(&self) -> Result<Vec<u8>, JsValue> {
        Ok(self.with(|log| {
            // Header, every store's frames, trailer: the exact size, reserved
            // before any chunk is made.
            let frames: u64 = log
                .segments()?
                .iter()
                .map(|s| s.store_bytes.saturating_sub(HEADER_LEN))
                .sum();
            let size = (SNAPSHOT_HEADER_LEN + SNAPSHOT_TRAILER_LEN) as u64 + frames;
            let mut out = Vec::new();
            reserve_u64(&mut out, size, "the snapshot")?;
            for chunk in log.snapshot_chunks() {
                let chunk = chunk?;
                reserve(&mut out, chunk.len(), "the snapshot")?;
                out.extend_from_slice(&chunk);
            }
            Ok(out)
        })?)
    }

    /// Rebuilds a log from snapshot bytes, keeping offsets and timestamps.
    /// Bad bytes (truncated, corrupt, not a snapshot) throw
    /// `INVALID_SNAPSHOT`; `options` as in the constructor
    /// (`initialOffset` is taken from the snapshot).
    pub fn restore(
        #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "LogOptions")] options: JsValue,
    ) -> Result<Log, JsValue> {
        let bytes = to_byte_array(&bytes, "bytes")?;
        let config = to_config(&options)?;
        let log = CoreLog::restore(MemoryStorage::new(), config, &bytes).map_err(JsError::from)?;
        from_u64(log.next_offset(), "the snapshot's next offset")?;
        Ok(Self::wrap(log))
    }

    /// A promise that resolves (with the log's `nextOffset` at that moment)
    /// once a record with this offset has been appended; at once when it
    /// already was. Driven by the log's append hook, never by polling.
    /// Rejects with `FREED` if the log is freed first (also by the garbage
    /// collector: keep a reference to the log while you wait on it).
    #[wasm_bindgen(js_name = waitFor, unchecked_return_type = "Promise<number>")]
    pub fn wait_for(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number")] offset: JsValue,
    ) -> Result<Promise, JsValue> {
        let offset = to_u64(&offset, "offset")?;
        let state = self.shared.try_borrow().map_err(|_| JsError::freed())?;
        let state = state.as_ref().ok_or_else(JsError::freed)?;
        Ok(waiters::wait(state.id, offset, state.log.next_offset()))
    }

    /// How many `waitFor` promises are pending (for tests and debugging).
    #[wasm_bindgen(getter, js_name = pendingWaits)]
    pub fn pending_waits(&self) -> Result<f64, JsValue> {
        let state = self.shared.try_borrow().map_err(|_| JsError::freed())?;
        let state = state.as_ref().ok_or_else(JsError::freed)?;
        Ok(waiters::pending(state.id) as f64)
    }

    /// Releases the log's memory now (without it, the memory goes when the
    /// object is garbage-collected). Pending `waitFor` promises reject with
    /// `FREED`; any later call, on the log or its iterators, throws `FREED`.
    /// Calling `free()` twice is harmless.
    #[wasm_bindgen(js_name = free)]
    pub fn release(&self) {
        let state = self
            .shared
            .try_borrow_mut()
            .ok()
            .and_then(|mut state| state.take());
        drop(state);
    }
}
