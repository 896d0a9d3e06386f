//! Replays every input the fuzzers ever crashed on (`fuzz/regressions/`),
//! the checked-in seed corpora (`fuzz/seeds/`), and a few thousand seeded
//! random inputs per target, so the fuzz targets' checks run in every test
//! run without nightly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use dislog_sim::{fuzz, Rng};

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 3] = [
    ("open_arbitrary_files", fuzz::open_arbitrary_files),
    ("restore_snapshot", fuzz::restore_snapshot),
    ("api_model", fuzz::api_model),
];

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn committed_inputs_pass() {
    let fuzz_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for (target, run) in TARGETS {
        for kind in ["regressions", "seeds"] {
            for (path, data) in inputs(&fuzz_dir.join(kind).join(target)) {
                let outcome = std::panic::catch_unwind(|| run(&data));
                assert!(outcome.is_ok(), "{target} fails on {path}");
                replayed += 1;
            }
        }
    }
    assert!(
        replayed >= 3,
        "no seed corpus found under {}",
        fuzz_dir.display()
    );
}

#[test]
fn random_inputs_pass() {
    let count = std::env::var("DISLOG_FUZZ_SMOKE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_500u64);
    for (target, run) in TARGETS {
        for seed in 0..count {
            let mut rng = Rng::new(seed);
            let mut data = vec![0; rng.below(600) as usize];
            rng.fill(&mut data);
            // Small bytes make the decoders take their common branches.
            if seed % 2 == 0 {
                for b in &mut data {
                    *b %= 16;
                }
            }
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(
                outcome.is_ok(),
                "{target} fails on random input {seed}: DISLOG_FUZZ_SMOKE={} cargo test -p dislog-sim --test fuzz_regressions",
                seed + 1
            );
        }
    }
}
