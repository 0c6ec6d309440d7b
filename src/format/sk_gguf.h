/*
 * gguf — reading and writing GGUF v2/v3 model files (spec §3.4).
 *
 * Reading maps the file read-only (mmap); every key, string, array, tensor info, offset
 * and size is validated against the file length before use, and a malformed file gives
 * an error naming the file, the field and the problem. Split models
 * (`name-00001-of-00003.gguf`) are opened from any one split: all splits are mapped, the
 * metadata comes from the first, each tensor from the split that lists it.
 *
 * Ownership. An sk_gguf owns its mappings and parsed tables; every pointer it returns
 * (names, strings, array data, tensor data) stays valid until sk_gguf_close. Strings from
 * the file are NOT NUL-terminated in the map: accessors return pointer + length, and
 * names (keys, tensor names) are copied NUL-terminated into the handle.
 *
 * Byte layout (little-endian): "GGUF" u32 version u64 n_tensors u64 n_kv, then n_kv ×
 * (string key, u32 type, value), then n_tensors × (string name, u32 n_dims, u64 ne[n_dims],
 * u32 type, u64 offset), padding to `general.alignment` (default 32), then the data.
 * A string is u64 length + bytes; an array is u32 elem type + u64 count + elements.
 */
#ifndef SK_GGUF_H
#define SK_GGUF_H

#include "sk_tensor.h"
#include "sk_util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sk_gguf_vtype {
    SK_GGUF_UINT8 = 0,
    SK_GGUF_INT8 = 1,
    SK_GGUF_UINT16 = 2,
    SK_GGUF_INT16 = 3,
    SK_GGUF_UINT32 = 4,
    SK_GGUF_INT32 = 5,
    SK_GGUF_FLOAT32 = 6,
    SK_GGUF_BOOL = 7,
    SK_GGUF_STRING = 8,
    SK_GGUF_ARRAY = 9,
    SK_GGUF_UINT64 = 10,
    SK_GGUF_INT64 = 11,
    SK_GGUF_FLOAT64 = 12,
} sk_gguf_vtype;

typedef struct sk_gguf sk_gguf;

typedef struct sk_gguf_tensor_info {
    const char *name;        /* NUL-terminated copy */
    int type;                /* sk_type (ggml id) */
    int n_dims;              /* 1..4 */
    int64_t ne[4];           /* ne[0] fastest; unused dims 1 */
    uint64_t offset;         /* within the data section of its split */
    uint64_t nbytes;
    const void *data;        /* in the mmap */
    int split;               /* index of the split file holding it */
} sk_gguf_tensor_info;

int sk_gguf_open(const char *path, sk_gguf **out, sk_err *e);
/* copy: each split is read into private memory instead of mapped (sk_mmap_open_copy). */
int sk_gguf_open_copy(const char *path, bool copy, sk_gguf **out, sk_err *e);
void sk_gguf_close(sk_gguf *g);

const char *sk_gguf_path(const sk_gguf *g);
uint32_t sk_gguf_version(const sk_gguf *g);
uint64_t sk_gguf_alignment(const sk_gguf *g);
int sk_gguf_n_splits(const sk_gguf *g);
uint64_t sk_gguf_file_bytes(const sk_gguf *g); /* all splits together */

/* ---- metadata ---- */
int64_t sk_gguf_n_kv(const sk_gguf *g);
const char *sk_gguf_kv_key(const sk_gguf *g, int64_t i);
sk_gguf_vtype sk_gguf_kv_type(const sk_gguf *g, int64_t i);
int64_t sk_gguf_find_key(const sk_gguf *g, const char *key); /* -1 if absent */

/* Typed getters by key. They return false if the key is absent or its type does not fit:
 * integer getters accept any integer type whose value fits; get_f32 accepts FLOAT32/FLOAT64
 * and integers. */
bool sk_gguf_get_u32(const sk_gguf *g, const char *key, uint32_t *out);
bool sk_gguf_get_i64(const sk_gguf *g, const char *key, int64_t *out);
bool sk_gguf_get_f32(const sk_gguf *g, const char *key, float *out);
bool sk_gguf_get_bool(const sk_gguf *g, const char *key, bool *out);
bool sk_gguf_get_str(const sk_gguf *g, const char *key, const char **s, size_t *len);
/* Arrays: element type and count; for numeric arrays *data points at the packed elements
 * in the map (may be unaligned: copy with memcpy). */
bool sk_gguf_get_arr(const sk_gguf *g, const char *key, sk_gguf_vtype *elem_type, uint64_t *count,
                     const void **data);
/* String array element i (O(1); offsets are indexed at open). */
bool sk_gguf_get_arr_str(const sk_gguf *g, const char *key, uint64_t i, const char **s, size_t *len);
/* Any scalar value rendered as text (for `seek inspect`); arrays as "[N x type]". */
int sk_gguf_kv_to_string(const sk_gguf *g, int64_t i, char *buf, size_t n);

/* ---- tensors ---- */
int64_t sk_gguf_n_tensors(const sk_gguf *g);
const sk_gguf_tensor_info *sk_gguf_tensor(const sk_gguf *g, int64_t i);
int64_t sk_gguf_find_tensor(const sk_gguf *g, const char *name); /* -1 if absent */
/* A view of tensor i (data in the mmap, never copied). */
sk_tensor sk_gguf_tensor_view(const sk_gguf *g, int64_t i);

/* ---- writing ---- */
typedef struct sk_gguf_writer sk_gguf_writer;
/* Produces a tensor's bytes when the writer reaches it (streams big conversions):
 * fill dst with exactly nbytes. */
typedef int (*sk_gguf_fill_fn)(void *ctx, void *dst, uint64_t nbytes, sk_err *e);

/* Produces rows [r0, r0+n_rows) of a tensor (rows = ne[1]*ne[2]*ne[3], each of the type's row
 * size): the writer calls it with consecutive ranges of at most ~64 MiB, so a tensor of any size
 * streams through a small buffer. */
typedef int (*sk_gguf_fill_rows_fn)(void *ctx, void *dst, int64_t r0, int64_t n_rows, sk_err *e);

sk_gguf_writer *sk_gguf_writer_new(sk_err *e);
void sk_gguf_writer_free(sk_gguf_writer *w);
/* Metadata setters; a key set twice keeps the last value. */
int sk_gguf_set_u8(sk_gguf_writer *w, const char *key, uint8_t v, sk_err *e);
int sk_gguf_set_u32(sk_gguf_writer *w, const char *key, uint32_t v, sk_err *e);
int sk_gguf_set_i32(sk_gguf_writer *w, const char *key, int32_t v, sk_err *e);
int sk_gguf_set_u64(sk_gguf_writer *w, const char *key, uint64_t v, sk_err *e);
int sk_gguf_set_f32(sk_gguf_writer *w, const char *key, float v, sk_err *e);
int sk_gguf_set_bool(sk_gguf_writer *w, const char *key, bool v, sk_err *e);
int sk_gguf_set_str(sk_gguf_writer *w, const char *key, const char *v, sk_err *e);
/* Numeric array: elem_type a scalar vtype; data holds count packed elements (copied). */
int sk_gguf_set_arr(sk_gguf_writer *w, const char *key, sk_gguf_vtype elem_type, const void *data,
                    uint64_t count, sk_err *e);
int sk_gguf_set_arr_str(sk_gguf_writer *w, const char *key, const char *const *strs,
                        uint64_t count, sk_err *e);
/* As above with explicit byte lengths (lens may be NULL: strlen); strings may hold any bytes. */
int sk_gguf_set_arr_strn(sk_gguf_writer *w, const char *key, const char *const *strs,
                         const size_t *lens, uint64_t count, sk_err *e);
/* Any scalar type (not STRING/ARRAY); v points at one packed little-endian value. */
int sk_gguf_set_scalar(sk_gguf_writer *w, const char *key, sk_gguf_vtype type, const void *v,
                       sk_err *e);
/* Copies every key/value of g (e.g. for quantize), except keys starting with `skip_prefix`
 * (may be NULL). */
int sk_gguf_copy_kv(sk_gguf_writer *w, const sk_gguf *g, const char *skip_prefix, sk_err *e);
/* Adds a tensor whose bytes are at data (kept by pointer until write: the caller keeps it
 * alive), or produced by fill(ctx, …) when data is NULL. nbytes must equal the row size. */
int sk_gguf_add_tensor(sk_gguf_writer *w, const char *name, int type, int n_dims,
                       const int64_t *ne, const void *data, sk_gguf_fill_fn fill, void *fill_ctx,
                       sk_err *e);
/* As sk_gguf_add_tensor, with the bytes produced a range of rows at a time. */
int sk_gguf_add_tensor_rows(sk_gguf_writer *w, const char *name, int type, int n_dims,
                            const int64_t *ne, sk_gguf_fill_rows_fn fill_rows, void *fill_ctx,
                            sk_err *e);
/* Largest range a row fill is asked for (default 64 MiB; at least one row is always asked). */
void sk_gguf_writer_set_chunk_bytes(sk_gguf_writer *w, uint64_t bytes);
/* Writes the file (v3, alignment 32 unless general.alignment was set). max_split_bytes > 0
 * splits into name-0000K-of-0000N.gguf files of at most that many tensor bytes each (path must
 * end in .gguf; it becomes the first split's name prefix; a tensor larger than the limit gets a
 * split of its own; if everything fits in one split the file is written plain to path).
 * Split 0 holds all metadata; every split carries split.no/split.count/split.tensors.count.
 * Every file is written to a temporary name (FINAL.tmp<pid>) and renamed only when all
 * succeeded, then the directory is fsynced; split files of the same prefix with another split
 * count (left by an earlier write) are then removed. A fill callback that fails (e.g. returns
 * SK_ERR_INTERRUPTED when the caller saw Ctrl-C) makes the writer remove its temporary files;
 * the writer installs no signal handler, so a process killed by a signal leaves its
 * FINAL.tmp<pid> behind (never a partial FINAL).
 * progress may be NULL; otherwise the writer calls sk_progress_begin (with progress->label,
 * or "writing"), adds each tensor's bytes as it is written, and sk_progress_end. */
int sk_gguf_write(sk_gguf_writer *w, const char *path, uint64_t max_split_bytes,
                  sk_progress *progress, sk_err *e);

#ifdef __cplusplus
}
#endif
#endif
