/* sgemm_avx2.c — the AVX2 + FMA path of sk_sgemm (built with -mavx2 -mfma on x86-64 only;
 * sgemm.c calls it when the active kernel level is AVX2 or better). The blocking is explained
 * in sgemm.c; this file holds the packing routines and the 6×16 micro-kernel.
 *
 * Micro-kernel: a 6×16 tile of C lives in 12 ymm accumulators (6 rows × 2 vectors of 8). Per
 * k it loads two vectors of the packed B strip (16 floats of row k of op(B)), broadcasts the 6
 * values of column k of op(A) one by one and issues 12 FMAs: 8 loads per 12 FMAs, which the
 * two load ports of Zen 3 / Haswell-class cores sustain while both FMA pipes stay busy, and 15
 * of the 16 ymm registers in use. A is either read in place (op(A) = A: the 6 rows are 6
 * sequential streams) or packed (op(A) = Aᵀ: column k of op(A) is a row piece of A, and with a
 * power-of-two lda the rows of a K block would fight over the same L1 sets); B is always packed
 * (16 floats per k, 64-byte aligned, zero columns past N).
 *
 * Every element is accumulated in its own lane in k order with one fused multiply-add per k,
 * then stored as C = alpha·acc (beta 0, first K block), fma(alpha, acc, C) (beta 1 or a later
 * K block) or fma(alpha, acc, beta·C). Edge tiles go through a 6×16 copy with the same vector
 * code, so an element's result does not depend on where it sits in a tile or a block.
 */
#if defined(SEEK_HAVE_X86_KERNELS)
#include "sgemm_internal.h"

#include <immintrin.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#define MR SK_SG_MR
#define NR SK_SG_NR
#define KC SK_SG_KC
#define MC SK_SG_MC
#define NC SK_SG_NC
/* op(A) = A is read in place when the column block has at most this many columns (few B
 * strips reuse a packed copy), else packed */
#define PACK_A_MIN_N 64

/* Software prefetch in the packing loops: the operands are often activations that were just
 * written (or not touched for a while) and come from the L3 or memory; packing row k
 * prefetches row k + PF_ROWS (k-outer loops) or PF_FLOATS floats ahead along a row. */
#define PF_ROWS     4
#define PF_FLOATS   64
#define PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)

/* lane mask of the first n (0..8) lanes */
static inline __m256i lane_mask(int n) {
    static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(m + 8 - n));
}

/* 8×8 transpose: r[i] holds row i on entry, column i on return */
static inline void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    /* s0: columns 0 and 4 of rows 0-3, s1: columns 1 and 5, s2: 2 and 6, s3: 3 and 7 */
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* Packs op(B)[p0 .. p0+kc) × [j0 .. j0+nc) into strips of 16 columns: strip s, row k at
 * bp + (s·kc + k)·16; columns past nc are zero. tb: B is N×K (op(B)[k][j] = B[j·ldb + k]). */
static void pack_b(bool tb, const float *B, size_t ldb, int p0, int kc, int j0, int nc, float *bp) {
    if (!tb) { /* k outer: each row piece of B is read once, front to back */
        const float *src = B + (size_t)p0 * ldb + (size_t)j0;
        int full = nc / NR * NR, nr = nc - full;
        __m256i m0 = lane_mask(nr < 8 ? nr : 8), m1 = lane_mask(nr > 8 ? nr - 8 : 0);
        for (int k = 0; k < kc; k++, src += ldb) {
            float *d = bp + (size_t)k * NR;
            for (int js = 0; js < nc; js += NR) PREFETCH(src + PF_ROWS * ldb + js);
            for (int js = 0; js < full; js += NR, d += (size_t)kc * NR) {
                _mm256_store_ps(d, _mm256_loadu_ps(src + js));
                _mm256_store_ps(d + 8, _mm256_loadu_ps(src + js + 8));
            }
            if (nr) {
                _mm256_store_ps(d, _mm256_maskload_ps(src + full, m0));
                _mm256_store_ps(d + 8, _mm256_maskload_ps(src + full + 8, m1));
            }
        }
        return;
    }
    for (int js = 0; js < nc; js += NR, bp += (size_t)kc * NR) {
        int nr = nc - js < NR ? nc - js : NR;
        /* transposed: 8 rows of B (8 columns of op(B)) × 8 k at a time */
        const float *src = B + (size_t)(j0 + js) * ldb + (size_t)p0;
        for (int h = 0; h < NR; h += 8) {
            int nh = nr - h; /* valid columns in this half */
            if (nh >= 8) {
                const float *s = src + (size_t)h * ldb;
                int k = 0;
                for (; k + 8 <= kc; k += 8) {
                    __m256 r[8];
                    for (int i = 0; i < 8; i++) {
                        r[i] = _mm256_loadu_ps(s + (size_t)i * ldb + k);
                        PREFETCH(s + (size_t)i * ldb + k + PF_FLOATS);
                    }
                    transpose8(r);
                    for (int i = 0; i < 8; i++) _mm256_store_ps(bp + (k + i) * NR + h, r[i]);
                }
                for (; k < kc; k++)
                    for (int i = 0; i < 8; i++) bp[k * NR + h + i] = s[(size_t)i * ldb + k];
            } else {
                for (int k = 0; k < kc; k++)
                    for (int i = 0; i < 8; i++)
                        bp[k * NR + h + i] = i < nh ? src[(size_t)(h + i) * ldb + k] : 0.0f;
            }
        }
    }
}

/* Packs op(A) rows [i0 .. i0+mc) × [p0 .. p0+kc) into strips of 6 rows: strip s, column k at
 * ap + (s·kc + k)·6. ta: A is K×M (op(A)[i][k] = A[k·lda + i]). A strip's missing rows are not
 * written (the micro-kernel reads row 0 in their place). ap needs 2 floats of slack past the
 * block (the 8-float stores below). */
static void pack_a(bool ta, const float *A, size_t lda, int p0, int kc, int i0, int mc, float *ap) {
    if (ta) { /* k outer: each row of A is read once, front to back */
        const float *src = A + (size_t)p0 * lda + (size_t)i0;
        size_t step = (size_t)kc * MR;
        for (int k = 0; k < kc; k++, src += lda) {
            float *d = ap + (size_t)k * MR;
            for (int is = 0; is < mc; is += 16) PREFETCH(src + PF_ROWS * lda + is);
            int is = 0;
            for (; is + MR <= mc; is += MR, d += step) {
                _mm_storeu_ps(d, _mm_loadu_ps(src + is));
                _mm_storel_epi64((__m128i *)(d + 4),
                                 _mm_loadl_epi64((const __m128i *)(src + is + 4)));
            }
            for (int r = 0; is + r < mc; r++) d[r] = src[is + r];
        }
        return;
    }
    for (int is = 0; is < mc; is += MR, ap += (size_t)kc * MR) {
        int mr = mc - is < MR ? mc - is : MR;
        const float *src = A + (size_t)(i0 + is) * lda + (size_t)p0;
        int k = 0;
        if (mr == MR) /* 6 rows × 8 k: transposed to 8 columns of 6 (2 zero rows), each stored
                       * as 8 floats over the next column's slot, which the next store fixes */
            for (; k + 8 <= kc; k += 8) {
                __m256 r[8];
                for (int i = 0; i < MR; i++) {
                    r[i] = _mm256_loadu_ps(src + (size_t)i * lda + k);
                    PREFETCH(src + (size_t)i * lda + k + PF_FLOATS);
                }
                r[6] = r[7] = _mm256_setzero_ps();
                transpose8(r);
                for (int i = 0; i < 8; i++) _mm256_storeu_ps(ap + (k + i) * MR, r[i]);
            }
        for (; k < kc; k++)
            for (int i = 0; i < mr; i++) ap[k * MR + i] = src[(size_t)i * lda + k];
    }
}

/* one row of a tile: mode 0 c = alpha·x, 1 c = fma(alpha, x, c), 2 c = fma(alpha, x, beta·c) */
static inline void store_row(float *c, __m256 x0, __m256 x1, __m256 va, __m256 vb, int mode) {
    if (mode == 0) {
        _mm256_storeu_ps(c, _mm256_mul_ps(va, x0));
        _mm256_storeu_ps(c + 8, _mm256_mul_ps(va, x1));
    } else if (mode == 1) {
        _mm256_storeu_ps(c, _mm256_fmadd_ps(va, x0, _mm256_loadu_ps(c)));
        _mm256_storeu_ps(c + 8, _mm256_fmadd_ps(va, x1, _mm256_loadu_ps(c + 8)));
    } else {
        _mm256_storeu_ps(c, _mm256_fmadd_ps(va, x0, _mm256_mul_ps(vb, _mm256_loadu_ps(c))));
        _mm256_storeu_ps(c + 8, _mm256_fmadd_ps(va, x1, _mm256_mul_ps(vb, _mm256_loadu_ps(c + 8))));
    }
}

/* C[mr][nr] (ldc) = the tile rule above for op(A) rows at a + r·rsa, column k at + k·csa, and
 * the packed B strip b (kc rows of 16). Rows r >= mr read row 0 and are not stored. */
static void kern_6x16(int kc, const float *a, size_t rsa, size_t csa, int mr, const float *b,
                      float *c, size_t ldc, int nr, float alpha, float beta, int mode) {
    const float *a0 = a, *a1 = a + (mr > 1 ? rsa : 0), *a2 = a + (mr > 2 ? 2 * rsa : 0);
    const float *a3 = a + (mr > 3 ? 3 * rsa : 0), *a4 = a + (mr > 4 ? 4 * rsa : 0);
    const float *a5 = a + (mr > 5 ? 5 * rsa : 0);
    for (int r = 0; r < mr; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + nr - 1), _MM_HINT_T0);
    }
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    size_t o = 0;
    for (int k = 0; k < kc; k++, o += csa, b += NR) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), x;
        x = _mm256_broadcast_ss(a0 + o);
        c00 = _mm256_fmadd_ps(x, b0, c00);
        c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(a1 + o);
        c10 = _mm256_fmadd_ps(x, b0, c10);
        c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(a2 + o);
        c20 = _mm256_fmadd_ps(x, b0, c20);
        c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(a3 + o);
        c30 = _mm256_fmadd_ps(x, b0, c30);
        c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(a4 + o);
        c40 = _mm256_fmadd_ps(x, b0, c40);
        c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(a5 + o);
        c50 = _mm256_fmadd_ps(x, b0, c50);
        c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    if (mr == MR && nr == NR) {
        store_row(c, c00, c01, va, vb, mode);
        store_row(c + ldc, c10, c11, va, vb, mode);
        store_row(c + 2 * ldc, c20, c21, va, vb, mode);
        store_row(c + 3 * ldc, c30, c31, va, vb, mode);
        store_row(c + 4 * ldc, c40, c41, va, vb, mode);
        store_row(c + 5 * ldc, c50, c51, va, vb, mode);
        return;
    }
    alignas(32) float t[MR * NR] = {0};
    if (mode != 0)
        for (int r = 0; r < mr; r++) memcpy(t + r * NR, c + r * ldc, sizeof(float) * (size_t)nr);
    store_row(t, c00, c01, va, vb, mode);
    store_row(t + NR, c10, c11, va, vb, mode);
    store_row(t + 2 * NR, c20, c21, va, vb, mode);
    store_row(t + 3 * NR, c30, c31, va, vb, mode);
    store_row(t + 4 * NR, c40, c41, va, vb, mode);
    store_row(t + 5 * NR, c50, c51, va, vb, mode);
    for (int r = 0; r < mr; r++) memcpy(c + r * ldc, t + r * NR, sizeof(float) * (size_t)nr);
}

void sk_sgemm_avx2(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
                   const float *B, int ldb, float beta, float *C, int ldc, float *ws_a,
                   float *ws_b) {
    size_t la = (size_t)lda, lb = (size_t)ldb, lc = (size_t)ldc;
    for (int jc = 0; jc < N; jc += NC) {
        int nc = N - jc < NC ? N - jc : NC;
        for (int pc = 0; pc < K; pc += KC) {
            int kc = K - pc < KC ? K - pc : KC;
            float bet = pc == 0 ? beta : 1.0f;
            int mode = bet == 0.0f ? 0 : bet == 1.0f ? 1 : 2;
            pack_b(tb, B, lb, pc, kc, jc, nc, ws_b);
            for (int ic = 0; ic < M; ic += MC) {
                int mc = M - ic < MC ? M - ic : MC;
                bool pa = ta || nc > PACK_A_MIN_N;
                if (pa) pack_a(ta, A, la, pc, kc, ic, mc, ws_a);
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = nc - jr < NR ? nc - jr : NR;
                    const float *bp = ws_b + (size_t)(jr / NR) * kc * NR;
                    float *cb = C + (size_t)ic * lc + (size_t)(jc + jr);
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = mc - ir < MR ? mc - ir : MR;
                        if (pa)
                            kern_6x16(kc, ws_a + (size_t)(ir / MR) * kc * MR, 1, MR, mr, bp,
                                      cb + (size_t)ir * lc, lc, nr, alpha, bet, mode);
                        else
                            kern_6x16(kc, A + (size_t)(ic + ir) * la + (size_t)pc, la, 1, mr, bp,
                                      cb + (size_t)ir * lc, lc, nr, alpha, bet, mode);
                    }
                }
            }
        }
    }
}
#else
typedef int sk_sgemm_avx2_unused; /* not an x86-64 build: only the scalar sgemm exists */
#endif
