#!/usr/bin/env bash
# The one command that runs every test of dislog. It installs whatever is
# missing on a fresh machine (idempotently), then runs each step in
# scripts/steps/ in name order. The last step runs the Rust test suites
# with cargo-nextest, so its summary is the last thing printed.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
for step in scripts/steps/*.sh; do
  echo "==> ${step#scripts/steps/} ($((SECONDS - start)) s)"
  bash "$step"
done
