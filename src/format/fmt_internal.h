/*
 * fmt_internal.h — helpers shared by the format module's sources (not a public header):
 * a string → index hash table used for GGUF keys, GGUF/safetensors tensor names.
 *
 * Ownership: the table stores the caller's key pointers (they must outlive it) and owns only
 * its slot array.
 */
#ifndef SK_FMT_INTERNAL_H
#define SK_FMT_INTERNAL_H

#include "sk_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct sk_strmap {
    const char **keys; /* NULL = empty slot */
    size_t *lens;
    int64_t *vals;
    size_t cap; /* power of two */
    size_t n;
} sk_strmap;

static inline uint64_t sk_strmap_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static inline void sk_strmap_free(sk_strmap *m) {
    free(m->keys);
    free(m->lens);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* Prepares room for at least n entries. */
static inline int sk_strmap_init(sk_strmap *m, size_t n, sk_err *e) {
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < n * 2 + 1) {
        if (cap > SIZE_MAX / 4) return sk_err_set(e, SK_ERR_RANGE, "hash table too large");
        cap *= 2;
    }
    m->keys = sk_calloc(cap, sizeof *m->keys, e);
    m->lens = sk_calloc(cap, sizeof *m->lens, e);
    m->vals = sk_calloc(cap, sizeof *m->vals, e);
    if (!m->keys || !m->lens || !m->vals) {
        sk_strmap_free(m);
        return SK_ERR_NOMEM;
    }
    m->cap = cap;
    return SK_OK;
}

/* Looks up key (len bytes); returns its value or -1. */
static inline int64_t sk_strmap_get(const sk_strmap *m, const char *key, size_t len) {
    if (!m->cap) return -1;
    size_t i = (size_t)sk_strmap_hash(key, len) & (m->cap - 1);
    while (m->keys[i]) {
        if (m->lens[i] == len && !memcmp(m->keys[i], key, len)) return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return -1;
}

static inline int sk_strmap_grow(sk_strmap *m, sk_err *e) {
    sk_strmap big;
    int rc = sk_strmap_init(&big, m->cap, e); /* doubles the capacity */
    if (rc) return rc;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = (size_t)sk_strmap_hash(m->keys[i], m->lens[i]) & (big.cap - 1);
        while (big.keys[j]) j = (j + 1) & (big.cap - 1);
        big.keys[j] = m->keys[i];
        big.lens[j] = m->lens[i];
        big.vals[j] = m->vals[i];
        big.n++;
    }
    sk_strmap_free(m);
    *m = big;
    return SK_OK;
}

/* Inserts key → val. If the key exists: returns its old value in *old (if non-NULL) and,
 * when replace is set, overwrites it. *old = -1 when the key was new. */
static inline int sk_strmap_put(sk_strmap *m, const char *key, size_t len, int64_t val,
                                bool replace, int64_t *old, sk_err *e) {
    if (old) *old = -1;
    if (!m->cap || (m->n + 1) * 2 > m->cap) {
        int rc = m->cap ? sk_strmap_grow(m, e) : sk_strmap_init(m, 8, e);
        if (rc) return rc;
    }
    size_t i = (size_t)sk_strmap_hash(key, len) & (m->cap - 1);
    while (m->keys[i]) {
        if (m->lens[i] == len && !memcmp(m->keys[i], key, len)) {
            if (old) *old = m->vals[i];
            if (replace) {
                m->vals[i] = val;
                m->keys[i] = key;
            }
            return SK_OK;
        }
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[i] = key;
    m->lens[i] = len;
    m->vals[i] = val;
    m->n++;
    return SK_OK;
}

/* Copies at most 60 bytes of s into buf as printable text (for error messages about names
 * that may be garbage). */
static inline const char *sk_fmt_printable(const char *s, size_t len, char *buf, size_t n) {
    size_t k = 0;
    for (size_t i = 0; i < len && k + 5 < n && i < 60; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f) {
            buf[k++] = (char)c;
        } else {
            static const char hx[] = "0123456789abcdef";
            buf[k++] = '\\';
            buf[k++] = 'x';
            buf[k++] = hx[c >> 4];
            buf[k++] = hx[c & 15];
        }
    }
    if (len > 60 && k + 4 < n) {
        buf[k++] = '.';
        buf[k++] = '.';
        buf[k++] = '.';
    }
    buf[k] = 0;
    return buf;
}

/* GGUF internals shared by gguf.c and gguf_write.c (need sk_gguf.h included first). */
#ifdef SK_GGUF_H
/* Raw bytes of KV i (what follows its u32 type in the file), its array element type/count. */
bool sk_gguf_kv_raw(const sk_gguf *g, int64_t i, const uint8_t **val, sk_gguf_vtype *elem_type,
                    uint64_t *count);
/* "<prefix>-0000N-of-0000M.gguf" (malloc'd). */
char *sk_gguf_split_path(const char *prefix, size_t prefix_len, int no, int count, sk_err *e);
#endif

#endif
