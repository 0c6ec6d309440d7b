/* cmd_quantize.c — `seek quantize IN.gguf OUT.gguf TYPE [--threads N]`.
 *
 * Re-encodes the weight matrices of a GGUF model to one type, the way llama.cpp's
 * `llama-quantize --pure` does without an importance matrix (bit-identical matrices):
 *   - quantized: tensors of 2+ dimensions whose name ends in "weight", except norms, the MoE
 *     router (ffn_gate_inp), position/token-type embeddings, conv1d and relative-position biases;
 *   - a matrix whose row length is not a multiple of TYPE's block gets llama.cpp's fallback
 *     (q2_k/q3_k → q4_0, q4_k → q5_0, q5_k → q5_1, q6_k → q8_0, iq4_xs → iq4_nl, else f16);
 *   - everything else (1-D norms and biases, exp_probs_b, the router, integer tensors) is copied
 *     unchanged.
 * Metadata is copied; general.file_type is set to llama.cpp's file-type code for TYPE and
 * general.quantization_version to 2. Rows are encoded in parallel on --threads threads.
 */
#include "cli_args.h"
#include "cli.h"
#include "sk_gguf.h"
#include "sk_tensor.h"
#include "sk_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* TYPE names offered, and llama.cpp's general.file_type code for a file mostly of that type. */
static const struct {
    const char *name;
    int type;
    uint32_t ftype;
} k_targets[] = {
    {"f32", SK_TYPE_F32, 0},    {"f16", SK_TYPE_F16, 1},        {"bf16", SK_TYPE_BF16, 32},
    {"q8_0", SK_TYPE_Q8_0, 7},  {"q4_0", SK_TYPE_Q4_0, 2},      {"q4_1", SK_TYPE_Q4_1, 3},
    {"q5_0", SK_TYPE_Q5_0, 8},  {"q5_1", SK_TYPE_Q5_1, 9},      {"q2_k", SK_TYPE_Q2_K, 10},
    {"q3_k", SK_TYPE_Q3_K, 11}, {"q4_k", SK_TYPE_Q4_K, 14},     {"q5_k", SK_TYPE_Q5_K, 16},
    {"q6_k", SK_TYPE_Q6_K, 18}, {"iq4_nl", SK_TYPE_IQ4_NL, 25}, {"iq4_xs", SK_TYPE_IQ4_XS, 30},
};
#define N_TARGETS (sizeof k_targets / sizeof k_targets[0])

static void usage(FILE *f) {
    fprintf(f,
            "usage: seek quantize IN.gguf OUT.gguf TYPE [--threads N]\n\n"
            "Re-encodes the weight matrices of IN.gguf to TYPE (bit-identical to llama-quantize\n"
            "--pure without an imatrix); norms, biases and the MoE router are copied unchanged;\n"
            "a matrix whose rows do not fit TYPE's block gets llama.cpp's fallback type.\n\n"
            "TYPE: ");
    for (size_t i = 0; i < N_TARGETS; i++)
        fprintf(f, "%s%s", k_targets[i].name, i + 1 < N_TARGETS ? " " : "\n");
    fprintf(f, "  --threads N   encoding threads (default: all CPUs)\n");
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* Whether llama.cpp would quantize this tensor (see the file comment). */
static bool wants_quant(const sk_gguf_tensor_info *t) {
    static const char *const keep[] = {"_norm.weight",         "ffn_gate_inp.weight",
                                       "position_embd.weight", "token_types.weight",
                                       "ssm_conv1d",           "attn_rel_b.weight"};
    if (t->n_dims < 2 || !ends_with(t->name, "weight")) return false;
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (strstr(t->name, keep[i])) return false;
    const sk_type_traits *tt = sk_type_info(t->type);
    return tt->can_dequant; /* float or block types; never integer tensors */
}

/* llama.cpp's substitute for a target whose block does not divide the row length. */
static int fit_type(int target, int64_t ne0) {
    if (ne0 % sk_type_info(target)->block_size == 0) return target;
    int fb;
    switch (target) {
    case SK_TYPE_IQ4_XS:
        fb = SK_TYPE_IQ4_NL;
        break;
    case SK_TYPE_Q2_K:
    case SK_TYPE_Q3_K:
        fb = SK_TYPE_Q4_0;
        break;
    case SK_TYPE_Q4_K:
        fb = SK_TYPE_Q5_0;
        break;
    case SK_TYPE_Q5_K:
        fb = SK_TYPE_Q5_1;
        break;
    case SK_TYPE_Q6_K:
        fb = SK_TYPE_Q8_0;
        break;
    default:
        fb = SK_TYPE_F16;
        break;
    }
    return ne0 % sk_type_info(fb)->block_size == 0 ? fb : SK_TYPE_F16;
}

typedef struct {
    const sk_gguf_tensor_info *src;
    int type; /* output type */
    sk_pool *pool;
    float *scratch; /* shared float buffer of scratch_elems */
    int64_t scratch_elems;
} qjob;

#define CHUNK_ELEMS (4 << 20) /* floats decoded at a time: 16 MiB */

/* Produces the output bytes of one tensor (called by the writer when it reaches it). */
static int fill_tensor(void *ctx, void *dst, uint64_t nbytes, sk_err *e) {
    qjob *q = ctx;
    const sk_gguf_tensor_info *t = q->src;
    const int64_t ne0 = t->ne[0], nrows = t->ne[1] * t->ne[2] * t->ne[3];
    size_t in_rb, out_rb;
    if (!sk_row_size(t->type, ne0, &in_rb) || !sk_row_size(q->type, ne0, &out_rb) ||
        (uint64_t)out_rb * (uint64_t)nrows != nbytes ||
        (uint64_t)in_rb * (uint64_t)nrows > t->nbytes)
        return sk_err_set(e, SK_ERR_FORMAT, "tensor %s: inconsistent sizes", t->name);
    if (q->type == t->type) {
        memcpy(dst, t->data, nbytes);
        return SK_OK;
    }
    int rc = SK_OK;
    if (t->type == SK_TYPE_F32 &&
        ((uintptr_t)t->data & 3) == 0) { /* encode straight from the map */
        rc = sk_quant_rows(q->pool, q->type, t->data, dst, nrows, ne0, e);
    } else { /* decode a chunk of rows to floats (any alignment), encode it, repeat */
        const int64_t step = q->scratch_elems / ne0; /* ≥ 1 by construction */
        for (int64_t r0 = 0; r0 < nrows && !rc; r0 += step) {
            const int64_t n = nrows - r0 < step ? nrows - r0 : step;
            const uint8_t *in = (const uint8_t *)t->data + (size_t)r0 * in_rb;
            rc = sk_dequant_rows(q->pool, t->type, in, q->scratch, n, ne0, e);
            if (!rc)
                rc = sk_quant_rows(q->pool, q->type, q->scratch,
                                   (uint8_t *)dst + (size_t)r0 * out_rb, n, ne0, e);
        }
    }
    if (rc) sk_err_prefix(e, "tensor %s", t->name);
    return rc;
}

int sk_cmd_quantize(int argc, char **argv) {
    const char *pos[3];
    int npos = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--threads") || !strcmp(argv[i], "-t")) {
            int64_t v;
            if (sk_cli_parse_int("quantize", argv[i], i + 1 < argc ? argv[i + 1] : NULL, 1, 1024,
                                 &v))
                return 2;
            threads = (int)v;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "seek quantize: unknown option '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (npos < 3) {
            pos[npos++] = argv[i];
        } else {
            fprintf(stderr, "seek quantize: too many arguments\n\n");
            usage(stderr);
            return 2;
        }
    }
    if (npos != 3) {
        usage(stderr);
        return 2;
    }
    int target = -1;
    uint32_t ftype = 0;
    for (size_t i = 0; i < N_TARGETS; i++)
        if (!strcasecmp(pos[2], k_targets[i].name)) {
            target = k_targets[i].type;
            ftype = k_targets[i].ftype;
        }
    if (target < 0) {
        fprintf(stderr, "seek quantize: unknown TYPE '%s'\n\n", pos[2]);
        usage(stderr);
        return 2;
    }
    if (sk_same_file(pos[0], pos[1])) {
        fprintf(stderr, "seek quantize: OUT.gguf must not be IN.gguf\n");
        return 2;
    }

    sk_err e = {0};
    sk_gguf *g = NULL;
    sk_gguf_writer *w = NULL;
    sk_pool *pool = NULL;
    qjob *jobs = NULL;
    float *scratch = NULL;
    int ret = 1, rc;
    const double t0 = sk_time_sec();

    if ((rc = sk_gguf_open(pos[0], &g, &e))) goto fail;
    const int64_t nt = sk_gguf_n_tensors(g);
    if (!(pool = sk_pool_new(threads, &e))) goto fail;
    if (!(w = sk_gguf_writer_new(&e))) goto fail;
    if ((rc = sk_gguf_copy_kv(w, g, "split.", &e))) goto fail;
    if ((rc = sk_gguf_set_u32(w, "general.file_type", ftype, &e))) goto fail;
    if ((rc = sk_gguf_set_u32(w, "general.quantization_version", 2, &e))) goto fail;

    /* the scratch buffer holds CHUNK_ELEMS floats, or one row if rows are longer */
    int64_t scratch_elems = CHUNK_ELEMS;
    for (int64_t i = 0; i < nt; i++)
        if (sk_gguf_tensor(g, i)->ne[0] > scratch_elems)
            scratch_elems = sk_gguf_tensor(g, i)->ne[0];
    if (!(scratch = sk_calloc((size_t)scratch_elems, sizeof(float), &e))) goto fail;
    if (!(jobs = sk_calloc((size_t)(nt ? nt : 1), sizeof *jobs, &e))) goto fail;

    int n_quant = 0, n_copy = 0, n_fallback = 0, n_requant = 0, n_opaque = 0;
    uint64_t in_bytes = 0, out_bytes = 0;
    for (int64_t i = 0; i < nt; i++) {
        const sk_gguf_tensor_info *t = sk_gguf_tensor(g, i);
        int type = t->type;
        if (t->n_dims >= 2 && !sk_type_info(t->type)->can_dequant) n_opaque++;
        if (wants_quant(t)) {
            type = fit_type(target, t->ne[0]);
            if (type != target) {
                n_fallback++;
                SK_INFO("%s: rows of %lld do not fit %s blocks: using %s", t->name,
                        (long long)t->ne[0], sk_type_name(target), sk_type_name(type));
            }
            if (type != t->type && sk_type_info(t->type)->quantized) n_requant++;
        }
        jobs[i] = (qjob){.src = t,
                         .type = type,
                         .pool = pool,
                         .scratch = scratch,
                         .scratch_elems = scratch_elems};
        if (type == t->type)
            n_copy++;
        else
            n_quant++;
        size_t ob;
        if (!sk_row_size(type, t->ne[0], &ob)) {
            rc = sk_err_set(&e, SK_ERR_FORMAT, "tensor %s: bad row length %lld for %s", t->name,
                            (long long)t->ne[0], sk_type_name(type));
            goto fail;
        }
        in_bytes += t->nbytes;
        out_bytes += (uint64_t)ob * (uint64_t)(t->ne[1] * t->ne[2] * t->ne[3]);
        if ((rc = sk_gguf_add_tensor(w, t->name, type, t->n_dims, t->ne, NULL, fill_tensor,
                                     &jobs[i], &e)))
            goto fail;
    }
    if (n_fallback)
        fprintf(stderr,
                "seek quantize: %d matrices have rows that are not a multiple of %d: they use "
                "llama.cpp's "
                "fallback type (SEEK_LOG=info lists them)\n",
                n_fallback, sk_type_info(target)->block_size);
    if (n_opaque)
        fprintf(
            stderr,
            "seek quantize: warning: %d matrices are in types seek cannot decode (e.g. iq2_xxs): "
            "copied unchanged\n",
            n_opaque);
    if (n_requant)
        fprintf(stderr,
                "seek quantize: warning: %d tensors are already quantized; re-encoding them loses "
                "precision\n",
                n_requant);

    sk_progress prog = {.label = "quantizing"};
    if ((rc = sk_gguf_write(w, pos[1], 0, &prog, &e))) goto fail;
    const double dt = sk_time_sec() - t0;
    printf("seek quantize: %s -> %s (%s): %d tensors encoded, %d copied, %d fell back; %.1f MB -> "
           "%.1f MB in "
           "%.1f s (%.1f MB/s in)\n",
           pos[0], pos[1], sk_type_name(target), n_quant, n_copy, n_fallback,
           (double)in_bytes / 1e6, (double)out_bytes / 1e6, dt,
           dt > 0 ? (double)in_bytes / 1e6 / dt : 0.0);
    ret = 0;
fail:
    if (ret) fprintf(stderr, "seek quantize: %s\n", e.msg[0] ? e.msg : "failed");
    free(jobs);
    free(scratch);
    sk_gguf_writer_free(w);
    sk_pool_free(pool);
    sk_gguf_close(g);
    return ret;
}
