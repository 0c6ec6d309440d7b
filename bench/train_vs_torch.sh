#!/bin/sh
# train_vs_torch.sh — training throughput of Seek vs PyTorch on the same small
# DeepSeek-V3-architecture model (MLA + MoE + MTP, bench/train_config.json: hidden 256,
# 4 layers, 8 routed experts top-2 + 1 shared, MTP depth 1, vocab 4096), the same data
# (random ids, lines of T+1 = 257), batch 8, the same number of steps and the same thread
# count, in one run. Prints tokens/s of each (steps 2..N), the ratio, and Seek's MFU
# against the sgemm peak `seek train` measures at start-up.
#
#   bench/train_vs_torch.sh [BUILD_DIR] [STEPS] [THREADS]
# Defaults: build, 12 steps, 2 threads. Needs /usr/bin/python3 with torch (python3-torch).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
steps=${2:-12}
threads=${3:-2}
seek=$build/src/cli/seek
[ -x "$seek" ] || seek=$build/seek
[ -x "$seek" ] || { echo "no seek binary in $build" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
/usr/bin/python3 - "$tmp/data.txt" <<'PY'
import random, sys
r = random.Random(7)
with open(sys.argv[1], "w") as f:
    for _ in range(64):
        f.write(" ".join(str(r.randrange(4096)) for _ in range(257)) + "\n")
PY
"$seek" train --config "$here/train_config.json" --data "$tmp/data.txt" --out "$tmp/seek" \
    --steps "$steps" --batch 8 --threads "$threads" 2>"$tmp/seek.log"
peak=$(sed -n 's/.*sgemm peak measured \([0-9.]*\) GFLOP.*/\1/p' "$tmp/seek.log")
fpt=$(sed -n 's/.*; \([0-9.e+-]*\) GFLOP per token.*/\1/p' "$tmp/seek.log")
head -1 "$tmp/seek.log"
/usr/bin/python3 "$here/train_torch.py" "$here/train_config.json" "$tmp/data.txt" "$steps" 8 \
    "$threads" >"$tmp/torch.log"
head -1 "$tmp/torch.log"
/usr/bin/python3 - "$tmp/seek/metrics.jsonl" "$tmp/torch.log" "$peak" "$fpt" <<'PY'
import json, re, sys
m = [json.loads(l) for l in open(sys.argv[1])]
tl = open(sys.argv[2]).read().splitlines()
peak, fpt = float(sys.argv[3]) * 1e9, float(sys.argv[4]) * 1e9
tok = sum(r["tokens"] for r in m[1:])
sec = sum(r["seconds"] for r in m[1:])
seek_tps = tok / sec
torch_tps = float(re.search(r"([0-9.]+) tok/s", tl[-1]).group(1))
tloss = [float(l.split()[3]) for l in tl if l.startswith("step ")]
print(f"steps {len(m)}: loss step 1 / last   seek {m[0]['loss']:.4f} / {m[-1]['loss']:.4f}"
      f"   torch {tloss[0]:.4f} / {tloss[-1]:.4f}")
print(f"seek  {seek_tps:10.1f} tok/s   ({sec:.2f} s for {tok} tokens)")
print(f"torch {torch_tps:10.1f} tok/s")
print(f"ratio seek/torch {seek_tps / torch_tps:.2f}x")
print(f"seek MFU {100 * seek_tps * fpt / peak:.1f}% of sgemm peak {peak / 1e9:.1f} GFLOP/s "
      f"({fpt / 1e9:.4f} GFLOP/token fwd+bwd)")
PY
