/*
 * sk_test.h — the tiny harness every Seek test executable uses.
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-6); }
 *   int main(void) { RUN(test_something); return sk_test_report("util"); }
 *
 * A failed CHECK prints file:line and the expression and marks the current test
 * failed; the test goes on. sk_test_report prints "N passed, N failed" and returns
 * the process exit code (0 only if nothing failed and at least one test ran).
 * SKIP("why") ends the current test as skipped (e.g. AVX-512 absent on this CPU).
 */
#ifndef SK_TEST_H
#define SK_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sk_t_passed, sk_t_failed, sk_t_skipped, sk_t_cur_failed, sk_t_cur_skipped;
static const char *sk_t_name;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: %s: CHECK failed: %s\n", __FILE__, __LINE__, sk_t_name, \
                    #cond);                                                                \
            sk_t_cur_failed = 1;                                                           \
        }                                                                                  \
    } while (0)

#define CHECK_MSG(cond, ...)                                                               \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: %s: CHECK failed: %s: ", __FILE__, __LINE__, sk_t_name, \
                    #cond);                                                                \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            sk_t_cur_failed = 1;                                                           \
        }                                                                                  \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        double sk_a_ = (double)(a), sk_b_ = (double)(b);                                   \
        if (!(fabs(sk_a_ - sk_b_) <= (tol))) {                                             \
            fprintf(stderr, "%s:%d: %s: CHECK_NEAR failed: %s=%.9g %s=%.9g tol %g\n",      \
                    __FILE__, __LINE__, sk_t_name, #a, sk_a_, #b, sk_b_, (double)(tol));   \
            sk_t_cur_failed = 1;                                                           \
        }                                                                                  \
    } while (0)

/* Asserts an sk status is SK_OK; prints the sk_err message otherwise. */
#define CHECK_OK(rc, err)                                                                  \
    do {                                                                                   \
        int sk_rc_ = (rc);                                                                 \
        if (sk_rc_ != 0) {                                                                 \
            fprintf(stderr, "%s:%d: %s: %s returned %d: %s\n", __FILE__, __LINE__,         \
                    sk_t_name, #rc, sk_rc_, (err)->msg);                                   \
            sk_t_cur_failed = 1;                                                           \
        }                                                                                  \
    } while (0)

#define SKIP(...)                                                                          \
    do {                                                                                   \
        fprintf(stderr, "  skip %s: ", sk_t_name);                                         \
        fprintf(stderr, __VA_ARGS__);                                                      \
        fputc('\n', stderr);                                                               \
        sk_t_cur_skipped = 1;                                                              \
        return;                                                                            \
    } while (0)

#define RUN(fn)                                                                            \
    do {                                                                                   \
        sk_t_name = #fn;                                                                   \
        sk_t_cur_failed = sk_t_cur_skipped = 0;                                            \
        fn();                                                                              \
        if (sk_t_cur_failed) {                                                             \
            sk_t_failed++;                                                                 \
            fprintf(stderr, "  FAIL %s\n", #fn);                                           \
        } else if (sk_t_cur_skipped) {                                                     \
            sk_t_skipped++;                                                                \
        } else {                                                                           \
            sk_t_passed++;                                                                 \
            fprintf(stderr, "  ok   %s\n", #fn);                                           \
        }                                                                                  \
    } while (0)

static inline int sk_test_report(const char *suite) {
    printf("%s: %d passed, %d failed, %d skipped\n", suite, sk_t_passed, sk_t_failed,
           sk_t_skipped);
    return (sk_t_failed == 0 && sk_t_passed > 0) ? 0 : 1;
}

/* Reads a whole binary file (test data); aborts the test program if absent. */
/* The whole file, NUL-terminated (malloc'd; *len, if given, excludes the NUL), or NULL when it
 * cannot be read (*len then 0). */
static inline void *sk_test_read(const char *path, size_t *len) {
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    char *buf = n >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)n + 1) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = 0;
    if (len) *len = (size_t)n;
    return buf;
}

/* sk_test_read of a file the test needs: a missing or unreadable one ends the test program. */
static inline void *sk_test_slurp(const char *path, size_t *len) {
    void *buf = sk_test_read(path, len);
    if (!buf) {
        fprintf(stderr, "cannot read test data %s\n", path);
        exit(2);
    }
    return buf;
}

/* True when both files can be read, are not empty and hold the same bytes. */
static inline int sk_test_same_file(const char *a, const char *b) {
    size_t na, nb;
    char *x = sk_test_read(a, &na), *y = sk_test_read(b, &nb);
    int same = x && y && na == nb && na > 0 && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* Runs a command function (int fn(int argc, char **argv), as src/cli's sk_cmd_*) on a
 * NULL-terminated list of words (at most 63). */
static inline int sk_test_run_cmd(int (*fn)(int, char **), const char *const *args) {
    char *argv[64];
    int argc = 0;
    while (args[argc] && argc < 63) {
        argv[argc] = (char *)args[argc];
        argc++;
    }
    argv[argc] = NULL;
    return fn(argc, argv);
}

/* The number after "key": in line `line` (1-based) of a text file such as a metrics.jsonl;
 * NaN when the file, the line or the key in that line is missing. */
static inline double sk_test_line_number(const char *path, int line, const char *key) {
    char *t = sk_test_read(path, NULL), *p = t;
    for (int i = 1; i < line && p; i++) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    char *eol = p ? strchr(p, '\n') : NULL;
    if (eol) *eol = 0;
    double v = NAN;
    char k[128];
    snprintf(k, sizeof k, "\"%s\":", key);
    if (p && (p = strstr(p, k))) v = atof(p + strlen(k));
    free(t);
    return v;
}

#endif
