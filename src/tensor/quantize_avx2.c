/* quantize_avx2.c — lane-parallel forms of the searched-scale fits in quantize.c, bit-identical
 * to the scalar code.
 *
 * The scale searches of Q2_K/Q4_K/Q5_K (make_qkx2_quants) and IQ4_NL/IQ4_XS (the 15-scale
 * codebook search) run once per sub-block, and the sub-blocks are independent. Here eight of
 * them run side by side, one per AVX2 lane. Each lane performs exactly the scalar operations in
 * the scalar order — every sum is still accumulated element by element within its lane, products
 * are rounded before they are added (no FMA), comparisons are the same ordered ones, and
 * branches become per-lane blends — so the results are the same bits. Inputs are transposed:
 * xt[i*8 + j] is element i of sub-block j.
 *
 * Compiled for any x86-64 with a function-level target attribute; quantize.c calls these only
 * when the CPU has AVX2 (and the tests compare both paths).
 */
#include "quant_internal.h"

#if SK_QUANT_HAVE_AVX2

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

/* nearest_int of quantize.c, per lane: add 1.5*2^23 and read the low mantissa bits. */
AVX2 static inline __m256i v_nearest_int(__m256 f) {
    const __m256i bits = _mm256_castps_si256(_mm256_add_ps(f, _mm256_set1_ps(12582912.f)));
    return _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                            _mm256_set1_epi32(0x00400000));
}

AVX2 static inline __m256i v_clamp(__m256i v, int lo, int hi) {
    return _mm256_max_epi32(_mm256_set1_epi32(lo), _mm256_min_epi32(v, _mm256_set1_epi32(hi)));
}

AVX2 static inline __m256 v_abs(__m256 v) {
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

/* a if mask lane set, else b */
AVX2 static inline __m256 v_sel(__m256 mask, __m256 a, __m256 b) {
    return _mm256_blendv_ps(b, a, mask);
}

#define LT(a, b) _mm256_cmp_ps((a), (b), _CMP_LT_OQ)
#define GT(a, b) _mm256_cmp_ps((a), (b), _CMP_GT_OQ)

/* Eight make_qkx2_quants at once (see quantize.c for the algorithm); n ≤ 32. */
AVX2 void sk_qkx2_x8_avx2(const float *xt, const float *wt, int n, int nmax, float rmin,
                          float rdelta, int nstep, bool use_mad, uint8_t *Lt, float scale_out[8],
                          float the_min_out[8]) {
    __m256 min = _mm256_loadu_ps(xt), max = min;
    __m256 sum_w = _mm256_loadu_ps(wt);
    __m256 sum_x = _mm256_mul_ps(sum_w, min);
    for (int i = 1; i < n; i++) {
        const __m256 x = _mm256_loadu_ps(xt + 8 * i), w = _mm256_loadu_ps(wt + 8 * i);
        min = v_sel(LT(x, min), x, min);
        max = v_sel(GT(x, max), x, max);
        sum_w = _mm256_add_ps(sum_w, w);
        sum_x = _mm256_add_ps(sum_x, _mm256_mul_ps(w, x));
    }
    const __m256 zero = _mm256_setzero_ps();
    min = v_sel(GT(min, zero), zero, min);
    const __m256 degenerate = _mm256_cmp_ps(max, min, _CMP_EQ_OQ);
    const __m256 min0 = min;
    const __m256 nmaxf = _mm256_set1_ps((float)nmax);

    /* note: the search below uses the current (possibly refitted) min, as the scalar code does */
    __m256 iscale = _mm256_div_ps(nmaxf, _mm256_sub_ps(max, min0));
    __m256 scale = _mm256_div_ps(_mm256_set1_ps(1.0f), iscale);
    __m256 best_error = zero;
    __m256i L[32], Laux[32];
    for (int i = 0; i < n; i++) {
        const __m256 x = _mm256_loadu_ps(xt + 8 * i), w = _mm256_loadu_ps(wt + 8 * i);
        L[i] = v_clamp(v_nearest_int(_mm256_mul_ps(iscale, _mm256_sub_ps(x, min0))), 0, nmax);
        __m256 diff =
            _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(scale, _mm256_cvtepi32_ps(L[i])), min0), x);
        diff = use_mad ? v_abs(diff) : _mm256_mul_ps(diff, diff);
        best_error = _mm256_add_ps(best_error, _mm256_mul_ps(w, diff));
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = _mm256_div_ps(_mm256_set1_ps(rmin + rdelta * (float)is + (float)nmax),
                               _mm256_sub_ps(max, min));
        __m256 sum_l = zero, sum_l2 = zero, sum_xl = zero;
        for (int i = 0; i < n; i++) {
            const __m256 x = _mm256_loadu_ps(xt + 8 * i), w = _mm256_loadu_ps(wt + 8 * i);
            Laux[i] = v_clamp(v_nearest_int(_mm256_mul_ps(iscale, _mm256_sub_ps(x, min))), 0, nmax);
            const __m256 l = _mm256_cvtepi32_ps(Laux[i]), wl = _mm256_mul_ps(w, l);
            sum_l = _mm256_add_ps(sum_l, wl);
            sum_l2 = _mm256_add_ps(sum_l2, _mm256_mul_ps(wl, l));
            sum_xl = _mm256_add_ps(sum_xl, _mm256_mul_ps(wl, x));
        }
        const __m256 D = _mm256_sub_ps(_mm256_mul_ps(sum_w, sum_l2), _mm256_mul_ps(sum_l, sum_l));
        const __m256 dpos = GT(D, zero);
        if (!_mm256_movemask_ps(dpos)) continue;
        __m256 this_scale = _mm256_div_ps(
            _mm256_sub_ps(_mm256_mul_ps(sum_w, sum_xl), _mm256_mul_ps(sum_x, sum_l)), D);
        __m256 this_min = _mm256_div_ps(
            _mm256_sub_ps(_mm256_mul_ps(sum_l2, sum_x), _mm256_mul_ps(sum_l, sum_xl)), D);
        const __m256 minpos = GT(this_min, zero);
        this_scale = v_sel(minpos, _mm256_div_ps(sum_xl, sum_l2), this_scale);
        this_min = v_sel(minpos, zero, this_min);
        __m256 cur_error = zero;
        for (int i = 0; i < n; i++) {
            const __m256 x = _mm256_loadu_ps(xt + 8 * i), w = _mm256_loadu_ps(wt + 8 * i);
            __m256 diff = _mm256_sub_ps(
                _mm256_add_ps(_mm256_mul_ps(this_scale, _mm256_cvtepi32_ps(Laux[i])), this_min), x);
            diff = use_mad ? v_abs(diff) : _mm256_mul_ps(diff, diff);
            cur_error = _mm256_add_ps(cur_error, _mm256_mul_ps(w, diff));
        }
        const __m256 take = _mm256_and_ps(dpos, LT(cur_error, best_error));
        if (!_mm256_movemask_ps(take)) continue;
        const __m256i takei = _mm256_castps_si256(take);
        for (int i = 0; i < n; i++) L[i] = _mm256_blendv_epi8(L[i], Laux[i], takei);
        best_error = v_sel(take, cur_error, best_error);
        scale = v_sel(take, this_scale, scale);
        min = v_sel(take, this_min, min);
    }
    /* degenerate lanes (max == min) return early in the scalar code: L = 0, scale 0, min as is */
    const __m256i degi = _mm256_castps_si256(degenerate);
    for (int i = 0; i < n; i++) {
        const __m256i l = _mm256_andnot_si256(degi, L[i]);
        int32_t tmp[8];
        _mm256_storeu_si256((__m256i *)tmp, l);
        for (int j = 0; j < 8; j++) Lt[8 * i + j] = (uint8_t)tmp[j];
    }
    scale = v_sel(degenerate, zero, scale);
    min = v_sel(degenerate, min0, min);
    _mm256_storeu_ps(scale_out, scale);
    _mm256_storeu_ps(the_min_out, _mm256_xor_ps(min, _mm256_set1_ps(-0.0f))); /* -min */
}

/* Eight make_qx_quants at once (weights x², see quantize.c); n ≤ 32. Lt gets level + nmax. */
AVX2 void sk_qx_x8_avx2(const float *xt, int n, int nmax, int8_t *Lt, float scale_out[8]) {
    const __m256 zero = _mm256_setzero_ps();
    __m256 amax = zero, max = zero;
    for (int i = 0; i < n; i++) {
        const __m256 x = _mm256_loadu_ps(xt + 8 * i), ax = v_abs(x), gt = GT(ax, amax);
        amax = v_sel(gt, ax, amax);
        max = v_sel(gt, x, max);
    }
    const __m256 tiny = LT(amax, _mm256_set1_ps(1e-15f));
    __m256i L[32];
    __m256 iscale = _mm256_div_ps(_mm256_set1_ps(-(float)nmax), max);
    __m256 sumlx = zero, suml2 = zero;
    for (int i = 0; i < n; i++) {
        const __m256 x = _mm256_loadu_ps(xt + 8 * i), w = _mm256_mul_ps(x, x);
        const __m256i li = v_clamp(v_nearest_int(_mm256_mul_ps(iscale, x)), -nmax, nmax - 1);
        L[i] = li;
        const __m256 l = _mm256_cvtepi32_ps(li);
        sumlx = _mm256_add_ps(sumlx, _mm256_mul_ps(_mm256_mul_ps(w, x), l));
        suml2 = _mm256_add_ps(suml2, _mm256_mul_ps(_mm256_mul_ps(w, l), l));
    }
    /* scalar: suml2 ? sumlx/suml2 : 0 (NaN counts as true) */
    __m256 scale =
        v_sel(_mm256_cmp_ps(suml2, zero, _CMP_NEQ_UQ), _mm256_div_ps(sumlx, suml2), zero);
    __m256 best = _mm256_mul_ps(scale, sumlx);
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = _mm256_div_ps(_mm256_set1_ps(-((float)nmax + 0.1f * (float)is)), max);
        __m256i Lc[32];
        sumlx = suml2 = zero;
        for (int i = 0; i < n; i++) {
            const __m256 x = _mm256_loadu_ps(xt + 8 * i), w = _mm256_mul_ps(x, x);
            Lc[i] = v_clamp(v_nearest_int(_mm256_mul_ps(iscale, x)), -nmax, nmax - 1);
            const __m256 l = _mm256_cvtepi32_ps(Lc[i]);
            sumlx = _mm256_add_ps(sumlx, _mm256_mul_ps(_mm256_mul_ps(w, x), l));
            suml2 = _mm256_add_ps(suml2, _mm256_mul_ps(_mm256_mul_ps(w, l), l));
        }
        const __m256 take = _mm256_and_ps(
            GT(suml2, zero), GT(_mm256_mul_ps(sumlx, sumlx), _mm256_mul_ps(best, suml2)));
        if (!_mm256_movemask_ps(take)) continue;
        const __m256i takei = _mm256_castps_si256(take);
        for (int i = 0; i < n; i++) L[i] = _mm256_blendv_epi8(L[i], Lc[i], takei);
        const __m256 ns = _mm256_div_ps(sumlx, suml2);
        scale = v_sel(take, ns, scale);
        best = v_sel(take, _mm256_mul_ps(ns, sumlx), best);
    }
    const __m256i tinyi = _mm256_castps_si256(tiny);
    for (int i = 0; i < n; i++) {
        /* level + nmax; tiny (all-zero) lanes get 0 */
        const __m256i l =
            _mm256_andnot_si256(tinyi, _mm256_add_epi32(L[i], _mm256_set1_epi32(nmax)));
        int32_t tmp[8];
        _mm256_storeu_si256((__m256i *)tmp, l);
        for (int j = 0; j < 8; j++) Lt[8 * i + j] = (int8_t)tmp[j];
    }
    _mm256_storeu_ps(scale_out, v_sel(tiny, zero, scale));
}

/* Eight make_q3_quants at once (weights x², coordinate descent; see quantize.c); n ≤ 32.
 * A lane whose pass changed nothing would stop in the scalar code; running it further changes
 * nothing either (its state is the same), so all lanes simply run until none changes. */
AVX2 void sk_q3_x8_avx2(const float *xt, int n, int nmax, int8_t *Lt, float scale_out[8]) {
    const __m256 zero = _mm256_setzero_ps();
    __m256 amax = zero, max = zero;
    for (int i = 0; i < n; i++) {
        const __m256 x = _mm256_loadu_ps(xt + 8 * i), ax = v_abs(x), gt = GT(ax, amax);
        amax = v_sel(gt, ax, amax);
        max = v_sel(gt, x, max);
    }
    const __m256 tiny = LT(amax, _mm256_set1_ps(1e-15f));
    const __m256 iscale = _mm256_div_ps(_mm256_set1_ps(-(float)nmax), max);
    __m256 L[32]; /* levels as floats (exact small integers) */
    __m256 sumlx = zero, suml2 = zero;
    for (int i = 0; i < n; i++) {
        const __m256 x = _mm256_loadu_ps(xt + 8 * i), w = _mm256_mul_ps(x, x);
        L[i] =
            _mm256_cvtepi32_ps(v_clamp(v_nearest_int(_mm256_mul_ps(iscale, x)), -nmax, nmax - 1));
        sumlx = _mm256_add_ps(sumlx, _mm256_mul_ps(_mm256_mul_ps(w, x), L[i]));
        suml2 = _mm256_add_ps(suml2, _mm256_mul_ps(_mm256_mul_ps(w, L[i]), L[i]));
    }
    for (int itry = 0; itry < 5; itry++) {
        __m256 any = zero;
        for (int i = 0; i < n; i++) {
            const __m256 x = _mm256_loadu_ps(xt + 8 * i), w = _mm256_mul_ps(x, x),
                         wx = _mm256_mul_ps(w, x);
            __m256 slx = _mm256_sub_ps(sumlx, _mm256_mul_ps(wx, L[i]));
            __m256 sl2 = _mm256_sub_ps(suml2, _mm256_mul_ps(_mm256_mul_ps(w, L[i]), L[i]));
            const __m256 nl = _mm256_cvtepi32_ps(
                v_clamp(v_nearest_int(_mm256_div_ps(_mm256_mul_ps(x, sl2), slx)), -nmax, nmax - 1));
            const __m256 cand = _mm256_and_ps(GT(slx, zero), _mm256_cmp_ps(nl, L[i], _CMP_NEQ_OQ));
            slx = _mm256_add_ps(slx, _mm256_mul_ps(wx, nl));
            sl2 = _mm256_add_ps(sl2, _mm256_mul_ps(_mm256_mul_ps(w, nl), nl));
            const __m256 better = GT(_mm256_mul_ps(_mm256_mul_ps(slx, slx), suml2),
                                     _mm256_mul_ps(_mm256_mul_ps(sumlx, sumlx), sl2));
            const __m256 take = _mm256_and_ps(cand, _mm256_and_ps(GT(sl2, zero), better));
            L[i] = v_sel(take, nl, L[i]);
            sumlx = v_sel(take, slx, sumlx);
            suml2 = v_sel(take, sl2, suml2);
            any = _mm256_or_ps(any, take);
        }
        if (!_mm256_movemask_ps(any)) break;
    }
    const __m256i tinyi = _mm256_castps_si256(tiny);
    for (int i = 0; i < n; i++) {
        const __m256i l = _mm256_andnot_si256(
            tinyi, _mm256_add_epi32(_mm256_cvttps_epi32(L[i]), _mm256_set1_epi32(nmax)));
        int32_t tmp[8];
        _mm256_storeu_si256((__m256i *)tmp, l);
        for (int j = 0; j < 8; j++) Lt[8 * i + j] = (int8_t)tmp[j];
    }
    const __m256 sc = v_sel(GT(suml2, zero), _mm256_div_ps(sumlx, suml2), zero);
    _mm256_storeu_ps(scale_out, v_sel(tiny, zero, sc));
}

/* Codebook value K[idx] per lane (idx 0..15) from two in-register halves: no memory gathers. */
AVX2 static inline __m256 v_lookup16(__m256i idx, __m256 klo8, __m256 khi8) {
    const __m256 a = _mm256_permutevar8x32_ps(klo8, idx), b = _mm256_permutevar8x32_ps(khi8, idx);
    const __m256i hi = _mm256_cmpgt_epi32(idx, _mm256_set1_epi32(7));
    return _mm256_blendv_ps(a, b, _mm256_castsi256_ps(hi));
}

/* Per-lane best_index_iq4 for v (see quantize.c): the nearest codebook entry, the upper one on
 * ties; v ≤ K[0] → 0, v ≥ K[15] (or NaN) → 15. */
AVX2 static inline __m256i v_best_index_iq4(__m256 v, const __m256 *kv, __m256 klo8, __m256 khi8) {
    __m256i cnt = _mm256_setzero_si256(); /* #{k : K[k] <= v} = the scalar search's upper bound */
    for (int k = 0; k < 16; k++)
        cnt = _mm256_sub_epi32(cnt, _mm256_castps_si256(_mm256_cmp_ps(kv[k], v, _CMP_LE_OQ)));
    const __m256i hi = v_clamp(cnt, 1, 15);
    const __m256i lo = _mm256_sub_epi32(hi, _mm256_set1_epi32(1));
    const __m256 khi = v_lookup16(hi, klo8, khi8), klo = v_lookup16(lo, klo8, khi8);
    const __m256 pick_lo = LT(_mm256_sub_ps(v, klo), _mm256_sub_ps(khi, v));
    __m256i idx = _mm256_blendv_epi8(hi, lo, _mm256_castps_si256(pick_lo));
    const __m256i le0 = _mm256_castps_si256(_mm256_cmp_ps(v, kv[0], _CMP_LE_OQ));
    const __m256i ge15 = _mm256_castps_si256(_mm256_cmp_ps(v, kv[15], _CMP_NLT_UQ)); /* ≥ or NaN */
    idx = _mm256_blendv_epi8(idx, _mm256_set1_epi32(15), ge15);
    idx = _mm256_blendv_epi8(idx, _mm256_setzero_si256(), le0);
    return idx;
}

/* The codebook as 16 broadcasts and as two 8-lane halves. */
#define IQ4_TABLES                                                                                 \
    float kf[16];                                                                                  \
    __m256 kv[16];                                                                                 \
    for (int k = 0; k < 16; k++) {                                                                 \
        kf[k] = (float)sk_iq4nl_values[k];                                                         \
        kv[k] = _mm256_set1_ps(kf[k]);                                                             \
    }                                                                                              \
    const __m256 klo8 = _mm256_loadu_ps(kf), khi8 = _mm256_loadu_ps(kf + 8)

/* Eight iq4_block_scale at once (32 elements per lane, weights x²): returns the scales. */
AVX2 void sk_iq4_scale_x8_avx2(const float *xt, float d_out[8]) {
    IQ4_TABLES;
    const __m256 zero = _mm256_setzero_ps();
    __m256 amax = zero, max = zero;
    for (int j = 0; j < 32; j++) {
        const __m256 x = _mm256_loadu_ps(xt + 8 * j), ax = v_abs(x), gt = GT(ax, amax);
        amax = v_sel(gt, ax, amax);
        max = v_sel(gt, x, max);
    }
    const __m256 tiny = LT(amax, _mm256_set1_ps(1e-15f));
    __m256 d = _mm256_div_ps(_mm256_xor_ps(max, _mm256_set1_ps(-0.0f)), kv[0]); /* -max/K[0] */
    __m256 id = _mm256_div_ps(_mm256_set1_ps(1.0f), d);
    __m256 sumqx = zero, sumq2 = zero;
    for (int j = 0; j < 32; j++) {
        const __m256 x = _mm256_loadu_ps(xt + 8 * j), w = _mm256_mul_ps(x, x);
        const __m256 q =
            v_lookup16(v_best_index_iq4(_mm256_mul_ps(id, x), kv, klo8, khi8), klo8, khi8);
        const __m256 wq = _mm256_mul_ps(w, q);
        sumqx = _mm256_add_ps(sumqx, _mm256_mul_ps(wq, x));
        sumq2 = _mm256_add_ps(sumq2, _mm256_mul_ps(wq, q));
    }
    d = v_sel(GT(sumq2, zero), _mm256_div_ps(sumqx, sumq2), zero);
    __m256 best = _mm256_mul_ps(d, sumqx);
    for (int itry = -7; itry <= 7; itry++) {
        id = _mm256_div_ps(_mm256_set1_ps((float)(itry + sk_iq4nl_values[0])), max);
        sumqx = sumq2 = zero;
        for (int j = 0; j < 32; j++) {
            const __m256 x = _mm256_loadu_ps(xt + 8 * j), w = _mm256_mul_ps(x, x);
            const __m256 q =
                v_lookup16(v_best_index_iq4(_mm256_mul_ps(id, x), kv, klo8, khi8), klo8, khi8);
            const __m256 wq = _mm256_mul_ps(w, q);
            sumqx = _mm256_add_ps(sumqx, _mm256_mul_ps(wq, x));
            sumq2 = _mm256_add_ps(sumq2, _mm256_mul_ps(wq, q));
        }
        const __m256 take = _mm256_and_ps(
            GT(sumq2, zero), GT(_mm256_mul_ps(sumqx, sumqx), _mm256_mul_ps(best, sumq2)));
        const __m256 nd = _mm256_div_ps(sumqx, sumq2);
        d = v_sel(take, nd, d);
        best = v_sel(take, _mm256_mul_ps(nd, sumqx), best);
    }
    _mm256_storeu_ps(d_out, v_sel(tiny, zero, d));
}

/* Indices of x*id for 8 lanes of 32 elements each (id per lane): Lt[8*i + j]. */
AVX2 void sk_iq4_index_x8_avx2(const float *xt, const float id[8], uint8_t *Lt) {
    IQ4_TABLES;
    const __m256 vid = _mm256_loadu_ps(id);
    for (int i = 0; i < 32; i++) {
        int32_t tmp[8];
        _mm256_storeu_si256(
            (__m256i *)tmp,
            v_best_index_iq4(_mm256_mul_ps(vid, _mm256_loadu_ps(xt + 8 * i)), kv, klo8, khi8));
        for (int j = 0; j < 8; j++) Lt[8 * i + j] = (uint8_t)tmp[j];
    }
}

/* Q8_0 for nb blocks (finite input): d = absmax/127 per block (max is order-independent on
 * non-NaN values), q = round-half-away(x/d) computed as trunc ± 1 (exact), then x86 truncation
 * to int32 (invalid → INT32_MIN) and its low byte, exactly as the scalar cvtt_i8(roundf(...)). */
AVX2 void sk_q8_0_avx2(const float *x, void *dst, int64_t nb) {
    sk_block_q8_0 *y = dst;
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f),
                 half = _mm256_set1_ps(0.5f);
    const __m256i lowbyte = _mm256_set1_epi32(0xFF),
                  order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t i = 0; i < nb; i++, x += 32) {
        __m256 v[4];
        for (int k = 0; k < 4; k++) v[k] = _mm256_loadu_ps(x + 8 * k);
        __m256 m = _mm256_max_ps(_mm256_max_ps(v_abs(v[0]), v_abs(v[1])),
                                 _mm256_max_ps(v_abs(v[2]), v_abs(v[3])));
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        const float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        y[i].d = sk_f32_to_fp16(d);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            const __m256 t = _mm256_mul_ps(v[k], _mm256_set1_ps(id));
            const __m256 tr = _mm256_round_ps(t, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
            const __m256 up = _mm256_cmp_ps(v_abs(_mm256_sub_ps(t, tr)), half, _CMP_GE_OQ);
            const __m256 r =
                _mm256_add_ps(tr, _mm256_and_ps(up, _mm256_or_ps(_mm256_and_ps(t, sign), one)));
            q[k] = _mm256_and_si256(_mm256_cvttps_epi32(r), lowbyte);
        }
        const __m256i p =
            _mm256_packus_epi16(_mm256_packus_epi32(q[0], q[1]), _mm256_packus_epi32(q[2], q[3]));
        _mm256_storeu_si256((__m256i *)y[i].qs, _mm256_permutevar8x32_epi32(p, order));
    }
}

bool sk_quant_cpu_has_avx2(void) {
    return __builtin_cpu_supports("avx2");
}

#else

bool sk_quant_cpu_has_avx2(void) {
    return false;
}

#endif
