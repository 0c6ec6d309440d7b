/* dequant.c — scalar reference decoders for every type Seek reads (see sk_tensor.h, spec §4).
 *
 * Each decoder reproduces llama.cpp's reference decoder bit for bit: the same float operations
 * in the same order (e.g. Q4_K computes (d*sc)*q - (dmin*m), never a fused multiply-add), so a
 * decoded weight is the exact float32 that llama.cpp would use. The SIMD matrix kernels live in
 * src/kernels/; these are the conversions behind loading, `seek quantize` and the tests.
 */
#include "quant_internal.h"

#include <pthread.h>
#include <string.h>

/* ---- plain types ---- */

static void dq_f32(const void *src, float *y, int64_t n) {
    memcpy(y, src, (size_t)n * sizeof(float));
}

/* F16 rows decode through a 65536-entry table of sk_fp16_to_f32 (the same bits, ~5x faster). */
static float g_f16_table[65536];
static pthread_once_t g_f16_once = PTHREAD_ONCE_INIT;

static void f16_table_init(void) {
    for (uint32_t i = 0; i < 65536; i++) g_f16_table[i] = sk_fp16_to_f32((sk_fp16)i);
}

static void dq_f16(const void *src, float *y, int64_t n) {
    const uint8_t *p = src;
    pthread_once(&g_f16_once, f16_table_init);
    for (int64_t i = 0; i < n; i++) y[i] = g_f16_table[sk_rd16(p + 2 * i)];
}

static void dq_bf16(const void *src, float *y, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) y[i] = sk_bf16_to_f32(sk_rd16(p + 2 * i));
}

/* ---- 32-element legacy blocks ---- */

/* Q8_0 {f16 d; i8 qs[32]}: x = qs*d */
static void dq_q8_0(const void *src, float *y, int64_t n) {
    const sk_block_q8_0 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float d = sk_fp16_to_f32(b[i].d);
        for (int j = 0; j < 32; j++) y[j] = (float)b[i].qs[j] * d;
    }
}

/* Q8_1 {f16 d; f16 s; i8 qs[32]}: x = qs*d (s = d*sum(qs) is only used by dot products) */
static void dq_q8_1(const void *src, float *y, int64_t n) {
    const sk_block_q8_1 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float d = sk_fp16_to_f32(b[i].d);
        for (int j = 0; j < 32; j++) y[j] = (float)b[i].qs[j] * d;
    }
}

/* Q4_0 {f16 d; u8 qs[16]}: low nibbles are elements 0..15, high nibbles 16..31; x = (q-8)*d */
static void dq_q4_0(const void *src, float *y, int64_t n) {
    const sk_block_q4_0 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float d = sk_fp16_to_f32(b[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((b[i].qs[j] & 0x0F) - 8) * d;
            y[j + 16] = (float)((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

/* Q4_1 {f16 d, m; u8 qs[16]}: x = q*d + m */
static void dq_q4_1(const void *src, float *y, int64_t n) {
    const sk_block_q4_1 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float d = sk_fp16_to_f32(b[i].d), m = sk_fp16_to_f32(b[i].m);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(b[i].qs[j] & 0x0F) * d + m;
            y[j + 16] = (float)(b[i].qs[j] >> 4) * d + m;
        }
    }
}

/* Q5_0 {f16 d; u8 qh[4]; u8 qs[16]}: bit j of qh (LE u32) is the 5th bit of element j;
 * x = (q-16)*d */
static void dq_q5_0(const void *src, float *y, int64_t n) {
    const sk_block_q5_0 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float d = sk_fp16_to_f32(b[i].d);
        const uint32_t qh = sk_rd32(b[i].qh);
        for (int j = 0; j < 16; j++) {
            int lo = (b[i].qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4);
            int hi = (b[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = (float)(lo - 16) * d;
            y[j + 16] = (float)(hi - 16) * d;
        }
    }
}

/* Q5_1 {f16 d, m; u8 qh[4]; u8 qs[16]}: x = q*d + m */
static void dq_q5_1(const void *src, float *y, int64_t n) {
    const sk_block_q5_1 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float d = sk_fp16_to_f32(b[i].d), m = sk_fp16_to_f32(b[i].m);
        const uint32_t qh = sk_rd32(b[i].qh);
        for (int j = 0; j < 16; j++) {
            int lo = (b[i].qs[j] & 0x0F) | (int)(((qh >> j) & 1) << 4);
            int hi = (b[i].qs[j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            y[j] = (float)lo * d + m;
            y[j + 16] = (float)hi * d + m;
        }
    }
}

/* IQ4_NL {f16 d; u8 qs[16]}: x = d*K[nibble] */
static void dq_iq4_nl(const void *src, float *y, int64_t n) {
    const sk_block_iq4_nl *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        const float d = sk_fp16_to_f32(b[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = d * (float)sk_iq4nl_values[b[i].qs[j] & 0xF];
            y[j + 16] = d * (float)sk_iq4nl_values[b[i].qs[j] >> 4];
        }
    }
}

/* ---- 256-element k-quant super-blocks ---- */

/* Q2_K {u8 scales[16]; u8 qs[64]; f16 d, dmin}: 16 sub-blocks of 16; scale byte = sc | mn<<4;
 * 2-bit values: byte l of the 32-byte group holds elements l, l+32, l+64, l+96 (by shift). */
static void dq_q2_K(const void *src, float *y, int64_t n) {
    const sk_block_q2_K *b = src;
    for (int64_t i = 0; i < n / 256; i++) {
        const float d = sk_fp16_to_f32(b[i].d), dmin = sk_fp16_to_f32(b[i].dmin);
        const uint8_t *q = b[i].qs;
        int is = 0;
        for (int half = 0; half < 2; half++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int part = 0; part < 2; part++) {
                    const uint8_t sc = b[i].scales[is++];
                    const float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
                    for (int l = 0; l < 16; l++)
                        *y++ = dl * (float)((q[l + 16 * part] >> shift) & 3) - ml;
                }
            }
        }
    }
}

/* The 16 signed 6-bit scales of a Q3_K block (spec §4): low 4 bits in bytes 0..7 (two per byte),
 * high 2 bits in bytes 8..11. */
void sk_q3k_unpack_scales(const uint8_t s[12], int8_t out[16]) {
    for (int i = 0; i < 16; i++) {
        int low4 = i < 8 ? (s[i] & 0xF) : (s[i - 8] >> 4);
        int high2 = (s[8 + (i % 4)] >> (2 * (i / 4))) & 3;
        out[i] = (int8_t)((low4 | (high2 << 4)) - 32);
    }
}

/* Q3_K {u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d}: value = 2 low bits (as Q2_K) + high bit
 * from hmask (bit m of hmask[l] for the m-th 32-element group); x = d*scale*(q - 4). */
static void dq_q3_K(const void *src, float *y, int64_t n) {
    const sk_block_q3_K *b = src;
    for (int64_t i = 0; i < n / 256; i++) {
        const float d = sk_fp16_to_f32(b[i].d);
        int8_t sc[16];
        sk_q3k_unpack_scales(b[i].scales, sc);
        const uint8_t *q = b[i].qs, *hm = b[i].hmask;
        uint8_t bit = 1;
        int is = 0;
        for (int half = 0; half < 2; half++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, bit <<= 1) {
                for (int part = 0; part < 2; part++) {
                    const float dl = d * (float)sc[is++];
                    for (int l = 16 * part; l < 16 * part + 16; l++)
                        *y++ = dl * (float)(((q[l] >> shift) & 3) - ((hm[l] & bit) ? 0 : 4));
                }
            }
        }
    }
}

/* Scale and min (6 bits each) of sub-block j of a Q4_K/Q5_K block. */
void sk_k4_scale_min(int j, const uint8_t q[12], uint8_t *sc, uint8_t *mn) {
    if (j < 4) {
        *sc = q[j] & 63;
        *mn = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4));
        *mn = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* Q4_K {f16 d, dmin; u8 scales[12]; u8 qs[128]}: 8 sub-blocks of 32; byte l of each 32-byte group
 * holds element l (low nibble) and l+32 (high nibble) of a 64-element pair; x = d*sc*q - dmin*m. */
static void dq_q4_K(const void *src, float *y, int64_t n) {
    const sk_block_q4_K *b = src;
    for (int64_t i = 0; i < n / 256; i++) {
        const float d = sk_fp16_to_f32(b[i].d), dmin = sk_fp16_to_f32(b[i].dmin);
        const uint8_t *q = b[i].qs;
        for (int p = 0; p < 4; p++, q += 32) {
            uint8_t sc, mn;
            sk_k4_scale_min(2 * p, b[i].scales, &sc, &mn);
            const float d1 = d * (float)sc, m1 = dmin * (float)mn;
            sk_k4_scale_min(2 * p + 1, b[i].scales, &sc, &mn);
            const float d2 = d * (float)sc, m2 = dmin * (float)mn;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

/* Q5_K {f16 d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]}: as Q4_K plus a 5th bit: bit 2p (2p+1)
 * of qh[l] for the low (high) nibble of the p-th 32-byte group. */
static void dq_q5_K(const void *src, float *y, int64_t n) {
    const sk_block_q5_K *b = src;
    for (int64_t i = 0; i < n / 256; i++) {
        const float d = sk_fp16_to_f32(b[i].d), dmin = sk_fp16_to_f32(b[i].dmin);
        const uint8_t *ql = b[i].qs, *qh = b[i].qh;
        uint8_t u1 = 1, u2 = 2;
        for (int p = 0; p < 4; p++, ql += 32, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, mn;
            sk_k4_scale_min(2 * p, b[i].scales, &sc, &mn);
            const float d1 = d * (float)sc, m1 = dmin * (float)mn;
            sk_k4_scale_min(2 * p + 1, b[i].scales, &sc, &mn);
            const float d2 = d * (float)sc, m2 = dmin * (float)mn;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (float)((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
        }
    }
}

/* Q6_K {u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d}: per 128-element half, ql[l] / ql[l+32] hold
 * the low nibbles of elements l, l+32 (low) and l+64, l+96 (high); qh[l] their 2 high bits;
 * x = d*sc*(q - 32). */
static void dq_q6_K(const void *src, float *y, int64_t n) {
    const sk_block_q6_K *b = src;
    for (int64_t i = 0; i < n / 256; i++) {
        const float d = sk_fp16_to_f32(b[i].d);
        const uint8_t *ql = b[i].ql, *qh = b[i].qh;
        const int8_t *sc = b[i].scales;
        for (int half = 0; half < 2; half++, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * (float)sc[is] * (float)q1;
                y[l + 32] = d * (float)sc[is + 2] * (float)q2;
                y[l + 64] = d * (float)sc[is + 4] * (float)q3;
                y[l + 96] = d * (float)sc[is + 6] * (float)q4;
            }
        }
    }
}

/* Q8_K {f32 d; i8 qs[256]; i16 bsums[16]}: x = d*q */
static void dq_q8_K(const void *src, float *y, int64_t n) {
    const sk_block_q8_K *b = src;
    for (int64_t i = 0; i < n / 256; i++)
        for (int j = 0; j < 256; j++) *y++ = b[i].d * (float)b[i].qs[j];
}

/* IQ4_XS {f16 d; u16 scales_h; u8 scales_l[4]; u8 qs[128]}: 8 sub-blocks of 32 with 6-bit scales
 * (4 low bits in scales_l nibbles, 2 high bits in scales_h); x = d*(ls-32)*K[nibble]. */
static void dq_iq4_xs(const void *src, float *y, int64_t n) {
    const sk_block_iq4_xs *b = src;
    for (int64_t i = 0; i < n / 256; i++) {
        const float d = sk_fp16_to_f32(b[i].d);
        const uint8_t *qs = b[i].qs;
        for (int ib = 0; ib < 8; ib++, y += 32, qs += 16) {
            const int ls = ((b[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) |
                           (((b[i].scales_h >> (2 * ib)) & 3) << 4);
            const float dl = d * (float)(ls - 32);
            for (int j = 0; j < 16; j++) {
                y[j] = dl * (float)sk_iq4nl_values[qs[j] & 0xF];
                y[j + 16] = dl * (float)sk_iq4nl_values[qs[j] >> 4];
            }
        }
    }
}

typedef void (*dq_fn)(const void *src, float *dst, int64_t n);

static dq_fn dq_for(int type) {
    switch (type) {
    case SK_TYPE_F32:
        return dq_f32;
    case SK_TYPE_F16:
        return dq_f16;
    case SK_TYPE_BF16:
        return dq_bf16;
    case SK_TYPE_Q8_0:
        return dq_q8_0;
    case SK_TYPE_Q8_1:
        return dq_q8_1;
    case SK_TYPE_Q4_0:
        return dq_q4_0;
    case SK_TYPE_Q4_1:
        return dq_q4_1;
    case SK_TYPE_Q5_0:
        return dq_q5_0;
    case SK_TYPE_Q5_1:
        return dq_q5_1;
    case SK_TYPE_Q2_K:
        return dq_q2_K;
    case SK_TYPE_Q3_K:
        return dq_q3_K;
    case SK_TYPE_Q4_K:
        return dq_q4_K;
    case SK_TYPE_Q5_K:
        return dq_q5_K;
    case SK_TYPE_Q6_K:
        return dq_q6_K;
    case SK_TYPE_Q8_K:
        return dq_q8_K;
    case SK_TYPE_IQ4_NL:
        return dq_iq4_nl;
    case SK_TYPE_IQ4_XS:
        return dq_iq4_xs;
    default:
        return NULL;
    }
}

/* The decoders read block fields in place, which needs the blocks' natural alignment (2 bytes,
 * 4 for Q8_K). Misaligned input (a GGUF with general.alignment 1, a byte buffer) goes through an
 * aligned bounce buffer a few blocks at a time. */
static void dq_run(int type, dq_fn fn, const void *src, float *dst, int64_t n) {
    const sk_type_traits *tt = sk_type_info(type);
    const uintptr_t mask = type == SK_TYPE_Q8_K ? 3 : 1;
    if (!tt->quantized || ((uintptr_t)src & mask) == 0) {
        fn(src, dst, n);
        return;
    }
    _Alignas(16) uint8_t buf[4096];
    const int64_t per = (int64_t)(sizeof buf / (size_t)tt->type_size) * tt->block_size;
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i += per) {
        const int64_t m = n - i < per ? n - i : per;
        const size_t bytes = (size_t)(m / tt->block_size) * (size_t)tt->type_size;
        memcpy(buf, p, bytes);
        fn(buf, dst + i, m);
        p += bytes;
    }
}

int sk_dequant(int type, const void *src, float *dst, int64_t n, sk_err *e) {
    const sk_type_traits *tt = sk_type_info(type);
    dq_fn fn = type == SK_TYPE_F8_E4M3 ? NULL : dq_for(type);
    if (!fn || !tt->can_dequant) {
        if (type == SK_TYPE_F8_E4M3)
            return sk_err_set(
                e, SK_ERR_INVALID,
                "sk_dequant: f8_e4m3 needs its block scales (use sk_tensor_dequant_row)");
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "cannot dequantize type %s (id %d)", tt->name,
                          type);
    }
    if (n < 0 || n % tt->block_size != 0)
        return sk_err_set(e, SK_ERR_INVALID,
                          "dequantize %s: %lld elements is not a multiple of the block size %d",
                          tt->name, (long long)n, tt->block_size);
    if (n > 0 && (!src || !dst))
        return sk_err_set(e, SK_ERR_INVALID, "dequantize %s: NULL buffer", tt->name);
    if (n > 0) dq_run(type, fn, src, dst, n);
    return SK_OK;
}

int sk_tensor_dequant_row(const sk_tensor *t, int64_t r, float *dst, sk_err *e) {
    const char *nm = t->name ? t->name : "(unnamed)";
    const sk_type_traits *tt = sk_type_info(t->type);
    if (!tt->can_dequant)
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "tensor %s: cannot dequantize type %s (id %d)", nm,
                          tt->name, t->type);
    const int64_t ne0 = t->ne[0], nrows = sk_tensor_nrows(t);
    if (ne0 <= 0 || ne0 % tt->block_size != 0)
        return sk_err_set(e, SK_ERR_FORMAT,
                          "tensor %s: row length %lld is not a multiple of the %s block size %d",
                          nm, (long long)ne0, tt->name, tt->block_size);
    if (r < 0 || r >= nrows)
        return sk_err_set(e, SK_ERR_RANGE, "tensor %s: row %lld out of range (%lld rows)", nm,
                          (long long)r, (long long)nrows);
    size_t rb, off, end;
    if (!sk_row_size(t->type, ne0, &rb) || !sk_mul_ok(rb, (size_t)r, &off) ||
        !sk_add_ok(off, rb, &end))
        return sk_err_set(e, SK_ERR_RANGE, "tensor %s: row size overflows", nm);
    if (!t->data || (t->nbytes && end > t->nbytes))
        return sk_err_set(e, SK_ERR_RANGE, "tensor %s: row %lld lies outside its %zu data bytes",
                          nm, (long long)r, t->nbytes);
    const uint8_t *row = (const uint8_t *)t->data + off;
    if (t->type != SK_TYPE_F8_E4M3) {
        dq_run(t->type, dq_for(t->type), row, dst, ne0);
        return SK_OK;
    }
    /* FP8: multiply by the 128x128 block scale; 3-D tensors have one grid per matrix. */
    if (!t->scale)
        return sk_err_set(e, SK_ERR_INVALID, "tensor %s: f8_e4m3 without its scale grid", nm);
    const int64_t ne1 = t->ne[1] > 0 ? t->ne[1] : 1;
    const int64_t mat = r / ne1, rr = r % ne1;
    const int64_t sr = (ne1 + 127) / 128, sc = (ne0 + 127) / 128;
    const float *srow = t->scale + mat * sr * sc + (rr / 128) * sc;
    for (int64_t c = 0; c < ne0; c++) dst[c] = sk_fp8_e4m3_to_f32(row[c]) * srow[c / 128];
    return SK_OK;
}
