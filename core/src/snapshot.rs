//! Whole-log snapshots: one byte string holding every record, for shipping to
//! a replica or backing up, and the restore that rebuilds a log from it.
//!
//! The format is the same on every backend (`FORMAT.md`, "Snapshot"): a
//! 32-byte header, the record frames exactly as in a store, and a 24-byte
//! trailer whose CRC covers everything before it.

use alloc::format;
use alloc::vec::Vec;

use crate::checksum::{Checksum, Hasher};
use crate::config::{Config, SyncPolicy};
use crate::error::{Error, Result};
use crate::format::{parse_file_name, read_u32, read_u64, FORMAT_VERSION, OLDEST_FORMAT_VERSION};
use crate::iter::Iter;
use crate::log::Log;
use crate::record::{encode_frame, frame_len, FrameHeader, FRAME_HEADER_LEN};
use crate::storage::{Storage, StorageError, StorageErrorKind};

/// Magic bytes at the start of a snapshot.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"DSLGSNAP";
/// Magic bytes at the start of a snapshot's trailer.
pub const SNAPSHOT_END_MAGIC: [u8; 8] = *b"DSLGSEND";
/// Length of a snapshot's header.
pub const SNAPSHOT_HEADER_LEN: usize = 32;
/// Length of a snapshot's trailer.
pub const SNAPSHOT_TRAILER_LEN: usize = 24;

/// The checksum of the snapshots this build writes (those of
/// [`FORMAT_VERSION`]).
const WRITTEN: Checksum = Checksum::of_version(FORMAT_VERSION);

/// Size of the chunks a [`SnapshotReader`] yields (one record may exceed it).
const CHUNK: usize = 1 << 20;

/// Makes room for `more` bytes in `buf`, or fails with a `NoSpace` storage
/// error: a snapshot of a log larger than the memory left is an error the
/// caller can report (the browser build has a 4 GiB address space), never
/// an allocation abort.
fn reserve(buf: &mut Vec<u8>, more: u64) -> Result<()> {
    usize::try_from(more)
        .ok()
        .and_then(|more| buf.try_reserve(more).ok())
        .ok_or_else(|| {
            Error::Storage(StorageError::new(
                StorageErrorKind::NoSpace,
                "out of memory while building a snapshot",
            ))
        })
}

/// A snapshot of a log as a sequence of byte chunks; concatenated, they are
/// the snapshot. Every record is checked against its checksum as it is read,
/// so a corrupt log gives an error, never a snapshot with bad bytes.
pub struct SnapshotReader<'a, S: Storage> {
    records: Iter<'a, S>,
    first: u64,
    next: u64,
    count: u64,
    hasher: Hasher,
    started: bool,
    done: bool,
}

impl<'a, S: Storage> SnapshotReader<'a, S> {
    pub(crate) fn new(log: &'a Log<S>) -> Self {
        Self {
            records: log.records(),
            first: log.lowest_offset().unwrap_or(log.next_offset()),
            next: log.next_offset(),
            count: 0,
            hasher: WRITTEN.hasher(),
            started: false,
            done: false,
        }
    }

    fn fill(&mut self) -> Result<Vec<u8>> {
        let mut chunk = Vec::new();
        // Room for the header (first chunk) and the trailer (last chunk),
        // reserved fallibly as every allocation here is.
        reserve(
            &mut chunk,
            (SNAPSHOT_HEADER_LEN + SNAPSHOT_TRAILER_LEN) as u64,
        )?;
        if !self.started {
            self.started = true;
            chunk.extend_from_slice(&SNAPSHOT_MAGIC);
            chunk.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
            chunk.extend_from_slice(&0u32.to_le_bytes());
            chunk.extend_from_slice(&self.first.to_le_bytes());
            chunk.extend_from_slice(&self.next.to_le_bytes());
        }
        while chunk.len() < CHUNK {
            match self.records.next() {
                Some(record) => {
                    let record = record?;
                    let room = frame_len(record.payload.len()) + SNAPSHOT_TRAILER_LEN as u64;
                    reserve(&mut chunk, room)?;
                    encode_frame(
                        &mut chunk,
                        record.offset,
                        record.timestamp,
                        &record.payload,
                        WRITTEN,
                    );
                    self.count += 1;
                }
                None => {
                    chunk.extend_from_slice(&SNAPSHOT_END_MAGIC);
                    chunk.extend_from_slice(&self.count.to_le_bytes());
                    self.hasher.update(&chunk);
                    let crc = self.hasher.finalize();
                    chunk.extend_from_slice(&crc.to_le_bytes());
                    chunk.extend_from_slice(&0u32.to_le_bytes());
                    self.done = true;
                    return Ok(chunk);
                }
            }
        }
        self.hasher.update(&chunk);
        Ok(chunk)
    }
}

impl<S: Storage> Iterator for SnapshotReader<'_, S> {
    type Item = Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let chunk = self.fill();
        if chunk.is_err() {
            self.done = true;
        }
        Some(chunk)
    }
}

impl<S: Storage> Log<S> {
    /// The log's snapshot as chunks (see [`SnapshotReader`]).
    pub fn snapshot_chunks(&self) -> SnapshotReader<'_, S> {
        SnapshotReader::new(self)
    }

    /// The log's snapshot as one byte vector.
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for chunk in self.snapshot_chunks() {
            let chunk = chunk?;
            reserve(&mut out, chunk.len() as u64)?;
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Builds a log on `storage`, which must hold no log yet, from snapshot
    /// bytes. Offsets and timestamps are kept; `config.initial_offset` is
    /// replaced by the snapshot's first offset. Every byte is checked before
    /// the log is returned; on any error the partly restored files are
    /// removed and [`Error::InvalidSnapshot`] (or the storage error) is
    /// returned.
    pub fn restore(storage: S, config: Config, bytes: &[u8]) -> Result<Self> {
        let parsed = parse(bytes)?;
        let names = storage.list()?;
        if names.iter().any(|n| parse_file_name(n).is_some()) {
            return Err(Error::InvalidArgument(
                "restore needs an empty storage, but this one already holds a log".into(),
            ));
        }
        let mut log = Self::open(
            storage,
            Config {
                initial_offset: parsed.first,
                sync: SyncPolicy::Manual,
                ..config
            },
        )?;
        let filled = parsed.frames().try_for_each(|frame| {
            let (timestamp, payload) = frame?;
            log.append_at(payload, timestamp).map(drop)
        });
        let complete = filled.and_then(|()| match log.next_offset() {
            next if next == parsed.next => Ok(()),
            next => invalid(format!(
                "records end at {next}, the header says {}",
                parsed.next
            )),
        });
        let synced = complete.and_then(|()| log.sync());
        match synced {
            Ok(()) => {
                log.set_sync_policy(config.sync);
                Ok(log)
            }
            Err(e) => {
                // The storage was empty before: removing everything loses nothing.
                let _ = log.remove();
                Err(e)
            }
        }
    }
}

/// A snapshot whose header and trailer were checked.
struct Parsed<'b> {
    first: u64,
    next: u64,
    body: &'b [u8],
    /// The checksum of the snapshot's version.
    checksum: Checksum,
}

fn invalid<T>(why: impl Into<alloc::string::String>) -> Result<T> {
    Err(Error::InvalidSnapshot(why.into()))
}

fn parse(bytes: &[u8]) -> Result<Parsed<'_>> {
    let min = SNAPSHOT_HEADER_LEN + SNAPSHOT_TRAILER_LEN;
    if bytes.len() < min {
        return invalid(format!(
            "{} bytes is shorter than the {min} of an empty snapshot",
            bytes.len()
        ));
    }
    if bytes[..8] != SNAPSHOT_MAGIC {
        return invalid("not a dislog snapshot (bad magic)");
    }
    let version = read_u32(bytes, 8);
    if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
        return invalid(format!(
            "snapshot format version {version} is not supported (this build reads versions \
             {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION})"
        ));
    }
    let checksum = Checksum::of_version(version);
    let trailer = bytes.len() - SNAPSHOT_TRAILER_LEN;
    if bytes[trailer..trailer + 8] != SNAPSHOT_END_MAGIC {
        return invalid("the snapshot is truncated (no trailer)");
    }
    let crc = read_u32(bytes, trailer + 16);
    if checksum.of(&bytes[..trailer + 16]) != crc {
        return invalid("checksum mismatch: the snapshot is corrupt or truncated");
    }
    let (first, next, count) = (
        read_u64(bytes, 16),
        read_u64(bytes, 24),
        read_u64(bytes, trailer + 8),
    );
    if read_u32(bytes, 12) != 0
        || read_u32(bytes, trailer + 20) != 0
        || first.checked_add(count) != Some(next)
    {
        return invalid(format!(
            "header says offsets {first}..{next} but the trailer counts {count} records"
        ));
    }
    Ok(Parsed {
        first,
        next,
        body: &bytes[SNAPSHOT_HEADER_LEN..trailer],
        checksum,
    })
}

impl<'b> Parsed<'b> {
    /// The records, each checked, with consecutive offsets from `first`.
    /// A frame past the `next - first` the trailer counts is an error, so
    /// the offset never runs past `next` (nor past `u64::MAX`).
    fn frames(&self) -> impl Iterator<Item = Result<(u64, &'b [u8])>> + 'b {
        let mut rest = self.body;
        let mut offset = self.first;
        let next = self.next;
        let checksum = self.checksum;
        core::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            if offset >= next {
                rest = &[];
                return Some(invalid(format!(
                    "records go on past offset {next}, where the header says they end"
                )));
            }
            let Some((raw, tail)) = rest.split_first_chunk::<{ FRAME_HEADER_LEN as usize }>()
            else {
                rest = &[];
                return Some(invalid("a record header is cut short"));
            };
            let header = FrameHeader::decode(raw);
            let Some((payload, tail)) = tail.split_at_checked(header.len as usize) else {
                rest = &[];
                return Some(invalid(format!("record {offset} is cut short")));
            };
            if header.offset != offset || !header.checks(raw, payload, checksum) {
                rest = &[];
                return Some(invalid(format!("record {offset} is corrupt")));
            }
            rest = tail;
            offset += 1;
            Some(Ok((header.timestamp, payload)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStorage;

    /// A snapshot whose header and trailer agree on `first..next` but whose
    /// body holds the frames of `offsets`.
    fn crafted(first: u64, next: u64, offsets: &[u64]) -> Vec<u8> {
        crafted_version(FORMAT_VERSION, first, next, offsets)
    }

    /// [`crafted`] in format `version`.
    fn crafted_version(version: u32, first: u64, next: u64, offsets: &[u64]) -> Vec<u8> {
        let checksum = Checksum::of_version(version);
        let mut out = Vec::new();
        out.extend_from_slice(&SNAPSHOT_MAGIC);
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&first.to_le_bytes());
        out.extend_from_slice(&next.to_le_bytes());
        for &offset in offsets {
            encode_frame(&mut out, offset, 7, b"x", checksum);
        }
        out.extend_from_slice(&SNAPSHOT_END_MAGIC);
        out.extend_from_slice(&(next - first).to_le_bytes());
        let crc = checksum.of(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out
    }

    #[test]
    fn frames_past_the_count_are_refused_without_overflow() {
        let max = u64::MAX;
        // The second frame would take the offset past u64::MAX.
        let bytes = crafted(max - 1, max, &[max - 1, max]);
        let storage = MemoryStorage::new();
        let err = Log::restore(storage.clone(), Config::default(), &bytes).unwrap_err();
        assert!(matches!(err, Error::InvalidSnapshot(_)), "{err}");
        assert!(storage.list().unwrap().is_empty(), "restore left files");
        // Within the offset space, one frame too many is refused too.
        let bytes = crafted(3, 4, &[3, 4]);
        let err = Log::restore(MemoryStorage::new(), Config::default(), &bytes).unwrap_err();
        assert!(matches!(err, Error::InvalidSnapshot(_)), "{err}");
        // And the same snapshot with the count respected restores.
        let bytes = crafted(max - 1, max, &[max - 1]);
        let log = Log::restore(MemoryStorage::new(), Config::default(), &bytes).unwrap();
        assert_eq!(log.next_offset(), max);
        assert_eq!(log.snapshot().unwrap(), bytes);
    }

    #[test]
    fn a_version_1_snapshot_restores_and_is_written_back_as_version_2() {
        let v1 = crafted_version(1, 5, 8, &[5, 6, 7]);
        let log = Log::restore(MemoryStorage::new(), Config::default(), &v1).unwrap();
        assert_eq!((log.lowest_offset(), log.next_offset()), (Some(5), 8));
        assert_eq!(&*log.read(6).unwrap().payload, b"x");
        assert_eq!(log.snapshot().unwrap(), crafted(5, 8, &[5, 6, 7]));
        // The checksums are not interchangeable: a version 1 body under a
        // version 2 header is refused.
        let mut relabelled = v1;
        relabelled[8] = 2;
        let err = Log::restore(MemoryStorage::new(), Config::default(), &relabelled).unwrap_err();
        assert!(matches!(err, Error::InvalidSnapshot(_)), "{err}");
        let mut future = crafted(5, 8, &[5, 6, 7]);
        future[8] = 3;
        let err = Log::restore(MemoryStorage::new(), Config::default(), &future).unwrap_err();
        assert!(format!("{err}").contains("version 3"), "{err}");
    }
}
