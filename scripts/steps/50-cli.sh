#!/usr/bin/env bash
# The README's quick start, exactly as written there: the demo appends and
# reads back a million records, shows the segment layout and a crash
# recovery. Checks that it succeeds and reports its throughput; prints only
# the two throughput lines (everything on failure).
set -euo pipefail
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if ! cargo run --release -p dislog-cli -- demo >"$out" 2>&1; then
  cat "$out" >&2
  echo "50-cli: 'cargo run --release -p dislog-cli -- demo' failed" >&2
  exit 1
fi
for expected in '^append +1,000,000 records in .* records/s' '^read +1,000,000 records in .* records/s' \
  'segment \(base\)' 'synced records read back intact' 'verify: no problems'; do
  if ! grep -Eq "$expected" "$out"; then
    cat "$out" >&2
    echo "50-cli: the demo's output lacks /$expected/" >&2
    exit 1
  fi
done
grep -E '^(append|read) ' "$out"
