#!/bin/sh
# train_vs_torch.sh — training throughput of Seek vs PyTorch on the same small
# DeepSeek-V3-architecture model (MLA + MoE + MTP, bench/train_config.json: hidden 256,
# 4 layers, 8 routed experts top-2 + 1 shared, MTP depth 1, vocab 4096), the same data
# (random ids, lines of T+1 = 257), batch 8, the same number of steps and the same thread
# count, in one run (ROUNDS alternating rounds). Prints tokens/s of each (steps 2..N), the ratio
# (of the means, and the median of the per-round ratios, which a load change in one round moves
# less), and Seek's MFU against the sgemm peak `seek train` measures at start-up.
#
#   bench/train_vs_torch.sh [BUILD_DIR] [STEPS] [THREADS] [ROUNDS]
# Defaults: build, 12 steps, 2 threads, 2 rounds. Needs /usr/bin/python3 with torch
# (python3-torch).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
steps=${2:-12}
threads=${3:-2}
rounds=${4:-2}
seek=$build/seek
[ -x "$seek" ] || { echo "no seek binary at $seek (build first: make)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# PASSIVE: on a loaded machine OpenMP spin-waiting makes torch ~8x slower (measured)
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads MKL_NUM_THREADS=$threads
export OMP_WAIT_POLICY=PASSIVE
/usr/bin/python3 - "$tmp/data.txt" <<'PY'
import random, sys
r = random.Random(7)
with open(sys.argv[1], "w") as f:
    for _ in range(64):
        f.write(" ".join(str(r.randrange(4096)) for _ in range(257)) + "\n")
PY
# Rounds of Seek then PyTorch (ABAB...), so that a change in the machine's load affects both
# engines alike; tokens/s are averaged over the rounds.
for r in $(seq 1 "$rounds"); do
    "$seek" train --config "$here/train_config.json" --data "$tmp/data.txt" --out "$tmp/seek$r" \
        --steps "$steps" --batch 8 --threads "$threads" --no-gguf 2>"$tmp/seek$r.log"
    echo "round $r: load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
    /usr/bin/python3 "$here/train_torch.py" "$here/train_config.json" "$tmp/data.txt" "$steps" 8 \
        "$threads" >"$tmp/torch$r.log"
done
peak=$(sed -n 's/.*sgemm peak measured \([0-9.]*\) GFLOP.*/\1/p' "$tmp"/seek*.log | sort -g | tail -1)
fpt=$(sed -n 's/.*; \([0-9.e+-]*\) GFLOP per token.*/\1/p' "$tmp/seek1.log" | head -1)
head -1 "$tmp/seek1.log"
head -1 "$tmp/torch1.log"
/usr/bin/python3 - "$tmp" "$peak" "$fpt" "$rounds" <<'PY2'
import json, re, statistics, sys
tmp, peak, fpt = sys.argv[1], float(sys.argv[2]) * 1e9, float(sys.argv[3]) * 1e9
rounds = int(sys.argv[4])
st, tt = [], []
for r in range(1, rounds + 1):
    m = [json.loads(l) for l in open(f"{tmp}/seek{r}/metrics.jsonl")]
    tl = open(f"{tmp}/torch{r}.log").read().splitlines()
    st.append(sum(x["tokens"] for x in m[1:]) / sum(x["seconds"] for x in m[1:]))
    tt.append(float(re.search(r"([0-9.]+) tok/s", tl[-1]).group(1)))
    tloss = [float(l.split()[3]) for l in tl if l.startswith("step ")]
    print(f"round {r}: seek {st[-1]:8.1f} tok/s  torch {tt[-1]:8.1f} tok/s  ratio {st[-1] / tt[-1]:.2f}"
          f"   loss step 1 / {len(m)}: seek {m[0]['loss']:.4f} / {m[-1]['loss']:.4f}"
          f"  torch {tloss[0]:.4f} / {tloss[-1]:.4f}")
s, t = sum(st) / rounds, sum(tt) / rounds
print(f"seek  {s:10.1f} tok/s (mean of {rounds} rounds, steps 2..N)")
print(f"torch {t:10.1f} tok/s")
print(f"ratio seek/torch {s / t:.2f}x (median of the rounds' ratios "
      f"{statistics.median(a / b for a, b in zip(st, tt)):.2f}x)")
print(f"seek MFU {100 * s * fpt / peak:.1f}% of the best sgemm peak measured by seek train "
      f"({peak / 1e9:.1f} GFLOP/s; {fpt / 1e9:.4f} GFLOP/token fwd+bwd)")
PY2
