//! Crash simulation: seeded random workloads on tiny segments, a power cut
//! at a random storage operation, a reboot onto what the media holds, and
//! the checks of the crash-safety promise (see `RELIABILITY.md`).
//!
//! `DISLOG_SIM_SEEDS=100000` runs the long mode, `DISLOG_SIM_SEED=<n>`
//! replays one seed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{random_config, run_seeds, Restart, Step, Workload};
use dislog_core::{Config, Log};
use dislog_sim::{CrashMode, Faults, Rng, SimStorage};

/// Steps of one workload.
fn steps(rng: &mut Rng) -> u64 {
    rng.range(10, 120)
}

/// Runs the workload of `seed` until `steps` are done or the power goes.
fn drive(seed: u64, power_cut_at: Option<u64>) -> Result<Workload, String> {
    let mut rng = Rng::new(seed);
    let config = random_config(&mut rng);
    let storage = SimStorage::new(rng.next_u64());
    let n = steps(&mut rng);
    storage.set_faults(Faults {
        power_cut_at,
        ..Faults::default()
    });
    if std::env::var_os("DISLOG_SIM_TRACE").is_some() {
        storage.start_trace();
    }
    let mut w = match Workload::new(rng.fork(), config, storage.clone()) {
        Ok(w) => w,
        // The power went during the very first open: nothing was promised.
        Err(_) if storage.is_powered_off() => {
            let mut w = Workload::new(rng.fork(), config, SimStorage::new(0))?;
            w.storage = storage;
            w.log = None;
            return Ok(w);
        }
        Err(e) => return Err(e),
    };
    for i in 0..n {
        match w
            .step()
            .map_err(|e| format!("step {i}: {e}; {}", w.recent()))?
        {
            Step::Done => {}
            Step::Failed(e) if w.storage.is_powered_off() => {
                w.trace.push(format!("-> power cut ({e})"));
                return Ok(w);
            }
            Step::Failed(e) => return Err(format!("step {i} failed: {e}; {}", w.recent())),
        }
        if i % 16 == 15 {
            w.check()
                .map_err(|e| format!("step {i}: {e}; {}", w.recent()))?;
        }
    }
    Ok(w)
}

/// Reboots onto `media`, cutting the power again at a random operation of
/// recovery (possibly after its last, or before its first), reboots once
/// more and checks what the log holds.
fn reboot(w: &mut Workload, media: SimStorage, rng: &mut Rng) -> Result<(), String> {
    let config: Config = w.config;
    let media = {
        // A dry run on a copy counts recovery's operations.
        let dry = media.fork();
        let _ = Log::open(dry.clone(), config);
        let cut = rng.below(dry.ops() + 1);
        media.set_faults(Faults {
            power_cut_at: Some(cut),
            ..Faults::default()
        });
        let first = Log::open(media.clone(), config);
        w.trace.push(format!(
            "recovery cut at operation {cut} of {}: {}",
            dry.ops(),
            if first.is_ok() { "opened" } else { "failed" }
        ));
        // A recovery that completed holds what the promise says, too.
        if let Ok(log) = &first {
            w.model
                .clone()
                .check_recovered(log, Restart::PowerLoss)
                .map_err(|e| format!("before the second power cut: {e}"))?;
        }
        drop(first);
        media.crash_with(CrashMode::WHOLE_HEADERS)
    };
    let log = Log::open(media.clone(), config)
        .map_err(|e| format!("the log does not open after the crash: {e}"))?;
    w.model.check_recovered(&log, Restart::PowerLoss)?;
    w.storage = media;
    w.log = Some(log);
    w.model.reopened();
    // Offsets continue from the recovered end, with no gap and no duplicate.
    for _ in 0..3 {
        let next = w.model.next;
        let p = (next % 251) as u8;
        match w.log().append(&[p; 5]) {
            Ok(offset) if offset == next => {
                let got = w.log().read(offset).map_err(|e| format!("{e}"))?;
                if *got.payload != [p; 5] {
                    return Err(format!("read-back after recovery differs at {offset}"));
                }
                w.model.next += 1;
            }
            Ok(offset) => return Err(format!("append after recovery got {offset}, not {next}")),
            Err(e) if next.checked_add(1).is_none() || w.config.record_limit() < 5 => {
                let _ = e;
                break;
            }
            Err(e) => return Err(format!("append after recovery failed: {e}")),
        }
    }
    Ok(())
}

fn crash_one(seed: u64) -> Result<(), String> {
    // A dry run counts the workload's storage operations.
    let dry = drive(seed, None)?;
    let total = dry.storage.ops();
    let mut rng = Rng::new(seed ^ 0xC0A5_7CA5);
    let cut = rng.below(total + 1);
    let mut w = drive(seed, Some(cut))?;
    drop(w.log.take());
    let media = w.storage.crash_with(CrashMode::WHOLE_HEADERS);
    w.trace.push(format!("crash at operation {cut} of {total}"));
    reboot(&mut w, media, &mut rng).map_err(|e| format!("{e}; {}", w.recent()))
}

#[test]
fn power_cut_at_a_random_operation() {
    run_seeds("crash", "power_cut_at_a_random_operation", 1_000, crash_one);
}

/// Every seed once more with everything unsynced lost: the strictest case
/// for "what was synced is there".
#[test]
fn power_cut_losing_everything_unsynced() {
    run_seeds(
        "crash",
        "power_cut_losing_everything_unsynced",
        300,
        |seed| {
            let dry = drive(seed, None)?;
            let mut rng = Rng::new(seed ^ 0x5EED);
            let cut = rng.below(dry.storage.ops() + 1);
            let mut w = drive(seed, Some(cut))?;
            drop(w.log.take());
            let media = w.storage.crash_with(CrashMode::LoseUnsynced);
            if std::env::var_os("DISLOG_SIM_TRACE").is_some() {
                for (i, line) in w.trace.iter().enumerate() {
                    println!("step {i}: {line}");
                }
                println!("{}", w.storage.trace().join("\n"));
            }
            let log = Log::open(media, w.config).map_err(|e| format!("open: {e}"))?;
            w.model
                .check_recovered(&log, Restart::PowerLoss)
                .map_err(|e| format!("{e}; {}", w.recent()))
        },
    );
}
