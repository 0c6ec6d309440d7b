/*
 * data — the training data pipeline: a byte-level BPE tokenizer trainer, tokenized binary
 * shards, document packing into fixed-length sequences, and a shuffling, resumable batch loader.
 * Depends on util, format (JSON), tokenizer, and sk_tokfile (train/data.c: the one parser of the
 * BATCH.txt line format, shared with `seek train` and `seek grad`).
 *
 * ---- BPE training (sk_bpe_train) --------------------------------------------------------------
 * The corpus is lossy-UTF-8-decoded and pre-tokenized by Seek's own tokenizer module with the
 * chosen pre-tokenizer (spec §5.3), words are counted, and starting from the 256 byte symbols
 * the most frequent adjacent symbol pair is merged repeatedly:
 *   - the count of a pair is the sum, over distinct words, of word frequency times the number of
 *     adjacent positions holding the pair (overlapping runs such as "aaa" count 2 for (a,a));
 *   - merging replaces the non-overlapping occurrences left to right ("aaa" -> "aa" "a"), which
 *     is exactly what the encoder does;
 *   - ties: the pair with the highest count wins; among equal counts the pair (left id,
 *     right id) that is smallest, comparing left ids first, then right ids (ids as in the
 *     output vocabulary, so byte symbols precede merged symbols and older merges precede newer);
 *   - a pair whose concatenated text equals an existing token's text (a special token such as
 *     "<think>"; any earlier token, as a safeguard) is never merged: token texts stay unique;
 *   - training stops when the vocabulary reaches vocab_size or the best count is below
 *     min_frequency.
 * Pair counts are updated incrementally (a lazy max-heap plus, per pair, the list of words
 * holding it), so only words containing the merged pair are revisited.
 *
 * Output vocabulary layout: ids 0..S-1 the special tokens in the given order (the first is
 * BOS, the second EOS), ids S..S+255 the 256 byte symbols in the order of spec §5.2 (the 188
 * self-mapped bytes ascending, then the 68 remapped bytes ascending), then one id per merge in
 * merge order. vocab_size counts everything. Written as a Hugging Face tokenizer.json (model
 * BPE, merges as "a b" strings, a Sequence of Isolated Split pre-tokenizers naming the regexes
 * followed by ByteLevel(use_regex=false), the ByteLevel decoder, a TemplateProcessing
 * post-processor adding BOS, added_tokens for the specials) and a tokenizer_config.json
 * (bos/eos/pad tokens, add_bos_token=true, add_eos_token=false, chat_template).
 * Special tokens of the form <|…|> or <｜…｜> (and the first two) are flagged special; others
 * (e.g. <think>) are not, as in DeepSeek-R1.
 *
 * ---- Token shards (sk_shard_*) -----------------------------------------------------------------
 * A shard set PREFIX is the files PREFIX-00000.bin, PREFIX-00001.bin, …, each:
 *   off  size  field (all little-endian)
 *     0     8  magic "SEEKTOK\0"
 *     8     4  u32 version = 1
 *    12     4  u32 token_bytes: 2 (u16 ids, vocab_size <= 65536) or 4 (u32 ids)
 *    16     4  u32 vocab_size
 *    20     4  i32 bos_id (-1: none)
 *    24     4  i32 eos_id (-1: none)
 *    28     4  u32 shard_index
 *    32     4  u32 n_shards (of the set)
 *    36     4  u32 reserved = 0
 *    40     8  u64 n_docs
 *    48     8  u64 n_tokens
 *    56     8  u64 data_checksum: FNV-1a 64 over the doc_start table then the token bytes,
 *                  as stored
 *    64     8  u64 set_id: FNV-1a 64 over the data_checksums of all shards, in index order
 *    72  8*(n_docs+1)  u64 doc_start[]: token index where each document starts; doc_start[0]=0,
 *                      doc_start[n_docs]=n_tokens, non-decreasing
 *     …  n_tokens*token_bytes  the token ids
 * The file size is exactly that; documents hold the raw text tokens (no BOS/EOS, which packing
 * adds) and never span shards. Every shard is written to NAME.tmp and renamed into place only
 * after the whole set is complete (n_shards and set_id are known then); the reader checks the
 * magic, version, sizes, offsets, ids < vocab_size, the checksum, and that all shards agree on
 * n_shards, set_id, vocab, BOS and EOS.
 *
 * ---- Packing --------------------------------------------------------------------------------
 * The documents of a shard set, in order, form one token stream: for each document, BOS (if the
 * tokenizer has one), the document's tokens, EOS (if it has one). The stream is cut into
 * consecutive non-overlapping sequences of T+1 tokens starting at stream position 0; the final
 * partial sequence is dropped. So sequence i is stream[i*(T+1) .. i*(T+1)+T], and a document may
 * continue from one sequence into the next. Attention is not masked across documents.
 * The loss mask of a packed sequence is 1 for every target j >= 1 except where token j is BOS
 * (the first token of a document cannot be predicted from the previous one); mask[0] = 0.
 *
 * ---- Loader ------------------------------------------------------------------------------------
 * sk_data_loader_open reads a shard set (PREFIX, or any one PREFIX-NNNNN.bin of it) or a token
 * file in the BATCH.txt line format (every line S = T+1 ids; mask 1 for j >= 1). Epoch e visits
 * the n_seq sequences in the order of a permutation: the identity without SK_DATA_SHUFFLE, else
 * a Fisher-Yates shuffle (i = n-1 down to 1, swap i with j uniform in [0, i]) driven by
 * SplitMix64 (state += 0x9E3779B97F4A7C15; z = state; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9;
 * z = (z ^ z>>27) * 0x94D049BB133111EB; z ^= z>>31) seeded with state = seed ^ (e *
 * 0xD1B54A32D192ED03), j drawn by Lemire's multiply-shift with rejection (unbiased).
 * next_batch takes the next B sequences, continuing into the next epoch at the end of one, so
 * without shuffling batch s holds sequences s*B .. s*B+B-1 modulo n_seq — the `seek train`
 * convention for line files.
 * The position (epoch, index) plus a fingerprint of the data and settings is serializable in
 * SK_DATA_POS_BYTES bytes; restoring it continues the exact batch sequence.
 */
#ifndef SK_DATA_H
#define SK_DATA_H

#include "sk_util.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- BPE training ------------------------------------------------------------------------ */

typedef struct sk_bpe_train_opts {
    int32_t vocab_size;         /* total ids, specials included */
    const char *pre;            /* "deepseek-v3" (default when NULL), "qwen2" or "llama3" */
    const char *const *special; /* NULL-terminated list; NULL = the DeepSeek-R1 defaults */
    int64_t min_frequency;      /* a merge needs a pair count >= this (<= 0 → 1) */
    const char *chat_template;  /* tokenizer_config.json chat_template; NULL = none written */
    bool quiet;                 /* no progress output */
} sk_bpe_train_opts;

/* The default special tokens: <｜begin▁of▁sentence｜> <｜end▁of▁sentence｜> <｜User｜>
 * <｜Assistant｜> <think> </think>. NULL-terminated. */
extern const char *const sk_bpe_default_special[];

/* A trained model: the merges as pairs of ids in the output vocabulary. */
typedef struct sk_bpe_result {
    int32_t n_special; /* S */
    int32_t n_merges;
    int32_t vocab_size;   /* S + 256 + n_merges */
    int32_t (*merges)[2]; /* [n_merges] (left id, right id); merge m creates id S+256+m */
    int64_t *merge_count; /* [n_merges] the pair count when it was merged */
    char **token;         /* [vocab_size] NUL-terminated token text (byte-level unicode for
                             byte and merged tokens, literal text for specials) */
    char *pre;            /* canonical pre-tokenizer name */
    bool ignore_merges;   /* llama3 */
    uint64_t n_words, n_unique_words;
} sk_bpe_result;

void sk_bpe_train_opts_default(sk_bpe_train_opts *o);
/* Trains on the given texts (each a separate document). */
int sk_bpe_train(const char *const *texts, const size_t *lens, size_t n_texts,
                 const sk_bpe_train_opts *o, sk_bpe_result **out, sk_err *e);
/* Writes DIR/tokenizer.json and DIR/tokenizer_config.json (atomically; DIR is created). */
int sk_bpe_write_hf(const sk_bpe_result *r, const sk_bpe_train_opts *o, const char *dir, sk_err *e);
void sk_bpe_result_free(sk_bpe_result *r);

/* ---- reading input documents ------------------------------------------------------------- */

typedef enum sk_data_split {
    SK_DATA_SPLIT_AUTO = 0,  /* .jsonl files: LINE_JSON; other files: FILE */
    SK_DATA_SPLIT_FILE,      /* each file is one document */
    SK_DATA_SPLIT_PARAGRAPH, /* documents separated by one or more blank (whitespace-only) lines */
    SK_DATA_SPLIT_JSONL,     /* each non-blank line a JSON object; its "text" string a document */
} sk_data_split;

/* Parses "auto", "file", "paragraph", "jsonl". */
int sk_data_split_parse(const char *s, sk_data_split *out, sk_err *e);
/* Calls fn for each document of a file (bytes as in the file, or the decoded JSON string).
 * Empty documents are skipped. fn returning non-zero stops with that status. */
typedef int (*sk_data_doc_fn)(void *ctx, const char *text, size_t len, sk_err *e);
int sk_data_read_docs(const char *path, sk_data_split split, sk_data_doc_fn fn, void *ctx,
                      sk_err *e);

/* ---- shards ---------------------------------------------------------------------------------- */

#define SK_SHARD_MAGIC        "SEEKTOK"
#define SK_SHARD_VERSION      1u
#define SK_SHARD_HEADER_BYTES 72u

typedef struct sk_shard_writer sk_shard_writer;

/* shard_tokens: a shard is closed before a document that would take it past this many tokens
 * (a larger document gets a shard of its own); 0 → 100M. The prefix's directory is created. */
int sk_shard_writer_open(const char *prefix, int32_t vocab_size, int32_t bos, int32_t eos,
                         uint64_t shard_tokens, sk_shard_writer **out, sk_err *e);
int sk_shard_writer_add(sk_shard_writer *w, const int32_t *ids, size_t n, sk_err *e);
/* Completes the set: patches the headers and renames every shard into place. *n_shards,
 * *n_docs, *n_tokens (may be NULL) get the totals. Frees w (also on failure). */
int sk_shard_writer_finish(sk_shard_writer *w, uint32_t *n_shards, uint64_t *n_docs,
                           uint64_t *n_tokens, sk_err *e);
/* Abandons the set (removes the .tmp files) and frees w. */
void sk_shard_writer_abort(sk_shard_writer *w);

typedef struct sk_shard_set sk_shard_set;

/* path: PREFIX or one PREFIX-NNNNN.bin of the set. Files are memory-mapped and validated. */
int sk_shard_set_open(const char *path, sk_shard_set **out, sk_err *e);
void sk_shard_set_close(sk_shard_set *s);
uint32_t sk_shard_set_n_shards(const sk_shard_set *s);
uint64_t sk_shard_set_n_docs(const sk_shard_set *s);
uint64_t sk_shard_set_n_tokens(const sk_shard_set *s);
int32_t sk_shard_set_vocab(const sk_shard_set *s);
int32_t sk_shard_set_bos(const sk_shard_set *s);
int32_t sk_shard_set_eos(const sk_shard_set *s);
uint32_t sk_shard_set_token_bytes(const sk_shard_set *s);
uint64_t sk_shard_set_id(const sk_shard_set *s);
/* Length of document d (0-based over the whole set); copies up to cap ids into ids (may be
 * NULL with cap 0). Returns SK_ERR_RANGE for d out of range. */
int sk_shard_set_doc(const sk_shard_set *s, uint64_t d, int32_t *ids, size_t cap, size_t *len,
                     sk_err *e);
/* Copies ids [off, off+n) of document d; *doc_len (may be NULL) gets its length. A range past
 * the end is SK_ERR_RANGE. */
int sk_shard_set_doc_read(const sk_shard_set *s, uint64_t d, uint64_t off, int32_t *ids, size_t n,
                          size_t *doc_len, sk_err *e);

/* ---- tokenizing text into shards (needs the tokenizer module) -------------------------------- */

typedef struct sk_tokenizer sk_tokenizer;
typedef struct sk_data_tokenize_stats {
    uint64_t n_docs, n_tokens, n_bytes;
    uint32_t n_shards;
} sk_data_tokenize_stats;
/* Encodes every document of the files (no BOS/EOS; special-token text is plain text unless
 * parse_special) and writes the shard set PREFIX. */
int sk_data_tokenize_files(sk_tokenizer *t, const char *const *files, size_t n_files,
                           sk_data_split split, bool parse_special, const char *prefix,
                           uint64_t shard_tokens, sk_data_tokenize_stats *st, sk_err *e);

/* ---- loader ---------------------------------------------------------------------------------- */

enum {
    SK_DATA_SHUFFLE = 1u << 0, /* permute the sequences of every epoch (seeded) */
};

#define SK_DATA_POS_BYTES 40u

/* A loader position: epoch and index of the next sequence, with a fingerprint of what it
 * belongs to (data, T, seed, flags). */
typedef struct sk_data_pos {
    uint64_t fingerprint;
    uint64_t epoch;
    uint64_t index;
} sk_data_pos;

typedef struct sk_data_loader sk_data_loader;

/* path: a shard set or a line-format token file (detected by content: shard files start with
 * the magic). T: the sequence length (each sequence has T+1 ids); for a line file T <= 0 takes
 * it from the file, otherwise it must match. batch >= 1. n_vocab > 0: ids must be below it. */
int sk_data_loader_open(const char *path, int T, int batch, uint64_t seed, unsigned flags,
                        int32_t n_vocab, sk_data_loader **out, sk_err *e);
void sk_data_loader_close(sk_data_loader *l);
/* True when path names a shard set as sk_data_loader_open detects it: a file starting with the
 * shard magic, or a missing path P for which P-00000.bin exists. */
bool sk_data_path_is_shards(const char *path);
int sk_data_loader_T(const sk_data_loader *l);
int sk_data_loader_batch(const sk_data_loader *l);
uint64_t sk_data_loader_n_seq(const sk_data_loader *l); /* sequences per epoch */
int32_t sk_data_loader_vocab(const sk_data_loader *l);  /* from the shards; else n_vocab or 0 */
/* Fills ids[B][T+1] and (if mask is non-NULL) mask[B][T+1] with the next batch. */
int sk_data_loader_next(sk_data_loader *l, int32_t *ids, uint8_t *mask, sk_err *e);
/* Copies sequence i of epoch order (the i-th packed sequence, unshuffled) into ids[T+1]. */
int sk_data_loader_seq(sk_data_loader *l, uint64_t i, int32_t *ids, uint8_t *mask, sk_err *e);
void sk_data_loader_get_pos(const sk_data_loader *l, sk_data_pos *pos);
/* Fails (SK_ERR_INVALID) when the fingerprint belongs to other data or settings. */
int sk_data_loader_set_pos(sk_data_loader *l, const sk_data_pos *pos, sk_err *e);
/* Little-endian: "SKDP" u32 version=1, u64 fingerprint, u64 epoch, u64 index, u64 checksum
 * (FNV-1a 64 of the 32 bytes before it). */
void sk_data_pos_encode(const sk_data_pos *pos, uint8_t out[SK_DATA_POS_BYTES]);
int sk_data_pos_decode(const uint8_t *buf, size_t len, sk_data_pos *pos, sk_err *e);

/* Creates dir and its missing parents (like mkdir -p); errors carry strerror. */
int sk_data_mkdir_p(const char *dir, sk_err *e);
/* sk_data_mkdir_p, then checks that files can be created in dir: called before long work (BPE
 * training) so that a bad --out fails at once, not after the work. */
int sk_data_prepare_out_dir(const char *dir, sk_err *e);

/* FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) continuing from h. */
uint64_t sk_data_fnv1a(uint64_t h, const void *data, size_t n);
#define SK_FNV_BASIS 0xcbf29ce484222325ull

#ifdef __cplusplus
}
#endif
#endif
