/* hf_load.c — sk_model_weights_from_st: views of a Hugging Face checkpoint (names and shapes
 * in the golden README / spec §1.6, §1.9, §1.12, §2.2). HF [out, in] is ggml ne [in, out]
 * with the same bytes, so every view is used as is; FP8 weights carry their scale grid. */
#include "sk_model.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct stloader {
    const sk_st *st;
    sk_err *e;
    int rc;
} stloader;

static void get_t(stloader *L, sk_tensor *t, bool required, int64_t n0, int64_t n1,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void get_t(stloader *L, sk_tensor *t, bool required, int64_t n0, int64_t n1,
                  const char *fmt, ...) {
    memset(t, 0, sizeof *t);
    t->type = -1;
    if (L->rc) return;
    char name[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int64_t i = sk_st_find(L->st, name);
    if (i < 0) {
        if (required) L->rc = sk_err_set(L->e, SK_ERR_NOTFOUND, "safetensors: tensor %s is missing", name);
        return;
    }
    sk_tensor v;
    int rc = sk_st_tensor_view(L->st, i, &v, L->e);
    if (rc) {
        L->rc = rc;
        return;
    }
    int64_t want[4] = {n0, n1, 1, 1};
    for (int d = 0; d < 4; d++) {
        if (v.ne[d] != want[d]) {
            L->rc = sk_err_set(L->e, SK_ERR_FORMAT,
                               "safetensors: tensor %s has HF shape [%lld, %lld], expected "
                               "[%lld, %lld]",
                               name, (long long)v.ne[1], (long long)v.ne[0], (long long)n1,
                               (long long)n0);
            return;
        }
    }
    *t = v;
}

int sk_model_weights_from_st(const sk_st *st, sk_model_weights *w, sk_err *e) {
    sk_model_config c = w->cfg;
    memset(w, 0, sizeof *w);
    w->cfg = c;
    stloader L = {.st = st, .e = e};
    int nl = c.n_layer + c.n_mtp;
    w->layers = sk_calloc((size_t)nl, sizeof *w->layers, e);
    if (!w->layers) return SK_ERR_NOMEM;
    const int64_t E = c.n_embd, V = c.n_vocab;
    get_t(&L, &w->tok_embd, true, E, V, "model.embed_tokens.weight");
    get_t(&L, &w->output_norm, true, E, 1, "model.norm.weight");
    get_t(&L, &w->output, !c.tie_embeddings, E, V, "lm_head.weight");
    if (!L.rc && !sk_tensor_present(&w->output)) w->output = w->tok_embd;

    for (int l = 0; l < nl && !L.rc; l++) {
        sk_layer_weights *y = &w->layers[l];
        char p[64];
        snprintf(p, sizeof p, "model.layers.%d.", l);
        get_t(&L, &y->attn_norm, true, E, 1, "%sinput_layernorm.weight", p);
        get_t(&L, &y->ffn_norm, true, E, 1, "%spost_attention_layernorm.weight", p);
        if (c.arch == SK_ARCH_DEEPSEEK2) {
            const int64_t H = c.n_head, nope = c.qk_nope_dim, rope = c.qk_rope_dim,
                          vd = c.v_head_dim, R = c.kv_lora_rank;
            if (c.q_lora_rank > 0) {
                get_t(&L, &y->q_a, true, E, c.q_lora_rank, "%sself_attn.q_a_proj.weight", p);
                get_t(&L, &y->q_a_norm, true, c.q_lora_rank, 1, "%sself_attn.q_a_layernorm.weight", p);
                get_t(&L, &y->q_b, true, c.q_lora_rank, H * (nope + rope),
                      "%sself_attn.q_b_proj.weight", p);
            } else {
                get_t(&L, &y->q, true, E, H * (nope + rope), "%sself_attn.q_proj.weight", p);
            }
            get_t(&L, &y->kv_a, true, E, R + rope, "%sself_attn.kv_a_proj_with_mqa.weight", p);
            get_t(&L, &y->kv_a_norm, true, R, 1, "%sself_attn.kv_a_layernorm.weight", p);
            get_t(&L, &y->kv_b, true, R, H * (nope + vd), "%sself_attn.kv_b_proj.weight", p);
            get_t(&L, &y->o, true, H * vd, E, "%sself_attn.o_proj.weight", p);
            if (sk_model_is_moe_layer(&c, l)) {
                const int64_t F = c.moe_ff;
                get_t(&L, &y->gate_inp, true, E, c.n_routed, "%smlp.gate.weight", p);
                if (c.has_exp_bias)
                    get_t(&L, &y->exp_bias, true, c.n_routed, 1, "%smlp.gate.e_score_correction_bias", p);
                if (!L.rc) {
                    y->exp_gate = sk_calloc((size_t)c.n_routed, sizeof(sk_tensor), e);
                    y->exp_up = sk_calloc((size_t)c.n_routed, sizeof(sk_tensor), e);
                    y->exp_down = sk_calloc((size_t)c.n_routed, sizeof(sk_tensor), e);
                    if (!y->exp_gate || !y->exp_up || !y->exp_down) L.rc = SK_ERR_NOMEM;
                }
                for (int x = 0; x < c.n_routed && !L.rc; x++) {
                    get_t(&L, &y->exp_gate[x], true, E, F, "%smlp.experts.%d.gate_proj.weight", p, x);
                    get_t(&L, &y->exp_up[x], true, E, F, "%smlp.experts.%d.up_proj.weight", p, x);
                    get_t(&L, &y->exp_down[x], true, F, E, "%smlp.experts.%d.down_proj.weight", p, x);
                }
                if (c.n_shared > 0) {
                    const int64_t S = (int64_t)c.n_shared * F;
                    get_t(&L, &y->shexp_gate, true, E, S, "%smlp.shared_experts.gate_proj.weight", p);
                    get_t(&L, &y->shexp_up, true, E, S, "%smlp.shared_experts.up_proj.weight", p);
                    get_t(&L, &y->shexp_down, true, S, E, "%smlp.shared_experts.down_proj.weight", p);
                }
            } else {
                get_t(&L, &y->ffn_gate, true, E, c.n_ff, "%smlp.gate_proj.weight", p);
                get_t(&L, &y->ffn_up, true, E, c.n_ff, "%smlp.up_proj.weight", p);
                get_t(&L, &y->ffn_down, true, c.n_ff, E, "%smlp.down_proj.weight", p);
            }
            if (l >= c.n_layer) { /* MTP module (spec §1.12); its embed/head copies are unused */
                get_t(&L, &y->enorm, true, E, 1, "%senorm.weight", p);
                get_t(&L, &y->hnorm, true, E, 1, "%shnorm.weight", p);
                get_t(&L, &y->eh_proj, true, 2 * E, E, "%seh_proj.weight", p);
                get_t(&L, &y->head_norm, true, E, 1, "%sshared_head.norm.weight", p);
            }
        } else {
            const int64_t H = c.n_head, KV = c.n_head_kv, D = c.head_dim;
            get_t(&L, &y->q, true, E, H * D, "%sself_attn.q_proj.weight", p);
            get_t(&L, &y->k, true, E, KV * D, "%sself_attn.k_proj.weight", p);
            get_t(&L, &y->v, true, E, KV * D, "%sself_attn.v_proj.weight", p);
            get_t(&L, &y->q_bias, c.qkv_bias, H * D, 1, "%sself_attn.q_proj.bias", p);
            get_t(&L, &y->k_bias, c.qkv_bias, KV * D, 1, "%sself_attn.k_proj.bias", p);
            get_t(&L, &y->v_bias, c.qkv_bias, KV * D, 1, "%sself_attn.v_proj.bias", p);
            get_t(&L, &y->o, true, H * D, E, "%sself_attn.o_proj.weight", p);
            get_t(&L, &y->ffn_gate, true, E, c.n_ff, "%smlp.gate_proj.weight", p);
            get_t(&L, &y->ffn_up, true, E, c.n_ff, "%smlp.up_proj.weight", p);
            get_t(&L, &y->ffn_down, true, c.n_ff, E, "%smlp.down_proj.weight", p);
        }
    }
    if (L.rc) {
        sk_model_weights_free(w);
        w->cfg = c;
    }
    return L.rc;
}
