/* test_model_golden.c — every golden case reproduced within the README's f32 tolerance
 * (max |d| ≤ 1e-3 against logits.f32) from model.gguf and from the safetensors folder,
 * batched (several chunk sizes) and one token per call through the cache; group-limited
 * routing proven on ds3-grouped; greedy generation identical between the two paths. */
#include "golden_util.h"

static const char *cases[] = {"ds3-tiny", "ds3-grouped", "ds2-lite-tiny", "qwen2-tiny",
                              "llama3-tiny"};

static void check_f32(const char *cs, const char *file) {
    int32_t tok[256];
    int n = g_tokens(cs, tok, 256);
    CHECK(n == 32);
    sk_model *m = g_open(cs, file, false);
    CHECK(m != NULL);
    if (!m || n <= 0) return;
    int nv = sk_model_get_config(m)->n_vocab;
    float *ref = g_floats(cs, "logits.f32", (size_t)n * nv);
    CHECK(ref != NULL);
    struct {
        bool one;
        int batch;
        const char *what;
    } modes[] = {{false, 64, "batched"}, {false, 5, "chunks of 5"}, {true, 1, "one-by-one"}};
    for (size_t k = 0; k < 3 && ref; k++) {
        float *lg = g_run(m, tok, n, modes[k].one, SK_CACHE_F32, modes[k].batch);
        CHECK(lg != NULL);
        if (!lg) continue;
        g_cmp r = g_compare(lg, ref, n, nv);
        fprintf(stderr, "  %-14s %-22s %-12s max|d| %.3g mean|d| %.3g argmax %d/%d\n", cs,
                file ? file : "(safetensors)", modes[k].what, r.max_abs, r.mean_abs,
                r.argmax_agree, r.rows);
        CHECK_MSG(r.max_abs <= 1e-3, "%s %s: max |d| %g", cs, modes[k].what, r.max_abs);
        free(lg);
    }
    free(ref);
    sk_model_close(m);
}

static void test_gguf_f32(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_f32(cases[i], "model.gguf");
}

static void test_safetensors(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_f32(cases[i], NULL);
}

/* ds3-grouped: our output matches the official (grouped) reference and is far from what an
 * engine that ignores the groups computes. */
static void test_group_routing(void) {
    const char *cs = "ds3-grouped";
    int32_t tok[64];
    int n = g_tokens(cs, tok, 64);
    sk_model *m = g_open(cs, "model.gguf", false);
    CHECK(m != NULL);
    if (!m) return;
    int nv = sk_model_get_config(m)->n_vocab;
    CHECK(sk_model_get_config(m)->n_group == 4 && sk_model_get_config(m)->topk_group == 2);
    float *ung = g_floats(cs, "logits-ik-ungrouped.f32", (size_t)n * nv);
    float *lg = g_run(m, tok, n, false, SK_CACHE_F32, 64);
    CHECK(ung && lg);
    if (ung && lg) {
        g_cmp r = g_compare(lg, ung, n, nv);
        fprintf(stderr, "  ds3-grouped vs ungrouped peer: max|d| %.3g (must be large)\n", r.max_abs);
        CHECK(r.max_abs > 0.1);
    }
    free(ung);
    free(lg);
    sk_model_close(m);
}

/* Both MLA forms of a batch (absorbed and expanded), also with cached positions before the
 * chunk (chunks of 5 and 11), from GGUF and from safetensors. */
static void test_mla_forms(void) {
    const char *mla[] = {"ds3-tiny", "ds3-grouped", "ds2-lite-tiny"};
    for (int i = 0; i < 3; i++) {
        for (int src = 0; src < 2; src++) {
            int32_t tok[64];
            int n = g_tokens(mla[i], tok, 64);
            sk_model *m = g_open(mla[i], src ? NULL : "model.gguf", false);
            CHECK(m != NULL);
            if (!m) continue;
            int nv = sk_model_get_config(m)->n_vocab;
            float *ref = g_floats(mla[i], "logits.f32", (size_t)n * nv);
            const int modes[] = {SK_MLA_ABSORBED, SK_MLA_EXPANDED}, batches[] = {64, 5, 11};
            double worst = 0;
            for (int a = 0; a < 2 && ref; a++)
                for (int b = 0; b < 3; b++) {
                    float *lg = g_run_mode(m, tok, n, false, SK_CACHE_F32, batches[b], modes[a]);
                    CHECK(lg != NULL);
                    if (!lg) continue;
                    g_cmp r = g_compare(lg, ref, n, nv);
                    if (r.max_abs > worst) worst = r.max_abs;
                    CHECK_MSG(r.max_abs <= 1e-3, "%s mode %d batch %d: %g", mla[i], modes[a],
                              batches[b], r.max_abs);
                    free(lg);
                }
            fprintf(stderr, "  %-14s %-12s absorbed+expanded, chunks 64/5/11: worst max|d| %.3g\n",
                    mla[i], src ? "safetensors" : "gguf", worst);
            free(ref);
            sk_model_close(m);
        }
    }
}

/* Greedy continuation of 16 tokens: (a) re-evaluating the whole sequence in one batch each
 * step, (b) one decode call per token on one context. Same tokens. */
static void greedy(const char *cs) {
    int32_t tok[64];
    int n0 = g_tokens(cs, tok, 8); /* an 8-token prompt */
    sk_model *m = g_open(cs, "model.gguf", false);
    CHECK(m != NULL && n0 == 8);
    if (!m) return;
    const int steps = 16, nv = sk_model_get_config(m)->n_vocab;
    int32_t a[64], b[64];
    memcpy(a, tok, sizeof(int32_t) * 8);
    memcpy(b, tok, sizeof(int32_t) * 8);
    for (int s = 0; s < steps; s++) {
        float *lg = g_run(m, a, n0 + s, false, SK_CACHE_F32, 64);
        CHECK(lg != NULL);
        if (!lg) break;
        a[n0 + s] = g_argmax(lg + (size_t)(n0 + s - 1) * nv, nv);
        free(lg);
    }
    sk_model_ctx *ctx = NULL;
    sk_err e = {0};
    sk_model_ctx_params p;
    sk_model_ctx_params_init(&p);
    p.n_ctx = 64;
    CHECK_OK(sk_model_ctx_new(m, &p, &ctx, &e), &e);
    float *lg = malloc(sizeof(float) * nv);
    int rc = sk_model_eval(ctx, b, n0, lg, false, &e); /* prompt batched, then decode */
    for (int s = 0; s < steps && !rc; s++) {
        b[n0 + s] = g_argmax(lg, nv);
        rc = sk_model_eval(ctx, b + n0 + s, 1, lg, false, &e);
    }
    CHECK_OK(rc, &e);
    CHECK(sk_model_ctx_pos(ctx) == n0 + steps);
    int same = !memcmp(a, b, sizeof(int32_t) * (size_t)(n0 + steps));
    fprintf(stderr, "  %s greedy:", cs);
    for (int s = 0; s < steps; s++) fprintf(stderr, " %d", b[n0 + s]);
    fprintf(stderr, " (%s)\n", same ? "identical" : "DIFFERENT");
    CHECK(same);
    free(lg);
    sk_model_ctx_free(ctx);
    sk_model_close(m);
}

static void test_greedy(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) greedy(cases[i]);
}

/* Context management: overflow and bad ids are errors; truncate + re-eval reproduces. */
static void test_ctx(void) {
    const char *cs = "ds3-tiny";
    int32_t tok[64];
    int n = g_tokens(cs, tok, 64);
    sk_model *m = g_open(cs, "model.gguf", false);
    CHECK(m != NULL);
    if (!m) return;
    int nv = sk_model_get_config(m)->n_vocab;
    sk_err e = {0};
    sk_model_ctx_params p;
    sk_model_ctx_params_init(&p);
    p.n_ctx = n;
    sk_model_ctx *ctx = NULL;
    CHECK_OK(sk_model_ctx_new(m, &p, &ctx, &e), &e);
    if (!ctx) return;
    float *lg = malloc(sizeof(float) * (size_t)n * nv), *lg2 = malloc(sizeof(float) * nv);
    CHECK_OK(sk_model_eval(ctx, tok, n, lg, true, &e), &e);
    CHECK(sk_model_eval(ctx, tok, 1, lg2, false, &e) == SK_ERR_RANGE);
    CHECK(strstr(e.msg, "context") != NULL);
    CHECK(sk_model_ctx_pos(ctx) == n);
    CHECK_OK(sk_model_ctx_truncate(ctx, n / 2, &e), &e);
    CHECK(sk_model_ctx_truncate(ctx, n, &e) == SK_ERR_RANGE);
    int32_t bad = nv;
    CHECK(sk_model_eval(ctx, &bad, 1, lg2, false, &e) == SK_ERR_RANGE);
    CHECK(sk_model_ctx_pos(ctx) == n / 2);
    for (int i = n / 2; i < n; i++) {
        CHECK_OK(sk_model_eval(ctx, tok + i, 1, lg2, false, &e), &e);
        g_cmp r = g_compare(lg2, lg + (size_t)i * nv, 1, nv);
        CHECK(r.max_abs <= 1e-4);
    }
    sk_model_ctx_reset(ctx);
    CHECK(sk_model_ctx_pos(ctx) == 0);
    CHECK_OK(sk_model_eval(ctx, tok, 1, lg2, false, &e), &e);
    CHECK(g_compare(lg2, lg, 1, nv).max_abs <= 1e-4);
    /* MLA cache: latent + rope key per layer, f32 */
    const sk_model_config *c = sk_model_get_config(m);
    CHECK(sk_model_ctx_cache_bytes_per_token(ctx) ==
          (size_t)c->n_layer * (c->kv_lora_rank + c->qk_rope_dim) * 4);
    free(lg);
    free(lg2);
    sk_model_ctx_free(ctx);
    sk_model_close(m);
}

static void test_bad_paths(void) {
    sk_model *m = NULL;
    sk_err e = {0};
    CHECK(sk_model_open(GOLDEN "no-such-model.gguf", NULL, &m, &e) != SK_OK && m == NULL);
    CHECK(strstr(e.msg, "no-such-model") != NULL);
    /* not a GGUF file */
    CHECK(sk_model_open(GOLDEN "ds3-tiny/tokens.txt", NULL, &m, &e) != SK_OK && m == NULL);
    fprintf(stderr, "  expected error: %s\n", e.msg);
    /* the quant folder has no config.json */
    CHECK(sk_model_open(GOLDEN "quant", NULL, &m, &e) != SK_OK && m == NULL);
    fprintf(stderr, "  expected error: %s\n", e.msg);
}

int main(void) {
    RUN(test_gguf_f32);
    RUN(test_safetensors);
    RUN(test_group_routing);
    RUN(test_mla_forms);
    RUN(test_greedy);
    RUN(test_ctx);
    RUN(test_bad_paths);
    return sk_test_report("model_golden");
}
