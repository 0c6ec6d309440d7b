#!/bin/sh
# check_ref.sh — re-runs the PyTorch reference (train_ref.py: the anchor against DeepSeek's
# official logits, then the five gradient cases) into a temporary folder and checks that every
# file equals the committed tests/data/trainref byte for byte, so the data the parity test
# compares against is what the script in the repository computes.
# Exit 77 (CTest skip) when /usr/bin/python3 has no torch (Debian's python3-torch).
#   tests/ref/check_ref.sh SOURCE_DIR
set -eu
src=$1
py=/usr/bin/python3
if ! [ -x "$py" ] || ! "$py" -c 'import torch' 2>/dev/null; then
    echo "SKIP: $py with torch (python3-torch) is not installed"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$py" "$src/tests/ref/train_ref.py" all "$tmp"
bad=0
for d in "$src"/tests/data/trainref/*/; do
    case=$(basename "$d")
    for f in "$d"*; do
        if ! cmp -s "$f" "$tmp/$case/$(basename "$f")"; then
            echo "FAIL: $case/$(basename "$f") differs from what train_ref.py writes"
            bad=1
        fi
    done
done
[ "$bad" = 0 ] && echo "ok: every file of tests/data/trainref equals train_ref.py's output"
exit $bad
