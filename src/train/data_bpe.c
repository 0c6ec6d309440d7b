/* data_bpe.c — byte-level BPE training (see sk_data.h for the rules and the output layout).
 *
 * Data structures:
 *   words  distinct pre-tokenized words, each with its frequency and its current symbol ids;
 *   pairs  every adjacent symbol pair ever seen: count (sum of frequency × occurrences) and the
 *          list of words that held it when it was created or counted (entries may be stale:
 *          a word is re-checked when visited, and visited once per merge via a stamp);
 *   heap   a lazy max-heap of (count, left, right): an entry may overstate its pair's count
 *          (counts of existing pairs only fall — every new pair contains the new symbol), so a
 *          popped entry whose count is out of date is pushed back with the current count.
 * A merge of (A,B) -> X revisits only the words on the pair's list: it subtracts the word's
 * pairs that touch A or B, merges left to right, and adds back the pairs that touch A, B or X. */
#include "sk_data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sk_tokenizer.h"

const char *const sk_bpe_default_special[] = {
    "<\xEF\xBD\x9C"
    "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
    "<\xEF\xBD\x9C"
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>",
    "<\xEF\xBD\x9CUser\xEF\xBD\x9C>",
    "<\xEF\xBD\x9C"
    "Assistant\xEF\xBD\x9C>",
    "<think>",
    "</think>",
    NULL,
};

void sk_bpe_train_opts_default(sk_bpe_train_opts *o) {
    memset(o, 0, sizeof *o);
    o->vocab_size = 8192;
    o->pre = "deepseek-v3";
    o->min_frequency = 2;
}

/* ---- pre-tokenizer definitions (spec §5.3; the strings of the models' tokenizer.json) ---- */

/* DeepSeek-V3: three isolated splits. The third pattern holds literal CR and LF characters,
 * as the DeepSeek-V3 tokenizer.json does. */
static const char *const rx_deepseek_v3[] = {
    "\\p{N}{1,3}",
    "[\xE4\xB8\x80-\xE9\xBE\xA5\xE3\x81\x80-\xE3\x82\x9F\xE3\x82\xA0-\xE3\x83\xBF]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}"
    "\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
    NULL,
};
static const char *const rx_qwen2[] = {
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL,
};
static const char *const rx_llama3[] = {
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL,
};

static int pre_lookup(const char *name, const char *const **rx, const char **canon, bool *im,
                      sk_err *e) {
    if (!name || !strcmp(name, "deepseek-v3")) {
        *rx = rx_deepseek_v3, *canon = "deepseek-v3", *im = false;
    } else if (!strcmp(name, "qwen2")) {
        *rx = rx_qwen2, *canon = "qwen2", *im = false;
    } else if (!strcmp(name, "llama3") || !strcmp(name, "llama-bpe")) {
        *rx = rx_llama3, *canon = "llama-bpe", *im = true;
    } else {
        return sk_err_set(e, SK_ERR_INVALID,
                          "pre-tokenizer \"%s\" is not supported for training (use deepseek-v3, "
                          "qwen2 or llama3)",
                          name);
    }
    return SK_OK;
}

/* ---- byte symbols ---- */

/* Rank of byte b among the 256 byte symbols (spec §5.2 order). */
static int byte_rank(int b) {
    static int16_t rank[256];
    static int init;
    if (!init) {
        int r = 0;
        for (int x = 0; x < 256; x++)
            if ((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE)
                rank[x] = (int16_t)r++;
        for (int x = 0; x < 256; x++)
            if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE))
                rank[x] = (int16_t)r++;
        init = 1;
    }
    return rank[b];
}

static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* ---- the trainer state ---- */

typedef struct word {
    int64_t freq;
    int32_t *sym;
    int32_t len;
    uint32_t stamp; /* last merge (1-based) that visited it */
} word;

typedef struct pair {
    int32_t a, b;
    int64_t count;
    int32_t *occ; /* word indices */
    uint32_t n_occ, cap_occ;
    uint32_t touched; /* last merge (1-based) that created/raised it */
    bool banned;
} pair;

typedef struct heap_ent {
    int64_t count;
    int32_t a, b;
} heap_ent;

typedef struct trainer {
    /* word counting */
    sk_arena arena;
    word *words;
    size_t n_words, cap_words;
    const char **wtext; /* [n_words] word bytes (arena) */
    uint32_t *wlen;
    uint32_t *wtab; /* open addressing: word index + 1, 0 = empty */
    size_t wtab_cap;
    uint64_t total_words;
    /* pairs */
    pair *pairs;
    size_t n_pairs, cap_pairs;
    uint32_t *ptab; /* pair index + 1 */
    size_t ptab_cap;
    heap_ent *heap;
    size_t n_heap, cap_heap;
    int32_t *touched_list;
    size_t n_touched, cap_touched;
    int rc; /* first error inside the pre-tokenizer callback */
    sk_err *e;
    /* every token text so far (specials, bytes, merges): a merge that would recreate an
     * existing text is never made, so texts stay unique */
    int32_t *ttab; /* token id + 1, 0 = empty */
    size_t ttab_cap;
    const sk_bpe_result *res;
} trainer;

static uint64_t hash_bytes(const char *s, size_t n);

/* The id of the token whose text is s, or -1. */
static int32_t text_find(const trainer *T, const char *s) {
    size_t n = strlen(s), h = hash_bytes(s, n) & (T->ttab_cap - 1);
    while (T->ttab[h]) {
        int32_t id = T->ttab[h] - 1;
        if (!strcmp(T->res->token[id], s)) return id;
        h = (h + 1) & (T->ttab_cap - 1);
    }
    return -1;
}

/* Records token id (its text must be set and absent from the set). */
static void text_add(trainer *T, int32_t id) {
    const char *s = T->res->token[id];
    size_t h = hash_bytes(s, strlen(s)) & (T->ttab_cap - 1);
    while (T->ttab[h]) h = (h + 1) & (T->ttab_cap - 1);
    T->ttab[h] = id + 1;
}

static uint64_t hash_bytes(const char *s, size_t n) {
    return sk_data_fnv1a(SK_FNV_BASIS, s, n);
}
static uint64_t hash_pair(int32_t a, int32_t b) {
    uint64_t x = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem, sk_err *e) {
    if (need <= *cap) return SK_OK;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) {
        if (!sk_mul_ok(nc, 2, &nc)) return sk_err_set(e, SK_ERR_NOMEM, "BPE trainer: too large");
    }
    size_t bytes;
    if (!sk_mul_ok(nc, elem, &bytes)) return sk_err_set(e, SK_ERR_NOMEM, "BPE trainer: too large");
    void *np = realloc(*p, bytes);
    if (!np) return sk_err_set(e, SK_ERR_NOMEM, "BPE trainer: out of memory (%zu bytes)", bytes);
    *p = np;
    *cap = nc;
    return SK_OK;
}

static int wtab_rehash(trainer *T, size_t ncap) {
    uint32_t *nt = sk_calloc(ncap, sizeof *nt, T->e);
    if (!nt) return SK_ERR_NOMEM;
    for (size_t i = 0; i < T->n_words; i++) {
        size_t h = hash_bytes(T->wtext[i], T->wlen[i]) & (ncap - 1);
        while (nt[h]) h = (h + 1) & (ncap - 1);
        nt[h] = (uint32_t)(i + 1);
    }
    free(T->wtab);
    T->wtab = nt;
    T->wtab_cap = ncap;
    return SK_OK;
}

static void on_word(void *ctx, const char *w, size_t len) {
    trainer *T = ctx;
    if (T->rc || len == 0) return;
    if (len > INT32_MAX / 2) {
        T->rc = sk_err_set(T->e, SK_ERR_RANGE, "BPE trainer: a word of %zu bytes is too long", len);
        return;
    }
    T->total_words++;
    if ((T->n_words + 1) * 2 > T->wtab_cap) {
        if (T->n_words >= UINT32_MAX / 4) {
            T->rc = sk_err_set(T->e, SK_ERR_RANGE, "BPE trainer: too many distinct words");
            return;
        }
        if ((T->rc = wtab_rehash(T, T->wtab_cap ? T->wtab_cap * 2 : 1024))) return;
    }
    size_t h = hash_bytes(w, len) & (T->wtab_cap - 1);
    while (T->wtab[h]) {
        size_t i = T->wtab[h] - 1;
        if (T->wlen[i] == len && !memcmp(T->wtext[i], w, len)) {
            T->words[i].freq++;
            return;
        }
        h = (h + 1) & (T->wtab_cap - 1);
    }
    size_t cw = T->cap_words, cw2 = T->cap_words, cw3 = T->cap_words;
    if ((T->rc = grow((void **)&T->words, &cw, T->n_words + 1, sizeof(word), T->e))) return;
    if ((T->rc = grow((void **)&T->wtext, &cw2, T->n_words + 1, sizeof(char *), T->e))) return;
    if ((T->rc = grow((void **)&T->wlen, &cw3, T->n_words + 1, sizeof(uint32_t), T->e))) return;
    T->cap_words = cw;
    char *copy = sk_arena_strdup(&T->arena, w, len, T->e);
    if (!copy) {
        T->rc = SK_ERR_NOMEM;
        return;
    }
    size_t i = T->n_words++;
    memset(&T->words[i], 0, sizeof(word));
    T->words[i].freq = 1;
    T->wtext[i] = copy;
    T->wlen[i] = (uint32_t)len;
    T->wtab[h] = (uint32_t)(i + 1);
}

static int64_t pair_find(const trainer *T, int32_t a, int32_t b) {
    if (!T->ptab_cap) return -1;
    size_t h = hash_pair(a, b) & (T->ptab_cap - 1);
    while (T->ptab[h]) {
        const pair *p = &T->pairs[T->ptab[h] - 1];
        if (p->a == a && p->b == b) return (int64_t)T->ptab[h] - 1;
        h = (h + 1) & (T->ptab_cap - 1);
    }
    return -1;
}

static int ptab_rehash(trainer *T, size_t ncap) {
    uint32_t *nt = sk_calloc(ncap, sizeof *nt, T->e);
    if (!nt) return SK_ERR_NOMEM;
    for (size_t i = 0; i < T->n_pairs; i++) {
        size_t h = hash_pair(T->pairs[i].a, T->pairs[i].b) & (ncap - 1);
        while (nt[h]) h = (h + 1) & (ncap - 1);
        nt[h] = (uint32_t)(i + 1);
    }
    free(T->ptab);
    T->ptab = nt;
    T->ptab_cap = ncap;
    return SK_OK;
}

/* Index of pair (a,b), created with count 0 if absent; -1 on error. */
static int64_t pair_get(trainer *T, int32_t a, int32_t b) {
    int64_t p = pair_find(T, a, b);
    if (p >= 0) return p;
    if ((T->n_pairs + 1) * 2 > T->ptab_cap) {
        if (T->n_pairs >= UINT32_MAX / 4) {
            sk_err_set(T->e, SK_ERR_RANGE, "BPE trainer: too many distinct pairs");
            return -1;
        }
        if (ptab_rehash(T, T->ptab_cap ? T->ptab_cap * 2 : 4096)) return -1;
    }
    if (grow((void **)&T->pairs, &T->cap_pairs, T->n_pairs + 1, sizeof(pair), T->e)) return -1;
    size_t i = T->n_pairs++;
    memset(&T->pairs[i], 0, sizeof(pair));
    T->pairs[i].a = a;
    T->pairs[i].b = b;
    size_t h = hash_pair(a, b) & (T->ptab_cap - 1);
    while (T->ptab[h]) h = (h + 1) & (T->ptab_cap - 1);
    T->ptab[h] = (uint32_t)(i + 1);
    return (int64_t)i;
}

static int occ_add(trainer *T, pair *p, int32_t w) {
    if (p->n_occ && p->occ[p->n_occ - 1] == w) return SK_OK;
    if (p->n_occ == p->cap_occ) {
        if (p->cap_occ >= UINT32_MAX / 2)
            return sk_err_set(T->e, SK_ERR_RANGE, "BPE trainer: occurrence list too long");
        uint32_t nc = p->cap_occ ? p->cap_occ * 2 : 4;
        int32_t *no = realloc(p->occ, (size_t)nc * sizeof(int32_t));
        if (!no) return sk_err_set(T->e, SK_ERR_NOMEM, "BPE trainer: out of memory");
        p->occ = no;
        p->cap_occ = nc;
    }
    p->occ[p->n_occ++] = w;
    return SK_OK;
}

/* heap order: higher count first; then smaller a; then smaller b */
static bool heap_before(const heap_ent *x, const heap_ent *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

static int heap_push(trainer *T, int64_t count, int32_t a, int32_t b) {
    int rc = grow((void **)&T->heap, &T->cap_heap, T->n_heap + 1, sizeof(heap_ent), T->e);
    if (rc) return rc;
    size_t i = T->n_heap++;
    heap_ent v = {count, a, b};
    while (i > 0) {
        size_t par = (i - 1) / 2;
        if (!heap_before(&v, &T->heap[par])) break;
        T->heap[i] = T->heap[par];
        i = par;
    }
    T->heap[i] = v;
    return SK_OK;
}

static heap_ent heap_pop(trainer *T) {
    heap_ent top = T->heap[0];
    heap_ent v = T->heap[--T->n_heap];
    size_t n = T->n_heap, i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        const heap_ent *bv = &v;
        if (l < n && heap_before(&T->heap[l], bv)) best = l, bv = &T->heap[l];
        if (r < n && heap_before(&T->heap[r], bv)) best = r;
        if (best == i) break;
        T->heap[i] = T->heap[best];
        i = best;
    }
    if (n) T->heap[i] = v;
    return top;
}

/* Adds delta to pair (a,b); for new-symbol pairs also records the word and marks it touched. */
static int pair_add(trainer *T, int32_t a, int32_t b, int64_t delta, int32_t w, uint32_t stamp) {
    int64_t pi = pair_get(T, a, b);
    if (pi < 0) return T->e ? T->e->code : SK_ERR_NOMEM;
    pair *p = &T->pairs[pi];
    p->count += delta;
    if (stamp) {
        int rc = occ_add(T, p, w);
        if (rc) return rc;
        if (p->touched != stamp) {
            p->touched = stamp;
            rc = grow((void **)&T->touched_list, &T->cap_touched, T->n_touched + 1, sizeof(int32_t),
                      T->e);
            if (rc) return rc;
            T->touched_list[T->n_touched++] = (int32_t)pi;
        }
    }
    return SK_OK;
}

static void trainer_free(trainer *T) {
    for (size_t i = 0; i < T->n_pairs; i++) free(T->pairs[i].occ);
    for (size_t i = 0; i < T->n_words; i++) free(T->words[i].sym);
    free(T->pairs);
    free(T->ptab);
    free(T->heap);
    free(T->touched_list);
    free(T->words);
    free(T->wtext);
    free(T->wlen);
    free(T->wtab);
    free(T->ttab);
    sk_arena_free(&T->arena);
}

void sk_bpe_result_free(sk_bpe_result *r) {
    if (!r) return;
    if (r->token)
        for (int32_t i = 0; i < r->vocab_size; i++) free(r->token[i]);
    free(r->token);
    free(r->merges);
    free(r->merge_count);
    free(r->pre);
    free(r);
}

/* ---- tokenizer.json ---- */

#include "sk_json.h"

static json_t *split_obj(const char *rx) {
    return json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", "Regex", rx,
                     "behavior", "Isolated", "invert", 0);
}

static bool is_bar_token(const char *s) {
    size_t n = strlen(s);
    if (n >= 4 && s[0] == '<' && s[1] == '|' && s[n - 2] == '|' && s[n - 1] == '>') return true;
    return n >= 8 && !memcmp(s, "<\xEF\xBD\x9C", 4) && !memcmp(s + n - 4, "\xEF\xBD\x9C>", 4);
}

/* Builds the tokenizer.json document for the given vocabulary (token[i] for i in [0,n_vocab)),
 * with specials at ids [0, n_special) and merges of ids. */
static json_t *build_tokenizer_json(const char *const *token, int32_t n_vocab, int32_t n_special,
                                    const int32_t (*merges)[2], int32_t n_merges,
                                    const char *const *rx, bool ignore_merges, sk_err *e) {
    json_t *root = json_object(), *added = json_array(), *pre_seq = json_array(),
           *vocab = json_object(), *mj = json_array();
    if (!root || !added || !pre_seq || !vocab || !mj) goto nomem;
    for (int32_t i = 0; i < n_special; i++) {
        bool special = i < 2 || is_bar_token(token[i]);
        json_t *a = json_pack("{s:i, s:s, s:b, s:b, s:b, s:b, s:b}", "id", (json_int_t)i, "content",
                              token[i], "single_word", 0, "lstrip", 0, "rstrip", 0, "normalized", 0,
                              "special", special);
        if (!a || json_array_append_new(added, a)) goto nomem;
    }
    for (int k = 0; rx[k]; k++)
        if (json_array_append_new(pre_seq, split_obj(rx[k]))) goto nomem;
    if (json_array_append_new(pre_seq,
                              json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel",
                                        "add_prefix_space", 0, "trim_offsets", 1, "use_regex", 0)))
        goto nomem;
    for (int32_t i = n_special; i < n_vocab; i++)
        if (json_object_set_new(vocab, token[i], json_integer(i))) goto nomem;
    for (int32_t m = 0; m < n_merges; m++) {
        const char *l = token[merges[m][0]], *r = token[merges[m][1]];
        size_t ll = strlen(l), rl = strlen(r);
        char *s = malloc(ll + rl + 2);
        if (!s) goto nomem;
        memcpy(s, l, ll);
        s[ll] = ' ';
        memcpy(s + ll + 1, r, rl + 1);
        int bad = json_array_append_new(mj, json_string(s));
        free(s);
        if (bad) goto nomem;
    }
    json_t *post = json_null();
    if (n_special > 0) {
        const char *bos = token[0];
        post = json_pack(
            "{s:s, s:[{s:{s:s, s:i}}, {s:{s:s, s:i}}], s:[{s:{s:s, s:i}}, {s:{s:s, s:i}}, "
            "{s:{s:s, s:i}}, {s:{s:s, s:i}}], s:{s:{s:s, s:[i], s:[s]}}}",
            "type", "TemplateProcessing", "single", "SpecialToken", "id", bos, "type_id", 0,
            "Sequence", "id", "A", "type_id", 0, "pair", "SpecialToken", "id", bos, "type_id", 0,
            "Sequence", "id", "A", "type_id", 0, "SpecialToken", "id", bos, "type_id", 1,
            "Sequence", "id", "B", "type_id", 1, "special_tokens", bos, "id", bos, "ids", 0,
            "tokens", bos);
        if (!post) goto nomem;
    }
    json_t *model =
        json_pack("{s:s, s:n, s:n, s:n, s:n, s:b, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout",
                  "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0,
                  "byte_fallback", 0, "ignore_merges", ignore_merges, "vocab", vocab, "merges", mj);
    vocab = mj = NULL;
    if (!model) {
        json_decref(post);
        goto nomem;
    }
    if (json_object_set_new(root, "version", json_string("1.0")) ||
        json_object_set_new(root, "truncation", json_null()) ||
        json_object_set_new(root, "padding", json_null()) ||
        json_object_set_new(root, "added_tokens", added) ||
        json_object_set_new(root, "normalizer", json_null()) ||
        json_object_set_new(
            root, "pre_tokenizer",
            json_pack("{s:s, s:o}", "type", "Sequence", "pretokenizers", pre_seq)) ||
        json_object_set_new(root, "post_processor", post) ||
        json_object_set_new(root, "decoder",
                            json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel",
                                      "add_prefix_space", 1, "trim_offsets", 1, "use_regex", 1)) ||
        json_object_set_new(root, "model", model)) {
        added = pre_seq = NULL;
        goto nomem;
    }
    return root;
nomem:
    json_decref(root);
    json_decref(added);
    json_decref(pre_seq);
    json_decref(vocab);
    json_decref(mj);
    sk_err_set(e, SK_ERR_NOMEM, "building tokenizer.json: out of memory");
    return NULL;
}

static int write_json(const json_t *j, const char *dir, const char *name, sk_err *e) {
    char *s = json_dumps(j, JSON_INDENT(1));
    if (!s) return sk_err_set(e, SK_ERR_NOMEM, "%s: serializing JSON failed", name);
    char *path = sk_path_join(dir, name, e);
    int rc = path ? SK_OK : SK_ERR_NOMEM;
    if (path) {
        size_t n = strlen(s);
        s[n] = '\n'; /* replace the NUL with a final newline; write n+1 bytes */
        rc = sk_write_file_atomic(path, s, n + 1, e);
    }
    free(path);
    free(s);
    return rc;
}

/* A bootstrap tokenizer (256 byte symbols, no merges, the chosen pre-tokenizer) used to
 * pre-tokenize the corpus with the tokenizer module's own code. */
static int load_bootstrap(const char *const *rx, bool ignore_merges, char *const *bytetok,
                          sk_tokenizer **out, sk_err *e) {
    const char *tmpdir = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/seek-bpe-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(tmpl))
        return sk_err_set(e, SK_ERR_IO, "cannot create a temporary directory %s", tmpl);
    int rc;
    json_t *j =
        build_tokenizer_json((const char *const *)bytetok, 256, 0, NULL, 0, rx, ignore_merges, e);
    if (!j) {
        rc = e ? e->code : SK_ERR_NOMEM;
        goto done;
    }
    rc = write_json(j, tmpl, "tokenizer.json", e);
    json_decref(j);
    if (rc) goto done;
    rc = sk_tokenizer_load_hf(tmpl, out, e);
    if (rc) sk_err_prefix(e, "loading the bootstrap pre-tokenizer");
done:;
    char path[4200];
    snprintf(path, sizeof path, "%s/tokenizer.json", tmpl);
    unlink(path);
    rmdir(tmpl);
    return rc;
}

/* ---- training ---- */

int sk_bpe_train(const char *const *texts, const size_t *lens, size_t n_texts,
                 const sk_bpe_train_opts *o, sk_bpe_result **out, sk_err *e) {
    *out = NULL;
    const char *const *rx = NULL; /* set by pre_lookup (initialized for gcc 13's
                                      -Wmaybe-uninitialized) */
    const char *canon = NULL;
    bool im = false;
    int rc = pre_lookup(o->pre, &rx, &canon, &im, e);
    if (rc) return rc;
    const char *const *special = o->special ? o->special : sk_bpe_default_special;
    int32_t S = 0;
    while (special[S]) {
        if (!special[S][0]) return sk_err_set(e, SK_ERR_INVALID, "special token %d is empty", S);
        if (!sk_utf8_valid((const uint8_t *)special[S], strlen(special[S])))
            return sk_err_set(e, SK_ERR_INVALID, "special token %d is not valid UTF-8", S);
        for (int32_t k = 0; k < S; k++)
            if (!strcmp(special[k], special[S]))
                return sk_err_set(e, SK_ERR_INVALID, "special token \"%s\" is listed twice",
                                  special[S]);
        if (++S > 65536) return sk_err_set(e, SK_ERR_INVALID, "too many special tokens");
    }
    if (o->vocab_size < S + 256 || o->vocab_size > (1 << 24))
        return sk_err_set(e, SK_ERR_INVALID,
                          "vocab size %d: must be at least %d (%d special tokens + 256 bytes) and "
                          "at most %d",
                          (int)o->vocab_size, (int)S + 256, (int)S, 1 << 24);
    int64_t minf = o->min_frequency > 0 ? o->min_frequency : 1;
    int32_t want_merges = o->vocab_size - S - 256;

    trainer T;
    memset(&T, 0, sizeof T);
    T.e = e;
    sk_arena_init(&T.arena, 0);
    sk_tokenizer *tok = NULL;
    sk_bpe_result *r = sk_calloc(1, sizeof *r, e);
    if (!r) {
        rc = SK_ERR_NOMEM;
        goto fail;
    }
    r->n_special = S;
    r->ignore_merges = im;
    if (!(r->pre = sk_strdup(canon, e))) goto nomem;
    if (!(r->token = sk_calloc((size_t)o->vocab_size, sizeof(char *), e))) goto nomem;
    if (!(r->merges = sk_calloc((size_t)want_merges + 1, sizeof(int32_t[2]), e))) goto nomem;
    if (!(r->merge_count = sk_calloc((size_t)want_merges + 1, sizeof(int64_t), e))) goto nomem;
    r->vocab_size = S + 256;
    for (int32_t i = 0; i < S; i++)
        if (!(r->token[i] = sk_strdup(special[i], e))) goto nomem;
    int32_t byte_id[256];
    for (int b = 0; b < 256; b++) {
        char buf[4];
        size_t n = put_utf8(buf, sk_tok_byte_to_cp((uint8_t)b));
        buf[n] = 0;
        int32_t id = S + byte_rank(b);
        byte_id[b] = id;
        if (!(r->token[id] = sk_strdup(buf, e))) goto nomem;
    }
    T.res = r;
    T.ttab_cap = 1024;
    while (T.ttab_cap < 2 * (size_t)o->vocab_size) T.ttab_cap *= 2;
    if (!(T.ttab = sk_calloc(T.ttab_cap, sizeof(int32_t), e))) goto nomem;
    for (int32_t b = S; b < S + 256; b++) text_add(&T, b);
    for (int32_t i = 0; i < S; i++) {
        if (text_find(&T, r->token[i]) >= 0) {
            rc = sk_err_set(e, SK_ERR_INVALID,
                            "special token \"%s\" equals a byte symbol of the vocabulary",
                            special[i]);
            goto fail;
        }
        text_add(&T, i);
    }

    /* 1. pre-tokenize and count words */
    if ((rc = load_bootstrap(rx, im, r->token + S, &tok, e))) goto fail;
    /* the bootstrap vocabulary holds the byte symbols in id order S.., so its ids are ours − S */
    sk_progress prog;
    uint64_t total_bytes = 0;
    for (size_t i = 0; i < n_texts; i++) total_bytes += lens[i];
    if (!o->quiet) sk_progress_begin(&prog, "pre-tokenize", total_bytes, "B");
    for (size_t i = 0; i < n_texts; i++) {
        rc = sk_tokenizer_pretokenize(tok, texts[i], lens[i], 0, on_word, &T, e);
        if (!rc) rc = T.rc;
        if (rc) {
            sk_err_prefix(e, "pre-tokenizing document %zu", i);
            if (!o->quiet) sk_progress_end(&prog);
            goto fail;
        }
        if (!o->quiet) sk_progress_add(&prog, lens[i]);
    }
    if (!o->quiet) sk_progress_end(&prog);
    sk_tokenizer_free(tok);
    tok = NULL;
    r->n_words = T.total_words;
    r->n_unique_words = T.n_words;
    free(T.wtab);
    T.wtab = NULL;

    /* 2. symbols and initial pair counts */
    for (size_t w = 0; w < T.n_words; w++) {
        word *wd = &T.words[w];
        wd->len = (int32_t)T.wlen[w];
        if (!(wd->sym = sk_malloc((size_t)wd->len * sizeof(int32_t), e))) goto nomem;
        for (int32_t k = 0; k < wd->len; k++) wd->sym[k] = byte_id[(uint8_t)T.wtext[w][k]];
        for (int32_t k = 0; k + 1 < wd->len; k++) {
            int64_t pi = pair_get(&T, wd->sym[k], wd->sym[k + 1]);
            if (pi < 0) goto errout;
            T.pairs[pi].count += wd->freq;
            if ((rc = occ_add(&T, &T.pairs[pi], (int32_t)w))) goto fail;
        }
    }
    for (size_t i = 0; i < T.n_pairs; i++)
        if ((rc = heap_push(&T, T.pairs[i].count, T.pairs[i].a, T.pairs[i].b))) goto fail;

    /* 3. merges */
    if (!o->quiet) sk_progress_begin(&prog, "merges", (uint64_t)want_merges, "merges");
    int32_t m = 0;
    while (m < want_merges && T.n_heap > 0) {
        heap_ent top = heap_pop(&T);
        int64_t pi = pair_find(&T, top.a, top.b);
        if (pi < 0) continue;
        pair *p = &T.pairs[pi];
        if (p->banned || p->count <= 0) continue;
        if (p->count != top.count) {
            if ((rc = heap_push(&T, p->count, p->a, p->b))) goto fail;
            continue;
        }
        if (p->count < minf) break;
        int32_t A = p->a, B = p->b, X = S + 256 + m;
        size_t la = strlen(r->token[A]), lb = strlen(r->token[B]);
        char *txt = malloc(la + lb + 1);
        if (!txt) goto nomem;
        memcpy(txt, r->token[A], la);
        memcpy(txt + la, r->token[B], lb + 1);
        if (text_find(&T, txt) >= 0) { /* a special token's or an earlier merge's text */
            free(txt);
            p->banned = true;
            continue;
        }
        r->token[X] = txt;
        r->vocab_size = X + 1; /* owned by r from here on */
        text_add(&T, X);
        r->merges[m][0] = A;
        r->merges[m][1] = B;
        r->merge_count[m] = p->count;
        uint32_t stamp = (uint32_t)m + 1;
        T.n_touched = 0;
        for (uint32_t oi = 0; oi < T.pairs[pi].n_occ; oi++) {
            int32_t w = T.pairs[pi].occ[oi];
            word *wd = &T.words[w];
            if (wd->stamp == stamp) continue;
            wd->stamp = stamp;
            int32_t *s = wd->sym, n = wd->len;
            bool has = false;
            for (int32_t k = 0; k + 1 < n; k++)
                if (s[k] == A && s[k + 1] == B) {
                    has = true;
                    break;
                }
            if (!has) continue;
            for (int32_t k = 0; k + 1 < n; k++)
                if (s[k] == A || s[k] == B || s[k + 1] == A || s[k + 1] == B)
                    if ((rc = pair_add(&T, s[k], s[k + 1], -wd->freq, w, 0))) goto fail;
            int32_t j = 0;
            for (int32_t i = 0; i < n;) {
                if (i + 1 < n && s[i] == A && s[i + 1] == B) {
                    s[j++] = X;
                    i += 2;
                } else {
                    s[j++] = s[i++];
                }
            }
            wd->len = n = j;
            for (int32_t k = 0; k + 1 < n; k++) {
                bool nx = s[k] == X || s[k + 1] == X;
                if (nx || s[k] == A || s[k] == B || s[k + 1] == A || s[k + 1] == B)
                    if ((rc = pair_add(&T, s[k], s[k + 1], wd->freq, w, nx ? stamp : 0))) goto fail;
            }
        }
        pi = pair_find(&T, A, B);
        free(T.pairs[pi].occ);
        T.pairs[pi].occ = NULL;
        T.pairs[pi].n_occ = T.pairs[pi].cap_occ = 0;
        for (size_t t = 0; t < T.n_touched; t++) {
            const pair *q = &T.pairs[T.touched_list[t]];
            if (q->count > 0 && (rc = heap_push(&T, q->count, q->a, q->b))) goto fail;
        }
        m++;
        r->n_merges = m;
        r->vocab_size = S + 256 + m;
        if (!o->quiet) sk_progress_update(&prog, (uint64_t)m);
    }
    if (!o->quiet) sk_progress_end(&prog);
    trainer_free(&T);
    *out = r;
    return SK_OK;
errout:
    rc = e && e->code ? e->code : SK_ERR_NOMEM;
    goto fail;
nomem:
    rc = SK_ERR_NOMEM;
fail:
    sk_tokenizer_free(tok);
    trainer_free(&T);
    sk_bpe_result_free(r);
    return rc;
}

int sk_data_mkdir_p(const char *dir, sk_err *e) {
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf)
        return sk_err_set(e, SK_ERR_INVALID, "bad directory name \"%s\"", dir);
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (!sk_is_dir(buf) && mkdir(buf, 0777) != 0 && !sk_is_dir(buf))
                return sk_err_set(e, SK_ERR_IO, "cannot create directory %s: %s", buf,
                                  strerror(errno));
            buf[i] = c;
        }
    }
    return SK_OK;
}

int sk_data_prepare_out_dir(const char *dir, sk_err *e) {
    int rc = sk_data_mkdir_p(dir, e);
    if (rc) return rc;
    if (access(dir, W_OK | X_OK) != 0)
        return sk_err_set(e, SK_ERR_IO, "cannot write into directory %s: %s", dir,
                          strerror(errno));
    return SK_OK;
}

int sk_bpe_write_hf(const sk_bpe_result *r, const sk_bpe_train_opts *o, const char *dir,
                    sk_err *e) {
    const char *const *rx = NULL; /* set by pre_lookup (initialized for gcc 13's
                                      -Wmaybe-uninitialized) */
    const char *canon = NULL;
    bool im = false;
    int rc = pre_lookup(r->pre, &rx, &canon, &im, e);
    if (rc) return rc;
    if ((rc = sk_data_mkdir_p(dir, e))) return rc;
    json_t *tj =
        build_tokenizer_json((const char *const *)r->token, r->vocab_size, r->n_special,
                             (const int32_t(*)[2])r->merges, r->n_merges, rx, r->ignore_merges, e);
    if (!tj) return e ? e->code : SK_ERR_NOMEM;
    rc = write_json(tj, dir, "tokenizer.json", e);
    json_decref(tj);
    if (rc) return rc;
    json_t *cfg = json_pack("{s:b, s:b, s:b, s:b, s:i, s:s}", "add_bos_token", 1, "add_eos_token",
                            0, "clean_up_tokenization_spaces", 0, "legacy", 1, "model_max_length",
                            (json_int_t)16384, "tokenizer_class", "LlamaTokenizerFast");
    if (!cfg) return sk_err_set(e, SK_ERR_NOMEM, "tokenizer_config.json: out of memory");
    int bad = 0;
    if (r->n_special >= 1) {
        bad |= json_object_set_new(cfg, "bos_token", json_string(r->token[0]));
        const char *eos = r->token[r->n_special >= 2 ? 1 : 0];
        bad |= json_object_set_new(cfg, "eos_token", json_string(eos));
        bad |= json_object_set_new(cfg, "pad_token", json_string(eos));
    }
    if (o && o->chat_template)
        bad |= json_object_set_new(cfg, "chat_template", json_string(o->chat_template));
    if (bad) {
        json_decref(cfg);
        return sk_err_set(e, SK_ERR_INVALID,
                          "tokenizer_config.json: a token or the chat template is not valid UTF-8");
    }
    rc = write_json(cfg, dir, "tokenizer_config.json", e);
    json_decref(cfg);
    return rc;
}
