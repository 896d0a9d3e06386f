//! A segment's store: a header, then record frames back to back.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::checksum::Checksum;
use crate::error::{Error, Result};
use crate::format::{check_header, encode_header, HeaderState, FORMAT_VERSION, HEADER_LEN};
use crate::prefetch::prefetch_span;
use crate::record::{parse_frame, FrameHeader, Record, FRAME_HEADER_LEN};
use crate::storage::{FileKind, StorageError, StorageFile};

/// Bytes of a frame [`Store::prefetch_frame`] asks for: the header and a
/// 104-byte payload (W4's 100-byte records fit), two or three cache lines.
const PREFETCH_FRAME: usize = 128;

/// A file's first bytes, at most [`HEADER_LEN`].
pub(crate) fn header_of<F: StorageFile>(file: &F) -> core::result::Result<Vec<u8>, StorageError> {
    let mut header = alloc::vec![0; file.len().min(HEADER_LEN) as usize];
    file.read_into(0, &mut header)?;
    Ok(header)
}

/// The record bytes of one segment.
#[derive(Debug)]
pub(crate) struct Store<F> {
    pub file: F,
    pub base: u64,
    /// The checksum of this store's frames, by its header's version.
    pub checksum: Checksum,
}

/// Why a frame at some position cannot be used.
pub(crate) type FrameFault = String;

impl<F: StorageFile> Store<F> {
    /// Wraps a newly created (empty) file and writes its header.
    pub fn init(mut file: F, base: u64) -> Result<Self> {
        file.append(&encode_header(FileKind::Store, base))?;
        Ok(Self {
            file,
            base,
            checksum: Checksum::of_version(FORMAT_VERSION),
        })
    }

    /// Wraps an existing file after checking its header, `header` (the
    /// file's first bytes, [`header_of`], which the caller has already read
    /// to decide how to open it). An unwritten header (a creation cut
    /// short) is rewritten, in this build's version: such a file holds no
    /// records. A store of an older version keeps its version (and its
    /// checksum) for good: frames appended to it match it.
    pub fn open(mut file: F, name: &str, base: u64, header: &[u8]) -> Result<Self> {
        let version = match check_header(name, FileKind::Store, base, header)? {
            HeaderState::Valid { version } => version,
            HeaderState::Unwritten => {
                // Synced before any record follows it, as at creation: an
                // unwritten header over records is then always damage.
                file.truncate(0)?;
                file.append(&encode_header(FileKind::Store, base))?;
                file.sync()?;
                FORMAT_VERSION
            }
        };
        Ok(Self {
            file,
            base,
            checksum: Checksum::of_version(version),
        })
    }

    /// Bytes in the file, header included.
    pub fn len(&self) -> u64 {
        self.file.len()
    }

    /// Reads and checks the frame at `pos`, which must hold `offset`.
    pub fn read(&self, pos: u64, offset: u64) -> Result<Record<'_>> {
        self.frame(pos, offset).map_err(|reason| Error::Corrupt {
            segment: self.base,
            offset: Some(offset),
            reason,
        })
    }

    /// Where the frame at `pos` ends, if its header lies inside the store,
    /// holds `offset` and claims a payload that also fits. The payload's
    /// checksum is not checked.
    pub fn frame_end(&self, pos: u64, offset: u64) -> Result<(FrameHeader, [u8; 24]), FrameFault> {
        let end = self.file.len();
        if pos < HEADER_LEN || pos.saturating_add(FRAME_HEADER_LEN) > end {
            return Err(format!(
                "frame header at {pos} lies outside the store (length {end})"
            ));
        }
        let mut raw = [0; FRAME_HEADER_LEN as usize];
        self.file
            .read_into(pos, &mut raw)
            .map_err(|e| format!("{e}"))?;
        let header = FrameHeader::decode(&raw);
        if pos + header.frame_len() > end {
            return Err(format!(
                "frame at {pos} claims {} payload bytes, past the end of the store",
                header.len
            ));
        }
        if header.offset != offset {
            return Err(format!("frame at {pos} holds offset {}", header.offset));
        }
        Ok((header, raw))
    }

    /// Starts loading the frame at `pos` into the cache, as far as
    /// [`PREFETCH_FRAME`] bytes, where the file lends its bytes.
    #[inline]
    pub fn prefetch_frame(&self, pos: u64) {
        if let (Some(bytes), Ok(pos)) = (self.file.resident(), usize::try_from(pos)) {
            prefetch_span(bytes, pos, PREFETCH_FRAME);
        }
    }

    /// The record at `pos` parsed straight out of the store's resident
    /// bytes ([`StorageFile::resident`]), with no copy and no error path:
    /// `None` when the store does not lend its bytes or when anything about
    /// the frame is off ([`Store::frame`] then says what).
    #[inline]
    pub fn resident_frame(&self, pos: u64, offset: u64) -> Option<Record<'_>> {
        if pos < HEADER_LEN {
            return None;
        }
        let bytes = self.file.resident()?.get(usize::try_from(pos).ok()?..)?;
        parse_frame(bytes, offset, self.checksum)
    }

    /// The frame at `pos` if it is whole, holds `offset` and checks;
    /// otherwise what is wrong with it. The whole frame is read at once (a
    /// borrowed slice where the backend allows it) and checked in one pass.
    pub fn frame(&self, pos: u64, offset: u64) -> Result<Record<'_>, FrameFault> {
        let (header, _) = self.frame_end(pos, offset)?;
        let len = usize::try_from(header.frame_len())
            .map_err(|_| format!("frame at {pos} is too large for this platform"))?;
        let frame = self.file.read_at(pos, len).map_err(|e| format!("{e}"))?;
        if !header.checks_frame(&frame, self.checksum) {
            return Err(format!("checksum mismatch in frame at {pos}"));
        }
        let payload = match frame {
            Cow::Borrowed(bytes) => Cow::Borrowed(bytes.get(HEADER..).unwrap_or_default()),
            Cow::Owned(mut bytes) => {
                bytes.drain(..HEADER.min(bytes.len()));
                Cow::Owned(bytes)
            }
        };
        Ok(Record {
            offset,
            timestamp: header.timestamp,
            payload,
        })
    }
}

/// Length of a frame header, as an index.
const HEADER: usize = FRAME_HEADER_LEN as usize;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStorage;
    use crate::record::encode_frame;
    use crate::storage::{FileHint, Storage};
    use alloc::vec::Vec;

    const HINT: FileHint = FileHint {
        kind: FileKind::Store,
        capacity: 1 << 20,
    };

    #[test]
    fn frames_read_back_and_faults_are_named() {
        let storage = MemoryStorage::new();
        let mut store = Store::init(storage.create("s", HINT).unwrap(), 10).unwrap();
        let mut frames = Vec::new();
        encode_frame(&mut frames, 10, 5, b"first", store.checksum);
        encode_frame(&mut frames, 11, 6, b"second", store.checksum);
        store.file.append(&frames).unwrap();
        let second = HEADER_LEN + crate::record::frame_len(5);
        assert_eq!(&*store.read(HEADER_LEN, 10).unwrap().payload, b"first");
        let rec = store.read(second, 11).unwrap();
        assert_eq!((rec.timestamp, &*rec.payload), (6, &b"second"[..]));
        assert!(store
            .frame(second, 12)
            .unwrap_err()
            .contains("holds offset 11"));
        assert!(store.frame(0, 10).is_err());
        assert!(store.frame(store.len(), 12).is_err());
        store.file.truncate(store.len() - 1).unwrap();
        let err = store.read(second, 11).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Corrupt {
                    segment: 10,
                    offset: Some(11),
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn unwritten_header_is_rewritten_and_foreign_file_refused() {
        let storage = MemoryStorage::new();
        storage.set_file_bytes("s", alloc::vec![0; 7]).unwrap();
        let file = storage.open("s", HINT).unwrap();
        let header = header_of(&file).unwrap();
        let store = Store::open(file, "s", 3, &header).unwrap();
        assert_eq!(store.len(), HEADER_LEN);
        drop(store);
        storage
            .set_file_bytes("s", b"#!/bin/sh\necho this is not a log\n".to_vec())
            .unwrap();
        let file = storage.open("s", HINT).unwrap();
        let header = header_of(&file).unwrap();
        let err = Store::open(file, "s", 3, &header).unwrap_err();
        assert!(matches!(err, Error::Format { .. }), "{err}");
    }
}
