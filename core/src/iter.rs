//! Sequential reading: an iterator that walks the stores frame by frame.

use alloc::borrow::Cow;
use alloc::vec::Vec;

use crate::checksum::Checksum;
use crate::error::{Error, Result};
use crate::format::HEADER_LEN;
use crate::log::Log;
use crate::prefetch::prefetch_span;
use crate::record::{check_frames, frame_len, parse_frame, parse_unchecked, Record};
use crate::storage::{Storage, StorageFile};

/// Bytes of a store the iterator reads at once: the first window of an
/// iterator is small (a backend that copies should not copy 256 KiB for a
/// caller that reads one record), each next one twice as large.
const FIRST_WINDOW: u64 = 4 << 10;
/// How far ahead of the frames it checks the iterator asks for store bytes
/// ([`crate::prefetch::prefetch_span`]), and how many: the hardware's own
/// prefetcher stops at each 4 KiB page of a mapped store. 2 KiB ahead
/// gave the most in a scan probe (1,000,000 records of 100 B on the file
/// backend: 63-65 M/s without, 74-78 at 1 KiB, 80-81 at 2 KiB, 77-82 at 3
/// KiB, 70-74 at 4 KiB, 70-71 at 8 KiB).
const PREFETCH_AHEAD: usize = 2 << 10;
/// Bytes asked for each time: three frames of 100-byte records.
const PREFETCH_SPAN: usize = 384;
/// The largest window (also what a rebuild reads at once).
pub(crate) const WINDOW: u64 = 256 << 10;

/// A run of store bytes starting at `start`: borrowed from the backend
/// when it holds them in memory or a map (records then borrow from it too),
/// or a copy.
enum Window<'a> {
    Empty,
    Borrowed { start: u64, bytes: &'a [u8] },
    Owned { start: u64, bytes: Vec<u8> },
}

/// `bytes`, which start at store position `start`, from `pos` on.
fn from(bytes: &[u8], start: u64, pos: u64) -> Option<&[u8]> {
    bytes.get(usize::try_from(pos.checked_sub(start)?).ok()?..)
}

impl<'a> Window<'a> {
    /// The window's bytes from `pos` on when it is borrowed (for `'a`).
    fn lend(&self, pos: u64) -> &'a [u8] {
        match *self {
            Window::Borrowed { start, bytes } => from(bytes, start, pos).unwrap_or_default(),
            _ => &[],
        }
    }

    /// The record whose whole, valid frame lies in the window at store
    /// position `pos`: borrowed when the window is.
    fn record(&self, pos: u64, offset: u64, checksum: Checksum) -> Option<Record<'a>> {
        match *self {
            Window::Empty => None,
            Window::Borrowed { start, bytes } => {
                parse_frame(from(bytes, start, pos)?, offset, checksum)
            }
            Window::Owned { start, ref bytes } => {
                parse_frame(from(bytes, start, pos)?, offset, checksum).map(Record::into_owned)
            }
        }
    }
}

/// Records from an offset to the end of the log as it was when the iterator
/// was made, oldest first, each checked against its checksum. After an error
/// the iterator ends; an iterator whose start could not be found (see
/// [`Log::records`]) yields that error as its only item.
///
/// Looks the start up in the index once, then follows the frames in the
/// store without touching the index.
pub struct Iter<'a, S: Storage> {
    log: &'a Log<S>,
    /// Store bytes read ahead in the current segment.
    window: Window<'a>,
    /// The checksum of the window's store.
    checksum: Checksum,
    /// The borrowed window's bytes from `pos` on (empty when the window is
    /// not borrowed), which [`Iterator::next`] parses first.
    rest: &'a [u8],
    /// Where the records of `rest` may go to: the end of the iteration or
    /// of the current segment, whichever comes first.
    rest_end: u64,
    /// Frames at the start of `rest` whose checksums are already checked
    /// ([`check_frames`], three at a time).
    checked: usize,
    /// Bytes of the next window.
    window_len: u64,
    segment: usize,
    pos: u64,
    offset: u64,
    end: u64,
    /// Why the start could not be found, yielded before anything else.
    failed: Option<Error>,
}

impl<'a, S: Storage> Iter<'a, S> {
    pub(crate) fn new(log: &'a Log<S>, from: u64) -> Result<Self> {
        let end = log.next_offset();
        if from == end {
            return Ok(Self::empty(log));
        }
        let segment = log.locate(from)?;
        let s = log.slot_segment(segment)?;
        let pos = s.position(from - s.base)?;
        Ok(Self {
            log,
            window: Window::Empty,
            checksum: Checksum::Crc32c,
            rest: &[],
            rest_end: 0,
            checked: 0,
            window_len: FIRST_WINDOW,
            segment,
            pos,
            offset: from,
            end,
            failed: None,
        })
    }

    pub(crate) fn empty(log: &'a Log<S>) -> Self {
        Self {
            log,
            window: Window::Empty,
            checksum: Checksum::Crc32c,
            rest: &[],
            rest_end: 0,
            checked: 0,
            window_len: FIRST_WINDOW,
            segment: 0,
            pos: HEADER_LEN,
            offset: 0,
            end: 0,
            failed: None,
        }
    }

    /// An iterator that yields `error` and ends.
    pub(crate) fn failed(log: &'a Log<S>, error: Error) -> Self {
        Self {
            failed: Some(error),
            ..Self::empty(log)
        }
    }

    /// The offset the next item will have.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The next record from the window, if the window holds its whole,
    /// valid frame.
    fn window_record(&self) -> Option<Record<'a>> {
        self.window.record(self.pos, self.offset, self.checksum)
    }

    /// Reads the window anew from the current position of `segment`.
    fn refill(&mut self, segment: &'a crate::segment::Segment<S::File>) {
        let file = &segment.store.file;
        self.checksum = segment.store.checksum;
        let len = file.len().saturating_sub(self.pos).min(self.window_len);
        self.window_len = (self.window_len * 2).min(WINDOW);
        self.window = match usize::try_from(len).map(|len| file.read_at(self.pos, len)) {
            Ok(Ok(Cow::Borrowed(bytes))) => Window::Borrowed {
                start: self.pos,
                bytes,
            },
            Ok(Ok(Cow::Owned(bytes))) => Window::Owned {
                start: self.pos,
                bytes,
            },
            _ => Window::Empty,
        };
    }
}

impl<'a, S: Storage> Iter<'a, S> {
    /// The next record parsed out of `rest`, if it holds its whole, valid
    /// frame: the common case, kept short.
    #[inline]
    fn next_lent(&mut self) -> Option<Record<'a>> {
        if self.offset >= self.rest_end {
            return None;
        }
        if self.checked == 0 {
            prefetch_span(self.rest, PREFETCH_AHEAD, PREFETCH_SPAN);
            self.checked = check_frames(self.rest, self.offset, self.rest_end, self.checksum);
        }
        self.checked = self.checked.checked_sub(1)?;
        let record = parse_unchecked(self.rest, self.offset)?.record;
        let len = frame_len(record.payload.len());
        self.rest = self.rest.get(len as usize..).unwrap_or_default();
        self.pos += len;
        self.offset += 1;
        Some(record)
    }

    /// Ends the iteration at the current offset (after an error).
    fn stop(&mut self) {
        self.end = self.offset;
        self.rest_end = self.offset;
    }

    /// Everything else: the end of a segment, a new window, a record that
    /// is not in the window or does not check (read through the store,
    /// which names the fault).
    fn next_slow(&mut self) -> Option<Result<Record<'a>, Error>> {
        if let Some(error) = self.failed.take() {
            return Some(Err(error));
        }
        while self.offset < self.end {
            if self.offset >= self.log.slot_end(self.segment)? {
                self.segment += 1;
                self.pos = HEADER_LEN;
                self.window = Window::Empty;
                continue;
            }
            let segment = match self.log.slot_segment(self.segment) {
                Ok(segment) => segment,
                Err(e) => {
                    self.stop();
                    return Some(Err(e));
                }
            };
            // The fast path parses frames out of a window of store bytes;
            // anything it does not accept (a frame past the window, a bad
            // frame) goes through the store's own read, which either
            // succeeds or names what is wrong.
            let mut fast = self.window_record();
            if fast.is_none() {
                self.refill(segment);
                fast = self.window_record();
            }
            let item = match fast {
                Some(record) => Ok(record),
                None => segment.store.read(self.pos, self.offset),
            };
            match &item {
                Ok(record) => {
                    self.pos += frame_len(record.payload.len());
                    self.offset += 1;
                    self.rest = self.window.lend(self.pos);
                    self.rest_end = self.end.min(segment.next_offset());
                    self.checked = 0;
                }
                Err(_) => self.stop(),
            }
            return Some(item);
        }
        None
    }
}

impl<'a, S: Storage> Iterator for Iter<'a, S> {
    type Item = Result<Record<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.next_lent() {
            Some(record) => Some(Ok(record)),
            None => self.next_slow(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.end.saturating_sub(self.offset)).unwrap_or(usize::MAX);
        (
            0,
            Some(left.saturating_add(usize::from(self.failed.is_some()))),
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use alloc::vec;
    use alloc::vec::Vec;

    use crate::{Config, Error, Log, MemoryStorage};

    /// A record larger than a whole window (256 KiB); under miri, larger
    /// than the first windows only (miri checksums ~1 MB/s).
    const BIG: usize = if cfg!(miri) { 20_000 } else { 300_000 };
    /// Store limit: several segments either way.
    const SEGMENT: u64 = if cfg!(miri) { 48 << 10 } else { 1 << 20 };

    fn payload(i: u64) -> Vec<u8> {
        // Sizes from 0 to past a window, so frames straddle window edges
        // and some are larger than a whole window.
        let len = match i % 7 {
            0 => 0,
            1 => BIG,
            _ => (i * 977 % 9000) as usize,
        };
        vec![i as u8; len]
    }

    #[test]
    fn windows_yield_every_record_whatever_its_size() {
        let config = Config {
            max_store_bytes: SEGMENT,
            ..Config::default()
        };
        let mut log = Log::open(MemoryStorage::new(), config).unwrap();
        for i in 0..60 {
            assert_eq!(log.append(&payload(i)).unwrap(), i);
        }
        assert!(log.segment_count() > 2);
        let got: Vec<_> = log.iter(5).unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(got.len(), 55);
        for (record, i) in got.iter().zip(5..) {
            assert_eq!((record.offset, &*record.payload), (i, &payload(i)[..]));
        }
    }

    #[test]
    fn a_corrupt_frame_inside_a_window_is_an_error_never_data() {
        // Wherever the bad frame falls among the frames checked together
        // (not last: a bad last frame is a torn tail, cut on open).
        for bad in [0u64, 1, 2, 40, 41, 97, 98] {
            let storage = MemoryStorage::new();
            let mut log = Log::open(storage.clone(), Config::default()).unwrap();
            for i in 0..100u64 {
                log.append(&[i as u8; 50]).unwrap();
            }
            log.close().unwrap();
            // Flip a payload byte of record `bad` (frames are 24 + 50 bytes).
            let name = crate::file_name(0, crate::FileKind::Store);
            let mut bytes = storage.file_bytes(&name).unwrap();
            bytes[24 + bad as usize * 74 + 24 + 10] ^= 1;
            storage.set_file_bytes(&name, bytes).unwrap();
            let log = Log::open(storage, Config::default()).unwrap();
            for from in [0, bad.saturating_sub(1), bad] {
                let items: Vec<_> = log.iter(from).unwrap().collect();
                assert_eq!(items.len() as u64, bad - from + 1, "bad {bad} from {from}");
                for (item, i) in items.iter().zip(from..bad) {
                    assert_eq!(item.as_ref().unwrap().payload.as_ref(), [i as u8; 50]);
                }
                assert!(
                    matches!(
                        items.last().unwrap(),
                        Err(Error::Corrupt { offset: Some(o), .. }) if *o == bad
                    ),
                    "bad {bad} from {from}: {:?}",
                    items.last()
                );
            }
        }
    }
}
