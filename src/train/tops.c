/* tops.c — forward/backward primitives of the trainer (see train_internal.h). */
#include "train_internal.h"

#include "sk_kernels.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* ---- bf16 matrix products (sk_train_set_bf16): every operand of tr_mm_fwd / tr_mm_bwd is
 * rounded to bfloat16 (round to nearest even; the value kept in a float), the products
 * accumulate in float32 (OpenBLAS sgemm on the rounded values). CPUs with AVX-512 BF16 would
 * round with vcvtneps2bf16 (tr_bf16_round_avx512bf16: also nearest even, but denormal inputs
 * flush to zero); it is compiled where the compiler supports it and used only when
 * the CPU reports the feature. The buffers are reused across calls (main thread only). ---- */
static bool g_bf16;
static float *g_bf_buf[3];
static size_t g_bf_cap[3];

void sk_train_set_bf16(bool on) {
    g_bf16 = on;
    if (!on)
        for (int i = 0; i < 3; i++) {
            free(g_bf_buf[i]);
            g_bf_buf[i] = NULL;
            g_bf_cap[i] = 0;
        }
}

bool sk_train_get_bf16(void) {
    return g_bf16;
}

static inline float bf16_round(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) { /* inf / NaN: truncate, keep NaN a NaN */
        u = (u & 0x007fffffu) ? (u | 0x00400000u) & 0xffff0000u : u & 0xffff0000u;
    } else {
        u += 0x7fffu + ((u >> 16) & 1u);
        u &= 0xffff0000u;
    }
    memcpy(&x, &u, 4);
    return x;
}

void tr_bf16_round(float *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = bf16_round(src[i]);
}

#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 10 && defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx512f,avx512bf16"))) static void
tr_bf16_round_avx512bf16(float *dst, const float *src, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(src + i);
        __m256bh h = _mm512_cvtneps_pbh(v);
        __m512i w = _mm512_slli_epi32(_mm512_cvtepu16_epi32((__m256i)h), 16);
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(w));
    }
    for (; i < n; i++) dst[i] = bf16_round(src[i]);
}
#define TR_HAVE_AVX512BF16 1
#endif

static const float *bf16_copy(int slot, const float *src, size_t n) {
    if (n > g_bf_cap[slot]) {
        float *p = realloc(g_bf_buf[slot], sizeof(float) * n);
        if (!p) return src; /* out of memory: this product stays f32 */
        g_bf_buf[slot] = p;
        g_bf_cap[slot] = n;
    }
#ifdef TR_HAVE_AVX512BF16
    if (__builtin_cpu_supports("avx512bf16")) {
        tr_bf16_round_avx512bf16(g_bf_buf[slot], src, n);
        return g_bf_buf[slot];
    }
#endif
    tr_bf16_round(g_bf_buf[slot], src, n);
    return g_bf_buf[slot];
}

/* ---- the matrix product backend (sk_train_set_gemm): every product below goes through
 * sgemm_rm, row-major C = alpha op(A) op(B) + beta C, with OpenBLAS or sk_sgemm ---- */
static _Atomic int g_gemm = SK_TRAIN_GEMM_AUTO;
static pthread_once_t g_gemm_env_once = PTHREAD_ONCE_INIT;
static sk_train_gemm g_gemm_env = SK_TRAIN_GEMM_AUTO; /* SEEK_GEMM, if set */

static void gemm_env_read(void) {
    const char *s = getenv("SEEK_GEMM");
    if (!s || !*s || !strcmp(s, "auto")) return;
    if (!strcmp(s, "blas"))
        g_gemm_env = SK_TRAIN_GEMM_BLAS;
    else if (!strcmp(s, "seek"))
        g_gemm_env = SK_TRAIN_GEMM_SEEK;
    else
        SK_WARN("SEEK_GEMM=%s is not one of blas, seek, auto; using auto", s);
}

void sk_train_set_gemm(sk_train_gemm g) {
    atomic_store(&g_gemm, (int)g);
}

sk_train_gemm sk_train_get_gemm(void) {
    sk_train_gemm g = (sk_train_gemm)atomic_load(&g_gemm);
    if (g != SK_TRAIN_GEMM_AUTO) return g;
    pthread_once(&g_gemm_env_once, gemm_env_read);
    if (g_gemm_env != SK_TRAIN_GEMM_AUTO) return g_gemm_env;
    sk_cpu_level l = sk_kernels_level();
    return l == SK_CPU_AVX2 || l == SK_CPU_AVX512 ? SK_TRAIN_GEMM_SEEK : SK_TRAIN_GEMM_BLAS;
}

static void sgemm_rm(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K,
                     float alpha, const float *A, int lda, const float *B, int ldb, float beta,
                     float *C, int ldc) {
    if (sk_train_get_gemm() == SK_TRAIN_GEMM_SEEK)
        sk_sgemm(ta == CblasTrans, tb == CblasTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    else
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* ---- products split over the model's pool (tr_set_mm_pool): row blocks of the output, one
 * single-threaded OpenBLAS call per thread. OpenBLAS's own workers busy-wait (sched_yield)
 * between calls and then compete with the pool's threads for the cores; measured on the
 * 2-core development machine, a step ran up to ~2x faster with them asleep. ---- */
static sk_pool *g_mm_pool;
typedef void (*tr_range_fn)(void *ctx, size_t lo, size_t hi, int ith);
static void tr_par(sk_pool *pool, size_t n, size_t min_n, tr_range_fn fn, void *ctx);

void tr_set_mm_pool(sk_pool *pool) {
    g_mm_pool = pool;
}

typedef struct gemm_ctx {
    enum CBLAS_TRANSPOSE ta, tb;
    int M, N, K, lda, ldb, ldc;
    const float *A, *B;
    float alpha, beta, *C;
} gemm_ctx;

/* lo, hi count blocks of 16 rows: every block boundary stays a multiple of the sgemm
 * micro-kernel's row unroll, so each row goes through the same kernel path as in one
 * unsplit call and the results are bit-identical (sk_sgemm: any split is, see sk_kernels.h) */
static void gemm_rows(void *v, size_t lo, size_t hi, int ith) {
    gemm_ctx *c = v;
    (void)ith;
    lo *= 16;
    hi = hi * 16 < (size_t)c->M ? hi * 16 : (size_t)c->M;
    if (lo >= hi) return;
    /* rows lo..hi of op(A): rows of A, or columns of A when it is transposed */
    const float *A = c->ta == CblasNoTrans ? c->A + lo * (size_t)c->lda : c->A + lo;
    sgemm_rm(c->ta, c->tb, (int)(hi - lo), c->N, c->K, c->alpha, A, c->lda, c->B, c->ldb, c->beta,
             c->C + lo * (size_t)c->ldc, c->ldc);
}

/* set inside tr_par_items tasks: this thread's products stay single-threaded */
static _Thread_local bool tl_serial;

/* row-major C[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C */
static void gemm(enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    if (!g_mm_pool || tl_serial || sk_pool_size(g_mm_pool) <= 1 || M < 32) {
        sgemm_rm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    gemm_ctx c = {.ta = ta,
                  .tb = tb,
                  .M = M,
                  .N = N,
                  .K = K,
                  .lda = lda,
                  .ldb = ldb,
                  .ldc = ldc,
                  .A = A,
                  .B = B,
                  .alpha = alpha,
                  .beta = beta,
                  .C = C};
    tr_par(g_mm_pool, ((size_t)M + 15) / 16, 2, gemm_rows, &c);
}

void tr_mm_fwd(float *y, const float *x, const float *W, int N, int in, int out, float beta) {
    if (N <= 0 || out <= 0) return;
    if (in <= 0) {
        if (beta == 0.0f) memset(y, 0, sizeof(float) * (size_t)N * (size_t)out);
        return;
    }
    if (g_bf16) {
        x = bf16_copy(0, x, (size_t)N * in);
        W = bf16_copy(1, W, (size_t)out * in);
    }
    gemm(CblasNoTrans, CblasTrans, N, out, in, 1.0f, x, in, W, in, beta, y, out);
}

static void mm_bwd(float *dx, float *dW, const float *dy, const float *x, const float *W, int N,
                   int in, int out, float beta_dx) {
    if (N <= 0 || in <= 0 || out <= 0) {
        if (dx && beta_dx == 0.0f && N > 0 && in > 0)
            memset(dx, 0, sizeof(float) * (size_t)N * (size_t)in);
        return;
    }
    if (g_bf16) {
        dy = bf16_copy(2, dy, (size_t)N * out);
        if (dx) W = bf16_copy(1, W, (size_t)out * in);
        if (dW) x = bf16_copy(0, x, (size_t)N * in);
    }
    if (dx) gemm(CblasNoTrans, CblasNoTrans, N, in, out, 1.0f, dy, out, W, in, beta_dx, dx, in);
    if (dW) gemm(CblasTrans, CblasNoTrans, out, in, N, 1.0f, dy, out, x, in, 1.0f, dW, in);
}

void tr_mm_bwd(float *dx, float *dW, const float *dy, const float *x, const float *W, int N, int in,
               int out) {
    mm_bwd(dx, dW, dy, x, W, N, in, out, 1.0f);
}

void tr_mm_bwd_set(float *dx, float *dW, const float *dy, const float *x, const float *W, int N,
                   int in, int out) {
    mm_bwd(dx, dW, dy, x, W, N, in, out, 0.0f);
}

/* ---- AVX2 + FMA paths (used when sk_kernels_level() reports AVX2 or better). Every
 * element-wise loop handles its tail with masked loads/stores through the same vector
 * code, so an element's result does not depend on where a thread's range starts. ---- */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define TR_X86  1
#define TR_AVX2 __attribute__((target("avx2,fma")))

static bool use_avx2(void) {
    sk_cpu_level l = sk_kernels_level();
    return l == SK_CPU_AVX2 || l == SK_CPU_AVX512;
}

/* e^x on 8 lanes: x = n·ln2 + r (|r| <= ln2/2), e^r by its degree-7 Taylor polynomial
 * (relative error < 1e-7 before rounding), 2^n through the exponent bits. Inputs below
 * -87.33 give 0, above 88.37 give e^88.37; NaN stays NaN. */
TR_AVX2 static inline __m256 exp8(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-87.3365447505531f);
    __m256 keep = _mm256_cmp_ps(x, lo, _CMP_NLT_UQ); /* x >= lo or NaN */
    x = _mm256_max_ps(lo, _mm256_min_ps(hi, x));     /* NaN passes through */
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(keep, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

/* lane mask of the first k (0..8) lanes */
TR_AVX2 static inline __m256i tail_mask(size_t k) {
    static const int32_t m[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(m + 8 - k));
}

TR_AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

TR_AVX2 static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* sum of x[i]*y[i] (y NULL: of x[i]^2) over n floats, in 8 float lanes */
TR_AVX2 static float dot_avx2(const float *x, const float *y, int n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
        a0 = _mm256_fmadd_ps(x0, y ? _mm256_loadu_ps(y + i) : x0, a0);
        a1 = _mm256_fmadd_ps(x1, y ? _mm256_loadu_ps(y + i + 8) : x1, a1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 x0 = _mm256_loadu_ps(x + i);
        a0 = _mm256_fmadd_ps(x0, y ? _mm256_loadu_ps(y + i) : x0, a0);
    }
    if (i < n) {
        __m256i m = tail_mask((size_t)(n - i));
        __m256 x0 = _mm256_maskload_ps(x + i, m);
        a1 = _mm256_fmadd_ps(x0, y ? _mm256_maskload_ps(y + i, m) : x0, a1);
    }
    return hsum8(_mm256_add_ps(a0, a1));
}

TR_AVX2 static void rms_fwd_avx2(float *y, float *rstd, const float *x, const float *w, int N,
                                 int n, float eps) {
    for (int r = 0; r < N; r++) {
        const float *xr = x + (size_t)r * n;
        float *yr = y + (size_t)r * n;
        float rs = (float)(1.0 / sqrt((double)dot_avx2(xr, NULL, n) / n + (double)eps));
        rstd[r] = rs;
        __m256 vr = _mm256_set1_ps(rs);
        int i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(yr + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xr + i), vr),
                                                   _mm256_loadu_ps(w + i)));
        if (i < n) {
            __m256i m = tail_mask((size_t)(n - i));
            _mm256_maskstore_ps(yr + i, m,
                                _mm256_mul_ps(_mm256_mul_ps(_mm256_maskload_ps(xr + i, m), vr),
                                              _mm256_maskload_ps(w + i, m)));
        }
    }
}

/* dx rows only (dw by rms_dw_avx2) */
TR_AVX2 static void rms_bwd_dx_avx2(float *dx, const float *dy, const float *x, const float *rstd,
                                    const float *w, int N, int n) {
    for (int r = 0; r < N; r++) {
        const float *xr = x + (size_t)r * n, *dyr = dy + (size_t)r * n;
        float *dxr = dx + (size_t)r * n;
        float rs = rstd[r];
        __m256 a = _mm256_setzero_ps();
        int i = 0;
        for (; i + 8 <= n; i += 8)
            a = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_loadu_ps(dyr + i), _mm256_loadu_ps(w + i)),
                                _mm256_loadu_ps(xr + i), a);
        if (i < n) {
            __m256i m = tail_mask((size_t)(n - i));
            a = _mm256_fmadd_ps(
                _mm256_mul_ps(_mm256_maskload_ps(dyr + i, m), _mm256_maskload_ps(w + i, m)),
                _mm256_maskload_ps(xr + i, m), a);
        }
        float c = (float)((double)hsum8(a) * rs * rs * rs / n);
        __m256 vr = _mm256_set1_ps(rs), vc = _mm256_set1_ps(c);
        for (i = 0; i + 8 <= n; i += 8) {
            __m256 t =
                _mm256_mul_ps(_mm256_mul_ps(vr, _mm256_loadu_ps(w + i)), _mm256_loadu_ps(dyr + i));
            t = _mm256_fnmadd_ps(vc, _mm256_loadu_ps(xr + i), t);
            _mm256_storeu_ps(dxr + i, _mm256_add_ps(_mm256_loadu_ps(dxr + i), t));
        }
        if (i < n) {
            __m256i m = tail_mask((size_t)(n - i));
            __m256 t = _mm256_mul_ps(_mm256_mul_ps(vr, _mm256_maskload_ps(w + i, m)),
                                     _mm256_maskload_ps(dyr + i, m));
            t = _mm256_fnmadd_ps(vc, _mm256_maskload_ps(xr + i, m), t);
            _mm256_maskstore_ps(dxr + i, m, _mm256_add_ps(_mm256_maskload_ps(dxr + i, m), t));
        }
    }
}

/* dw[j] += sum over rows of dy*x*rs, columns j0..j1 */
TR_AVX2 static void rms_dw_avx2(float *dw, const float *dy, const float *x, const float *rstd,
                                int N, int n, int j0, int j1) {
    for (int r = 0; r < N; r++) {
        const float *xr = x + (size_t)r * n, *dyr = dy + (size_t)r * n;
        __m256 vr = _mm256_set1_ps(rstd[r]);
        int j = j0;
        for (; j + 8 <= j1; j += 8) {
            __m256 t =
                _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(dyr + j), _mm256_loadu_ps(xr + j)), vr);
            _mm256_storeu_ps(dw + j, _mm256_add_ps(_mm256_loadu_ps(dw + j), t));
        }
        if (j < j1) {
            __m256i m = tail_mask((size_t)(j1 - j));
            __m256 t = _mm256_mul_ps(
                _mm256_mul_ps(_mm256_maskload_ps(dyr + j, m), _mm256_maskload_ps(xr + j, m)), vr);
            _mm256_maskstore_ps(dw + j, m, _mm256_add_ps(_mm256_maskload_ps(dw + j, m), t));
        }
    }
}

TR_AVX2 static inline __m256 silu8(__m256 g, __m256 *sig) {
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
    *sig = s;
    return _mm256_mul_ps(g, s);
}

TR_AVX2 static void swiglu_fwd_avx2(float *h, const float *g, const float *u, size_t n) {
    size_t i = 0;
    __m256 s;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(h + i,
                         _mm256_mul_ps(silu8(_mm256_loadu_ps(g + i), &s), _mm256_loadu_ps(u + i)));
    if (i < n) {
        __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(
            h + i, m,
            _mm256_mul_ps(silu8(_mm256_maskload_ps(g + i, m), &s), _mm256_maskload_ps(u + i, m)));
    }
}

/* acc: add into dg, du (else overwrite) */
TR_AVX2 static inline void swiglu_bwd8(float *dg, float *du, const float *dh, const float *g,
                                       const float *u, __m256i m, bool acc) {
    __m256 one = _mm256_set1_ps(1.0f), s;
    __m256 gv = _mm256_maskload_ps(g, m), dhv = _mm256_maskload_ps(dh, m);
    __m256 si = silu8(gv, &s);
    __m256 vdu = _mm256_mul_ps(dhv, si);
    /* dh*u*s*(1 + g*(1-s)) */
    __m256 vdg = _mm256_mul_ps(_mm256_mul_ps(_mm256_mul_ps(dhv, _mm256_maskload_ps(u, m)), s),
                               _mm256_add_ps(one, _mm256_mul_ps(gv, _mm256_sub_ps(one, s))));
    if (acc) {
        vdu = _mm256_add_ps(_mm256_maskload_ps(du, m), vdu);
        vdg = _mm256_add_ps(_mm256_maskload_ps(dg, m), vdg);
    }
    _mm256_maskstore_ps(du, m, vdu);
    _mm256_maskstore_ps(dg, m, vdg);
}

TR_AVX2 static void swiglu_bwd_avx2(float *dg, float *du, const float *dh, const float *g,
                                    const float *u, size_t n, bool acc) {
    __m256i all = _mm256_set1_epi32(-1);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) swiglu_bwd8(dg + i, du + i, dh + i, g + i, u + i, all, acc);
    if (i < n) swiglu_bwd8(dg + i, du + i, dh + i, g + i, u + i, tail_mask(n - i), acc);
}

/* one row of cross-entropy: returns log-sum-exp; if dl, writes e^(l-mx)/sum * c (c != 0) */
TR_AVX2 static double ce_row_avx2(const float *l, int V, float *dl, float c) {
    __m256 mx8 = _mm256_set1_ps(-INFINITY);
    int i = 0;
    for (; i + 8 <= V; i += 8) mx8 = _mm256_max_ps(mx8, _mm256_loadu_ps(l + i));
    float mx = hmax8(mx8);
    for (; i < V; i++)
        if (l[i] > mx) mx = l[i];
    __m256 vm = _mm256_set1_ps(mx), s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (i = 0; i + 16 <= V; i += 16) {
        __m256 e0 = exp8(_mm256_sub_ps(_mm256_loadu_ps(l + i), vm));
        __m256 e1 = exp8(_mm256_sub_ps(_mm256_loadu_ps(l + i + 8), vm));
        if (dl) {
            _mm256_storeu_ps(dl + i, e0);
            _mm256_storeu_ps(dl + i + 8, e1);
        }
        s0 = _mm256_add_ps(s0, e0);
        s1 = _mm256_add_ps(s1, e1);
    }
    for (; i < V; i += 8) {
        __m256i m = tail_mask(V - i < 8 ? (size_t)(V - i) : 8);
        __m256 e0 = _mm256_and_ps(_mm256_castsi256_ps(m),
                                  exp8(_mm256_sub_ps(_mm256_maskload_ps(l + i, m), vm)));
        if (dl) _mm256_maskstore_ps(dl + i, m, e0);
        s0 = _mm256_add_ps(s0, e0);
    }
    double sum = (double)hsum8(_mm256_add_ps(s0, s1));
    if (dl) {
        __m256 f = _mm256_set1_ps((float)(1.0 / sum) * c);
        for (i = 0; i + 8 <= V; i += 8)
            _mm256_storeu_ps(dl + i, _mm256_mul_ps(_mm256_loadu_ps(dl + i), f));
        if (i < V) {
            __m256i m = tail_mask((size_t)(V - i));
            _mm256_maskstore_ps(dl + i, m, _mm256_mul_ps(_mm256_maskload_ps(dl + i, m), f));
        }
    }
    return mx + log(sum);
}
/* softmax of p[0..n) in place */
TR_AVX2 static void ce_row_softmax_avx2(float *p, int n) {
    double lse = ce_row_avx2(p, n, p, 1.0f);
    (void)lse;
}

TR_AVX2 static void softmax_bwd_row_avx2(const float *pr, float *ds, int n, float scale) {
    float sum = dot_avx2(pr, ds, n);
    __m256 vs = _mm256_set1_ps(sum), sc = _mm256_set1_ps(scale);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(ds + i,
                         _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(pr + i),
                                                     _mm256_sub_ps(_mm256_loadu_ps(ds + i), vs)),
                                       sc));
    if (i < n) {
        __m256i m = tail_mask((size_t)(n - i));
        _mm256_maskstore_ps(
            ds + i, m,
            _mm256_mul_ps(_mm256_mul_ps(_mm256_maskload_ps(pr + i, m),
                                        _mm256_sub_ps(_mm256_maskload_ps(ds + i, m), vs)),
                          sc));
    }
}
#endif /* every caller of use_avx2 and the _avx2 paths sits under #ifdef TR_X86 */

void tr_rms_fwd(float *y, float *rstd, const float *x, const float *w, int N, int n, float eps) {
#ifdef TR_X86
    if (use_avx2()) {
        rms_fwd_avx2(y, rstd, x, w, N, n, eps);
        return;
    }
#endif
    for (int r = 0; r < N; r++) {
        const float *xr = x + (size_t)r * n;
        float *yr = y + (size_t)r * n;
        double ss = 0;
        for (int i = 0; i < n; i++) ss += (double)xr[i] * xr[i];
        float rs = (float)(1.0 / sqrt(ss / n + (double)eps));
        rstd[r] = rs;
        for (int i = 0; i < n; i++) yr[i] = xr[i] * rs * w[i];
    }
}

void tr_rms_bwd(float *dx, float *dw, const float *dy, const float *x, const float *rstd,
                const float *w, int N, int n) {
#ifdef TR_X86
    if (use_avx2()) {
        if (dx) rms_bwd_dx_avx2(dx, dy, x, rstd, w, N, n);
        if (dw) rms_dw_avx2(dw, dy, x, rstd, N, n, 0, n);
        return;
    }
#endif
    for (int r = 0; r < N; r++) {
        const float *xr = x + (size_t)r * n, *dyr = dy + (size_t)r * n;
        float rs = rstd[r];
        double dot = 0;
        for (int i = 0; i < n; i++) dot += (double)dyr[i] * w[i] * xr[i];
        if (dw)
            for (int i = 0; i < n; i++) dw[i] += dyr[i] * xr[i] * rs;
        if (dx) {
            float *dxr = dx + (size_t)r * n;
            float c = (float)(dot * rs * rs * rs / n);
            for (int i = 0; i < n; i++) dxr[i] += rs * w[i] * dyr[i] - c * xr[i];
        }
    }
}

void tr_rope_tables(const sk_model_config *c, int T, float *cs, float *sn) {
    int d = c->qk_rope_dim, half = d / 2;
    double theta = c->rope_theta > 0 ? c->rope_theta : 10000.0;
    double inv[512];
    for (int i = 0; i < half && i < 512; i++) {
        double f = pow(theta, -2.0 * i / d);
        if (c->rope_scaling == SK_ROPE_SCALING_YARN && c->rope_factor > 1.0f) {
            double L0 = c->rope_orig_ctx > 0 ? c->rope_orig_ctx : 4096;
            double bf = c->yarn_beta_fast, bs = c->yarn_beta_slow;
            double lo = floor(d * log(L0 / (bf * 2 * M_PI)) / (2 * log(theta)));
            double hi = ceil(d * log(L0 / (bs * 2 * M_PI)) / (2 * log(theta)));
            if (lo < 0) lo = 0;
            if (hi > d - 1) hi = d - 1;
            if (hi == lo) hi = lo + 0.001;
            double ramp = (i - lo) / (hi - lo);
            if (ramp < 0) ramp = 0;
            if (ramp > 1) ramp = 1;
            f = f * (1 - ramp) + f / c->rope_factor * ramp;
        } else if (c->rope_scaling == SK_ROPE_SCALING_LINEAR && c->rope_factor > 0) {
            f /= c->rope_factor;
        }
        inv[i] = f;
    }
    for (int t = 0; t < T; t++)
        for (int i = 0; i < half; i++) {
            double a = (double)t * inv[i];
            cs[(size_t)t * half + i] = (float)cos(a);
            sn[(size_t)t * half + i] = (float)sin(a);
        }
}

void tr_rope_apply(float *v, int d, const float *cs_t, const float *sn_t, int dir) {
    for (int i = 0; i < d / 2; i++) {
        float c = cs_t[i], s = dir > 0 ? sn_t[i] : -sn_t[i];
        float a = v[2 * i], b = v[2 * i + 1];
        v[2 * i] = a * c - b * s;
        v[2 * i + 1] = a * s + b * c;
    }
}

static inline float silu_f(float g) {
    return g / (1.0f + expf(-g));
}

void tr_swiglu_fwd(float *h, const float *g, const float *u, size_t n) {
#ifdef TR_X86
    if (use_avx2()) {
        swiglu_fwd_avx2(h, g, u, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) h[i] = silu_f(g[i]) * u[i];
}

void tr_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u,
                   size_t n) {
#ifdef TR_X86
    if (use_avx2()) {
        swiglu_bwd_avx2(dg, du, dh, g, u, n, true);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        float sg = 1.0f / (1.0f + expf(-g[i]));
        float si = g[i] * sg;
        du[i] += dh[i] * si;
        dg[i] += dh[i] * u[i] * sg * (1.0f + g[i] * (1.0f - sg));
    }
}

/* ---- attention: per head, in blocks of TR_ATT_BLK query rows; block [t0, t1) needs keys
 * 0..t1-1 only (causal), so the products skip the blocks above the diagonal (5/8 of the full
 * T x T work at T = 256). Inside a block the masked entries (u > t) are computed by the
 * product and then set to 0. ---- */
#define TR_ATT_BLK 64

/* softmax of p[0..t] in place (p[t+1..n) = 0) */
static void softmax_causal_row(float *pr, int t, int n) {
#ifdef TR_X86
    if (use_avx2()) {
        ce_row_softmax_avx2(pr, t + 1);
        if (n > t + 1) memset(pr + t + 1, 0, sizeof(float) * (size_t)(n - t - 1));
        return;
    }
#endif
    float mx = -INFINITY;
    for (int u = 0; u <= t; u++)
        if (pr[u] > mx) mx = pr[u];
    double sum = 0;
    for (int u = 0; u <= t; u++) {
        pr[u] = expf(pr[u] - mx);
        sum += pr[u];
    }
    float inv = (float)(1.0 / sum);
    for (int u = 0; u <= t; u++) pr[u] *= inv;
    for (int u = t + 1; u < n; u++) pr[u] = 0.0f;
}

void tr_attn_fwd(const tr_attn_dims *d, const float *q, const float *kv, const float *kpe, float *p,
                 float *o) {
    int T = d->T;
    for (int h = 0; h < d->nh; h++) {
        const float *qn = q + (size_t)h * (d->dn + d->dr), *qp = qn + d->dn;
        const float *kn = kv + (size_t)h * (d->dn + d->dv), *v = kn + d->dn;
        float *P = p + (size_t)h * T * T;
        for (int t0 = 0; t0 < T; t0 += TR_ATT_BLK) {
            int t1 = t0 + TR_ATT_BLK < T ? t0 + TR_ATT_BLK : T, m = t1 - t0;
            float *Pb = P + (size_t)t0 * T;
            sgemm_rm(CblasNoTrans, CblasTrans, m, t1, d->dn, d->scale, qn + (size_t)t0 * d->qs,
                     d->qs, kn, d->kvs, 0.0f, Pb, T);
            sgemm_rm(CblasNoTrans, CblasTrans, m, t1, d->dr, d->scale, qp + (size_t)t0 * d->qs,
                     d->qs, kpe, d->kps, 1.0f, Pb, T);
            for (int t = t0; t < t1; t++) softmax_causal_row(P + (size_t)t * T, t, T);
            sgemm_rm(CblasNoTrans, CblasNoTrans, m, d->dv, t1, 1.0f, Pb, T, v, d->kvs, 0.0f,
                     o + (size_t)t0 * d->os + (size_t)h * d->dv, d->os);
        }
    }
}

/* ds[u] = p[u] * (ds[u] - sum_u p·ds) * scale for u <= t, 0 for t < u < n */
static void softmax_bwd_row(const float *pr, float *ds, int t, int n, float scale) {
#ifdef TR_X86
    if (use_avx2()) {
        softmax_bwd_row_avx2(pr, ds, t + 1, scale);
        if (n > t + 1) memset(ds + t + 1, 0, sizeof(float) * (size_t)(n - t - 1));
        return;
    }
#endif
    double sum = 0;
    for (int u = 0; u <= t; u++) sum += (double)pr[u] * ds[u];
    for (int u = 0; u <= t; u++) ds[u] = pr[u] * (ds[u] - (float)sum) * scale;
    for (int u = t + 1; u < n; u++) ds[u] = 0.0f;
}

void tr_attn_bwd(const tr_attn_dims *d, const float *q, const float *kv, const float *kpe,
                 const float *p, const float *dout, float *dq, float *dkv, float *dkpe,
                 float *scratch) {
    int T = d->T;
    for (int h = 0; h < d->nh; h++) {
        const float *qn = q + (size_t)h * (d->dn + d->dr), *qp = qn + d->dn;
        const float *kn = kv + (size_t)h * (d->dn + d->dv), *v = kn + d->dn;
        const float *P = p + (size_t)h * T * T, *dO = dout + (size_t)h * d->dv;
        float *dqn = dq + (size_t)h * (d->dn + d->dr), *dqp = dqn + d->dn;
        float *dkn = dkv + (size_t)h * (d->dn + d->dv), *dv = dkn + d->dn;
        for (int t0 = 0; t0 < T; t0 += TR_ATT_BLK) {
            int t1 = t0 + TR_ATT_BLK < T ? t0 + TR_ATT_BLK : T, m = t1 - t0;
            const float *Pb = P + (size_t)t0 * T, *dOb = dO + (size_t)t0 * d->os;
            float *dS = scratch + (size_t)t0 * T;
            /* dP = dO Vᵀ, dV += Pᵀ dO */
            sgemm_rm(CblasNoTrans, CblasTrans, m, t1, d->dv, 1.0f, dOb, d->os, v, d->kvs, 0.0f, dS,
                     T);
            sgemm_rm(CblasTrans, CblasNoTrans, t1, d->dv, m, 1.0f, Pb, T, dOb, d->os, 1.0f, dv,
                     d->kvs);
            /* dS = scale * P ∘ (dP - rowsum(P ∘ dP)) */
            for (int t = t0; t < t1; t++)
                softmax_bwd_row(P + (size_t)t * T, scratch + (size_t)t * T, t, t1, d->scale);
            sgemm_rm(CblasNoTrans, CblasNoTrans, m, d->dn, t1, 1.0f, dS, T, kn, d->kvs, 1.0f,
                     dqn + (size_t)t0 * d->qs, d->qs);
            sgemm_rm(CblasTrans, CblasNoTrans, t1, d->dn, m, 1.0f, dS, T, qn + (size_t)t0 * d->qs,
                     d->qs, 1.0f, dkn, d->kvs);
            sgemm_rm(CblasNoTrans, CblasNoTrans, m, d->dr, t1, 1.0f, dS, T, kpe, d->kps, 1.0f,
                     dqp + (size_t)t0 * d->qs, d->qs);
            sgemm_rm(CblasTrans, CblasNoTrans, t1, d->dr, m, 1.0f, dS, T, qp + (size_t)t0 * d->qs,
                     d->qs, 1.0f, dkpe, d->kps);
        }
    }
}

static double ce_rows(const float *logits, const int32_t *tgt, const float *w, int r0, int r1,
                      int V, float *dlogits, float gscale) {
    double total = 0;
#ifdef TR_X86
    if (use_avx2()) {
        for (int r = r0; r < r1; r++) {
            const float *l = logits + (size_t)r * V;
            float wr = w ? w[r] : 1.0f, c = wr * gscale;
            float lt = l[tgt[r]];
            float *dl = dlogits ? dlogits + (size_t)r * V : NULL; /* may alias l */
            double lse = ce_row_avx2(l, V, dl && c != 0.0f ? dl : NULL, c);
            if (wr != 0.0f) total += wr * (lse - lt);
            if (dl) {
                if (c == 0.0f)
                    memset(dl, 0, sizeof(float) * (size_t)V);
                else
                    dl[tgt[r]] -= c;
            }
        }
        return total;
    }
#endif
    for (int r = r0; r < r1; r++) {
        const float *l = logits + (size_t)r * V;
        float wr = w ? w[r] : 1.0f;
        float mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (l[i] > mx) mx = l[i];
        float lt = l[tgt[r]];
        float *dl = dlogits ? dlogits + (size_t)r * V : NULL; /* may alias l */
        float c = wr * gscale;
        double sum = 0;
        if (dl && c != 0.0f) { /* keep the exponentials: one expf per logit */
            for (int i = 0; i < V; i++) {
                float ex = expf(l[i] - mx);
                dl[i] = ex;
                sum += ex;
            }
        } else {
            for (int i = 0; i < V; i++) sum += expf(l[i] - mx);
        }
        double lse = mx + log(sum);
        if (wr != 0.0f) total += wr * (lse - lt);
        if (dl) {
            if (c == 0.0f) {
                memset(dl, 0, sizeof(float) * (size_t)V);
                continue;
            }
            float inv = (float)(1.0 / sum);
            for (int i = 0; i < V; i++) dl[i] = dl[i] * inv * c;
            dl[tgt[r]] -= c;
        }
    }
    return total;
}

#define TR_MAX_THREADS 256
typedef struct ce_ctx {
    const float *logits, *w;
    const int32_t *tgt;
    int N, V;
    float *dlogits, gscale;
    double part[TR_MAX_THREADS];
} ce_ctx;

static void ce_task(void *v, int ith, int nth) {
    ce_ctx *c = v;
    size_t lo, hi;
    sk_split_range((size_t)c->N, ith, nth, &lo, &hi);
    c->part[ith] = ce_rows(c->logits, c->tgt, c->w, (int)lo, (int)hi, c->V, c->dlogits, c->gscale);
}

double tr_ce(const float *logits, const int32_t *tgt, const float *w, int N, int V, float *dlogits,
             float gscale, sk_pool *pool) {
    if (!pool || sk_pool_size(pool) <= 1 || sk_pool_size(pool) > TR_MAX_THREADS || N < 2)
        return ce_rows(logits, tgt, w, 0, N, V, dlogits, gscale);
    ce_ctx c = {
        .logits = logits, .w = w, .tgt = tgt, .N = N, .V = V, .dlogits = dlogits, .gscale = gscale};
    sk_pool_run(pool, ce_task, &c);
    double total = 0;
    for (int i = 0; i < sk_pool_size(pool); i++) total += c.part[i];
    return total;
}

void tr_route_select(const sk_model_config *c, const float *s, const float *bias, int N,
                     int32_t *sel) {
    int E = c->n_routed, K = c->n_active, G = c->n_group > 1 ? c->n_group : 1;
    int per = E / G;
    float ch[1024];
    float gs[256];
    for (int r = 0; r < N; r++) {
        const float *sr = s + (size_t)r * E;
        for (int e = 0; e < E; e++) ch[e] = sr[e] + (bias ? bias[e] : 0.0f);
        if (G > 1) {
            for (int g = 0; g < G; g++) {
                const float *x = ch + g * per;
                if (bias) {
                    float a = -INFINITY, b = -INFINITY; /* two largest */
                    for (int i = 0; i < per; i++) {
                        if (x[i] > a) {
                            b = a;
                            a = x[i];
                        } else if (x[i] > b) {
                            b = x[i];
                        }
                    }
                    gs[g] = a + b;
                } else {
                    float a = -INFINITY;
                    for (int i = 0; i < per; i++)
                        if (x[i] > a) a = x[i];
                    gs[g] = a;
                }
            }
            bool keep[256] = {0};
            for (int k = 0; k < c->topk_group; k++) {
                int best = -1;
                for (int g = 0; g < G; g++)
                    if (!keep[g] && (best < 0 || gs[g] > gs[best])) best = g;
                keep[best] = true;
            }
            for (int g = 0; g < G; g++)
                if (!keep[g])
                    for (int i = 0; i < per; i++) ch[g * per + i] = -INFINITY;
        }
        int32_t *o = sel + (size_t)r * K;
        for (int k = 0; k < K; k++) {
            int best = -1;
            for (int e = 0; e < E; e++) {
                if (ch[e] == -INFINITY && best >= 0) continue;
                bool taken = false;
                for (int j = 0; j < k; j++)
                    if (o[j] == e) taken = true;
                if (taken) continue;
                if (best < 0 || ch[e] > ch[best]) best = e;
            }
            o[k] = best;
        }
    }
}

/* ---- pool-threaded variants (results identical to the serial loops for any thread
 * count: every output element is computed by one thread in the serial order) ---- */
typedef struct par_ctx {
    tr_range_fn fn;
    void *ctx;
    size_t n;
} par_ctx;

static void par_task(void *v, int ith, int nth) {
    par_ctx *p = v;
    size_t lo, hi;
    sk_split_range(p->n, ith, nth, &lo, &hi);
    if (lo < hi) p->fn(p->ctx, lo, hi, ith);
}

/* Runs fn over [0, n) split into one contiguous range per pool thread (serially when the
 * pool is NULL/single or n is below min_n). */
static void tr_par(sk_pool *pool, size_t n, size_t min_n, tr_range_fn fn, void *ctx) {
    if (!pool || sk_pool_size(pool) <= 1 || n < min_n) {
        if (n) fn(ctx, 0, n, 0);
        return;
    }
    par_ctx p = {.fn = fn, .ctx = ctx, .n = n};
    sk_pool_run(pool, par_task, &p);
}

typedef struct rms_ctx {
    float *y, *rstd, *dx, *dw;
    const float *x, *w, *dy;
    const float *rs;
    int N, n;
    float eps;
} rms_ctx;

static void rms_fwd_rows(void *v, size_t lo, size_t hi, int ith) {
    rms_ctx *c = v;
    (void)ith;
    tr_rms_fwd(c->y + lo * c->n, c->rstd + lo, c->x + lo * c->n, c->w, (int)(hi - lo), c->n,
               c->eps);
}

void tr_rms_fwd_p(sk_pool *pool, float *y, float *rstd, const float *x, const float *w, int N,
                  int n, float eps) {
    rms_ctx c = {.y = y, .rstd = rstd, .x = x, .w = w, .N = N, .n = n, .eps = eps};
    tr_par(pool, (size_t)N, 64, rms_fwd_rows, &c);
}

/* items [0, N) are rows of dx, [N, N + n) columns of dw */
static void rms_bwd_items(void *v, size_t lo, size_t hi, int ith) {
    rms_ctx *c = v;
    (void)ith;
    size_t N = (size_t)c->N, n = (size_t)c->n;
    if (lo < N && c->dx) {
        size_t e = hi < N ? hi : N;
        tr_rms_bwd(c->dx + lo * n, NULL, c->dy + lo * n, c->x + lo * n, c->rs + lo, c->w,
                   (int)(e - lo), (int)n);
    }
    if (hi > N && c->dw) {
        size_t j0 = lo > N ? lo - N : 0, j1 = hi - N;
#ifdef TR_X86
        if (use_avx2()) {
            rms_dw_avx2(c->dw, c->dy, c->x, c->rs, (int)N, (int)n, (int)j0, (int)j1);
            return;
        }
#endif
        for (size_t r = 0; r < N; r++) {
            const float *xr = c->x + r * n, *dyr = c->dy + r * n;
            float rs = c->rs[r];
            for (size_t j = j0; j < j1; j++) c->dw[j] += dyr[j] * xr[j] * rs;
        }
    }
}

void tr_rms_bwd_p(sk_pool *pool, float *dx, float *dw, const float *dy, const float *x,
                  const float *rstd, const float *w, int N, int n) {
    rms_ctx c = {.dx = dx, .dw = dw, .dy = dy, .x = x, .rs = rstd, .w = w, .N = N, .n = n};
    tr_par(pool, (size_t)N + (size_t)n, 64, rms_bwd_items, &c);
}

typedef struct swi_ctx {
    float *h, *dg, *du;
    const float *g, *u, *dh;
} swi_ctx;

static void swi_fwd_range(void *v, size_t lo, size_t hi, int ith) {
    swi_ctx *c = v;
    (void)ith;
    tr_swiglu_fwd(c->h + lo, c->g + lo, c->u + lo, hi - lo);
}

static void swi_bwd_range(void *v, size_t lo, size_t hi, int ith) {
    swi_ctx *c = v;
    (void)ith;
    tr_swiglu_bwd(c->dg + lo, c->du + lo, c->dh + lo, c->g + lo, c->u + lo, hi - lo);
}

static void swi_bwd_set_range(void *v, size_t lo, size_t hi, int ith) {
    swi_ctx *c = v;
    (void)ith;
#ifdef TR_X86
    if (use_avx2()) {
        swiglu_bwd_avx2(c->dg + lo, c->du + lo, c->dh + lo, c->g + lo, c->u + lo, hi - lo, false);
        return;
    }
#endif
    memset(c->dg + lo, 0, sizeof(float) * (hi - lo));
    memset(c->du + lo, 0, sizeof(float) * (hi - lo));
    tr_swiglu_bwd(c->dg + lo, c->du + lo, c->dh + lo, c->g + lo, c->u + lo, hi - lo);
}

void tr_swiglu_bwd_set_p(sk_pool *pool, float *dg, float *du, const float *dh, const float *g,
                         const float *u, size_t n) {
    swi_ctx c = {.dg = dg, .du = du, .dh = dh, .g = g, .u = u};
    tr_par(pool, n, 4096, swi_bwd_set_range, &c);
}

void tr_swiglu_fwd_p(sk_pool *pool, float *h, const float *g, const float *u, size_t n) {
    swi_ctx c = {.h = h, .g = g, .u = u};
    tr_par(pool, n, 4096, swi_fwd_range, &c);
}

void tr_swiglu_bwd_p(sk_pool *pool, float *dg, float *du, const float *dh, const float *g,
                     const float *u, size_t n) {
    swi_ctx c = {.dg = dg, .du = du, .dh = dh, .g = g, .u = u};
    tr_par(pool, n, 4096, swi_bwd_range, &c);
}

typedef struct rope_ctx {
    float *base;
    int stride, nv, vstride, voff, d, T, dir;
    const float *cs, *sn;
} rope_ctx;

static void rope_rows(void *v, size_t lo, size_t hi, int ith) {
    rope_ctx *c = v;
    (void)ith;
    int half = c->d / 2;
    for (size_t r = lo; r < hi; r++) {
        int t = (int)(r % (size_t)c->T);
        float *row = c->base + r * (size_t)c->stride + c->voff;
        for (int h = 0; h < c->nv; h++)
            tr_rope_apply(row + (size_t)h * c->vstride, c->d, c->cs + (size_t)t * half,
                          c->sn + (size_t)t * half, c->dir);
    }
}

void tr_rope_rows_p(sk_pool *pool, float *base, int N, int stride, int nv, int vstride, int voff,
                    int d, int T, const float *cs, const float *sn, int dir) {
    rope_ctx c = {.base = base,
                  .stride = stride,
                  .nv = nv,
                  .vstride = vstride,
                  .voff = voff,
                  .d = d,
                  .T = T,
                  .dir = dir,
                  .cs = cs,
                  .sn = sn};
    tr_par(pool, (size_t)N, 64, rope_rows, &c);
}

/* ---- attention over the sequences of a batch, one sequence per pool thread at a time;
 * OpenBLAS runs single-threaded meanwhile (its threads would only contend with ours for
 * these small products); every sequence's result is the same as the serial loop's ---- */
typedef struct attn_ctx {
    const tr_attn_dims *d;
    const float *q, *kv, *kpe, *p, *dout;
    float *pw, *o, *dq, *dkv, *dkpe, *scratch;
    bool bwd;
} attn_ctx;

static void attn_seqs(void *v, size_t lo, size_t hi, int ith) {
    attn_ctx *c = v;
    const tr_attn_dims *d = c->d;
    size_t T = (size_t)d->T, pp = (size_t)d->nh * T * T;
    for (size_t s = lo; s < hi; s++) {
        size_t r0 = s * T;
        if (!c->bwd)
            tr_attn_fwd(d, c->q + r0 * d->qs, c->kv + r0 * d->kvs, c->kpe + r0 * d->kps,
                        c->pw + s * pp, c->o + r0 * d->os);
        else
            tr_attn_bwd(d, c->q + r0 * d->qs, c->kv + r0 * d->kvs, c->kpe + r0 * d->kps,
                        c->p + s * pp, c->dout + r0 * d->os, c->dq + r0 * d->qs,
                        c->dkv + r0 * d->kvs, c->dkpe + r0 * d->kps,
                        c->scratch + (size_t)ith * T * T);
    }
}

static void attn_run(sk_pool *pool, int B, attn_ctx *c) {
    bool par = pool && sk_pool_size(pool) > 1 && B > 1;
    int nb = par ? openblas_get_num_threads() : 1;
    if (par && nb > 1) openblas_set_num_threads(1);
    tr_par(par ? pool : NULL, (size_t)B, 2, attn_seqs, c);
    if (par && nb > 1) openblas_set_num_threads(nb);
}

void tr_attn_fwd_batch(sk_pool *pool, const tr_attn_dims *d, int B, const float *q, const float *kv,
                       const float *kpe, float *p, float *o) {
    attn_ctx c = {.d = d, .q = q, .kv = kv, .kpe = kpe, .pw = p, .o = o, .bwd = false};
    attn_run(pool, B, &c);
}

void tr_attn_bwd_batch(sk_pool *pool, const tr_attn_dims *d, int B, const float *q, const float *kv,
                       const float *kpe, const float *p, const float *dout, float *dq, float *dkv,
                       float *dkpe, float *scratch) {
    attn_ctx c = {.d = d,
                  .q = q,
                  .kv = kv,
                  .kpe = kpe,
                  .p = p,
                  .dout = dout,
                  .dq = dq,
                  .dkv = dkv,
                  .dkpe = dkpe,
                  .scratch = scratch,
                  .bwd = true};
    attn_run(pool, B, &c);
}

/* ---- independent items (the routed experts) spread over the pool: the items are dealt
 * largest cost first to the thread with the least cost so far (ties: lower thread), a
 * deterministic assignment; each item runs whole on its thread with single-threaded
 * products, so its result is the same as in a serial loop. bf16 products share
 * main-thread buffers, so they run serially. ---- */
#define TR_MAX_ITEMS 1024
typedef struct items_ctx {
    tr_item_fn fn;
    void *ctx;
    int n;
    int16_t owner[TR_MAX_ITEMS];
} items_ctx;

static void items_task(void *v, int ith, int nth) {
    items_ctx *c = v;
    (void)nth;
    bool was = tl_serial;
    tl_serial = true;
    for (int i = 0; i < c->n; i++)
        if (c->owner[i] == ith) c->fn(c->ctx, i);
    tl_serial = was;
}

void tr_par_items(sk_pool *pool, int n, const int *cost, tr_item_fn fn, void *ctx) {
    int nth = pool ? sk_pool_size(pool) : 1;
    if (nth <= 1 || n <= 1 || n > TR_MAX_ITEMS || nth > TR_MAX_THREADS || g_bf16) {
        for (int i = 0; i < n; i++) fn(ctx, i);
        return;
    }
    items_ctx c = {.fn = fn, .ctx = ctx, .n = n};
    double load[TR_MAX_THREADS] = {0};
    bool done[TR_MAX_ITEMS] = {0};
    for (int k = 0; k < n; k++) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!done[i] && (best < 0 || cost[i] > cost[best])) best = i;
        done[best] = true;
        int t = 0;
        for (int j = 1; j < nth; j++)
            if (load[j] < load[t]) t = j;
        c.owner[best] = (int16_t)t;
        load[t] += cost[best] > 0 ? cost[best] : 0;
    }
    sk_pool_run(pool, items_task, &c);
}
