#!/usr/bin/env bash
# Checks that GGUF files written by Seek (convert, quantize, synth) load in llama.cpp
# and that llama.cpp's logits agree with Seek's.
#
# usage: bench/llamacpp/check.sh LLAMA_BUILD_DIR SEEK_BUILD_DIR [WORK_DIR]
#   LLAMA_BUILD_DIR  a CPU build of llama.cpp (libllama.so under bin/, source dir read from CMakeCache.txt)
#   SEEK_BUILD_DIR   a build of seek (the `seek` binary at its top)
#   WORK_DIR         where files are written (default: a new folder under /tmp)
# env: THREADS (default 2), SKIP_BIG=1 to skip the synthetic 1.5B-shape / V2-Lite-shape models.
#
# For every file: Seek writes it, `seek logits` evaluates the token list, a small C driver
# linked against libllama loads the same file, evaluates the whole list in ONE batch
# (flash attention off, F32 K/V cache unless said otherwise) and dumps the logits of every
# position; the table gives max |d|, mean |d| and how many positions have the same argmax.
set -u
LB=$(cd "${1:?llama.cpp build dir}" && pwd); SB=$(cd "${2:?seek build dir}" && pwd)
W=${3:-$(mktemp -d /tmp/seek-llamacpp.XXXXXX)}; mkdir -p "$W"; cd "$W" || exit 1
T=${THREADS:-2}
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd); G=$ROOT/tests/data/golden
SEEK=$SB/seek; [ -x "$SEEK" ] || SEEK=$(find "$SB" -name seek -type f -perm -u+x | head -1)
LSRC=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$LB/CMakeCache.txt")
LLIB=$(dirname "$(find "$LB" -name 'libllama.so' | head -1)")
LCOMMIT=$( (git -C "$LSRC" rev-parse HEAD 2>/dev/null) || cat "$LSRC/COMMIT" 2>/dev/null || echo unknown)

cat > dump_logits.c <<'EOF'
/* load a GGUF with libllama, evaluate a token list in one batch, write the f32 logits of every position */
#include "llama.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static void logcb(enum ggml_log_level lvl, const char *text, void *ud) { (void)ud;
    if (lvl >= GGML_LOG_LEVEL_WARN || getenv("DUMP_VERBOSE")) fputs(text, stderr); }
int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s MODEL TOKENS OUT [f32|f16 cache] [threads]\n", argv[0]); return 2; }
    const char *ct = argc > 4 ? argv[4] : "f32"; int nth = argc > 5 ? atoi(argv[5]) : 2;
    FILE *f = fopen(argv[2], "r"); if (!f) { perror(argv[2]); return 2; }
    int cap = 1024, n = 0; llama_token *toks = malloc(cap * sizeof *toks); long v;
    while (fscanf(f, "%ld", &v) == 1) { if (n == cap) toks = realloc(toks, (cap *= 2) * sizeof *toks); toks[n++] = (llama_token)v; }
    fclose(f);
    llama_log_set(logcb, NULL); llama_backend_init();
    struct llama_model_params mp = llama_model_default_params(); mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "LOAD FAILED\n"); return 3; }
    char desc[256]; llama_model_desc(model, desc, sizeof desc); fprintf(stderr, "desc: %s\n", desc);
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = n < 64 ? 64 : n; cp.n_batch = cp.n_ctx; cp.n_ubatch = cp.n_ctx; cp.n_seq_max = 1;
    cp.n_threads = nth; cp.n_threads_batch = nth; cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    enum ggml_type kt = strcmp(ct, "f16") == 0 ? GGML_TYPE_F16 : GGML_TYPE_F32; cp.type_k = kt; cp.type_v = kt; cp.no_perf = true;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "CONTEXT FAILED\n"); return 4; }
    int nv = llama_vocab_n_tokens(llama_model_get_vocab(model));
    struct llama_batch b = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) { b.token[i] = toks[i]; b.pos[i] = i; b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = 1; }
    b.n_tokens = n;
    int rc = llama_decode(ctx, b); if (rc != 0) { fprintf(stderr, "DECODE FAILED rc=%d\n", rc); return 5; }
    FILE *o = fopen(argv[3], "wb");
    for (int i = 0; i < n; i++) fwrite(llama_get_logits_ith(ctx, i), sizeof(float), nv, o);
    fclose(o); llama_batch_free(b); llama_free(ctx); llama_model_free(model); llama_backend_free(); return 0;
}
EOF
cat > cmp.c <<'EOF'
/* cmp A.f32 B.f32 NTOK -> "max|d| mean|d| argmax-agree/NTOK" */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
static float *rd(const char *p, long *n) { FILE *f = fopen(p, "rb"); if (!f) { printf("missing %s\n", p); exit(1); }
    fseek(f, 0, SEEK_END); *n = ftell(f) / 4; fseek(f, 0, SEEK_SET); float *b = malloc(*n * 4 + 4);
    if (fread(b, 4, *n, f) != (size_t)*n) exit(2); fclose(f); return b; }
int main(int argc, char **argv) {
    long na, nb; float *a = rd(argv[1], &na), *b = rd(argv[2], &nb); int nt = atoi(argv[3]);
    if (na != nb || na % nt) { printf("size-mismatch(%ld,%ld) - -\n", na, nb); return 1; }
    long nv = na / nt; double mx = 0, sm = 0; int agree = 0;
    for (int t = 0; t < nt; t++) { long ia = 0, ib = 0;
        for (long j = 0; j < nv; j++) { double d = fabs((double)a[t*nv+j] - b[t*nv+j]); if (d > mx || d != d) mx = d; sm += d;
            if (a[t*nv+j] > a[t*nv+ia]) ia = j; if (b[t*nv+j] > b[t*nv+ib]) ib = j; }
        agree += ia == ib; }
    printf("%.2e %.2e %d/%d\n", mx, sm / na, agree, nt); return 0; }
EOF
cc -O2 -std=c11 -I"$LSRC/include" -I"$LSRC/ggml/include" dump_logits.c -o dump_logits -L"$LLIB" -lllama -Wl,-rpath,"$LLIB" || { echo "driver build failed"; exit 1; }
cc -O2 cmp.c -o cmp -lm || exit 1
cat > lq.c <<'EOF'
/* lq IN OUT FTYPE : llama_model_quantize with pure=true (what llama-quantize --pure does) */
#include "llama.h"
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) { (void)argc; llama_backend_init();
    struct llama_model_quantize_params p = llama_model_quantize_default_params();
    p.ftype = (enum llama_ftype)atoi(argv[3]); p.pure = true; p.nthread = 2;
    return (int)llama_model_quantize(argv[1], argv[2], &p); }
EOF
cc -O2 -std=c11 -I"$LSRC/include" -I"$LSRC/ggml/include" lq.c -o lq -L"$LLIB" -lllama -Wl,-rpath,"$LLIB" || exit 1
cat > gguftool.py <<'EOF'
# gguftool.py addkey IN OUT KEY u32 VALUE   -> copy of IN with one extra uint32 metadata key
# gguftool.py tcmp A B                      -> per-tensor comparison of types/shapes/bytes
import struct, sys
def rd(f, fmt): return struct.unpack('<'+fmt, f.read(struct.calcsize('<'+fmt)))
def rs(f): (n,) = rd(f,'Q'); return f.read(n).decode('utf-8','replace')
SZ = {0:1,1:1,2:2,3:2,4:4,5:4,6:4,7:1,10:8,11:8,12:8}
def skipval(f,t):
    if t in SZ: f.read(SZ[t]); return
    if t==8: rs(f); return
    (et,) = rd(f,'I'); (n,) = rd(f,'Q')
    if et in SZ: f.read(SZ[et]*n)
    else:
        for _ in range(n): skipval(f,et)
def parse(p):
    f = open(p,'rb'); assert f.read(4)==b'GGUF'; (ver,) = rd(f,'I'); nt,nk = rd(f,'QQ')
    kvstart = f.tell(); align = 32
    for _ in range(nk):
        k = rs(f); (t,) = rd(f,'I'); pos = f.tell()
        if k == 'general.alignment': (align,) = rd(f,'I')
        else: skipval(f,t)
    kvend = f.tell(); ts = []
    for _ in range(nt):
        n = rs(f); (nd,) = rd(f,'I'); dims = rd(f,'Q'*nd); (ty,) = rd(f,'I'); (off,) = rd(f,'Q'); ts.append((n,dims,ty,off))
    tiend = f.tell(); data = (tiend + align - 1)//align*align
    return dict(f=f, ver=ver, nt=nt, nk=nk, kvstart=kvstart, kvend=kvend, tiend=tiend, data=data, align=align, ts=ts)
if sys.argv[1] == 'addkey':
    _, _, src, dst, key, ty, val = sys.argv; g = parse(src); f = g['f']
    f.seek(g['kvstart']); kv = f.read(g['kvend']-g['kvstart']); ti = f.read(g['tiend']-g['kvend'])
    kb = key.encode(); newkv = struct.pack('<Q', len(kb)) + kb + (struct.pack('<I', 4) + struct.pack('<I', int(val)) if ty == 'u32' else struct.pack('<IQ', 8, len(val.encode())) + val.encode())
    hdr = b'GGUF' + struct.pack('<IQQ', g['ver'], g['nt'], g['nk']+1) + kv + newkv + ti
    pad = (-len(hdr)) % g['align']
    with open(dst,'wb') as o:
        o.write(hdr + b'\0'*pad); f.seek(g['data'])
        while True:
            b = f.read(1<<24)
            if not b: break
            o.write(b)
elif sys.argv[1] == 'tcmp':
    A, B = parse(sys.argv[2]), parse(sys.argv[3]); tb = {t[0]: t for t in B['ts']}
    names = [t[0] for t in A['ts']]; same = diff = 0
    def size(g, i):
        offs = sorted(t[3] for t in g['ts']); o = g['ts'][i][3]; nxt = [x for x in offs if x > o]
        return (nxt[0] if nxt else None)
    for i,(n,dims,ty,off) in enumerate(A['ts']):
        if n not in tb: print('only in A:', n); diff += 1; continue
        _, dB, tyB, offB = tb[n]
        A['f'].seek(A['data']+off); B['f'].seek(B['data']+offB)
        ea = size(A, i); jb = [t[0] for t in B['ts']].index(n); eb = size(B, jb)
        la = (ea - off) if ea else None; lb = (eb - offB) if eb else None
        ba = A["f"].read(la) if la else A["f"].read(); bb = B["f"].read(lb) if lb else B["f"].read()
        m = min(len(ba), len(bb)); ok = (ty == tyB and dims == dB and ba[:m] == bb[:m])
        if ok: same += 1
        else: diff += 1; print('DIFF', n, dims, ty, dB, tyB)
    for n in tb:
        if n not in names: print('only in B:', n); diff += 1
    print(f'tensors identical: {same}, different: {diff}; types A: {sorted(set(t[2] for t in A["ts"]))}')
EOF

ROWS=(); QROWS=()
row() { ROWS+=("$(printf '| %-44s | %-24s | %-4s | %-9s | %-9s | %-6s | %s |' "$@")"); }
ntok() { wc -w < "$1" | tr -d ' '; }
# check LABEL WHAT FILE TOKENS [REF_F32 (default: seek's logits of FILE)] [cache]
check() {
    local label=$1 what=$2 file=$3 tok=$4 ref=${5:-} cache=${6:-f32} n base
    n=$(ntok "$tok"); base=$(basename "$file" .gguf)
    if [ ! -s "$file" ]; then row "$label" "$what" "-" "-" "-" "-" "seek did not write the file"; return; fi
    if [ -z "$ref" ]; then
        ref=seek-$base.f32
        [ -s "$ref" ] || "$SEEK" logits -m "$file" --tokens-file "$tok" --out "$ref" -t "$T" > "log-seek-$base.txt" 2>&1 \
            || { row "$label" "$what" "?" "-" "-" "-" "seek logits failed: $(tail -1 log-seek-$base.txt)"; return; }
    fi
    if ! ./dump_logits "$file" "$tok" "lcpp-$base-$cache.f32" "$cache" "$T" > "log-lcpp-$base-$cache.txt" 2>&1; then
        row "$label" "$what" "no" "-" "-" "-" "$(grep -m1 -E 'error|failed|wrong|key not found|missing' "log-lcpp-$base-$cache.txt" | cut -c1-160)"; return
    fi
    read -r mx mn am <<< "$(./cmp "lcpp-$base-$cache.f32" "$ref" "$n")"
    row "$label" "$what" "yes" "$mx" "$mn" "$am" "$(sed -n 's/^desc: //p' "log-lcpp-$base-$cache.txt")${7:-}"
}

# a. seek convert (HF safetensors -> GGUF). The golden folders have no tokenizer.json, so the
# plain conversion has no tokenizer.ggml.* keys; the "+tok" rows convert a copy of the folder
# with a 512-token tokenizer trained by `seek tokenizer train` (the golden vocab size).
"$SEEK" tokenizer train --input "$ROOT/README.md" "$ROOT"/docs/*.md --vocab-size 512 --out tok512 --quiet > log-tok512.txt 2>&1
for c in qwen2-tiny llama3-tiny ds3-tiny ds2-lite-tiny ds3-grouped; do
    cp "$G/$c/tokens.txt" "tok-$c.txt"
    mkdir -p "hf-$c"; ln -sf "$G/$c/config.json" "$G/$c/model.safetensors" "hf-$c/"; cp tok512/* "hf-$c/"
    for ty in f32 q8_0; do
        [ -s "conv-$c-$ty.gguf" ] || "$SEEK" convert "$G/$c" "conv-$c-$ty.gguf" --type "$ty" --threads "$T" > "log-conv-$c-$ty.txt" 2>&1
        check "convert $c (no tokenizer.json)" "$ty vs seek" "conv-$c-$ty.gguf" "tok-$c.txt"
        # the same file plus the one key llama.cpp accepts for "no vocabulary"
        python3 gguftool.py addkey "conv-$c-$ty.gguf" "conv-$c-$ty-none.gguf" tokenizer.ggml.model str none
        check "convert $c + tokenizer.ggml.model=none (patched)" "$ty vs seek (unpatched)" "conv-$c-$ty-none.gguf" "tok-$c.txt" "seek-conv-$c-$ty.f32"
        [ -s "convt-$c-$ty.gguf" ] || "$SEEK" convert "hf-$c" "convt-$c-$ty.gguf" --type "$ty" --threads "$T" > "log-convt-$c-$ty.txt" 2>&1
        check "convert $c +tok" "$ty vs seek" "convt-$c-$ty.gguf" "tok-$c.txt"
    done
    check "convert $c +tok" "f32 vs golden logits.f32" "convt-$c-f32.gguf" "tok-$c.txt" "$G/$c/logits.f32"
done
# b. seek quantize of the golden qwen2-tiny (hidden 128: k-quants fall back, see log-quant-*)
for ty in q8_0 q4_0 q4_k q5_k q6_k; do
    [ -s "quant-qwen2-tiny-$ty.gguf" ] || "$SEEK" quantize "$G/qwen2-tiny/model.gguf" "quant-qwen2-tiny-$ty.gguf" "$ty" --threads "$T" > "log-quant-qwen2-tiny-$ty.txt" 2>&1
    check "quantize qwen2-tiny" "$ty vs seek" "quant-qwen2-tiny-$ty.gguf" "tok-qwen2-tiny.txt" "" f32 " ($(grep -o '[0-9]* fell back' log-quant-qwen2-tiny-$ty.txt))"
done
# c. seek synth (real shapes, fewer layers), and seek quantize of a synth F32 model
if [ "${SKIP_BIG:-0}" != 1 ]; then
    echo "299 $(awk 'BEGIN{srand(7); for(i=0;i<31;i++) printf "%d ", 300+int(rand()*3796)}')" > tok-synth.txt
    for ty in f32 q8_0 q4_k; do
        [ -s "synth-qwen1.5b-$ty.gguf" ] || "$SEEK" synth r1-distill-qwen-1.5b "synth-qwen1.5b-$ty.gguf" --layers 2 --vocab 4096 --type "$ty" -t "$T" > "log-synth-qwen1.5b-$ty.txt" 2>&1
        check "synth r1-distill-qwen-1.5b L2 V4096" "$ty vs seek" "synth-qwen1.5b-$ty.gguf" tok-synth.txt
    done
    for ty in q8_0 q4_0 q4_k q5_k q6_k; do
        [ -s "squant-qwen1.5b-$ty.gguf" ] || "$SEEK" quantize synth-qwen1.5b-f32.gguf "squant-qwen1.5b-$ty.gguf" "$ty" --threads "$T" > "log-squant-$ty.txt" 2>&1
        check "quantize synth-qwen1.5b-f32" "$ty vs seek" "squant-qwen1.5b-$ty.gguf" tok-synth.txt "" f32 " ($(grep -o '[0-9]* fell back' log-squant-$ty.txt))"
    done
    for mla in legacy ik mainline; do
        [ -s "synth-v2lite-$mla.gguf" ] || "$SEEK" synth deepseek-v2-lite "synth-v2lite-$mla.gguf" --layers 3 --experts 8 --vocab 4096 --type q8_0 --mla "$mla" -t "$T" > "log-synth-v2lite-$mla.txt" 2>&1
        check "synth deepseek-v2-lite L3 E8 --mla $mla" "q8_0 vs seek" "synth-v2lite-$mla.gguf" tok-synth.txt
        # llama.cpp decides "V2-Lite, no q LoRA" from n_layer (26/27); with 3 layers it wants the key:
        # a copy with deepseek2.attention.q_lora_rank = 0 added (the only change) tests the MLA layouts.
        python3 gguftool.py addkey "synth-v2lite-$mla.gguf" "synth-v2lite-$mla-qlora0.gguf" deepseek2.attention.q_lora_rank u32 0
        check "same --mla $mla + q_lora_rank=0 (patched)" "q8_0 vs seek (unpatched)" "synth-v2lite-$mla-qlora0.gguf" tok-synth.txt "seek-synth-v2lite-$mla.f32"
    done
    # e. seek quantize vs llama.cpp's llama_model_quantize(pure) on the same F32 input: tensor bytes
    for tf in q8_0:7 q4_0:2 q4_k:14 q5_k:16 q6_k:18; do
        ty=${tf%%:*}; ./lq synth-qwen1.5b-f32.gguf "lq-qwen1.5b-$ty.gguf" "${tf##*:}" > "log-lq-$ty.txt" 2>&1
        QROWS+=("| seek quantize vs llama_model_quantize --pure | synth-qwen1.5b-f32 -> $ty | $(python3 gguftool.py tcmp "squant-qwen1.5b-$ty.gguf" "lq-qwen1.5b-$ty.gguf" 2>&1 | tail -1) |")
    done
fi
[ -s convt-ds2-lite-tiny-kvb.gguf ] || "$SEEK" convert hf-ds2-lite-tiny convt-ds2-lite-tiny-kvb.gguf --type f32 --kv-b-split --threads "$T" > log-convt-kvb.txt 2>&1
check "convert ds2-lite-tiny +tok --kv-b-split" "f32 vs seek" convt-ds2-lite-tiny-kvb.gguf tok-ds2-lite-tiny.txt
# d. golden GGUFs (not written by seek): sanity check of the driver
for c in qwen2-tiny llama3-tiny ds3-tiny ds2-lite-tiny ds3-grouped; do
    check "golden $c model.gguf" "f32 vs golden logits.f32" "$G/$c/model.gguf" "tok-$c.txt" "$G/$c/logits.f32" f32
    check "golden $c model.gguf" "f16 cache vs golden" "$G/$c/model.gguf" "tok-$c.txt" "$G/$c/logits.f32" f16
done

echo "llama.cpp: $LSRC (commit $LCOMMIT)   seek: $("$SEEK" version 2>&1 | head -1)   work dir: $W"
echo "| file | compared | loads | max abs d | mean abs d | argmax | llama.cpp model desc / error |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}" | sed 's/  *|/ |/g'
[ ${#QROWS[@]} -gt 0 ] && { echo; echo "| check | input -> type | result |"; echo "|---|---|---|"; printf '%s\n' "${QROWS[@]}"; }
