//! The memory floor of W4: what two dependent loads from dislog's own
//! mapped files cost on this machine, measured on the log W4 just read.
//!
//! A random read by offset must load the index entry (to learn where the
//! frame is) and then the frame: two dependent loads from two files of
//! ~16 MB and ~124 MB, each a likely cache and TLB miss. This module does
//! exactly those two loads for the same offsets — an 8-byte load of the
//! entry's position, then an 8-byte load of the frame's offset field (checked,
//! so that neither load can be skipped) — with no lock, no bounds logic
//! beyond slicing and no checksum, two ways:
//!
//! * **one at a time**: each read's offset depends on the previous read's
//!   result (adding zero, which the CPU cannot know in advance), so the
//!   misses of one read cannot overlap the next read's. This is the latency
//!   of a read, and what a caller pays whose reads are serialised — by a
//!   lock's atomic instruction (a full barrier on x86), say: no design that
//!   keeps an index and a store in mapped files answers one read faster.
//! * **overlapped**: independent reads, whose misses the CPU overlaps.

use std::fs::File;
use std::path::Path;
use std::time::Duration;

use memmap2::Mmap;

use crate::measure::timed;
use crate::BenchResult;

/// A closed dislog log's segments, mapped read-only: (base, index, store).
struct Mapped(Vec<(u64, Mmap, Mmap)>);

fn map(path: &Path) -> BenchResult<Mmap> {
    let file = File::open(path)?;
    // SAFETY: the log is closed and nothing else writes its files while the
    // maps live (the harness runs one engine at a time).
    Ok(unsafe { Mmap::map(&file)? })
}

impl Mapped {
    fn open(dir: &Path) -> BenchResult<Self> {
        let mut segments = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "index") {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                let base: u64 = stem.parse()?;
                segments.push((base, map(&path)?, map(&path.with_extension("store"))?));
            }
        }
        segments.sort_by_key(|s| s.0);
        Ok(Self(segments))
    }

    /// The offset field of the frame that the index entry of `offset`
    /// points to: two dependent loads.
    fn load(&self, offset: u64) -> Option<u64> {
        let at = self.0.partition_point(|s| s.0 <= offset).checked_sub(1)?;
        let (base, index, store) = &self.0[at];
        let entry = usize::try_from(24 + 16 * (offset - base)).ok()?;
        let pos = usize::try_from(read_u64(index, entry)?).ok()?;
        read_u64(store, pos + 8)
    }
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Time per read of the two dependent loads for each of `offsets`, over the
/// closed dislog log in `dir`: (one at a time, overlapped).
pub fn dependent_loads(dir: &Path, offsets: &[u64]) -> BenchResult<(Duration, Duration)> {
    let mapped = Mapped::open(dir)?;
    let per_read = |t: Duration| t / offsets.len().max(1) as u32;
    let (bad, serial) = timed(|| {
        // `carry` is always 0, but only known once the last read is done.
        let mut carry = 0u64;
        let mut bad = 0u64;
        for &offset in offsets {
            let want = offset + carry;
            let wrong = mapped.load(want) != Some(want);
            bad += u64::from(wrong);
            carry = u64::from(wrong) << 40;
        }
        Ok(bad)
    })?;
    let (bad_overlapped, overlapped) = timed(|| {
        let mut bad = 0u64;
        for &offset in offsets {
            bad += u64::from(mapped.load(offset) != Some(offset));
        }
        Ok(bad)
    })?;
    if bad + bad_overlapped > 0 {
        return Err("W4 floor: an index entry did not lead to its frame".into());
    }
    Ok((per_read(serial), per_read(overlapped)))
}
