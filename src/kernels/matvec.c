/* matvec.c — the execution context (thread pool + activation scratch), sk_matvec and
 * sk_matmul, and the memory read-bandwidth probe.
 *
 * sk_matvec: x is prepared once (quantized for the Q types) into kctx scratch by the caller
 * thread; the output rows are handed out in chunks of a multiple of 4 rows from an atomic
 * counter, guided sizes (a share of what remains, down to 32 KiB: guided_chunks), so every
 * thread streams long runs of its own part of the matrix and a thread slowed by a neighbour
 * process does not hold up the others.
 * sk_matmul: the threads take the n activation rows to prepare from a counter and wait until
 * all are prepared (not for every thread: one that is not running holds nothing up), then
 * take row chunks (≈128 KiB of weights, kept in L2) and multiply each by the tokens in
 * tiles of 16, so each weight row comes from memory once per call, not once per token.
 * Both use the same dot kernels, so sk_matmul equals n sk_matvec calls bit for bit.
 * sk_matmul_multi runs several products in one dispatch: each op's rows are chunked as
 * above (chunks start at multiples of 4 rows of that op, so the dot/dot4 pattern per row is
 * the one sk_matvec uses), and the chunks of all ops form one sequence behind one counter.
 * sk_matvec and sk_matmul are the one-op case of it. All of it runs as a dynamic pool task
 * (sk_pool_run_dynamic): the caller never waits for a worker that has not started.
 */
#include "kernels_internal.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct sk_kctx {
    sk_pool *pool;
    int n_threads;
    void *scratch;
    size_t scratch_cap;
    struct mm_op *ops; /* per-call product descriptors, reused */
    int ops_cap;
    struct mm_chunk *chunks; /* one token: the call's chunk list (guided sizes), reused */
    int64_t chunks_cap;
    sk_kctx_stats st;
};

void sk_kctx_stats_get(const sk_kctx *k, sk_kctx_stats *out) {
    *out = k->st;
}

void sk_kctx_stats_reset(sk_kctx *k) {
    memset(&k->st, 0, sizeof k->st);
}

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
    free(k->ops);
    free(k->chunks);
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

/* One product of a call: W's rows, its prepared activations and its output. */
typedef struct mm_op {
    int kt;
    const uint8_t *w;
    size_t wstride;
    const float *wscale; /* F8 grid or NULL */
    int64_t scale_cols;  /* ceil(ncols/128) */
    int64_t ncols, nrows;
    const float *x; /* raw activations [ntok][ncols] */
    uint8_t *xa;    /* prepared activations [ntok] rows of xstride bytes (maybe another op's) */
    size_t xstride;
    bool prep; /* this op prepares xa (the first op with this x) */
    int src;   /* else: the op whose xa it shares */
    sk_act act;
    float *y;
    int64_t ldy;        /* 1 token: 0 (y[r]); n tokens: nrows (Y[t][r]) */
    int64_t chunk_rows; /* a multiple of 4 */
    int64_t chunk0;     /* index of its first chunk in the call's chunk sequence */
} mm_op;

/* One chunk of a one-token call: rows [r0, r1) of op. */
typedef struct mm_chunk {
    int op;
    int64_t r0, r1;
} mm_chunk;

typedef struct mm_job {
    const sk_kfuncs *f;
    mm_op *ops;
    int nops;
    int64_t ntok;
    int64_t nchunks;        /* over all ops */
    const mm_chunk *chunks; /* one token: the chunks; else NULL (uniform per op) */
    bool prep_in_task;
    int64_t prep_rows; /* activation rows to prepare in the task */
    atomic_llong prep_next, prep_done;
    atomic_llong next;
    sk_pool *pool;
} mm_job;

static inline const float *row_scale(const mm_op *o, int64_t r) {
    return o->wscale ? o->wscale + (r / 128) * o->scale_cols : NULL;
}

/* y[t*ldy + r] for rows [r0, r1) and tokens [t0, t1). Several tokens: each row is decoded
 * once per 4 tokens (gemm4) while it sits in L1; one token: 4 rows share the activation
 * loads (dot4). */
static void mm_block(const sk_kfuncs *f, const mm_op *j, int64_t r0, int64_t r1, int64_t t0,
                     int64_t t1) {
    sk_dot_fn dot = f->dot[j->kt];
    sk_dot4_fn dot4 = f->dot4[j->kt];
    sk_gemm4_fn gemm4 = f->gemm4[j->kt];
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

/* Prepares the activation rows [lo, hi) of the (preparing op, token) sequence. */
static void mm_prepare(const mm_job *j, size_t lo, size_t hi) {
    size_t at = 0;
    for (int i = 0; i < j->nops && at < hi; i++) {
        const mm_op *o = &j->ops[i];
        if (!o->prep) continue;
        for (int64_t t = 0; t < j->ntok; t++, at++)
            if (at >= lo && at < hi)
                sk_act_quantize(o->act, o->x + t * o->ncols, o->xa + (size_t)t * o->xstride,
                                o->ncols);
    }
}

static void mm_task(void *ctx, int ith, int nth) {
    (void)ith;
    (void)nth;
    mm_job *j = ctx;
    if (j->prep_in_task) {
        /* the threads present take activation rows to prepare from a counter, then wait
         * for the rows still in progress (no barrier over all threads: a worker that is
         * not running does not hold this up) */
        for (;;) {
            int64_t r = atomic_fetch_add_explicit(&j->prep_next, 1, memory_order_relaxed);
            if (r >= j->prep_rows) break;
            mm_prepare(j, (size_t)r, (size_t)r + 1);
            atomic_fetch_add_explicit(&j->prep_done, 1, memory_order_release);
        }
        for (int spins = 0;
             atomic_load_explicit(&j->prep_done, memory_order_acquire) < j->prep_rows; spins++) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#elif defined(__aarch64__)
            __asm__ volatile("yield");
#endif
            if ((spins & 4095) == 4095) sched_yield();
        }
    }
    int i = 0; /* chunks are handed out in increasing order: the op index only advances */
    for (;;) {
        int64_t c = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (c >= j->nchunks) break;
        const mm_op *o;
        int64_t r0, r1;
        if (j->chunks) {
            o = &j->ops[j->chunks[c].op];
            r0 = j->chunks[c].r0;
            r1 = j->chunks[c].r1;
        } else {
            while (i + 1 < j->nops && c >= j->ops[i + 1].chunk0) i++;
            o = &j->ops[i];
            r0 = (c - o->chunk0) * o->chunk_rows;
            r1 = r0 + o->chunk_rows < o->nrows ? r0 + o->chunk_rows : o->nrows;
        }
        for (int64_t t0 = 0; t0 < j->ntok; t0 += TOK_TILE)
            mm_block(j->f, o, r0, r1, t0, t0 + TOK_TILE < j->ntok ? t0 + TOK_TILE : j->ntok);
    }
}

static int64_t pick_chunk(size_t row_bytes, int64_t nrows, int nth, size_t target) {
    int64_t c = (int64_t)(target / (row_bytes ? row_bytes : 1));
    int64_t max_c = (nrows + 4 * nth - 1) / (4 * nth); /* at least ~4 chunks per thread */
    if (c > max_c) c = max_c;
    c &= ~(int64_t)3;
    return c < 4 ? 4 : c;
}

/* One token: guided chunk sizes over the call's rows in op order. Each chunk is 1/(2·threads)
 * of the weight bytes still unassigned, at least GUIDED_MIN bytes, a multiple of 4 rows
 * (starts stay at multiples of 4, as sk_matvec's dot/dot4 pattern needs) and within one op.
 * A thread so streams long sequential runs of a matrix (the hardware prefetchers ramp up
 * once per chunk; uniform 32 KiB chunks taken in turn by two threads read 10-15 % slower on
 * the Zen 3 this was measured on), while the last chunks stay small so the threads finish
 * together and a thread slowed by another process holds up at most a quarter (2 threads)
 * of what remained when it took its chunk. Returns the chunk count, or -1 out of memory. */
#define GUIDED_MIN ((size_t)32 << 10)
static int64_t guided_chunks(sk_kctx *k, const mm_op *ops, int nops, uint64_t total, sk_err *e) {
    int64_t nc = 0;
    uint64_t rem = total;
    for (int i = 0; i < nops; i++) {
        const mm_op *o = &ops[i];
        for (int64_t r = 0; r < o->nrows;) {
            uint64_t want = rem / (2 * (uint64_t)k->n_threads);
            if (want < GUIDED_MIN) want = GUIDED_MIN;
            int64_t rows = (int64_t)(want / (o->wstride ? o->wstride : 1)) & ~(int64_t)3;
            if (rows < 4) rows = 4;
            int64_t r1 = o->nrows - r > rows ? r + rows : o->nrows;
            if (nc == k->chunks_cap) {
                int64_t cap = k->chunks_cap ? 2 * k->chunks_cap : 64;
                mm_chunk *p = realloc(k->chunks, (size_t)cap * sizeof *p);
                if (!p) {
                    sk_err_set(e, SK_ERR_NOMEM, "matvec: no memory for %lld chunks",
                               (long long)cap);
                    return -1;
                }
                k->chunks = p;
                k->chunks_cap = cap;
            }
            k->chunks[nc++] = (mm_chunk){i, r, r1};
            uint64_t b = (uint64_t)(r1 - r) * o->wstride;
            rem = rem > b ? rem - b : 0;
            r = r1;
        }
    }
    return nc;
}

static mm_op *ops_get(sk_kctx *k, int n, sk_err *e) {
    if (n <= k->ops_cap) return k->ops;
    mm_op *p = sk_calloc((size_t)n, sizeof *p, e);
    if (!p) return NULL;
    free(k->ops);
    k->ops = p;
    k->ops_cap = n;
    return p;
}

/* The products of ops for n tokens in one pool dispatch (see sk_matmul_multi). */
static int run_mm(sk_kctx *k, const sk_mv_op *in, int nops, int64_t n, sk_err *e) {
    if (!k) return sk_err_set(e, SK_ERR_INVALID, "matvec: no kernel context");
    double t0 = sk_time_sec();
    if (nops < 0 || (nops > 0 && !in))
        return sk_err_set(e, SK_ERR_INVALID, "matvec: bad list of %d products", nops);
    if (nops == 0 || n == 0) return SK_OK;
    mm_op *ops = ops_get(k, nops, e);
    if (!ops) return e ? e->code : SK_ERR_NOMEM;
    size_t need = 0, work = 0;
    uint64_t wbytes = 0;
    int64_t nchunks = 0;
    const size_t target = (size_t)128 << 10; /* several tokens: uniform chunks kept in L2 */
    for (int i = 0; i < nops; i++) {
        mm_op *o = &ops[i];
        const sk_tensor *W = in[i].W;
        size_t row_bytes = 0;
        int rc = check_weight(W, &o->kt, &row_bytes, e);
        if (rc) return rc;
        if (!in[i].x || !in[i].y)
            return sk_err_set(e, SK_ERR_INVALID, "matvec: NULL input or output for weight %s",
                              W->name ? W->name : "(unnamed)");
        o->w = W->data;
        o->wstride = row_bytes;
        o->wscale = o->kt == SK_KT_F8 ? W->scale : NULL;
        o->scale_cols = (W->ne[0] + 127) / 128;
        o->ncols = W->ne[0];
        o->nrows = W->ne[1];
        o->x = in[i].x;
        o->y = in[i].y;
        o->ldy = n > 1 ? o->nrows : 0;
        o->act = sk_kt_act(o->kt);
        o->xstride = sk_act_row_bytes(o->act, o->ncols);
        o->prep = true;
        o->xa = NULL;
        for (int p = 0; p < i; p++) /* the same input prepared the same way: share it */
            if (ops[p].prep && ops[p].x == o->x && ops[p].act == o->act &&
                ops[p].ncols == o->ncols) {
                o->prep = false;
                o->src = p; /* xa resolved below, once the scratch is known */
                break;
            }
        size_t bytes, wb;
        if (o->prep) {
            if (!sk_mul_ok(o->xstride, (size_t)n, &bytes) || !sk_add_ok(need, bytes, &need))
                return sk_err_set(e, SK_ERR_RANGE, "matmul: %lld activation rows overflow",
                                  (long long)n);
        }
        if (sk_mul_ok(row_bytes, (size_t)o->nrows, &wb)) wbytes += wb;
        if (!sk_mul_ok(row_bytes, (size_t)o->nrows, &wb) || !sk_mul_ok(wb, (size_t)n, &wb) ||
            !sk_add_ok(work, wb, &work))
            work = SIZE_MAX;
        o->chunk_rows = pick_chunk(row_bytes, o->nrows, k->n_threads, target);
        o->chunk0 = nchunks;
        nchunks += (o->nrows + o->chunk_rows - 1) / o->chunk_rows;
    }
    uint8_t *xa = scratch_get(k, need ? need : 64, e);
    if (!xa) return e ? e->code : SK_ERR_NOMEM;
    size_t off = 0;
    for (int i = 0; i < nops; i++) {
        mm_op *o = &ops[i];
        if (o->prep) {
            o->xa = xa + off;
            off += o->xstride * (size_t)n;
        } else {
            o->xa = ops[o->src].xa;
        }
    }
    const mm_chunk *chunks = NULL;
    if (n == 1) { /* one token: guided chunks instead */
        int64_t nc = guided_chunks(k, ops, nops, wbytes, e);
        if (nc < 0) return e ? e->code : SK_ERR_NOMEM;
        nchunks = nc;
        chunks = k->chunks;
    }
    mm_job j = {.f = sk_kfuncs_active(),
                .chunks = chunks,
                .ops = ops,
                .nops = nops,
                .ntok = n,
                .nchunks = nchunks,
                .pool = k->pool};
    atomic_init(&j.next, 0);
    atomic_init(&j.prep_next, 0);
    atomic_init(&j.prep_done, 0);
    for (int i = 0; i < nops; i++) j.prep_rows += ops[i].prep ? n : 0;
    bool alone = work < SMALL_WORK || k->n_threads == 1; /* waking the pool costs more */
    j.prep_in_task = n > 1 && !alone;                    /* one token: too little to share */
    if (!j.prep_in_task) mm_prepare(&j, 0, (size_t)j.prep_rows);
    if (alone)
        mm_task(&j, 0, 1);
    else /* all work from counters: whichever threads are running share it */
        sk_pool_run_dynamic(k->pool, mm_task, &j);
    k->st.calls++;
    k->st.ops += (uint64_t)nops;
    k->st.dispatches += !alone;
    k->st.weight_bytes += wbytes;
    k->st.seconds += sk_time_sec() - t0;
    return SK_OK;
}

bool sk_matvec_supports(int type) {
    return sk_kt_from_type(type) >= 0;
}

int sk_matvec(sk_kctx *k, const sk_tensor *W, const float *x, float *y, sk_err *e) {
    sk_mv_op op = {W, x, y};
    return run_mm(k, &op, 1, 1, e);
}

int sk_matmul(sk_kctx *k, const sk_tensor *W, const float *X, int64_t n, float *Y, sk_err *e) {
    if (n < 0)
        return sk_err_set(e, SK_ERR_INVALID, "matmul: negative token count %lld", (long long)n);
    sk_mv_op op = {W, X, Y};
    return run_mm(k, &op, 1, n, e);
}

int sk_matmul_multi(sk_kctx *k, const sk_mv_op *ops, int nops, int64_t n, sk_err *e) {
    if (n < 0)
        return sk_err_set(e, SK_ERR_INVALID, "matmul: negative token count %lld", (long long)n);
    return run_mm(k, ops, nops, n, e);
}

/* ---- memory read bandwidth ----
 * Each thread sums its share of the buffer with eight independent 32- or 64-byte load chains
 * (read_sum). The buffer asks for huge pages, as a roofline should be the most the machine
 * reads: on the 2-core Zen 3 VM (Linux 6.18, transparent huge pages on madvise), in-process
 * paired passes of 512 MiB-1 GiB read 1-15 % more (median of medians about 8 %) from 2 MiB
 * pages than from 4 KiB ones. */

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
    p->buf = p->j ? sk_huge_alloc(bytes, e) : NULL; /* huge pages: see the note above */
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
