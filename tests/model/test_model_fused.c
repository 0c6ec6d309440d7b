/* test_model_fused.c — the one-token decode path fuses products into few dispatches
 * (q/k/v, gate/up, all selected experts, all heads' Wv): its logits must equal the batched
 * path's (matmul per chunk, experts grouped) bit for bit, for the dense and the MLA/MoE
 * golden models with Q8_0 weights, on 2 threads and on 1; and in exact_f32 mode, where the
 * fused lists run one product at a time, the same holds. */
#include "golden_util.h"

static const char *cases[] = {"ds2-lite-tiny", "ds3-tiny", "ds3-grouped", "qwen2-tiny",
                              "llama3-tiny"};

static void check_case(const char *cs, bool exact, int threads) {
    int32_t tok[64];
    int n = g_tokens(cs, tok, 24);
    char p[1024];
    g_path(p, sizeof p, cs, "model-q8_0.gguf");
    sk_model_opts o;
    sk_model_opts_init(&o);
    o.n_threads = threads;
    o.exact_f32 = exact;
    sk_model *m = NULL;
    sk_err e = {0};
    CHECK_MSG(sk_model_open(p, &o, &m, &e) == SK_OK, "%s", e.msg);
    if (!m) return;
    const int nv = sk_model_get_config(m)->n_vocab;
    /* absorbed MLA in both: the batched path then computes the same products */
    float *lb = g_run_mode(m, tok, n, false, SK_CACHE_F32, 64, SK_MLA_ABSORBED);
    float *l1 = g_run_mode(m, tok, n, true, SK_CACHE_F32, 64, SK_MLA_ABSORBED);
    CHECK(lb && l1);
    if (lb && l1) {
        size_t diff = 0;
        float worst = 0;
        for (size_t i = 0; i < (size_t)n * nv; i++) {
            diff += lb[i] != l1[i];
            float d = fabsf(lb[i] - l1[i]);
            worst = d > worst ? d : worst;
        }
        fprintf(stderr,
                "  %-14s %s %d thr: one-by-one vs batched: %zu of %zu logits differ (max %.3g)\n",
                cs, exact ? "exact " : "kernel", threads, diff, (size_t)n * nv, worst);
        CHECK_MSG(diff == 0, "%s: %zu logits differ", cs, diff);
    }
    free(lb);
    free(l1);
    sk_model_close(m);
}

static void test_fused_equals_batched(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_case(cases[i], false, 2);
        check_case(cases[i], false, 1);
    }
}

static void test_fused_exact(void) {
    check_case("ds2-lite-tiny", true, 2);
    check_case("qwen2-tiny", true, 2);
}

int main(void) {
    RUN(test_fused_equals_batched);
    RUN(test_fused_exact);
    return sk_test_report("model_fused");
}
