//! A file appended through a buffer, read from a read-only map of it.
//!
//! The file's content is `disk` (its first `disk_len` bytes on disk) followed
//! by `buf` (appended bytes not yet written). Reads see both, so a record is
//! readable as soon as it is appended. Bytes on disk are borrowed from the
//! map when there is one, and copied with positional reads otherwise; bytes
//! in the buffer are borrowed from it; a read spanning both is copied. A
//! writer's file is mapped (read-only, at its capacity) on first real use,
//! not on open (see [`super::map`], "When a file is mapped"): the first
//! borrowing read maps it, and the few copying reads of a reopen's check
//! are positional.
//!
//! In *writer* mode (the stores and indexes of a locked log) `flush` writes
//! the buffer at `disk_len`, and the buffer writes itself out when it
//! reaches the next [`ALIGN`] boundary of the file: handed to the storage's
//! write-behind thread ([`super::write_behind`]) when it has one, the
//! appends going on into a second buffer meanwhile. The bytes in flight
//! are `unwritten`, between `disk` and `buf`, readable like the buffer;
//! they land (are counted in `disk_len`) before this file hands over more,
//! writes anything itself, is truncated below them, synced or dropped;
//! until the flight lands, a buffer that fills grows instead of waiting (up
//! to [`GROW_LIMIT`]), and keeps that size for the next time. A
//! `sync_barrier` (a new store's header) is kept by whichever write first
//! reaches it: that write syncs the file after the bytes before the
//! barrier, before the rest. In
//! *overlay* mode
//! (every file of a read-only log) nothing is ever written: appends and
//! truncations change only what this handle shows.

use std::borrow::Cow;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

use dislog_core::{pushed_bytes, FileSyncer, StorageError};
use memmap2::Mmap;

use super::error::{eof, io_error};
use super::map::{map_len, map_read, LazyMap};
use super::prealloc::Preallocation;
use super::reserve::Reservation;
use super::write_behind::{write_ordered, Flight, Then, WriteBehind};

/// Size of the append buffer of a file (smaller when the file's capacity is
/// smaller).
pub(crate) const APPEND_BUFFER: usize = 256 << 10;

/// A writer's buffer is written out when it reaches a multiple of this many
/// bytes of the file (or `buf_cap` bytes, whichever comes first), the frame
/// that crosses the boundary split there: the page cache then receives
/// whole, aligned writes, which it keeps in large folios. Writes of 253 KiB
/// at unaligned positions ran at ~2.0 GB/s on the development VM (ext4,
/// Linux 6.18), aligned 256 KiB writes at ~3.4 GB/s.
const ALIGN: u64 = APPEND_BUFFER as u64;

/// Room a writer's buffer has past the point where it is written out, for
/// the frame that crosses it (at most this, or `buf_cap`, if smaller).
const SLACK: usize = 64 << 10;

/// Most bytes a writer's buffer grows to while the buffer before it is
/// still being written behind (the thread busy with a roll's header sync,
/// say, or a write held up by the kernel), before its appends wait for it.
const GROW_LIMIT: usize = 4 << 20;

/// Writer or overlay; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Buffered writes to the file.
    Writer,
    /// Writes stay in memory; the file is never changed.
    Overlay,
}

/// See the module docs.
#[derive(Debug)]
pub(crate) struct BufferedFile {
    path: PathBuf,
    /// `None` for a file created by a read-only log (it exists only here).
    /// Shared with the write-behind thread while a buffer is in flight.
    file: Option<Arc<File>>,
    /// A map of the file, made on first real use (writer mode only; never
    /// in overlay mode); only its first `disk_len` bytes are ever read.
    map: LazyMap<Mmap>,
    disk_len: u64,
    /// The length the file will grow to, which the map covers.
    capacity: u64,
    /// Content after `disk_len` that is not in `buf`: a buffer in flight,
    /// or one whose write failed.
    unwritten: Unwritten,
    /// Content position of `buf`'s first byte: `disk_len` plus the
    /// unwritten bytes, kept so that the appends' length checks do not
    /// look at `unwritten` (87 instructions an append, callgrind).
    buf_start: u64,
    buf: Vec<u8>,
    /// The buffer is flushed before it would grow past this (writer mode).
    buf_cap: usize,
    mode: Mode,
    /// How the file's blocks are allocated ahead of its content (writer
    /// mode).
    ahead: Ahead,
    /// The storage's write-behind thread (writer mode), see
    /// [`BufferedFile::write_behind`].
    behind: Option<Arc<WriteBehind>>,
    /// The buffer that landed last, to append into after the next hand-over.
    spare: Vec<u8>,
    /// Content position up to which every byte is made durable before any
    /// byte from it on is written ([`BufferedFile::sync_barrier`]); `None`
    /// once the write that reached it has synced them.
    barrier: Option<u64>,
}

/// See [`BufferedFile::unwritten`].
#[derive(Debug, Default)]
enum Unwritten {
    /// Nothing: `buf` starts at `disk_len`.
    #[default]
    Nothing,
    /// Being written by the write-behind thread.
    Flying(Flight),
    /// Its write failed; written again before anything else.
    Failed(Vec<u8>),
}

/// How a writer's file gets its blocks ahead of its content.
#[derive(Debug)]
enum Ahead {
    /// Reserved past the file's length, ahead of the writes (a store).
    Reserve(Reservation),
    /// The file itself extended ahead of the appends, zero-filled (an
    /// index, see [`super::prealloc`]).
    Preallocate(Preallocation),
}

impl BufferedFile {
    /// Wraps `file`, whose first `disk_len` bytes are its content.
    /// `capacity` is the length the file will grow to (the map's length)
    /// and bounds the append buffer's size. A writer's file is mapped on
    /// first real use, an overlay's never.
    pub fn new(
        path: PathBuf,
        file: Option<File>,
        disk_len: u64,
        capacity: u64,
        mode: Mode,
    ) -> Self {
        let buf_cap = usize::try_from(capacity).map_or(APPEND_BUFFER, |c| c.min(APPEND_BUFFER));
        let map = match (&file, mode) {
            (Some(_), Mode::Writer) => LazyMap::lazy(),
            _ => LazyMap::never(),
        };
        Self {
            path,
            file: file.map(Arc::new),
            map,
            disk_len,
            capacity,
            unwritten: Unwritten::Nothing,
            buf_start: disk_len,
            buf: Vec::new(),
            buf_cap: buf_cap.max(1),
            mode,
            ahead: Ahead::Reserve(Reservation::new(disk_len, capacity)),
            behind: None,
            spare: Vec::new(),
            barrier: None,
        }
    }

    /// This writer's full buffers handed to `behind` to write (see
    /// [`super::write_behind`]) instead of written out by the appending
    /// thread.
    pub fn write_behind(mut self, behind: Arc<WriteBehind>) -> Self {
        if self.mode == Mode::Writer && self.file.is_some() {
            self.behind = Some(behind);
        }
        self
    }

    /// The bytes between the disk part and the buffer.
    fn unwritten(&self) -> &[u8] {
        match &self.unwritten {
            Unwritten::Nothing => &[],
            Unwritten::Flying(flight) => flight.bytes(),
            Unwritten::Failed(bytes) => bytes,
        }
    }

    /// Content position of the buffer's first byte.
    #[inline]
    fn buf_start(&self) -> u64 {
        debug_assert_eq!(
            self.buf_start,
            self.disk_len + self.unwritten().len() as u64
        );
        self.buf_start
    }

    /// Lands the unwritten bytes: waits for a flight, writes again what
    /// failed. Afterwards the buffer starts at `disk_len`, or the error is
    /// returned and every byte is still content.
    fn settle(&mut self) -> Result<(), StorageError> {
        let (bytes, outcome) = match std::mem::take(&mut self.unwritten) {
            Unwritten::Nothing => return Ok(()),
            Unwritten::Flying(flight) => flight.land(),
            Unwritten::Failed(bytes) => {
                let outcome = match &self.file {
                    Some(file) => write_ordered(
                        file,
                        &bytes,
                        self.disk_len,
                        self.sync_after(self.disk_len, bytes.len()),
                    ),
                    None => Ok(()),
                };
                (bytes, outcome)
            }
        };
        match outcome {
            Ok(()) => {
                self.disk_len += bytes.len() as u64;
                self.passed_barrier();
                self.spare = bytes;
                self.spare.clear();
                Ok(())
            }
            Err(e) => {
                self.unwritten = Unwritten::Failed(bytes);
                Err(io_error(e, "writing", &self.path))
            }
        }
    }

    /// The sync a write of `len` bytes at `pos` makes after its first bytes
    /// (`Some(k)`: after `k`): one when it reaches the barrier.
    fn sync_after(&self, pos: u64, len: usize) -> Option<usize> {
        let barrier = self.barrier?;
        let end = pos.saturating_add(len as u64);
        (end >= barrier).then(|| usize::try_from(barrier.saturating_sub(pos)).unwrap_or(len))
    }

    /// After a write ending at `disk_len`: the barrier is gone once the
    /// write reached it (it synced what came before).
    fn passed_barrier(&mut self) {
        if self.barrier.is_some_and(|b| b <= self.disk_len) {
            self.barrier = None;
        }
    }

    /// The size a writer's buffer is allocated at: `buf_cap` and its slack.
    fn full_size(&self) -> usize {
        self.buf_cap + SLACK.min(self.buf_cap)
    }

    /// Whether the appends go on into the buffer, grown, instead of waiting
    /// for the buffer in flight ([`GROW_LIMIT`]) when `more` bytes come.
    fn grows(&self, more: usize) -> bool {
        matches!(&self.unwritten, Unwritten::Flying(flight) if !flight.is_over())
            && self.buf_cap == APPEND_BUFFER
            && self.buf.len().saturating_add(more) <= GROW_LIMIT
    }

    /// This writer's file extended ahead of its appends, zero-filled (an
    /// index; see [`super::prealloc`]) instead of reserving blocks past
    /// its length.
    pub fn preallocated(mut self) -> Self {
        if self.mode == Mode::Writer && self.file.is_some() {
            self.ahead = Ahead::Preallocate(Preallocation::new(self.disk_len, self.capacity));
        }
        self
    }

    /// Before the content grows by `len` bytes: a preallocated file is
    /// extended first when it is too short.
    #[inline]
    fn before_append(&mut self, len: usize) -> Result<(), StorageError> {
        let end = self.len().saturating_add(len as u64);
        if let Ahead::Preallocate(p) = &self.ahead {
            if p.must_grow(end) {
                return self.grow_preallocation(end);
            }
        }
        Ok(())
    }

    /// Extends a preallocated file for content of `end` bytes, once what is
    /// in flight landed (a cut left to the write-behind thread at a seal
    /// must not come after it).
    #[cold]
    #[inline(never)]
    fn grow_preallocation(&mut self, end: u64) -> Result<(), StorageError> {
        self.settle()?;
        if let (Ahead::Preallocate(p), Some(file)) = (&mut self.ahead, &self.file) {
            p.before_append(file, &self.path, end)?;
        }
        Ok(())
    }

    fn check(&self, pos: u64, len: usize) -> Result<u64, StorageError> {
        match pos.checked_add(len as u64) {
            Some(end) if end <= self.len() => Ok(end),
            _ => Err(eof(&self.path, pos, len, self.len())),
        }
    }

    /// Maps the file (read-only, at its capacity or its length if longer).
    fn make_map(&self) -> Option<Mmap> {
        let file = self.file.as_ref()?;
        map_read(file, map_len(self.capacity, self.disk_len)?)
    }

    /// The bytes at `pos..end` (below `disk_len`) from `map`, if there is
    /// one and it covers them.
    fn mapped(map: Option<&Mmap>, pos: u64, end: u64) -> Option<&[u8]> {
        let map = map?;
        // `end <= disk_len`; when it is within the map both fit in usize.
        (end <= map.len() as u64).then(|| &map[pos as usize..end as usize])
    }

    /// Copies `out.len()` bytes at `pos` (below `disk_len`) from `map` or,
    /// where it has none, from the file.
    fn read_disk(&self, map: Option<&Mmap>, pos: u64, out: &mut [u8]) -> Result<(), StorageError> {
        if let Some(bytes) = Self::mapped(map, pos, pos + out.len() as u64) {
            out.copy_from_slice(bytes);
            return Ok(());
        }
        match &self.file {
            Some(file) => file
                .read_exact_at(out, pos)
                .map_err(|e| io_error(e, "reading", &self.path)),
            None => Err(eof(&self.path, pos, out.len(), 0)),
        }
    }

    /// The buffered bytes from content position `pos` (at least
    /// `buf_start`).
    fn buffered(&self, pos: u64, len: usize) -> &[u8] {
        // `check` ran: pos - buf_start + len <= buf.len(), so this fits.
        let start = (pos - self.buf_start()) as usize;
        &self.buf[start..start + len]
    }

    /// The unwritten bytes from content position `pos` (at least
    /// `disk_len`) when all `len` of them are unwritten.
    fn in_flight(&self, pos: u64, len: usize) -> Option<&[u8]> {
        let start = usize::try_from(pos - self.disk_len).ok()?;
        self.unwritten().get(start..start.checked_add(len)?)
    }

    /// Content length: disk part, unwritten bytes, buffer.
    pub fn len(&self) -> u64 {
        self.buf_start() + self.buf.len() as u64
    }

    /// The content that can be lent as it is (`StorageFile::resident`):
    /// the bytes on disk once the map is made, or the buffer while nothing
    /// is on disk.
    #[inline]
    pub fn resident(&self) -> Option<&[u8]> {
        if self.buf_start() == 0 {
            return Some(&self.buf);
        }
        self.map.get()?.get(..usize::try_from(self.disk_len).ok()?)
    }

    /// Fills `out` with the content at `pos`.
    pub fn read_into(&self, pos: u64, out: &mut [u8]) -> Result<(), StorageError> {
        let end = self.check(pos, out.len())?;
        if pos >= self.buf_start() {
            out.copy_from_slice(self.buffered(pos, out.len()));
            return Ok(());
        }
        let map = if pos < self.disk_len {
            self.map.for_copy(|| self.make_map())
        } else {
            None
        };
        self.copy_out(map, pos, end, out)
    }

    /// Fills `out` with the content at `pos..end`, which starts below
    /// `buf_start`, reading the disk part from `map` where it covers it.
    fn copy_out(
        &self,
        map: Option<&Mmap>,
        pos: u64,
        end: u64,
        out: &mut [u8],
    ) -> Result<(), StorageError> {
        let on_disk = end.min(self.disk_len).saturating_sub(pos) as usize;
        let (head, rest) = out.split_at_mut(on_disk);
        if !head.is_empty() {
            self.read_disk(map, pos, head)?;
        }
        // `check` ran, so the rest is content: unwritten, then buffered.
        let from = pos.max(self.disk_len);
        let unwritten = self.unwritten();
        let skip = (from - self.disk_len) as usize;
        let flying = (unwritten.len() - skip).min(rest.len());
        let (middle, tail) = rest.split_at_mut(flying);
        middle.copy_from_slice(&unwritten[skip..skip + flying]);
        tail.copy_from_slice(self.buffered(self.buf_start(), tail.len()));
        Ok(())
    }

    /// The content at `pos..pos + len`: borrowed when it lies in the map or
    /// in the buffer.
    pub fn read_at(&self, pos: u64, len: usize) -> Result<Cow<'_, [u8]>, StorageError> {
        let end = self.check(pos, len)?;
        if pos >= self.buf_start() {
            return Ok(Cow::Borrowed(self.buffered(pos, len)));
        }
        if pos >= self.disk_len {
            if let Some(bytes) = self.in_flight(pos, len) {
                return Ok(Cow::Borrowed(bytes));
            }
            let mut out = vec![0; len];
            self.copy_out(None, pos, end, &mut out)?;
            return Ok(Cow::Owned(out));
        }
        let map = self.map.for_borrow(|| self.make_map());
        if end <= self.disk_len {
            if let Some(bytes) = Self::mapped(map, pos, end) {
                return Ok(Cow::Borrowed(bytes));
            }
        }
        let mut out = vec![0; len];
        self.copy_out(map, pos, end, &mut out)?;
        Ok(Cow::Owned(out))
    }

    /// Appends `data`, writing the buffer out first when it would overflow.
    /// A writer's buffer is allocated once, at its full size, on the first
    /// append: later appends never allocate.
    pub fn append(&mut self, data: &[u8]) -> Result<(), StorageError> {
        self.before_append(data.len())?;
        if self.make_room(data.len())? {
            self.buf.extend_from_slice(data);
            self.pushed();
            Ok(())
        } else {
            self.write_out(data)
        }
    }

    /// Bytes of the buffer to write out once it holds them: up to the
    /// file's next multiple of [`ALIGN`], at most `buf_cap`.
    #[inline]
    fn threshold(&self) -> usize {
        let to_boundary = ALIGN - self.buf_start() % ALIGN;
        usize::try_from(to_boundary).map_or(self.buf_cap, |b| b.min(self.buf_cap))
    }

    /// After an append to the buffer: writes it out if it reached its
    /// threshold.
    #[inline]
    fn pushed(&mut self) {
        if self.mode == Mode::Writer && self.buf.len() >= self.threshold() {
            self.write_aligned();
        }
    }

    /// Writes out the buffer's first [`BufferedFile::threshold`] bytes, as
    /// long as it holds them, and keeps the rest (part of one frame, as a
    /// rule). The append that got here has already succeeded (its bytes
    /// are in the buffer, readable): when a write fails, every byte stays in
    /// the buffer and the next flush, which comes before an append that
    /// does not fit or with `flush` or `sync`, writes them or reports the
    /// error.
    ///
    /// With a write-behind thread, the bytes are handed over instead (once
    /// the previous flight landed) and the rest moved to the spare buffer.
    #[cold]
    #[inline(never)]
    fn write_aligned(&mut self) {
        if self.grows(0) {
            return;
        }
        if self.settle().is_err() {
            return;
        }
        if self.behind.is_some() && self.hand_over().is_ok() {
            return;
        }
        loop {
            let n = self.threshold();
            if self.buf.len() < n {
                return;
            }
            let buf = std::mem::take(&mut self.buf);
            let written = self.write_out(&buf[..n]);
            self.buf = buf;
            if written.is_err() {
                return;
            }
            self.buf.drain(..n);
        }
    }

    /// [`BufferedFile::write_aligned`] through the write-behind thread,
    /// nothing being unwritten: `Err` where the appending thread is to write
    /// instead (no memory for the second buffer). Where the thread cannot
    /// be started, the bytes are written here.
    fn hand_over(&mut self) -> Result<(), ()> {
        let mut n = self.threshold();
        if self.buf.len() < n {
            return Ok(());
        }
        if self.buf_cap == APPEND_BUFFER {
            // A grown buffer goes up to its last boundary.
            n += (self.buf.len() - n) / APPEND_BUFFER * APPEND_BUFFER;
        }
        let sync_after = self.sync_after(self.disk_len, n);
        let (Some(behind), Some(file)) = (&self.behind, &self.file) else {
            return Err(());
        };
        let full = self.full_size();
        // A grown buffer that landed is kept as it is (and passed on at a
        // roll): the next time the flight is held up, the appends go on in
        // pages already touched. Growing a buffer again faulted in fresh
        // ones: batches of 64 took ~9 % longer.
        let mut next = std::mem::take(&mut self.spare);
        if next.capacity() == 0 {
            next = behind.spare(full).unwrap_or_default();
        }
        let rest = &self.buf[n..];
        next.clear();
        next.try_reserve_exact(full.max(rest.len())).map_err(drop)?;
        next.extend_from_slice(rest);
        self.buf.truncate(n);
        let bytes = std::mem::replace(&mut self.buf, next);
        self.buf_start += n as u64;
        let reserve = match &mut self.ahead {
            Ahead::Reserve(r) => r.plan(file, self.disk_len + n as u64),
            Ahead::Preallocate(_) => None,
        };
        let then = Then {
            sync_after,
            cut_to: None,
            reserve,
        };
        match behind.hand_over(file, self.disk_len, bytes, then) {
            Ok(flight) => self.unwritten = Unwritten::Flying(flight),
            Err(bytes) => {
                self.unwritten = Unwritten::Failed(bytes);
                // Kept unwritten when this fails, for the next flush.
                let _ = self.settle();
            }
        }
        Ok(())
    }

    /// Appends the `len` bytes `write` pushes, straight into the buffer
    /// when they fit in it (see `StorageFile::append_with`).
    #[inline(always)]
    pub fn append_with<W: FnOnce(&mut Vec<u8>)>(
        &mut self,
        len: usize,
        write: W,
    ) -> Result<(), StorageError> {
        self.before_append(len)?;
        if self.make_room(len)? {
            write(&mut self.buf);
            self.pushed();
            return Ok(());
        }
        self.write_out(&pushed_bytes(len, write)?)
    }

    /// Makes room in the buffer for `len` more bytes. `false` (writer mode
    /// only, after a flush) when they are at least a whole buffer: the
    /// caller writes them out directly.
    #[inline]
    fn make_room(&mut self, len: usize) -> Result<bool, StorageError> {
        // The common case: a writer's buffer (allocated at `buf_cap` plus
        // its slack) has room.
        if self.mode == Mode::Writer && len <= self.buf.capacity() - self.buf.len() {
            return Ok(true);
        }
        self.make_more_room(len)
    }

    /// [`BufferedFile::make_room`] when the buffer has no room yet: it is
    /// flushed, allocated, or grown (an overlay's).
    #[cold]
    #[inline(never)]
    fn make_more_room(&mut self, len: usize) -> Result<bool, StorageError> {
        let reserved = match self.mode {
            Mode::Writer => {
                if self.grows(len) {
                    let want =
                        (2 * self.buf.capacity()).clamp(self.buf.len() + len, GROW_LIMIT + SLACK);
                    return self
                        .buf
                        .try_reserve_exact(want - self.buf.len())
                        .map(|()| true)
                        .map_err(|_| StorageError::out_of_memory());
                }
                if self.buf.len() + len > self.buf_cap && self.buf.len() >= self.threshold() {
                    // A buffer grown while its flight was out: what is
                    // aligned goes behind now that it landed.
                    self.write_aligned();
                }
                if self.buf.len() + len > self.buf_cap {
                    self.flush()?;
                    if len >= self.buf_cap {
                        return Ok(false);
                    }
                }
                let full = self.full_size();
                if self.buf.capacity() == 0 {
                    if let Some(spare) = self.behind.as_ref().and_then(|b| b.spare(full)) {
                        self.buf = spare;
                    }
                }
                self.buf
                    .try_reserve_exact(full.saturating_sub(self.buf.len()))
            }
            Mode::Overlay => self.buf.try_reserve(len),
        };
        reserved.map_err(|_| StorageError::out_of_memory())?;
        Ok(true)
    }

    /// Writes `data` at `disk_len` (writer mode only; nothing unwritten).
    fn write_out(&mut self, data: &[u8]) -> Result<(), StorageError> {
        if let Some(file) = &self.file {
            if let Ahead::Reserve(r) = &mut self.ahead {
                r.before_write(file, self.disk_len + data.len() as u64);
            }
            let sync_after = self.sync_after(self.disk_len, data.len());
            write_ordered(file, data, self.disk_len, sync_after)
                .map_err(|e| io_error(e, "writing", &self.path))?;
            self.disk_len += data.len() as u64;
            self.passed_barrier();
            // Nothing is unwritten here; the caller drops `data` from the
            // buffer before it looks at the content again.
            self.buf_start = self.disk_len;
        }
        Ok(())
    }

    /// Cuts the content to `len` bytes: the file is cut too, or, when it is
    /// preallocated, the cut bytes are zeroed and the blocks kept.
    pub fn truncate(&mut self, len: u64) -> Result<(), StorageError> {
        if let Some(barrier) = &mut self.barrier {
            *barrier = (*barrier).min(len);
        }
        if len < self.buf_start() {
            self.settle()?;
        }
        if len >= self.buf_start() {
            let keep = usize::try_from(len - self.buf_start()).unwrap_or(usize::MAX);
            self.buf.truncate(keep);
            return Ok(());
        }
        self.buf.clear();
        if self.mode == Mode::Writer {
            if let Some(file) = &self.file {
                match &mut self.ahead {
                    Ahead::Reserve(r) => {
                        file.set_len(len)
                            .map_err(|e| io_error(e, "truncating", &self.path))?;
                        r.cut(len);
                    }
                    Ahead::Preallocate(p) => p.zero(file, &self.path, len, self.disk_len)?,
                }
            }
        }
        self.disk_len = len;
        self.buf_start = len;
        Ok(())
    }

    /// Writes the buffer to the file (writer mode; a no-op for an overlay).
    pub fn flush(&mut self) -> Result<(), StorageError> {
        self.settle()?;
        if self.mode == Mode::Writer && !self.buf.is_empty() {
            let buf = std::mem::take(&mut self.buf);
            let written = self.write_out(&buf);
            self.buf = buf;
            written?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Seals the file ([`BufferedFile::seal`]) and, when that trimmed a
    /// preallocation, syncs the new length: a cleanly closed file has
    /// exactly its content.
    pub fn close(&mut self) -> Result<(), StorageError> {
        if self.seal()? {
            if let Some(file) = &self.file {
                file.sync_data()
                    .map_err(|e| io_error(e, "syncing", &self.path))?;
            }
        }
        Ok(())
    }

    /// Flushes and gives back what the file held for appends: the buffer's
    /// memory, the blocks reserved past the content, a preallocation (the
    /// file trimmed to its content; whether there was one to trim is
    /// returned). Appends still work afterwards; they allocate and reserve
    /// again.
    pub fn seal(&mut self) -> Result<bool, StorageError> {
        self.flush()?;
        if self.mode == Mode::Writer {
            self.buf = Vec::new();
            self.spare = Vec::new();
        }
        let trimmed = match (&mut self.ahead, &self.file) {
            (Ahead::Preallocate(p), Some(file)) => p.trim(file, &self.path, self.disk_len)?,
            _ => false,
        };
        self.release();
        Ok(trimmed)
    }

    /// [`BufferedFile::seal`] at a roll (`StorageFile::seal`): with a
    /// write-behind thread, the cut of the file to its content is left to
    /// it, best effort, and lands, like a flight, before anything else
    /// writes to the file or changes its length (the `ftruncate` of a
    /// preallocated index took 0.2–0.5 ms of each roll on the development
    /// VM). Its length is made durable by the next sync, as a cut here
    /// would be, and the log's next flush lands it. A file whose buffer is
    /// smaller than [`APPEND_BUFFER`] (a small segment) is sealed here, as
    /// before: its cut is cheap, and its files stay as the roll left them.
    pub fn seal_for_roll(&mut self) -> Result<(), StorageError> {
        self.flush()?;
        let (Mode::Writer, Some(behind), Some(file), APPEND_BUFFER) =
            (self.mode, &self.behind, &self.file, self.buf_cap)
        else {
            return self.seal().map(drop);
        };
        let full = self.full_size();
        behind.keep_spare(std::mem::take(&mut self.buf), full, GROW_LIMIT + SLACK);
        behind.keep_spare(std::mem::take(&mut self.spare), full, GROW_LIMIT + SLACK);
        let len = self.disk_len;
        let cut = match &mut self.ahead {
            Ahead::Preallocate(p) => p.forget(len),
            Ahead::Reserve(r) => r.forget(len),
        };
        if !cut {
            return Ok(());
        }
        let then = Then {
            cut_to: Some(len),
            ..Then::default()
        };
        match behind.hand_over(file, len, Vec::new(), then) {
            Ok(flight) => self.unwritten = Unwritten::Flying(flight),
            // No thread: cut here, best effort as there.
            Err(_) => drop(file.set_len(len)),
        }
        Ok(())
    }

    /// Gives back the blocks reserved past the content (best effort). A
    /// preallocated file keeps its zero tail (only `close` and `seal` trim
    /// it).
    fn release(&mut self) {
        if let (Mode::Writer, Some(file), Ahead::Reserve(r)) =
            (self.mode, &self.file, &mut self.ahead)
        {
            r.release(file, self.disk_len);
        }
    }

    /// A second descriptor of a writer's file, whose `fdatasync` makes
    /// what was written to the file durable while this handle goes on
    /// taking appends (`StorageFile::syncer`). `None` for an overlay, or
    /// when the descriptor cannot be duplicated (the caller then syncs
    /// through [`BufferedFile::sync`]).
    pub fn syncer(&self) -> Option<Box<dyn FileSyncer>> {
        if self.mode != Mode::Writer {
            return None;
        }
        let file = self.file.as_ref()?.try_clone().ok()?;
        Some(Box::new(DataSync {
            file,
            path: self.path.clone(),
        }))
    }

    /// Makes the content so far durable before any later byte is written
    /// (`StorageFile::sync_barrier`). With a write-behind thread the
    /// barrier is only noted: the write that reaches it, on whichever
    /// thread, syncs the file after the bytes before it and before the rest
    /// ([`write_ordered`]), and the appends meanwhile go on into the buffer
    /// (grown up to [`GROW_LIMIT`] while that write is in flight). Without
    /// one, [`BufferedFile::sync`].
    pub fn sync_barrier(&mut self) -> Result<(), StorageError> {
        if self.behind.is_none() {
            return self.sync();
        }
        self.barrier = Some(self.len());
        Ok(())
    }

    /// Flushes and makes the file's content durable (`fdatasync`).
    pub fn sync(&mut self) -> Result<(), StorageError> {
        self.flush()?;
        if let (Mode::Writer, Some(file)) = (self.mode, &self.file) {
            file.sync_data()
                .map_err(|e| io_error(e, "syncing", &self.path))?;
        }
        Ok(())
    }

    /// Flushes and makes the file's first `len` bytes durable without the
    /// rest of its content (`StorageFile::sync_prefix`): writes them again,
    /// unchanged, with `RWF_DSYNC` ([`write_dsync`]), the POSIX `O_DSYNC`
    /// guarantee for that one write. On ext4 that writes their page and the
    /// inode, where `fdatasync` writes every dirty page of the file: the
    /// first roll after an unclean open of a log left with 62 MB unsynced
    /// took 37.0–41.9 ms that way on the development VM, 1.3–2.0 ms this way
    /// (the `stalls` example). `fdatasync` where the write cannot be made.
    pub fn sync_prefix(&mut self, len: u64) -> Result<(), StorageError> {
        self.flush()?;
        let (Mode::Writer, Some(file)) = (self.mode, &self.file) else {
            return Ok(());
        };
        let len = usize::try_from(len.min(self.disk_len)).unwrap_or(0);
        let mut prefix = vec![0; len];
        self.read_into(0, &mut prefix)?;
        if len > 0 && write_dsync(file, &prefix) {
            return Ok(());
        }
        file.sync_data()
            .map_err(|e| io_error(e, "syncing", &self.path))
    }
}

/// Writes `bytes` at the start of `file` with `pwritev2(RWF_DSYNC)`, which
/// returns once they and the metadata needed to read them back are on the
/// media; `false` where the kernel cannot (before Linux 4.7) or the write
/// failed or fell short.
#[cfg(all(target_os = "linux", not(target_os = "android")))]
fn write_dsync(file: &File, bytes: &[u8]) -> bool {
    use rustix::io::{pwritev2, ReadWriteFlags};
    let written = pwritev2(
        file,
        &[std::io::IoSlice::new(bytes)],
        0,
        ReadWriteFlags::DSYNC,
    );
    written.is_ok_and(|n| n == bytes.len())
}

/// Where `pwritev2` has no `RWF_DSYNC`: never.
#[cfg(not(all(target_os = "linux", not(target_os = "android"))))]
fn write_dsync(_file: &File, _bytes: &[u8]) -> bool {
    false
}

/// A file's own descriptor for `fdatasync` ([`BufferedFile::syncer`]).
struct DataSync {
    file: File,
    path: PathBuf,
}

impl FileSyncer for DataSync {
    fn sync(&self) -> Result<(), StorageError> {
        self.file
            .sync_data()
            .map_err(|e| io_error(e, "syncing", &self.path))
    }
}

impl Drop for BufferedFile {
    /// A dropped (not closed) writer still hands its buffer to the operating
    /// system, like `BufWriter`: dropping a log loses no acknowledged record
    /// unless the machine itself goes down. Errors are ignored here; the
    /// next open's recovery cuts whatever tail is torn.
    fn drop(&mut self) {
        if self.flush().is_ok() {
            self.release();
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::file::map::POSITIONAL_READS;
    use std::fs::OpenOptions;

    fn writer(dir: &std::path::Path, capacity: u64) -> BufferedFile {
        writer_of(dir.join("f.store"), capacity)
    }

    /// A writer of the file at `path` (created if missing), its whole length
    /// content.
    pub(crate) fn writer_of(path: PathBuf, capacity: u64) -> BufferedFile {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .unwrap();
        let len = file.metadata().unwrap().len();
        BufferedFile::new(path, Some(file), len, capacity, Mode::Writer)
    }

    fn on_disk(dir: &std::path::Path) -> Vec<u8> {
        std::fs::read(dir.join("f.store")).unwrap()
    }

    #[test]
    fn sync_prefix_writes_out_the_buffer_and_leaves_the_bytes_as_they_were() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = writer(tmp.path(), 1 << 20);
        f.append(b"HEADER--records").unwrap();
        assert!(on_disk(tmp.path()).is_empty(), "buffered");
        // The prefix is still in the buffer: it is written out first.
        f.sync_prefix(8).unwrap();
        assert_eq!(on_disk(tmp.path()), b"HEADER--records");
        f.append(b", more").unwrap();
        // Longer than the file: the whole file, unchanged.
        f.sync_prefix(1 << 10).unwrap();
        assert_eq!(on_disk(tmp.path()), b"HEADER--records, more");
        assert_eq!(f.len(), 21);
        assert_eq!(&*f.read_at(0, 21).unwrap(), b"HEADER--records, more");
    }

    #[test]
    fn an_overlay_syncs_no_prefix_and_changes_no_file() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("f.store"), b"on disk").unwrap();
        let path = tmp.path().join("f.store");
        let file = std::fs::File::open(&path).unwrap();
        let mut f = BufferedFile::new(path, Some(file), 7, 1 << 20, Mode::Overlay);
        f.append(b" and in memory").unwrap();
        f.sync_prefix(4).unwrap();
        assert_eq!(on_disk(tmp.path()), b"on disk");
    }

    #[test]
    fn append_with_writes_into_the_buffer_or_straight_out() {
        let tmp = tempfile::tempdir().unwrap();
        // A 16-byte buffer (the capacity bounds it) with 16 bytes of slack.
        let mut f = writer(tmp.path(), 16);
        f.append_with(5, |out| out.extend_from_slice(b"abcde"))
            .unwrap();
        assert!(on_disk(tmp.path()).is_empty(), "buffered");
        // Too large for the buffer: what was buffered is flushed first,
        // then the bytes are written out directly.
        f.append_with(40, |out| out.extend_from_slice(&[7; 40]))
            .unwrap();
        assert_eq!(on_disk(tmp.path()).len(), 45);
        // Buffered until the buffer holds 16 bytes, which are written out;
        // the rest of the append that crossed stays.
        f.append_with(12, |out| out.extend_from_slice(b"0123456789ab"))
            .unwrap();
        assert_eq!(on_disk(tmp.path()).len(), 45);
        f.append_with(8, |out| out.extend_from_slice(b"cdefghij"))
            .unwrap();
        assert_eq!(on_disk(tmp.path()).len(), 61);
        assert_eq!(f.len(), 65);
        assert_eq!(&*f.read_at(57, 8).unwrap(), b"cdefghij");
        f.flush().unwrap();
        let bytes = on_disk(tmp.path());
        assert_eq!(&bytes[..5], b"abcde");
        assert_eq!(&bytes[5..45], &[7; 40]);
        assert_eq!(&bytes[45..], b"0123456789abcdefghij");
    }

    #[test]
    fn a_seal_gives_the_buffer_back_and_appends_still_work() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = writer(tmp.path(), 1 << 20);
        f.append(b"abc").unwrap();
        assert!(f.buf.capacity() >= APPEND_BUFFER);
        f.seal().unwrap();
        assert_eq!(f.buf.capacity(), 0, "the buffer's memory is given back");
        assert_eq!(on_disk(tmp.path()), b"abc");
        f.append(b"de").unwrap();
        assert_eq!(&*f.read_at(1, 4).unwrap(), b"bcde");
        f.close().unwrap();
        assert_eq!(on_disk(tmp.path()), b"abcde");
    }

    #[test]
    fn writes_out_end_on_aligned_boundaries_of_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = writer(tmp.path(), 1 << 30);
        let frame = |i: u32| -> Vec<u8> { (0..1000).map(|j| (i + j) as u8).collect() };
        let mut all = Vec::new();
        for i in 0..600 {
            f.append(&frame(i)).unwrap();
            all.extend(frame(i));
            let disk = on_disk(tmp.path()).len() as u64;
            assert_eq!(disk % ALIGN, 0, "after append {i}");
            assert!(f.len() - disk < ALIGN, "after append {i}");
        }
        assert_eq!(on_disk(tmp.path()).len() as u64, 2 * ALIGN);
        // An explicit flush ends anywhere; the next write ends on a boundary
        // again.
        f.flush().unwrap();
        assert_eq!(on_disk(tmp.path()), all);
        for i in 600..800 {
            f.append(&frame(i)).unwrap();
            all.extend(frame(i));
        }
        assert_eq!(on_disk(tmp.path()).len() as u64, 3 * ALIGN);
        assert_eq!(&*f.read_at(0, all.len()).unwrap(), &all[..]);
    }

    #[test]
    fn buffered_bytes_are_readable_and_spanning_reads_are_copied() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = writer(tmp.path(), 1 << 20);
        f.append(b"hello ").unwrap();
        assert!(matches!(f.read_at(0, 5).unwrap(), Cow::Borrowed(b"hello")));
        assert!(on_disk(tmp.path()).is_empty());
        f.flush().unwrap();
        f.append(b"world").unwrap();
        assert_eq!(on_disk(tmp.path()), b"hello ");
        assert!(matches!(f.read_at(0, 5).unwrap(), Cow::Borrowed(b"hello")));
        assert!(matches!(f.read_at(6, 5).unwrap(), Cow::Borrowed(b"world")));
        let spanning = f.read_at(3, 6).unwrap();
        assert!(matches!(spanning, Cow::Owned(_)));
        assert_eq!(&*spanning, b"lo wor");
        assert!(f.read_at(8, 4).is_err());
        assert!(f.read_at(u64::MAX, 1).is_err());
    }

    #[test]
    fn a_full_buffer_is_written_and_large_appends_go_straight_through() {
        let tmp = tempfile::tempdir().unwrap();
        // Written out 100 bytes at a time; 100 bytes of slack.
        let mut f = writer(tmp.path(), 100);
        f.append(&[1; 60]).unwrap();
        assert!(on_disk(tmp.path()).is_empty());
        f.append(&[2; 60]).unwrap();
        assert_eq!(on_disk(tmp.path()).len(), 100);
        f.append(&[3; 150]).unwrap();
        assert_eq!(on_disk(tmp.path()).len(), 200);
        assert_eq!(f.len(), 270);
        // More than the buffer has room for: flushed, then written out.
        f.append(&[4; 300]).unwrap();
        assert_eq!(on_disk(tmp.path()).len(), 570);
        let mut out = [0; 3];
        f.read_into(119, &mut out).unwrap();
        assert_eq!(out, [2, 3, 3]);
        f.read_into(269, &mut out).unwrap();
        assert_eq!(out, [3, 4, 4]);
    }

    #[test]
    fn truncation_cuts_the_buffer_or_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = writer(tmp.path(), 1 << 20);
        f.append(&[1; 50]).unwrap();
        f.flush().unwrap();
        f.append(&[2; 50]).unwrap();
        f.truncate(80).unwrap();
        assert_eq!(f.len(), 80);
        f.truncate(20).unwrap();
        assert_eq!((f.len(), on_disk(tmp.path()).len()), (20, 20));
        f.append(&[3; 5]).unwrap();
        drop(f);
        assert_eq!(on_disk(tmp.path()), [&[1; 20][..], &[3; 5]].concat());
    }

    /// A writer of `f.store` in `dir` whose full buffers are handed to a
    /// write-behind thread of its own.
    fn writer_behind(dir: &std::path::Path, capacity: u64) -> BufferedFile {
        writer(dir, capacity).write_behind(Arc::new(WriteBehind::default()))
    }

    #[test]
    fn a_full_buffer_is_handed_over_readable_in_flight_and_lands_before_a_flush() {
        let tmp = tempfile::tempdir().unwrap();
        // Handed over 100 bytes at a time.
        let mut f = writer_behind(tmp.path(), 100);
        f.append(&[1; 60]).unwrap();
        f.append(&[2; 60]).unwrap();
        assert!(matches!(f.unwritten, Unwritten::Flying(_)));
        assert_eq!(f.unwritten().len(), 100);
        assert_eq!(f.len(), 120);
        // In flight: borrowed from the flight; across it and the buffer:
        // copied.
        let in_flight = f.read_at(50, 20).unwrap();
        assert!(matches!(in_flight, Cow::Borrowed(_)));
        assert_eq!(&*in_flight, &[[1; 10], [2; 10]].concat()[..]);
        let across = f.read_at(95, 10).unwrap();
        assert!(matches!(across, Cow::Owned(_)));
        assert_eq!(&*across, &[2; 10]);
        let mut out = [0; 3];
        f.read_into(99, &mut out).unwrap();
        assert_eq!(out, [2; 3]);
        // The next hand-over lands the first flight.
        f.append(&[3; 90]).unwrap();
        assert_eq!(f.disk_len, 100);
        assert_eq!(f.len(), 210);
        f.flush().unwrap();
        assert!(matches!(f.unwritten, Unwritten::Nothing));
        let expected = [vec![1; 60], vec![2; 60], vec![3; 90]].concat();
        assert_eq!(on_disk(tmp.path()), expected);
        assert_eq!(&*f.read_at(0, 210).unwrap(), &expected[..]);
    }

    #[test]
    fn a_barrier_is_synced_by_the_write_that_reaches_it() {
        let tmp = tempfile::tempdir().unwrap();
        // Without a write-behind thread: a sync, at once.
        let mut f = writer(tmp.path(), 1 << 20);
        f.append(b"HEADER").unwrap();
        f.sync_barrier().unwrap();
        assert_eq!((on_disk(tmp.path()), f.barrier), (b"HEADER".to_vec(), None));
        drop(f);

        let tmp = tempfile::tempdir().unwrap();
        let mut f = writer_behind(tmp.path(), 1 << 20);
        f.append(b"HEADER").unwrap();
        f.sync_barrier().unwrap();
        // Only noted: nothing written yet.
        assert!(on_disk(tmp.path()).is_empty());
        assert_eq!(f.barrier, Some(6));
        assert_eq!(f.sync_after(0, 5), None);
        assert_eq!(f.sync_after(0, 6), Some(6));
        assert_eq!(f.sync_after(0, 9), Some(6));
        assert_eq!(f.sync_after(8, 1), Some(0));
        f.append(b"records").unwrap();
        // A cut below it moves it down.
        f.truncate(4).unwrap();
        assert_eq!(f.barrier, Some(4));
        f.append(b"ER-records").unwrap();
        f.flush().unwrap();
        assert_eq!(
            (on_disk(tmp.path()), f.barrier),
            (b"HEADER-records".to_vec(), None)
        );
        // Handed over with its sync: the flight reaching it clears it.
        f.sync_barrier().unwrap();
        assert_eq!(f.barrier, Some(14));
        let big = vec![7; APPEND_BUFFER];
        f.append(&big).unwrap();
        assert!(matches!(f.unwritten, Unwritten::Flying(_)));
        f.flush().unwrap();
        assert_eq!(f.barrier, None);
        assert_eq!(on_disk(tmp.path()), [&b"HEADER-records"[..], &big].concat());
    }

    #[test]
    fn a_buffer_grows_while_its_flight_is_out_then_waits_at_the_limit() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = writer_behind(tmp.path(), 1 << 30);
        let first: Vec<u8> = (0..APPEND_BUFFER).map(|i| (i % 251) as u8).collect();
        let (flight, held) = Flight::held(first.clone());
        f.unwritten = Unwritten::Flying(flight);
        f.buf_start = first.len() as u64;
        // The flight's bytes are on disk once it lands (the test writes
        // them, as the thread would), after a second.
        let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let file = Arc::clone(f.file.as_ref().unwrap());
        let release = {
            let released = Arc::clone(&released);
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_secs(1));
                file.write_all_at(&first, 0).unwrap();
                released.store(true, std::sync::atomic::Ordering::SeqCst);
                held.land(Ok(()));
            })
        };
        let chunk: Vec<u8> = (0..1000).map(|i| (i % 13) as u8).collect();
        let mut appended = 0;
        while appended + chunk.len() <= GROW_LIMIT {
            f.append(&chunk).unwrap();
            appended += chunk.len();
        }
        // Up to the limit, no append waited for the flight.
        assert!(!released.load(std::sync::atomic::Ordering::SeqCst));
        assert_eq!(f.buf.len(), appended);
        assert!(f.buf.capacity() <= GROW_LIMIT + SLACK);
        assert_eq!(
            &*f.read_at(APPEND_BUFFER as u64 + 1000, 1000).unwrap(),
            &chunk[..]
        );
        // Past it, the append waits for the landing, then hands over every
        // whole aligned buffer at once.
        f.append(&chunk).unwrap();
        appended += chunk.len();
        assert!(released.load(std::sync::atomic::Ordering::SeqCst));
        release.join().unwrap();
        assert_eq!(f.disk_len, APPEND_BUFFER as u64);
        let flying = f.unwritten().len();
        assert_eq!(flying % APPEND_BUFFER, 0);
        assert_eq!(flying, appended / APPEND_BUFFER * APPEND_BUFFER);
        f.flush().unwrap();
        let disk = on_disk(tmp.path());
        assert_eq!(disk.len(), APPEND_BUFFER + appended);
        assert!(disk[APPEND_BUFFER..]
            .chunks(1000)
            .all(|c| *c == chunk[..c.len()]));
        // The grown buffer landed and is kept, as the spare the next
        // hand-over fills: held up again, appends go on in pages already
        // touched. The buffer filling now is of the usual size.
        f.append(&vec![1; 2 * APPEND_BUFFER]).unwrap();
        f.flush().unwrap();
        assert!(f.buf.capacity() <= APPEND_BUFFER + SLACK);
        assert!(f.spare.capacity() > 2 * (APPEND_BUFFER + SLACK));
        let grown = f.spare.as_ptr();
        f.append(&vec![3; APPEND_BUFFER]).unwrap();
        assert_eq!(f.buf.as_ptr(), grown);
    }

    #[test]
    fn a_roll_leaves_the_cut_to_the_thread_and_later_appends_wait_for_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f.store");
        let file_len = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
        let mut f = writer_behind(tmp.path(), 1 << 20).preallocated();
        f.append(&[1; 1000]).unwrap();
        // Preallocated past its content.
        f.flush().unwrap();
        assert!(file_len(&path) > 1000);
        f.seal_for_roll().unwrap();
        assert!(matches!(f.unwritten, Unwritten::Flying(_)));
        assert_eq!(f.unwritten().len(), 0);
        assert_eq!(&*f.read_at(0, 1000).unwrap(), &[1; 1000][..]);
        // Appends (a suffix cut made the segment active again) grow the
        // file only once the cut landed: nothing is cut after them.
        f.append(&[2; 500]).unwrap();
        assert!(matches!(f.unwritten, Unwritten::Nothing));
        assert!(
            file_len(&path) >= 1500,
            "grown after the cut, not cut after"
        );
        f.flush().unwrap();
        assert_eq!(
            &on_disk(tmp.path())[..1500],
            &[[1; 1000].as_slice(), &[2; 500]].concat()[..]
        );
        f.close().unwrap();
        assert_eq!(file_len(&path), 1500);
        // Without a write-behind thread, the cut is made at once.
        let path = tmp.path().join("g.store");
        let mut g = writer_of(path.clone(), 1 << 20).preallocated();
        g.append(&[3; 10]).unwrap();
        g.seal_for_roll().unwrap();
        assert!(matches!(g.unwritten, Unwritten::Nothing));
        assert_eq!(file_len(&path), 10);
    }

    #[test]
    fn a_sealed_files_buffers_go_to_the_next_files() {
        let tmp = tempfile::tempdir().unwrap();
        let behind = Arc::new(WriteBehind::default());
        let mut old = writer_of(tmp.path().join("a"), 1 << 20).write_behind(Arc::clone(&behind));
        for _ in 0..300 {
            old.append(&[1; 1000]).unwrap();
        }
        // One buffer handed over, then back as the spare.
        old.flush().unwrap();
        let kept = [old.buf.as_ptr(), old.spare.as_ptr()];
        assert!(old.buf.capacity() > 0 && old.spare.capacity() > 0);
        old.seal_for_roll().unwrap();
        assert_eq!(old.buf.capacity(), 0);
        let mut new = writer_of(tmp.path().join("b"), 1 << 20).write_behind(Arc::clone(&behind));
        new.append(b"first").unwrap();
        assert!(kept.contains(&new.buf.as_ptr()), "a kept buffer");
        new.append(&vec![2; APPEND_BUFFER]).unwrap();
        assert!(kept.contains(&new.buf.as_ptr()), "the other one");
        new.flush().unwrap();
        assert_eq!(
            std::fs::read(tmp.path().join("b")).unwrap(),
            [&b"first"[..], &[2; APPEND_BUFFER]].concat()
        );
        // A buffer grown to the limit is kept, a larger one is not.
        let size = APPEND_BUFFER + SLACK;
        let larger = Vec::with_capacity(GROW_LIMIT + SLACK + 1);
        behind.keep_spare(larger, size, GROW_LIMIT + SLACK);
        assert!(behind.spare(APPEND_BUFFER).is_none());
        let grown = Vec::with_capacity(GROW_LIMIT + SLACK);
        let at = grown.as_ptr();
        behind.keep_spare(grown, size, GROW_LIMIT + SLACK);
        assert_eq!(behind.spare(APPEND_BUFFER).map(|b| b.as_ptr()), Some(at));
    }

    #[test]
    fn a_cut_into_a_flight_lands_it_first() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = writer_behind(tmp.path(), 100);
        f.append(&[1; 70]).unwrap();
        f.append(&[2; 70]).unwrap();
        assert_eq!(f.unwritten().len(), 100);
        // Within the buffer: the flight stays.
        f.truncate(130).unwrap();
        assert_eq!(f.unwritten().len(), 100);
        f.truncate(50).unwrap();
        assert!(matches!(f.unwritten, Unwritten::Nothing));
        assert_eq!((f.len(), on_disk(tmp.path()).len()), (50, 50));
        f.append(&[3; 5]).unwrap();
        drop(f);
        assert_eq!(on_disk(tmp.path()), [&[1; 50][..], &[3; 5]].concat());
    }

    #[test]
    fn a_failed_write_behind_is_reported_and_loses_no_byte() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f.store");
        std::fs::write(&path, b"").unwrap();
        // Opened read-only: every write fails.
        let file = File::open(&path).unwrap();
        let mut f = BufferedFile::new(path.clone(), Some(file), 0, 100, Mode::Writer)
            .write_behind(Arc::new(WriteBehind::default()));
        f.append(&[1; 60]).unwrap();
        // Handed over; its write fails on the thread.
        f.append(&[2; 60]).unwrap();
        let expected = [[1; 60], [2; 60]].concat();
        assert!(f.flush().is_err());
        assert!(matches!(f.unwritten, Unwritten::Failed(_)));
        assert_eq!(f.len(), 120);
        assert_eq!(&*f.read_at(0, 120).unwrap(), &expected[..]);
        // Every later write is tried again, and fails again.
        assert!(f.sync().is_err());
        assert!(f.truncate(10).is_err());
        f.append(&[3; 10]).unwrap();
        assert_eq!(f.len(), 130);
        assert_eq!(
            &*f.read_at(110, 20).unwrap(),
            &[[2; 10], [3; 10]].concat()[..]
        );
        drop(f);
        assert!(std::fs::read(&path).unwrap().is_empty());
    }

    #[test]
    fn an_overlay_never_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f.store");
        std::fs::write(&path, [4; 40]).unwrap();
        let file = File::open(&path).unwrap();
        let mut f = BufferedFile::new(path.clone(), Some(file), 40, 1 << 20, Mode::Overlay);
        f.truncate(10).unwrap();
        f.append(&[5; 5000]).unwrap();
        f.sync().unwrap();
        assert_eq!(f.len(), 5010);
        let mut out = [0; 2];
        f.read_into(9, &mut out).unwrap();
        assert_eq!(out, [4, 5]);
        for _ in 0..=POSITIONAL_READS {
            f.read_into(0, &mut out).unwrap();
            assert!(matches!(f.read_at(0, 2).unwrap(), Cow::Owned(_)));
        }
        assert!(f.map.get().is_none(), "an overlay never maps");
        drop(f);
        assert_eq!(std::fs::read(&path).unwrap(), [4; 40]);
        let mut created = BufferedFile::new(path.clone(), None, 0, 1 << 20, Mode::Overlay);
        created.append(b"mem").unwrap();
        assert_eq!(&*created.read_at(0, 3).unwrap(), b"mem");
    }

    #[test]
    fn copies_are_positional_until_the_file_is_mapped() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = writer(tmp.path(), 1 << 20);
        let data: Vec<u8> = (0..200u8).collect();
        f.append(&data).unwrap();
        f.flush().unwrap();
        let mut out = [0; 3];
        // The first copies come from the file ...
        for i in 0..POSITIONAL_READS as usize {
            f.read_into(i as u64, &mut out).unwrap();
            assert_eq!(out, data[i..i + 3]);
        }
        assert!(f.map.get().is_none());
        // ... the next one maps it, and so does any borrowing read.
        f.read_into(100, &mut out).unwrap();
        assert_eq!(out, data[100..103]);
        assert!(f.map.get().is_some());
        let tmp = tempfile::tempdir().unwrap();
        let mut g = writer(tmp.path(), 1 << 20);
        g.append(&data).unwrap();
        g.flush().unwrap();
        g.read_into(0, &mut out).unwrap();
        assert!(g.map.get().is_none());
        assert!(matches!(g.read_at(1, 3).unwrap(), Cow::Borrowed(b) if *b == data[1..4]));
        assert!(g.map.get().is_some());
        // Bytes written after the map was made (it covers the capacity), and
        // cut, read as they should.
        g.append(b"late").unwrap();
        g.flush().unwrap();
        assert!(matches!(g.read_at(200, 4).unwrap(), Cow::Borrowed(b"late")));
        g.truncate(202).unwrap();
        assert!(g.read_at(200, 4).is_err());
        let mut two = [0; 2];
        g.read_into(200, &mut two).unwrap();
        assert_eq!(&two, b"la");
    }

    #[test]
    fn resident_bytes_are_the_buffer_alone_or_the_mapped_disk_part() {
        let tmp = tempfile::tempdir().unwrap();
        let mut f = writer(tmp.path(), 1 << 20);
        assert_eq!(f.resident(), Some(&b""[..]));
        f.append(b"in the buffer").unwrap();
        assert_eq!(f.resident(), Some(&b"in the buffer"[..]));
        f.flush().unwrap();
        // On disk but not mapped: nothing to lend without making a map.
        assert_eq!(f.resident(), None);
        assert!(f.map.get().is_none());
        f.read_at(0, 2).unwrap();
        f.append(b", later").unwrap();
        // Mapped: the disk part only, never the buffer after it.
        assert_eq!(f.resident(), Some(&b"in the buffer"[..]));
        f.flush().unwrap();
        assert_eq!(f.resident(), Some(&b"in the buffer, later"[..]));
        f.truncate(6).unwrap();
        assert_eq!(f.resident(), Some(&b"in the"[..]));
    }
}
