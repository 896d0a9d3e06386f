//! `dislog_config`: how a log is laid out and when it syncs.

use dislog_core::{Config, SyncPolicy};

use super::boundary::{arg_out, put, run, Failure};
use super::status::dislog_status;

/// When the log makes appended records durable on its own (the
/// `sync_mode` field of `dislog_config`). `dislog_sync` works under every
/// mode and `dislog_close` always syncs.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dislog_sync_mode {
    /// Only on `dislog_sync` and `dislog_close`. A machine crash may lose
    /// everything appended since the last sync; a crash of the process
    /// alone loses the records still in the append buffer (less than
    /// 256 KiB of them: everything since the last `dislog_flush` or
    /// `dislog_sync` that the buffer has not yet written out).
    DISLOG_SYNC_MANUAL = 0,
    /// After every append and every batch, before it returns: an
    /// acknowledged record survives any crash.
    DISLOG_SYNC_EVERY_APPEND = 1,
    /// Once at least `sync_every` bytes were appended since the last sync: a
    /// crash loses at most the records of the last `sync_every` bytes.
    DISLOG_SYNC_EVERY_BYTES = 2,
    /// At the end of the first append that comes `sync_every` milliseconds
    /// or more after the last sync.
    DISLOG_SYNC_EVERY_MILLIS = 3,
}

/// The configuration of a log, passed by pointer to `dislog_open`,
/// `dislog_open_read_only` and `dislog_restore`. Fill it with
/// `dislog_config_default` and change the fields you need: a zeroed struct is
/// not a valid configuration.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct dislog_config {
    /// Largest size of one store file (records), header included; a
    /// segment rolls over when the next record would not fit. Default 64 MiB.
    pub max_store_bytes: u64,
    /// Largest size of one index file (16 bytes per record), header
    /// included. Default 16 MiB.
    pub max_index_bytes: u64,
    /// The offset of the first record of a new log. Default 0.
    pub initial_offset: u64,
    /// Largest payload accepted, in bytes (at most 4 GiB - 1); larger
    /// appends fail with `DISLOG_ERR_RECORD_TOO_LARGE`. Default 8 MiB.
    pub max_record_bytes: u64,
    /// The `N` of `DISLOG_SYNC_EVERY_BYTES` / `DISLOG_SYNC_EVERY_MILLIS`
    /// (must not be 0 for those modes); ignored by the other modes.
    pub sync_every: u64,
    /// One of `dislog_sync_mode`. Default `DISLOG_SYNC_MANUAL`.
    pub sync_mode: u32,
}

impl From<&Config> for dislog_config {
    fn from(config: &Config) -> Self {
        let (mode, every) = match config.sync {
            SyncPolicy::Manual => (dislog_sync_mode::DISLOG_SYNC_MANUAL, 0),
            SyncPolicy::EveryAppend => (dislog_sync_mode::DISLOG_SYNC_EVERY_APPEND, 0),
            SyncPolicy::EveryBytes(n) => (dislog_sync_mode::DISLOG_SYNC_EVERY_BYTES, n),
            SyncPolicy::EveryMillis(n) => (dislog_sync_mode::DISLOG_SYNC_EVERY_MILLIS, n),
        };
        Self {
            max_store_bytes: config.max_store_bytes,
            max_index_bytes: config.max_index_bytes,
            initial_offset: config.initial_offset,
            max_record_bytes: config.max_record_bytes,
            sync_every: every,
            sync_mode: mode as u32,
        }
    }
}

impl dislog_config {
    /// The engine's configuration, or an `INVALID_CONFIG` failure for an
    /// unknown sync mode. (The engine checks the sizes when opening.)
    pub(crate) fn to_config(self) -> Result<Config, Failure> {
        use dislog_sync_mode::*;
        let sync = match self.sync_mode {
            m if m == DISLOG_SYNC_MANUAL as u32 => SyncPolicy::Manual,
            m if m == DISLOG_SYNC_EVERY_APPEND as u32 => SyncPolicy::EveryAppend,
            m if m == DISLOG_SYNC_EVERY_BYTES as u32 => SyncPolicy::EveryBytes(self.sync_every),
            m if m == DISLOG_SYNC_EVERY_MILLIS as u32 => SyncPolicy::EveryMillis(self.sync_every),
            other => {
                return Err(Failure::new(
                    dislog_status::DISLOG_ERR_INVALID_CONFIG,
                    format!("invalid config: sync_mode {other} is not a dislog_sync_mode (0 to 3)"),
                ))
            }
        };
        Ok(Config {
            max_store_bytes: self.max_store_bytes,
            max_index_bytes: self.max_index_bytes,
            initial_offset: self.initial_offset,
            max_record_bytes: self.max_record_bytes,
            sync,
            ..Config::default()
        })
    }
}

/// The engine configuration for an optional C config (NULL: the defaults).
///
/// # Safety
/// `config` is NULL or points to a valid `dislog_config`.
pub(crate) unsafe fn config_arg(config: *const dislog_config) -> Result<Config, Failure> {
    // SAFETY: the caller's contract above.
    match unsafe { config.as_ref() } {
        None => Ok(Config::default()),
        Some(c) => c.to_config(),
    }
}

/// Fills `*config` with the default configuration (64 MiB stores, 16 MiB
/// indexes, first offset 0, 8 MiB records, manual sync).
///
/// Returns `DISLOG_ERR_NULL_ARGUMENT` when `config` is NULL.
///
/// # Safety
/// `config` is NULL or points to writable memory for one `dislog_config`
/// (it need not be initialized).
#[no_mangle]
pub unsafe extern "C" fn dislog_config_default(config: *mut dislog_config) -> dislog_status {
    run(|| {
        let out = arg_out(config, "config")?;
        // SAFETY: checked non-NULL; writable by the caller's contract.
        unsafe { put(out, dislog_config::from(&Config::default())) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn default_round_trips() {
        let c = dislog_config::from(&Config::default());
        let back = c.to_config().unwrap();
        assert_eq!(dislog_config::from(&back), c);
    }

    #[test]
    fn unknown_sync_mode_is_refused() {
        let mut c = dislog_config::from(&Config::default());
        c.sync_mode = 4;
        let e = c.to_config().unwrap_err();
        assert_eq!(e.status, dislog_status::DISLOG_ERR_INVALID_CONFIG);
    }
}
