#!/bin/sh
# train_step_ab.sh — builds bench/train_step_ab.c against a build's static libraries and runs
# it: forward + backward passes of the bench/train_vs_torch.sh model with OpenBLAS and with
# sk_sgemm, alternating every pass (medians of wall and CPU seconds per pass).
#
#   bench/train_step_ab.sh [BUILD_DIR] [PASSES_PER_BACKEND] [THREADS]
# Defaults: build, 8 passes, 2 threads. OpenBLAS runs single-threaded (as in seek train).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
passes=${2:-8}
threads=${3:-2}
src=$here/../src
L=$build/src
[ -f "$L/train/libseek_train.a" ] || { echo "no $L/train/libseek_train.a (build first)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
inc=""
for d in train model tokenizer kernels format tensor util; do inc="$inc -I$src/$d"; done
# shellcheck disable=SC2086
cc -std=c17 -O2 -D_GNU_SOURCE $inc "$here/train_step_ab.c" -o "$tmp/train_step_ab" \
    -Wl,--start-group "$L/train/libseek_train.a" "$L/model/libseek_model.a" \
    "$L/tokenizer/libseek_tokenizer.a" "$L/kernels/libseek_kernels.a" \
    "$L/format/libseek_format.a" "$L/tensor/libseek_tensor.a" "$L/util/libseek_util.a" \
    -Wl,--end-group $(pkg-config --libs openblas jansson libpcre2-8) -lpthread -lm
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
OPENBLAS_NUM_THREADS=1 "$tmp/train_step_ab" "$here/train_config.json" "$passes" "$threads"
