/* Tests for src/util: errors, checked arithmetic, arena, thread pool, UTF-8, files. */
#include "sk_test.h"
#include "sk_util.h"

#include <stdatomic.h>
#include <unistd.h>

static void test_err(void) {
    sk_err e;
    sk_err_clear(&e);
    CHECK(sk_err_set(&e, SK_ERR_FORMAT, "field %s bad", "x") == SK_ERR_FORMAT);
    CHECK(sk_err_prefix(&e, "file.gguf") == SK_ERR_FORMAT);
    CHECK(strcmp(e.msg, "file.gguf: field x bad") == 0);
    CHECK(sk_err_set(NULL, SK_ERR_IO, "ignored") == SK_ERR_IO);
    /* a prefix longer than the buffer must not drop the original message (the cause) */
    char longp[1500];
    memset(longp, 'p', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    sk_err_set(&e, SK_ERR_IO, "the real cause");
    CHECK(sk_err_prefix(&e, "%s", longp) == SK_ERR_IO);
    CHECK(strlen(e.msg) < SK_ERR_MSG_MAX);
    size_t ml = strlen(e.msg);
    CHECK(ml > 14 && strcmp(e.msg + ml - 14, "the real cause") == 0);
    CHECK(e.msg[0] == 'p' && strstr(e.msg, "...: the real cause") != NULL);
    /* a long message under a long prefix keeps at least half the buffer */
    char longm[1000];
    memset(longm, 'm', sizeof longm - 1);
    longm[sizeof longm - 1] = '\0';
    sk_err_set(&e, SK_ERR_IO, "%s", longm);
    sk_err_prefix(&e, "%s", longp);
    ml = strlen(e.msg);
    CHECK(ml == SK_ERR_MSG_MAX - 1);
    CHECK(strspn(strstr(e.msg, ": ") + 2, "m") >= (SK_ERR_MSG_MAX - 1) / 2);
    /* a short prefix and a long message: the prefix is whole */
    sk_err_set(&e, SK_ERR_IO, "%s", longm);
    sk_err_prefix(&e, "ctx");
    CHECK(strncmp(e.msg, "ctx: mmm", 8) == 0 && strlen(e.msg) == 5 + strlen(longm));
}

static void test_rng(void) {
    /* SplitMix64 reference outputs for seed 1234567 (Vigna's splitmix64.c test values) */
    uint64_t x = 1234567;
    const uint64_t want[3] = {6457827717110365317ull, 3203168211198807973ull,
                              9817491932198370423ull};
    for (int i = 0; i < 3; i++) CHECK(sk_splitmix64(&x) == want[i]);
    sk_rng a, b;
    sk_rng_seed(&a, 7);
    sk_rng_seed(&b, 7);
    for (int i = 0; i < 100; i++) {
        double u = sk_rng_uniform(&a);
        CHECK(u >= 0.0 && u < 1.0);
        CHECK(sk_rng_uniform(&b) == u);
    }
}

static void test_checked(void) {
    size_t r;
    CHECK(sk_mul_ok(1u << 20, 1u << 20, &r) && r == (size_t)1 << 40);
    CHECK(!sk_mul_ok(SIZE_MAX / 2, 3, &r));
    CHECK(!sk_add_ok(SIZE_MAX, 1, &r));
    uint64_t u;
    CHECK(sk_align_up_ok(33, 32, &u) && u == 64);
    CHECK(sk_align_up_ok(64, 32, &u) && u == 64);
    CHECK(!sk_align_up_ok(UINT64_MAX - 3, 32, &u));
    sk_err e;
    CHECK(sk_calloc(SIZE_MAX / 4, 8, &e) == NULL && e.code == SK_ERR_RANGE);
    /* huge-page buffers: 2 MiB aligned and usable whatever the kernel grants; the hint takes
     * any pointer and length, page-aligned or not */
    size_t hn = ((size_t)5 << 20) + 123;
    uint8_t *h = sk_huge_alloc(hn, &e);
    CHECK(h && ((uintptr_t)h & (((uintptr_t)2 << 20) - 1)) == 0);
    if (h) {
        memset(h, 7, hn);
        CHECK(h[0] == 7 && h[hn - 1] == 7);
        sk_mem_advise_huge(h + 1, 100);
        sk_mem_advise_huge(h + 4095, hn - 4095);
        sk_mem_advise_huge(NULL, 10);
        CHECK(h[4095] == 7 && h[hn - 1] == 7);
        free(h);
    }
}

static void test_arena(void) {
    sk_arena a;
    sk_err e;
    sk_arena_init(&a, 256);
    char *p = sk_arena_alloc(&a, 100, 64, &e);
    CHECK(p && ((uintptr_t)p % 64) == 0);
    char *q = sk_arena_alloc(&a, 1000, 16, &e); /* larger than a block */
    CHECK(q && ((uintptr_t)q % 16) == 0);
    memset(q, 1, 1000);
    for (int i = 0; i < 100; i++) CHECK(p[i] == 0);
    char *s = sk_arena_strdup(&a, "hello world", 5, &e);
    CHECK(s && strcmp(s, "hello") == 0);
    CHECK(sk_arena_alloc(&a, 8, 3, &e) == NULL && e.code == SK_ERR_INVALID);
    sk_arena_free(&a);
}

typedef struct {
    atomic_int sum;
    atomic_int phase_errors;
    atomic_int arrived;
    sk_pool *pool;
    int rounds;
} pool_ctx;

static void pool_task(void *vctx, int ith, int nth) {
    pool_ctx *c = vctx;
    for (int r = 0; r < c->rounds; r++) {
        atomic_fetch_add(&c->arrived, 1);
        sk_pool_barrier(c->pool);
        /* after the barrier every thread has arrived for this round */
        if (atomic_load(&c->arrived) < (r + 1) * nth) atomic_fetch_add(&c->phase_errors, 1);
        sk_pool_barrier(c->pool);
    }
    atomic_fetch_add(&c->sum, ith + 1);
}

static void test_pool(void) {
    sk_err e;
    for (int n = 1; n <= 4; n++) {
        sk_pool *p = sk_pool_new(n, &e);
        CHECK(p != NULL);
        if (!p) return;
        CHECK(sk_pool_size(p) == n);
        for (int rep = 0; rep < 50; rep++) {
            pool_ctx c = {.pool = p, .rounds = 3};
            atomic_init(&c.sum, 0);
            atomic_init(&c.phase_errors, 0);
            atomic_init(&c.arrived, 0);
            sk_pool_run(p, pool_task, &c);
            CHECK(atomic_load(&c.sum) == n * (n + 1) / 2);
            CHECK(atomic_load(&c.phase_errors) == 0);
        }
        sk_pool_free(p);
    }
    size_t lo, hi, total = 0;
    for (int i = 0; i < 3; i++) {
        sk_split_range(10, i, 3, &lo, &hi);
        total += hi - lo;
    }
    CHECK(total == 10);
}

static void test_utf8(void) {
    CHECK(sk_utf8_valid((const uint8_t *)"h\xc3\xa9llo \xe4\xb8\xad \xf0\x9f\x98\x80", 15));
    CHECK(!sk_utf8_valid((const uint8_t *)"\xc0\x80", 2));         /* overlong */
    CHECK(!sk_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));     /* surrogate */
    CHECK(!sk_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
    CHECK(!sk_utf8_valid((const uint8_t *)"\xe4\xb8", 2));         /* truncated */
    CHECK(sk_utf8_seq_len((const uint8_t *)"\xe4\xb8\xad", 3) == 3);
}

static void test_files(void) {
    sk_err e;
    char path[] = "/tmp/seek_test_util_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(sk_write_file_atomic(path, "abc", 3, &e), &e);
    char *buf;
    size_t n;
    CHECK_OK(sk_read_file(path, 100, &buf, &n, &e), &e);
    CHECK(n == 3 && strcmp(buf, "abc") == 0);
    free(buf);
    CHECK(sk_read_file(path, 2, &buf, &n, &e) == SK_ERR_RANGE);
    sk_mmap m;
    CHECK_OK(sk_mmap_open(&m, path, &e), &e);
    CHECK(m.size == 3 && memcmp(m.data, "abc", 3) == 0 && !m.copied && m.fd >= 0);
    sk_mmap_close(&m);
    /* copied into private memory: the same bytes, the file closed; > 1 page, odd size */
    {
        size_t big = 3 * 4096 + 17;
        uint8_t *src = malloc(big);
        CHECK(src != NULL);
        for (size_t i = 0; i < big; i++) src[i] = (uint8_t)(i * 7 + (i >> 9));
        CHECK_OK(sk_write_file_atomic(path, src, big, &e), &e);
        sk_mmap a, b;
        CHECK_OK(sk_mmap_open_copy(&a, path, true, &e), &e);
        CHECK_OK(sk_mmap_open_copy(&b, path, false, &e), &e);
        CHECK(a.copied && a.fd == -1 && !b.copied);
        CHECK(a.size == big && b.size == big && !memcmp(a.data, src, big) &&
              !memcmp(b.data, src, big));
        sk_mmap_close(&a);
        sk_mmap_close(&b);
        CHECK(a.data == NULL && a.size == 0 && !a.copied);
        free(src);
    }
    unlink(path);
    CHECK(sk_mmap_open(&m, "/nonexistent/x", &e) == SK_ERR_IO);
    CHECK(strstr(e.msg, "/nonexistent/x") != NULL);
    CHECK(sk_mmap_open_copy(&m, "/nonexistent/y", true, &e) == SK_ERR_IO);
    CHECK(strstr(e.msg, "/nonexistent/y") != NULL);
    CHECK(sk_mmap_open_copy(&m, "/tmp", true, &e) == SK_ERR_IO); /* not a regular file */
    /* sk_same_file: the same inode through two names, distinct files, a missing file */
    char p2[] = "/tmp/seek_test_util_XXXXXX";
    fd = mkstemp(p2);
    CHECK(fd >= 0);
    close(fd);
    char lnk[64];
    snprintf(lnk, sizeof lnk, "%s.lnk", p2);
    CHECK(link(p2, lnk) == 0);
    CHECK(sk_same_file(p2, p2));
    CHECK(sk_same_file(p2, lnk));
    CHECK(!sk_same_file(p2, path)); /* path was unlinked */
    CHECK(!sk_same_file(p2, "/tmp"));
    unlink(lnk);
    unlink(p2);
}

int main(void) {
    RUN(test_err);
    RUN(test_rng);
    RUN(test_checked);
    RUN(test_arena);
    RUN(test_pool);
    RUN(test_utf8);
    RUN(test_files);
    return sk_test_report("util");
}
