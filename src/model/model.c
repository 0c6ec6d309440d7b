/* model.c — sk_model_open/close (GGUF file or HF folder), evaluation contexts (cache and
 * scratch), sk_model_eval, and the helpers the forward passes share: cache row codec,
 * matrix products (kernels, or exact f32 for quantized weights), embedding and head. */
#include "model_internal.h"

#include <stdatomic.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ---- */

void sk_model_opts_init(sk_model_opts *o) {
    memset(o, 0, sizeof *o);
}

void sk_model_ctx_params_init(sk_model_ctx_params *p) {
    memset(p, 0, sizeof *p);
    p->cache_type = SK_CACHE_F32;
}

int sk_cache_type_from_name(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "f32")) return SK_CACHE_F32;
    if (!strcmp(name, "f16")) return SK_CACHE_F16;
    if (!strcmp(name, "bf16")) return SK_CACHE_BF16;
    if (!strcmp(name, "q8_0")) return SK_CACHE_Q8_0;
    return -1;
}

const char *sk_arch_name(sk_arch a) {
    switch (a) {
    case SK_ARCH_DEEPSEEK2:
        return "deepseek2";
    case SK_ARCH_QWEN2:
        return "qwen2";
    case SK_ARCH_LLAMA:
        return "llama";
    default:
        return NULL;
    }
}

const char *sk_cache_type_name(int t) {
    switch (t) {
    case SK_CACHE_F32:
        return "f32";
    case SK_CACHE_F16:
        return "f16";
    case SK_CACHE_BF16:
        return "bf16";
    case SK_CACHE_Q8_0:
        return "q8_0";
    default:
        return "?";
    }
}

/* ---- cache rows ---- */

size_t skm_row_bytes(int t, int n) {
    switch (t) {
    case SK_CACHE_F32:
        return (size_t)n * 4;
    case SK_CACHE_F16:
    case SK_CACHE_BF16:
        return (size_t)n * 2;
    case SK_CACHE_Q8_0:
        return (size_t)(n / 32) * sizeof(sk_block_q8_0);
    default:
        return 0;
    }
}

void skm_row_encode(int t, const float *x, int n, void *dst) {
    switch (t) {
    case SK_CACHE_F32:
        memcpy(dst, x, (size_t)n * 4);
        break;
    case SK_CACHE_F16: {
        sk_fp16 *d = dst;
        for (int i = 0; i < n; i++) d[i] = sk_f32_to_fp16(x[i]);
        break;
    }
    case SK_CACHE_BF16: {
        sk_bf16 *d = dst;
        for (int i = 0; i < n; i++) d[i] = sk_f32_to_bf16(x[i]);
        break;
    }
    case SK_CACHE_Q8_0:
        sk_quant(SK_TYPE_Q8_0, x, dst, n, NULL);
        break; /* n % 32 == 0 */
    }
}

void skm_row_decode(int t, const void *src, int n, float *y) {
    switch (t) {
    case SK_CACHE_F32:
        memcpy(y, src, (size_t)n * 4);
        break;
    case SK_CACHE_F16: {
        const sk_fp16 *s = src;
        for (int i = 0; i < n; i++) y[i] = sk_fp16_to_f32(s[i]);
        break;
    }
    case SK_CACHE_BF16: {
        const sk_bf16 *s = src;
        for (int i = 0; i < n; i++) y[i] = sk_bf16_to_f32(s[i]);
        break;
    }
    case SK_CACHE_Q8_0:
        sk_dequant(SK_TYPE_Q8_0, src, y, n, NULL);
        break;
    }
}

/* ---- matrix products ---- */

typedef struct exact_task {
    const sk_tensor *W;
    int64_t r0, rows; /* the row range of W used */
    const float *X;
    int64_t n;
    float *Y;
    int rc;
    sk_err err;
} exact_task;

static void exact_worker(void *arg, int ith, int nth) {
    exact_task *t = arg;
    const int64_t n0 = t->W->ne[0], rows = t->rows;
    size_t lo, hi;
    sk_split_range((size_t)rows, ith, nth, &lo, &hi);
    if (lo >= hi) return;
    float *buf = malloc((size_t)n0 * sizeof(float));
    if (!buf) {
        __atomic_store_n(&t->rc, SK_ERR_NOMEM, __ATOMIC_RELAXED);
        return;
    }
    for (size_t r = lo; r < hi; r++) {
        sk_err e = {0};
        if (sk_tensor_dequant_row(t->W, t->r0 + (int64_t)r, buf, &e)) {
            __atomic_store_n(&t->rc, e.code ? e.code : SK_ERR_FORMAT, __ATOMIC_RELAXED);
            if (ith == 0) t->err = e; /* only thread 0 writes the message */
            break;
        }
        for (int64_t i = 0; i < t->n; i++) {
            const float *x = t->X + i * n0;
            double acc = 0; /* f64 accumulation: the reference for dequantized weights */
            for (int64_t j = 0; j < n0; j++) acc += (double)buf[j] * x[j];
            t->Y[i * rows + (int64_t)r] = (float)acc;
        }
    }
    free(buf);
}

int skm_matmul(sk_model *m, const sk_tensor *W, const float *X, int64_t n, float *Y, sk_err *e) {
    if (n <= 0) return SK_OK;
    if (m->opts.exact_f32 && sk_type_info(W->type)->quantized) {
        exact_task t = {.W = W, .r0 = 0, .rows = W->ne[1], .X = X, .n = n, .Y = Y};
        sk_pool_run(sk_kctx_pool(m->k), exact_worker, &t);
        if (t.rc) {
            if (t.err.msg[0]) return sk_err_set(e, t.rc, "%s", t.err.msg);
            return sk_err_set(e, t.rc, "exact matmul of %s failed", W->name ? W->name : "tensor");
        }
        return SK_OK;
    }
    if (n == 1) return sk_matvec(m->k, W, X, Y, e);
    return sk_matmul(m->k, W, X, n, Y, e);
}

int skm_matmul_multi(sk_model *m, const sk_mv_op *ops, int nops, int64_t n, sk_err *e) {
    if (n <= 0) return SK_OK;
    if (!m->opts.exact_f32) return sk_matmul_multi(m->k, ops, nops, n, e);
    for (int i = 0; i < nops; i++) {
        int rc = skm_matmul(m, ops[i].W, ops[i].x, n, ops[i].y, e);
        if (rc) return rc;
    }
    return SK_OK;
}

int skm_matmul_rows(sk_model *m, const sk_tensor *W, int64_t r0, int64_t nr, const float *X,
                    int64_t n, float *Y, sk_err *e) {
    if (W->type != SK_TYPE_F8_E4M3 || r0 % 128 == 0) {
        sk_tensor v = sk_tensor_rows(W, r0, nr);
        return skm_matmul(m, &v, X, n, Y, e);
    }
    /* an FP8 view must start on a 128-row scale block: dequantize the rows instead */
    exact_task t = {.W = W, .r0 = r0, .rows = nr, .X = X, .n = n, .Y = Y};
    sk_pool_run(sk_kctx_pool(m->k), exact_worker, &t);
    if (t.rc) return sk_err_set(e, t.rc, "cannot decode rows of %s", W->name ? W->name : "tensor");
    return SK_OK;
}

/* ---- item loops ---- */

typedef struct for_task {
    skm_item_fn fn;
    void *ctx;
    int64_t n;
    atomic_llong next;
} for_task;

static void for_worker(void *arg, int ith, int nth) {
    (void)nth;
    for_task *t = arg;
    for (;;) {
        int64_t i = atomic_fetch_add_explicit(&t->next, 1, memory_order_relaxed);
        if (i >= t->n) return;
        t->fn(t->ctx, i, ith);
    }
}

#define SKM_FOR_SMALL 65536.0 /* multiply-adds: below this, waking the pool costs more */

void skm_for(sk_model *m, int64_t n, double work, skm_item_fn fn, void *ctx) {
    if (n <= 0) return;
    sk_pool *p = sk_kctx_pool(m->k);
    if (n == 1 || work < SKM_FOR_SMALL || sk_pool_size(p) == 1) {
        for (int64_t i = 0; i < n; i++) fn(ctx, i, 0);
        return;
    }
    for_task t = {.fn = fn, .ctx = ctx, .n = n};
    atomic_init(&t.next, 0);
    sk_pool_run_dynamic(p, for_worker, &t);
}

/* ---- embedding and head ---- */

int skm_embed(sk_model *m, const int32_t *tokens, int n, float *x, sk_err *e) {
    const int64_t E = m->w.cfg.n_embd;
    for (int i = 0; i < n; i++) {
        int rc = sk_tensor_dequant_row(&m->w.tok_embd, tokens[i], x + i * E, e);
        if (rc) return sk_err_prefix(e, "embedding of token %d", tokens[i]);
    }
    return SK_OK;
}

int skm_head(sk_model_ctx *c, int n, float *logits, bool all_rows, float *hidden, sk_err *e) {
    if (!logits && !hidden) return SK_OK;
    sk_model *m = c->m;
    const int64_t E = m->w.cfg.n_embd;
    int first = all_rows ? 0 : n - 1, rows = all_rows ? n : 1;
    for (int i = 0; i < rows; i++)
        sk_rmsnorm(c->xn + i * E, c->x + (first + i) * E, m->w.output_norm.data, E,
                   m->w.cfg.rms_eps);
    if (hidden) memcpy(hidden, c->xn, (size_t)(rows * E) * sizeof(float));
    if (!logits) return SK_OK;
    return skm_matmul(m, &m->w.output, c->xn, rows, logits, e);
}

/* ---- open / close ---- */

/* Gives every present 1-D tensor an F32 view (converting BF16/F16 norms of HF checkpoints into
 * the model's arena; F32 ones are used in place). */
static int f32_vector(sk_model *m, sk_tensor *t, sk_err *e) {
    if (!sk_tensor_present(t) || t->type == SK_TYPE_F32) return SK_OK;
    int64_t n = sk_tensor_nelements(t);
    if (t->n_dims != 1 && t->ne[1] != 1)
        return sk_err_set(e, SK_ERR_FORMAT, "tensor %s: expected a vector",
                          t->name ? t->name : "?");
    float *d = sk_arena_alloc(&m->arena, (size_t)n * sizeof(float), 64, e);
    if (!d) return SK_ERR_NOMEM;
    int rc = sk_tensor_dequant_row(t, 0, d, e);
    if (rc) return rc;
    t->type = SK_TYPE_F32;
    t->data = d;
    t->nbytes = (size_t)n * sizeof(float);
    t->scale = NULL;
    return SK_OK;
}

static int prepare(sk_model *m, sk_err *e) {
    sk_model_weights *w = &m->w;
    const sk_model_config *c = &w->cfg;
    int rc = f32_vector(m, &w->output_norm, e);
    for (int l = 0; l < c->n_layer + c->n_mtp && !rc; l++) {
        sk_layer_weights *y = &w->layers[l];
        sk_tensor *vs[] = {&y->attn_norm, &y->ffn_norm, &y->q_a_norm, &y->kv_a_norm,
                           &y->q_bias,    &y->k_bias,   &y->v_bias,   &y->exp_bias,
                           &y->enorm,     &y->hnorm,    &y->head_norm};
        for (size_t i = 0; i < sizeof vs / sizeof vs[0] && !rc; i++) rc = f32_vector(m, vs[i], e);
    }
    if (rc) return rc;
    /* rope: frequencies per pair, rotation convention */
    if (c->arch == SK_ARCH_DEEPSEEK2) {
        m->rope_dim = c->qk_rope_dim;
        m->rope_mode = SK_ROPE_ADJACENT;
    } else {
        m->rope_dim = c->head_dim;
        m->rope_mode = c->arch == SK_ARCH_QWEN2 || !m->gguf ? SK_ROPE_NEOX : SK_ROPE_ADJACENT;
    }
    m->rope_freqs = sk_arena_alloc(&m->arena, (size_t)(m->rope_dim / 2) * sizeof(float), 64, e);
    if (!m->rope_freqs) return SK_ERR_NOMEM;
    float *f = m->rope_freqs;
    int d = m->rope_dim;
    if (sk_tensor_present(&w->rope_freqs)) {
        sk_rope_freqs_plain(f, d, c->rope_theta);
        const float *div = w->rope_freqs.data;
        for (int i = 0; i < d / 2; i++) {
            float dv;
            memcpy(&dv, div + i, sizeof dv);
            if (!(dv > 0) || !isfinite(dv))
                return sk_err_set(e, SK_ERR_FORMAT,
                                  "rope_freqs.weight[%d] = %g is not a positive divisor", i,
                                  (double)dv);
            f[i] /= dv;
        }
    } else if (c->rope_scaling == SK_ROPE_SCALING_YARN) {
        sk_rope_freqs_yarn(f, d, c->rope_theta, c->rope_factor, c->rope_orig_ctx, c->yarn_beta_fast,
                           c->yarn_beta_slow);
    } else if (c->rope_scaling == SK_ROPE_SCALING_LLAMA3) {
        sk_rope_freqs_llama3(f, d, c->rope_theta, c->rope_factor, c->llama3_low, c->llama3_high,
                             c->rope_orig_ctx);
    } else {
        sk_rope_freqs_plain(f, d, c->rope_theta);
        if (c->rope_scaling == SK_ROPE_SCALING_LINEAR)
            for (int i = 0; i < d / 2; i++) f[i] /= c->rope_factor;
    }
    m->attn_scale = sk_model_attn_scale(c);
    if (c->arch != SK_ARCH_DEEPSEEK2 && c->rope_scaling == SK_ROPE_SCALING_YARN) {
        /* HF dense YaRN scales cos/sin by 0.1 ln(s) + 1: the same as this factor squared on q·k */
        double ms = c->rope_factor > 1 ? 0.1 * log(c->rope_factor) + 1 : 1;
        m->attn_scale *= (float)(ms * ms);
    }
    return SK_OK;
}

int sk_model_open(const char *path, const sk_model_opts *opts, sk_model **out, sk_err *e) {
    *out = NULL;
    sk_model *m = sk_calloc(1, sizeof *m, e);
    if (!m) return SK_ERR_NOMEM;
    sk_arena_init(&m->arena, 1 << 16);
    if (opts)
        m->opts = *opts;
    else
        sk_model_opts_init(&m->opts);
    int rc;
    if (sk_is_dir(path)) {
        char *cfgp = sk_path_join(path, "config.json", e);
        if (!cfgp) {
            rc = SK_ERR_NOMEM;
            goto fail;
        }
        rc = sk_model_config_from_hf(cfgp, &m->w.cfg, e);
        free(cfgp);
        if (rc) goto fail;
        if ((rc = sk_st_open_copy(path, m->opts.no_mmap, &m->st, e))) goto fail;
        if ((rc = sk_model_weights_from_st(m->st, &m->w, e))) goto fail;
    } else {
        if ((rc = sk_gguf_open_copy(path, m->opts.no_mmap, &m->gguf, e))) goto fail;
        if ((rc = sk_model_config_from_gguf(m->gguf, &m->w.cfg, e))) goto fail;
        if ((rc = sk_model_weights_from_gguf(m->gguf, &m->w, e))) goto fail;
    }
    if ((rc = prepare(m, e))) goto fail;
    m->k = sk_kctx_new(m->opts.n_threads, e);
    if (!m->k) {
        rc = e && e->code ? e->code : SK_ERR_NOMEM;
        goto fail;
    }
    if ((rc = skm_wkt_build(m, e))) goto fail;
    *out = m;
    return SK_OK;
fail:
    if (e && !strstr(e->msg, path)) sk_err_prefix(e, "%s", path);
    sk_model_close(m);
    return rc;
}

void sk_model_close(sk_model *m) {
    if (!m) return;
    sk_model_weights_free(&m->w);
    if (m->k) sk_kctx_free(m->k);
    if (m->gguf) sk_gguf_close(m->gguf);
    if (m->st) sk_st_close(m->st);
    sk_arena_free(&m->arena);
    free(m->wkt);
    free(m->wkt_data);
    free(m);
}

const sk_model_config *sk_model_get_config(const sk_model *m) {
    return &m->w.cfg;
}
const sk_model_weights *sk_model_get_weights(const sk_model *m) {
    return &m->w;
}
sk_kctx *sk_model_kctx(sk_model *m) {
    return m->k;
}
sk_rope_mode sk_model_rope_mode(const sk_model *m) {
    return m->rope_mode;
}

/* ---- contexts ---- */

int sk_model_ctx_new(sk_model *m, const sk_model_ctx_params *p, sk_model_ctx **out, sk_err *e) {
    *out = NULL;
    sk_model_ctx_params def;
    sk_model_ctx_params_init(&def);
    if (!p) p = &def;
    const sk_model_config *c = &m->w.cfg;
    if (p->cache_type < SK_CACHE_F32 || p->cache_type > SK_CACHE_Q8_0)
        return sk_err_set(e, SK_ERR_INVALID, "unknown cache type %d", p->cache_type);
    int n_ctx = p->n_ctx > 0 ? p->n_ctx : (c->max_ctx > 0 && c->max_ctx < 4096 ? c->max_ctx : 4096);
    if (n_ctx > (1 << 24))
        return sk_err_set(e, SK_ERR_RANGE, "context size %d is too large", n_ctx);
    int B = p->n_batch > 0 ? p->n_batch : 64;
    if (B > n_ctx) B = n_ctx;
    if (B > 4096) B = 4096;
    sk_model_ctx *x = sk_calloc(1, sizeof *x, e);
    if (!x) return SK_ERR_NOMEM;
    x->m = m;
    x->n_ctx = n_ctx;
    x->n_batch = B;
    x->cache_type = p->cache_type;
    x->mla_mode = p->mla_mode;
    x->nth = sk_kctx_threads(m->k);
    const bool mla = c->arch == SK_ARCH_DEEPSEEK2;
    const int64_t E = c->n_embd, H = c->n_head;
    int na = mla ? c->kv_lora_rank : c->n_head_kv * c->head_dim;
    int nb = mla ? c->qk_rope_dim : c->n_head_kv * c->head_dim;
    int tb = p->cache_type;
    if (mla && tb == SK_CACHE_Q8_0) tb = SK_CACHE_F16; /* rope key: see sk_cache_type */
    if (p->cache_type == SK_CACHE_Q8_0 && (na % 32 || (tb == SK_CACHE_Q8_0 && nb % 32))) {
        free(x);
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "q8_0 cache needs rows that are multiples of 32 (this model: %d, %d)", na,
                          nb);
    }
    x->fa = (skm_rowfmt){p->cache_type, na, skm_row_bytes(p->cache_type, na)};
    x->fb = (skm_rowfmt){tb, nb, skm_row_bytes(tb, nb)};
    x->n_cache_layers = c->n_layer + (mla ? c->n_mtp : 0); /* MTP blocks have their own slots */
    size_t lb, total;
    if (!sk_mul_ok(x->fa.row_bytes + x->fb.row_bytes, (size_t)n_ctx, &lb) ||
        !sk_mul_ok(lb, (size_t)x->n_cache_layers, &total)) {
        free(x);
        return sk_err_set(e, SK_ERR_RANGE, "cache size overflows");
    }
    x->layer_bytes = lb;
    x->cache = sk_aligned_alloc(64, total ? total : 64, e);
    if (!x->cache) {
        free(x);
        return SK_ERR_NOMEM;
    }

    /* scratch */
    int64_t qk = mla ? c->qk_nope_dim + c->qk_rope_dim : c->head_dim;
    int64_t vd = mla ? c->v_head_dim : c->head_dim;
    int64_t R = mla ? c->kv_lora_rank : 0;
    /* attention items: MLA splits all heads among the threads, GQA each KV head's group */
    const int64_t kvh = c->n_head_kv > 0 ? c->n_head_kv : 1;
    const int64_t hg = mla ? skm_attn_heads(c->n_head, x->nth)
                           : skm_attn_heads(c->n_head / kvh, (int)((x->nth + kvh - 1) / kvh));
    /* per thread, then a row of kv_lora or head_dim: GQA items keep a head group's scores
     * ([hg][n_ctx]); MLA keeps a token's scores in the expanded path ([n_ctx]), or per head of
     * a group a block of scores with its running max and sum, and a block of rope-key dots */
    const int64_t mla_att = (int64_t)hg * (SKM_ATTN_POS + 2) + SKM_ATTN_POS;
    const int64_t tstride =
        (mla ? (n_ctx > mla_att ? n_ctx : mla_att) : hg * (int64_t)n_ctx) + R + qk + 16;
    int64_t ff = c->n_ff;
    if (c->moe_ff * (c->n_shared > 0 ? c->n_shared : 1) > ff)
        ff = (int64_t)c->moe_ff * (c->n_shared > 0 ? c->n_shared : 1);
    if (c->moe_ff > ff) ff = c->moe_ff;
    int64_t NR = c->n_routed, K = c->n_active;
    int64_t vt = vd > E ? vd : E;
    const int64_t eshared = (int64_t)c->moe_ff * (c->n_shared > 0 ? c->n_shared : 0);
    x->eg_shared = eshared;
    if (mla && c->qk_nope_dim > vt) vt = c->qk_nope_dim;
    struct {
        float **p;
        int64_t n;
    } parts[] = {
        {&x->x, B * E},
        {&x->xn, B * E},
        {&x->q, B * H * qk},
        {&x->qa, mla ? B * c->q_lora_rank : 0},
        {&x->kva, mla ? B * (R + c->qk_rope_dim) : B * na},
        {&x->vv, mla ? 0 : B * na},
        {&x->qlat, B * H * R},
        {&x->olat, B * H * R},
        {&x->vtmp, B * vt},
        {&x->att, B * H * vd},
        {&x->ka, p->cache_type == SK_CACHE_F32 ? 0 : (int64_t)n_ctx * na},
        {&x->kb, x->fb.type == SK_CACHE_F32 ? 0 : (int64_t)n_ctx * nb},
        {&x->tscratch, (int64_t)x->nth * tstride},
        {&x->ffn_g, B * ff},
        {&x->ffn_u, B * ff},
        {&x->moe_y, NR ? B * E : 0},
        {&x->router, B * NR},
        {&x->selw, B * K},
        {&x->w_of, B * K},
        {&x->xg, NR ? B * E : 0},
        {&x->yg, NR ? B * E : 0},
        {&x->rscratch, 2 * NR + c->n_group + 2},
        {&x->mtp_cat, c->n_mtp > 0 ? B * 2 * E : 0},
        {&x->eg, NR ? K * c->moe_ff + eshared : 0},
        {&x->eu, NR ? K * c->moe_ff + eshared : 0},
        {&x->ed, NR ? K * E : 0},
    };
    size_t tot = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        tot += (size_t)((parts[i].n + 15) & ~15);
    x->scratch = sk_aligned_alloc(64, tot * sizeof(float), e);
    size_t ni = (size_t)(B * K * 2 + NR + 2);
    x->sel = sk_calloc(ni, sizeof(int32_t), e);
    if (!x->scratch || !x->sel) {
        sk_model_ctx_free(x);
        return SK_ERR_NOMEM;
    }
    memset(x->scratch, 0, tot * sizeof(float));
    size_t off = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        *parts[i].p = parts[i].n ? x->scratch + off : NULL;
        off += (size_t)((parts[i].n + 15) & ~15);
    }
    x->attn_hg = hg;
    x->tstride = (size_t)tstride;
    x->tok_of = x->sel + B * K;
    x->cnt = x->tok_of + B * K;
    *out = x;
    return SK_OK;
}

void sk_model_ctx_free(sk_model_ctx *c) {
    if (!c) return;
    free(c->cache);
    free(c->knope);
    free(c->vexp);
    free(c->scratch);
    free(c->sel);
    free(c);
}

void sk_model_ctx_reset(sk_model_ctx *c) {
    c->n_pos = 0;
    memset(c->mtp_pos, 0, sizeof c->mtp_pos);
}

int sk_model_ctx_truncate(sk_model_ctx *c, int n_pos, sk_err *e) {
    if (n_pos < 0 || n_pos > c->n_pos)
        return sk_err_set(e, SK_ERR_RANGE, "cannot truncate a context of %d tokens to %d", c->n_pos,
                          n_pos);
    c->n_pos = n_pos;
    for (int k = 0; k < 16; k++)
        if (c->mtp_pos[k] > n_pos) c->mtp_pos[k] = n_pos;
    return SK_OK;
}

int sk_model_ctx_pos(const sk_model_ctx *c) {
    return c->n_pos;
}
int sk_model_ctx_capacity(const sk_model_ctx *c) {
    return c->n_ctx;
}
int sk_model_ctx_n_batch(const sk_model_ctx *c) {
    return c->n_batch;
}
size_t sk_model_ctx_cache_bytes_per_token(const sk_model_ctx *c) {
    return (c->fa.row_bytes + c->fb.row_bytes) * (size_t)c->n_cache_layers;
}

/* Where one chunk of an evaluation writes its logits [V] and hidden states [E] per row: the
 * chunk's rows of the caller's arrays when every row is wanted (starting at row `done`),
 * else the single row of the last chunk, else nothing. */
static void chunk_outputs(bool all_rows, bool last, int done, float *logits, size_t V,
                          float *hidden, size_t E, float **lg, float **ho) {
    *lg = *ho = NULL;
    if (all_rows) {
        if (logits) *lg = logits + (size_t)done * V;
        if (hidden) *ho = hidden + (size_t)done * E;
    } else if (last) {
        *lg = logits;
        *ho = hidden;
    }
}

int sk_model_eval(sk_model_ctx *c, const int32_t *tokens, int n, float *logits, bool all_rows,
                  sk_err *e) {
    return sk_model_eval_ex(c, tokens, n, logits, all_rows, NULL, e);
}

static int check_tokens(const sk_model_ctx *c, const int32_t *tokens, int n, int pos, sk_err *e) {
    const sk_model_config *cfg = &c->m->w.cfg;
    if (n <= 0) return sk_err_set(e, SK_ERR_INVALID, "eval: no tokens");
    if (n > c->n_ctx - pos)
        return sk_err_set(e, SK_ERR_RANGE,
                          "context overflow: %d cached + %d new tokens exceed the context size %d",
                          pos, n, c->n_ctx);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= cfg->n_vocab)
            return sk_err_set(e, SK_ERR_RANGE,
                              "eval: token %d (index %d) is outside the vocabulary [0, %d)",
                              tokens[i], i, cfg->n_vocab);
    return SK_OK;
}

int sk_model_mtp_eval(sk_model_ctx *c, int k, const int32_t *tokens, const float *hidden, int n,
                      float *logits, bool all_rows, float *hidden_out, sk_err *e) {
    const sk_model_config *cfg = &c->m->w.cfg;
    if (cfg->arch != SK_ARCH_DEEPSEEK2 || k < 1 || k > cfg->n_mtp || k > 16)
        return sk_err_set(e, SK_ERR_INVALID, "MTP depth %d: the model has %d MTP module(s)", k,
                          cfg->arch == SK_ARCH_DEEPSEEK2 ? cfg->n_mtp : 0);
    if (!hidden) return sk_err_set(e, SK_ERR_INVALID, "MTP: no hidden states");
    int rc = check_tokens(c, tokens, n, c->mtp_pos[k - 1], e);
    if (rc) return rc;
    if (c->mtp_pos[k - 1] + n > c->n_pos)
        return sk_err_set(e, SK_ERR_RANGE,
                          "MTP depth %d: positions %d..%d are ahead of the main model (%d tokens)",
                          k, c->mtp_pos[k - 1], c->mtp_pos[k - 1] + n - 1, c->n_pos);
    const size_t E = (size_t)cfg->n_embd, V = (size_t)cfg->n_vocab;
    for (int done = 0; done < n;) {
        int chunk = n - done < c->n_batch ? n - done : c->n_batch;
        bool last = done + chunk == n;
        float *lg, *ho;
        chunk_outputs(all_rows, last, done, logits, V, hidden_out, E, &lg, &ho);
        rc = skm_forward_mtp(c, k, tokens + done, hidden + (size_t)done * E, chunk, lg, all_rows,
                             ho, e);
        if (rc) return rc;
        c->mtp_pos[k - 1] += chunk;
        done += chunk;
    }
    return SK_OK;
}

int sk_model_ctx_mtp_pos(const sk_model_ctx *c, int k) {
    return k >= 1 && k <= 16 ? c->mtp_pos[k - 1] : 0;
}

int sk_model_eval_ex(sk_model_ctx *c, const int32_t *tokens, int n, float *logits, bool all_rows,
                     float *hidden, sk_err *e) {
    const sk_model_config *cfg = &c->m->w.cfg;
    int rc = check_tokens(c, tokens, n, c->n_pos, e);
    if (rc) return rc;
    const size_t E = (size_t)cfg->n_embd, V = (size_t)cfg->n_vocab;
    for (int done = 0; done < n;) {
        int chunk = n - done < c->n_batch ? n - done : c->n_batch;
        bool last = done + chunk == n;
        float *lg, *ho;
        chunk_outputs(all_rows, last, done, logits, V, hidden, E, &lg, &ho);
        rc = cfg->arch == SK_ARCH_DEEPSEEK2
                 ? skm_forward_deepseek2(c, tokens + done, chunk, lg, all_rows, ho, e)
                 : skm_forward_dense(c, tokens + done, chunk, lg, all_rows, ho, e);
        if (rc) return rc;
        c->n_pos += chunk;
        done += chunk;
    }
    return SK_OK;
}

int sk_model_logits_from_hidden(sk_model_ctx *c, const float *hidden, int n, float *logits,
                                sk_err *e) {
    if (n <= 0 || !hidden || !logits)
        return sk_err_set(e, SK_ERR_INVALID, "head: %d rows or no buffers", n);
    return skm_matmul(c->m, &c->m->w.output, hidden, n, logits, e);
}
