/*
 * kernels — the compute primitives the model layer needs, each with one scalar reference
 * and SIMD variants (AVX2, AVX-512 with VNNI/BF16 where present, NEON later) chosen once at
 * start-up from CPU features. SEEK_CPU=scalar|avx2|avx512 caps the level, so the tests run
 * every path on one machine and compare it with the scalar reference.
 *
 * Matrix products take an sk_tensor weight view W of any dequantizable type:
 * ne[0] = input width (columns), ne[1] = output rows; y = W x (no transposes anywhere).
 * Weight types whose llama.cpp dot products quantize the activation (Q4_0…Q8_0, K-quants,
 * IQ4) do the same here (x → Q8_0 per 32 or Q8_K per 256), so results match llama.cpp's
 * arithmetic; F32/F16/BF16/F8 weights use f32 activations.
 *
 * Threads: an sk_kctx owns a thread pool and per-thread scratch (quantized activations);
 * one per model instance, not shared between concurrent callers.
 *
 * Exactness: the scalar kernels (kern_scalar.c) define the arithmetic of every product
 * (integer block sums exact, then f32 scaling); the SIMD levels differ from them only in the
 * order of float additions (tests: relative error ≤ 1e-5 of Σ|w·x|). Within one level,
 * sk_matmul equals n sk_matvec calls bit for bit, and results do not depend on the thread
 * count. FP8 weight codes 0x7F/0xFF (NaN) are not supported by the SIMD paths (they decode
 * as 480 there); DeepSeek's checkpoints do not contain them.
 */
#ifndef SK_KERNELS_H
#define SK_KERNELS_H

#include "sk_tensor.h"
#include "sk_util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sk_cpu_level {
    SK_CPU_SCALAR = 0,
    SK_CPU_AVX2 = 1,   /* AVX2 + FMA + F16C */
    SK_CPU_AVX512 = 2, /* AVX-512 F/BW/DQ/VL, plus VNNI and BF16 when present */
    SK_CPU_NEON = 3,
} sk_cpu_level;

sk_cpu_level sk_cpu_best(void);      /* what this CPU supports */
sk_cpu_level sk_kernels_level(void); /* active level: best, capped by SEEK_CPU */
/* For tests and benchmarks: switch the active level; SK_ERR_UNSUPPORTED if the CPU lacks it. */
int sk_kernels_set_level(sk_cpu_level level, sk_err *e);
const char *sk_cpu_level_name(sk_cpu_level level);
const char *sk_cpu_features(void); /* e.g. "avx2 fma f16c" for logs */

/* ---- execution context ---- */
typedef struct sk_kctx sk_kctx;
sk_kctx *sk_kctx_new(int n_threads, sk_err *e); /* n_threads ≤ 0: all CPUs */
void sk_kctx_free(sk_kctx *k);
sk_pool *sk_kctx_pool(sk_kctx *k);
int sk_kctx_threads(const sk_kctx *k);

/* ---- matrix products (threaded over output rows) ---- */
/* y[ne1] = W x, x has ne[0] floats. */
int sk_matvec(sk_kctx *k, const sk_tensor *W, const float *x, float *y, sk_err *e);
/* Y[n][ne1] = X[n][ne0] · Wᵀ (row-major), for prompt batches. */
int sk_matmul(sk_kctx *k, const sk_tensor *W, const float *X, int64_t n, float *Y, sk_err *e);
/* Several products in one pool dispatch: for each op, Y[n][ne1] = X[n][ne0] · Wᵀ (n = 1:
 * y = W x). Ops whose x is the same pointer (same width and activation format) share one
 * quantization of it; the output rows of all ops form one sequence of chunks that the
 * threads take from a shared counter, so both stream about the same bytes and nobody waits
 * between the ops. Each op's result equals sk_matmul (sk_matvec for n = 1) bit for bit.
 * Use it for products of one input (q/k/v, gate/up) and for independent products (the
 * selected experts); outputs must not overlap any op's input. */
typedef struct sk_mv_op {
    const sk_tensor *W;
    const float *x; /* [n][W->ne[0]] */
    float *y;       /* [n][W->ne[1]] */
} sk_mv_op;
int sk_matmul_multi(sk_kctx *k, const sk_mv_op *ops, int nops, int64_t n, sk_err *e);

/* Counters of the products run through k since it was made or last reset (benchmarks). */
typedef struct sk_kctx_stats {
    uint64_t calls;        /* sk_matvec / sk_matmul / sk_matmul_multi calls */
    uint64_t ops;          /* products in them */
    uint64_t dispatches;   /* calls that woke the pool (the others ran on the caller alone) */
    uint64_t weight_bytes; /* weight bytes streamed (once per call, whatever n) */
    double seconds;        /* wall time inside these calls, on the calling thread */
} sk_kctx_stats;
void sk_kctx_stats_get(const sk_kctx *k, sk_kctx_stats *out);
void sk_kctx_stats_reset(sk_kctx *k);

/* True if sk_matvec/sk_matmul have a kernel for this weight type (F32, F16, BF16, Q8_0,
 * Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K, IQ4_NL, IQ4_XS, F8_E4M3). */
bool sk_matvec_supports(int type);

/* ---- benchmarks ---- */
/* Memory read bandwidth in GB/s (1e9 B/s): every thread of k reads its share of a buffer of
 * `bytes` (use ≥ 1 GiB, far beyond the L3) with the widest loads of the active level and
 * several independent accumulators; best of `reps` passes. Returns < 0 with e set on failure. */
double sk_bench_read_bandwidth(sk_kctx *k, size_t bytes, int reps, sk_err *e);
/* The same probe with a buffer kept between passes, so a benchmark can alternate bandwidth
 * passes with the work it measures (both then see the same load on the machine). */
typedef struct sk_bw_probe sk_bw_probe;
sk_bw_probe *sk_bw_probe_new(sk_kctx *k, size_t bytes, sk_err *e); /* allocates and touches */
double sk_bw_probe_run(sk_bw_probe *p);                            /* one pass: GB/s */
void sk_bw_probe_free(sk_bw_probe *p);

/* ---- vector ops (single-threaded, n elements) ---- */
float sk_vec_dot_f32(const float *a, const float *b, int64_t n);
void sk_vec_add(float *y, const float *a, const float *b, int64_t n); /* y = a + b */
void sk_vec_mad(float *y, const float *x, float s, int64_t n);        /* y += s*x */
void sk_vec_scale(float *y, float s, int64_t n);                      /* y *= s */
/* Attention over cached rows (row s of a cache at k + s*ld, d floats):
 * sk_attn_dots: out[s] = q · k_s for s < n (each a dot of d floats, summed in an order of
 *   the level's choosing, as sk_vec_dot_f32);
 * sk_attn_mix: o += Σ_s p[s]·v_s, the rows added one after the other in increasing s, so
 *   the result equals n calls of sk_vec_mad bit for bit. */
void sk_attn_dots(const float *q, const float *k, size_t ld, int64_t n, int64_t d, float *out);
void sk_attn_mix(float *o, const float *v, size_t ld, const float *p, int64_t n, int64_t d);
/* y = x / sqrt(mean(x²) + eps) * w  (w may be NULL: no weight). y may alias x. */
void sk_rmsnorm(float *y, const float *x, const float *w, int64_t n, float eps);
void sk_softmax(float *x, int64_t n); /* in place, max-subtracted */
/* One block of an online softmax (attention over a cache read once): x[n] are the next scores,
 * *m the running maximum (-INFINITY before the first block), *l the running sum of
 * exp(score - *m). Replaces x by exp(x - new maximum), updates *m and *l, and returns the
 * factor that rescales what was accumulated before (exp(old max - new max); 1 when the
 * maximum did not grow). */
float sk_softmax_online(float *x, int64_t n, float *m, float *l);
void sk_silu(float *x, int64_t n); /* in place: x*sigmoid(x) */
void sk_swiglu(float *out, const float *gate, const float *up, int64_t n); /* silu(g)*u */
void sk_sigmoid(float *x, int64_t n);
/* Indices of the k largest values, largest first; ties → lower index first. k ≤ n. */
void sk_topk(const float *x, int64_t n, int64_t k, int32_t *idx);
/* The index of the first largest value of x[0..n) (0 when n ≤ 1). NaNs are never larger, so
 * they are skipped unless x[0] is NaN (then 0). Keeps the running maximum in a register:
 * a loop comparing with x[best] reloads it through memory, ~5× slower over a vocabulary. */
int64_t sk_argmax(const float *x, int64_t n);

/* ---- RoPE ---- */
typedef enum sk_rope_mode {
    SK_ROPE_ADJACENT = 0, /* pairs (2i, 2i+1): ggml mode 0, DeepSeek MLA and GGUF llama */
    SK_ROPE_NEOX = 2,     /* pairs (i, i+d/2): ggml NEOX, Qwen2 / HF rotate-half */
} sk_rope_mode;

/* Rotates n_heads vectors of `dim` floats (head h at x + h*stride) by angle pos*freqs[i]
 * for pair i < dim/2. freqs from sk_rope_freqs_*. */
void sk_rope(float *x, int64_t n_heads, int64_t stride, int dim, float pos, const float *freqs,
             sk_rope_mode mode);
/* freqs[i] = theta^(-2i/dim), i < dim/2 */
void sk_rope_freqs_plain(float *freqs, int dim, float theta);
/* YaRN (spec §1.8): beta_fast 32, beta_slow 1 usually. */
void sk_rope_freqs_yarn(float *freqs, int dim, float theta, float factor, int orig_ctx,
                        float beta_fast, float beta_slow);
/* Llama-3 scaling (factor, low_freq_factor, high_freq_factor, original context). */
void sk_rope_freqs_llama3(float *freqs, int dim, float theta, float factor, float low, float high,
                          int orig_ctx);

/* ---- single-threaded float32 matrix product (sgemm.c) ---- */
/* Row-major C[M][N] = alpha · op(A) · op(B) + beta · C, op(X) = X, or Xᵀ when ta / tb:
 * op(A) is M×K (A is M×K with row stride lda, or K×M when ta), op(B) is K×N (B is K×N with
 * row stride ldb, or N×K when tb). beta = 0: C is not read (NaNs there do not propagate).
 * K = 0 or alpha = 0: C = beta·C. Runs on the calling thread (any number of threads may call
 * it at once); AVX2 + FMA when the active level has it, else the scalar reference. Each
 * element's result depends only on its row of op(A), its column of op(B), alpha, beta and its
 * old value, never on M, N or its position: row ranges of one product computed by separate
 * calls equal the whole call bit for bit. */
void sk_sgemm(bool ta, bool tb, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
#ifdef __cplusplus
}
#endif
#endif
