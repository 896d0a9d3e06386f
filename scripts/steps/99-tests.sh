#!/usr/bin/env bash
# Every Rust test: doc tests first (nextest does not run them), then all unit,
# integration and property tests through nextest, whose summary ends the run.
set -euo pipefail
cargo test --workspace --doc --locked --quiet
cargo nextest run --workspace --locked --no-fail-fast
