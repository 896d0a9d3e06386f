//! Log configuration.

use alloc::format;

use crate::error::{Error, Result};
use crate::format::{HEADER_LEN, INDEX_ENTRY_LEN};
use crate::record::FRAME_HEADER_LEN;

/// A source of record timestamps: milliseconds since the Unix epoch.
pub type Clock = fn() -> u64;

/// When the log makes appended records durable on its own. An explicit
/// [`crate::Log::sync`] works under every policy, and a clean
/// [`crate::Log::close`] always syncs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncPolicy {
    /// Only on an explicit `sync` (and on close). A crash of the machine may
    /// lose everything appended since the last sync.
    Manual,
    /// After every `append` and every `append_batch`, before it returns: an
    /// acknowledged record survives any crash.
    EveryAppend,
    /// Once at least this many store bytes were appended since the last
    /// sync, at the end of the append that crossed the mark: a crash loses at
    /// most the records of the last `N` bytes (plus the record that crossed).
    EveryBytes(u64),
    /// At the end of the first append that comes this many milliseconds (by
    /// the config's clock) after the last sync. Without appends nothing is
    /// synced: a crash loses what came since the last sync.
    EveryMillis(u64),
}

/// The clock used when none is configured: the wall clock with the `std`
/// feature, a constant zero without it (set [`Config::clock`] on targets
/// that have a clock).
pub fn default_clock() -> u64 {
    #[cfg(feature = "std")]
    {
        // Whole seconds and sub-second millis in u64: `as_millis` divides
        // a u128, a library call that showed up in append profiles.
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| {
                d.as_secs()
                    .saturating_mul(1000)
                    .saturating_add(u64::from(d.subsec_millis()))
            })
            .unwrap_or(0)
    }
    #[cfg(not(feature = "std"))]
    {
        0
    }
}

/// How a log is laid out and when it syncs. Checked by [`Config::validate`]
/// when a log is opened.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// Largest size of one store file, header included. A segment rolls when
    /// the next record would make its store larger.
    pub max_store_bytes: u64,
    /// Largest size of one index file, header included (16 bytes per
    /// record). A segment rolls when the next entry would make it larger.
    pub max_index_bytes: u64,
    /// The offset of the first record of a new log.
    pub initial_offset: u64,
    /// Largest payload accepted, in bytes. Larger records are refused with
    /// [`Error::RecordTooLarge`]; they are never split.
    pub max_record_bytes: u64,
    /// When appends are synced.
    pub sync: SyncPolicy,
    /// Where record timestamps come from.
    pub clock: Clock,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_store_bytes: 64 << 20,
            max_index_bytes: 16 << 20,
            initial_offset: 0,
            max_record_bytes: 8 << 20,
            sync: SyncPolicy::Manual,
            clock: default_clock,
        }
    }
}

impl Config {
    /// Checks that the configuration can hold at least one record per
    /// segment.
    pub fn validate(&self) -> Result<()> {
        let invalid = |why| Err(Error::InvalidConfig(why));
        let min_store = HEADER_LEN + FRAME_HEADER_LEN + 1;
        if self.max_store_bytes < min_store {
            return invalid(format!(
                "max_store_bytes is {} but must be at least {min_store} (a header and one record)",
                self.max_store_bytes
            ));
        }
        let min_index = HEADER_LEN + INDEX_ENTRY_LEN;
        if self.max_index_bytes < min_index {
            return invalid(format!(
                "max_index_bytes is {} but must be at least {min_index} (a header and one entry)",
                self.max_index_bytes
            ));
        }
        if self.max_record_bytes == 0 || self.max_record_bytes > u64::from(u32::MAX) {
            return invalid(format!(
                "max_record_bytes is {} but must be between 1 and {}",
                self.max_record_bytes,
                u32::MAX
            ));
        }
        match self.sync {
            SyncPolicy::EveryBytes(0) => invalid("sync every 0 bytes: use EveryAppend".into()),
            SyncPolicy::EveryMillis(0) => invalid("sync every 0 ms: use EveryAppend".into()),
            _ => Ok(()),
        }
    }

    /// The largest payload that fits: `max_record_bytes`, or less when a
    /// store could not hold a record that large.
    #[inline]
    pub fn record_limit(&self) -> u64 {
        self.max_record_bytes.min(
            self.max_store_bytes
                .saturating_sub(HEADER_LEN + FRAME_HEADER_LEN),
        )
    }

    /// How many records one index file holds.
    pub fn entries_per_segment(&self) -> u64 {
        self.max_index_bytes.saturating_sub(HEADER_LEN) / INDEX_ENTRY_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn impossible_configs_are_refused() {
        let base = Config::default();
        for bad in [
            Config {
                max_store_bytes: 0,
                ..base
            },
            Config {
                max_store_bytes: 48,
                ..base
            },
            Config {
                max_index_bytes: 0,
                ..base
            },
            Config {
                max_index_bytes: 39,
                ..base
            },
            Config {
                max_record_bytes: 0,
                ..base
            },
            Config {
                max_record_bytes: 1 << 33,
                ..base
            },
            Config {
                sync: SyncPolicy::EveryBytes(0),
                ..base
            },
            Config {
                sync: SyncPolicy::EveryMillis(0),
                ..base
            },
        ] {
            assert!(
                matches!(bad.validate(), Err(Error::InvalidConfig(_))),
                "{bad:?}"
            );
        }
        let tiny = Config {
            max_store_bytes: 49,
            max_index_bytes: 40,
            ..base
        };
        tiny.validate().unwrap();
        assert_eq!(tiny.record_limit(), 1);
        assert_eq!(tiny.entries_per_segment(), 1);
    }
}
