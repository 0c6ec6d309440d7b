/* tparams.c — the trainer's parameter table, views, init, safetensors load/save. */
#include "sk_safetensors.h"
#include "train_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TP_ALIGN 16 /* floats: 64-byte aligned tensors */

typedef struct builder {
    sk_tmodel *m;
    int pass; /* 0: count + offsets, 1: views */
    int cap;
    size_t off;
    int idx;
    sk_err *e;
    int rc;
} builder;

static void view_of(sk_tensor *t, const char *name, float *base, const sk_tparam *p) {
    memset(t, 0, sizeof *t);
    t->name = name;
    t->type = SK_TYPE_F32;
    t->n_dims = p->n_dims;
    t->ne[0] = t->ne[1] = t->ne[2] = t->ne[3] = 1;
    if (p->n_dims == 1) {
        t->ne[0] = p->shape[0];
    } else {
        t->ne[0] = p->shape[1];
        t->ne[1] = p->shape[0];
    }
    t->data = base + p->off;
    t->nbytes = p->n * sizeof(float);
}

static void add(builder *b, const char *name, int nd, int64_t d0, int64_t d1, bool decay,
                bool buffer, int layer, sk_tensor *wt, sk_tensor *gt) {
    if (b->rc) return;
    sk_tmodel *m = b->m;
    if (b->pass == 0) {
        if (b->idx == b->cap) {
            int nc = b->cap ? 2 * b->cap : 256;
            sk_tparam *np = realloc(m->tp, sizeof(sk_tparam) * (size_t)nc);
            if (!np) {
                b->rc = sk_err_set(b->e, SK_ERR_NOMEM, "train: out of memory (parameter table)");
                return;
            }
            m->tp = np;
            b->cap = nc;
        }
        sk_tparam *p = &m->tp[b->idx];
        memset(p, 0, sizeof *p);
        p->name = strdup(name);
        if (!p->name) {
            b->rc = sk_err_set(b->e, SK_ERR_NOMEM, "train: out of memory (parameter table)");
            return;
        }
        m->n_tp = b->idx + 1;
        p->n_dims = nd;
        p->shape[0] = d0;
        p->shape[1] = nd == 2 ? d1 : 1;
        size_t n;
        if (!sk_mul_ok((size_t)d0, (size_t)p->shape[1], &n) || n > ((size_t)1 << 40)) {
            b->rc = sk_err_set(b->e, SK_ERR_RANGE, "train: tensor %s is too large", name);
            return;
        }
        p->n = n;
        p->off = b->off;
        size_t adv = (n + TP_ALIGN - 1) / TP_ALIGN * TP_ALIGN;
        if (!sk_add_ok(b->off, adv, &b->off)) {
            b->rc = sk_err_set(b->e, SK_ERR_RANGE, "train: model too large");
            return;
        }
        p->decay = decay;
        p->buffer = buffer;
        p->layer = layer;
    } else {
        const sk_tparam *p = &m->tp[b->idx];
        view_of(wt, p->name, m->params, p);
        view_of(gt, p->name, m->grads, p);
    }
    b->idx++;
}

static void build(builder *b) {
    sk_tmodel *m = b->m;
    const sk_model_config *c = &m->cfg;
    int H = c->n_embd;
    char nm[256];
#define W(f) (&m->w.f)
#define G(f) (&m->g.f)
    add(b, "model.embed_tokens.weight", 2, c->n_vocab, H, true, false, -1, W(tok_embd),
        G(tok_embd));
    for (int l = 0; l < c->n_layer + c->n_mtp; l++) {
        sk_layer_weights *lw = &m->w.layers[l], *lg = &m->g.layers[l];
#define L(field, fmt, nd, d0, d1, decay)                                                           \
    do {                                                                                           \
        snprintf(nm, sizeof nm, "model.layers.%d." fmt, l);                                        \
        add(b, nm, nd, d0, d1, decay, false, l, &lw->field, &lg->field);                           \
    } while (0)
        int qd = c->n_head * (c->qk_nope_dim + c->qk_rope_dim);
        L(attn_norm, "input_layernorm.weight", 1, H, 0, false);
        if (c->q_lora_rank > 0) {
            L(q_a, "self_attn.q_a_proj.weight", 2, c->q_lora_rank, H, true);
            L(q_a_norm, "self_attn.q_a_layernorm.weight", 1, c->q_lora_rank, 0, false);
            L(q_b, "self_attn.q_b_proj.weight", 2, qd, c->q_lora_rank, true);
        } else {
            L(q, "self_attn.q_proj.weight", 2, qd, H, true);
        }
        L(kv_a, "self_attn.kv_a_proj_with_mqa.weight", 2, c->kv_lora_rank + c->qk_rope_dim, H,
          true);
        L(kv_a_norm, "self_attn.kv_a_layernorm.weight", 1, c->kv_lora_rank, 0, false);
        L(kv_b, "self_attn.kv_b_proj.weight", 2, c->n_head * (c->qk_nope_dim + c->v_head_dim),
          c->kv_lora_rank, true);
        L(o, "self_attn.o_proj.weight", 2, H, c->n_head * c->v_head_dim, true);
        L(ffn_norm, "post_attention_layernorm.weight", 1, H, 0, false);
        if (sk_model_is_moe_layer(c, l)) {
            L(gate_inp, "mlp.gate.weight", 2, c->n_routed, H, true);
            if (c->has_exp_bias) {
                snprintf(nm, sizeof nm, "model.layers.%d.mlp.gate.e_score_correction_bias", l);
                add(b, nm, 1, c->n_routed, 0, false, true, l, &lw->exp_bias, &lg->exp_bias);
            }
            for (int x = 0; x < c->n_routed; x++) {
                char f[96];
                snprintf(f, sizeof f, "mlp.experts.%d.gate_proj.weight", x);
                snprintf(nm, sizeof nm, "model.layers.%d.%s", l, f);
                add(b, nm, 2, c->moe_ff, H, true, false, l, &lw->exp_gate[x], &lg->exp_gate[x]);
                snprintf(nm, sizeof nm, "model.layers.%d.mlp.experts.%d.up_proj.weight", l, x);
                add(b, nm, 2, c->moe_ff, H, true, false, l, &lw->exp_up[x], &lg->exp_up[x]);
                snprintf(nm, sizeof nm, "model.layers.%d.mlp.experts.%d.down_proj.weight", l, x);
                add(b, nm, 2, H, c->moe_ff, true, false, l, &lw->exp_down[x], &lg->exp_down[x]);
            }
            if (c->n_shared > 0) {
                int sf = c->n_shared * c->moe_ff;
                L(shexp_gate, "mlp.shared_experts.gate_proj.weight", 2, sf, H, true);
                L(shexp_up, "mlp.shared_experts.up_proj.weight", 2, sf, H, true);
                L(shexp_down, "mlp.shared_experts.down_proj.weight", 2, H, sf, true);
            }
        } else {
            L(ffn_gate, "mlp.gate_proj.weight", 2, c->n_ff, H, true);
            L(ffn_up, "mlp.up_proj.weight", 2, c->n_ff, H, true);
            L(ffn_down, "mlp.down_proj.weight", 2, H, c->n_ff, true);
        }
        if (l >= c->n_layer) {
            L(enorm, "enorm.weight", 1, H, 0, false);
            L(hnorm, "hnorm.weight", 1, H, 0, false);
            L(eh_proj, "eh_proj.weight", 2, H, 2 * H, true);
            L(head_norm, "shared_head.norm.weight", 1, H, 0, false);
        }
#undef L
    }
    add(b, "model.norm.weight", 1, H, 0, false, false, -1, W(output_norm), G(output_norm));
    add(b, "lm_head.weight", 2, c->n_vocab, H, true, false, -1, W(output), G(output));
#undef W
#undef G
}

static void absent(sk_tensor *t) {
    memset(t, 0, sizeof *t);
    t->type = -1;
}

static void absent_layer(sk_layer_weights *l) {
    sk_tensor *ts[] = {&l->attn_norm, &l->q_a,       &l->q_a_norm,   &l->q_b,      &l->q,
                       &l->kv_a,      &l->kv_a_norm, &l->kv_b,       &l->k_b,      &l->v_b,
                       &l->k,         &l->v,         &l->q_bias,     &l->k_bias,   &l->v_bias,
                       &l->o,         &l->ffn_norm,  &l->ffn_gate,   &l->ffn_up,   &l->ffn_down,
                       &l->gate_inp,  &l->exp_bias,  &l->shexp_gate, &l->shexp_up, &l->shexp_down,
                       &l->enorm,     &l->hnorm,     &l->eh_proj,    &l->head_norm};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) absent(ts[i]);
}

static int alloc_layers(sk_model_weights *w, const sk_model_config *c, sk_err *e) {
    int nl = c->n_layer + c->n_mtp;
    w->cfg = *c;
    absent(&w->tok_embd);
    absent(&w->output_norm);
    absent(&w->output);
    absent(&w->rope_freqs);
    w->layers = sk_calloc((size_t)nl, sizeof(sk_layer_weights), e);
    if (!w->layers) return SK_ERR_NOMEM;
    for (int l = 0; l < nl; l++) {
        absent_layer(&w->layers[l]);
        if (sk_model_is_moe_layer(c, l)) {
            w->layers[l].exp_gate = sk_calloc((size_t)c->n_routed, sizeof(sk_tensor), e);
            w->layers[l].exp_up = sk_calloc((size_t)c->n_routed, sizeof(sk_tensor), e);
            w->layers[l].exp_down = sk_calloc((size_t)c->n_routed, sizeof(sk_tensor), e);
            if (!w->layers[l].exp_gate || !w->layers[l].exp_up || !w->layers[l].exp_down)
                return SK_ERR_NOMEM;
        }
    }
    return SK_OK;
}

int sk_tmodel_new(const sk_model_config *cfg, sk_tmodel **out, sk_err *e) {
    *out = NULL;
    int rc;
    if (cfg->arch != SK_ARCH_DEEPSEEK2)
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "train: only DeepSeek-V2/V3 architectures (deepseek2) can be trained");
    if ((rc = sk_model_config_validate(cfg, e))) return sk_err_prefix(e, "train");
    if (cfg->n_routed > 1024 || cfg->n_group > 256 || cfg->qk_rope_dim > 1024 ||
        cfg->n_mtp > SK_TRAIN_MAX_MTP || cfg->qk_rope_dim % 2 != 0)
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "train: config outside the trainer's limits (n_routed_experts <= 1024, "
                          "n_group <= 256, even qk_rope_head_dim <= 1024, MTP depth <= %d)",
                          SK_TRAIN_MAX_MTP);
    if (cfg->n_routed > 0 && cfg->n_group > 1 && cfg->has_exp_bias &&
        cfg->n_routed / cfg->n_group < 2)
        return sk_err_set(e, SK_ERR_INVALID, "train: groups need >= 2 experts each");
    sk_tmodel *m = calloc(1, sizeof *m);
    if (!m) return sk_err_set(e, SK_ERR_NOMEM, "train: out of memory");
    m->cfg = *cfg;
    if ((rc = alloc_layers(&m->w, cfg, e)) || (rc = alloc_layers(&m->g, cfg, e))) goto fail;
    builder b = {.m = m, .pass = 0, .e = e};
    build(&b);
    if ((rc = b.rc)) goto fail;
    m->n_floats = b.off;
    size_t bytes;
    if (!sk_mul_ok(m->n_floats, sizeof(float), &bytes)) {
        rc = sk_err_set(e, SK_ERR_RANGE, "train: model too large");
        goto fail;
    }
    {
        /* refuse up front what cannot fit: zeroing an over-committed allocation would end in
         * the OOM killer instead of an error */
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        double phys = pages > 0 && psz > 0 ? (double)pages * (double)psz : 0;
        if (phys > 0 && 2.0 * (double)bytes > phys) {
            rc = sk_err_set(e, SK_ERR_NOMEM,
                            "train: %lld parameters need %.1f GB for float32 weights and "
                            "gradients; this machine has %.1f GB",
                            (long long)m->n_floats, 2.0 * (double)bytes / 1e9, phys / 1e9);
            goto fail;
        }
    }
    m->params = sk_aligned_alloc(64, bytes ? bytes : 64, e);
    m->grads = sk_aligned_alloc(64, bytes ? bytes : 64, e);
    if (!m->params || !m->grads) {
        rc = SK_ERR_NOMEM;
        goto fail;
    }
    memset(m->params, 0, bytes);
    memset(m->grads, 0, bytes);
    b.pass = 1;
    b.idx = 0;
    build(&b);
    int nl = cfg->n_layer + cfg->n_mtp;
    m->load =
        sk_calloc((size_t)nl * (size_t)(cfg->n_routed > 0 ? cfg->n_routed : 1), sizeof(double), e);
    if (!m->load) {
        rc = SK_ERR_NOMEM;
        goto fail;
    }
    *out = m;
    return SK_OK;
fail:
    sk_tmodel_free(m);
    return rc ? rc : SK_ERR_NOMEM;
}

void sk_tmodel_free(sk_tmodel *m) {
    if (!m) return;
    for (int i = 0; i < m->n_tp; i++) free(m->tp[i].name);
    free(m->tp);
    free(m->params);
    free(m->grads);
    free(m->load);
    sk_pool_free(m->pool);
    tr_scratch_free(m->scratch);
    sk_model_weights_free(&m->w);
    sk_model_weights_free(&m->g);
    free(m);
}

int sk_tmodel_set_threads(sk_tmodel *m, int n, sk_err *e) {
    sk_pool_free(m->pool);
    m->pool = NULL;
    if (n == 1) return SK_OK;
    m->pool = sk_pool_new(n, e);
    return m->pool ? SK_OK : (e ? e->code : SK_ERR_NOMEM);
}

int64_t sk_tmodel_n_trainable(const sk_tmodel *m) {
    int64_t n = 0;
    for (int i = 0; i < m->n_tp; i++)
        if (!m->tp[i].buffer) n += (int64_t)m->tp[i].n;
    return n;
}

int sk_tmodel_find(const sk_tmodel *m, const char *name) {
    for (int i = 0; i < m->n_tp; i++)
        if (!strcmp(m->tp[i].name, name)) return i;
    return -1;
}

void sk_tmodel_zero_grad(sk_tmodel *m) {
    memset(m->grads, 0, m->n_floats * sizeof(float));
}

void sk_tmodel_reset_load(sk_tmodel *m) {
    int nl = m->cfg.n_layer + m->cfg.n_mtp;
    memset(m->load, 0,
           sizeof(double) * (size_t)nl * (size_t)(m->cfg.n_routed > 0 ? m->cfg.n_routed : 1));
}

/* ---- deterministic init (xoshiro256** seeded by SplitMix64: sk_rng in util) ---- */
static double rng_uniform(sk_rng *r) { /* (0, 1): never 0, so log(u) is finite */
    return ((double)(sk_rng_next(r) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

void sk_tmodel_init(sk_tmodel *m, uint64_t seed, float init_std) {
    const sk_model_config *c = &m->cfg;
    float std = init_std > 0 ? init_std : 0.02f;
    float out_std = std / sqrtf(2.0f * (float)(c->n_layer + c->n_mtp));
    for (int i = 0; i < m->n_tp; i++) {
        const sk_tparam *p = &m->tp[i];
        float *d = m->params + p->off;
        if (p->buffer) {
            memset(d, 0, p->n * sizeof(float));
            continue;
        }
        if (p->n_dims == 1) {
            for (size_t j = 0; j < p->n; j++) d[j] = 1.0f;
            continue;
        }
        /* one stream per tensor: seed mixed with the tensor index, so the values of a tensor
         * do not depend on the sizes of the tensors before it */
        sk_rng r;
        sk_rng_seed(&r, seed ^ (0xA24BAED4963EE407ull * (uint64_t)(i + 1)));
        bool is_out = strstr(p->name, "o_proj.") || strstr(p->name, "down_proj.");
        float sd = is_out ? out_std : std;
        for (size_t j = 0; j < p->n; j += 2) {
            double u1 = rng_uniform(&r), u2 = rng_uniform(&r);
            double rad = sqrt(-2.0 * log(u1));
            d[j] = (float)(rad * cos(2 * M_PI * u2)) * sd;
            if (j + 1 < p->n) d[j + 1] = (float)(rad * sin(2 * M_PI * u2)) * sd;
        }
    }
}

/* ---- load / save ---- */
static bool mtp_copy_name(const sk_model_config *c, const char *name, bool *is_head) {
    for (int k = 0; k < c->n_mtp; k++) {
        char a[128], b[128];
        snprintf(a, sizeof a, "model.layers.%d.embed_tokens.weight", c->n_layer + k);
        snprintf(b, sizeof b, "model.layers.%d.shared_head.head.weight", c->n_layer + k);
        if (!strcmp(name, a)) {
            *is_head = false;
            return true;
        }
        if (!strcmp(name, b)) {
            *is_head = true;
            return true;
        }
    }
    return false;
}

static int convert(const sk_st *st, int64_t idx, const sk_st_tensor *t, float *dst, size_t n,
                   sk_err *e) {
    const uint8_t *s = t->data;
    switch (t->dtype) {
    case SK_ST_F8_E4M3: { /* DeepSeek FP8 with 128x128 block scales (weight_scale_inv) */
        sk_tensor v;
        int rc = sk_st_tensor_view(st, idx, &v, e);
        if (rc) return rc;
        int64_t rows = sk_tensor_nrows(&v);
        if ((size_t)(rows * v.ne[0]) != n)
            return sk_err_set(e, SK_ERR_FORMAT, "tensor %s: FP8 view size mismatch", t->name);
        for (int64_t r = 0; r < rows; r++)
            if ((rc = sk_tensor_dequant_row(&v, r, dst + (size_t)r * (size_t)v.ne[0], e)))
                return rc;
        return SK_OK;
    }
    case SK_ST_F32:
        memcpy(dst, s, n * 4);
        return SK_OK;
    case SK_ST_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = sk_bf16_to_f32(h);
        }
        return SK_OK;
    case SK_ST_F16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = sk_fp16_to_f32(h);
        }
        return SK_OK;
    default:
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "tensor %s: dtype %s (need F32, BF16, F16 or F8_E4M3)", t->name,
                          sk_st_dtype_name(t->dtype));
    }
}

int sk_tmodel_load(sk_tmodel *m, const char *path, sk_err *e) {
    sk_st *st = NULL;
    int rc = sk_st_open(path, &st, e);
    if (rc) return rc;
    bool *seen = calloc((size_t)m->n_tp + 1, 1);
    float *tmp = NULL;
    if (!seen) {
        rc = sk_err_set(e, SK_ERR_NOMEM, "out of memory");
        goto done;
    }
    int64_t nt = sk_st_n_tensors(st);
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t i = 0; i < nt; i++) {
            const sk_st_tensor *t = sk_st_tensor_at(st, i);
            bool is_head = false;
            size_t nl = strlen(t->name);
            const char *sfx = ".weight_scale_inv"; /* FP8 block scales, read with their weight */
            if (nl > strlen(sfx) && !strcmp(t->name + nl - strlen(sfx), sfx)) continue;
            bool copy = mtp_copy_name(&m->cfg, t->name, &is_head);
            if ((pass == 0) == copy) continue; /* copies are checked after the main tensors */
            const sk_tparam *p;
            int idx = -1;
            if (copy) {
                idx = sk_tmodel_find(m, is_head ? "lm_head.weight" : "model.embed_tokens.weight");
            } else {
                idx = sk_tmodel_find(m, t->name);
                if (idx < 0) {
                    rc =
                        sk_err_set(e, SK_ERR_FORMAT,
                                   "%s: tensor %s is not a parameter of the model described by the "
                                   "config",
                                   path, t->name);
                    goto done;
                }
            }
            p = &m->tp[idx];
            bool shape_ok = t->n_dims == p->n_dims && t->shape[0] == p->shape[0] &&
                            (p->n_dims == 1 || t->shape[1] == p->shape[1]);
            if (!shape_ok) {
                char got[96] = "", want[64];
                size_t o = 0;
                for (int d = 0; d < t->n_dims && o < sizeof got - 24; d++)
                    o += (size_t)snprintf(got + o, sizeof got - o, "%s%lld", d ? "," : "",
                                          (long long)t->shape[d]);
                if (p->n_dims == 1)
                    snprintf(want, sizeof want, "%lld", (long long)p->shape[0]);
                else
                    snprintf(want, sizeof want, "%lld,%lld", (long long)p->shape[0],
                             (long long)p->shape[1]);
                rc = sk_err_set(e, SK_ERR_FORMAT,
                                "%s: tensor %s has shape [%s], the config needs [%s]", path,
                                t->name, got, want);
                goto done;
            }
            if (!copy) {
                if ((rc = convert(st, i, t, m->params + p->off, p->n, e))) {
                    sk_err_prefix(e, "%s", path);
                    goto done;
                }
                seen[idx] = true;
            } else {
                free(tmp);
                tmp = malloc(p->n * sizeof(float));
                if (!tmp) {
                    rc = sk_err_set(e, SK_ERR_NOMEM, "out of memory");
                    goto done;
                }
                if ((rc = convert(st, i, t, tmp, p->n, e))) {
                    sk_err_prefix(e, "%s", path);
                    goto done;
                }
                if (memcmp(tmp, m->params + p->off, p->n * sizeof(float)) != 0) {
                    rc = sk_err_set(
                        e, SK_ERR_FORMAT,
                        "%s: MTP tensor %s differs from %s (embedding and head are shared "
                        "with the main model)",
                        path, t->name, p->name);
                    goto done;
                }
            }
        }
    }
    for (int i = 0; i < m->n_tp; i++)
        if (!seen[i]) {
            rc = sk_err_set(e, SK_ERR_NOTFOUND, "%s: tensor %s is missing", path, m->tp[i].name);
            goto done;
        }
    rc = SK_OK;
done:
    free(tmp);
    free(seen);
    sk_st_close(st);
    return rc;
}

static int add_f32(sk_st_writer *w, const char *name, const sk_tparam *p, const float *data,
                   sk_err *e) {
    return sk_st_writer_add(w, name, SK_ST_F32, p->n_dims, p->shape, data, e);
}

static int save_common(const sk_tmodel *m, const float *base, bool grads, double loss,
                       const char *path, sk_err *e) {
    sk_st_writer *w = sk_st_writer_new(e);
    if (!w) return e ? e->code : SK_ERR_NOMEM;
    int rc = sk_st_writer_set_metadata(w, "format", "pt", e);
    float *zeros = NULL;
    if (!rc && grads) {
        float l = (float)loss;
        int64_t noshape[1] = {1};
        rc = sk_st_writer_add(w, "loss", SK_ST_F32, 0, noshape, &l, e);
    }
    for (int i = 0; !rc && i < m->n_tp; i++) {
        const sk_tparam *p = &m->tp[i];
        const float *d = base + p->off;
        if (grads && p->buffer) {
            free(zeros);
            zeros = calloc(p->n, sizeof(float));
            if (!zeros) {
                rc = sk_err_set(e, SK_ERR_NOMEM, "out of memory");
                break;
            }
            d = zeros;
        }
        rc = add_f32(w, p->name, p, d, e);
    }
    const sk_model_config *c = &m->cfg;
    for (int k = 0; !rc && k < c->n_mtp; k++) {
        char a[128];
        int ie = sk_tmodel_find(m, "model.embed_tokens.weight"),
            ih = sk_tmodel_find(m, "lm_head.weight");
        snprintf(a, sizeof a, "model.layers.%d.embed_tokens.weight", c->n_layer + k);
        rc = add_f32(w, a, &m->tp[ie], base + m->tp[ie].off, e);
        if (rc) break;
        snprintf(a, sizeof a, "model.layers.%d.shared_head.head.weight", c->n_layer + k);
        rc = add_f32(w, a, &m->tp[ih], base + m->tp[ih].off, e);
    }
    if (!rc) rc = sk_st_writer_write(w, path, e);
    free(zeros);
    sk_st_writer_free(w);
    return rc;
}

int sk_tmodel_save(const sk_tmodel *m, const char *path, sk_err *e) {
    return save_common(m, m->params, false, 0, path, e);
}

int sk_tmodel_save_grads(const sk_tmodel *m, double loss, const char *path, sk_err *e) {
    return save_common(m, m->grads, true, loss, path, e);
}
