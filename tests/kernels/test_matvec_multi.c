/* test_matvec_multi.c — sk_matmul_multi: several products in one dispatch must give, for
 * every op, exactly the bits of a separate sk_matvec (one token) or sk_matmul (n tokens), for
 * a mix of weight types, shared and separate inputs, small and large matrices, 1 and 2
 * threads; and bad ops are errors naming the weight. */
#include "sk_kernels.h"
#include "sk_test.h"

#include <stdatomic.h>
#include <stdint.h>

static uint64_t rs = 0x2545F4914F6CDD1Dull;
static float rndf(void) {
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (float)((rs >> 40) & 0xFFFFFF) / 8388608.0f - 1.0f;
}

typedef struct wmat {
    sk_tensor t;
    void *buf;
} wmat;

static void make(wmat *m, int type, int64_t cols, int64_t rows, const char *name) {
    size_t rb = 0;
    CHECK(sk_row_size(type, cols, &rb));
    m->buf = malloc(rb * (size_t)rows);
    float *f = malloc((size_t)(cols * rows) * sizeof(float));
    for (int64_t i = 0; i < cols * rows; i++) f[i] = rndf();
    sk_err e = {0};
    CHECK(sk_quant(type, f, m->buf, cols * rows, &e) == SK_OK);
    free(f);
    m->t = (sk_tensor){.name = name,
                       .type = type,
                       .n_dims = 2,
                       .ne = {cols, rows, 1, 1},
                       .data = m->buf,
                       .nbytes = rb * (size_t)rows};
}

static void run_case(int threads, int64_t n) {
    sk_err e = {0};
    sk_kctx *k = sk_kctx_new(threads, &e);
    CHECK(k != NULL);
    if (!k) return;
    enum { NW = 6 };
    wmat w[NW];
    /* shared input x0 (512 wide) for 0..2, x1 (256 wide) for 3..4, x2 (512 wide) for 5;
     * sizes from 4 rows (caller-only sized) to several hundred KiB */
    make(&w[0], SK_TYPE_Q8_0, 512, 700, "a.q8_0");
    make(&w[1], SK_TYPE_Q4_K, 512, 333, "b.q4_k");
    make(&w[2], SK_TYPE_F32, 512, 37, "c.f32");
    make(&w[3], SK_TYPE_Q5_0, 256, 1030, "d.q5_0");
    make(&w[4], SK_TYPE_F16, 256, 4, "e.f16");
    make(&w[5], SK_TYPE_Q6_K, 512, 515, "f.q6_k");
    float *x0 = malloc((size_t)(n * 512) * sizeof(float));
    float *x1 = malloc((size_t)(n * 256) * sizeof(float));
    float *x2 = malloc((size_t)(n * 512) * sizeof(float));
    for (int64_t i = 0; i < n * 512; i++) x0[i] = rndf(), x2[i] = rndf();
    for (int64_t i = 0; i < n * 256; i++) x1[i] = rndf();
    const float *xs[NW] = {x0, x0, x0, x1, x1, x2};
    float *ya[NW], *yb[NW];
    sk_mv_op ops[NW];
    for (int i = 0; i < NW; i++) {
        size_t sz = (size_t)(n * w[i].t.ne[1]);
        ya[i] = calloc(sz, sizeof(float));
        yb[i] = calloc(sz, sizeof(float));
        ops[i] = (sk_mv_op){&w[i].t, xs[i], ya[i]};
        if (n == 1)
            CHECK(sk_matvec(k, &w[i].t, xs[i], yb[i], &e) == SK_OK);
        else
            CHECK(sk_matmul(k, &w[i].t, xs[i], n, yb[i], &e) == SK_OK);
    }
    CHECK_MSG(sk_matmul_multi(k, ops, NW, n, &e) == SK_OK, "%s", e.msg);
    for (int i = 0; i < NW; i++) {
        size_t sz = (size_t)(n * w[i].t.ne[1]), diff = 0;
        for (size_t j = 0; j < sz; j++) diff += memcmp(&ya[i][j], &yb[i][j], sizeof(float)) != 0;
        CHECK_MSG(diff == 0, "%d threads, %lld tokens, op %d (%s): %zu of %zu outputs differ",
                  threads, (long long)n, i, w[i].t.name, diff, sz);
    }
    /* the small ops alone (below the size that wakes the pool) and a single op */
    CHECK(sk_matmul_multi(k, ops + 4, 1, n, &e) == SK_OK);
    CHECK(memcmp(ya[4], yb[4], (size_t)(n * 4) * sizeof(float)) == 0);
    CHECK(sk_matmul_multi(k, ops, 0, n, &e) == SK_OK);
    /* errors: a weight without data, a NULL output, a negative token count */
    sk_tensor bad = w[1].t;
    bad.data = NULL;
    sk_mv_op bops[2] = {ops[0], {&bad, x0, ya[1]}};
    CHECK(sk_matmul_multi(k, bops, 2, n, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "b.q4_k") != NULL);
    bops[1] = (sk_mv_op){&w[1].t, x0, NULL};
    CHECK(sk_matmul_multi(k, bops, 2, n, &e) == SK_ERR_INVALID);
    CHECK(sk_matmul_multi(k, ops, 2, -1, &e) == SK_ERR_INVALID);
    CHECK(sk_matmul_multi(k, NULL, 2, n, &e) == SK_ERR_INVALID);
    for (int i = 0; i < NW; i++) {
        free(ya[i]);
        free(yb[i]);
        free(w[i].buf);
    }
    free(x0);
    free(x1);
    free(x2);
    sk_kctx_free(k);
}

static void test_multi_one_token(void) {
    run_case(2, 1);
    run_case(1, 1);
    run_case(3, 1);
}

static void test_multi_tokens(void) {
    run_case(2, 5);
    run_case(2, 19);
    run_case(1, 7);
}

/* The pool under the products: dynamic tasks (any subset of threads) interleaved with
 * static ones (every thread, with a barrier), many times, more threads than CPUs. */
typedef struct pool_job {
    _Atomic long next, sum, ran;
    long n;
    int seen[8];
    sk_pool *p;
} pool_job;

static void dyn_task(void *ctx, int ith, int nth) {
    pool_job *j = ctx;
    (void)ith;
    (void)nth;
    for (;;) {
        long i = j->next++;
        if (i >= j->n) break;
        j->sum += i + 1;
    }
}

static void static_task(void *ctx, int ith, int nth) {
    pool_job *j = ctx;
    j->seen[ith] = 1;
    j->ran++;
    sk_pool_barrier(j->p);
    if (ith == 0) j->sum = j->ran == nth; /* everyone passed the first half */
    sk_pool_barrier(j->p);
}

static void test_pool_dynamic(void) {
    sk_err e = {0};
    sk_pool *p = sk_pool_new(3, &e);
    CHECK(p != NULL);
    if (!p) return;
    int bad_dyn = 0, bad_static = 0;
    for (int it = 0; it < 3000; it++) {
        pool_job j = {.n = it % 50, .p = p};
        sk_pool_run_dynamic(p, dyn_task, &j);
        bad_dyn += j.sum != j.n * (j.n + 1) / 2;
        if (it % 10 == 0) {
            pool_job s = {.p = p};
            sk_pool_run(p, static_task, &s);
            bad_static += !(s.sum == 1 && s.seen[0] && s.seen[1] && s.seen[2]);
        }
    }
    CHECK_MSG(bad_dyn == 0, "%d dynamic tasks lost or repeated items", bad_dyn);
    CHECK_MSG(bad_static == 0, "%d static tasks not run by every thread", bad_static);
    sk_pool_free(p);
}

int main(void) {
    RUN(test_pool_dynamic);
    RUN(test_multi_one_token);
    RUN(test_multi_tokens);
    return sk_test_report("matvec_multi");
}
