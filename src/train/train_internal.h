/* train_internal.h — the per-op forward/backward primitives of the trainer (row-major
 * float32, N rows), shared by tmodel.c and the gradient-check tests. Backward functions
 * ADD into their gradient outputs (dx, dW, dw), never overwrite. */
#ifndef SK_TRAIN_INTERNAL_H
#define SK_TRAIN_INTERNAL_H

#include "sk_train.h"

#include <stddef.h>

/* The pool tr_mm_fwd / tr_mm_bwd split their products over (row blocks of the output, one
 * single-threaded OpenBLAS call each; NULL = one OpenBLAS call). Set by sk_tmodel_grad /
 * sk_tmodel_loss for their duration when they are not data-parallel (one sequence, bf16),
 * with OpenBLAS at 1 thread meanwhile. */
void tr_set_mm_pool(sk_pool *pool);
/* y[N,out] = beta*y + x[N,in] · W[out,in]ᵀ */
void tr_mm_fwd(float *y, const float *x, const float *W, int N, int in, int out, float beta);
/* dx[N,in] += dy·W (dx may be NULL); dW[out,in] += dyᵀ·x (dW may be NULL). */
void tr_mm_bwd(float *dx, float *dW, const float *dy, const float *x, const float *W, int N, int in,
               int out);
/* The same with dx overwritten (dx = dy·W), dW still added into. */
void tr_mm_bwd_set(float *dx, float *dW, const float *dy, const float *x, const float *W, int N,
                   int in, int out);
/* y = x / sqrt(mean(x²)+eps) * w per row; rstd[N] saved. y may equal x? no (distinct). */
void tr_rms_fwd(float *y, float *rstd, const float *x, const float *w, int N, int n, float eps);
void tr_rms_bwd(float *dx, float *dw, const float *dy, const float *x, const float *rstd,
                const float *w, int N, int n);
/* Rotation tables for positions 0..T-1: cs/sn [T][d/2] from the config's YaRN frequencies. */
void tr_rope_tables(const sk_model_config *c, int T, float *cs, float *sn);
/* Rotates d elements (adjacent pairs) at v by position t; dir = +1 forward, -1 backward. */
void tr_rope_apply(float *v, int d, const float *cs_t, const float *sn_t, int dir);

/* SwiGLU: h = silu(g) * u; backward adds dg, du. */
void tr_swiglu_fwd(float *h, const float *g, const float *u, size_t n);
void tr_swiglu_bwd(float *dg, float *du, const float *dh, const float *g, const float *u, size_t n);

/* MLA attention core on one sequence, all heads. q rows (stride qs) hold per head
 * [nope | rope(roped)]; kv rows (stride kvs) per head [k_nope | v]; kpe rows (stride kps)
 * the shared roped key. p: [nh][T][T] probabilities (saved, zero above the diagonal);
 * o rows (stride os) per head v. Matrix products through OpenBLAS, in blocks of 64 query
 * rows that multiply only the keys up to the block's last row (causal). */
typedef struct tr_attn_dims {
    int T, nh, dn, dr, dv;
    int qs, kvs, kps, os;
    float scale;
} tr_attn_dims;
void tr_attn_fwd(const tr_attn_dims *d, const float *q, const float *kv, const float *kpe, float *p,
                 float *o);
/* Backward: adds into dq, dkv and dkpe (shared by the heads); scratch holds T*T floats. */
void tr_attn_bwd(const tr_attn_dims *d, const float *q, const float *kv, const float *kpe,
                 const float *p, const float *dout, float *dq, float *dkv, float *dkpe,
                 float *scratch);

/* Masked cross-entropy over N rows of V logits: returns the summed -log p(target) over
 * rows with w[i] != 0 (w NULL = all), and, if dlogits, writes dlogits = (softmax - onehot)
 * * w[i] * gscale (overwrites). */
double tr_ce(const float *logits, const int32_t *tgt, const float *w, int N, int V, float *dlogits,
             float gscale, sk_pool *pool); /* rows split over pool's threads (may be NULL) */

/* Router selection (no gradient): s [N][E] unbiased scores, bias [E] or NULL. Writes
 * sel [N][K]. Groups per config (group score: top-2 sum with bias, max without). */
void tr_route_select(const sk_model_config *c, const float *s, const float *bias, int N,
                     int32_t *sel);

/* The same element-wise ops split over a pool's threads (pool NULL = serial); the results
 * equal the serial functions' bit for bit whatever the thread count. */
void tr_rms_fwd_p(sk_pool *pool, float *y, float *rstd, const float *x, const float *w, int N,
                  int n, float eps);
void tr_rms_bwd_p(sk_pool *pool, float *dx, float *dw, const float *dy, const float *x,
                  const float *rstd, const float *w, int N, int n);
void tr_swiglu_fwd_p(sk_pool *pool, float *h, const float *g, const float *u, size_t n);
void tr_swiglu_bwd_p(sk_pool *pool, float *dg, float *du, const float *dh, const float *g,
                     const float *u, size_t n);
/* tr_swiglu_bwd_p with dg, du overwritten instead of added into */
void tr_swiglu_bwd_set_p(sk_pool *pool, float *dg, float *du, const float *dh, const float *g,
                         const float *u, size_t n);
/* Rotates, in each of N rows (stride floats apart, position t = row % T), nv vectors of d
 * elements at base + row*stride + voff + h*vstride. */
void tr_rope_rows_p(sk_pool *pool, float *base, int N, int stride, int nv, int vstride, int voff,
                    int d, int T, const float *cs, const float *sn, int dir);

/* tr_attn_fwd / tr_attn_bwd over B sequences (rows s*T.., probabilities s*nh*T*T..), split
 * over the pool's threads with OpenBLAS single-threaded meanwhile. scratch: T*T floats per
 * pool thread (sk_pool_size, 1 without a pool). */
void tr_attn_fwd_batch(sk_pool *pool, const tr_attn_dims *d, int B, const float *q, const float *kv,
                       const float *kpe, float *p, float *o);
void tr_attn_bwd_batch(sk_pool *pool, const tr_attn_dims *d, int B, const float *q, const float *kv,
                       const float *kpe, const float *p, const float *dout, float *dq, float *dkv,
                       float *dkpe, float *scratch);

/* Runs fn(ctx, i) for the items i = 0..n-1 (e.g. the routed experts) over the pool's
 * threads, each item whole on one thread (dealt by cost, largest first; deterministic), with
 * tr_mm_* single-threaded inside; serial when pool is NULL or bf16 products are on. The
 * items must write disjoint memory. */
typedef void (*tr_item_fn)(void *ctx, int i);
void tr_par_items(sk_pool *pool, int n, const int *cost, tr_item_fn fn, void *ctx);

/* Rounds n floats to bfloat16 precision (nearest even), dst may equal src. */
void tr_bf16_round(float *dst, const float *src, size_t n);

/* Data parallelism of sk_tmodel_grad / sk_tmodel_loss over the model's pool (the batch split
 * into shares of whole sequences, one per thread; tmodel.c): on by default; off = every
 * product split by rows over the pool instead. Process-wide; for tests and benchmarks. */
void tr_set_data_parallel(bool on);

/* Frees the activation scratch of a model (sk_tmodel_free). */
void tr_scratch_free(struct tr_scratch *s);

#endif
