/*
 * sk_tokenizer_export — read-only views of a loaded tokenizer for writing it elsewhere, and the
 * Hugging Face → GGUF tokenizer conversion built on them. There is one reader of tokenizer.json /
 * tokenizer_config.json (sk_tokenizer_load_hf in load.c); `seek convert` and `seek inspect` take
 * their answers from it, so a converted GGUF tokenizes as the folder does.
 *
 * Ownership: nothing here allocates beyond what it documents; returned strings belong to the
 * tokenizer.
 */
#ifndef SK_TOKENIZER_EXPORT_H
#define SK_TOKENIZER_EXPORT_H

#include "sk_gguf.h"
#include "sk_tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of merge ranks (the length of the source merges list, duplicates included). */
int32_t sk_tokenizer_n_merge_ranks(const sk_tokenizer *t);
/* Fills left[r], right[r] (arrays of n_merge_ranks) with the token ids of the merge of rank r,
 * or -1 for a rank that holds no merge (a duplicate of an earlier one, which is never applied).
 */
void sk_tokenizer_merge_pairs(const sk_tokenizer *t, int32_t *left, int32_t *right);

/* A boolean of tokenizer_config.json beside an HF tokenizer (path as for sk_tokenizer_load_hf),
 * read the way the loader reads that file. *found = false (and *val unchanged) when the file or
 * the key is absent. */
int sk_tokenizer_hf_config_bool(const char *path, const char *key, bool *val, bool *found,
                                sk_err *e);

/* Writes t as the tokenizer.ggml.* keys of a "gpt2" (byte-level BPE) GGUF tokenizer, in this
 * order: model, pre, tokens, token_type, merges, bos/eos/padding ids, add_bos, add_eos,
 * chat_template. n_vocab_min > n_vocab(t) pads the token list with "[PADi]" (type UNUSED) up to
 * the model's embedding rows. A special id the tokenizer lacks (-1) takes fallback_ids[0..2]
 * (bos, eos, pad; -1 = none; e.g. config.json's ids). The pre-tokenizer name is the loader's,
 * except "qwen2" with a DeepSeek BOS token → "deepseek-r1-qwen" and "custom" → "default" (with a
 * warning: GGUF cannot carry custom regexes). */
int sk_tokenizer_write_gguf(const sk_tokenizer *t, sk_gguf_writer *w, int64_t n_vocab_min,
                            const int64_t fallback_ids[3], bool add_eos, sk_err *e);

/* The HF → GGUF tokenizer step of `seek convert` (the shape of sk_convert_tokenizer_fn): loads
 * hf_dir's tokenizer with sk_tokenizer_load_hf and writes it with sk_tokenizer_write_gguf
 * (add_eos from tokenizer_config.json's add_eos_token, default false). Without tokenizer.json
 * it warns and writes nothing (*written = false). ctx is unused. */
int sk_tokenizer_convert_hf(void *ctx, const char *hf_dir, sk_gguf_writer *w, int64_t n_vocab,
                            const int64_t fallback_ids[3], bool *written, sk_err *e);

#ifdef __cplusplus
}
#endif
#endif
