#!/bin/sh
# make_corpus.sh — assemble a few MB of English text from Debian packages, deterministically,
# for training Seek's tokenizer and first small models without network access to datasets.
#
#   bench/make_corpus.sh OUT_DIR [MAX_BYTES]
#
# Sources, in this order (each file one document; files sorted by path in the C locale):
#   1. base-files   /usr/share/common-licenses/*       (GPL, LGPL, Apache, MPL, … license texts)
#   2. GNU manuals  /usr/share/info/*.info*.gz of coreutils, grep, sed, diffutils, findutils,
#                   gzip, m4, gettext-base/gettext, bc, ed, time (Info files are plain text; node
#                   separators and "File: … Node: …" header lines are removed)
#   3. manpages     section 7 of the Linux man-pages project (/usr/share/man/man7/*.7.gz owned by
#                   the `manpages` package; not the character-set tables, links or .so
#                   redirections), rendered to plain text with
#                   `MANWIDTH=80 man -l -E UTF-8 FILE | col -bx`
#   4. debian-policy /usr/share/doc/debian-policy/*.txt.gz (the Debian Policy Manual), if the
#                   package is installed
# Run as root with apt available, it first installs what it needs:
#   apt-get install -y --no-install-recommends man-db manpages groff-base bsdextrautils
#       debian-policy (packages already installed are skipped)
# Stops adding documents once MAX_BYTES (default 8000000) is reached; the document that crosses
# the limit is included whole. A document whose text equals an earlier one is skipped. Invalid UTF-8 is dropped (iconv -c), and so are control
# characters other than TAB and LF.
#
# Output:
#   OUT_DIR/corpus.jsonl  one JSON object per line: {"text": "<document>"}
#                         (seek data tokenize / seek tokenizer train read .jsonl as documents)
#   OUT_DIR/corpus.txt    the same documents, separated by one blank line ("\n\n")
#   OUT_DIR/SOURCES.txt   the files used, in order, with their byte counts
# Given the same Debian release and package versions the output is byte-identical; the script
# prints the SHA-256 of corpus.jsonl so runs can be compared.
set -eu

out=${1:?usage: make_corpus.sh OUT_DIR [MAX_BYTES]}
max=${2:-8000000}
export LC_ALL=C

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    need=""
    for p in man-db manpages groff-base bsdextrautils debian-policy; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
    done
    if [ -n "$need" ]; then
        echo "make_corpus: installing$need" >&2
        (apt-get install -y --no-install-recommends $need >/dev/null 2>&1 ||
            (apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends $need >/dev/null 2>&1)) ||
            echo "make_corpus: warning: could not install$need; using what is present" >&2
    fi
fi

mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

list="$tmp/list"
: >"$list"
# 1. licenses (regular files only; GPL etc. are symlinks to versioned files)
find /usr/share/common-licenses -maxdepth 1 -type f | sort >>"$list"
# 2. GNU Info manuals of fixed packages
for p in coreutils grep sed diffutils findutils gzip m4 gettext-base gettext bc ed time; do
    dpkg -L "$p" 2>/dev/null | grep -E '^/usr/share/info/[^/]+\.info(-[0-9]+)?\.gz$' | sort || true
done >>"$list"
# 3. man-pages section 7: regular files only (no symlinks, no ".so" redirections), without the
#    character-set tables (iso_8859-*, koi8-*, cp125*, armscii-8, tis-620, ascii)
dpkg -L manpages 2>/dev/null | grep -E '^/usr/share/man/man7/[^/]+\.7\.gz$' |
    grep -vE '/(iso_8859|koi8-|cp125|armscii-8|tis-620|ascii\.)' | sort |
    while IFS= read -r f; do
        [ -f "$f" ] && [ ! -L "$f" ] || continue
        zcat "$f" | head -n 1 | grep -q '^\.so ' && continue
        printf '%s\n' "$f"
    done >>"$list" || true
# 4. Debian Policy
dpkg -L debian-policy 2>/dev/null | grep -E '^/usr/share/doc/debian-policy/[^/]+\.txt\.gz$' | sort >>"$list" || true

render() { # FILE -> plain UTF-8 text on stdout
    case "$1" in
    /usr/share/man/*)
        if command -v man >/dev/null 2>&1 && command -v col >/dev/null 2>&1; then
            MANWIDTH=80 MAN_KEEP_FORMATTING=0 man -l -E UTF-8 "$1" 2>/dev/null | col -bx
        fi ;;
    /usr/share/info/*)
        zcat "$1" | sed -e 's/\x1f//g' -e '/^File: .*Node: /d' -e '/^Tag Table:/,$d' ;;
    *.gz) zcat "$1" ;;
    *) cat "$1" ;;
    esac
}

jsonl="$tmp/corpus.jsonl"
txt="$tmp/corpus.txt"
: >"$jsonl"
: >"$txt"
: >"$tmp/SOURCES.txt"
total=0
n=0
while IFS= read -r f; do
    [ "$total" -ge "$max" ] && break
    # control characters other than TAB and LF (Info's NULs, form feeds, CRs) are removed
    render "$f" | iconv -f UTF-8 -t UTF-8 -c 2>/dev/null | tr -d '\000-\010\013-\037\177' >"$tmp/doc" || true
    size=$(wc -c <"$tmp/doc")
    [ "$size" -gt 200 ] || continue
    sum=$(cksum <"$tmp/doc")
    grep -qxF "$sum" "$tmp/seen" 2>/dev/null && continue # identical text already taken
    printf '%s\n' "$sum" >>"$tmp/seen"
    perl -e 'local $/; my $t = <STDIN>; $t =~ s/\s+\z//; $t =~ s/([\\"])/\\$1/g;
             $t =~ s/\n/\\n/g; $t =~ s/\t/\\t/g; $t =~ s/\r/\\r/g;
             $t =~ s/([\x00-\x1f\x7f])/sprintf("\\u%04x", ord($1))/ge;
             print "{\"text\":\"$t\"}\n"' <"$tmp/doc" >>"$jsonl"
    [ "$n" -gt 0 ] && printf '\n' >>"$txt"
    perl -e 'local $/; my $t = <STDIN>; $t =~ s/\s+\z//; print "$t\n"' <"$tmp/doc" >>"$txt"
    printf '%s\t%s\n' "$size" "$f" >>"$tmp/SOURCES.txt"
    total=$((total + size))
    n=$((n + 1))
done <"$list"

if [ "$n" -eq 0 ]; then
    echo "make_corpus: no source text found" >&2
    exit 1
fi
mv "$jsonl" "$out/corpus.jsonl"
mv "$txt" "$out/corpus.txt"
mv "$tmp/SOURCES.txt" "$out/SOURCES.txt"
echo "make_corpus: $n documents, $(wc -c <"$out/corpus.txt") bytes of text in $out"
if command -v sha256sum >/dev/null 2>&1; then sha256sum "$out/corpus.jsonl"; fi
