/*
 * convert — Hugging Face checkpoint folder → GGUF with llama.cpp's tensor names and metadata keys
 * (spec §3.5–3.8; tests/data/golden/README.md has the mapping).
 *
 * Handled: DeepSeek-V3/R1 (FP8 with weight_scale_inv, or BF16), DeepSeek-V2/V2-Lite (GGUF arch
 * "deepseek2"), Qwen2 ("qwen2") and Llama ("llama"). Routed experts are stacked into 3-D
 * ffn_{gate,up,down}_exps tensors (expert index outermost); Llama q/k rows are permuted per head
 * for ggml's adjacent-pair RoPE; llama3 rope scaling becomes rope_freqs.weight; tied embeddings
 * give no output.weight; layers at or past num_hidden_layers (DeepSeek's MTP layer) are skipped.
 * Matrices get the requested type (norms, biases, the MoE router and every 1-D tensor stay F32,
 * as llama.cpp does; a matrix whose row length is not a multiple of the type's block falls back
 * to Q8_0 or F16 with a warning). The tokenizer.ggml.* keys are written by the caller's
 * opts->tokenizer (the tokenizer layer's sk_tokenizer_convert_hf reads tokenizer.json +
 * tokenizer_config.json); without one, or without tokenizer.json, the GGUF has no tokenizer
 * (a warning says so).
 *
 * Memory: tensors are produced by the GGUF writer's row-range fill callback in chunks of at most
 * 64 MiB, so peak memory is about one chunk per conversion (plus one F32 copy of a kv_b matrix
 * while attn_k_b is written), whatever the size of the checkpoint.
 *
 * Ownership: sk_convert_hf opens and closes everything it reads; it writes the output through a
 * temporary file renamed at the end, so a failed conversion leaves no output behind.
 */
#ifndef SK_CONVERT_H
#define SK_CONVERT_H

#include "sk_gguf.h"
#include "sk_util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Writes the tokenizer.ggml.* keys for the checkpoint folder hf_dir into w (called once, after
 * the architecture keys and before the tensors). n_vocab: config.json's vocab_size (the token
 * list is padded up to it); fallback_ids: config.json's bos/eos/pad token ids (-1 if absent).
 * Sets *written when it wrote a tokenizer. The tokenizer layer provides one
 * (sk_tokenizer_convert_hf); format itself never reads tokenizer files. */
typedef int (*sk_convert_tokenizer_fn)(void *ctx, const char *hf_dir, sk_gguf_writer *w,
                                       int64_t n_vocab, const int64_t fallback_ids[3],
                                       bool *written, sk_err *e);

typedef struct sk_convert_opts {
    int type;         /* sk_type for matrices: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K */
    bool kv_b_split;  /* deepseek2: also write attn_k_b / attn_v_b (2-D, ik_llama.cpp layout) */
    const char *name; /* general.name; NULL = the folder's name */
    uint64_t max_split_bytes; /* > 0: split the output (see sk_gguf_write) */
    int n_threads;            /* ≤ 0: all CPUs */
    sk_progress *progress;    /* may be NULL */
    bool dry_run;             /* plan and report only: nothing is written */
    uint64_t chunk_bytes;     /* 0: default; else the writer's row-range size (tests) */
    sk_convert_tokenizer_fn tokenizer; /* NULL: the GGUF gets no tokenizer (a warning says so) */
    void *tokenizer_ctx;
} sk_convert_opts;

/* Summary of a conversion (may be NULL). */
typedef struct sk_convert_info {
    char arch[32];
    int64_t n_tensors;
    uint64_t n_params;
    uint64_t n_bytes; /* tensor bytes written */
    bool has_tokenizer;
    int n_fallback; /* matrices stored in a fallback type */
} sk_convert_info;

int sk_convert_hf(const char *hf_dir, const char *out_path, const sk_convert_opts *opts,
                  sk_convert_info *info, sk_err *e);

#ifdef __cplusplus
}
#endif
#endif
