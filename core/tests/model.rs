//! Property test: random operations on a log with tiny segments, checked
//! against a plain `Vec` model after every step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::tiny;
use dislog_core::{Config, ErrorCode, Log, MemoryStorage};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Append(Vec<u8>),
    Batch(Vec<Vec<u8>>),
    Read(u64),
    Truncate(u64),
    TruncateSuffix(u64),
    RetainBytes(u64),
    Sync,
    Reopen { clean: bool },
}

fn op() -> impl Strategy<Value = Op> {
    let payload = prop::collection::vec(any::<u8>(), 0..70);
    prop_oneof![
        6 => payload.clone().prop_map(Op::Append),
        3 => prop::collection::vec(payload, 1..8).prop_map(Op::Batch),
        4 => (0u64..80).prop_map(Op::Read),
        1 => (0u64..80).prop_map(Op::Truncate),
        1 => (0u64..80).prop_map(Op::TruncateSuffix),
        1 => (0u64..2_000).prop_map(Op::RetainBytes),
        1 => Just(Op::Sync),
        1 => any::<bool>().prop_map(|clean| Op::Reopen { clean }),
    ]
}

/// The model: the records the log must hold, from `first` on.
struct Model {
    first: u64,
    records: Vec<Vec<u8>>,
}

impl Model {
    fn next(&self) -> u64 {
        self.first + self.records.len() as u64
    }

    /// Drops records below `lowest` (what segment-granular removal did).
    fn drop_below(&mut self, lowest: u64) {
        let next = self.next();
        let n = (lowest.saturating_sub(self.first) as usize).min(self.records.len());
        self.records.drain(..n);
        self.first = self.first.max(lowest.min(next));
    }
}

fn check(log: &Log<MemoryStorage>, model: &Model) {
    assert_eq!(log.next_offset(), model.next());
    let lowest = if model.records.is_empty() {
        None
    } else {
        Some(model.first)
    };
    assert_eq!(log.lowest_offset(), lowest);
    let got: Vec<Vec<u8>> = log
        .records()
        .map(|r| r.unwrap().payload.into_owned())
        .collect();
    assert_eq!(got, model.records);
}

fn run(ops: Vec<Op>) {
    let config = Config {
        max_record_bytes: 80,
        ..tiny()
    };
    let storage = MemoryStorage::new();
    let mut log = Some(Log::open(storage.clone(), config).unwrap());
    let mut model = Model {
        first: 0,
        records: Vec::new(),
    };
    for op in ops {
        let l = log.as_mut().unwrap();
        match op {
            Op::Append(p) => {
                let offset = l.append(&p).unwrap();
                assert_eq!(offset, model.next());
                model.records.push(p);
            }
            Op::Batch(b) => {
                assert_eq!(l.append_batch(&b).unwrap(), model.next());
                model.records.extend(b);
            }
            Op::Read(o) => match l.read(o) {
                Ok(r) => {
                    let i = (o - model.first) as usize;
                    assert_eq!(r.payload.as_ref(), model.records[i].as_slice());
                }
                Err(e) => {
                    assert_eq!(e.code(), ErrorCode::OutOfRange);
                    assert!(o < model.first || o >= model.next() || model.records.is_empty());
                }
            },
            Op::Truncate(lowest) => {
                let before = l.lowest_offset();
                l.truncate(lowest).unwrap();
                let now = l.lowest_offset().unwrap_or(l.next_offset());
                assert!(now <= lowest.max(before.unwrap_or(0)) || l.is_empty());
                model.drop_below(now);
            }
            Op::TruncateSuffix(from) => {
                l.truncate_suffix(from).unwrap();
                if from < model.next() {
                    if from <= model.first {
                        model.records.clear();
                        model.first = from;
                    } else {
                        model.records.truncate((from - model.first) as usize);
                    }
                }
            }
            Op::RetainBytes(max) => {
                l.retain_bytes(max).unwrap();
                assert!(l.size_bytes().unwrap() <= max || l.segment_count() == 1);
                let now = l.lowest_offset().unwrap_or(l.next_offset());
                model.drop_below(now);
            }
            Op::Sync => l.sync().unwrap(),
            Op::Reopen { clean } => {
                let old = log.take().unwrap();
                if clean {
                    old.close().unwrap();
                } else {
                    drop(old);
                }
                let reopened = Log::open(storage.clone(), config).unwrap();
                assert!(reopened.repairs().is_empty(), "{:?}", reopened.repairs());
                log = Some(reopened);
            }
        }
        check(log.as_ref().unwrap(), &model);
    }
}

/// Longest operation sequence of a case. Under miri (about a thousand times
/// slower) cases are shorter and fewer: the same checks, a smaller size.
const MAX_OPS: usize = if cfg!(miri) { 16 } else { 120 };

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        // Miri runs with isolation on: no regression file is read or written.
        failure_persistence: if cfg!(miri) {
            None
        } else {
            ProptestConfig::default().failure_persistence
        },
        ..ProptestConfig::default()
    })]

    #[test]
    fn log_matches_a_vec_model(ops in prop::collection::vec(op(), 1..MAX_OPS)) {
        run(ops);
    }
}
