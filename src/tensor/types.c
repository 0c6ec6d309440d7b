/* types.c — type traits, scalar conversions (fp16, bf16, fp8 e4m3) and tensor view helpers
 * (see sk_tensor.h). */
#include "sk_tensor.h"

#include <math.h>
#include <string.h>
#include <strings.h>

_Static_assert(sizeof(sk_block_q8_0) == 34, "q8_0 block");
_Static_assert(sizeof(sk_block_q8_1) == 36, "q8_1 block");
_Static_assert(sizeof(sk_block_q4_0) == 18, "q4_0 block");
_Static_assert(sizeof(sk_block_q4_1) == 20, "q4_1 block");
_Static_assert(sizeof(sk_block_q5_0) == 22, "q5_0 block");
_Static_assert(sizeof(sk_block_q5_1) == 24, "q5_1 block");
_Static_assert(sizeof(sk_block_q2_K) == 84, "q2_K block");
_Static_assert(sizeof(sk_block_q3_K) == 110, "q3_K block");
_Static_assert(sizeof(sk_block_q4_K) == 144, "q4_K block");
_Static_assert(sizeof(sk_block_q5_K) == 176, "q5_K block");
_Static_assert(sizeof(sk_block_q6_K) == 210, "q6_K block");
_Static_assert(sizeof(sk_block_q8_K) == 292, "q8_K block");
_Static_assert(sizeof(sk_block_iq4_nl) == 18, "iq4_nl block");
_Static_assert(sizeof(sk_block_iq4_xs) == 136, "iq4_xs block");

const int8_t sk_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                    1,    13,   25,  38,  53,  69,  89,  113};

/* name, block elements, block bytes, quantized, can_dequant, can_quant.
 * can_dequant/can_quant say what Seek's codec (quant.c) implements: keep them in step. */
static const sk_type_traits k_traits[SK_TYPE_GGML_COUNT] = {
    [SK_TYPE_F32] = {"f32", 1, 4, false, true, true},
    [SK_TYPE_F16] = {"f16", 1, 2, false, true, true},
    [SK_TYPE_Q4_0] = {"q4_0", 32, 18, true, true, true},
    [SK_TYPE_Q4_1] = {"q4_1", 32, 20, true, true, true},
    [SK_TYPE_Q5_0] = {"q5_0", 32, 22, true, true, true},
    [SK_TYPE_Q5_1] = {"q5_1", 32, 24, true, true, true},
    [SK_TYPE_Q8_0] = {"q8_0", 32, 34, true, true, true},
    [SK_TYPE_Q8_1] = {"q8_1", 32, 36, true, true, true},
    [SK_TYPE_Q2_K] = {"q2_K", 256, 84, true, true, true},
    [SK_TYPE_Q3_K] = {"q3_K", 256, 110, true, true, true},
    [SK_TYPE_Q4_K] = {"q4_K", 256, 144, true, true, true},
    [SK_TYPE_Q5_K] = {"q5_K", 256, 176, true, true, true},
    [SK_TYPE_Q6_K] = {"q6_K", 256, 210, true, true, true},
    [SK_TYPE_Q8_K] = {"q8_K", 256, 292, true, true, true},
    [SK_TYPE_IQ2_XXS] = {"iq2_xxs", 256, 66, true, false, false},
    [SK_TYPE_IQ2_XS] = {"iq2_xs", 256, 74, true, false, false},
    [SK_TYPE_IQ3_XXS] = {"iq3_xxs", 256, 98, true, false, false},
    [SK_TYPE_IQ1_S] = {"iq1_s", 256, 50, true, false, false},
    [SK_TYPE_IQ4_NL] = {"iq4_nl", 32, 18, true, true, true},
    [SK_TYPE_IQ3_S] = {"iq3_s", 256, 110, true, false, false},
    [SK_TYPE_IQ2_S] = {"iq2_s", 256, 82, true, false, false},
    [SK_TYPE_IQ4_XS] = {"iq4_xs", 256, 136, true, true, true},
    [SK_TYPE_I8] = {"i8", 1, 1, false, false, false},
    [SK_TYPE_I16] = {"i16", 1, 2, false, false, false},
    [SK_TYPE_I32] = {"i32", 1, 4, false, false, false},
    [SK_TYPE_I64] = {"i64", 1, 8, false, false, false},
    [SK_TYPE_F64] = {"f64", 1, 8, false, false, false},
    [SK_TYPE_IQ1_M] = {"iq1_m", 256, 56, true, false, false},
    [SK_TYPE_BF16] = {"bf16", 1, 2, false, true, true},
};
static const sk_type_traits k_f8 = {"f8_e4m3", 1, 1, false, true, false};
static const sk_type_traits k_unknown = {"unknown", 0, 0, false, false, false};

const sk_type_traits *sk_type_info(int type) {
    if (type == SK_TYPE_F8_E4M3) return &k_f8;
    if (type < 0 || type >= SK_TYPE_GGML_COUNT || k_traits[type].block_size == 0) return &k_unknown;
    return &k_traits[type];
}

const char *sk_type_name(int type) {
    return sk_type_info(type)->name;
}

int sk_type_from_name(const char *name) {
    for (int i = 0; i < SK_TYPE_GGML_COUNT; i++)
        if (k_traits[i].block_size && !strcasecmp(k_traits[i].name, name)) return i;
    if (!strcasecmp(name, "f8_e4m3") || !strcasecmp(name, "fp8")) return SK_TYPE_F8_E4M3;
    return -1;
}

bool sk_row_size(int type, int64_t n, size_t *out) {
    const sk_type_traits *t = sk_type_info(type);
    if (t->block_size == 0 || n < 0 || n % t->block_size != 0) return false;
    return sk_mul_ok((size_t)(n / t->block_size), (size_t)t->type_size, out);
}

/* ---- fp16 ---- */

float sk_fp16_to_f32(sk_fp16 h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                man <<= 1;
                e++;
            } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3FF) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    union { uint32_t u; float f; } v = {.u = bits};
    return v.f;
}

sk_fp16 sk_f32_to_fp16(float f) {
    union { float f; uint32_t u; } v = {.f = f};
    uint32_t x = v.u, sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7FFFFFFFu;
    if (absx > 0x7F800000u) return (sk_fp16)(sign | 0x7E00); /* NaN */
    if (absx >= 0x477FF000u) return (sk_fp16)(sign | 0x7C00); /* rounds to inf (≥ 65520) */
    if (absx < 0x38800000u) { /* result subnormal or zero: value < 2^-14 */
        if (absx < 0x33000000u) return (sk_fp16)sign; /* < 2^-25: rounds to 0 */
        uint32_t e = absx >> 23, m = (absx & 0x7FFFFF) | 0x800000;
        /* value = m * 2^(e-150); in units of 2^-24 (fp16 subnormal step): m >> (126 - e) */
        uint32_t s = 126 - e; /* right shift, 14..24 */
        uint32_t q = m >> s, rem = m & ((1u << s) - 1), half = 1u << (s - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (sk_fp16)(sign | q);
    }
    /* normal: rebias exponent, round mantissa to 10 bits (nearest even) */
    uint32_t q = absx - 0x38000000u; /* exponent 127-15 */
    uint32_t rem = q & 0x1FFF;
    q >>= 13;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;
    return (sk_fp16)(sign | q);
}

/* ---- bf16 ---- */

sk_bf16 sk_f32_to_bf16(float f) {
    union { float f; uint32_t u; } v = {.f = f};
    uint32_t u = v.u;
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (sk_bf16)((u >> 16) | 64); /* quiet NaN */
    u += 0x7FFF + ((u >> 16) & 1);
    return (sk_bf16)(u >> 16);
}

/* ---- fp8 e4m3 (torch float8_e4m3fn) ---- */

float sk_fp8_e4m3_to_f32(uint8_t b) {
    int s = b >> 7, e = (b >> 3) & 0xF, m = b & 7;
    float v;
    if (e == 15 && m == 7) return s ? -NAN : NAN;
    if (e == 0) v = ldexpf((float)m / 8.0f, -6);
    else v = ldexpf(1.0f + (float)m / 8.0f, e - 7);
    return s ? -v : v;
}

uint8_t sk_f32_to_fp8_e4m3(float f) {
    if (isnan(f)) return 0x7F;
    uint8_t sign = signbit(f) ? 0x80 : 0;
    float a = fabsf(f);
    if (a >= 448.0f) return sign | 0x7E;
    /* Search the 127 non-negative finite codes for the nearest (ties to even code). */
    int lo = 0, hi = 0x7E;
    while (lo < hi) { /* first code with value >= a */
        int mid = (lo + hi) / 2;
        if (sk_fp8_e4m3_to_f32((uint8_t)mid) < a) lo = mid + 1;
        else hi = mid;
    }
    int code = lo;
    if (code > 0) {
        float up = sk_fp8_e4m3_to_f32((uint8_t)code), dn = sk_fp8_e4m3_to_f32((uint8_t)(code - 1));
        if (a - dn < up - a || (a - dn == up - a && ((code - 1) & 1) == 0)) code--;
    }
    return sign | (uint8_t)code;
}

/* ---- tensor views ---- */

int64_t sk_tensor_nelements(const sk_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < SK_MAX_DIMS; i++) n *= t->ne[i] > 0 ? t->ne[i] : 1;
    return n;
}

int64_t sk_tensor_nrows(const sk_tensor *t) {
    return (t->ne[1] > 0 ? t->ne[1] : 1) * (t->ne[2] > 0 ? t->ne[2] : 1) *
           (t->ne[3] > 0 ? t->ne[3] : 1);
}

size_t sk_tensor_row_bytes(const sk_tensor *t) {
    size_t n = 0;
    sk_row_size(t->type, t->ne[0], &n);
    return n;
}

sk_tensor sk_tensor_slice3(const sk_tensor *t, int64_t i) {
    sk_tensor s = *t;
    size_t mat = sk_tensor_row_bytes(t) * (size_t)t->ne[1];
    s.n_dims = 2;
    s.ne[2] = s.ne[3] = 1;
    s.data = (uint8_t *)t->data + (size_t)i * mat;
    s.nbytes = mat;
    if (t->type == SK_TYPE_F8_E4M3 && t->scale) {
        int64_t sr = (t->ne[1] + 127) / 128, sc = (t->ne[0] + 127) / 128;
        s.scale = t->scale + i * sr * sc;
    }
    return s;
}

sk_tensor sk_tensor_rows(const sk_tensor *t, int64_t r0, int64_t n) {
    sk_tensor s = *t;
    size_t rb = sk_tensor_row_bytes(t);
    s.n_dims = 2;
    s.ne[1] = n;
    s.ne[2] = s.ne[3] = 1;
    s.data = (uint8_t *)t->data + (size_t)r0 * rb;
    s.nbytes = rb * (size_t)n;
    if (t->type == SK_TYPE_F8_E4M3 && t->scale) s.scale = t->scale + (r0 / 128) * ((t->ne[0] + 127) / 128);
    return s;
}
