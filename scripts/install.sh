#!/usr/bin/env bash
# Installs the dislog C library into a prefix:
#   PREFIX/lib/libdislog.a, PREFIX/lib/libdislog.so,
#   PREFIX/include/dislog.h (+ dislog.hpp, the C++ RAII wrapper),
#   PREFIX/lib/pkgconfig/dislog.pc
# so that `cc app.c $(pkg-config --cflags --libs dislog)` works with
# PKG_CONFIG_PATH=PREFIX/lib/pkgconfig (or without it for /usr/local, /usr).
#
# Usage: scripts/install.sh [--no-build] [PREFIX]     (PREFIX defaults to /usr/local)
#   --no-build   install what is already in the target dir (release profile)
#   DESTDIR=...  staged install: files go to $DESTDIR$PREFIX, the .pc names $PREFIX
#   CARGO_TARGET_DIR is honoured (default: target/).
set -euo pipefail
cd "$(dirname "$0")/.."

build=1
prefix=/usr/local
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
    *) prefix=$arg ;;
  esac
done
case "$prefix" in
  /*) ;;
  *) prefix="$(pwd)/$prefix" ;;
esac

target_dir=${CARGO_TARGET_DIR:-target}
if [[ $build == 1 ]]; then
  cargo build -p dislog --release --locked --quiet
fi
lib_dir="$target_dir/release"
for f in libdislog.a libdislog.so; do
  if [[ ! -f "$lib_dir/$f" ]]; then
    echo "install.sh: $lib_dir/$f is missing: run without --no-build" >&2
    exit 1
  fi
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
dest="${DESTDIR:-}$prefix"
install -d "$dest/lib/pkgconfig" "$dest/include"
install -m 644 "$lib_dir/libdislog.a" "$dest/lib/libdislog.a"
install -m 755 "$lib_dir/libdislog.so" "$dest/lib/libdislog.so"
install -m 644 include/dislog.h "$dest/include/dislog.h"
install -m 644 examples/cpp/dislog.hpp "$dest/include/dislog.hpp"
# Libs.private: what a static link needs (`cargo rustc --print native-static-libs`).
cat > "$dest/lib/pkgconfig/dislog.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: dislog
Description: An embeddable commit log (C API)
Version: $version
Libs: -L\${libdir} -ldislog
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
Cflags: -I\${includedir}
PC
echo "installed dislog $version into $dest"
