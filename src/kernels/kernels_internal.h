/*
 * kernels_internal.h — what the per-level kernel files (kern_scalar.c, kern_avx2.c,
 * kern_avx512.c, kern_neon.c) share with the dispatcher (dispatch.c) and the threaded drivers
 * (matvec.c). Not a public header: upper layers use sk_kernels.h only.
 *
 * Every weight type Seek multiplies has a slot (sk_kt). Each slot pairs the weight with an
 * activation format (sk_act): F32 (the float vector itself) or an 8-bit quantization of it
 * made once per call (Q8_0 / Q8_1 per 32 values, Q8_K per 256 values with 16-value sums).
 * A level's table holds, per slot, the dot product of one weight row with one prepared
 * activation row (`dot`), optionally a 4-row variant (`dot4`, NULL → four `dot` calls, which
 * reads the rows one after the other: on the x86 machines measured that streams faster than
 * interleaving rows, see kern_avx2.c) and a 1-row × 4-token variant for prompt batches
 * (`gemm4`). The scalar table defines the exact arithmetic (see kern_scalar.c); SIMD tables
 * equal it up to the order of float additions.
 */
#ifndef SK_KERNELS_INTERNAL_H
#define SK_KERNELS_INTERNAL_H

#include "sk_kernels.h"

#include <stddef.h>
#include <stdint.h>

typedef enum sk_kt {
    SK_KT_F32 = 0,
    SK_KT_F16,
    SK_KT_BF16,
    SK_KT_Q8_0,
    SK_KT_Q4_0,
    SK_KT_Q4_1,
    SK_KT_Q5_0,
    SK_KT_Q5_1,
    SK_KT_Q2_K,
    SK_KT_Q3_K,
    SK_KT_Q4_K,
    SK_KT_Q5_K,
    SK_KT_Q6_K,
    SK_KT_IQ4_NL,
    SK_KT_IQ4_XS,
    SK_KT_F8,
    SK_KT_COUNT
} sk_kt;

typedef enum sk_act {
    SK_ACT_F32 = 0,
    SK_ACT_Q8_0 = 1, /* sk_block_q8_0 per 32 values: d = amax/127 (fp16), q = roundf(x/d); then
                      * (at sk_act_q8_0_fscale_offset) the block scales again as f32 */
    SK_ACT_Q8_1 = 2, /* sk_block_q8_1: as Q8_0 plus s = fp16(d * sum(q)) */
    SK_ACT_Q8_K = 3, /* sk_block_q8_K per 256 values: d = max/-127 (f32), q = rint(x/d) ≤ 127 */
} sk_act;

int sk_kt_from_type(int type); /* -1 if the type has no matvec kernel */
/* Q8_0 activation rows: byte offset of the f32 copy of the n/32 block scales. */
static inline size_t sk_act_q8_0_fscale_offset(int64_t n) {
    return ((size_t)(n / 32) * sizeof(sk_block_q8_0) + 3) & ~(size_t)3;
}
/* ... then d·Σq per block (f32, n/32) */
static inline size_t sk_act_q8_0_xsum_offset(int64_t n) {
    return sk_act_q8_0_fscale_offset(n) + (size_t)(n / 32) * sizeof(float);
}
/* ... then, 32-byte aligned, the qs of each pair of blocks rearranged (64 bytes per pair) */
static inline size_t sk_act_q8_0_xpair_offset(int64_t n) {
    return (sk_act_q8_0_xsum_offset(n) + (size_t)(n / 32) * sizeof(float) + 31) & ~(size_t)31;
}
/* Q8_K activation rows: after the n/256 blocks, 8 int16 per block (sums of q per 32). */
static inline size_t sk_act_q8_K_s32_offset(int64_t n) {
    return (size_t)(n / 256) * sizeof(sk_block_q8_K);
}
/* ... then, 32-byte aligned, the n qs again with each 64 values' 16-byte quarters in the order
 * 0, 2, 1, 3: the order in which the AVX2 Q4_K and IQ4_XS kernels read them (kern_avx2.c).
 * The row is a multiple of 32 bytes. */
static inline size_t sk_act_q8_K_xperm_offset(int64_t n) {
    return (sk_act_q8_K_s32_offset(n) + (size_t)(n / 256) * 8 * sizeof(int16_t) + 31) & ~(size_t)31;
}
sk_act sk_kt_act(int kt);
/* Bytes of one prepared activation row of n values (n a multiple of the act block). */
size_t sk_act_row_bytes(sk_act a, int64_t n);
/* Prepares x (n floats) as activation format a into dst (sk_act_row_bytes bytes). F32: copies.
 * Uses the active table's block quantizers (every level's give the same bytes). */
void sk_act_quantize(sk_act a, const float *x, void *dst, int64_t n);
struct sk_kfuncs;
/* The same with the block quantizers of table f (tests compare the levels). */
void sk_act_quantize_with(const struct sk_kfuncs *f, sk_act a, const float *x, void *dst,
                          int64_t n);

/* n = row length in elements (a multiple of the weight block); w = the weight row;
 * x = the prepared activation; wscale = F8 only: the row's scale-grid row (ceil(n/128)
 * floats), NULL otherwise. */
typedef float (*sk_dot_fn)(int64_t n, const void *w, const void *x, const float *wscale);
/* y[i] = dot(n, w + i*wstride, x, wscale) for i < 4 (same wscale for the 4 rows). */
typedef void (*sk_dot4_fn)(int64_t n, const void *w, size_t wstride, const void *x,
                           const float *wscale, float *y);

/* One weight row times 4 activation rows (prompt batches): y[t*ystride] = dot(n, w,
 * x + t*xstride, wscale) for t < 4, with the row decoded once for the 4 tokens. Must give
 * bit-identical results to `dot4`/`dot` of the same level (same per-lane operations in the
 * same order), so sk_matmul equals sk_matvec exactly. */
typedef void (*sk_gemm4_fn)(int64_t n, const void *w, const void *x, size_t xstride,
                            const float *wscale, float *y, int64_t ystride);

/* Block quantizers of the activations, bit-identical on every level (the scalar ones in
 * kern_scalar.c define the result):
 *   Q8_0, per 32 values: amax = the largest |x| (NaN values ignored), d = amax/127,
 *     id = 1/d (0 if d = 0), q = round-half-away-from-zero of x·id clamped to [-128, 127]
 *     (NaN → 0), d stored as fp16; qsum[b] = Σ q of block b.
 *   Q8_K, per 256 values: max = the first value of largest |x| (NaN ignored); all zero if
 *     that is 0; else iscale = -127/max, q = round-half-to-even of iscale·x clamped and NaN
 *     → 0 as above, bsums = Σ q per 16, d = 1/iscale (f32).
 * n is a multiple of the block. */
typedef void (*sk_quant_q8_0_fn)(const float *x, sk_block_q8_0 *y, int16_t *qsum, int64_t n);
typedef void (*sk_quant_q8_K_fn)(const float *x, sk_block_q8_K *y, int64_t n);

typedef struct sk_kfuncs {
    sk_dot_fn dot[SK_KT_COUNT];
    sk_dot4_fn dot4[SK_KT_COUNT];
    sk_gemm4_fn gemm4[SK_KT_COUNT]; /* may be NULL */
    float (*vec_dot_f32)(const float *a, const float *b, int64_t n);
    void (*vec_add)(float *y, const float *a, const float *b, int64_t n);
    void (*vec_mad)(float *y, const float *x, float s, int64_t n);
    void (*vec_scale)(float *y, float s, int64_t n);
    float (*sumsq)(const float *x, int64_t n);
    void (*mul_scale)(float *y, const float *x, const float *w, float s,
                      int64_t n); /* y=x*w*s (w may be NULL) */
    float (*vec_max)(const float *x, int64_t n);
    float (*exp_sub_sum)(float *x, float m, int64_t n); /* x = exp(x-m), returns the sum */
    void (*silu)(float *x, int64_t n);
    void (*swiglu)(float *out, const float *g, const float *u, int64_t n);
    void (*sigmoid)(float *x, int64_t n);
    /* Reads bytes (a multiple of 256, 64-byte aligned) with the widest loads; returns a
     * value depending on every byte (so the reads cannot be optimised away). */
    uint64_t (*read_sum)(const void *p, size_t bytes);
    sk_quant_q8_0_fn quant_q8_0;
    sk_quant_q8_K_fn quant_q8_K;
    /* sk_attn_dots / sk_attn_mix (sk_kernels.h); attn_mix equals n vec_mad calls exactly */
    void (*attn_dots)(const float *q, const float *k, size_t ld, int64_t n, int64_t d, float *out);
    void (*attn_mix)(float *o, const float *v, size_t ld, const float *p, int64_t n, int64_t d);
} sk_kfuncs;

void sk_kfuncs_fill_scalar(sk_kfuncs *f);
#if defined(SEEK_HAVE_X86_KERNELS)
void sk_kfuncs_fill_avx2(sk_kfuncs *f); /* overrides the entries it implements */
void sk_kfuncs_fill_avx512(sk_kfuncs *f, int has_vnni);
/* kern_avx512.c built on SIMDe's emulated AVX-512 (SK_AVX512_SIMDE): linked into the tests
 * only (tests/kernels), which check that level on CPUs without AVX-512. */
void sk_kfuncs_fill_avx512_simde(sk_kfuncs *f, int has_vnni);
#endif
#if defined(SEEK_HAVE_NEON_KERNELS)
void sk_kfuncs_fill_neon(sk_kfuncs *f); /* overrides the entries it implements */
#endif

/* The active table (never NULL; initialised on first use, thread-safe). */
const sk_kfuncs *sk_kfuncs_active(void);
/* The table of a level (NULL if this CPU or build lacks it). For tests. */
const sk_kfuncs *sk_kfuncs_for_level(sk_cpu_level level);

/* Scalar helpers shared by the kernel files. */
static inline float sk_k_fp16(sk_fp16 h) {
    return sk_fp16_to_f32(h);
}

/* Q4_K / Q5_K: 6-bit scale and min of sub-block j from the 12 packed bytes. */
static inline void sk_k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4));
        *mn = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Q3_K: the 16 signed 6-bit scales (−32..31). */
static inline void sk_k_q3_scales(const uint8_t *s, int8_t *out) {
    for (int i = 0; i < 16; i++) {
        int low4 = i < 8 ? (s[i] & 0xF) : (s[i - 8] >> 4);
        int high2 = (s[8 + (i % 4)] >> (2 * (i / 4))) & 3;
        out[i] = (int8_t)((low4 | (high2 << 4)) - 32);
    }
}

/* FP8 E4M3 → f32 table (NaN codes 0x7F/0xFF decode to NaN). */
extern float sk_k_fp8_lut[256];
void sk_k_init_fp8_lut(void);

#endif
