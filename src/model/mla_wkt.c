/* mla_wkt.c — the absorbed MLA query qlat[t][h] = Wk[h]ᵀ q_nope[t][h] for files that hold
 * only attn_kv_b (the "legacy" GGUF layout and Hugging Face checkpoints).
 *
 * Wk[h] is `nope` rows of kv_b (rows h*(nope+v) + [0, nope)), each kv_lora (R) values, so
 * qlat needs the transpose. Computing it from kv_b per token dequantizes those rows every
 * time (measured: 10–16% of decode time on V2-Lite shapes). Instead sk_model_open builds, once,
 * Wk[h]ᵀ for every head as R rows of nope F16 values (layout [layer][h][R][nope]), multiplied
 * as F16 weights (skm_wkt_view): a decode step is one pool dispatch per layer over all heads,
 * T < H tokens one per token, longer chunks one per head. Size: n_layers·H·R·nope·2 bytes
 * (V2-Lite 54 MB, DeepSeek-V3 1.0 GB); F16 keeps the dequantized kv_b values to 11 bits
 * (≤ 2⁻¹¹ relative), well inside the quantization error of kv_b itself.
 *
 * Not built in exact_f32 mode (then the reference path, qlat_worker on kv_b rows, is used),
 * nor when the file has attn_k_b (the forward pass uses that directly). */
#include "model_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- build ---- */

typedef struct build_task {
    sk_model *m;
    int layer;
    sk_fp16 *dst; /* [H][R][nope] */
    int rc;
} build_task;

static void build_worker(void *arg, int ith, int nth) {
    build_task *t = arg;
    const sk_model_config *c = &t->m->w.cfg;
    const sk_tensor *kvb = &t->m->w.layers[t->layer].kv_b;
    const int64_t H = c->n_head, R = c->kv_lora_rank, nope = c->qk_nope_dim, vd = c->v_head_dim;
    float *row = malloc((size_t)R * sizeof(float));
    if (!row) {
        __atomic_store_n(&t->rc, SK_ERR_NOMEM, __ATOMIC_RELAXED);
        return;
    }
    for (int64_t h = ith; h < H; h += nth) {
        sk_fp16 *d = t->dst + h * R * nope;
        for (int64_t j = 0; j < nope; j++) {
            sk_err e = {0};
            if (sk_tensor_dequant_row(kvb, h * (nope + vd) + j, row, &e)) {
                __atomic_store_n(&t->rc, SK_ERR_FORMAT, __ATOMIC_RELAXED);
                free(row);
                return;
            }
            for (int64_t r = 0; r < R; r++) d[r * nope + j] = sk_f32_to_fp16(row[r]);
        }
    }
    free(row);
}

static bool wants_wkt(const sk_model *m, const sk_layer_weights *y) {
    return sk_tensor_present(&y->kv_b) && !sk_tensor_present(&y->k_b) && !m->opts.exact_f32;
}

int skm_wkt_build(sk_model *m, sk_err *e) {
    const sk_model_config *c = &m->w.cfg;
    if (c->arch != SK_ARCH_DEEPSEEK2 || m->opts.exact_f32) return SK_OK;
    const int L = c->n_layer + c->n_mtp;
    size_t per = 0;
    if (!sk_mul_ok((size_t)c->n_head, (size_t)c->kv_lora_rank, &per) ||
        !sk_mul_ok(per, (size_t)c->qk_nope_dim, &per))
        return sk_err_set(e, SK_ERR_RANGE, "MLA: kv_b transpose size overflows");
    int n = 0;
    for (int l = 0; l < L; l++) n += wants_wkt(m, &m->w.layers[l]);
    if (!n) return SK_OK;
    m->wkt = sk_calloc((size_t)L, sizeof *m->wkt, e);
    m->wkt_data = sk_calloc(per, (size_t)n * sizeof(sk_fp16), e);
    if (!m->wkt || !m->wkt_data) return SK_ERR_NOMEM;
    m->wkt_bytes = per * (size_t)n * sizeof(sk_fp16);
    size_t at = 0;
    for (int l = 0; l < L; l++) {
        if (!wants_wkt(m, &m->w.layers[l])) continue;
        build_task t = {.m = m, .layer = l, .dst = m->wkt_data + at};
        sk_pool_run(sk_kctx_pool(m->k), build_worker, &t);
        if (t.rc) return sk_err_set(e, t.rc, "layer %d: cannot decode attn_kv_b rows", l);
        m->wkt[l] = t.dst;
        at += per;
    }
    return SK_OK;
}

/* ---- use ---- */

bool skm_wkt_view(const sk_model *m, int layer, int h, sk_tensor *out) {
    if (!m->wkt || !m->wkt[layer]) return false;
    const sk_model_config *cfg = &m->w.cfg;
    const int64_t R = cfg->kv_lora_rank, nope = cfg->qk_nope_dim;
    memset(out, 0, sizeof *out);
    out->type = SK_TYPE_F16;
    out->n_dims = 2;
    out->ne[0] = nope;
    out->ne[1] = R;
    out->ne[2] = out->ne[3] = 1;
    out->data = m->wkt[layer] + (size_t)h * (size_t)(R * nope);
    out->nbytes = (size_t)(R * nope) * sizeof(sk_fp16);
    return true;
}

size_t sk_model_mla_wkt_bytes(const sk_model *m, int layer) {
    const sk_model_config *c = &m->w.cfg;
    if (!m->wkt || layer < 0 || layer >= c->n_layer + c->n_mtp || !m->wkt[layer]) return 0;
    return (size_t)c->n_head * (size_t)c->kv_lora_rank * (size_t)c->qk_nope_dim * sizeof(sk_fp16);
}
