/* test_train_fastops.c — the trainer's fast paths against independent references:
 *  - the blocked causal attention (query rows in blocks, keys up to the block's end) against
 *    a double-precision scalar forward/backward, at T = 150 (blocks 64, 64, 22);
 *  - the AVX2 SwiGLU, RMSNorm, cross-entropy and AdamW paths against the scalar ones
 *    (sk_kernels_set_level), including odd lengths and exp arguments beyond ±88;
 *  - element-wise results equal bit for bit between 1 and 2 pool threads. */
#include "sk_test.h"
#include "train_internal.h"

#include "sk_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;
static float frand(void) { /* uniform in [-1, 1) */
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static void fill(float *x, size_t n, float s) {
    for (size_t i = 0; i < n; i++) x[i] = frand() * s;
}
static double max_rel(const float *a, const float *b, size_t n) {
    double m = 0, scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs((double)b[i]));
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return scale > 0 ? m / scale : m;
}

/* ---- attention: double reference ---- */
static void attn_ref(const tr_attn_dims *d, const float *q, const float *kv, const float *kpe,
                     const float *dout, double *o, double *dq, double *dkv, double *dkpe) {
    int T = d->T;
    double *P = calloc((size_t)T * T, sizeof(double)), *dP = calloc((size_t)T * T, sizeof(double));
    for (int h = 0; h < d->nh; h++) {
        const float *qn = q + h * (d->dn + d->dr), *kn = kv + h * (d->dn + d->dv);
        for (int t = 0; t < T; t++) {
            double mx = -INFINITY;
            for (int u = 0; u <= t; u++) {
                double s = 0;
                for (int i = 0; i < d->dn; i++) s += (double)qn[t * d->qs + i] * kn[u * d->kvs + i];
                for (int i = 0; i < d->dr; i++)
                    s += (double)qn[t * d->qs + d->dn + i] * kpe[u * d->kps + i];
                P[t * T + u] = s * d->scale;
                mx = fmax(mx, P[t * T + u]);
            }
            double sum = 0;
            for (int u = 0; u <= t; u++) sum += P[t * T + u] = exp(P[t * T + u] - mx);
            for (int u = 0; u <= t; u++) P[t * T + u] /= sum;
            for (int j = 0; j < d->dv; j++) {
                double a = 0;
                for (int u = 0; u <= t; u++) a += P[t * T + u] * kn[u * d->kvs + d->dn + j];
                o[t * d->os + h * d->dv + j] = a;
            }
        }
        for (int t = 0; t < T; t++) {
            const float *dO = dout + t * d->os + h * d->dv;
            double rs = 0;
            for (int u = 0; u <= t; u++) {
                double a = 0;
                for (int j = 0; j < d->dv; j++) {
                    a += (double)dO[j] * kn[u * d->kvs + d->dn + j];
                    dkv[u * d->kvs + h * (d->dn + d->dv) + d->dn + j] += P[t * T + u] * dO[j];
                }
                dP[t * T + u] = a;
                rs += a * P[t * T + u];
            }
            for (int u = 0; u <= t; u++) {
                double ds = P[t * T + u] * (dP[t * T + u] - rs) * d->scale;
                for (int i = 0; i < d->dn; i++) {
                    dq[t * d->qs + h * (d->dn + d->dr) + i] += ds * kn[u * d->kvs + i];
                    dkv[u * d->kvs + h * (d->dn + d->dv) + i] += ds * qn[t * d->qs + i];
                }
                for (int i = 0; i < d->dr; i++) {
                    dq[t * d->qs + h * (d->dn + d->dr) + d->dn + i] += ds * kpe[u * d->kps + i];
                    dkpe[u * d->kps + i] += ds * qn[t * d->qs + d->dn + i];
                }
            }
        }
    }
    free(P);
    free(dP);
}

static double max_rel_d(const float *a, const double *b, size_t n) {
    double m = 0, scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return scale > 0 ? m / scale : m;
}

static void test_attention_blocks(void) {
    tr_attn_dims d = {.T = 150, .nh = 2, .dn = 8, .dr = 4, .dv = 6, .scale = 0.35f};
    d.qs = d.nh * (d.dn + d.dr) + 3;
    d.kvs = d.nh * (d.dn + d.dv) + 1;
    d.kps = d.dr + 2;
    d.os = d.nh * d.dv + 2;
    size_t T = (size_t)d.T;
    float *q = malloc(4 * T * d.qs), *kv = malloc(4 * T * d.kvs), *kpe = malloc(4 * T * d.kps),
          *p = malloc(4 * d.nh * T * T), *o = calloc(T * d.os, 4), *dout = malloc(4 * T * d.os),
          *dq = calloc(T * d.qs, 4), *dkv = calloc(T * d.kvs, 4), *dkpe = calloc(T * d.kps, 4),
          *scr = malloc(4 * T * T);
    double *ro = calloc(T * d.os, 8), *rdq = calloc(T * d.qs, 8), *rdkv = calloc(T * d.kvs, 8),
           *rdkpe = calloc(T * d.kps, 8);
    fill(q, T * d.qs, 2.0f);
    fill(kv, T * d.kvs, 2.0f);
    fill(kpe, T * d.kps, 2.0f);
    fill(dout, T * d.os, 1.0f);
    for (int lv = 0; lv < 2; lv++) {
        if (lv == 1 && sk_kernels_set_level(SK_CPU_SCALAR, NULL) != SK_OK) break;
        memset(dq, 0, 4 * T * d.qs);
        memset(dkv, 0, 4 * T * d.kvs);
        memset(dkpe, 0, 4 * T * d.kps);
        for (size_t i = 0; i < d.nh * T * T; i++) p[i] = NAN; /* must all be written */
        tr_attn_fwd(&d, q, kv, kpe, p, o);
        tr_attn_bwd(&d, q, kv, kpe, p, dout, dq, dkv, dkpe, scr);
        if (lv == 0) attn_ref(&d, q, kv, kpe, dout, ro, rdq, rdkv, rdkpe);
        /* compare only the used columns (padding must stay untouched: o is calloc'd) */
        CHECK(max_rel_d(o, ro, T * d.os) < 1e-5);
        CHECK(max_rel_d(dq, rdq, T * d.qs) < 1e-5);
        CHECK(max_rel_d(dkv, rdkv, T * d.kvs) < 1e-5);
        CHECK(max_rel_d(dkpe, rdkpe, T * d.kps) < 1e-5);
        /* rows of p: probabilities summing to 1 on u <= t, zero above */
        for (int h = 0; h < d.nh; h++)
            for (size_t t = 0; t < T; t += 7) {
                const float *pr = p + (h * T + t) * T;
                double s = 0;
                for (size_t u = 0; u <= t; u++) s += pr[u];
                CHECK_NEAR(s, 1.0, 1e-5);
                for (size_t u = t + 1; u < T; u++) CHECK(pr[u] == 0.0f);
            }
    }
    sk_kernels_set_level(sk_cpu_best(), NULL);
    free(q), free(kv), free(kpe), free(p), free(o), free(dout), free(dq), free(dkv), free(dkpe);
    free(scr), free(ro), free(rdq), free(rdkv), free(rdkpe);
}

/* ---- AVX2 vs scalar element-wise ops ---- */
static void test_vector_vs_scalar(void) {
    if (sk_cpu_best() != SK_CPU_AVX2 && sk_cpu_best() != SK_CPU_AVX512) {
        SKIP("no AVX2 on this CPU");
        return;
    }
    sk_err e = {0};
    const size_t n = 1037; /* not a multiple of 8 */
    float *g = malloc(4 * n), *u = malloc(4 * n), *dh = malloc(4 * n);
    float *h[2], *dg[2], *du[2];
    fill(g, n, 12.0f);
    fill(u, n, 1.0f);
    fill(dh, n, 1.0f);
    g[0] = 100.0f, g[1] = -100.0f, g[2] = 95.0f, g[3] = -95.0f, g[4] = 0.0f;
    for (int lv = 0; lv < 2; lv++) {
        CHECK_OK(sk_kernels_set_level(lv ? SK_CPU_SCALAR : sk_cpu_best(), &e), &e);
        h[lv] = malloc(4 * n);
        dg[lv] = malloc(4 * n);
        du[lv] = malloc(4 * n);
        for (size_t i = 0; i < n; i++) dg[lv][i] = du[lv][i] = 0.5f; /* backward adds */
        tr_swiglu_fwd(h[lv], g, u, n);
        tr_swiglu_bwd(dg[lv], du[lv], dh, g, u, n);
    }
    CHECK(max_rel(h[0], h[1], n) < 1e-6);
    CHECK(max_rel(dg[0], dg[1], n) < 1e-6);
    CHECK(max_rel(du[0], du[1], n) < 1e-6);
    CHECK(h[0][1] == 0.0f || fabsf(h[0][1]) < 1e-30f); /* silu(-100) */
    for (int lv = 0; lv < 2; lv++) free(h[lv]), free(dg[lv]), free(du[lv]);

    /* RMSNorm, rows of 83 */
    const int N = 12, m = 83;
    float *x = malloc(4 * N * m), *w = malloc(4 * m), *dy = malloc(4 * N * m);
    float *y[2], *rs[2], *dx[2], *dw[2];
    fill(x, (size_t)N * m, 3.0f);
    fill(w, (size_t)m, 1.0f);
    fill(dy, (size_t)N * m, 1.0f);
    for (int lv = 0; lv < 2; lv++) {
        CHECK_OK(sk_kernels_set_level(lv ? SK_CPU_SCALAR : sk_cpu_best(), &e), &e);
        y[lv] = malloc(4 * N * m), rs[lv] = malloc(4 * N), dx[lv] = calloc((size_t)N * m, 4);
        dw[lv] = calloc((size_t)m, 4);
        tr_rms_fwd(y[lv], rs[lv], x, w, N, m, 1e-6f);
        tr_rms_bwd(dx[lv], dw[lv], dy, x, rs[lv], w, N, m);
    }
    CHECK(max_rel(y[0], y[1], (size_t)N * m) < 1e-6);
    CHECK(max_rel(rs[0], rs[1], (size_t)N) < 1e-6);
    CHECK(max_rel(dx[0], dx[1], (size_t)N * m) < 1e-5);
    CHECK(max_rel(dw[0], dw[1], (size_t)m) < 1e-6);
    for (int lv = 0; lv < 2; lv++) free(y[lv]), free(rs[lv]), free(dx[lv]), free(dw[lv]);

    /* cross-entropy over 4099 logits with a wide range */
    const int R = 3, V = 4099;
    float *lg = malloc(4 * R * V), *dl[2];
    int32_t tg[3] = {0, 4098, 77};
    float wt[3] = {1.0f, 0.0f, 1.0f};
    fill(lg, (size_t)R * V, 30.0f);
    lg[5] = 120.0f; /* e^(l - max) underflows for most of its row */
    double loss[2];
    for (int lv = 0; lv < 2; lv++) {
        CHECK_OK(sk_kernels_set_level(lv ? SK_CPU_SCALAR : sk_cpu_best(), &e), &e);
        dl[lv] = malloc(4 * R * V);
        loss[lv] = tr_ce(lg, tg, wt, R, V, dl[lv], 0.5f, NULL);
    }
    CHECK_NEAR(loss[0], loss[1], 1e-5 * fabs(loss[1]));
    CHECK(max_rel(dl[0], dl[1], (size_t)R * V) < 1e-6);
    for (int i = 0; i < V; i++) CHECK(dl[0][V + i] == 0.0f); /* weight 0 row */
    for (int lv = 0; lv < 2; lv++) free(dl[lv]);
    free(lg), free(x), free(w), free(dy), free(g), free(u), free(dh);
    sk_kernels_set_level(sk_cpu_best(), NULL);
}

/* ---- pool splits: the element-wise results do not depend on where ranges start ---- */
static void test_split_invariance(void) {
    sk_err e = {0};
    sk_pool *pool = sk_pool_new(2, &e);
    CHECK_MSG(pool != NULL, "%s", e.msg);
    if (!pool) return;
    const size_t n = 3 * 4096 + 13;
    float *g = malloc(4 * n), *u = malloc(4 * n), *dh = malloc(4 * n);
    fill(g, n, 8.0f);
    fill(u, n, 1.0f);
    fill(dh, n, 1.0f);
    float *a[2], *b[2], *c[2];
    for (int k = 0; k < 2; k++) {
        a[k] = malloc(4 * n), b[k] = malloc(4 * n), c[k] = malloc(4 * n);
        tr_swiglu_fwd_p(k ? pool : NULL, a[k], g, u, n);
        tr_swiglu_bwd_set_p(k ? pool : NULL, b[k], c[k], dh, g, u, n);
    }
    CHECK(memcmp(a[0], a[1], 4 * n) == 0);
    CHECK(memcmp(b[0], b[1], 4 * n) == 0);
    CHECK(memcmp(c[0], c[1], 4 * n) == 0);
    /* the overwriting backward equals the accumulating one on zeroed outputs */
    float *z0 = calloc(n, 4), *z1 = calloc(n, 4);
    tr_swiglu_bwd(z0, z1, dh, g, u, n);
    CHECK(memcmp(z0, b[0], 4 * n) == 0);
    CHECK(memcmp(z1, c[0], 4 * n) == 0);
    for (int k = 0; k < 2; k++) free(a[k]), free(b[k]), free(c[k]);
    free(z0), free(z1), free(g), free(u), free(dh);
    sk_pool_free(pool);
}

/* tr_mm_bwd_set overwrites dx and still adds into dW */
static void test_mm_bwd_set(void) {
    const int N = 37, in = 19, out = 23;
    float *dy = malloc(4 * N * out), *x = malloc(4 * N * in), *W = malloc(4 * out * in);
    float *dx0 = malloc(4 * N * in), *dx1 = calloc((size_t)N * in, 4);
    float *dW0 = malloc(4 * out * in), *dW1 = malloc(4 * out * in);
    fill(dy, (size_t)N * out, 1.0f);
    fill(x, (size_t)N * in, 1.0f);
    fill(W, (size_t)out * in, 1.0f);
    for (int i = 0; i < N * in; i++) dx0[i] = 1e30f; /* garbage to be overwritten */
    for (int i = 0; i < out * in; i++) dW0[i] = dW1[i] = 0.25f;
    tr_mm_bwd_set(dx0, dW0, dy, x, W, N, in, out);
    tr_mm_bwd(dx1, dW1, dy, x, W, N, in, out);
    CHECK(max_rel(dx0, dx1, (size_t)N * in) < 1e-6);
    CHECK(max_rel(dW0, dW1, (size_t)out * in) < 1e-6);
    free(dy), free(x), free(W), free(dx0), free(dx1), free(dW0), free(dW1);
}

int main(void) {
    RUN(test_attention_blocks);
    RUN(test_vector_vs_scalar);
    RUN(test_split_invariance);
    RUN(test_mm_bwd_set);
    return sk_test_report("train_fastops");
}
