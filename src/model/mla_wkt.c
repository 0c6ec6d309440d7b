/* mla_wkt.c — the absorbed MLA query qlat[t][h] = Wk[h]ᵀ q_nope[t][h] for files that hold
 * only attn_kv_b (the "legacy" GGUF layout and Hugging Face checkpoints).
 *
 * Wk[h] is `nope` rows of kv_b (rows h*(nope+v) + [0, nope)), each kv_lora (R) values, so
 * qlat needs the transpose. Computing it from kv_b per token dequantizes those rows every
 * time (measured: 10–16% of decode time on V2-Lite shapes). Instead sk_model_open builds, once,
 * Wk[h]ᵀ for every head as R rows of nope F16 values (layout [layer][h][R][nope]), and a decode
 * step is one pool dispatch per layer of f32·f16 dot products. Size: n_layers·H·R·nope·2 bytes
 * (V2-Lite 54 MB, DeepSeek-V3 1.0 GB); F16 keeps the dequantized kv_b values to 11 bits
 * (≤ 2⁻¹¹ relative), well inside the quantization error of kv_b itself.
 *
 * Not built in exact_f32 mode (then the reference path, qlat_worker on kv_b rows, is used),
 * nor when the file has attn_k_b (the forward pass uses that directly). */
#include "model_internal.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SKM_X86 1
#endif

static float dot_f16_scalar(const sk_fp16 *w, const float *x, int64_t n) {
    float s = 0;
    for (int64_t i = 0; i < n; i++) s += sk_fp16_to_f32(w[i]) * x[i];
    return s;
}

#ifdef SKM_X86
__attribute__((target("avx2,fma,f16c"))) static float dot_f16_avx2(const sk_fp16 *w, const float *x,
                                                                   int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i)));
        __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i + 8)));
        a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), a1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i)));
        a0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), a0);
    }
    __m256 a = _mm256_add_ps(a0, a1);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    float r = _mm_cvtss_f32(s);
    for (; i < n; i++) r += sk_fp16_to_f32(w[i]) * x[i];
    return r;
}
#endif

typedef float (*dot_fn)(const sk_fp16 *, const float *, int64_t);

static dot_fn pick_dot(void) {
#ifdef SKM_X86
    sk_cpu_level l = sk_kernels_level();
    if (l == SK_CPU_AVX2 || l == SK_CPU_AVX512) return dot_f16_avx2;
#endif
    return dot_f16_scalar;
}

/* ---- build ---- */

typedef struct build_task {
    sk_model *m;
    int layer;
    sk_fp16 *dst; /* [H][R][nope] */
    int rc;
} build_task;

static void build_worker(void *arg, int ith, int nth) {
    build_task *t = arg;
    const sk_model_config *c = &t->m->w.cfg;
    const sk_tensor *kvb = &t->m->w.layers[t->layer].kv_b;
    const int64_t H = c->n_head, R = c->kv_lora_rank, nope = c->qk_nope_dim, vd = c->v_head_dim;
    float *row = malloc((size_t)R * sizeof(float));
    if (!row) {
        __atomic_store_n(&t->rc, SK_ERR_NOMEM, __ATOMIC_RELAXED);
        return;
    }
    for (int64_t h = ith; h < H; h += nth) {
        sk_fp16 *d = t->dst + h * R * nope;
        for (int64_t j = 0; j < nope; j++) {
            sk_err e = {0};
            if (sk_tensor_dequant_row(kvb, h * (nope + vd) + j, row, &e)) {
                __atomic_store_n(&t->rc, SK_ERR_FORMAT, __ATOMIC_RELAXED);
                free(row);
                return;
            }
            for (int64_t r = 0; r < R; r++) d[r * nope + j] = sk_f32_to_fp16(row[r]);
        }
    }
    free(row);
}

static bool wants_wkt(const sk_model *m, const sk_layer_weights *y) {
    return sk_tensor_present(&y->kv_b) && !sk_tensor_present(&y->k_b) && !m->opts.exact_f32;
}

int skm_wkt_build(sk_model *m, sk_err *e) {
    const sk_model_config *c = &m->w.cfg;
    if (c->arch != SK_ARCH_DEEPSEEK2 || m->opts.exact_f32) return SK_OK;
    const int L = c->n_layer + c->n_mtp;
    size_t per = 0;
    if (!sk_mul_ok((size_t)c->n_head, (size_t)c->kv_lora_rank, &per) ||
        !sk_mul_ok(per, (size_t)c->qk_nope_dim, &per))
        return sk_err_set(e, SK_ERR_RANGE, "MLA: kv_b transpose size overflows");
    int n = 0;
    for (int l = 0; l < L; l++) n += wants_wkt(m, &m->w.layers[l]);
    if (!n) return SK_OK;
    m->wkt = sk_calloc((size_t)L, sizeof *m->wkt, e);
    m->wkt_data = sk_calloc(per, (size_t)n * sizeof(sk_fp16), e);
    if (!m->wkt || !m->wkt_data) return SK_ERR_NOMEM;
    m->wkt_bytes = per * (size_t)n * sizeof(sk_fp16);
    size_t at = 0;
    for (int l = 0; l < L; l++) {
        if (!wants_wkt(m, &m->w.layers[l])) continue;
        build_task t = {.m = m, .layer = l, .dst = m->wkt_data + at};
        sk_pool_run(sk_kctx_pool(m->k), build_worker, &t);
        if (t.rc) return sk_err_set(e, t.rc, "layer %d: cannot decode attn_kv_b rows", l);
        m->wkt[l] = t.dst;
        at += per;
    }
    return SK_OK;
}

/* ---- apply ---- */

typedef struct apply_task {
    sk_model_ctx *c;
    const sk_fp16 *w;
    int T;
    dot_fn dot;
} apply_task;

/* item = t*H + h */
static void apply_item(void *arg, int64_t it, int ith) {
    (void)ith;
    apply_task *tk = arg;
    sk_model_ctx *c = tk->c;
    const sk_model_config *cfg = &c->m->w.cfg;
    const int64_t H = cfg->n_head, R = cfg->kv_lora_rank, nope = cfg->qk_nope_dim,
                  qk = nope + cfg->qk_rope_dim;
    /* (head, token) pairs, so that both threads work when T·H is small */
    int64_t h = it % H, t = it / H;
    const sk_fp16 *w = tk->w + h * R * nope;
    const float *q = c->q + (t * H + h) * qk;
    float *o = c->qlat + (t * H + h) * R;
    for (int64_t r = 0; r < R; r++) o[r] = tk->dot(w + r * nope, q, nope);
}

bool skm_wkt_apply(sk_model_ctx *c, int layer, int T) {
    sk_model *m = c->m;
    if (!m->wkt || !m->wkt[layer]) return false;
    apply_task t = {.c = c, .w = m->wkt[layer], .T = T, .dot = pick_dot()};
    const sk_model_config *cfg = &m->w.cfg;
    const int64_t H = cfg->n_head;
    skm_for(m, (int64_t)T * H,
            (double)T * (double)H * (double)cfg->kv_lora_rank * (double)cfg->qk_nope_dim,
            apply_item, &t);
    return true;
}

size_t sk_model_mla_wkt_bytes(const sk_model *m, int layer) {
    const sk_model_config *c = &m->w.cfg;
    if (!m->wkt || layer < 0 || layer >= c->n_layer + c->n_mtp || !m->wkt[layer]) return 0;
    return (size_t)c->n_head * (size_t)c->kv_lora_rank * (size_t)c->qk_nope_dim * sizeof(sk_fp16);
}
