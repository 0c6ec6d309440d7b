#!/bin/sh
# bench/mca.sh — the static throughput of the AVX2 dot kernels' main loops, by llvm-mca.
#
# Compiles src/kernels/kern_avx2.c as the library does (-O3 -mavx2 -mfma -mf16c) with
# SEEK_MCA defined, so that SK_MCA_BEGIN/SK_MCA_END (kern_x86.h) mark each dot kernel's loop
# body as a region of the assembly, and runs llvm-mca on it for one CPU model. For each
# kernel it prints the instructions and the predicted cycles per loop iteration, the weight
# bytes one iteration consumes, the bytes per cycle that gives with the data in L1, the GB/s at
# --ghz, and the two most loaded execution resources.
#
# It is a model, not a measurement: it ignores cache misses, loads that split a cache line, and
# the size of the scheduler windows. On the Zen 3 this project is tuned on, it predicted the
# Q4_K loop at 19.3 cycles per block where the kernel measured 19.4 in L2 (7168 columns), but
# the Q5_0 loop at 12.3 cycles per 4 blocks where it measured 19-21, and it puts
# vbroadcasti128 from memory on the shuffle ports, where a micro-benchmark says it is not
# (kern_avx2.c, nib32). Use it to compare two versions of a loop (what the change does to
# each port), with the measured numbers from `seek bench kernels` next to it; on a shared
# machine it does not drift as timings do.
#
# usage: bench/mca.sh [--mcpu CPU] [--ghz GHZ] [--cc COMPILER] [--keep DIR]
#   --mcpu  llvm-mca CPU model (default znver3; e.g. znver2, skylake, icelake-server;
#           llvm-mca -mcpu=help lists them)
#   --ghz   clock for the GB/s column (default 3.1)
#   --cc    C compiler (default gcc, as the build)
#   --keep  also leave the assembly and llvm-mca's full report in DIR
set -eu

mcpu=znver3
ghz=3.1
cc=gcc
keep=
while [ $# -gt 0 ]; do
    case "$1" in
    --mcpu) mcpu=$2; shift 2 ;;
    --ghz) ghz=$2; shift 2 ;;
    --cc) cc=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -eu/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "mca.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

mca=
for c in llvm-mca llvm-mca-16 llvm-mca-15 llvm-mca-14; do
    if command -v "$c" >/dev/null 2>&1; then mca=$c; break; fi
done
if [ -z "$mca" ]; then
    echo "mca.sh: llvm-mca not found (Debian: apt-get install llvm)" >&2
    exit 1
fi

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$cc" -std=c17 -O3 -mavx2 -mfma -mf16c -DSEEK_HAVE_X86_KERNELS=1 -DSEEK_MCA \
    -I"$root/src/kernels" -I"$root/src/tensor" -I"$root/src/util" -I"$root/src" \
    -I"$root/include" -S -o "$tmp/kern_avx2.s" "$root/src/kernels/kern_avx2.c"
rc=0
"$mca" -mcpu="$mcpu" -iterations=200 "$tmp/kern_avx2.s" >"$tmp/report.txt" 2>"$tmp/err.txt" || rc=$?
if grep -q "not a recognized processor" "$tmp/err.txt"; then
    echo "mca.sh: $mca does not know the CPU model '$mcpu' (list: $mca -mcpu=help)" >&2
    exit 2
fi
if [ "$rc" -ne 0 ]; then
    cat "$tmp/err.txt" >&2
    exit 1
fi
if [ -n "$keep" ]; then
    mkdir -p "$keep"
    cp "$tmp/kern_avx2.s" "$tmp/report.txt" "$keep/"
fi

echo "llvm-mca $mcpu, $cc -O3 -mavx2 -mfma -mf16c; GB/s at $ghz GHz, one core, data in L1"
# Weight bytes per loop iteration of each kernel (the loop bodies in kern_avx2.c / kern_x86.h):
# f16/bf16 32 values of 2 bytes; f8 32 codes; q8_0 2 blocks of 34; q4_0/q5_0/iq4_nl 4 blocks
# of 18/22/18; q4_1/q5_1 4 blocks of 20/24; q4_K 2 blocks of 144; q5_K/q6_K/q3_K/q2_K/iq4_xs
# one block of 176/210/110/84/136.
awk -v ghz="$ghz" '
BEGIN {
    split("dot_f16 64 dot_bf16 64 dot_f8 32 dot_q8_0 68 dot_q4_0 72 dot_q5_0 88 dot_iq4_nl 72 " \
          "dot_q4_1 80 dot_q5_1 96 dot_q4_K 288 dot_q5_K 176 dot_q6_K 210 dot_q3_K 110 " \
          "dot_q2_K 84 dot_iq4_xs 136", t, " ")
    for (i = 1; i in t; i += 2) bytes[t[i]] = t[i + 1]
    printf "%-12s %8s %10s %8s %9s %8s  %s\n", "kernel", "instr/it", "cycles/it", "bytes/it",
           "bytes/cyc", "GB/s", "most loaded resources (cycles per iteration)"
}
/^Resources:/ { inres = 1; next }
inres && /^\[/ { id = $1; gsub(/[\[\]]/, "", id); rname[id] = $3; next }
inres && !/^\[/ { inres = 0 }
/Code Region - / { name = $NF; next }
/^Iterations:/ { iters = $2 }
/^Instructions:/ { instr = $2 }
/^Total Cycles:/ { cycles = $3 }
/^Resource pressure per iteration:/ { getline hdr; getline vals; nh = split(hdr, H, " ");
    split(vals, V, " ");
    b1 = ""; b2 = ""; v1 = -1; v2 = -1
    for (k = 1; k <= nh; k++) {
        id = H[k]; gsub(/[\[\]]/, "", id); v = V[k] == "-" ? 0 : V[k] + 0
        if (v > v1) {
            if (rname[b1] != rname[id]) { b2 = b1; v2 = v1 }
            b1 = id; v1 = v
        } else if (v > v2 && rname[id] != rname[b1]) { b2 = id; v2 = v }
    }
    cpi = cycles / iters; ipi = instr / iters; by = (name in bytes) ? bytes[name] : 0
    printf "%-12s %8.1f %10.2f %8d %9.2f %8.1f  %s %.1f, %s %.1f\n", name, ipi, cpi, by,
           by / cpi, by / cpi * ghz, rname[b1], v1, rname[b2], v2
}' "$tmp/report.txt"
