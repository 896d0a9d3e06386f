#!/usr/bin/env bash
# The browser package: builds dislog-wasm for wasm32 optimised for size,
# generates the `dislog` npm package (wasm/pkg: --target web and --target
# nodejs), reports the .wasm size, then runs the Node API tests and the
# headless-Chromium end-to-end test. Installs what is missing, idempotently.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
WASM_BINDGEN_VERSION=0.2.130 # must equal the `=` pin in wasm/Cargo.toml
export CARGO_TARGET_DIR="${DISLOG_WASM_TARGET_DIR:-$root/target/wasm}"

# --- installs ---------------------------------------------------------------
grep -qx wasm32-unknown-unknown <<<"$(rustup target list --installed)" || rustup target add wasm32-unknown-unknown
if [[ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
  # Without --locked: the locked set needs a dependency version the registry mirror lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --quiet
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
fi
if [[ ! -x /usr/bin/chromium ]]; then
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
lock_sum=$(sha256sum tests/js/package-lock.json | cut -d' ' -f1)
if [[ "$(cat tests/js/node_modules/.dislog-lock 2>/dev/null)" != "$lock_sum" ]]; then
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_sum" > tests/js/node_modules/.dislog-lock
fi

# --- release build, optimised for size ----------------------------------------
# opt-level "s" and no debug info come from the root Cargo.toml's
# [profile.release.package.dislog-wasm]. LTO, one codegen unit and
# panic=abort are whole-build settings (no per-package override exists for
# them): they apply to this build only, and its own target dir keeps the
# other steps' artifacts untouched.
CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
CARGO_PROFILE_RELEASE_PANIC=abort \
  cargo build -p dislog-wasm --target wasm32-unknown-unknown --release --locked --quiet
raw="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/dislog_wasm.wasm"

# --- the package ----------------------------------------------------------------
# wasm-bindgen's own checks throw through one import with a bare message:
# "null pointer passed to rust" for a method called on an object that is
# not a live Log or RecordIterator (`Log.prototype.read.call({})`). Give
# those errors a `code` too (INVALID_TYPE, a TypeError for that one), as
# every error of the package has. Fails when the glue no longer matches.
give_codes_to_runtime_errors() {
  node - "$1" <<'JS'
const fs = require('fs');
const file = process.argv[2];
const from = 'throw new Error(getStringFromWasm0(arg0, arg1));';
const to = `const message = getStringFromWasm0(arg0, arg1);
            const error = message === 'null pointer passed to rust'
                ? new TypeError('this is not a live dislog object: the method was called on something other than a Log or RecordIterator made by this package')
                : new Error(message);
            error.code = 'INVALID_TYPE';
            throw error;`;
const glue = fs.readFileSync(file, 'utf8');
if (glue.split(from).length !== 2) throw new Error(`${file}: wasm-bindgen's throw import not found once; update 40-wasm.sh`);
fs.writeFileSync(file, glue.replace(from, to));
JS
}

pkg=wasm/pkg
rm -rf "$pkg"
mkdir -p "$pkg"
for target in web nodejs; do
  dir=$pkg/${target/nodejs/node}
  wasm-bindgen --target "$target" --weak-refs --out-dir "$dir" "$raw"
  give_codes_to_runtime_errors "$dir/dislog_wasm.js"
  cp "wasm/pkg-template/${dir#"$pkg"/}.package.json" "$dir/package.json"
done
cp wasm/pkg-template/package.json wasm/pkg-template/README.md "$pkg/"

# wasm-opt from the binaryen npm package (never Debian's, whose output failed
# to load): kept only when the optimised module still loads and works.
wasm_opt=tests/js/node_modules/binaryen/bin/wasm-opt
bg=$pkg/node/dislog_wasm_bg.wasm
before=$(stat -c %s "$bg")
if [[ -x $wasm_opt ]] && "$wasm_opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
     --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
     "$bg" -o "$bg.opt" 2>/dev/null; then
  cp "$bg" "$bg.orig" && mv "$bg.opt" "$bg"
  if node -e "const {Log}=require('./$pkg/node/dislog_wasm.js'); const l=new Log(); l.append('x'); if (l.readString(0)!=='x') process.exit(1)"; then
    cp "$bg" "$pkg/web/dislog_wasm_bg.wasm"
    rm "$bg.orig"
    opt="wasm-opt -Oz (binaryen npm)"
  else
    mv "$bg.orig" "$bg"
    opt="wasm-opt skipped: the optimised module did not load"
  fi
else
  opt="wasm-opt skipped: binaryen's wasm-opt unavailable or failed"
fi
after=$(stat -c %s "$bg")
gz=$(gzip -9 -c "$bg" | wc -c)
echo "dislog .wasm size: $after bytes ($gz gzipped; $before before wasm-opt; $opt)"

# --- tests ------------------------------------------------------------------------
cd tests/js
node_modules/.bin/tsc -p types
echo "dislog wasm: the generated typings type-check (tests/js/types)"
node --test --test-reporter=dot api.test.mjs snapshot.test.mjs robustness.test.mjs memory.test.mjs
echo "dislog wasm: Node API, snapshot, robustness and out-of-memory tests passed"
node bench/append-batch.mjs 500000 # measurements printed for the log, not tests
node bench/calls.mjs 300000
node --test --test-reporter=dot e2e.test.mjs
echo "dislog wasm: headless-Chromium end-to-end test of examples/browser passed"
