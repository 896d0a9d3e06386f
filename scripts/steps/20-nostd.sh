#!/usr/bin/env bash
# The engine builds without std for the browser and for bare metal, and no
# crate in its dependency tree pulls std in.
set -euo pipefail
for target in wasm32-unknown-unknown thumbv7em-none-eabihf; do
  cargo build -p dislog-core --no-default-features --target "$target" --locked --quiet
  echo "dislog-core builds for $target"
done
# A crate that links std would fail on thumbv7em above; also say so plainly.
if cargo tree -p dislog-core --no-default-features -e normal --target thumbv7em-none-eabihf --prefix none | grep -Ei '^(std|libc) '; then
  echo "std found in dislog-core's dependency tree" >&2
  exit 1
fi
