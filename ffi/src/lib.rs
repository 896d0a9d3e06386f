//! `dislog`: an embeddable commit log on files.
//!
//! [`Log`] is a thread-safe log in a directory, built on the engine of
//! [`dislog_core`] and the file backend [`FileStorage`] (per segment a
//! store and a preallocated index, both appended through a buffer and read
//! through a memory map; one writer per directory through a lock file). The
//! C ABI of the same crate wraps it for every other language.
//!
//! ```
//! # fn main() -> dislog::Result<()> {
//! # let tmp = tempfile::tempdir().map_err(|e| dislog::Error::Storage(e.into()))?;
//! use dislog::{Config, Log, SyncPolicy};
//!
//! let log = Log::open(tmp.path(), Config { sync: SyncPolicy::EveryAppend, ..Config::default() })?;
//! let offset = log.append(b"event")?;
//! log.read_with(offset, |record| assert_eq!(&*record.payload, b"event"))?;
//! for record in log.reader().iter(offset)? {
//!     println!("{}: {} bytes", record?.offset, 5);
//! }
//! log.close()
//! # }
//! ```
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

#[cfg(not(unix))]
compile_error!("dislog's file backend needs a Unix system (Linux, macOS, a BSD)");

pub mod capi;
mod clock;
mod file;
mod log;

pub use clock::realtime_ms;
pub use dislog_core;
pub use dislog_core::{
    Config, Error, ErrorCode, Record, Removed, Repair, Result, SegmentInfo, StorageError,
    StorageErrorKind, SyncPolicy, FORMAT_VERSION, OLDEST_FORMAT_VERSION, READ_GROUP,
};
pub use file::{FileHandle, FileStorage};
pub use log::Log;

/// `Log` is shared between threads (`Arc<Log>`): checked at compile time.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Log>();
    send_sync::<FileStorage>();
};
