#!/bin/sh
# train_bf16.sh — effect of --bf16 (bf16-rounded operands, f32 accumulation) on the loss:
# trains bench/train_small_config.json twice from the same init on the same data, f32 and
# --bf16, and prints the per-step loss difference (mean and max |diff| over the run, and the
# difference at the last step).
#   bench/train_bf16.sh BUILD_DIR DATA.txt [STEPS] [BATCH] [THREADS]
# DATA.txt: lines of T+1 ids (e.g. OUT_DIR/train.txt of bench/train_small.sh).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=$1
data=$2
steps=${3:-40}
batch=${4:-4}
threads=${5:-2}
seek=$build/seek
[ -x "$seek" ] || { echo "no seek binary at $seek (build first: make)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for mode in f32 bf16; do
    flag=""
    [ "$mode" = bf16 ] && flag=--bf16
    "$seek" train --config "$here/train_small_config.json" --data "$data" --out "$tmp/$mode" \
        --steps "$steps" --batch "$batch" --lr 3e-3 --warmup 10 --threads "$threads" --no-gguf \
        --quiet $flag
done
/usr/bin/python3 - "$tmp/f32/metrics.jsonl" "$tmp/bf16/metrics.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
d = [abs(x["loss"] - y["loss"]) for x, y in zip(a, b)]
print(f"{len(d)} steps: f32 loss {a[0]['loss']:.4f} -> {a[-1]['loss']:.4f}, "
      f"bf16 loss {b[0]['loss']:.4f} -> {b[-1]['loss']:.4f}")
print(f"|loss(bf16) - loss(f32)|: step 1 {d[0]:.2e}, mean {sum(d) / len(d):.2e}, "
      f"max {max(d):.2e}, last {d[-1]:.2e} ({100 * d[-1] / a[-1]['loss']:.3f}% of the loss)")
ta = sum(x["seconds"] for x in a[1:]); tb = sum(x["seconds"] for x in b[1:])
print(f"step time (steps 2..): f32 {ta:.1f} s, bf16 {tb:.1f} s (wall clock, load-dependent)")
PY
