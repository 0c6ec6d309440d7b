#!/bin/sh
# train_small.sh — trains a small DeepSeek-V3-architecture model (bench/train_small_config.json:
# hidden 192, 4 layers (1 dense + 3 MoE), 8 routed experts top-2 + 1 shared, MLA with q LoRA,
# MTP depth 1, vocab 4096; about 5 M parameters) on real English text assembled from Debian
# packages (bench/make_corpus.sh), tokenized with a BPE tokenizer trained by
# `seek tokenizer train`, packed into sequences of 129 ids by `seek data pack`.
#
#   bench/train_small.sh [BUILD_DIR] [OUT_DIR] [STEPS] [THREADS]
# Defaults: build, /tmp/seek-small, 400 steps, 2 threads. Writes OUT_DIR/run/metrics.jsonl,
# OUT_DIR/run/loss.svg (the loss curve, refreshed every 25 steps), OUT_DIR/run/model.* .
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
out=${2:-/tmp/seek-small}
steps=${3:-400}
threads=${4:-2}
seek=$build/seek
[ -x "$seek" ] || { echo "no seek binary at $seek (build first: make)" >&2; exit 2; }
mkdir -p "$out"
[ -s "$out/corpus/corpus.jsonl" ] || "$here/make_corpus.sh" "$out/corpus" 4000000
[ -s "$out/tok/tokenizer.json" ] ||
    "$seek" tokenizer train --input "$out/corpus/corpus.jsonl" --vocab-size 4096 --out "$out/tok" --quiet
[ -s "$out/data-00000.bin" ] ||
    "$seek" data tokenize --tokenizer "$out/tok" --input "$out/corpus/corpus.jsonl" --out "$out/data"
[ -s "$out/train.txt" ] ||
    "$seek" data pack --shards "$out/data" --seq-len 128 --shuffle --seed 1 --out "$out/train.txt"
"$seek" data info "$out/data" --seq-len 128 || true
resume=""
[ -f "$out/run/ckpt.bin" ] && resume="--resume"
start=$(date +%s)
"$seek" train --config "$here/train_small_config.json" --data "$out/train.txt" --out "$out/run" \
    --steps "$steps" --batch 16 --lr 3e-3 --warmup 20 --cosine-start 100 --min-lr-frac 0.1 \
    --ckpt-every 25 --threads "$threads" --tokenizer "$out/tok" $resume
echo "wall time: $(( $(date +%s) - start )) s"
tail -n 1 "$out/run/metrics.jsonl"
echo "loss curve: $out/run/loss.svg"
