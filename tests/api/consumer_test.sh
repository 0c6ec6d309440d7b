#!/bin/sh
# consumer_test.sh — libseek as a third party uses it: `cmake --install` of the build tree
# into a temporary prefix, tests/api/consumer.c compiled (as C, and as C++) with nothing but
# `pkg-config --cflags --libs seek` against the installed seek.h and libseek.so, then run on
# the model; its output must equal `seek run --temp 0` for the same prompt (raw and chat).
# Exit 77 (skip) without pkg-config or a C compiler, and in sanitizer builds (a program
# built without -fsanitize cannot load an ASan-instrumented libseek.so).
# Usage: consumer_test.sh CMAKE BUILD_DIR SOURCE_DIR SEEK_BIN MODEL SANITIZED(ON|OFF)
# Environment: CC, CXX (default cc, c++; CXX=none skips the C++ build) and, for a cross build,
# SEEK_TEST_EMULATOR (e.g. qemu-aarch64) that runs the consumer and lists its libraries.
set -eu
cmake=$1 build=$2 src=$3 seek=$4 model=$5 sanitized=$6
case "$sanitized" in ON|on|1|TRUE|true)
  echo "skip: sanitizer build (an uninstrumented consumer cannot load an ASan libseek.so)"; exit 77 ;;
esac
command -v pkg-config >/dev/null 2>&1 || { echo "skip: pkg-config is not installed"; exit 77; }
cc=${CC:-cc}
cxx=${CXX:-c++}
emu=${SEEK_TEST_EMULATOR:-}
command -v "$cc" >/dev/null 2>&1 || { echo "skip: no C compiler ($cc)"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/seek-consumer.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
"$cmake" --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; echo "FAIL: cmake --install"; exit 1; }
pc=$(find "$tmp/prefix" -name seek.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: seek.pc was not installed"; exit 1; }
pcdir=$(dirname "$pc")
flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs seek)
echo "pkg-config --cflags --libs seek: $flags"
case "$flags" in *"$src"*) echo "FAIL: the flags point into the source tree"; exit 1 ;; esac
libdir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=libdir seek)
[ -f "$libdir/libseek.so" ] || { echo "FAIL: no libseek.so in $libdir"; exit 1; }

# The consumer sees only its own folder and the prefix.
cp "$src/tests/api/consumer.c" "$tmp/consumer.c"
cd "$tmp"
"$cc" -std=c99 -Wall -Wextra -Werror -pedantic -o consumer consumer.c $flags
if command -v "$cxx" >/dev/null 2>&1; then
  "$cxx" -x c++ -std=c++11 -Wall -Wextra -Werror -o consumer_cxx consumer.c $flags
fi
# what the loader loads: ldd natively; under an emulator ldd cannot run the binary, and
# LD_TRACE_LOADED_OBJECTS must reach the emulated loader, not the emulator's own (qemu-user
# passes QEMU_SET_ENV to the guest only)
if [ -n "$emu" ]; then
  QEMU_SET_ENV=LD_TRACE_LOADED_OBJECTS=1 LD_LIBRARY_PATH="$libdir" $emu ./consumer
else
  LD_LIBRARY_PATH="$libdir" ldd ./consumer
fi | grep -q "$libdir/libseek.so" ||
  { echo "FAIL: the consumer does not load the installed libseek.so"; exit 1; }

status=0
check() { # MODE PROMPT N SEEK_RUN_FLAGS...
  mode=$1 prompt=$2 n=$3
  shift 3
  "$seek" run -m "$model" -p "$prompt" -n "$n" --temp 0 -c 512 "$@" >"$tmp/want.txt" 2>/dev/null
  for bin in consumer consumer_cxx; do
    [ -x "./$bin" ] || continue
    LD_LIBRARY_PATH="$libdir" $emu "./$bin" "$model" "$mode" "$prompt" "$n" >"$tmp/got.txt" 2>"$tmp/err.txt" ||
      { cat "$tmp/err.txt"; echo "FAIL: $bin $mode exited with an error"; status=1; continue; }
    cat "$tmp/err.txt"
    if cmp -s "$tmp/want.txt" "$tmp/got.txt"; then
      echo "ok: $bin $mode '$prompt' -n $n equals seek run:"
      sed 's/^/    | /' "$tmp/got.txt"
    else
      echo "FAIL: $bin $mode '$prompt' differs from seek run"
      echo "--- seek run"; cat "$tmp/want.txt"; echo "--- $bin"; cat "$tmp/got.txt"
      status=1
    fi
  done
}
check raw "The License" 16 --raw
check chat "What is a license?" 24
exit $status
