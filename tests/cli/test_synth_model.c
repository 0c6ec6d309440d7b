/* test_synth_model — synthetic GGUFs load into the model layer and generate: a V2-Lite cut in
 * the three MLA layouts (legacy attn_kv_b, ik 2-D attn_k_b/attn_v_b, mainline 3-D) gives the
 * same greedy tokens, since all three hold the same attn_kv_b values; and an R1-Distill-Qwen
 * cut generates with its embedded chat template recognised. */
#include "gen_synth.h"
#include "sk_chat.h"
#include "sk_generate.h"
#include "sk_test.h"

#include <unistd.h>

static char g_dir[256];

static bool greedy(const char *path, int32_t out[6], sk_chat_kind *kind) {
    sk_err e = {0};
    sk_model *m = NULL;
    sk_tokenizer *t = NULL;
    sk_gen *g = NULL;
    bool ok = false;
    sk_model_opts mo;
    sk_model_opts_init(&mo);
    mo.n_threads = 2;
    CHECK_OK(sk_model_open(path, &mo, &m, &e), &e);
    if (m) CHECK_OK(sk_tokenizer_load_gguf_file(path, &t, &e), &e);
    if (t) CHECK_OK(sk_gen_new(m, t, NULL, &g, &e), &e);
    if (g) {
        const char *tmpl = sk_tokenizer_chat_template(t);
        CHECK(tmpl != NULL);
        if (tmpl && kind) CHECK_OK(sk_chat_template_detect(tmpl, NULL, kind, &e), &e);
        sk_chat_msg msg = {.role = SK_CHAT_ROLE_USER, .content = "Hello there"};
        char *text = NULL;
        int32_t *ids = NULL;
        size_t n = 0;
        if (kind && *kind != SK_CHAT_UNKNOWN) {
            CHECK_OK(sk_chat_render(*kind, &msg, 1, true, &text, &e), &e);
            CHECK_OK(sk_tokenizer_encode(t, text, strlen(text), SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS,
                                         &ids, &n, &e), &e);
        } else {
            CHECK_OK(sk_tokenizer_encode(t, "Hello there", 11, SK_TOK_ADD_BOS, &ids, &n, &e), &e);
        }
        sk_gen_params p;
        sk_gen_params_init(&p);
        p.n_predict = 6;
        char *o = NULL;
        sk_gen_stats st;
        if (ids) CHECK_OK(sk_gen_run_text(g, ids, (int)n, &p, &o, &st, &e), &e);
        int nc = 0;
        const int32_t *c = sk_gen_cached(g, &nc);
        if (o && nc >= (int)n + 5) {
            memcpy(out, c + n, 5 * sizeof *out);
            out[5] = st.n_gen;
            ok = true;
        }
        free(o);
        free(ids);
        free(text);
    }
    sk_gen_free(g);
    sk_tokenizer_free(t);
    sk_model_close(m);
    return ok;
}

static void test_mla_layouts(void) {
    int32_t toks[3][6];
    for (int mla = 0; mla < 3; mla++) {
        char path[300];
        snprintf(path, sizeof path, "%s/v2-%d.gguf", g_dir, mla);
        sk_synth_opts o = {.shape = "deepseek-v2-lite", .type = SK_TYPE_Q8_0, .n_layers = 2,
                           .n_experts = 2, .n_vocab = 400, .seed = 42, .mla = mla};
        sk_err e = {0};
        CHECK_OK(sk_synth_write(&o, path, NULL, NULL, &e), &e);
        sk_chat_kind kind = SK_CHAT_UNKNOWN;
        CHECK(greedy(path, toks[mla], &kind));
        CHECK(kind == SK_CHAT_DEEPSEEK2);
        unlink(path);
    }
    CHECK(!memcmp(toks[0], toks[1], sizeof toks[0]));
    CHECK(!memcmp(toks[0], toks[2], sizeof toks[0]));
}

static void test_distill(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/qwen.gguf", g_dir);
    sk_synth_opts o = {.shape = "r1-distill-qwen-1.5b", .type = SK_TYPE_Q4_0, .n_layers = 2,
                       .n_vocab = 400, .seed = 1};
    sk_err e = {0};
    CHECK_OK(sk_synth_write(&o, path, NULL, NULL, &e), &e);
    int32_t toks[6];
    sk_chat_kind kind = SK_CHAT_UNKNOWN;
    CHECK(greedy(path, toks, &kind));
    CHECK(kind == SK_CHAT_R1_DISTILL_QWEN || kind == SK_CHAT_R1_DISTILL_LLAMA);
    CHECK(sk_chat_kind_forces_think(kind));
    unlink(path);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/seek-test-synthm-XXXXXX");
    if (!mkdtemp(g_dir)) return 1;
    RUN(test_mla_layouts);
    RUN(test_distill);
    rmdir(g_dir);
    return sk_test_report("synth model");
}
