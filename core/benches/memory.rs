//! The comparison workloads on `dislog-core`'s in-memory backend:
//! `cargo bench -p dislog-core` (see `bench/shared/criterion_workloads.rs`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion};
use dislog_core::{Config, Log, MemoryStorage};

#[path = "../../bench/shared/criterion_workloads.rs"]
mod workloads;
use workloads::{register, BenchLog};

/// A core log over memory, with its storage kept for reopening.
struct MemoryLog {
    log: Log<MemoryStorage>,
    storage: MemoryStorage,
    config: Config,
}

impl BenchLog for MemoryLog {
    fn create(segment_bytes: u64) -> Self {
        let storage = MemoryStorage::new();
        let config = Config {
            max_store_bytes: segment_bytes,
            ..Config::default()
        };
        let log = Log::open(storage.clone(), config).expect("open");
        Self {
            log,
            storage,
            config,
        }
    }

    workloads::delegate_writes!();

    fn read_len(&self, offset: u64) -> usize {
        self.log.read(offset).expect("read").payload.len()
    }

    fn scan(&self) -> u64 {
        self.log
            .records()
            .map(|r| r.expect("record").payload.len() as u64)
            .sum()
    }

    fn reopen(self) -> Self {
        let Self {
            log,
            storage,
            config,
        } = self;
        log.close().expect("close");
        let log = Log::open(storage.clone(), config).expect("reopen");
        assert_eq!(log.read(0).expect("first read").payload.len(), 100);
        Self {
            log,
            storage,
            config,
        }
    }
}

fn benches(c: &mut Criterion) {
    register::<MemoryLog>(c, "memory");
}

criterion_group!(memory, benches);
criterion_main!(memory);
