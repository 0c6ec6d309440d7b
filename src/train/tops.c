/* tops.c — forward/backward primitives of the trainer (see train_internal.h). */
#include "train_internal.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

void tr_mm_fwd(float *y, const float *x, const float *W, int N, int in, int out, float beta) {
    if (N <= 0 || out <= 0) return;
    if (in <= 0) {
        if (beta == 0.0f) memset(y, 0, sizeof(float) * (size_t)N * (size_t)out);
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, out, in, 1.0f, x, in, W, in, beta, y,
                out);
}

void tr_mm_bwd(float *dx, float *dW, const float *dy, const float *x, const float *W, int N, int in,
               int out) {
    if (N <= 0 || in <= 0 || out <= 0) return;
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dy, out, W, in,
                    1.0f, dx, in);
    if (dW)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, N, 1.0f, dy, out, x, in, 1.0f,
                    dW, in);
}

void tr_rms_fwd(float *y, float *rstd, const float *x, const float *w, int N, int n, float eps) {
    for (int r = 0; r < N; r++) {
        const float *xr = x + (size_t)r * n;
        float *yr = y + (size_t)r * n;
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (double)xr[i] * xr[i];
        float rs = (float)(1.0 / sqrt(ss / n + (double)eps));
        rstd[r] = rs;
        for (int i = 0; i < n; i++) yr[i] = xr[i] * rs * w[i];
    }
}

void tr_rms_bwd(float *dx, float *dw, const float *dy, const float *x, const float *rstd,
                const float *w, int N, int n) {
    for (int r = 0; r < N; r++) {
        const float *xr = x + (size_t)r * n, *dyr = dy + (size_t)r * n;
        float rs = rstd[r];
        double dot = 0;
        for (int i = 0; i < n; i++) dot += (double)dyr[i] * w[i] * xr[i];
        if (dw)
            for (int i = 0; i < n; i++) dw[i] += dyr[i] * xr[i] * rs;
        if (dx) {
            float *dxr = dx + (size_t)r * n;
            float c = (float)(dot * rs * rs * rs / n);
            for (int i = 0; i < n; i++) dxr[i] += rs * w[i] * dyr[i] - c * xr[i];
        }
    }
}

void tr_rope_tables(const sk_model_config *c, int T, float *cs, float *sn) {
    int d = c->qk_rope_dim, half = d / 2;
    double theta = c->rope_theta > 0 ? c->rope_theta : 10000.0;
    double inv[512];
    for (int i = 0; i < half && i < 512; i++) {
        double f = pow(theta, -2.0 * i / d);
        if (c->rope_scaling == SK_ROPE_SCALING_YARN && c->rope_factor > 1.0f) {
            double L0 = c->rope_orig_ctx > 0 ? c->rope_orig_ctx : 4096;
            double bf = c->yarn_beta_fast, bs = c->yarn_beta_slow;
            double lo = floor(d * log(L0 / (bf * 2 * M_PI)) / (2 * log(theta)));
            double hi = ceil(d * log(L0 / (bs * 2 * M_PI)) / (2 * log(theta)));
            if (lo < 0) lo = 0;
            if (hi > d - 1) hi = d - 1;
            if (hi == lo) hi = lo + 0.001;
            double ramp = (i - lo) / (hi - lo);
            if (ramp < 0) ramp = 0;
            if (ramp > 1) ramp = 1;
            f = f * (1 - ramp) + f / c->rope_factor * ramp;
        } else if (c->rope_scaling == SK_ROPE_SCALING_LINEAR && c->rope_factor > 0) {
            f /= c->rope_factor;
        }
        inv[i] = f;
    }
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            double a = (double)t * inv[i];
            cs[(size_t)t * half + i] = (float)cos(a);
            sn[(size_t)t * half + i] = (float)sin(a);
        }
}

void tr_rope_apply(float *v, int d, const float *cs_t, const float *sn_t, int dir) {
    for (int i = 0; i < d / 2; i++) {
        float c = cs_t[i], s = dir > 0 ? sn_t[i] : -sn_t[i];
        float a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * c - b * s;
        v[2 * i + 1] = a * s + b * c;
    }
}

static inline float silu_f(float g) {
    return g / (1.0f + expf(-g));
}

void tr_swiglu_fwd(float *h, const float *g, const float *u, size_t n) {
    for (size_t i = 0; i < n; i++) h[i] = silu_f(g[i]) * u[i];
}

void tr_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u,
                   size_t n) {
    for (size_t i = 0; i < n; i++) {
        float sg = 1.0f / (1.0f + expf(-g[i]));
        float si = g[i] * sg;
        du[i] += dh[i] * si;
        dg[i] += dh[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
    }
}

/* ---- attention (per head: two sgemms for the scores, one for the output; the causal
 * upper triangle is computed and discarded, which costs less than scalar loops) ---- */
void tr_attn_fwd(const tr_attn_dims *d, const float *q, const float *kv, const float *kpe, float *p,
                 float *o) {
    int T = d->T;
    for (int h = 0; h < d->nh; h++) {
        const float *qn = q + (size_t)h * (d->dn + d->dr), *qp = qn + d->dn;
        const float *kn = kv + (size_t)h * (d->dn + d->dv), *v = kn + d->dn;
        float *P = p + (size_t)h * T * T;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, d->dn, d->scale, qn, d->qs, kn,
                    d->kvs, 0.0f, P, T);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, d->dr, d->scale, qp, d->qs, kpe,
                    d->kps, 1.0f, P, T);
        for (int t = 0; t < T; t++) {
            float *pr = P + (size_t)t * T;
            float mx = -INFINITY;
            for (int u = 0; u <= t; u++)
                if (pr[u] > mx) mx = pr[u];
            double sum = 0;
            for (int u = 0; u <= t; u++) {
                pr[u] = expf(pr[u] - mx);
                sum += pr[u];
            }
            float inv = (float)(1.0 / sum);
            for (int u = 0; u <= t; u++) pr[u] *= inv;
            for (int u = t + 1; u < T; u++) pr[u] = 0.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d->dv, T, 1.0f, P, T, v, d->kvs,
                    0.0f, o + (size_t)h * d->dv, d->os);
    }
}

void tr_attn_bwd(const tr_attn_dims *d, const float *q, const float *kv, const float *kpe,
                 const float *p, const float *dout, float *dq, float *dkv, float *dkpe,
                 float *scratch) {
    int T = d->T;
    float *dS = scratch;
    for (int h = 0; h < d->nh; h++) {
        const float *qn = q + (size_t)h * (d->dn + d->dr), *qp = qn + d->dn;
        const float *kn = kv + (size_t)h * (d->dn + d->dv), *v = kn + d->dn;
        const float *P = p + (size_t)h * T * T, *dO = dout + (size_t)h * d->dv;
        float *dqn = dq + (size_t)h * (d->dn + d->dr), *dqp = dqn + d->dn;
        float *dkn = dkv + (size_t)h * (d->dn + d->dv), *dv = dkn + d->dn;
        /* dP = dO Vᵀ, dV += Pᵀ dO */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, d->dv, 1.0f, dO, d->os, v,
                    d->kvs, 0.0f, dS, T);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, d->dv, T, 1.0f, P, T, dO, d->os,
                    1.0f, dv, d->kvs);
        /* dS = scale * P ∘ (dP - rowsum(P ∘ dP)) */
        for (int t = 0; t < T; t++) {
            const float *pr = P + (size_t)t * T;
            float *ds = dS + (size_t)t * T;
            double sum = 0;
            for (int u = 0; u <= t; u++) sum += (double)pr[u] * ds[u];
            for (int u = 0; u <= t; u++) ds[u] = pr[u] * (ds[u] - (float)sum) * d->scale;
            for (int u = t + 1; u < T; u++) ds[u] = 0.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d->dn, T, 1.0f, dS, T, kn, d->kvs,
                    1.0f, dqn, d->qs);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, d->dn, T, 1.0f, dS, T, qn, d->qs,
                    1.0f, dkn, d->kvs);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, d->dr, T, 1.0f, dS, T, kpe,
                    d->kps, 1.0f, dqp, d->qs);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, d->dr, T, 1.0f, dS, T, qp, d->qs,
                    1.0f, dkpe, d->kps);
    }
}

static double ce_rows(const float *logits, const int32_t *tgt, const float *w, int r0, int r1,
                      int V, float *dlogits, float gscale) {
    double total = 0;
    for (int r = r0; r < r1; r++) {
        const float *l = logits + (size_t)r * V;
        float wr = w ? w[r] : 1.0f;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (l[i] > mx) mx = l[i];
        double sum = 0;
        for (int i = 0; i < V; i++) sum += expf(l[i] - mx);
        double lse = mx + log(sum);
        if (wr != 0.0f) total += wr * (lse - l[tgt[r]]);
        if (dlogits) {
            float *dl = dlogits + (size_t)r * V;
            float c = wr * gscale;
            if (c == 0.0f) {
                memset(dl, 0, sizeof(float) * (size_t)V);
                continue;
            }
            float inv = (float)(1.0 / sum);
            for (int i = 0; i < V; i++) dl[i] = expf(l[i] - mx) * inv * c;
            dl[tgt[r]] -= c;
        }
    }
    return total;
}

#define TR_MAX_THREADS 256
typedef struct ce_ctx {
    const float *logits, *w;
    const int32_t *tgt;
    int N, V;
    float *dlogits, gscale;
    double part[TR_MAX_THREADS];
} ce_ctx;

static void ce_task(void *v, int ith, int nth) {
    ce_ctx *c = v;
    size_t lo, hi;
    sk_split_range((size_t)c->N, ith, nth, &lo, &hi);
    c->part[ith] = ce_rows(c->logits, c->tgt, c->w, (int)lo, (int)hi, c->V, c->dlogits, c->gscale);
}

double tr_ce(const float *logits, const int32_t *tgt, const float *w, int N, int V, float *dlogits,
             float gscale, sk_pool *pool) {
    if (!pool || sk_pool_size(pool) <= 1 || sk_pool_size(pool) > TR_MAX_THREADS || N < 2)
        return ce_rows(logits, tgt, w, 0, N, V, dlogits, gscale);
    ce_ctx c = {
        .logits = logits, .w = w, .tgt = tgt, .N = N, .V = V, .dlogits = dlogits, .gscale = gscale};
    sk_pool_run(pool, ce_task, &c);
    double total = 0;
    for (int i = 0; i < sk_pool_size(pool); i++) total += c.part[i];
    return total;
}

void tr_route_select(const sk_model_config *c, const float *s, const float *bias, int N,
                     int32_t *sel) {
    int E = c->n_routed, K = c->n_active, G = c->n_group > 1 ? c->n_group : 1;
    int per = E / G;
    float ch[1024];
    float gs[256];
    for (int r = 0; r < N; r++) {
        const float *sr = s + (size_t)r * E;
        for (int e = 0; e < E; e++) ch[e] = sr[e] + (bias ? bias[e] : 0.0f);
        if (G > 1) {
            for (int g = 0; g < G; g++) {
                const float *x = ch + g * per;
                if (bias) {
                    float a = -INFINITY, b = -INFINITY; /* two largest */
                    for (int i = 0; i < per; i++) {
                        if (x[i] > a) {
                            b = a;
                            a = x[i];
                        } else if (x[i] > b) {
                            b = x[i];
                        }
                    }
                    gs[g] = a + b;
                } else {
                    float a = -INFINITY;
                    for (int i = 0; i < per; i++)
                        if (x[i] > a) a = x[i];
                    gs[g] = a;
                }
            }
            bool keep[256] = {0};
            for (int k = 0; k < c->topk_group; k++) {
                int best = -1;
                for (int g = 0; g < G; g++)
                    if (!keep[g] && (best < 0 || gs[g] > gs[best])) best = g;
                keep[best] = true;
            }
            for (int g = 0; g < G; g++)
                if (!keep[g])
                    for (int i = 0; i < per; i++) ch[g * per + i] = -INFINITY;
        }
        int32_t *o = sel + (size_t)r * K;
        for (int k = 0; k < K; k++) {
            int best = -1;
            for (int e = 0; e < E; e++) {
                if (ch[e] == -INFINITY && best >= 0) continue;
                bool taken = false;
                for (int j = 0; j < k; j++)
                    if (o[j] == e) taken = true;
                if (taken) continue;
                if (best < 0 || ch[e] > ch[best]) best = e;
            }
            o[k] = best;
        }
    }
}
