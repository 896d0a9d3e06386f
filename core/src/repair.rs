//! What recovery changed when a log was opened.

use alloc::string::String;
use core::fmt;

/// One change made by recovery on open. [`crate::Log::repairs`] lists them;
/// after a clean close the list is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Repair {
    /// The index did not match the store (missing, torn, too short or
    /// preallocated and not trimmed) and was rebuilt from it.
    IndexRebuilt {
        /// Base offset of the segment.
        segment: u64,
        /// Records the rebuilt index holds.
        records: u64,
    },
    /// A torn or corrupt tail was cut off the store.
    TailCut {
        /// Base offset of the segment.
        segment: u64,
        /// Bytes removed.
        bytes: u64,
        /// Records kept before the cut.
        records_kept: u64,
    },
    /// A segment was removed because it does not start where the one before
    /// it ends (its predecessor lost its tail in a crash), or it was empty
    /// and not the last.
    SegmentDropped {
        /// Base offset of the segment.
        segment: u64,
        /// Records it held.
        records: u64,
        /// Why.
        reason: String,
    },
    /// An index file without a store was removed.
    OrphanIndexRemoved {
        /// Base offset in its name.
        segment: u64,
    },
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::IndexRebuilt { segment, records } => {
                write!(f, "segment {segment}: index rebuilt from the store ({records} records)")
            }
            Self::TailCut {
                segment,
                bytes,
                records_kept,
            } => write!(
                f,
                "segment {segment}: cut {bytes} bytes of torn or corrupt tail after {records_kept} valid records"
            ),
            Self::SegmentDropped {
                segment,
                records,
                reason,
            } => write!(f, "segment {segment}: dropped with {records} records: {reason}"),
            Self::OrphanIndexRemoved { segment } => {
                write!(f, "segment {segment}: removed an index file that had no store")
            }
        }
    }
}
