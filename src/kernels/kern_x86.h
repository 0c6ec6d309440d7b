/* kern_x86.h — what the x86 kernel levels share (kern_avx2.c, kern_avx512.c; nothing else
 * includes it): the software prefetch distances and helpers, the rule for when a 4-row Q8_0
 * product reads its rows interleaved, and the Q8_0 row dots of both levels (one definition,
 * so their float operations are the same). No state; every helper is a static inline.
 * The prefetches use __builtin_prefetch(p, 0, 3), which GCC and Clang emit as PREFETCHT0,
 * so the AVX-512 file can use them also when it is built on SIMDe for the tests. */
#ifndef SK_KERN_X86_H
#define SK_KERN_X86_H

#include <stddef.h>
#include <stdint.h>

/* Software prefetch distances, in bytes ahead in the row. Measured on the Zen 3 (quiet, 2
 * threads, 512 MiB matrices, five alternating rounds): Q4_K streamed 25.2 GB/s at 640 bytes,
 * 27.4 at 1536 and 28.0 at 2560; Q8_0 one row at a time (1536 columns) 29.3 / 31.3 / 32.9;
 * the 4-row Q8_0 path (7168 columns) was best at 512 (30.5 against 28.1 and 27.4).
 * SK_PF_STREAM is the distance of the single-row kernels. Against their earlier distances
 * (256-640 bytes, or none), on 256 MB matrices at 2 threads with the variants alternating in
 * one process (median of 24 rounds): Q4_0 +14 %, Q5_0 +7 %, Q6_K +8 %, Q5_K +21 %,
 * IQ4_XS +8 %, IQ4_NL +8 %, Q3_K +6 %, Q2_K +5 %. F16 and BF16 (f32 activations, little
 * arithmetic per byte) ran 6-15 % slower with it and Q4_1 / Q5_1 no faster, so they have none;
 * 1536, 3840 and 5120 bytes were within -3.3 % … +2.8 % of 2560 for Q4_K, Q8_0 and Q5_0. */
#ifndef SK_PF_STREAM
#define SK_PF_STREAM 2560
#endif
/* Loop markers for llvm-mca (bench/mca.sh): built with SEEK_MCA defined, each marks the body
 * of a dot kernel's main loop as a named region of the assembly; otherwise they are nothing. */
#ifdef SEEK_MCA
#define SK_MCA_BEGIN(name) __asm__ volatile("# LLVM-MCA-BEGIN " name)
#define SK_MCA_END()       __asm__ volatile("# LLVM-MCA-END")
#else
#define SK_MCA_BEGIN(name) ((void)0)
#define SK_MCA_END()       ((void)0)
#endif

/* Prefetch `lines` cache lines SK_PF_STREAM bytes past p (a block about to be read). */
static inline void pf_ahead(const void *p, int lines) {
    const char *q = (const char *)p + SK_PF_STREAM;
    for (int l = 0; l < lines; l++) __builtin_prefetch(q + 64 * l, 0, 3);
}

#ifndef SK_PF_Q8X4
#define SK_PF_Q8X4 512
#endif
/* Software prefetch for the 4-row kernels: each of the 4 rows, off bytes from its start. */
static inline void prefetch4(const uint8_t *w, size_t wstride, size_t off) {
    const char *p = (const char *)w + off;
    __builtin_prefetch(p, 0, 3);
    __builtin_prefetch(p + wstride, 0, 3);
    __builtin_prefetch(p + 2 * wstride, 0, 3);
    __builtin_prefetch(p + 3 * wstride, 0, 3);
}

/* Q8_0 rows up to this many bytes are multiplied one after the other by dot4 (see the memory
 * order note at the top of kern_avx2.c); longer rows 4 at a time, interleaved (measured faster
 * at 7168 and 8960 columns, where the single-row loop is the slower part). Both levels follow
 * it. On a Xeon (Sapphire Rapids family, 2 of 16 threads, 1536 columns), the VNNI dot4 that
 * read its rows 4 at a time, interleaved and without prefetch, streamed 14.1 GB/s; one row
 * after the other with the prefetch, 21.1-21.8. On the Zen 3, two Q4_K rows read side by side
 * ran at 0.69 of one after the other (2048 columns, 2 threads, median of 16 paired rounds). */
#ifndef SK_SEQ_MAX
#define SK_SEQ_MAX 3072
#endif

/* The Q8_0 dot and 4-row dot of a level, from its block step BLK(a, b, dx, acc): acc += the
 * 8 int32 lane sums of weight block a times activation block b, scaled by d_a·dx. Two f32
 * accumulators per row, even and odd blocks, an odd last block to the even one, added at the
 * end; the activation scales from the f32 copy after the blocks (act.c). The AVX2 level
 * (maddubs+madd) and the VNNI one (vpdpbusd) both expand it, and the AVX2 gemm4_q8_0 does the
 * same lane operations, so all three give the same bits (the VNNI level keeps the AVX2
 * gemm4, which sk_matmul must match). Rows of up to SK_SEQ_MAX bytes go one after the other;
 * longer ones 4 at a time, interleaved, the activation block and its scale loaded once for
 * all four. The including file provides hsum8 and the intrinsics. */
#define SK_DEF_Q8_0_DOTS(DOT, DOT4, BLK)                                                           \
    static float DOT(int64_t n, const void *w, const void *x, const float *ws) {                   \
        (void)ws;                                                                                  \
        const sk_block_q8_0 *a = w, *b = x;                                                        \
        const float *dx = (const float *)((const uint8_t *)x + sk_act_q8_0_fscale_offset(n));      \
        __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;                                            \
        int64_t nb = n / 32, ib = 0;                                                               \
        for (; ib + 2 <= nb; ib += 2) {                                                            \
            SK_MCA_BEGIN(#DOT);                                                                    \
            pf_ahead(a + ib, 1);                                                                   \
            acc0 = BLK(a + ib, b + ib, dx[ib], acc0);                                              \
            acc1 = BLK(a + ib + 1, b + ib + 1, dx[ib + 1], acc1);                                  \
            SK_MCA_END();                                                                          \
        }                                                                                          \
        if (ib < nb) acc0 = BLK(a + ib, b + ib, dx[ib], acc0);                                     \
        return hsum8(_mm256_add_ps(acc0, acc1));                                                   \
    }                                                                                              \
    static void DOT4(int64_t n, const void *w, size_t wstride, const void *x, const float *ws,     \
                     float *y) {                                                                   \
        (void)ws;                                                                                  \
        if (wstride <= SK_SEQ_MAX) {                                                               \
            for (int k = 0; k < 4; k++) y[k] = DOT(n, (const uint8_t *)w + k * wstride, x, NULL);  \
            return;                                                                                \
        }                                                                                          \
        const sk_block_q8_0 *b = x;                                                                \
        const float *fx = (const float *)((const uint8_t *)x + sk_act_q8_0_fscale_offset(n));      \
        const sk_block_q8_0 *r[4];                                                                 \
        __m256 acc[4][2];                                                                          \
        for (int k = 0; k < 4; k++) {                                                              \
            r[k] = (const sk_block_q8_0 *)((const uint8_t *)w + k * wstride);                      \
            acc[k][0] = acc[k][1] = _mm256_setzero_ps();                                           \
        }                                                                                          \
        int64_t nb = n / 32, ib = 0;                                                               \
        for (; ib + 2 <= nb; ib += 2) {                                                            \
            prefetch4(w, wstride, (size_t)ib * sizeof(sk_block_q8_0) + SK_PF_Q8X4);                \
            prefetch4(w, wstride, (size_t)(ib + 1) * sizeof(sk_block_q8_0) + SK_PF_Q8X4);          \
            for (int k = 0; k < 4; k++) acc[k][0] = BLK(r[k] + ib, b + ib, fx[ib], acc[k][0]);     \
            for (int k = 0; k < 4; k++)                                                            \
                acc[k][1] = BLK(r[k] + ib + 1, b + ib + 1, fx[ib + 1], acc[k][1]);                 \
        }                                                                                          \
        if (ib < nb)                                                                               \
            for (int k = 0; k < 4; k++) acc[k][0] = BLK(r[k] + ib, b + ib, fx[ib], acc[k][0]);     \
        for (int k = 0; k < 4; k++) y[k] = hsum8(_mm256_add_ps(acc[k][0], acc[k][1]));             \
    }

#endif
