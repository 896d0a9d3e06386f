//! The comparison harness of dislog: the same workloads (W1–W6 and batch
//! appends, see `README.md`) run against dislog's file backend, a plain
//! buffered file (the baseline) and the `commitlog` crate, in one process,
//! one after the other, so that every ratio compares numbers of one run.
//!
//! `cargo run --release -p dislog-bench -- --help` for the options.

pub mod engines;
pub mod floor;
pub mod measure;
pub mod parts;
pub mod payload;
pub mod report;
pub mod workloads;
pub mod write_floor;

/// Every fallible step of the harness.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;
