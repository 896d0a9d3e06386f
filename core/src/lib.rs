//! `dislog-core`: a segmented, append-only commit log for `no_std` targets.
//!
//! A [`Log`] is a sequence of records, each with an offset (its id) and a
//! timestamp. It is split into segments; each segment is a store (the framed
//! records) and an index (fixed-width entries mapping offset to position).
//! Everything goes through the [`Storage`] trait: [`MemoryStorage`] here, a
//! file backend in the `dislog` crate.
//!
//! ```
//! use dislog_core::{Config, Log, MemoryStorage};
//!
//! let mut log = Log::open(MemoryStorage::new(), Config::default())?;
//! let first = log.append(b"hello")?;
//! log.append_batch(&[b"a", b"b"])?;
//! assert_eq!(&*log.read(first)?.payload, b"hello");
//! assert_eq!(log.records().count(), 3);
//! log.truncate_suffix(1)?;
//! assert_eq!(log.next_offset(), 1);
//! # Ok::<(), dislog_core::Error>(())
//! ```
#![no_std]
#![deny(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[allow(unsafe_code)] // The CRC-32C instruction (x86-64); see the module docs.
mod checksum;
mod config;
mod error;
mod format;
mod index;
mod iter;
mod log;
mod memory;
#[allow(unsafe_code)] // The prefetch instruction (x86-64); see the module docs.
mod prefetch;
mod record;
mod removal;
mod repair;
mod segment;
mod shared;
mod slot;
mod snapshot;
mod storage;
mod store;
mod sync;

pub use config::{default_clock, Clock, Config, SyncPolicy};
pub use error::{Error, ErrorCode, Result};
pub use format::{
    file_name, parse_file_name, FORMAT_VERSION, HEADER_LEN, INDEX_ENTRY_LEN, INDEX_MAGIC,
    OLDEST_FORMAT_VERSION, STORE_MAGIC,
};
pub use iter::Iter;
pub use log::{AppendHook, Log, Removed, SegmentInfo, READ_GROUP};
pub use memory::{MemoryFile, MemoryStorage};
pub use record::{frame_len, Record, FRAME_HEADER_LEN};
pub use removal::{Detached, Oldest};
pub use repair::Repair;
pub use shared::SharedLog;
pub use snapshot::{
    SnapshotReader, SNAPSHOT_END_MAGIC, SNAPSHOT_HEADER_LEN, SNAPSHOT_MAGIC, SNAPSHOT_TRAILER_LEN,
};
pub use storage::{
    pushed_bytes, FileHint, FileKind, FileSyncer, Storage, StorageError, StorageErrorKind,
    StorageFile,
};
pub use sync::SyncJob;
