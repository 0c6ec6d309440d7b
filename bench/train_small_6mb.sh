#!/bin/sh
# train_small_6mb.sh — the second small-model run: the 5M-parameter config of train_small.sh on
# all the Debian text make_corpus.sh can find (about 6.2 MB; every 10th document held out,
# 1.49M training tokens), 1800 steps of 16 x 128 tokens (2.5 epochs), lr 3e-3, 50 warm-up
# steps, 150 at the peak, cosine to 0.1x. Every 50 steps the held-out documents' loss (32
# micro-batches of 16 x 128 tokens from their shards) goes into metrics.jsonl and the chart. The tokenizer is the one train_small.sh trains on its
# 4 MB corpus (OUT4 below; run train_small.sh first, or let this script make that tokenizer).
#
#   bench/train_small_6mb.sh [BUILD_DIR] [OUT_DIR] [STEPS] [THREADS]
#
# Measured (session 2, quiet machine, 767 s of training at ~4,800 tok/s): main loss 8.35 (step 1),
# 5.28 (100), 3.99 (400), 3.10 (1000); 100-step means over the last three hundred steps 2.955,
# 2.944, 2.941; held-out perplexity 37.64 (3.63 nats) over 166,985 tokens.
# Session 3, with the held-out evaluation (loaded machine, 1212 s of training at a median
# 3,070 tok/s): 100-step means of the main loss over the last 300 steps 2.942, 2.932, 2.929;
# held-out loss 6.33 (step 50), 4.56 (600), 4.22 (1050), 4.05 (1500), 4.02 (1650), 3.98 (1800);
# `seek perplexity` over all held-out text 37.15 (3.615 nats). Picture:
# bench/train_small_6mb_loss.svg (.png), training and held-out curves.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
out=${2:-/tmp/seek-small-6mb}
steps=${3:-1800}
threads=${4:-2}
seek=$build/seek
out4=${OUT4:-/tmp/seek-small}
[ -x "$seek" ] || { echo "no seek binary at $seek (build first: make)" >&2; exit 2; }
mkdir -p "$out" "$out4"
[ -s "$out4/corpus/corpus.jsonl" ] || "$here/make_corpus.sh" "$out4/corpus" 4000000
[ -s "$out4/tok/tokenizer.json" ] ||
    "$seek" tokenizer train --input "$out4/corpus/corpus.jsonl" --vocab-size 4096 --out "$out4/tok" --quiet
[ -s "$out/corpus/corpus.jsonl" ] || "$here/make_corpus.sh" "$out/corpus" 8000000
if [ ! -s "$out/shards/heldout-00000.bin" ]; then
    awk 'NR % 10 != 0' "$out/corpus/corpus.jsonl" >"$out/train.jsonl"
    awk 'NR % 10 == 0' "$out/corpus/corpus.jsonl" >"$out/heldout.jsonl"
    python3 -c 'import json,sys
print("\n\n".join(json.loads(l)["text"] for l in open(sys.argv[1])))' "$out/heldout.jsonl" \
        >"$out/heldout.txt"
    "$seek" data tokenize --tokenizer "$out4/tok" --input "$out/train.jsonl" --out "$out/shards/train"
    "$seek" data tokenize --tokenizer "$out4/tok" --input "$out/heldout.jsonl" \
        --out "$out/shards/heldout"
fi
resume=""
[ -f "$out/run/ckpt.bin" ] && resume="--resume"
"$seek" train --config "$here/train_small_config.json" --data "$out/shards/train" --seq-len 128 \
    --seed 1234 --out "$out/run" --steps "$steps" --batch 16 --lr 3e-3 --warmup 50 \
    --cosine-start 150 --min-lr-frac 0.1 --ckpt-every 100 --threads "$threads" \
    --tokenizer "$out4/tok" --eval-data "$out/shards/heldout" --eval-every 50 --eval-batches 32 \
    --quiet $resume
"$seek" perplexity -m "$out/run/model.gguf" -f "$out/heldout.txt" --window 128 --stride 128 | tail -1
echo "loss curve: $out/run/loss.svg"
