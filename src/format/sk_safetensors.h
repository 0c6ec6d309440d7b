/*
 * safetensors — Hugging Face checkpoint files (spec §3.1–3.3), single or sharded, read via
 * mmap and written; plus the model folder around them (config.json, tokenizer files).
 *
 * Byte layout: u64 LE header length N, N bytes of JSON {name: {dtype, shape, data_offsets},
 * "__metadata__": {...}}, then the data buffer; offsets are relative to 8+N. Every entry
 * is validated: known dtype, shape product × element size == end-begin, inside the file,
 * no two tensors overlapping. Sharded sets are opened from a folder, from
 * model.safetensors.index.json, or from any .safetensors file.
 *
 * Ownership. An sk_st owns its mappings and names until sk_st_close.
 * Shapes are HF order (outermost first); sk_st_tensor_view converts to ggml `ne` order
 * (ne[0] = last HF dim) with the same bytes, and attaches `<name>_scale_inv` to FP8 weights.
 */
#ifndef SK_SAFETENSORS_H
#define SK_SAFETENSORS_H

#include "sk_tensor.h"
#include "sk_util.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sk_st_dtype {
    SK_ST_BOOL, SK_ST_U8, SK_ST_I8, SK_ST_I16, SK_ST_U16, SK_ST_F16, SK_ST_BF16, SK_ST_I32,
    SK_ST_U32, SK_ST_F32, SK_ST_F64, SK_ST_I64, SK_ST_U64, SK_ST_F8_E4M3, SK_ST_F8_E5M2,
    SK_ST_DTYPE_COUNT
} sk_st_dtype;

const char *sk_st_dtype_name(sk_st_dtype d); /* "BF16", … */
int sk_st_dtype_size(sk_st_dtype d);

#define SK_ST_MAX_DIMS 8

typedef struct sk_st_tensor {
    const char *name;            /* NUL-terminated */
    sk_st_dtype dtype;
    int n_dims;                  /* 0 (scalar) .. 8 */
    int64_t shape[SK_ST_MAX_DIMS]; /* HF order, outermost first */
    const void *data;            /* in the mmap (may be unaligned) */
    uint64_t nbytes;
    int file;                    /* shard index */
} sk_st_tensor;

typedef struct sk_st sk_st;

/* path: a .safetensors file, a model.safetensors.index.json, or a folder holding either. */
int sk_st_open(const char *path, sk_st **out, sk_err *e);
/* copy: the shards are read into private memory instead of mapped (sk_mmap_open_copy). */
int sk_st_open_copy(const char *path, bool copy, sk_st **out, sk_err *e);
void sk_st_close(sk_st *st);
int64_t sk_st_n_tensors(const sk_st *st);
/* (Named _at: a function cannot share the name of the sk_st_tensor type.) */
const sk_st_tensor *sk_st_tensor_at(const sk_st *st, int64_t i);
int64_t sk_st_find(const sk_st *st, const char *name); /* -1 if absent */
const char *sk_st_metadata(const sk_st *st, const char *key); /* __metadata__ of shard 0, or NULL */
uint64_t sk_st_file_bytes(const sk_st *st);
/* View in ggml order. F32/F16/BF16 map to the same sk types; F8_E4M3 becomes
 * SK_TYPE_F8_E4M3 with .scale from `<name>_scale_inv` (required: error if missing or of the
 * wrong shape). Other dtypes: SK_ERR_UNSUPPORTED. */
int sk_st_tensor_view(const sk_st *st, int64_t i, sk_tensor *out, sk_err *e);

/* ---- writing ---- */
typedef struct sk_st_writer sk_st_writer;
sk_st_writer *sk_st_writer_new(sk_err *e);
void sk_st_writer_free(sk_st_writer *w);
int sk_st_writer_set_metadata(sk_st_writer *w, const char *key, const char *value, sk_err *e);
/* data is copied. shape in HF order. */
int sk_st_writer_add(sk_st_writer *w, const char *name, sk_st_dtype dtype, int n_dims,
                     const int64_t *shape, const void *data, sk_err *e);
/* Writes atomically (temp + fsync + rename). Tensors are stored sorted by name. */
int sk_st_writer_write(sk_st_writer *w, const char *path, sk_err *e);

#ifdef __cplusplus
}
#endif
#endif
