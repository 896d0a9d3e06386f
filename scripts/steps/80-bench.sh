#!/usr/bin/env bash
# The benchmarks build and run: every criterion bench once (`cargo test
# --benches`, a smoke test with the issue's workload sizes), then the
# comparison harness in its quick mode, whose table is printed for the log.
# Numbers from a loaded CI machine are not the README's: those come from
# `cargo run --release -p dislog-bench` on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo test --release --benches -p dislog-core -p dislog --locked --quiet 2>&1 | grep -cE '^Success' |
  xargs -I{} echo "criterion benches: {} benchmarks ran once"
cargo run --release -p dislog-bench --locked --quiet -- --quick 2>/dev/null
