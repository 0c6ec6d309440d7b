/* kern_avx512_simde.h — what kern_avx512.c includes instead of <immintrin.h> when it is built
 * as the emulated AVX-512 level (SK_AVX512_SIMDE; only tests/kernels builds it, as
 * sk_kfuncs_fill_avx512_simde): SIMDe's portable AVX-512 under the Intel names
 * (SIMDE_ENABLE_NATIVE_ALIASES), so the same kernels run and are checked on CPUs without
 * AVX-512. The object is compiled with -mavx2 -mfma -mf16c, never -mavx512*: SIMDe then does
 * the 512-bit work in AVX2 halves or plain C, and the AVX2/F16C intrinsics of the file
 * (_mm256_*, _cvtsh_ss) stay the native ones. It checks the logic, not real-hardware speed.
 *
 * Below, element-wise versions of the intrinsics kern_avx512.c uses that SIMDe 0.7.4
 * (Debian 12) lacks: the 512-bit reductions, _mm512_cvtph_ps, _mm512_cvtepu16_epi32 and the
 * masked load/store. They replace SIMDe's with every SIMDe version: later versions implement
 * the masked load/store by touching all 64 bytes, where the hardware reads and writes only
 * the lanes of the mask (the tails past the end of a buffer must stay untouched, which ASan
 * checks), and the float reductions here add in the order the compilers' own sequences do
 * (halves, quarters, then pairs). */
#ifndef SK_KERN_AVX512_SIMDE_H
#define SK_KERN_AVX512_SIMDE_H

#if defined(__AVX512F__)
#error "the emulated AVX-512 level must not be compiled with -mavx512*: it would run real AVX-512"
#endif
#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "the emulated AVX-512 level is compiled with -mavx2 -mfma -mf16c"
#endif

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <simde/x86/f16c.h>

#include <stdint.h>
#include <string.h>

static inline simde__m512 sk_emu_mm512_maskz_loadu_ps(simde__mmask16 k, const void *p) {
    float t[16];
    for (int i = 0; i < 16; i++) {
        t[i] = 0.0f;
        if ((k >> i) & 1) memcpy(&t[i], (const char *)p + 4 * i, 4);
    }
    return simde_mm512_loadu_ps(t);
}

static inline void sk_emu_mm512_mask_storeu_ps(void *p, simde__mmask16 k, simde__m512 a) {
    float t[16];
    simde_mm512_storeu_ps(t, a);
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) memcpy((char *)p + 4 * i, &t[i], 4);
}

static inline float sk_emu_mm512_reduce_add_ps(simde__m512 a) {
    float t[16];
    simde_mm512_storeu_ps(t, a);
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) t[i] = t[i + w] + t[i];
    return t[0];
}

static inline float sk_emu_mm512_reduce_max_ps(simde__m512 a) {
    float t[16];
    simde_mm512_storeu_ps(t, a);
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) t[i] = t[i + w] > t[i] ? t[i + w] : t[i];
    return t[0];
}

static inline long long sk_emu_mm512_reduce_add_epi64(simde__m512i a) {
    uint64_t t[8], s = 0;
    simde_mm512_storeu_si512(t, a);
    for (int i = 0; i < 8; i++) s += t[i]; /* wraps, as the hardware's */
    return (long long)s;
}

static inline simde__m512 sk_emu_mm512_cvtph_ps(simde__m256i h) {
    float t[16];
    simde_mm256_storeu_ps(t, simde_mm256_cvtph_ps(simde_mm256_castsi256_si128(h)));
    simde_mm256_storeu_ps(t + 8, simde_mm256_cvtph_ps(simde_mm256_extracti128_si256(h, 1)));
    return simde_mm512_loadu_ps(t);
}

static inline simde__m512i sk_emu_mm512_cvtepu16_epi32(simde__m256i a) {
    uint16_t h[16];
    int32_t t[16];
    simde_mm256_storeu_si256(h, a);
    for (int i = 0; i < 16; i++) t[i] = h[i];
    return simde_mm512_loadu_si512(t);
}

#undef _mm512_maskz_loadu_ps
#undef _mm512_mask_storeu_ps
#undef _mm512_reduce_add_ps
#undef _mm512_reduce_max_ps
#undef _mm512_reduce_add_epi64
#undef _mm512_cvtph_ps
#undef _mm512_cvtepu16_epi32
#define _mm512_maskz_loadu_ps(k, p)    sk_emu_mm512_maskz_loadu_ps(k, p)
#define _mm512_mask_storeu_ps(p, k, a) sk_emu_mm512_mask_storeu_ps(p, k, a)
#define _mm512_reduce_add_ps(a)        sk_emu_mm512_reduce_add_ps(a)
#define _mm512_reduce_max_ps(a)        sk_emu_mm512_reduce_max_ps(a)
#define _mm512_reduce_add_epi64(a)     sk_emu_mm512_reduce_add_epi64(a)
#define _mm512_cvtph_ps(h)             sk_emu_mm512_cvtph_ps(h)
#define _mm512_cvtepu16_epi32(a)       sk_emu_mm512_cvtepu16_epi32(a)

#endif
