//! The memory floor of W4: what two dependent loads from dislog's own
//! mapped files cost on this machine, measured on the log W4 just read.
//!
//! A random read by offset must load the index entry (to learn where the
//! frame is) and then the frame: two dependent loads from two files of
//! ~16 MB and ~124 MB, each a likely cache and TLB miss. This module does
//! exactly those two loads for the same offsets — an 8-byte load of the
//! entry's position, then an 8-byte load of the frame's offset field (checked,
//! so that neither load can be skipped) — with no lock, no bounds logic
//! beyond slicing and no checksum, three ways:
//!
//! * **one at a time**: each read's offset depends on the previous read's
//!   result (adding zero, which the CPU cannot know in advance), so the
//!   misses of one read cannot overlap the next read's. This is the latency
//!   of a read, and what a caller pays whose reads are serialised: no design
//!   that keeps an index and a store in mapped files answers one read faster.
//! * **overlapped**: independent reads, whose misses the CPU overlaps.
//! * **overlapped, whole frame**: the same, loading every byte of the frame
//!   (its header's length says how many) in 8-byte words, folded with XOR
//!   and checked against the fold of an untimed pass:
//!   what any checksum over the frame must load, without the checksum's
//!   arithmetic. On the development VM (AMD EPYC, Zen 3) the loads of a frame
//!   whose line is still on its way, not a lock's atomic instruction, are
//!   what stops the next read's misses from overlapping this one's: a C loop
//!   doing the two loads above overlaps them with or without a `lock xadd`
//!   around each read, and stops overlapping once it loads the whole frame.

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

    /// The store of `offset`'s segment and the position its index entry
    /// gives: the first of the two dependent loads.
    fn frame_at(&self, offset: u64) -> Option<(&[u8], usize)> {
        let at = self.0.partition_point(|s| s.0 <= offset).checked_sub(1)?;
        let (base, index, store) = &self.0[at];
        let entry = usize::try_from(24 + 16 * (offset - base)).ok()?;
        Some((store, usize::try_from(read_u64(index, entry)?).ok()?))
    }

    /// The offset field of the frame that the index entry of `offset`
    /// points to: two dependent loads.
    fn load(&self, offset: u64) -> Option<u64> {
        let (store, pos) = self.frame_at(offset)?;
        read_u64(store, pos + 8)
    }

    /// Every byte of the frame that the index entry of `offset` points
    /// to, folded: XOR of its 8-byte words and its tail's bytes; `None`
    /// when the frame does not hold `offset`.
    fn load_whole(&self, offset: u64) -> Option<u64> {
        let (store, pos) = self.frame_at(offset)?;
        let len = u32::from_le_bytes(store.get(pos + 4..pos + 8)?.try_into().ok()?);
        let frame = store.get(pos..pos + 24 + usize::try_from(len).ok()?)?;
        if read_u64(frame, 8)? != offset {
            return None;
        }
        let words = frame.chunks_exact(8);
        let tail = words.remainder().iter().fold(0, |f, &b| f ^ u64::from(b));
        Some(words.fold(tail, |f, w| {
            f ^ u64::from_le_bytes(w.try_into().unwrap_or_default())
        }))
    }
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

/// Time per read of each way of the module docs, over the closed dislog log
/// in `dir`.
#[derive(Clone, Copy, Debug)]
pub struct Floor {
    /// One read at a time.
    pub serial: Duration,
    /// Reads overlapped.
    pub overlapped: Duration,
    /// Reads overlapped, each loading its whole frame.
    pub whole: Duration,
}

/// The [`Floor`] of `offsets` over the closed dislog log in `dir`.
pub fn dependent_loads(dir: &Path, offsets: &[u64]) -> BenchResult<Floor> {
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
    // What each fold must come to, from an untimed pass first.
    let folds: Vec<Option<u64>> = offsets.iter().map(|&o| mapped.load_whole(o)).collect();
    let (bad_whole, whole) = timed(|| {
        let mut bad = u64::from(folds.contains(&None));
        for (&offset, &fold) in offsets.iter().zip(&folds) {
            bad += u64::from(mapped.load_whole(offset) != fold);
        }
        Ok(bad)
    })?;
    if bad + bad_overlapped + bad_whole > 0 {
        return Err("W4 floor: an index entry did not lead to its frame".into());
    }
    Ok(Floor {
        serial: per_read(serial),
        overlapped: per_read(overlapped),
        whole: per_read(whole),
    })
}
