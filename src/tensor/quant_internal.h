/* quant_internal.h — helpers shared by the tensor module's codec files (not a public header). */
#ifndef SK_QUANT_INTERNAL_H
#define SK_QUANT_INTERNAL_H

#include "sk_tensor.h"

#include <string.h>

/* Bit-exactness with llama.cpp needs every a*b+c rounded twice, never fused: the module is built
 * with -ffp-contract=off (src/tensor/CMakeLists.txt); the pragma covers clang builds without it. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static inline uint16_t sk_rd16(const void *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}
static inline uint32_t sk_rd32(const void *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Lane-parallel (AVX2) forms of the searched-scale fits, bit-identical to the scalar ones
 * (quantize_avx2.c). xt/wt hold 8 sub-blocks transposed: xt[i*8 + j] = element i of sub-block j. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define SK_QUANT_HAVE_AVX2 1
#else
#define SK_QUANT_HAVE_AVX2 0
#endif
bool sk_quant_cpu_has_avx2(void);
void sk_qkx2_x8_avx2(const float *xt, const float *wt, int n, int nmax, float rmin, float rdelta,
                     int nstep, bool use_mad, uint8_t *Lt, float scale_out[8],
                     float the_min_out[8]);
void sk_q8_0_avx2(const float *x, void *dst, int64_t nb);
void sk_q3_x8_avx2(const float *xt, int n, int nmax, int8_t *Lt, float scale_out[8]);
void sk_qx_x8_avx2(const float *xt, int n, int nmax, int8_t *Lt, float scale_out[8]);
void sk_iq4_scale_x8_avx2(const float *xt, float d_out[8]);
void sk_iq4_index_x8_avx2(const float *xt, const float id[8], uint8_t *Lt);

void sk_q3k_unpack_scales(const uint8_t s[12], int8_t out[16]);
void sk_k4_scale_min(int j, const uint8_t q[12], uint8_t *sc, uint8_t *mn);

#endif
