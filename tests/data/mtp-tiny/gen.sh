#!/bin/sh
# Regenerates tests/data/mtp-tiny: a tiny DeepSeek-V3-style model (MLA + MoE, one MTP
# module) trained by `seek train` on arithmetic letter sequences, for the MTP speculative
# decoding tests (tests/cli/test_mtp.c). Each training line is 33 capital letters
# A..Z (token ids 65..90 of the ds3-tiny golden tokenizer, one byte token each) stepping
# by d in {1, 2, 3, 5} modulo 26 from a random start, e.g. "ACEGIKMOQSUWYBDF…".
#   usage: tests/data/mtp-tiny/gen.sh [path/to/seek]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
seek=${1:-"$here/../../../build/seek"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk 'BEGIN {
  srand(1); split("1 2 3 5", steps, " ");
  for (i = 0; i < 512; i++) {
    s = int(rand() * 26); d = steps[1 + int(rand() * 4)]; line = "";
    for (j = 0; j < 33; j++) line = line (j ? " " : "") (65 + (s + j * d) % 26);
    print line;
  }
}' > "$tmp/data.txt"
"$seek" train --config "$here/config.json" --data "$tmp/data.txt" --out "$tmp/out" \
  --steps 300 --batch 16 --lr 3e-3 --threads 2 --seed 1234 --quiet
cp "$tmp/out/model.safetensors" "$here/"
tail -n 1 "$tmp/out/metrics.jsonl"
