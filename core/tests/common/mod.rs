//! Helpers shared by core's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use dislog_core::{Config, Log, MemoryStorage, SyncPolicy};

/// A config with tiny segments so that rolls happen constantly.
pub fn tiny() -> Config {
    Config {
        max_store_bytes: 24 + 3 * 40,
        max_index_bytes: 24 + 16 * 4,
        max_record_bytes: 64,
        clock: fake_clock,
        sync: SyncPolicy::Manual,
        initial_offset: 0,
    }
}

/// A clock that counts up, so timestamps differ between records.
pub fn fake_clock() -> u64 {
    use core::sync::atomic::{AtomicU64, Ordering};
    static NOW: AtomicU64 = AtomicU64::new(1_000);
    NOW.fetch_add(1, Ordering::Relaxed)
}

/// Payload `i` of a deterministic series.
pub fn payload(i: u64) -> Vec<u8> {
    format!("record-{i}-{}", "x".repeat((i % 17) as usize)).into_bytes()
}

/// A log on fresh memory holding `n` records from [`payload`].
pub fn filled(config: Config, n: u64) -> (MemoryStorage, Log<MemoryStorage>) {
    let storage = MemoryStorage::new();
    let mut log = Log::open(storage.clone(), config).unwrap();
    for i in 0..n {
        assert_eq!(log.append(&payload(i)).unwrap(), config.initial_offset + i);
    }
    (storage, log)
}

/// Every record's payload, oldest first.
pub fn all(log: &Log<MemoryStorage>) -> Vec<(u64, Vec<u8>)> {
    log.records()
        .map(|r| {
            let r = r.unwrap();
            (r.offset, r.payload.into_owned())
        })
        .collect()
}

/// Names of the files in `storage`, sorted.
pub fn names(storage: &MemoryStorage) -> Vec<String> {
    use dislog_core::Storage;
    let mut names = storage.list().unwrap();
    names.sort();
    names
}
