/* kern_test.h — helpers shared by the kernel tests (test_kernels, test_kernels_real,
 * test_kernels_avx512_simde): the weight types with a matvec kernel, a deterministic xorshift
 * generator, random activation vectors,
 * the element count of one block of a weight type, and the activation row a kernel sees,
 * dequantized (the exact values its integer dot uses). Header-only; include after
 * sk_kernels.h and kernels_internal.h. */
#ifndef SEEK_KERN_TEST_H
#define SEEK_KERN_TEST_H

#include <stdint.h>
#include <string.h>

/* every weight type sk_matvec multiplies */
static const int k_types[] = {SK_TYPE_F32,  SK_TYPE_F16,    SK_TYPE_BF16,   SK_TYPE_Q8_0,
                              SK_TYPE_Q4_0, SK_TYPE_Q4_1,   SK_TYPE_Q5_0,   SK_TYPE_Q5_1,
                              SK_TYPE_Q2_K, SK_TYPE_Q3_K,   SK_TYPE_Q4_K,   SK_TYPE_Q5_K,
                              SK_TYPE_Q6_K, SK_TYPE_IQ4_NL, SK_TYPE_IQ4_XS, SK_TYPE_F8_E4M3};
#define N_TYPES ((int)(sizeof k_types / sizeof k_types[0]))

/* the generator's state; a test may set another seed before its first draw */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline uint32_t rnd32(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}
static inline float rndf(float lo, float hi) { /* uniform */
    return lo + (hi - lo) * (float)(rnd32() & 0xFFFFFF) / 16777216.0f;
}
static inline void rnd_vec(float *x, int64_t n, float amp) {
    for (int64_t i = 0; i < n; i++) x[i] = rndf(-amp, amp);
    if (n > 3) x[n / 2] = 3 * amp; /* an outlier, as real activations have */
}

static inline float h2f(sk_fp16 h) {
    return sk_fp16_to_f32(h);
}

/* elements per block as the kernels step through a row (FP8: any count, its scale blocks are
 * separate) */
static inline int64_t block_of(int type) {
    return type == SK_TYPE_F8_E4M3 ? 1 : sk_type_info(type)->block_size;
}

/* The activation the kernel sees, dequantized (the exact values the integer dot uses). */
static inline void act_dequant(sk_act a, const void *src, float *y, int64_t n) {
    if (a == SK_ACT_F32) {
        memcpy(y, src, (size_t)n * 4);
    } else if (a == SK_ACT_Q8_0) {
        const sk_block_q8_0 *b = src;
        for (int64_t i = 0; i < n; i++) y[i] = h2f(b[i / 32].d) * b[i / 32].qs[i % 32];
    } else if (a == SK_ACT_Q8_1) {
        const sk_block_q8_1 *b = src;
        for (int64_t i = 0; i < n; i++) y[i] = h2f(b[i / 32].d) * b[i / 32].qs[i % 32];
    } else {
        const sk_block_q8_K *b = src;
        for (int64_t i = 0; i < n; i++) y[i] = b[i / 256].d * b[i / 256].qs[i % 256];
    }
}

#endif
