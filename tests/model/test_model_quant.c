/* test_model_quant.c — the golden cases with Q8_0 weights: exact f32 math vs
 * logits-q8_0-dequant.f32 (1e-3) and llama.cpp-style quantized activations vs logits-q8_0.f32
 * (the README's loose check); the K-quant models of golden/quant (kernels vs exact
 * dequantization). */
#include "golden_util.h"

#include <unistd.h>

static const char *cases[] = {"ds3-tiny", "ds3-grouped", "ds2-lite-tiny", "qwen2-tiny",
                              "llama3-tiny"};
#define NCASES (int)(sizeof cases / sizeof cases[0])

static void test_q8_0_exact(void) {
    for (int i = 0; i < NCASES; i++) {
        int32_t tok[64];
        int n = g_tokens(cases[i], tok, 64);
        sk_model *m = g_open(cases[i], "model-q8_0.gguf", true);
        CHECK(m != NULL);
        if (!m) continue;
        int nv = sk_model_get_config(m)->n_vocab;
        float *ref = g_floats(cases[i], "logits-q8_0-dequant.f32", (size_t)n * nv);
        for (int one = 0; one < 2 && ref; one++) {
            float *lg = g_run(m, tok, n, one, SK_CACHE_F32, 64);
            CHECK(lg != NULL);
            if (!lg) continue;
            g_cmp r = g_compare(lg, ref, n, nv);
            fprintf(stderr, "  %-14s q8_0 exact-f32 %-10s vs dequant ref: max|d| %.3g argmax %d/%d\n",
                    cases[i], one ? "one-by-one" : "batched", r.max_abs, r.argmax_agree, n);
            CHECK(r.max_abs <= 1e-3);
            free(lg);
        }
        free(ref);
        sk_model_close(m);
    }
}

static void test_q8_0_kernels(void) {
    for (int i = 0; i < NCASES; i++) {
        int32_t tok[64];
        int n = g_tokens(cases[i], tok, 64);
        sk_model *m = g_open(cases[i], "model-q8_0.gguf", false);
        CHECK(m != NULL);
        if (!m) continue;
        const sk_model_config *c = sk_model_get_config(m);
        int nv = c->n_vocab;
        bool moe = c->n_routed > 0;
        const char *rf = "logits-q8_0.f32";
        float *ref = g_floats(cases[i], rf, (size_t)n * nv);
        if (!ref) ref = g_floats(cases[i], rf = "logits-q8_0-dequant.f32", (size_t)n * nv);
        CHECK(ref != NULL);
        /* absorbed MLA in both, so that the same products are computed */
        float *lg = ref ? g_run_mode(m, tok, n, false, SK_CACHE_F32, 64, SK_MLA_ABSORBED) : NULL;
        float *lg1 = ref ? g_run(m, tok, n, true, SK_CACHE_F32, 64) : NULL;
        CHECK(lg && lg1);
        if (lg && lg1) {
            g_cmp r = g_compare(lg, ref, n, nv);
            fprintf(stderr, "  %-14s q8_0 kernels vs %-24s mean|d| %.3g max|d| %.3g argmax %d/%d\n",
                    cases[i], rf, r.mean_abs, r.max_abs, r.argmax_agree, n);
            CHECK(r.mean_abs <= 0.15);
            CHECK(r.argmax_agree * 100 >= n * (moe ? 70 : 95));
            /* batched (matmul) and one-by-one (matvec) use the same dot products */
            float *la = g_run(m, tok, n, false, SK_CACHE_F32, 64); /* auto MLA form */
            CHECK(la != NULL);
            if (la) {
                g_cmp ra = g_compare(la, ref, n, nv);
                CHECK(ra.mean_abs <= 0.15);
                CHECK(ra.argmax_agree * 100 >= n * (moe ? 70 : 95));
                free(la);
            }
            g_cmp r1 = g_compare(lg, lg1, n, nv);
            CHECK_MSG(r1.max_abs <= 1e-3, "batched vs one-by-one %g", r1.max_abs);
        }
        free(lg);
        free(lg1);
        free(ref);
        sk_model_close(m);
    }
}

/* golden/quant holds a qwen2 model per quant type: the kernels' quantized-activation path
 * must stay close to exact f32 math on the dequantized weights. */
static void test_quant_models(void) {
    const char *types[] = {"q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k",
                           "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs"};
    int32_t tok[16] = {1, 5, 9, 200, 17, 33, 64, 2, 99, 100, 101, 7, 8, 250, 3, 4};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char f[64];
        snprintf(f, sizeof f, "quant-%s.gguf", types[i]);
        sk_model *mk = g_open("quant", f, false), *mx = g_open("quant", f, true);
        CHECK(mk && mx);
        if (mk && mx) {
            int nv = sk_model_get_config(mk)->n_vocab;
            float *a = g_run(mk, tok, 16, false, SK_CACHE_F32, 64);
            float *b = g_run(mx, tok, 16, false, SK_CACHE_F32, 64);
            CHECK(a && b);
            if (a && b) {
                g_cmp r = g_compare(a, b, 16, nv);
                fprintf(stderr, "  quant-%-7s kernels vs exact: mean|d| %.3g max|d| %.3g argmax %d/16\n",
                        types[i], r.mean_abs, r.max_abs, r.argmax_agree);
                CHECK(r.mean_abs <= 0.15);
            }
            free(a);
            free(b);
        }
        sk_model_close(mk);
        sk_model_close(mx);
    }
}

int main(void) {
    RUN(test_q8_0_exact);
    RUN(test_q8_0_kernels);
    RUN(test_quant_models);
    return sk_test_report("model_quant");
}
