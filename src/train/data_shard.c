/* data_shard.c — tokenized binary shards: writer and validating reader (layout in sk_data.h). */
#include "sk_data.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint64_t sk_data_fnv1a(uint64_t h, const void *data, size_t n) {
    const uint8_t *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

#define MAX_SHARDS 99999u

static char *shard_path(const char *prefix, uint32_t i, const char *suffix, sk_err *e) {
    size_t n = strlen(prefix) + 32;
    char *p = sk_malloc(n, e);
    if (p) snprintf(p, n, "%s-%05u.bin%s", prefix, (unsigned)i, suffix);
    return p;
}

/* ---- writer ---- */

struct sk_shard_writer {
    char *prefix;
    int32_t vocab, bos, eos;
    uint32_t tb;
    uint64_t shard_tokens;
    /* the shard being filled */
    uint8_t *data;
    size_t data_len, data_cap;
    uint64_t *starts; /* doc starts, n_docs + 1 entries in use */
    size_t n_docs, starts_cap;
    /* finished shards (written as .tmp) */
    uint32_t n_shards;
    uint64_t *checksums;
    size_t checksums_cap;
    uint64_t total_docs, total_tokens;
};

static int w_reserve(void **p, size_t *cap, size_t need, size_t elem, sk_err *e) {
    if (need <= *cap) return SK_OK;
    size_t nc = *cap ? *cap : 1024;
    while (nc < need)
        if (!sk_mul_ok(nc, 2, &nc)) return sk_err_set(e, SK_ERR_NOMEM, "shard writer: too large");
    size_t bytes;
    if (!sk_mul_ok(nc, elem, &bytes)) return sk_err_set(e, SK_ERR_NOMEM, "shard writer: too large");
    void *np = realloc(*p, bytes);
    if (!np) return sk_err_set(e, SK_ERR_NOMEM, "shard writer: out of memory (%zu bytes)", bytes);
    *p = np;
    *cap = nc;
    return SK_OK;
}

int sk_shard_writer_open(const char *prefix, int32_t vocab_size, int32_t bos, int32_t eos,
                         uint64_t shard_tokens, sk_shard_writer **out, sk_err *e) {
    *out = NULL;
    if (!prefix || !*prefix) return sk_err_set(e, SK_ERR_INVALID, "shard prefix is empty");
    if (vocab_size <= 0)
        return sk_err_set(e, SK_ERR_INVALID, "shard writer: vocab size %d is not positive",
                          (int)vocab_size);
    if (bos < -1 || bos >= vocab_size || eos < -1 || eos >= vocab_size)
        return sk_err_set(e, SK_ERR_INVALID, "shard writer: BOS %d / EOS %d outside the vocabulary",
                          (int)bos, (int)eos);
    const char *slash = strrchr(prefix, '/');
    if (slash && slash != prefix) {
        char *dir = sk_strdup(prefix, e);
        if (!dir) return SK_ERR_NOMEM;
        dir[slash - prefix] = 0;
        int rc = sk_data_mkdir_p(dir, e);
        free(dir);
        if (rc) return rc;
    }
    sk_shard_writer *w = sk_calloc(1, sizeof *w, e);
    if (!w) return SK_ERR_NOMEM;
    if (!(w->prefix = sk_strdup(prefix, e))) {
        free(w);
        return SK_ERR_NOMEM;
    }
    w->vocab = vocab_size;
    w->bos = bos;
    w->eos = eos;
    w->tb = vocab_size <= 65536 ? 2 : 4;
    w->shard_tokens = shard_tokens ? shard_tokens : 100000000ull;
    *out = w;
    return SK_OK;
}

static int write_all(int fd, const void *p, size_t n, const char *path, sk_err *e) {
    const uint8_t *b = p;
    while (n) {
        ssize_t k = write(fd, b, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return sk_err_set(e, SK_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        }
        b += k;
        n -= (size_t)k;
    }
    return SK_OK;
}

/* Writes the current shard to PREFIX-NNNNN.bin.tmp (n_shards and set_id patched later). */
static int flush_shard(sk_shard_writer *w, sk_err *e) {
    if (w->n_shards >= MAX_SHARDS)
        return sk_err_set(e, SK_ERR_RANGE, "%s: more than %u shards", w->prefix, MAX_SHARDS);
    int rc =
        w_reserve((void **)&w->checksums, &w->checksums_cap, w->n_shards + 1, sizeof(uint64_t), e);
    if (rc) return rc;
    char *path = shard_path(w->prefix, w->n_shards, ".tmp", e);
    if (!path) return SK_ERR_NOMEM;
    uint64_t n_tokens = w->data_len / w->tb;
    uint8_t h[SK_SHARD_HEADER_BYTES] = {0};
    memcpy(h, SK_SHARD_MAGIC, 8);
    put_u32(h + 8, SK_SHARD_VERSION);
    put_u32(h + 12, w->tb);
    put_u32(h + 16, (uint32_t)w->vocab);
    put_u32(h + 20, (uint32_t)w->bos);
    put_u32(h + 24, (uint32_t)w->eos);
    put_u32(h + 28, w->n_shards);
    put_u64(h + 40, w->n_docs);
    put_u64(h + 48, n_tokens);
    uint8_t *offs = sk_malloc((w->n_docs + 1) * 8, e);
    if (!offs) {
        free(path);
        return SK_ERR_NOMEM;
    }
    for (size_t i = 0; i < w->n_docs; i++) put_u64(offs + 8 * i, w->starts[i]);
    put_u64(offs + 8 * w->n_docs, n_tokens);
    uint64_t cs = sk_data_fnv1a(SK_FNV_BASIS, offs, (w->n_docs + 1) * 8);
    cs = sk_data_fnv1a(cs, w->data, w->data_len);
    put_u64(h + 56, cs);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = sk_err_set(e, SK_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        goto done;
    }
    rc = write_all(fd, h, sizeof h, path, e);
    if (!rc) rc = write_all(fd, offs, (w->n_docs + 1) * 8, path, e);
    if (!rc) rc = write_all(fd, w->data, w->data_len, path, e);
    if (close(fd) != 0 && !rc) rc = sk_err_set(e, SK_ERR_IO, "%s: close failed", path);
    if (rc) goto done;
    w->checksums[w->n_shards++] = cs;
    w->data_len = 0;
    w->n_docs = 0;
done:
    free(offs);
    free(path);
    return rc;
}

int sk_shard_writer_add(sk_shard_writer *w, const int32_t *ids, size_t n, sk_err *e) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= w->vocab)
            return sk_err_set(e, SK_ERR_RANGE, "token id %d at %zu is outside [0, %d)", (int)ids[i],
                              i, (int)w->vocab);
    uint64_t cur = w->data_len / w->tb;
    if (cur > 0 && cur + n > w->shard_tokens) {
        int rc = flush_shard(w, e);
        if (rc) return rc;
        cur = 0;
    }
    size_t bytes;
    if (!sk_mul_ok(n, w->tb, &bytes) || !sk_add_ok(bytes, w->data_len, &bytes))
        return sk_err_set(e, SK_ERR_RANGE, "shard too large");
    int rc = w_reserve((void **)&w->data, &w->data_cap, bytes, 1, e);
    if (!rc)
        rc = w_reserve((void **)&w->starts, &w->starts_cap, w->n_docs + 1, sizeof(uint64_t), e);
    if (rc) return rc;
    w->starts[w->n_docs++] = cur;
    uint8_t *p = w->data + w->data_len;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)ids[i];
        p[0] = (uint8_t)v;
        p[1] = (uint8_t)(v >> 8);
        if (w->tb == 4) {
            p[2] = (uint8_t)(v >> 16);
            p[3] = (uint8_t)(v >> 24);
        }
        p += w->tb;
    }
    w->data_len += n * w->tb;
    w->total_docs++;
    w->total_tokens += n;
    return SK_OK;
}

static void writer_free(sk_shard_writer *w) {
    free(w->prefix);
    free(w->data);
    free(w->starts);
    free(w->checksums);
    free(w);
}

void sk_shard_writer_abort(sk_shard_writer *w) {
    if (!w) return;
    for (uint32_t i = 0; i < w->n_shards; i++) {
        char *p = shard_path(w->prefix, i, ".tmp", NULL);
        if (p) unlink(p);
        free(p);
    }
    writer_free(w);
}

static int fsync_dir_of(const char *path) {
    char *d = strdup(path);
    if (!d) return -1;
    char *slash = strrchr(d, '/');
    const char *dir = ".";
    if (slash) {
        if (slash == d)
            slash[1] = 0;
        else
            *slash = 0;
        dir = d;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = -1;
    if (fd >= 0) {
        rc = fsync(fd);
        close(fd);
    }
    free(d);
    return rc;
}

int sk_shard_writer_finish(sk_shard_writer *w, uint32_t *n_shards, uint64_t *n_docs,
                           uint64_t *n_tokens, sk_err *e) {
    int rc = SK_OK;
    if (w->n_docs > 0 || w->n_shards == 0) rc = flush_shard(w, e);
    if (rc) goto fail;
    uint8_t le[8];
    uint64_t set_id = SK_FNV_BASIS;
    for (uint32_t i = 0; i < w->n_shards; i++) {
        put_u64(le, w->checksums[i]);
        set_id = sk_data_fnv1a(set_id, le, 8);
    }
    for (uint32_t i = 0; i < w->n_shards; i++) {
        char *tmp = shard_path(w->prefix, i, ".tmp", e), *fin = shard_path(w->prefix, i, "", e);
        if (!tmp || !fin) {
            free(tmp);
            free(fin);
            rc = SK_ERR_NOMEM;
            goto fail;
        }
        int fd = open(tmp, O_WRONLY | O_CLOEXEC);
        uint8_t b4[4];
        put_u32(b4, w->n_shards);
        put_u64(le, set_id);
        if (fd < 0 || pwrite(fd, b4, 4, 32) != 4 || pwrite(fd, le, 8, 64) != 8 || fsync(fd) != 0) {
            rc = sk_err_set(e, SK_ERR_IO, "%s: finishing the shard failed: %s", tmp,
                            strerror(errno));
            if (fd >= 0) close(fd);
        } else if (close(fd) != 0) {
            rc = sk_err_set(e, SK_ERR_IO, "%s: close failed", tmp);
        }
        free(tmp);
        free(fin);
        if (rc) goto fail;
    }
    for (uint32_t i = 0; i < w->n_shards; i++) {
        char *tmp = shard_path(w->prefix, i, ".tmp", e), *fin = shard_path(w->prefix, i, "", e);
        if (!tmp || !fin || rename(tmp, fin) != 0) {
            rc = tmp && fin ? sk_err_set(e, SK_ERR_IO, "cannot rename %s to %s: %s", tmp, fin,
                                         strerror(errno))
                            : SK_ERR_NOMEM;
            free(tmp);
            free(fin);
            goto fail;
        }
        if (i == 0) fsync_dir_of(fin);
        free(tmp);
        free(fin);
    }
    if (w->n_shards) {
        char *fin = shard_path(w->prefix, 0, "", NULL);
        if (fin) fsync_dir_of(fin);
        free(fin);
    }
    if (n_shards) *n_shards = w->n_shards;
    if (n_docs) *n_docs = w->total_docs;
    if (n_tokens) *n_tokens = w->total_tokens;
    writer_free(w);
    return SK_OK;
fail:
    sk_shard_writer_abort(w);
    return rc;
}

/* ---- reader ---- */

typedef struct shard {
    sk_mmap map;
    uint64_t n_docs, n_tokens;
    const uint8_t *offs; /* u64 LE [n_docs+1] */
    const uint8_t *data;
} shard;

struct sk_shard_set {
    shard *sh;
    uint32_t n;
    uint32_t tb;
    int32_t vocab, bos, eos;
    uint64_t set_id;
    uint64_t *doc_base; /* [n+1] first global doc index of each shard */
    uint64_t n_tokens;
};

static bool parse_shard_name(const char *path, size_t *prefix_len) {
    size_t n = strlen(path);
    if (n < 10 || strcmp(path + n - 4, ".bin")) return false;
    const char *d = path + n - 10; /* "-NNNNN.bin" */
    if (d[0] != '-') return false;
    for (int i = 1; i <= 5; i++)
        if (d[i] < '0' || d[i] > '9') return false;
    *prefix_len = n - 10;
    return true;
}

static int open_shard(shard *s, const char *path, uint32_t index, sk_err *e) {
    int rc = sk_mmap_open(&s->map, path, e);
    if (rc) return rc;
    const uint8_t *h = s->map.data;
    uint64_t size = s->map.size;
    if (size < SK_SHARD_HEADER_BYTES || memcmp(h, SK_SHARD_MAGIC, 8))
        return sk_err_set(e, SK_ERR_FORMAT, "%s: not a Seek token shard (bad magic)", path);
    uint32_t ver = get_u32(h + 8), tb = get_u32(h + 12), vocab = get_u32(h + 16);
    int32_t bos = (int32_t)get_u32(h + 20), eos = (int32_t)get_u32(h + 24);
    uint32_t idx = get_u32(h + 28), ns = get_u32(h + 32);
    if (ver != SK_SHARD_VERSION)
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "%s: shard version %u (this reader knows %u)",
                          path, ver, SK_SHARD_VERSION);
    if (tb != 2 && tb != 4)
        return sk_err_set(e, SK_ERR_FORMAT, "%s: token size %u bytes (expected 2 or 4)", path, tb);
    if (vocab == 0 || vocab > INT32_MAX || (tb == 2 && vocab > 65536))
        return sk_err_set(e, SK_ERR_FORMAT, "%s: vocab size %u invalid for %u-byte tokens", path,
                          vocab, tb);
    if (bos < -1 || bos >= (int64_t)vocab || eos < -1 || eos >= (int64_t)vocab)
        return sk_err_set(e, SK_ERR_FORMAT, "%s: BOS %d / EOS %d outside the vocabulary", path,
                          (int)bos, (int)eos);
    if (idx != index)
        return sk_err_set(e, SK_ERR_FORMAT, "%s: holds shard index %u, expected %u", path, idx,
                          index);
    if (ns == 0 || ns > MAX_SHARDS)
        return sk_err_set(e, SK_ERR_FORMAT, "%s: n_shards %u invalid", path, ns);
    if (get_u32(h + 36) != 0)
        return sk_err_set(e, SK_ERR_FORMAT, "%s: reserved header field is not zero", path);
    uint64_t nd = get_u64(h + 40), nt = get_u64(h + 48);
    uint64_t need, ob, db;
    if (!sk_add_u64_ok(nd, 1, &ob) || !sk_mul_u64_ok(ob, 8, &ob) || !sk_mul_u64_ok(nt, tb, &db) ||
        !sk_add_u64_ok(SK_SHARD_HEADER_BYTES, ob, &need) || !sk_add_u64_ok(need, db, &need) ||
        need != size)
        return sk_err_set(e, SK_ERR_FORMAT,
                          "%s: size %llu bytes does not match the header (%llu documents, %llu "
                          "tokens of %u bytes)",
                          path, (unsigned long long)size, (unsigned long long)nd,
                          (unsigned long long)nt, tb);
    s->n_docs = nd;
    s->n_tokens = nt;
    s->offs = h + SK_SHARD_HEADER_BYTES;
    s->data = s->offs + ob;
    uint64_t prev = 0;
    for (uint64_t d = 0; d <= nd; d++) {
        uint64_t v = get_u64(s->offs + 8 * d);
        if ((d == 0 && v != 0) || v < prev || v > nt || (d == nd && v != nt))
            return sk_err_set(e, SK_ERR_FORMAT, "%s: document offset %llu = %llu is invalid", path,
                              (unsigned long long)d, (unsigned long long)v);
        prev = v;
    }
    if (sk_data_fnv1a(sk_data_fnv1a(SK_FNV_BASIS, s->offs, ob), s->data, db) != get_u64(h + 56))
        return sk_err_set(e, SK_ERR_FORMAT, "%s: data checksum mismatch (corrupt shard)", path);
    for (uint64_t i = 0; i < nt; i++) {
        uint32_t v = tb == 2 ? (uint32_t)s->data[2 * i] | (uint32_t)s->data[2 * i + 1] << 8
                             : get_u32(s->data + 4 * i);
        if (v >= vocab)
            return sk_err_set(e, SK_ERR_FORMAT, "%s: token %llu = %u is outside [0, %u)", path,
                              (unsigned long long)i, v, vocab);
    }
    return SK_OK;
}

void sk_shard_set_close(sk_shard_set *s) {
    if (!s) return;
    for (uint32_t i = 0; i < s->n; i++)
        if (s->sh[i].map.data) sk_mmap_close(&s->sh[i].map);
    free(s->sh);
    free(s->doc_base);
    free(s);
}

int sk_shard_set_open(const char *path, sk_shard_set **out, sk_err *e) {
    *out = NULL;
    size_t pl = strlen(path);
    parse_shard_name(path, &pl);
    char *prefix = sk_malloc(pl + 1, e);
    if (!prefix) return SK_ERR_NOMEM;
    memcpy(prefix, path, pl);
    prefix[pl] = 0;
    int rc = SK_OK;
    char *p0 = NULL;
    sk_shard_set *s = sk_calloc(1, sizeof *s, e);
    if (!s) {
        rc = SK_ERR_NOMEM;
        goto fail;
    }
    if (!(p0 = shard_path(prefix, 0, "", e))) goto nomem;
    if (!sk_file_exists(p0)) {
        rc = sk_err_set(e, SK_ERR_NOTFOUND, "%s: no shard set (%s does not exist)", path, p0);
        goto fail;
    }
    shard first = {0};
    if ((rc = open_shard(&first, p0, 0, e))) {
        if (first.map.data) sk_mmap_close(&first.map);
        goto fail;
    }
    const uint8_t *h = first.map.data;
    s->n = get_u32(h + 32);
    s->tb = get_u32(h + 12);
    s->vocab = (int32_t)get_u32(h + 16);
    s->bos = (int32_t)get_u32(h + 20);
    s->eos = (int32_t)get_u32(h + 24);
    s->set_id = get_u64(h + 64);
    if (!(s->sh = sk_calloc(s->n, sizeof(shard), e)) ||
        !(s->doc_base = sk_calloc((size_t)s->n + 1, sizeof(uint64_t), e))) {
        sk_mmap_close(&first.map);
        goto nomem;
    }
    s->sh[0] = first;
    uint64_t set_id = SK_FNV_BASIS;
    for (uint32_t i = 0; i < s->n; i++) {
        char *pi = shard_path(prefix, i, "", e);
        if (!pi) goto nomem;
        if (i > 0) {
            if (!sk_file_exists(pi)) {
                rc = sk_err_set(e, SK_ERR_NOTFOUND, "%s: shard %u of %u is missing", pi, i, s->n);
                free(pi);
                goto fail;
            }
            rc = open_shard(&s->sh[i], pi, i, e);
            if (!rc) {
                const uint8_t *hi = s->sh[i].map.data;
                if (get_u32(hi + 32) != s->n || get_u64(hi + 64) != s->set_id ||
                    get_u32(hi + 12) != s->tb || (int32_t)get_u32(hi + 16) != s->vocab ||
                    (int32_t)get_u32(hi + 20) != s->bos || (int32_t)get_u32(hi + 24) != s->eos)
                    rc = sk_err_set(e, SK_ERR_FORMAT,
                                    "%s: does not belong to the same set as %s (n_shards, set id, "
                                    "vocab, BOS or EOS differ)",
                                    pi, p0);
            }
            if (rc) {
                free(pi);
                goto fail;
            }
        }
        free(pi);
        uint8_t le[8];
        put_u64(le, get_u64(s->sh[i].map.data + 56));
        set_id = sk_data_fnv1a(set_id, le, 8);
        s->doc_base[i + 1] = s->doc_base[i] + s->sh[i].n_docs;
        s->n_tokens += s->sh[i].n_tokens;
    }
    if (set_id != s->set_id) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "%s: set id does not match the shards' checksums", p0);
        goto fail;
    }
    free(prefix);
    free(p0);
    *out = s;
    return SK_OK;
nomem:
    rc = SK_ERR_NOMEM;
fail:
    free(prefix);
    free(p0);
    sk_shard_set_close(s);
    return rc;
}

uint32_t sk_shard_set_n_shards(const sk_shard_set *s) {
    return s->n;
}
uint64_t sk_shard_set_n_docs(const sk_shard_set *s) {
    return s->doc_base[s->n];
}
uint64_t sk_shard_set_n_tokens(const sk_shard_set *s) {
    return s->n_tokens;
}
int32_t sk_shard_set_vocab(const sk_shard_set *s) {
    return s->vocab;
}
int32_t sk_shard_set_bos(const sk_shard_set *s) {
    return s->bos;
}
int32_t sk_shard_set_eos(const sk_shard_set *s) {
    return s->eos;
}
uint32_t sk_shard_set_token_bytes(const sk_shard_set *s) {
    return s->tb;
}
uint64_t sk_shard_set_id(const sk_shard_set *s) {
    return s->set_id;
}

static int locate(const sk_shard_set *s, uint64_t d, const shard **sh, uint64_t *ld, sk_err *e) {
    if (d >= s->doc_base[s->n])
        return sk_err_set(e, SK_ERR_RANGE, "document %llu out of range (the set has %llu)",
                          (unsigned long long)d, (unsigned long long)s->doc_base[s->n]);
    uint32_t lo = 0, hi = s->n; /* find i with doc_base[i] <= d < doc_base[i+1] */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->doc_base[mid] <= d)
            lo = mid;
        else
            hi = mid;
    }
    *sh = &s->sh[lo];
    *ld = d - s->doc_base[lo];
    return SK_OK;
}

int sk_shard_set_doc_read(const sk_shard_set *s, uint64_t d, uint64_t off, int32_t *ids, size_t n,
                          size_t *doc_len, sk_err *e) {
    const shard *sh = NULL;
    uint64_t ld = 0;
    int rc = locate(s, d, &sh, &ld, e);
    if (rc) return rc;
    uint64_t a = get_u64(sh->offs + 8 * ld), b = get_u64(sh->offs + 8 * (ld + 1));
    if (doc_len) *doc_len = (size_t)(b - a);
    if (off > b - a || n > b - a - off)
        return sk_err_set(
            e, SK_ERR_RANGE, "document %llu: range [%llu, +%zu) beyond its %llu tokens",
            (unsigned long long)d, (unsigned long long)off, n, (unsigned long long)(b - a));
    const uint8_t *p = sh->data + (a + off) * s->tb;
    if (s->tb == 2)
        for (size_t i = 0; i < n; i++)
            ids[i] = (int32_t)((uint32_t)p[2 * i] | (uint32_t)p[2 * i + 1] << 8);
    else
        for (size_t i = 0; i < n; i++) ids[i] = (int32_t)get_u32(p + 4 * i);
    return SK_OK;
}

int sk_shard_set_doc(const sk_shard_set *s, uint64_t d, int32_t *ids, size_t cap, size_t *len,
                     sk_err *e) {
    size_t n = 0;
    int rc = sk_shard_set_doc_read(s, d, 0, ids, 0, &n, e);
    if (rc) return rc;
    *len = n;
    return sk_shard_set_doc_read(s, d, 0, ids, n < cap ? n : cap, NULL, e);
}
