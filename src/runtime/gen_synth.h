/*
 * gen_synth — random-weight GGUF files with the exact shapes, tensor names and metadata of
 * real DeepSeek-family models (what `seek synth` writes). Used for benchmarks, for load tests
 * of multi-GB files, and by the test suite as small stand-ins of real architectures.
 *
 * Shapes (spec §1, §2): "r1-distill-qwen-1.5b", "r1-distill-qwen-7b" (GGUF arch qwen2),
 * "r1-distill-llama-8b" (llama, llama3 rope scaling via rope_freqs.weight),
 * "deepseek-v2-lite" and "deepseek-v3" (= R1; deepseek2 arch). Options cut the layer count
 * (the leading dense layers are kept, but at least one MoE layer remains when n_layers ≥ 2),
 * the routed expert count and the vocabulary.
 *
 * MLA layout of deepseek2 files (spec §3.5), sk_synth_opts.mla:
 *   SK_SYNTH_MLA_LEGACY   (default) attn_kv_b only, head_count_kv = n_head, key_length =
 *                         nope+rope, value_length = v: the original converter format (1025
 *                         tensors for V3), read by llama.cpp's non-MLA path, ik_llama.cpp, seek;
 *   SK_SYNTH_MLA_IK       attn_kv_b plus the derived 2-D attn_k_b / attn_v_b (ik_llama.cpp's
 *                         converter), same metadata;
 *   SK_SYNTH_MLA_MAINLINE 3-D attn_k_b / attn_v_b without attn_kv_b, head_count_kv 1,
 *                         key_length kv_lora+rope, value_length kv_lora, key_length_mla /
 *                         value_length_mla (llama.cpp since April 2025; 1086 tensors for V3).
 * attn_k_b / attn_v_b hold exactly the values of the (virtual) attn_kv_b rearranged, before
 * quantization. No MTP layer.
 * 1-D tensors, ffn_gate_inp and exp_probs_b are F32; every other matrix has the requested
 * type, or, when its row length is not a multiple of the type's block size, llama.cpp's
 * fallback (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0; else Q8_0, then F16).
 *
 * Tokenizer. A byte-level BPE vocabulary ("gpt2"): the 256 GPT-2 byte symbols, 40 merges of
 * common English pairs, the model's special tokens (BOS, EOS, <｜User｜>, <｜Assistant｜>,
 * <think>, </think>, …) and "[PAD<id>]" fillers (UNUSED) up to the vocabulary size. At the
 * full vocabulary size the special tokens keep their real ids (V3: BOS 0, EOS 1, <think>
 * 128798, …); with a smaller --vocab they follow the merges. The chat template is the real one
 * (R1 / R1-Distill / V2-Chat).
 *
 * Weights. Deterministic in (seed, tensor name, element index): roughly normal with std 0.02
 * (projections into the residual stream scaled by 1/sqrt(2·n_layer)), norms 1, biases
 * std 0.02, router bias 0. They are generated and quantized row by row inside the GGUF writer's
 * fill callback, so memory use is one tensor's encoded bytes at most.
 */
#ifndef SK_GEN_SYNTH_H
#define SK_GEN_SYNTH_H

#include "sk_gguf.h"
#include "sk_util.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { SK_SYNTH_MLA_LEGACY = 0, SK_SYNTH_MLA_IK = 1, SK_SYNTH_MLA_MAINLINE = 2 };

typedef struct sk_synth_opts {
    const char *shape; /* one of sk_synth_shape_name(i) */
    int type;          /* sk_type of the matrices: F32 F16 BF16 Q8_0 Q4_0 Q4_K Q5_K Q6_K */
    int n_layers;      /* 0 = the model's own */
    int n_experts;     /* routed experts, 0 = the model's own (MoE shapes only) */
    int n_vocab;       /* 0 = the model's own */
    uint64_t seed;
    int n_threads;     /* generation threads: 0 = all CPUs, 1 = none (same bytes either way) */
    int mla;           /* SK_SYNTH_MLA_* (deepseek2 shapes) */
} sk_synth_opts;

#define SK_SYNTH_MAX_THREADS 256

/* Counts of the planned file: every tensor's elements and encoded bytes. `params` excludes the
 * duplicated attn_k_b / attn_v_b of the ik layout (so it matches a checkpoint's count). */
typedef struct sk_synth_info {
    int n_tensors;
    int n_layers, n_dense_layers, n_experts;
    int n_vocab;
    uint64_t params;
    uint64_t tensor_bytes;
} sk_synth_info;

int sk_synth_n_shapes(void);
const char *sk_synth_shape_name(int i);

/* Plans the file without writing anything (validates the options). */
int sk_synth_plan(const sk_synth_opts *o, sk_synth_info *info, sk_err *e);
/* Writes the GGUF to path (atomically). progress may be NULL. info may be NULL. */
int sk_synth_write(const sk_synth_opts *o, const char *path, sk_progress *progress,
                   sk_synth_info *info, sk_err *e);

#ifdef __cplusplus
}
#endif
#endif
