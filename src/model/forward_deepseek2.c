/* forward_deepseek2.c — DeepSeek-V2/V2-Lite/V3/R1 forward pass for a chunk of T tokens at
 * positions p0..p0+T-1 (p0 = tokens already cached), top to bottom (spec §1.5–1.10):
 *
 *   x = embed(tokens)                                           [T][E]
 *   for each layer:
 *     xn = rmsnorm(x, attn_norm)
 *     q  = q_b · rmsnorm(q_a · xn, q_a_norm)   (or q · xn)      [T][H][nope+rope]
 *     kva = kv_a · xn;  c = rmsnorm(kva[:R], kv_a_norm); kr = rope(kva[R:])
 *     cache ← (c, kr) at p0+t                                   per token: R + rope values
 *     absorbed MLA:  qlat[h] = Wk[h]ᵀ q_nope[h]                  [T][H][R]
 *                    s_t = scale·(qlat·c_t + rope(q_rope)·kr_t), causal softmax
 *                    olat[h] = Σ p_t c_t                         [H][T][R]
 *                    att[h] = Wv[h] olat[h]                      [T][H][v]
 *     x += o · att
 *     xn = rmsnorm(x, ffn_norm)
 *     x += dense SwiGLU(xn)  or  MoE(xn) = shared(xn) + Σ_k w_k expert_k(xn)
 *   logits = output · rmsnorm(x, output_norm)
 *
 * Wk[h] / Wv[h] come from attn_kv_b (rows h*(nope+v) + [0,nope) and + [nope, nope+v)),
 * or from attn_k_b / attn_v_b (2-D ik_llama.cpp or 3-D mainline layout, which hold Wk[h]ᵀ
 * and Wv[h] directly). */
#include "model_internal.h"

#include <math.h>
#include <string.h>

/* ---- routing ---- */

void skm_route(const sk_model_config *c, const float *logits, const float *bias, int32_t *sel,
               float *w, float *scratch) {
    const int NR = c->n_routed, K = c->n_active;
    float *s = scratch;          /* [NR] unbiased scores (weights) */
    float *choice = s + NR;      /* [NR] selection scores */
    float *gscore = choice + NR; /* [n_group] */
    memcpy(s, logits, (size_t)NR * sizeof(float));
    if (c->gating == SK_GATING_SIGMOID) {
        for (int i = 0; i < NR; i++) s[i] = 1.0f / (1.0f + expf(-s[i]));
    } else {
        float mx = s[0];
        for (int i = 1; i < NR; i++) mx = s[i] > mx ? s[i] : mx;
        double sum = 0;
        for (int i = 0; i < NR; i++) sum += (s[i] = expf(s[i] - mx));
        for (int i = 0; i < NR; i++) s[i] = (float)(s[i] / sum);
    }
    for (int i = 0; i < NR; i++) choice[i] = bias ? s[i] + bias[i] : s[i];
    if (c->n_group > 1 && c->topk_group < c->n_group) {
        /* group-limited routing (official rule): group score = sum of the two largest biased
         * scores with a bias, the largest score without; keep the topk_group best groups */
        const int G = c->n_group, per = NR / G;
        for (int g = 0; g < G; g++) {
            const float *v = choice + g * per;
            float a = -INFINITY, b = -INFINITY;
            for (int i = 0; i < per; i++) {
                if (v[i] > a) {
                    b = a;
                    a = v[i];
                } else if (v[i] > b) {
                    b = v[i];
                }
            }
            gscore[g] = bias ? a + b : a;
        }
        int32_t kp[64]; /* sk_model_config_validate bounds n_group by 64 */
        sk_topk(gscore, G, c->topk_group, kp);
        for (int g = 0; g < G; g++) {
            bool kept = false;
            for (int j = 0; j < c->topk_group; j++) kept |= kp[j] == g;
            if (!kept)
                for (int i = 0; i < per; i++) choice[g * per + i] = -INFINITY;
        }
    }
    sk_topk(choice, NR, K, sel);
    double sum = 0;
    for (int k = 0; k < K; k++) sum += (w[k] = s[sel[k]]);
    for (int k = 0; k < K; k++) {
        float v = w[k];
        if (c->norm_topk && sum > 0) v = (float)(v / sum);
        w[k] = v * c->routed_scale;
    }
}

/* ---- helpers ---- */

static void rmsnorm_rows(float *y, const float *x, int64_t stride_y, int64_t stride_x, int n,
                         int64_t len, const sk_tensor *w, float eps) {
    for (int t = 0; t < n; t++) sk_rmsnorm(y + t * stride_y, x + t * stride_x, w->data, len, eps);
}

/* att[t][h] = Wv[h] olat[h][t]: Wv[h] is `v` rows of kv_lora values. attn_kv_b is preferred
 * when present: the reference semantics are kv_b's, and in a quantized file attn_k_b/attn_v_b
 * are separately rounded copies (attn_k_b even along the other axis). */
static int wv_apply(sk_model *m, const sk_layer_weights *y, int h, const float *X, int T, float *Y,
                    sk_err *e) {
    const sk_model_config *c = &m->w.cfg;
    const int64_t nope = c->qk_nope_dim, vd = c->v_head_dim;
    if (!sk_tensor_present(&y->kv_b)) {
        sk_tensor v = y->v_b.n_dims == 3 || y->v_b.ne[2] > 1 ? sk_tensor_slice3(&y->v_b, h)
                                                             : sk_tensor_rows(&y->v_b, h * vd, vd);
        return skm_matmul(m, &v, X, T, Y, e);
    }
    return skm_matmul_rows(m, &y->kv_b, h * (nope + vd) + nope, vd, X, T, Y, e);
}

/* All heads' att[t][h] = Wv[h] olat[h][t] in one dispatch; *done = false when this layout
 * cannot (an FP8 kv_b with head rows off its 128-row scale blocks, too many heads, or
 * v_head_dim > kv_lora for T > 1): the caller then goes head by head. T > 1 writes
 * [H][T][v] into qlat (free once the scores are done) and scatters it into att. */
static int wv_all(sk_model_ctx *c, const sk_layer_weights *y, int T, bool *done, sk_err *e) {
    sk_model *m = c->m;
    const sk_model_config *cfg = &m->w.cfg;
    const int64_t H = cfg->n_head, R = cfg->kv_lora_rank, nope = cfg->qk_nope_dim,
                  vd = cfg->v_head_dim;
    *done = false;
    if (H > SKM_MAX_HEADS || (T > 1 && vd > R)) return SK_OK;
    const bool kvb = sk_tensor_present(&y->kv_b);
    if (kvb && y->kv_b.type == SK_TYPE_F8_E4M3 && (nope % 128 || vd % 128)) return SK_OK;
    sk_tensor views[SKM_MAX_HEADS];
    sk_mv_op ops[SKM_MAX_HEADS];
    for (int64_t h = 0; h < H; h++) {
        if (kvb)
            views[h] = sk_tensor_rows(&y->kv_b, h * (nope + vd) + nope, vd);
        else
            views[h] = y->v_b.n_dims == 3 || y->v_b.ne[2] > 1 ? sk_tensor_slice3(&y->v_b, h)
                                                              : sk_tensor_rows(&y->v_b, h * vd, vd);
        float *out = T == 1 ? c->att + h * vd : c->qlat + h * T * vd;
        ops[h] = (sk_mv_op){&views[h], c->olat + h * T * R, out};
    }
    int rc = skm_matmul_multi(m, ops, (int)H, T, e);
    if (rc) return rc;
    if (T > 1)
        for (int64_t h = 0; h < H; h++)
            for (int t = 0; t < T; t++)
                memcpy(c->att + (t * H + h) * vd, c->qlat + (h * T + t) * vd,
                       (size_t)vd * sizeof(float));
    *done = true;
    return SK_OK;
}

/* Wk[h]ᵀ as a view of kv_lora rows of nope values, from attn_k_b, or false: then qlat comes
 * from the k rows of kv_b (qlat_worker, f32 math on dequantized rows). attn_k_b is used when
 * kv_b is absent, and for speed when both exist, except in exact_f32 mode: in a quantized
 * file attn_k_b is a separately rounded transpose, and the reference semantics are kv_b's. */
static bool wkt_view(const sk_model *m, const sk_layer_weights *y, int layer, int h,
                     sk_tensor *out) {
    if (skm_wkt_view(m, layer, h, out)) return true; /* the F16 transpose of kv_b's k rows */
    if (!sk_tensor_present(&y->k_b)) return false;
    if (sk_tensor_present(&y->kv_b) && m->opts.exact_f32) return false;
    const int64_t R = m->w.cfg.kv_lora_rank;
    *out = y->k_b.n_dims == 3 || y->k_b.ne[2] > 1 ? sk_tensor_slice3(&y->k_b, h)
                                                  : sk_tensor_rows(&y->k_b, h * R, R);
    return true;
}

/* qlat[t][h] = Wk[h]ᵀ q_nope[t][h] from the k rows of kv_b: per head, every row j of Wk[h]
 * (R values) is added scaled by q_nope[t][h][j]. Threads split the heads. */
typedef struct qlat_task {
    sk_model_ctx *c;
    const sk_layer_weights *y;
    int T;
    int rc;
} qlat_task;

/* item = head */
static void qlat_item(void *arg, int64_t h, int ith) {
    qlat_task *tk = arg;
    sk_model_ctx *c = tk->c;
    const sk_model_config *cfg = &c->m->w.cfg;
    const int64_t H = cfg->n_head, R = cfg->kv_lora_rank, nope = cfg->qk_nope_dim,
                  vd = cfg->v_head_dim, qk = nope + cfg->qk_rope_dim;
    float *row = c->tscratch + (size_t)ith * c->tstride;
    for (int t = 0; t < tk->T; t++) memset(c->qlat + (t * H + h) * R, 0, (size_t)R * sizeof(float));
    for (int64_t j = 0; j < nope; j++) {
        sk_err e = {0};
        if (sk_tensor_dequant_row(&tk->y->kv_b, h * (nope + vd) + j, row, &e)) {
            __atomic_store_n(&tk->rc, SK_ERR_FORMAT, __ATOMIC_RELAXED);
            return;
        }
        for (int t = 0; t < tk->T; t++)
            sk_vec_mad(c->qlat + (t * H + h) * R, row, c->q[(t * H + h) * qk + j], R);
    }
}

/* Scores, softmax and latent output for every (token, head). */
typedef struct attn_task {
    sk_model_ctx *c;
    int T, p0;
    const float *ka, *kb; /* [p0+T][R], [p0+T][rope] */
    int64_t hg;           /* heads per item (c->attn_hg) */
} attn_task;

/* item = t*G + g for G = ceil(H / hg) groups of hg heads. The group reads the cached latent
 * rows once, SKM_ATTN_POS rows at a time: while a block is in L1, every head of the group takes
 * its scores, folds them into an online softmax (running maximum and sum, the output so far
 * rescaled when the maximum grows) and adds the block's rows weighted into its output, which
 * is divided by the sum at the end. A head's result depends only on its query and the cache
 * (not on the grouping or the thread), so the batched and one-token paths agree bit for bit. */
static void attn_item(void *arg, int64_t it, int ith) {
    attn_task *tk = arg;
    sk_model_ctx *c = tk->c;
    const sk_model_config *cfg = &c->m->w.cfg;
    const int64_t H = cfg->n_head, R = cfg->kv_lora_rank, rope = cfg->qk_rope_dim,
                  qk = cfg->qk_nope_dim + rope, G = (H + tk->hg - 1) / tk->hg;
    const float scale = c->m->attn_scale;
    const int t = (int)(it / G), n = tk->p0 + t + 1;
    const int64_t h0 = (it % G) * tk->hg, nh = H - h0 < tk->hg ? H - h0 : tk->hg;
    float *blk = c->tscratch + (size_t)ith * c->tstride; /* [nh][SKM_ATTN_POS] */
    float *mx = blk + nh * SKM_ATTN_POS, *sum = mx + nh, *tmp = sum + nh;
    for (int64_t j = 0; j < nh; j++) {
        mx[j] = -INFINITY;
        sum[j] = 0.0f;
        memset(c->olat + ((h0 + j) * tk->T + t) * R, 0, (size_t)R * sizeof(float));
    }
    for (int s0 = 0; s0 < n; s0 += SKM_ATTN_POS) {
        const int nb = n - s0 < SKM_ATTN_POS ? n - s0 : SKM_ATTN_POS;
        const float *ka = tk->ka + (size_t)s0 * R;
        for (int64_t j = 0; j < nh; j++) {
            const float *ql = c->qlat + (t * H + h0 + j) * R;
            const float *qr = c->q + (t * H + h0 + j) * qk + cfg->qk_nope_dim;
            float *p = blk + j * SKM_ATTN_POS, *o = c->olat + ((h0 + j) * tk->T + t) * R;
            sk_attn_dots(ql, ka, (size_t)R, nb, R, p);
            sk_attn_dots(qr, tk->kb + (size_t)s0 * rope, (size_t)rope, nb, rope, tmp);
            for (int s = 0; s < nb; s++) p[s] = scale * (p[s] + tmp[s]);
            float r = sk_softmax_online(p, nb, &mx[j], &sum[j]);
            if (r != 1.0f) sk_vec_scale(o, r, R);
            sk_attn_mix(o, ka, (size_t)R, p, nb, R);
        }
    }
    for (int64_t j = 0; j < nh; j++)
        sk_vec_scale(c->olat + ((h0 + j) * tk->T + t) * R, 1.0f / sum[j], R);
}

/* Expanded ("naive") MLA for one head: k_nope/v of every cached position decompressed from
 * the latents, then ordinary attention with k = [k_nope; k_rope]. */
typedef struct xattn_task {
    sk_model_ctx *c;
    int T, p0;
    int64_t h;
    const float *kb;
} xattn_task;

/* item = token */
static void xattn_item(void *arg, int64_t ti, int ith) {
    xattn_task *tk = arg;
    sk_model_ctx *c = tk->c;
    const sk_model_config *cfg = &c->m->w.cfg;
    const int64_t H = cfg->n_head, rope = cfg->qk_rope_dim, nope = cfg->qk_nope_dim,
                  qk = nope + rope, vd = cfg->v_head_dim, h = tk->h;
    const float scale = c->m->attn_scale;
    float *sc = c->tscratch + (size_t)ith * c->tstride;
    const int t = (int)ti;
    const float *qn = c->q + (t * H + h) * qk, *qr = qn + nope;
    int n = tk->p0 + t + 1;
    for (int s = 0; s < n; s++)
        sc[s] = scale * (sk_vec_dot_f32(qn, c->knope + (size_t)s * nope, nope) +
                         sk_vec_dot_f32(qr, tk->kb + (size_t)s * rope, rope));
    sk_softmax(sc, n);
    float *o = c->att + (t * H + h) * vd;
    memset(o, 0, (size_t)vd * sizeof(float));
    for (int s = 0; s < n; s++) sk_vec_mad(o, c->vexp + (size_t)s * vd, sc[s], vd);
}

static bool use_expanded(const sk_model_ctx *c, const sk_layer_weights *y, int p0_, int T) {
    if (T < 2 || c->mla_mode == SK_MLA_ABSORBED || !sk_tensor_present(&y->kv_b)) return false;
    if (c->mla_mode == SK_MLA_EXPANDED) return true;
    const sk_model_config *cfg = &c->m->w.cfg;
    const double R = cfg->kv_lora_rank, rope = cfg->qk_rope_dim, nope = cfg->qk_nope_dim,
                 vd = cfg->v_head_dim, p0 = p0_, n_all = p0 + T;
    const double pairs = T * p0 + (double)T * (T + 1) / 2; /* (query, key) pairs */
    double absorbed = T * (nope + vd) * R + pairs * (2 * R + rope);
    double expanded = n_all * (nope + vd) * R + pairs * (nope + rope + vd);
    return expanded < absorbed;
}

static int attention(sk_model_ctx *c, const sk_layer_weights *y, int layer, int p0, int T,
                     sk_err *e) {
    sk_model *m = c->m;
    const sk_model_config *cfg = &m->w.cfg;
    const int64_t E = cfg->n_embd, H = cfg->n_head, R = cfg->kv_lora_rank, rope = cfg->qk_rope_dim,
                  nope = cfg->qk_nope_dim, qk = nope + rope, vd = cfg->v_head_dim;
    int rc;
    /* queries [T][H][qk] (through q_a when present), latent + rope key [T][R+rope]: the
     * products of xn in one dispatch */
    const bool lora = sk_tensor_present(&y->q_a);
    sk_mv_op in[2] = {{lora ? &y->q_a : &y->q, c->xn, lora ? c->qa : c->q},
                      {&y->kv_a, c->xn, c->kva}};
    if ((rc = skm_matmul_multi(m, in, 2, T, e))) return rc;
    if (lora) {
        rmsnorm_rows(c->qa, c->qa, cfg->q_lora_rank, cfg->q_lora_rank, T, cfg->q_lora_rank,
                     &y->q_a_norm, cfg->rms_eps);
        if ((rc = skm_matmul(m, &y->q_b, c->qa, T, c->q, e))) return rc;
    }
    uint8_t *lc = c->cache + (size_t)layer * c->layer_bytes;
    uint8_t *ca = lc, *cb = lc + (size_t)c->n_ctx * c->fa.row_bytes;
    for (int t = 0; t < T; t++) {
        float *kv = c->kva + t * (R + rope);
        sk_rmsnorm(kv, kv, y->kv_a_norm.data, R, cfg->rms_eps);
        sk_rope(kv + R, 1, rope, (int)rope, (float)(p0 + t), m->rope_freqs, m->rope_mode);
        sk_rope(c->q + t * H * qk + nope, H, qk, (int)rope, (float)(p0 + t), m->rope_freqs,
                m->rope_mode);
        skm_row_encode(c->fa.type, kv, (int)R, ca + (size_t)(p0 + t) * c->fa.row_bytes);
        skm_row_encode(c->fb.type, kv + R, (int)rope, cb + (size_t)(p0 + t) * c->fb.row_bytes);
    }
    /* cached rows as f32 */
    const int n_all = p0 + T;
    const float *ka = (const float *)ca, *kb = (const float *)cb;
    if (c->fa.type != SK_CACHE_F32) {
        for (int s = 0; s < n_all; s++)
            skm_row_decode(c->fa.type, ca + (size_t)s * c->fa.row_bytes, (int)R,
                           c->ka + (size_t)s * R);
        ka = c->ka;
    }
    if (c->fb.type != SK_CACHE_F32) {
        for (int s = 0; s < n_all; s++)
            skm_row_decode(c->fb.type, cb + (size_t)s * c->fb.row_bytes, (int)rope,
                           c->kb + (size_t)s * rope);
        kb = c->kb;
    }
    if (use_expanded(c, y, p0, T)) {
        if (!c->knope) {
            c->knope = sk_calloc((size_t)c->n_ctx * (size_t)nope, sizeof(float), e);
            c->vexp = sk_calloc((size_t)c->n_ctx * (size_t)vd, sizeof(float), e);
            if (!c->knope || !c->vexp) return SK_ERR_NOMEM;
        }
        for (int64_t h = 0; h < H; h++) {
            if ((rc = skm_matmul_rows(m, &y->kv_b, h * (nope + vd), nope, ka, n_all, c->knope, e)))
                return rc;
            if ((rc = wv_apply(m, y, (int)h, ka, n_all, c->vexp, e))) return rc;
            xattn_task xt = {.c = c, .T = T, .p0 = p0, .h = h, .kb = kb};
            skm_for(m, T, (double)T * (p0 + T) * (double)(nope + rope + vd), xattn_item, &xt);
        }
        goto out_proj;
    }
    /* absorbed query qlat [T][H][R] */
    sk_tensor wkt;
    if ((T == 1 || T < H) && H <= SKM_MAX_HEADS && wkt_view(m, y, layer, 0, &wkt)) {
        /* one token or a few (the MTP verify step, short chunks): a token's heads have
         * contiguous q_nope inputs, so one dispatch per token takes all heads */
        sk_tensor views[SKM_MAX_HEADS];
        sk_mv_op ops[SKM_MAX_HEADS];
        for (int64_t h = 0; h < H; h++) wkt_view(m, y, layer, (int)h, &views[h]);
        for (int t = 0; t < T; t++) {
            for (int64_t h = 0; h < H; h++)
                ops[h] = (sk_mv_op){&views[h], c->q + (t * H + h) * qk, c->qlat + (t * H + h) * R};
            if ((rc = skm_matmul_multi(m, ops, (int)H, 1, e))) return rc;
        }
    } else if (wkt_view(m, y, layer, 0, &wkt)) {
        for (int64_t h = 0; h < H; h++) {
            wkt_view(m, y, layer, (int)h, &wkt);
            for (int t = 0; t < T; t++)
                memcpy(c->vtmp + t * nope, c->q + (t * H + h) * qk, (size_t)nope * sizeof(float));
            if ((rc = skm_matmul(m, &wkt, c->vtmp, T, c->olat, e))) return rc;
            for (int t = 0; t < T; t++)
                memcpy(c->qlat + (t * H + h) * R, c->olat + t * R, (size_t)R * sizeof(float));
        }
    } else {
        qlat_task qt = {.c = c, .y = y, .T = T};
        skm_for(m, H, (double)H * (double)nope * (double)R * (T + 1), qlat_item, &qt);
        if (qt.rc) return sk_err_set(e, qt.rc, "layer %d: cannot decode attn_kv_b rows", layer);
    }
    attn_task at = {.c = c, .T = T, .p0 = p0, .ka = ka, .kb = kb, .hg = c->attn_hg};
    bool done = false;
    skm_for(m, (int64_t)T * ((H + at.hg - 1) / at.hg),
            (double)T * (double)H * (p0 + T) * (double)(2 * R + rope), attn_item, &at);
    /* per head: att[t][h] = Wv[h] olat[h][t] */
    if ((rc = wv_all(c, y, T, &done, e))) return rc;
    for (int64_t h = 0; h < H && !done; h++) {
        if ((rc = wv_apply(m, y, (int)h, c->olat + h * T * R, T, c->vtmp, e))) return rc;
        for (int t = 0; t < T; t++)
            memcpy(c->att + (t * H + h) * vd, c->vtmp + t * vd, (size_t)vd * sizeof(float));
    }
out_proj:
    /* output projection, residual */
    if ((rc = skm_matmul(m, &y->o, c->att, T, c->xn, e))) return rc;
    for (int t = 0; t < T; t++) sk_vec_add(c->x + t * E, c->x + t * E, c->xn + t * E, E);
    return SK_OK;
}

/* SwiGLU MLP on n rows of X: Y = down(silu(gate X) * up X). */
static int swiglu_mlp(sk_model_ctx *c, const sk_tensor *g, const sk_tensor *u, const sk_tensor *d,
                      const float *X, int n, float *Y, sk_err *e) {
    int rc;
    const int64_t F = g->ne[1];
    sk_mv_op gu[2] = {{g, X, c->ffn_g}, {u, X, c->ffn_u}};
    if ((rc = skm_matmul_multi(c->m, gu, 2, n, e))) return rc;
    sk_swiglu(c->ffn_g, c->ffn_g, c->ffn_u, (int64_t)n * F);
    return skm_matmul(c->m, d, c->ffn_g, n, Y, e);
}

/* MoE of one token in three dispatches: router + shared gate/up; every selected expert's
 * gate/up + shared down; every selected expert's down. The sum runs over the experts in
 * increasing id, as in the batched path (so both give the same bits). *done = false when
 * the scratch does not fit this layer (the caller then takes the general path). */
static int moe_one(sk_model_ctx *c, const sk_layer_weights *y, bool *done, sk_err *e) {
    sk_model *m = c->m;
    const sk_model_config *cfg = &m->w.cfg;
    const int64_t E = cfg->n_embd, FE = cfg->moe_ff;
    const int NR = cfg->n_routed, K = cfg->n_active;
    const bool shared = cfg->n_shared > 0;
    const int64_t FS = shared ? y->shexp_gate.ne[1] : 0;
    *done = false;
    if (!c->eg || K > SKM_MAX_ACTIVE || FS > c->eg_shared) return SK_OK;
    for (int x = 0; x < NR; x++) /* all experts must fit the [K][FE] scratch rows */
        if (y->exp_gate[x].ne[1] > FE || y->exp_up[x].ne[1] > FE) return SK_OK;
    float *gs = c->eg + K * FE, *us = c->eu + K * FE; /* shared expert after the routed ones */
    sk_mv_op ops[2 * SKM_MAX_ACTIVE + 3];
    int n = 0, rc;
    ops[n++] = (sk_mv_op){&y->gate_inp, c->xn, c->router};
    if (shared) {
        ops[n++] = (sk_mv_op){&y->shexp_gate, c->xn, gs};
        ops[n++] = (sk_mv_op){&y->shexp_up, c->xn, us};
    }
    if ((rc = skm_matmul_multi(m, ops, n, 1, e))) return rc;
    const float *bias = sk_tensor_present(&y->exp_bias) ? y->exp_bias.data : NULL;
    skm_route(cfg, c->router, bias, c->sel, c->selw, c->rscratch);
    for (int i = 1; i < K; i++) /* experts in increasing id (insertion sort, K is small) */
        for (int j = i; j > 0 && c->sel[j - 1] > c->sel[j]; j--) {
            int32_t ts = c->sel[j];
            float tw = c->selw[j];
            c->sel[j] = c->sel[j - 1];
            c->selw[j] = c->selw[j - 1];
            c->sel[j - 1] = ts;
            c->selw[j - 1] = tw;
        }
    n = 0;
    for (int k = 0; k < K; k++) {
        ops[n++] = (sk_mv_op){&y->exp_gate[c->sel[k]], c->xn, c->eg + k * FE};
        ops[n++] = (sk_mv_op){&y->exp_up[c->sel[k]], c->xn, c->eu + k * FE};
    }
    if (shared) {
        sk_swiglu(gs, gs, us, FS);
        ops[n++] = (sk_mv_op){&y->shexp_down, gs, c->moe_y};
    } else {
        memset(c->moe_y, 0, (size_t)E * sizeof(float));
    }
    if ((rc = skm_matmul_multi(m, ops, n, 1, e))) return rc;
    n = 0;
    for (int k = 0; k < K; k++) {
        const int64_t F = y->exp_gate[c->sel[k]].ne[1];
        sk_swiglu(c->eg + k * FE, c->eg + k * FE, c->eu + k * FE, F);
        ops[n++] = (sk_mv_op){&y->exp_down[c->sel[k]], c->eg + k * FE, c->ed + k * E};
    }
    if ((rc = skm_matmul_multi(m, ops, n, 1, e))) return rc;
    for (int k = 0; k < K; k++) sk_vec_mad(c->moe_y, c->ed + k * E, c->selw[k], E);
    sk_vec_add(c->x, c->x, c->moe_y, E);
    *done = true;
    return SK_OK;
}

static int moe(sk_model_ctx *c, const sk_layer_weights *y, int T, sk_err *e) {
    sk_model *m = c->m;
    const sk_model_config *cfg = &m->w.cfg;
    const int64_t E = cfg->n_embd;
    const int NR = cfg->n_routed, K = cfg->n_active;
    int rc;
    if (T == 1) {
        bool done;
        if ((rc = moe_one(c, y, &done, e)) || done) return rc;
    }
    if ((rc = skm_matmul(m, &y->gate_inp, c->xn, T, c->router, e))) return rc;
    const float *bias = sk_tensor_present(&y->exp_bias) ? y->exp_bias.data : NULL;
    for (int t = 0; t < T; t++)
        skm_route(cfg, c->router + (size_t)t * NR, bias, c->sel + t * K, c->selw + t * K,
                  c->rscratch);
    /* group the (token, weight) pairs by expert (counting sort) */
    memset(c->cnt, 0, (size_t)(NR + 1) * sizeof(int32_t));
    for (int i = 0; i < T * K; i++) c->cnt[c->sel[i] + 1]++;
    for (int x = 0; x < NR; x++) c->cnt[x + 1] += c->cnt[x];
    for (int i = 0; i < T * K; i++) {
        int x = c->sel[i];
        int at = c->cnt[x]++;
        c->tok_of[at] = i / K;
        c->w_of[at] = c->selw[i];
    }
    for (int x = NR; x > 0; x--) c->cnt[x] = c->cnt[x - 1];
    c->cnt[0] = 0;
    /* shared experts (weight 1) start the sum */
    if (cfg->n_shared > 0) {
        if ((rc = swiglu_mlp(c, &y->shexp_gate, &y->shexp_up, &y->shexp_down, c->xn, T, c->moe_y,
                             e)))
            return rc;
    } else {
        memset(c->moe_y, 0, (size_t)(T * E) * sizeof(float));
    }
    for (int x = 0; x < NR; x++) {
        int a = c->cnt[x], b = c->cnt[x + 1];
        if (a == b) continue;
        for (int i = a; i < b; i++)
            memcpy(c->xg + (i - a) * E, c->xn + c->tok_of[i] * E, (size_t)E * sizeof(float));
        if ((rc = swiglu_mlp(c, &y->exp_gate[x], &y->exp_up[x], &y->exp_down[x], c->xg, b - a,
                             c->yg, e)))
            return rc;
        for (int i = a; i < b; i++)
            sk_vec_mad(c->moe_y + c->tok_of[i] * E, c->yg + (i - a) * E, c->w_of[i], E);
    }
    for (int t = 0; t < T; t++) sk_vec_add(c->x + t * E, c->x + t * E, c->moe_y + t * E, E);
    return SK_OK;
}

/* One decoder block on c->x [T][E] at positions p0..; `layer` picks the weights, the MoE rule
 * and the cache slot (MTP depth k: layer n_layer+k-1, its own slot and positions). */
static int block(sk_model_ctx *c, int layer, int p0, int T, sk_err *e) {
    const sk_model_config *cfg = &c->m->w.cfg;
    const sk_layer_weights *y = &c->m->w.layers[layer];
    const int64_t E = cfg->n_embd;
    int rc;
    rmsnorm_rows(c->xn, c->x, E, E, T, E, &y->attn_norm, cfg->rms_eps);
    if ((rc = attention(c, y, layer, p0, T, e)))
        return sk_err_prefix(e, "layer %d attention", layer);
    rmsnorm_rows(c->xn, c->x, E, E, T, E, &y->ffn_norm, cfg->rms_eps);
    if (sk_model_is_moe_layer(cfg, layer)) {
        rc = moe(c, y, T, e);
    } else {
        rc = swiglu_mlp(c, &y->ffn_gate, &y->ffn_up, &y->ffn_down, c->xn, T, c->vtmp, e);
        if (!rc)
            for (int t = 0; t < T; t++) sk_vec_add(c->x + t * E, c->x + t * E, c->vtmp + t * E, E);
    }
    if (rc) return sk_err_prefix(e, "layer %d ffn", layer);
    return SK_OK;
}

int skm_forward_deepseek2(sk_model_ctx *c, const int32_t *tokens, int T, float *logits,
                          bool all_rows, float *hidden, sk_err *e) {
    sk_model *m = c->m;
    int rc = skm_embed(m, tokens, T, c->x, e);
    if (rc) return rc;
    for (int l = 0; l < m->w.cfg.n_layer; l++)
        if ((rc = block(c, l, c->n_pos, T, e))) return rc;
    return skm_head(c, T, logits, all_rows, hidden, e);
}

/* MTP depth k (spec §1.12, training-conventions §4), for T positions p0..p0+T-1 of its own
 * cache slot (layer n_layer+k-1):
 *   u = eh_proj · [enorm(embed(tok)); hnorm(h)]      (embedding half first)
 *   u = block_{n_layer+k-1}(u)
 *   h' = shared_head.norm(u);  logits = output · h'
 * (the V3 checkpoint's shared_head.head and MTP embed_tokens are copies of lm_head/embed). */
int skm_forward_mtp(sk_model_ctx *c, int k, const int32_t *tokens, const float *h, int T,
                    float *logits, bool all_rows, float *hidden, sk_err *e) {
    sk_model *m = c->m;
    const sk_model_config *cfg = &m->w.cfg;
    const int64_t E = cfg->n_embd;
    const int layer = cfg->n_layer + k - 1;
    const sk_layer_weights *y = &m->w.layers[layer];
    int rc = skm_embed(m, tokens, T, c->x, e);
    if (rc) return rc;
    for (int t = 0; t < T; t++) {
        sk_rmsnorm(c->mtp_cat + t * 2 * E, c->x + t * E, y->enorm.data, E, cfg->rms_eps);
        sk_rmsnorm(c->mtp_cat + t * 2 * E + E, h + t * E, y->hnorm.data, E, cfg->rms_eps);
    }
    if ((rc = skm_matmul(m, &y->eh_proj, c->mtp_cat, T, c->x, e))) return rc;
    if ((rc = block(c, layer, c->mtp_pos[k - 1], T, e))) return rc;
    int first = all_rows ? 0 : T - 1, rows = all_rows ? T : 1;
    for (int i = 0; i < rows; i++)
        sk_rmsnorm(c->xn + i * E, c->x + (first + i) * E, y->head_norm.data, E, cfg->rms_eps);
    if (hidden) memcpy(hidden, c->xn, (size_t)(rows * E) * sizeof(float));
    if (!logits) return SK_OK;
    return skm_matmul(m, &m->w.output, c->xn, rows, logits, e);
}
