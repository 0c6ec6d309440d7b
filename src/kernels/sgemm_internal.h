/*
 * sgemm_internal.h — what sgemm.c (driver, workspaces, scalar reference) shares with
 * sgemm_avx2.c (packing and the 6×16 micro-kernel, built with -mavx2 -mfma). Not a public
 * header: upper layers call sk_sgemm (sk_kernels.h).
 *
 * Blocking constants (floats): a K block of SK_SG_KC, output row blocks of SK_SG_MC rows and
 * column blocks of SK_SG_NC; every element's sum runs over its K blocks in order, whatever the
 * other two, so the row and column blocking never changes a result (see sgemm.c).
 */
#ifndef SK_SGEMM_INTERNAL_H
#define SK_SGEMM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#define SK_SG_MR 6  /* micro-tile rows */
#define SK_SG_NR 16 /* micro-tile columns (two 8-float vectors) */
#ifndef SK_SG_KC
#define SK_SG_KC 256 /* K block: a packed 16-column B strip is 16 KB, half the L1 */
#endif
#define SK_SG_MC 144  /* row block (24 strips): packed A block 144 KB, in the L2 */
#define SK_SG_NC 1024 /* column block: packed B block 1 MB */

/* The AVX2 + FMA path (sgemm_avx2.c): same contract as sk_sgemm; ws_a holds 16 floats more than
 * SK_SG_MC·SK_SG_KC, ws_b SK_SG_KC·SK_SG_NC floats, both 64-byte aligned. */
void sk_sgemm_avx2(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc, float *ws_a,
                   float *ws_b);

#endif
