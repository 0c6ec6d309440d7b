/* golden_util.h — shared helpers of the golden-logits tests: reading tokens.txt and .f32
 * files under tests/data/golden, running a model over the tokens (batched or one token per
 * call) and comparing logits. */
#ifndef SK_GOLDEN_UTIL_H
#define SK_GOLDEN_UTIL_H

#include "sk_model.h"
#include "sk_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GOLDEN SEEK_TEST_DATA "/golden/"

static inline void g_path(char *buf, size_t n, const char *cs, const char *file) {
    snprintf(buf, n, "%s%s/%s", GOLDEN, cs, file);
}

/* Reads whitespace-separated ids; returns count (≤ max) or -1. */
static inline int g_tokens(const char *cs, int32_t *tok, int max) {
    char p[1024];
    g_path(p, sizeof p, cs, "tokens.txt");
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    int n = 0;
    long v;
    while (n < max && fscanf(f, "%ld", &v) == 1) tok[n++] = (int32_t)v;
    fclose(f);
    return n;
}

/* Reads n floats of a reference file; NULL if absent or short. */
static inline float *g_floats(const char *cs, const char *file, size_t n) {
    char p[1024];
    g_path(p, sizeof p, cs, file);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    float *d = malloc(n * sizeof(float));
    if (d && fread(d, sizeof(float), n, f) != n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    return d;
}

typedef struct g_cmp {
    double max_abs, mean_abs;
    int argmax_agree, rows;
} g_cmp;

static inline int g_argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static inline g_cmp g_compare(const float *a, const float *b, int rows, int nv) {
    g_cmp r = {0, 0, 0, rows};
    double sum = 0;
    for (int i = 0; i < rows; i++) {
        for (int j = 0; j < nv; j++) {
            double d = fabs((double)a[(size_t)i * nv + j] - b[(size_t)i * nv + j]);
            if (!(d <= r.max_abs)) r.max_abs = d; /* NaN propagates as failure */
            sum += d;
        }
        r.argmax_agree += g_argmax(a + (size_t)i * nv, nv) == g_argmax(b + (size_t)i * nv, nv);
    }
    r.mean_abs = sum / ((double)rows * nv);
    return r;
}

/* Runs tokens through a fresh context: all at once (n_batch tokens per chunk) or one token per
 * eval call; returns n×n_vocab logits (malloc'd) or NULL with the error printed. */
static inline float *g_run_mode(sk_model *m, const int32_t *tok, int n, bool one_by_one,
                                int cache_type, int n_batch, int mla_mode) {
    sk_err e = {0};
    const sk_model_config *c = sk_model_get_config(m);
    sk_model_ctx_params p;
    sk_model_ctx_params_init(&p);
    p.n_ctx = n + 8;
    p.n_batch = n_batch;
    p.cache_type = cache_type;
    p.mla_mode = mla_mode;
    sk_model_ctx *ctx = NULL;
    float *lg = malloc((size_t)n * c->n_vocab * sizeof(float));
    int rc = sk_model_ctx_new(m, &p, &ctx, &e);
    if (!rc) {
        if (one_by_one) {
            for (int i = 0; i < n && !rc; i++)
                rc = sk_model_eval(ctx, tok + i, 1, lg + (size_t)i * c->n_vocab, false, &e);
        } else {
            rc = sk_model_eval(ctx, tok, n, lg, true, &e);
        }
    }
    sk_model_ctx_free(ctx);
    if (rc) {
        fprintf(stderr, "g_run failed: %s\n", e.msg);
        free(lg);
        return NULL;
    }
    return lg;
}

static inline float *g_run(sk_model *m, const int32_t *tok, int n, bool one_by_one, int cache_type,
                           int n_batch) {
    return g_run_mode(m, tok, n, one_by_one, cache_type, n_batch, SK_MLA_AUTO);
}

static inline sk_model *g_open(const char *cs, const char *file, bool exact) {
    char p[1024];
    if (file) g_path(p, sizeof p, cs, file);
    else snprintf(p, sizeof p, "%s%s", GOLDEN, cs); /* the case folder: HF form */
    sk_model_opts o;
    sk_model_opts_init(&o);
    o.n_threads = 2;
    o.exact_f32 = exact;
    sk_model *m = NULL;
    sk_err e = {0};
    if (sk_model_open(p, &o, &m, &e)) {
        fprintf(stderr, "open %s: %s\n", p, e.msg);
        return NULL;
    }
    return m;
}

#endif
