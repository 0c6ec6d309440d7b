/* convert.c — Hugging Face checkpoint → GGUF (see sk_convert.h). */
#include "sk_convert.h"

#include "sk_json.h"
#include "sk_safetensors.h"
#include "sk_tensor.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ARCH_DEEPSEEK2, ARCH_QWEN2, ARCH_LLAMA };

enum { K_COPY, K_STACK, K_PERMUTE, K_KB, K_VB, K_ROPE_FREQS };

typedef struct cv_out {
    char name[96];
    int type;
    int n_dims;
    int64_t ne[4];
    int kind;
    int64_t src;   /* source tensor (COPY/PERMUTE/KB/VB) */
    int64_t *srcs; /* STACK: one source per expert */
    int64_t n_srcs;
    int64_t perm_head; /* PERMUTE: head size (rows per head) */
    /* KB/VB: the kv_b geometry */
    int64_t n_head, nope, vdim, kv_lora;
} cv_out;

typedef struct cv {
    sk_st *st;
    json_t *cfg;
    const char *dir;
    int arch;
    sk_convert_opts o;
    cv_out *outs;
    int64_t n_outs, cap_outs;
    bool *used; /* per source tensor */
    /* llama3 rope */
    float *rope_freqs;
    int64_t n_rope_freqs;
    sk_pool *pool;
    int n_fallback;
} cv;

/* ---- config helpers ---- */

static int cfg_int(cv *c, const char *key, int64_t *out, bool required, int64_t def, sk_err *e) {
    bool found = false;
    int rc = sk_json_get_int(c->cfg, key, out, &found, "config.json", e);
    if (rc) return rc;
    if (!found) {
        if (required)
            return sk_err_set(e, SK_ERR_FORMAT, "%s/config.json: \"%s\" is missing", c->dir, key);
        *out = def;
    }
    return SK_OK;
}

static int cfg_num(cv *c, const char *key, double *out, bool required, double def, sk_err *e) {
    bool found = false;
    int rc = sk_json_get_num(c->cfg, key, out, &found, "config.json", e);
    if (rc) return rc;
    if (!found) {
        if (required)
            return sk_err_set(e, SK_ERR_FORMAT, "%s/config.json: \"%s\" is missing", c->dir, key);
        *out = def;
    }
    return SK_OK;
}

static bool cfg_has(cv *c, const char *key) {
    json_t *v = json_object_get(c->cfg, key);
    return v && !json_is_null(v);
}

/* ---- the tensor plan ---- */

static cv_out *add_out(cv *c, const char *name, sk_err *e) {
    if (c->n_outs == c->cap_outs) {
        int64_t nc = c->cap_outs ? c->cap_outs * 2 : 256;
        cv_out *no = realloc(c->outs, (size_t)nc * sizeof *no);
        if (!no) {
            sk_err_set(e, SK_ERR_NOMEM, "out of memory");
            return NULL;
        }
        c->outs = no;
        c->cap_outs = nc;
    }
    cv_out *o = &c->outs[c->n_outs++];
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", name);
    o->src = -1;
    o->type = SK_TYPE_F32;
    return o;
}

static int check_src_dtype(cv *c, int64_t i, sk_err *e) {
    const sk_st_tensor *t = sk_st_tensor_at(c->st, i);
    if (t->dtype != SK_ST_F32 && t->dtype != SK_ST_F16 && t->dtype != SK_ST_BF16 &&
        t->dtype != SK_ST_F8_E4M3)
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "%s: tensor \"%s\" has dtype %s (expected F32, "
                          "F16, BF16 or F8_E4M3)",
                          c->dir, t->name, sk_st_dtype_name(t->dtype));
    if (t->n_dims < 1 || t->n_dims > 2)
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "%s: tensor \"%s\" has %d dimensions (expected 1 or 2)", c->dir, t->name,
                          t->n_dims);
    for (int d = 0; d < t->n_dims; d++)
        if (t->shape[d] <= 0)
            return sk_err_set(e, SK_ERR_FORMAT, "%s: tensor \"%s\" is empty", c->dir, t->name);
    if (t->dtype == SK_ST_F8_E4M3) {
        char sn[300];
        snprintf(sn, sizeof sn, "%s_scale_inv", t->name);
        int64_t si = sk_st_find(c->st, sn);
        if (si >= 0) c->used[si] = true;
        sk_tensor v;
        int rc = sk_st_tensor_view(c->st, i, &v, e); /* validates the scale grid */
        if (rc) return rc;
    }
    return SK_OK;
}

/* Sets the output type of a matrix from the requested one, falling back when the row length
 * does not fit the block. */
static int pick_type(cv *c, cv_out *o, sk_err *e) {
    bool matrix = o->n_dims >= 2 && o->kind != K_ROPE_FREQS;
    size_t nl = strlen(o->name);
    bool router = nl >= 19 && !strcmp(o->name + nl - 19, "ffn_gate_inp.weight");
    if (!matrix || router) {
        o->type = SK_TYPE_F32;
        return SK_OK;
    }
    int t = c->o.type;
    const sk_type_traits *tt = sk_type_info(t);
    if (o->ne[0] % tt->block_size != 0) {
        int fb = (o->ne[0] % 32 == 0 && tt->quantized) ? SK_TYPE_Q8_0 : SK_TYPE_F16;
        if (t == SK_TYPE_Q8_0 || t == SK_TYPE_Q4_0) fb = SK_TYPE_F16;
        SK_WARN("%s: row length %" PRId64 " is not a multiple of the %s block (%d): storing %s",
                o->name, o->ne[0], tt->name, tt->block_size, sk_type_name(fb));
        c->n_fallback++;
        t = fb;
    }
    if (!sk_type_info(t)->can_quant && t != SK_TYPE_F32)
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "cannot encode %s tensors", sk_type_name(t));
    o->type = t;
    return SK_OK;
}

/* A plain 1:1 tensor: ne = reversed HF shape. */
static int plan_copy(cv *c, const char *gguf_name, int64_t src, int kind, int64_t perm_head,
                     sk_err *e) {
    int rc = check_src_dtype(c, src, e);
    if (rc) return rc;
    const sk_st_tensor *t = sk_st_tensor_at(c->st, src);
    cv_out *o = add_out(c, gguf_name, e);
    if (!o) return SK_ERR_NOMEM;
    o->kind = kind;
    o->src = src;
    o->n_dims = t->n_dims;
    o->ne[0] = o->ne[1] = o->ne[2] = o->ne[3] = 1;
    for (int d = 0; d < t->n_dims; d++) o->ne[d] = t->shape[t->n_dims - 1 - d];
    o->perm_head = perm_head;
    if (kind == K_PERMUTE) {
        if (perm_head <= 0 || perm_head % 2 || o->ne[1] % perm_head)
            return sk_err_set(e, SK_ERR_FORMAT,
                              "%s: tensor \"%s\": %" PRId64
                              " rows do not split into heads of %" PRId64,
                              c->dir, t->name, o->ne[1], perm_head);
    }
    c->used[src] = true;
    return pick_type(c, o, e);
}

/* Looks up "model.layers.{l}.{suffix}". */
static int64_t find_layer(cv *c, int64_t l, const char *suffix) {
    char n[256];
    snprintf(n, sizeof n, "model.layers.%" PRId64 ".%s", l, suffix);
    return sk_st_find(c->st, n);
}

static int map_layer(cv *c, int64_t l, const char *hf, const char *gguf, int kind, int64_t perm,
                     bool required, sk_err *e) {
    int64_t i = find_layer(c, l, hf);
    if (i < 0) {
        if (required)
            return sk_err_set(e, SK_ERR_NOTFOUND,
                              "%s: tensor \"model.layers.%" PRId64 ".%s\" is missing", c->dir, l,
                              hf);
        return SK_OK;
    }
    char n[128];
    snprintf(n, sizeof n, "blk.%" PRId64 ".%s", l, gguf);
    return plan_copy(c, n, i, kind, perm, e);
}

static int plan_experts(cv *c, int64_t l, int64_t n_exp, sk_err *e) {
    static const char *hf[3] = {"gate_proj", "up_proj", "down_proj"};
    static const char *gg[3] = {"ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"};
    for (int k = 0; k < 3; k++) {
        char s[128];
        snprintf(s, sizeof s, "mlp.experts.0.%s.weight", hf[k]);
        int64_t first = find_layer(c, l, s);
        if (first < 0) {
            if (k == 0) return SK_OK; /* a dense layer */
            return sk_err_set(e, SK_ERR_NOTFOUND, "%s: layer %" PRId64 " has no %s of expert 0",
                              c->dir, l, hf[k]);
        }
        int64_t *srcs = calloc((size_t)n_exp, sizeof *srcs);
        if (!srcs) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
        const sk_st_tensor *t0 = sk_st_tensor_at(c->st, first);
        for (int64_t x = 0; x < n_exp; x++) {
            snprintf(s, sizeof s, "mlp.experts.%" PRId64 ".%s.weight", x, hf[k]);
            int64_t i = find_layer(c, l, s);
            int rc = SK_OK;
            if (i < 0)
                rc = sk_err_set(e, SK_ERR_NOTFOUND,
                                "%s: tensor \"model.layers.%" PRId64 ".%s\" is missing", c->dir, l,
                                s);
            else if ((rc = check_src_dtype(c, i, e)) == SK_OK) {
                const sk_st_tensor *t = sk_st_tensor_at(c->st, i);
                if (t->n_dims != 2 || t0->n_dims != 2 || t->shape[0] != t0->shape[0] ||
                    t->shape[1] != t0->shape[1])
                    rc = sk_err_set(e, SK_ERR_FORMAT,
                                    "%s: expert tensor \"%s\" differs in shape from expert 0",
                                    c->dir, t->name);
            }
            if (rc) {
                free(srcs);
                return rc;
            }
            srcs[x] = i;
            c->used[i] = true;
        }
        char n[128];
        snprintf(n, sizeof n, "blk.%" PRId64 ".%s.weight", l, gg[k]);
        cv_out *o = add_out(c, n, e);
        if (!o) {
            free(srcs);
            return SK_ERR_NOMEM;
        }
        o->kind = K_STACK;
        o->srcs = srcs;
        o->n_srcs = n_exp;
        o->n_dims = 3;
        o->ne[0] = t0->shape[1];
        o->ne[1] = t0->shape[0];
        o->ne[2] = n_exp;
        o->ne[3] = 1;
        int rc = pick_type(c, o, e);
        if (rc) return rc;
    }
    return SK_OK;
}

static int plan_deepseek2_layer(cv *c, int64_t l, int64_t n_exp, sk_err *e) {
    int rc;
#define MAP(hf, gg, req)                                                                           \
    if ((rc = map_layer(c, l, hf, gg, K_COPY, 0, req, e))) return rc
    MAP("input_layernorm.weight", "attn_norm.weight", true);
    MAP("self_attn.q_a_proj.weight", "attn_q_a.weight", false);
    MAP("self_attn.q_a_layernorm.weight", "attn_q_a_norm.weight", false);
    MAP("self_attn.q_b_proj.weight", "attn_q_b.weight", false);
    MAP("self_attn.q_proj.weight", "attn_q.weight", false);
    MAP("self_attn.kv_a_proj_with_mqa.weight", "attn_kv_a_mqa.weight", true);
    MAP("self_attn.kv_a_layernorm.weight", "attn_kv_a_norm.weight", true);
    MAP("self_attn.kv_b_proj.weight", "attn_kv_b.weight", true);
    if (c->o.kv_b_split) {
        int64_t kvb = find_layer(c, l, "self_attn.kv_b_proj.weight");
        const sk_st_tensor *t = sk_st_tensor_at(c->st, kvb);
        int64_t nh, nope, vd, kvl;
        if ((rc = cfg_int(c, "num_attention_heads", &nh, true, 0, e)) ||
            (rc = cfg_int(c, "qk_nope_head_dim", &nope, true, 0, e)) ||
            (rc = cfg_int(c, "v_head_dim", &vd, true, 0, e)) ||
            (rc = cfg_int(c, "kv_lora_rank", &kvl, true, 0, e)))
            return rc;
        if (t->n_dims != 2 || t->shape[0] != nh * (nope + vd) || t->shape[1] != kvl)
            return sk_err_set(e, SK_ERR_FORMAT,
                              "%s: \"%s\" is not [n_head*(nope+v), kv_lora] = [%" PRId64
                              ", %" PRId64 "]",
                              c->dir, t->name, nh * (nope + vd), kvl);
        for (int k = 0; k < 2; k++) {
            char n[128];
            snprintf(n, sizeof n, "blk.%" PRId64 ".%s", l,
                     k == 0 ? "attn_k_b.weight" : "attn_v_b.weight");
            cv_out *o = add_out(c, n, e);
            if (!o) return SK_ERR_NOMEM;
            o->kind = k == 0 ? K_KB : K_VB;
            o->src = kvb;
            o->n_head = nh;
            o->nope = nope;
            o->vdim = vd;
            o->kv_lora = kvl;
            o->n_dims = 2;
            o->ne[0] = k == 0 ? nope : kvl;
            o->ne[1] = k == 0 ? nh * kvl : nh * vd;
            o->ne[2] = o->ne[3] = 1;
            if ((rc = pick_type(c, o, e))) return rc;
        }
    }
    MAP("self_attn.o_proj.weight", "attn_output.weight", true);
    MAP("post_attention_layernorm.weight", "ffn_norm.weight", true);
    MAP("mlp.gate_proj.weight", "ffn_gate.weight", false);
    MAP("mlp.up_proj.weight", "ffn_up.weight", false);
    MAP("mlp.down_proj.weight", "ffn_down.weight", false);
    MAP("mlp.gate.weight", "ffn_gate_inp.weight", false);
    MAP("mlp.gate.e_score_correction_bias", "exp_probs_b.bias", false);
    if ((rc = plan_experts(c, l, n_exp, e))) return rc;
    MAP("mlp.shared_experts.gate_proj.weight", "ffn_gate_shexp.weight", false);
    MAP("mlp.shared_experts.up_proj.weight", "ffn_up_shexp.weight", false);
    MAP("mlp.shared_experts.down_proj.weight", "ffn_down_shexp.weight", false);
#undef MAP
    return SK_OK;
}

static int plan_dense_layer(cv *c, int64_t l, int64_t head_dim, sk_err *e) {
    int rc;
    bool llama = c->arch == ARCH_LLAMA;
    int kp = llama ? K_PERMUTE : K_COPY;
    int64_t hp = llama ? head_dim : 0;
    if ((rc = map_layer(c, l, "input_layernorm.weight", "attn_norm.weight", K_COPY, 0, true, e)) ||
        (rc = map_layer(c, l, "self_attn.q_proj.weight", "attn_q.weight", kp, hp, true, e)) ||
        (rc = map_layer(c, l, "self_attn.q_proj.bias", "attn_q.bias", K_COPY, 0, false, e)) ||
        (rc = map_layer(c, l, "self_attn.k_proj.weight", "attn_k.weight", kp, hp, true, e)) ||
        (rc = map_layer(c, l, "self_attn.k_proj.bias", "attn_k.bias", K_COPY, 0, false, e)) ||
        (rc = map_layer(c, l, "self_attn.v_proj.weight", "attn_v.weight", K_COPY, 0, true, e)) ||
        (rc = map_layer(c, l, "self_attn.v_proj.bias", "attn_v.bias", K_COPY, 0, false, e)) ||
        (rc = map_layer(c, l, "self_attn.o_proj.weight", "attn_output.weight", K_COPY, 0, true,
                        e)) ||
        (rc = map_layer(c, l, "post_attention_layernorm.weight", "ffn_norm.weight", K_COPY, 0, true,
                        e)) ||
        (rc = map_layer(c, l, "mlp.gate_proj.weight", "ffn_gate.weight", K_COPY, 0, true, e)) ||
        (rc = map_layer(c, l, "mlp.up_proj.weight", "ffn_up.weight", K_COPY, 0, true, e)) ||
        (rc = map_layer(c, l, "mlp.down_proj.weight", "ffn_down.weight", K_COPY, 0, true, e)))
        return rc;
    if (llama && find_layer(c, l, "self_attn.q_proj.bias") >= 0)
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "%s: llama q bias is not supported", c->dir);
    return SK_OK;
}

/* llama3 rope scaling → per-pair frequency divisors (spec §2.3; computed in double and rounded
 * once to float, which reproduces the golden file bit for bit). */
static int plan_rope_freqs(cv *c, int64_t head_dim, sk_err *e) {
    json_t *rs = json_object_get(c->cfg, "rope_scaling");
    if (!json_is_object(rs)) return SK_OK;
    const char *rt = json_string_value(json_object_get(rs, "rope_type"));
    if (!rt) rt = json_string_value(json_object_get(rs, "type"));
    if (!rt || strcmp(rt, "llama3") != 0) return SK_OK;
    double factor = 8, low = 1, high = 4, orig = 8192, base = 10000;
    bool f;
    int rc;
    if ((rc = sk_json_get_num(rs, "factor", &factor, &f, "config.json rope_scaling", e)) ||
        (rc = sk_json_get_num(rs, "low_freq_factor", &low, &f, "config.json rope_scaling", e)) ||
        (rc = sk_json_get_num(rs, "high_freq_factor", &high, &f, "config.json rope_scaling", e)) ||
        (rc = sk_json_get_num(rs, "original_max_position_embeddings", &orig, &f,
                              "config.json rope_scaling", e)) ||
        (rc = cfg_num(c, "rope_theta", &base, false, 10000.0, e)))
        return rc;
    if (head_dim <= 0 || head_dim % 2 || high == low || factor == 0)
        return sk_err_set(e, SK_ERR_FORMAT, "%s/config.json: unusable llama3 rope_scaling", c->dir);
    int64_t n = head_dim / 2;
    c->rope_freqs = calloc((size_t)n, sizeof *c->rope_freqs);
    if (!c->rope_freqs) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    c->n_rope_freqs = n;
    double low_wl = orig / low, high_wl = orig / high;
    for (int64_t i = 0; i < n; i++) {
        double freq = 1.0 / pow(base, (double)(2 * i) / (double)head_dim);
        double wl = 2.0 * M_PI / freq, r;
        if (wl < high_wl)
            r = 1.0;
        else if (wl > low_wl)
            r = factor;
        else {
            double smooth = (orig / wl - low) / (high - low);
            r = 1.0 / ((1.0 - smooth) / factor + smooth);
        }
        c->rope_freqs[i] = (float)r;
    }
    cv_out *o = add_out(c, "rope_freqs.weight", e);
    if (!o) return SK_ERR_NOMEM;
    o->kind = K_ROPE_FREQS;
    o->n_dims = 1;
    o->ne[0] = n;
    o->ne[1] = o->ne[2] = o->ne[3] = 1;
    o->type = SK_TYPE_F32;
    return SK_OK;
}

/* ---- producing rows ---- */

typedef struct fill_job {
    cv *c;
    cv_out *o;
    uint8_t *dst; /* row r0 */
    int64_t r0, n;
    size_t row_bytes;
    const float *kvb; /* K_KB: the whole kv_b matrix in f32 */
    float **bufs;     /* per thread: 2 rows of max(ne0, src ne0) floats */
    int *rcs;
    sk_err *errs;
} fill_job;

static int src_row(cv *c, int64_t src, int64_t r, float *dst, sk_err *e) {
    sk_tensor v;
    int rc = sk_st_tensor_view(c->st, src, &v, e);
    if (rc) return rc;
    return sk_tensor_dequant_row(&v, r, dst, e);
}

/* Output row r of o as f32 into row (length o->ne[0]). */
static int out_row(fill_job *j, int64_t r, float *row, sk_err *e) {
    cv_out *o = j->o;
    cv *c = j->c;
    switch (o->kind) {
    case K_COPY:
        return src_row(c, o->src, r, row, e);
    case K_STACK: {
        int64_t per = o->ne[1];
        return src_row(c, o->srcs[r / per], r % per, row, e);
    }
    case K_PERMUTE: {
        int64_t d = o->perm_head, h = r / d, w = r % d;
        return src_row(c, o->src, h * d + (w % 2) * (d / 2) + w / 2, row, e);
    }
    case K_VB: {
        int64_t h = r / o->vdim, i = r % o->vdim;
        return src_row(c, o->src, h * (o->nope + o->vdim) + o->nope + i, row, e);
    }
    case K_KB: {
        int64_t h = r / o->kv_lora, cc = r % o->kv_lora;
        for (int64_t jn = 0; jn < o->nope; jn++)
            row[jn] = j->kvb[(h * (o->nope + o->vdim) + jn) * o->kv_lora + cc];
        return SK_OK;
    }
    case K_ROPE_FREQS:
        memcpy(row, c->rope_freqs, (size_t)o->ne[0] * sizeof *row);
        return SK_OK;
    }
    return sk_err_set(e, SK_ERR_INVALID, "bad plan");
}

static void fill_task(void *ctx, int ith, int nth) {
    fill_job *j = ctx;
    cv_out *o = j->o;
    size_t lo, hi;
    sk_split_range((size_t)j->n, ith, nth, &lo, &hi);
    float *row = j->bufs[ith];
    for (size_t r = lo; r < hi; r++) {
        sk_err *e = &j->errs[ith];
        int rc = out_row(j, j->r0 + (int64_t)r, row, e);
        if (!rc) {
            uint8_t *d = j->dst + r * j->row_bytes;
            if (o->type == SK_TYPE_F32)
                memcpy(d, row, (size_t)o->ne[0] * sizeof(float));
            else
                rc = sk_quant(o->type, row, d, o->ne[0], e);
        }
        if (rc) {
            j->rcs[ith] = rc;
            return;
        }
    }
}

typedef struct fill_ctx {
    cv *c;
    int64_t idx;
    float *kvb; /* K_KB: kv_b in f32, built at the first range and freed after the last */
} fill_ctx;

static int fill_rows(void *ctx, void *dst, int64_t r0, int64_t n_rows, sk_err *e) {
    fill_ctx *fc = ctx;
    cv *c = fc->c;
    cv_out *o = &c->outs[fc->idx];
    int nth = c->pool ? sk_pool_size(c->pool) : 1;
    fill_job j;
    memset(&j, 0, sizeof j);
    j.c = c;
    j.o = o;
    j.dst = dst;
    j.r0 = r0;
    j.n = n_rows;
    size_t rb;
    sk_row_size(o->type, o->ne[0], &rb);
    j.row_bytes = rb;
    int rc = SK_OK;
    int64_t width = o->ne[0];
    if (o->kind == K_KB && !fc->kvb) {
        const sk_st_tensor *t = sk_st_tensor_at(c->st, o->src);
        int64_t rows = t->shape[0], cols = t->shape[1];
        fc->kvb = sk_calloc((size_t)(rows * cols), sizeof *fc->kvb, e);
        if (!fc->kvb) return SK_ERR_NOMEM;
        for (int64_t r = 0; r < rows && !rc; r++) rc = src_row(c, o->src, r, fc->kvb + r * cols, e);
        if (rc) return rc;
    }
    j.kvb = fc->kvb;
    j.bufs = sk_calloc((size_t)nth, sizeof *j.bufs, e);
    j.rcs = sk_calloc((size_t)nth, sizeof *j.rcs, e);
    j.errs = sk_calloc((size_t)nth, sizeof *j.errs, e);
    if (!j.bufs || !j.rcs || !j.errs) {
        rc = SK_ERR_NOMEM;
        goto done;
    }
    for (int t = 0; t < nth; t++) {
        j.bufs[t] = sk_malloc((size_t)width * sizeof(float), e);
        if (!j.bufs[t]) {
            rc = SK_ERR_NOMEM;
            goto done;
        }
    }
    if (c->pool && nth > 1)
        sk_pool_run(c->pool, fill_task, &j);
    else
        fill_task(&j, 0, 1);
    for (int t = 0; t < nth; t++)
        if (j.rcs[t]) {
            rc = j.rcs[t];
            if (e) *e = j.errs[t];
            break;
        }
done:
    if (j.bufs)
        for (int t = 0; t < nth; t++) free(j.bufs[t]);
    free(j.bufs);
    free(j.rcs);
    free(j.errs);
    if (fc->kvb && (rc || r0 + n_rows == o->ne[1] * o->ne[2] * o->ne[3])) {
        free(fc->kvb);
        fc->kvb = NULL;
    }
    return rc;
}

/* ---- tokenizer ---- */

/* The tokenizer keys come from the caller (opts->tokenizer; the tokenizer layer reads
 * tokenizer.json, format does not). config.json's bos/eos/pad ids are its fallbacks. */
static int convert_tokenizer(cv *c, const sk_convert_opts *o, sk_gguf_writer *w, int64_t n_vocab,
                             bool *has, sk_err *e) {
    *has = false;
    if (!o->tokenizer) {
        char *tp = sk_path_join(c->dir, "tokenizer.json", e);
        if (!tp) return SK_ERR_NOMEM;
        if (sk_file_exists(tp))
            SK_WARN("%s: tokenizer.json is not converted (no tokenizer writer given): the GGUF "
                    "will have no tokenizer",
                    c->dir);
        else
            SK_WARN("%s: no tokenizer.json: the GGUF will have no tokenizer", c->dir);
        free(tp);
        return SK_OK;
    }
    int64_t ids[3] = {-1, -1, -1};
    const char *cfg_keys[3] = {"bos_token_id", "eos_token_id", "pad_token_id"};
    for (int s = 0; s < 3; s++) {
        json_t *v = json_object_get(c->cfg, cfg_keys[s]);
        if (json_is_integer(v)) ids[s] = json_integer_value(v);
    }
    return o->tokenizer(o->tokenizer_ctx, c->dir, w, n_vocab, ids, has, e);
}

/* ---- metadata ---- */

static int file_type_of(int t) {
    switch (t) {
    case SK_TYPE_F32:
        return 0;
    case SK_TYPE_F16:
        return 1;
    case SK_TYPE_Q4_0:
        return 2;
    case SK_TYPE_Q8_0:
        return 7;
    case SK_TYPE_Q4_K:
        return 15;
    case SK_TYPE_Q5_K:
        return 17;
    case SK_TYPE_Q6_K:
        return 18;
    case SK_TYPE_BF16:
        return 32;
    default:
        return 0;
    }
}

#define SETU(k, v)                                                                                 \
    if ((rc = sk_gguf_set_u32(w, k, (uint32_t)(v), e))) return rc
#define SETF(k, v)                                                                                 \
    if ((rc = sk_gguf_set_f32(w, k, (float)(v), e))) return rc

static int meta_common(cv *c, sk_gguf_writer *w, const char *a, int64_t *n_vocab, sk_err *e) {
    int rc;
    int64_t layers, ctx, hidden, ffn, heads, kv_heads, vocab;
    double eps, theta;
    if ((rc = cfg_int(c, "num_hidden_layers", &layers, true, 0, e)) ||
        (rc = cfg_int(c, "max_position_embeddings", &ctx, false, 4096, e)) ||
        (rc = cfg_int(c, "hidden_size", &hidden, true, 0, e)) ||
        (rc = cfg_int(c, "intermediate_size", &ffn, true, 0, e)) ||
        (rc = cfg_int(c, "num_attention_heads", &heads, true, 0, e)) ||
        (rc = cfg_int(c, "num_key_value_heads", &kv_heads, false, heads, e)) ||
        (rc = cfg_int(c, "vocab_size", &vocab, true, 0, e)) ||
        (rc = cfg_num(c, "rms_norm_eps", &eps, false, 1e-6, e)) ||
        (rc = cfg_num(c, "rope_theta", &theta, false, 10000.0, e)))
        return rc;
    if (layers <= 0 || layers > 100000 || hidden <= 0 || heads <= 0 || kv_heads <= 0 ||
        vocab <= 0 || ffn < 0 || hidden > (1 << 24) || vocab > (1 << 24) || ctx <= 0 ||
        ctx > UINT32_MAX)
        return sk_err_set(e, SK_ERR_FORMAT, "%s/config.json: implausible sizes", c->dir);
    *n_vocab = vocab;
    char k[128];
#define K(s) (snprintf(k, sizeof k, "%s.%s", a, s), k)
    SETU(K("block_count"), layers);
    SETU(K("context_length"), ctx);
    SETU(K("embedding_length"), hidden);
    SETU(K("feed_forward_length"), ffn);
    SETU(K("attention.head_count"), heads);
    SETU(K("attention.head_count_kv"), kv_heads);
    SETF(K("rope.freq_base"), theta);
    SETF(K("attention.layer_norm_rms_epsilon"), eps);
    SETU(K("vocab_size"), vocab);
#undef K
    return SK_OK;
}

static int meta_deepseek2(cv *c, sk_gguf_writer *w, sk_err *e) {
    int rc;
    int64_t dense, kvl, nope, rope, vd, moe_ffn, n_exp, n_used, n_shared, n_group, topk_group, qlr;
    double scale;
    bool norm = false, f;
    if ((rc = cfg_int(c, "first_k_dense_replace", &dense, false, 0, e)) ||
        (rc = cfg_int(c, "kv_lora_rank", &kvl, true, 0, e)) ||
        (rc = cfg_int(c, "qk_nope_head_dim", &nope, true, 0, e)) ||
        (rc = cfg_int(c, "qk_rope_head_dim", &rope, true, 0, e)) ||
        (rc = cfg_int(c, "v_head_dim", &vd, true, 0, e)) ||
        (rc = cfg_int(c, "moe_intermediate_size", &moe_ffn, true, 0, e)) ||
        (rc = cfg_int(c, "n_routed_experts", &n_exp, true, 0, e)) ||
        (rc = cfg_int(c, "num_experts_per_tok", &n_used, true, 0, e)) ||
        (rc = cfg_int(c, "n_shared_experts", &n_shared, false, 0, e)) ||
        (rc = cfg_int(c, "n_group", &n_group, false, 1, e)) ||
        (rc = cfg_int(c, "topk_group", &topk_group, false, 1, e)) ||
        (rc = cfg_num(c, "routed_scaling_factor", &scale, false, 1.0, e)) ||
        (rc = sk_json_get_bool(c->cfg, "norm_topk_prob", &norm, &f, "config.json", e)))
        return rc;
    if (cfg_has(c, "q_lora_rank")) {
        if ((rc = cfg_int(c, "q_lora_rank", &qlr, true, 0, e))) return rc;
        SETU("deepseek2.attention.q_lora_rank", qlr);
    }
    const char *sf = json_string_value(json_object_get(c->cfg, "scoring_func"));
    SETU("deepseek2.leading_dense_block_count", dense);
    SETU("deepseek2.attention.kv_lora_rank", kvl);
    SETU("deepseek2.attention.key_length", nope + rope);
    SETU("deepseek2.attention.value_length", vd);
    SETU("deepseek2.expert_feed_forward_length", moe_ffn);
    SETU("deepseek2.expert_count", n_exp);
    SETU("deepseek2.expert_used_count", n_used);
    SETU("deepseek2.expert_shared_count", n_shared);
    SETF("deepseek2.expert_weights_scale", scale);
    if ((rc = sk_gguf_set_bool(w, "deepseek2.expert_weights_norm", norm, e))) return rc;
    SETU("deepseek2.expert_gating_func", sf && !strcmp(sf, "sigmoid") ? 2 : 1);
    SETU("deepseek2.expert_group_count", n_group);
    SETU("deepseek2.expert_group_used_count", topk_group);
    SETU("deepseek2.rope.dimension_count", rope);
    json_t *rs = json_object_get(c->cfg, "rope_scaling");
    if (json_is_object(rs)) {
        const char *t = json_string_value(json_object_get(rs, "type"));
        if (!t) t = json_string_value(json_object_get(rs, "rope_type"));
        if (t && !strcmp(t, "yarn")) {
            double factor = 1, mad = 0, orig = 4096;
            if ((rc = sk_json_get_num(rs, "factor", &factor, &f, "config.json rope_scaling", e)) ||
                (rc = sk_json_get_num(rs, "mscale_all_dim", &mad, &f, "config.json rope_scaling",
                                      e)) ||
                (rc = sk_json_get_num(rs, "original_max_position_embeddings", &orig, &f,
                                      "config.json rope_scaling", e)))
                return rc;
            if ((rc = sk_gguf_set_str(w, "deepseek2.rope.scaling.type", "yarn", e))) return rc;
            SETF("deepseek2.rope.scaling.factor", factor);
            SETU("deepseek2.rope.scaling.original_context_length", orig);
            SETF("deepseek2.rope.scaling.yarn_log_multiplier", 0.1 * mad);
        }
    }
    return SK_OK;
}

/* ---- the conversion ---- */

static void cv_free(cv *c) {
    for (int64_t i = 0; i < c->n_outs; i++) free(c->outs[i].srcs);
    free(c->outs);
    free(c->used);
    free(c->rope_freqs);
    if (c->pool) sk_pool_free(c->pool);
    if (c->cfg) json_decref(c->cfg);
    sk_st_close(c->st);
}

static bool layer_of(const char *name, int64_t *l) {
    if (strncmp(name, "model.layers.", 13) != 0) return false;
    char *end;
    long long v = strtoll(name + 13, &end, 10);
    if (end == name + 13 || *end != '.') return false;
    *l = v;
    return true;
}

int sk_convert_hf(const char *hf_dir, const char *out_path, const sk_convert_opts *opts,
                  sk_convert_info *info, sk_err *e) {
    cv c;
    memset(&c, 0, sizeof c);
    c.dir = hf_dir;
    c.o = *opts;
    if (info) memset(info, 0, sizeof *info);
    int rc;
    sk_gguf_writer *w = NULL;
    fill_ctx *fcs = NULL;
    const sk_type_traits *tt = sk_type_info(c.o.type);
    if (c.o.type != SK_TYPE_F32 && (!tt->can_quant || c.o.type == SK_TYPE_F8_E4M3))
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "cannot write %s tensors", tt->name);
    if (!sk_is_dir(hf_dir))
        return sk_err_set(e, SK_ERR_INVALID,
                          "%s: not a folder (expected a Hugging Face checkpoint)", hf_dir);
    char *cp = sk_path_join(hf_dir, "config.json", e);
    if (!cp) return SK_ERR_NOMEM;
    rc = sk_json_load_file(cp, 1 << 24, &c.cfg, e);
    free(cp);
    if (rc) goto done;
    if (!json_is_object(c.cfg)) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "%s/config.json: not a JSON object", hf_dir);
        goto done;
    }
    const char *mt = json_string_value(json_object_get(c.cfg, "model_type"));
    const char *an = json_string_value(json_array_get(json_object_get(c.cfg, "architectures"), 0));
    const char *arch;
    if ((mt && (!strcmp(mt, "deepseek_v3") || !strcmp(mt, "deepseek_v2"))) ||
        (an && (!strcmp(an, "DeepseekV3ForCausalLM") || !strcmp(an, "DeepseekV2ForCausalLM")))) {
        c.arch = ARCH_DEEPSEEK2;
        arch = "deepseek2";
    } else if ((mt && !strcmp(mt, "qwen2")) || (an && !strcmp(an, "Qwen2ForCausalLM"))) {
        c.arch = ARCH_QWEN2;
        arch = "qwen2";
    } else if ((mt && !strcmp(mt, "llama")) || (an && !strcmp(an, "LlamaForCausalLM"))) {
        c.arch = ARCH_LLAMA;
        arch = "llama";
    } else {
        rc = sk_err_set(e, SK_ERR_UNSUPPORTED,
                        "%s/config.json: model_type \"%s\" / architecture \"%s\" is not handled "
                        "(DeepSeek-V3/V2, Qwen2, Llama)",
                        hf_dir, mt ? mt : "?", an ? an : "?");
        goto done;
    }
    if ((rc = sk_st_open(hf_dir, &c.st, e))) goto done;
    c.used = calloc((size_t)sk_st_n_tensors(c.st) + 1, sizeof *c.used);
    if (!c.used) {
        rc = sk_err_set(e, SK_ERR_NOMEM, "out of memory");
        goto done;
    }
    w = sk_gguf_writer_new(e);
    if (!w) {
        rc = SK_ERR_NOMEM;
        goto done;
    }
    /* metadata */
    const char *name = c.o.name;
    char name_buf[256];
    if (!name) {
        const char *s = hf_dir + strlen(hf_dir);
        while (s > hf_dir && s[-1] == '/') s--;
        const char *b = s;
        while (b > hf_dir && b[-1] != '/') b--;
        snprintf(name_buf, sizeof name_buf, "%.*s", (int)(s - b), b);
        name = name_buf;
    }
    int64_t n_vocab = 0, layers, heads, hidden, head_dim;
    if ((rc = sk_gguf_set_str(w, "general.architecture", arch, e)) ||
        (rc = sk_gguf_set_str(w, "general.name", name, e)) ||
        (rc = sk_gguf_set_u32(w, "general.file_type", (uint32_t)file_type_of(c.o.type), e)))
        goto done;
    if (tt->quantized && (rc = sk_gguf_set_u32(w, "general.quantization_version", 2, e))) goto done;
    if ((rc = meta_common(&c, w, arch, &n_vocab, e))) goto done;
    if (c.arch == ARCH_DEEPSEEK2 && (rc = meta_deepseek2(&c, w, e))) goto done;
    cfg_int(&c, "num_hidden_layers", &layers, true, 0, e);
    cfg_int(&c, "num_attention_heads", &heads, true, 0, e);
    cfg_int(&c, "hidden_size", &hidden, true, 0, e);
    if ((rc = cfg_int(&c, "head_dim", &head_dim, false, hidden / heads, e))) goto done;
    if (c.arch == ARCH_LLAMA) {
        if ((rc = sk_gguf_set_u32(w, "llama.rope.dimension_count", (uint32_t)head_dim, e)))
            goto done;
        json_t *rs = json_object_get(c.cfg, "rope_scaling");
        const char *rt =
            json_is_object(rs) ? json_string_value(json_object_get(rs, "rope_type")) : NULL;
        if (!rt && json_is_object(rs)) rt = json_string_value(json_object_get(rs, "type"));
        if (rt && !strcmp(rt, "linear")) {
            double f = 1;
            bool found;
            if ((rc = sk_json_get_num(rs, "factor", &f, &found, "config.json rope_scaling", e)) ||
                (rc = sk_gguf_set_str(w, "llama.rope.scaling.type", "linear", e)) ||
                (rc = sk_gguf_set_f32(w, "llama.rope.scaling.factor", (float)f, e)))
                goto done;
        } else if (rt && strcmp(rt, "llama3") != 0 && strcmp(rt, "default") != 0) {
            rc = sk_err_set(e, SK_ERR_UNSUPPORTED, "%s/config.json: rope_scaling type \"%s\"",
                            hf_dir, rt);
            goto done;
        }
    }
    bool has_tok = false;
    if ((rc = convert_tokenizer(&c, opts, w, n_vocab, &has_tok, e))) goto done;
    /* llama.cpp refuses a GGUF without tokenizer.ggml.model; "none" is its key for a model
     * that has no vocabulary (token ids in, logits out). */
    if (!has_tok && (rc = sk_gguf_set_str(w, "tokenizer.ggml.model", "none", e))) goto done;

    /* tensor plan */
    int64_t ie = sk_st_find(c.st, "model.embed_tokens.weight");
    if (ie < 0) {
        rc = sk_err_set(e, SK_ERR_NOTFOUND, "%s: tensor \"model.embed_tokens.weight\" is missing",
                        hf_dir);
        goto done;
    }
    if ((rc = plan_copy(&c, "token_embd.weight", ie, K_COPY, 0, e))) goto done;
    if (c.arch == ARCH_LLAMA && (rc = plan_rope_freqs(&c, head_dim, e))) goto done;
    int64_t n_exp = 0;
    if (c.arch == ARCH_DEEPSEEK2 && (rc = cfg_int(&c, "n_routed_experts", &n_exp, true, 0, e)))
        goto done;
    for (int64_t l = 0; l < layers; l++) {
        rc = c.arch == ARCH_DEEPSEEK2 ? plan_deepseek2_layer(&c, l, n_exp, e)
                                      : plan_dense_layer(&c, l, head_dim, e);
        if (rc) goto done;
    }
    int64_t in = sk_st_find(c.st, "model.norm.weight");
    if (in < 0) {
        rc = sk_err_set(e, SK_ERR_NOTFOUND, "%s: tensor \"model.norm.weight\" is missing", hf_dir);
        goto done;
    }
    if ((rc = plan_copy(&c, "output_norm.weight", in, K_COPY, 0, e))) goto done;
    bool tied = false, f;
    if ((rc = sk_json_get_bool(c.cfg, "tie_word_embeddings", &tied, &f, "config.json", e)))
        goto done;
    int64_t ih = sk_st_find(c.st, "lm_head.weight");
    if (ih >= 0 && !tied) {
        if ((rc = plan_copy(&c, "output.weight", ih, K_COPY, 0, e))) goto done;
    } else if (ih >= 0) {
        c.used[ih] = true; /* tied: the head is the embedding */
    } else if (!tied) {
        SK_WARN("%s: no lm_head.weight: the output layer will reuse token_embd", hf_dir);
    }
    /* nothing left unmapped (except layers past num_hidden_layers, e.g. DeepSeek's MTP) */
    for (int64_t i = 0; i < sk_st_n_tensors(c.st); i++) {
        if (c.used[i]) continue;
        const sk_st_tensor *t = sk_st_tensor_at(c.st, i);
        int64_t l;
        if (layer_of(t->name, &l) && l >= layers) continue;
        size_t nl = strlen(t->name), sl = strlen("rotary_emb.inv_freq");
        if (nl >= sl && !strcmp(t->name + nl - sl, "rotary_emb.inv_freq")) continue;
        rc = sk_err_set(e, SK_ERR_UNSUPPORTED, "%s: tensor \"%s\" has no GGUF counterpart", hf_dir,
                        t->name);
        goto done;
    }
    /* writer */
    fcs = calloc((size_t)c.n_outs + 1, sizeof *fcs);
    if (!fcs) {
        rc = sk_err_set(e, SK_ERR_NOMEM, "out of memory");
        goto done;
    }
    uint64_t params = 0, bytes = 0;
    for (int64_t i = 0; i < c.n_outs; i++) {
        cv_out *o = &c.outs[i];
        fcs[i].c = &c;
        fcs[i].idx = i;
        if ((rc = sk_gguf_add_tensor_rows(w, o->name, o->type, o->n_dims, o->ne, fill_rows, &fcs[i],
                                          e)))
            goto done;
        size_t rb;
        sk_row_size(o->type, o->ne[0], &rb);
        params += (uint64_t)(o->ne[0] * o->ne[1] * o->ne[2] * o->ne[3]);
        bytes += (uint64_t)rb * (uint64_t)(o->ne[1] * o->ne[2] * o->ne[3]);
    }
    if (info) {
        snprintf(info->arch, sizeof info->arch, "%s", arch);
        info->n_tensors = c.n_outs;
        info->n_params = params;
        info->n_bytes = bytes;
        info->has_tokenizer = has_tok;
        info->n_fallback = c.n_fallback;
    }
    if (c.o.dry_run) goto done;
    c.pool = sk_pool_new(c.o.n_threads, e);
    if (!c.pool) {
        rc = SK_ERR_NOMEM;
        goto done;
    }
    if (c.o.chunk_bytes) sk_gguf_writer_set_chunk_bytes(w, c.o.chunk_bytes);
    rc = sk_gguf_write(w, out_path, c.o.max_split_bytes, c.o.progress, e);
done:
    sk_gguf_writer_free(w);
    if (fcs)
        for (int64_t i = 0; i < c.n_outs; i++) free(fcs[i].kvb);
    free(fcs);
    cv_free(&c);
    return rc;
}
