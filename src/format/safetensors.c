/* safetensors.c — Hugging Face safetensors reader (single, sharded via index or folder) and
 * writer (see sk_safetensors.h). */
#include "sk_safetensors.h"

#include "fmt_internal.h"
#include "sk_json.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER (100ull << 20) /* the safetensors format caps the header at 100 MB */
#define ST_MAX_INDEX  (256ull << 20)

static const char *const k_dtype_names[SK_ST_DTYPE_COUNT] = {
    "BOOL", "U8",  "I8",  "I16", "U16", "F16",     "BF16",   "I32",
    "U32",  "F32", "F64", "I64", "U64", "F8_E4M3", "F8_E5M2"};
static const int k_dtype_size[SK_ST_DTYPE_COUNT] = {1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8, 1, 1};

const char *sk_st_dtype_name(sk_st_dtype d) {
    return ((int)d >= 0 && d < SK_ST_DTYPE_COUNT) ? k_dtype_names[d] : "?";
}

int sk_st_dtype_size(sk_st_dtype d) {
    return ((int)d >= 0 && d < SK_ST_DTYPE_COUNT) ? k_dtype_size[d] : 0;
}

static int dtype_from_name(const char *s) {
    for (int i = 0; i < SK_ST_DTYPE_COUNT; i++)
        if (!strcmp(s, k_dtype_names[i])) return i;
    return -1;
}

typedef struct st_file {
    char *path;
    sk_mmap map;
    uint64_t data_start;
} st_file;

struct sk_st {
    int n_files;
    st_file *files;
    sk_st_tensor *tensors;
    int64_t n, cap;
    sk_strmap index;
    json_t *metadata; /* __metadata__ of shard 0 (a reference), or NULL */
    void **owned;     /* aligned copies of unaligned FP8 scale grids */
    int64_t n_owned;
    uint64_t file_bytes;
    bool copy; /* read the shards into memory instead of mapping them */
};

void sk_st_close(sk_st *st) {
    if (!st) return;
    for (int64_t i = 0; i < st->n; i++) free((char *)st->tensors[i].name);
    free(st->tensors);
    for (int i = 0; i < st->n_files; i++) {
        sk_mmap_close(&st->files[i].map);
        free(st->files[i].path);
    }
    free(st->files);
    for (int64_t i = 0; i < st->n_owned; i++) free(st->owned[i]);
    free(st->owned);
    sk_strmap_free(&st->index);
    if (st->metadata) json_decref(st->metadata);
    free(st);
}

static int add_file(sk_st *st, const char *path, sk_err *e) {
    st_file *nf = realloc(st->files, (size_t)(st->n_files + 1) * sizeof *nf);
    if (!nf) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    st->files = nf;
    st_file *f = &st->files[st->n_files];
    memset(f, 0, sizeof *f);
    f->map.fd = -1;
    f->path = sk_strdup(path, e);
    if (!f->path) return SK_ERR_NOMEM;
    st->n_files++;
    return SK_OK;
}

typedef struct span {
    uint64_t b, e;
    int64_t idx;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->b != y->b) return x->b < y->b ? -1 : 1;
    if (x->e != y->e) return x->e < y->e ? -1 : 1;
    return 0;
}

static int get_u64_elem(const json_t *arr, size_t i, uint64_t *out) {
    const json_t *v = json_array_get(arr, i);
    if (!v || !json_is_integer(v) || json_integer_value(v) < 0) return -1;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* Parses file k: header, entries (appended to st->tensors), overlap checks. */
static int parse_file(sk_st *st, int k, sk_err *e) {
    st_file *f = &st->files[k];
    const char *path = f->path;
    int rc = sk_mmap_open_copy(&f->map, path, st->copy, e);
    if (rc) return rc;
    st->file_bytes += f->map.size;
    if (f->map.size < 8)
        return sk_err_set(e, SK_ERR_FORMAT,
                          "%s: truncated safetensors file (%" PRIu64 " bytes, the header length "
                          "alone needs 8)",
                          path, f->map.size);
    uint64_t n;
    memcpy(&n, f->map.data, 8);
    if (n > f->map.size - 8)
        return sk_err_set(e, SK_ERR_FORMAT,
                          "%s: header length %" PRIu64 " exceeds the file size %" PRIu64
                          " (truncated or not a safetensors file)",
                          path, n, f->map.size);
    if (n > ST_MAX_HEADER)
        return sk_err_set(e, SK_ERR_FORMAT, "%s: header length %" PRIu64 " exceeds 100 MB", path,
                          n);
    if (n < 2 || f->map.data[8] != '{')
        return sk_err_set(e, SK_ERR_FORMAT, "%s: header is not a JSON object", path);
    f->data_start = 8 + n;
    uint64_t data_len = f->map.size - f->data_start;
    char what[600];
    snprintf(what, sizeof what, "%s: header", path);
    json_t *h = NULL;
    rc = sk_json_load_buf((const char *)f->map.data + 8, (size_t)n, what, &h, e);
    if (rc) return rc;
    if (!json_is_object(h)) {
        json_decref(h);
        return sk_err_set(e, SK_ERR_FORMAT, "%s: header is not a JSON object", path);
    }
    size_t n_ent = json_object_size(h);
    span *sp = sk_calloc(n_ent ? n_ent : 1, sizeof *sp, e);
    if (!sp) {
        json_decref(h);
        return SK_ERR_NOMEM;
    }
    size_t n_sp = 0;
    const char *key;
    json_t *val;
    json_object_foreach(h, key, val) {
        char pn[300];
        sk_fmt_printable(key, strlen(key), pn, sizeof pn);
        if (!strcmp(key, "__metadata__")) {
            if (!json_is_object(val)) {
                rc = sk_err_set(e, SK_ERR_FORMAT, "%s: __metadata__ is not an object", path);
                goto done;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    rc = sk_err_set(e, SK_ERR_FORMAT,
                                    "%s: __metadata__ value of \"%s\" is not a string", path, mk);
                    goto done;
                }
            }
            if (k == 0 && !st->metadata) st->metadata = json_incref(val);
            continue;
        }
        if (!key[0]) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: tensor with an empty name", path);
            goto done;
        }
        if (!json_is_object(val)) {
            rc =
                sk_err_set(e, SK_ERR_FORMAT, "%s: tensor \"%s\": entry is not an object", path, pn);
            goto done;
        }
        json_t *jd = json_object_get(val, "dtype"), *js = json_object_get(val, "shape"),
               *jo = json_object_get(val, "data_offsets");
        if (!jd || !json_is_string(jd)) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s: tensor \"%s\": \"dtype\" missing or not a string", path, pn);
            goto done;
        }
        int dt = dtype_from_name(json_string_value(jd));
        if (dt < 0) {
            char pd[300];
            const char *ds = json_string_value(jd);
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: tensor \"%s\": unknown dtype \"%s\"", path, pn,
                            sk_fmt_printable(ds, strlen(ds), pd, sizeof pd));
            goto done;
        }
        if (!js || !json_is_array(js)) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s: tensor \"%s\": \"shape\" missing or not an array", path, pn);
            goto done;
        }
        size_t nd = json_array_size(js);
        if (nd > SK_ST_MAX_DIMS) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: tensor \"%s\": %zu dimensions (at most %d)",
                            path, pn, nd, SK_ST_MAX_DIMS);
            goto done;
        }
        if (!jo || !json_is_array(jo) || json_array_size(jo) != 2) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s: tensor \"%s\": \"data_offsets\" missing or not [begin, end]", path,
                            pn);
            goto done;
        }
        sk_st_tensor t;
        memset(&t, 0, sizeof t);
        t.dtype = (sk_st_dtype)dt;
        t.n_dims = (int)nd;
        t.file = k;
        uint64_t nel = 1;
        for (size_t d = 0; d < nd; d++) {
            uint64_t v;
            if (get_u64_elem(js, d, &v) || v > (uint64_t)INT64_MAX) {
                rc = sk_err_set(e, SK_ERR_FORMAT,
                                "%s: tensor \"%s\": shape[%zu] is not a non-negative integer", path,
                                pn, d);
                goto done;
            }
            t.shape[d] = (int64_t)v;
            if (!sk_mul_u64_ok(nel, v, &nel)) {
                rc = sk_err_set(e, SK_ERR_RANGE, "%s: tensor \"%s\": element count overflows", path,
                                pn);
                goto done;
            }
        }
        uint64_t ob, oe, nbytes;
        if (get_u64_elem(jo, 0, &ob) || get_u64_elem(jo, 1, &oe)) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s: tensor \"%s\": data_offsets are not non-negative integers", path,
                            pn);
            goto done;
        }
        if (ob > oe || oe > data_len) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s: tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64
                            "] lie outside the data buffer (%" PRIu64 " bytes)",
                            path, pn, ob, oe, data_len);
            goto done;
        }
        if (!sk_mul_u64_ok(nel, (uint64_t)k_dtype_size[dt], &nbytes) || nbytes != oe - ob) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s: tensor \"%s\": shape × %s size = %" PRIu64
                            " elements but data_offsets span %" PRIu64 " bytes",
                            path, pn, k_dtype_names[dt], nel, oe - ob);
            goto done;
        }
        t.nbytes = nbytes;
        t.data = f->map.data + f->data_start + ob;
        int64_t old;
        if (st->n == st->cap) {
            int64_t nc = st->cap ? st->cap * 2 : 256;
            sk_st_tensor *nt = realloc(st->tensors, (size_t)nc * sizeof *nt);
            if (!nt) {
                rc = sk_err_set(e, SK_ERR_NOMEM, "out of memory");
                goto done;
            }
            st->tensors = nt;
            st->cap = nc;
        }
        t.name = sk_strdup(key, e);
        if (!t.name) {
            rc = SK_ERR_NOMEM;
            goto done;
        }
        st->tensors[st->n] = t;
        rc = sk_strmap_put(&st->index, t.name, strlen(t.name), st->n, false, &old, e);
        st->n++;
        if (rc) goto done;
        if (old >= 0) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: tensor \"%s\" also appears in %s", path, pn,
                            st->files[st->tensors[old].file].path);
            goto done;
        }
        sp[n_sp].b = ob;
        sp[n_sp].e = oe;
        sp[n_sp].idx = st->n - 1;
        n_sp++;
    }
    qsort(sp, n_sp, sizeof *sp, cmp_span);
    for (size_t i = 1; i < n_sp; i++) {
        if (sp[i].b == sp[i].e || sp[i - 1].b == sp[i - 1].e) continue; /* empty tensors */
        if (sp[i - 1].e > sp[i].b) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s: tensors \"%s\" [%" PRIu64 ", %" PRIu64 ") and \"%s\" [%" PRIu64
                            ", %" PRIu64 ") overlap",
                            path, st->tensors[sp[i - 1].idx].name, sp[i - 1].b, sp[i - 1].e,
                            st->tensors[sp[i].idx].name, sp[i].b, sp[i].e);
            goto done;
        }
    }
done:
    free(sp);
    json_decref(h);
    return rc;
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static char *dir_of(const char *path, sk_err *e) {
    const char *sl = strrchr(path, '/');
    if (!sl) return sk_strdup(".", e);
    size_t n = (size_t)(sl - path);
    if (n == 0) n = 1;
    char *d = sk_malloc(n + 1, e);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = 0;
    return d;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds the shard files named by an index (in sorted order) and checks the weight map after
 * parsing. */
static int open_index(sk_st *st, const char *index_path, sk_err *e) {
    json_t *j = NULL;
    int rc = sk_json_load_file(index_path, ST_MAX_INDEX, &j, e);
    if (rc) return rc;
    char *dir = NULL;
    char **names = NULL;
    size_t n_names = 0;
    json_t *wm = json_is_object(j) ? json_object_get(j, "weight_map") : NULL;
    if (!wm || !json_is_object(wm)) {
        rc =
            sk_err_set(e, SK_ERR_FORMAT, "%s: \"weight_map\" missing or not an object", index_path);
        goto done;
    }
    dir = dir_of(index_path, e);
    names = sk_calloc(json_object_size(wm) + 1, sizeof *names, e);
    if (!dir || !names) {
        rc = SK_ERR_NOMEM;
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(wm, key, val) {
        if (!json_is_string(val)) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: weight_map[\"%s\"] is not a file name",
                            index_path, key);
            goto done;
        }
        const char *fn = json_string_value(val);
        if (!fn[0] || strchr(fn, '/') || !strcmp(fn, "..") || !strcmp(fn, ".")) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s: weight_map[\"%s\"] = \"%s\" is not a plain file name", index_path,
                            key, fn);
            goto done;
        }
        names[n_names++] = (char *)fn;
    }
    if (n_names == 0) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "%s: weight_map is empty", index_path);
        goto done;
    }
    qsort(names, n_names, sizeof *names, cmp_str);
    for (size_t i = 0; i < n_names; i++) {
        if (i && !strcmp(names[i], names[i - 1])) continue;
        char *p = sk_path_join(dir, names[i], e);
        if (!p) {
            rc = SK_ERR_NOMEM;
            goto done;
        }
        rc = add_file(st, p, e);
        free(p);
        if (rc) goto done;
        if ((rc = parse_file(st, st->n_files - 1, e))) goto done;
    }
    /* every weight_map entry must be in the file it names */
    json_object_foreach(wm, key, val) {
        int64_t ti = sk_strmap_get(&st->index, key, strlen(key));
        const char *fn = json_string_value(val);
        if (ti < 0) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s: tensor \"%s\" is listed for %s but not found there", index_path,
                            key, fn);
            goto done;
        }
        const char *actual = st->files[st->tensors[ti].file].path;
        const char *base = strrchr(actual, '/');
        base = base ? base + 1 : actual;
        if (strcmp(base, fn) != 0) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: tensor \"%s\" is listed for %s but found in %s",
                            index_path, key, fn, base);
            goto done;
        }
    }
done:
    free(names);
    free(dir);
    json_decref(j);
    return rc;
}

/* Folder without index: model.safetensors, else every *.safetensors file (sorted). */
static int open_dir(sk_st *st, const char *dir, sk_err *e) {
    char *p = sk_path_join(dir, "model.safetensors.index.json", e);
    if (!p) return SK_ERR_NOMEM;
    if (sk_file_exists(p)) {
        int rc = open_index(st, p, e);
        free(p);
        return rc;
    }
    free(p);
    DIR *d = opendir(dir);
    if (!d) return sk_err_set(e, SK_ERR_IO, "%s: cannot open folder", dir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = SK_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !ends_with(de->d_name, ".safetensors")) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn) {
                rc = sk_err_set(e, SK_ERR_NOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        names[n] = sk_strdup(de->d_name, e);
        if (!names[n]) {
            rc = SK_ERR_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (!rc && n == 0)
        rc = sk_err_set(e, SK_ERR_NOTFOUND, "%s: no .safetensors files in this folder", dir);
    if (!rc) {
        qsort(names, n, sizeof *names, cmp_str);
        for (size_t i = 0; i < n && !rc; i++) {
            char *fp = sk_path_join(dir, names[i], e);
            if (!fp) {
                rc = SK_ERR_NOMEM;
                break;
            }
            rc = add_file(st, fp, e);
            free(fp);
            if (!rc) rc = parse_file(st, st->n_files - 1, e);
        }
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

/* Makes FP8 scale grids 4-byte aligned (copies the few that are not). */
static int align_scales(sk_st *st, sk_err *e) {
    for (int64_t i = 0; i < st->n; i++) {
        sk_st_tensor *t = &st->tensors[i];
        if (t->dtype != SK_ST_F32 || !ends_with(t->name, "_scale_inv")) continue;
        if (((uintptr_t)t->data & 3) == 0 || t->nbytes == 0) continue;
        void **no = realloc(st->owned, (size_t)(st->n_owned + 1) * sizeof *no);
        if (!no) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
        st->owned = no;
        void *c = sk_malloc((size_t)t->nbytes, e);
        if (!c) return SK_ERR_NOMEM;
        memcpy(c, t->data, (size_t)t->nbytes);
        st->owned[st->n_owned++] = c;
        t->data = c;
    }
    return SK_OK;
}

int sk_st_open(const char *path, sk_st **out, sk_err *e) {
    return sk_st_open_copy(path, false, out, e);
}

int sk_st_open_copy(const char *path, bool copy, sk_st **out, sk_err *e) {
    *out = NULL;
    sk_st *st = sk_calloc(1, sizeof *st, e);
    if (!st) return SK_ERR_NOMEM;
    st->copy = copy;
    int rc = sk_strmap_init(&st->index, 64, e);
    if (rc) goto fail;
    if (sk_is_dir(path)) {
        rc = open_dir(st, path, e);
    } else if (ends_with(path, ".json")) {
        rc = open_index(st, path, e);
    } else {
        /* a shard of an indexed set opens the whole set */
        char *dir = dir_of(path, e);
        char *idx = dir ? sk_path_join(dir, "model.safetensors.index.json", e) : NULL;
        bool use_index = false;
        if (idx && sk_file_exists(idx)) {
            json_t *j = NULL;
            sk_err tmp;
            if (sk_json_load_file(idx, ST_MAX_INDEX, &j, &tmp) == SK_OK) {
                const char *base = strrchr(path, '/');
                base = base ? base + 1 : path;
                json_t *wm = json_object_get(j, "weight_map"), *v;
                const char *k;
                if (json_is_object(wm)) json_object_foreach(wm, k, v) {
                        if (json_is_string(v) && !strcmp(json_string_value(v), base)) {
                            use_index = true;
                            break;
                        }
                    }
                json_decref(j);
            }
        }
        if (use_index) {
            rc = open_index(st, idx, e);
        } else {
            rc = add_file(st, path, e);
            if (!rc) rc = parse_file(st, 0, e);
        }
        free(idx);
        free(dir);
    }
    if (rc) goto fail;
    if ((rc = align_scales(st, e))) goto fail;
    *out = st;
    return SK_OK;
fail:
    sk_st_close(st);
    return rc;
}

int64_t sk_st_n_tensors(const sk_st *st) {
    return st->n;
}

const sk_st_tensor *sk_st_tensor_at(const sk_st *st, int64_t i) {
    return (i >= 0 && i < st->n) ? &st->tensors[i] : NULL;
}

int64_t sk_st_find(const sk_st *st, const char *name) {
    return sk_strmap_get(&st->index, name, strlen(name));
}

const char *sk_st_metadata(const sk_st *st, const char *key) {
    if (!st->metadata) return NULL;
    json_t *v = json_object_get(st->metadata, key);
    return v && json_is_string(v) ? json_string_value(v) : NULL;
}

uint64_t sk_st_file_bytes(const sk_st *st) {
    return st->file_bytes;
}

int sk_st_tensor_view(const sk_st *st, int64_t i, sk_tensor *out, sk_err *e) {
    memset(out, 0, sizeof *out);
    const sk_st_tensor *t = sk_st_tensor_at(st, i);
    if (!t)
        return sk_err_set(e, SK_ERR_RANGE, "safetensors: tensor index %" PRId64 " out of range", i);
    int type;
    switch (t->dtype) {
    case SK_ST_F32:
        type = SK_TYPE_F32;
        break;
    case SK_ST_F16:
        type = SK_TYPE_F16;
        break;
    case SK_ST_BF16:
        type = SK_TYPE_BF16;
        break;
    case SK_ST_F8_E4M3:
        type = SK_TYPE_F8_E4M3;
        break;
    default:
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "%s: tensor \"%s\": dtype %s has no tensor view",
                          st->files[t->file].path, t->name, sk_st_dtype_name(t->dtype));
    }
    if (t->n_dims > SK_MAX_DIMS)
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "%s: tensor \"%s\": %d dimensions (at most %d)",
                          st->files[t->file].path, t->name, t->n_dims, SK_MAX_DIMS);
    out->name = t->name;
    out->type = type;
    out->n_dims = t->n_dims ? t->n_dims : 1;
    for (int d = 0; d < SK_MAX_DIMS; d++) out->ne[d] = 1;
    for (int d = 0; d < t->n_dims; d++) {
        if (t->shape[t->n_dims - 1 - d] == 0)
            return sk_err_set(e, SK_ERR_UNSUPPORTED, "%s: tensor \"%s\" is empty",
                              st->files[t->file].path, t->name);
        out->ne[d] = t->shape[t->n_dims - 1 - d];
    }
    out->data = (void *)t->data;
    out->nbytes = (size_t)t->nbytes;
    if (type == SK_TYPE_F8_E4M3) {
        char sn[1024];
        int w = snprintf(sn, sizeof sn, "%s_scale_inv", t->name);
        if (w < 0 || (size_t)w >= sizeof sn)
            return sk_err_set(e, SK_ERR_RANGE, "tensor name too long: %s", t->name);
        int64_t si = sk_st_find(st, sn);
        if (si < 0)
            return sk_err_set(e, SK_ERR_FORMAT, "%s: FP8 tensor \"%s\" has no \"%s\"",
                              st->files[t->file].path, t->name, sn);
        const sk_st_tensor *s = &st->tensors[si];
        int64_t rows = sk_tensor_nrows(out), cols = out->ne[0];
        int64_t sr = (rows + 127) / 128, sc = (cols + 127) / 128;
        bool ok = s->dtype == SK_ST_F32 && t->n_dims == 2 && s->n_dims == 2 && s->shape[0] == sr &&
                  s->shape[1] == sc;
        if (!ok)
            return sk_err_set(e, SK_ERR_FORMAT,
                              "%s: \"%s\" must be F32 of shape [%" PRId64 ", %" PRId64
                              "] for the 2-D FP8 weight \"%s\"",
                              st->files[s->file].path, sn, sr, sc, t->name);
        out->scale = (const float *)s->data;
    }
    return SK_OK;
}

/* ---- writer ---- */

typedef struct st_wentry {
    char *name;
    sk_st_dtype dtype;
    int n_dims;
    int64_t shape[SK_ST_MAX_DIMS];
    void *data;
    uint64_t nbytes;
} st_wentry;

struct sk_st_writer {
    st_wentry *ents;
    int64_t n, cap;
    json_t *meta;
};

sk_st_writer *sk_st_writer_new(sk_err *e) {
    sk_st_writer *w = sk_calloc(1, sizeof *w, e);
    if (!w) return NULL;
    w->meta = json_object();
    if (!w->meta) {
        free(w);
        sk_err_set(e, SK_ERR_NOMEM, "out of memory");
        return NULL;
    }
    return w;
}

void sk_st_writer_free(sk_st_writer *w) {
    if (!w) return;
    for (int64_t i = 0; i < w->n; i++) {
        free(w->ents[i].name);
        free(w->ents[i].data);
    }
    free(w->ents);
    json_decref(w->meta);
    free(w);
}

int sk_st_writer_set_metadata(sk_st_writer *w, const char *key, const char *value, sk_err *e) {
    if (!key || !value || !sk_utf8_valid((const uint8_t *)key, strlen(key)) ||
        !sk_utf8_valid((const uint8_t *)value, strlen(value)))
        return sk_err_set(e, SK_ERR_INVALID, "safetensors writer: metadata must be UTF-8 text");
    if (json_object_set_new(w->meta, key, json_string(value)) != 0)
        return sk_err_set(e, SK_ERR_NOMEM, "safetensors writer: cannot set metadata \"%s\"", key);
    return SK_OK;
}

int sk_st_writer_add(sk_st_writer *w, const char *name, sk_st_dtype dtype, int n_dims,
                     const int64_t *shape, const void *data, sk_err *e) {
    if (!name || !*name || !strcmp(name, "__metadata__") ||
        !sk_utf8_valid((const uint8_t *)name, strlen(name)))
        return sk_err_set(e, SK_ERR_INVALID, "safetensors writer: bad tensor name");
    if ((int)dtype < 0 || dtype >= SK_ST_DTYPE_COUNT)
        return sk_err_set(e, SK_ERR_INVALID, "safetensors writer: tensor \"%s\": bad dtype", name);
    if (n_dims < 0 || n_dims > SK_ST_MAX_DIMS)
        return sk_err_set(e, SK_ERR_INVALID, "safetensors writer: tensor \"%s\": %d dims", name,
                          n_dims);
    for (int64_t i = 0; i < w->n; i++)
        if (!strcmp(w->ents[i].name, name))
            return sk_err_set(e, SK_ERR_INVALID, "safetensors writer: duplicate tensor \"%s\"",
                              name);
    st_wentry en;
    memset(&en, 0, sizeof en);
    uint64_t nel = 1;
    for (int d = 0; d < n_dims; d++) {
        if (shape[d] < 0 || !sk_mul_u64_ok(nel, (uint64_t)shape[d], &nel))
            return sk_err_set(e, SK_ERR_INVALID, "safetensors writer: tensor \"%s\": bad shape",
                              name);
        en.shape[d] = shape[d];
    }
    if (!sk_mul_u64_ok(nel, (uint64_t)k_dtype_size[dtype], &en.nbytes) || en.nbytes > SIZE_MAX)
        return sk_err_set(e, SK_ERR_RANGE, "safetensors writer: tensor \"%s\" too large", name);
    en.dtype = dtype;
    en.n_dims = n_dims;
    en.name = sk_strdup(name, e);
    en.data = sk_malloc(en.nbytes ? (size_t)en.nbytes : 1, e);
    if (!en.name || !en.data) {
        free(en.name);
        free(en.data);
        return SK_ERR_NOMEM;
    }
    if (en.nbytes) memcpy(en.data, data, (size_t)en.nbytes);
    if (w->n == w->cap) {
        int64_t nc = w->cap ? w->cap * 2 : 64;
        st_wentry *ne = realloc(w->ents, (size_t)nc * sizeof *ne);
        if (!ne) {
            free(en.name);
            free(en.data);
            return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
        }
        w->ents = ne;
        w->cap = nc;
    }
    w->ents[w->n++] = en;
    return SK_OK;
}

static int cmp_went(const void *a, const void *b) {
    return strcmp(((const st_wentry *)a)->name, ((const st_wentry *)b)->name);
}

int sk_st_writer_write(sk_st_writer *w, const char *path, sk_err *e) {
    qsort(w->ents, (size_t)w->n, sizeof *w->ents, cmp_went);
    json_t *h = json_object();
    if (!h) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    int rc = SK_OK;
    char *hs = NULL;
    uint8_t *buf = NULL;
    if (json_object_size(w->meta) && json_object_set(h, "__metadata__", w->meta)) goto nomem;
    uint64_t off = 0;
    for (int64_t i = 0; i < w->n; i++) {
        const st_wentry *en = &w->ents[i];
        json_t *o = json_object(), *shape = json_array(), *offs = json_array();
        if (!o || !shape || !offs) {
            json_decref(o);
            json_decref(shape);
            json_decref(offs);
            goto nomem;
        }
        for (int d = 0; d < en->n_dims; d++)
            json_array_append_new(shape, json_integer(en->shape[d]));
        json_array_append_new(offs, json_integer((json_int_t)off));
        json_array_append_new(offs, json_integer((json_int_t)(off + en->nbytes)));
        json_object_set_new(o, "dtype", json_string(k_dtype_names[en->dtype]));
        json_object_set_new(o, "shape", shape);
        json_object_set_new(o, "data_offsets", offs);
        if (json_object_set_new(h, en->name, o)) goto nomem;
        off += en->nbytes;
    }
    hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!hs) goto nomem;
    size_t hl = strlen(hs), padded = (hl + 7) & ~(size_t)7;
    size_t total;
    if (!sk_add_ok(8 + padded, (size_t)off, &total)) {
        rc = sk_err_set(e, SK_ERR_RANGE, "%s: file too large", path);
        goto done;
    }
    buf = sk_malloc(total, e);
    if (!buf) {
        rc = SK_ERR_NOMEM;
        goto done;
    }
    uint64_t n64 = padded;
    memcpy(buf, &n64, 8);
    memcpy(buf + 8, hs, hl);
    memset(buf + 8 + hl, ' ', padded - hl);
    size_t p = 8 + padded;
    for (int64_t i = 0; i < w->n; i++) {
        if (w->ents[i].nbytes) memcpy(buf + p, w->ents[i].data, (size_t)w->ents[i].nbytes);
        p += (size_t)w->ents[i].nbytes;
    }
    rc = sk_write_file_atomic(path, buf, total, e);
    goto done;
nomem:
    rc = sk_err_set(e, SK_ERR_NOMEM, "%s: out of memory building the header", path);
done:
    free(buf);
    free(hs);
    json_decref(h);
    return rc;
}
