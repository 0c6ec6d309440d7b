/*
 * tokenizer — byte-level BPE (GPT-2 style) as used by DeepSeek-V3/R1, DeepSeek LLM/Coder (V2),
 * Qwen2 (R1-Distill-Qwen) and Llama 3 (R1-Distill-Llama); spec §5.
 *
 * Loading. Either from GGUF metadata (`tokenizer.ggml.model` = "gpt2", `.tokens`,
 * `.token_type`, `.merges`, `.bos_token_id`, `.eos_token_id`, `.padding_token_id`,
 * `.add_bos_token`, `.pre`, `tokenizer.chat_template`) or from a Hugging Face tokenizer.json
 * (+ tokenizer_config.json beside it for bos/eos/add_bos_token/chat_template). Both give the
 * same ids for the same vocabulary.
 *
 * Token kinds (the GGUF token_type numbers): NORMAL tokens are byte-level-unicode strings
 * (§5.2, e.g. "Ġthe"); added tokens are literal text and are either CONTROL (HF "special",
 * or text of the form "<|…|>" / "<｜…｜>", as llama.cpp's converter classifies them) or
 * USER_DEFINED (other added tokens, e.g. R1's "<think>"). UNUSED marks filler ids.
 *
 * Encoding (sk_tokenizer_encode):
 *   1. Invalid UTF-8 in the input is replaced by U+FFFD, one per maximal ill-formed
 *      subpart (the WHATWG/Unicode "lossy decode" that JavaScript's TextDecoder and Python's
 *      errors="replace" apply), so the ids are those of the lossy-decoded text.
 *   2. Added tokens are split out, leftmost-longest: USER_DEFINED always, CONTROL only with
 *      SK_TOK_PARSE_SPECIAL (without it "<｜User｜>" is encoded as ordinary text).
 *   3. Each text segment between them is pre-tokenized (PCRE2 regex splits, §5.3), and each
 *      word is byte-mapped and BPE-merged by rank (ties: leftmost); Llama 3 `ignore_merges`.
 *      sk_tokenizer_encode_ex: a match must also lie entirely outside every protected
 *      byte range; inside one no added token of any kind (CONTROL or USER_DEFINED, e.g.
 *      "<think>") is matched, so text supplied by a user never becomes a special token. The
 *      split and everything after it are otherwise unchanged: without look-alikes in the
 *      protected ranges the ids equal sk_tokenizer_encode's. Ranges are byte offsets into
 *      the input as given (before step 1; a boundary inside a character or an ill-formed
 *      subpart widens the range to the whole of it).
 *   4. SK_TOK_ADD_BOS prepends the BOS id when the tokenizer's add_bos flag is set and the
 *      ids do not already start with BOS (a rendered chat template carries the BOS text).
 * Normalizers: none is applied (DeepSeek and Llama 3 have none; Qwen2's NFC is accepted but
 * not applied, like llama.cpp — only non-NFC input differs). Regexes follow Hugging Face's
 * semantics (`\s` = Unicode White_Space); character classes come from the system PCRE2's
 * Unicode tables (10.42: Unicode 14, so code points assigned later are "unassigned").
 * A byte whose single-byte token is missing from the vocabulary is dropped (HF without unk).
 * HF add_bos: tokenizer_config.json's add_bos_token; without it, a TemplateProcessing
 * post-processor that starts with a special token makes that token the BOS (Llama 3).
 *
 * Threads. One sk_tokenizer may be used from several threads: encode serializes on an
 * internal lock (it keeps a word cache). Decoders are per stream and not shared.
 *
 * Ownership. sk_tokenizer owns every string it returns (valid until sk_tokenizer_free);
 * sk_tokenizer_encode returns a malloc'd id array the caller frees.
 */
#ifndef SK_TOKENIZER_H
#define SK_TOKENIZER_H

#include "sk_gguf.h"
#include "sk_util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sk_tokenizer sk_tokenizer;

typedef enum sk_token_type {
    SK_TOKEN_NORMAL = 1,
    SK_TOKEN_UNKNOWN = 2,
    SK_TOKEN_CONTROL = 3,
    SK_TOKEN_USER_DEFINED = 4,
    SK_TOKEN_UNUSED = 5,
    SK_TOKEN_BYTE = 6,
} sk_token_type;

/* Encode flags. */
enum {
    SK_TOK_ADD_BOS = 1u << 0,       /* prepend BOS (if the tokenizer's add_bos is set) */
    SK_TOK_PARSE_SPECIAL = 1u << 1, /* match CONTROL added tokens in the text */
    SK_TOK_FORCE_BOS = 1u << 2,     /* with ADD_BOS: prepend BOS even if add_bos is false */
};

/* Loads from an open GGUF (metadata only; g may be closed after this returns). */
int sk_tokenizer_load_gguf(const sk_gguf *g, sk_tokenizer **out, sk_err *e);
/* Opens a GGUF file and loads its tokenizer. */
int sk_tokenizer_load_gguf_file(const char *path, sk_tokenizer **out, sk_err *e);
/* path: a directory holding tokenizer.json (and optionally tokenizer_config.json), or the
 * tokenizer.json file itself (tokenizer_config.json is then looked for beside it). */
int sk_tokenizer_load_hf(const char *path, sk_tokenizer **out, sk_err *e);
void sk_tokenizer_free(sk_tokenizer *t);

/* Encodes len bytes of text. *ids is malloc'd (free it); *n its length. */
int sk_tokenizer_encode(sk_tokenizer *t, const char *text, size_t len, unsigned flags,
                        int32_t **ids, size_t *n, sk_err *e);

/* A byte range [off, off + len) of a text. */
typedef struct sk_text_span {
    size_t off, len;
} sk_text_span;

/* sk_tokenizer_encode with protected ranges (step 2 above): no added token is matched that
 * overlaps any of protect[0..n_protect) (any order; may overlap; empty ones are ignored; one
 * reaching past len is SK_ERR_RANGE). Used for chat prompts, where template text carries the
 * special tokens and message text must stay plain text (sk_chat_encode). */
int sk_tokenizer_encode_ex(sk_tokenizer *t, const char *text, size_t len, unsigned flags,
                           const sk_text_span *protect, size_t n_protect, int32_t **ids, size_t *n,
                           sk_err *e);

int32_t sk_tokenizer_n_vocab(const sk_tokenizer *t);
int32_t sk_tokenizer_bos(const sk_tokenizer *t); /* -1 if none */
int32_t sk_tokenizer_eos(const sk_tokenizer *t); /* -1 if none */
int32_t sk_tokenizer_pad(const sk_tokenizer *t); /* -1 if none */
bool sk_tokenizer_add_bos(const sk_tokenizer *t);
/* Pre-tokenizer name: "deepseek-v3", "deepseek-llm", "deepseek-coder", "qwen2", "llama-bpe",
 * "gpt2" or "custom" (a tokenizer.json pre_tokenizer that matches none of them). */
const char *sk_tokenizer_pre(const sk_tokenizer *t);
/* The chat template (NUL-terminated) or NULL. */
const char *sk_tokenizer_chat_template(const sk_tokenizer *t);

/* Token text as stored (byte-level unicode for NORMAL tokens), NUL-terminated; NULL if the
 * id is out of range. *len (may be NULL) gets its byte length. */
const char *sk_tokenizer_token_text(const sk_tokenizer *t, int32_t id, size_t *len);
/* Raw bytes of a token after the inverse byte map (added tokens: their literal text).
 * Not NUL-terminated and possibly a partial UTF-8 character; NULL if out of range. */
const uint8_t *sk_tokenizer_token_to_piece(const sk_tokenizer *t, int32_t id, size_t *len);
sk_token_type sk_tokenizer_token_type(const sk_tokenizer *t, int32_t id); /* 0 if out of range */
bool sk_tokenizer_is_special(const sk_tokenizer *t,
                             int32_t id); /* CONTROL, USER_DEFINED or UNUSED */
bool sk_tokenizer_is_control(const sk_tokenizer *t, int32_t id);
/* Exact-text lookup over the whole vocabulary (e.g. "<think>", "<｜User｜>",
 * "<｜end▁of▁sentence｜>", "<｜tool▁calls▁begin｜>", or a byte-level string "Ġthe"); -1 if absent.
 */
int32_t sk_tokenizer_find(const sk_tokenizer *t, const char *text);

/* Decodes ids to UTF-8 text in one call (the same rules as the streaming decoder, flushed).
 * *out is malloc'd and NUL-terminated. */
int sk_tokenizer_decode(const sk_tokenizer *t, const int32_t *ids, size_t n, bool skip_special,
                        char **out, size_t *out_len, sk_err *e);

/* ---- streaming decoder -------------------------------------------------------------------
 * Feed ids one at a time; each call returns the text that became complete: a token that ends
 * inside a multi-byte character is held back until the character completes, and invalid
 * byte sequences become U+FFFD (never raw invalid bytes). Special tokens (CONTROL,
 * USER_DEFINED, UNUSED) are rendered as their text unless skip_special. */
typedef struct sk_tokenizer_decoder sk_tokenizer_decoder;

sk_tokenizer_decoder *sk_tokenizer_decoder_new(const sk_tokenizer *t, bool skip_special, sk_err *e);
void sk_tokenizer_decoder_free(sk_tokenizer_decoder *d);
/* Appends the text completed by `id`. *text points into the decoder (valid until the next
 * call), NUL-terminated, *len bytes (possibly 0). Unknown ids are SK_ERR_RANGE. */
int sk_tokenizer_decoder_push(sk_tokenizer_decoder *d, int32_t id, const char **text, size_t *len,
                              sk_err *e);
/* Ends the stream: bytes still held back (an incomplete character) become U+FFFD. */
void sk_tokenizer_decoder_flush(sk_tokenizer_decoder *d, const char **text, size_t *len);
void sk_tokenizer_decoder_reset(sk_tokenizer_decoder *d);

/* ---- helpers (exported for tests and tools) ---- */

/* Lossy UTF-8 decode: copies src to a malloc'd NUL-terminated buffer, replacing each maximal
 * ill-formed subpart with U+FFFD (EF BF BD). */
int sk_utf8_sanitize(const uint8_t *src, size_t n, char **out, size_t *out_len, sk_err *e);
/* The GPT-2 byte → code point map (§5.2) and its inverse (-1 for code points not in it). */
uint32_t sk_tok_byte_to_cp(uint8_t b);
int sk_tok_cp_to_byte(uint32_t cp);
/* Splits text into pre-tokenizer words (for tests and `seek tokenize --words`): calls
 * fn(ctx, word, len) for each word of each segment, after the added-token split. */
typedef void (*sk_tok_word_fn)(void *ctx, const char *word, size_t len);
int sk_tokenizer_pretokenize(sk_tokenizer *t, const char *text, size_t len, unsigned flags,
                             sk_tok_word_fn fn, void *ctx, sk_err *e);

#ifdef __cplusplus
}
#endif
#endif
