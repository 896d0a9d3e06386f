#!/usr/bin/env bash
# Core's tests under miri (undefined behaviour, data races between the
# shared log's threads, leaks), with isolation on. Tests too slow for miri
# run smaller under cfg(miri) (same assertions); the golden-file tests,
# which read fixtures from disk, are ignored. See RELIABILITY.md, "Miri".
# Prints one summary line (the whole output on failure).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$SECONDS
if ! cargo +nightly miri test -p dislog-core --locked >"$out" 2>&1; then
  cat "$out" >&2
  echo "60-miri: 'cargo +nightly miri test -p dislog-core --locked' failed" >&2
  exit 1
fi
# "test result: ok. 24 passed; 0 failed; 2 ignored; 0 measured; 1 filtered out; ..."
# once per test binary.
read -r passed ignored skipped binaries < <(awk '/^test result:/ {p += $4; i += $8; f += $12; n++} END {print p + 0, i + 0, f + 0, n + 0}' "$out")
if (( binaries == 0 || passed == 0 )); then
  cat "$out" >&2
  echo "60-miri: no test ran under miri" >&2
  exit 1
fi
echo "miri: dislog-core's tests ran with no undefined behaviour: $passed passed, $ignored ignored (fixture files) across $binaries test binaries in $((SECONDS - start)) s"
