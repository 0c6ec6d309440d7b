/* optim.c — AdamW with decoupled weight decay, global-norm clipping, the learning-rate
 * schedule (linear warm-up, constant, cosine to min_lr_frac*lr) and the aux-loss-free
 * bias update. */
#include "sk_train.h"

#include "sk_kernels.h"

#include <math.h>
#include <string.h>

void sk_adamw_defaults(sk_adamw_cfg *c) {
    memset(c, 0, sizeof *c);
    c->lr = 1e-3f;
    c->beta1 = 0.9f;
    c->beta2 = 0.95f;
    c->eps = 1e-8f;
    c->weight_decay = 0.1f;
    c->clip = 1.0f;
    c->warmup = 0;
    c->constant = -1; /* -1: constant until total (no cosine) */
    c->total = 0;
    c->min_lr_frac = 0.1f;
    c->bias_gamma = 1e-3f;
}

float sk_lr_at(const sk_adamw_cfg *c, int64_t step) {
    if (c->warmup > 0 && step < c->warmup) return c->lr * (float)(step + 1) / (float)c->warmup;
    if (c->constant < 0 || c->total <= 0) return c->lr;
    int64_t start = (int64_t)c->warmup + c->constant;
    if (step < start) return c->lr;
    int64_t span = c->total - start;
    double prog = span > 0 ? (double)(step - start) / (double)span : 1.0;
    if (prog > 1) prog = 1;
    double f = c->min_lr_frac + (1.0 - c->min_lr_frac) * 0.5 * (1.0 + cos(M_PI * prog));
    return (float)(c->lr * f);
}

/* Every thread takes the same slice [lo, hi) of every tensor, so one pool run covers the
 * whole model; the per-thread partial sums are added in thread order. */
#define OPT_MAX_THREADS 256
typedef struct opt_ctx {
    const sk_tmodel *m;
    const sk_adamw_cfg *c;
    float *mv;
    float cf, lr, bc1, bc2;
    bool avx2;
    double part[OPT_MAX_THREADS];
} opt_ctx;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define OPT_X86 1
/* sum of squares of n floats in double lanes */
__attribute__((target("avx2,fma"))) static double sumsq_avx2(const float *g, size_t n) {
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256d x0 = _mm256_cvtps_pd(_mm_loadu_ps(g + i)),
                x1 = _mm256_cvtps_pd(_mm_loadu_ps(g + i + 4));
        a0 = _mm256_fmadd_pd(x0, x0, a0);
        a1 = _mm256_fmadd_pd(x1, x1, a1);
    }
    double t[4];
    _mm256_storeu_pd(t, _mm256_add_pd(a0, a1));
    double ss = (t[0] + t[1]) + (t[2] + t[3]);
    for (; i < n; i++) ss += (double)g[i] * g[i];
    return ss;
}

/* AdamW over n floats, 8 lanes at a time (the tail through masked loads/stores): the same
 * operations in the same order as the scalar loop in adam_task, so every element gets the
 * scalar result wherever a thread's range starts. k: cf, beta1, 1-beta1, beta2, 1-beta2, bc1,
 * bc2, lr. */
__attribute__((target("avx2"))) static void adam_avx2(float *w, const float *g, float *mm,
                                                      float *vv, size_t n, const float k[8],
                                                      float eps, float wd) {
    static const int32_t mk[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    __m256 bc1 = _mm256_set1_ps(k[5]), bc2 = _mm256_set1_ps(k[6]), lr = _mm256_set1_ps(k[7]);
    __m256 ve = _mm256_set1_ps(eps), vwd = _mm256_set1_ps(wd), cf = _mm256_set1_ps(k[0]);
    __m256 b1 = _mm256_set1_ps(k[1]), nb1 = _mm256_set1_ps(k[2]), b2 = _mm256_set1_ps(k[3]);
    __m256 nb2 = _mm256_set1_ps(k[4]);
    for (size_t i = 0; i < n; i += 8) {
        size_t left = n - i < 8 ? n - i : 8;
        __m256i m = _mm256_loadu_si256((const __m256i *)(mk + 8 - left));
        __m256 gj = _mm256_mul_ps(_mm256_maskload_ps(g + i, m), cf);
        __m256 mv =
            _mm256_add_ps(_mm256_mul_ps(b1, _mm256_maskload_ps(mm + i, m)), _mm256_mul_ps(nb1, gj));
        __m256 v2 = _mm256_add_ps(_mm256_mul_ps(b2, _mm256_maskload_ps(vv + i, m)),
                                  _mm256_mul_ps(_mm256_mul_ps(nb2, gj), gj));
        _mm256_maskstore_ps(mm + i, m, mv);
        _mm256_maskstore_ps(vv + i, m, v2);
        __m256 mh = _mm256_div_ps(mv, bc1), vh = _mm256_div_ps(v2, bc2);
        __m256 wv = _mm256_maskload_ps(w + i, m);
        __m256 upd = _mm256_add_ps(_mm256_div_ps(mh, _mm256_add_ps(_mm256_sqrt_ps(vh), ve)),
                                   _mm256_mul_ps(vwd, wv));
        _mm256_maskstore_ps(w + i, m, _mm256_sub_ps(wv, _mm256_mul_ps(lr, upd)));
    }
}
#endif

static void norm_task(void *v, int ith, int nth) {
    opt_ctx *o = v;
    const sk_tmodel *m = o->m;
    double ss = 0;
    for (int i = 0; i < m->n_tp; i++) {
        const sk_tparam *p = &m->tp[i];
        if (p->buffer) continue;
        size_t lo, hi;
        sk_split_range(p->n, ith, nth, &lo, &hi);
        const float *g = m->grads + p->off;
#ifdef OPT_X86
        if (o->avx2) {
            ss += sumsq_avx2(g + lo, hi - lo);
            continue;
        }
#endif
        for (size_t j = lo; j < hi; j++) ss += (double)g[j] * g[j];
    }
    o->part[ith] = ss;
}

static int n_threads(const sk_tmodel *m) {
    int n = m->pool ? sk_pool_size(m->pool) : 1;
    return n > OPT_MAX_THREADS ? 1 : n;
}

double sk_tmodel_grad_norm(const sk_tmodel *m) {
    sk_cpu_level lv = sk_kernels_level();
    opt_ctx o = {.m = m, .avx2 = lv == SK_CPU_AVX2 || lv == SK_CPU_AVX512};
    int nth = n_threads(m);
    if (nth > 1)
        sk_pool_run(m->pool, norm_task, &o);
    else
        norm_task(&o, 0, 1);
    double ss = 0;
    for (int i = 0; i < nth; i++) ss += o.part[i];
    return sqrt(ss);
}

static void adam_task(void *v, int ith, int nth) {
    opt_ctx *o = v;
    const sk_tmodel *m = o->m;
    const sk_adamw_cfg *c = o->c;
    float *M = o->mv, *Vv = o->mv + m->n_floats;
    for (int i = 0; i < m->n_tp; i++) {
        const sk_tparam *p = &m->tp[i];
        if (p->buffer) continue;
        size_t lo, hi;
        sk_split_range(p->n, ith, nth, &lo, &hi);
        float *w = m->params + p->off;
        const float *g = m->grads + p->off;
        float *mm = M + p->off, *vv = Vv + p->off;
        float wd = p->decay ? c->weight_decay : 0.0f;
#ifdef OPT_X86
        if (o->avx2) {
            const float k[8] = {o->cf,           c->beta1, 1.0f - c->beta1, c->beta2,
                                1.0f - c->beta2, o->bc1,   o->bc2,          o->lr};
            adam_avx2(w + lo, g + lo, mm + lo, vv + lo, hi - lo, k, c->eps, wd);
            continue;
        }
#endif
        for (size_t j = lo; j < hi; j++) {
            float gj = g[j] * o->cf;
            mm[j] = c->beta1 * mm[j] + (1.0f - c->beta1) * gj;
            vv[j] = c->beta2 * vv[j] + (1.0f - c->beta2) * gj * gj;
            float mh = mm[j] / o->bc1, vh = vv[j] / o->bc2;
            w[j] -= o->lr * (mh / (sqrtf(vh) + c->eps) + wd * w[j]);
        }
    }
}

double sk_adamw_step(sk_tmodel *m, const sk_adamw_cfg *c, float *mv, int64_t step) {
    double norm = sk_tmodel_grad_norm(m);
    float cf = 1.0f;
    if (c->clip > 0 && norm > c->clip) cf = (float)(c->clip / norm);
    if (!isfinite(norm)) cf = 0.0f; /* never let a NaN/Inf gradient into the weights */
    double t = (double)step + 1.0;
    opt_ctx o = {.m = m,
                 .c = c,
                 .mv = mv,
                 .cf = cf,
                 .lr = sk_lr_at(c, step),
                 .bc1 = (float)(1.0 - pow(c->beta1, t)),
                 .bc2 = (float)(1.0 - pow(c->beta2, t))};
    sk_cpu_level lv = sk_kernels_level();
    o.avx2 = lv == SK_CPU_AVX2 || lv == SK_CPU_AVX512;
    if (n_threads(m) > 1)
        sk_pool_run(m->pool, adam_task, &o);
    else
        adam_task(&o, 0, 1);
    return norm;
}

void sk_tmodel_bias_update(sk_tmodel *m, float gamma) {
    const sk_model_config *c = &m->cfg;
    if (!c->has_exp_bias || gamma == 0.0f) return;
    int E = c->n_routed;
    for (int l = 0; l < c->n_layer + c->n_mtp; l++) {
        if (!sk_model_is_moe_layer(c, l)) continue;
        const double *ld = m->load + (size_t)l * E;
        float *b = (float *)m->w.layers[l].exp_bias.data;
        double mean = 0;
        for (int i = 0; i < E; i++) mean += ld[i];
        mean /= E;
        for (int i = 0; i < E; i++) {
            double d = mean - ld[i];
            b[i] += d > 0 ? gamma : d < 0 ? -gamma : 0.0f;
        }
    }
}
