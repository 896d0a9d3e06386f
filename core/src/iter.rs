//! Sequential reading: an iterator that walks the stores frame by frame.

use crate::error::{Error, Result};
use crate::format::HEADER_LEN;
use crate::log::Log;
use crate::record::{frame_len, Record};
use crate::storage::Storage;

/// Records from an offset to the end of the log as it was when the iterator
/// was made, oldest first, each checked against its checksum. After an error
/// the iterator ends; an iterator whose start could not be found (see
/// [`Log::records`]) yields that error as its only item.
///
/// Looks the start up in the index once, then follows the frames in the
/// store without touching the index.
pub struct Iter<'a, S: Storage> {
    log: &'a Log<S>,
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
        let pos = match log.segment(segment) {
            Some(s) => s.position(from - s.base)?,
            None => HEADER_LEN,
        };
        Ok(Self {
            log,
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
}

impl<'a, S: Storage> Iterator for Iter<'a, S> {
    type Item = Result<Record<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(error) = self.failed.take() {
            return Some(Err(error));
        }
        while self.offset < self.end {
            let segment = self.log.segment(self.segment)?;
            if self.offset >= segment.next_offset() {
                self.segment += 1;
                self.pos = HEADER_LEN;
                continue;
            }
            let item = segment.store.read(self.pos, self.offset);
            match &item {
                Ok(record) => {
                    self.pos += frame_len(record.payload.len());
                    self.offset += 1;
                }
                Err(_) => self.end = self.offset,
            }
            return Some(item);
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.end.saturating_sub(self.offset)).unwrap_or(usize::MAX);
        (
            0,
            Some(left.saturating_add(usize::from(self.failed.is_some()))),
        )
    }
}
