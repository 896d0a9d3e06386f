#!/usr/bin/env bash
# Runs each cargo-fuzz target (fuzz/Cargo.toml) for a few seconds from a
# copy of its checked-in seed corpus, so the checked-in corpus stays small
# and untouched, and prints the executions per target. A crash fails the
# step and leaves its input under fuzz/artifacts/<target>/: minimise it,
# fix it, and add it to fuzz/regressions/<target>/ (replayed by
# sim/tests/fuzz_regressions.rs in every test run). Longer runs:
# DISLOG_FUZZ_SECS=600 bash scripts/steps/70-fuzz.sh (see RELIABILITY.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${DISLOG_FUZZ_SECS:-10}
work=$(mktemp -d "${TMPDIR:-/tmp}/dislog-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
targets=$(sed -n '/^\[\[bin\]\]/,/^name/ s/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml)
[[ -n "$targets" ]] || { echo "70-fuzz: no [[bin]] target in fuzz/Cargo.toml" >&2; exit 1; }
# One build of every target first (cargo-fuzz builds in fuzz/target).
(cd fuzz && cargo +nightly fuzz build --release >"$work/build.log" 2>&1) \
  || { cat "$work/build.log" >&2; echo "70-fuzz: cargo +nightly fuzz build failed" >&2; exit 1; }
summary=()
for target in $targets; do
  mkdir -p "$work/corpus/$target"
  cp fuzz/seeds/"$target"/* "$work/corpus/$target/" 2>/dev/null || true
  seeds=$(find "$work/corpus/$target" -type f | wc -l)
  log="$work/$target.log"
  if ! (cd fuzz && cargo +nightly fuzz run --release "$target" "$work/corpus/$target" -- \
        -max_total_time="$secs" -rss_limit_mb=1024 -timeout=10 -print_final_stats=1) >"$log" 2>&1; then
    tail -n 60 "$log" >&2
    echo "70-fuzz: $target failed; its input is under fuzz/artifacts/$target/" >&2
    exit 1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  corpus=$(find "$work/corpus/$target" -type f | wc -l)
  summary+=("$target ${execs:-?} execs (corpus $seeds -> $corpus)")
done
(IFS=';'; echo "fuzz, ${secs} s per target, no crash:${summary[*]/#/ }")
