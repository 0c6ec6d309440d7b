/*
 * train — the training engine for DeepSeek-V3-architecture models (SK_ARCH_DEEPSEEK2):
 * explicit float32 forward and backward passes per layer (embedding, RMSNorm, MLA with
 * q LoRA or plain q, YaRN RoPE on adjacent pairs, causal softmax attention, dense SwiGLU,
 * DeepSeekMoE with sigmoid/softmax routing, selection-only bias and groups, the
 * sequence-wise balance loss, MTP of depth D, output head and masked cross-entropy),
 * AdamW with fp32 master weights, gradient clipping, a warm-up/constant/cosine schedule,
 * the aux-loss-free bias update, and atomic checkpoints that resume bit for bit.
 *
 * The loss and every convention (positions, targets, mask, MTP wiring, routing, balance
 * loss) are those of /work/shared/spec/training-conventions.md:
 *   loss = L_main + (lambda/D) * sum_k L_k + alpha * sum_{MoE layers} L_bal.
 *
 * Parameters. An sk_tmodel owns one float32 buffer holding every parameter (and the
 * e_score_correction_bias buffers) and a second one, of the same layout, holding their
 * gradients. `w` and `g` are sk_model_weights views (F32, ggml ne order = reversed HF
 * shape, same bytes as the HF tensor) into these buffers, so the inference side can run a
 * model while it trains. The MTP layers' `embed_tokens` / `shared_head.head` are not
 * separate parameters: they are the main embedding and head (shared), written as copies
 * when a checkpoint is saved.
 *
 * Parameter table: every HF tensor name with its HF shape and offset; `decay` marks the
 * tensors AdamW decays (every 2-D matrix: embeddings, projections, experts, router, head,
 * eh_proj; not norms, not biases), `buffer` marks e_score_correction_bias (no gradient,
 * no Adam; moved by the bias update).
 *
 * Threads: with a pool of P > 1 threads (sk_tmodel_set_threads), a forward/backward call on
 * B >= 2 sequences is data-parallel: the batch is split into min(P, B) shares of whole
 * sequences, each run start to finish on one pool thread (single-threaded OpenBLAS) with its
 * own activations and gradient buffer; the buffers are then added into `grads` in share order
 * and the expert loads summed. Every loss keeps the whole batch's normalisation (token means
 * over the batch's counted targets, the balance loss averaged over its B sequences), so the
 * result is the serial pass's to float rounding. With one sequence (or bf16 products) the call
 * instead runs OpenBLAS single-threaded and splits every product of projections, experts and
 * head into row blocks over the pool, and the pool also runs cross-entropy, RMSNorm, RoPE,
 * SwiGLU and attention. AdamW always runs over the pool. Without a pool the products use
 * OpenBLAS's own threads (sk_train_set_threads). Results are bit-identical for a fixed thread
 * count (so --resume with the same --threads continues bit for bit); across thread counts
 * they agree to float rounding (~1e-6 relative).
 *
 * Memory: activations live in scratch chunks the model keeps between calls (freed with the
 * model), so repeated steps of the same shape allocate and fault in nothing new.
 */
#ifndef SK_TRAIN_H
#define SK_TRAIN_H

#include "sk_model.h"
#include "sk_util.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SK_TRAIN_MAX_MTP 16

typedef struct sk_tparam {
    char *name;       /* HF name, e.g. "model.layers.3.mlp.experts.7.up_proj.weight" */
    int n_dims;       /* 1 or 2 */
    int64_t shape[2]; /* HF order: [out, in] or [n] */
    size_t off, n;    /* offset and element count in the params/grads buffers */
    bool decay;       /* AdamW weight decay applies */
    bool buffer;      /* e_score_correction_bias: not trained by the optimizer */
    int layer;        /* layer index, -1 for embedding / final norm / head */
} sk_tparam;

typedef struct sk_tmodel {
    sk_model_config cfg;
    int n_tp;
    sk_tparam *tp;      /* the parameter table (HF order of a checkpoint listing) */
    size_t n_floats;    /* size of params / grads */
    float *params;      /* owned, 64-byte aligned */
    float *grads;       /* owned, same layout */
    sk_model_weights w; /* views into params */
    sk_model_weights g; /* views into grads (same fields) */
    /* expert load: selections counted per MoE layer (layers 0..n_layer+n_mtp-1), added by
     * every forward pass until sk_tmodel_reset_load; [n_layer+n_mtp][n_routed] */
    double *load;
    sk_pool *pool; /* owned (sk_tmodel_set_threads); NULL = single-threaded loops */
    /* activation memory kept between calls (tmodel.c), so a training step does not map and
     * fault in fresh pages; owned, freed by sk_tmodel_free */
    struct tr_scratch *scratch;
} sk_tmodel;

/* Allocates parameters for cfg (arch deepseek2; validated). Values are zero. */
int sk_tmodel_new(const sk_model_config *cfg, sk_tmodel **out, sk_err *e);
void sk_tmodel_free(sk_tmodel *m);
/* Threads of the model's pool (see Threads above). n <= 0: all CPUs, 1: none. Results are
 * reproducible for a fixed thread count. */
int sk_tmodel_set_threads(sk_tmodel *m, int n, sk_err *e);
/* Number of trainable scalars (buffers excluded). */
int64_t sk_tmodel_n_trainable(const sk_tmodel *m);
int sk_tmodel_find(const sk_tmodel *m, const char *name); /* index in tp, -1 if absent */

/* Deterministic init from seed (xoshiro256**, Box-Muller normals):
 * norm weights 1; matrices N(0, std) with std = initializer_range (config, default 0.02);
 * output projections (o_proj, down_proj of dense/expert/shared MLPs) std / sqrt(2*(L+D));
 * e_score_correction_bias 0. */
void sk_tmodel_init(sk_tmodel *m, uint64_t seed, float init_std);

/* Loads every parameter from a safetensors file/folder (F32, BF16 or F16), by HF name and
 * shape. Missing tensors are an error; MTP copies of embedding/head, if present, must
 * equal the main tensors. Unknown extra tensors are an error. */
int sk_tmodel_load(sk_tmodel *m, const char *path, sk_err *e);
/* Saves parameters as F32 safetensors (HF names, V3 checkpoint layout with the MTP copies). */
int sk_tmodel_save(const sk_tmodel *m, const char *path, sk_err *e);

/* A batch: B sequences of S ids (S >= 2), row-major; mask NULL = every target counts. */
typedef struct sk_tbatch {
    int B, S;
    const int32_t *ids;  /* [B][S] */
    const uint8_t *mask; /* [B][S] 0/1 or NULL */
} sk_tbatch;

typedef struct sk_tstats {
    double loss;                  /* total (the number that is differentiated) */
    double main;                  /* L_main */
    double mtp[SK_TRAIN_MAX_MTP]; /* L_k */
    double bal;                   /* sum over MoE layers of L_bal (unweighted) */
    int64_t n_main;               /* counted targets of the main head */
} sk_tstats;

/* Forward and backward on one batch: adds scale * d(loss)/d(param) to m->grads (the
 * caller zeroes them with sk_tmodel_zero_grad), adds the expert selections to m->load,
 * and fills st (may be NULL). scale = 1 for a plain gradient, 1/n for n accumulated
 * micro-batches. */
int sk_tmodel_grad(sk_tmodel *m, const sk_tbatch *b, float scale, sk_tstats *st, sk_err *e);
/* Forward only: loss (and stats); no gradient, load still counted. logits (may be NULL)
 * receives the main head's [B][S-1][n_vocab]. */
int sk_tmodel_loss(sk_tmodel *m, const sk_tbatch *b, sk_tstats *st, float *logits, sk_err *e);
void sk_tmodel_zero_grad(sk_tmodel *m);
void sk_tmodel_reset_load(sk_tmodel *m);
/* Saves gradients in the `seek grad` format: `loss` [] then every tensor name of the
 * weights file with its gradient (MTP copies carry the shared sum, the bias zeros). */
int sk_tmodel_save_grads(const sk_tmodel *m, double loss, const char *path, sk_err *e);

/* ---- optimizer ---- */
typedef struct sk_adamw_cfg {
    float lr; /* peak learning rate */
    float beta1, beta2, eps, weight_decay;
    float clip;        /* global-norm clip, <= 0 = off */
    int warmup;        /* linear warm-up steps (lr * (s+1)/warmup) */
    int constant;      /* steps at the peak after warm-up */
    int total;         /* total steps; cosine from the end of the constant phase to total */
    float min_lr_frac; /* floor of the cosine as a fraction of lr */
    float bias_gamma;  /* aux-loss-free bias update speed (0 = off) */
} sk_adamw_cfg;
void sk_adamw_defaults(sk_adamw_cfg *c);
float sk_lr_at(const sk_adamw_cfg *c, int64_t step);
/* Global L2 norm of the trainable gradients. */
double sk_tmodel_grad_norm(const sk_tmodel *m);
/* One AdamW step (step = 0-based count of previous steps): clips, updates params in
 * place, advances the moments mv[2*n_floats] (m then v). Returns the pre-clip norm. */
double sk_adamw_step(sk_tmodel *m, const sk_adamw_cfg *c, float *mv, int64_t step);
/* b += gamma * sign(mean load - load) per MoE layer with a bias, from m->load. */
void sk_tmodel_bias_update(sk_tmodel *m, float gamma);

/* ---- data ---- */
/* A token file in the BATCH.txt line format: every line the same number of ids (S). */
typedef struct sk_tokfile {
    int n_lines, S;
    int32_t *ids; /* [n_lines][S] */
} sk_tokfile;
/* Parses `path`; ids must be in [0, n_vocab) (n_vocab <= 0: unchecked); mask files use
 * n_vocab = 2 (0/1). Errors name the file, line and column. */
int sk_tokfile_read(const char *path, int n_vocab, sk_tokfile *out, sk_err *e);
/* The same parser with the caller's bounds: files of at most max_bytes, lines of
 * min_ids..max_ids ids (sk_tokfile_read: 2^34 bytes, 1..1,000,000 ids). */
int sk_tokfile_read_bounded(const char *path, int n_vocab, uint64_t max_bytes, long min_ids,
                            long max_ids, sk_tokfile *out, sk_err *e);
void sk_tokfile_free(sk_tokfile *f);

/* ---- trainer (seek train) ---- */
typedef struct sk_trainer_opts {
    const char *out_dir;
    const char *data_path;
    int64_t steps;
    int batch; /* sequences per optimizer step */
    int accum; /* micro-batches the batch is split into (divides batch) */
    uint64_t seed;
    float init_std; /* <= 0: config initializer_range or 0.02 */
    sk_adamw_cfg opt;
    int ckpt_every;     /* steps between checkpoints (0 = only at the end) */
    int64_t stop_after; /* stop (with a checkpoint) after this step count (0 = run to steps) */
    bool resume;
    bool quiet;                /* no progress line */
    int threads;               /* trainer loop threads (sk_tmodel_set_threads; 0 = all CPUs) */
    const char *init_weights;  /* optional safetensors to start from */
    bool bf16;                 /* bf16 matrix products (sk_train_set_bf16) */
    bool gguf;                 /* also write DIR/model.gguf at the end (default true) */
    const char *tokenizer_dir; /* tokenizer.json (+ tokenizer_config.json) copied into DIR
                                * and into the GGUF; NULL = none */
    /* data: data_path is a line file (BATCH.txt format) or a shard set (sk_data.h) */
    int seq_len;           /* T (sequences of T+1 ids); required for shards; line files: 0 = from
                            * the file, else must match */
    const char *mask_path; /* line files only: MASK.txt of the data's shape (0/1; conventions 3);
                            * NULL = every target counts (shards: the loader's packing mask) */
    bool no_shuffle;       /* shards: visit the packed sequences in order (default: a permutation
                            * per epoch seeded by `seed`); line files are never shuffled */
    /* held-out evaluation: the main head's mean cross-entropy over eval_path (a line file or a
     * shard set of the same sequence length, read in order from its start every time) after
     * every eval_every-th step and the last, written as "eval_loss" / "eval_tokens" into that
     * step's metrics line. It changes nothing of the training (no gradient, run after the
     * step's bias update), so a run with it equals one without it bit for bit. */
    const char *eval_path; /* NULL: none */
    int eval_every;        /* steps between evaluations (0: steps/20, at least 1) */
    int eval_batches;      /* micro-batches per evaluation (0: the whole set, at most 64) */
} sk_trainer_opts;
void sk_trainer_opts_defaults(sk_trainer_opts *o);
/* Runs (or resumes) training of cfg on the data; writes DIR/metrics.jsonl, DIR/loss.svg (at
 * every checkpoint), checkpoints DIR/ckpt.bin (atomic) and the final model
 * DIR/model.safetensors + DIR/config.json, and (o->gguf, needs config_json_path)
 * DIR/model.gguf converted from them by sk_convert_hf (arch deepseek2, F32; MTP layers are
 * not part of a llama.cpp GGUF). */
int sk_train_run(const sk_model_config *cfg, const char *config_json_path, const sk_trainer_opts *o,
                 sk_err *e);
/* Checks the training-only keys of a config.json: mtp_loss_scaling_factor must be present
 * when num_nextn_predict_layers > 0 (conventions, 2). */
int sk_train_check_config_json(const char *path, const sk_model_config *cfg, sk_err *e);
/* Draws the loss curve of metrics.jsonl (main loss and each MTP depth's loss over steps) as
 * an SVG line chart with axes, ticks, labels and a legend; written atomically to svg_path.
 * `seek train` writes DIR/loss.svg at every checkpoint and at the end. Layout: svg.c. */
int sk_train_write_loss_svg(const char *metrics_path, const char *svg_path, sk_err *e);
/* bf16 matrix products for every projection / expert / head product of the trainer: operands
 * rounded to bfloat16 (nearest even), float32 accumulation; attention cores, norms, softmax
 * and the optimizer stay float32. Process-wide; off by default. */
void sk_train_set_bf16(bool on);
bool sk_train_get_bf16(void);
/* Which implementation runs the trainer's float32 matrix products (projections, experts, head
 * and the attention core): OpenBLAS cblas_sgemm, or Seek's own sk_sgemm (src/kernels/sgemm.c,
 * single-threaded, 6×16 AVX2 + FMA tiles). AUTO (the default) is sk_sgemm when the active
 * kernel level has AVX2 (it measured faster on the trainer's shapes, docs/training.md) and
 * OpenBLAS otherwise (the scalar sk_sgemm is a reference, not a fast path); the environment
 * variable SEEK_GEMM=blas|seek, read once, overrides AUTO. The two give the same results to
 * float rounding, not bit for bit: resume with the same backend. Process-wide. */
typedef enum sk_train_gemm {
    SK_TRAIN_GEMM_AUTO = 0,
    SK_TRAIN_GEMM_BLAS = 1,
    SK_TRAIN_GEMM_SEEK = 2,
} sk_train_gemm;
void sk_train_set_gemm(sk_train_gemm g);
/* The backend AUTO resolves to now (BLAS or SEEK, never AUTO). */
sk_train_gemm sk_train_get_gemm(void);
/* Sets the OpenBLAS thread count (n <= 0: leave the default). */
void sk_train_set_threads(int n);
/* Measured sgemm throughput (FLOP/s) of this machine with the trainer's matrix product
 * backend (sk_train_get_gemm) on all the trainer's threads (pool; NULL: one), for MFU. */
double sk_train_measure_peak(sk_pool *pool);

#ifdef __cplusplus
}
#endif
#endif
