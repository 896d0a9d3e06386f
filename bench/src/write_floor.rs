//! The write floor of W1 and the batch appends: what the kernel alone
//! charges, on this machine, for the bytes one record costs through the page
//! cache.
//!
//! A 100-byte record costs dislog 140 bytes (a 24-byte frame header, the
//! payload and a 16-byte index entry) and the baseline 104 (a 4-byte length
//! and the payload). This module writes a filled 256 KiB buffer (dislog's
//! append buffer size) to a new file, again and again, until the file holds
//! those bytes for every record: no framing, no checksum, no index, only the
//! `write` calls and the page cache behind them. The baseline's own W1 time
//! beside the 140-byte figure says how far any log that writes 140 bytes a
//! record can get in the ratio: its user-space work would have to cost
//! nothing for the two to meet.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::measure::timed;
use crate::BenchResult;

/// Bytes through the page cache per 100-byte record: dislog's.
pub const DISLOG_BYTES: u64 = 24 + 100 + 16;
/// Bytes through the page cache per 100-byte record: the baseline's.
pub const BASELINE_BYTES: u64 = 4 + 100;

/// Size of one write.
const WRITE: usize = 256 << 10;

/// The time of writing every record's bytes, at each size.
#[derive(Clone, Copy, Debug)]
pub struct WriteFloor {
    /// At [`DISLOG_BYTES`] a record.
    pub dislog: Duration,
    /// At [`BASELINE_BYTES`] a record.
    pub baseline: Duration,
}

/// Writes `records` records' bytes, at each size, to a new file in `dir`,
/// removed afterwards; returns the time of each.
pub fn page_cache_writes(dir: &Path, records: u64) -> BenchResult<WriteFloor> {
    let write = |bytes: u64| -> BenchResult<Duration> {
        let path = dir.join(format!("write-floor-{bytes}"));
        let mut file = File::create(&path)?;
        let buffer = vec![0x5a_u8; WRITE];
        let total = records * bytes;
        let ((), t) = timed(|| {
            let mut written = 0;
            while written < total {
                let n = (total - written).min(WRITE as u64);
                // `n` is at most WRITE, a usize.
                file.write_all(&buffer[..n as usize])?;
                written += n;
            }
            Ok(())
        })?;
        let len = file.metadata()?.len();
        drop(file);
        fs::remove_file(&path)?;
        if len != total {
            return Err(format!("write floor: {len} bytes written of {total}").into());
        }
        Ok(t)
    };
    Ok(WriteFloor {
        dislog: write(DISLOG_BYTES)?,
        baseline: write(BASELINE_BYTES)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_byte_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let floor = page_cache_writes(dir.path(), 10_000).expect("write floor");
        assert!(floor.dislog > Duration::ZERO && floor.baseline > Duration::ZERO);
        assert_eq!(fs::read_dir(dir.path()).expect("listing").count(), 0);
    }
}
