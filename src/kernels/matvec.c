/* matvec.c — the execution context (thread pool + activation scratch), sk_matvec and
 * sk_matmul, and the memory read-bandwidth probe.
 *
 * sk_matvec: x is prepared once (quantized for the Q types) into kctx scratch by the caller
 * thread; the output rows are handed out in chunks of a multiple of 4 rows (≈32 KiB of
 * weights) from an atomic counter, so every thread streams its own part of the matrix and a
 * thread slowed by a neighbour process does not hold up the others.
 * sk_matmul: every thread prepares its share of the n activation rows, then (after a barrier)
 * takes row chunks (≈128 KiB of weights, kept in L2) and multiplies each by the tokens in
 * tiles of 16, so each weight row comes from memory once per call, not once per token.
 * Both use the same dot kernels, so sk_matmul equals n sk_matvec calls bit for bit.
 */
#include "kernels_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct sk_kctx {
    sk_pool *pool;
    int n_threads;
    void *scratch;
    size_t scratch_cap;
};

sk_kctx *sk_kctx_new(int n_threads, sk_err *e) {
    sk_kctx *k = sk_calloc(1, sizeof *k, e);
    if (!k) return NULL;
    k->pool = sk_pool_new(n_threads, e);
    if (!k->pool) {
        free(k);
        return NULL;
    }
    k->n_threads = sk_pool_size(k->pool);
    (void)sk_kfuncs_active(); /* detect the CPU now, not inside the first task */
    return k;
}

void sk_kctx_free(sk_kctx *k) {
    if (!k) return;
    sk_pool_free(k->pool);
    free(k->scratch);
    free(k);
}

sk_pool *sk_kctx_pool(sk_kctx *k) {
    return k->pool;
}

int sk_kctx_threads(const sk_kctx *k) {
    return k->n_threads;
}

static void *scratch_get(sk_kctx *k, size_t n, sk_err *e) {
    if (n <= k->scratch_cap) return k->scratch;
    uint64_t cap;
    if (!sk_align_up_ok(n, 4096, &cap) || cap > SIZE_MAX) {
        sk_err_set(e, SK_ERR_RANGE, "activation scratch of %zu bytes is too large", n);
        return NULL;
    }
    void *p = sk_aligned_alloc(64, (size_t)cap, e);
    if (!p) return NULL;
    free(k->scratch);
    k->scratch = p;
    k->scratch_cap = (size_t)cap;
    return p;
}

/* Checks W for sk_matvec/sk_matmul; fills the slot, row bytes and row count. */
static int check_weight(const sk_tensor *W, int *kt, size_t *row_bytes, sk_err *e) {
    const char *nm = W && W->name ? W->name : "(unnamed)";
    if (!W || !W->data) return sk_err_set(e, SK_ERR_INVALID, "matvec: weight %s has no data", nm);
    *kt = sk_kt_from_type(W->type);
    if (*kt < 0)
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "matvec: weight %s has type %s, which has no kernel", nm,
                          sk_type_name(W->type));
    if (W->ne[0] <= 0 || W->ne[1] <= 0 || W->ne[2] != 1 || W->ne[3] != 1)
        return sk_err_set(e, SK_ERR_INVALID,
                          "matvec: weight %s must be a 2-D matrix (ne = %lld x %lld x %lld x %lld)",
                          nm, (long long)W->ne[0], (long long)W->ne[1], (long long)W->ne[2],
                          (long long)W->ne[3]);
    if (!sk_row_size(W->type, W->ne[0], row_bytes))
        return sk_err_set(e, SK_ERR_INVALID,
                          "matvec: weight %s: %lld columns is not a multiple of the %s block", nm,
                          (long long)W->ne[0], sk_type_name(W->type));
    size_t total;
    if (!sk_mul_ok(*row_bytes, (size_t)W->ne[1], &total) || total > W->nbytes)
        return sk_err_set(e, SK_ERR_RANGE,
                          "matvec: weight %s holds %zu bytes, fewer than %lld rows of %zu", nm,
                          W->nbytes, (long long)W->ne[1], *row_bytes);
    if (*kt == SK_KT_F8 && !W->scale)
        return sk_err_set(e, SK_ERR_INVALID, "matvec: FP8 weight %s has no scale grid", nm);
    return SK_OK;
}

typedef struct mm_job {
    const sk_kfuncs *f;
    int kt;
    sk_act act;
    const uint8_t *w;
    size_t wstride;
    const float *wscale; /* F8 grid or NULL */
    int64_t scale_cols;  /* ceil(ncols/128) */
    int64_t ncols, nrows;
    const float *x; /* matmul: raw activations [ntok][ncols] */
    uint8_t *xa;    /* prepared activations [ntok] rows of xstride bytes */
    size_t xstride;
    int64_t ntok;
    float *y;
    int64_t ldy; /* matvec: 0 (y[r]); matmul: nrows (Y[t][r]) */
    int64_t chunk_rows;
    atomic_llong next;
    sk_pool *pool;
} mm_job;

static inline const float *row_scale(const mm_job *j, int64_t r) {
    return j->wscale ? j->wscale + (r / 128) * j->scale_cols : NULL;
}

/* y[t*ldy + r] for rows [r0, r1) and tokens [t0, t1). Several tokens: each row is decoded
 * once per 4 tokens (gemm4) while it sits in L1; one token: 4 rows share the activation
 * loads (dot4). */
static void mm_block(const mm_job *j, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    sk_dot_fn dot = j->f->dot[j->kt];
    sk_dot4_fn dot4 = j->f->dot4[j->kt];
    sk_gemm4_fn gemm4 = j->f->gemm4[j->kt];
    int64_t r = r0;
    if (gemm4 && t1 - t0 >= 4) {
        for (; r < r1; r++) {
            const uint8_t *w = j->w + (size_t)r * j->wstride;
            const float *ws = row_scale(j, r);
            int64_t t = t0;
            for (; t + 4 <= t1; t += 4)
                gemm4(j->ncols, w, j->xa + (size_t)t * j->xstride, j->xstride, ws,
                      j->y + t * j->ldy + r, j->ldy);
            for (; t < t1; t++)
                j->y[t * j->ldy + r] = dot(j->ncols, w, j->xa + (size_t)t * j->xstride, ws);
        }
        return;
    }
    if (dot4) {
        for (; r + 4 <= r1; r += 4) {
            const uint8_t *w = j->w + (size_t)r * j->wstride;
            const float *ws = row_scale(j, r);
            for (int64_t t = t0; t < t1; t++) {
                float out[4];
                dot4(j->ncols, w, j->wstride, j->xa + (size_t)t * j->xstride, ws, out);
                float *y = j->y + t * j->ldy + r;
                y[0] = out[0];
                y[1] = out[1];
                y[2] = out[2];
                y[3] = out[3];
            }
        }
    }
    for (; r < r1; r++) {
        const uint8_t *w = j->w + (size_t)r * j->wstride;
        const float *ws = row_scale(j, r);
        for (int64_t t = t0; t < t1; t++)
            j->y[t * j->ldy + r] = dot(j->ncols, w, j->xa + (size_t)t * j->xstride, ws);
    }
}

#define TOK_TILE   16
#define SMALL_WORK ((size_t)128 << 10) /* weight bytes × tokens run on the caller alone */

static void mm_task(void *ctx, int ith, int nth) {
    mm_job *j = ctx;
    if (j->x) { /* matmul: prepare this thread's share of the activation rows */
        size_t lo, hi;
        sk_split_range((size_t)j->ntok, ith, nth, &lo, &hi);
        for (size_t t = lo; t < hi; t++)
            sk_act_quantize(j->act, j->x + t * (size_t)j->ncols, j->xa + t * j->xstride, j->ncols);
        if (nth > 1) sk_pool_barrier(j->pool);
    }
    for (;;) {
        int64_t r0 = atomic_fetch_add_explicit(&j->next, j->chunk_rows, memory_order_relaxed);
        if (r0 >= j->nrows) break;
        int64_t r1 = r0 + j->chunk_rows < j->nrows ? r0 + j->chunk_rows : j->nrows;
        for (int64_t t0 = 0; t0 < j->ntok; t0 += TOK_TILE)
            mm_block(j, r0, r1, t0, t0 + TOK_TILE < j->ntok ? t0 + TOK_TILE : j->ntok);
    }
}

static int64_t pick_chunk(size_t row_bytes, int64_t nrows, int nth, size_t target) {
    int64_t c = (int64_t)(target / (row_bytes ? row_bytes : 1));
    int64_t max_c = (nrows + 4 * nth - 1) / (4 * nth); /* at least ~4 chunks per thread */
    if (c > max_c) c = max_c;
    c &= ~(int64_t)3;
    return c < 4 ? 4 : c;
}

static int run_mm(sk_kctx *k, const sk_tensor *W, const float *x, int64_t n, float *y,
                  int prepare_in_task, sk_err *e) {
    int kt = -1;
    size_t row_bytes = 0;
    if (!k) return sk_err_set(e, SK_ERR_INVALID, "matvec: no kernel context");
    int rc = check_weight(W, &kt, &row_bytes, e);
    if (rc) return rc;
    if (!x || !y) return sk_err_set(e, SK_ERR_INVALID, "matvec: NULL input or output");
    mm_job *j = sk_calloc(1, sizeof *j, e);
    if (!j) return SK_ERR_NOMEM;
    j->f = sk_kfuncs_active();
    j->kt = kt;
    j->act = sk_kt_act(kt);
    j->w = W->data;
    j->wstride = row_bytes;
    j->wscale = kt == SK_KT_F8 ? W->scale : NULL;
    j->scale_cols = (W->ne[0] + 127) / 128;
    j->ncols = W->ne[0];
    j->nrows = W->ne[1];
    j->ntok = n;
    j->y = y;
    j->ldy = n > 1 ? j->nrows : 0;
    j->xstride = sk_act_row_bytes(j->act, j->ncols);
    j->pool = k->pool;
    size_t need;
    if (!sk_mul_ok(j->xstride, (size_t)n, &need)) {
        free(j);
        return sk_err_set(e, SK_ERR_RANGE, "matmul: %lld activation rows overflow", (long long)n);
    }
    j->xa = scratch_get(k, need, e);
    if (!j->xa) {
        free(j);
        return e ? e->code : SK_ERR_NOMEM;
    }
    if (prepare_in_task) {
        j->x = x;
    } else {
        for (int64_t t = 0; t < n; t++)
            sk_act_quantize(j->act, x + t * j->ncols, j->xa + (size_t)t * j->xstride, j->ncols);
    }
    j->chunk_rows = pick_chunk(row_bytes, j->nrows, k->n_threads, n > 1 ? 128 << 10 : 32 << 10);
    atomic_init(&j->next, 0);
    size_t work;
    if (!sk_mul_ok(row_bytes * (size_t)j->nrows, (size_t)n, &work)) work = SIZE_MAX;
    if (work < SMALL_WORK || k->n_threads == 1)
        mm_task(j, 0, 1); /* waking the pool costs more than this product */
    else
        sk_pool_run(k->pool, mm_task, j);
    free(j);
    return SK_OK;
}

bool sk_matvec_supports(int type) {
    return sk_kt_from_type(type) >= 0;
}

int sk_matvec(sk_kctx *k, const sk_tensor *W, const float *x, float *y, sk_err *e) {
    return run_mm(k, W, x, 1, y, 0, e);
}

int sk_matmul(sk_kctx *k, const sk_tensor *W, const float *X, int64_t n, float *Y, sk_err *e) {
    if (n < 0)
        return sk_err_set(e, SK_ERR_INVALID, "matmul: negative token count %lld", (long long)n);
    if (n == 0) return SK_OK;
    if (n == 1) return sk_matvec(k, W, X, Y, e);
    return run_mm(k, W, X, n, Y, 1, e);
}

/* ---- memory read bandwidth ---- */

typedef struct bw_job {
    const sk_kfuncs *f;
    const uint8_t *buf;
    size_t bytes;
    uint64_t sums[512];
} bw_job;

static void bw_task(void *ctx, int ith, int nth) {
    bw_job *j = ctx;
    size_t blocks = j->bytes / 4096, lo, hi;
    sk_split_range(blocks, ith, nth, &lo, &hi);
    j->sums[ith & 511] ^= j->f->read_sum(j->buf + lo * 4096, (hi - lo) * 4096);
}

static void fill_task(void *ctx, int ith, int nth) {
    bw_job *j = ctx;
    size_t blocks = j->bytes / 4096, lo, hi;
    sk_split_range(blocks, ith, nth, &lo, &hi);
    /* first touch by the thread that reads it (NUMA-friendly); a varied pattern */
    uint8_t *p = (uint8_t *)j->buf;
    for (size_t i = lo * 4096; i < hi * 4096; i++) p[i] = (uint8_t)(i * 131u + (i >> 12));
}

struct sk_bw_probe {
    sk_kctx *k;
    bw_job *j;
    uint8_t *buf;
};

sk_bw_probe *sk_bw_probe_new(sk_kctx *k, size_t bytes, sk_err *e) {
    if (!k) {
        sk_err_set(e, SK_ERR_INVALID, "bandwidth: no kernel context");
        return NULL;
    }
    if (bytes < (1u << 20)) bytes = 1u << 20;
    bytes &= ~(size_t)4095;
    sk_bw_probe *p = sk_calloc(1, sizeof *p, e);
    if (!p) return NULL;
    p->k = k;
    p->j = sk_calloc(1, sizeof *p->j, e);
    p->buf = p->j ? sk_aligned_alloc(4096, bytes, e) : NULL;
    if (!p->buf) {
        sk_bw_probe_free(p);
        return NULL;
    }
    p->j->buf = p->buf;
    p->j->bytes = bytes;
    p->j->f = sk_kfuncs_active();
    sk_pool_run(k->pool, fill_task, p->j);
    return p;
}

double sk_bw_probe_run(sk_bw_probe *p) {
    p->j->f = sk_kfuncs_active();
    double t0 = sk_time_sec();
    sk_pool_run(p->k->pool, bw_task, p->j);
    double dt = sk_time_sec() - t0;
    uint64_t acc = 0;
    for (int i = 0; i < 512; i++) acc ^= p->j->sums[i];
    if (acc == 0x5eed5eed5eedull) SK_DEBUG("bandwidth checksum %llx", (unsigned long long)acc);
    return (double)p->j->bytes / dt / 1e9;
}

void sk_bw_probe_free(sk_bw_probe *p) {
    if (!p) return;
    free(p->buf);
    free(p->j);
    free(p);
}

double sk_bench_read_bandwidth(sk_kctx *k, size_t bytes, int reps, sk_err *e) {
    sk_bw_probe *p = sk_bw_probe_new(k, bytes, e);
    if (!p) return -1.0;
    double best = 0.0;
    for (int r = 0; r < (reps < 1 ? 1 : reps); r++) {
        double g = sk_bw_probe_run(p);
        if (g > best) best = g;
    }
    sk_bw_probe_free(p);
    return best;
}
