//! The harness's inputs are deterministic and varied.
#![allow(clippy::unwrap_used)]

use dislog_bench::payload::{random_offsets, Payloads};

#[test]
fn same_seed_same_bytes_and_records_differ() {
    let a = Payloads::new(100, 7);
    let b = Payloads::new(100, 7);
    assert_eq!(a.get(5), b.get(5));
    assert_ne!(a.get(1), a.get(2));
    assert_eq!(a.get(123_456).len(), 100);
    let offsets = random_offsets(10, 1000, 3);
    assert!(offsets.iter().all(|&o| o < 10));
    assert_ne!(offsets[..10], offsets[10..20]);
}
