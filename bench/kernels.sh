#!/bin/sh
# bench/kernels.sh — runs `seek bench kernels` several times and keeps, per weight type, the
# run with the best matvec/bandwidth ratio (each ratio is measured within one run: the read
# bandwidth is taken just before that type's matvec, so other load on the machine affects
# both alike).
#   bench/kernels.sh [SEEK_BINARY] [RUNS] [extra `seek bench kernels` options...]
# e.g. bench/kernels.sh build/seek 3 -t 2 --types q8_0,q4_k --no-matmul
set -eu
SEEK=${1:-build/seek}
RUNS=${2:-3}
[ $# -ge 1 ] && shift
[ $# -ge 1 ] && shift
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.w" "$tmp.c"' EXIT
i=1
while [ "$i" -le "$RUNS" ]; do
    "$SEEK" bench kernels "$@" --no-matmul | awk 'NF == 9 && $2 ~ /^[0-9]+$/' >>"$tmp"
    i=$((i + 1))
done
echo "best of $RUNS runs: type, matvec GB/s, read GB/s, ratio (wall clock) | the same per CPU-second"
sort -k1,1 -k5,5gr "$tmp" | awk '!seen[$1]++ { printf "%s %s %s %s\n", $1, $3, $4, $5 }' >"$tmp.w"
sort -k1,1 -k9,9gr "$tmp" | awk '!seen[$1]++ { printf "%s %s %s %s\n", $1, $7, $8, $9 }' >"$tmp.c"
join "$tmp.w" "$tmp.c" | awk '{ printf "%-8s %8s %8s %7s | %8s %8s %7s\n", $1, $2, $3, $4, $5, $6, $7 }'
rm -f "$tmp.w" "$tmp.c"
