//! A segment's index: a header, then one fixed-width entry per record.
//!
//! Entry `i` (for offset `base + i`) sits at `HEADER_LEN + 16 * i` and holds
//! the record's position in the store and the largest timestamp of entries
//! `0..=i` of this segment, both `u64` little-endian.

use crate::error::Result;
use crate::format::{
    check_header, encode_header, read_u64, HeaderState, HEADER_LEN, INDEX_ENTRY_LEN,
};
use crate::prefetch::prefetch_span;
use crate::storage::{FileKind, StorageFile};

/// One index entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Position of the record's frame in the store.
    pub pos: u64,
    /// Largest timestamp of this and the earlier entries of the segment.
    pub max_ts: u64,
}

impl Entry {
    /// The entry whose bytes are `raw` (at least [`INDEX_ENTRY_LEN`] of them).
    #[inline]
    pub fn decode(raw: &[u8]) -> Self {
        Entry {
            pos: read_u64(raw, 0),
            max_ts: read_u64(raw, 8),
        }
    }

    #[inline]
    pub fn encode(&self) -> [u8; INDEX_ENTRY_LEN as usize] {
        let mut out = [0; INDEX_ENTRY_LEN as usize];
        out[..8].copy_from_slice(&self.pos.to_le_bytes());
        out[8..].copy_from_slice(&self.max_ts.to_le_bytes());
        out
    }
}

/// The offset index of one segment.
#[derive(Debug)]
pub(crate) struct Index<F> {
    pub file: F,
}

/// Where entry `i` starts.
pub(crate) fn entry_pos(i: u64) -> u64 {
    HEADER_LEN + i * INDEX_ENTRY_LEN
}

impl<F: StorageFile> Index<F> {
    /// Wraps a newly created (empty) file and writes its header.
    pub fn init(mut file: F, base: u64) -> Result<Self> {
        file.append(&encode_header(FileKind::Index, base))?;
        Ok(Self { file })
    }

    /// Wraps an existing file. Returns `None` when its header is not a
    /// valid index header for `base`: the index is derived data, so the
    /// caller rebuilds it from the store.
    pub fn open(file: F, name: &str, base: u64) -> Result<Option<Self>> {
        let mut header = [0; HEADER_LEN as usize];
        let have = file.len().min(HEADER_LEN) as usize;
        file.read_into(0, &mut header[..have])?;
        Ok(
            match check_header(name, FileKind::Index, base, &header[..have]) {
                Ok(HeaderState::Valid { .. }) => Some(Self { file }),
                _ => None,
            },
        )
    }

    /// Complete entries in the file, zero-filled preallocation included.
    pub fn raw_entries(&self) -> u64 {
        self.file.len().saturating_sub(HEADER_LEN) / INDEX_ENTRY_LEN
    }

    /// Reads entry `i`; the caller checks `i` against the segment's count.
    pub fn entry(&self, i: u64) -> Result<Entry> {
        let mut raw = [0; INDEX_ENTRY_LEN as usize];
        self.file.read_into(entry_pos(i), &mut raw)?;
        Ok(Entry::decode(&raw))
    }

    /// Entry `i` decoded straight out of the file's resident bytes
    /// ([`StorageFile::resident`]); `None` when the file does not lend them
    /// or does not hold the entry.
    #[inline]
    pub fn resident_entry(&self, i: u64) -> Option<Entry> {
        let at = usize::try_from(entry_pos(i)).ok()?;
        let raw = self
            .file
            .resident()?
            .get(at..at + INDEX_ENTRY_LEN as usize)?;
        Some(Entry::decode(raw))
    }

    /// Starts loading entry `i` into the cache ([`prefetch_span`]), where
    /// the file lends its bytes.
    #[inline]
    pub fn prefetch_entry(&self, i: u64) {
        if let (Some(bytes), Ok(at)) = (self.file.resident(), usize::try_from(entry_pos(i))) {
            prefetch_span(bytes, at, INDEX_ENTRY_LEN as usize);
        }
    }

    /// The number of leading entries with a non-zero position, assuming the
    /// file is written entries followed by zero fill (positions are at least
    /// `HEADER_LEN`, so a zero position is never a record), and the last of
    /// them (`None` when there are none). Binary search.
    pub fn written_entries(&self) -> Result<(u64, Option<Entry>)> {
        let raw = self.raw_entries();
        // A cleanly closed index has no zero tail: one probe instead of a
        // binary search.
        if raw > 0 {
            let last = self.entry(raw - 1)?;
            if last.pos != 0 {
                return Ok((raw, Some(last)));
            }
        }
        let (mut lo, mut hi) = (0, raw);
        let mut last = None;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let entry = self.entry(mid)?;
            if entry.pos != 0 {
                lo = mid + 1;
                last = Some(entry);
            } else {
                hi = mid;
            }
        }
        // `lo` last moved past a written probe, entry `lo - 1`: `last`.
        Ok((lo, last))
    }

    /// Cuts the file to `count` entries.
    pub fn truncate(&mut self, count: u64) -> Result<()> {
        Ok(self.file.truncate(entry_pos(count))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStorage;
    use crate::storage::{FileHint, Storage};

    const HINT: FileHint = FileHint {
        kind: FileKind::Index,
        capacity: 1 << 10,
    };

    #[test]
    fn entries_round_trip_and_zero_fill_is_not_counted() {
        let storage = MemoryStorage::new();
        let mut index = Index::init(storage.create("i", HINT).unwrap(), 0).unwrap();
        for i in 0..5 {
            let e = Entry {
                pos: HEADER_LEN + 30 * i,
                max_ts: i,
            };
            index.file.append(&e.encode()).unwrap();
        }
        index.file.append(&[0; 16 * 7 + 3]).unwrap();
        assert_eq!(index.raw_entries(), 12);
        assert_eq!(index.written_entries().unwrap().0, 5);
        assert_eq!(
            index.entry(3).unwrap(),
            Entry {
                pos: HEADER_LEN + 90,
                max_ts: 3
            }
        );
        index.truncate(2).unwrap();
        assert_eq!(index.written_entries().unwrap().0, 2);
        assert!(index.entry(2).is_err());
    }

    #[test]
    fn bad_header_asks_for_a_rebuild() {
        let storage = MemoryStorage::new();
        storage.set_file_bytes("i", alloc::vec![0xff; 40]).unwrap();
        assert!(Index::open(storage.open("i", HINT).unwrap(), "i", 0)
            .unwrap()
            .is_none());
        storage
            .set_file_bytes("i", encode_header(FileKind::Index, 5).to_vec())
            .unwrap();
        assert!(Index::open(storage.open("i", HINT).unwrap(), "i", 4)
            .unwrap()
            .is_none());
        assert!(Index::open(storage.open("i", HINT).unwrap(), "i", 5)
            .unwrap()
            .is_some());
    }
}
