#!/usr/bin/env bash
# The native library and its C ABI: header freshness, header hygiene, the C,
# C++ and Python examples (output checked), the C test suite (plain, under
# valgrind, and with ASan/UBSan on the C side), and install.sh + pkg-config.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
target_dir=${CARGO_TARGET_DIR:-$root/target}
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
lib_dir="$target_dir/release"
work=$(mktemp -d "${TMPDIR:-/tmp}/dislog-native.XXXXXX")
trap 'rm -rf "$work"' EXIT

need() {
  command -v "$1" >/dev/null && return 0
  if [[ -n "${2:-}" ]] && command -v apt-get >/dev/null; then
    echo "installing $2 (for $1)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; } >/dev/null
  fi
  command -v "$1" >/dev/null || { echo "30-native: $1 is required" >&2; exit 1; }
}
need gcc gcc
need g++ g++
need pkg-config pkg-config
need valgrind valgrind
need python3 python3

# 1. Build the release library; build.rs regenerates include/dislog.h.
cargo build -p dislog --release --locked --quiet
if ! git diff --exit-code --quiet -- include/dislog.h; then
  git --no-pager diff --stat -- include/dislog.h >&2
  echo "30-native: include/dislog.h is stale: it differs from what cbindgen generates from ffi/src/capi." >&2
  echo "  Fix: cargo build -p dislog && git add include/dislog.h && git commit -m 'regenerate dislog.h'" >&2
  exit 1
fi
if [[ -n "$(git status --porcelain -- include/dislog.h)" ]]; then
  echo "30-native: include/dislog.h is not committed. Fix: git add include/dislog.h" >&2
  exit 1
fi

# 2. The header compiles cleanly as C99 and C++17.
printf '#include "dislog.h"\nint main(void) { return dislog_version() == 0; }\n' >"$work/h.c"
cp "$work/h.c" "$work/h.cpp"
gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -c "$work/h.c" -o "$work/h.o"
g++ -std=c++17 -Wall -Wextra -Werror -Iinclude -c "$work/h.cpp" -o "$work/hpp.o"
g++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude -fsyntax-only -x c++ examples/cpp/dislog.hpp

# Every exported function is exercised by the C test suite.
missing=$(grep -oE '\bdislog_[a-z_]+\(' include/dislog.h | tr -d '(' | sort -u | while read -r fn; do
  grep -q "\b$fn(" tests/c/test_dislog.c || echo "$fn"
done)
if [[ -n "$missing" ]]; then
  echo "30-native: functions of dislog.h not called by tests/c/test_dislog.c:" $missing >&2
  exit 1
fi

static_link=("$lib_dir/libdislog.a" -lpthread -ldl -lm)
check_output() { # name expected-file actual-file
  if ! diff -u "$2" <(tail -n +2 "$3") >"$work/$1.diff"; then
    echo "30-native: the $1 example printed something unexpected:" >&2
    cat "$work/$1.diff" >&2
    exit 1
  fi
}

# 3. The examples, output checked (first line is the version).
gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude examples/c/example.c "${static_link[@]}" -o "$work/example_c"
"$work/example_c" "$work/log-c" >"$work/out-c"
check_output c examples/c/expected.txt "$work/out-c"
# The benchmark is only compiled here (run it by hand, see its header).
gcc -O2 -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude examples/c/bench.c "${static_link[@]}" -o "$work/bench_c"
g++ -std=c++17 -Wall -Wextra -Werror -Iinclude -Iexamples/cpp examples/cpp/example.cpp "${static_link[@]}" -o "$work/example_cpp"
"$work/example_cpp" "$work/log-cpp" >"$work/out-cpp"
check_output cpp examples/cpp/expected.txt "$work/out-cpp"
DISLOG_LIB="$lib_dir/libdislog.so" python3 examples/python/example.py "$work/log-py" >"$work/out-py"
check_output python examples/python/expected.txt "$work/out-py"
echo "C, C++ and Python examples ran with the expected output"

# 4. The C test suite: plain, under valgrind, and with ASan + UBSan on the C side.
gcc -std=c99 -Wall -Wextra -Werror -pedantic -g -Iinclude tests/c/test_dislog.c "${static_link[@]}" -o "$work/test_c"
TMPDIR="$work" "$work/test_c" >"$work/test-c.out" || { cat "$work/test-c.out"; exit 1; }
TMPDIR="$work" valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
  "$work/test_c" >"$work/test-vg.out" 2>&1 || { cat "$work/test-vg.out"; echo "30-native: valgrind found errors" >&2; exit 1; }
echo "C test suite under valgrind: $(tail -n 1 "$work/test-vg.out"), no errors or leaks"
# ASan on both sides: the library built with -Zsanitizer=address (nightly, an
# explicit --target is required), the C suite with ASan + UBSan.
asan_lib=("$lib_dir/libdislog.a")
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  RUSTFLAGS=-Zsanitizer=address CARGO_TARGET_DIR="$target_dir/asan" \
    cargo +nightly build -p dislog --release --locked --quiet --target x86_64-unknown-linux-gnu
  asan_lib=("$target_dir/asan/x86_64-unknown-linux-gnu/release/libdislog.a")
else
  echo "30-native: no nightly toolchain: ASan covers the C side only"
fi
gcc -std=c99 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -Iinclude \
  tests/c/test_dislog.c "${asan_lib[@]}" -lpthread -ldl -lm -o "$work/test_c_asan"
TMPDIR="$work" ASAN_OPTIONS=detect_leaks=1 "$work/test_c_asan" >"$work/test-asan.out" 2>&1 || { cat "$work/test-asan.out"; echo "30-native: ASan/UBSan found errors" >&2; exit 1; }
echo "C test suite under ASan (library and suite) + UBSan: $(tail -n 1 "$work/test-asan.out")"

# 5. install.sh + pkg-config into a temporary prefix; link dynamically and statically.
scripts/install.sh --no-build "$work/prefix" >/dev/null
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
[[ "$(pkg-config --modversion dislog)" == "$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)" ]]
# shellcheck disable=SC2046
cc -std=c99 -Wall -Werror examples/c/example.c $(pkg-config --cflags --libs dislog) -o "$work/example_pc"
LD_LIBRARY_PATH="$work/prefix/lib" "$work/example_pc" "$work/log-pc" >"$work/out-pc"
check_output pkg-config examples/c/expected.txt "$work/out-pc"
# shellcheck disable=SC2046
c++ -std=c++17 examples/cpp/example.cpp $(pkg-config --cflags dislog) "$work/prefix/lib/libdislog.a" -lpthread -ldl -lm -o "$work/example_pc_cpp"
"$work/example_pc_cpp" "$work/log-pc-cpp" >"$work/out-pc-cpp"
check_output pkg-config-cpp examples/cpp/expected.txt "$work/out-pc-cpp"
echo "install.sh + pkg-config: dynamic and static links work"

# The closing line of the C suite (counted like any test runner's summary).
tail -n 1 "$work/test-c.out"
