//! A segment: one store and its index, holding the records from `base` on.
//!
//! Opening a segment is where crash recovery happens (`FORMAT.md`,
//! "Recovery"): a consistent segment is checked in O(log n); any other is
//! rebuilt from its store, cutting a torn tail.

use alloc::format;
use alloc::vec::Vec;

use crate::checksum::Checksum;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::format::{
    check_header, file_name, torn_header, HeaderState, HEADER_LEN, INDEX_ENTRY_LEN,
};
use crate::index::{entry_pos, Entry, Index};
use crate::iter::WINDOW;
use crate::record::{frame_len, parse_frame, Record};
use crate::repair::Repair;
use crate::storage::{FileHint, FileKind, Storage, StorageErrorKind, StorageFile};
use crate::store::{header_of, Store};

/// Largest buffer of index entries written at once during a rebuild.
const REBUILD_CHUNK: usize = 64 << 10;

/// When [`Segment::create`] makes the new store's header durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderSync {
    /// Before it returns ([`StorageFile::sync`]).
    Now,
    /// Before any record of the store reaches the medium, and so before
    /// the store is sealed and the next segment exists
    /// ([`StorageFile::sync_barrier`]): a roll, where the appending thread
    /// then waits for no sync.
    BeforeRecords,
}

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
    /// Whether the store's header is known to be on the media: synced at
    /// creation or by recovery's rewrite, or found after a clean close.
    /// After an unclean shutdown a header may be there only in the page
    /// cache (a sync that failed before the crash); the roll that seals such
    /// a segment syncs its store first (see `Log::roll`).
    pub header_synced: bool,
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
    /// Creates an empty segment at `base`: store first, its header synced
    /// (`header`), then index.
    ///
    /// The store's header is synced because a crash may leave unsynced
    /// bytes as garbage, and a garbage header cannot be told from a foreign
    /// file (`FORMAT.md`, "Recovery on open"): without the sync a crash
    /// after a roll could leave a log that does not open.
    pub fn create<S: Storage<File = F>>(
        storage: &S,
        config: &Config,
        base: u64,
        header: HeaderSync,
    ) -> Result<Self> {
        let (store_hint, index_hint) = hints(config);
        let mut store = Store::init(
            storage.create(&file_name(base, FileKind::Store), store_hint)?,
            base,
        )?;
        match header {
            HeaderSync::Now => store.file.sync()?,
            HeaderSync::BeforeRecords => store.file.sync_barrier()?,
        }
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
            header_synced: true,
        })
    }

    /// Opens the segment at `base`, recovering it; repairs are pushed onto
    /// `repairs`. In a sealed (not active) segment whose frames line up with
    /// its store, a last record that fails its checksum is kept, so that
    /// `read` reports it as corrupt; in the active segment it is a torn
    /// tail, and cut. `creating`: a cut marker names the segment (see
    /// [`open_store`]).
    pub fn open<S: Storage<File = F>>(
        storage: &S,
        config: &Config,
        base: u64,
        sealed: bool,
        creating: bool,
        repairs: &mut Vec<Repair>,
    ) -> Result<Self> {
        let store = open_store(storage, config, base, sealed, creating)?;
        let index_hint = hints(config).1;
        let index_name = file_name(base, FileKind::Index);
        let index = match storage.open(&index_name, index_hint) {
            Ok(file) => Index::open(file, &index_name, base)?,
            Err(e) if e.kind() == StorageErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        if let Some(mut index) = index {
            let (written, last) = index.written_entries()?;
            if !consistent(&store, base, written, last, sealed)? {
                let kept = match storage.unsynced_writes_kept() {
                    true => trusted_prefix(&store, &index, base, written)?,
                    false => None,
                };
                return Self::rebuild(store, index, base, kept.unwrap_or(Scan::FIRST), repairs);
            }
            if index.raw_entries() != written || index.file.len() != entry_pos(written) {
                index.truncate(written)?;
            }
            let max_ts = last.map(|e| e.max_ts);
            return Ok(Self {
                base,
                store,
                index,
                count: written,
                max_ts,
                dirty: false,
                header_synced: false,
            });
        }
        let index = Index::init(storage.create(&index_name, index_hint)?, base)?;
        Self::rebuild(store, index, base, Scan::FIRST, repairs)
    }

    /// Opens the sealed segment at `base`, which held `count` records when
    /// the log was closed cleanly ([`crate::slot::Slot::deferred`]), with
    /// the checks of [`Segment::open`] and no repair: a header that is not
    /// the segment's is a `FORMAT` error as there; an index that does not
    /// describe exactly `count` records ending where the store ends is
    /// `CORRUPT`. Nothing is written.
    pub fn open_intact<S: Storage<File = F>>(
        storage: &S,
        config: &Config,
        base: u64,
        count: u64,
    ) -> Result<Self> {
        let store = open_store(storage, config, base, true, false)?;
        let index_name = file_name(base, FileKind::Index);
        let damaged = |what: &str| Error::Corrupt {
            segment: base,
            offset: None,
            reason: format!(
                "{what}, found when the segment was first used after a clean close: \
                 the next open of the log checks and repairs it"
            ),
        };
        let index = Index::open(
            storage.open(&index_name, hints(config).1)?,
            &index_name,
            base,
        )?
        .ok_or_else(|| damaged("the index header is not this segment's"))?;
        let (written, last) = index.written_entries()?;
        if written != count
            || index.file.len() != entry_pos(written)
            || !consistent(&store, base, written, last, true)?
        {
            return Err(damaged(&format!(
                "the index holds {written} entries ({} bytes) for {count} records, or its last \
                 entry does not end the store",
                index.file.len()
            )));
        }
        Ok(Self {
            base,
            store,
            index,
            count,
            max_ts: last.map(|e| e.max_ts),
            dirty: false,
            header_synced: true,
        })
    }

    /// Whether an index entry differs from the one the store's frames give
    /// (a damaged middle entry, which reads and iteration go around and
    /// `verify` reports) while every record checks and the frames fill the
    /// store exactly: an index that [`Segment::rebuild_index`] rewrites
    /// without cutting anything. Reads every frame.
    pub fn index_contradicts_intact_store(&self) -> Result<bool> {
        let mut pos = HEADER_LEN;
        let mut max_ts: Option<u64> = None;
        let mut contradicts = false;
        for i in 0..self.count {
            let Ok(record) = self.store.frame(pos, self.base + i) else {
                return Ok(false);
            };
            let ts = max_ts.map_or(record.timestamp, |m| m.max(record.timestamp));
            max_ts = Some(ts);
            contradicts |= self.index.entry(i).ok() != Some(Entry { pos, max_ts: ts });
            pos += frame_len(record.payload.len());
        }
        Ok(contradicts && pos == self.store.len())
    }

    /// Rewrites the index from the store ([`Segment::rebuild`] over the
    /// whole store), pushing what it repaired onto `repairs`.
    pub fn rebuild_index(self, repairs: &mut Vec<Repair>) -> Result<Self> {
        Self::rebuild(self.store, self.index, self.base, Scan::FIRST, repairs)
    }

    /// Scans the store from `from`, keeping the longest run of valid frames,
    /// and writes the index for them; the entries before `from.count` are
    /// kept as they are. The leading entries `index` already holds as they
    /// should be are kept, not rewritten: a crash before the repaired index
    /// is synced can then only tear entries that were wrong or missing, never
    /// the synced entries of synced records.
    fn rebuild(
        mut store: Store<F>,
        mut index: Index<F>,
        base: u64,
        from: Scan,
        repairs: &mut Vec<Repair>,
    ) -> Result<Self> {
        let end = store.len();
        let Scan {
            mut pos,
            mut count,
            mut max_ts,
        } = from;
        let mut entries = Vec::new();
        // While every entry so far matched the one the index holds.
        let mut matching = true;
        let old_entries = index.raw_entries();
        let (mut frames, mut entries_held) = (ReadWindow::default(), ReadWindow::default());
        while pos < end {
            // A record at offset u64::MAX would leave no next offset.
            let Some(offset) = base.checked_add(count).filter(|&o| o != u64::MAX) else {
                break;
            };
            let first = count == from.count;
            let Some((timestamp, payload_len)) =
                scanned_frame(&store, &mut frames, first, pos, offset)
            else {
                break;
            };
            let ts = max_ts.map_or(timestamp, |m| m.max(timestamp));
            max_ts = Some(ts);
            let entry = Entry { pos, max_ts: ts };
            if matching
                && (count >= old_entries
                    || held_entry(&index, &mut entries_held, count) != Some(entry))
            {
                matching = false;
                index.truncate(count)?;
            }
            if !matching {
                entries.extend_from_slice(&entry.encode());
            }
            pos += frame_len(payload_len);
            count += 1;
            if entries.len() >= REBUILD_CHUNK {
                index.file.append(&entries)?;
                entries.clear();
            }
        }
        if matching && index.file.len() != entry_pos(count) {
            index.truncate(count)?;
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
            header_synced: false,
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
    ///
    /// The index entry is trusted only as far as the frame it points to
    /// checks: when it does not, the frame is looked for by walking the
    /// store ([`Segment::walk_to`]), as iteration finds it. A crash can tear
    /// an unsynced index entry that the fast check on open does not look at
    /// (`FORMAT.md`, "Recovery on open"); `read` and iteration then still
    /// agree, and a record whose frame is bad reads as `CORRUPT` either way.
    pub fn read(&self, offset: u64) -> Result<Record<'_>> {
        if let Some(record) = self.read_resident(offset) {
            return Ok(record);
        }
        let entry = self.entry(offset - self.base)?;
        match self.store.read(entry.pos, offset) {
            Ok(record) => Ok(record),
            Err(e) => match self.walk_to(offset - self.base) {
                Some((pos, _)) if pos != entry.pos => self.store.read(pos, offset),
                _ => Err(e),
            },
        }
    }

    /// The record at `offset` (in this segment) parsed straight out of the
    /// index's and the store's resident bytes ([`StorageFile::resident`]),
    /// with no copy and no error path: `None` when either file does not
    /// hold it, or when anything about it is off, and the full read above
    /// says what.
    #[inline]
    fn read_resident(&self, offset: u64) -> Option<Record<'_>> {
        let pos = self.index.resident_entry(offset - self.base)?.pos;
        self.store.resident_frame(pos, offset)
    }

    /// Where the frame of record `i` starts: its index entry's position when
    /// the frame header there holds the record's offset (and fits in the
    /// store), else where the walk of the store finds it, else (the frames
    /// before it do not line up) the entry's position all the same, whose
    /// read reports the corruption.
    pub fn position(&self, i: u64) -> Result<u64> {
        let entry = self.entry(i)?;
        if self.store.frame_end(entry.pos, self.base + i).is_ok() {
            return Ok(entry.pos);
        }
        Ok(self.walk_to(i).map_or(entry.pos, |(pos, _)| pos))
    }

    /// Walks the store's frame headers (no checksums) from its first frame
    /// to record `i`: its position and the largest timestamp of the records
    /// before it, or `None` when a frame before it does not line up (or it
    /// is not there). O(records before `i`): only used when an index entry
    /// does not check.
    fn walk_to(&self, i: u64) -> Option<(u64, Option<u64>)> {
        if i >= self.count {
            return None;
        }
        let mut pos = HEADER_LEN;
        let mut max_ts: Option<u64> = None;
        for j in 0..i {
            let (header, _) = self.store.frame_end(pos, self.base + j).ok()?;
            max_ts = Some(max_ts.map_or(header.timestamp, |m| m.max(header.timestamp)));
            pos += header.frame_len();
        }
        self.store.frame_end(pos, self.base + i).ok()?;
        Some((pos, max_ts))
    }

    /// Index entry `i`, with a failed read reported as corruption.
    pub fn entry(&self, i: u64) -> Result<Entry> {
        self.index.entry(i).map_err(|e| Error::Corrupt {
            segment: self.base,
            offset: Some(self.base + i),
            reason: alloc::format!("index entry unreadable: {e}"),
        })
    }

    /// Appends `records` records: their frames (`frames_len` bytes, pushed
    /// by `frames`) and their index entries (pushed by `entries`), each
    /// straight into its file's append buffer where it has one.
    #[inline(always)]
    pub fn append<W: FnOnce(&mut Vec<u8>), E: FnOnce(&mut Vec<u8>)>(
        &mut self,
        frames_len: usize,
        frames: W,
        entries: E,
        records: u64,
        max_ts: u64,
    ) -> Result<()> {
        self.dirty = true;
        let store_len = self.store.len();
        self.store.file.append_with(frames_len, frames)?;
        // The log checks every record against the index's limit first.
        let entries_len = (records * INDEX_ENTRY_LEN) as usize;
        let indexed = self.index.file.append_with(entries_len, |out| {
            let start = out.len();
            entries(out);
            debug_assert_eq!(out.len() - start, entries_len);
        });
        if let Err(e) = indexed {
            if e.is_out_of_memory() {
                // The index is as it was: so is the store, once the frames
                // are cut off again (or that cut's error poisons the log).
                self.store.file.truncate(store_len)?;
            }
            return Err(e.into());
        }
        self.count += records;
        self.max_ts = Some(max_ts);
        Ok(())
    }

    /// Keeps only the first `keep` records.
    pub fn truncate(&mut self, keep: u64) -> Result<()> {
        if keep >= self.count {
            return Ok(());
        }
        // Where record `keep` starts, checked as `read` checks it: a torn
        // entry must never cut the store elsewhere.
        let entry = self.entry(keep)?;
        let (pos, max_ts) = if self.store.frame_end(entry.pos, self.base + keep).is_ok() {
            let max_ts = match keep {
                0 => None,
                k => Some(self.running_max(k - 1)?),
            };
            (entry.pos, max_ts)
        } else {
            self.walk_to(keep)
                .ok_or_else(|| self.misaligned(keep, entry.pos))?
        };
        self.dirty = true;
        self.store.file.truncate(pos)?;
        self.index.truncate(keep)?;
        self.count = keep;
        self.max_ts = max_ts;
        Ok(())
    }

    /// The first offset whose record time is at least `ts`, if the segment
    /// holds one. Binary search over the running maxima of the index, each
    /// one checked against its frame ([`Segment::running_max`]).
    pub fn offset_for_timestamp(&self, ts: u64) -> Result<Option<u64>> {
        if self.max_ts.is_none_or(|m| m < ts) {
            return Ok(None);
        }
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.running_max(mid)? < ts {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(Some(self.base + lo))
    }

    /// The largest timestamp of records `0..=i`: index entry `i`'s running
    /// maximum when the entry checks (its frame header lies in the store and
    /// holds the record's offset, and the maximum is the record's own
    /// timestamp or, above it, the previous entry's maximum), else what
    /// walking the store's frame headers finds, as `read` does for a torn
    /// entry: a torn middle entry (see `FORMAT.md`) never sends the search
    /// to the wrong record.
    fn running_max(&self, i: u64) -> Result<u64> {
        let entry = self.entry(i)?;
        let offset = self.base + i;
        if let Ok((header, _)) = self.store.frame_end(entry.pos, offset) {
            let max = entry.max_ts;
            let follows = max == header.timestamp
                || (header.timestamp < max
                    && i > 0
                    && self.entry(i - 1).is_ok_and(|p| p.max_ts == max));
            if follows {
                return Ok(max);
            }
        }
        let walked = self.walk_to(i).and_then(|(pos, before)| {
            let (header, _) = self.store.frame_end(pos, offset).ok()?;
            Some(before.map_or(header.timestamp, |m| m.max(header.timestamp)))
        });
        walked.ok_or_else(|| self.misaligned(i, entry.pos))
    }

    /// Record `i`'s index entry points to `pos`, which does not hold it,
    /// and walking the store's frames does not reach it either.
    fn misaligned(&self, i: u64, pos: u64) -> Error {
        Error::Corrupt {
            segment: self.base,
            offset: Some(self.base + i),
            reason: alloc::format!(
                "index entry points to {pos} and the store's frames do not line up before it"
            ),
        }
    }

    /// Flushes both files.
    pub fn flush(&mut self) -> Result<()> {
        self.store.file.flush()?;
        self.index.file.flush()?;
        Ok(())
    }

    /// Flushes both files as the segment is sealed, letting the backend give
    /// back what it held for appends ([`StorageFile::seal`]).
    pub fn seal(&mut self) -> Result<()> {
        self.store.file.seal()?;
        self.index.file.seal()?;
        Ok(())
    }

    /// Syncs both files if anything was written since the last sync.
    pub fn sync(&mut self) -> Result<()> {
        if self.dirty {
            self.store.file.sync()?;
            self.header_synced = true;
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

/// Opens the store file of the segment at `base` and wraps it after
/// checking its header.
///
/// A header that is unwritten or torn ([`torn_header`]: each byte the one
/// written or zero, or all zero, or short) is a creation cut short by a
/// crash only where one can be: in the active segment over a store that
/// holds no valid first frame (a store's header is synced before any
/// record is appended), or in the segment a cut marker names (`creating`:
/// a suffix cut below the lowest offset was creating it, and its bytes are
/// not its own yet). Such a store is rewritten empty. Anywhere else the
/// file is damaged, and left as it is: a `FORMAT` error, like any other bad
/// header (from [`Store::open`]), instead of a store emptied and every
/// later segment dropped with it.
fn open_store<S: Storage>(
    storage: &S,
    config: &Config,
    base: u64,
    sealed: bool,
    creating: bool,
) -> Result<Store<S::File>> {
    let name = &file_name(base, FileKind::Store);
    let mut file = storage.open(name, hints(config).0)?;
    let header = header_of(&file)?;
    let unwritten = match check_header(name, FileKind::Store, base, &header) {
        Ok(HeaderState::Valid { .. }) => false,
        Ok(HeaderState::Unwritten) => true,
        Err(_) => torn_header(FileKind::Store, base, &header),
    };
    if unwritten && !creating {
        let damaged = |reason: &str| Error::Format {
            file: name.into(),
            reason: format!("its header is unwritten or torn {reason}: the file is damaged"),
        };
        if sealed {
            return Err(damaged(
                "in a sealed segment, whose header was synced before the next segment was created",
            ));
        }
        let (store, holds_a_record) = holds_a_record(file, base);
        if holds_a_record {
            return Err(damaged(
                "over a record that checks, and a store's header is synced before any record",
            ));
        }
        file = store;
    }
    if unwritten {
        // Store::open writes (and syncs) the header of a file cut to nothing.
        file.truncate(0)?;
        return Store::open(file, name, base, &[]);
    }
    Store::open(file, name, base, &header)
}

/// Whether the store file at `base`, whose header is unwritten or torn,
/// holds a first frame (at [`HEADER_LEN`], for `base`) that checks; its
/// header's version is unknown, so under either checksum.
fn holds_a_record<F: StorageFile>(file: F, base: u64) -> (F, bool) {
    let mut raw = Store {
        file,
        base,
        checksum: Checksum::Crc32c,
    };
    let mut holds = raw.frame(HEADER_LEN, base).is_ok();
    raw.checksum = Checksum::Crc32;
    holds |= raw.frame(HEADER_LEN, base).is_ok();
    (raw.file, holds)
}

/// Whether the index at `base`, which has no store, is ours to delete: its
/// header is valid, unwritten or torn ([`torn_header`]). Anything else is
/// not a file this log wrote, and is left alone.
pub(crate) fn orphan_index_is_ours<S: Storage>(
    storage: &S,
    config: &Config,
    base: u64,
) -> Result<bool> {
    let name = file_name(base, FileKind::Index);
    let header = header_of(&storage.open(&name, hints(config).1)?)?;
    Ok(torn_header(FileKind::Index, base, &header)
        || check_header(&name, FileKind::Index, base, &header).is_ok())
}

/// Removes a segment's files: the store first, so that a crash in between
/// leaves at most an index without a store, which open ignores.
pub(crate) fn remove_files<S: Storage>(storage: &S, base: u64) -> Result<()> {
    storage.remove(&file_name(base, FileKind::Store))?;
    storage.remove(&file_name(base, FileKind::Index))?;
    Ok(())
}

/// A run of a file's bytes read at once, for a rebuild over files that stay
/// not resident (a read-only open's, which are never mapped): one read per
/// [`WINDOW`] of frames or entries instead of one or two for each.
#[derive(Debug, Default)]
struct ReadWindow {
    start: u64,
    bytes: Vec<u8>,
}

impl ReadWindow {
    /// The window's bytes from `pos` on; empty when it does not hold `pos`.
    fn from(&self, pos: u64) -> &[u8] {
        pos.checked_sub(self.start)
            .and_then(|at| usize::try_from(at).ok())
            .and_then(|at| self.bytes.get(at..))
            .unwrap_or_default()
    }

    /// Reads the window again, from `pos` to [`WINDOW`] bytes later or the
    /// end of `file`; returns its bytes (empty when the read fails).
    fn refill<F: StorageFile>(&mut self, file: &F, pos: u64) -> &[u8] {
        let len = file.len().saturating_sub(pos).min(WINDOW);
        self.start = pos;
        self.bytes.resize(usize::try_from(len).unwrap_or(0), 0);
        if file.read_into(pos, &mut self.bytes).is_err() {
            self.bytes.clear();
        }
        &self.bytes
    }
}

/// The timestamp and payload length of the valid frame at `pos` holding
/// `offset`, `None` when there is none: straight out of the store when it
/// is resident, else out of `window` (read again from `pos` when the frame
/// is not whole in it). The full read decides the first frame (`first`;
/// it maps a store that can be mapped) and anything else (a frame larger
/// than a window, a fault).
fn scanned_frame<F: StorageFile>(
    store: &Store<F>,
    window: &mut ReadWindow,
    first: bool,
    pos: u64,
    offset: u64,
) -> Option<(u64, usize)> {
    let fields = |r: Record<'_>| (r.timestamp, r.payload.len());
    if let Some(record) = store.resident_frame(pos, offset) {
        return Some(fields(record));
    }
    if let Some(found) = parse_frame(window.from(pos), offset, store.checksum) {
        return Some(fields(found));
    }
    if !first {
        let bytes = window.refill(&store.file, pos);
        if let Some(found) = parse_frame(bytes, offset, store.checksum) {
            return Some(fields(found));
        }
    }
    store.frame(pos, offset).ok().map(fields)
}

/// Entry `i` of `index` as the file holds it: straight out of it when it is
/// resident, else out of `window` (read again when it does not hold the
/// entry); `None` when it cannot be read.
fn held_entry<F: StorageFile>(index: &Index<F>, window: &mut ReadWindow, i: u64) -> Option<Entry> {
    if let Some(entry) = index.resident_entry(i) {
        return Some(entry);
    }
    let pos = entry_pos(i);
    let len = INDEX_ENTRY_LEN as usize;
    if window.from(pos).len() < len {
        window.refill(&index.file, pos);
    }
    window.from(pos).get(..len).map(Entry::decode)
}

/// Where a rebuild starts: after `count` records whose index entries are
/// kept, with the next frame at `pos` and the running maximum `max_ts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Scan {
    count: u64,
    pos: u64,
    max_ts: Option<u64>,
}

impl Scan {
    /// A scan of the whole store.
    const FIRST: Scan = Scan {
        count: 0,
        pos: HEADER_LEN,
        max_ts: None,
    };
}

/// Where a rebuild of a segment whose unsynced writes were all kept
/// ([`Storage::unsynced_writes_kept`]) can start: after the last of the
/// first `written` index entries whose frame lies whole in the store,
/// holds its offset, checks, and is covered by the entry's running maximum.
/// Every entry up to it was then written as it is, for the store as it is.
/// Entries point ever further into the store, so the last one pointing
/// inside it is found by binary search; its frame may be the one a crash
/// cut short, so the entry before it is tried too. `None` (scan it all)
/// when neither checks.
fn trusted_prefix<F: StorageFile>(
    store: &Store<F>,
    index: &Index<F>,
    base: u64,
    written: u64,
) -> Result<Option<Scan>> {
    let end = store.len();
    let (mut lo, mut hi) = (0, written);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if index.entry(mid)?.pos < end {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    // Entries `..lo` point inside the store.
    for k in (lo.saturating_sub(2)..lo).rev() {
        let entry = index.entry(k)?;
        let Some(offset) = base.checked_add(k) else {
            continue;
        };
        if let Ok(record) = store.frame(entry.pos, offset) {
            if entry.max_ts >= record.timestamp {
                return Ok(Some(Scan {
                    count: k + 1,
                    pos: entry.pos + frame_len(record.payload.len()),
                    max_ts: Some(entry.max_ts),
                }));
            }
        }
    }
    Ok(None)
}

/// Whether the first `written` index entries, the last of them `last`,
/// describe the whole store: the last entry's frame holds the right offset,
/// ends exactly at the end of the store and (unless `sealed`) passes its
/// checksum, and the entry's running maximum is at least that frame's
/// timestamp.
fn consistent<F: StorageFile>(
    store: &Store<F>,
    base: u64,
    written: u64,
    last: Option<Entry>,
    sealed: bool,
) -> Result<bool> {
    let Some(last) = last else {
        return Ok(store.len() == HEADER_LEN);
    };
    // An index claiming more records than the offset space holds is torn.
    let Some(next) = base.checked_add(written) else {
        return Ok(false);
    };
    let offset = next - 1;
    let end = if sealed {
        store
            .frame_end(last.pos, offset)
            .map(|(h, _)| (h.frame_len(), h.timestamp))
    } else {
        store
            .frame(last.pos, offset)
            .map(|r| (frame_len(r.payload.len()), r.timestamp))
    };
    // The running maximum includes the last record's own time: an entry
    // whose position survived a torn write but whose maximum did not is torn.
    Ok(end.is_ok_and(|(len, ts)| last.pos + len == store.len() && last.max_ts >= ts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::encode_header;
    use crate::memory::MemoryStorage;
    use crate::record::encode_frame;

    /// Room for three 10-byte records per store.
    fn config() -> Config {
        Config {
            max_store_bytes: HEADER_LEN + 3 * frame_len(10),
            max_index_bytes: 1024,
            ..Config::default()
        }
    }

    /// A segment at `base` holding 10-byte records with timestamps `ts`.
    fn filled(storage: &MemoryStorage, base: u64, ts: &[u64]) -> Segment<crate::MemoryFile> {
        let mut segment = Segment::create(storage, &config(), base, HeaderSync::Now).unwrap();
        for (i, &t) in (0u64..).zip(ts) {
            let mut frame = Vec::new();
            encode_frame(
                &mut frame,
                base + i,
                t,
                &[i as u8; 10],
                segment.store.checksum,
            );
            let max_ts = segment.max_ts.map_or(t, |m| m.max(t));
            let entry = Entry {
                pos: segment.store.len(),
                max_ts,
            };
            segment
                .append(
                    frame.len(),
                    |out| out.extend_from_slice(&frame),
                    |out| out.extend_from_slice(&entry.encode()),
                    1,
                    max_ts,
                )
                .unwrap();
        }
        segment
    }

    fn reopen(
        storage: &MemoryStorage,
        base: u64,
        sealed: bool,
    ) -> (Result<Segment<crate::MemoryFile>>, Vec<Repair>) {
        let mut repairs = Vec::new();
        let segment = Segment::open(storage, &config(), base, sealed, false, &mut repairs);
        (segment, repairs)
    }

    fn edit(storage: &MemoryStorage, name: &str, f: impl FnOnce(&mut Vec<u8>)) {
        let mut bytes = storage.file_bytes(name).unwrap();
        f(&mut bytes);
        storage.set_file_bytes(name, bytes).unwrap();
    }

    #[test]
    fn fits_counts_the_store_and_the_index_limits() {
        let storage = MemoryStorage::new();
        let segment = filled(&storage, 0, &[]);
        let c = config();
        let len = frame_len(10);
        assert!(segment.fits(&c, HEADER_LEN + 2 * len, 2, len));
        assert!(!segment.fits(&c, HEADER_LEN + 2 * len + 1, 2, len));
        assert!(!segment.fits(&c, u64::MAX - 1, 0, len), "no overflow");
        let narrow = Config {
            max_index_bytes: entry_pos(2),
            ..c
        };
        assert!(segment.fits(&narrow, HEADER_LEN, 1, len));
        assert!(!segment.fits(&narrow, HEADER_LEN, 2, len));
    }

    #[test]
    fn truncate_keeps_a_prefix_and_its_running_maximum() {
        let storage = MemoryStorage::new();
        let mut segment = filled(&storage, 5, &[30, 10, 40]);
        assert_eq!(segment.max_ts, Some(40));
        segment.truncate(9).unwrap();
        assert_eq!(segment.count, 3, "keeping more than held changes nothing");
        segment.truncate(2).unwrap();
        assert_eq!((segment.count, segment.max_ts), (2, Some(30)));
        assert_eq!(segment.store.len(), HEADER_LEN + 2 * frame_len(10));
        assert_eq!(segment.index.file.len(), entry_pos(2));
        assert_eq!(&*segment.read(6).unwrap().payload, &[1; 10]);
        segment.truncate(0).unwrap();
        assert_eq!((segment.count, segment.max_ts), (0, None));
        assert_eq!(segment.bytes(), 2 * HEADER_LEN);
    }

    #[test]
    fn offset_for_timestamp_uses_the_running_maximum() {
        let storage = MemoryStorage::new();
        let segment = filled(&storage, 100, &[20, 10, 30]);
        assert_eq!(segment.offset_for_timestamp(0).unwrap(), Some(100));
        assert_eq!(segment.offset_for_timestamp(20).unwrap(), Some(100));
        // Record 101 is older than 100: the first record at 25 or later is 102.
        assert_eq!(segment.offset_for_timestamp(21).unwrap(), Some(102));
        assert_eq!(segment.offset_for_timestamp(30).unwrap(), Some(102));
        assert_eq!(segment.offset_for_timestamp(31).unwrap(), None);
        let empty = filled(&storage, 200, &[]);
        assert_eq!(empty.offset_for_timestamp(0).unwrap(), None);
    }

    #[test]
    fn a_consistent_segment_opens_as_is_and_any_other_is_rebuilt() {
        let storage = MemoryStorage::new();
        drop(filled(&storage, 0, &[1, 2, 3]));
        let (segment, repairs) = reopen(&storage, 0, false);
        let segment = segment.unwrap();
        assert!(repairs.is_empty(), "{repairs:?}");
        assert_eq!(
            (segment.count, segment.max_ts, segment.dirty),
            (3, Some(3), false)
        );
        drop(segment);

        // Preallocated zero fill after the entries is cut without a rebuild.
        let index = file_name(0, FileKind::Index);
        edit(&storage, &index, |b| b.resize(b.len() + 40, 0));
        let (segment, repairs) = reopen(&storage, 0, false);
        assert!(repairs.is_empty(), "{repairs:?}");
        assert_eq!(segment.unwrap().index.file.len(), entry_pos(3));

        // A short index (a torn last entry) is rebuilt, keeping every record.
        edit(&storage, &index, |b| b.truncate(b.len() - 20));
        let (segment, repairs) = reopen(&storage, 0, false);
        let segment = segment.unwrap();
        assert_eq!(
            repairs,
            [Repair::IndexRebuilt {
                segment: 0,
                records: 3
            }]
        );
        assert_eq!(
            (segment.count, segment.max_ts, segment.dirty),
            (3, Some(3), true)
        );
        assert_eq!(segment.index.file.len(), entry_pos(3));
        assert_eq!(&*segment.read(2).unwrap().payload, &[2; 10]);
        drop(segment);

        // A rebuild keeps the entries that match and rewrites from the first
        // that does not (entry 1 here, with the index also short).
        edit(&storage, &index, |b| {
            b[entry_pos(1) as usize] ^= 1;
            b.truncate(b.len() - 16);
        });
        let (segment, repairs) = reopen(&storage, 0, false);
        assert_eq!(
            repairs,
            [Repair::IndexRebuilt {
                segment: 0,
                records: 3
            }]
        );
        assert_eq!(&*segment.unwrap().read(1).unwrap().payload, &[1; 10]);
    }

    #[test]
    fn a_last_entry_whose_running_maximum_is_torn_is_rebuilt() {
        for sealed in [false, true] {
            let storage = MemoryStorage::new();
            drop(filled(&storage, 0, &[5, 9, 7]));
            // The position survived a torn write, the maximum did not.
            edit(&storage, &file_name(0, FileKind::Index), |b| {
                let at = entry_pos(2) as usize + 8;
                b[at..at + 8].fill(0);
            });
            let (segment, repairs) = reopen(&storage, 0, sealed);
            let segment = segment.unwrap();
            assert_eq!(
                repairs,
                [Repair::IndexRebuilt {
                    segment: 0,
                    records: 3
                }]
            );
            assert_eq!((segment.count, segment.max_ts), (3, Some(9)));
            assert_eq!(segment.offset_for_timestamp(8).unwrap(), Some(1));
        }
    }

    #[test]
    fn a_torn_middle_entry_is_read_and_cut_through_the_store() {
        for garbage in [0, 7, HEADER_LEN + 5, u64::MAX - 3] {
            let storage = MemoryStorage::new();
            drop(filled(&storage, 0, &[5, 9, 7, 8]));
            edit(&storage, &file_name(0, FileKind::Index), |b| {
                let at = entry_pos(2) as usize;
                b[at..at + 8].copy_from_slice(&garbage.to_le_bytes());
            });
            let (segment, repairs) = reopen(&storage, 0, true);
            let mut segment = segment.unwrap();
            assert!(
                repairs.is_empty(),
                "the fast check sees the last entry only"
            );
            assert_eq!(&*segment.read(2).unwrap().payload, &[2; 10]);
            assert_eq!(segment.position(2).unwrap(), HEADER_LEN + 2 * frame_len(10));
            segment.truncate(2).unwrap();
            assert_eq!(segment.store.len(), HEADER_LEN + 2 * frame_len(10));
            assert_eq!((segment.count, segment.max_ts), (2, Some(9)));
            assert_eq!(&*segment.read(1).unwrap().payload, &[1; 10]);
        }
    }

    #[test]
    fn a_torn_middle_entry_never_misleads_a_lookup_by_time() {
        // Times 5, 9, 7, 8: running maxima 5, 9, 9, 9.
        let expected = |ts: u64| match ts {
            0..=5 => Some(0),
            6..=9 => Some(1),
            _ => None,
        };
        for torn in 0..3u64 {
            for (field, garbage) in [(8, 0), (8, 3), (8, u64::MAX), (0, 0), (0, 7)] {
                let storage = MemoryStorage::new();
                drop(filled(&storage, 0, &[5, 9, 7, 8]));
                edit(&storage, &file_name(0, FileKind::Index), |b| {
                    let at = entry_pos(torn) as usize + field;
                    b[at..at + 8].copy_from_slice(&u64::to_le_bytes(garbage));
                });
                let (segment, _) = reopen(&storage, 0, true);
                let mut segment = segment.unwrap();
                for ts in 0..=10 {
                    assert_eq!(
                        segment.offset_for_timestamp(ts).unwrap(),
                        expected(ts),
                        "entry {torn}, bytes {field}.. = {garbage}, ts {ts}"
                    );
                }
                // A cut after the torn entry keeps the true maximum.
                segment.truncate(torn + 1).unwrap();
                assert_eq!(segment.max_ts, Some([5, 9, 9][torn as usize]));
            }
        }
    }

    #[test]
    fn a_bad_last_frame_is_kept_when_sealed_and_cut_when_active() {
        let storage = MemoryStorage::new();
        drop(filled(&storage, 0, &[1, 2, 3]));
        let store = file_name(0, FileKind::Store);
        edit(&storage, &store, |b| {
            let last = b.len() - 1;
            b[last] ^= 0xff;
        });
        let original = storage.file_bytes(&store).unwrap();

        let (sealed, repairs) = reopen(&storage, 0, true);
        let sealed = sealed.unwrap();
        assert!(repairs.is_empty(), "{repairs:?}");
        assert_eq!(sealed.count, 3);
        assert!(matches!(
            sealed.read(2),
            Err(Error::Corrupt {
                offset: Some(2),
                ..
            })
        ));
        drop(sealed);

        let (active, repairs) = reopen(&storage, 0, false);
        let active = active.unwrap();
        assert_eq!(active.count, 2);
        assert_eq!(
            repairs,
            [
                Repair::TailCut {
                    segment: 0,
                    bytes: frame_len(10),
                    records_kept: 2
                },
                Repair::IndexRebuilt {
                    segment: 0,
                    records: 2
                }
            ]
        );
        assert_eq!(
            active.store.len() as usize,
            original.len() - frame_len(10) as usize
        );
    }

    #[test]
    fn a_torn_header_is_unwritten_only_in_an_empty_active_store() {
        let storage = MemoryStorage::new();
        let store = file_name(7, FileKind::Store);
        let header = encode_header(FileKind::Store, 7);
        let mut torn = header.to_vec();
        torn[4..20].fill(0);
        // An empty active store with a torn header opens empty.
        drop(filled(&storage, 7, &[]));
        storage.set_file_bytes(&store, torn.clone()).unwrap();
        let (segment, _) = reopen(&storage, 7, false);
        assert_eq!(segment.unwrap().count, 0);
        assert_eq!(storage.file_bytes(&store).unwrap(), header);
        // Sealed, the same bytes are a FORMAT error: a sealed header was synced.
        storage.set_file_bytes(&store, torn.clone()).unwrap();
        let (segment, _) = reopen(&storage, 7, true);
        assert!(matches!(segment, Err(Error::Format { .. })));
        // So are they over a valid frame, and a header that is not ours.
        let mut with_frame = torn;
        encode_frame(
            &mut with_frame,
            7,
            1,
            b"kept",
            crate::checksum::Checksum::Crc32c,
        );
        storage.set_file_bytes(&store, with_frame).unwrap();
        let (segment, _) = reopen(&storage, 7, false);
        assert!(matches!(segment, Err(Error::Format { .. })));
        let mut foreign = header.to_vec();
        foreign[8] = 3;
        storage.set_file_bytes(&store, foreign).unwrap();
        let (segment, _) = reopen(&storage, 7, false);
        assert!(matches!(segment, Err(Error::Format { .. })));
    }

    #[test]
    fn only_an_orphan_index_with_our_header_is_ours() {
        let storage = MemoryStorage::new();
        let index = file_name(3, FileKind::Index);
        let c = config();
        for ours in [
            encode_header(FileKind::Index, 3).to_vec(),
            alloc::vec![0; 40],
            alloc::vec![1, 2, 3],
            encode_header(FileKind::Index, 3)[..12].to_vec(),
        ] {
            storage.set_file_bytes(&index, ours.clone()).unwrap();
            assert!(orphan_index_is_ours(&storage, &c, 3).unwrap(), "{ours:?}");
        }
        for foreign in [
            encode_header(FileKind::Index, 4).to_vec(),
            encode_header(FileKind::Store, 3).to_vec(),
            b"not a dislog index, just a file with its name".to_vec(),
        ] {
            storage.set_file_bytes(&index, foreign.clone()).unwrap();
            assert!(
                !orphan_index_is_ours(&storage, &c, 3).unwrap(),
                "{foreign:?}"
            );
        }
    }
}
