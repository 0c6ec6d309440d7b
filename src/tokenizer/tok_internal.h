/* tok_internal.h — shared between the tokenizer's files (not a public header). */
#ifndef SK_TOK_INTERNAL_H
#define SK_TOK_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>

#include "sk_tokenizer.h"

/* ---- pre-tokenizer: a sequence of steps applied to every piece of the previous one ---- */

typedef enum tok_split_behavior {
    TOK_SPLIT_ISOLATED = 0,
    TOK_SPLIT_REMOVED,
    TOK_SPLIT_MERGED_PREV,
    TOK_SPLIT_MERGED_NEXT,
    TOK_SPLIT_CONTIGUOUS,
} tok_split_behavior;

typedef struct tok_step {
    pcre2_code *re;
    bool jit;
    tok_split_behavior behavior;
    bool invert;
} tok_step;

typedef struct tok_span {
    size_t off, len;
} tok_span;

#define TOK_MAX_STEPS 16

typedef struct tok_pretok {
    tok_step *steps;
    int n_steps;
    pcre2_match_data *md; /* sized for the largest pattern */
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit_stack;
    /* per-step piece lists (steps other than unchanged Isolated splits) */
    tok_span *lvl[TOK_MAX_STEPS];
    size_t lvl_cap[TOK_MAX_STEPS];
    struct {
        size_t off, len;
        bool m;
    } * seg;
    size_t cap_seg;
} tok_pretok;

/* Adds a regex split step (pattern in HF/Rust syntax: `\s` means Unicode White_Space). */
int tok_pretok_add(tok_pretok *p, const char *pattern, size_t len, tok_split_behavior b,
                   bool invert, sk_err *e);
/* Adds the built-in steps for a llama.cpp pre-tokenizer name; SK_ERR_UNSUPPORTED if unknown.
 * *canon gets the canonical name. *ignore_merges is set for llama-bpe. */
int tok_pretok_add_named(tok_pretok *p, const char *name, const char **canon, bool *ignore_merges,
                         sk_err *e);
/* The built-in patterns of a canonical name (NULL-terminated array), for matching tokenizer.json.
 */
const char *const *tok_pretok_patterns(const char *canon);
extern const char *const tok_pretok_names[]; /* canonical names, NULL-terminated */
/* Splits text[0,len) into words, calling cb(ctx, offset, length, e) for each in order; a
 * non-zero return stops the walk and is returned. */
typedef int (*tok_word_fn)(void *ctx, size_t off, size_t len, sk_err *e);
int tok_pretok_each(tok_pretok *p, const char *text, size_t len, tok_word_fn cb, void *ctx,
                    sk_err *e);
void tok_pretok_free(tok_pretok *p);

/* ---- the tokenizer ---- */

typedef struct tok_entry {
    const char *text; /* NUL-terminated, in the arena */
    uint32_t len;
    uint32_t piece_len;
    const uint8_t *piece; /* decoded bytes, in the arena */
    uint8_t type;         /* sk_token_type */
} tok_entry;

typedef struct tok_merge_slot {
    uint64_t key; /* (left << 32) | right; 0 marks empty with rank < 0 */
    int32_t rank; /* -1: empty */
    int32_t result;
} tok_merge_slot;

typedef struct tok_trie_node {
    int32_t first_child, next_sibling;
    int32_t token; /* -1 if no token ends here */
    uint8_t byte;
} tok_trie_node;

#define TOK_CACHE_SLOTS 32768 /* power of two; 64-byte slots: 2 MiB */
#define TOK_CACHE_WORD  30
#define TOK_CACHE_IDS   8
typedef struct tok_cache_slot {
    uint8_t len; /* 0: empty */
    uint8_t n_ids;
    char word[TOK_CACHE_WORD];
    int32_t ids[TOK_CACHE_IDS];
} tok_cache_slot;

struct sk_tokenizer {
    sk_arena arena;
    int32_t n_vocab;
    tok_entry *tokens;
    /* text -> id */
    int32_t *vocab_slots; /* open addressing, -1 empty */
    size_t vocab_cap;     /* power of two */
    /* (left,right) -> rank, result */
    tok_merge_slot *merges;
    size_t merge_cap;
    int32_t n_merges;
    int32_t byte_id[256]; /* id of the single-byte token, -1 if absent */
    /* added tokens trie (root = node 0) */
    tok_trie_node *trie;
    size_t trie_n, trie_cap;
    bool has_added;
    uint64_t added_first[4]; /* bitmap of the first bytes of added tokens */
    int32_t bos, eos, pad;
    bool add_bos, ignore_merges;
    char pre[32];
    char *chat_template;
    tok_pretok pretok;
    /* encode state, under mu */
    pthread_mutex_t mu;
    tok_cache_slot *cache; /* TOK_CACHE_SLOTS */
    /* BPE scratch */
    struct tok_sym *syms;
    size_t syms_cap;
    struct tok_heap_ent *heap;
    size_t heap_cap;
    int32_t *out;
    size_t out_n, out_cap;
    char *clean; /* sanitized copy of the input */
    size_t clean_cap;
};

/* Builder used by both loaders. */
int tok_init(sk_tokenizer *t, int32_t n_vocab, sk_err *e);
/* Sets token id's text and type (text copied). */
int tok_set_token(sk_tokenizer *t, int32_t id, const char *text, size_t len, int type, sk_err *e);
/* After all tokens are set: builds the text index, byte ids, pieces and the added-token trie. */
int tok_finish_vocab(sk_tokenizer *t, sk_err *e);
/* Adds merge "left right" with rank r (left/right as byte-level strings). Merges whose parts or
 * result are not in the vocabulary are an error naming the merge. */
int tok_add_merge(sk_tokenizer *t, const char *left, size_t llen, const char *right, size_t rlen,
                  int32_t rank, sk_err *e);
int tok_reserve_merges(sk_tokenizer *t, size_t n, sk_err *e);
int32_t tok_lookup(const sk_tokenizer *t, const char *text, size_t len);
/* Classifies an added token like llama.cpp's converter. */
int tok_added_type(const char *text, size_t len, bool special);

#endif
