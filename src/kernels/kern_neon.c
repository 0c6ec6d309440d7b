/* kern_neon.c — AArch64 Advanced SIMD (NEON) kernels. Compiled to something only on aarch64
 * (src/kernels/CMakeLists.txt defines SEEK_HAVE_NEON_KERNELS there); Advanced SIMD is part of
 * every AArch64 Linux CPU, so dispatch.c fills the NEON table unconditionally. Slots not set
 * here keep the scalar kernels.
 *
 * Integer dot products follow the scalar definitions exactly (kern_scalar.c). The baseline
 * armv8-a has no int8 dot-product instruction (SDOT is optional before armv8.4), so 16 int8
 * products are formed exactly in int16 by vmull_s8 (|w·x| ≤ 128·127) and added in pairs into
 * int32 lanes by vpadalq_s16. Block and sub-block integer sums are therefore exact; the
 * K-quants then reduce them to the block's I (and M) and apply the scales exactly as the
 * scalar code does, so they equal the scalar reference bit for bit. The 32-blocks (Q8_0,
 * Q4_0, IQ4_NL) scale each block's int32 lanes in f32 into vector accumulators, and the
 * float types accumulate in 4-lane vectors: those differ from the scalar reference only in
 * the order of the float additions.
 */
#if defined(SEEK_HAVE_NEON_KERNELS)
#include "kernels_internal.h"

#include <arm_neon.h>
#include <string.h>

static inline float fp16(sk_fp16 h) {
    return sk_fp16_to_f32(h);
}

/* acc + the 16 products a[i]·b[i], added in pairs into the 4 int32 lanes (exact). */
static inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b) {
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
}

/* ---- float weights ---- */

static float dot_f32(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const float *a = w, *b = x;
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* fp16 → f32 by FCVTL (exact for every fp16 value, as sk_fp16_to_f32). */
static float dot_f16(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_fp16 *a = w;
    const float *b = x;
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        float16x8_t h0 = vreinterpretq_f16_u16(vld1q_u16(a + i));
        float16x8_t h1 = vreinterpretq_f16_u16(vld1q_u16(a + i + 8));
        s0 = vfmaq_f32(s0, vcvt_f32_f16(vget_low_f16(h0)), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vcvt_high_f32_f16(h0), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, vcvt_f32_f16(vget_low_f16(h1)), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, vcvt_high_f32_f16(h1), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4)
        s0 = vfmaq_f32(s0, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(a + i))), vld1q_f32(b + i));
    float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++) s += fp16(a[i]) * b[i];
    return s;
}

/* bf16 → f32: the 16 bits become the upper half of the f32 (exact). */
static inline float32x4_t bf16x4(const sk_bf16 *p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
}

static float dot_bf16(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_bf16 *a = w;
    const float *b = x;
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, bf16x4(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, bf16x4(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, bf16x4(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, bf16x4(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4) s0 = vfmaq_f32(s0, bf16x4(a + i), vld1q_f32(b + i));
    float s = vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
    for (; i < n; i++) s += sk_bf16_to_f32(a[i]) * b[i];
    return s;
}

/* ---- 32-element blocks (activation Q8_0) ---- */

/* Σ q_w·q_x of one block as 4 int32 lanes; w holds the 32 signed codes as lo (elements
 * 0..15) and hi (16..31). */
static inline int32x4_t blk32(int8x16_t lo, int8x16_t hi, const int8_t *xq) {
    return dot16(dot16(vdupq_n_s32(0), lo, vld1q_s8(xq)), hi, vld1q_s8(xq + 16));
}

/* The block sums of the 32-block types; blk points at the weight block, book is the IQ4_NL
 * codebook (unused by the others). */
typedef int32x4_t (*isum32_fn)(const uint8_t *blk, const int8_t *xq, int8x16_t book);

static inline int32x4_t q8_0_isum(const uint8_t *blk, const int8_t *xq, int8x16_t book) {
    (void)book;
    const sk_block_q8_0 *a = (const sk_block_q8_0 *)blk;
    return blk32(vld1q_s8(a->qs), vld1q_s8(a->qs + 16), xq);
}

static inline int32x4_t q4_0_isum(const uint8_t *blk, const int8_t *xq, int8x16_t book) {
    (void)book;
    uint8x16_t v = vld1q_u8(((const sk_block_q4_0 *)blk)->qs);
    const int8x16_t c8 = vdupq_n_s8(8);
    int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F))), c8);
    int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), c8);
    return blk32(lo, hi, xq);
}

static inline int32x4_t iq4_nl_isum(const uint8_t *blk, const int8_t *xq, int8x16_t book) {
    uint8x16_t v = vld1q_u8(((const sk_block_iq4_nl *)blk)->qs);
    int8x16_t lo = vqtbl1q_s8(book, vandq_u8(v, vdupq_n_u8(0x0F)));
    int8x16_t hi = vqtbl1q_s8(book, vshrq_n_u8(v, 4));
    return blk32(lo, hi, xq);
}

/* The fp16 d that starts every 32-block type's block. */
static inline float blk_d(const uint8_t *blk) {
    sk_fp16 d;
    memcpy(&d, blk, sizeof d);
    return fp16(d);
}

/* One row of a 32-block type (blocks of bsz bytes, each starting with its fp16 d) times a
 * Q8_0 activation row: two f32 accumulators (even and odd blocks), each block's int32 lanes
 * scaled by d_w·d_x (d_x from the f32 copy of the scales that the row carries, act.c).
 * Always inlined, so the block sum is a direct call. */
static inline __attribute__((always_inline)) float
dot32_row(int64_t n, const void *w, size_t bsz, const void *x, isum32_fn isum, int8x16_t book) {
    const uint8_t *a = w;
    const sk_block_q8_0 *b = x;
    const float *dx = (const float *)((const uint8_t *)x + sk_act_q8_0_fscale_offset(n));
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
    int64_t nb = n / 32, ib = 0;
    for (; ib + 2 <= nb; ib += 2) {
        const uint8_t *a0 = a + (size_t)ib * bsz, *a1 = a0 + bsz;
        int32x4_t p0 = isum(a0, b[ib].qs, book), p1 = isum(a1, b[ib + 1].qs, book);
        s0 = vfmaq_n_f32(s0, vcvtq_f32_s32(p0), blk_d(a0) * dx[ib]);
        s1 = vfmaq_n_f32(s1, vcvtq_f32_s32(p1), blk_d(a1) * dx[ib + 1]);
    }
    if (ib < nb) {
        const uint8_t *a0 = a + (size_t)ib * bsz;
        s0 = vfmaq_n_f32(s0, vcvtq_f32_s32(isum(a0, b[ib].qs, book)), blk_d(a0) * dx[ib]);
    }
    return vaddvq_f32(vaddq_f32(s0, s1));
}

static float dot_q8_0(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    return dot32_row(n, w, sizeof(sk_block_q8_0), x, q8_0_isum, vdupq_n_s8(0));
}

static float dot_q4_0(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    return dot32_row(n, w, sizeof(sk_block_q4_0), x, q4_0_isum, vdupq_n_s8(0));
}

static float dot_iq4_nl(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    return dot32_row(n, w, sizeof(sk_block_iq4_nl), x, iq4_nl_isum, vld1q_s8(sk_iq4nl_values));
}

/* ---- K-quants (activation Q8_K): exact I and M per block, then the scalar formula ---- */

/* One Q4_K or Q5_K block (qh NULL for Q4_K; else bit sb of qh[k] is bit 4 of value k of
 * sub-block sb) · its Q8_K block: d_x·d·I − d_x·dmin·M. */
static inline float q45k_block(const uint8_t *qs, const uint8_t *qh, const uint8_t *scales,
                               sk_fp16 d, sk_fp16 dmin, const sk_block_q8_K *b) {
    const uint8x16_t m4 = vdupq_n_u8(0x0F), b4 = vdupq_n_u8(0x10);
    const int32x4_t z = vdupq_n_s32(0);
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; j++) sk_k_scale_min(j, scales, &sc[j], &mn[j]);
    uint8x16_t h0 = qh ? vld1q_u8(qh) : vdupq_n_u8(0), h1 = qh ? vld1q_u8(qh + 16) : h0;
    int32x4_t I = z;
    int32_t M = 0;
    /* code bytes 32p..32p+31: low nibbles are sub-block 2p (values 64p..64p+31), high
     * nibbles sub-block 2p+1 */
    for (int p = 0; p < 4; p++) {
        const uint8_t *q = qs + 32 * p;
        const int8_t *y = b->qs + 64 * p;
        uint8x16_t c0 = vld1q_u8(q), c1 = vld1q_u8(q + 16);
        uint8x16_t l0 = vandq_u8(c0, m4), l1 = vandq_u8(c1, m4);
        uint8x16_t u0 = vshrq_n_u8(c0, 4), u1 = vshrq_n_u8(c1, 4);
        if (qh) { /* bit 4: 0x10 where bit sb of qh is set (vtst gives 0xFF there) */
            uint8x16_t bl = vdupq_n_u8((uint8_t)(1u << (2 * p))), bh = vshlq_n_u8(bl, 1);
            l0 = vorrq_u8(l0, vandq_u8(vtstq_u8(h0, bl), b4));
            l1 = vorrq_u8(l1, vandq_u8(vtstq_u8(h1, bl), b4));
            u0 = vorrq_u8(u0, vandq_u8(vtstq_u8(h0, bh), b4));
            u1 = vorrq_u8(u1, vandq_u8(vtstq_u8(h1, bh), b4));
        }
        int32x4_t tl = dot16(dot16(z, vreinterpretq_s8_u8(l0), vld1q_s8(y)),
                             vreinterpretq_s8_u8(l1), vld1q_s8(y + 16));
        int32x4_t th = dot16(dot16(z, vreinterpretq_s8_u8(u0), vld1q_s8(y + 32)),
                             vreinterpretq_s8_u8(u1), vld1q_s8(y + 48));
        I = vmlaq_n_s32(I, tl, sc[2 * p]);
        I = vmlaq_n_s32(I, th, sc[2 * p + 1]);
        M += mn[2 * p] * (b->bsums[4 * p] + b->bsums[4 * p + 1]) +
             mn[2 * p + 1] * (b->bsums[4 * p + 2] + b->bsums[4 * p + 3]);
    }
    return (b->d * fp16(d)) * (float)vaddvq_s32(I) - (b->d * fp16(dmin)) * (float)M;
}

static float dot_q4_K(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q4_K *a = w;
    const sk_block_q8_K *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 256; ib++)
        s += q45k_block(a[ib].qs, NULL, a[ib].scales, a[ib].d, a[ib].dmin, &b[ib]);
    return s;
}

static float dot_q5_K(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q5_K *a = w;
    const sk_block_q8_K *b = x;
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 256; ib++)
        s += q45k_block(a[ib].qs, a[ib].qh, a[ib].scales, a[ib].d, a[ib].dmin, &b[ib]);
    return s;
}

/* Q6_K: per half h (128 values), quarter r and l < 32 the code is
 *   (low or high nibble of ql[64h + 32(r&1) + l]) | ((qh[32h + l] >> 2r) & 3) << 4, minus 32,
 * for value 128h + 32r + l; each 16 values are one sub-block with its own int8 scale. */
static float dot_q6_K(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q6_K *a = w;
    const sk_block_q8_K *b = x;
    const uint8x16_t m4 = vdupq_n_u8(0x0F), m30 = vdupq_n_u8(0x30);
    const int8x16_t c32 = vdupq_n_s8(32);
    const int32x4_t z = vdupq_n_s32(0);
    float s = 0.0f;
    for (int64_t ib = 0; ib < n / 256; ib++) {
        int32x4_t I = z;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = a[ib].ql + 64 * h, *qh = a[ib].qh + 32 * h;
            const int8_t *y = b[ib].qs + 128 * h;
            const int8_t *sc = a[ib].scales + 8 * h;
            for (int j = 0; j < 2; j++) { /* l = 16j .. 16j+15 */
                uint8x16_t l0 = vld1q_u8(ql + 16 * j), l1 = vld1q_u8(ql + 32 + 16 * j);
                uint8x16_t hb = vld1q_u8(qh + 16 * j);
                uint8x16_t u[4] = {
                    vorrq_u8(vandq_u8(l0, m4), vandq_u8(vshlq_n_u8(hb, 4), m30)),
                    vorrq_u8(vandq_u8(l1, m4), vandq_u8(vshlq_n_u8(hb, 2), m30)),
                    vorrq_u8(vshrq_n_u8(l0, 4), vandq_u8(hb, m30)),
                    vorrq_u8(vshrq_n_u8(l1, 4), vandq_u8(vshrq_n_u8(hb, 2), m30)),
                };
                for (int r = 0; r < 4; r++) {
                    int8x16_t q = vsubq_s8(vreinterpretq_s8_u8(u[r]), c32);
                    int32x4_t t = dot16(z, q, vld1q_s8(y + 32 * r + 16 * j));
                    I = vmlaq_n_s32(I, t, sc[2 * r + j]);
                }
            }
        }
        s += (b[ib].d * fp16(a[ib].d)) * (float)vaddvq_s32(I);
    }
    return s;
}

/* ---- vector ops (the exp-based ones stay scalar) ---- */

static float v_dot(const float *a, const float *b, int64_t n) {
    return dot_f32(n, a, b, NULL);
}

static void v_add(float *y, const float *a, const float *b, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    for (; i < n; i++) y[i] = a[i] + b[i];
}

static void v_mad(float *y, const float *x, float s, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), s));
    for (; i < n; i++) y[i] += s * x[i];
}

/* ---- activation quantizers (bit-identical to kern_scalar.c's) ---- */

/* |x| with NaN lanes set to 0 (the scalar maximum skips NaN; FMAXNM would turn a signalling
 * NaN into a NaN result). */
static inline float32x4_t q_abs0(float32x4_t x) {
    return vbslq_f32(vceqq_f32(x, x), vabsq_f32(x), vdupq_n_f32(0.0f));
}

/* x·s clamped to [-128, 127], NaN → 0 (the scalar clamp_i8). */
static inline float32x4_t q_clamp(float32x4_t v) {
    v = vbslq_f32(vceqq_f32(v, v), v, vdupq_n_f32(0.0f));
    return vminq_f32(vmaxq_f32(v, vdupq_n_f32(-128.0f)), vdupq_n_f32(127.0f));
}

/* 16 int32 codes (in [-128, 127]) → 16 int8 in order. */
static inline int8x16_t q_narrow16(int32x4_t a, int32x4_t b, int32x4_t c, int32x4_t d) {
    int16x8_t lo = vcombine_s16(vmovn_s32(a), vmovn_s32(b));
    int16x8_t hi = vcombine_s16(vmovn_s32(c), vmovn_s32(d));
    return vcombine_s8(vmovn_s16(lo), vmovn_s16(hi));
}

static void quant_q8_0(const float *x, sk_block_q8_0 *y, int16_t *qsum, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++, x += 32) {
        float32x4_t v[8], m = vdupq_n_f32(0.0f);
        for (int i = 0; i < 8; i++) {
            v[i] = vld1q_f32(x + 4 * i);
            m = vmaxq_f32(m, q_abs0(v[i]));
        }
        float amax = vmaxvq_f32(m);
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        int32x4_t q[8], sum = vdupq_n_s32(0);
        for (int i = 0; i < 8; i++) { /* FRINTA: ties away from zero, as roundf */
            q[i] = vcvtq_s32_f32(vrndaq_f32(q_clamp(vmulq_n_f32(v[i], id))));
            sum = vaddq_s32(sum, q[i]);
        }
        vst1q_s8(y[b].qs, q_narrow16(q[0], q[1], q[2], q[3]));
        vst1q_s8(y[b].qs + 16, q_narrow16(q[4], q[5], q[6], q[7]));
        y[b].d = sk_f32_to_fp16(d);
        qsum[b] = (int16_t)vaddvq_s32(sum);
    }
}

static void quant_q8_K(const float *x, sk_block_q8_K *y, int64_t n) {
    for (int64_t b = 0; b < n / 256; b++, x += 256) {
        float32x4_t m = vdupq_n_f32(0.0f);
        for (int i = 0; i < 64; i++) m = vmaxq_f32(m, q_abs0(vld1q_f32(x + 4 * i)));
        float amax = vmaxvq_f32(m);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        float max = 0.0f; /* the first value of largest magnitude */
        for (int j = 0; j < 256; j++)
            if (x[j] == amax || x[j] == -amax) {
                max = x[j];
                break;
            }
        float iscale = -127.0f / max;
        for (int g = 0; g < 16; g++) { /* 16 values, one bsum; FRINTN: ties to even, as rintf */
            int32x4_t q[4];
            for (int i = 0; i < 4; i++)
                q[i] = vcvtq_s32_f32(
                    vrndnq_f32(q_clamp(vmulq_n_f32(vld1q_f32(x + 16 * g + 4 * i), iscale))));
            vst1q_s8(y[b].qs + 16 * g, q_narrow16(q[0], q[1], q[2], q[3]));
            y[b].bsums[g] =
                (int16_t)vaddvq_s32(vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3])));
        }
        y[b].d = 1.0f / iscale;
    }
}

/* The attention kernels of this level: its own dot per row, and its own v_mad per row (so
 * attn_mix equals row-by-row vec_mad here too: NEON's v_mad is fused). */
static void v_attn_dots(const float *q, const float *k, size_t ld, int64_t n, int64_t d,
                        float *out) {
    for (int64_t s = 0; s < n; s++) out[s] = dot_f32(d, q, k + (size_t)s * ld, NULL);
}
static void v_attn_mix(float *o, const float *v, size_t ld, const float *p, int64_t n, int64_t d) {
    for (int64_t s = 0; s < n; s++) v_mad(o, v + (size_t)s * ld, p[s], d);
}

static void v_scale(float *y, float s, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(y + i), s));
    for (; i < n; i++) y[i] *= s;
}

static float v_sumsq(const float *x, int64_t n) {
    return dot_f32(n, x, x, NULL);
}

/* y = x·s·w in the scalar order ((x·s)·w), so equal to it bit for bit */
static void v_mul_scale(float *y, const float *x, const float *w, float s, int64_t n) {
    int64_t i = 0;
    if (w) {
        for (; i + 4 <= n; i += 4)
            vst1q_f32(y + i, vmulq_f32(vmulq_n_f32(vld1q_f32(x + i), s), vld1q_f32(w + i)));
        for (; i < n; i++) y[i] = x[i] * s * w[i];
    } else {
        for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vmulq_n_f32(vld1q_f32(x + i), s));
        for (; i < n; i++) y[i] = x[i] * s;
    }
}

static uint64_t v_read_sum(const void *p, size_t bytes) {
    const uint64_t *q = p;
    uint64x2_t a0 = vdupq_n_u64(0), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 8 <= bytes / 8; i += 8) {
        a0 = vaddq_u64(a0, vld1q_u64(q + i));
        a1 = veorq_u64(a1, vld1q_u64(q + i + 2));
        a2 = vaddq_u64(a2, vld1q_u64(q + i + 4));
        a3 = veorq_u64(a3, vld1q_u64(q + i + 6));
    }
    uint64x2_t s = veorq_u64(veorq_u64(a0, a1), veorq_u64(a2, a3));
    return vgetq_lane_u64(s, 0) ^ vgetq_lane_u64(s, 1);
}

void sk_kfuncs_fill_neon(sk_kfuncs *f) {
    f->dot[SK_KT_F32] = dot_f32;
    f->dot[SK_KT_F16] = dot_f16;
    f->dot[SK_KT_BF16] = dot_bf16;
    f->dot[SK_KT_Q8_0] = dot_q8_0;
    f->dot[SK_KT_Q4_0] = dot_q4_0;
    f->dot[SK_KT_IQ4_NL] = dot_iq4_nl;
    f->dot[SK_KT_Q4_K] = dot_q4_K;
    f->dot[SK_KT_Q5_K] = dot_q5_K;
    f->dot[SK_KT_Q6_K] = dot_q6_K;
    f->vec_dot_f32 = v_dot;
    f->vec_add = v_add;
    f->vec_mad = v_mad;
    f->vec_scale = v_scale;
    f->sumsq = v_sumsq;
    f->mul_scale = v_mul_scale;
    f->read_sum = v_read_sum;
    f->attn_dots = v_attn_dots;
    f->attn_mix = v_attn_mix;
    f->quant_q8_0 = quant_q8_0;
    f->quant_q8_K = quant_q8_K;
}
#else
typedef int sk_kern_neon_unused; /* not an aarch64 build: no NEON kernels */
#endif
