//! The log's error type.

use alloc::string::String;
use core::fmt;

use crate::storage::{StorageError, StorageErrorKind};

/// Everything that can go wrong in the log. Each variant has a stable
/// [`Error::code`] that the C and JavaScript bindings pass on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The storage backend failed.
    Storage(StorageError),
    /// The configuration cannot work; the text says which field and why.
    InvalidConfig(String),
    /// An argument is outside what the call accepts.
    InvalidArgument(String),
    /// A read asked for an offset the log does not hold.
    OutOfRange {
        /// The offset asked for.
        offset: u64,
        /// The lowest offset held, `None` when the log is empty.
        lowest: Option<u64>,
        /// The offset the next append will get.
        next: u64,
    },
    /// A record is larger than `max_record_bytes` (or than a segment).
    RecordTooLarge {
        /// The payload length.
        len: u64,
        /// The largest payload accepted.
        max: u64,
    },
    /// Stored bytes fail their checksum or contradict each other.
    Corrupt {
        /// The base offset of the segment holding them.
        segment: u64,
        /// The offset of the record concerned, when one is.
        offset: Option<u64>,
        /// What is wrong.
        reason: String,
    },
    /// A file of ours has a header this build cannot read (a foreign file
    /// with our name, or another format version).
    Format {
        /// The file's name.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// Snapshot bytes that are not a valid dislog snapshot.
    InvalidSnapshot(String),
    /// An earlier write failed, so the log refuses writes until it is
    /// reopened (reads still work). Holds the original failure.
    Poisoned(StorageError),
}

/// A stable, machine-readable category of [`Error`], shared by every binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// [`Error::Storage`] other than a lock conflict.
    Io,
    /// [`Error::Storage`] with [`StorageErrorKind::Locked`].
    Locked,
    /// [`Error::InvalidConfig`].
    InvalidConfig,
    /// [`Error::InvalidArgument`].
    InvalidArgument,
    /// [`Error::OutOfRange`].
    OutOfRange,
    /// [`Error::RecordTooLarge`].
    RecordTooLarge,
    /// [`Error::Corrupt`].
    Corrupt,
    /// [`Error::Format`].
    Format,
    /// [`Error::InvalidSnapshot`].
    InvalidSnapshot,
    /// [`Error::Poisoned`].
    Poisoned,
}

impl ErrorCode {
    /// The code as an upper-case string, e.g. `"OUT_OF_RANGE"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Io => "IO",
            Self::Locked => "LOCKED",
            Self::InvalidConfig => "INVALID_CONFIG",
            Self::InvalidArgument => "INVALID_ARGUMENT",
            Self::OutOfRange => "OUT_OF_RANGE",
            Self::RecordTooLarge => "RECORD_TOO_LARGE",
            Self::Corrupt => "CORRUPT",
            Self::Format => "FORMAT",
            Self::InvalidSnapshot => "INVALID_SNAPSHOT",
            Self::Poisoned => "POISONED",
        }
    }
}

impl Error {
    /// The stable category of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Storage(e) if e.kind() == StorageErrorKind::Locked => ErrorCode::Locked,
            Self::Storage(_) => ErrorCode::Io,
            Self::InvalidConfig(_) => ErrorCode::InvalidConfig,
            Self::InvalidArgument(_) => ErrorCode::InvalidArgument,
            Self::OutOfRange { .. } => ErrorCode::OutOfRange,
            Self::RecordTooLarge { .. } => ErrorCode::RecordTooLarge,
            Self::Corrupt { .. } => ErrorCode::Corrupt,
            Self::Format { .. } => ErrorCode::Format,
            Self::InvalidSnapshot(_) => ErrorCode::InvalidSnapshot,
            Self::Poisoned(_) => ErrorCode::Poisoned,
        }
    }
}

impl From<StorageError> for Error {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Storage(e) => write!(f, "storage error: {e}"),
            Self::InvalidConfig(why) => write!(f, "invalid config: {why}"),
            Self::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
            Self::OutOfRange {
                offset,
                lowest: Some(lowest),
                next: next @ 1..,
            } => write!(
                f,
                "offset {offset} is out of range: the log holds offsets {lowest} to {}",
                next - 1
            ),
            // A next offset of 0 leaves nothing below it, whatever `lowest`
            // says (an error built by hand may say anything).
            Self::OutOfRange { offset, next, .. } => write!(
                f,
                "offset {offset} is out of range: the log is empty (next offset {next})"
            ),
            Self::RecordTooLarge { len, max } => {
                write!(
                    f,
                    "record of {len} bytes is larger than the maximum of {max} bytes"
                )
            }
            Self::Corrupt {
                segment,
                offset: Some(offset),
                reason,
            } => write!(
                f,
                "corrupt record at offset {offset} (segment {segment}): {reason}"
            ),
            Self::Corrupt {
                segment,
                offset: None,
                reason,
            } => write!(f, "corrupt segment {segment}: {reason}"),
            Self::Format { file, reason } => write!(f, "unreadable file {file}: {reason}"),
            Self::InvalidSnapshot(why) => write!(f, "invalid snapshot: {why}"),
            Self::Poisoned(e) => write!(
                f,
                "the log refuses writes after an earlier failure ({e}); reopen it"
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Storage(e) | Self::Poisoned(e) => Some(e),
            _ => None,
        }
    }
}

/// The log's result type.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn out_of_range_display_never_underflows() {
        let held = Error::OutOfRange {
            offset: 9,
            lowest: Some(2),
            next: 5,
        };
        assert_eq!(
            format!("{held}"),
            "offset 9 is out of range: the log holds offsets 2 to 4"
        );
        // Inconsistent on purpose: `next - 1` would overflow here.
        let odd = Error::OutOfRange {
            offset: 0,
            lowest: Some(0),
            next: 0,
        };
        assert_eq!(
            format!("{odd}"),
            "offset 0 is out of range: the log is empty (next offset 0)"
        );
    }
}
