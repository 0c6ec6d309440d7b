/* gguf_load.c — sk_model_config_from_gguf and sk_model_weights_from_gguf (spec §3.5–3.7,
 * golden README "GGUF <-> Hugging Face mapping"). Weights are views into the GGUF map. */
#include "sk_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct kv_reader {
    const sk_gguf *g;
    char arch[32];
    int rc;
    sk_err *e;
} kv_reader;

static void key_name(kv_reader *r, const char *suffix, char *out, size_t n) {
    snprintf(out, n, "%s.%s", r->arch, suffix);
}

/* Reads "<arch>.<suffix>" as an int in [0, 1<<24]; *out unchanged when absent. */
static bool kv_int(kv_reader *r, const char *suffix, int *out, bool required) {
    if (r->rc) return false;
    char key[160];
    key_name(r, suffix, key, sizeof key);
    int64_t v;
    if (!sk_gguf_get_i64(r->g, key, &v)) {
        if (sk_gguf_find_key(r->g, key) >= 0) {
            r->rc = sk_err_set(r->e, SK_ERR_FORMAT, "%s: metadata %s is not an integer",
                               sk_gguf_path(r->g), key);
        } else if (required) {
            r->rc = sk_err_set(r->e, SK_ERR_FORMAT, "%s: metadata %s is missing",
                               sk_gguf_path(r->g), key);
        }
        return false;
    }
    if (v < 0 || v > (1 << 24)) {
        r->rc = sk_err_set(r->e, SK_ERR_RANGE, "%s: metadata %s = %lld is out of range",
                           sk_gguf_path(r->g), key, (long long)v);
        return false;
    }
    *out = (int)v;
    return true;
}

static bool kv_f32(kv_reader *r, const char *suffix, float *out) {
    if (r->rc) return false;
    char key[160];
    key_name(r, suffix, key, sizeof key);
    float v;
    if (!sk_gguf_get_f32(r->g, key, &v)) {
        if (sk_gguf_find_key(r->g, key) >= 0)
            r->rc = sk_err_set(r->e, SK_ERR_FORMAT, "%s: metadata %s is not a number",
                               sk_gguf_path(r->g), key);
        return false;
    }
    if (!isfinite(v)) {
        r->rc = sk_err_set(r->e, SK_ERR_RANGE, "%s: metadata %s is not finite",
                           sk_gguf_path(r->g), key);
        return false;
    }
    *out = v;
    return true;
}

static bool has_tensor(const sk_gguf *g, const char *name) {
    return sk_gguf_find_tensor(g, name) >= 0;
}

static const sk_gguf_tensor_info *find_info(const sk_gguf *g, const char *name) {
    int64_t i = sk_gguf_find_tensor(g, name);
    return i < 0 ? NULL : sk_gguf_tensor(g, i);
}

int sk_model_config_from_gguf(const sk_gguf *g, sk_model_config *c, sk_err *e) {
    sk_model_config_init(c);
    const char *path = sk_gguf_path(g);
    const char *as = NULL;
    size_t alen = 0;
    if (!sk_gguf_get_str(g, "general.architecture", &as, &alen))
        return sk_err_set(e, SK_ERR_FORMAT, "%s: metadata general.architecture is missing", path);
    kv_reader r = {.g = g, .e = e};
    if (alen >= sizeof r.arch) alen = sizeof r.arch - 1;
    memcpy(r.arch, as, alen);
    r.arch[alen] = 0;
    if (!strcmp(r.arch, "deepseek2")) c->arch = SK_ARCH_DEEPSEEK2;
    else if (!strcmp(r.arch, "qwen2")) c->arch = SK_ARCH_QWEN2;
    else if (!strcmp(r.arch, "llama")) c->arch = SK_ARCH_LLAMA;
    else
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "%s: architecture \"%s\" is not supported (deepseek2, qwen2, llama)",
                          path, r.arch);

    kv_int(&r, "embedding_length", &c->n_embd, true);
    kv_int(&r, "block_count", &c->n_layer, true);
    kv_int(&r, "attention.head_count", &c->n_head, true);
    c->n_head_kv = c->n_head;
    kv_int(&r, "attention.head_count_kv", &c->n_head_kv, false);
    kv_int(&r, "feed_forward_length", &c->n_ff, false);
    kv_int(&r, "context_length", &c->max_ctx, false);
    kv_f32(&r, "attention.layer_norm_rms_epsilon", &c->rms_eps);
    kv_f32(&r, "rope.freq_base", &c->rope_theta);
    if (r.rc) return r.rc;

    /* vocabulary: <arch>.vocab_size, else the token list, else token_embd's rows */
    const sk_gguf_tensor_info *te = find_info(g, "token_embd.weight");
    if (!te) return sk_err_set(e, SK_ERR_NOTFOUND, "%s: tensor token_embd.weight is missing", path);
    if (!kv_int(&r, "vocab_size", &c->n_vocab, false)) {
        if (r.rc) return r.rc;
        sk_gguf_vtype et;
        uint64_t cnt;
        const void *d;
        if (sk_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &cnt, &d) && cnt > 0 &&
            cnt <= (1u << 24))
            c->n_vocab = (int)cnt;
        else if (te->ne[1] > 0 && te->ne[1] <= (1 << 24))
            c->n_vocab = (int)te->ne[1];
    }
    uint32_t u;
    if (sk_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &u) && u < (1u << 24)) c->bos_id = (int)u;
    if (sk_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &u) && u < (1u << 24)) c->eos_id = (int)u;
    c->tie_embeddings = !has_tensor(g, "output.weight");

    /* rope scaling */
    const char *st = NULL;
    size_t stlen = 0;
    char key[160];
    key_name(&r, "rope.scaling.type", key, sizeof key);
    if (sk_gguf_get_str(g, key, &st, &stlen)) {
        if (stlen == 4 && !memcmp(st, "yarn", 4)) c->rope_scaling = SK_ROPE_SCALING_YARN;
        else if (stlen == 6 && !memcmp(st, "linear", 6)) c->rope_scaling = SK_ROPE_SCALING_LINEAR;
        else if (!(stlen == 4 && !memcmp(st, "none", 4)))
            return sk_err_set(e, SK_ERR_UNSUPPORTED, "%s: %s \"%.*s\" is not supported", path, key,
                              (int)(stlen > 32 ? 32 : stlen), st);
    }
    if (c->rope_scaling != SK_ROPE_SCALING_NONE) {
        float f = 0;
        if (kv_f32(&r, "rope.scaling.factor", &f)) c->rope_factor = f;
        kv_int(&r, "rope.scaling.original_context_length", &c->rope_orig_ctx, false);
        float mult = 0;
        if (kv_f32(&r, "rope.scaling.yarn_log_multiplier", &mult)) {
            c->yarn_mscale_all_dim = mult / 0.1f; /* stored as 0.1*mscale_all_dim */
            c->yarn_mscale = c->yarn_mscale_all_dim;
        }
        kv_f32(&r, "rope.scaling.yarn_beta_fast", &c->yarn_beta_fast);
        kv_f32(&r, "rope.scaling.yarn_beta_slow", &c->yarn_beta_slow);
        if (r.rc) return r.rc;
    }

    if (c->arch == SK_ARCH_DEEPSEEK2) {
        kv_int(&r, "attention.q_lora_rank", &c->q_lora_rank, false);
        kv_int(&r, "attention.kv_lora_rank", &c->kv_lora_rank, true);
        kv_int(&r, "rope.dimension_count", &c->qk_rope_dim, true);
        int key_len = 0, val_len = 0;
        if (!kv_int(&r, "attention.key_length_mla", &key_len, false))
            kv_int(&r, "attention.key_length", &key_len, true);
        if (!kv_int(&r, "attention.value_length_mla", &val_len, false))
            kv_int(&r, "attention.value_length", &val_len, true);
        if (r.rc) return r.rc;
        const sk_gguf_tensor_info *kb = find_info(g, "blk.0.attn_k_b.weight");
        const sk_gguf_tensor_info *vb = find_info(g, "blk.0.attn_v_b.weight");
        bool has_kvb = has_tensor(g, "blk.0.attn_kv_b.weight");
        if (!has_kvb && kb && vb && kb->n_dims == 3 && vb->n_dims == 3) {
            /* mainline layout: the head sizes are the tensors' (key_length is kv_lora+rope) */
            if (kb->ne[0] <= 0 || kb->ne[0] > 65536 || vb->ne[1] <= 0 || vb->ne[1] > 65536)
                return sk_err_set(e, SK_ERR_FORMAT, "%s: blk.0.attn_k_b/attn_v_b have absurd head sizes",
                                  path);
            key_len = (int)kb->ne[0] + c->qk_rope_dim;
            val_len = (int)vb->ne[1];
        } else if (c->n_head_kv == 1 && c->n_head > 1) {
            return sk_err_set(e, SK_ERR_FORMAT,
                              "%s: head_count_kv 1 (mainline MLA layout) but no 3-D attn_k_b/attn_v_b",
                              path);
        }
        c->n_head_kv = c->n_head;
        c->qk_nope_dim = key_len - c->qk_rope_dim;
        c->v_head_dim = val_len;
        c->head_dim = key_len;
        if (c->qk_nope_dim <= 0)
            return sk_err_set(e, SK_ERR_FORMAT,
                              "%s: key_length %d is not larger than rope.dimension_count %d", path,
                              key_len, c->qk_rope_dim);
        /* V2-Lite layout (no q LoRA) is told by the tensors */
        if (has_tensor(g, "blk.0.attn_q.weight")) c->q_lora_rank = 0;
        kv_int(&r, "leading_dense_block_count", &c->n_dense_lead, false);
        kv_int(&r, "expert_count", &c->n_routed, false);
        kv_int(&r, "expert_used_count", &c->n_active, false);
        kv_int(&r, "expert_shared_count", &c->n_shared, false);
        kv_int(&r, "expert_feed_forward_length", &c->moe_ff, false);
        kv_int(&r, "expert_group_count", &c->n_group, false);
        kv_int(&r, "expert_group_used_count", &c->topk_group, false);
        kv_int(&r, "nextn_predict_layers", &c->n_mtp, false);
        kv_f32(&r, "expert_weights_scale", &c->routed_scale);
        int gf = 1;
        kv_int(&r, "expert_gating_func", &gf, false);
        if (r.rc) return r.rc;
        if (gf != 1 && gf != 2)
            return sk_err_set(e, SK_ERR_UNSUPPORTED, "%s: %s.expert_gating_func %d (1 softmax, 2 sigmoid)",
                              path, r.arch, gf);
        c->gating = gf == 2 ? SK_GATING_SIGMOID : SK_GATING_SOFTMAX;
        key_name(&r, "expert_weights_norm", key, sizeof key);
        bool b;
        if (sk_gguf_get_bool(g, key, &b)) c->norm_topk = b;
        if (c->n_group == 0) c->n_group = 1;
        if (c->topk_group == 0) c->topk_group = c->n_group;
        /* router bias (noaux_tc) is present iff exp_probs_b exists on the first MoE layer */
        snprintf(key, sizeof key, "blk.%d.exp_probs_b.bias", c->n_dense_lead);
        c->has_exp_bias = has_tensor(g, key);
        if (c->rope_scaling == SK_ROPE_SCALING_YARN && c->rope_orig_ctx == 0) c->rope_orig_ctx = 4096;
    } else {
        c->head_dim = c->n_head > 0 ? c->n_embd / c->n_head : 0;
        int hd = 0;
        if (kv_int(&r, "attention.key_length", &hd, false) && hd > 0) c->head_dim = hd;
        if (r.rc) return r.rc;
        c->qkv_bias = has_tensor(g, "blk.0.attn_q.bias");
        /* llama3 scaling: GGUF carries it as rope_freqs.weight (the forward pass uses it) */
        if (has_tensor(g, "rope_freqs.weight") && c->rope_scaling == SK_ROPE_SCALING_NONE)
            c->rope_scaling = SK_ROPE_SCALING_NONE;
    }
    int rc = sk_model_config_validate(c, e);
    if (rc) sk_err_prefix(e, "%s", path);
    return rc;
}

/* ---- weights ---- */

typedef struct wloader {
    const sk_gguf *g;
    sk_err *e;
    int rc;
} wloader;

/* Looks up a tensor and checks its shape (ne, trailing 1s implied). required=false: an absent
 * tensor leaves *t absent (type -1). */
static void get_t(wloader *L, sk_tensor *t, bool required, int64_t n0, int64_t n1, int64_t n2,
                  const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void get_t(wloader *L, sk_tensor *t, bool required, int64_t n0, int64_t n1, int64_t n2,
                  const char *fmt, ...) {
    memset(t, 0, sizeof *t);
    t->type = -1;
    if (L->rc) return;
    char name[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int64_t i = sk_gguf_find_tensor(L->g, name);
    if (i < 0) {
        if (required)
            L->rc = sk_err_set(L->e, SK_ERR_NOTFOUND, "%s: tensor %s is missing",
                               sk_gguf_path(L->g), name);
        return;
    }
    sk_tensor v = sk_gguf_tensor_view(L->g, i);
    int64_t want[4] = {n0, n1, n2, 1};
    for (int d = 0; d < 4; d++) {
        if (v.ne[d] != want[d]) {
            L->rc = sk_err_set(L->e, SK_ERR_FORMAT,
                               "%s: tensor %s has ne [%lld, %lld, %lld, %lld], expected "
                               "[%lld, %lld, %lld]",
                               sk_gguf_path(L->g), name, (long long)v.ne[0], (long long)v.ne[1],
                               (long long)v.ne[2], (long long)v.ne[3], (long long)n0,
                               (long long)n1, (long long)n2);
            return;
        }
    }
    const sk_type_traits *tr = sk_type_info(v.type);
    if (!tr->can_dequant) {
        L->rc = sk_err_set(L->e, SK_ERR_UNSUPPORTED, "%s: tensor %s has type %s, which Seek cannot decode",
                           sk_gguf_path(L->g), name, sk_type_name(v.type));
        return;
    }
    *t = v;
}

static int split_experts(const sk_tensor *stacked, int n, sk_tensor **out, sk_err *e) {
    *out = sk_calloc((size_t)n, sizeof **out, e);
    if (!*out) return SK_ERR_NOMEM;
    for (int i = 0; i < n; i++) (*out)[i] = sk_tensor_slice3(stacked, i);
    return SK_OK;
}

int sk_model_weights_from_gguf(const sk_gguf *g, sk_model_weights *w, sk_err *e) {
    sk_model_config c = w->cfg;
    memset(w, 0, sizeof *w);
    w->cfg = c;
    wloader L = {.g = g, .e = e};
    int nl = c.n_layer + c.n_mtp;
    w->layers = sk_calloc((size_t)nl, sizeof *w->layers, e);
    if (!w->layers) return SK_ERR_NOMEM;
    const int64_t E = c.n_embd, V = c.n_vocab;
    get_t(&L, &w->tok_embd, true, E, V, 1, "token_embd.weight");
    get_t(&L, &w->output_norm, true, E, 1, 1, "output_norm.weight");
    get_t(&L, &w->output, false, E, V, 1, "output.weight");
    if (!L.rc && !sk_tensor_present(&w->output)) w->output = w->tok_embd;
    get_t(&L, &w->rope_freqs, false, (c.arch == SK_ARCH_DEEPSEEK2 ? c.qk_rope_dim : c.head_dim) / 2,
          1, 1, "rope_freqs.weight");
    if (!L.rc && sk_tensor_present(&w->rope_freqs) && w->rope_freqs.type != SK_TYPE_F32)
        L.rc = sk_err_set(e, SK_ERR_FORMAT, "%s: rope_freqs.weight must be F32", sk_gguf_path(g));

    for (int l = 0; l < nl && !L.rc; l++) {
        sk_layer_weights *y = &w->layers[l];
        get_t(&L, &y->attn_norm, true, E, 1, 1, "blk.%d.attn_norm.weight", l);
        get_t(&L, &y->ffn_norm, true, E, 1, 1, "blk.%d.ffn_norm.weight", l);
        if (c.arch == SK_ARCH_DEEPSEEK2) {
            const int64_t H = c.n_head, nope = c.qk_nope_dim, rope = c.qk_rope_dim,
                          vd = c.v_head_dim, R = c.kv_lora_rank;
            if (c.q_lora_rank > 0) {
                get_t(&L, &y->q_a, true, E, c.q_lora_rank, 1, "blk.%d.attn_q_a.weight", l);
                get_t(&L, &y->q_a_norm, true, c.q_lora_rank, 1, 1, "blk.%d.attn_q_a_norm.weight", l);
                get_t(&L, &y->q_b, true, c.q_lora_rank, H * (nope + rope), 1,
                      "blk.%d.attn_q_b.weight", l);
            } else {
                get_t(&L, &y->q, true, E, H * (nope + rope), 1, "blk.%d.attn_q.weight", l);
            }
            get_t(&L, &y->kv_a, true, E, R + rope, 1, "blk.%d.attn_kv_a_mqa.weight", l);
            get_t(&L, &y->kv_a_norm, true, R, 1, 1, "blk.%d.attn_kv_a_norm.weight", l);
            get_t(&L, &y->kv_b, false, R, H * (nope + vd), 1, "blk.%d.attn_kv_b.weight", l);
            char nm[96];
            snprintf(nm, sizeof nm, "blk.%d.attn_k_b.weight", l);
            const sk_gguf_tensor_info *kbi = find_info(g, nm);
            if (kbi && kbi->n_dims == 3) {
                get_t(&L, &y->k_b, true, nope, R, H, "blk.%d.attn_k_b.weight", l);
                get_t(&L, &y->v_b, true, R, vd, H, "blk.%d.attn_v_b.weight", l);
            } else if (kbi) {
                get_t(&L, &y->k_b, true, nope, H * R, 1, "blk.%d.attn_k_b.weight", l);
                get_t(&L, &y->v_b, true, R, H * vd, 1, "blk.%d.attn_v_b.weight", l);
            }
            if (!L.rc && !sk_tensor_present(&y->kv_b) &&
                !(sk_tensor_present(&y->k_b) && sk_tensor_present(&y->v_b)))
                L.rc = sk_err_set(e, SK_ERR_NOTFOUND,
                                  "%s: layer %d has neither attn_kv_b nor attn_k_b + attn_v_b",
                                  sk_gguf_path(g), l);
            get_t(&L, &y->o, true, H * vd, E, 1, "blk.%d.attn_output.weight", l);
            if (sk_model_is_moe_layer(&c, l)) {
                const int64_t NR = c.n_routed, F = c.moe_ff;
                get_t(&L, &y->gate_inp, true, E, NR, 1, "blk.%d.ffn_gate_inp.weight", l);
                if (c.has_exp_bias) {
                    get_t(&L, &y->exp_bias, true, NR, 1, 1, "blk.%d.exp_probs_b.bias", l);
                    if (!L.rc && y->exp_bias.type != SK_TYPE_F32)
                        L.rc = sk_err_set(e, SK_ERR_FORMAT, "%s: blk.%d.exp_probs_b.bias must be F32",
                                          sk_gguf_path(g), l);
                }
                sk_tensor gs, us, ds;
                get_t(&L, &gs, true, E, F, NR, "blk.%d.ffn_gate_exps.weight", l);
                get_t(&L, &us, true, E, F, NR, "blk.%d.ffn_up_exps.weight", l);
                get_t(&L, &ds, true, F, E, NR, "blk.%d.ffn_down_exps.weight", l);
                if (!L.rc) L.rc = split_experts(&gs, c.n_routed, &y->exp_gate, e);
                if (!L.rc) L.rc = split_experts(&us, c.n_routed, &y->exp_up, e);
                if (!L.rc) L.rc = split_experts(&ds, c.n_routed, &y->exp_down, e);
                if (c.n_shared > 0) {
                    const int64_t S = (int64_t)c.n_shared * F;
                    get_t(&L, &y->shexp_gate, true, E, S, 1, "blk.%d.ffn_gate_shexp.weight", l);
                    get_t(&L, &y->shexp_up, true, E, S, 1, "blk.%d.ffn_up_shexp.weight", l);
                    get_t(&L, &y->shexp_down, true, S, E, 1, "blk.%d.ffn_down_shexp.weight", l);
                }
            } else {
                get_t(&L, &y->ffn_gate, true, E, c.n_ff, 1, "blk.%d.ffn_gate.weight", l);
                get_t(&L, &y->ffn_up, true, E, c.n_ff, 1, "blk.%d.ffn_up.weight", l);
                get_t(&L, &y->ffn_down, true, c.n_ff, E, 1, "blk.%d.ffn_down.weight", l);
            }
            if (l >= c.n_layer) { /* MTP module (llama.cpp's nextn names) */
                get_t(&L, &y->enorm, true, E, 1, 1, "blk.%d.nextn.enorm.weight", l);
                get_t(&L, &y->hnorm, true, E, 1, 1, "blk.%d.nextn.hnorm.weight", l);
                get_t(&L, &y->eh_proj, true, 2 * E, E, 1, "blk.%d.nextn.eh_proj.weight", l);
                get_t(&L, &y->head_norm, true, E, 1, 1, "blk.%d.nextn.shared_head_norm.weight", l);
            }
        } else {
            const int64_t H = c.n_head, KV = c.n_head_kv, D = c.head_dim;
            get_t(&L, &y->q, true, E, H * D, 1, "blk.%d.attn_q.weight", l);
            get_t(&L, &y->k, true, E, KV * D, 1, "blk.%d.attn_k.weight", l);
            get_t(&L, &y->v, true, E, KV * D, 1, "blk.%d.attn_v.weight", l);
            get_t(&L, &y->q_bias, c.qkv_bias, H * D, 1, 1, "blk.%d.attn_q.bias", l);
            get_t(&L, &y->k_bias, c.qkv_bias, KV * D, 1, 1, "blk.%d.attn_k.bias", l);
            get_t(&L, &y->v_bias, c.qkv_bias, KV * D, 1, 1, "blk.%d.attn_v.bias", l);
            get_t(&L, &y->o, true, H * D, E, 1, "blk.%d.attn_output.weight", l);
            get_t(&L, &y->ffn_gate, true, E, c.n_ff, 1, "blk.%d.ffn_gate.weight", l);
            get_t(&L, &y->ffn_up, true, E, c.n_ff, 1, "blk.%d.ffn_up.weight", l);
            get_t(&L, &y->ffn_down, true, c.n_ff, E, 1, "blk.%d.ffn_down.weight", l);
        }
    }
    if (L.rc) {
        sk_model_weights_free(w);
        w->cfg = c;
    }
    return L.rc;
}
