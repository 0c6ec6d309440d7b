#!/bin/sh
# speed.sh — generation speed of Seek and llama.cpp on the same GGUF files, alternately in
# one run (Seek, llama.cpp, Seek, llama.cpp, ...), so a change of load hits both alike.
#
#   bench/llamacpp/speed.sh LLAMA_BUILD SEEK_BUILD THREADS FILE.gguf...
#
# LLAMA_BUILD is a llama.cpp CMake build with libllama (see README.md); the driver
# decode_speed.c is compiled against it here. Prints, per file and round, both engines'
# prompt/generation tokens/s and CPU ms per generated token, and Seek's share of the
# memory bandwidth measured in its own run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
lb=$1 sb=$2 threads=$3
shift 3
src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$lb/CMakeCache.txt")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
libdir=$(dirname "$(find "$lb" -name 'libllama.so' | head -1)")
cc -O2 -o "$tmp/decode_speed" "$here/decode_speed.c" -I"$src/include" -I"$src/ggml/include" \
    -L"$libdir" -lllama -lggml -lggml-base -Wl,-rpath,"$libdir"
for f in "$@"; do
    for r in 1 2; do
        echo "== $(basename "$f") round $r, load $(cut -d' ' -f1-3 /proc/loadavg)"
        "$sb/seek" bench -m "$f" -p 64 -n 32 -t "$threads" 2>&1 |
            grep -E '^(prompt|generation|bandwidth|per CPU-s)' | sed 's/^/seek      /'
        "$tmp/decode_speed" "$f" "$threads" 64 32 2>/dev/null
    done
done
