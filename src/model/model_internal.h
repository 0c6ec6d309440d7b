/* model_internal.h — private to src/model: the sk_model / sk_model_ctx structs, the cache
 * row codec, the matrix-product dispatch (kernels or exact f32) and the per-family forward
 * functions. */
#ifndef SK_MODEL_INTERNAL_H
#define SK_MODEL_INTERNAL_H

#include "sk_model.h"

struct sk_model {
    sk_model_weights w;
    sk_gguf *gguf; /* owns the bytes when loaded from GGUF */
    sk_st *st;     /* owns the bytes when loaded from safetensors */
    sk_kctx *k;
    sk_model_opts opts;
    sk_rope_mode rope_mode; /* rotation of the rope part */
    float *rope_freqs;      /* [rope_dim/2] angle per position of pair i */
    int rope_dim;
    float attn_scale;
    sk_arena arena; /* F32 copies of non-F32 1-D tensors (norms, biases) */
    /* MLA without attn_k_b: Wk[h]ᵀ per layer as [H][kv_lora][nope] F16 (mla_wkt.c); NULL
     * entries for layers that do not need it */
    sk_fp16 **wkt; /* [n_layer + n_mtp] pointers into wkt_data */
    sk_fp16 *wkt_data;
    size_t wkt_bytes;
};

/* One cache "row" kind: n floats stored as type t in row_bytes bytes. */
typedef struct skm_rowfmt {
    int type; /* sk_cache_type */
    int n;
    size_t row_bytes;
} skm_rowfmt;

struct sk_model_ctx {
    sk_model *m;
    int n_ctx, n_batch, n_pos;
    int cache_type;
    int mla_mode;
    float *knope, *vexp; /* expanded MLA: [n_ctx][nope], [n_ctx][v], allocated on first use */
    int mtp_pos[16];     /* tokens in the cache slot of MTP depth k+1 */
    float *mtp_cat;      /* [n_batch][2*n_embd] */
    /* per layer: n_ctx rows of A, then n_ctx rows of B.
     * MLA: A = normalised latent c [kv_lora], B = roped key [qk_rope].
     * dense: A = roped K [n_head_kv*head_dim], B = V [n_head_kv*head_dim]. */
    skm_rowfmt fa, fb;
    size_t layer_bytes;
    int n_cache_layers;
    uint8_t *cache;
    int nth;              /* threads of the model's pool */
    float *scratch;       /* one block; the pointers below are carved from it */
    float *x;             /* [n_batch][n_embd] residual stream */
    float *xn;            /* [n_batch][n_embd] normed input of a block */
    float *q;             /* [n_batch][n_head*qk_dim] */
    float *qa;            /* deepseek2: [n_batch][q_lora] */
    float *kva;           /* deepseek2: [n_batch][kv_lora+rope]; dense: K [n_batch][kv*hd] */
    float *vv;            /* dense: V [n_batch][kv*hd] */
    float *qlat;          /* deepseek2: [n_batch][n_head][kv_lora] */
    float *olat;          /* deepseek2: [n_head][n_batch][kv_lora] */
    float *vtmp;          /* [n_batch][max(v_head_dim, n_embd)] */
    float *att;           /* [n_batch][n_head*v] attention output */
    float *ka, *kb;       /* decoded cache [n_ctx][A], [n_ctx][B] (unused for an f32 cache) */
    float *tscratch;      /* [nth][tstride] per-thread scores/rows */
    int64_t attn_hg;      /* query heads per attention item (skm_attn_heads) */
    size_t tstride;       /* floats per thread (sk_model_ctx_new says what they hold) */
    float *ffn_g, *ffn_u; /* [n_batch][max ff] */
    float *moe_y;         /* [n_batch][n_embd] */
    float *router;        /* [n_batch][n_routed] */
    float *selw;          /* [n_batch][n_active] */
    float *w_of;          /* [n_batch*n_active] */
    float *xg, *yg;       /* [n_batch][n_embd] gathered rows */
    float *rscratch;      /* routing scratch [2*n_routed + n_group] */
    int32_t *sel;         /* [n_batch][n_active] */
    int32_t *tok_of;      /* [n_batch*n_active] tokens grouped by expert */
    int32_t *cnt;         /* [n_routed+1] */
    /* one-token MoE: gate / up results [n_active][moe_ff] then the shared expert's
     * [eg_shared], down results [n_active][n_embd]; NULL without routed experts */
    float *eg, *eu, *ed;
    int64_t eg_shared;
};

/* Attention items take up to this many query heads that read the same cache rows (MLA: all
 * heads share the latent; GQA: the heads of one KV head), so an item streams the cache once
 * for all of them instead of once per head (skm_attn_heads picks the group size). */
#define SKM_ATTN_HEADS 32
/* Cache positions a group of heads works on at a time (their rows stay in L1/L2 meanwhile);
 * the MLA item keeps SKM_ATTN_POS rope-key dots in its scratch after the scores. */
#define SKM_ATTN_POS 16
/* Heads per attention item: `heads` heads sharing cache rows, split so every thread of the
 * pool gets an item for one token, at most SKM_ATTN_HEADS. */
static inline int64_t skm_attn_heads(int64_t heads, int nth) {
    int64_t g = (heads + nth - 1) / (nth > 0 ? nth : 1);
    return g < 1 ? 1 : g > SKM_ATTN_HEADS ? SKM_ATTN_HEADS : g;
}

/* ---- cache rows ---- */
size_t skm_row_bytes(int cache_type, int n);
void skm_row_encode(int cache_type, const float *x, int n, void *dst);
void skm_row_decode(int cache_type, const void *src, int n, float *y);

/* ---- matrix products honouring opts.exact_f32 ---- */
/* Per-head products fused into one dispatch up to this many heads (DeepSeek-V3: 128). */
#define SKM_MAX_HEADS 128
/* One-token MoE fuses the selected experts' products up to this many (V3: 8). */
#define SKM_MAX_ACTIVE 32
int skm_matmul(sk_model *m, const sk_tensor *W, const float *X, int64_t n, float *Y, sk_err *e);
/* Several products of n tokens in one dispatch (sk_matmul_multi), or one by one in exact_f32
 * mode; each result equals skm_matmul's. */
int skm_matmul_multi(sk_model *m, const sk_mv_op *ops, int nops, int64_t n, sk_err *e);
/* The same on rows [r0, r0+nr) of a 2-D W (any r0, also inside an FP8 scale block). */
int skm_matmul_rows(sk_model *m, const sk_tensor *W, int64_t r0, int64_t nr, const float *X,
                    int64_t n, float *Y, sk_err *e);

/* ---- routing (deepseek2 MoE), exposed for tests ---- */
/* logits [n_routed] → sel [n_active], w [n_active]. scratch: 2*n_routed + n_group floats. */
void skm_route(const sk_model_config *c, const float *logits, const float *bias, int32_t *sel,
               float *w, float *scratch);

/* ---- forward passes: chunk of n ≤ n_batch tokens at positions c->n_pos.. ---- */
int skm_forward_deepseek2(sk_model_ctx *c, const int32_t *tokens, int n, float *logits,
                          bool all_rows, float *hidden, sk_err *e);
int skm_forward_dense(sk_model_ctx *c, const int32_t *tokens, int n, float *logits, bool all_rows,
                      float *hidden, sk_err *e);
int skm_forward_mtp(sk_model_ctx *c, int k, const int32_t *tokens, const float *h, int n,
                    float *logits, bool all_rows, float *hidden, sk_err *e);

/* MLA Wk[h]ᵀ cache (mla_wkt.c): built by sk_model_open. skm_wkt_view gives head h of a
 * layer as an F16 matrix [R rows][nope], multiplied like any weight (sk_matmul_multi, the
 * kernel table's F16 dot); false when the layer has none (the caller then uses attn_k_b or
 * the kv_b rows). */
int skm_wkt_build(sk_model *m, sk_err *e);
bool skm_wkt_view(const sk_model *m, int layer, int h, sk_tensor *out);

/* Runs fn(ctx, item, ith) for every item in [0, n) on the model's pool, the items taken
 * from a shared counter (sk_pool_run_dynamic: a descheduled worker never holds it up), or
 * on the caller alone when `work` (about the multiply-adds of all items) is too small to
 * be worth waking the pool. ith < the pool size, unique per running thread (per-thread
 * scratch). */
typedef void (*skm_item_fn)(void *ctx, int64_t item, int ith);
void skm_for(sk_model *m, int64_t n, double work, skm_item_fn fn, void *ctx);

/* Embedding lookup of n tokens into x (dequantizing rows of tok_embd). */
int skm_embed(sk_model *m, const int32_t *tokens, int n, float *x, sk_err *e);
/* Final norm + head for the rows wanted; logits and hidden as in sk_model_eval_ex. */
int skm_head(sk_model_ctx *c, int n, float *logits, bool all_rows, float *hidden, sk_err *e);

#endif
