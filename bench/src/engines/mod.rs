//! The engines under comparison, behind one trait.

mod baseline;
mod commitlog;
mod dislog;

pub use self::baseline::Baseline;
pub use self::commitlog::CommitLog;
pub use self::dislog::Dislog;

use std::path::Path;

use crate::BenchResult;

/// A log the workloads can drive. Offsets start at 0 and are consecutive.
pub trait Engine {
    /// The column heading.
    fn name(&self) -> &'static str;

    /// Opens (creating or recovering) the log in `dir`; a store file holds
    /// at most `segment_bytes`. Returns once the log can be read.
    fn open(&mut self, dir: &Path, segment_bytes: u64) -> BenchResult<()>;

    /// Appends one record.
    fn append(&mut self, payload: &[u8]) -> BenchResult<()>;

    /// Appends records in one call.
    fn append_batch(&mut self, batch: &[&[u8]]) -> BenchResult<()>;

    /// Hands buffered records to the operating system (no sync).
    fn flush(&mut self) -> BenchResult<()>;

    /// Makes every record durable.
    fn sync(&mut self) -> BenchResult<()>;

    /// Closes the log cleanly.
    fn close(&mut self) -> BenchResult<()>;

    /// Drops the log without a clean close (what a crashed process leaves,
    /// once the operating system has what was handed to it).
    fn abandon(&mut self);

    /// Reads every record in offset order, checksums verified where the
    /// engine has them; returns (records, payload bytes).
    fn scan(&mut self) -> BenchResult<(u64, u64)>;

    /// Reads the record at `offset`; returns its payload length.
    fn read(&mut self, offset: u64) -> BenchResult<usize>;

    /// Reads the records at `offsets` through the engine's multi-get, if it
    /// has one; returns their payload bytes. `None`: it has none.
    fn read_many(&mut self, offsets: &[u64]) -> BenchResult<Option<u64>> {
        let _ = offsets;
        Ok(None)
    }
}

/// The error of an engine used before `open`.
pub(crate) fn not_open() -> Box<dyn std::error::Error> {
    "engine used before open".into()
}
