#!/bin/sh
# train_gemm_ab.sh — `seek train` on the bench/train_vs_torch.sh model and data with the two
# matrix product backends (SEEK_GEMM=blas: OpenBLAS, SEEK_GEMM=seek: sk_sgemm), in alternating
# rounds in one run so that a change in the machine's load hits both. Prints per round and as
# medians: tokens/s (steps 2..N, wall clock) and CPU seconds per step (user + system of the
# process, minus a 1-step run's, over N - 1 steps), which a loaded machine moves less.
#
#   bench/train_gemm_ab.sh [BUILD_DIR] [STEPS] [THREADS] [ROUNDS]
# Defaults: build, 12 steps, 2 threads, 3 rounds.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
steps=${2:-12}
threads=${3:-2}
rounds=${4:-3}
seek=$build/seek
[ -x "$seek" ] || { echo "no seek binary at $seek (build first: make)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 - "$seek" "$here/train_config.json" "$tmp" "$steps" "$threads" "$rounds" <<'PY'
import json, os, random, resource, statistics, subprocess, sys
seek, cfg, tmp, steps, threads, rounds = sys.argv[1], sys.argv[2], sys.argv[3], *map(int, sys.argv[4:])
r = random.Random(7)
data = f"{tmp}/data.txt"
with open(data, "w") as f:
    for _ in range(64):
        f.write(" ".join(str(r.randrange(4096)) for _ in range(257)) + "\n")

def run(gemm, n, tag):
    out = f"{tmp}/{tag}"
    env = dict(os.environ, SEEK_GEMM=gemm)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([seek, "train", "--config", cfg, "--data", data, "--out", out, "--steps", str(n),
                    "--batch", "8", "--threads", str(threads), "--no-gguf"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    m = [json.loads(l) for l in open(f"{out}/metrics.jsonl")]
    tps = sum(x["tokens"] for x in m[1:]) / sum(x["seconds"] for x in m[1:]) if n > 1 else 0
    return tps, cpu, m[-1]["loss"]

names = ("blas", "seek")
base = {g: run(g, 1, f"{g}-base")[1] for g in names}
tps = {g: [] for g in names}
cps = {g: [] for g in names}
for k in range(rounds):
    line = []
    for g in (names if k % 2 == 0 else names[::-1]):
        t, cpu, loss = run(g, steps, f"{g}{k}")
        tps[g].append(t)
        cps[g].append((cpu - base[g]) / (steps - 1))
        line.append(f"{g} {t:7.1f} tok/s {cps[g][-1]:6.3f} cpu-s/step (loss {loss:.4f})")
    la = open("/proc/loadavg").read().split()[:3]
    print(f"round {k + 1}: " + "  ".join(line) + f"  load {' '.join(la)}")
for g in names:
    print(f"{g}: median {statistics.median(tps[g]):7.1f} tok/s, {statistics.median(cps[g]):6.3f} cpu-s/step")
print(f"seek/blas: tokens/s x{statistics.median(a / b for a, b in zip(tps['seek'], tps['blas'])):.3f}"
      f" (median of rounds), cpu-s/step x{statistics.median(b / a for a, b in zip(cps['seek'], cps['blas'])):.3f}"
      " (blas/seek: > 1 means seek needs less CPU)")
PY
