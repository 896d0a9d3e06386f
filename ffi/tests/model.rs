//! Random sequences of operations on a file-backed log, checked against a
//! model (the records it must hold), across clean and unclean reopens.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use dislog::{Config, ErrorCode, Log};

/// A small deterministic generator (xorshift64*), so failures replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the log must hold: records `lowest..lowest + payloads.len()`.
struct Model {
    lowest: u64,
    payloads: std::collections::VecDeque<Vec<u8>>,
}

impl Model {
    fn next(&self) -> u64 {
        self.lowest + self.payloads.len() as u64
    }

    /// Drops the records below `lowest` (after a prefix truncation).
    fn drop_below(&mut self, lowest: u64) {
        while self.lowest < lowest && !self.payloads.is_empty() {
            self.payloads.pop_front();
            self.lowest += 1;
        }
        if self.payloads.is_empty() {
            self.lowest = lowest.max(self.lowest);
        }
    }
}

fn config() -> Config {
    Config {
        max_store_bytes: 2 << 10,
        max_index_bytes: 24 + 16 * 20,
        max_record_bytes: 1500,
        ..Config::default()
    }
}

fn check(log: &Log, model: &Model, full: bool) {
    assert_eq!(log.next_offset(), model.next());
    assert_eq!(log.len(), model.payloads.len() as u64);
    if model.payloads.is_empty() {
        assert_eq!(log.lowest_offset(), None);
    } else {
        assert_eq!(log.lowest_offset(), Some(model.lowest));
    }
    if full {
        let got: Vec<Vec<u8>> = log
            .reader()
            .records()
            .map(|r| r.unwrap().payload.into_owned())
            .collect();
        assert!(got.iter().eq(model.payloads.iter()), "records differ");
        assert!(log.verify(5).is_empty(), "{:?}", log.verify(5));
    }
}

fn run(seed: u64, dir: &Path) {
    let mut rng = Rng(seed);
    let mut log = Log::open(dir, config()).unwrap();
    let mut model = Model {
        lowest: 0,
        payloads: Default::default(),
    };
    let mut counter = 0u64;
    let mut payload = |rng: &mut Rng| {
        counter += 1;
        let len = rng.below(300) as usize;
        let mut p = format!("{seed}:{counter}:").into_bytes();
        p.resize(p.len() + len, (counter % 251) as u8);
        p
    };
    for step in 0..800 {
        match rng.below(100) {
            0..=39 => {
                let p = payload(&mut rng);
                assert_eq!(log.append(&p).unwrap(), model.next());
                model.payloads.push_back(p);
            }
            40..=49 => {
                let n = 1 + rng.below(20);
                let batch: Vec<Vec<u8>> = (0..n).map(|_| payload(&mut rng)).collect();
                assert_eq!(log.append_batch(&batch).unwrap(), model.next());
                model.payloads.extend(batch);
            }
            50..=64 => {
                let offset =
                    model.lowest.saturating_sub(2) + rng.below(model.payloads.len() as u64 + 4);
                match log.read(offset) {
                    Ok(record) => {
                        let i = (offset - model.lowest) as usize;
                        assert_eq!(record.payload.as_ref(), model.payloads[i].as_slice());
                    }
                    Err(e) => {
                        assert_eq!(e.code(), ErrorCode::OutOfRange, "step {step}: {e}");
                        assert!(
                            offset < model.lowest
                                || offset >= model.next()
                                || model.payloads.is_empty()
                        );
                    }
                }
            }
            65..=69 => {
                let to = model.lowest + rng.below(model.payloads.len() as u64 + 2);
                log.truncate(to).unwrap();
                let lowest = log.lowest_offset().unwrap_or(log.next_offset());
                assert!(lowest >= model.lowest && lowest <= to.max(model.lowest));
                model.drop_below(lowest);
            }
            70..=74 => {
                let from =
                    model.lowest.saturating_sub(1) + rng.below(model.payloads.len() as u64 + 3);
                log.truncate_suffix(from).unwrap();
                if from < model.next() {
                    if from <= model.lowest {
                        model.payloads.clear();
                        model.lowest = from;
                    } else {
                        model.payloads.truncate((from - model.lowest) as usize);
                    }
                }
            }
            75..=77 => {
                let max = rng.below(log.size_bytes().unwrap() + 1);
                log.retain_bytes(max).unwrap();
                let lowest = log.lowest_offset().unwrap_or(log.next_offset());
                model.drop_below(lowest);
            }
            78..=83 => log.flush().unwrap(),
            84..=87 => log.sync().unwrap(),
            88..=92 => {
                log.close().unwrap();
                log = Log::open(dir, config()).unwrap();
                assert!(
                    log.repairs().is_empty(),
                    "clean reopen repaired: {:?}",
                    log.repairs()
                );
            }
            93..=96 => {
                // Unclean: dropped, not closed (the buffer is still written).
                drop(log);
                log = Log::open(dir, config()).unwrap();
            }
            97 => {
                // Beside unflushed appends: sees a prefix, changes nothing.
                let ro = Log::open_read_only(dir, config()).unwrap();
                assert!(ro.next_offset() <= model.next());
                log.flush().unwrap();
                drop(ro);
                let ro = Log::open_read_only(dir, config()).unwrap();
                check(&ro, &model, false);
            }
            _ => {
                log.reset().unwrap();
                model.payloads.clear();
                model.lowest = 0;
            }
        }
        check(&log, &model, step % 50 == 0);
    }
    check(&log, &model, true);
    log.close().unwrap();
}

#[test]
fn random_operations_match_the_model() {
    let seeds: Vec<u64> = match std::env::var("DISLOG_MODEL_SEEDS") {
        // e.g. DISLOG_MODEL_SEEDS=200 for a longer soak.
        Ok(n) => (1..=n.parse().unwrap()).collect(),
        Err(_) => vec![1, 0xdead_beef, 0x1234_5678_9abc],
    };
    for seed in seeds {
        eprintln!("seed {seed}");
        let tmp = tempfile::tempdir().unwrap();
        run(seed, tmp.path());
    }
}
