/* gguf_write.c — GGUF v3 writer: metadata, tensors given by pointer or produced on demand by a
 * fill callback (streaming), optional splitting, atomic rename (see sk_gguf.h). */
#include "sk_gguf.h"
#include "fmt_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct wkv {
    char *key;
    sk_gguf_vtype type;
    uint8_t *bytes; /* serialized value (what follows the u32 type in the file) */
    size_t len;
} wkv;

typedef struct wtensor {
    char *name;
    int type;
    int n_dims;
    int64_t ne[4];
    uint64_t nbytes;
    const void *data;
    sk_gguf_fill_fn fill;
    sk_gguf_fill_rows_fn fill_rows;
    void *fill_ctx;
    uint64_t row_bytes;
} wtensor;

#define FILL_CHUNK_BYTES (64ull << 20) /* row-range fills produce at most this much at once */

struct sk_gguf_writer {
    wkv *kvs;
    int64_t n_kv, cap_kv;
    sk_strmap kv_index;
    wtensor *tens;
    int64_t n_tens, cap_tens;
    sk_strmap tens_index;
    uint64_t chunk_bytes; /* 0 = FILL_CHUNK_BYTES */
};

static const int k_vsize[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

sk_gguf_writer *sk_gguf_writer_new(sk_err *e) {
    return sk_calloc(1, sizeof(sk_gguf_writer), e);
}

void sk_gguf_writer_free(sk_gguf_writer *w) {
    if (!w) return;
    for (int64_t i = 0; i < w->n_kv; i++) {
        free(w->kvs[i].key);
        free(w->kvs[i].bytes);
    }
    free(w->kvs);
    for (int64_t i = 0; i < w->n_tens; i++) free(w->tens[i].name);
    free(w->tens);
    sk_strmap_free(&w->kv_index);
    sk_strmap_free(&w->tens_index);
    free(w);
}

static int check_key(const char *key, sk_err *e) {
    if (!key || !*key) return sk_err_set(e, SK_ERR_INVALID, "GGUF writer: empty key");
    if (!sk_utf8_valid((const uint8_t *)key, strlen(key)))
        return sk_err_set(e, SK_ERR_INVALID, "GGUF writer: key is not valid UTF-8");
    return SK_OK;
}

/* Stores key → (type, bytes) taking ownership of bytes. */
static int set_owned(sk_gguf_writer *w, const char *key, sk_gguf_vtype type, uint8_t *bytes,
                     size_t len, sk_err *e) {
    int rc = check_key(key, e);
    if (rc) {
        free(bytes);
        return rc;
    }
    int64_t i = sk_strmap_get(&w->kv_index, key, strlen(key));
    if (i >= 0) {
        free(w->kvs[i].bytes);
        w->kvs[i].bytes = bytes;
        w->kvs[i].len = len;
        w->kvs[i].type = type;
        return SK_OK;
    }
    if (w->n_kv == w->cap_kv) {
        int64_t nc = w->cap_kv ? w->cap_kv * 2 : 32;
        wkv *nk = realloc(w->kvs, (size_t)nc * sizeof *nk);
        if (!nk) {
            free(bytes);
            return sk_err_set(e, SK_ERR_NOMEM, "GGUF writer: out of memory");
        }
        w->kvs = nk;
        w->cap_kv = nc;
    }
    char *k = sk_strdup(key, e);
    if (!k) {
        free(bytes);
        return SK_ERR_NOMEM;
    }
    wkv *kv = &w->kvs[w->n_kv];
    kv->key = k;
    kv->type = type;
    kv->bytes = bytes;
    kv->len = len;
    rc = sk_strmap_put(&w->kv_index, k, strlen(k), w->n_kv, true, NULL, e);
    if (rc) {
        free(k);
        free(bytes);
        return rc;
    }
    w->n_kv++;
    return SK_OK;
}

static int set_copy(sk_gguf_writer *w, const char *key, sk_gguf_vtype type, const void *v,
                    size_t len, sk_err *e) {
    uint8_t *b = sk_malloc(len ? len : 1, e);
    if (!b) return SK_ERR_NOMEM;
    if (len) memcpy(b, v, len);
    return set_owned(w, key, type, b, len, e);
}

int sk_gguf_set_u8(sk_gguf_writer *w, const char *key, uint8_t v, sk_err *e) {
    return set_copy(w, key, SK_GGUF_UINT8, &v, 1, e);
}
int sk_gguf_set_u32(sk_gguf_writer *w, const char *key, uint32_t v, sk_err *e) {
    return set_copy(w, key, SK_GGUF_UINT32, &v, 4, e);
}
int sk_gguf_set_i32(sk_gguf_writer *w, const char *key, int32_t v, sk_err *e) {
    return set_copy(w, key, SK_GGUF_INT32, &v, 4, e);
}
int sk_gguf_set_u64(sk_gguf_writer *w, const char *key, uint64_t v, sk_err *e) {
    return set_copy(w, key, SK_GGUF_UINT64, &v, 8, e);
}
int sk_gguf_set_f32(sk_gguf_writer *w, const char *key, float v, sk_err *e) {
    return set_copy(w, key, SK_GGUF_FLOAT32, &v, 4, e);
}
int sk_gguf_set_bool(sk_gguf_writer *w, const char *key, bool v, sk_err *e) {
    uint8_t b = v ? 1 : 0;
    return set_copy(w, key, SK_GGUF_BOOL, &b, 1, e);
}

int sk_gguf_set_str(sk_gguf_writer *w, const char *key, const char *v, sk_err *e) {
    if (!v) return sk_err_set(e, SK_ERR_INVALID, "GGUF writer: key \"%s\": NULL string", key);
    uint64_t n = strlen(v);
    size_t len;
    if (!sk_add_ok((size_t)n, 8, &len)) return sk_err_set(e, SK_ERR_RANGE, "string too long");
    uint8_t *b = sk_malloc(len, e);
    if (!b) return SK_ERR_NOMEM;
    memcpy(b, &n, 8);
    memcpy(b + 8, v, (size_t)n);
    return set_owned(w, key, SK_GGUF_STRING, b, len, e);
}

/* Additional generic setters (used by copy_kv, tests and tools). */
int sk_gguf_set_scalar(sk_gguf_writer *w, const char *key, sk_gguf_vtype type, const void *v,
                       sk_err *e) {
    if ((int)type < 0 || type > SK_GGUF_FLOAT64 || type == SK_GGUF_STRING || type == SK_GGUF_ARRAY)
        return sk_err_set(e, SK_ERR_INVALID, "GGUF writer: key \"%s\": %d is not a scalar type",
                          key, (int)type);
    return set_copy(w, key, type, v, (size_t)k_vsize[type], e);
}

int sk_gguf_set_arr(sk_gguf_writer *w, const char *key, sk_gguf_vtype elem_type, const void *data,
                    uint64_t count, sk_err *e) {
    if ((int)elem_type < 0 || elem_type > SK_GGUF_FLOAT64 || elem_type == SK_GGUF_STRING ||
        elem_type == SK_GGUF_ARRAY)
        return sk_err_set(e, SK_ERR_INVALID,
                          "GGUF writer: key \"%s\": array element type %d is not a scalar type",
                          key, (int)elem_type);
    size_t dl, len;
    if (!sk_mul_ok((size_t)count, (size_t)k_vsize[elem_type], &dl) || !sk_add_ok(dl, 12, &len))
        return sk_err_set(e, SK_ERR_RANGE, "GGUF writer: key \"%s\": array too large", key);
    uint8_t *b = sk_malloc(len, e);
    if (!b) return SK_ERR_NOMEM;
    uint32_t et = (uint32_t)elem_type;
    memcpy(b, &et, 4);
    memcpy(b + 4, &count, 8);
    if (dl) memcpy(b + 12, data, dl);
    return set_owned(w, key, SK_GGUF_ARRAY, b, len, e);
}

/* String array from pointers + lengths (lens may be NULL: strlen). */
int sk_gguf_set_arr_strn(sk_gguf_writer *w, const char *key, const char *const *strs,
                         const size_t *lens, uint64_t count, sk_err *e) {
    size_t len = 12;
    for (uint64_t i = 0; i < count; i++) {
        size_t l = lens ? lens[i] : strlen(strs[i]);
        if (!sk_add_ok(len, l, &len) || !sk_add_ok(len, 8, &len))
            return sk_err_set(e, SK_ERR_RANGE, "GGUF writer: key \"%s\": array too large", key);
    }
    uint8_t *b = sk_malloc(len, e);
    if (!b) return SK_ERR_NOMEM;
    uint32_t et = SK_GGUF_STRING;
    memcpy(b, &et, 4);
    memcpy(b + 4, &count, 8);
    size_t k = 12;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t l = lens ? lens[i] : strlen(strs[i]);
        memcpy(b + k, &l, 8);
        if (l) memcpy(b + k + 8, strs[i], (size_t)l);
        k += 8 + (size_t)l;
    }
    return set_owned(w, key, SK_GGUF_ARRAY, b, len, e);
}

int sk_gguf_set_arr_str(sk_gguf_writer *w, const char *key, const char *const *strs, uint64_t count,
                        sk_err *e) {
    return sk_gguf_set_arr_strn(w, key, strs, NULL, count, e);
}

int sk_gguf_copy_kv(sk_gguf_writer *w, const sk_gguf *g, const char *skip_prefix, sk_err *e) {
    size_t sp = skip_prefix ? strlen(skip_prefix) : 0;
    for (int64_t i = 0; i < sk_gguf_n_kv(g); i++) {
        const char *key = sk_gguf_kv_key(g, i);
        if (sp && !strncmp(key, skip_prefix, sp)) continue;
        sk_gguf_vtype t = sk_gguf_kv_type(g, i), et;
        const uint8_t *val;
        uint64_t count;
        sk_gguf_kv_raw(g, i, &val, &et, &count);
        int rc;
        if (t == SK_GGUF_STRING) {
            uint64_t n;
            memcpy(&n, val, 8);
            rc = set_copy(w, key, t, val, (size_t)n + 8, e);
        } else if (t == SK_GGUF_ARRAY && et == SK_GGUF_STRING) {
            const char **s = count ? sk_calloc((size_t)count, sizeof *s, e) : NULL;
            size_t *l = count ? sk_calloc((size_t)count, sizeof *l, e) : NULL;
            if (count && (!s || !l)) {
                free(s);
                free(l);
                return SK_ERR_NOMEM;
            }
            for (uint64_t j = 0; j < count; j++) sk_gguf_get_arr_str(g, key, j, &s[j], &l[j]);
            rc = sk_gguf_set_arr_strn(w, key, s, l, count, e);
            free(s);
            free(l);
        } else if (t == SK_GGUF_ARRAY) {
            const void *data;
            sk_gguf_get_arr(g, key, &et, &count, &data);
            rc = sk_gguf_set_arr(w, key, et, data, count, e);
        } else {
            rc = set_copy(w, key, t, val, (size_t)k_vsize[t], e);
        }
        if (rc) return rc;
    }
    return SK_OK;
}

static int add_tensor(sk_gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne,
                      const void *data, sk_gguf_fill_fn fill, sk_gguf_fill_rows_fn fill_rows,
                      void *fill_ctx, sk_err *e) {
    if (!name || !*name) return sk_err_set(e, SK_ERR_INVALID, "GGUF writer: empty tensor name");
    if (!sk_utf8_valid((const uint8_t *)name, strlen(name)))
        return sk_err_set(e, SK_ERR_INVALID, "GGUF writer: tensor name is not valid UTF-8");
    if (sk_strmap_get(&w->tens_index, name, strlen(name)) >= 0)
        return sk_err_set(e, SK_ERR_INVALID, "GGUF writer: duplicate tensor \"%s\"", name);
    if (n_dims < 1 || n_dims > 4)
        return sk_err_set(e, SK_ERR_INVALID, "GGUF writer: tensor \"%s\": n_dims %d outside 1..4",
                          name, n_dims);
    const sk_type_traits *tt = sk_type_info(type);
    if (type < 0 || type >= SK_TYPE_GGML_COUNT || tt->block_size == 0)
        return sk_err_set(e, SK_ERR_INVALID,
                          "GGUF writer: tensor \"%s\": type %d cannot be stored in GGUF", name,
                          type);
    if (!data && !fill && !fill_rows)
        return sk_err_set(e, SK_ERR_INVALID, "GGUF writer: tensor \"%s\": no data and no fill",
                          name);
    wtensor t;
    memset(&t, 0, sizeof t);
    t.type = type;
    t.n_dims = n_dims;
    uint64_t rows = 1;
    for (int d = 0; d < 4; d++) {
        t.ne[d] = d < n_dims ? ne[d] : 1;
        if (t.ne[d] <= 0)
            return sk_err_set(e, SK_ERR_INVALID,
                              "GGUF writer: tensor \"%s\": ne[%d] = %" PRId64 " must be positive",
                              name, d, t.ne[d]);
        if (d > 0 && !sk_mul_u64_ok(rows, (uint64_t)t.ne[d], &rows))
            return sk_err_set(e, SK_ERR_RANGE, "GGUF writer: tensor \"%s\": too large", name);
    }
    size_t rb;
    if (!sk_row_size(type, t.ne[0], &rb))
        return sk_err_set(e, SK_ERR_INVALID,
                          "GGUF writer: tensor \"%s\": ne[0] = %" PRId64
                          " is not a multiple of the %s block size %d",
                          name, t.ne[0], tt->name, tt->block_size);
    if (!sk_mul_u64_ok(rows, (uint64_t)rb, &t.nbytes))
        return sk_err_set(e, SK_ERR_RANGE, "GGUF writer: tensor \"%s\": too large", name);
    t.data = data;
    t.fill = fill;
    t.fill_rows = fill_rows;
    t.fill_ctx = fill_ctx;
    t.row_bytes = rb;
    if (w->n_tens == w->cap_tens) {
        int64_t nc = w->cap_tens ? w->cap_tens * 2 : 64;
        wtensor *nt = realloc(w->tens, (size_t)nc * sizeof *nt);
        if (!nt) return sk_err_set(e, SK_ERR_NOMEM, "GGUF writer: out of memory");
        w->tens = nt;
        w->cap_tens = nc;
    }
    t.name = sk_strdup(name, e);
    if (!t.name) return SK_ERR_NOMEM;
    int rc = sk_strmap_put(&w->tens_index, t.name, strlen(t.name), w->n_tens, false, NULL, e);
    if (rc) {
        free(t.name);
        return rc;
    }
    w->tens[w->n_tens++] = t;
    return SK_OK;
}

int sk_gguf_add_tensor(sk_gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne,
                       const void *data, sk_gguf_fill_fn fill, void *fill_ctx, sk_err *e) {
    return add_tensor(w, name, type, n_dims, ne, data, fill, NULL, fill_ctx, e);
}

void sk_gguf_writer_set_chunk_bytes(sk_gguf_writer *w, uint64_t bytes) {
    w->chunk_bytes = bytes;
}

int sk_gguf_add_tensor_rows(sk_gguf_writer *w, const char *name, int type, int n_dims,
                            const int64_t *ne, sk_gguf_fill_rows_fn fill_rows, void *fill_ctx,
                            sk_err *e) {
    if (!fill_rows)
        return sk_err_set(e, SK_ERR_INVALID, "GGUF writer: tensor \"%s\": no fill", name);
    return add_tensor(w, name, type, n_dims, ne, NULL, NULL, fill_rows, fill_ctx, e);
}

/* ---- output ---- */

typedef struct out {
    FILE *f;
    const char *path;
    uint64_t pos;
    int rc;
    sk_err *e;
} out;

static void put(out *o, const void *p, size_t n) {
    if (o->rc || n == 0) return;
    if (fwrite(p, 1, n, o->f) != n) {
        o->rc = sk_err_set(o->e, SK_ERR_IO, "%s: write failed: %s", o->path, strerror(errno));
        return;
    }
    o->pos += n;
}

static void put_u32(out *o, uint32_t v) {
    put(o, &v, 4);
}
static void put_u64(out *o, uint64_t v) {
    put(o, &v, 8);
}
static void put_str(out *o, const char *s) {
    uint64_t n = strlen(s);
    put_u64(o, n);
    put(o, s, (size_t)n);
}
static void put_pad(out *o, uint64_t align) {
    static const uint8_t zeros[64];
    uint64_t target;
    if (!sk_align_up_ok(o->pos, align, &target)) return;
    while (o->pos < target) {
        uint64_t n = target - o->pos;
        put(o, zeros, (size_t)(n < sizeof zeros ? n : sizeof zeros));
        if (o->rc) return;
    }
}

static void put_kv_u16(out *o, const char *key, uint16_t v) {
    put_str(o, key);
    put_u32(o, SK_GGUF_UINT16);
    put(o, &v, 2);
}
static void put_kv_i32(out *o, const char *key, int32_t v) {
    put_str(o, key);
    put_u32(o, SK_GGUF_INT32);
    put(o, &v, 4);
}

static bool is_split_key(const char *k) {
    return !strcmp(k, "split.no") || !strcmp(k, "split.count") || !strcmp(k, "split.tensors.count");
}

/* Writes one file holding tensors [t0, t1). split_no < 0: unsplit. */
static int write_one(sk_gguf_writer *w, const char *path, int64_t t0, int64_t t1, int split_no,
                     int n_splits, uint64_t align, uint8_t **buf, uint64_t *buf_cap,
                     sk_progress *progress, sk_err *e) {
    out o = {NULL, path, 0, SK_OK, e};
    o.f = fopen(path, "wb");
    if (!o.f) return sk_err_set(e, SK_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    setvbuf(o.f, NULL, _IOFBF, 1 << 20);
    bool meta = split_no <= 0;
    int64_t n_kv = 0;
    if (meta)
        for (int64_t i = 0; i < w->n_kv; i++) n_kv += !is_split_key(w->kvs[i].key);
    if (split_no >= 0) n_kv += 3;
    put(&o, "GGUF", 4);
    put_u32(&o, 3);
    put_u64(&o, (uint64_t)(t1 - t0));
    put_u64(&o, (uint64_t)n_kv);
    if (meta)
        for (int64_t i = 0; i < w->n_kv; i++) {
            if (is_split_key(w->kvs[i].key)) continue;
            put_str(&o, w->kvs[i].key);
            put_u32(&o, (uint32_t)w->kvs[i].type);
            put(&o, w->kvs[i].bytes, w->kvs[i].len);
        }
    if (split_no >= 0) {
        put_kv_u16(&o, "split.no", (uint16_t)split_no);
        put_kv_u16(&o, "split.count", (uint16_t)n_splits);
        put_kv_i32(&o, "split.tensors.count", (int32_t)w->n_tens);
    }
    uint64_t off = 0;
    for (int64_t i = t0; i < t1; i++) {
        const wtensor *t = &w->tens[i];
        put_str(&o, t->name);
        put_u32(&o, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++) put_u64(&o, (uint64_t)t->ne[d]);
        put_u32(&o, (uint32_t)t->type);
        put_u64(&o, off);
        uint64_t next;
        if (!sk_add_u64_ok(off, t->nbytes, &next) || !sk_align_up_ok(next, align, &off)) {
            o.rc = sk_err_set(e, SK_ERR_RANGE, "%s: data section too large", path);
            break;
        }
    }
    put_pad(&o, align);
    for (int64_t i = t0; i < t1 && !o.rc; i++) {
        const wtensor *t = &w->tens[i];
        uint64_t rows = t->row_bytes ? t->nbytes / t->row_bytes : 0;
        uint64_t chunk_rows =
            t->fill_rows ? (w->chunk_bytes ? w->chunk_bytes : FILL_CHUNK_BYTES) / t->row_bytes
                         : rows;
        if (chunk_rows == 0) chunk_rows = 1;
        if (chunk_rows > rows) chunk_rows = rows;
        uint64_t need = t->data ? 0 : chunk_rows * t->row_bytes;
        if (need > *buf_cap) {
            if (need > SIZE_MAX) {
                o.rc = sk_err_set(e, SK_ERR_RANGE, "%s: tensor too large", t->name);
                break;
            }
            free(*buf);
            *buf = sk_malloc((size_t)need, e);
            *buf_cap = *buf ? need : 0;
            if (!*buf) {
                o.rc = SK_ERR_NOMEM;
                break;
            }
        }
        if (t->data) {
            put(&o, t->data, (size_t)t->nbytes);
        } else if (t->fill) {
            int rc = t->fill(t->fill_ctx, *buf, t->nbytes, e);
            if (rc) {
                sk_err_prefix(e, "%s: tensor \"%s\"", path, t->name);
                o.rc = rc;
                break;
            }
            put(&o, *buf, (size_t)t->nbytes);
        } else {
            for (uint64_t r0 = 0; r0 < rows && !o.rc; r0 += chunk_rows) {
                uint64_t n = rows - r0 < chunk_rows ? rows - r0 : chunk_rows;
                int rc = t->fill_rows(t->fill_ctx, *buf, (int64_t)r0, (int64_t)n, e);
                if (rc) {
                    sk_err_prefix(e, "%s: tensor \"%s\"", path, t->name);
                    o.rc = rc;
                    break;
                }
                put(&o, *buf, (size_t)(n * t->row_bytes));
                if (progress) sk_progress_add(progress, n * t->row_bytes);
            }
            if (o.rc) break;
            put_pad(&o, align);
            continue;
        }
        put_pad(&o, align);
        if (progress) sk_progress_add(progress, t->nbytes);
    }
    if (!o.rc && fflush(o.f) != 0)
        o.rc = sk_err_set(e, SK_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (!o.rc && fsync(fileno(o.f)) != 0)
        o.rc = sk_err_set(e, SK_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
    if (fclose(o.f) != 0 && !o.rc)
        o.rc = sk_err_set(e, SK_ERR_IO, "%s: close failed: %s", path, strerror(errno));
    return o.rc;
}

/* After a successful write to path: removes split files "PREFIX-0000K-of-0000N.gguf" of
 * the same PREFIX (path minus ".gguf") whose N differs from this write's n_splits (0 when
 * unsplit), which a previous run with another split count left behind. Best effort. */
static void remove_stale_splits(const char *path, int n_splits) {
    size_t plen = strlen(path);
    if (plen < 5 || strcmp(path + plen - 5, ".gguf") != 0) return;
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    char *dir = slash ? strndup(path, dlen ? dlen : 1) : strdup(".");
    if (!dir) return;
    const char *base = slash ? slash + 1 : path;
    size_t blen = strlen(base) - 5; /* without ".gguf" */
    DIR *d = opendir(dir);
    if (!d) {
        free(dir);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        /* "-NNNNN-of-MMMMM.gguf" after the prefix: 20 characters */
        if (strlen(nm) != blen + 20 || strncmp(nm, base, blen) != 0) continue;
        const char *r = nm + blen;
        bool ok = r[0] == '-' && !strncmp(r + 6, "-of-", 4) && !strcmp(r + 15, ".gguf");
        int count = 0;
        for (int i = 0; ok && i < 5; i++) {
            ok = r[1 + i] >= '0' && r[1 + i] <= '9' && r[10 + i] >= '0' && r[10 + i] <= '9';
            count = count * 10 + (r[10 + i] - '0');
        }
        if (!ok || count == n_splits) continue;
        char *full = malloc(strlen(dir) + strlen(nm) + 2);
        if (!full) continue;
        sprintf(full, "%s/%s", dir, nm);
        if (unlink(full) == 0) SK_INFO("removed %s, a split of an earlier write", full);
        free(full);
    }
    closedir(d);
    free(dir);
}

int sk_gguf_write(sk_gguf_writer *w, const char *path, uint64_t max_split_bytes,
                  sk_progress *progress, sk_err *e) {
    uint64_t align = 32;
    int64_t ai = sk_strmap_get(&w->kv_index, "general.alignment", strlen("general.alignment"));
    if (ai >= 0) {
        uint32_t a = 0;
        if (w->kvs[ai].type != SK_GGUF_UINT32)
            return sk_err_set(e, SK_ERR_INVALID, "GGUF writer: general.alignment must be u32");
        memcpy(&a, w->kvs[ai].bytes, 4);
        if (a == 0 || (a & (a - 1)))
            return sk_err_set(e, SK_ERR_INVALID,
                              "GGUF writer: general.alignment = %u is not a power of two", a);
        align = a;
    }
    /* plan the splits */
    int n_splits = 1;
    int64_t *starts = sk_calloc((size_t)w->n_tens + 2, sizeof *starts, e);
    if (!starts) return SK_ERR_NOMEM;
    starts[0] = 0;
    uint64_t total = 0;
    if (max_split_bytes > 0) {
        uint64_t cur = 0;
        for (int64_t i = 0; i < w->n_tens; i++) {
            if (cur > 0 && cur + w->tens[i].nbytes > max_split_bytes) {
                starts[n_splits++] = i;
                cur = 0;
            }
            cur += w->tens[i].nbytes;
        }
    }
    starts[n_splits] = w->n_tens;
    for (int64_t i = 0; i < w->n_tens; i++) total += w->tens[i].nbytes;
    size_t plen = strlen(path);
    int rc = SK_OK;
    if (max_split_bytes > 0 && (plen < 5 || strcmp(path + plen - 5, ".gguf") != 0)) {
        free(starts);
        return sk_err_set(e, SK_ERR_INVALID, "%s: a split GGUF path must end in .gguf", path);
    }
    if (n_splits > 9999) {
        free(starts);
        return sk_err_set(e, SK_ERR_INVALID, "%s: %d splits is too many (raise the split size)",
                          path, n_splits);
    }
    bool split = max_split_bytes > 0 && n_splits > 1;
    char **finals = sk_calloc((size_t)n_splits, sizeof *finals, e);
    char **tmps = sk_calloc((size_t)n_splits, sizeof *tmps, e);
    uint8_t *buf = NULL;
    uint64_t buf_cap = 0;
    int written = 0;
    if (!finals || !tmps) {
        rc = SK_ERR_NOMEM;
        goto done;
    }
    for (int k = 0; k < n_splits; k++) {
        finals[k] =
            split ? sk_gguf_split_path(path, plen - 5, k + 1, n_splits, e) : sk_strdup(path, e);
        if (!finals[k]) {
            rc = SK_ERR_NOMEM;
            goto done;
        }
        size_t tl = strlen(finals[k]) + 24;
        tmps[k] = sk_malloc(tl, e);
        if (!tmps[k]) {
            rc = SK_ERR_NOMEM;
            goto done;
        }
        snprintf(tmps[k], tl, "%s.tmp%d", finals[k], (int)getpid());
    }
    if (progress)
        sk_progress_begin(progress, progress->label ? progress->label : "writing", total, "B");
    for (int k = 0; k < n_splits; k++) {
        rc = write_one(w, tmps[k], starts[k], starts[k + 1], split ? k : -1, n_splits, align, &buf,
                       &buf_cap, progress, e);
        written = k + 1;
        if (rc) goto done;
    }
    if (progress) sk_progress_end(progress);
    for (int k = 0; k < n_splits; k++) {
        if (rename(tmps[k], finals[k]) != 0) {
            rc = sk_err_set(e, SK_ERR_IO, "%s: rename failed: %s", finals[k], strerror(errno));
            goto done;
        }
        free(tmps[k]);
        tmps[k] = NULL;
    }
    sk_fsync_parent_dir(finals[0]); /* make the renames durable */
    remove_stale_splits(path, split ? n_splits : 0);
done:
    if (rc && progress) sk_progress_end(progress);
    for (int k = 0; k < n_splits; k++) {
        if (tmps && tmps[k]) {
            if (k < written) unlink(tmps[k]);
            free(tmps[k]);
        }
        if (finals) free(finals[k]);
    }
    free(tmps);
    free(finals);
    free(buf);
    free(starts);
    return rc;
}
