/* kern_scalar.c — the scalar reference of every kernel. Plain C, no intrinsics: the only
 * kernels on CPUs without a SIMD file (neither x86-64 nor aarch64), SEEK_CPU=scalar, and the
 * definition the SIMD files must equal up to the order of float additions.
 *
 * Exact arithmetic of the dot products (w = weight row, x = prepared activation):
 *  - F32/F16/BF16: s = Σ w[i]·x[i] in f32, weights widened exactly to f32.
 *  - F8_E4M3: per 128-column block c, p_c = Σ fp8(w[i])·x[i] (f32); s = Σ_c scale[c]·p_c.
 *  - 32-blocks (x in Q8_0, or Q8_1 for Q4_1/Q5_1), per block b with exact int32 sum
 *    I_b = Σ q_w·q_x, where q_w is the signed weight code (Q8_0: q; Q4_0: q−8; Q5_0: q−16;
 *    IQ4_NL: K[q]; Q4_1/Q5_1: the unsigned code):
 *      s += (d_w·d_x)·I_b                 (+ m_w·s_x for Q4_1/Q5_1; s_x = fp16 d_x·Σq_x)
 *  - K-quants and IQ4_XS (x in Q8_K, d_x f32), per 256-block with exact int32 sums
 *      I = Σ_sub sc_sub · Σ_{i∈sub} q_w·q_x ,  M = Σ_sub mn_sub · Σ_{i∈sub} q_x (via bsums)
 *      s += (d_x·d_w)·I − (d_x·dmin_w)·M    (M only for Q2_K, Q4_K, Q5_K)
 *    with sub-blocks of 16 (Q2_K, Q3_K, Q6_K) or 32 (Q4_K, Q5_K, IQ4_XS); Q3_K codes are
 *    q−4 (high bit clear) or q, Q6_K codes q−32, IQ4_XS K[q] with scale ls−32.
 * Sums over blocks run in block order in one f32 accumulator.
 */
#include "kernels_internal.h"

#include <math.h>
#include <string.h>

/* ---- activation quantizers (see sk_quant_q8_0_fn in kernels_internal.h) ----
 * No libm rounding calls: x·id is clamped first (bounds are integers, so clamping before or
 * after rounding gives the same code), then rounded with exact float steps. These are the
 * results of llama.cpp's reference quantizers (roundf / rintf of the scaled value) wherever
 * the scaled value is not NaN; a NaN value is ignored by the maximum, and a NaN scaled value
 * (a NaN input, or inf·0 when the block holds an infinity) is coded 0. */

/* Clamped to [-128, 127]; NaN → 0. */
static inline float clamp_i8(float v) {
    float c = v > 127.0f ? 127.0f : v;
    c = c < -128.0f ? -128.0f : c;
    return v != v ? 0.0f : c;
}

/* roundf of a clamped value: t = trunc(v) by conversion, v − t is exact. */
static inline int8_t round_away_i8(float v) {
    v = clamp_i8(v);
    int32_t t = (int32_t)v;
    float f = v - (float)t;
    t += (f >= 0.5f) - (f <= -0.5f);
    return (int8_t)t;
}

/* rintf of a clamped value: adding 1.5·2^23 leaves no fraction bits, so the sum is rounded
 * to an integer in the current (nearest-even) mode; subtracting it back is exact. */
static inline int8_t round_even_i8(float v) {
    v = clamp_i8(v);
    float r = v + 12582912.0f; /* not folded away: that needs -ffast-math, never used here */
    r -= 12582912.0f;
    return (int8_t)(int32_t)r;
}

static void quant_q8_0(const float *x, sk_block_q8_0 *y, int16_t *qsum, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) {
            float a = fabsf(x[j]);
            amax = a > amax ? a : amax;
        }
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            y[b].qs[j] = round_away_i8(x[j] * id);
            sum += y[b].qs[j];
        }
        y[b].d = sk_f32_to_fp16(d);
        qsum[b] = (int16_t)sum;
    }
}

static void quant_q8_K(const float *x, sk_block_q8_K *y, int64_t n) {
    for (int64_t b = 0; b < n / 256; b++, x += 256) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 256; j++) {
            float a = fabsf(x[j]);
            if (a > amax) {
                amax = a;
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        float iscale = -127.0f / max;
        for (int j = 0; j < 256; j++) y[b].qs[j] = round_even_i8(iscale * x[j]);
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int i = 0; i < 16; i++) s += y[b].qs[16 * j + i];
            y[b].bsums[j] = (int16_t)s;
        }
        y[b].d = 1.0f / iscale;
    }
}

/* ---- plain types ---- */

static float dot_f32(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const float *a = w, *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static float dot_f16(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_fp16 *a = w;
    const float *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += sk_fp16_to_f32(a[i]) * b[i];
    return s;
}

static float dot_bf16(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_bf16 *a = w;
    const float *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += sk_bf16_to_f32(a[i]) * b[i];
    return s;
}

static float dot_f8(int64_t n, const void *w, const void *x, const float *ws) {
    const uint8_t *a = w;
    const float *b = x;
    float s = 0.0f;
    for (int64_t c0 = 0; c0 < n; c0 += 128) {
        int64_t c1 = c0 + 128 < n ? c0 + 128 : n;
        float p = 0.0f;
        for (int64_t i = c0; i < c1; i++) p += sk_k_fp8_lut[a[i]] * b[i];
        s += ws[c0 / 128] * p;
    }
    return s;
}

/* ---- 32-element blocks ---- */

static float dot_q8_0(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q8_0 *a = w, *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        int32_t I = 0;
        for (int j = 0; j < 32; j++) I += a[ib].qs[j] * b[ib].qs[j];
        s += (sk_k_fp16(a[ib].d) * sk_k_fp16(b[ib].d)) * (float)I;
    }
    return s;
}

static float dot_q4_0(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q4_0 *a = w;
    const sk_block_q8_0 *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        int32_t I = 0;
        for (int j = 0; j < 16; j++) {
            I += ((a[ib].qs[j] & 0xF) - 8) * b[ib].qs[j];
            I += ((a[ib].qs[j] >> 4) - 8) * b[ib].qs[j + 16];
        }
        s += (sk_k_fp16(a[ib].d) * sk_k_fp16(b[ib].d)) * (float)I;
    }
    return s;
}

static float dot_iq4_nl(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_iq4_nl *a = w;
    const sk_block_q8_0 *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        int32_t I = 0;
        for (int j = 0; j < 16; j++) {
            I += sk_iq4nl_values[a[ib].qs[j] & 0xF] * b[ib].qs[j];
            I += sk_iq4nl_values[a[ib].qs[j] >> 4] * b[ib].qs[j + 16];
        }
        s += (sk_k_fp16(a[ib].d) * sk_k_fp16(b[ib].d)) * (float)I;
    }
    return s;
}

static float dot_q4_1(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q4_1 *a = w;
    const sk_block_q8_1 *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        int32_t I = 0;
        for (int j = 0; j < 16; j++) {
            I += (a[ib].qs[j] & 0xF) * b[ib].qs[j];
            I += (a[ib].qs[j] >> 4) * b[ib].qs[j + 16];
        }
        s += (sk_k_fp16(a[ib].d) * sk_k_fp16(b[ib].d)) * (float)I +
             sk_k_fp16(a[ib].m) * sk_k_fp16(b[ib].s);
    }
    return s;
}

static inline uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static float dot_q5_0(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q5_0 *a = w;
    const sk_block_q8_0 *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        uint32_t h = le32(a[ib].qh);
        int32_t I = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (a[ib].qs[j] & 0xF) | (int)(((h >> j) & 1) << 4);
            int hi = (a[ib].qs[j] >> 4) | (int)(((h >> (j + 16)) & 1) << 4);
            I += (lo - 16) * b[ib].qs[j] + (hi - 16) * b[ib].qs[j + 16];
        }
        s += (sk_k_fp16(a[ib].d) * sk_k_fp16(b[ib].d)) * (float)I;
    }
    return s;
}

static float dot_q5_1(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q5_1 *a = w;
    const sk_block_q8_1 *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 32; ib++) {
        uint32_t h = le32(a[ib].qh);
        int32_t I = 0;
        for (int j = 0; j < 16; j++) {
            int lo = (a[ib].qs[j] & 0xF) | (int)(((h >> j) & 1) << 4);
            int hi = (a[ib].qs[j] >> 4) | (int)(((h >> (j + 16)) & 1) << 4);
            I += lo * b[ib].qs[j] + hi * b[ib].qs[j + 16];
        }
        s += (sk_k_fp16(a[ib].d) * sk_k_fp16(b[ib].d)) * (float)I +
             sk_k_fp16(a[ib].m) * sk_k_fp16(b[ib].s);
    }
    return s;
}

/* ---- 256-element blocks (activation Q8_K). Element e of a block: see sk_tensor.h and the
 * spec §4; the index formulas below are the decode loops written per element. ---- */

static float dot_q2_K(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q2_K *a = w;
    const sk_block_q8_K *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 256; ib++) {
        int32_t I = 0, M = 0;
        for (int sb = 0; sb < 16; sb++) {
            int32_t t = 0;
            for (int k = 0; k < 16; k++) {
                int e = sb * 16 + k;
                int byte = 32 * (e / 128) + e % 32, shift = 2 * ((e % 128) / 32);
                t += ((a[ib].qs[byte] >> shift) & 3) * b[ib].qs[e];
            }
            I += (a[ib].scales[sb] & 0xF) * t;
            M += (a[ib].scales[sb] >> 4) * b[ib].bsums[sb];
        }
        s += (b[ib].d * sk_k_fp16(a[ib].d)) * (float)I -
             (b[ib].d * sk_k_fp16(a[ib].dmin)) * (float)M;
    }
    return s;
}

static float dot_q3_K(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q3_K *a = w;
    const sk_block_q8_K *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 256; ib++) {
        int8_t sc[16];
        sk_k_q3_scales(a[ib].scales, sc);
        int32_t I = 0;
        for (int sb = 0; sb < 16; sb++) {
            int32_t t = 0;
            for (int k = 0; k < 16; k++) {
                int e = sb * 16 + k;
                int l = e % 32, half = e / 128, j = (e % 128) / 32;
                int q = (a[ib].qs[32 * half + l] >> (2 * j)) & 3;
                int hbit = (a[ib].hmask[l] >> (4 * half + j)) & 1;
                t += (q - (hbit ? 0 : 4)) * b[ib].qs[e];
            }
            I += sc[sb] * t;
        }
        s += (b[ib].d * sk_k_fp16(a[ib].d)) * (float)I;
    }
    return s;
}

static float dot_q4_K(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q4_K *a = w;
    const sk_block_q8_K *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 256; ib++) {
        int32_t I = 0, M = 0;
        for (int sb = 0; sb < 8; sb++) {
            uint8_t sc, mn;
            sk_k_scale_min(sb, a[ib].scales, &sc, &mn);
            int32_t t = 0;
            for (int k = 0; k < 32; k++) {
                int e = sb * 32 + k;
                uint8_t byte = a[ib].qs[32 * (e / 64) + k];
                int q = (sb & 1) ? byte >> 4 : byte & 0xF;
                t += q * b[ib].qs[e];
            }
            I += sc * t;
            M += mn * (b[ib].bsums[2 * sb] + b[ib].bsums[2 * sb + 1]);
        }
        s += (b[ib].d * sk_k_fp16(a[ib].d)) * (float)I -
             (b[ib].d * sk_k_fp16(a[ib].dmin)) * (float)M;
    }
    return s;
}

static float dot_q5_K(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q5_K *a = w;
    const sk_block_q8_K *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 256; ib++) {
        int32_t I = 0, M = 0;
        for (int sb = 0; sb < 8; sb++) {
            uint8_t sc, mn;
            sk_k_scale_min(sb, a[ib].scales, &sc, &mn);
            int32_t t = 0;
            for (int k = 0; k < 32; k++) {
                int e = sb * 32 + k;
                uint8_t byte = a[ib].qs[32 * (e / 64) + k];
                int q = (sb & 1) ? byte >> 4 : byte & 0xF;
                q += ((a[ib].qh[k] >> sb) & 1) << 4;
                t += q * b[ib].qs[e];
            }
            I += sc * t;
            M += mn * (b[ib].bsums[2 * sb] + b[ib].bsums[2 * sb + 1]);
        }
        s += (b[ib].d * sk_k_fp16(a[ib].d)) * (float)I -
             (b[ib].d * sk_k_fp16(a[ib].dmin)) * (float)M;
    }
    return s;
}

static float dot_q6_K(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q6_K *a = w;
    const sk_block_q8_K *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 256; ib++) {
        int32_t I = 0;
        for (int sb = 0; sb < 16; sb++) {
            int32_t t = 0;
            for (int k = 0; k < 16; k++) {
                int e = sb * 16 + k;
                int half = e / 128, r = e % 128, quarter = r / 32, l = r % 32;
                const uint8_t *ql = a[ib].ql + 64 * half, *qh = a[ib].qh + 32 * half;
                int lo = (quarter & 1) ? ql[l + 32] : ql[l];
                lo = quarter >= 2 ? lo >> 4 : lo & 0xF;
                int hi = (qh[l] >> (2 * quarter)) & 3;
                t += ((lo | (hi << 4)) - 32) * b[ib].qs[e];
            }
            I += a[ib].scales[sb] * t;
        }
        s += (b[ib].d * sk_k_fp16(a[ib].d)) * (float)I;
    }
    return s;
}

static float dot_iq4_xs(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_iq4_xs *a = w;
    const sk_block_q8_K *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 256; ib++) {
        int32_t I = 0;
        for (int sb = 0; sb < 8; sb++) {
            int ls = ((a[ib].scales_l[sb / 2] >> (4 * (sb % 2))) & 0xF) |
                     (((a[ib].scales_h >> (2 * sb)) & 3) << 4);
            const uint8_t *q = a[ib].qs + 16 * sb;
            const int8_t *y = b[ib].qs + 32 * sb;
            int32_t t = 0;
            for (int j = 0; j < 16; j++)
                t += sk_iq4nl_values[q[j] & 0xF] * y[j] + sk_iq4nl_values[q[j] >> 4] * y[j + 16];
            I += (ls - 32) * t;
        }
        s += (b[ib].d * sk_k_fp16(a[ib].d)) * (float)I;
    }
    return s;
}

/* ---- vector ops ---- */

static float s_vec_dot(const float *a, const float *b, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
static void s_vec_add(float *y, const float *a, const float *b, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}
static void s_vec_mad(float *y, const float *x, float s, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += s * x[i];
}
static void s_attn_dots(const float *q, const float *k, size_t ld, int64_t n, int64_t d,
                        float *out) {
    for (int64_t s = 0; s < n; s++) out[s] = s_vec_dot(q, k + (size_t)s * ld, d);
}
static void s_attn_mix(float *o, const float *v, size_t ld, const float *p, int64_t n, int64_t d) {
    for (int64_t s = 0; s < n; s++) s_vec_mad(o, v + (size_t)s * ld, p[s], d);
}
static void s_vec_scale(float *y, float s, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] *= s;
}
static float s_sumsq(const float *x, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += x[i] * x[i];
    return s;
}
static void s_mul_scale(float *y, const float *x, const float *w, float s, int64_t n) {
    if (w)
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * s * w[i];
    else
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * s;
}
static float s_vec_max(const float *x, int64_t n) {
    float m = -INFINITY;
    for (int64_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}
static float s_exp_sub_sum(float *x, float m, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - m);
        s += x[i];
    }
    return s;
}
static void s_silu(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i]));
}
static void s_swiglu(float *out, const float *g, const float *u, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}
static void s_sigmoid(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + expf(-x[i]));
}

static uint64_t s_read_sum(const void *p, size_t bytes) {
    const uint64_t *q = p;
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (size_t i = 0; i < bytes / 8; i += 4) {
        a0 += q[i];
        a1 ^= q[i + 1];
        a2 += q[i + 2];
        a3 ^= q[i + 3];
    }
    return a0 ^ a1 ^ a2 ^ a3;
}

void sk_kfuncs_fill_scalar(sk_kfuncs *f) {
    f->dot[SK_KT_F32] = dot_f32;
    f->dot[SK_KT_F16] = dot_f16;
    f->dot[SK_KT_BF16] = dot_bf16;
    f->dot[SK_KT_F8] = dot_f8;
    f->dot[SK_KT_Q8_0] = dot_q8_0;
    f->dot[SK_KT_Q4_0] = dot_q4_0;
    f->dot[SK_KT_Q4_1] = dot_q4_1;
    f->dot[SK_KT_Q5_0] = dot_q5_0;
    f->dot[SK_KT_Q5_1] = dot_q5_1;
    f->dot[SK_KT_IQ4_NL] = dot_iq4_nl;
    f->dot[SK_KT_Q2_K] = dot_q2_K;
    f->dot[SK_KT_Q3_K] = dot_q3_K;
    f->dot[SK_KT_Q4_K] = dot_q4_K;
    f->dot[SK_KT_Q5_K] = dot_q5_K;
    f->dot[SK_KT_Q6_K] = dot_q6_K;
    f->dot[SK_KT_IQ4_XS] = dot_iq4_xs;
    for (int i = 0; i < SK_KT_COUNT; i++) f->dot4[i] = NULL, f->gemm4[i] = NULL;
    f->vec_dot_f32 = s_vec_dot;
    f->vec_add = s_vec_add;
    f->vec_mad = s_vec_mad;
    f->vec_scale = s_vec_scale;
    f->sumsq = s_sumsq;
    f->mul_scale = s_mul_scale;
    f->vec_max = s_vec_max;
    f->exp_sub_sum = s_exp_sub_sum;
    f->silu = s_silu;
    f->swiglu = s_swiglu;
    f->sigmoid = s_sigmoid;
    f->read_sum = s_read_sum;
    f->quant_q8_0 = quant_q8_0;
    f->quant_q8_K = quant_q8_K;
    f->attn_dots = s_attn_dots;
    f->attn_mix = s_attn_mix;
}
