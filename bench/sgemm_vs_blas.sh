#!/bin/sh
# sgemm_vs_blas.sh — GFLOP/s of Seek's sk_sgemm and single-threaded OpenBLAS on the training
# step's matrix products (bench/sgemm_bench.c), in alternating rounds.
#
#   bench/sgemm_vs_blas.sh [BUILD_DIR] [ROUNDS]
# Defaults: build, 5 rounds. Needs the build's static libraries (make / ninja first).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
rounds=${2:-5}
src=$here/../src
lib=$build/src/kernels/libseek_kernels.a
[ -f "$lib" ] || { echo "no $lib (build first)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -std=c17 -O2 -D_GNU_SOURCE -I"$src/kernels" -I"$src/tensor" -I"$src/util" \
    $(pkg-config --cflags openblas) "$here/sgemm_bench.c" -o "$tmp/sgemm_bench" \
    "$lib" "$build/src/tensor/libseek_tensor.a" "$build/src/util/libseek_util.a" \
    $(pkg-config --libs openblas) -lpthread -lm
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
"$tmp/sgemm_bench" "$rounds"
