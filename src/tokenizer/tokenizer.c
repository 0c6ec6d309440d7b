/* tokenizer.c — vocabulary, merge table, added-token matching, byte-level BPE encoding and
 * decoding (see sk_tokenizer.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

/* ---- byte <-> unicode map (spec §5.2) ---- */

static uint32_t g_b2u[256];
static int16_t g_u2b[0x144]; /* code points < 0x144 only */
static pthread_once_t g_map_once = PTHREAD_ONCE_INIT;

static void init_byte_map(void) {
    uint32_t n = 0;
    for (int i = 0; i < 0x144; i++) g_u2b[i] = -1;
    for (int b = 0; b < 256; b++) {
        bool self = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        g_b2u[b] = self ? (uint32_t)b : 0x100 + n++;
        g_u2b[g_b2u[b]] = (int16_t)b;
    }
}

uint32_t sk_tok_byte_to_cp(uint8_t b) {
    pthread_once(&g_map_once, init_byte_map);
    return g_b2u[b];
}

int sk_tok_cp_to_byte(uint32_t cp) {
    pthread_once(&g_map_once, init_byte_map);
    return cp < 0x144 ? g_u2b[cp] : -1;
}

/* ---- UTF-8 (WHATWG decoding: one U+FFFD per maximal ill-formed subpart) ---- */

enum { U8_OK, U8_BAD, U8_INCOMPLETE };

/* Examines the sequence at s[0..n): U8_OK with *len its length, U8_BAD with *len the bytes to
 * replace by one U+FFFD, or U8_INCOMPLETE (a valid prefix cut by the end; *len = n). */
static int utf8_step(const uint8_t *s, size_t n, size_t *len, uint32_t *cp) {
    uint8_t b0 = s[0];
    if (b0 < 0x80) {
        *len = 1;
        *cp = b0;
        return U8_OK;
    }
    int need;
    uint8_t lo = 0x80, hi = 0xBF;
    uint32_t c;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 1;
        c = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2;
        c = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;
        if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3;
        c = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;
        if (b0 == 0xF4) hi = 0x8F;
    } else {
        *len = 1;
        return U8_BAD;
    }
    for (int i = 1; i <= need; i++) {
        if ((size_t)i >= n) {
            *len = n;
            return U8_INCOMPLETE;
        }
        uint8_t b = s[i];
        if (b < lo || b > hi) {
            *len = (size_t)i;
            return U8_BAD;
        }
        lo = 0x80;
        hi = 0xBF;
        c = (c << 6) | (b & 0x3F);
    }
    *len = (size_t)need + 1;
    *cp = c;
    return U8_OK;
}

/* Appends the lossy decode of s[0..n) to out (capacity ≥ 3n: U+FFFD is 3 bytes for ≥ 1 byte).
 * If keep_tail, an incomplete final sequence is not decoded: *tail gets its length. */
static size_t utf8_lossy(const uint8_t *s, size_t n, char *out, bool keep_tail, size_t *tail) {
    size_t i = 0, k = 0;
    if (tail) *tail = 0;
    while (i < n) {
        size_t l;
        uint32_t cp;
        int st = utf8_step(s + i, n - i, &l, &cp);
        if (st == U8_OK) {
            memcpy(out + k, s + i, l);
            k += l;
        } else if (st == U8_INCOMPLETE && keep_tail) {
            *tail = l;
            break;
        } else {
            memcpy(out + k, "\xEF\xBF\xBD", 3);
            k += 3;
        }
        i += l;
    }
    return k;
}

int sk_utf8_sanitize(const uint8_t *src, size_t n, char **out, size_t *out_len, sk_err *e) {
    size_t cap;
    if (!sk_mul_ok(n, 3, &cap) || !sk_add_ok(cap, 1, &cap))
        return sk_err_set(e, SK_ERR_RANGE, "text too long (%zu bytes)", n);
    char *o = sk_malloc(cap, e);
    if (!o) return e ? e->code : SK_ERR_NOMEM;
    size_t k = utf8_lossy(src, n, o, false, NULL);
    o[k] = 0;
    *out = o;
    *out_len = k;
    return SK_OK;
}

/* sk_utf8_valid with an ASCII fast path (8 bytes at a time). */
static bool utf8_valid_fast(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t v;
            memcpy(&v, s + i, 8);
            if (!(v & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        int l = sk_utf8_seq_len(s + i, n - i);
        if (l <= 0) return false;
        i += (size_t)l;
    }
    return true;
}

/* ---- hashing ---- */

static inline uint64_t hash_bytes(const void *p, size_t n) {
    const uint8_t *s = p;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ v) * 0x100000001B3ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, s, n);
    h = (h ^ v) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 32;
    h *= 0x165667B19E3779F9ull;
    h ^= h >> 29;
    return h;
}

static inline uint64_t hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* ---- building ---- */

int tok_init(sk_tokenizer *t, int32_t n_vocab, sk_err *e) {
    memset(t, 0, sizeof *t);
    sk_arena_init(&t->arena, 4u << 20);
    pthread_mutex_init(&t->mu, NULL);
    t->bos = t->eos = t->pad = -1;
    strcpy(t->pre, "custom");
    if (n_vocab <= 0 || n_vocab > (1 << 30))
        return sk_err_set(e, SK_ERR_FORMAT, "vocabulary size %d out of range", (int)n_vocab);
    t->n_vocab = n_vocab;
    t->tokens = sk_calloc((size_t)n_vocab, sizeof(tok_entry), e);
    if (!t->tokens) return e ? e->code : SK_ERR_NOMEM;
    return SK_OK;
}

int tok_set_token(sk_tokenizer *t, int32_t id, const char *text, size_t len, int type, sk_err *e) {
    if (id < 0 || id >= t->n_vocab)
        return sk_err_set(e, SK_ERR_RANGE, "token id %d out of range [0, %d)", (int)id,
                          (int)t->n_vocab);
    if (len > UINT32_MAX / 2)
        return sk_err_set(e, SK_ERR_RANGE, "token %d: text too long", (int)id);
    char *s = sk_arena_strdup(&t->arena, text, len, e);
    if (!s) return e ? e->code : SK_ERR_NOMEM;
    t->tokens[id].text = s;
    t->tokens[id].len = (uint32_t)len;
    t->tokens[id].type = (uint8_t)type;
    return SK_OK;
}

int tok_added_type(const char *text, size_t len, bool special) {
    if (special) return SK_TOKEN_CONTROL;
    if (len >= 4 && text[0] == '<' && text[1] == '|' && text[len - 2] == '|' &&
        text[len - 1] == '>')
        return SK_TOKEN_CONTROL;
    /* "<｜" … "｜>" with U+FF5C (EF BD 9C) */
    if (len >= 8 && !memcmp(text, "<\xEF\xBD\x9C", 4) &&
        !memcmp(text + len - 4, "\xEF\xBD\x9C>", 4))
        return SK_TOKEN_CONTROL;
    return SK_TOKEN_USER_DEFINED;
}

int32_t tok_lookup(const sk_tokenizer *t, const char *text, size_t len) {
    if (!t->vocab_cap) return -1;
    size_t mask = t->vocab_cap - 1, i = hash_bytes(text, len) & mask;
    for (;;) {
        int32_t id = t->vocab_slots[i];
        if (id < 0) return -1;
        const tok_entry *te = &t->tokens[id];
        if (te->len == len && !memcmp(te->text, text, len)) return id;
        i = (i + 1) & mask;
    }
}

static bool is_added_type(int type) {
    return type == SK_TOKEN_CONTROL || type == SK_TOKEN_USER_DEFINED;
}

static int trie_node(sk_tokenizer *t, sk_err *e) {
    if (t->trie_n == t->trie_cap) {
        size_t nc = t->trie_cap ? t->trie_cap * 2 : 1024;
        tok_trie_node *nt = realloc(t->trie, nc * sizeof *nt);
        if (!nt) return -sk_err_set(e, SK_ERR_NOMEM, "out of memory (added-token trie)");
        t->trie = nt;
        t->trie_cap = nc;
    }
    t->trie[t->trie_n] = (tok_trie_node){-1, -1, -1, 0};
    return (int)t->trie_n++;
}

static int trie_insert(sk_tokenizer *t, const char *s, size_t len, int32_t id, sk_err *e) {
    int32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t b = (uint8_t)s[i];
        int32_t c = t->trie[node].first_child;
        while (c >= 0 && t->trie[c].byte != b) c = t->trie[c].next_sibling;
        if (c < 0) {
            int nn = trie_node(t, e);
            if (nn < 0) return -nn;
            t->trie[nn].byte = b;
            t->trie[nn].next_sibling = t->trie[node].first_child;
            t->trie[node].first_child = nn;
            c = nn;
        }
        node = c;
    }
    if (t->trie[node].token < 0) t->trie[node].token = id; /* first id wins for duplicate texts */
    return SK_OK;
}

int tok_finish_vocab(sk_tokenizer *t, sk_err *e) {
    int rc;
    pthread_once(&g_map_once, init_byte_map);
    size_t cap = 1024;
    while (cap < (size_t)t->n_vocab * 2) cap *= 2;
    t->vocab_slots = sk_malloc(cap * sizeof(int32_t), e);
    if (!t->vocab_slots) return e ? e->code : SK_ERR_NOMEM;
    memset(t->vocab_slots, 0xff, cap * sizeof(int32_t));
    t->vocab_cap = cap;
    if ((rc = trie_node(t, e)) < 0) return -rc;
    for (int i = 0; i < 256; i++) t->byte_id[i] = -1;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        tok_entry *te = &t->tokens[id];
        if (!te->text) { /* an id no token names: a filler, as llama.cpp's converter writes */
            char buf[32];
            int n = snprintf(buf, sizeof buf, "[PAD%d]", (int)id);
            if ((rc = tok_set_token(t, id, buf, (size_t)n, SK_TOKEN_UNUSED, e))) return rc;
        }
        if (!te->type) te->type = SK_TOKEN_NORMAL;
        /* index text -> id (first id wins on duplicates) */
        size_t mask = cap - 1, i = hash_bytes(te->text, te->len) & mask;
        bool dup = false;
        while (t->vocab_slots[i] >= 0) {
            const tok_entry *o = &t->tokens[t->vocab_slots[i]];
            if (o->len == te->len && !memcmp(o->text, te->text, te->len)) {
                dup = true;
                break;
            }
            i = (i + 1) & mask;
        }
        if (!dup) t->vocab_slots[i] = id;
        /* decoded piece */
        if (te->type == SK_TOKEN_NORMAL) {
            uint8_t *pc = sk_arena_alloc(&t->arena, te->len + 1, 1, e);
            if (!pc) return e ? e->code : SK_ERR_NOMEM;
            size_t k = 0, j = 0;
            const uint8_t *s = (const uint8_t *)te->text;
            while (j < te->len) {
                size_t l;
                uint32_t cp;
                if (utf8_step(s + j, te->len - j, &l, &cp) != U8_OK) { /* keep odd bytes */
                    pc[k++] = s[j++];
                    continue;
                }
                int b = cp < 0x144 ? g_u2b[cp] : -1;
                if (b >= 0) {
                    pc[k++] = (uint8_t)b;
                } else {
                    memcpy(pc + k, s + j, l);
                    k += l;
                }
                j += l;
            }
            te->piece = pc;
            te->piece_len = (uint32_t)k;
            /* single-byte tokens */
            if (k == 1 && j == te->len) {
                size_t l;
                uint32_t cp;
                if (utf8_step(s, te->len, &l, &cp) == U8_OK && l == te->len && cp < 0x144 &&
                    g_u2b[cp] >= 0 && t->byte_id[g_u2b[cp]] < 0)
                    t->byte_id[g_u2b[cp]] = id;
            }
        } else {
            te->piece = (const uint8_t *)te->text;
            te->piece_len = te->len;
        }
        if (is_added_type(te->type) && te->len > 0) {
            if ((rc = trie_insert(t, te->text, te->len, id, e))) return rc;
            uint8_t b0 = (uint8_t)te->text[0];
            t->added_first[b0 >> 6] |= 1ull << (b0 & 63);
            t->has_added = true;
        }
    }
    return SK_OK;
}

int tok_reserve_merges(sk_tokenizer *t, size_t n, sk_err *e) {
    size_t cap = 1024;
    while (cap < n * 2 + 16) {
        if (cap > (SIZE_MAX / sizeof(tok_merge_slot)) / 4)
            return sk_err_set(e, SK_ERR_RANGE, "too many merges (%zu)", n);
        cap *= 2;
    }
    free(t->merges);
    t->merges = sk_malloc(cap * sizeof(tok_merge_slot), e);
    if (!t->merges) return e ? e->code : SK_ERR_NOMEM;
    for (size_t i = 0; i < cap; i++) t->merges[i].rank = -1;
    t->merge_cap = cap;
    t->n_merges = 0;
    return SK_OK;
}

static inline const tok_merge_slot *merge_find(const sk_tokenizer *t, int32_t a, int32_t b) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    size_t mask = t->merge_cap - 1, i = hash_u64(key) & mask;
    for (;;) {
        const tok_merge_slot *s = &t->merges[i];
        if (s->rank < 0) return NULL;
        if (s->key == key) return s;
        i = (i + 1) & mask;
    }
}

/* Byte-level text of s must already be in the vocabulary form. */
int tok_add_merge(sk_tokenizer *t, const char *left, size_t llen, const char *right, size_t rlen,
                  int32_t rank, sk_err *e) {
    int32_t a = tok_lookup(t, left, llen), b = tok_lookup(t, right, rlen);
    if (a < 0 || b < 0)
        return sk_err_set(e, SK_ERR_FORMAT,
                          "merge %d \"%.*s %.*s\": \"%.*s\" is not in the vocabulary", (int)rank,
                          (int)llen, left, (int)rlen, right, a < 0 ? (int)llen : (int)rlen,
                          a < 0 ? left : right);
    char stackbuf[256];
    size_t tot;
    if (!sk_add_ok(llen, rlen, &tot))
        return sk_err_set(e, SK_ERR_RANGE, "merge %d too long", (int)rank);
    char *buf = tot <= sizeof stackbuf ? stackbuf : sk_malloc(tot, e);
    if (!buf) return e ? e->code : SK_ERR_NOMEM;
    memcpy(buf, left, llen);
    memcpy(buf + llen, right, rlen);
    int32_t r = tok_lookup(t, buf, tot);
    if (buf != stackbuf) free(buf);
    if (r < 0)
        return sk_err_set(e, SK_ERR_FORMAT,
                          "merge %d \"%.*s %.*s\": the result is not in the vocabulary", (int)rank,
                          (int)llen, left, (int)rlen, right);
    if ((size_t)t->n_merges * 2 + 2 > t->merge_cap)
        return sk_err_set(e, SK_ERR_RANGE, "more merges than reserved");
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    size_t mask = t->merge_cap - 1, i = hash_u64(key) & mask;
    while (t->merges[i].rank >= 0) {
        if (t->merges[i].key == key) return SK_OK; /* duplicate merge: the lower rank stays */
        i = (i + 1) & mask;
    }
    t->merges[i] = (tok_merge_slot){key, rank, r};
    t->n_merges++;
    return SK_OK;
}

void sk_tokenizer_free(sk_tokenizer *t) {
    if (!t) return;
    tok_pretok_free(&t->pretok);
    free(t->tokens);
    free(t->vocab_slots);
    free(t->merges);
    free(t->trie);
    free(t->chat_template);
    free(t->cache);
    free(t->syms);
    free(t->heap);
    free(t->out);
    free(t->clean);
    sk_arena_free(&t->arena);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* ---- accessors ---- */

int32_t sk_tokenizer_n_vocab(const sk_tokenizer *t) {
    return t->n_vocab;
}
int32_t sk_tokenizer_bos(const sk_tokenizer *t) {
    return t->bos;
}
int32_t sk_tokenizer_eos(const sk_tokenizer *t) {
    return t->eos;
}
int32_t sk_tokenizer_pad(const sk_tokenizer *t) {
    return t->pad;
}
bool sk_tokenizer_add_bos(const sk_tokenizer *t) {
    return t->add_bos;
}
const char *sk_tokenizer_pre(const sk_tokenizer *t) {
    return t->pre;
}
const char *sk_tokenizer_chat_template(const sk_tokenizer *t) {
    return t->chat_template;
}

const char *sk_tokenizer_token_text(const sk_tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->n_vocab) return NULL;
    if (len) *len = t->tokens[id].len;
    return t->tokens[id].text;
}

const uint8_t *sk_tokenizer_token_to_piece(const sk_tokenizer *t, int32_t id, size_t *len) {
    if (id < 0 || id >= t->n_vocab) return NULL;
    if (len) *len = t->tokens[id].piece_len;
    return t->tokens[id].piece;
}

sk_token_type sk_tokenizer_token_type(const sk_tokenizer *t, int32_t id) {
    if (id < 0 || id >= t->n_vocab) return (sk_token_type)0;
    return (sk_token_type)t->tokens[id].type;
}

bool sk_tokenizer_is_special(const sk_tokenizer *t, int32_t id) {
    int ty = sk_tokenizer_token_type(t, id);
    return ty == SK_TOKEN_CONTROL || ty == SK_TOKEN_USER_DEFINED || ty == SK_TOKEN_UNUSED;
}

bool sk_tokenizer_is_control(const sk_tokenizer *t, int32_t id) {
    return sk_tokenizer_token_type(t, id) == SK_TOKEN_CONTROL;
}

int32_t sk_tokenizer_find(const sk_tokenizer *t, const char *text) {
    return tok_lookup(t, text, strlen(text));
}

/* ---- BPE ---- */

typedef struct tok_sym {
    int32_t id, prev, next;
} tok_sym;

typedef struct tok_heap_ent {
    int32_t rank, left, right, lid, rid, result;
} tok_heap_ent;

static inline bool heap_less(const tok_heap_ent *a, const tok_heap_ent *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static int heap_push(sk_tokenizer *t, size_t *n, tok_heap_ent v, sk_err *e) {
    if (*n == t->heap_cap) {
        size_t nc = t->heap_cap ? t->heap_cap * 2 : 256;
        tok_heap_ent *nh = realloc(t->heap, nc * sizeof *nh);
        if (!nh) return sk_err_set(e, SK_ERR_NOMEM, "out of memory (BPE heap)");
        t->heap = nh;
        t->heap_cap = nc;
    }
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_less(&v, &t->heap[p])) break;
        t->heap[i] = t->heap[p];
        i = p;
    }
    t->heap[i] = v;
    return SK_OK;
}

static tok_heap_ent heap_pop(sk_tokenizer *t, size_t *n) {
    tok_heap_ent top = t->heap[0], last = t->heap[--(*n)];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && heap_less(&t->heap[c + 1], &t->heap[c])) c++;
        if (!heap_less(&t->heap[c], &last)) break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (*n) t->heap[i] = last;
    return top;
}

static int out_push(sk_tokenizer *t, int32_t id, sk_err *e) {
    if (t->out_n == t->out_cap) {
        size_t nc = t->out_cap ? t->out_cap * 2 : 1024;
        int32_t *no = realloc(t->out, nc * sizeof *no);
        if (!no) return sk_err_set(e, SK_ERR_NOMEM, "out of memory (token ids)");
        t->out = no;
        t->out_cap = nc;
    }
    t->out[t->out_n++] = id;
    return SK_OK;
}

static int try_pair(sk_tokenizer *t, size_t *hn, int32_t l, sk_err *e) {
    if (l < 0) return SK_OK;
    int32_t r = t->syms[l].next;
    if (r < 0) return SK_OK;
    const tok_merge_slot *m = merge_find(t, t->syms[l].id, t->syms[r].id);
    if (!m) return SK_OK;
    return heap_push(t, hn, (tok_heap_ent){m->rank, l, r, t->syms[l].id, t->syms[r].id, m->result},
                     e);
}

/* BPE of one word (raw bytes); appends ids to t->out. */
static int bpe_word(sk_tokenizer *t, const uint8_t *w, size_t n, sk_err *e) {
    int rc;
    if (n == 1) {
        if (t->byte_id[w[0]] >= 0) return out_push(t, t->byte_id[w[0]], e);
        return SK_OK;
    }
    if (t->ignore_merges) {
        char stackbuf[512];
        if (n * 2 <= sizeof stackbuf) {
            size_t k = 0;
            for (size_t i = 0; i < n; i++) {
                uint32_t cp = g_b2u[w[i]];
                if (cp < 0x80)
                    stackbuf[k++] = (char)cp;
                else {
                    stackbuf[k++] = (char)(0xC0 | (cp >> 6));
                    stackbuf[k++] = (char)(0x80 | (cp & 0x3F));
                }
            }
            int32_t id = tok_lookup(t, stackbuf, k);
            if (id >= 0 && t->tokens[id].type == SK_TOKEN_NORMAL) return out_push(t, id, e);
        }
    }
    if (n > (size_t)INT32_MAX / 2)
        return sk_err_set(e, SK_ERR_RANGE, "word too long (%zu bytes)", n);
    if (n > t->syms_cap) {
        size_t nc = t->syms_cap ? t->syms_cap : 256;
        while (nc < n) nc *= 2;
        tok_sym *ns = realloc(t->syms, nc * sizeof *ns);
        if (!ns) return sk_err_set(e, SK_ERR_NOMEM, "out of memory (BPE symbols)");
        t->syms = ns;
        t->syms_cap = nc;
    }
    int32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->byte_id[w[i]];
        if (id < 0) continue; /* a byte without a token is dropped (no unk token) */
        t->syms[m] = (tok_sym){id, m - 1, m + 1};
        m++;
    }
    if (m == 0) return SK_OK;
    t->syms[m - 1].next = -1;
    size_t hn = 0;
    /* the merge table is larger than the CPU caches: prefetch the slots of all initial pairs */
    for (int32_t i = 0; i + 1 < m; i++) {
        uint64_t key = ((uint64_t)(uint32_t)t->syms[i].id << 32) | (uint32_t)t->syms[i + 1].id;
        __builtin_prefetch(&t->merges[hash_u64(key) & (t->merge_cap - 1)]);
    }
    for (int32_t i = 0; i + 1 < m; i++)
        if ((rc = try_pair(t, &hn, i, e))) return rc;
    while (hn) {
        tok_heap_ent h = heap_pop(t, &hn);
        tok_sym *L = &t->syms[h.left];
        if (L->id != h.lid || L->next != h.right || t->syms[h.right].id != h.rid)
            continue; /* stale */
        tok_sym *R = &t->syms[h.right];
        L->id = h.result;
        L->next = R->next;
        if (R->next >= 0) t->syms[R->next].prev = h.left;
        R->id = -1;
        R->next = -1;
        if ((rc = try_pair(t, &hn, L->prev, e))) return rc;
        if ((rc = try_pair(t, &hn, h.left, e))) return rc;
    }
    for (int32_t i = 0; i >= 0; i = t->syms[i].next)
        if ((rc = out_push(t, t->syms[i].id, e))) return rc;
    return SK_OK;
}

/* Word cache: 2-way set-associative with move-to-front, small enough to stay in the CPU
 * caches (a big hash table of every word seen costs a memory miss per word, more than the BPE
 * of a short word). */
static inline bool cacheable(size_t n) {
    return n > 1 && n <= TOK_CACHE_WORD;
}

static inline tok_cache_slot *cache_set(const sk_tokenizer *t, const uint8_t *w, size_t n) {
    return &t->cache[(hash_bytes(w, n) & (TOK_CACHE_SLOTS / 2 - 1)) * 2];
}

/* set: cache_set(t, w, n) when cacheable(n), else NULL. */
static int encode_word(sk_tokenizer *t, const uint8_t *w, size_t n, tok_cache_slot *set,
                       sk_err *e) {
    if (n == 0) return SK_OK;
    if (!set) return bpe_word(t, w, n, e);
    for (int way = 0; way < 2; way++) {
        tok_cache_slot *s = &set[way];
        if (s->len == n && !memcmp(s->word, w, n)) {
            for (uint32_t k = 0; k < s->n_ids; k++) {
                int rc = out_push(t, s->ids[k], e);
                if (rc) return rc;
            }
            if (way == 1) { /* move to front */
                tok_cache_slot tmp = set[0];
                set[0] = set[1];
                set[1] = tmp;
            }
            return SK_OK;
        }
    }
    size_t before = t->out_n;
    int rc = bpe_word(t, w, n, e);
    if (rc) return rc;
    size_t nid = t->out_n - before;
    if (nid <= TOK_CACHE_IDS) {
        set[1] = set[0];
        set[0].len = (uint8_t)n;
        set[0].n_ids = (uint8_t)nid;
        memcpy(set[0].word, w, n);
        memcpy(set[0].ids, t->out + before, nid * sizeof(int32_t));
    }
    return SK_OK;
}

/* Protected byte ranges of the (sanitized) text, sorted by off, none empty; `cur` is the first
 * that may still matter (ranges ending at or before the scan position are passed). */
typedef struct tok_protect {
    const sk_text_span *sp;
    size_t n, cur;
} tok_protect;

/* Finds the leftmost-longest allowed added token in s[0..n) starting at or after `from` and
 * lying entirely outside every protected range (pr may be NULL). Returns its id and sets
 * *start and *len, or -1. */
static int32_t find_added(const sk_tokenizer *t, const uint8_t *s, size_t n, size_t from,
                          bool special, tok_protect *pr, size_t *start, size_t *len) {
    const tok_trie_node *tr = t->trie;
    for (size_t i = from; i < n; i++) {
        size_t limit = n; /* a match must end at or before this */
        if (pr) {
            while (pr->cur < pr->n && pr->sp[pr->cur].off + pr->sp[pr->cur].len <= i) pr->cur++;
            if (pr->cur < pr->n) {
                const sk_text_span *p = &pr->sp[pr->cur];
                if (p->off <= i) { /* inside: resume at the range's end */
                    i = p->off + p->len - 1;
                    continue;
                }
                limit = p->off;
            }
        }
        if (!(t->added_first[s[i] >> 6] & (1ull << (s[i] & 63)))) continue;
        int32_t c = tr[0].first_child;
        while (c >= 0 && tr[c].byte != s[i]) c = tr[c].next_sibling;
        if (c < 0) continue;
        int32_t best = -1;
        size_t best_len = 0;
        size_t j = i;
        int32_t node = c;
        for (;;) {
            j++;
            int32_t tk = tr[node].token;
            if (tk >= 0 && (special || t->tokens[tk].type == SK_TOKEN_USER_DEFINED)) {
                best = tk;
                best_len = j - i;
            }
            if (j >= limit) break;
            int32_t ch = tr[node].first_child;
            while (ch >= 0 && tr[ch].byte != s[j]) ch = tr[ch].next_sibling;
            if (ch < 0) break;
            node = ch;
        }
        if (best >= 0) {
            *start = i;
            *len = best_len;
            return best;
        }
    }
    return -1;
}

typedef struct map_walk {
    size_t i, k;  /* input / output offset of the current unit */
    size_t l, ol; /* its input / output length (l = 0: not yet stepped) */
} map_walk;

static size_t map_point(const uint8_t *s, size_t n, map_walk *w, size_t p, bool up) {
    for (;;) {
        if (w->i >= n || p <= w->i) return w->k;
        if (!w->l) {
            uint32_t cp;
            int st = utf8_step(s + w->i, n - w->i, &w->l, &cp);
            w->ol = st == U8_OK ? w->l : 3;
        }
        if (p < w->i + w->l) return up ? w->k + w->ol : w->k;
        w->i += w->l;
        w->k += w->ol;
        w->l = 0;
    }
}

/* Rewrites sorted, merged, non-empty byte ranges of s[0..n) into ranges of its lossy decode
 * (utf8_lossy without keep_tail). A boundary inside a character or an ill-formed subpart moves
 * outward: starts to the unit's first output byte, ends past its last, so a range never
 * shrinks. */
static void map_spans(const uint8_t *s, size_t n, sk_text_span *sp, size_t nsp) {
    map_walk w = {0};
    for (size_t q = 0; q < nsp; q++) {
        size_t end = sp[q].off + sp[q].len;
        size_t off = map_point(s, n, &w, sp[q].off, false);
        size_t oend = map_point(s, n, &w, end, true);
        sp[q].off = off;
        sp[q].len = oend - off;
    }
}

typedef int (*segment_fn)(sk_tokenizer *t, const char *text, size_t len, void *ctx, sk_err *e);

/* Runs the sanitize + added-token split; calls seg for each text segment and appends added ids
 * (when add_ids). */
static int split_added(sk_tokenizer *t, const char *text, size_t len, unsigned flags,
                       tok_protect *pr, segment_fn seg, void *ctx, bool add_ids, sk_err *e) {
    int rc;
    const char *s = text;
    size_t n = len;
    if (!utf8_valid_fast((const uint8_t *)text, len)) {
        size_t cap;
        if (!sk_mul_ok(len, 3, &cap) || !sk_add_ok(cap, 1, &cap))
            return sk_err_set(e, SK_ERR_RANGE, "text too long (%zu bytes)", len);
        if (cap > t->clean_cap) {
            char *nc = realloc(t->clean, cap);
            if (!nc) return sk_err_set(e, SK_ERR_NOMEM, "out of memory (%zu bytes)", cap);
            t->clean = nc;
            t->clean_cap = cap;
        }
        if (pr) map_spans((const uint8_t *)text, len, (sk_text_span *)pr->sp, pr->n);
        n = utf8_lossy((const uint8_t *)text, len, t->clean, false, NULL);
        s = t->clean;
    }
    bool special = (flags & SK_TOK_PARSE_SPECIAL) != 0;
    size_t pos = 0;
    while (pos < n) {
        size_t st = n, ml = 0;
        int32_t id =
            t->has_added ? find_added(t, (const uint8_t *)s, n, pos, special, pr, &st, &ml) : -1;
        if (id < 0) st = n;
        if (st > pos && (rc = seg(t, s + pos, st - pos, ctx, e))) return rc;
        if (id < 0) break;
        if (add_ids && (rc = out_push(t, id, e))) return rc;
        pos = st + ml;
    }
    return SK_OK;
}

/* Words arrive one at a time from the pre-tokenizer; each is encoded ENC_LAG words late so
 * that the cache sets of the words in between are prefetched meanwhile (a cache hit is shorter
 * than a memory access). */
#define ENC_LAG 4
typedef struct enc_ctx {
    sk_tokenizer *t;
    const uint8_t *base;
    struct {
        size_t off, len;
        tok_cache_slot *set;
    } q[ENC_LAG]; /* ring of pending words */
    size_t head, n;
} enc_ctx;

static int enc_word(void *vctx, size_t off, size_t len, sk_err *e) {
    enc_ctx *c = vctx;
    tok_cache_slot *set = cacheable(len) ? cache_set(c->t, c->base + off, len) : NULL;
    if (set) __builtin_prefetch(set);
    int rc = SK_OK;
    if (c->n == ENC_LAG) { /* encode the oldest */
        size_t h = c->head;
        rc = encode_word(c->t, c->base + c->q[h].off, c->q[h].len, c->q[h].set, e);
        c->head = (h + 1) % ENC_LAG;
        c->n--;
    }
    size_t tail = (c->head + c->n) % ENC_LAG;
    c->q[tail].off = off;
    c->q[tail].len = len;
    c->q[tail].set = set;
    c->n++;
    return rc;
}

static int encode_segment(sk_tokenizer *t, const char *text, size_t len, void *ctx, sk_err *e) {
    (void)ctx;
    if (!t->cache) {
        t->cache = calloc(TOK_CACHE_SLOTS, sizeof *t->cache);
        if (!t->cache) return sk_err_set(e, SK_ERR_NOMEM, "out of memory (word cache)");
    }
    enc_ctx c = {.t = t, .base = (const uint8_t *)text};
    int rc = tok_pretok_each(&t->pretok, text, len, enc_word, &c, e);
    for (; !rc && c.n; c.n--, c.head = (c.head + 1) % ENC_LAG)
        rc = encode_word(t, c.base + c.q[c.head].off, c.q[c.head].len, c.q[c.head].set, e);
    return rc;
}

static int span_cmp(const void *a, const void *b) {
    const sk_text_span *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off ? 1 : 0;
}

/* Copies the protected ranges, checked against len, sorted, empty ones dropped, overlapping
 * or touching ones merged. *out is NULL when none is left. */
static int protect_normalize(const sk_text_span *in, size_t n_in, size_t len, sk_text_span **out,
                             size_t *n_out, sk_err *e) {
    *out = NULL;
    *n_out = 0;
    if (!n_in) return SK_OK;
    if (!in) return sk_err_set(e, SK_ERR_INVALID, "encode: protected ranges are NULL");
    size_t bytes;
    if (!sk_mul_ok(n_in, sizeof *in, &bytes))
        return sk_err_set(e, SK_ERR_RANGE, "encode: too many protected ranges (%zu)", n_in);
    sk_text_span *sp = malloc(bytes);
    if (!sp) return sk_err_set(e, SK_ERR_NOMEM, "out of memory (%zu protected ranges)", n_in);
    size_t k = 0;
    for (size_t i = 0; i < n_in; i++) {
        if (in[i].off > len || in[i].len > len - in[i].off) {
            free(sp);
            return sk_err_set(e, SK_ERR_RANGE,
                              "encode: protected range %zu (offset %zu, %zu bytes) lies outside "
                              "the %zu-byte text",
                              i, in[i].off, in[i].len, len);
        }
        if (in[i].len) sp[k++] = in[i];
    }
    if (k > 1) qsort(sp, k, sizeof *sp, span_cmp);
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (m && sp[i].off <= sp[m - 1].off + sp[m - 1].len) {
            size_t end = sp[i].off + sp[i].len, pend = sp[m - 1].off + sp[m - 1].len;
            if (end > pend) sp[m - 1].len = end - sp[m - 1].off;
        } else {
            sp[m++] = sp[i];
        }
    }
    if (!m) {
        free(sp);
        sp = NULL;
    }
    *out = sp;
    *n_out = m;
    return SK_OK;
}

int sk_tokenizer_encode(sk_tokenizer *t, const char *text, size_t len, unsigned flags,
                        int32_t **ids, size_t *n, sk_err *e) {
    return sk_tokenizer_encode_ex(t, text, len, flags, NULL, 0, ids, n, e);
}

int sk_tokenizer_encode_ex(sk_tokenizer *t, const char *text, size_t len, unsigned flags,
                           const sk_text_span *protect, size_t n_protect, int32_t **ids, size_t *n,
                           sk_err *e) {
    *ids = NULL;
    *n = 0;
    if (!text && len) return sk_err_set(e, SK_ERR_INVALID, "encode: NULL text");
    sk_text_span *sp = NULL;
    size_t nsp = 0;
    int prc = protect_normalize(protect, n_protect, len, &sp, &nsp, e);
    if (prc) return prc;
    tok_protect pr = {sp, nsp, 0};
    pthread_mutex_lock(&t->mu);
    t->out_n = 0;
    int rc = SK_OK;
    size_t want = len / 3 + 16; /* a guess of the id count (≈3 bytes/token): fewer reallocations */
    if (want > t->out_cap && want < ((size_t)1 << 24)) {
        int32_t *no = realloc(t->out, want * sizeof *no);
        if (no) {
            t->out = no;
            t->out_cap = want;
        }
    }
    rc = split_added(t, text ? text : "", len, flags, sp ? &pr : NULL, encode_segment, NULL, true,
                     e);
    if (!rc && (flags & SK_TOK_ADD_BOS) && (t->add_bos || (flags & SK_TOK_FORCE_BOS)) &&
        t->bos >= 0 && !(t->out_n > 0 && t->out[0] == t->bos)) {
        rc = out_push(t, t->bos, e);
        if (!rc) {
            memmove(t->out + 1, t->out, (t->out_n - 1) * sizeof(int32_t));
            t->out[0] = t->bos;
        }
    }
    if (!rc) {
        int32_t *r = malloc((t->out_n ? t->out_n : 1) * sizeof(int32_t));
        if (!r)
            rc = sk_err_set(e, SK_ERR_NOMEM, "out of memory (%zu ids)", t->out_n);
        else {
            memcpy(r, t->out, t->out_n * sizeof(int32_t));
            *ids = r;
            *n = t->out_n;
        }
    }
    pthread_mutex_unlock(&t->mu);
    free(sp);
    return rc;
}

typedef struct {
    sk_tok_word_fn fn;
    void *ctx;
} pretok_ctx;

typedef struct {
    pretok_ctx *pc;
    const char *text;
} pretok_seg;

static int pretok_word(void *vctx, size_t off, size_t len, sk_err *e) {
    (void)e;
    pretok_seg *ps = vctx;
    ps->pc->fn(ps->pc->ctx, ps->text + off, len);
    return SK_OK;
}

static int pretok_segment(sk_tokenizer *t, const char *text, size_t len, void *ctx, sk_err *e) {
    pretok_seg ps = {ctx, text};
    return tok_pretok_each(&t->pretok, text, len, pretok_word, &ps, e);
}

int sk_tokenizer_pretokenize(sk_tokenizer *t, const char *text, size_t len, unsigned flags,
                             sk_tok_word_fn fn, void *ctx, sk_err *e) {
    pretok_ctx pc = {fn, ctx};
    pthread_mutex_lock(&t->mu);
    t->out_n = 0;
    int rc = split_added(t, text ? text : "", len, flags, NULL, pretok_segment, &pc, false, e);
    pthread_mutex_unlock(&t->mu);
    return rc;
}

/* ---- decoding ---- */

struct sk_tokenizer_decoder {
    const sk_tokenizer *t;
    bool skip_special;
    uint8_t pend[4];
    size_t npend;
    char *buf; /* output of the last call */
    size_t cap;
    uint8_t *tmp;
    size_t tmp_cap;
};

sk_tokenizer_decoder *sk_tokenizer_decoder_new(const sk_tokenizer *t, bool skip_special,
                                               sk_err *e) {
    sk_tokenizer_decoder *d = sk_calloc(1, sizeof *d, e);
    if (!d) return NULL;
    d->t = t;
    d->skip_special = skip_special;
    return d;
}

void sk_tokenizer_decoder_free(sk_tokenizer_decoder *d) {
    if (!d) return;
    free(d->buf);
    free(d->tmp);
    free(d);
}

void sk_tokenizer_decoder_reset(sk_tokenizer_decoder *d) {
    d->npend = 0;
}

static int dec_reserve(void **p, size_t *cap, size_t need, sk_err *e) {
    if (need <= *cap) return SK_OK;
    size_t nc = *cap ? *cap : 256;
    while (nc < need) nc *= 2;
    void *np = realloc(*p, nc);
    if (!np) return sk_err_set(e, SK_ERR_NOMEM, "decoder: out of memory");
    *p = np;
    *cap = nc;
    return SK_OK;
}

int sk_tokenizer_decoder_push(sk_tokenizer_decoder *d, int32_t id, const char **text, size_t *len,
                              sk_err *e) {
    *text = "";
    *len = 0;
    const sk_tokenizer *t = d->t;
    if (id < 0 || id >= t->n_vocab)
        return sk_err_set(e, SK_ERR_RANGE, "decode: token id %d out of range [0, %d)", (int)id,
                          (int)t->n_vocab);
    const tok_entry *te = &t->tokens[id];
    bool special = te->type != SK_TOKEN_NORMAL;
    size_t k = 0, need;
    int rc;
    if (!sk_add_ok(te->piece_len, 8, &need) || !sk_mul_ok(need, 3, &need))
        return sk_err_set(e, SK_ERR_RANGE, "decode: token too long");
    if ((rc = dec_reserve((void **)&d->buf, &d->cap, need + 1, e))) return rc;
    if (special) {
        /* a special token interrupts any incomplete character */
        if (d->npend) {
            memcpy(d->buf, "\xEF\xBF\xBD", 3);
            k = 3;
            d->npend = 0;
        }
        if (!d->skip_special) {
            memcpy(d->buf + k, te->piece, te->piece_len);
            k += te->piece_len;
        }
    } else {
        size_t n = d->npend + te->piece_len;
        if ((rc = dec_reserve((void **)&d->tmp, &d->tmp_cap, n + 1, e))) return rc;
        memcpy(d->tmp, d->pend, d->npend);
        memcpy(d->tmp + d->npend, te->piece, te->piece_len);
        size_t tail = 0;
        k = utf8_lossy(d->tmp, n, d->buf, true, &tail);
        memcpy(d->pend, d->tmp + n - tail, tail);
        d->npend = tail;
    }
    d->buf[k] = 0;
    *text = d->buf;
    *len = k;
    return SK_OK;
}

void sk_tokenizer_decoder_flush(sk_tokenizer_decoder *d, const char **text, size_t *len) {
    static const char fffd[] = "\xEF\xBF\xBD";
    *text = d->npend ? fffd : "";
    *len = d->npend ? 3 : 0;
    d->npend = 0;
}

int sk_tokenizer_decode(const sk_tokenizer *t, const int32_t *ids, size_t n, bool skip_special,
                        char **out, size_t *out_len, sk_err *e) {
    *out = NULL;
    *out_len = 0;
    sk_tokenizer_decoder *d = sk_tokenizer_decoder_new(t, skip_special, e);
    if (!d) return e ? e->code : SK_ERR_NOMEM;
    char *r = NULL;
    size_t rn = 0, rcap = 0;
    int rc = SK_OK;
    for (size_t i = 0; i <= n; i++) {
        const char *s;
        size_t l;
        if (i < n) {
            if ((rc = sk_tokenizer_decoder_push(d, ids[i], &s, &l, e))) break;
        } else {
            sk_tokenizer_decoder_flush(d, &s, &l);
        }
        if ((rc = dec_reserve((void **)&r, &rcap, rn + l + 1, e))) break;
        memcpy(r + rn, s, l);
        rn += l;
    }
    sk_tokenizer_decoder_free(d);
    if (rc) {
        free(r);
        return rc;
    }
    if (!r && (rc = dec_reserve((void **)&r, &rcap, 1, e))) return rc;
    r[rn] = 0;
    *out = r;
    *out_len = rn;
    return SK_OK;
}
