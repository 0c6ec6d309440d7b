/* test_model_golden.c — every golden case reproduced within the README's f32 tolerance
 * (max |d| ≤ 1e-3 against logits.f32) from model.gguf and from the safetensors folder,
 * batched (several chunk sizes) and one token per call through the cache; group-limited
 * routing proven on ds3-grouped; context management and bad paths. */
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
    const size_t want[] = {0, (size_t)c->n_layer * (c->kv_lora_rank + c->qk_rope_dim) * 2,
                           (size_t)c->n_layer * (c->kv_lora_rank + c->qk_rope_dim) * 2,
                           (size_t)c->n_layer * (c->kv_lora_rank / 32 * 34 + c->qk_rope_dim * 2)};
    for (int t = SK_CACHE_F16; t <= SK_CACHE_Q8_0; t++) {
        sk_model_ctx *c2 = NULL;
        p.cache_type = t;
        CHECK_OK(sk_model_ctx_new(m, &p, &c2, &e), &e);
        if (c2) CHECK(sk_model_ctx_cache_bytes_per_token(c2) == want[t]);
        sk_model_ctx_free(c2);
    }
    free(lg);
    free(lg2);
    sk_model_ctx_free(ctx);
    sk_model_close(m);
}

/* no_mmap (weights read into private memory): bit-identical logits to the mapped model, from
 * a GGUF file and from a safetensors folder. */
static void test_no_mmap(void) {
    const char *files[] = {"model.gguf", NULL};
    for (int f = 0; f < 2; f++) {
        const char *cs = "ds3-tiny";
        int32_t tok[256];
        int n = g_tokens(cs, tok, 256);
        char p[1024];
        if (files[f])
            g_path(p, sizeof p, cs, files[f]);
        else
            snprintf(p, sizeof p, "%s%s", GOLDEN, cs);
        sk_model *m[2] = {NULL, NULL};
        float *lg[2] = {NULL, NULL};
        for (int k = 0; k < 2; k++) {
            sk_model_opts o;
            sk_model_opts_init(&o);
            o.n_threads = 2;
            o.no_mmap = k == 1;
            sk_err e = {0};
            CHECK_MSG(sk_model_open(p, &o, &m[k], &e) == SK_OK, "%s: %s", p, e.msg);
            if (m[k]) lg[k] = g_run(m[k], tok, n, false, SK_CACHE_F32, 64);
        }
        CHECK(lg[0] && lg[1]);
        if (lg[0] && lg[1]) {
            size_t nv = (size_t)sk_model_get_config(m[0])->n_vocab;
            CHECK(!memcmp(lg[0], lg[1], (size_t)n * nv * sizeof(float)));
        }
        for (int k = 0; k < 2; k++) {
            free(lg[k]);
            sk_model_close(m[k]);
        }
    }
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
    RUN(test_ctx);
    RUN(test_no_mmap);
    RUN(test_bad_paths);
    return sk_test_report("model_golden");
}

