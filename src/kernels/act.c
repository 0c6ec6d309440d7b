/* act.c — weight-type slots and activation preparation. The block quantizers come from the
 * kernel table (scalar reference in kern_scalar.c, SIMD versions giving the same bytes, so
 * every level sees bit-identical quantized activations). The rounding follows llama.cpp's
 * reference quantizers: Q8_0/Q8_1 round half away from zero (roundf) with d = amax/127
 * stored as fp16 and 1/d (from the f32 d) as the multiplier (Q8_1's s = fp16(d·Σq) from the
 * f32 d); Q8_K rounds half to even with iscale = -127/max (max = the value of largest
 * magnitude), q = min(127, rint(iscale*x)), d = 1/iscale in f32, and bsums[j] = sum of
 * q[16j..16j+15]. NaN values are left out of the maximum and coded 0.
 * Q8_0 rows carry, after the blocks, two f32 arrays of n/32: at sk_act_q8_0_fscale_offset
 * the block scales d, and right after them d·Σq per block (the AVX2 Q4_0/Q5_0 dots use
 * unsigned codes, Σ(u − c)·q = Σu·q − c·Σq, and take c·d·Σq from there); then, 32-byte
 * aligned relative to the row, the qs of each pair of blocks (2i, 2i+1) again, rearranged as
 * q_2i[0..15] q_2i+1[0..15] q_2i[16..31] q_2i+1[16..31] (64 bytes per pair; an odd last
 * block has none), the order of the AVX2 Q4_0/Q5_0 two-block vectors. Q8_K rows carry after
 * their blocks 8 int16 per block, the sums of q per 32 values (bsums[2j] + bsums[2j+1]), for
 * the AVX2 Q4_K min term, and then (32-byte aligned) the qs again with the 16-byte quarters of
 * every 64 values in the order 0, 2, 1, 3: a Q4_K code byte holds value i (low nibble) and
 * value i + 32 (high nibble), so the AVX2 Q4_K dot puts the low and high nibbles of 16 code
 * bytes in one vector and needs quarters 0 and 2 (then 1 and 3) together; the AVX2 IQ4_XS
 * dot reads the same copy (two 32-value sub-blocks as the lanes of one code vector). The
 * offsets are sk_act_q8_0_xsum_offset, sk_act_q8_0_xpair_offset, sk_act_q8_K_s32_offset and
 * sk_act_q8_K_xperm_offset (kernels_internal.h). */
#include "kernels_internal.h"

#include <math.h>
#include <string.h>

int sk_kt_from_type(int type) {
    switch (type) {
    case SK_TYPE_F32:
        return SK_KT_F32;
    case SK_TYPE_F16:
        return SK_KT_F16;
    case SK_TYPE_BF16:
        return SK_KT_BF16;
    case SK_TYPE_Q8_0:
        return SK_KT_Q8_0;
    case SK_TYPE_Q4_0:
        return SK_KT_Q4_0;
    case SK_TYPE_Q4_1:
        return SK_KT_Q4_1;
    case SK_TYPE_Q5_0:
        return SK_KT_Q5_0;
    case SK_TYPE_Q5_1:
        return SK_KT_Q5_1;
    case SK_TYPE_Q2_K:
        return SK_KT_Q2_K;
    case SK_TYPE_Q3_K:
        return SK_KT_Q3_K;
    case SK_TYPE_Q4_K:
        return SK_KT_Q4_K;
    case SK_TYPE_Q5_K:
        return SK_KT_Q5_K;
    case SK_TYPE_Q6_K:
        return SK_KT_Q6_K;
    case SK_TYPE_IQ4_NL:
        return SK_KT_IQ4_NL;
    case SK_TYPE_IQ4_XS:
        return SK_KT_IQ4_XS;
    case SK_TYPE_F8_E4M3:
        return SK_KT_F8;
    default:
        return -1;
    }
}

sk_act sk_kt_act(int kt) {
    switch (kt) {
    case SK_KT_Q8_0:
    case SK_KT_Q4_0:
    case SK_KT_Q5_0:
    case SK_KT_IQ4_NL:
        return SK_ACT_Q8_0;
    case SK_KT_Q4_1:
    case SK_KT_Q5_1:
        return SK_ACT_Q8_1;
    case SK_KT_Q2_K:
    case SK_KT_Q3_K:
    case SK_KT_Q4_K:
    case SK_KT_Q5_K:
    case SK_KT_Q6_K:
    case SK_KT_IQ4_XS:
        return SK_ACT_Q8_K;
    default:
        return SK_ACT_F32;
    }
}

size_t sk_act_row_bytes(sk_act a, int64_t n) {
    switch (a) {
    case SK_ACT_Q8_0:
        if (n < 64) return sk_act_q8_0_xsum_offset(n) + (size_t)(n / 32) * sizeof(float);
        return sk_act_q8_0_xpair_offset(n) + (size_t)(n / 64) * 64;
    case SK_ACT_Q8_1:
        return (size_t)(n / 32) * sizeof(sk_block_q8_1);
    case SK_ACT_Q8_K:
        return sk_act_q8_K_xperm_offset(n) + (size_t)(n / 256) * 256;
    default:
        return (size_t)n * sizeof(float);
    }
}

/* Q8_0 or Q8_1 blocks of n values, GROUP blocks at a time through f's quantizer: Q8_0 rows
 * (y1 NULL) into y with the f32 scales in fs and d·Σq in sx; Q8_1 rows (y, fs, sx unused)
 * into y1. */
#define GROUP 8
static void act_q8_0(const sk_kfuncs *f, const float *x, sk_block_q8_0 *y, float *fs, float *sx,
                     sk_block_q8_1 *y1, int64_t n) {
    sk_block_q8_0 tmp[GROUP];
    int16_t qsum[GROUP];
    for (int64_t b0 = 0; b0 < n / 32; b0 += GROUP) {
        int64_t nb = n / 32 - b0 < GROUP ? n / 32 - b0 : GROUP;
        sk_block_q8_0 *out = y1 ? tmp : y + b0;
        f->quant_q8_0(x + 32 * b0, out, qsum, 32 * nb);
        for (int64_t i = 0; i < nb; i++) {
            float d = sk_fp16_to_f32(out[i].d);
            if (y1) { /* s is made from the f32 d = amax/127, as llama.cpp's Q8_1 */
                const float *xb = x + 32 * (b0 + i);
                float amax = 0.0f;
                for (int j = 0; j < 32; j++) amax = fabsf(xb[j]) > amax ? fabsf(xb[j]) : amax;
                y1[b0 + i].d = out[i].d;
                y1[b0 + i].s = sk_f32_to_fp16((float)qsum[i] * (amax / 127.0f));
                memcpy(y1[b0 + i].qs, out[i].qs, 32);
            } else {
                fs[b0 + i] = d;
                sx[b0 + i] = d * (float)qsum[i];
            }
        }
    }
}

void sk_act_quantize_with(const sk_kfuncs *f, sk_act a, const float *x, void *dst, int64_t n) {
    switch (a) {
    case SK_ACT_Q8_0: {
        const sk_block_q8_0 *b = dst;
        float *fs = (float *)((uint8_t *)dst + sk_act_q8_0_fscale_offset(n));
        float *sx = (float *)((uint8_t *)dst + sk_act_q8_0_xsum_offset(n));
        act_q8_0(f, x, dst, fs, sx, NULL, n);
        int8_t *xp = (int8_t *)((uint8_t *)dst + sk_act_q8_0_xpair_offset(n));
        for (int64_t i = 0; i < n / 64; i++) {
            memcpy(xp + 64 * i, b[2 * i].qs, 16);
            memcpy(xp + 64 * i + 16, b[2 * i + 1].qs, 16);
            memcpy(xp + 64 * i + 32, b[2 * i].qs + 16, 16);
            memcpy(xp + 64 * i + 48, b[2 * i + 1].qs + 16, 16);
        }
        break;
    }
    case SK_ACT_Q8_1:
        act_q8_0(f, x, NULL, NULL, NULL, dst, n);
        break;
    case SK_ACT_Q8_K: {
        f->quant_q8_K(x, dst, n);
        const sk_block_q8_K *b = dst;
        int16_t *s32 = (int16_t *)((uint8_t *)dst + sk_act_q8_K_s32_offset(n));
        for (int64_t i = 0; i < n / 256; i++)
            for (int j = 0; j < 8; j++)
                s32[8 * i + j] = (int16_t)(b[i].bsums[2 * j] + b[i].bsums[2 * j + 1]);
        int8_t *xp = (int8_t *)dst + sk_act_q8_K_xperm_offset(n);
        static const int quarter[4] = {0, 2, 1, 3};
        for (int64_t i = 0; i < n / 256; i++)
            for (int c = 0; c < 4; c++)
                for (int k = 0; k < 4; k++)
                    memcpy(xp + 256 * i + 64 * c + 16 * k, b[i].qs + 64 * c + 16 * quarter[k], 16);
        break;
    }
    default:
        memcpy(dst, x, (size_t)n * sizeof(float));
        break;
    }
}

void sk_act_quantize(sk_act a, const float *x, void *dst, int64_t n) {
    sk_act_quantize_with(sk_kfuncs_active(), a, x, dst, n);
}

float sk_k_fp8_lut[256];

void sk_k_init_fp8_lut(void) {
    for (int i = 0; i < 256; i++) sk_k_fp8_lut[i] = sk_fp8_e4m3_to_f32((uint8_t)i);
}
