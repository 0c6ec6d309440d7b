/* sgemm.c — sk_sgemm: Seek's own single-threaded float32 matrix product, tuned for the
 * trainer's shapes (a few dozen to a few thousand rows and columns, K from 32 to 4096), where
 * a BLAS call's setup and its separate passes over C (scaling by beta) are a visible part of
 * the time.
 *
 * Blocking (AVX2 path, sgemm_avx2.c), from the outside in:
 *   - columns of C in blocks of SK_SG_NC (1024);
 *   - K in blocks of SK_SG_KC (256): op(B)[K block][column block] is packed into strips of 16
 *     columns (16·256 floats = 16 KB per strip, which stays in the L1 while a strip is used);
 *   - rows of C in blocks of SK_SG_MC (144): op(A)[row block][K block] (144 KB) is reused
 *     from the L2 by every B strip; it is packed into strips of 6 rows only when op(A) = Aᵀ
 *     (otherwise its rows are read in place);
 *   - per B strip, per 6-row strip of A: the 6×16 register-tile micro-kernel.
 * The first K block stores C = alpha·acc + beta·C (beta 0: C is not read), later K blocks add
 * alpha·acc, so no pass over C is spent on beta.
 *
 * Arithmetic: element (i, j) is the sum over the K blocks in order of alpha·(the block's
 * products summed in k order from 0), whatever M, N, the tile or the block it falls in. So a
 * product split into row (or column) ranges gives bit-identical results to the whole call,
 * which the trainer relies on when it splits products over threads. The AVX2 path fuses each
 * multiply-add; the scalar reference below does not, so the two levels differ by rounding only.
 *
 * Workspace: each calling thread takes a pair of packing buffers (1.1 MB) from a free list on
 * its first call and gives them back when it exits (pthread key destructor), so steady-state
 * calls allocate nothing and every buffer stays reachable from the list.
 */
#include "kernels_internal.h"
#include "sgemm_internal.h"

#include <pthread.h>
#include <stdlib.h>

/* The workspace serves only the AVX2 path: x86-64 builds. */
#if defined(SEEK_HAVE_X86_KERNELS)
typedef struct sg_ws {
    struct sg_ws *next_all, *next_free;
    float *a, *b; /* SK_SG_MC·SK_SG_KC + 16 and SK_SG_KC·SK_SG_NC floats, 64-byte aligned */
} sg_ws;

static pthread_once_t g_ws_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_ws_key;
static pthread_mutex_t g_ws_mu = PTHREAD_MUTEX_INITIALIZER;
static sg_ws *g_ws_all, *g_ws_free;

static void ws_release(void *v) {
    sg_ws *w = v;
    pthread_mutex_lock(&g_ws_mu);
    w->next_free = g_ws_free;
    g_ws_free = w;
    pthread_mutex_unlock(&g_ws_mu);
}

static void ws_key_init(void) {
    if (pthread_key_create(&g_ws_key, ws_release) != 0) abort();
}

/* this thread's workspace; NULL when out of memory */
static sg_ws *ws_get(void) {
    pthread_once(&g_ws_once, ws_key_init);
    sg_ws *w = pthread_getspecific(g_ws_key);
    if (w) return w;
    pthread_mutex_lock(&g_ws_mu);
    w = g_ws_free;
    if (w) g_ws_free = w->next_free;
    pthread_mutex_unlock(&g_ws_mu);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w) return NULL;
        w->a = aligned_alloc(64, sizeof(float) * (SK_SG_MC * SK_SG_KC + 16));
        w->b = aligned_alloc(64, sizeof(float) * SK_SG_KC * SK_SG_NC);
        if (!w->a || !w->b) {
            free(w->a);
            free(w->b);
            free(w);
            return NULL;
        }
        pthread_mutex_lock(&g_ws_mu);
        w->next_all = g_ws_all;
        g_ws_all = w;
        pthread_mutex_unlock(&g_ws_mu);
    }
    if (pthread_setspecific(g_ws_key, w) != 0) {
        ws_release(w);
        return NULL;
    }
    return w;
}
#endif

/* The scalar reference: the same K blocks, products summed in k order without fusing. */
static void sgemm_scalar(bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                         size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc) {
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        for (int p0 = 0; p0 < K; p0 += SK_SG_KC) {
            int p1 = K - p0 < SK_SG_KC ? K : p0 + SK_SG_KC;
            float bet = p0 == 0 ? beta : 1.0f;
            for (int j = 0; j < N; j++) {
                float acc = 0.0f;
                for (int k = p0; k < p1; k++) {
                    float a = ta ? A[(size_t)k * lda + (size_t)i] : A[(size_t)i * lda + (size_t)k];
                    float b = tb ? B[(size_t)j * ldb + (size_t)k] : B[(size_t)k * ldb + (size_t)j];
                    acc += a * b;
                }
                c[j] = bet == 0.0f ? alpha * acc : alpha * acc + bet * c[j];
            }
        }
    }
}

void sk_sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0 || alpha == 0.0f) { /* C = beta·C; A and B are not read */
        for (int i = 0; i < M; i++) {
            float *c = C + (size_t)i * (size_t)ldc;
            for (int j = 0; j < N; j++) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        }
        return;
    }
#if defined(SEEK_HAVE_X86_KERNELS)
    sk_cpu_level l = sk_kernels_level();
    if (l == SK_CPU_AVX2 || l == SK_CPU_AVX512) {
        sg_ws *w = ws_get();
        if (w) {
            sk_sgemm_avx2(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, w->a, w->b);
            return;
        }
    }
#endif
    sgemm_scalar(ta, tb, M, N, K, alpha, A, (size_t)lda, B, (size_t)ldb, beta, C, (size_t)ldc);
}
