#!/bin/sh
# train_small.sh — trains a small DeepSeek-V3-architecture model (bench/train_small_config.json:
# hidden 192, 4 layers (1 dense + 3 MoE), 8 routed experts top-2 + 1 shared, MLA with q LoRA,
# MTP depth 1, vocab 4096; about 5 M parameters) on real English text assembled from Debian
# packages (bench/make_corpus.sh), tokenized with a BPE tokenizer trained by
# `seek tokenizer train`, written as token shards by `seek data tokenize`, and read by
# `seek train` itself: documents packed into sequences of 129 ids, shuffled every epoch (--seed).
#
#   bench/train_small.sh [BUILD_DIR] [OUT_DIR] [STEPS] [THREADS]
# Defaults: build, /tmp/seek-small, 1500 steps, 2 threads.
# Held out: every 10th document of the corpus (lines 10, 20, 30, 40 of corpus.jsonl, ~10% of the
# text) is not trained on; its text (OUT_DIR/heldout.txt) is scored with `seek perplexity` at the
# end (windows of 128 tokens). The tokenizer is trained on the whole corpus (it sees the held-out text, the model does
# not).
# Schedule: batch 16 x 128 tokens, lr 3e-3, linear warm-up 50 steps, constant 150 steps, cosine
# decay to 0.1 x lr at the last step. A checkpoint every 50 steps: running the script again with
# the same arguments resumes an interrupted run (bit for bit).
# Writes OUT_DIR/run/metrics.jsonl, OUT_DIR/run/loss.svg (refreshed at every checkpoint),
# OUT_DIR/run/model.* and prints the loss at a few steps and the held-out perplexity.
# Measured (2026-11-22, 2 shared cores, 3531 s wall, 3.3 epochs of the 7298 training sequences):
# main loss 8.33 (step 1), 5.25 (100), 4.24 (400), 3.02 (1000), 2.40 (1500); mean of steps
# 1201-1250 2.84 -> 1451-1500 2.58: still falling (memorizing the 0.94 M training tokens);
# held-out perplexity 42.7 (ln 3.75) against 13.3 (ln 2.59) on 100 kB of training text.
# bench/train_small_loss.svg/.png are OUT_DIR/run/loss.svg of that run (rsvg-convert).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
out=${2:-/tmp/seek-small}
steps=${3:-1500}
threads=${4:-2}
seek=$build/seek
[ -x "$seek" ] || { echo "no seek binary at $seek (build first: make)" >&2; exit 2; }
mkdir -p "$out"
[ -s "$out/corpus/corpus.jsonl" ] || "$here/make_corpus.sh" "$out/corpus" 4000000
[ -s "$out/tok/tokenizer.json" ] ||
    "$seek" tokenizer train --input "$out/corpus/corpus.jsonl" --vocab-size 4096 --out "$out/tok" --quiet
if [ ! -s "$out/shards/train-00000.bin" ]; then
    awk 'NR % 10 != 0' "$out/corpus/corpus.jsonl" >"$out/train.jsonl"
    awk 'NR % 10 == 0' "$out/corpus/corpus.jsonl" >"$out/heldout.jsonl"
    python3 -c 'import json,sys
print("\n\n".join(json.loads(l)["text"] for l in open(sys.argv[1])))' "$out/heldout.jsonl" \
        >"$out/heldout.txt"
    "$seek" data tokenize --tokenizer "$out/tok" --input "$out/train.jsonl" --out "$out/shards/train"
fi
"$seek" data info "$out/shards/train" --seq-len 128 || true
resume=""
[ -f "$out/run/ckpt.bin" ] && resume="--resume"
start=$(date +%s)
"$seek" train --config "$here/train_small_config.json" --data "$out/shards/train" --seq-len 128 \
    --seed 1234 --out "$out/run" --steps "$steps" --batch 16 --lr 3e-3 --warmup 50 \
    --cosine-start 150 --min-lr-frac 0.1 --ckpt-every 50 --threads "$threads" \
    --tokenizer "$out/tok" $resume
echo "wall time: $(($(date +%s) - start)) s"
for s in 1 100 400 1000 2000 3000 4000 5000 "$steps"; do
    grep "^{\"step\":$s," "$out/run/metrics.jsonl" || true
done
echo "loss curve: $out/run/loss.svg"
# windows of 128 tokens side by side: every token is scored with 0..127 tokens of context, as in
# training, so ln(perplexity) compares with the training loss "main"
"$seek" perplexity -m "$out/run/model.gguf" -f "$out/heldout.txt" --window 128 --stride 128 \
    -t "$threads"
