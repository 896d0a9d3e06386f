#!/usr/bin/env bash
# Toolchain pieces every later step needs. Each install is skipped when present.
set -euo pipefail
installed_targets=$(rustup target list --installed)
for target in wasm32-unknown-unknown thumbv7em-none-eabihf; do
  grep -qx "$target" <<<"$installed_targets" || rustup target add "$target"
done
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
nightly_components=$(rustup +nightly component list --installed)
for component in miri rust-src; do
  grep -q "^$component" <<<"$nightly_components" || rustup +nightly component add "$component"
done
command -v cargo-nextest >/dev/null || cargo install cargo-nextest --locked
# cargo-fuzz: step 70-fuzz runs each fuzz target briefly (~30 s to build).
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# strace: the CLI's --sync test counts fsync calls with it.
if ! command -v strace >/dev/null; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace; } >/dev/null
fi
