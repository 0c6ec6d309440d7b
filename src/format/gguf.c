/* gguf.c — GGUF v2/v3 reader: mmap, validation of every count/length/offset, typed
 * metadata access, tensor infos, split files (see sk_gguf.h). */
#include "sk_gguf.h"
#include "fmt_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_SPLITS        9999

typedef struct gguf_kv {
    char *key; /* NUL-terminated copy */
    sk_gguf_vtype type;
    const uint8_t *val; /* the value bytes in the map (for STRING: the u64 length) */
    /* arrays */
    sk_gguf_vtype elem_type;
    uint64_t count;
    const uint8_t *arr;   /* first element */
    const uint8_t **strs; /* STRING arrays: pointer to each element's u64 length */
} gguf_kv;

typedef struct gguf_split {
    char *path;
    sk_mmap map;
    uint32_t version;
    uint64_t alignment;
    uint64_t data_start; /* file offset of the data section */
    int64_t n_kv;
    gguf_kv *kvs;
    int64_t n_tensors;
} gguf_split;

struct sk_gguf {
    char *path;
    int n_splits;
    gguf_split *splits;
    /* metadata of split 0 */
    int64_t n_kv;
    gguf_kv *kvs;
    sk_strmap kv_index;
    /* tensors of all splits */
    int64_t n_tensors;
    sk_gguf_tensor_info *tensors;
    sk_strmap tensor_index;
    uint64_t file_bytes;
};

static const int k_vsize[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
static const char *const k_vname[13] = {"u8",   "i8",  "u16", "i16", "u32", "i32", "f32",
                                        "bool", "str", "arr", "u64", "i64", "f64"};

static const char *vtype_name(int t) {
    return (t >= 0 && t < 13) ? k_vname[t] : "?";
}

/* ---- a bounds-checked cursor over one mapped file ---- */

typedef struct cursor {
    const uint8_t *p;
    uint64_t pos, size;
    const char *path;
    sk_err *e;
} cursor;

static int cur_need(cursor *c, uint64_t n, const char *what) {
    if (n > c->size - c->pos)
        return sk_err_set(c->e, SK_ERR_FORMAT,
                          "%s: truncated file: %s needs %" PRIu64 " bytes at offset %" PRIu64
                          " but only %" PRIu64 " remain",
                          c->path, what, n, c->pos, c->size - c->pos);
    return SK_OK;
}

static int cur_u32(cursor *c, uint32_t *v, const char *what) {
    int rc = cur_need(c, 4, what);
    if (rc) return rc;
    memcpy(v, c->p + c->pos, 4);
    c->pos += 4;
    return SK_OK;
}

static int cur_u64(cursor *c, uint64_t *v, const char *what) {
    int rc = cur_need(c, 8, what);
    if (rc) return rc;
    memcpy(v, c->p + c->pos, 8);
    c->pos += 8;
    return SK_OK;
}

/* A GGUF string: u64 length + bytes. Returns a pointer to the bytes (not NUL-terminated). */
static int cur_str(cursor *c, const char **s, uint64_t *len, const char *what) {
    int rc = cur_u64(c, len, what);
    if (rc) return rc;
    if (*len > c->size - c->pos)
        return sk_err_set(c->e, SK_ERR_FORMAT,
                          "%s: %s: string length %" PRIu64 " at offset %" PRIu64
                          " runs past the end of the file (%" PRIu64 " bytes left)",
                          c->path, what, *len, c->pos - 8, c->size - c->pos);
    *s = (const char *)c->p + c->pos;
    c->pos += *len;
    return SK_OK;
}

/* ---- parsing one file ---- */

static void split_free(gguf_split *s) {
    if (!s) return;
    for (int64_t i = 0; i < s->n_kv; i++) {
        free(s->kvs[i].key);
        free(s->kvs[i].strs);
    }
    free(s->kvs);
    sk_mmap_close(&s->map);
    free(s->path);
    memset(s, 0, sizeof *s);
    s->map.fd = -1;
}

static int parse_value(cursor *c, gguf_kv *kv, const char *key, sk_err *e) {
    char what[160];
    snprintf(what, sizeof what, "value of key \"%s\"", key);
    kv->val = c->p + c->pos;
    if (kv->type == SK_GGUF_STRING) {
        const char *s;
        uint64_t len;
        int rc = cur_str(c, &s, &len, what);
        if (rc) return rc;
        return SK_OK;
    }
    if (kv->type != SK_GGUF_ARRAY) {
        int rc = cur_need(c, (uint64_t)k_vsize[kv->type], what);
        if (rc) return rc;
        c->pos += (uint64_t)k_vsize[kv->type];
        return SK_OK;
    }
    uint32_t et;
    int rc = cur_u32(c, &et, what);
    if (rc) return rc;
    if (et > SK_GGUF_FLOAT64)
        return sk_err_set(e, SK_ERR_FORMAT, "%s: key \"%s\": unknown array element type %u",
                          c->path, key, et);
    if (et == SK_GGUF_ARRAY)
        return sk_err_set(e, SK_ERR_FORMAT, "%s: key \"%s\": nested arrays are not supported",
                          c->path, key);
    uint64_t count;
    rc = cur_u64(c, &count, what);
    if (rc) return rc;
    kv->elem_type = (sk_gguf_vtype)et;
    kv->count = count;
    kv->arr = c->p + c->pos;
    uint64_t left = c->size - c->pos;
    if (et == SK_GGUF_STRING) {
        if (count > left / 8)
            return sk_err_set(e, SK_ERR_FORMAT,
                              "%s: key \"%s\": string array count %" PRIu64
                              " is larger than the %" PRIu64 " bytes left in the file allow",
                              c->path, key, count, left);
        kv->strs = count ? sk_calloc((size_t)count, sizeof *kv->strs, e) : NULL;
        if (count && !kv->strs) return SK_ERR_NOMEM;
        for (uint64_t i = 0; i < count; i++) {
            kv->strs[i] = c->p + c->pos;
            uint64_t len = 0;
            if (c->size - c->pos >= 8) memcpy(&len, c->p + c->pos, 8);
            if (c->size - c->pos < 8 || len > c->size - c->pos - 8)
                return sk_err_set(e, SK_ERR_FORMAT,
                                  "%s: key \"%s\": element %" PRIu64
                                  " of the string array (length %" PRIu64 " at offset %" PRIu64
                                  ") runs past the end of the file",
                                  c->path, key, i, len, c->pos);
            c->pos += 8 + len;
        }
        return SK_OK;
    }
    uint64_t bytes;
    if (!sk_mul_u64_ok(count, (uint64_t)k_vsize[et], &bytes) || bytes > left)
        return sk_err_set(e, SK_ERR_FORMAT,
                          "%s: key \"%s\": array of %" PRIu64 " x %s runs past the end of the "
                          "file (%" PRIu64 " bytes left)",
                          c->path, key, count, vtype_name((int)et), left);
    c->pos += bytes;
    return SK_OK;
}

static int64_t split_find_key(const gguf_split *s, const char *key) {
    for (int64_t i = 0; i < s->n_kv; i++)
        if (!strcmp(s->kvs[i].key, key)) return i;
    return -1;
}

/* Parses header, KVs and tensor infos of one file. Tensor infos are appended to *tens
 * (grown with realloc); the caller validates names across splits. */
static int split_parse(gguf_split *s, int split_idx, bool copy, sk_gguf_tensor_info **tens,
                       int64_t *n_tens, int64_t *cap_tens, sk_err *e) {
    const char *path = s->path;
    int rc = sk_mmap_open_copy(&s->map, path, copy, e);
    if (rc) return rc;
    cursor c = {s->map.data, 0, s->map.size, path, e};
    if (s->map.size < 4 || memcmp(s->map.data, "GGUF", 4) != 0) {
        if (s->map.size >= 4 && !memcmp(s->map.data, "FUGG", 4))
            return sk_err_set(e, SK_ERR_FORMAT, "%s: byte-swapped GGUF magic (big-endian file?)",
                              path);
        return sk_err_set(e, SK_ERR_FORMAT,
                          "%s: not a GGUF file (magic is not \"GGUF\"; file is %" PRIu64 " bytes)",
                          path, s->map.size);
    }
    c.pos = 4;
    uint32_t version;
    if ((rc = cur_u32(&c, &version, "version"))) return rc;
    if (version == 1)
        return sk_err_set(
            e, SK_ERR_UNSUPPORTED,
            "%s: GGUF version 1 is not supported (32-bit counts); re-convert the model", path);
    if ((version & 0xFFFF) == 0 && (version >> 16) != 0)
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "%s: GGUF version field 0x%08x looks big-endian; only little-endian "
                          "files are supported",
                          path, version);
    if (version != 2 && version != 3)
        return sk_err_set(e, SK_ERR_FORMAT, "%s: unknown GGUF version %u (expected 2 or 3)", path,
                          version);
    s->version = version;
    uint64_t n_tensors, n_kv;
    if ((rc = cur_u64(&c, &n_tensors, "tensor count"))) return rc;
    if ((rc = cur_u64(&c, &n_kv, "key/value count"))) return rc;
    uint64_t left = c.size - c.pos;
    /* A KV needs at least 8 (key length) + 4 (type) + 1 bytes; a tensor info at least
     * 8 + 4 + 8 + 4 + 8. */
    if (n_kv > left / 13)
        return sk_err_set(e, SK_ERR_FORMAT,
                          "%s: key/value count %" PRIu64 " is impossible with %" PRIu64
                          " bytes left in the file",
                          path, n_kv, left);
    if (n_tensors > left / 32)
        return sk_err_set(e, SK_ERR_FORMAT,
                          "%s: tensor count %" PRIu64 " is impossible with %" PRIu64
                          " bytes left in the file",
                          path, n_tensors, left);
    s->kvs = n_kv ? sk_calloc((size_t)n_kv, sizeof *s->kvs, e) : NULL;
    if (n_kv && !s->kvs) return SK_ERR_NOMEM;
    sk_strmap keys = {0};
    if ((rc = sk_strmap_init(&keys, (size_t)n_kv, e))) return rc;
    s->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < n_kv; i++) {
        char what[64];
        snprintf(what, sizeof what, "key of key/value pair %" PRIu64, i);
        const char *k;
        uint64_t klen;
        if ((rc = cur_str(&c, &k, &klen, what))) goto fail_keys;
        char pbuf[300];
        if (klen == 0) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: key/value pair %" PRIu64 " has an empty key",
                            path, i);
            goto fail_keys;
        }
        if (!sk_utf8_valid((const uint8_t *)k, (size_t)klen) || memchr(k, 0, (size_t)klen)) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s: key/value pair %" PRIu64 ": key \"%s\" is not valid UTF-8 text",
                            path, i, sk_fmt_printable(k, (size_t)klen, pbuf, sizeof pbuf));
            goto fail_keys;
        }
        gguf_kv *kv = &s->kvs[i];
        kv->key = sk_malloc((size_t)klen + 1, e);
        if (!kv->key) {
            rc = SK_ERR_NOMEM;
            goto fail_keys;
        }
        memcpy(kv->key, k, (size_t)klen);
        kv->key[klen] = 0;
        s->n_kv = (int64_t)i + 1;
        int64_t old;
        if ((rc = sk_strmap_put(&keys, kv->key, (size_t)klen, (int64_t)i, false, &old, e)))
            goto fail_keys;
        if (old >= 0) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: duplicate key \"%s\"", path, kv->key);
            goto fail_keys;
        }
        uint32_t t;
        snprintf(what, sizeof what, "type of key");
        if ((rc = cur_u32(&c, &t, what))) goto fail_keys;
        if (t > SK_GGUF_FLOAT64) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: key \"%s\": unknown value type %u", path,
                            kv->key, t);
            goto fail_keys;
        }
        kv->type = (sk_gguf_vtype)t;
        if ((rc = parse_value(&c, kv, kv->key, e))) goto fail_keys;
    }
    sk_strmap_free(&keys);
    int64_t ai = split_find_key(s, "general.alignment");
    if (ai >= 0) {
        gguf_kv *kv = &s->kvs[ai];
        uint32_t a = 0;
        if (kv->type != SK_GGUF_UINT32)
            return sk_err_set(e, SK_ERR_FORMAT, "%s: general.alignment must be u32, not %s", path,
                              vtype_name(kv->type));
        memcpy(&a, kv->val, 4);
        if (a == 0 || (a & (a - 1)) != 0)
            return sk_err_set(e, SK_ERR_FORMAT, "%s: general.alignment = %u is not a power of two",
                              path, a);
        s->alignment = a;
    }
    /* tensor infos */
    int64_t first = *n_tens;
    for (uint64_t i = 0; i < n_tensors; i++) {
        char what[64];
        snprintf(what, sizeof what, "name of tensor %" PRIu64, i);
        const char *nm;
        uint64_t nlen;
        if ((rc = cur_str(&c, &nm, &nlen, what))) return rc;
        char pbuf[300];
        if (nlen == 0)
            return sk_err_set(e, SK_ERR_FORMAT, "%s: tensor %" PRIu64 " has an empty name", path,
                              i);
        if (!sk_utf8_valid((const uint8_t *)nm, (size_t)nlen) || memchr(nm, 0, (size_t)nlen))
            return sk_err_set(e, SK_ERR_FORMAT,
                              "%s: tensor %" PRIu64 ": name \"%s\" is not valid UTF-8", path, i,
                              sk_fmt_printable(nm, (size_t)nlen, pbuf, sizeof pbuf));
        if (*n_tens == *cap_tens) {
            int64_t nc = *cap_tens ? *cap_tens * 2 : 64;
            sk_gguf_tensor_info *nt = realloc(*tens, (size_t)nc * sizeof **tens);
            if (!nt) return sk_err_set(e, SK_ERR_NOMEM, "out of memory for tensor infos");
            *tens = nt;
            *cap_tens = nc;
        }
        sk_gguf_tensor_info *ti = &(*tens)[*n_tens];
        memset(ti, 0, sizeof *ti);
        char *name = sk_malloc((size_t)nlen + 1, e);
        if (!name) return SK_ERR_NOMEM;
        memcpy(name, nm, (size_t)nlen);
        name[nlen] = 0;
        ti->name = name;
        ti->split = split_idx;
        (*n_tens)++;
        uint32_t nd;
        if ((rc = cur_u32(&c, &nd, "tensor n_dims"))) return rc;
        if (nd < 1 || nd > 4)
            return sk_err_set(e, SK_ERR_FORMAT, "%s: tensor \"%s\": n_dims = %u is outside 1..4",
                              path, name, nd);
        ti->n_dims = (int)nd;
        ti->ne[0] = ti->ne[1] = ti->ne[2] = ti->ne[3] = 1;
        uint64_t nel = 1;
        for (uint32_t d = 0; d < nd; d++) {
            uint64_t v;
            if ((rc = cur_u64(&c, &v, "tensor dimension"))) return rc;
            if (v == 0 || v > (uint64_t)INT64_MAX)
                return sk_err_set(e, SK_ERR_FORMAT,
                                  "%s: tensor \"%s\": dimension %u is %" PRId64
                                  " (must be positive)",
                                  path, name, d, (int64_t)v);
            if (!sk_mul_u64_ok(nel, v, &nel) || nel > (uint64_t)INT64_MAX)
                return sk_err_set(e, SK_ERR_RANGE, "%s: tensor \"%s\": element count overflows",
                                  path, name);
            ti->ne[d] = (int64_t)v;
        }
        uint32_t ty;
        if ((rc = cur_u32(&c, &ty, "tensor type"))) return rc;
        const sk_type_traits *tt = sk_type_info((int)ty);
        if (ty >= SK_TYPE_GGML_COUNT || tt->block_size == 0)
            return sk_err_set(e, SK_ERR_FORMAT, "%s: tensor \"%s\": unknown tensor type %u", path,
                              name, ty);
        ti->type = (int)ty;
        if (ti->ne[0] % tt->block_size != 0)
            return sk_err_set(e, SK_ERR_FORMAT,
                              "%s: tensor \"%s\": ne[0] = %" PRId64
                              " is not a multiple of the %s block size %d",
                              path, name, ti->ne[0], tt->name, tt->block_size);
        size_t rowb;
        uint64_t nb;
        if (!sk_row_size(ti->type, ti->ne[0], &rowb) ||
            !sk_mul_u64_ok((uint64_t)rowb, nel / (uint64_t)ti->ne[0], &nb))
            return sk_err_set(e, SK_ERR_RANGE, "%s: tensor \"%s\": byte size overflows", path,
                              name);
        ti->nbytes = nb;
        if ((rc = cur_u64(&c, &ti->offset, "tensor offset"))) return rc;
        if (ti->offset % s->alignment != 0)
            return sk_err_set(e, SK_ERR_FORMAT,
                              "%s: tensor \"%s\": offset %" PRIu64
                              " is not a multiple of the alignment %" PRIu64,
                              path, name, ti->offset, s->alignment);
    }
    s->n_tensors = (int64_t)n_tensors;
    uint64_t ds;
    if (!sk_align_up_ok(c.pos, s->alignment, &ds))
        return sk_err_set(e, SK_ERR_RANGE, "%s: data section offset overflows", path);
    s->data_start = ds;
    if (n_tensors > 0 && ds > c.size)
        return sk_err_set(e, SK_ERR_FORMAT,
                          "%s: truncated file: the data section would start at %" PRIu64
                          " but the file has %" PRIu64 " bytes",
                          path, ds, c.size);
    /* every tensor inside the file */
    uint64_t data_len = ds <= c.size ? c.size - ds : 0;
    for (int64_t i = first; i < *n_tens; i++) {
        sk_gguf_tensor_info *ti = &(*tens)[i];
        uint64_t end;
        if (!sk_add_u64_ok(ti->offset, ti->nbytes, &end) || end > data_len)
            return sk_err_set(e, SK_ERR_FORMAT,
                              "%s: tensor \"%s\": data [%" PRIu64 ", +%" PRIu64
                              ") lies outside the data section (%" PRIu64 " bytes)",
                              path, ti->name, ti->offset, ti->nbytes, data_len);
        ti->data = s->map.data + ds + ti->offset;
    }
    return SK_OK;
fail_keys:
    sk_strmap_free(&keys);
    return rc;
}

/* ---- overlap check ---- */

static int check_overlaps(sk_gguf *g, sk_err *e) {
    if (g->n_tensors < 2) return SK_OK;
    int64_t *idx = sk_calloc((size_t)g->n_tensors, sizeof *idx, e);
    if (!idx) return SK_ERR_NOMEM;
    for (int64_t i = 0; i < g->n_tensors; i++) idx[i] = i;
    /* Bottom-up merge sort of indices by (split, offset) (qsort has no context pointer). */
    int64_t *tmp = sk_calloc((size_t)g->n_tensors, sizeof *tmp, e);
    if (!tmp) {
        free(idx);
        return SK_ERR_NOMEM;
    }
    int64_t n = g->n_tensors;
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) {
                const sk_gguf_tensor_info *x = &g->tensors[idx[a]], *y = &g->tensors[idx[b]];
                bool take_b =
                    (y->split < x->split) || (y->split == x->split && y->offset < x->offset);
                tmp[k++] = take_b ? idx[b++] : idx[a++];
            }
            while (a < mid) tmp[k++] = idx[a++];
            while (b < hi) tmp[k++] = idx[b++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
    free(tmp);
    int rc = SK_OK;
    for (int64_t i = 1; i < n; i++) {
        const sk_gguf_tensor_info *a = &g->tensors[idx[i - 1]], *b = &g->tensors[idx[i]];
        if (a->split == b->split && a->offset + a->nbytes > b->offset) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s: tensors \"%s\" [%" PRIu64 ", +%" PRIu64 ") and \"%s\" [%" PRIu64
                            ", +%" PRIu64 ") overlap",
                            g->splits[a->split].path, a->name, a->offset, a->nbytes, b->name,
                            b->offset, b->nbytes);
            break;
        }
    }
    free(idx);
    return rc;
}

/* ---- split names ---- */

/* If path ends in "-NNNNN-of-MMMMM.gguf", returns the prefix length and sets no and count. */
static bool parse_split_name(const char *path, size_t *prefix_len, int *no, int *count) {
    size_t n = strlen(path);
    const size_t tail = strlen("-00001-of-00003.gguf");
    if (n < tail) return false;
    const char *t = path + n - tail;
    if (t[0] != '-' || memcmp(t + 6, "-of-", 4) != 0 || strcmp(t + 15, ".gguf") != 0) return false;
    int a = 0, b = 0;
    for (int i = 1; i <= 5; i++) {
        if (t[i] < '0' || t[i] > '9') return false;
        a = a * 10 + (t[i] - '0');
    }
    for (int i = 10; i <= 14; i++) {
        if (t[i] < '0' || t[i] > '9') return false;
        b = b * 10 + (t[i] - '0');
    }
    if (a < 1 || b < 1 || a > b) return false;
    *prefix_len = n - tail;
    *no = a;
    *count = b;
    return true;
}

char *sk_gguf_split_path(const char *prefix, size_t prefix_len, int no, int count, sk_err *e) {
    size_t n = prefix_len + 32;
    char *p = sk_malloc(n, e);
    if (!p) return NULL;
    snprintf(p, n, "%.*s-%05d-of-%05d.gguf", (int)prefix_len, prefix, no, count);
    return p;
}

/* ---- open / close ---- */

void sk_gguf_close(sk_gguf *g) {
    if (!g) return;
    for (int i = 0; i < g->n_splits; i++) split_free(&g->splits[i]);
    free(g->splits);
    for (int64_t i = 0; i < g->n_tensors; i++) free((char *)g->tensors[i].name);
    free(g->tensors);
    sk_strmap_free(&g->kv_index);
    sk_strmap_free(&g->tensor_index);
    free(g->path);
    free(g);
}

static bool split_get_uint(const gguf_split *s, const char *key, uint64_t *out) {
    int64_t i = split_find_key(s, key);
    if (i < 0) return false;
    const gguf_kv *kv = &s->kvs[i];
    switch (kv->type) {
    case SK_GGUF_UINT8:
        *out = kv->val[0];
        return true;
    case SK_GGUF_UINT16: {
        uint16_t v;
        memcpy(&v, kv->val, 2);
        *out = v;
        return true;
    }
    case SK_GGUF_UINT32: {
        uint32_t v;
        memcpy(&v, kv->val, 4);
        *out = v;
        return true;
    }
    case SK_GGUF_UINT64: {
        uint64_t v;
        memcpy(&v, kv->val, 8);
        *out = v;
        return true;
    }
    case SK_GGUF_INT16: {
        int16_t v;
        memcpy(&v, kv->val, 2);
        if (v < 0) return false;
        *out = (uint64_t)v;
        return true;
    }
    case SK_GGUF_INT32: {
        int32_t v;
        memcpy(&v, kv->val, 4);
        if (v < 0) return false;
        *out = (uint64_t)v;
        return true;
    }
    case SK_GGUF_INT64: {
        int64_t v;
        memcpy(&v, kv->val, 8);
        if (v < 0) return false;
        *out = (uint64_t)v;
        return true;
    }
    default:
        return false;
    }
}

int sk_gguf_open(const char *path, sk_gguf **out, sk_err *e) {
    return sk_gguf_open_copy(path, false, out, e);
}

int sk_gguf_open_copy(const char *path, bool copy, sk_gguf **out, sk_err *e) {
    *out = NULL;
    sk_gguf *g = sk_calloc(1, sizeof *g, e);
    if (!g) return SK_ERR_NOMEM;
    int rc;
    sk_gguf_tensor_info *tens = NULL;
    int64_t n_tens = 0, cap_tens = 0;
    g->path = sk_strdup(path, e);
    if (!g->path) {
        rc = SK_ERR_NOMEM;
        goto fail;
    }
    size_t plen;
    int no = 1, count = 1;
    bool is_split = parse_split_name(path, &plen, &no, &count);
    if (!is_split) count = 1;
    if (count > GGUF_MAX_SPLITS) {
        rc = sk_err_set(e, SK_ERR_UNSUPPORTED, "%s: %d splits is more than the %d supported", path,
                        count, GGUF_MAX_SPLITS);
        goto fail;
    }
    g->splits = sk_calloc((size_t)count, sizeof *g->splits, e);
    if (!g->splits) {
        rc = SK_ERR_NOMEM;
        goto fail;
    }
    for (int k = 0; k < count; k++) {
        gguf_split *s = &g->splits[k];
        s->map.fd = -1;
        s->path = is_split ? sk_gguf_split_path(path, plen, k + 1, count, e) : sk_strdup(path, e);
        g->n_splits = k + 1;
        if (!s->path) {
            rc = SK_ERR_NOMEM;
            goto fail;
        }
        rc = split_parse(s, k, copy, &tens, &n_tens, &cap_tens, e);
        g->tensors = tens;
        g->n_tensors = n_tens;
        if (rc) goto fail;
        g->file_bytes += s->map.size;
        if (is_split) {
            uint64_t sno, scount;
            if (split_get_uint(s, "split.no", &sno) && sno != (uint64_t)k) {
                rc = sk_err_set(e, SK_ERR_FORMAT, "%s: split.no is %" PRIu64 ", expected %d",
                                s->path, sno, k);
                goto fail;
            }
            if (split_get_uint(s, "split.count", &scount) && scount != (uint64_t)count) {
                rc = sk_err_set(e, SK_ERR_FORMAT,
                                "%s: split.count is %" PRIu64 " but the file name says %d", s->path,
                                scount, count);
                goto fail;
            }
        }
    }
    if (!is_split) {
        uint64_t scount;
        if (split_get_uint(&g->splits[0], "split.count", &scount) && scount > 1) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s: split.count is %" PRIu64
                            " but the file name does not follow <prefix>-NNNNN-of-NNNNN.gguf, "
                            "so the other splits cannot be found",
                            path, scount);
            goto fail;
        }
    }
    /* metadata: split 0 */
    g->n_kv = g->splits[0].n_kv;
    g->kvs = g->splits[0].kvs;
    if ((rc = sk_strmap_init(&g->kv_index, (size_t)g->n_kv, e))) goto fail;
    for (int64_t i = 0; i < g->n_kv; i++)
        if ((rc = sk_strmap_put(&g->kv_index, g->kvs[i].key, strlen(g->kvs[i].key), i, false, NULL,
                                e)))
            goto fail;
    if (is_split) {
        uint64_t total;
        if (split_get_uint(&g->splits[0], "split.tensors.count", &total) &&
            total != (uint64_t)n_tens) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s: split.tensors.count is %" PRIu64 " but the %d splits hold %" PRId64
                            " tensors",
                            g->splits[0].path, total, count, n_tens);
            goto fail;
        }
    }
    if ((rc = sk_strmap_init(&g->tensor_index, (size_t)n_tens, e))) goto fail;
    for (int64_t i = 0; i < n_tens; i++) {
        int64_t old;
        if ((rc = sk_strmap_put(&g->tensor_index, tens[i].name, strlen(tens[i].name), i, false,
                                &old, e)))
            goto fail;
        if (old >= 0) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: duplicate tensor name \"%s\"",
                            g->splits[tens[i].split].path, tens[i].name);
            goto fail;
        }
    }
    if ((rc = check_overlaps(g, e))) goto fail;
    *out = g;
    return SK_OK;
fail:
    g->tensors = tens;
    g->n_tensors = n_tens;
    g->kvs = NULL;
    sk_gguf_close(g);
    return rc;
}

/* ---- accessors ---- */

const char *sk_gguf_path(const sk_gguf *g) {
    return g->path;
}
uint32_t sk_gguf_version(const sk_gguf *g) {
    return g->splits[0].version;
}
uint64_t sk_gguf_alignment(const sk_gguf *g) {
    return g->splits[0].alignment;
}
int sk_gguf_n_splits(const sk_gguf *g) {
    return g->n_splits;
}
uint64_t sk_gguf_file_bytes(const sk_gguf *g) {
    return g->file_bytes;
}
int64_t sk_gguf_n_kv(const sk_gguf *g) {
    return g->n_kv;
}

const char *sk_gguf_kv_key(const sk_gguf *g, int64_t i) {
    return (i >= 0 && i < g->n_kv) ? g->kvs[i].key : NULL;
}

sk_gguf_vtype sk_gguf_kv_type(const sk_gguf *g, int64_t i) {
    return (i >= 0 && i < g->n_kv) ? g->kvs[i].type : (sk_gguf_vtype)-1;
}

int64_t sk_gguf_find_key(const sk_gguf *g, const char *key) {
    return sk_strmap_get(&g->kv_index, key, strlen(key));
}

static const gguf_kv *find_kv(const sk_gguf *g, const char *key) {
    int64_t i = sk_gguf_find_key(g, key);
    return i < 0 ? NULL : &g->kvs[i];
}

/* Reads an integer value as sign + magnitude; false if not an integer type. */
static bool kv_int(const gguf_kv *kv, bool *neg, uint64_t *mag) {
    *neg = false;
    switch (kv->type) {
    case SK_GGUF_UINT8:
        *mag = kv->val[0];
        return true;
    case SK_GGUF_INT8: {
        int8_t v;
        memcpy(&v, kv->val, 1);
        *neg = v < 0;
        *mag = (uint64_t)(v < 0 ? -(int64_t)v : v);
        return true;
    }
    case SK_GGUF_UINT16: {
        uint16_t v;
        memcpy(&v, kv->val, 2);
        *mag = v;
        return true;
    }
    case SK_GGUF_INT16: {
        int16_t v;
        memcpy(&v, kv->val, 2);
        *neg = v < 0;
        *mag = (uint64_t)(v < 0 ? -(int64_t)v : v);
        return true;
    }
    case SK_GGUF_UINT32: {
        uint32_t v;
        memcpy(&v, kv->val, 4);
        *mag = v;
        return true;
    }
    case SK_GGUF_INT32: {
        int32_t v;
        memcpy(&v, kv->val, 4);
        *neg = v < 0;
        *mag = (uint64_t)(v < 0 ? -(int64_t)v : v);
        return true;
    }
    case SK_GGUF_UINT64: {
        uint64_t v;
        memcpy(&v, kv->val, 8);
        *mag = v;
        return true;
    }
    case SK_GGUF_INT64: {
        int64_t v;
        memcpy(&v, kv->val, 8);
        *neg = v < 0;
        *mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        return true;
    }
    default:
        return false;
    }
}

bool sk_gguf_get_u32(const sk_gguf *g, const char *key, uint32_t *out) {
    const gguf_kv *kv = find_kv(g, key);
    bool neg;
    uint64_t m;
    if (!kv || !kv_int(kv, &neg, &m) || neg || m > UINT32_MAX) return false;
    *out = (uint32_t)m;
    return true;
}

bool sk_gguf_get_i64(const sk_gguf *g, const char *key, int64_t *out) {
    const gguf_kv *kv = find_kv(g, key);
    bool neg;
    uint64_t m;
    if (!kv || !kv_int(kv, &neg, &m)) return false;
    if (!neg) {
        if (m > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)m;
    } else {
        if (m > (uint64_t)INT64_MAX + 1) return false;
        *out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
    }
    return true;
}

bool sk_gguf_get_f32(const sk_gguf *g, const char *key, float *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv) return false;
    if (kv->type == SK_GGUF_FLOAT32) {
        memcpy(out, kv->val, 4);
        return true;
    }
    if (kv->type == SK_GGUF_FLOAT64) {
        double d;
        memcpy(&d, kv->val, 8);
        *out = (float)d;
        return true;
    }
    bool neg;
    uint64_t m;
    if (!kv_int(kv, &neg, &m)) return false;
    *out = neg ? -(float)m : (float)m;
    return true;
}

bool sk_gguf_get_bool(const sk_gguf *g, const char *key, bool *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != SK_GGUF_BOOL) return false;
    *out = kv->val[0] != 0;
    return true;
}

bool sk_gguf_get_str(const sk_gguf *g, const char *key, const char **s, size_t *len) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != SK_GGUF_STRING) return false;
    uint64_t n;
    memcpy(&n, kv->val, 8);
    *s = (const char *)kv->val + 8;
    *len = (size_t)n;
    return true;
}

bool sk_gguf_get_arr(const sk_gguf *g, const char *key, sk_gguf_vtype *elem_type, uint64_t *count,
                     const void **data) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != SK_GGUF_ARRAY) return false;
    if (elem_type) *elem_type = kv->elem_type;
    if (count) *count = kv->count;
    if (data) *data = kv->arr;
    return true;
}

bool sk_gguf_get_arr_str(const sk_gguf *g, const char *key, uint64_t i, const char **s,
                         size_t *len) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != SK_GGUF_ARRAY || kv->elem_type != SK_GGUF_STRING || i >= kv->count)
        return false;
    uint64_t n;
    memcpy(&n, kv->strs[i], 8);
    *s = (const char *)kv->strs[i] + 8;
    *len = (size_t)n;
    return true;
}

/* Appends text to buf (always NUL-terminated, truncated). */
static void app(char *buf, size_t n, size_t *k, const char *s, size_t len) {
    for (size_t i = 0; i < len && *k + 1 < n; i++) buf[(*k)++] = s[i];
    if (n) buf[*k < n ? *k : n - 1] = 0;
}

static void scalar_text(sk_gguf_vtype t, const uint8_t *p, char *tmp, size_t tn) {
    switch (t) {
    case SK_GGUF_UINT8:
        snprintf(tmp, tn, "%u", p[0]);
        break;
    case SK_GGUF_INT8: {
        int8_t v;
        memcpy(&v, p, 1);
        snprintf(tmp, tn, "%d", v);
        break;
    }
    case SK_GGUF_UINT16: {
        uint16_t v;
        memcpy(&v, p, 2);
        snprintf(tmp, tn, "%u", v);
        break;
    }
    case SK_GGUF_INT16: {
        int16_t v;
        memcpy(&v, p, 2);
        snprintf(tmp, tn, "%d", v);
        break;
    }
    case SK_GGUF_UINT32: {
        uint32_t v;
        memcpy(&v, p, 4);
        snprintf(tmp, tn, "%" PRIu32, v);
        break;
    }
    case SK_GGUF_INT32: {
        int32_t v;
        memcpy(&v, p, 4);
        snprintf(tmp, tn, "%" PRId32, v);
        break;
    }
    case SK_GGUF_UINT64: {
        uint64_t v;
        memcpy(&v, p, 8);
        snprintf(tmp, tn, "%" PRIu64, v);
        break;
    }
    case SK_GGUF_INT64: {
        int64_t v;
        memcpy(&v, p, 8);
        snprintf(tmp, tn, "%" PRId64, v);
        break;
    }
    case SK_GGUF_FLOAT32: {
        float v;
        memcpy(&v, p, 4);
        snprintf(tmp, tn, "%.9g", (double)v);
        break;
    }
    case SK_GGUF_FLOAT64: {
        double v;
        memcpy(&v, p, 8);
        snprintf(tmp, tn, "%.17g", v);
        break;
    }
    case SK_GGUF_BOOL:
        snprintf(tmp, tn, "%s", p[0] ? "true" : "false");
        break;
    default:
        snprintf(tmp, tn, "?");
        break;
    }
}

int sk_gguf_kv_to_string(const sk_gguf *g, int64_t i, char *buf, size_t n) {
    if (!buf || n == 0) return SK_ERR_INVALID;
    buf[0] = 0;
    if (i < 0 || i >= g->n_kv) return SK_ERR_RANGE;
    const gguf_kv *kv = &g->kvs[i];
    size_t k = 0;
    char tmp[64];
    if (kv->type == SK_GGUF_STRING) {
        uint64_t len;
        memcpy(&len, kv->val, 8);
        const char *s = (const char *)kv->val + 8;
        app(buf, n, &k, "\"", 1);
        for (uint64_t j = 0; j < len && k + 2 < n; j++) {
            unsigned char c = (unsigned char)s[j];
            if (c == '\n')
                app(buf, n, &k, "\\n", 2);
            else if (c == '\t')
                app(buf, n, &k, "\\t", 2);
            else if (c == '"')
                app(buf, n, &k, "\\\"", 2);
            else if (c == '\\')
                app(buf, n, &k, "\\\\", 2);
            else if (c < 0x20) {
                snprintf(tmp, sizeof tmp, "\\x%02x", c);
                app(buf, n, &k, tmp, strlen(tmp));
            } else
                app(buf, n, &k, (const char *)&s[j], 1);
        }
        app(buf, n, &k, "\"", 1);
        return SK_OK;
    }
    if (kv->type == SK_GGUF_ARRAY) {
        snprintf(tmp, sizeof tmp, "[%" PRIu64 " x %s]", kv->count, vtype_name(kv->elem_type));
        app(buf, n, &k, tmp, strlen(tmp));
        return SK_OK;
    }
    scalar_text(kv->type, kv->val, tmp, sizeof tmp);
    app(buf, n, &k, tmp, strlen(tmp));
    return SK_OK;
}

/* ---- tensors ---- */

int64_t sk_gguf_n_tensors(const sk_gguf *g) {
    return g->n_tensors;
}

const sk_gguf_tensor_info *sk_gguf_tensor(const sk_gguf *g, int64_t i) {
    return (i >= 0 && i < g->n_tensors) ? &g->tensors[i] : NULL;
}

int64_t sk_gguf_find_tensor(const sk_gguf *g, const char *name) {
    return sk_strmap_get(&g->tensor_index, name, strlen(name));
}

sk_tensor sk_gguf_tensor_view(const sk_gguf *g, int64_t i) {
    sk_tensor t;
    memset(&t, 0, sizeof t);
    const sk_gguf_tensor_info *ti = sk_gguf_tensor(g, i);
    if (!ti) return t;
    t.name = ti->name;
    t.type = ti->type;
    t.n_dims = ti->n_dims;
    for (int d = 0; d < 4; d++) t.ne[d] = ti->ne[d];
    t.data = (void *)ti->data;
    t.nbytes = (size_t)ti->nbytes;
    t.scale = NULL;
    return t;
}

/* Internal for the writer's copy_kv: raw access to a KV. */
bool sk_gguf_kv_raw(const sk_gguf *g, int64_t i, const uint8_t **val, sk_gguf_vtype *elem_type,
                    uint64_t *count) {
    if (i < 0 || i >= g->n_kv) return false;
    *val = g->kvs[i].val;
    *elem_type = g->kvs[i].elem_type;
    *count = g->kvs[i].count;
    return true;
}
