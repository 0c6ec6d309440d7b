/*
 * tensor — element types, quantized block layouts, type traits, scalar conversions,
 * dequantization and quantization, and the tensor view used by every upper layer.
 *
 * Type ids are ggml's (they are what GGUF stores). Block layouts are bit-exact copies of
 * ggml's (spec §4): little-endian, packed, consecutive along a row. SK_TYPE_F8_E4M3 is
 * Seek's own id for DeepSeek's FP8 release (never written to GGUF): one byte per element,
 * with a separate F32 scale grid of 128×128 blocks (`scale` in sk_tensor).
 *
 * Ownership. An sk_tensor is a view: it never owns `data` (the mmap of a file, an arena,
 * or the caller owns it).
 */
#ifndef SK_TENSOR_H
#define SK_TENSOR_H

#include "sk_util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sk_type {
    SK_TYPE_F32 = 0,
    SK_TYPE_F16 = 1,
    SK_TYPE_Q4_0 = 2,
    SK_TYPE_Q4_1 = 3,
    SK_TYPE_Q5_0 = 6,
    SK_TYPE_Q5_1 = 7,
    SK_TYPE_Q8_0 = 8,
    SK_TYPE_Q8_1 = 9,
    SK_TYPE_Q2_K = 10,
    SK_TYPE_Q3_K = 11,
    SK_TYPE_Q4_K = 12,
    SK_TYPE_Q5_K = 13,
    SK_TYPE_Q6_K = 14,
    SK_TYPE_Q8_K = 15,
    SK_TYPE_IQ2_XXS = 16,
    SK_TYPE_IQ2_XS = 17,
    SK_TYPE_IQ3_XXS = 18,
    SK_TYPE_IQ1_S = 19,
    SK_TYPE_IQ4_NL = 20,
    SK_TYPE_IQ3_S = 21,
    SK_TYPE_IQ2_S = 22,
    SK_TYPE_IQ4_XS = 23,
    SK_TYPE_I8 = 24,
    SK_TYPE_I16 = 25,
    SK_TYPE_I32 = 26,
    SK_TYPE_I64 = 27,
    SK_TYPE_F64 = 28,
    SK_TYPE_IQ1_M = 29,
    SK_TYPE_BF16 = 30,
    SK_TYPE_GGML_COUNT = 40, /* ids below this may appear in GGUF files */
    SK_TYPE_F8_E4M3 = 200,   /* Seek-internal: DeepSeek FP8 with 128x128 block scales */
} sk_type;

#define SK_QK4_0 32
#define SK_QK8_0 32
#define SK_QK_K  256
#define SK_K_SCALE_SIZE 12

typedef uint16_t sk_fp16; /* IEEE binary16 bits */
typedef uint16_t sk_bf16; /* upper half of a binary32 */

/* Block layouts (sizes checked by static asserts in types.c). */
typedef struct { sk_fp16 d; int8_t qs[32]; } sk_block_q8_0;                 /* 34 B */
typedef struct { sk_fp16 d; sk_fp16 s; int8_t qs[32]; } sk_block_q8_1;      /* 36 B, s = d*sum(qs) */
typedef struct { sk_fp16 d; uint8_t qs[16]; } sk_block_q4_0;                /* 18 B */
typedef struct { sk_fp16 d, m; uint8_t qs[16]; } sk_block_q4_1;             /* 20 B */
typedef struct { sk_fp16 d; uint8_t qh[4]; uint8_t qs[16]; } sk_block_q5_0; /* 22 B */
typedef struct { sk_fp16 d, m; uint8_t qh[4]; uint8_t qs[16]; } sk_block_q5_1; /* 24 B */
typedef struct { uint8_t scales[16]; uint8_t qs[64]; sk_fp16 d, dmin; } sk_block_q2_K; /* 84 B */
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; sk_fp16 d; } sk_block_q3_K; /* 110 B */
typedef struct { sk_fp16 d, dmin; uint8_t scales[12]; uint8_t qs[128]; } sk_block_q4_K; /* 144 B */
typedef struct { sk_fp16 d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } sk_block_q5_K; /* 176 B */
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; sk_fp16 d; } sk_block_q6_K; /* 210 B */
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } sk_block_q8_K; /* 292 B, activations only */
typedef struct { sk_fp16 d; uint8_t qs[16]; } sk_block_iq4_nl;             /* 18 B */
typedef struct { sk_fp16 d; uint16_t scales_h; uint8_t scales_l[4]; uint8_t qs[128]; } sk_block_iq4_xs; /* 136 B */

extern const int8_t sk_iq4nl_values[16]; /* the IQ4_NL / IQ4_XS codebook */

/* ---- type traits ---- */
typedef struct sk_type_traits {
    const char *name;  /* "f32", "q4_K", … as ggml prints them */
    int block_size;    /* elements per block (1 for plain types); 0 = unknown id */
    int type_size;     /* bytes per block */
    bool quantized;
    bool can_dequant;  /* Seek can decode it */
    bool can_quant;    /* Seek can encode it */
} sk_type_traits;

const sk_type_traits *sk_type_info(int type); /* never NULL; block_size 0 for unknown ids */
const char *sk_type_name(int type);
/* Parses "f32", "F16", "q4_k", "Q4_K_M"-free plain names; returns -1 if unknown. */
int sk_type_from_name(const char *name);
/* Bytes of a row of n elements; fails (false) if n is not a multiple of the block size or overflows. */
bool sk_row_size(int type, int64_t n, size_t *out);

/* ---- scalar conversions ---- */
float sk_fp16_to_f32(sk_fp16 h);
sk_fp16 sk_f32_to_fp16(float f); /* round to nearest even, as ggml/F16C */
static inline float sk_bf16_to_f32(sk_bf16 h) {
    union { uint32_t u; float f; } v = {.u = (uint32_t)h << 16};
    return v.f;
}
sk_bf16 sk_f32_to_bf16(float f); /* round to nearest even; NaN stays NaN */
float sk_fp8_e4m3_to_f32(uint8_t b);
uint8_t sk_f32_to_fp8_e4m3(float f); /* round to nearest even, saturating at ±448 */

/* ---- the tensor view ---- */
#define SK_MAX_DIMS 4
typedef struct sk_tensor {
    const char *name;     /* may be NULL */
    int type;             /* sk_type */
    int n_dims;           /* 1..4 */
    int64_t ne[SK_MAX_DIMS]; /* elements per dim, ne[0] fastest (ggml order); unused dims = 1 */
    void *data;           /* ne[1]*ne[2]*ne[3] rows, each sk_row_size(type, ne[0]) bytes */
    size_t nbytes;
    /* SK_TYPE_F8_E4M3 only: F32 grid [ceil(ne[1]/128)][ceil(ne[0]/128)] (row-major, rows
     * follow ne[1]); element (r, c) = fp8(r, c) * scale[(r/128)*ceil(ne0/128) + c/128]. */
    const float *scale;
} sk_tensor;

int64_t sk_tensor_nelements(const sk_tensor *t);
int64_t sk_tensor_nrows(const sk_tensor *t); /* ne[1]*ne[2]*ne[3] */
size_t sk_tensor_row_bytes(const sk_tensor *t);
/* View of the i-th 2-D matrix of a 3-D tensor (e.g. expert i of ffn_gate_exps). */
sk_tensor sk_tensor_slice3(const sk_tensor *t, int64_t i);
/* View of rows [r0, r0+n) of a 2-D tensor (FP8: r0 must be a multiple of 128). */
sk_tensor sk_tensor_rows(const sk_tensor *t, int64_t r0, int64_t n);

/* ---- dequantize / quantize ---- */
/* Decodes n elements (a multiple of the block size) of `type` at src into dst.
 * Bit-exact with llama.cpp's reference decoders. Not for F8_E4M3 (use sk_tensor_dequant_row). */
int sk_dequant(int type, const void *src, float *dst, int64_t n, sk_err *e);
/* Decodes row r of any tensor view (handles F8_E4M3 block scales). dst has ne[0] floats. */
int sk_tensor_dequant_row(const sk_tensor *t, int64_t r, float *dst, sk_err *e);
/* Encodes n floats into `type` (must have can_quant: F32, F16, BF16, Q8_0, Q8_1, Q4_0, Q4_1,
 * Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL, IQ4_XS). Bit-exact with llama.cpp's
 * quantizer without an imatrix (ggml_quantize_chunk; quantize_row_*_ref for Q8_1/Q8_K). */
int sk_quant(int type, const float *src, void *dst, int64_t n, sk_err *e);
/* Quantized types reject NaN/Inf input (SK_ERR_INVALID naming the element index); F32/F16/BF16
 * convert any value. Q8_K (activations only) matches quantize_row_q8_K_ref except that an
 * all-zero block gets zero bsums. IQ4_NL/IQ4_XS follow what llama-quantize writes without an
 * imatrix (quantize_iq4_nl/_xs, 7-step scale search).
 *
 * Row-parallel forms: nrows rows of n_per_row elements (a multiple of the block size), rows
 * split over the threads of pool (NULL = the calling thread only). The result is identical for
 * any thread count. dst of sk_quant_rows holds nrows * sk_row_size(type, n_per_row) bytes. */
int sk_quant_rows(sk_pool *pool, int type, const float *src, void *dst, int64_t nrows, int64_t n_per_row,
                  sk_err *e);
int sk_dequant_rows(sk_pool *pool, int type, const void *src, float *dst, int64_t nrows, int64_t n_per_row,
                    sk_err *e);
/* The searched-scale encoders (Q2_K, Q4_K, Q5_K, IQ4_NL, IQ4_XS) run eight sub-blocks at once in
 * AVX2 lanes on CPUs that have it, with results identical to the scalar code. false forces the
 * scalar code (for tests and benchmarks); returns the previous setting. */
bool sk_quant_set_simd(bool enable);
bool sk_quant_simd_active(void); /* the CPU has AVX2 and the switch is on */

#ifdef __cplusplus
}
#endif
#endif
