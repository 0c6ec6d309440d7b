/* test_model_config.c — sk_model_config_from_hf on every golden config.json, checked field by
 * field against the hyper-parameters repeated in case.json (read independently with jansson),
 * plus derived quantities and error paths on malformed configs. */
#include "sk_json.h"
#include "sk_model.h"
#include "sk_test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *cases[] = {"ds3-tiny", "ds3-grouped", "ds2-lite-tiny", "qwen2-tiny",
                              "llama3-tiny"};

static double hnum(json_t *h, const char *k, double dflt) {
    json_t *v = json_object_get(h, k);
    if (!v || json_is_null(v)) return dflt;
    if (json_is_boolean(v)) return json_is_true(v) ? 1 : 0;
    return json_number_value(v);
}

static void check_case(const char *name) {
    char cfg_path[1024], case_path[1024];
    snprintf(cfg_path, sizeof cfg_path, "%s/golden/%s/config.json", SEEK_TEST_DATA, name);
    snprintf(case_path, sizeof case_path, "%s/golden/%s/case.json", SEEK_TEST_DATA, name);
    sk_err e = {0};
    sk_model_config c;
    CHECK_OK(sk_model_config_from_hf(cfg_path, &c, &e), &e);
    json_error_t je;
    json_t *cj = json_load_file(case_path, 0, &je);
    CHECK(cj != NULL);
    if (!cj) return;
    json_t *h = json_object_get(cj, "hyperparameters");
    CHECK(h != NULL);
    const char *mt = json_string_value(json_object_get(h, "model_type"));
    sk_arch want = !strncmp(mt, "deepseek", 8) ? SK_ARCH_DEEPSEEK2
                   : !strcmp(mt, "qwen2")      ? SK_ARCH_QWEN2
                                               : SK_ARCH_LLAMA;
    CHECK(c.arch == want);
    CHECK(c.n_vocab == (int)hnum(h, "vocab_size", -1));
    CHECK(c.n_vocab == json_integer_value(json_object_get(cj, "n_vocab")));
    CHECK(c.n_embd == (int)hnum(h, "hidden_size", -1));
    CHECK(c.n_layer == (int)hnum(h, "num_hidden_layers", -1));
    CHECK(c.n_head == (int)hnum(h, "num_attention_heads", -1));
    CHECK(c.n_head_kv == (int)hnum(h, "num_key_value_heads", -1));
    CHECK(c.n_ff == (int)hnum(h, "intermediate_size", -1));
    CHECK(c.max_ctx == (int)hnum(h, "max_position_embeddings", -1));
    CHECK_NEAR(c.rms_eps, hnum(h, "rms_norm_eps", -1), 1e-12);
    CHECK_NEAR(c.rope_theta, hnum(h, "rope_theta", -1), 1e-3);
    CHECK(c.tie_embeddings == (hnum(h, "tie_word_embeddings", 0) != 0));
    CHECK(c.bos_id == json_integer_value(json_object_get(cj, "bos_token_id")));
    CHECK(c.eos_id == json_integer_value(json_object_get(cj, "eos_token_id")));
    json_t *rs = json_object_get(h, "rope_scaling");
    if (want == SK_ARCH_DEEPSEEK2) {
        CHECK(c.q_lora_rank == (int)hnum(h, "q_lora_rank", 0));
        CHECK(c.kv_lora_rank == (int)hnum(h, "kv_lora_rank", -1));
        CHECK(c.qk_nope_dim == (int)hnum(h, "qk_nope_head_dim", -1));
        CHECK(c.qk_rope_dim == (int)hnum(h, "qk_rope_head_dim", -1));
        CHECK(c.v_head_dim == (int)hnum(h, "v_head_dim", -1));
        CHECK(c.n_dense_lead == (int)hnum(h, "first_k_dense_replace", -1));
        CHECK(c.moe_layer_freq == (int)hnum(h, "moe_layer_freq", -1));
        CHECK(c.n_routed == (int)hnum(h, "n_routed_experts", -1));
        CHECK(c.n_active == (int)hnum(h, "num_experts_per_tok", -1));
        CHECK(c.n_shared == (int)hnum(h, "n_shared_experts", -1));
        CHECK(c.moe_ff == (int)hnum(h, "moe_intermediate_size", -1));
        CHECK(c.n_group == (int)hnum(h, "n_group", -1));
        CHECK(c.topk_group == (int)hnum(h, "topk_group", -1));
        CHECK_NEAR(c.routed_scale, hnum(h, "routed_scaling_factor", -1), 1e-6);
        CHECK(c.norm_topk == (hnum(h, "norm_topk_prob", -1) != 0));
        const char *sf = json_string_value(json_object_get(h, "scoring_func"));
        CHECK(c.gating == (!strcmp(sf, "sigmoid") ? SK_GATING_SIGMOID : SK_GATING_SOFTMAX));
        const char *tm = json_string_value(json_object_get(h, "topk_method"));
        CHECK(c.has_exp_bias == !strcmp(tm, "noaux_tc"));
        CHECK(c.n_mtp == (int)hnum(h, "num_nextn_predict_layers", 0));
        CHECK_NEAR(c.aux_alpha, hnum(h, "aux_loss_alpha", 0), 1e-9);
        CHECK(c.rope_scaling == SK_ROPE_SCALING_YARN);
        CHECK_NEAR(c.rope_factor, hnum(rs, "factor", -1), 1e-6);
        CHECK(c.rope_orig_ctx == (int)hnum(rs, "original_max_position_embeddings", -1));
        CHECK_NEAR(c.yarn_beta_fast, hnum(rs, "beta_fast", -1), 1e-6);
        CHECK_NEAR(c.yarn_beta_slow, hnum(rs, "beta_slow", -1), 1e-6);
        CHECK_NEAR(c.yarn_mscale, hnum(rs, "mscale", -1), 1e-6);
        CHECK_NEAR(c.yarn_mscale_all_dim, hnum(rs, "mscale_all_dim", -1), 1e-6);
        /* spec §1.6: scale = m²/sqrt(nope+rope), m = 1 + 0.1·mscale_all_dim·ln(factor) */
        double m = 1 + 0.1 * hnum(rs, "mscale_all_dim", 0) * log(hnum(rs, "factor", 1));
        double want_scale =
            m * m / sqrt(hnum(h, "qk_nope_head_dim", 0) + hnum(h, "qk_rope_head_dim", 0));
        CHECK_NEAR(sk_model_attn_scale(&c), want_scale, 1e-6);
        int n_moe = 0;
        for (int l = 0; l < c.n_layer; l++) n_moe += sk_model_is_moe_layer(&c, l);
        CHECK(n_moe == c.n_layer - c.n_dense_lead);
        CHECK(!sk_model_is_moe_layer(&c, 0));
    } else {
        CHECK(c.qkv_bias == (want == SK_ARCH_QWEN2));
        CHECK(c.head_dim == (int)hnum(h, "head_dim", (double)c.n_embd / c.n_head));
        CHECK_NEAR(sk_model_attn_scale(&c), 1 / sqrt(c.head_dim), 1e-7);
        CHECK(!sk_model_is_moe_layer(&c, 0));
        if (rs && !json_is_null(rs)) {
            CHECK(c.rope_scaling == SK_ROPE_SCALING_LLAMA3);
            CHECK_NEAR(c.rope_factor, hnum(rs, "factor", -1), 1e-6);
            CHECK_NEAR(c.llama3_low, hnum(rs, "low_freq_factor", -1), 1e-6);
            CHECK_NEAR(c.llama3_high, hnum(rs, "high_freq_factor", -1), 1e-6);
            CHECK(c.rope_orig_ctx == (int)hnum(rs, "original_max_position_embeddings", -1));
        } else {
            CHECK(c.rope_scaling == SK_ROPE_SCALING_NONE);
        }
    }
    json_decref(cj);
}

static void test_golden_configs(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(cases[i]);
}

static void test_spec_scales(void) {
    /* spec §1.6 table: V3 0.135233779, V2-Lite 0.114721387 */
    sk_model_config c;
    sk_model_config_init(&c);
    c.arch = SK_ARCH_DEEPSEEK2;
    c.qk_nope_dim = 128;
    c.qk_rope_dim = 64;
    c.rope_scaling = SK_ROPE_SCALING_YARN;
    c.rope_factor = 40;
    c.yarn_mscale_all_dim = 1.0f;
    CHECK_NEAR(sk_model_attn_scale(&c), 0.135233779, 1e-7);
    c.yarn_mscale_all_dim = 0.707f;
    CHECK_NEAR(sk_model_attn_scale(&c), 0.114721387, 1e-7);
    c.rope_scaling = SK_ROPE_SCALING_NONE;
    CHECK_NEAR(sk_model_attn_scale(&c), 0.072168784, 1e-7);
}

/* Writes text to a temp file and parses it; returns the status, message in e. */
static int parse_text(const char *text, sk_model_config *c, sk_err *e) {
    char path[] = "/tmp/sk_cfg_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) n = 0;
    close(fd);
    int rc = sk_model_config_from_hf(path, c, e);
    unlink(path);
    return rc;
}

#define DS_BASE                                                                                    \
    "\"architectures\":[\"DeepseekV3ForCausalLM\"],\"vocab_size\":100,\"hidden_size\":16,"     \
    "\"num_hidden_layers\":2,\"num_attention_heads\":2,\"intermediate_size\":32,"                \
    "\"qk_nope_head_dim\":8,\"v_head_dim\":8"
#define DS_OK DS_BASE ",\"kv_lora_rank\":8,\"qk_rope_head_dim\":4"

static void test_bad_configs(void) {
    sk_model_config c;
    sk_err e = {0};
    /* a minimal valid one first, so the failures below are due to the one change each makes */
    CHECK_OK(parse_text("{" DS_OK "}", &c, &e), &e);
    CHECK(c.n_routed == 0 && c.q_lora_rank == 0 && c.gating == SK_GATING_SOFTMAX);

    CHECK(parse_text("{" DS_OK ",", &c, &e) == SK_ERR_FORMAT);
    CHECK(strstr(e.msg, "line") != NULL);
    CHECK(parse_text("[1,2]", &c, &e) == SK_ERR_FORMAT);
    CHECK(parse_text("{\"architectures\":[\"GPT2LMHeadModel\"],\"model_type\":\"gpt2\"}", &c, &e) ==
          SK_ERR_UNSUPPORTED);
    CHECK(strstr(e.msg, "GPT2LMHeadModel") != NULL);
    CHECK(parse_text("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":10}", &c, &e) ==
          SK_ERR_FORMAT);
    CHECK(strstr(e.msg, "hidden_size") != NULL);
    CHECK(parse_text("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":10,"
                     "\"hidden_size\":\"big\"}",
                     &c, &e) == SK_ERR_FORMAT);
    CHECK(strstr(e.msg, "hidden_size") != NULL && strstr(e.msg, "integer") != NULL);
    CHECK(parse_text("{" DS_BASE ",\"kv_lora_rank\":-3,\"qk_rope_head_dim\":4}", &c, &e) == SK_ERR_RANGE);
    CHECK(strstr(e.msg, "kv_lora_rank") != NULL);
    CHECK(parse_text("{" DS_BASE ",\"kv_lora_rank\":8,\"qk_rope_head_dim\":5}", &c, &e) == SK_ERR_INVALID);
    CHECK(parse_text("{" DS_OK ",\"n_routed_experts\":8,\"num_experts_per_tok\":9,"
                     "\"moe_intermediate_size\":4}",
                     &c, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "num_experts_per_tok") != NULL);
    CHECK(parse_text("{" DS_OK ",\"n_routed_experts\":8,\"num_experts_per_tok\":2,"
                     "\"moe_intermediate_size\":4,\"n_group\":3}",
                     &c, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "n_group") != NULL);
    CHECK(parse_text("{" DS_OK ",\"scoring_func\":\"relu\"}", &c, &e) == SK_ERR_UNSUPPORTED);
    CHECK(parse_text("{" DS_OK ",\"rope_scaling\":{\"type\":\"dynamic\",\"factor\":2}}", &c,
                     &e) == SK_ERR_UNSUPPORTED);
    CHECK(parse_text("{" DS_OK ",\"rope_scaling\":{\"factor\":2}}", &c, &e) == SK_ERR_FORMAT);
    CHECK(parse_text("{" DS_OK ",\"rms_norm_eps\":1e999}", &c, &e) != SK_OK);
    /* n_group with sigmoid/noaux_tc and MTP/training keys */
    CHECK_OK(parse_text("{" DS_OK ",\"n_routed_experts\":8,\"num_experts_per_tok\":2,"
                        "\"moe_intermediate_size\":4,\"n_group\":4,\"topk_group\":2,"
                        "\"topk_method\":\"noaux_tc\",\"scoring_func\":\"sigmoid\","
                        "\"num_nextn_predict_layers\":1,\"mtp_loss_scaling_factor\":0.3,"
                        "\"moe_layer_freq\":2,\"first_k_dense_replace\":0,"
                        "\"eos_token_id\":[7,8]}",
                        &c, &e),
             &e);
    CHECK(c.has_exp_bias && c.gating == SK_GATING_SIGMOID && c.n_group == 4 && c.n_mtp == 1);
    CHECK_NEAR(c.mtp_lambda, 0.3, 1e-7);
    CHECK(c.eos_id == 7);
    CHECK(sk_model_is_moe_layer(&c, 0) && !sk_model_is_moe_layer(&c, 1));
    /* GQA: kv heads must divide the query heads */
    CHECK(parse_text("{\"architectures\":[\"Qwen2ForCausalLM\"],\"vocab_size\":10,"
                     "\"hidden_size\":16,\"num_hidden_layers\":1,\"num_attention_heads\":4,"
                     "\"num_key_value_heads\":3,\"intermediate_size\":8}",
                     &c, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "num_key_value_heads") != NULL);
}

int main(void) {
    RUN(test_golden_configs);
    RUN(test_spec_scales);
    RUN(test_bad_configs);
    return sk_test_report("model_config");
}
