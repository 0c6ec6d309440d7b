#!/bin/sh
# train_small_6mb.sh — the second small-model run: the 5M-parameter config of train_small.sh on
# all the Debian text make_corpus.sh can find (about 6.2 MB; every 10th document held out,
# 1.49M training tokens), 1800 steps of 16 x 128 tokens (2.5 epochs), lr 3e-3, 50 warm-up
# steps, 150 at the peak, cosine to 0.1x. The tokenizer is the one train_small.sh trains on its
# 4 MB corpus (OUT4 below; run train_small.sh first, or let this script make that tokenizer).
#
#   bench/train_small_6mb.sh [BUILD_DIR] [OUT_DIR] [STEPS] [THREADS]
#
# Measured (session 2, quiet machine, 767 s of training at ~4,800 tok/s): main loss 8.35 (step 1),
# 5.28 (100), 3.99 (400), 3.10 (1000); 100-step means over the last three hundred steps 2.955,
# 2.944, 2.941; held-out perplexity 37.64 (3.63 nats) over 166,985 tokens. Picture:
# bench/train_small_6mb_loss.svg (.png).
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
if [ ! -s "$out/shards/train-00000.bin" ]; then
    awk 'NR % 10 != 0' "$out/corpus/corpus.jsonl" >"$out/train.jsonl"
    awk 'NR % 10 == 0' "$out/corpus/corpus.jsonl" >"$out/heldout.jsonl"
    python3 -c 'import json,sys
print("\n\n".join(json.loads(l)["text"] for l in open(sys.argv[1])))' "$out/heldout.jsonl" \
        >"$out/heldout.txt"
    "$seek" data tokenize --tokenizer "$out4/tok" --input "$out/train.jsonl" --out "$out/shards/train"
fi
resume=""
[ -f "$out/run/ckpt.bin" ] && resume="--resume"
"$seek" train --config "$here/train_small_config.json" --data "$out/shards/train" --seq-len 128 \
    --seed 1234 --out "$out/run" --steps "$steps" --batch 16 --lr 3e-3 --warmup 50 \
    --cosine-start 150 --min-lr-frac 0.1 --ckpt-every 100 --threads "$threads" \
    --tokenizer "$out4/tok" --quiet $resume
"$seek" perplexity -m "$out/run/model.gguf" -f "$out/heldout.txt" --window 128 --stride 128 | tail -1
echo "loss curve: $out/run/loss.svg"
