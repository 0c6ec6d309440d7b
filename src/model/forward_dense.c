/* forward_dense.c — the dense R1-Distill families, qwen2 and llama (spec §2.2–2.3), for a
 * chunk of T tokens at positions p0..p0+T-1, top to bottom:
 *
 *   x = embed(tokens)                                              [T][E]
 *   for each layer:
 *     xn = rmsnorm(x, attn_norm)
 *     q = Wq xn (+bq) [T][H][D];  k = Wk xn (+bk), v = Wv xn (+bv)  [T][KV][D]
 *     rope(q), rope(k) at p0+t   (qwen2 and HF llama: pairs (i, i+D/2); GGUF llama:
 *                                  adjacent pairs, its q/k rows being permuted)
 *     cache ← (k, v) at p0+t
 *     head h attends with KV head h / (H/KV): softmax(q·K/sqrt(D)) V   [T][H][D]
 *     x += Wo att
 *     x += down(silu(gate xn2) * up xn2),  xn2 = rmsnorm(x, ffn_norm)
 *   logits = output · rmsnorm(x, output_norm)   (output = token_embd when tied)
 */
#include "model_internal.h"

#include <string.h>

typedef struct dattn_task {
    sk_model_ctx *c;
    int T, p0;
    const float *K, *V; /* [p0+T][KV*D] */
    int64_t hg;         /* query heads per item (c->attn_hg) */
} dattn_task;

/* item = (t*KV + kh)*G + g: up to hg query heads of KV head kh (G groups per KV head), which
 * stream the cached K and V rows of kh once (SKM_ATTN_POS rows at a time, used by every head
 * while in L1/L2). A score depends only on its query and key, so the batched and one-token
 * paths agree bit for bit. */
static void dattn_item(void *arg, int64_t it, int ith) {
    dattn_task *tk = arg;
    sk_model_ctx *c = tk->c;
    const sk_model_config *cfg = &c->m->w.cfg;
    const int64_t H = cfg->n_head, KV = cfg->n_head_kv, D = cfg->head_dim, group = H / KV;
    const int64_t G = (group + tk->hg - 1) / tk->hg;
    const float scale = c->m->attn_scale;
    float *sc = c->tscratch + (size_t)ith * c->tstride; /* [nh][n] */
    const int t = (int)(it / (KV * G)), n = tk->p0 + t + 1;
    const int64_t kh = it / G % KV, g0 = (it % G) * tk->hg;
    const int64_t h0 = kh * group + g0, nh = group - g0 < tk->hg ? group - g0 : tk->hg;
    const size_t ld = (size_t)(KV * D);
    const float *K = tk->K + kh * D, *V = tk->V + kh * D;
    for (int s0 = 0; s0 < n; s0 += SKM_ATTN_POS) {
        const int nb = n - s0 < SKM_ATTN_POS ? n - s0 : SKM_ATTN_POS;
        for (int64_t j = 0; j < nh; j++) {
            float *o = sc + j * n + s0;
            sk_attn_dots(c->q + (t * H + h0 + j) * D, K + (size_t)s0 * ld, ld, nb, D, o);
            for (int s = 0; s < nb; s++) o[s] *= scale;
        }
    }
    for (int64_t j = 0; j < nh; j++) {
        sk_softmax(sc + j * n, n);
        memset(c->att + (t * H + h0 + j) * D, 0, (size_t)D * sizeof(float));
    }
    for (int s0 = 0; s0 < n; s0 += SKM_ATTN_POS) {
        const int nb = n - s0 < SKM_ATTN_POS ? n - s0 : SKM_ATTN_POS;
        for (int64_t j = 0; j < nh; j++)
            sk_attn_mix(c->att + (t * H + h0 + j) * D, V + (size_t)s0 * ld, ld, sc + j * n + s0, nb,
                        D);
    }
}

static void add_bias(float *y, const sk_tensor *b, int T, int64_t n) {
    if (!sk_tensor_present(b)) return;
    for (int t = 0; t < T; t++) sk_vec_add(y + t * n, y + t * n, b->data, n);
}

int skm_forward_dense(sk_model_ctx *c, const int32_t *tokens, int T, float *logits, bool all_rows,
                      float *hidden, sk_err *e) {
    sk_model *m = c->m;
    const sk_model_config *cfg = &m->w.cfg;
    const int64_t E = cfg->n_embd, H = cfg->n_head, KV = cfg->n_head_kv, D = cfg->head_dim;
    const int64_t nkv = KV * D;
    const int p0 = c->n_pos;
    int rc = skm_embed(m, tokens, T, c->x, e);
    if (rc) return rc;
    for (int l = 0; l < cfg->n_layer; l++) {
        const sk_layer_weights *y = &m->w.layers[l];
        for (int t = 0; t < T; t++)
            sk_rmsnorm(c->xn + t * E, c->x + t * E, y->attn_norm.data, E, cfg->rms_eps);
        sk_mv_op qkv[3] = {{&y->q, c->xn, c->q}, {&y->k, c->xn, c->kva}, {&y->v, c->xn, c->vv}};
        if ((rc = skm_matmul_multi(m, qkv, 3, T, e))) goto fail;
        add_bias(c->q, &y->q_bias, T, H * D);
        add_bias(c->kva, &y->k_bias, T, nkv);
        add_bias(c->vv, &y->v_bias, T, nkv);
        uint8_t *ca = c->cache + (size_t)l * c->layer_bytes;
        uint8_t *cb = ca + (size_t)c->n_ctx * c->fa.row_bytes;
        for (int t = 0; t < T; t++) {
            float pos = (float)(p0 + t);
            sk_rope(c->q + t * H * D, H, D, (int)D, pos, m->rope_freqs, m->rope_mode);
            sk_rope(c->kva + t * nkv, KV, D, (int)D, pos, m->rope_freqs, m->rope_mode);
            skm_row_encode(c->fa.type, c->kva + t * nkv, (int)nkv,
                           ca + (size_t)(p0 + t) * c->fa.row_bytes);
            skm_row_encode(c->fb.type, c->vv + t * nkv, (int)nkv,
                           cb + (size_t)(p0 + t) * c->fb.row_bytes);
        }
        const int n_all = p0 + T;
        const float *K = (const float *)ca, *V = (const float *)cb;
        if (c->fa.type != SK_CACHE_F32) {
            for (int s = 0; s < n_all; s++) {
                skm_row_decode(c->fa.type, ca + (size_t)s * c->fa.row_bytes, (int)nkv,
                               c->ka + (size_t)s * nkv);
                skm_row_decode(c->fb.type, cb + (size_t)s * c->fb.row_bytes, (int)nkv,
                               c->kb + (size_t)s * nkv);
            }
            K = c->ka;
            V = c->kb;
        }
        /* GQA: the KV heads already give the threads items; else each one's heads are split
         * (c->attn_hg, chosen with the scratch) */
        dattn_task at = {.c = c, .T = T, .p0 = p0, .K = K, .V = V, .hg = c->attn_hg};
        const int64_t groups = (H / KV + at.hg - 1) / at.hg;
        skm_for(m, (int64_t)T * KV * groups, 2.0 * (double)T * (double)H * (p0 + T) * (double)D,
                dattn_item, &at);
        if ((rc = skm_matmul(m, &y->o, c->att, T, c->xn, e))) goto fail;
        for (int t = 0; t < T; t++) {
            sk_vec_add(c->x + t * E, c->x + t * E, c->xn + t * E, E);
            sk_rmsnorm(c->xn + t * E, c->x + t * E, y->ffn_norm.data, E, cfg->rms_eps);
        }
        sk_mv_op gu[2] = {{&y->ffn_gate, c->xn, c->ffn_g}, {&y->ffn_up, c->xn, c->ffn_u}};
        if ((rc = skm_matmul_multi(m, gu, 2, T, e))) goto fail;
        sk_swiglu(c->ffn_g, c->ffn_g, c->ffn_u, (int64_t)T * cfg->n_ff);
        if ((rc = skm_matmul(m, &y->ffn_down, c->ffn_g, T, c->vtmp, e))) goto fail;
        for (int t = 0; t < T; t++) sk_vec_add(c->x + t * E, c->x + t * E, c->vtmp + t * E, E);
    }
    return skm_head(c, T, logits, all_rows, hidden, e);
fail:
    return rc;
}
