//! The log: an ordered list of segments, the last one active.

use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;

use crate::config::{Config, SyncPolicy};
use crate::error::{Error, Result};
use crate::format::{cut_marker_name, parse_cut_marker, parse_file_name, HEADER_LEN};
use crate::index::{entry_pos, Entry};
use crate::iter::Iter;
use crate::record::{encode_frame, encode_frames, frame_len, Record, FRAME_HEADER_LEN};
use crate::removal::{Detached, Oldest};
use crate::repair::Repair;
use crate::segment::{orphan_index_is_ours, remove_files, HeaderSync, Segment};
use crate::slot::Slot;
use crate::storage::{
    FileHint, FileKind, FileSyncer, Storage, StorageError, StorageErrorKind, StorageFile,
};
use crate::sync::SyncJob;

/// The hint a cut marker is created with: it is never written.
const MARKER_HINT: FileHint = FileHint {
    kind: FileKind::Store,
    capacity: 0,
};

/// Called after every change of the log's end with the new next offset
/// (appends, suffix truncation, reset). The std layer wakes blocked readers
/// with it, the browser layer resolves promises.
pub type AppendHook = Box<dyn Fn(u64) + Send + Sync>;

/// A batch's frames are handed to storage in chunks of at most this many
/// bytes (plus one record): well under the file backend's 256 KiB append
/// buffer, so that they are framed straight into it, and small enough to
/// stay in the CPU's caches on their way there.
const CHUNK: u64 = 64 << 10;

/// What a prefix truncation or retention pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Removed {
    /// Whole segments removed.
    pub segments: usize,
    /// Records they held.
    pub records: u64,
    /// Store and index bytes they held.
    pub bytes: u64,
}

impl Removed {
    fn add(&mut self, segment: &SegmentInfo) {
        self.segments += 1;
        self.records += segment.records;
        self.bytes += segment.store_bytes + segment.index_bytes;
    }
}

/// How many reads ahead [`Log::read_many`] locates and prefetches frames
/// (and twice as many, index entries): enough misses in flight to overlap
/// (a core tracks a few dozen), few enough that what was prefetched is
/// still in the cache when it is read.
pub const READ_GROUP: usize = 8;

/// A description of one segment, for tools and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// The offset of its first record (and its file names).
    pub base: u64,
    /// Records it holds.
    pub records: u64,
    /// Bytes of its store file, header included.
    pub store_bytes: u64,
    /// Bytes of its index file, header included.
    pub index_bytes: u64,
    /// Largest record timestamp, `None` when empty.
    pub max_timestamp: Option<u64>,
}

/// A segmented, append-only log of records over a [`Storage`].
///
/// One `Log` is one writer: methods that change the log take `&mut self`,
/// reads take `&self` and may borrow the record bytes from the storage. Use
/// [`crate::SharedLog`] to share one log between threads.
pub struct Log<S: Storage> {
    storage: S,
    config: Config,
    /// Sorted by base offset; the last is the active segment, always open.
    /// Every segment but the last holds at least one record. Empty only
    /// after a failed [`Log::reset`], which poisons the log.
    segments: Vec<Slot<S::File>>,
    repairs: Vec<Repair>,
    poisoned: Option<StorageError>,
    unsynced_bytes: u64,
    last_sync_ms: u64,
    dir_dirty: bool,
    hook: Option<AppendHook>,
    /// Whether a sync the policy asks for is left to the caller
    /// ([`Log::defer_policy_syncs`]).
    defer_syncs: bool,
    /// A sync the policy asked for and the caller has not taken yet.
    sync_due: bool,
    /// Every offset below this was durable when the last completed sync
    /// ended ([`Log::durable_next`]).
    durable_next: u64,
    /// Suffix truncations and resets so far: a sync begun before one of
    /// them does not move `durable_next` (the offsets it saw are gone).
    rewinds: u64,
    /// The stamp of the last append stamped by the clock (0: none since
    /// the open), see [`Log::append_clocked`].
    last_clock_ms: u64,
}

/// Whether `e` is [`StorageError::out_of_memory`]'s error, which changed
/// nothing.
fn out_of_memory(e: &Error) -> bool {
    matches!(e, Error::Storage(s) if s.is_out_of_memory())
}

/// The error of a log without a segment (a failed reset, which poisoned it
/// with `poisoned`).
fn no_segment(poisoned: &Option<StorageError>) -> Error {
    Error::Poisoned(
        poisoned.clone().unwrap_or_else(|| {
            StorageError::new(StorageErrorKind::Other, "the log has no segment")
        }),
    )
}

impl<S: Storage> core::fmt::Debug for Log<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Log")
            .field("lowest_offset", &self.lowest_offset())
            .field("next_offset", &self.next_offset())
            .field("segments", &self.segments.len())
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

impl<S: Storage> Log<S> {
    /// Opens the log held by `storage`, creating an empty one when it holds
    /// none, and recovers it after an unclean shutdown (see `FORMAT.md`).
    ///
    /// Files whose names are not segment names are ignored. A segment file
    /// with a foreign or unsupported header is an [`Error::Format`].
    pub fn open(storage: S, config: Config) -> Result<Self> {
        config.validate()?;
        let mut stores = Vec::new();
        let mut indexes = Vec::new();
        let mut markers = Vec::new();
        for name in storage.list()? {
            match parse_file_name(&name) {
                Some((base, FileKind::Store)) => stores.push(base),
                Some((base, FileKind::Index)) => indexes.push(base),
                None => markers.extend(parse_cut_marker(&name)),
            }
        }
        stores.sort_unstable();
        let mut log = Self {
            last_sync_ms: (config.clock)(),
            storage,
            config,
            segments: Vec::new(),
            repairs: Vec::new(),
            poisoned: None,
            unsynced_bytes: 0,
            dir_dirty: false,
            hook: None,
            defer_syncs: false,
            sync_due: false,
            durable_next: 0,
            rewinds: 0,
            last_clock_ms: 0,
        };
        for base in indexes {
            if stores.binary_search(&base).is_err()
                && orphan_index_is_ours(&log.storage, &log.config, base)?
            {
                log.storage
                    .remove(&crate::format::file_name(base, FileKind::Index))?;
                log.repairs
                    .push(Repair::OrphanIndexRemoved { segment: base });
                log.dir_dirty = true;
            }
        }
        // After a clean close the sealed segments are opened when first
        // used; each ends where the next begins.
        let defer = log.storage.segments_intact_at_close() && markers.is_empty();
        let nexts: Vec<Option<u64>> = stores.iter().skip(1).map(|&b| Some(b)).collect();
        let mut stores = stores.into_iter().zip(nexts.into_iter().chain([None]));
        for (base, next) in stores.by_ref() {
            if let Some(prev) = log.segments.last() {
                if prev.next_offset() != base || prev.count() == 0 {
                    let reason = if prev.count() == 0 {
                        format!("segment {} before it is empty", prev.base)
                    } else {
                        format!(
                            "the segment before it ends at offset {}",
                            prev.next_offset()
                        )
                    };
                    log.recovery_barrier()?;
                    log.drop_from(base, reason)?;
                    break;
                }
            }
            if let Some(next) = next.filter(|_| defer) {
                log.segments.push(Slot::deferred(base, next - base));
                continue;
            }
            let sealed = next.is_some();
            let creating = markers.contains(&base);
            let mut segment = Segment::open(
                &log.storage,
                &log.config,
                base,
                sealed,
                creating,
                &mut log.repairs,
            )?;
            segment.header_synced = log.storage.closed_cleanly();
            log.segments.push(Slot::open(segment));
        }
        for (base, _) in stores {
            log.drop_from(base, "an earlier segment was dropped".into())?;
        }
        // The cut a marker names is finished (its segment is there, rewritten
        // empty if its header was not, and the segments after it are gone)
        // or never began (its segment is not there): the marker has served.
        for base in markers {
            log.storage.remove(&cut_marker_name(base))?;
            log.dir_dirty = true;
        }
        // After an unclean shutdown the files may hold bytes (and names) the
        // OS never wrote to the media: the next sync must cover all of them.
        // After a clean close there is nothing to cover (syncing clean files
        // still costs a device flush each: ~4 ms per file on a virtual disk).
        if !log.storage.closed_cleanly() {
            for segment in log.segments.iter_mut().filter_map(Slot::opened_mut) {
                segment.dirty = true;
            }
            log.dir_dirty = true;
        }
        if log.segments.is_empty() {
            let base = log.config.initial_offset;
            log.segments.push(Slot::open(Segment::create(
                &log.storage,
                &log.config,
                base,
                HeaderSync::Now,
            )?));
            log.dir_dirty = true;
        }
        // Whatever the policy: a repair rewrote derived data (an index) that
        // synced records depend on, and a crash must not tear it again.
        if !log.repairs.is_empty() {
            log.sync()?;
        }
        Ok(log)
    }

    /// Makes the segments recovery kept so far durable, files and names,
    /// before it removes the ones after them. The decision to remove rests on
    /// what the kept segments hold now, which after a process restart may
    /// not be on the media yet (a segment created by a suffix cut that
    /// failed, say): a removal that landed without them would lose the next
    /// offset, and offsets would repeat.
    fn recovery_barrier(&mut self) -> Result<()> {
        for segment in self.opened_mut() {
            segment.dirty = true;
            segment.sync()?;
        }
        self.storage.sync_dir()?;
        Ok(())
    }

    /// Removes the unopened segment at `base` during recovery.
    fn drop_from(&mut self, base: u64, reason: alloc::string::String) -> Result<()> {
        let mut repairs = Vec::new();
        let records = Segment::open(&self.storage, &self.config, base, true, false, &mut repairs)
            .map(|s| s.count)
            .unwrap_or(0);
        remove_files(&self.storage, base)?;
        self.dir_dirty = true;
        self.repairs.push(Repair::SegmentDropped {
            segment: base,
            records,
            reason,
        });
        Ok(())
    }

    /// What recovery changed when this log was opened; empty after a clean
    /// close.
    pub fn repairs(&self) -> &[Repair] {
        &self.repairs
    }

    /// The configuration the log was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Changes when the log syncs on its own from now on.
    pub fn set_sync_policy(&mut self, policy: SyncPolicy) {
        self.config.sync = policy;
    }

    /// The storage the log lives on.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Installs (or removes) the hook called with the new next offset after
    /// every change of the log's end.
    pub fn set_append_hook(&mut self, hook: Option<AppendHook>) {
        self.hook = hook;
    }

    /// The active segment; an error when there is none (a reset failed).
    /// It is open, but for a sealed segment that became active when the
    /// ones after it went (a suffix truncation), which this opens.
    #[inline]
    fn active(&self) -> Result<&Segment<S::File>> {
        match self.segments.last() {
            Some(slot) => slot.get(&self.storage, &self.config),
            None => Err(self.no_segment()),
        }
    }

    #[inline]
    fn active_mut(&mut self) -> Result<&mut Segment<S::File>> {
        let Self {
            segments,
            storage,
            config,
            poisoned,
            ..
        } = self;
        match segments.last_mut() {
            Some(slot) => slot.get_mut(storage, config),
            None => Err(no_segment(poisoned)),
        }
    }

    /// The segments that are open (a sealed one not opened since a clean
    /// close has nothing to flush, sync or mark).
    fn opened_mut(&mut self) -> impl Iterator<Item = &mut Segment<S::File>> {
        self.segments.iter_mut().filter_map(Slot::opened_mut)
    }

    /// The segment in slot `i` (which the caller found), opened first if
    /// it is not open yet.
    pub(crate) fn slot_segment(&self, i: usize) -> Result<&Segment<S::File>> {
        self.segments[i].get(&self.storage, &self.config)
    }

    fn no_segment(&self) -> Error {
        no_segment(&self.poisoned)
    }

    /// The offset of the oldest record, `None` when the log is empty.
    pub fn lowest_offset(&self) -> Option<u64> {
        self.segments.iter().find(|s| s.count() > 0).map(|s| s.base)
    }

    /// The offset of the newest record, `None` when the log is empty.
    pub fn highest_offset(&self) -> Option<u64> {
        self.lowest_offset().map(|_| self.next_offset() - 1)
    }

    /// The offset the next appended record will get. After a failed
    /// [`Log::reset`] that removed every segment, the config's initial
    /// offset.
    pub fn next_offset(&self) -> u64 {
        self.segments
            .last()
            .map_or(self.config.initial_offset, Slot::next_offset)
    }

    /// Whether the log holds no records.
    pub fn is_empty(&self) -> bool {
        self.lowest_offset().is_none()
    }

    /// Records held.
    pub fn len(&self) -> u64 {
        self.lowest_offset()
            .map_or(0, |low| self.next_offset() - low)
    }

    /// Store and index bytes held, headers included. Opens the sealed
    /// segments not open yet (see [`Storage::segments_intact_at_close`]),
    /// which can fail.
    pub fn size_bytes(&self) -> Result<u64> {
        (0..self.segments.len()).try_fold(0, |sum, i| Ok(sum + self.slot_segment(i)?.bytes()))
    }

    /// How many segments the log has (opening none).
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// One description per segment, oldest first. Opens the sealed
    /// segments not open yet, as [`Log::size_bytes`] does.
    pub fn segments(&self) -> Result<Vec<SegmentInfo>> {
        (0..self.segments.len()).map(|i| self.info(i)).collect()
    }

    /// The description of the segment in slot `i`.
    fn info(&self, i: usize) -> Result<SegmentInfo> {
        let s = self.slot_segment(i)?;
        Ok(SegmentInfo {
            base: s.base,
            records: s.count,
            store_bytes: s.store.len(),
            index_bytes: s.index.file.len(),
            max_timestamp: s.max_ts,
        })
    }

    /// Whether a sealed segment opened after a clean close was found
    /// damaged, or could not be opened (see
    /// [`Storage::segments_intact_at_close`]): the backend should then not
    /// record this log's close as clean, so that the next open checks and
    /// repairs every segment.
    pub fn found_damage(&self) -> bool {
        self.segments.iter().any(Slot::found_damage)
    }

    fn out_of_range(&self, offset: u64) -> Error {
        Error::OutOfRange {
            offset,
            lowest: self.lowest_offset(),
            next: self.next_offset(),
        }
    }

    /// Index of the segment holding `offset`, or an out-of-range error.
    pub(crate) fn locate(&self, offset: u64) -> Result<usize> {
        let found = self.segments.partition_point(|s| s.base <= offset);
        match found.checked_sub(1) {
            Some(i) if offset < self.segments[i].next_offset() => Ok(i),
            _ => Err(self.out_of_range(offset)),
        }
    }

    /// The offset after slot `i`'s last record (opening nothing); `None`
    /// past the last slot.
    pub(crate) fn slot_end(&self, i: usize) -> Option<u64> {
        self.segments.get(i).map(Slot::next_offset)
    }

    /// Reads the record at `offset`, checking its checksum. The payload is
    /// borrowed from the storage when the backend allows it.
    pub fn read(&self, offset: u64) -> Result<Record<'_>> {
        self.slot_segment(self.locate(offset)?)?.read(offset)
    }

    /// Reads the records at `offsets` and hands each to `f`, in order, with
    /// its offset: what [`Log::read`] returns for it, checksum checked. For
    /// many random offsets at once (a multi-get): the reads run as a
    /// pipeline [`READ_GROUP`] deep, so that the cache misses of about twice
    /// that many reads are in flight instead of following one another.
    /// While the record at `offsets[j]` is parsed and checked, the frame of
    /// `offsets[j + READ_GROUP]` is located from its (by then loaded) index
    /// entry and prefetched, and the index entry of
    /// `offsets[j + 2 * READ_GROUP]` is prefetched (on x86-64 a hint that
    /// never waits, elsewhere a plain load). Where the storage does not lend
    /// its bytes ([`crate::StorageFile::resident`]), or anything about a
    /// record is off, that record is read by [`Log::read`], which says what.
    pub fn read_many<'a>(&'a self, offsets: &[u64], mut f: impl FnMut(u64, Result<Record<'a>>)) {
        const D: usize = READ_GROUP;
        // Slot j % D holds, for offsets[j]: in `segment`, the segment found
        // when its index entry was prefetched (step j), read D steps later;
        // in `at`, that segment and its frame's position from the entry
        // (step j + D), read D steps later still. Each step reads a slot
        // before it fills it again.
        let mut segment: [Option<usize>; D] = [None; D];
        let mut at: [Option<(usize, u64)>; D] = [None; D];
        for k in 0..offsets.len() + 2 * D {
            if let Some(p) = k.checked_sub(2 * D) {
                let offset = offsets[p];
                let fast = at[p % D].and_then(|(i, pos)| {
                    self.segments[i].opened()?.store.resident_frame(pos, offset)
                });
                match fast {
                    Some(record) => f(offset, Ok(record)),
                    None => f(offset, self.read(offset)),
                }
            }
            if let Some(m) = k.checked_sub(D).filter(|&m| m < offsets.len()) {
                let offset = offsets[m];
                at[m % D] = segment[m % D].and_then(|i| {
                    let segment = self.segments[i].opened()?;
                    let entry = segment.index.resident_entry(offset - segment.base)?;
                    segment.store.prefetch_frame(entry.pos);
                    Some((i, entry.pos))
                });
            }
            if let Some(&offset) = offsets.get(k) {
                segment[k % D] = self.locate(offset).ok();
                // A segment not open yet is opened by the read of its first
                // record here (through `Log::read`).
                if let Some(segment) = segment[k % D].and_then(|i| self.segments[i].opened()) {
                    segment.index.prefetch_entry(offset - segment.base);
                }
            }
        }
    }

    /// An iterator over the records from `from` to the end of the log as it
    /// is now. `from` may equal [`Log::next_offset`] (an empty iterator).
    pub fn iter(&self, from: u64) -> Result<Iter<'_, S>> {
        Iter::new(self, from)
    }

    /// An iterator over every record, oldest first. When the first record
    /// cannot be found (its index entry is unreadable), the iterator yields
    /// that error as its only item.
    pub fn records(&self) -> Iter<'_, S> {
        let from = self.lowest_offset().unwrap_or(self.next_offset());
        Iter::new(self, from).unwrap_or_else(|e| Iter::failed(self, e))
    }

    /// The first offset whose record timestamp is at least `ts`, or `None`
    /// when every record is older.
    ///
    /// Exact even when callers append with out-of-order timestamps: the
    /// index keeps each segment's running maximum, and the first entry whose
    /// running maximum reaches `ts` is the first record whose own timestamp
    /// does. O(segments + log(records per segment)).
    pub fn offset_for_timestamp(&self, ts: u64) -> Result<Option<u64>> {
        for i in 0..self.segments.len() {
            if let Some(offset) = self.slot_segment(i)?.offset_for_timestamp(ts)? {
                return Ok(Some(offset));
            }
        }
        Ok(None)
    }

    fn writable(&self) -> Result<()> {
        match &self.poisoned {
            Some(e) => Err(Error::Poisoned(e.clone())),
            None => Ok(()),
        }
    }

    /// Runs a storage write; a failure poisons the log.
    #[inline]
    fn guard<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            self.poison(e);
        }
        result
    }

    /// A write failed with `e`: a storage error poisons the log.
    #[cold]
    #[inline(never)]
    fn poison(&mut self, e: &Error) {
        if let Error::Storage(e) = e {
            self.poisoned = Some(e.clone());
        }
    }

    /// Appends a record stamped with the config's clock; returns its offset.
    pub fn append(&mut self, payload: &[u8]) -> Result<u64> {
        let now = (self.config.clock)();
        self.append_clocked(payload, now)
    }

    /// [`Log::append`] with `now`, the config's clock read by the caller
    /// just before: a thread-safe wrapper reads it before it takes the lock
    /// that lets one append in at a time, so that the read does not wait
    /// for the lock's instruction (an ordered TSC read waits for every
    /// earlier one).
    ///
    /// Another append can then have been let in between the reading and
    /// this call, with a later stamp. A reading below the last clock stamp
    /// is therefore taken again, here: records stamped by the clock keep to
    /// offset order unless the clock itself goes back, as when it is read
    /// here every time. Both readings are taken inside the wrapper's append,
    /// so the promises of a clock read here hold for the stamp.
    pub fn append_clocked(&mut self, payload: &[u8], now: u64) -> Result<u64> {
        let stamp = self.clock_stamp(now);
        self.append_at(payload, stamp)
    }

    /// The stamp of an append whose clock read gave `now` (see
    /// [`Log::append_clocked`]), remembered as the last clock stamp.
    #[inline]
    fn clock_stamp(&mut self, now: u64) -> u64 {
        let stamp = if now < self.last_clock_ms {
            (self.config.clock)()
        } else {
            now
        };
        self.last_clock_ms = stamp;
        stamp
    }

    /// Appends a record with a caller-chosen timestamp; returns its offset.
    ///
    /// The one-record path of [`Log::append_batch_at`], without its batch
    /// machinery: this is the call a producer makes per record.
    pub fn append_at(&mut self, payload: &[u8], timestamp: u64) -> Result<u64> {
        let first = self.check_append(1, payload.len() as u64)?;
        let len = frame_len(payload.len());
        let segment = self.active()?;
        if !segment.fits(&self.config, segment.store.len(), segment.count, len) {
            let rolled = self.roll();
            self.guard_append(rolled)?;
        }
        let written = self.append_one(payload, timestamp);
        self.guard_append(written)?;
        self.after_write(len)?;
        Ok(first)
    }

    /// Appends records with consecutive offsets in one pass, all stamped
    /// with the config's clock; returns the first offset. All records are
    /// checked before any is written: a batch with one record too large
    /// appends nothing. An empty batch is an [`Error::InvalidArgument`].
    pub fn append_batch<R: AsRef<[u8]>>(&mut self, records: &[R]) -> Result<u64> {
        let now = (self.config.clock)();
        self.append_batch_clocked(records, now)
    }

    /// [`Log::append_batch`] with `now`, the config's clock read by the
    /// caller just before, as [`Log::append_clocked`] takes it.
    pub fn append_batch_clocked<R: AsRef<[u8]>>(&mut self, records: &[R], now: u64) -> Result<u64> {
        let stamp = self.clock_stamp(now);
        self.append_batch_at(records, stamp)
    }

    /// [`Log::append_batch`] with a caller-chosen timestamp for every record.
    pub fn append_batch_at<R: AsRef<[u8]>>(
        &mut self,
        records: &[R],
        timestamp: u64,
    ) -> Result<u64> {
        let largest = records.iter().map(|r| r.as_ref().len()).max();
        let first = self.check_append(records.len(), largest.unwrap_or(0) as u64)?;
        let mut done = 0;
        let mut bytes = 0;
        let (segments, count) = (self.segments.len(), self.active()?.count);
        while done < records.len() {
            let (n, b) = match self.append_chunk(&records[done..], timestamp) {
                Err(e) if out_of_memory(&e) => return self.batch_failed(segments, count, e),
                written => self.guard(written)?,
            };
            if n == 0 {
                match self.roll() {
                    Err(e) if out_of_memory(&e) => return self.batch_failed(segments, count, e),
                    rolled => self.guard(rolled)?,
                }
            }
            done += n;
            bytes += b;
        }
        self.after_write(bytes)?;
        Ok(first)
    }

    /// [`Log::guard`] for a record's append or the roll before it: a
    /// failure out of memory changed nothing ([`StorageError::out_of_memory`];
    /// [`Segment::append`] and [`Log::roll`] undo the rest) and does not
    /// poison the log.
    #[inline]
    fn guard_append<T>(&mut self, result: Result<T>) -> Result<T> {
        match &result {
            Err(e) if out_of_memory(e) => result,
            _ => self.guard(result),
        }
    }

    /// A batch ran out of memory (`e`): takes back the records it had
    /// written and returns `e`. The segments it rolled into are closed and
    /// removed, and the segment that was active (`segments` segments
    /// before, holding `count` records then) is cut back. When any of that
    /// fails, the log is poisoned.
    fn batch_failed(&mut self, segments: usize, count: u64, e: Error) -> Result<u64> {
        let undone = self.undo_rolls(segments).and_then(|()| {
            let active = self.active_mut()?;
            active.truncate(count)
        });
        self.guard(undone)?;
        Err(e)
    }

    /// Closes and removes every segment past the first `segments`.
    fn undo_rolls(&mut self, segments: usize) -> Result<()> {
        while self.segments.len() > segments {
            let Some(segment) = self.segments.pop() else {
                break;
            };
            let base = segment.base;
            segment.close()?;
            remove_files(&self.storage, base)?;
        }
        Ok(())
    }

    /// What every append checks before it writes anything: the log is
    /// writable, there is a record, the largest (`largest` bytes) fits, and
    /// `count` offsets remain. Returns the first offset.
    #[inline(always)]
    fn check_append(&self, count: usize, largest: u64) -> Result<u64> {
        self.writable()?;
        if count == 0 {
            return Err(Error::InvalidArgument(
                "an empty batch appends nothing".into(),
            ));
        }
        let limit = self.config.record_limit();
        if largest > limit {
            return Err(Error::RecordTooLarge {
                len: largest,
                max: limit,
            });
        }
        let first = self.next_offset();
        if first.checked_add(count as u64).is_none() {
            return Err(Error::InvalidArgument(format!(
                "{count} records at offset {first} would overflow the offset space"
            )));
        }
        Ok(first)
    }

    /// Frames one record into the active segment, which has room for it:
    /// straight into the store's append buffer, no intermediate copy.
    fn append_one(&mut self, payload: &[u8], timestamp: u64) -> Result<()> {
        // A slice holds at most isize::MAX bytes: its frame's length fits.
        let len = payload.len() + FRAME_HEADER_LEN as usize;
        let segment = self.active_mut()?;
        let max_ts = segment.max_ts.map_or(timestamp, |m| m.max(timestamp));
        let entry = Entry {
            pos: segment.store.len(),
            max_ts,
        };
        let (offset, checksum) = (segment.next_offset(), segment.store.checksum);
        segment.append(
            len,
            |out| encode_frame(out, offset, timestamp, payload, checksum),
            |out| out.extend_from_slice(&entry.encode()),
            1,
            max_ts,
        )
    }

    /// Frames as many of `records` as fit in the active segment (and in one
    /// chunk) and writes them: the frames straight into the store's append
    /// buffer. Returns (records, bytes) written.
    fn append_chunk<R: AsRef<[u8]>>(
        &mut self,
        records: &[R],
        timestamp: u64,
    ) -> Result<(usize, u64)> {
        let segment = self.active()?;
        let start = segment.store.len();
        let mut store_len = start;
        let max_ts = segment.max_ts.map_or(timestamp, |m| m.max(timestamp));
        let mut n = 0;
        for (count, record) in (segment.count..).zip(records) {
            let len = frame_len(record.as_ref().len());
            if !segment.fits(&self.config, store_len, count, len) || store_len - start >= CHUNK {
                break;
            }
            store_len += len;
            n += 1;
        }
        if n == 0 {
            return Ok((0, 0));
        }
        let (first, checksum) = (segment.next_offset(), segment.store.checksum);
        let records = &records[..n];
        // At most CHUNK bytes, then one record (a slice: at most isize::MAX
        // bytes) and its header: the length fits a usize.
        let bytes = (store_len - start) as usize;
        self.active_mut()?.append(
            bytes,
            |out| {
                // `first + n` fits (check_append), and no offset past the
                // chunk is formed: a batch may end at u64::MAX.
                let payloads = records.iter().map(AsRef::as_ref);
                encode_frames(out, first, timestamp, payloads, checksum);
            },
            |out| {
                let mut pos = start;
                for record in records {
                    out.extend_from_slice(&Entry { pos, max_ts }.encode());
                    pos += frame_len(record.as_ref().len());
                }
            },
            n as u64,
            max_ts,
        )?;
        Ok((n, store_len - start))
    }

    /// Seals the active segment and starts a new one at the next offset.
    /// A sealed store's header is on the media before the next segment
    /// exists, so that recovery can take an unwritten header in a sealed
    /// position for damage (see `open_store`): after an unclean shutdown the
    /// active store's header may not be, and is made durable first
    /// ([`StorageFile::sync_prefix`]).
    fn roll(&mut self) -> Result<()> {
        let active = self.active_mut()?;
        if !active.header_synced {
            // The header alone: the records the open found are the next
            // sync's, like every segment's after an unclean open.
            active.store.file.sync_prefix(HEADER_LEN)?;
            active.header_synced = true;
        }
        active.seal()?;
        let base = self.next_offset();
        let segment =
            match Segment::create(&self.storage, &self.config, base, HeaderSync::BeforeRecords) {
                Err(e) if out_of_memory(&e) => {
                    // What the creation made goes again; the sealed segment
                    // stays the active one, and the next append rolls again.
                    remove_files(&self.storage, base)?;
                    return Err(e);
                }
                created => created?,
            };
        self.segments.push(Slot::open(segment));
        self.dir_dirty = true;
        Ok(())
    }

    /// Applies the sync policy and calls the hook after `bytes` were written.
    fn after_write(&mut self, bytes: u64) -> Result<()> {
        self.unsynced_bytes += bytes;
        let due = match self.config.sync {
            SyncPolicy::Manual => false,
            SyncPolicy::EveryAppend => true,
            SyncPolicy::EveryBytes(n) => self.unsynced_bytes >= n,
            SyncPolicy::EveryMillis(ms) => {
                (self.config.clock)().saturating_sub(self.last_sync_ms) >= ms
            }
        };
        if due && self.defer_syncs {
            self.sync_due = true;
        } else if due {
            self.sync()?;
        }
        self.notify();
        Ok(())
    }

    /// From now on, a sync the policy asks for after a write is not run in
    /// that write but left to the caller, who takes it with
    /// [`Log::take_due_sync`] and runs it ([`Log::begin_sync`] and the
    /// rest) before it returns from the write: a thread-safe wrapper then
    /// runs the `fdatasync`s without holding its lock, so that the writes
    /// of other threads go on and the next sync covers them too (a group
    /// commit). The wake-up hook is called when the record is written,
    /// before that sync.
    pub fn defer_policy_syncs(&mut self) {
        self.defer_syncs = true;
    }

    /// Whether a write since the last call left a sync the policy asks for
    /// (only after [`Log::defer_policy_syncs`]); clears it.
    pub fn take_due_sync(&mut self) -> bool {
        core::mem::take(&mut self.sync_due)
    }

    fn notify(&self) {
        if let Some(hook) = &self.hook {
            hook(self.next_offset());
        }
    }

    /// Hands buffered writes to the operating system: the active
    /// segment's, and whatever the backend still has in hand for segments
    /// sealed since the last sync (the native backend's cuts of sealed
    /// files, left to its write-behind thread at a roll), so that a reader
    /// opening the files afterwards sees them settled.
    pub fn flush(&mut self) -> Result<()> {
        self.writable()?;
        // The active segment is dirty whenever it holds unflushed appends.
        let flushed = self
            .opened_mut()
            .filter(|s| s.dirty)
            .try_for_each(Segment::flush);
        self.guard(flushed)
    }

    /// Makes every record appended so far durable (and every truncation
    /// and segment creation or removal). A failure poisons the log.
    /// [`Log::begin_sync`], [`SyncJob::run`] and [`Log::finish_sync`] in a
    /// row.
    pub fn sync(&mut self) -> Result<()> {
        let job = self.begin_sync()?;
        let outcome = job.run(&self.storage);
        self.finish_sync(job, outcome)
    }

    /// Begins a sync: flushes every segment written since the last sync and
    /// takes a [`crate::FileSyncer`] for each of its files, which
    /// [`SyncJob::run`] then makes durable with only the storage at hand (a
    /// thread-safe wrapper runs it without holding its lock, while appends
    /// go on); its outcome goes to [`Log::finish_sync`]. Once the job has
    /// run, everything appended, truncated, created or removed before this
    /// call is durable. Where a file hands out no syncer, every file is
    /// synced here, and the job has nothing left to do.
    pub fn begin_sync(&mut self) -> Result<SyncJob> {
        self.writable()?;
        let started_ms = (self.config.clock)();
        let unsynced_bytes = self.unsynced_bytes;
        let headers = self
            .segments
            .iter()
            .filter_map(Slot::opened)
            .filter(|s| s.dirty && !s.header_synced)
            .map(|s| s.base)
            .collect();
        let handed = self.hand_out_syncers();
        let files = match self.guard(handed)? {
            Some(files) => files,
            None => {
                let synced = self.sync_all();
                self.guard(synced)?;
                Vec::new()
            }
        };
        Ok(SyncJob {
            files,
            dir: core::mem::take(&mut self.dir_dirty),
            unsynced_bytes,
            started_ms,
            next: self.next_offset(),
            rewinds: self.rewinds,
            headers,
        })
    }

    /// Takes the outcome of [`SyncJob::run`]: a failure poisons the log (as
    /// any failed write does: what is durable is unknown).
    pub fn finish_sync(&mut self, job: SyncJob, outcome: Result<()>) -> Result<()> {
        self.guard(outcome)?;
        for segment in self.opened_mut() {
            segment.header_synced |= job.headers.contains(&segment.base);
        }
        self.unsynced_bytes = self.unsynced_bytes.saturating_sub(job.unsynced_bytes);
        self.last_sync_ms = self.last_sync_ms.max(job.started_ms);
        if job.rewinds == self.rewinds {
            self.durable_next = self.durable_next.max(job.next);
        }
        Ok(())
    }

    /// Every record below this offset is durable: the next offset when the
    /// last completed sync began (0 before the first one since open, and
    /// never above a suffix truncation's or a reset's new next offset).
    /// A writer whose records all lie below it need not sync again.
    pub fn durable_next(&self) -> u64 {
        self.durable_next
    }

    /// Offsets from `next` on are about to be given out again (a suffix
    /// truncation, a reset): they are no longer durable.
    fn rewind(&mut self, next: u64) {
        self.rewinds += 1;
        self.durable_next = self.durable_next.min(next);
    }

    /// Flushes every segment written since the last sync and takes its
    /// files' syncers, marking it synced (a write from now on marks it
    /// again); `None`, with nothing marked, when a file has no syncer.
    fn hand_out_syncers(&mut self) -> Result<Option<Vec<Box<dyn FileSyncer>>>> {
        let mut files = Vec::new();
        for segment in self.opened_mut().filter(|s| s.dirty) {
            segment.store.file.flush()?;
            segment.index.file.flush()?;
            match (segment.store.file.syncer(), segment.index.file.syncer()) {
                (Some(store), Some(index)) => files.extend([store, index]),
                _ => return Ok(None),
            }
        }
        for segment in self.opened_mut() {
            segment.dirty = false;
        }
        Ok(Some(files))
    }

    fn sync_all(&mut self) -> Result<()> {
        for segment in self.opened_mut() {
            segment.sync()?;
        }
        if self.dir_dirty {
            self.storage.sync_dir()?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// Makes earlier creations and removals durable before a segment is
    /// removed: names are not durable in any order until a directory sync,
    /// and a removal that lands while an earlier one does not would leave a
    /// gap that recovery resolves by dropping the newer side.
    fn removal_barrier(&mut self) -> Result<()> {
        if self.dir_dirty {
            let synced = self.storage.sync_dir().map_err(Error::from);
            self.guard(synced)?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// Takes the oldest segments `which` selects out of the log; their
    /// files stay until [`Detached::remove_files`] deletes them, which needs
    /// only the storage (a thread-safe wrapper runs it without holding its
    /// lock), and its outcome goes to [`Log::settle`]. Reads and appends see
    /// the log without them at once. [`Log::retain_bytes`],
    /// [`Log::retain_since`] and [`Log::truncate`] do all three in one call.
    pub fn detach(&mut self, which: Oldest) -> Result<Detached<S::File>> {
        self.writable()?;
        let mut removed = Removed::default();
        let mut total = match which {
            Oldest::WhileOverBytes(_) => self.size_bytes()?,
            _ => 0,
        };
        let mut segments = Vec::new();
        while self.segments.len() > 1 {
            let info = self.info(0)?;
            let goes = match which {
                Oldest::WhileOverBytes(max) => total > max,
                Oldest::OlderThan(ts) => info.max_timestamp.is_some_and(|m| m < ts),
                Oldest::Below(lowest) => info.base + info.records <= lowest,
            };
            if !goes {
                break;
            }
            total = total.saturating_sub(info.store_bytes + info.index_bytes);
            removed.add(&info);
            segments.push(self.segments.remove(0));
        }
        if let Oldest::Below(lowest) = which {
            let active = self.active()?;
            if active.count > 0 && active.next_offset() <= lowest {
                // Every record goes: the log keeps its next offset in a new
                // active segment, which exists before the old one goes.
                let rolled = self.roll();
                self.guard(rolled)?;
                removed.add(&self.info(0)?);
                segments.push(self.segments.remove(0));
            }
        }
        Ok(Detached { segments, removed })
    }

    /// Takes the outcome of [`Detached::remove_files`]: the directory holds
    /// unsynced removals now, unless nothing was removed (the next sync
    /// covers them), and a storage failure poisons the log, as any failed
    /// write does.
    pub fn settle(&mut self, outcome: Result<Removed>) -> Result<Removed> {
        if outcome.as_ref().map_or(true, |r| r.segments > 0) {
            self.dir_dirty = true;
        }
        self.guard(outcome)
    }

    /// [`Log::detach`], then the files' removal, in one call.
    fn remove_oldest(&mut self, which: Oldest) -> Result<Removed> {
        let detached = self.detach(which)?;
        let outcome = detached.remove_files(&self.storage);
        self.settle(outcome)
    }

    /// Prefix truncation: removes every segment whose records all lie below
    /// `lowest`. Whole segments only, so records below `lowest` may remain
    /// in the segment that holds `lowest`. When every record is below, the
    /// log becomes empty and keeps its next offset.
    pub fn truncate(&mut self, lowest: u64) -> Result<Removed> {
        self.remove_oldest(Oldest::Below(lowest))
    }

    /// Retention by size: removes the oldest segments while the log holds
    /// more than `max_bytes` (store and index bytes). The active segment is
    /// never removed.
    pub fn retain_bytes(&mut self, max_bytes: u64) -> Result<Removed> {
        self.remove_oldest(Oldest::WhileOverBytes(max_bytes))
    }

    /// Retention by age: removes the oldest segments whose records all have
    /// timestamps before `ts`. The active segment is never removed.
    pub fn retain_since(&mut self, ts: u64) -> Result<Removed> {
        self.remove_oldest(Oldest::OlderThan(ts))
    }

    /// Suffix truncation: removes every record at offset `from` and after,
    /// across segments, durably (it syncs before returning), so that the
    /// next append gets offset `from`. With `from` at or below the lowest
    /// offset the log becomes empty, and its next offset is `from`. A
    /// `from` at or past the next offset changes nothing.
    pub fn truncate_suffix(&mut self, from: u64) -> Result<()> {
        self.writable()?;
        if from >= self.next_offset() {
            return Ok(());
        }
        self.rewind(from);
        let cut = self.cut_suffix(from);
        self.guard(cut)?;
        self.sync()?;
        self.notify();
        Ok(())
    }

    fn cut_suffix(&mut self, from: u64) -> Result<()> {
        while self.segments.len() > 1 && self.active()?.base >= from {
            if let Some(segment) = self.segments.pop() {
                let base = segment.base;
                drop(segment);
                self.dir_dirty = true;
                remove_files(&self.storage, base)?;
            }
        }
        let active = self.active_mut()?;
        if active.base <= from {
            let keep = from - active.base;
            return active.truncate(keep);
        }
        // Everything goes and the log restarts below its old base: create the
        // new segment first so that a crash never leaves no segment. Until
        // the old segment's removal lands, a crash can leave the new one in
        // a sealed position with its header unwritten, which recovery would
        // take for a damaged file; a durable marker, made before the new
        // segment exists, tells it otherwise.
        let old = active.base;
        let marker = cut_marker_name(from);
        drop(self.storage.create(&marker, MARKER_HINT)?);
        self.storage.sync_dir()?;
        let segment = Segment::create(&self.storage, &self.config, from, HeaderSync::Now)?;
        self.segments.push(Slot::open(segment));
        self.segments.remove(0);
        self.dir_dirty = true;
        self.removal_barrier()?;
        self.dir_dirty = true;
        remove_files(&self.storage, old)?;
        // Its removal need not be durable at once (the sync before the cut
        // returns makes it so): the marker only excuses an unwritten header
        // at `from`, and the new segment's header is synced.
        Ok(self.storage.remove(&marker)?)
    }

    /// Closes the log cleanly: syncs, then closes every file (a backend that
    /// preallocates trims its files). Dropping a log without closing it is an
    /// unclean shutdown, which the next open recovers from.
    pub fn close(mut self) -> Result<()> {
        let synced = if self.poisoned.is_none() {
            self.sync()
        } else {
            self.writable()
        };
        let mut closed = Ok(());
        for segment in self.segments.drain(..) {
            if let Err(e) = segment.close() {
                closed = closed.and(Err(e));
            }
        }
        synced.and(closed)
    }

    fn remove_all(&mut self) -> Result<()> {
        let bases: Vec<u64> = self.segments.iter().map(|s| s.base).collect();
        self.segments.clear();
        for base in bases.into_iter().rev() {
            remove_files(&self.storage, base)?;
        }
        // A marker a failed cut left behind.
        for name in self.storage.list()? {
            if parse_cut_marker(&name).is_some() {
                self.storage.remove(&name)?;
            }
        }
        self.storage.sync_dir()?;
        Ok(())
    }

    /// Deletes every record and file of the log.
    pub fn remove(mut self) -> Result<()> {
        self.remove_all()
    }

    /// Deletes every record and starts again, empty, at the config's
    /// initial offset. Clears a poisoned state when it succeeds; a failure
    /// poisons the log (it may be left with no segment at all), and only a
    /// reset that succeeds or a reopen makes it writable again.
    pub fn reset(&mut self) -> Result<()> {
        match self.start_over() {
            Ok(()) => {
                self.notify();
                Ok(())
            }
            Err(e) => {
                self.poisoned = Some(match &e {
                    Error::Storage(cause) | Error::Poisoned(cause) => cause.clone(),
                    other => StorageError::new(StorageErrorKind::Other, format!("{other}")),
                });
                Err(e)
            }
        }
    }

    fn start_over(&mut self) -> Result<()> {
        self.rewind(self.config.initial_offset);
        self.remove_all()?;
        let base = self.config.initial_offset;
        self.segments.push(Slot::open(Segment::create(
            &self.storage,
            &self.config,
            base,
            HeaderSync::Now,
        )?));
        self.dir_dirty = true;
        self.poisoned = None;
        self.unsynced_bytes = 0;
        self.sync()
    }

    /// Rewrites from its store the index of every segment where an index
    /// entry contradicts the store's frames while every record checks (a
    /// damaged middle entry, left by a torn unsynced index page or by the
    /// media: reads go around it through the store, [`Log::verify`]
    /// reports it, and the fast check of an open looks at the last entry
    /// only), then syncs. A segment with a corrupt record is left as it is:
    /// its reads report the record, and [`Log::truncate`] or
    /// [`Log::truncate_suffix`] remove it. Reads every record of every
    /// segment; returns what was rebuilt. A failure poisons the log.
    pub fn repair_indexes(&mut self) -> Result<Vec<Repair>> {
        self.writable()?;
        let mut repairs = Vec::new();
        for i in 0..self.segments.len() {
            if !self.slot_segment(i)?.index_contradicts_intact_store()? {
                continue;
            }
            let Some(segment) = self.segments[i].take() else {
                continue;
            };
            // On failure the slot stays unopened: its next use opens it
            // again, with the checks of a first use.
            let rebuilt = segment.rebuild_index(&mut repairs);
            self.segments[i] = Slot::open(self.guard(rebuilt)?);
        }
        if !repairs.is_empty() {
            self.sync()?;
        }
        Ok(repairs)
    }

    /// Reads every record, checking its checksum, and checks that index
    /// entries follow each other in the store. Returns every problem found
    /// (at most `limit`); an empty list means the log is intact.
    pub fn verify(&self, limit: usize) -> Vec<Error> {
        let mut problems = Vec::new();
        for i in 0..self.segments.len() {
            if problems.len() >= limit {
                return problems;
            }
            // A sealed segment not opened since a clean close is opened
            // here; one that fails its checks is a problem of its own.
            let segment = match self.slot_segment(i) {
                Ok(segment) => segment,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            // Where the previous frame ends, while the chain is unbroken.
            let mut expected = Some(HEADER_LEN);
            for i in 0..segment.count {
                if problems.len() >= limit {
                    return problems;
                }
                let offset = segment.base + i;
                let entry = match segment.entry(i) {
                    Ok(entry) => entry,
                    Err(e) => {
                        problems.push(e);
                        expected = None;
                        continue;
                    }
                };
                if let Some(at) = expected.filter(|&at| at != entry.pos) {
                    if segment.store.read(at, offset).is_ok() {
                        // The record is whole where the chain says: only
                        // the entry is damaged (a torn unsynced index page),
                        // and reads find the record through the store.
                        problems.push(Error::Corrupt {
                            segment: segment.base,
                            offset: Some(offset),
                            reason: format!(
                                "index entry points to {} but the record is intact at {at}, \
                                 where the previous one ends: the entry is damaged",
                                entry.pos
                            ),
                        });
                        expected = segment
                            .store
                            .frame_end(at, offset)
                            .ok()
                            .map(|(header, _)| at + header.frame_len());
                        continue;
                    }
                    problems.push(Error::Corrupt {
                        segment: segment.base,
                        offset: Some(offset),
                        reason: format!(
                            "index entry points to {} but the previous record ends at {}",
                            entry.pos,
                            expected.unwrap_or_default()
                        ),
                    });
                }
                if let Err(e) = segment.store.read(entry.pos, offset) {
                    problems.push(e);
                }
                expected = segment
                    .store
                    .frame_end(entry.pos, offset)
                    .ok()
                    .map(|(header, _)| entry.pos + header.frame_len());
            }
            let store_len = segment.store.len();
            if let Some(end) = expected.filter(|&end| end != store_len && problems.len() < limit) {
                problems.push(Error::Corrupt {
                    segment: segment.base,
                    offset: None,
                    reason: format!("store holds {store_len} bytes but its records end at {end}"),
                });
            }
            let index_len = segment.index.file.len();
            if problems.len() < limit && index_len != entry_pos(segment.count) {
                problems.push(Error::Corrupt {
                    segment: segment.base,
                    offset: None,
                    reason: format!(
                        "index holds {index_len} bytes for {} records",
                        segment.count
                    ),
                });
            }
        }
        problems
    }
}
