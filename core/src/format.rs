//! File headers and file names: the parts of the on-disk contract (`FORMAT.md`)
//! that are not records.

use alloc::format;
use alloc::string::String;

use crate::error::Error;
use crate::storage::FileKind;

/// The format version this crate writes. It reads every version from
/// [`OLDEST_FORMAT_VERSION`] to this one: version 2 checksums frames and
/// snapshots with CRC-32C where version 1 used CRC-32 (IEEE); nothing else
/// differs.
pub const FORMAT_VERSION: u32 = 2;

/// The oldest format version this crate reads.
pub const OLDEST_FORMAT_VERSION: u32 = 1;

/// Length of the header at the start of every store and index file.
pub const HEADER_LEN: u64 = 24;

/// Width of one index entry: the record's store position and the segment's
/// running maximum timestamp, both `u64` little-endian.
pub const INDEX_ENTRY_LEN: u64 = 16;

/// Magic bytes of a store file.
pub const STORE_MAGIC: [u8; 8] = *b"DSLGSTOR";
/// Magic bytes of an index file.
pub const INDEX_MAGIC: [u8; 8] = *b"DSLGINDX";

/// Width of the zero-padded base offset in a file name.
const NAME_DIGITS: usize = 20;

/// The file name of a segment's store or index: `00000000000000000042.store`.
pub fn file_name(base: u64, kind: FileKind) -> String {
    format!("{base:0width$}.{}", extension(kind), width = NAME_DIGITS)
}

fn extension(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Store => "store",
        FileKind::Index => "index",
    }
}

/// Parses a file name written by [`file_name`]. Any other name (a README, a
/// `.tmp` file, a name with the wrong number of digits) gives `None`.
pub fn parse_file_name(name: &str) -> Option<(u64, FileKind)> {
    let (stem, ext) = name.split_once('.')?;
    let kind = match ext {
        "store" => FileKind::Store,
        "index" => FileKind::Index,
        _ => return None,
    };
    Some((parse_base(stem)?, kind))
}

/// The name of the marker that a suffix cut below the lowest offset
/// leaves while it creates the new segment at `base`:
/// `00000000000000000042.cut` (an empty file; the name is the content).
/// While it exists, a store at `base` whose header is unwritten or torn is
/// that creation cut short by a crash, wherever the store lies, and not a
/// damaged file (see `FORMAT.md`, "Recovery on open").
pub(crate) fn cut_marker_name(base: u64) -> String {
    format!("{base:0width$}.cut", width = NAME_DIGITS)
}

/// The base offset a name written by [`cut_marker_name`] holds.
pub(crate) fn parse_cut_marker(name: &str) -> Option<u64> {
    parse_base(name.strip_suffix(".cut")?)
}

/// A base offset in [`NAME_DIGITS`] decimal digits.
fn parse_base(stem: &str) -> Option<u64> {
    if stem.len() != NAME_DIGITS || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

/// The header of a store or index file.
pub fn encode_header(kind: FileKind, base: u64) -> [u8; HEADER_LEN as usize] {
    encode_versioned_header(kind, base, FORMAT_VERSION)
}

/// The header of a store or index file of format `version`.
fn encode_versioned_header(kind: FileKind, base: u64, version: u32) -> [u8; HEADER_LEN as usize] {
    let mut out = [0; HEADER_LEN as usize];
    out[..8].copy_from_slice(magic(kind));
    out[8..12].copy_from_slice(&version.to_le_bytes());
    // Bytes 12..16 are reserved flags, zero in every version so far.
    out[16..24].copy_from_slice(&base.to_le_bytes());
    out
}

fn magic(kind: FileKind) -> &'static [u8; 8] {
    match kind {
        FileKind::Store => &STORE_MAGIC,
        FileKind::Index => &INDEX_MAGIC,
    }
}

/// What a file's first bytes say.
#[derive(Debug, PartialEq, Eq)]
pub enum HeaderState {
    /// A valid header for this kind and base, of a version this build reads.
    Valid {
        /// The header's format version.
        version: u32,
    },
    /// Fewer than [`HEADER_LEN`] bytes, or all zero: a file whose creation
    /// was cut short by a crash.
    Unwritten,
}

/// Whether `bytes`, a file's first bytes, could be the header written for
/// `kind` and `base` (by this build or an older one) as a crash left it:
/// every byte present (at most [`HEADER_LEN`]) is the one written or zero.
/// A valid header, an all-zero or short one and a partly written one
/// qualify; a foreign file or the header of an unknown version, flags or
/// base does not.
pub fn torn_header(kind: FileKind, base: u64, bytes: &[u8]) -> bool {
    (OLDEST_FORMAT_VERSION..=FORMAT_VERSION).any(|version| {
        let written = encode_versioned_header(kind, base, version);
        bytes
            .iter()
            .zip(written.iter())
            .all(|(&b, &w)| b == w || b == 0)
    })
}

/// Checks a file's header against its kind and the base offset from its name.
pub fn check_header(
    name: &str,
    kind: FileKind,
    base: u64,
    bytes: &[u8],
) -> Result<HeaderState, Error> {
    let Some(header) = bytes.get(..HEADER_LEN as usize) else {
        return Ok(HeaderState::Unwritten);
    };
    if header.iter().all(|&b| b == 0) {
        return Ok(HeaderState::Unwritten);
    }
    let bad = |reason: String| Error::Format {
        file: name.into(),
        reason,
    };
    if &header[..8] != magic(kind) {
        return Err(bad(format!(
            "not a dislog {} file (magic {:02x?})",
            extension(kind),
            &header[..8]
        )));
    }
    let version = read_u32(header, 8);
    if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(bad(format!(
            "format version {version} is not supported (this build reads versions \
             {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION})"
        )));
    }
    let flags = read_u32(header, 12);
    if flags != 0 {
        return Err(bad(format!("unknown header flags {flags:#x}")));
    }
    let header_base = read_u64(header, 16);
    if header_base != base {
        return Err(bad(format!(
            "header says base offset {header_base} but the file name says {base}"
        )));
    }
    Ok(HeaderState::Valid { version })
}

/// Reads a little-endian `u32` at `at`; the caller guarantees the length.
pub fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    if let Some(src) = bytes.get(at..at + 4) {
        b.copy_from_slice(src);
    }
    u32::from_le_bytes(b)
}

/// Reads a little-endian `u64` at `at`; the caller guarantees the length.
#[inline]
pub fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0; 8];
    if let Some(src) = bytes.get(at..at + 8) {
        b.copy_from_slice(src);
    }
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort() {
        let a = file_name(9, FileKind::Store);
        let b = file_name(10, FileKind::Store);
        assert_eq!(a, "00000000000000000009.store");
        assert!(a < b);
        assert_eq!(parse_file_name(&b), Some((10, FileKind::Store)));
        assert_eq!(
            parse_file_name(&file_name(u64::MAX, FileKind::Index)),
            Some((u64::MAX, FileKind::Index))
        );
        for stray in [
            "README",
            "1.store",
            "00000000000000000009.store.tmp",
            "0000000000000000000x.store",
            "99999999999999999999.index",
            "00000000000000000009.log",
        ] {
            assert_eq!(parse_file_name(stray), None, "{stray}");
        }
    }

    #[test]
    fn headers_are_checked() {
        let h = encode_header(FileKind::Index, 7);
        assert_eq!(
            check_header("f", FileKind::Index, 7, &h).unwrap(),
            HeaderState::Valid {
                version: FORMAT_VERSION
            }
        );
        let v1 = encode_versioned_header(FileKind::Store, 7, 1);
        assert_eq!(
            check_header("f", FileKind::Store, 7, &v1).unwrap(),
            HeaderState::Valid { version: 1 }
        );
        assert!(torn_header(FileKind::Store, 7, &v1[..12]));
        assert_eq!(
            check_header("f", FileKind::Index, 7, &h[..10]).unwrap(),
            HeaderState::Unwritten
        );
        assert_eq!(
            check_header("f", FileKind::Index, 7, &[0; 24]).unwrap(),
            HeaderState::Unwritten
        );
        assert!(check_header("f", FileKind::Store, 7, &h).is_err());
        assert!(check_header("f", FileKind::Index, 8, &h).is_err());
        assert!(torn_header(FileKind::Index, 7, &h));
        assert!(torn_header(FileKind::Index, 7, &h[..10]));
        assert!(torn_header(FileKind::Index, 7, &[0; 30]));
        let mut partial = h;
        partial[3..13].fill(0);
        assert!(torn_header(FileKind::Index, 7, &partial));
        assert!(check_header("f", FileKind::Index, 7, &partial).is_err());
        assert!(!torn_header(FileKind::Store, 7, &h));
        assert!(!torn_header(FileKind::Index, 6, &h));
        assert!(!torn_header(FileKind::Index, 7, b"#!/bin/sh\necho hi"));
        let mut v3 = h;
        v3[8] = 3;
        assert!(!torn_header(FileKind::Index, 7, &v3));
        let err = check_header("f", FileKind::Index, 7, &v3).unwrap_err();
        assert!(alloc::format!("{err}").contains("version 3"), "{err}");
        let mut v0 = h;
        v0[8] = 0;
        assert!(check_header("f", FileKind::Index, 7, &v0).is_err());
    }
}
