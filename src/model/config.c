/* config.c — model hyper-parameters: defaults, Hugging Face config.json parsing,
 * validation and derived quantities (see sk_model.h). GGUF metadata is read in
 * gguf_load.c. */
#include "sk_json.h"
#include "sk_model.h"

#include <math.h>
#include <string.h>

void sk_model_config_init(sk_model_config *c) {
    memset(c, 0, sizeof *c);
    c->arch = SK_ARCH_UNKNOWN;
    c->rms_eps = 1e-6f;
    c->rope_theta = 10000.0f;
    c->moe_layer_freq = 1;
    c->n_group = 1;
    c->topk_group = 1;
    c->routed_scale = 1.0f;
    c->gating = SK_GATING_SOFTMAX;
    c->rope_scaling = SK_ROPE_SCALING_NONE;
    c->rope_factor = 1.0f;
    c->yarn_beta_fast = 32.0f;
    c->yarn_beta_slow = 1.0f;
    c->yarn_mscale = 1.0f;
    c->yarn_mscale_all_dim = 0.0f; /* HF default: no softmax-scale correction */
    c->llama3_low = 1.0f;
    c->llama3_high = 4.0f;
    c->bos_id = -1;
    c->eos_id = -1;
}

/* Largest value accepted for any size field; keeps every product of two sizes inside int64. */
#define CFG_MAX_DIM (1 << 24)

static int get_int(const json_t *o, const char *key, int *out, bool required, const char *what,
                   sk_err *e) {
    int64_t v = 0;
    bool found = false;
    int rc = sk_json_get_int(o, key, &v, &found, what, e);
    if (rc) return rc;
    if (!found) {
        if (required) return sk_err_set(e, SK_ERR_FORMAT, "%s: missing \"%s\"", what, key);
        return SK_OK;
    }
    if (v < 0 || v > CFG_MAX_DIM)
        return sk_err_set(e, SK_ERR_RANGE, "%s: \"%s\" = %lld is out of range [0, %d]", what, key,
                          (long long)v, CFG_MAX_DIM);
    *out = (int)v;
    return SK_OK;
}

static int get_f32(const json_t *o, const char *key, float *out, const char *what, sk_err *e) {
    double v = 0;
    bool found = false;
    int rc = sk_json_get_num(o, key, &v, &found, what, e);
    if (rc) return rc;
    if (!found) return SK_OK;
    if (!isfinite(v) || fabs(v) > 3.0e38)
        return sk_err_set(e, SK_ERR_RANGE, "%s: \"%s\" = %g is not a finite float", what, key, v);
    *out = (float)v;
    return SK_OK;
}

static int get_bool(const json_t *o, const char *key, bool *out, const char *what, sk_err *e) {
    return sk_json_get_bool(o, key, out, NULL, what, e);
}

/* bos/eos ids: an integer, or (Llama 3.1 instruct style) an array whose first element counts. */
static int get_token_id(const json_t *o, const char *key, int *out, const char *what, sk_err *e) {
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return SK_OK;
    if (json_is_array(v)) {
        if (json_array_size(v) == 0) return SK_OK;
        v = json_array_get(v, 0);
    }
    if (!json_is_integer(v))
        return sk_err_set(e, SK_ERR_FORMAT, "%s: \"%s\" must be an integer token id", what, key);
    json_int_t id = json_integer_value(v);
    if (id < 0 || id > CFG_MAX_DIM)
        return sk_err_set(e, SK_ERR_RANGE, "%s: \"%s\" = %lld is out of range", what, key,
                          (long long)id);
    *out = (int)id;
    return SK_OK;
}

static int parse_rope_scaling(const json_t *root, sk_model_config *c, const char *what, sk_err *e) {
    const json_t *rs = json_object_get(root, "rope_scaling");
    if (!rs || json_is_null(rs)) return SK_OK;
    if (!json_is_object(rs))
        return sk_err_set(e, SK_ERR_FORMAT, "%s: \"rope_scaling\" must be an object or null", what);
    const char *type = NULL;
    int rc = sk_json_get_str(rs, "rope_type", &type, NULL, what, e);
    if (rc) return rc;
    if (!type && (rc = sk_json_get_str(rs, "type", &type, NULL, what, e))) return rc;
    if (!type)
        return sk_err_set(e, SK_ERR_FORMAT, "%s: rope_scaling has neither \"type\" nor \"rope_type\"",
                          what);
    if (!strcmp(type, "default")) return SK_OK;
    if (!strcmp(type, "yarn")) c->rope_scaling = SK_ROPE_SCALING_YARN;
    else if (!strcmp(type, "llama3")) c->rope_scaling = SK_ROPE_SCALING_LLAMA3;
    else if (!strcmp(type, "linear")) c->rope_scaling = SK_ROPE_SCALING_LINEAR;
    else
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "%s: rope_scaling type \"%s\" is not supported (yarn, llama3, linear)",
                          what, type);
    if (c->rope_scaling == SK_ROPE_SCALING_YARN && c->arch == SK_ARCH_DEEPSEEK2)
        c->rope_orig_ctx = 4096; /* DeepSeek's default original_seq_len */
    if ((rc = get_f32(rs, "factor", &c->rope_factor, what, e))) return rc;
    if ((rc = get_int(rs, "original_max_position_embeddings", &c->rope_orig_ctx, false, what, e)))
        return rc;
    if ((rc = get_f32(rs, "beta_fast", &c->yarn_beta_fast, what, e))) return rc;
    if ((rc = get_f32(rs, "beta_slow", &c->yarn_beta_slow, what, e))) return rc;
    if ((rc = get_f32(rs, "mscale", &c->yarn_mscale, what, e))) return rc;
    if ((rc = get_f32(rs, "mscale_all_dim", &c->yarn_mscale_all_dim, what, e))) return rc;
    if ((rc = get_f32(rs, "low_freq_factor", &c->llama3_low, what, e))) return rc;
    if ((rc = get_f32(rs, "high_freq_factor", &c->llama3_high, what, e))) return rc;
    return SK_OK;
}

static sk_arch arch_from_names(const json_t *root) {
    const json_t *archs = json_object_get(root, "architectures");
    if (json_is_array(archs) && json_array_size(archs) > 0) {
        const char *a = json_string_value(json_array_get(archs, 0));
        if (a) {
            if (!strcmp(a, "DeepseekV3ForCausalLM") || !strcmp(a, "DeepseekV2ForCausalLM"))
                return SK_ARCH_DEEPSEEK2;
            if (!strcmp(a, "Qwen2ForCausalLM")) return SK_ARCH_QWEN2;
            if (!strcmp(a, "LlamaForCausalLM")) return SK_ARCH_LLAMA;
        }
    }
    const char *mt = json_string_value(json_object_get(root, "model_type"));
    if (mt) {
        if (!strcmp(mt, "deepseek_v3") || !strcmp(mt, "deepseek_v2")) return SK_ARCH_DEEPSEEK2;
        if (!strcmp(mt, "qwen2")) return SK_ARCH_QWEN2;
        if (!strcmp(mt, "llama")) return SK_ARCH_LLAMA;
    }
    return SK_ARCH_UNKNOWN;
}

static int config_from_json(const json_t *root, const char *what, sk_model_config *c, sk_err *e) {
    sk_model_config_init(c);
    if (!json_is_object(root))
        return sk_err_set(e, SK_ERR_FORMAT, "%s: the top level must be a JSON object", what);
    c->arch = arch_from_names(root);
    if (c->arch == SK_ARCH_UNKNOWN) {
        const json_t *archs = json_object_get(root, "architectures");
        const char *a = json_is_array(archs) ? json_string_value(json_array_get(archs, 0)) : NULL;
        const char *mt = json_string_value(json_object_get(root, "model_type"));
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "%s: unsupported architecture \"%s\" (model_type \"%s\"); Seek runs "
                          "DeepseekV3/DeepseekV2/Qwen2/LlamaForCausalLM",
                          what, a ? a : "?", mt ? mt : "?");
    }
    int rc;
#define I(key, field, req)                                                                         \
    if ((rc = get_int(root, key, &c->field, req, what, e))) return rc
#define F(key, field)                                                                              \
    if ((rc = get_f32(root, key, &c->field, what, e))) return rc
#define B(key, field)                                                                              \
    if ((rc = get_bool(root, key, &c->field, what, e))) return rc
    I("vocab_size", n_vocab, true);
    I("hidden_size", n_embd, true);
    I("num_hidden_layers", n_layer, true);
    I("num_attention_heads", n_head, true);
    c->n_head_kv = c->n_head;
    I("num_key_value_heads", n_head_kv, false);
    I("intermediate_size", n_ff, c->arch != SK_ARCH_DEEPSEEK2);
    F("rms_norm_eps", rms_eps);
    F("rope_theta", rope_theta);
    I("max_position_embeddings", max_ctx, false);
    B("tie_word_embeddings", tie_embeddings);
    if ((rc = get_token_id(root, "bos_token_id", &c->bos_id, what, e))) return rc;
    if ((rc = get_token_id(root, "eos_token_id", &c->eos_id, what, e))) return rc;

    if (c->arch == SK_ARCH_DEEPSEEK2) {
        c->n_head_kv = c->n_head; /* MLA: every head has its own decompressed K/V */
        I("q_lora_rank", q_lora_rank, false); /* null = plain q_proj */
        I("kv_lora_rank", kv_lora_rank, true);
        I("qk_nope_head_dim", qk_nope_dim, true);
        I("qk_rope_head_dim", qk_rope_dim, true);
        I("v_head_dim", v_head_dim, true);
        c->head_dim = c->qk_nope_dim + c->qk_rope_dim;
        I("first_k_dense_replace", n_dense_lead, false);
        I("moe_layer_freq", moe_layer_freq, false);
        I("n_routed_experts", n_routed, false);
        I("num_experts_per_tok", n_active, false);
        I("n_shared_experts", n_shared, false);
        I("moe_intermediate_size", moe_ff, false);
        I("n_group", n_group, false);
        I("topk_group", topk_group, false);
        F("routed_scaling_factor", routed_scale);
        B("norm_topk_prob", norm_topk);
        I("num_nextn_predict_layers", n_mtp, false);
        F("mtp_loss_scaling_factor", mtp_lambda);
        F("aux_loss_alpha", aux_alpha);
        const char *sf = NULL, *tm = NULL;
        if ((rc = sk_json_get_str(root, "scoring_func", &sf, NULL, what, e))) return rc;
        if ((rc = sk_json_get_str(root, "topk_method", &tm, NULL, what, e))) return rc;
        if (!sf || !strcmp(sf, "softmax")) c->gating = SK_GATING_SOFTMAX;
        else if (!strcmp(sf, "sigmoid")) c->gating = SK_GATING_SIGMOID;
        else
            return sk_err_set(e, SK_ERR_UNSUPPORTED,
                              "%s: scoring_func \"%s\" is not supported (softmax, sigmoid)", what,
                              sf);
        if (tm && strcmp(tm, "noaux_tc") && strcmp(tm, "greedy") &&
            strcmp(tm, "group_limited_greedy"))
            return sk_err_set(e, SK_ERR_UNSUPPORTED,
                              "%s: topk_method \"%s\" is not supported (greedy, "
                              "group_limited_greedy, noaux_tc)",
                              what, tm);
        c->has_exp_bias = tm && !strcmp(tm, "noaux_tc");
    } else {
        c->head_dim = c->n_head > 0 ? c->n_embd / c->n_head : 0;
        I("head_dim", head_dim, false);
        if (c->arch == SK_ARCH_QWEN2) {
            c->qkv_bias = true;
        } else {
            B("attention_bias", qkv_bias);
        }
    }
#undef I
#undef F
#undef B
    return parse_rope_scaling(root, c, what, e);
}

int sk_model_config_from_hf(const char *config_json_path, sk_model_config *c, sk_err *e) {
    json_t *root = NULL;
    int rc = sk_json_load_file(config_json_path, 16u << 20, &root, e);
    if (rc) return rc;
    rc = config_from_json(root, config_json_path, c, e);
    json_decref(root);
    if (rc) return rc;
    rc = sk_model_config_validate(c, e);
    if (rc) sk_err_prefix(e, "%s", config_json_path);
    return rc;
}

int sk_model_config_validate(const sk_model_config *c, sk_err *e) {
#define REQ(cond, ...)                                                                             \
    if (!(cond)) return sk_err_set(e, SK_ERR_INVALID, __VA_ARGS__)
    REQ(c->arch == SK_ARCH_DEEPSEEK2 || c->arch == SK_ARCH_QWEN2 || c->arch == SK_ARCH_LLAMA,
        "config: unknown architecture %d", (int)c->arch);
    REQ(c->n_vocab > 0 && c->n_vocab <= CFG_MAX_DIM, "config: vocab size %d out of range",
        c->n_vocab);
    REQ(c->n_embd > 0 && c->n_embd <= CFG_MAX_DIM, "config: hidden size %d out of range", c->n_embd);
    REQ(c->n_layer > 0 && c->n_layer <= 4096, "config: layer count %d out of range", c->n_layer);
    REQ(c->n_head > 0 && c->n_head <= 4096, "config: head count %d out of range", c->n_head);
    REQ(c->rms_eps > 0 && c->rms_eps < 1, "config: rms eps %g out of range", (double)c->rms_eps);
    REQ(c->rope_theta > 1, "config: rope theta %g must be > 1", (double)c->rope_theta);
    REQ(c->max_ctx >= 0, "config: max_position_embeddings %d is negative", c->max_ctx);
    REQ(c->bos_id < c->n_vocab && c->eos_id < c->n_vocab,
        "config: bos/eos ids %d/%d not below vocab size %d", c->bos_id, c->eos_id, c->n_vocab);
    if (c->arch == SK_ARCH_DEEPSEEK2) {
        REQ(c->kv_lora_rank > 0 && c->kv_lora_rank <= 65536, "config: kv_lora_rank %d out of range",
            c->kv_lora_rank);
        REQ(c->q_lora_rank >= 0 && c->q_lora_rank <= 65536, "config: q_lora_rank %d out of range",
            c->q_lora_rank);
        REQ(c->qk_nope_dim > 0 && c->qk_nope_dim <= 4096, "config: qk_nope_head_dim %d out of range",
            c->qk_nope_dim);
        REQ(c->qk_rope_dim > 0 && c->qk_rope_dim <= 4096 && c->qk_rope_dim % 2 == 0,
            "config: qk_rope_head_dim %d must be positive and even", c->qk_rope_dim);
        REQ(c->v_head_dim > 0 && c->v_head_dim <= 4096, "config: v_head_dim %d out of range",
            c->v_head_dim);
        REQ(c->n_head_kv == c->n_head, "config: deepseek2 needs num_key_value_heads == heads");
        REQ(c->n_dense_lead >= 0 && c->n_dense_lead <= c->n_layer,
            "config: first_k_dense_replace %d out of range [0, %d]", c->n_dense_lead, c->n_layer);
        REQ(c->moe_layer_freq >= 1, "config: moe_layer_freq %d must be >= 1", c->moe_layer_freq);
        REQ(c->n_mtp >= 0 && c->n_mtp <= 16, "config: num_nextn_predict_layers %d out of range",
            c->n_mtp);
        bool any_dense = c->n_routed == 0 || c->n_dense_lead > 0 || c->moe_layer_freq > 1;
        REQ(!any_dense || c->n_ff > 0, "config: intermediate_size must be positive (dense layers)");
        if (c->n_routed > 0) {
            REQ(c->n_routed <= 65536, "config: n_routed_experts %d out of range", c->n_routed);
            REQ(c->n_active >= 1 && c->n_active <= c->n_routed,
                "config: num_experts_per_tok %d must be in [1, n_routed_experts %d]", c->n_active,
                c->n_routed);
            REQ(c->moe_ff > 0, "config: moe_intermediate_size must be positive");
            REQ(c->n_shared >= 0 && c->n_shared <= 64, "config: n_shared_experts %d out of range",
                c->n_shared);
            REQ(c->n_group >= 1 && c->n_group <= 64 && c->n_routed % c->n_group == 0,
                "config: n_group %d must be in [1, 64] and divide n_routed_experts %d", c->n_group, c->n_routed);
            REQ(c->topk_group >= 1 && c->topk_group <= c->n_group,
                "config: topk_group %d must be in [1, n_group %d]", c->topk_group, c->n_group);
            REQ(c->n_active <= c->topk_group * (c->n_routed / c->n_group),
                "config: num_experts_per_tok %d exceeds the experts of %d kept groups", c->n_active,
                c->topk_group);
            REQ(!(c->has_exp_bias && c->n_group > 1) || c->n_routed / c->n_group >= 2,
                "config: group scoring needs >= 2 experts per group");
            REQ(c->gating == SK_GATING_SOFTMAX || c->gating == SK_GATING_SIGMOID,
                "config: unknown scoring function %d", (int)c->gating);
            REQ(isfinite(c->routed_scale) && c->routed_scale > 0,
                "config: routed_scaling_factor %g must be positive", (double)c->routed_scale);
        }
    } else {
        REQ(c->n_head_kv > 0 && c->n_head % c->n_head_kv == 0,
            "config: num_key_value_heads %d must divide num_attention_heads %d", c->n_head_kv,
            c->n_head);
        REQ(c->head_dim > 0 && c->head_dim <= 4096 && c->head_dim % 2 == 0,
            "config: head_dim %d must be positive and even", c->head_dim);
        REQ(c->n_ff > 0, "config: intermediate_size must be positive");
        REQ(c->n_mtp == 0 && c->n_routed == 0, "config: dense architectures have no experts/MTP");
    }
    switch (c->rope_scaling) {
    case SK_ROPE_SCALING_NONE: break;
    case SK_ROPE_SCALING_YARN:
        REQ(c->rope_factor >= 1 && c->rope_orig_ctx > 0,
            "config: yarn rope scaling needs factor >= 1 and original_max_position_embeddings > 0");
        REQ(c->yarn_beta_fast > 0 && c->yarn_beta_slow > 0,
            "config: yarn beta_fast/beta_slow must be positive");
        break;
    case SK_ROPE_SCALING_LLAMA3:
        REQ(c->rope_factor > 0 && c->rope_orig_ctx > 0 && c->llama3_low > 0 &&
                c->llama3_high > c->llama3_low,
            "config: llama3 rope scaling needs factor > 0, original context > 0 and "
            "high_freq_factor > low_freq_factor > 0");
        break;
    case SK_ROPE_SCALING_LINEAR:
        REQ(c->rope_factor > 0, "config: linear rope scaling needs factor > 0");
        break;
    default: return sk_err_set(e, SK_ERR_INVALID, "config: unknown rope scaling %d", c->rope_scaling);
    }
#undef REQ
    return SK_OK;
}

int sk_model_is_moe_layer(const sk_model_config *c, int layer) {
    if (c->arch != SK_ARCH_DEEPSEEK2 || c->n_routed <= 0) return 0;
    return layer >= c->n_dense_lead && layer % (c->moe_layer_freq > 0 ? c->moe_layer_freq : 1) == 0;
}

static double yarn_get_mscale(double scale, double m) {
    if (scale <= 1 || m <= 0) return 1.0;
    return 0.1 * m * log(scale) + 1.0;
}

float sk_model_attn_scale(const sk_model_config *c) {
    if (c->arch == SK_ARCH_DEEPSEEK2) {
        double s = 1.0 / sqrt((double)(c->qk_nope_dim + c->qk_rope_dim));
        if (c->rope_scaling == SK_ROPE_SCALING_YARN) {
            double m = yarn_get_mscale(c->rope_factor, c->yarn_mscale_all_dim);
            s *= m * m;
        }
        return (float)s;
    }
    return (float)(1.0 / sqrt((double)c->head_dim));
}
