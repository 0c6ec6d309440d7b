/* tmodel.c — forward and backward of a whole DeepSeek-V3-architecture model on a batch,
 * per training-conventions.md: main trunk, MTP depths 1..D, masked cross-entropies and
 * the sequence-wise balance loss. All activations of one call live in one arena (one per
 * data-parallel share: a pool of P threads splits the batch into shares of whole sequences,
 * see run). */
#include "train_internal.h"

#include <cblas.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define F(t) ((float *)(t).data)

typedef struct blk {
    int l, B, T, N;
    bool moe;
    const float *x;           /* [N,H] input, owned by the caller */
    float *xn1, *rs1;         /* attn norm */
    float *cq, *cqn, *rsq;    /* q LoRA */
    float *q;                 /* [N, nh*(dn+dr)], rope part rotated */
    float *kva;               /* [N, kvr+dr], k_pe part rotated */
    float *ckv, *ckvn, *rskv; /* [N, kvr] */
    float *kv;                /* [N, nh*(dn+dv)] */
    float *p;                 /* [B][nh][T][T] */
    float *o;                 /* [N, nh*dv] */
    float *h;                 /* [N,H] x + attention */
    float *xn2, *rs2;
    float *fg, *fu, *fh; /* dense [N, ff] or shared expert [N, ns*ff] */
    /* MoE */
    float *s;                           /* [N,E] scores */
    float *ssum;                        /* [N] */
    int32_t *sel;                       /* [N,K] */
    float *wk;                          /* [N,K] final weights */
    float *fcnt;                        /* [B,E] f_i */
    int *cnt;                           /* [E] */
    int32_t **rows, **slot;             /* per expert: token row, k slot */
    float **ex, **eg, **eu, **eh, **ey; /* per expert gathered x, gate, up, act, output */
    float *out;                         /* [N,H] */
} blk;

/* ---------------------------------------------------------------- scratch memory
 * A bump allocator over chunks the model keeps between calls: every call allocates the
 * same sequence of buffers, so after the first step no page is mapped or faulted in again.
 * alloc_f / alloc_b zero their buffers (the passes accumulate into some of them); alloc_u
 * does not, for buffers that are entirely written before they are read. */
typedef struct tr_chunk {
    char *p;
    size_t size, used;
} tr_chunk;
struct tr_scratch {
    tr_chunk *c;
    int n, cap, cur;
    /* data-parallel shares 1..nsub-1 (see run): their scratch, gradient buffer (n_floats,
     * zero between calls) and expert-load counts; entry 0 unused (share 0 is the model's) */
    int nsub;
    struct tr_scratch **sub;
    float **gbuf;
    double **lbuf;
};

/* the most shares of one call (the pool's thread count is capped to it) */
#define TR_DP_MAX 64

void tr_scratch_free(struct tr_scratch *s) {
    if (!s) return;
    for (int i = 0; i < s->n; i++) free(s->c[i].p);
    free(s->c);
    for (int i = 0; i < s->nsub; i++) {
        tr_scratch_free(s->sub[i]);
        free(s->gbuf[i]);
        free(s->lbuf[i]);
    }
    free(s->sub);
    free(s->gbuf);
    free(s->lbuf);
    free(s);
}

static void scratch_reset(struct tr_scratch *s) {
    for (int i = 0; i < s->n; i++) s->c[i].used = 0;
    s->cur = 0;
}

static void *scratch_alloc(struct tr_scratch *s, size_t n, bool zero, sk_err *e) {
    size_t need;
    if (!sk_add_ok(n ? n : 1, 63, &need)) {
        sk_err_set(e, SK_ERR_RANGE, "train: activation buffer too large");
        return NULL;
    }
    need &= ~(size_t)63;
    while (s->cur < s->n) {
        tr_chunk *c = &s->c[s->cur];
        if (c->size - c->used >= need) {
            char *p = c->p + c->used;
            c->used += need;
            return zero ? memset(p, 0, need) : p;
        }
        s->cur++;
    }
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        tr_chunk *nc = realloc(s->c, sizeof *nc * (size_t)cap);
        if (!nc) {
            sk_err_set(e, SK_ERR_NOMEM, "train: out of memory (activation chunk table)");
            return NULL;
        }
        s->c = nc;
        s->cap = cap;
    }
    size_t size = need > ((size_t)32 << 20) ? need : ((size_t)32 << 20);
    char *p = sk_aligned_alloc(64, size, e);
    if (!p) return NULL;
    s->c[s->n] = (tr_chunk){.p = p, .size = size, .used = need};
    s->cur = s->n++;
    return zero ? memset(p, 0, need) : p;
}

typedef struct fb {
    sk_tmodel *m;
    struct tr_scratch *a;
    sk_err *e;
    int rc;
    const float *cs, *sn; /* rope tables [T][dr/2] */
    sk_pool *pool;        /* element-wise ops, attention, experts (NULL in a data-parallel share) */
    float *gb;            /* gradient buffer, layout of m->grads (m->grads or a share's own) */
    double *load;         /* expert selections counted here (m->load or a share's own) */
    int Bn;               /* sequences of the whole batch (the balance loss averages over them) */
    const int64_t *cnt;   /* counted targets of the whole batch: [0] main head, [k] MTP depth k */
} fb;

/* the gradient of parameter view t (a view into m->grads) in this pass's buffer */
static float *GR(const fb *f, sk_tensor t) {
    return f->gb + ((const float *)t.data - f->m->grads);
}

static float *alloc_fz(fb *f, size_t n, bool zero) {
    if (f->rc) return NULL;
    size_t bytes;
    if (!sk_mul_ok(n ? n : 1, sizeof(float), &bytes)) {
        f->rc = sk_err_set(f->e, SK_ERR_RANGE, "train: activation buffer too large");
        return NULL;
    }
    float *p = scratch_alloc(f->a, bytes, zero, f->e);
    if (!p) f->rc = f->e && f->e->code ? f->e->code : SK_ERR_NOMEM;
    return p;
}

static float *alloc_f(fb *f, size_t n) {
    return alloc_fz(f, n, true);
}

static float *alloc_u(fb *f, size_t n) {
    return alloc_fz(f, n, false);
}

static void *alloc_b(fb *f, size_t n) {
    if (f->rc) return NULL;
    void *p = scratch_alloc(f->a, n, true, f->e);
    if (!p) f->rc = f->e && f->e->code ? f->e->code : SK_ERR_NOMEM;
    return p;
}

/* ---------------------------------------------------------------- routed experts
 * One expert's forward / backward on its gathered rows (run over the pool by
 * tr_par_items, one expert per thread at a time; each writes only its own buffers, its own
 * weight gradients and its tokens' entries of dw). */
typedef struct exp_ctx {
    const fb *f;
    blk *b;
    const sk_layer_weights *w;
    sk_layer_weights *g;
    const float *dout;
    float *dw;
    float **dY, **dEh, **dEg, **dEu, **dX;
    int H, mf, K;
} exp_ctx;

static void expert_fwd(void *v, int x) {
    exp_ctx *c = v;
    blk *b = c->b;
    int n = b->cnt[x], H = c->H, mf = c->mf;
    if (n == 0) return;
    tr_mm_fwd(b->eg[x], b->ex[x], F(c->w->exp_gate[x]), n, H, mf, 0);
    tr_mm_fwd(b->eu[x], b->ex[x], F(c->w->exp_up[x]), n, H, mf, 0);
    tr_swiglu_fwd(b->eh[x], b->eg[x], b->eu[x], (size_t)n * mf);
    tr_mm_fwd(b->ey[x], b->eh[x], F(c->w->exp_down[x]), n, mf, H, 0);
}

static void expert_bwd(void *v, int x) {
    exp_ctx *c = v;
    blk *b = c->b;
    int n = b->cnt[x], H = c->H, mf = c->mf, K = c->K;
    if (n == 0) return;
    float *dY = c->dY[x], *dEh = c->dEh[x], *dEg = c->dEg[x], *dEu = c->dEu[x], *dX = c->dX[x];
    for (int j = 0; j < n; j++) {
        int r = b->rows[x][j], k = b->slot[x][j];
        const float *dor = c->dout + (size_t)r * H, *y = b->ey[x] + (size_t)j * H;
        float wv = b->wk[(size_t)r * K + k];
        double dot = 0;
        for (int i = 0; i < H; i++) {
            dY[(size_t)j * H + i] = wv * dor[i];
            dot += (double)dor[i] * y[i];
        }
        c->dw[(size_t)r * K + k] = (float)dot;
    }
    const sk_layer_weights *w = c->w;
    sk_layer_weights *g = c->g;
    tr_mm_bwd_set(dEh, GR(c->f, g->exp_down[x]), dY, b->eh[x], F(w->exp_down[x]), n, mf, H);
    tr_swiglu_bwd_set_p(NULL, dEg, dEu, dEh, b->eg[x], b->eu[x], (size_t)n * mf);
    tr_mm_bwd_set(dX, GR(c->f, g->exp_gate[x]), dEg, b->ex[x], F(w->exp_gate[x]), n, H, mf);
    tr_mm_bwd(dX, GR(c->f, g->exp_up[x]), dEu, b->ex[x], F(w->exp_up[x]), n, H, mf);
}

/* ---------------------------------------------------------------- block forward */
/* The attention core's dimensions and row strides for sequences of T tokens (q rows of
 * nh*(dn+dr), kv rows of nh*(dn+dv), kva rows of kvr+dr, output rows of nh*dv). */
static tr_attn_dims attn_dims(const sk_model_config *c, int T) {
    int nh = c->n_head, dn = c->qk_nope_dim, dr = c->qk_rope_dim, dv = c->v_head_dim;
    return (tr_attn_dims){.T = T,
                          .nh = nh,
                          .dn = dn,
                          .dr = dr,
                          .dv = dv,
                          .qs = nh * (dn + dr),
                          .kvs = nh * (dn + dv),
                          .kps = c->kv_lora_rank + dr,
                          .os = nh * dv,
                          .scale = sk_model_attn_scale(c)};
}

static void block_fwd(fb *f, blk *b, int l, const float *xin, int B, int T, double *bal) {
    sk_tmodel *m = f->m;
    const sk_model_config *c = &m->cfg;
    const sk_layer_weights *w = &m->w.layers[l];
    int H = c->n_embd, nh = c->n_head, dn = c->qk_nope_dim, dr = c->qk_rope_dim, dv = c->v_head_dim,
        kvr = c->kv_lora_rank, qr = c->q_lora_rank;
    int N = B * T, qd = nh * (dn + dr), kvd = nh * (dn + dv);
    memset(b, 0, sizeof *b);
    b->l = l;
    b->B = B;
    b->T = T;
    b->N = N;
    b->x = xin;
    b->moe = sk_model_is_moe_layer(c, l);
    b->xn1 = alloc_u(f, (size_t)N * H);
    b->rs1 = alloc_u(f, (size_t)N);
    b->q = alloc_u(f, (size_t)N * qd);
    b->kva = alloc_u(f, (size_t)N * (kvr + dr));
    b->ckv = alloc_u(f, (size_t)N * kvr);
    b->ckvn = alloc_u(f, (size_t)N * kvr);
    b->rskv = alloc_u(f, (size_t)N);
    b->kv = alloc_u(f, (size_t)N * kvd);
    b->p = alloc_u(f, (size_t)B * nh * T * T);
    b->o = alloc_u(f, (size_t)N * nh * dv);
    b->h = alloc_u(f, (size_t)N * H);
    b->xn2 = alloc_u(f, (size_t)N * H);
    b->rs2 = alloc_u(f, (size_t)N);
    b->out = alloc_u(f, (size_t)N * H);
    if (qr > 0) {
        b->cq = alloc_u(f, (size_t)N * qr);
        b->cqn = alloc_u(f, (size_t)N * qr);
        b->rsq = alloc_u(f, (size_t)N);
    }
    if (f->rc) return;
    float eps = c->rms_eps;
    tr_rms_fwd_p(f->pool, b->xn1, b->rs1, xin, F(w->attn_norm), N, H, eps);
    if (qr > 0) {
        tr_mm_fwd(b->cq, b->xn1, F(w->q_a), N, H, qr, 0);
        tr_rms_fwd_p(f->pool, b->cqn, b->rsq, b->cq, F(w->q_a_norm), N, qr, eps);
        tr_mm_fwd(b->q, b->cqn, F(w->q_b), N, qr, qd, 0);
    } else {
        tr_mm_fwd(b->q, b->xn1, F(w->q), N, H, qd, 0);
    }
    tr_mm_fwd(b->kva, b->xn1, F(w->kv_a), N, H, kvr + dr, 0);
    for (int r = 0; r < N; r++)
        memcpy(b->ckv + (size_t)r * kvr, b->kva + (size_t)r * (kvr + dr), sizeof(float) * kvr);
    tr_rms_fwd_p(f->pool, b->ckvn, b->rskv, b->ckv, F(w->kv_a_norm), N, kvr, eps);
    tr_mm_fwd(b->kv, b->ckvn, F(w->kv_b), N, kvr, kvd, 0);
    tr_rope_rows_p(f->pool, b->q, N, qd, nh, dn + dr, dn, dr, T, f->cs, f->sn, 1);
    tr_rope_rows_p(f->pool, b->kva, N, kvr + dr, 1, 0, kvr, dr, T, f->cs, f->sn, 1);
    tr_attn_dims ad = attn_dims(c, T);
    tr_attn_fwd_batch(f->pool, &ad, B, b->q, b->kv, b->kva + kvr, b->p, b->o);
    memcpy(b->h, xin, sizeof(float) * (size_t)N * H);
    tr_mm_fwd(b->h, b->o, F(w->o), N, nh * dv, H, 1.0f);
    tr_rms_fwd_p(f->pool, b->xn2, b->rs2, b->h, F(w->ffn_norm), N, H, eps);
    memcpy(b->out, b->h, sizeof(float) * (size_t)N * H);
    if (!b->moe) {
        int ff = c->n_ff;
        b->fg = alloc_u(f, (size_t)N * ff);
        b->fu = alloc_u(f, (size_t)N * ff);
        b->fh = alloc_u(f, (size_t)N * ff);
        if (f->rc) return;
        tr_mm_fwd(b->fg, b->xn2, F(w->ffn_gate), N, H, ff, 0);
        tr_mm_fwd(b->fu, b->xn2, F(w->ffn_up), N, H, ff, 0);
        tr_swiglu_fwd_p(f->pool, b->fh, b->fg, b->fu, (size_t)N * ff);
        tr_mm_fwd(b->out, b->fh, F(w->ffn_down), N, ff, H, 1.0f);
        return;
    }
    /* ---- MoE ---- */
    int E = c->n_routed, K = c->n_active, mf = c->moe_ff;
    b->s = alloc_u(f, (size_t)N * E);
    b->ssum = alloc_f(f, (size_t)N);
    b->sel = alloc_b(f, sizeof(int32_t) * (size_t)N * K);
    b->wk = alloc_f(f, (size_t)N * K);
    b->fcnt = alloc_f(f, (size_t)B * E);
    b->cnt = alloc_b(f, sizeof(int) * (size_t)E);
    b->rows = alloc_b(f, sizeof(int32_t *) * (size_t)E);
    b->slot = alloc_b(f, sizeof(int32_t *) * (size_t)E);
    b->ex = alloc_b(f, sizeof(float *) * (size_t)E);
    b->eg = alloc_b(f, sizeof(float *) * (size_t)E);
    b->eu = alloc_b(f, sizeof(float *) * (size_t)E);
    b->eh = alloc_b(f, sizeof(float *) * (size_t)E);
    b->ey = alloc_b(f, sizeof(float *) * (size_t)E);
    if (f->rc) return;
    tr_mm_fwd(b->s, b->xn2, F(w->gate_inp), N, H, E, 0);
    for (int r = 0; r < N; r++) {
        float *sr = b->s + (size_t)r * E;
        if (c->gating == SK_GATING_SIGMOID) {
            for (int i = 0; i < E; i++) sr[i] = 1.0f / (1.0f + expf(-sr[i]));
        } else {
            float mx = -INFINITY;
            for (int i = 0; i < E; i++)
                if (sr[i] > mx) mx = sr[i];
            double sum = 0;
            for (int i = 0; i < E; i++) {
                sr[i] = expf(sr[i] - mx);
                sum += sr[i];
            }
            for (int i = 0; i < E; i++) sr[i] = (float)(sr[i] / sum);
        }
        double ss = 0;
        for (int i = 0; i < E; i++) ss += sr[i];
        b->ssum[r] = (float)ss;
    }
    tr_route_select(c, b->s, c->has_exp_bias ? F(w->exp_bias) : NULL, N, b->sel);
    for (int r = 0; r < N; r++) {
        const float *sr = b->s + (size_t)r * E;
        const int32_t *sl = b->sel + (size_t)r * K;
        float *wr = b->wk + (size_t)r * K;
        double den = 0;
        for (int k = 0; k < K; k++) den += sr[sl[k]];
        for (int k = 0; k < K; k++) {
            double v = sr[sl[k]];
            if (c->norm_topk) v /= den;
            wr[k] = (float)(v * c->routed_scale);
            b->cnt[sl[k]]++;
        }
    }
    /* balance loss (sequence-wise) and load */
    double lsum = 0;
    for (int s = 0; s < B; s++) {
        float *fc = b->fcnt + (size_t)s * E;
        for (int t = 0; t < T; t++) {
            const int32_t *sl = b->sel + ((size_t)s * T + t) * K;
            for (int k = 0; k < K; k++) fc[sl[k]] += 1.0f;
        }
        for (int i = 0; i < E; i++) f->load[(size_t)l * E + i] += fc[i];
        for (int i = 0; i < E; i++) fc[i] = (float)((double)fc[i] * E / ((double)K * T));
        double L = 0;
        for (int i = 0; i < E; i++) {
            double P = 0;
            for (int t = 0; t < T; t++) {
                size_t r = (size_t)s * T + t;
                P += (double)b->s[r * E + i] / b->ssum[r];
            }
            L += fc[i] * P / T;
        }
        lsum += L;
    }
    *bal += lsum / f->Bn;
    /* shared experts */
    if (c->n_shared > 0) {
        int sf = c->n_shared * mf;
        b->fg = alloc_u(f, (size_t)N * sf);
        b->fu = alloc_u(f, (size_t)N * sf);
        b->fh = alloc_u(f, (size_t)N * sf);
        if (f->rc) return;
        tr_mm_fwd(b->fg, b->xn2, F(w->shexp_gate), N, H, sf, 0);
        tr_mm_fwd(b->fu, b->xn2, F(w->shexp_up), N, H, sf, 0);
        tr_swiglu_fwd_p(f->pool, b->fh, b->fg, b->fu, (size_t)N * sf);
        tr_mm_fwd(b->out, b->fh, F(w->shexp_down), N, sf, H, 1.0f);
    }
    /* routed experts: gather, SwiGLU, weighted scatter-add */
    for (int x = 0; x < E; x++) {
        int n = b->cnt[x];
        if (n == 0) continue;
        b->rows[x] = alloc_b(f, sizeof(int32_t) * (size_t)n);
        b->slot[x] = alloc_b(f, sizeof(int32_t) * (size_t)n);
        b->ex[x] = alloc_u(f, (size_t)n * H);
        b->eg[x] = alloc_u(f, (size_t)n * mf);
        b->eu[x] = alloc_u(f, (size_t)n * mf);
        b->eh[x] = alloc_u(f, (size_t)n * mf);
        b->ey[x] = alloc_u(f, (size_t)n * H);
        if (f->rc) return;
    }
    int *fill = alloc_b(f, sizeof(int) * (size_t)E);
    if (f->rc) return;
    for (int r = 0; r < N; r++)
        for (int k = 0; k < K; k++) {
            int x = b->sel[(size_t)r * K + k];
            int j = fill[x]++;
            b->rows[x][j] = r;
            b->slot[x][j] = k;
            memcpy(b->ex[x] + (size_t)j * H, b->xn2 + (size_t)r * H, sizeof(float) * H);
        }
    exp_ctx ec = {.f = f, .b = b, .w = w, .H = H, .mf = mf};
    tr_par_items(f->pool, E, b->cnt, expert_fwd, &ec);
    /* accumulate in token order (deterministic, independent of the expert loop) */
    for (int x = 0; x < E; x++) {
        for (int j = 0; j < b->cnt[x]; j++) {
            int r = b->rows[x][j];
            float wv = b->wk[(size_t)r * K + b->slot[x][j]];
            float *o = b->out + (size_t)r * H;
            const float *y = b->ey[x] + (size_t)j * H;
            for (int i = 0; i < H; i++) o[i] += wv * y[i];
        }
    }
}

/* ---------------------------------------------------------------- block backward */
/* dout [N,H] -> dx [N,H] (overwritten). balw = d loss / d L_bal of this layer. */
static void block_bwd(fb *f, blk *b, const float *dout, float *dx, float balw) {
    sk_tmodel *m = f->m;
    const sk_model_config *c = &m->cfg;
    const sk_layer_weights *w = &m->w.layers[b->l];
    sk_layer_weights *g = &m->g.layers[b->l];
    int H = c->n_embd, nh = c->n_head, dn = c->qk_nope_dim, dr = c->qk_rope_dim, dv = c->v_head_dim,
        kvr = c->kv_lora_rank, qr = c->q_lora_rank;
    int N = b->N, T = b->T, B = b->B, qd = nh * (dn + dr), kvd = nh * (dn + dv);
    float *dh = alloc_u(f, (size_t)N * H);
    float *dxn2 = alloc_f(f, (size_t)N * H);
    if (f->rc) return;
    memcpy(dh, dout, sizeof(float) * (size_t)N * H);
    if (!b->moe) {
        int ff = c->n_ff;
        float *dfh = alloc_u(f, (size_t)N * ff), *dfg = alloc_u(f, (size_t)N * ff),
              *dfu = alloc_u(f, (size_t)N * ff);
        if (f->rc) return;
        tr_mm_bwd_set(dfh, GR(f, g->ffn_down), dout, b->fh, F(w->ffn_down), N, ff, H);
        tr_swiglu_bwd_set_p(f->pool, dfg, dfu, dfh, b->fg, b->fu, (size_t)N * ff);
        tr_mm_bwd(dxn2, GR(f, g->ffn_gate), dfg, b->xn2, F(w->ffn_gate), N, H, ff);
        tr_mm_bwd(dxn2, GR(f, g->ffn_up), dfu, b->xn2, F(w->ffn_up), N, H, ff);
    } else {
        int E = c->n_routed, K = c->n_active, mf = c->moe_ff;
        if (c->n_shared > 0) {
            int sf = c->n_shared * mf;
            float *dfh = alloc_u(f, (size_t)N * sf), *dfg = alloc_u(f, (size_t)N * sf),
                  *dfu = alloc_u(f, (size_t)N * sf);
            if (f->rc) return;
            tr_mm_bwd_set(dfh, GR(f, g->shexp_down), dout, b->fh, F(w->shexp_down), N, sf, H);
            tr_swiglu_bwd_set_p(f->pool, dfg, dfu, dfh, b->fg, b->fu, (size_t)N * sf);
            tr_mm_bwd(dxn2, GR(f, g->shexp_gate), dfg, b->xn2, F(w->shexp_gate), N, H, sf);
            tr_mm_bwd(dxn2, GR(f, g->shexp_up), dfu, b->xn2, F(w->shexp_up), N, H, sf);
        }
        float *dw = alloc_f(f, (size_t)N * K);
        float *ds = alloc_f(f, (size_t)N * E);
        if (f->rc) return;
        float **bufs = alloc_b(f, sizeof(float *) * 5 * (size_t)E);
        if (f->rc) return;
        exp_ctx ec = {.f = f,
                      .b = b,
                      .w = w,
                      .g = g,
                      .dout = dout,
                      .dw = dw,
                      .dY = bufs,
                      .dEh = bufs + E,
                      .dEg = bufs + 2 * E,
                      .dEu = bufs + 3 * E,
                      .dX = bufs + 4 * E,
                      .H = H,
                      .mf = mf,
                      .K = K};
        for (int x = 0; x < E; x++) {
            int n = b->cnt[x];
            if (n == 0) continue;
            ec.dY[x] = alloc_u(f, (size_t)n * H);
            ec.dEh[x] = alloc_u(f, (size_t)n * mf);
            ec.dEg[x] = alloc_u(f, (size_t)n * mf);
            ec.dEu[x] = alloc_u(f, (size_t)n * mf);
            ec.dX[x] = alloc_u(f, (size_t)n * H);
        }
        if (f->rc) return;
        tr_par_items(f->pool, E, b->cnt, expert_bwd, &ec);
        /* scatter-add in expert order (deterministic) */
        for (int x = 0; x < E; x++)
            for (int j = 0; j < b->cnt[x]; j++) {
                float *d = dxn2 + (size_t)b->rows[x][j] * H;
                const float *s = ec.dX[x] + (size_t)j * H;
                for (int i = 0; i < H; i++) d[i] += s[i];
            }
        /* weights -> scores */
        for (int r = 0; r < N; r++) {
            const float *sr = b->s + (size_t)r * E;
            const int32_t *sl = b->sel + (size_t)r * K;
            const float *gr = dw + (size_t)r * K;
            float *dsr = ds + (size_t)r * E;
            if (c->norm_topk) {
                double den = 0, gs = 0;
                for (int k = 0; k < K; k++) {
                    den += sr[sl[k]];
                    gs += (double)gr[k] * sr[sl[k]];
                }
                for (int k = 0; k < K; k++)
                    dsr[sl[k]] += (float)(c->routed_scale * (gr[k] / den - gs / (den * den)));
            } else {
                for (int k = 0; k < K; k++) dsr[sl[k]] += c->routed_scale * gr[k];
            }
        }
        /* balance loss -> scores */
        if (balw != 0.0f) {
            for (int s = 0; s < B; s++) {
                const float *fc = b->fcnt + (size_t)s * E;
                for (int t = 0; t < T; t++) {
                    size_t r = (size_t)s * T + t;
                    const float *sr = b->s + r * E;
                    double S = b->ssum[r], fs = 0;
                    for (int i = 0; i < E; i++) fs += (double)fc[i] * sr[i];
                    double cst = (double)balw / ((double)f->Bn * T);
                    for (int i = 0; i < E; i++)
                        ds[r * E + i] += (float)(cst * (fc[i] / S - fs / (S * S)));
                }
            }
        }
        /* scores -> router logits (in place in ds) */
        for (int r = 0; r < N; r++) {
            const float *sr = b->s + (size_t)r * E;
            float *d = ds + (size_t)r * E;
            if (c->gating == SK_GATING_SIGMOID) {
                for (int i = 0; i < E; i++) d[i] *= sr[i] * (1.0f - sr[i]);
            } else {
                double dot = 0;
                for (int i = 0; i < E; i++) dot += (double)d[i] * sr[i];
                for (int i = 0; i < E; i++) d[i] = sr[i] * (d[i] - (float)dot);
            }
        }
        tr_mm_bwd(dxn2, GR(f, g->gate_inp), ds, b->xn2, F(w->gate_inp), N, H, E);
    }
    tr_rms_bwd_p(f->pool, dh, GR(f, g->ffn_norm), dxn2, b->h, b->rs2, F(w->ffn_norm), N, H);
    /* attention */
    float *dO = alloc_u(f, (size_t)N * nh * dv), *dq = alloc_f(f, (size_t)N * qd),
          *dkv = alloc_f(f, (size_t)N * kvd), *dkva = alloc_f(f, (size_t)N * (kvr + dr)),
          *scratch = alloc_u(f, (size_t)T * T * (f->pool ? sk_pool_size(f->pool) : 1)),
          *dckvn = alloc_u(f, (size_t)N * kvr), *dckv = alloc_f(f, (size_t)N * kvr),
          *dxn1 = alloc_u(f, (size_t)N * H);
    if (f->rc) return;
    tr_mm_bwd_set(dO, GR(f, g->o), dh, b->o, F(w->o), N, nh * dv, H);
    tr_attn_dims ad = attn_dims(c, T);
    tr_attn_bwd_batch(f->pool, &ad, B, b->q, b->kv, b->kva + kvr, b->p, dO, dq, dkv, dkva + kvr,
                      scratch);
    tr_rope_rows_p(f->pool, dq, N, qd, nh, dn + dr, dn, dr, T, f->cs, f->sn, -1);
    tr_rope_rows_p(f->pool, dkva, N, kvr + dr, 1, 0, kvr, dr, T, f->cs, f->sn, -1);
    tr_mm_bwd_set(dckvn, GR(f, g->kv_b), dkv, b->ckvn, F(w->kv_b), N, kvr, kvd);
    tr_rms_bwd_p(f->pool, dckv, GR(f, g->kv_a_norm), dckvn, b->ckv, b->rskv, F(w->kv_a_norm), N,
                 kvr);
    for (int r = 0; r < N; r++)
        memcpy(dkva + (size_t)r * (kvr + dr), dckv + (size_t)r * kvr, sizeof(float) * kvr);
    tr_mm_bwd_set(dxn1, GR(f, g->kv_a), dkva, b->xn1, F(w->kv_a), N, H, kvr + dr);
    if (qr > 0) {
        float *dcqn = alloc_u(f, (size_t)N * qr), *dcq = alloc_f(f, (size_t)N * qr);
        if (f->rc) return;
        tr_mm_bwd_set(dcqn, GR(f, g->q_b), dq, b->cqn, F(w->q_b), N, qr, qd);
        tr_rms_bwd_p(f->pool, dcq, GR(f, g->q_a_norm), dcqn, b->cq, b->rsq, F(w->q_a_norm), N, qr);
        tr_mm_bwd(dxn1, GR(f, g->q_a), dcq, b->xn1, F(w->q_a), N, H, qr);
    } else {
        tr_mm_bwd(dxn1, GR(f, g->q), dq, b->xn1, F(w->q), N, H, qd);
    }
    memcpy(dx, dh, sizeof(float) * (size_t)N * H);
    tr_rms_bwd_p(f->pool, dx, GR(f, g->attn_norm), dxn1, b->x, b->rs1, F(w->attn_norm), N, H);
}

/* ---------------------------------------------------------------- whole model */
static int check_batch(const sk_tmodel *m, const sk_tbatch *bt, sk_err *e) {
    if (bt->B <= 0 || bt->S < 2)
        return sk_err_set(e, SK_ERR_INVALID,
                          "train: a batch needs >= 1 sequence of >= 2 ids (got %d x %d)", bt->B,
                          bt->S);
    if (bt->S - 1 <= m->cfg.n_mtp)
        return sk_err_set(e, SK_ERR_INVALID,
                          "train: sequences of %d ids are too short for MTP depth %d (need > %d)",
                          bt->S, m->cfg.n_mtp, m->cfg.n_mtp + 1);
    if ((int64_t)bt->B * bt->S > INT32_MAX / 2)
        return sk_err_set(e, SK_ERR_RANGE, "train: batch of %d x %d ids is too large", bt->B,
                          bt->S);
    for (int i = 0; i < bt->B * bt->S; i++)
        if (bt->ids[i] < 0 || bt->ids[i] >= m->cfg.n_vocab)
            return sk_err_set(
                e, SK_ERR_RANGE,
                "train: token id %d (sequence %d, position %d) is outside the vocabulary [0, %d)",
                bt->ids[i], i / bt->S, i % bt->S, m->cfg.n_vocab);
    return SK_OK;
}

/* head + CE on rows hk [N,H] (N = B*Tk rows, row (s,i) targets ids[s][i+k+1]; k = 0 is the
 * main head, k >= 1 MTP depth k). Returns the summed loss of these rows divided by the whole
 * batch's count f->cnt[k] (so the shares of a data-parallel step add up to the batch mean);
 * with grad, adds into dhk and the head gradient. */
static double head_ce(fb *f, const sk_tbatch *bt, const float *hk, int Tk, int k, bool grad,
                      float scale_num, float *dhk, float *logits_out) {
    sk_tmodel *m = f->m;
    int H = m->cfg.n_embd, V = m->cfg.n_vocab, B = bt->B, N = B * Tk, off = k + 1;
    int chunk = (int)(((size_t)64 << 20) / (size_t)V);
    if (chunk < 1) chunk = 1;
    if (chunk > N) chunk = N;
    float *lg = alloc_u(f, (size_t)chunk * V);
    float *wt = alloc_f(f, (size_t)N);
    int32_t *tg = alloc_b(f, sizeof(int32_t) * (size_t)N);
    if (f->rc) return 0;
    int64_t n = 0, nt = f->cnt[k];
    for (int s = 0; s < B; s++)
        for (int i = 0; i < Tk; i++) {
            size_t r = (size_t)s * Tk + i;
            int j = i + off;
            tg[r] = bt->ids[(size_t)s * bt->S + j];
            wt[r] = bt->mask ? (bt->mask[(size_t)s * bt->S + j] ? 1.0f : 0.0f) : 1.0f;
            n += wt[r] != 0.0f;
        }
    /* rows in chunks, so the logits never take more than ~64 Mi floats (a 129k vocabulary
     * would otherwise need N x 0.5 MB) */
    float gs = nt > 0 ? scale_num / (float)nt : 0.0f;
    double sum = 0;
    for (int r0 = 0; r0 < N; r0 += chunk) {
        int nr = N - r0 < chunk ? N - r0 : chunk;
        const float *h = hk + (size_t)r0 * H;
        tr_mm_fwd(lg, h, F(m->w.output), nr, H, V, 0);
        if (logits_out) memcpy(logits_out + (size_t)r0 * V, lg, sizeof(float) * (size_t)nr * V);
        sum += tr_ce(lg, tg + r0, wt + r0, nr, V, grad ? lg : NULL, gs, f->pool);
        if (grad && n > 0)
            tr_mm_bwd(dhk + (size_t)r0 * H, GR(f, m->g.output), lg, h, F(m->w.output), nr, H, V);
    }
    return nt > 0 ? sum / (double)nt : 0.0;
}

/* Float count of the activations one call keeps (forward caches and the larger backward
 * temporaries), an upper estimate used to refuse batches that cannot fit in memory. */
static double activation_floats(const sk_model_config *c, int B, int T) {
    double N = (double)B * T, H = c->n_embd, nh = c->n_head;
    double qd = nh * (c->qk_nope_dim + c->qk_rope_dim), kvd = nh * (c->qk_nope_dim + c->v_head_dim);
    double kva = c->kv_lora_rank + c->qk_rope_dim, o = nh * c->v_head_dim;
    double per = N * (10 * H + 2 * qd + 2 * kvd + 2 * kva + 3 * c->kv_lora_rank + 2 * o +
                      3 * c->q_lora_rank) +
                 2.0 * B * nh * T * T + (double)T * T;
    double ffn_dense = N * 6.0 * c->n_ff;
    double ffn_moe = N * (6.0 * c->n_shared * c->moe_ff + 3.0 * c->n_routed +
                          c->n_active * (5.0 * H + 6.0 * c->moe_ff));
    double total = 0;
    for (int l = 0; l < c->n_layer + c->n_mtp; l++)
        total += per + (sk_model_is_moe_layer(c, l) ? ffn_moe : ffn_dense);
    total += N * (8.0 * H) * (1 + c->n_mtp) + 2.0 * ((size_t)64 << 20);
    return total;
}

/* The forward (and, with grad, the backward) of the sequences of bt with f's buffers, pool,
 * gradient buffer and load counts; sets S->main, S->mtp[], S->bal to this pass's part of the
 * whole batch's values (f->cnt and f->Bn normalise by the whole batch). */
static void pass(fb *f, const sk_tbatch *bt, bool grad, float scale, sk_tstats *S,
                 float *logits_out) {
    sk_tmodel *m = f->m;
    const sk_model_config *c = &m->cfg;
    int B = bt->B, T = bt->S - 1, H = c->n_embd, L = c->n_layer, D = c->n_mtp, dr = c->qk_rope_dim;
    blk *blks = alloc_b(f, sizeof(blk) * (size_t)(L + D));
    float *cs = alloc_f(f, (size_t)T * (dr / 2)), *sn = alloc_f(f, (size_t)T * (dr / 2));
    float *x0 = alloc_u(f, (size_t)B * T * H);
    if (f->rc) return;
    tr_rope_tables(c, T, cs, sn);
    f->cs = cs;
    f->sn = sn;
    const float *emb = F(m->w.tok_embd);
    for (int s = 0; s < B; s++)
        for (int t = 0; t < T; t++)
            memcpy(x0 + ((size_t)s * T + t) * H, emb + (size_t)bt->ids[(size_t)s * bt->S + t] * H,
                   sizeof(float) * H);
    double bal = 0;
    const float *x = x0;
    for (int l = 0; l < L; l++) {
        block_fwd(f, &blks[l], l, x, B, T, &bal);
        if (f->rc) return;
        x = blks[l].out;
    }
    int N = B * T;
    const float *hf = x;
    float *h0 = alloc_u(f, (size_t)N * H), *rs0 = alloc_f(f, (size_t)N);
    float *dh0 = alloc_f(f, (size_t)N * H);
    if (f->rc) return;
    tr_rms_fwd_p(f->pool, h0, rs0, hf, F(m->w.output_norm), N, H, c->rms_eps);
    S->main = head_ce(f, bt, h0, T, 0, grad, scale, dh0, logits_out);
    if (f->rc) return;
    /* MTP */
    float *hin[SK_TRAIN_MAX_MTP + 1], *hn[SK_TRAIN_MAX_MTP + 1], *en[SK_TRAIN_MAX_MTP + 1],
        *ek[SK_TRAIN_MAX_MTP + 1], *cat[SK_TRAIN_MAX_MTP + 1], *u[SK_TRAIN_MAX_MTP + 1],
        *hk[SK_TRAIN_MAX_MTP + 1], *dhk[SK_TRAIN_MAX_MTP + 1], *rse[SK_TRAIN_MAX_MTP + 1],
        *rsh[SK_TRAIN_MAX_MTP + 1], *rsk[SK_TRAIN_MAX_MTP + 1];
    hk[0] = h0;
    dhk[0] = dh0;
    float lam = D > 0 ? c->mtp_lambda / (float)D : 0.0f;
    for (int k = 1; k <= D; k++) {
        int Tk = T - k, Nk = B * Tk, Tp = T - k + 1, lid = L + k - 1;
        const sk_layer_weights *w = &m->w.layers[lid];
        hin[k] = alloc_u(f, (size_t)Nk * H);
        hn[k] = alloc_u(f, (size_t)Nk * H);
        ek[k] = alloc_u(f, (size_t)Nk * H);
        en[k] = alloc_u(f, (size_t)Nk * H);
        cat[k] = alloc_u(f, (size_t)Nk * 2 * H);
        u[k] = alloc_u(f, (size_t)Nk * H);
        hk[k] = alloc_u(f, (size_t)Nk * H);
        dhk[k] = alloc_f(f, (size_t)Nk * H);
        rse[k] = alloc_f(f, (size_t)Nk);
        rsh[k] = alloc_f(f, (size_t)Nk);
        rsk[k] = alloc_f(f, (size_t)Nk);
        if (f->rc) return;
        for (int s = 0; s < B; s++)
            for (int i = 0; i < Tk; i++) {
                size_t r = (size_t)s * Tk + i;
                memcpy(ek[k] + r * H, emb + (size_t)bt->ids[(size_t)s * bt->S + i + k] * H,
                       sizeof(float) * H);
                memcpy(hin[k] + r * H, hk[k - 1] + ((size_t)s * Tp + i) * H, sizeof(float) * H);
            }
        tr_rms_fwd_p(f->pool, en[k], rse[k], ek[k], F(w->enorm), Nk, H, c->rms_eps);
        tr_rms_fwd_p(f->pool, hn[k], rsh[k], hin[k], F(w->hnorm), Nk, H, c->rms_eps);
        for (int r = 0; r < Nk; r++) {
            memcpy(cat[k] + (size_t)r * 2 * H, en[k] + (size_t)r * H, sizeof(float) * H);
            memcpy(cat[k] + (size_t)r * 2 * H + H, hn[k] + (size_t)r * H, sizeof(float) * H);
        }
        tr_mm_fwd(u[k], cat[k], F(w->eh_proj), Nk, 2 * H, H, 0);
        block_fwd(f, &blks[lid], lid, u[k], B, Tk, &bal);
        if (f->rc) return;
        tr_rms_fwd_p(f->pool, hk[k], rsk[k], blks[lid].out, F(w->head_norm), Nk, H, c->rms_eps);
        S->mtp[k - 1] = head_ce(f, bt, hk[k], Tk, k, grad, scale * lam, dhk[k], NULL);
        if (f->rc) return;
    }
    S->bal = bal;
    if (!grad) return;
    /* ---- backward ---- */
    float balw = c->aux_alpha * scale;
    for (int k = D; k >= 1; k--) {
        int Tk = T - k, Nk = B * Tk, Tp = T - k + 1, lid = L + k - 1;
        const sk_layer_weights *w = &m->w.layers[lid];
        sk_layer_weights *g = &m->g.layers[lid];
        float *dbo = alloc_f(f, (size_t)Nk * H), *du = alloc_u(f, (size_t)Nk * H),
              *dcat = alloc_u(f, (size_t)Nk * 2 * H), *den = alloc_u(f, (size_t)Nk * H),
              *dhn = alloc_u(f, (size_t)Nk * H), *dek = alloc_f(f, (size_t)Nk * H),
              *dhin = alloc_f(f, (size_t)Nk * H);
        if (f->rc) return;
        tr_rms_bwd_p(f->pool, dbo, GR(f, g->head_norm), dhk[k], blks[lid].out, rsk[k],
                     F(w->head_norm), Nk, H);
        block_bwd(f, &blks[lid], dbo, du, balw);
        if (f->rc) return;
        tr_mm_bwd_set(dcat, GR(f, g->eh_proj), du, cat[k], F(w->eh_proj), Nk, 2 * H, H);
        for (int r = 0; r < Nk; r++) {
            memcpy(den + (size_t)r * H, dcat + (size_t)r * 2 * H, sizeof(float) * H);
            memcpy(dhn + (size_t)r * H, dcat + (size_t)r * 2 * H + H, sizeof(float) * H);
        }
        tr_rms_bwd_p(f->pool, dek, GR(f, g->enorm), den, ek[k], rse[k], F(w->enorm), Nk, H);
        tr_rms_bwd_p(f->pool, dhin, GR(f, g->hnorm), dhn, hin[k], rsh[k], F(w->hnorm), Nk, H);
        float *gemb = GR(f, m->g.tok_embd);
        for (int s = 0; s < B; s++)
            for (int i = 0; i < Tk; i++) {
                size_t r = (size_t)s * Tk + i;
                float *ge = gemb + (size_t)bt->ids[(size_t)s * bt->S + i + k] * H;
                float *dp = dhk[k - 1] + ((size_t)s * Tp + i) * H;
                for (int j = 0; j < H; j++) {
                    ge[j] += dek[r * H + j];
                    dp[j] += dhin[r * H + j];
                }
            }
    }
    float *dx = alloc_f(f, (size_t)N * H), *dx2 = alloc_u(f, (size_t)N * H);
    if (f->rc) return;
    tr_rms_bwd_p(f->pool, dx, GR(f, m->g.output_norm), dh0, hf, rs0, F(m->w.output_norm), N, H);
    for (int l = L - 1; l >= 0; l--) {
        block_bwd(f, &blks[l], dx, dx2, balw);
        if (f->rc) return;
        float *t = dx;
        dx = dx2;
        dx2 = t;
    }
    float *gemb = GR(f, m->g.tok_embd);
    for (int s = 0; s < B; s++)
        for (int t = 0; t < T; t++) {
            float *ge = gemb + (size_t)bt->ids[(size_t)s * bt->S + t] * H;
            const float *d = dx + ((size_t)s * T + t) * H;
            for (int j = 0; j < H; j++) ge[j] += d[j];
        }
}

/* ---------------------------------------------------------------- data parallelism
 * With a pool of P > 1 threads and B >= 2 sequences, a call splits the batch into
 * min(P, B) shares of whole sequences (sk_split_range) and runs each share's whole forward
 * and backward on one pool thread, serially inside (single-threaded OpenBLAS, no pool), with
 * its own activation scratch. Share 0 adds its gradient into m->grads and its selections
 * into m->load; share i >= 1 into its own buffers (kept zero between calls), which are then
 * added in share order, element by element: ((g + g_1) + g_2) + ..., so the result is
 * reproducible for a fixed thread count. Every loss is normalised by the whole batch's
 * counts (head_ce's f->cnt, the balance loss's f->Bn), so the shares' parts add up to the
 * serial pass's loss and gradient (to float rounding). bf16 products (shared conversion
 * buffers) and single-sequence batches keep the intra-op split over the pool instead. */
static bool g_dp_off;
void tr_set_data_parallel(bool on) {
    g_dp_off = !on;
}

static int dp_prepare(sk_tmodel *m, int nsh, size_t nload, sk_err *e) {
    struct tr_scratch *r = m->scratch;
    if (r->nsub >= nsh) return SK_OK;
    struct tr_scratch **sub = realloc(r->sub, sizeof *sub * (size_t)nsh);
    if (sub) r->sub = sub;
    float **gb = sub ? realloc(r->gbuf, sizeof *gb * (size_t)nsh) : NULL;
    if (gb) r->gbuf = gb;
    double **lb = gb ? realloc(r->lbuf, sizeof *lb * (size_t)nsh) : NULL;
    if (lb) r->lbuf = lb;
    if (!lb) return sk_err_set(e, SK_ERR_NOMEM, "train: out of memory (data-parallel shares)");
    size_t bytes;
    if (!sk_mul_ok(m->n_floats ? m->n_floats : 1, sizeof(float), &bytes))
        return sk_err_set(e, SK_ERR_RANGE, "train: model too large");
    for (int i = r->nsub; i < nsh; i++) {
        r->sub[i] = NULL;
        r->gbuf[i] = NULL;
        r->lbuf[i] = NULL;
        if (i == 0) continue; /* share 0 uses the root scratch, m->grads and m->load */
        r->sub[i] = calloc(1, sizeof(struct tr_scratch));
        r->gbuf[i] = sk_aligned_alloc(64, bytes, e);
        r->lbuf[i] = calloc(nload, sizeof(double));
        r->nsub = i; /* sub[0..i-1] complete; entry i freed by tr_scratch_free if partial */
        if (!r->sub[i] || !r->gbuf[i] || !r->lbuf[i]) {
            tr_scratch_free(r->sub[i]);
            free(r->gbuf[i]);
            free(r->lbuf[i]);
            r->sub[i] = NULL;
            r->gbuf[i] = NULL;
            r->lbuf[i] = NULL;
            return sk_err_set(e, SK_ERR_NOMEM, "train: out of memory (data-parallel shares)");
        }
        memset(r->gbuf[i], 0, bytes);
    }
    r->nsub = nsh;
    return SK_OK;
}

typedef struct dp_ctx {
    fb *f;
    sk_tbatch *bt;
    sk_tstats *part;
    float **logits; /* per share, or NULL */
    bool grad;
    float scale;
    int nsh;
    /* the reduction */
    float *g, **gbuf;
    size_t n;
} dp_ctx;

static void dp_task(void *v, int ith, int nth) {
    dp_ctx *c = v;
    (void)nth;
    if (ith >= c->nsh) return;
    scratch_reset(c->f[ith].a);
    pass(&c->f[ith], &c->bt[ith], c->grad, c->scale, &c->part[ith],
         c->logits ? c->logits[ith] : NULL);
}

static void dp_reduce_task(void *v, int ith, int nth) {
    dp_ctx *c = v;
    size_t lo, hi;
    sk_split_range((c->n + 15) / 16, ith, nth, &lo, &hi);
    lo *= 16;
    hi = hi * 16 < c->n ? hi * 16 : c->n;
    for (int i = 1; i < c->nsh; i++) {
        float *restrict g = c->g, *restrict s = c->gbuf[i];
        for (size_t j = lo; j < hi; j++) {
            g[j] += s[j];
            s[j] = 0.0f;
        }
    }
}

static int run(sk_tmodel *m, const sk_tbatch *bt, bool grad, float scale, sk_tstats *st,
               float *logits_out, sk_err *e) {
    int rc = check_batch(m, bt, e);
    if (rc) return rc;
    const sk_model_config *c = &m->cfg;
    int B = bt->B, T = bt->S - 1, D = c->n_mtp, P = m->pool ? sk_pool_size(m->pool) : 1;
    int nsh = P < B ? P : B;
    if (nsh > TR_DP_MAX) nsh = TR_DP_MAX;
    if (nsh < 2 || sk_train_get_bf16() || g_dp_off) nsh = 1;
    {
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        double phys = pages > 0 && psz > 0 ? (double)pages * (double)psz : 0;
        double need = activation_floats(&m->cfg, bt->B, bt->S - 1) * sizeof(float);
        if (phys > 0 && need + (1.0 + nsh) * (double)m->n_floats * sizeof(float) > phys)
            return sk_err_set(e, SK_ERR_NOMEM,
                              "train: a batch of %d x %d tokens needs about %.1f GB of activations "
                              "(this machine has %.1f GB); use a smaller batch (or --accum) or "
                              "shorter sequences",
                              bt->B, bt->S, need / 1e9, phys / 1e9);
    }
    /* counted targets of the whole batch, per head (conventions 2-3) */
    int64_t cnt[SK_TRAIN_MAX_MTP + 1];
    for (int k = 0; k <= D; k++) {
        int64_t n = 0;
        for (int s = 0; s < B; s++)
            for (int j = k + 1; j <= T; j++)
                n += bt->mask ? bt->mask[(size_t)s * bt->S + j] != 0 : 1;
        cnt[k] = n;
    }
    if (!m->scratch) {
        m->scratch = calloc(1, sizeof *m->scratch);
        if (!m->scratch) return sk_err_set(e, SK_ERR_NOMEM, "train: out of memory");
    }
    int E = c->n_routed > 0 ? c->n_routed : 1;
    size_t nload = (size_t)(c->n_layer + D) * (size_t)E;
    if (nsh > 1 && (rc = dp_prepare(m, nsh, nload, e))) return rc;
    /* OpenBLAS single-threaded: the pool's threads run the products (either split by rows,
     * tr_set_mm_pool, or one share per thread) */
    int blas_threads = 0;
    if (P > 1) {
        blas_threads = openblas_get_num_threads();
        if (blas_threads > 1) openblas_set_num_threads(1);
        if (nsh == 1) tr_set_mm_pool(m->pool);
    }
    sk_tstats S;
    memset(&S, 0, sizeof S);
    if (nsh == 1) {
        fb f = {.m = m,
                .a = m->scratch,
                .e = e,
                .pool = m->pool,
                .gb = m->grads,
                .load = m->load,
                .Bn = B,
                .cnt = cnt};
        scratch_reset(f.a);
        pass(&f, bt, grad, scale, &S, logits_out);
        rc = f.rc;
    } else {
        struct tr_scratch *r = m->scratch;
        fb fs[TR_DP_MAX];
        sk_tbatch bts[TR_DP_MAX];
        sk_tstats part[TR_DP_MAX];
        sk_err errs[TR_DP_MAX];
        float *lg[TR_DP_MAX];
        for (int i = 0; i < nsh; i++) {
            size_t lo, hi;
            sk_split_range((size_t)B, i, nsh, &lo, &hi);
            bts[i] = (sk_tbatch){.B = (int)(hi - lo),
                                 .S = bt->S,
                                 .ids = bt->ids + lo * (size_t)bt->S,
                                 .mask = bt->mask ? bt->mask + lo * (size_t)bt->S : NULL};
            memset(&errs[i], 0, sizeof errs[i]);
            memset(&part[i], 0, sizeof part[i]);
            fs[i] = (fb){.m = m,
                         .a = i ? r->sub[i] : r,
                         .e = i ? &errs[i] : e,
                         .pool = NULL,
                         .gb = i ? r->gbuf[i] : m->grads,
                         .load = i ? r->lbuf[i] : m->load,
                         .Bn = B,
                         .cnt = cnt};
            lg[i] = logits_out ? logits_out + lo * (size_t)T * (size_t)c->n_vocab : NULL;
        }
        dp_ctx dc = {.f = fs,
                     .bt = bts,
                     .part = part,
                     .logits = logits_out ? lg : NULL,
                     .grad = grad,
                     .scale = scale,
                     .nsh = nsh,
                     .g = m->grads,
                     .gbuf = r->gbuf,
                     .n = m->n_floats};
        sk_pool_run(m->pool, dp_task, &dc);
        for (int i = 0; i < nsh && !rc; i++)
            if (fs[i].rc) {
                rc = fs[i].rc;
                if (i && e) *e = errs[i];
            }
        for (int i = 0; i < nsh; i++) {
            S.main += part[i].main;
            for (int k = 0; k < D; k++) S.mtp[k] += part[i].mtp[k];
            S.bal += part[i].bal;
        }
        if (grad) sk_pool_run(m->pool, dp_reduce_task, &dc); /* also re-zeroes the buffers */
        for (int i = 1; i < nsh; i++)
            for (size_t j = 0; j < nload; j++) {
                m->load[j] += r->lbuf[i][j];
                r->lbuf[i][j] = 0;
            }
    }
    if (blas_threads) {
        if (nsh == 1) tr_set_mm_pool(NULL);
        if (blas_threads > 1) openblas_set_num_threads(blas_threads);
    }
    if (rc) return rc;
    S.n_main = cnt[0];
    float lam = D > 0 ? c->mtp_lambda / (float)D : 0.0f;
    S.loss = S.main;
    for (int k = 1; k <= D; k++) S.loss += lam * S.mtp[k - 1];
    S.loss += c->aux_alpha * S.bal;
    if (st) *st = S;
    return SK_OK;
}

int sk_tmodel_grad(sk_tmodel *m, const sk_tbatch *b, float scale, sk_tstats *st, sk_err *e) {
    return run(m, b, true, scale, st, NULL, e);
}

int sk_tmodel_loss(sk_tmodel *m, const sk_tbatch *b, sk_tstats *st, float *logits, sk_err *e) {
    return run(m, b, false, 1.0f, st, logits, e);
}
