//! A sync run in three steps (`begin_sync`, `SyncJob::run`, `finish_sync`)
//! with appends, rolls and retention between its steps, as the native
//! library runs it beside other threads: after a power cut, everything
//! appended before the sync began is there, and the next sync covers what
//! came after; and `durable_next`, which the native library's group commit
//! trusts, never claims a record that a power cut can take.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dislog_core::{Config, Log, SyncPolicy};
use dislog_sim::{Rng, SimStorage};

/// Segments of a few records each, so that appends roll often.
fn small_segments(rng: &mut Rng, sync: SyncPolicy) -> Config {
    Config {
        max_store_bytes: rng.range(80, 600),
        max_index_bytes: rng.range(40, 24 + 16 * 12),
        sync,
        ..Config::default()
    }
}

fn payload(i: u64) -> Vec<u8> {
    format!("record {i} {}", "y".repeat((i % 23) as usize)).into_bytes()
}

/// Opens what `storage` holds after a power cut; checks that it holds
/// every record from its lowest offset up to at least `promised`.
fn check_after_power_cut(storage: &SimStorage, config: Config, promised: u64, seed: u64) {
    let log = Log::open(storage.crash(), config).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    let next = log.next_offset();
    assert!(
        next >= promised,
        "seed {seed}: {next} records of {promised} promised"
    );
    let low = log.lowest_offset().unwrap_or(next);
    for offset in low..promised {
        let record = log
            .read(offset)
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(record.payload.as_ref(), payload(offset), "seed {seed}");
    }
}

#[test]
fn what_was_appended_before_a_sync_began_survives_whatever_came_between() {
    for seed in 0..2000 {
        let mut rng = Rng::new(seed);
        let config = small_segments(&mut rng, SyncPolicy::Manual);
        let storage = SimStorage::new(rng.next_u64());
        let mut log = Log::open(storage.clone(), config).unwrap();
        let mut next = 0;
        let mut append = |log: &mut Log<SimStorage>, rng: &mut Rng| {
            for _ in 0..rng.range(1, 30) {
                assert_eq!(log.append(&payload(next)).unwrap(), next);
                next += 1;
            }
        };
        append(&mut log, &mut rng);
        log.sync().unwrap();
        let synced = log.next_offset();
        append(&mut log, &mut rng);
        // A removal whose name change the sync will make durable...
        if rng.chance(1, 2) {
            let keep = log.size_bytes().unwrap() * 3 / 4;
            log.retain_bytes(keep).unwrap();
        }
        let job = log.begin_sync().unwrap();
        let before = log.next_offset();
        // ...and between the steps: appends (and the rolls they make), and
        // now and then retention of old segments, which must not land
        // before the removals the job has still to make durable.
        append(&mut log, &mut rng);
        if rng.chance(1, 2) {
            let keep = log.size_bytes().unwrap() / 2;
            log.retain_bytes(keep).unwrap();
        }
        // A power cut now keeps what the completed sync promised.
        check_after_power_cut(&storage.fork(), config, synced, seed);
        let outcome = job.run(&storage);
        append(&mut log, &mut rng);
        log.finish_sync(job, outcome).unwrap();
        check_after_power_cut(&storage.fork(), config, before, seed);
        // The next sync covers everything appended in between and after.
        log.sync().unwrap();
        check_after_power_cut(&storage.fork(), config, log.next_offset(), seed);
    }
}

#[test]
fn durable_next_never_claims_a_record_a_power_cut_can_lose() {
    for seed in 0..400 {
        let mut rng = Rng::new(seed);
        let sync = match rng.below(3) {
            0 => SyncPolicy::Manual,
            1 => SyncPolicy::EveryAppend,
            _ => SyncPolicy::EveryBytes(rng.range(1, 300)),
        };
        let config = small_segments(&mut rng, sync);
        let storage = SimStorage::new(rng.next_u64());
        let mut log = Log::open(storage.clone(), config).unwrap();
        log.defer_policy_syncs();
        // The payload each offset holds now (offsets are given out again
        // after a suffix truncation).
        let mut held: Vec<Vec<u8>> = Vec::new();
        let mut job = None;
        for step in 0..rng.range(5, 60) {
            match rng.below(10) {
                0..=5 => {
                    let body = format!("seed {seed} step {step}").into_bytes();
                    assert_eq!(log.append(&body).unwrap(), held.len() as u64);
                    held.push(body);
                    // The caller runs the sync the policy asks for.
                    if log.take_due_sync() && job.is_none() {
                        log.sync().unwrap();
                    }
                }
                6 | 7 => match job.take() {
                    None => job = Some(log.begin_sync().unwrap()),
                    Some(j) => {
                        let outcome = j.run(&storage);
                        log.finish_sync(j, outcome).unwrap();
                    }
                },
                8 if job.is_none() => {
                    let from = rng.below(held.len() as u64 + 1);
                    log.truncate_suffix(from).unwrap();
                    held.truncate(from as usize);
                }
                _ => {}
            }
            let durable = log.durable_next();
            assert!(durable <= held.len() as u64, "seed {seed}");
            let after = Log::open(storage.fork().crash(), config)
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert!(after.next_offset() >= durable, "seed {seed} step {step}");
            for offset in after.lowest_offset().unwrap_or(durable)..durable {
                let record = after
                    .read(offset)
                    .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
                assert_eq!(
                    record.payload.as_ref(),
                    held[offset as usize],
                    "seed {seed}"
                );
            }
        }
    }
}
