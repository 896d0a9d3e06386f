//! Bit rot: random bits flipped in a cleanly closed log. Open either
//! succeeds or refuses with a clear error; a read returns the right bytes or
//! `CORRUPT`, never other bytes; `verify` names every record that fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{random_config, run_seeds, Step, Workload};
use dislog_core::{ErrorCode, Log};
use dislog_sim::{Rng, SimStorage};

fn rot_one(seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let config = random_config(&mut rng);
    let storage = SimStorage::new(rng.next_u64());
    let mut w = Workload::new(rng.fork(), config, storage.clone())?;
    for _ in 0..60 {
        if let Step::Failed(e) = w.step()? {
            return Err(format!("step failed without faults: {e}"));
        }
    }
    let log = w.log.take().expect("open");
    log.close().map_err(|e| format!("close: {e}"))?;
    let flips = storage.flip_random_bits(rng.range(1, 4) as usize);
    let log = match Log::open(storage.clone(), config) {
        Ok(log) => log,
        // A flipped store header is refused by name, never guessed at.
        Err(e) if matches!(e.code(), ErrorCode::Format) => return Ok(()),
        Err(e) => return Err(format!("open after {flips:?} failed with {e}")),
    };
    let mut bad = 0;
    let Some(lowest) = log.lowest_offset() else {
        return Ok(());
    };
    for o in lowest..log.next_offset() {
        match log.read(o) {
            Ok(r) => {
                let expected = w.model.records.get(&o);
                let got = (r.timestamp, r.payload.to_vec());
                if expected != Some(&got) {
                    return Err(format!("after {flips:?} read({o}) returned other bytes"));
                }
            }
            Err(e) if e.code() == ErrorCode::Corrupt => bad += 1,
            Err(e) => return Err(format!("after {flips:?} read({o}) failed: {e}")),
        }
    }
    let problems = log.verify(usize::MAX);
    if bad > 0 && problems.is_empty() {
        return Err(format!(
            "after {flips:?} {bad} records read as corrupt but verify found nothing"
        ));
    }
    for r in log.records() {
        match r {
            Ok(r) if w.model.records.get(&r.offset) == Some(&(r.timestamp, r.payload.to_vec())) => {
            }
            Ok(r) => return Err(format!("iteration returned other bytes at {}", r.offset)),
            Err(e) if e.code() == ErrorCode::Corrupt => break,
            Err(e) => return Err(format!("iteration failed: {e}")),
        }
    }
    Ok(())
}

#[test]
fn flipped_bits_never_become_other_bytes() {
    run_seeds(
        "bitrot",
        "flipped_bits_never_become_other_bytes",
        500,
        rot_one,
    );
}
