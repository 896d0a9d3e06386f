//! A segment: one store and its index, holding the records from `base` on.
//!
//! Opening a segment is where crash recovery happens (`FORMAT.md`,
//! "Recovery"): a consistent segment is checked in O(log n); any other is
//! rebuilt from its store, cutting a torn tail.

use alloc::vec::Vec;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::format::{file_name, HEADER_LEN, INDEX_ENTRY_LEN};
use crate::index::{entry_pos, Entry, Index};
use crate::record::{frame_len, Record};
use crate::repair::Repair;
use crate::storage::{FileHint, FileKind, Storage, StorageErrorKind, StorageFile};
use crate::store::Store;

/// Largest buffer of index entries written at once during a rebuild.
const REBUILD_CHUNK: usize = 64 << 10;

/// One segment of the log.
#[derive(Debug)]
pub(crate) struct Segment<F> {
    pub base: u64,
    pub store: Store<F>,
    pub index: Index<F>,
    /// Records held.
    pub count: u64,
    /// Largest timestamp of the segment's records.
    pub max_ts: Option<u64>,
    /// Whether anything was written since the last sync.
    pub dirty: bool,
}

fn hints(config: &Config) -> (FileHint, FileHint) {
    (
        FileHint {
            kind: FileKind::Store,
            capacity: config.max_store_bytes,
        },
        FileHint {
            kind: FileKind::Index,
            capacity: config.max_index_bytes,
        },
    )
}

impl<F: StorageFile> Segment<F> {
    /// Creates an empty segment at `base`: store first, then index.
    pub fn create<S: Storage<File = F>>(storage: &S, config: &Config, base: u64) -> Result<Self> {
        let (store_hint, index_hint) = hints(config);
        let store = Store::init(
            storage.create(&file_name(base, FileKind::Store), store_hint)?,
            base,
        )?;
        let index = Index::init(
            storage.create(&file_name(base, FileKind::Index), index_hint)?,
            base,
        )?;
        Ok(Self {
            base,
            store,
            index,
            count: 0,
            max_ts: None,
            dirty: true,
        })
    }

    /// Opens the segment at `base`, recovering it; repairs are pushed onto
    /// `repairs`. In a sealed (not active) segment whose frames line up with
    /// its store, a last record that fails its checksum is kept, so that
    /// `read` reports it as corrupt; in the active segment it is a torn
    /// tail, and cut.
    pub fn open<S: Storage<File = F>>(
        storage: &S,
        config: &Config,
        base: u64,
        sealed: bool,
        repairs: &mut Vec<Repair>,
    ) -> Result<Self> {
        let (store_hint, index_hint) = hints(config);
        let store_name = file_name(base, FileKind::Store);
        let store = Store::open(storage.open(&store_name, store_hint)?, &store_name, base)?;
        let index_name = file_name(base, FileKind::Index);
        let index = match storage.open(&index_name, index_hint) {
            Ok(file) => Index::open(file, &index_name, base)?,
            Err(e) if e.kind() == StorageErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        if let Some(mut index) = index {
            let written = index.written_entries()?;
            if consistent(&store, &index, base, written, sealed)? {
                if index.raw_entries() != written || index.file.len() != entry_pos(written) {
                    index.truncate(written)?;
                }
                let max_ts = match written {
                    0 => None,
                    n => Some(index.entry(n - 1)?.max_ts),
                };
                return Ok(Self {
                    base,
                    store,
                    index,
                    count: written,
                    max_ts,
                    dirty: false,
                });
            }
        }
        let index = Index::init(storage.create(&index_name, index_hint)?, base)?;
        Self::rebuild(store, index, base, repairs)
    }

    /// Scans the store, keeping the longest run of valid frames, and writes
    /// the index for them.
    fn rebuild(
        mut store: Store<F>,
        mut index: Index<F>,
        base: u64,
        repairs: &mut Vec<Repair>,
    ) -> Result<Self> {
        let end = store.len();
        let mut pos = HEADER_LEN;
        let mut count = 0u64;
        let mut max_ts: Option<u64> = None;
        let mut entries = Vec::new();
        while pos < end {
            // A record at offset u64::MAX would leave no next offset.
            let Some(offset) = base.checked_add(count).filter(|&o| o != u64::MAX) else {
                break;
            };
            let Ok(record) = store.frame(pos, offset) else {
                break;
            };
            let ts = max_ts.map_or(record.timestamp, |m| m.max(record.timestamp));
            max_ts = Some(ts);
            entries.extend_from_slice(&Entry { pos, max_ts: ts }.encode());
            pos += frame_len(record.payload.len());
            count += 1;
            if entries.len() >= REBUILD_CHUNK {
                index.file.append(&entries)?;
                entries.clear();
            }
        }
        index.file.append(&entries)?;
        if pos < end {
            store.file.truncate(pos)?;
            repairs.push(Repair::TailCut {
                segment: base,
                bytes: end - pos,
                records_kept: count,
            });
        }
        repairs.push(Repair::IndexRebuilt {
            segment: base,
            records: count,
        });
        Ok(Self {
            base,
            store,
            index,
            count,
            max_ts,
            dirty: true,
        })
    }

    /// The offset after the segment's last record.
    pub fn next_offset(&self) -> u64 {
        self.base + self.count
    }

    /// Whether a frame of `len` bytes and its entry fit under the limits.
    pub fn fits(&self, config: &Config, store_len: u64, count: u64, len: u64) -> bool {
        store_len.saturating_add(len) <= config.max_store_bytes
            && entry_pos(count + 1) <= config.max_index_bytes
    }

    /// Store and index bytes.
    pub fn bytes(&self) -> u64 {
        self.store.len() + self.index.file.len()
    }

    /// Reads the record at `offset`, which the caller checked lies in this
    /// segment.
    pub fn read(&self, offset: u64) -> Result<Record<'_>> {
        let entry = self.entry(offset - self.base)?;
        self.store.read(entry.pos, offset)
    }

    /// Index entry `i`, with a failed read reported as corruption.
    pub fn entry(&self, i: u64) -> Result<Entry> {
        self.index.entry(i).map_err(|e| Error::Corrupt {
            segment: self.base,
            offset: Some(self.base + i),
            reason: alloc::format!("index entry unreadable: {e}"),
        })
    }

    /// Appends encoded frames and their index entries (`records` of them).
    pub fn append(
        &mut self,
        frames: &[u8],
        entries: &[u8],
        records: u64,
        max_ts: u64,
    ) -> Result<()> {
        debug_assert_eq!(entries.len() as u64, records * INDEX_ENTRY_LEN);
        self.dirty = true;
        self.store.file.append(frames)?;
        self.index.file.append(entries)?;
        self.count += records;
        self.max_ts = Some(max_ts);
        Ok(())
    }

    /// Keeps only the first `keep` records.
    pub fn truncate(&mut self, keep: u64) -> Result<()> {
        if keep >= self.count {
            return Ok(());
        }
        let pos = self.entry(keep)?.pos;
        let max_ts = match keep {
            0 => None,
            k => Some(self.entry(k - 1)?.max_ts),
        };
        self.dirty = true;
        self.store.file.truncate(pos)?;
        self.index.truncate(keep)?;
        self.count = keep;
        self.max_ts = max_ts;
        Ok(())
    }

    /// The first offset whose record time is at least `ts`, if the segment
    /// holds one. Binary search over the running maxima of the index.
    pub fn offset_for_timestamp(&self, ts: u64) -> Result<Option<u64>> {
        if self.max_ts.is_none_or(|m| m < ts) {
            return Ok(None);
        }
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.entry(mid)?.max_ts < ts {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(Some(self.base + lo))
    }

    /// Flushes both files.
    pub fn flush(&mut self) -> Result<()> {
        self.store.file.flush()?;
        self.index.file.flush()?;
        Ok(())
    }

    /// Syncs both files if anything was written since the last sync.
    pub fn sync(&mut self) -> Result<()> {
        if self.dirty {
            self.store.file.sync()?;
            self.index.file.sync()?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Closes both files cleanly.
    pub fn close(self) -> Result<()> {
        let store = self.store.file.close();
        let index = self.index.file.close();
        store?;
        Ok(index?)
    }
}

/// Removes a segment's files: the store first, so that a crash in between
/// leaves at most an index without a store, which open ignores.
pub(crate) fn remove_files<S: Storage>(storage: &S, base: u64) -> Result<()> {
    storage.remove(&file_name(base, FileKind::Store))?;
    storage.remove(&file_name(base, FileKind::Index))?;
    Ok(())
}

/// Whether the first `written` index entries describe the whole store: the
/// last entry's frame holds the right offset, ends exactly at the end of the
/// store and (unless `sealed`) passes its checksum.
fn consistent<F: StorageFile>(
    store: &Store<F>,
    index: &Index<F>,
    base: u64,
    written: u64,
    sealed: bool,
) -> Result<bool> {
    if written == 0 {
        return Ok(store.len() == HEADER_LEN);
    }
    // An index claiming more records than the offset space holds is torn.
    let Some(next) = base.checked_add(written) else {
        return Ok(false);
    };
    let last = index.entry(written - 1)?;
    let offset = next - 1;
    let end = if sealed {
        store
            .frame_end(last.pos, offset)
            .map(|(h, _)| h.frame_len())
    } else {
        store
            .frame(last.pos, offset)
            .map(|r| frame_len(r.payload.len()))
    };
    Ok(end.is_ok_and(|len| last.pos + len == store.len()))
}
