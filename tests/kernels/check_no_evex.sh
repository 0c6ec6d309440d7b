#!/bin/sh
# check_no_evex.sh OBJDUMP --emulated OBJ... --native OBJ... (arguments may also be
# ;-separated lists, as CMake's $<TARGET_OBJECTS:...> gives them)
# Fails when an --emulated object holds an AVX-512 instruction (it would fault on CPUs without
# AVX-512, or silently test real AVX-512 code on CPUs with it), or when no --native object
# holds one (then this check could not tell them apart). AVX-512 instructions are EVEX-encoded:
# their first byte after any segment or address-size prefix is 0x62, which starts nothing else
# in 64-bit mode; zmm and opmask (%k0-%k7) registers come only with them.
set -eu
objdump=$1
shift
mode=""
emu=""
native=""
for a in "$@"; do
    case $a in
    --emulated) mode=e ;;
    --native) mode=n ;;
    *)
        for f in $(printf '%s\n' "$a" | tr ';' ' '); do
            if [ "$mode" = e ]; then emu="$emu $f"; else native="$native $f"; fi
        done
        ;;
    esac
done
# prints "<instructions> <AVX-512 instructions>" of one object
scan() {
    "$objdump" -d -w "$1" | awk -F '\t' '
        NF >= 3 {
            n++; k = split($2, b, " "); i = 1
            while (i < k && b[i] ~ /^(26|2e|36|3e|64|65|67)$/) i++
            if (b[i] == "62" || $3 ~ /zmm|%k[0-7]/) { e++; if (e <= 3) print "  " $3 > "/dev/stderr" }
        }
        END { printf "%d %d\n", n, e }'
}
status=0
[ -n "$emu" ] || { echo "no --emulated object given"; exit 1; }
for o in $emu; do
    set -- $(scan "$o")
    echo "emulated $(basename "$o"): $1 instructions, $2 AVX-512"
    if [ "$1" -eq 0 ] || [ "$2" -ne 0 ]; then status=1; fi
done
found=0
for o in $native; do
    set -- $(scan "$o" 2>/dev/null)
    if [ "$2" -ne 0 ]; then
        echo "native $(basename "$o"): $1 instructions, $2 AVX-512"
        found=1
    fi
done
if [ "$found" -eq 0 ]; then
    echo "no AVX-512 instruction found in any --native object: the scan is not working"
    status=1
fi
exit $status
