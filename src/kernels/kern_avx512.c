/* kern_avx512.c — AVX-512 (F/BW/DQ/VL) kernels, plus AVX512-VNNI for the int8 dots when the
 * CPU has it (chosen at fill time; the VNNI functions are never installed otherwise). The
 * level starts from the AVX2 table, so everything not overridden here runs the AVX2 code.
 * Overrides: F32/F16/BF16 dots and the float vector ops with 512-bit FMA; the Q8_0 dots
 * with vpdpbusd (VNNI only); the bandwidth probe with 512-bit loads. (A VNNI Q4_0 dot, one
 * block per step with the offset subtracted per byte, streamed at 0.45 of the AVX2 one on a
 * Xeon at 2 threads, 8.7 against 19.9 GB/s: Q4_0 runs the AVX2 kernel.)
 * Integer sums are exact, as in kern_avx2.c, so results equal the scalar reference up to
 * the order of the float additions.
 * Built a second time with SK_AVX512_SIMDE (tests/kernels/CMakeLists.txt), against SIMDe's
 * portable AVX-512 (kern_avx512_simde.h), as sk_kfuncs_fill_avx512_simde: so the kernels are
 * checked on CPUs without AVX-512 too. */
#if defined(SEEK_HAVE_X86_KERNELS)
#include "kern_x86.h"
#include "kernels_internal.h"

#if defined(SK_AVX512_SIMDE) /* the same kernels on SIMDe's emulated AVX-512, for tests */
#include "kern_avx512_simde.h"
#define sk_kfuncs_fill_avx512 sk_kfuncs_fill_avx512_simde
#else
#include <immintrin.h>
#endif
#include <math.h>

static inline float fp16(sk_fp16 h) {
    return _cvtsh_ss(h);
}
static inline __m256i ld256(const void *p) {
    return _mm256_loadu_si256((const __m256i *)p);
}
static inline __m128i ld128(const void *p) {
    return _mm_loadu_si128((const __m128i *)p);
}
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static float dot_f32(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const float *a = w, *b = x;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) { /* masked tail */
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

static float dot_f16(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_fp16 *a = w;
    const float *b = x;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(ld256(a + i)), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_cvtph_ps(ld256(a + i + 16)), _mm512_loadu_ps(b + i + 16), s1);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    for (; i < n; i++) s += fp16(a[i]) * b[i];
    return s;
}

static inline __m512 bf16x16(const sk_bf16 *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(ld256(p)), 16));
}

static float dot_bf16(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_bf16 *a = w;
    const float *b = x;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(bf16x16(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(bf16x16(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    for (; i < n; i++) s += sk_bf16_to_f32(a[i]) * b[i];
    return s;
}

/* ---- VNNI int8 dots: Σ of 4 products per int32 lane, |w| as the unsigned operand ---- */

static inline __m256i vnni_ss(__m256i w, __m256i x) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(w, w),
                               _mm256_sign_epi8(x, w));
}

/* Q8_0: SK_DEF_Q8_0_DOTS (kern_x86.h), the definition the AVX2 level expands, on a vpdpbusd
 * block step: the same f32 operations, hence the same bits as the AVX2 dot, dot4 and gemm4
 * (this level keeps the AVX2 gemm4, which sk_matmul must match). Before this level took the
 * AVX2 prefetch and row order, on a Xeon at 2 of 16 threads, 1536-column rows streamed at
 * 14.1 GB/s against the AVX2 level's 23.4. */
static inline __m256 q8_0_blk_vnni(const sk_block_q8_0 *a, const sk_block_q8_0 *b, float dx,
                                   __m256 acc) {
    __m256i p = vnni_ss(ld256(a->qs), ld256(b->qs));
    return _mm256_fmadd_ps(_mm256_set1_ps(fp16(a->d) * dx), _mm256_cvtepi32_ps(p), acc);
}
SK_DEF_Q8_0_DOTS(dot_q8_0_vnni, dot4_q8_0_vnni, q8_0_blk_vnni)

/* ---- vector ops ---- */

static float v_dot(const float *a, const float *b, int64_t n) {
    return dot_f32(n, a, b, NULL);
}
static float v_sumsq(const float *x, int64_t n) {
    return dot_f32(n, x, x, NULL);
}
static inline __mmask16 tail_mask(int64_t left) {
    return (__mmask16)((1u << left) - 1);
}
static void v_add(float *y, const float *a, const float *b, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)));
    if (i < n) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(
            y + i, m,
            _mm512_add_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
    }
}
static void v_mad(float *y, const float *x, float s, int64_t n) {
    __m512 sv = _mm512_set1_ps(s);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i,
                         _mm512_fmadd_ps(sv, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += s * x[i];
}
/* o += p[s]·v_s for s in order, o held in registers 128 floats at a time: the lane operations
 * of n calls of this level's v_mad (16-wide fmadd, then the scalar tail), so the same bits
 * (the AVX2 version this table would inherit fuses 8-wide blocks that v_mad leaves scalar). */
static void v_attn_mix(float *o, const float *v, size_t ld, const float *p, int64_t n, int64_t d) {
    int64_t i = 0;
    for (; i + 128 <= d; i += 128) {
        __m512 a[8];
        for (int j = 0; j < 8; j++) a[j] = _mm512_loadu_ps(o + i + 16 * j);
        for (int64_t s = 0; s < n; s++) {
            const float *r = v + (size_t)s * ld + i;
            __m512 ps = _mm512_set1_ps(p[s]);
            for (int j = 0; j < 8; j++)
                a[j] = _mm512_fmadd_ps(ps, _mm512_loadu_ps(r + 16 * j), a[j]);
        }
        for (int j = 0; j < 8; j++) _mm512_storeu_ps(o + i + 16 * j, a[j]);
    }
    for (; i + 16 <= d; i += 16) {
        __m512 a = _mm512_loadu_ps(o + i);
        for (int64_t s = 0; s < n; s++)
            a = _mm512_fmadd_ps(_mm512_set1_ps(p[s]), _mm512_loadu_ps(v + (size_t)s * ld + i), a);
        _mm512_storeu_ps(o + i, a);
    }
    for (; i < d; i++) {
        float y = o[i];
        for (int64_t s = 0; s < n; s++) y += p[s] * v[(size_t)s * ld + i];
        o[i] = y;
    }
}

static void v_scale(float *y, float s, int64_t n) {
    __m512 sv = _mm512_set1_ps(s);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_mul_ps(sv, _mm512_loadu_ps(y + i)));
    for (; i < n; i++) y[i] *= s;
}
static void v_mul_scale(float *y, const float *x, const float *w, float s, int64_t n) {
    __m512 sv = _mm512_set1_ps(s);
    int64_t i = 0;
    if (w) {
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), sv),
                                                  _mm512_loadu_ps(w + i)));
        for (; i < n; i++) y[i] = x[i] * s * w[i];
    } else {
        for (; i + 16 <= n; i += 16)
            _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), sv));
        for (; i < n; i++) y[i] = x[i] * s;
    }
}
static float v_max(const float *x, int64_t n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + i));
    float r = _mm512_reduce_max_ps(m);
    for (; i < n; i++) r = x[i] > r ? x[i] : r;
    return r;
}

static uint64_t v_read_sum(const void *p, size_t bytes) {
    const uint8_t *q = p;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 256 <= bytes; i += 256) {
        a0 = _mm512_add_epi64(a0, _mm512_load_si512((const void *)(q + i)));
        a1 = _mm512_add_epi64(a1, _mm512_load_si512((const void *)(q + i + 64)));
        a2 = _mm512_add_epi64(a2, _mm512_load_si512((const void *)(q + i + 128)));
        a3 = _mm512_add_epi64(a3, _mm512_load_si512((const void *)(q + i + 192)));
    }
    __m512i s = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
    return (uint64_t)_mm512_reduce_add_epi64(s);
}

void sk_kfuncs_fill_avx512(sk_kfuncs *f, int has_vnni) {
    f->dot[SK_KT_F32] = dot_f32;
    f->dot[SK_KT_F16] = dot_f16;
    f->dot[SK_KT_BF16] = dot_bf16;
    if (has_vnni) {
        f->dot[SK_KT_Q8_0] = dot_q8_0_vnni;
        f->dot4[SK_KT_Q8_0] = dot4_q8_0_vnni;
    }
    f->vec_dot_f32 = v_dot;
    f->vec_add = v_add;
    f->vec_mad = v_mad;
    f->attn_mix = v_attn_mix;
    f->vec_scale = v_scale;
    f->sumsq = v_sumsq;
    f->mul_scale = v_mul_scale;
    f->vec_max = v_max;
    f->read_sum = v_read_sum;
}
#else
typedef int sk_kern_avx512_unused; /* not an x86-64 build: only the scalar kernels exist */
#endif
