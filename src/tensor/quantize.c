/* quantize.c — the encoders (see sk_tensor.h): one scalar reference per type, plus dispatch of
 * the costly scale searches to the bit-identical AVX2 lane versions in quantize_avx2.c.
 *
 * Each encoder produces the same bytes as llama.cpp's quantizer without an importance matrix
 * (what `llama-quantize` writes by default: ggml_quantize_chunk → quantize_row_*_ref for the
 * legacy and k-quant types, the 7-step search of quantize_iq4_nl/_xs for IQ4). The algorithms are
 * the published ones; being bit-exact means reproducing every float operation in the same order,
 * with no fused multiply-add, and reproducing x86's float→int conversions (truncation; NaN and
 * out-of-range values give INT32_MIN) where the C casts would otherwise be undefined.
 *
 * Every block is encoded independently of the others, so rows may be encoded in any order or in
 * parallel (sk_quant_rows) with identical results.
 */
#include "quant_internal.h"

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

#define GROUP_MAX_EPS 1e-15f

/* float → int32 exactly as x86 cvttss2si: truncation toward zero, INT32_MIN when invalid. */
static inline int32_t cvtt_i32(float v) {
    if (!(v >= -2147483648.0f && v < 2147483648.0f)) return INT32_MIN;
    return (int32_t)v;
}
/* Low byte of that conversion: what `(int8_t)f` / `(uint8_t)f` give on x86. */
static inline int cvtt_i8(float v) {
    return (int8_t)(uint8_t)((uint32_t)cvtt_i32(v) & 0xFF);
}
static inline int cvtt_u8(float v) {
    return (uint8_t)((uint32_t)cvtt_i32(v) & 0xFF);
}

/* Round to nearest, ties to even, by adding 1.5*2^23 and reading the mantissa (valid for
 * |f| < 2^22; other inputs give a deterministic garbage value, as in llama.cpp). */
static inline int nearest_int(float f) {
    float v = f + 12582912.f;
    int32_t i;
    memcpy(&i, &v, sizeof i);
    return (i & 0x007fffff) - 0x00400000;
}

static inline int imin(int a, int b) {
    return a < b ? a : b;
}
static inline int imax(int a, int b) {
    return a > b ? a : b;
}
static inline int clampi(int v, int lo, int hi) {
    return imax(lo, imin(hi, v));
}

/* The AVX2 code (quantize_avx2.c: lane-parallel fits, Q8_0) gives the same bytes as the scalar
 * code; the switch exists so tests and benchmarks can compare the two. */
static _Atomic int g_simd = 1;

bool sk_quant_set_simd(bool enable) {
    return atomic_exchange(&g_simd, enable ? 1 : 0) != 0;
}

static bool use_avx2(void) {
    static _Atomic int has = -1;
    int h = atomic_load(&has);
    if (h < 0) atomic_store(&has, h = sk_quant_cpu_has_avx2() ? 1 : 0);
    return h && atomic_load(&g_simd);
}

bool sk_quant_simd_active(void) {
    return use_avx2();
}

/* ---- plain types ---- */

static void q_f32(const float *x, void *dst, int64_t n) {
    memcpy(dst, x, (size_t)n * sizeof(float));
}

static void q_f16(const float *x, void *dst, int64_t n) {
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++) {
        sk_fp16 h = sk_f32_to_fp16(x[i]);
        memcpy(p + 2 * i, &h, 2);
    }
}

static void q_bf16(const float *x, void *dst, int64_t n) {
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++) {
        sk_bf16 h = sk_f32_to_bf16(x[i]);
        memcpy(p + 2 * i, &h, 2);
    }
}

/* ---- 32-element legacy blocks ---- */

/* The element of largest magnitude, with its sign (the first one on ties). */
static float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++)
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    return max;
}

static void min_max(const float *x, int n, float *mn, float *mx) {
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *mn = lo;
    *mx = hi;
}

/* Q8_0: d = absmax/127, q = round-half-away(x/d). */
static void q_q8_0(const float *x, void *dst, int64_t n) {
    sk_block_q8_0 *y = dst;
#if SK_QUANT_HAVE_AVX2
    if (use_avx2()) {
        sk_q8_0_avx2(x, dst, n / 32);
        return;
    }
#endif
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
        const float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        y[i].d = sk_f32_to_fp16(d);
        for (int j = 0; j < 32; j++) y[i].qs[j] = (int8_t)cvtt_i8(roundf(x[j] * id));
    }
}

/* Q8_1: as Q8_0, plus s = d * sum(q). */
static void q_q8_1(const float *x, void *dst, int64_t n) {
    sk_block_q8_1 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = amax > fabsf(x[j]) ? amax : fabsf(x[j]);
        const float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        y[i].d = sk_f32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < 16; j++) {
            y[i].qs[j] = (int8_t)cvtt_i8(roundf(x[j] * id));
            y[i].qs[j + 16] = (int8_t)cvtt_i8(roundf(x[j + 16] * id));
            sum += y[i].qs[j] + y[i].qs[j + 16];
        }
        y[i].s = sk_f32_to_fp16((float)sum * d);
    }
}

/* Q4_0: d = max/-8 (max = the signed value of largest magnitude, which thus maps to -8),
 * q = min(15, trunc(x/d + 8.5)). */
static void q_q4_0(const float *x, void *dst, int64_t n) {
    sk_block_q4_0 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        const float d = signed_absmax(x, 32) / -8, id = d ? 1.0f / d : 0.0f;
        y[i].d = sk_f32_to_fp16(d);
        for (int j = 0; j < 16; j++) {
            const uint8_t q0 = (uint8_t)imin(15, cvtt_i8(x[j] * id + 8.5f));
            const uint8_t q1 = (uint8_t)imin(15, cvtt_i8(x[j + 16] * id + 8.5f));
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

/* Q4_1: d = (max-min)/15, m = min, q = min(15, trunc((x-min)/d + 0.5)). */
static void q_q4_1(const float *x, void *dst, int64_t n) {
    sk_block_q4_1 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float mn, mx;
        min_max(x, 32, &mn, &mx);
        const float d = (mx - mn) / 15, id = d ? 1.0f / d : 0.0f;
        y[i].d = sk_f32_to_fp16(d);
        y[i].m = sk_f32_to_fp16(mn);
        for (int j = 0; j < 16; j++) {
            const uint8_t q0 = (uint8_t)imin(15, cvtt_i8((x[j] - mn) * id + 0.5f));
            const uint8_t q1 = (uint8_t)imin(15, cvtt_i8((x[j + 16] - mn) * id + 0.5f));
            y[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

/* Q5_0: d = max/-16, q = min(31, trunc(x/d + 16.5)); bit 4 of element j goes to bit j of qh. */
static void q_q5_0(const float *x, void *dst, int64_t n) {
    sk_block_q5_0 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        const float d = signed_absmax(x, 32) / -16, id = d ? 1.0f / d : 0.0f;
        y[i].d = sk_f32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            const uint8_t q0 = (uint8_t)imin(31, cvtt_i8(x[j] * id + 16.5f));
            const uint8_t q1 = (uint8_t)imin(31, cvtt_i8(x[j + 16] * id + 16.5f));
            y[i].qs[j] = (uint8_t)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= (uint32_t)((q0 >> 4) & 1) << j;
            qh |= (uint32_t)((q1 >> 4) & 1) << (j + 16);
        }
        memcpy(y[i].qh, &qh, 4);
    }
}

/* Q5_1: d = (max-min)/31, m = min, q = trunc((x-min)/d + 0.5) (no clamp, as the reference). */
static void q_q5_1(const float *x, void *dst, int64_t n) {
    sk_block_q5_1 *y = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float mn, mx;
        min_max(x, 32, &mn, &mx);
        const float d = (mx - mn) / 31, id = d ? 1.0f / d : 0.0f;
        y[i].d = sk_f32_to_fp16(d);
        y[i].m = sk_f32_to_fp16(mn);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            const uint8_t q0 = (uint8_t)cvtt_u8((x[j] - mn) * id + 0.5f);
            const uint8_t q1 = (uint8_t)cvtt_u8((x[j + 16] - mn) * id + 0.5f);
            y[i].qs[j] = (uint8_t)((q0 & 0x0F) | ((q1 & 0x0F) << 4));
            qh |= (uint32_t)((q0 >> 4) & 1) << j;
            qh |= (uint32_t)((q1 >> 4) & 1) << (j + 16);
        }
        memcpy(y[i].qh, &qh, 4);
    }
}

/* ---- IQ4_NL / IQ4_XS: the non-linear 4-bit codebook ---- */

/* Index of the codebook entry nearest to v (the upper one on exact ties). */
static int best_index_iq4(float v) {
    const int8_t *k = sk_iq4nl_values;
    if (v <= k[0]) return 0;
    if (v >= k[15]) return 15;
    int lo = 0, hi = 15;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (v < k[mid])
            hi = mid;
        else
            lo = mid;
    }
    return v - k[hi - 1] < k[hi] - v ? hi - 1 : hi;
}

/* Best scale for one 32-element block: start from d = max/K[0]; then try the 15 scales that map
 * max onto K[0]+t, t = -7..7, keeping the weighted least-squares scale with the largest
 * sumqx²/sumq2 (weights x²). Returns 0 for an (almost) all-zero block. */
static float iq4_block_scale(const float *x) {
    const int ntry = 7;
    float amax = 0, max = 0;
    for (int j = 0; j < 32; j++)
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    if (amax < GROUP_MAX_EPS) return 0;
    const float k0 = (float)sk_iq4nl_values[0];
    float d = -max / k0, id = 1 / d, sumqx = 0, sumq2 = 0;
    for (int j = 0; j < 32; j++) {
        const float q = (float)sk_iq4nl_values[best_index_iq4(id * x[j])], w = x[j] * x[j];
        sumqx += w * q * x[j];
        sumq2 += w * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -ntry; itry <= ntry; itry++) {
        id = (float)(itry + sk_iq4nl_values[0]) / max;
        sumqx = sumq2 = 0;
        for (int j = 0; j < 32; j++) {
            const float q = (float)sk_iq4nl_values[best_index_iq4(id * x[j])], w = x[j] * x[j];
            sumqx += w * q * x[j];
            sumq2 += w * q * q;
        }
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

/* Packs 32 indices: element j in the low nibble of byte j, element j+16 in the high nibble. */
static void pack_nibbles32(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < 16; j++) qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
}

/* Best scales of nblk consecutive 32-element blocks (8 at a time in AVX2 lanes when possible). */
static void iq4_scales(const float *x, int nblk, float *d) {
    int b = 0;
#if SK_QUANT_HAVE_AVX2
    if (use_avx2()) {
        float xt[256];
        for (; b + 8 <= nblk; b += 8) {
            for (int j = 0; j < 8; j++)
                for (int i = 0; i < 32; i++) xt[8 * i + j] = x[32 * (b + j) + i];
            sk_iq4_scale_x8_avx2(xt, d + b);
        }
    }
#endif
    for (; b < nblk; b++) d[b] = iq4_block_scale(x + 32 * b);
}

/* Codebook indices of x*id[b] for nblk consecutive 32-element blocks: L[32*b + i]. */
static void iq4_indices(const float *x, int nblk, const float *id, uint8_t *L) {
    int b = 0;
#if SK_QUANT_HAVE_AVX2
    if (use_avx2()) {
        float xt[256];
        uint8_t Lt[256];
        for (; b + 8 <= nblk; b += 8) {
            for (int j = 0; j < 8; j++)
                for (int i = 0; i < 32; i++) xt[8 * i + j] = x[32 * (b + j) + i];
            sk_iq4_index_x8_avx2(xt, id + b, Lt);
            for (int j = 0; j < 8; j++)
                for (int i = 0; i < 32; i++) L[32 * (b + j) + i] = Lt[8 * i + j];
        }
    }
#endif
    for (; b < nblk; b++)
        for (int i = 0; i < 32; i++) L[32 * b + i] = (uint8_t)best_index_iq4(id[b] * x[32 * b + i]);
}

/* IQ4_NL {f16 d; u8 qs[16]}: d = the block's best scale; x → nearest K[i] of x/d.
 * Blocks go 8 at a time (independent, so the grouping changes nothing). */
static void q_iq4_nl(const float *x, void *dst, int64_t n) {
    sk_block_iq4_nl *y = dst;
    const int64_t nb = n / 32;
    for (int64_t i = 0; i < nb; i += 8, x += 256) {
        const int m = nb - i < 8 ? (int)(nb - i) : 8;
        float d[8], id[8];
        uint8_t L[256];
        iq4_scales(x, m, d);
        for (int b = 0; b < m; b++) {
            y[i + b].d = sk_f32_to_fp16(d[b]);
            id[b] = d[b] ? 1 / d[b] : 0;
        }
        iq4_indices(x, m, id, L);
        for (int b = 0; b < m; b++) pack_nibbles32(L + 32 * b, y[i + b].qs);
    }
}

/* IQ4_XS {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}: per 32-element sub-block a best scale;
 * super-scale d = -max_scale/32 (max_scale = the sub-scale of largest magnitude), 6-bit sub-scales
 * l = round(scale/d) in [-32, 31] stored as l+32. */
static void q_iq4_xs(const float *x, void *dst, int64_t n) {
    sk_block_iq4_xs *y = dst;
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        float scales[8], idl[8], max_scale = 0, amax_scale = 0;
        iq4_scales(x, 8, scales);
        for (int ib = 0; ib < 8; ib++)
            if (fabsf(scales[ib]) > amax_scale) {
                amax_scale = fabsf(scales[ib]);
                max_scale = scales[ib];
            }
        const float d = -max_scale / 32, id = d ? 1 / d : 0.f;
        y[i].d = sk_f32_to_fp16(d);
        uint16_t sh = 0;
        memset(y[i].scales_l, 0, 4);
        for (int ib = 0; ib < 8; ib++) {
            int l = clampi(nearest_int(id * scales[ib]), -32, 31);
            const float dl = d * (float)l;
            idl[ib] = dl ? 1 / dl : 0.f;
            l += 32;
            y[i].scales_l[ib / 2] |= (uint8_t)((l & 0xF) << (4 * (ib % 2)));
            sh |= (uint16_t)((l >> 4) << (2 * ib));
        }
        y[i].scales_h = sh;
        uint8_t L[256];
        iq4_indices(x, 8, idl, L);
        for (int ib = 0; ib < 8; ib++) pack_nibbles32(L + 32 * ib, y[i].qs + 16 * ib);
    }
}

/* ---- k-quant helpers ---- */

/* Signed symmetric levels in [-nmax, nmax-1] for n values (Q6_K: nmax 32), weights x²: the scale
 * -nmax/max, then 18 nearby scales -(nmax + 0.1 t)/max, t = ±1..±9, keeping the least-squares
 * fit with the best sumlx²/suml2. L gets level + nmax; returns the scale. */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float iscale = -(float)nmax / max, sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        const int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)(l + nmax);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            const int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
            const float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++)
                L[i] = (int8_t)(nmax + clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1));
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* Signed levels in [-nmax, nmax-1] (Q3_K: nmax 4) with up to 5 rounds of coordinate descent on
 * the weighted (x²) error. L gets level + nmax; returns the scale. */
static float make_q3_quants(int n, int nmax, const float *x, int8_t *L) {
    float max = 0, amax = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    const float iscale = -(float)nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        const int l = clampi(nearest_int(iscale * x[i]), -nmax, nmax - 1);
        L[i] = (int8_t)l;
        const float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    for (int itry = 0; itry < 5; itry++) {
        int n_changed = 0;
        for (int i = 0; i < n; i++) {
            const float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * (float)L[i];
            if (slx > 0) {
                float sl2 = suml2 - w * (float)L[i] * (float)L[i];
                const int new_l = clampi(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
                if (new_l != L[i]) {
                    slx += w * x[i] * (float)new_l;
                    sl2 += w * (float)new_l * (float)new_l;
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        n_changed++;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Affine levels x ≈ scale*l - the_min, l in [0, nmax], min ≤ 0: starts from the full range, then
 * tries nstep+1 scales (rmin + rdelta*is + nmax)/(max-min), each refit by weighted least squares
 * for scale and min, keeping the lowest weighted error (squared, or absolute if use_mad). */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                              float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep,
                              bool use_mad) {
    float min = x[0], max = x[0], sum_w = weights[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        sum_w += weights[i];
        sum_x += weights[i] * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.f;
    }
    float iscale = (float)nmax / (max - min), scale = 1 / iscale, best_error = 0;
    for (int i = 0; i < n; i++) {
        L[i] = (uint8_t)clampi(nearest_int(iscale * (x[i] - min)), 0, nmax);
        float diff = scale * (float)L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error += weights[i] * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            const int l = clampi(nearest_int(iscale * (x[i] - min)), 0, nmax);
            Laux[i] = (uint8_t)l;
            const float w = weights[i];
            sum_l += w * (float)l;
            sum_l2 += w * (float)l * (float)l;
            sum_xl += w * (float)l * x[i];
        }
        const float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * (float)Laux[i] + this_min - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur_error += weights[i] * diff;
            }
            if (cur_error < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* make_qkx2_quants on nsub consecutive sub-blocks of n elements (weights alongside x), eight at a
 * time in AVX2 lanes when possible: L[n*j + i], scales[j], mins[j]. */
static void fit_qkx2(const float *x, const float *weights, int nsub, int n, int nmax, float rmin,
                     float rdelta, int nstep, bool use_mad, uint8_t *L, float *scales,
                     float *mins) {
    int j0 = 0;
#if SK_QUANT_HAVE_AVX2
    if (use_avx2()) {
        float xt[256], wt[256];
        uint8_t Lt[256];
        for (; j0 + 8 <= nsub; j0 += 8) {
            for (int j = 0; j < 8; j++)
                for (int i = 0; i < n; i++) {
                    xt[8 * i + j] = x[n * (j0 + j) + i];
                    wt[8 * i + j] = weights[n * (j0 + j) + i];
                }
            sk_qkx2_x8_avx2(xt, wt, n, nmax, rmin, rdelta, nstep, use_mad, Lt, scales + j0,
                            mins + j0);
            for (int j = 0; j < 8; j++)
                for (int i = 0; i < n; i++) L[n * (j0 + j) + i] = Lt[8 * i + j];
        }
    }
#endif
    uint8_t Laux[32];
    for (int j = j0; j < nsub; j++)
        scales[j] = make_qkx2_quants(n, nmax, x + n * j, weights + n * j, L + n * j, &mins[j], Laux,
                                     rmin, rdelta, nstep, use_mad);
}

/* Packs 256 2-bit values: byte l of group g (32 bytes per 128 elements) holds elements
 * 128g + l, +32, +64, +96 at shifts 0, 2, 4, 6. */
static void pack_2bit(const uint8_t *L, uint8_t *qs) {
    for (int j = 0; j < 256; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                      (L[j + l + 96] << 6));
}

/* ---- k-quants ---- */

/* Q2_K: 16 sub-blocks of 16 fitted by make_qkx2_quants (levels 0..3, MAD error, weights |x|);
 * their scales and mins are quantized to 4 bits against d = max_scale/15, dmin = max_min/15, then
 * the levels are recomputed with the stored scales. */
static void q_q2_K(const float *x, void *dst, int64_t n) {
    sk_block_q2_K *y = dst;
    const float q4scale = 15.f;
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        uint8_t L[256];
        float weights[256], mins[16], scales[16], max_scale = 0, max_min = 0;
        for (int l = 0; l < 256; l++) weights[l] = fabsf(x[l]);
        fit_qkx2(x, weights, 16, 16, 3, -0.5f, 0.1f, 15, true, L, scales, mins);
        for (int j = 0; j < 16; j++) {
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        if (max_scale > 0) {
            const float iscale = q4scale / max_scale;
            for (int j = 0; j < 16; j++) y[i].scales[j] = (uint8_t)nearest_int(iscale * scales[j]);
            y[i].d = sk_f32_to_fp16(max_scale / q4scale);
        } else {
            memset(y[i].scales, 0, 16);
            y[i].d = sk_f32_to_fp16(0.f);
        }
        if (max_min > 0) {
            const float iscale = q4scale / max_min;
            for (int j = 0; j < 16; j++)
                y[i].scales[j] |= (uint8_t)((unsigned)nearest_int(iscale * mins[j]) << 4);
            y[i].dmin = sk_f32_to_fp16(max_min / q4scale);
        } else {
            y[i].dmin = sk_f32_to_fp16(0.f);
        }
        for (int j = 0; j < 16; j++) {
            const float d = sk_fp16_to_f32(y[i].d) * (float)(y[i].scales[j] & 0xF);
            if (!d) continue;
            const float dm = sk_fp16_to_f32(y[i].dmin) * (float)(y[i].scales[j] >> 4);
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (uint8_t)clampi(nearest_int((x[16 * j + ii] + dm) / d), 0, 3);
        }
        pack_2bit(L, y[i].qs);
    }
}

#if SK_QUANT_HAVE_AVX2
/* The 16 sub-blocks of 16 of a 256-value block through an 8-lane AVX2 fitter (sk_q3_x8_avx2,
 * sk_qx_x8_avx2), eight sub-blocks at a time transposed into the lanes: L[16*j + l],
 * scales[j]. Returns 16, the number of sub-blocks done. */
static int fit16x16_avx2(void (*fit)(const float *, int, int, int8_t *, float *), const float *x,
                         int nmax, int8_t *L, float *scales) {
    float xt[128];
    int8_t Lt[128];
    for (int j0 = 0; j0 < 16; j0 += 8) {
        for (int j = 0; j < 8; j++)
            for (int l = 0; l < 16; l++) xt[8 * l + j] = x[16 * (j0 + j) + l];
        fit(xt, 16, nmax, Lt, scales + j0);
        for (int j = 0; j < 8; j++)
            for (int l = 0; l < 16; l++) L[16 * (j0 + j) + l] = Lt[8 * l + j];
    }
    return 16;
}
#endif

/* Q3_K: 16 sub-blocks of 16 fitted by make_q3_quants (levels -4..3); 6-bit signed sub-scales
 * against d = max_scale/-32; levels recomputed with the stored scales; bit 2 of each level goes
 * to hmask (bit m of hmask[l] for element 32m + l), the low 2 bits are packed as Q2_K. */
static void q_q3_K(const float *x, void *dst, int64_t n) {
    sk_block_q3_K *y = dst;
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        int8_t L[256];
        float scales[16], max_scale = 0, amax = 0;
        int j0 = 0;
#if SK_QUANT_HAVE_AVX2
        if (use_avx2()) j0 = fit16x16_avx2(sk_q3_x8_avx2, x, 4, L, scales);
#endif
        for (int j = j0; j < 16; j++) scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
        for (int j = 0; j < 16; j++) {
            if (fabsf(scales[j]) > amax) {
                amax = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        memset(y[i].scales, 0, 12);
        if (max_scale) {
            const float iscale = -32.f / max_scale;
            for (int j = 0; j < 16; j++) {
                int l =
                    (int8_t)nearest_int(iscale * scales[j]); /* wraps to int8 as the reference */
                l = clampi(l, -32, 31) + 32;
                if (j < 8)
                    y[i].scales[j] = (uint8_t)(l & 0xF);
                else
                    y[i].scales[j - 8] |= (uint8_t)((l & 0xF) << 4);
                y[i].scales[j % 4 + 8] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
            }
            y[i].d = sk_f32_to_fp16(1 / iscale);
        } else {
            y[i].d = sk_f32_to_fp16(0.f);
        }
        int8_t sc[16];
        sk_q3k_unpack_scales(y[i].scales, sc);
        for (int j = 0; j < 16; j++) {
            const float d = sk_fp16_to_f32(y[i].d) * (float)sc[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (int8_t)(clampi(nearest_int(x[16 * j + ii] / d), -4, 3) + 4);
        }
        memset(y[i].hmask, 0, 32);
        uint8_t U[256];
        for (int j = 0; j < 256; j++) {
            int l = L[j];
            if (l > 3) {
                y[i].hmask[j % 32] |= (uint8_t)(1 << (j / 32));
                l -= 4;
            }
            U[j] = (uint8_t)l;
        }
        pack_2bit(U, y[i].qs);
    }
}

/* Packs eight 6-bit scales and mins into the 12 bytes of a Q4_K/Q5_K block (inverse of
 * sk_k4_scale_min). */
static void pack_k4_scales(const uint8_t ls[8], const uint8_t lm[8], uint8_t s[12]) {
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            s[j] = ls[j];
            s[j + 4] = lm[j];
        } else {
            s[j + 4] = (uint8_t)((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            s[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            s[j] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
}

/* Shared front half of Q4_K and Q5_K: fits 8 sub-blocks of 32 (levels 0..nmax, weights
 * rms(x)+|x|), stores d, dmin and the packed 6-bit scales/mins, and returns the final levels
 * recomputed with the stored scales in L. */
static void k4_fit(const float *x, int nmax, float rmin, int nstep, sk_fp16 *dd, sk_fp16 *dmin,
                   uint8_t s[12], uint8_t L[256]) {
    float weights[256], mins[8], scales[8], max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 += x[32 * j + l] * x[32 * j + l];
        const float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[32 * j + l] = av_x + fabsf(x[32 * j + l]);
    }
    fit_qkx2(x, weights, 8, 32, nmax, rmin, 0.1f, nstep, false, L, scales, mins);
    for (int j = 0; j < 8; j++) {
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    uint8_t ls[8], lm[8];
    for (int j = 0; j < 8; j++) {
        ls[j] = (uint8_t)imin(63, (uint8_t)nearest_int(inv_scale * scales[j]));
        lm[j] = (uint8_t)imin(63, (uint8_t)nearest_int(inv_min * mins[j]));
    }
    memset(s, 0, 12);
    pack_k4_scales(ls, lm, s);
    *dd = sk_f32_to_fp16(max_scale / 63.f);
    *dmin = sk_f32_to_fp16(max_min / 63.f);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        sk_k4_scale_min(j, s, &sc, &m);
        const float d = sk_fp16_to_f32(*dd) * (float)sc;
        if (!d) continue;
        const float dm = sk_fp16_to_f32(*dmin) * (float)m;
        for (int ii = 0; ii < 32; ii++)
            L[32 * j + ii] = (uint8_t)clampi(nearest_int((x[32 * j + ii] + dm) / d), 0, nmax);
    }
}

/* Q4_K: levels 0..15 (20 search steps from rmin -1); nibbles packed as in dq_q4_K. */
static void q_q4_K(const float *x, void *dst, int64_t n) {
    sk_block_q4_K *y = dst;
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        uint8_t L[256];
        k4_fit(x, 15, -1.f, 20, &y[i].d, &y[i].dmin, y[i].scales, L);
        uint8_t *q = y[i].qs;
        for (int j = 0; j < 256; j += 64, q += 32)
            for (int l = 0; l < 32; l++) q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

/* Q5_K: levels 0..31 (15 search steps from rmin -0.5); low nibbles as Q4_K, bit 4 into qh. */
static void q_q5_K(const float *x, void *dst, int64_t n) {
    sk_block_q5_K *y = dst;
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        uint8_t L[256];
        k4_fit(x, 31, -0.5f, 15, &y[i].d, &y[i].dmin, y[i].scales, L);
        uint8_t *ql = y[i].qs, *qh = y[i].qh;
        memset(qh, 0, 32);
        uint8_t m1 = 1, m2 = 2;
        for (int p = 0; p < 256; p += 64, ql += 32, m1 <<= 2, m2 <<= 2) {
            for (int j = 0; j < 32; j++) {
                int l1 = L[p + j], l2 = L[p + j + 32];
                if (l1 > 15) {
                    l1 -= 16;
                    qh[j] |= m1;
                }
                if (l2 > 15) {
                    l2 -= 16;
                    qh[j] |= m2;
                }
                ql[j] = (uint8_t)(l1 | (l2 << 4));
            }
        }
    }
}

/* Q6_K: 16 sub-blocks of 16 fitted by make_qx_quants (levels -32..31); 8-bit signed sub-scales
 * against d = max_scale/-128; levels recomputed with the stored scales and packed as dq_q6_K. */
static void q_q6_K(const float *x, void *dst, int64_t n) {
    sk_block_q6_K *y = dst;
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        int8_t L[256];
        float scales[16], max_scale = 0, max_abs_scale = 0;
        int ib0 = 0;
#if SK_QUANT_HAVE_AVX2
        if (use_avx2()) ib0 = fit16x16_avx2(sk_qx_x8_avx2, x, 32, L, scales);
#endif
        for (int ib = ib0; ib < 16; ib++)
            scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
        for (int ib = 0; ib < 16; ib++) {
            if (fabsf(scales[ib]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[ib]);
                max_scale = scales[ib];
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -128.f / max_scale;
        y[i].d = sk_f32_to_fp16(1 / iscale);
        for (int ib = 0; ib < 16; ib++)
            y[i].scales[ib] = (int8_t)imin(127, nearest_int(iscale * scales[ib]));
        for (int j = 0; j < 16; j++) {
            const float d = sk_fp16_to_f32(y[i].d) * (float)y[i].scales[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ii++)
                L[16 * j + ii] = (int8_t)(clampi(nearest_int(x[16 * j + ii] / d), -32, 31) + 32);
        }
        uint8_t *ql = y[i].ql, *qh = y[i].qh;
        for (int j = 0; j < 256; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                const int a = L[j + l], b = L[j + l + 32], c = L[j + l + 64], e = L[j + l + 96];
                ql[l] = (uint8_t)((a & 0xF) | ((c & 0xF) << 4));
                ql[l + 32] = (uint8_t)((b & 0xF) | ((e & 0xF) << 4));
                qh[l] = (uint8_t)((a >> 4) | ((b >> 4) << 2) | ((c >> 4) << 4) | ((e >> 4) << 6));
            }
        }
    }
}

/* Q8_K {f32 d; i8 qs[256]; i16 bsums[16]}: d = max/-127 (signed absmax), q = min(127, round(x/d)),
 * bsums = sums of 16 consecutive q. Used for activations in k-quant dot products. */
static void q_q8_K(const float *x, void *dst, int64_t n) {
    sk_block_q8_K *y = dst;
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        float max = 0, amax = 0;
        for (int j = 0; j < 256; j++)
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        if (!amax) {
            y[i].d = 0;
            memset(y[i].qs, 0, 256);
            /* bsums are left as they were in the reference; zero them here */
            memset(y[i].bsums, 0, sizeof y[i].bsums);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < 256; j++) y[i].qs[j] = (int8_t)imin(127, nearest_int(iscale * x[j]));
        for (int j = 0; j < 16; j++) {
            int sum = 0;
            for (int ii = 0; ii < 16; ii++) sum += y[i].qs[16 * j + ii];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

typedef void (*q_fn)(const float *src, void *dst, int64_t n);

static q_fn q_for(int type) {
    switch (type) {
    case SK_TYPE_F32:
        return q_f32;
    case SK_TYPE_F16:
        return q_f16;
    case SK_TYPE_BF16:
        return q_bf16;
    case SK_TYPE_Q8_0:
        return q_q8_0;
    case SK_TYPE_Q8_1:
        return q_q8_1;
    case SK_TYPE_Q4_0:
        return q_q4_0;
    case SK_TYPE_Q4_1:
        return q_q4_1;
    case SK_TYPE_Q5_0:
        return q_q5_0;
    case SK_TYPE_Q5_1:
        return q_q5_1;
    case SK_TYPE_Q2_K:
        return q_q2_K;
    case SK_TYPE_Q3_K:
        return q_q3_K;
    case SK_TYPE_Q4_K:
        return q_q4_K;
    case SK_TYPE_Q5_K:
        return q_q5_K;
    case SK_TYPE_Q6_K:
        return q_q6_K;
    case SK_TYPE_Q8_K:
        return q_q8_K;
    case SK_TYPE_IQ4_NL:
        return q_iq4_nl;
    case SK_TYPE_IQ4_XS:
        return q_iq4_xs;
    default:
        return NULL;
    }
}

static int check_quant_args(int type, const float *src, const void *dst, int64_t n, sk_err *e) {
    const sk_type_traits *tt = sk_type_info(type);
    if (!tt->can_quant || !q_for(type))
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "cannot quantize to type %s (id %d)", tt->name,
                          type);
    if (n < 0 || n % tt->block_size != 0)
        return sk_err_set(e, SK_ERR_INVALID,
                          "quantize to %s: %lld elements is not a multiple of the block size %d",
                          tt->name, (long long)n, tt->block_size);
    if (n > 0 && (!src || !dst))
        return sk_err_set(e, SK_ERR_INVALID, "quantize to %s: NULL buffer", tt->name);
    return SK_OK;
}

/* Block types are only defined for finite input (the reference would write garbage). */
static int check_finite(int type, const float *src, int64_t n, int64_t base, sk_err *e) {
    if (!sk_type_info(type)->quantized) return SK_OK;
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(src[i]))
            return sk_err_set(e, SK_ERR_INVALID, "quantize to %s: element %lld is %s",
                              sk_type_name(type), (long long)(base + i),
                              isnan(src[i]) ? "NaN" : "infinite");
    return SK_OK;
}

/* The encoders write block fields in place (2-byte alignment, 4 for Q8_K); misaligned output goes
 * through an aligned bounce buffer a few blocks at a time. */
static void q_run(int type, const float *src, void *dst, int64_t n) {
    const sk_type_traits *tt = sk_type_info(type);
    const uintptr_t mask = type == SK_TYPE_Q8_K ? 3 : 1;
    if (!tt->quantized || ((uintptr_t)dst & mask) == 0) {
        q_for(type)(src, dst, n);
        return;
    }
    _Alignas(16) uint8_t buf[4096];
    const int64_t per = (int64_t)(sizeof buf / (size_t)tt->type_size) * tt->block_size;
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i += per) {
        const int64_t m = n - i < per ? n - i : per;
        const size_t bytes = (size_t)(m / tt->block_size) * (size_t)tt->type_size;
        q_for(type)(src + i, buf, m);
        memcpy(p, buf, bytes);
        p += bytes;
    }
}

int sk_quant(int type, const float *src, void *dst, int64_t n, sk_err *e) {
    int rc = check_quant_args(type, src, dst, n, e);
    if (rc) return rc;
    if ((rc = check_finite(type, src, n, 0, e))) return rc;
    if (n > 0) q_run(type, src, dst, n);
    return SK_OK;
}

/* ---- parallel row loops ---- */

typedef struct {
    int type;
    const void *in; /* floats (quantize) or encoded rows (dequantize) */
    void *out;
    int64_t nrows, n_per_row;
    size_t row_bytes;
    int *rc;      /* per-thread status */
    sk_err *errs; /* per-thread messages */
} rows_job;

static void quant_rows_task(void *ctx, int ith, int nth) {
    rows_job *j = ctx;
    size_t lo, hi;
    sk_split_range((size_t)j->nrows, ith, nth, &lo, &hi);
    if (lo >= hi) return;
    const int64_t n = (int64_t)(hi - lo) * j->n_per_row, first = (int64_t)lo * j->n_per_row;
    const float *s = (const float *)j->in + first;
    if ((j->rc[ith] = check_finite(j->type, s, n, first, &j->errs[ith]))) return;
    q_run(j->type, s, (uint8_t *)j->out + lo * j->row_bytes, n);
}

static void dequant_rows_task(void *ctx, int ith, int nth) {
    rows_job *j = ctx;
    size_t lo, hi;
    sk_split_range((size_t)j->nrows, ith, nth, &lo, &hi);
    if (lo >= hi) return;
    j->rc[ith] = sk_dequant(j->type, (const uint8_t *)j->in + lo * j->row_bytes,
                            (float *)j->out + (int64_t)lo * j->n_per_row,
                            (int64_t)(hi - lo) * j->n_per_row, &j->errs[ith]);
}

static int run_rows(sk_pool *pool, sk_pool_fn fn, rows_job *j, sk_err *e) {
    const int nth = pool ? sk_pool_size(pool) : 1;
    j->rc = calloc((size_t)nth, sizeof *j->rc);
    j->errs = calloc((size_t)nth, sizeof *j->errs);
    int out = SK_OK;
    if (!j->rc || !j->errs) {
        out = sk_err_set(e, SK_ERR_NOMEM, "out of memory for %d thread states", nth);
        goto done;
    }
    if (nth > 1)
        sk_pool_run(pool, fn, j);
    else
        fn(j, 0, 1);
    for (int i = 0; i < nth; i++)
        if (j->rc[i]) {
            out = sk_err_set(e, j->rc[i], "%s", j->errs[i].msg);
            break;
        }
done:
    free(j->rc);
    free(j->errs);
    return out;
}

int sk_quant_rows(sk_pool *pool, int type, const float *src, void *dst, int64_t nrows,
                  int64_t n_per_row, sk_err *e) {
    int64_t n;
    size_t rb;
    if (nrows < 0 || n_per_row < 0 || __builtin_mul_overflow(nrows, n_per_row, &n))
        return sk_err_set(e, SK_ERR_RANGE, "quantize: %lld x %lld elements overflow",
                          (long long)nrows, (long long)n_per_row);
    int rc = check_quant_args(type, src, dst, n, e);
    if (rc) return rc;
    if (!sk_row_size(type, n_per_row, &rb))
        return sk_err_set(e, SK_ERR_INVALID,
                          "quantize to %s: row length %lld is not a multiple of the block size %d",
                          sk_type_name(type), (long long)n_per_row, sk_type_info(type)->block_size);
    if (n == 0) return SK_OK;
    rows_job j = {.type = type,
                  .in = src,
                  .out = dst,
                  .nrows = nrows,
                  .n_per_row = n_per_row,
                  .row_bytes = rb};
    return run_rows(pool, quant_rows_task, &j, e);
}

int sk_dequant_rows(sk_pool *pool, int type, const void *src, float *dst, int64_t nrows,
                    int64_t n_per_row, sk_err *e) {
    int64_t n;
    size_t rb;
    if (nrows < 0 || n_per_row < 0 || __builtin_mul_overflow(nrows, n_per_row, &n))
        return sk_err_set(e, SK_ERR_RANGE, "dequantize: %lld x %lld elements overflow",
                          (long long)nrows, (long long)n_per_row);
    if (!sk_type_info(type)->can_dequant || type == SK_TYPE_F8_E4M3 ||
        !sk_row_size(type, n_per_row, &rb))
        return sk_dequant(type, src, dst, n_per_row, e); /* sets the matching error */
    if (n == 0) return SK_OK;
    if (!src || !dst)
        return sk_err_set(e, SK_ERR_INVALID, "dequantize %s: NULL buffer", sk_type_name(type));
    rows_job j = {.type = type,
                  .in = src,
                  .out = dst,
                  .nrows = nrows,
                  .n_per_row = n_per_row,
                  .row_bytes = rb};
    return run_rows(pool, dequant_rows_task, &j, e);
}
