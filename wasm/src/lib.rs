//! `dislog-wasm`: dislog for JavaScript, as the npm package `dislog`.
//!
//! wasm-bindgen bindings over `dislog-core`'s in-memory backend: a JS class
//! `Log` (append, read, iterate, truncate, retain, snapshot and restore,
//! `waitFor`), built for the browser (`--target web`) and Node
//! (`--target nodejs`) by `scripts/steps/40-wasm.sh`.
//!
//! Boundary rules: bytes are `Uint8Array` both ways (strings are accepted
//! as UTF-8); offsets and timestamps are safe-integer `number`s; every
//! failure throws a JS `Error` (`TypeError`, `RangeError`) with a stable
//! `code`, never a wasm trap: nothing here panics on any input, and the
//! copies this crate makes into wasm memory are reserved fallibly
//! (`OUT_OF_MEMORY`), as are core's snapshot chunks and its in-memory
//! files: an append that runs out of memory changes nothing and leaves the
//! log writable. Only small bookkeeping allocations are infallible (see the
//! package README).

mod convert;
mod error;
mod iter;
mod log;
mod waiters;

pub use error::{JsError, Kind};
pub use iter::RecordIterator;
pub use log::Log;

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/**
 * Offsets and timestamps are `number`s: non-negative integers no larger
 * than `Number.MAX_SAFE_INTEGER` (2^53 - 1). The engine's offsets are u64;
 * a log refuses to grow past 2^53 - 1 (`UNSAFE_INTEGER`) so every offset it
 * returns is exact.
 */
export type Offset = number;

/** Options of `new Log(options)` and `Log.restore(bytes, options)`. */
export interface LogOptions {
  /** Largest size of one segment's store, header included (default 64 MiB). */
  maxStoreBytes?: number;
  /** Largest size of one segment's index, 16 bytes per record (default 16 MiB). */
  maxIndexBytes?: number;
  /** Offset of the first record of a new log (default 0). */
  initialOffset?: Offset;
  /** Largest payload accepted, in bytes (default 8 MiB). */
  maxRecordBytes?: number;
}

/** One record. */
export interface LogRecord {
  /** The record's offset (its id). */
  offset: Offset;
  /** Milliseconds since the Unix epoch (`Date.now()` at append), or the caller's. */
  timestamp: number;
  /** The payload (a copy). */
  data: Uint8Array;
}

/** What a truncation or retention pass removed. */
export interface Removed {
  /** Whole segments removed. */
  segments: number;
  /** Records they held. */
  records: number;
  /** Bytes they held. */
  bytes: number;
}

/**
 * The `code` of every error thrown: core's codes, and the binding's own
 * `INVALID_TYPE` (TypeError; also a method called on an object that is not
 * a live `Log` or `RecordIterator`), `UNSAFE_INTEGER` (RangeError), `FREED`
 * and `OUT_OF_MEMORY` (RangeError: the wasm memory could not hold what the
 * call needed, such as the copy of a batch, of restored bytes or of a
 * snapshot; the call changed nothing).
 */
export type DislogErrorCode =
  | "INVALID_TYPE" | "UNSAFE_INTEGER" | "FREED" | "OUT_OF_MEMORY"
  | "IO" | "LOCKED" | "INVALID_CONFIG" | "INVALID_ARGUMENT" | "OUT_OF_RANGE"
  | "RECORD_TOO_LARGE" | "CORRUPT" | "FORMAT" | "INVALID_SNAPSHOT" | "POISONED";

/** The shape of every error thrown (an `Error`, `TypeError` or `RangeError`). */
export interface DislogError extends Error {
  code: DislogErrorCode;
}

export interface RecordIterator extends IterableIterator<LogRecord> {}
"#;
