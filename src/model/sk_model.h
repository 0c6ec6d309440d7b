/*
 * model — one definition per architecture family, shared by inference (runtime/) and
 * training (train/): the hyper-parameters (sk_model_config), the weight layout
 * (sk_model_weights: one sk_tensor view per parameter, in ggml `ne` order), the mapping
 * between GGUF names and Hugging Face names, and the forward pass.
 *
 * Families: SK_ARCH_DEEPSEEK2 (DeepSeek-V2/V2-Lite/V3/R1: MLA + DeepSeekMoE, optional MTP),
 * SK_ARCH_QWEN2 and SK_ARCH_LLAMA (the dense R1-Distill models).
 *
 * Ownership. sk_model_weights holds views only; whoever loaded it (a GGUF or safetensors
 * handle, or the trainer's parameter arena) owns the bytes and must outlive it. Arrays
 * inside (layers, experts) are allocated by the loader and freed by sk_model_weights_free.
 * An sk_model owns its file handles (weights stay in the mmap, never copied; only 1-D
 * tensors that are not F32, e.g. the BF16 norms of an HF checkpoint, get F32 copies).
 *
 * Inference API (bottom of this file): sk_model_open → sk_model_ctx_new → sk_model_eval
 * (n tokens at the context's position; decode = n 1) → sk_model_ctx_truncate/reset.
 * Cache per token and layer: MLA keeps the normalised latent c (kv_lora values) and the
 * roped key (qk_rope values), e.g. DeepSeek-V3 61 × (512 + 64) values = 140,544 bytes/token
 * in f32, 70,272 in f16/bf16, 40,992 in q8_0 (latent q8_0, rope key f16); dense models keep
 * K and V (n_head_kv × head_dim each). Decoding uses the absorbed MLA form; batches use the
 * absorbed or the expanded form, whichever is estimated cheaper (sk_model_ctx_params).
 */
#ifndef SK_MODEL_H
#define SK_MODEL_H

#include "sk_gguf.h"
#include "sk_kernels.h"
#include "sk_safetensors.h"
#include "sk_tensor.h"
#include "sk_util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sk_arch {
    SK_ARCH_UNKNOWN = 0,
    SK_ARCH_DEEPSEEK2 = 1,
    SK_ARCH_QWEN2 = 2,
    SK_ARCH_LLAMA = 3,
} sk_arch;
/* The GGUF general.architecture name of a: "deepseek2", "qwen2", "llama"; NULL if unknown. */
const char *sk_arch_name(sk_arch a);

typedef enum sk_rope_scaling {
    SK_ROPE_SCALING_NONE = 0,
    SK_ROPE_SCALING_YARN = 1,
    SK_ROPE_SCALING_LLAMA3 = 2,
    SK_ROPE_SCALING_LINEAR = 3,
} sk_rope_scaling;

typedef enum sk_gating {
    SK_GATING_SOFTMAX = 1, /* V2 / V2-Lite */
    SK_GATING_SIGMOID = 2, /* V3 / R1 */
} sk_gating;

typedef struct sk_model_config {
    sk_arch arch;
    int n_vocab;
    int n_embd;        /* hidden_size */
    int n_layer;       /* num_hidden_layers (MTP layers not counted) */
    int n_head;        /* num_attention_heads */
    int n_head_kv;     /* num_key_value_heads (dense archs; = n_head for deepseek2) */
    int head_dim;      /* dense archs: hidden/n_head unless given */
    int n_ff;          /* intermediate_size of dense FFN layers */
    float rms_eps;
    float rope_theta;
    int max_ctx;       /* max_position_embeddings */
    bool tie_embeddings;
    bool qkv_bias;     /* qwen2 */

    /* deepseek2: MLA */
    int q_lora_rank;   /* 0 = plain q_proj (V2-Lite) */
    int kv_lora_rank;
    int qk_nope_dim;
    int qk_rope_dim;
    int v_head_dim;
    /* deepseek2: MoE */
    int n_dense_lead;  /* first_k_dense_replace */
    int moe_layer_freq;
    int n_routed;      /* n_routed_experts (0 = dense model) */
    int n_active;      /* num_experts_per_tok */
    int n_shared;      /* n_shared_experts */
    int moe_ff;        /* moe_intermediate_size */
    int n_group, topk_group;
    float routed_scale;   /* routed_scaling_factor */
    bool norm_topk;       /* norm_topk_prob */
    sk_gating gating;
    bool has_exp_bias;    /* topk_method noaux_tc: e_score_correction_bias present */
    /* MTP */
    int n_mtp;            /* num_nextn_predict_layers */
    float mtp_lambda;     /* mtp_loss_scaling_factor (training) */
    float aux_alpha;      /* aux_loss_alpha (training) */

    /* rope scaling */
    sk_rope_scaling rope_scaling;
    float rope_factor;
    int rope_orig_ctx;    /* original_max_position_embeddings */
    float yarn_beta_fast, yarn_beta_slow; /* 32, 1 */
    float yarn_mscale, yarn_mscale_all_dim;
    float llama3_low, llama3_high;        /* low_freq_factor, high_freq_factor */

    int bos_id, eos_id;   /* -1 if unknown */
} sk_model_config;

/* Fills defaults (all zero, eps 1e-6, theta 10000, ids -1, …). */
void sk_model_config_init(sk_model_config *c);
/* From a Hugging Face config.json (DeepseekV3ForCausalLM, DeepseekV2ForCausalLM,
 * Qwen2ForCausalLM, LlamaForCausalLM). */
int sk_model_config_from_hf(const char *config_json_path, sk_model_config *c, sk_err *e);
/* From GGUF metadata (spec §3.6/3.7; keys under "<arch>."). Facts only the tensor table
 * tells (tied output, q/k/v biases, router bias, MLA layout, head sizes of the 3-D mainline
 * layout) are read from it too. Validates. */
int sk_model_config_from_gguf(const sk_gguf *g, sk_model_config *c, sk_err *e);
/* Checks internal consistency (positive sizes, n_active ≤ n_routed, divisibility, …). */
int sk_model_config_validate(const sk_model_config *c, sk_err *e);
/* Derived sizes. */
int sk_model_is_moe_layer(const sk_model_config *c, int layer);
/* Attention softmax scale incl. YaRN mscale² for deepseek2. */
float sk_model_attn_scale(const sk_model_config *c);

typedef struct sk_layer_weights {
    sk_tensor attn_norm;            /* [n_embd] */
    /* deepseek2 MLA */
    sk_tensor q_a;                  /* ne [n_embd, q_lora] */
    sk_tensor q_a_norm;             /* [q_lora] */
    sk_tensor q_b;                  /* ne [q_lora, n_head*(nope+rope)] */
    sk_tensor q;                    /* no q-lora / dense archs: ne [n_embd, n_head*head_dim] */
    sk_tensor kv_a;                 /* ne [n_embd, kv_lora+rope] */
    sk_tensor kv_a_norm;            /* [kv_lora] */
    sk_tensor kv_b;                 /* ne [kv_lora, n_head*(nope+v)]; may be absent (type -1) */
    sk_tensor k_b;                  /* absorbed: per head Wk[h]ᵀ, see loader for layout */
    sk_tensor v_b;                  /* absorbed: per head Wv[h] */
    /* dense attention (qwen2 / llama) */
    sk_tensor k, v;                 /* ne [n_embd, n_head_kv*head_dim] */
    sk_tensor q_bias, k_bias, v_bias;
    sk_tensor o;                    /* ne [n_head*v_dim, n_embd] */
    sk_tensor ffn_norm;             /* [n_embd] */
    /* dense FFN */
    sk_tensor ffn_gate, ffn_up;     /* ne [n_embd, n_ff] */
    sk_tensor ffn_down;             /* ne [n_ff, n_embd] */
    /* MoE */
    sk_tensor gate_inp;             /* router, ne [n_embd, n_routed] */
    sk_tensor exp_bias;             /* e_score_correction_bias [n_routed], F32 */
    sk_tensor *exp_gate, *exp_up;   /* n_routed views, each ne [n_embd, moe_ff] */
    sk_tensor *exp_down;            /* n_routed views, each ne [moe_ff, n_embd] */
    sk_tensor shexp_gate, shexp_up; /* ne [n_embd, n_shared*moe_ff] */
    sk_tensor shexp_down;           /* ne [n_shared*moe_ff, n_embd] */
    /* MTP module only (layers n_layer .. n_layer+n_mtp-1) */
    sk_tensor enorm, hnorm;         /* [n_embd] */
    sk_tensor eh_proj;              /* ne [2*n_embd, n_embd]; columns 0..n_embd-1 act on the embedding */
    sk_tensor head_norm;            /* shared_head.norm [n_embd] */
} sk_layer_weights;

typedef struct sk_model_weights {
    sk_model_config cfg;
    sk_tensor tok_embd;             /* ne [n_embd, n_vocab] */
    sk_tensor output_norm;          /* [n_embd] */
    sk_tensor output;               /* ne [n_embd, n_vocab] (= tok_embd when tied) */
    sk_tensor rope_freqs;           /* llama3 GGUF: [head_dim/2] divisors, else absent */
    sk_layer_weights *layers;       /* n_layer + n_mtp */
} sk_model_weights;

/* An absent tensor has type -1 and data NULL. */
static inline bool sk_tensor_present(const sk_tensor *t) {
    return t->data != NULL;
}

void sk_model_weights_free(sk_model_weights *w);

/* Views of every tensor of a GGUF file (never copied; g must outlive w). Checks every shape
 * against w->cfg (which the caller fills, normally with sk_model_config_from_gguf). MLA:
 * kv_b is set when attn_kv_b exists; k_b/v_b when attn_k_b/attn_v_b exist, either 2-D
 * (ik_llama.cpp: ne [nope, n_head*kv_lora] / [kv_lora, n_head*v]) or 3-D (mainline:
 * ne [nope, kv_lora, n_head] / [kv_lora, v, n_head]; same bytes). At least kv_b or both
 * k_b and v_b. Experts: exp_* arrays of views into the stacked 3-D tensors. */
int sk_model_weights_from_gguf(const sk_gguf *g, sk_model_weights *w, sk_err *e);
/* Views of a Hugging Face checkpoint (BF16/F16/F32, or FP8 E4M3 + weight_scale_inv);
 * w->cfg must be filled (sk_model_config_from_hf). Per-expert tensors become the exp_*
 * arrays; tied embeddings use tok_embd as output; the MTP layers (n_layer..n_layer+n_mtp-1)
 * are loaded when cfg.n_mtp > 0. HF llama keeps its rotate-half q/k order (the forward pass
 * uses NEOX rope for it, see sk_model_rope_mode). */
int sk_model_weights_from_st(const sk_st *st, sk_model_weights *w, sk_err *e);

/* ---- a loaded model, its evaluation contexts ----------------------------------------- */

/* Cache element types of sk_model_ctx. q8_0 needs row lengths that are multiples of 32;
 * the MLA rope key is kept in f16 when the cache is q8_0 (it is short and position-bearing). */
typedef enum sk_cache_type {
    SK_CACHE_F32 = 0,
    SK_CACHE_F16 = 1,
    SK_CACHE_BF16 = 2,
    SK_CACHE_Q8_0 = 3,
} sk_cache_type;
int sk_cache_type_from_name(const char *name); /* "f32"|"f16"|"bf16"|"q8_0", else -1 */
const char *sk_cache_type_name(int t);

typedef struct sk_model_opts {
    int n_threads;  /* ≤ 0: all CPUs */
    /* true: quantized weights are multiplied with f32 activations (row-wise dequantization,
     * slow); false (default): the kernels' llama.cpp-style quantized-activation dot products. */
    bool exact_f32;
    /* true: read the weight files into private memory instead of mapping them (`--no-mmap`;
     * see sk_mmap_open_copy); false (default): weights stay in the file mapping. */
    bool no_mmap;
} sk_model_opts;
void sk_model_opts_init(sk_model_opts *o);

typedef struct sk_model sk_model;
/* path: a .gguf file (or any split of one), or a Hugging Face folder holding config.json and
 * *.safetensors. The model keeps the mappings open; weights are never copied (unless
 * opts->no_mmap, which reads each file once into private memory and uses that instead). */
int sk_model_open(const char *path, const sk_model_opts *opts, sk_model **out, sk_err *e);
void sk_model_close(sk_model *m);
const sk_model_config *sk_model_get_config(const sk_model *m);
const sk_model_weights *sk_model_get_weights(const sk_model *m);
sk_kctx *sk_model_kctx(sk_model *m);
/* Rotation convention of the dense q/k heads (HF llama: NEOX; GGUF llama: adjacent). */
sk_rope_mode sk_model_rope_mode(const sk_model *m);

/* An evaluation context: the KV cache (MLA: latent + rope key per token and layer) and
 * scratch for batches. One context per sequence; contexts of one model must not be
 * evaluated concurrently (they share the model's thread pool). */
typedef struct sk_model_ctx_params {
    int n_ctx;      /* cache capacity in tokens (≤ 0: min(max_ctx, 4096)) */
    int n_batch;    /* tokens per forward chunk (≤ 0: 64) */
    int cache_type; /* sk_cache_type */
    /* MLA attention of a batch: SK_MLA_AUTO picks by estimated cost (the expanded form,
     * decompressing K/V from the cached latents per batch, wins for long prompt chunks);
     * decoding (one token) is always absorbed. Needs attn_kv_b for the expanded form. */
    int mla_mode;
} sk_model_ctx_params;
enum { SK_MLA_AUTO = 0, SK_MLA_ABSORBED = 1, SK_MLA_EXPANDED = 2 };
void sk_model_ctx_params_init(sk_model_ctx_params *p);

typedef struct sk_model_ctx sk_model_ctx;
int sk_model_ctx_new(sk_model *m, const sk_model_ctx_params *p, sk_model_ctx **out, sk_err *e);
void sk_model_ctx_free(sk_model_ctx *c);
void sk_model_ctx_reset(sk_model_ctx *c);              /* forget every position */
int sk_model_ctx_truncate(sk_model_ctx *c, int n_pos, sk_err *e); /* keep positions < n_pos */
int sk_model_ctx_pos(const sk_model_ctx *c);           /* tokens in the cache */
int sk_model_ctx_capacity(const sk_model_ctx *c);
int sk_model_ctx_n_batch(const sk_model_ctx *c);       /* tokens per forward chunk */
size_t sk_model_ctx_cache_bytes_per_token(const sk_model_ctx *c); /* all layers together */

/* Evaluates n tokens at positions pos..pos+n-1 (pos = tokens already cached), in chunks of
 * n_batch through the matrix-matrix kernels; decoding is n = 1. logits (may be NULL):
 * all_rows ? n rows : 1 row (the last token), each n_vocab floats. Fails without touching
 * the cache if pos+n exceeds the capacity or a token id is out of range. */
int sk_model_eval(sk_model_ctx *c, const int32_t *tokens, int n, float *logits, bool all_rows,
                  sk_err *e);
/* The same, plus the hidden states after the final norm (what the head multiplies; the MTP
 * input h) in `hidden` (may be NULL): rows as for logits, n_embd floats each. */
int sk_model_eval_ex(sk_model_ctx *c, const int32_t *tokens, int n, float *logits, bool all_rows,
                     float *hidden, sk_err *e);

/* MTP depth k (1..n_mtp; DeepSeek-V3 multi-token prediction, spec §1.12 — Seek's wiring:
 * embedding half first, h after the final norm). Runs n positions of depth k's own cache slot,
 * starting at sk_model_ctx_mtp_pos(c, k), which must stay ≤ the main model's position:
 * position i gets tokens[i] = the token after main position i (t_{i+1}) and hidden[i] = h_i
 * (from sk_model_eval_ex for k = 1, from hidden_out of depth k-1 otherwise). logits (may be
 * NULL) predict the token after tokens[i]; hidden_out (may be NULL) is depth k's normed
 * output. Truncating/resetting the context truncates the MTP slots too. Checked for
 * consistency only (there is no MTP reference output in tests/data). */
int sk_model_mtp_eval(sk_model_ctx *c, int k, const int32_t *tokens, const float *hidden, int n,
                      float *logits, bool all_rows, float *hidden_out, sk_err *e);
int sk_model_ctx_mtp_pos(const sk_model_ctx *c, int k);

/* MLA models whose file has attn_kv_b but no attn_k_b: sk_model_open keeps Wk[h]ᵀ of every
 * head as F16 ([H][kv_lora][qk_nope], built once from kv_b; not in exact_f32 mode), which
 * decoding reads instead of the k rows of attn_kv_b. Returns its bytes for `layer`
 * (0 if that layer has none). */
size_t sk_model_mla_wkt_bytes(const sk_model *m, int layer);

/* The output head alone: logits[i] = output · hidden[i] for n rows of post-norm hidden states
 * (what sk_model_eval_ex / sk_model_mtp_eval return in hidden).
 * Lets a caller keep every hidden row of a prompt but compute logits of the last only. */
int sk_model_logits_from_hidden(sk_model_ctx *c, const float *hidden, int n, float *logits,
                                sk_err *e);

#ifdef __cplusplus
}
#endif
#endif
