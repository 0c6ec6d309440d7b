/* ops.c — the public vector ops (dispatched through the active table), top-k, RoPE and the
 * RoPE frequency helpers (computed in double from the published formulas, stored as f32). */
#include "kernels_internal.h"

#include <math.h>
#include <stdlib.h>

float sk_vec_dot_f32(const float *a, const float *b, int64_t n) {
    return sk_kfuncs_active()->vec_dot_f32(a, b, n);
}
void sk_vec_add(float *y, const float *a, const float *b, int64_t n) {
    sk_kfuncs_active()->vec_add(y, a, b, n);
}
void sk_vec_mad(float *y, const float *x, float s, int64_t n) {
    sk_kfuncs_active()->vec_mad(y, x, s, n);
}
void sk_vec_scale(float *y, float s, int64_t n) {
    sk_kfuncs_active()->vec_scale(y, s, n);
}
void sk_attn_dots(const float *q, const float *k, size_t ld, int64_t n, int64_t d, float *out) {
    sk_kfuncs_active()->attn_dots(q, k, ld, n, d, out);
}
void sk_attn_mix(float *o, const float *v, size_t ld, const float *p, int64_t n, int64_t d) {
    sk_kfuncs_active()->attn_mix(o, v, ld, p, n, d);
}

int64_t sk_argmax(const float *x, int64_t n) {
    int64_t best = 0;
    if (n <= 0) return 0;
    float m = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > m) {
            m = x[i];
            best = i;
        }
    return best;
}

void sk_rmsnorm(float *y, const float *x, const float *w, int64_t n, float eps) {
    const sk_kfuncs *f = sk_kfuncs_active();
    if (n <= 0) return;
    float ss = f->sumsq(x, n);
    float r = 1.0f / sqrtf(ss / (float)n + eps);
    f->mul_scale(y, x, w, r, n);
}

void sk_softmax(float *x, int64_t n) {
    const sk_kfuncs *f = sk_kfuncs_active();
    if (n <= 0) return;
    float m = f->vec_max(x, n);
    float s = f->exp_sub_sum(x, m, n);
    f->vec_scale(x, 1.0f / s, n);
}

float sk_softmax_online(float *x, int64_t n, float *m, float *l) {
    const sk_kfuncs *f = sk_kfuncs_active();
    if (n <= 0) return 1.0f;
    float bm = f->vec_max(x, n), nm = bm > *m ? bm : *m;
    float r = nm == *m ? 1.0f : expf(*m - nm); /* the first block: exp(-inf) = 0 */
    float s = f->exp_sub_sum(x, nm, n);
    *l = *l * r + s;
    *m = nm;
    return r;
}

void sk_silu(float *x, int64_t n) {
    sk_kfuncs_active()->silu(x, n);
}
void sk_swiglu(float *out, const float *gate, const float *up, int64_t n) {
    sk_kfuncs_active()->swiglu(out, gate, up, n);
}
void sk_sigmoid(float *x, int64_t n) {
    sk_kfuncs_active()->sigmoid(x, n);
}

/* Keeps the k best seen so far sorted (largest first, equal values by index); a new value
 * enters only if strictly larger than the current k-th, so among ties the lower index wins. */
void sk_topk(const float *x, int64_t n, int64_t k, int32_t *idx) {
    if (k <= 0) return;
    if (k > n) k = n;
    int64_t cnt = 0;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        if (cnt == k && !(v > x[idx[k - 1]])) continue;
        int64_t pos = cnt < k ? cnt : k - 1;
        while (pos > 0 && v > x[idx[pos - 1]]) {
            idx[pos] = idx[pos - 1];
            pos--;
        }
        idx[pos] = (int32_t)i;
        if (cnt < k) cnt++;
    }
}

/* ---- RoPE ---- */

void sk_rope(float *x, int64_t n_heads, int64_t stride, int dim, float pos, const float *freqs,
             sk_rope_mode mode) {
    int half = dim / 2;
    float cs[256], sn[256];
    for (int i0 = 0; i0 < half; i0 += 256) {
        int i1 = i0 + 256 < half ? i0 + 256 : half;
        for (int i = i0; i < i1; i++) {
            float a = pos * freqs[i];
            cs[i - i0] = cosf(a);
            sn[i - i0] = sinf(a);
        }
        for (int64_t h = 0; h < n_heads; h++) {
            float *v = x + h * stride;
            for (int i = i0; i < i1; i++) {
                int a = mode == SK_ROPE_NEOX ? i : 2 * i;
                int b = mode == SK_ROPE_NEOX ? i + half : 2 * i + 1;
                float x0 = v[a], x1 = v[b], c = cs[i - i0], s = sn[i - i0];
                v[a] = x0 * c - x1 * s;
                v[b] = x0 * s + x1 * c;
            }
        }
    }
}

void sk_rope_freqs_plain(float *freqs, int dim, float theta) {
    for (int i = 0; i < dim / 2; i++) freqs[i] = (float)pow((double)theta, -2.0 * i / dim);
}

static double yarn_corr_dim(int dim, double theta, int orig_ctx, double beta) {
    return dim * log((double)orig_ctx / (beta * 2.0 * M_PI)) / (2.0 * log(theta));
}

void sk_rope_freqs_yarn(float *freqs, int dim, float theta, float factor, int orig_ctx,
                        float beta_fast, float beta_slow) {
    double lo = floor(yarn_corr_dim(dim, theta, orig_ctx, beta_fast));
    double hi = ceil(yarn_corr_dim(dim, theta, orig_ctx, beta_slow));
    if (lo < 0) lo = 0;
    if (hi > dim - 1) hi = dim - 1;
    double span = hi - lo == 0 ? 0.001 : hi - lo;
    for (int i = 0; i < dim / 2; i++) {
        double f = pow((double)theta, -2.0 * i / dim);
        double r = (i - lo) / span;
        r = r < 0 ? 0 : r > 1 ? 1 : r;
        freqs[i] = (float)(f * (1.0 - r) + f / factor * r);
    }
}

void sk_rope_freqs_llama3(float *freqs, int dim, float theta, float factor, float low, float high,
                          int orig_ctx) {
    double lo_wl = (double)orig_ctx / low, hi_wl = (double)orig_ctx / high;
    for (int i = 0; i < dim / 2; i++) {
        double f = pow((double)theta, -2.0 * i / dim);
        double wl = 2.0 * M_PI / f, g;
        if (wl < hi_wl)
            g = f;
        else if (wl > lo_wl)
            g = f / factor;
        else {
            double sm = ((double)orig_ctx / wl - low) / ((double)high - low);
            g = (1.0 - sm) * f / factor + sm * f;
        }
        freqs[i] = (float)g;
    }
}
