//! The comparison workloads on dislog's file backend, and the cost of one
//! C ABI call against the Rust API: `cargo bench -p dislog`. Logs are
//! written under `target/bench-data` (the real disk, not tmpfs).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::ffi::CString;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use dislog::capi::{
    dislog_append, dislog_close, dislog_config, dislog_config_default, dislog_open, dislog_read,
    dislog_status, dislog_t,
};
use dislog::{Config, Log};
use tempfile::TempDir;

#[path = "../../bench/shared/criterion_workloads.rs"]
mod workloads;
use workloads::{register, BenchLog};

/// A directory for one log, removed when dropped.
fn bench_dir() -> TempDir {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&root).expect("bench data directory");
    tempfile::tempdir_in(root).expect("temporary directory")
}

struct FileLog {
    log: Log,
    config: Config,
    dir: TempDir,
}

impl BenchLog for FileLog {
    fn create(segment_bytes: u64) -> Self {
        let dir = bench_dir();
        let config = Config {
            max_store_bytes: segment_bytes,
            ..Config::default()
        };
        let log = Log::open(dir.path(), config).expect("open");
        Self { log, config, dir }
    }

    workloads::delegate_writes!();

    fn read_len(&self, offset: u64) -> usize {
        self.log
            .read_with(offset, |r| r.payload.len())
            .expect("read")
    }

    fn scan(&self) -> u64 {
        let reader = self.log.reader();
        reader
            .records()
            .map(|r| r.expect("record").payload.len() as u64)
            .sum()
    }

    fn reopen(self) -> Self {
        let Self { log, config, dir } = self;
        log.close().expect("close");
        let log = Log::open(dir.path(), config).expect("reopen");
        assert_eq!(
            log.read_with(0, |r| r.payload.len()).expect("first read"),
            100
        );
        Self { log, config, dir }
    }
}

/// Reads of the C ABI group go to offsets below this.
const READ_SPAN: u64 = 100_000;

/// One append and one read through the C ABI (`dislog.h`, called from
/// Rust: the same exported functions a C program calls) against the same
/// calls through the Rust API, on one log.
fn c_abi(c: &mut Criterion) {
    let dir = bench_dir();
    let path = CString::new(dir.path().to_string_lossy().as_bytes()).expect("path");
    let mut config = std::mem::MaybeUninit::<dislog_config>::uninit();
    let mut handle: *mut dislog_t = std::ptr::null_mut();
    // SAFETY: valid out-pointers; the path is a NUL-terminated string.
    unsafe {
        assert_eq!(
            dislog_config_default(config.as_mut_ptr()),
            dislog_status::DISLOG_OK
        );
        assert_eq!(
            dislog_open(path.as_ptr(), config.as_ptr(), &mut handle),
            dislog_status::DISLOG_OK
        );
    }
    let payload = [0x5au8; 100];
    let batch = vec![&payload[..]; READ_SPAN as usize];
    for record in &batch {
        let mut offset = 0u64;
        // SAFETY: a live handle, a valid buffer and out-pointer.
        let status = unsafe { dislog_append(handle, record.as_ptr(), record.len(), &mut offset) };
        assert_eq!(status, dislog_status::DISLOG_OK);
    }
    let mut group = c.benchmark_group("c-abi");
    group.bench_function("dislog_append 100 B", |b| {
        b.iter(|| {
            let mut offset = 0u64;
            // SAFETY: a live handle, a valid buffer and out-pointer.
            let status =
                unsafe { dislog_append(handle, payload.as_ptr(), payload.len(), &mut offset) };
            black_box((status, offset))
        })
    });
    let mut buf = [0u8; 128];
    let mut next = 0u64;
    group.bench_function("dislog_read 100 B", |b| {
        b.iter(|| {
            let (mut len, mut ts) = (0usize, 0u64);
            next = (next + 7919) % READ_SPAN;
            // SAFETY: a live handle, a buffer of `buf.len()` bytes, valid out-pointers.
            let status = unsafe {
                dislog_read(handle, next, buf.as_mut_ptr(), buf.len(), &mut len, &mut ts)
            };
            black_box((status, len))
        })
    });
    group.finish();
    // SAFETY: `handle` is live and not used after this.
    unsafe { assert_eq!(dislog_close(&mut handle), dislog_status::DISLOG_OK) };

    let rust_dir = bench_dir();
    let log = Log::open(rust_dir.path(), Config::default()).expect("open");
    log.append_batch(&batch).expect("fill");
    let mut group = c.benchmark_group("rust-api");
    group.bench_function("Log::append 100 B", |b| {
        b.iter(|| black_box(log.append(&payload).expect("append")))
    });
    let mut next = 0u64;
    group.bench_function("Log::read_with 100 B", |b| {
        b.iter(|| {
            next = (next + 7919) % READ_SPAN;
            black_box(log.read_with(next, |r| r.payload.len()).expect("read"))
        })
    });
    group.finish();
    log.close().expect("close");
}

fn benches(c: &mut Criterion) {
    c_abi(c);
    register::<FileLog>(c, "file");
}

criterion_group!(file, benches);
criterion_main!(file);
