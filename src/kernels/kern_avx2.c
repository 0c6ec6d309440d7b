/* kern_avx2.c — AVX2 + FMA + F16C kernels (built with -mavx2 -mfma -mf16c on x86-64 only;
 * dispatch.c calls sk_kfuncs_fill_avx2 only when cpuid reports all three).
 *
 * Integer dot products follow the scalar definitions exactly (kern_scalar.c): per block the
 * int8 products are summed exactly in int16/int32 lanes (maddubs pairs stay below 2^15 for
 * every format: |u8|·|s8| pairs ≤ 2·128·127), then each lane is scaled in f32, so results
 * differ from the scalar reference only in the order of the float additions.
 * signed·signed products use the sign trick: maddubs(|w|, sign(x, w)).
 * Q6_K / Q3_K use Σ(u−c)·x = Σu·x − c·Σx with Σx per 16 values from the Q8_K bsums; Q4_0 /
 * Q5_0 the same with d_x·Σx per block, which the Q8_0 activation row carries (act.c), so
 * their products are maddubs(u, x) with no sign operations, two blocks per vector; they also
 * read a copy of the activations that act.c appends in the order of those two-block vectors.
 * A pair of Q4_K blocks takes its min term in one madd from the Q8_K sums per 32 values that
 * act.c appends to the row.
 *
 * Memory order. On the 2-core EPYC (Zen 3) these kernels were tuned on, streaming several rows
 * at once (4 or even 2 interleaved row streams per thread) ran at 0.3-0.5 of the read
 * bandwidth for rows of 1-6 KB, against 0.6-0.8 for the same arithmetic reading the rows one
 * after the other (one sequential stream per thread), although interleaving is faster with the
 * weights in cache (it shares the activation loads). So only Q8_0 rows longer than SK_SEQ_MAX
 * bytes are multiplied 4 at a time; every other matvec reads one row after the other (dot4
 * NULL), and the single-row dots carry their own ILP (two accumulators for Q8_0, four blocks
 * per step for Q4_0 / Q5_0, two Q4_K blocks' scales and mins together) and an in-row
 * software prefetch.
 *
 * What limits a streamed product is not its arithmetic. On that machine (256 MB Q4_K matrix,
 * 2 threads, variants alternating in one process, each pass against the probe pass after it,
 * medians of 20), dot_q4_K ran at 0.71 of the probe, and so did a stripped loop with less than
 * half its instructions (the same loads, prefetch, maddubs and madd; no scales, nibble split,
 * mins or d), at 0.71-0.73 for 1536 and 8960 columns; with the weights in L2 the stripped loop
 * is about 2.2 times faster (median of 25 paired rounds, 1.7-3.1). Even a bare loop of 32-byte
 * loads into one accumulator reached only 0.84 of the probe's eight-accumulator loop. Prefetch
 * hints T1, T2 and NTA, every other line, 1024 or 5120 bytes ahead all measured within noise of
 * T0 at 2560 bytes; no prefetch, 0.66-0.70. A Q4_K variant with 4 % fewer instructions (two
 * blocks side by side, one per 128-bit lane) was 4-10 % faster in cache but not streamed (0.975
 * and 0.996 of dot_q4_K), so it was not kept.
 * Later, with the weights and the probe in 2 MiB pages (Linux 6.18), 1536-8960 columns:
 * dot_q4_K ran at 0.74-0.88 of the probe, a bare one-accumulator load loop per row at
 * 0.75-0.87, and the probe's own loop called once per 864-byte row at 0.87-0.92 (over the
 * whole range at once, 1.0). The two-blocks-per-lane variant measured 0.98 of dot_q4_K in
 * the model (in-process, paired windows) although a harness built at -O2 had shown it 13-18 %
 * faster: build such harnesses with the library's flags (-O3). One loop over a chunk's rows
 * instead of a table call per row: 1.03-1.12 in that harness, 1.01 in the model; not kept.
 * Still, the arithmetic decides how close Q4_K gets: a variant doing 3 of its 4 nibble steps
 * per block (same memory stream, wrong sums) streamed at 0.95 of the probe on one thread where
 * dot_q4_K ran 0.78. Block steps measured slower in L1 (paired medians against dot_q4_K):
 * 32-byte code loads with a lane blend instead of the 16-byte broadcasts, 0.90-0.94 (a quarter of
 * those loads split a cache line: blocks are 144 bytes); whole sub-blocks per vector (low and
 * high nibbles, a scale broadcast per sub-block), 0.78-0.81; the same with the lanes gathered
 * by vperm2i128, 0.85-0.89.
 */
#if defined(SEEK_HAVE_X86_KERNELS)
#include "kern_x86.h"
#include "kernels_internal.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float fp16(sk_fp16 h) {
    return _cvtsh_ss(h);
}

static inline __m256i ld256(const void *p) {
    return _mm256_loadu_si256((const __m256i *)p);
}
static inline __m128i ld128(const void *p) {
    return _mm_loadu_si128((const __m128i *)p);
}

/* 16 packed nibbles → 32 bytes: low nibbles (elements 0..15) then high nibbles (16..31). The
 * 16 bytes broadcast to both lanes and the high lane shifted, where a 128-bit shift and a
 * lane insert took a shuffle-port operation more (vinserti128, one per cycle on the Zen 3):
 * the Q4_1 dot, 1.26 against 1.14 times the old loop in L2. llvm-mca's Zen 3 model puts the
 * broadcast load on those ports too and predicts no gain; a micro-benchmark (vpsrlvd with
 * vbroadcasti128 from memory, 0.27 cycles per instruction against 0.50 for vpsrlvd alone)
 * says they do not compete. */
static inline __m256i nib32(const uint8_t *q) {
    __m256i b = _mm256_srlv_epi32(_mm256_broadcastsi128_si256(ld128(q)),
                                  _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4));
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

/* Σ pairs of signed w·x as 8 int32 (w, x signed int8 with |w| ≤ 128, |x| ≤ 127). */
static inline __m256i dot_ss(__m256i w, __m256i x) {
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}
/* Σ of unsigned u (≤ 63) · signed x as 8 int32. */
static inline __m256i dot_us(__m256i u, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, x), _mm256_set1_epi16(1));
}

/* Byte j of the result is 0xFF iff bit j of the 32-bit h is set. */
static inline __m256i bits32(uint32_t h) {
    __m256i v = _mm256_set1_epi32((int)h);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL,
                                           0x0101010101010101LL, 0x0000000000000000LL);
    v = _mm256_shuffle_epi8(v, shuf);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

/* ---- float weights ---- */

static float dot_f32(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const float *a = w, *b = x;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static float dot_f16(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_fp16 *a = w;
    const float *b = x;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        SK_MCA_BEGIN("dot_f16");
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(ld128(a + i)), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(ld128(a + i + 8)), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_cvtph_ps(ld128(a + i + 16)), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_cvtph_ps(ld128(a + i + 24)), _mm256_loadu_ps(b + i + 24), s3);
        SK_MCA_END();
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(ld128(a + i)), _mm256_loadu_ps(b + i), s0);
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) s += fp16(a[i]) * b[i];
    return s;
}

static inline __m256 bf16x8(const sk_bf16 *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(ld128(p)), 16));
}

static float dot_bf16(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_bf16 *a = w;
    const float *b = x;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        SK_MCA_BEGIN("dot_bf16");
        s0 = _mm256_fmadd_ps(bf16x8(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(bf16x8(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(bf16x8(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(bf16x8(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
        SK_MCA_END();
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(bf16x8(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) s += sk_bf16_to_f32(a[i]) * b[i];
    return s;
}

/* FP8 E4M3 → fp16 bits: sign to bit 15, the 7 exponent+mantissa bits shifted up by 7; the
 * fp16 value is then exactly fp8/256 (normals and subnormals alike), undone by the scale.
 * Per 32 codes: unpacking them into the high bytes of 16-bit lanes (w << 8) puts the sign at
 * bit 15, and an arithmetic shift right by 1 with the mask 0xBF80 (clearing the sign's copy
 * at bit 14) leaves exactly those bits: 3 operations per 16 codes where zero extension,
 * two masks, two shifts and an or took 6. unpacklo/hi work per 128-bit lane, so the four
 * fp16 octets are codes 0-7, 8-15 (low lanes) and 16-23, 24-31 (high lanes), each with its
 * own activations; the accumulators see the products in the same order as before, so the
 * results did not change (bit for bit, in the harness). Zen 3, 7168 columns, 2 threads,
 * 256 MB streamed, paired medians of 9: 1.14× (IQR 1.13-1.15), 0.46 → 0.53 of the probe;
 * four accumulators instead of two measured the same. What is left is conversion work:
 * vcvtph2ps ymm is two micro-ops on the two pipes that also convert and store. Building f32
 * bits directly (each code shuffled to the top byte of a 32-bit lane, shift right 4, mask:
 * fp8·2^-120, with the activations scaled by 2^100 so no product is subnormal) gave the
 * same bits at 1.03× of this loop: it moves the work onto the shuffle pipes instead, so it
 * was not worth a separate activation format. */
static float dot_f8(int64_t n, const void *w, const void *x, const float *ws) {
    const uint8_t *a = w;
    const float *b = x;
    const __m256i keep = _mm256_set1_epi16((short)0xBF80), zero = _mm256_setzero_si256();
    __m256 acc = _mm256_setzero_ps();
    float tail = 0.0f;
    for (int64_t c0 = 0; c0 < n; c0 += 128) {
        int64_t c1 = c0 + 128 < n ? c0 + 128 : n, i = c0;
        __m256 p0 = _mm256_setzero_ps(), p1 = p0;
        for (; i + 32 <= c1; i += 32) {
            SK_MCA_BEGIN("dot_f8");
            __m256i v = ld256(a + i);
            __m256i hl =
                _mm256_and_si256(_mm256_srai_epi16(_mm256_unpacklo_epi8(zero, v), 1), keep);
            __m256i hh =
                _mm256_and_si256(_mm256_srai_epi16(_mm256_unpackhi_epi8(zero, v), 1), keep);
            p0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(hl)),
                                 _mm256_loadu_ps(b + i), p0);
            p1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_castsi256_si128(hh)),
                                 _mm256_loadu_ps(b + i + 8), p1);
            p0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(hl, 1)),
                                 _mm256_loadu_ps(b + i + 16), p0);
            p1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(hh, 1)),
                                 _mm256_loadu_ps(b + i + 24), p1);
            SK_MCA_END();
        }
        if (i + 16 <= c1) { /* 16 codes left: the same in 128 bits */
            __m128i v = ld128(a + i), z = _mm256_castsi256_si128(zero);
            __m128i k = _mm256_castsi256_si128(keep);
            __m128i hl = _mm_and_si128(_mm_srai_epi16(_mm_unpacklo_epi8(z, v), 1), k);
            __m128i hh = _mm_and_si128(_mm_srai_epi16(_mm_unpackhi_epi8(z, v), 1), k);
            p0 = _mm256_fmadd_ps(_mm256_cvtph_ps(hl), _mm256_loadu_ps(b + i), p0);
            p1 = _mm256_fmadd_ps(_mm256_cvtph_ps(hh), _mm256_loadu_ps(b + i + 8), p1);
            i += 16;
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(ws[c0 / 128] * 256.0f), _mm256_add_ps(p0, p1), acc);
        if (i < c1) {
            float p = 0.0f;
            for (; i < c1; i++) p += sk_k_fp8_lut[a[i]] * b[i];
            tail += ws[c0 / 128] * p;
        }
    }
    return hsum8(acc) + tail;
}

/* ---- 32-element blocks ---- */

/* Q8_0: the row dots are SK_DEF_Q8_0_DOTS (kern_x86.h) on this block step; gemm4 below does
 * the same lane operations, so the three give the same bits. */
static inline __m256 q8_0_blk(const sk_block_q8_0 *a, const sk_block_q8_0 *b, float dx,
                              __m256 acc) {
    __m256i p = dot_ss(ld256(a->qs), ld256(b->qs));
    return _mm256_fmadd_ps(_mm256_set1_ps(fp16(a->d) * dx), _mm256_cvtepi32_ps(p), acc);
}
SK_DEF_Q8_0_DOTS(dot_q8_0, dot4_q8_0, q8_0_blk)

/* One row, four tokens: |w| and the row scale computed once per block; the activation
 * scales come from the f32 copy after the blocks (same products as dot: bit-identical). */
static void gemm4_q8_0(int64_t n, const void *w, const void *x, size_t xstride, const float *ws,
                       float *y, int64_t ystride) {
    (void)ws;
    const sk_block_q8_0 *a = w;
    const uint8_t *xb = x;
    size_t off = sk_act_q8_0_fscale_offset(n);
    const sk_block_q8_0 *b0 = x;
    const sk_block_q8_0 *b1 = (const void *)(xb + xstride);
    const sk_block_q8_0 *b2 = (const void *)(xb + 2 * xstride);
    const sk_block_q8_0 *b3 = (const void *)(xb + 3 * xstride);
    const float *f0 = (const float *)(xb + off), *f1 = (const float *)(xb + xstride + off);
    const float *f2 = (const float *)(xb + 2 * xstride + off),
                *f3 = (const float *)(xb + 3 * xstride + off);
    const __m256i one = _mm256_set1_epi16(1);
    __m256 c0 = _mm256_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, e0 = c0, e1 = c0, e2 = c0, e3 = c0;
    int64_t nb = n / 32;
    /* block ib into the accumulators c (even ib) or e (odd ib), as dot_q8_0 */
#define SK_G(c, b, f)                                                                              \
    do {                                                                                           \
        __m256i p = _mm256_madd_epi16(                                                             \
            _mm256_maddubs_epi16(aw, _mm256_sign_epi8(ld256(b[ib].qs), wv)), one);                 \
        c = _mm256_fmadd_ps(_mm256_set1_ps(dw * f[ib]), _mm256_cvtepi32_ps(p), c);                 \
    } while (0)
    for (int64_t ib = 0; ib < nb; ib++) {
        __m256i wv = ld256(a[ib].qs), aw = _mm256_sign_epi8(wv, wv);
        float dw = fp16(a[ib].d);
        if (ib & 1) {
            SK_G(e0, b0, f0);
            SK_G(e1, b1, f1);
            SK_G(e2, b2, f2);
            SK_G(e3, b3, f3);
        } else {
            SK_G(c0, b0, f0);
            SK_G(c1, b1, f1);
            SK_G(c2, b2, f2);
            SK_G(c3, b3, f3);
        }
    }
#undef SK_G
    y[0] = hsum8(_mm256_add_ps(c0, e0));
    y[ystride] = hsum8(_mm256_add_ps(c1, e1));
    y[2 * ystride] = hsum8(_mm256_add_ps(c2, e2));
    y[3 * ystride] = hsum8(_mm256_add_ps(c3, e3));
}

static inline uint32_t le32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Q4_0 / Q5_0 with unsigned codes u (the nibble, or nibble | high bit << 4) and the offset c
 * (8, 16) taken out of the loop: Σ(u − c)·q = Σu·q − c·Σq, with d_x·Σq per block from the
 * activation row (see act.c). Two blocks share one vector: the 16 code bytes of block a in the
 * low 128-bit lane and of block b in the high lane (low nibbles = elements 0..15, high nibbles
 * = 16..31), the activations rearranged to match; maddubs(u ≤ 31, q) pairs stay ≤ 2·31·128,
 * and the low + high sums ≤ 2^14, so one madd gives 4 int32 per block (lanes 0..3: a, 4..7:
 * b), converted and scaled once for both. Per 4 blocks the 4 fp16 weight scales go through one
 * cvtph. */

/* Σu·q of two blocks (4 int32 each) from their code vectors lo (elements 0..15 of a | of b)
 * and hi (16..31), with xp the pair's 64 rearranged activation bytes (see act.c). */
static inline __m256i q32_pair(__m256i lo, __m256i hi, const int8_t *xp) {
    __m256i pl = _mm256_maddubs_epi16(lo, ld256(xp));
    __m256i ph = _mm256_maddubs_epi16(hi, ld256(xp + 32));
    return _mm256_madd_epi16(_mm256_add_epi16(pl, ph), _mm256_set1_epi16(1));
}

/* The 16 code bytes of two adjacent blocks (qb − qa = the block size, > 16) as [qa | qb]: two
 * 32-byte loads, qa.. and qb − 16.., blended by dwords (no shuffle-port operation). */
static inline __m256i qs_pair(const uint8_t *qa, const uint8_t *qb) {
    return _mm256_blend_epi32(ld256(qa), ld256(qb - 16), 0xF0);
}

static inline __m256i q4_0_pair(const sk_block_q4_0 *a, const int8_t *x) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256i v = qs_pair(a[0].qs, a[1].qs);
    return q32_pair(_mm256_and_si256(v, m4), _mm256_and_si256(_mm256_srli_epi16(v, 4), m4), x);
}

/* Q5_0 high bits of a pair: one 32-byte load at qh_a, which holds qh_b at bytes 22..25 (lane
 * 1's 6..9), and per vector one in-lane byte shuffle (k_q5_sel) that gives each element the
 * qh byte holding its bit (lane 0 reads block a, lane 1 b); element j tests bit j % 8 of it
 * (k_q5_bit), and the compare's 0xFF masked to 0x10 is the high bit of the 5-bit code.
 * Against the earlier derivation (the loaded bytes shuffled and shifted into [u | u << 4]
 * halves so every element's bit sat at 4..7, then and + min against 0x10: as many
 * operations, two more of them on the shuffle/shift ports, and a dependency chain two steps
 * longer), the whole dot on the Zen 3, same bits, paired medians of 16-21 rounds (IQR):
 * streamed from 256 MB at 2 threads 1.045 (1.041-1.051) at 1408 columns and 1.020
 * (1.000-1.027) at 2048, at 1 thread 1.025 (0.956-1.038); in L2, 1.008 (1.002-1.019). That
 * earlier derivation had itself measured 1.10 times as fast streamed as building the source in
 * general-purpose registers and broadcasting it. */
static const uint8_t k_q5_sel[2][32] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
     6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7},
    {2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
     8, 8, 8, 8, 8, 8, 8, 8, 9, 9, 9, 9, 9, 9, 9, 9},
};
static const uint8_t k_q5_bit[32] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128,
                                     1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};

/* The 5-bit codes of a pair of Q5_0 blocks as [a | b] vectors: *lo elements 0..15, *hi 16..31. */
static inline void q5_0_codes(const sk_block_q5_0 *a, __m256i *lo, __m256i *hi) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), b4 = _mm256_set1_epi8(0x10);
    const __m256i bit = ld256(k_q5_bit);
    __m256i v = qs_pair(a[0].qs, a[1].qs);
    _Static_assert(sizeof(sk_block_q5_0) == 22, "the qh of the pair's second block: bytes 22..25");
    __m256i q = ld256(a[0].qh);
    __m256i hl = _mm256_and_si256(
        _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(q, ld256(k_q5_sel[0])), bit), bit),
        b4);
    __m256i hh = _mm256_and_si256(
        _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(q, ld256(k_q5_sel[1])), bit), bit),
        b4);
    *lo = _mm256_or_si256(_mm256_and_si256(v, m4), hl);
    *hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), hh);
}

static inline __m256i q5_0_pair(const sk_block_q5_0 *a, const int8_t *x) {
    __m256i lo, hi;
    q5_0_codes(a, &lo, &hi);
    return q32_pair(lo, hi, x);
}

/* One block alone (row tails): Σu·q as 8 int32. */
static inline __m256i q4_0_one(const sk_block_q4_0 *a, const sk_block_q8_0 *x) {
    return dot_us(nib32(a->qs), ld256(x->qs));
}
static inline __m256i q5_0_one(const sk_block_q5_0 *a, const sk_block_q8_0 *x) {
    __m256i u = _mm256_or_si256(nib32(a->qs),
                                _mm256_and_si256(bits32(le32(a->qh)), _mm256_set1_epi8(0x10)));
    return dot_us(u, ld256(x->qs));
}

/* The row dot of Q4_0 / Q5_0 (code offset C) with a Q8_0 activation row: acc += the 8 lanes of
 * two blocks scaled by d_w·d_x ([a a a a b b b b]), bias += d_w·(d_x·Σq) per block. */
#define SK_DEF_Q32(NAME, BT, PAIR, ONE, C)                                                         \
    static float dot_##NAME(int64_t n, const void *w, const void *x, const float *ws) {            \
        (void)ws;                                                                                  \
        const BT *a = w;                                                                           \
        const sk_block_q8_0 *b = x;                                                                \
        const float *dx = (const float *)((const uint8_t *)x + sk_act_q8_0_fscale_offset(n));      \
        const float *sx = (const float *)((const uint8_t *)x + sk_act_q8_0_xsum_offset(n));        \
        const int8_t *xp = (const int8_t *)x + sk_act_q8_0_xpair_offset(n);                        \
        const __m256i i01 = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1),                             \
                      i23 = _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3);                             \
        __m256 acc = _mm256_setzero_ps();                                                          \
        __m128 bias = _mm_setzero_ps();                                                            \
        int64_t nb = n / 32, ib = 0;                                                               \
        for (; ib + 4 <= nb; ib += 4) {                                                            \
            SK_MCA_BEGIN("dot_" #NAME);                                                            \
            pf_ahead(a + ib, 2);                                                                   \
            uint64_t h4 = (uint64_t)a[ib].d | (uint64_t)a[ib + 1].d << 16 |                        \
                          (uint64_t)a[ib + 2].d << 32 | (uint64_t)a[ib + 3].d << 48;               \
            __m128 dw = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)h4));                            \
            __m256 s = _mm256_castps128_ps256(_mm_mul_ps(dw, _mm_loadu_ps(dx + ib)));              \
            bias = _mm_fmadd_ps(dw, _mm_loadu_ps(sx + ib), bias);                                  \
            __m256i p01 = PAIR(a + ib, xp + 32 * ib), p23 = PAIR(a + ib + 2, xp + 32 * ib + 64);   \
            acc = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(s, i01), _mm256_cvtepi32_ps(p01), acc); \
            acc = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(s, i23), _mm256_cvtepi32_ps(p23), acc); \
            SK_MCA_END();                                                                          \
        }                                                                                          \
        float bt = 0.0f;                                                                           \
        for (; ib < nb; ib++) {                                                                    \
            float d = fp16(a[ib].d);                                                               \
            acc = _mm256_fmadd_ps(_mm256_set1_ps(d * dx[ib]),                                      \
                                  _mm256_cvtepi32_ps(ONE(a + ib, b + ib)), acc);                   \
            bt += d * sx[ib];                                                                      \
        }                                                                                          \
        __m128 bs = _mm_add_ps(bias, _mm_movehl_ps(bias, bias));                                   \
        bs = _mm_add_ss(bs, _mm_movehdup_ps(bs));                                                  \
        return hsum8(acc) - (float)(C) * (_mm_cvtss_f32(bs) + bt);                                 \
    }

SK_DEF_Q32(q4_0, sk_block_q4_0, q4_0_pair, q4_0_one, 8)
SK_DEF_Q32(q5_0, sk_block_q5_0, q5_0_pair, q5_0_one, 16)
#undef SK_DEF_Q32

/* IQ4_NL: the codes index a signed codebook (sk_iq4nl_values), so the products take the sign
 * trick, maddubs(|v|, sign(x, v)), where Q4_0 takes its offset out of the loop; otherwise its
 * layout: two blocks per vector against the pair-ordered activation copy (act.c), four
 * blocks' fp16 scales through one cvtph, the activation scales from the f32 copy. The low and
 * high halves are widened to int32 apart: |v|·|x| pairs reach 2·127·127, so two of them do
 * not fit int16. Against one block per step with two scalar fp16 conversions per block, on
 * the Zen 3 at 2 threads (256 MB in 2 MiB pages, medians of 12-16 paired rounds): 1.66 times
 * the rate streamed at 7168 columns and 1.42 at 1408; 1.35-1.81 in L2, one thread. Its own
 * loop rather than SK_DEF_Q32 with no offset: no gemm4 has to match it, so it keeps two
 * accumulators; through the macro's one it ran 0.98 of this streamed and 0.81-0.96 in L2. */
static inline __m256i iq4nl_pair(const sk_block_iq4_nl *a, const int8_t *xp, __m256i lut) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi16(1);
    __m256i v = qs_pair(a[0].qs, a[1].qs);
    __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(v, m4));
    __m256i hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
    __m256i pl = _mm256_maddubs_epi16(_mm256_abs_epi8(lo), _mm256_sign_epi8(ld256(xp), lo));
    __m256i ph = _mm256_maddubs_epi16(_mm256_abs_epi8(hi), _mm256_sign_epi8(ld256(xp + 32), hi));
    return _mm256_add_epi32(_mm256_madd_epi16(pl, one), _mm256_madd_epi16(ph, one));
}

static float dot_iq4_nl(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_iq4_nl *a = w;
    const sk_block_q8_0 *b = x;
    const float *dx = (const float *)((const uint8_t *)x + sk_act_q8_0_fscale_offset(n));
    const int8_t *xp = (const int8_t *)x + sk_act_q8_0_xpair_offset(n);
    const __m256i lut = _mm256_broadcastsi128_si256(ld128(sk_iq4nl_values));
    const __m256i i01 = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1),
                  i23 = _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3);
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    int64_t nb = n / 32, ib = 0;
    for (; ib + 4 <= nb; ib += 4) {
        SK_MCA_BEGIN("dot_iq4_nl");
        pf_ahead(a + ib, 2);
        uint64_t h4 = (uint64_t)a[ib].d | (uint64_t)a[ib + 1].d << 16 |
                      (uint64_t)a[ib + 2].d << 32 | (uint64_t)a[ib + 3].d << 48;
        __m128 dw = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)h4));
        __m256 s = _mm256_castps128_ps256(_mm_mul_ps(dw, _mm_loadu_ps(dx + ib)));
        __m256i p01 = iq4nl_pair(a + ib, xp + 32 * ib, lut);
        __m256i p23 = iq4nl_pair(a + ib + 2, xp + 32 * ib + 64, lut);
        acc0 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(s, i01), _mm256_cvtepi32_ps(p01), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(s, i23), _mm256_cvtepi32_ps(p23), acc1);
        SK_MCA_END();
    }
    for (; ib < nb; ib++) {
        __m256i q = _mm256_shuffle_epi8(lut, nib32(a[ib].qs));
        __m256i p = dot_ss(q, ld256(b[ib].qs));
        acc0 = _mm256_fmadd_ps(_mm256_set1_ps(fp16(a[ib].d) * dx[ib]), _mm256_cvtepi32_ps(p), acc0);
    }
    return hsum8(_mm256_add_ps(acc0, acc1));
}

/* One Q5_0 row, four tokens (prompt batches): the codes of each pair of blocks and the four
 * weight scales decoded once; per token the float operations of dot_q5_0 in the same order,
 * so the results are bit-identical to it. (Q4_0 has none: prompt batches multiply its rows
 * token by token with dot_q4_0.) */
static void gemm4_q5_0(int64_t n, const void *w, const void *x, size_t xstride, const float *ws,
                       float *y, int64_t ystride) {
    (void)ws;
    const sk_block_q5_0 *a = w;
    const sk_block_q8_0 *b[4];
    const float *dx[4], *sx[4];
    const int8_t *xp[4];
    for (int t = 0; t < 4; t++) {
        const uint8_t *xt = (const uint8_t *)x + t * xstride;
        b[t] = (const sk_block_q8_0 *)xt;
        dx[t] = (const float *)(xt + sk_act_q8_0_fscale_offset(n));
        sx[t] = (const float *)(xt + sk_act_q8_0_xsum_offset(n));
        xp[t] = (const int8_t *)xt + sk_act_q8_0_xpair_offset(n);
    }
    const __m256i i01 = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1),
                  i23 = _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3);
    __m256 acc[4];
    __m128 bias[4];
    for (int t = 0; t < 4; t++) acc[t] = _mm256_setzero_ps(), bias[t] = _mm_setzero_ps();
    int64_t nb = n / 32, ib = 0;
    for (; ib + 4 <= nb; ib += 4) {
        uint64_t h4 = (uint64_t)a[ib].d | (uint64_t)a[ib + 1].d << 16 |
                      (uint64_t)a[ib + 2].d << 32 | (uint64_t)a[ib + 3].d << 48;
        __m128 dw = _mm_cvtph_ps(_mm_cvtsi64_si128((long long)h4));
        __m256i lo01, hi01, lo23, hi23;
        q5_0_codes(a + ib, &lo01, &hi01);
        q5_0_codes(a + ib + 2, &lo23, &hi23);
        for (int t = 0; t < 4; t++) {
            __m256 s = _mm256_castps128_ps256(_mm_mul_ps(dw, _mm_loadu_ps(dx[t] + ib)));
            bias[t] = _mm_fmadd_ps(dw, _mm_loadu_ps(sx[t] + ib), bias[t]);
            __m256i p01 = q32_pair(lo01, hi01, xp[t] + 32 * ib);
            __m256i p23 = q32_pair(lo23, hi23, xp[t] + 32 * ib + 64);
            acc[t] =
                _mm256_fmadd_ps(_mm256_permutevar8x32_ps(s, i01), _mm256_cvtepi32_ps(p01), acc[t]);
            acc[t] =
                _mm256_fmadd_ps(_mm256_permutevar8x32_ps(s, i23), _mm256_cvtepi32_ps(p23), acc[t]);
        }
    }
    float bt[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (; ib < nb; ib++) {
        float d = fp16(a[ib].d);
        for (int t = 0; t < 4; t++) {
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * dx[t][ib]),
                                     _mm256_cvtepi32_ps(q5_0_one(a + ib, b[t] + ib)), acc[t]);
            bt[t] += d * sx[t][ib];
        }
    }
    for (int t = 0; t < 4; t++) {
        __m128 bs = _mm_add_ps(bias[t], _mm_movehl_ps(bias[t], bias[t]));
        bs = _mm_add_ss(bs, _mm_movehdup_ps(bs));
        y[t * ystride] = hsum8(acc[t]) - 16.0f * (_mm_cvtss_f32(bs) + bt[t]);
    }
}

/* Q4_1 / Q5_1 (d, m per block) against Q8_1 activations (d_x, s = d_x·Σq per block): four
 * blocks per step, their (d, m) and (d_x, s) fp16 pairs through one cvtph each and one
 * multiply, [d·d_x, m·s] per block as the scalar code forms them; the m·s terms are summed in
 * the odd lanes of a vector and the codes · q of each block scaled by its d·d_x broadcast
 * (vpermps). Against one block per step with four scalar fp16 conversions and no prefetch, on
 * the Zen 3, paired medians of 12-15 rounds (IQR), 7168 / 2048 columns: Q4_1 streamed from
 * 256 MB at 2 threads 1.35 (1.30-1.36) / 1.28 (1.26-1.30), in L2 1.26 (1.14-1.30) / 1.28
 * (1.25-1.28); Q5_1 1.31 (1.28-1.36) / 1.26 (1.24-1.36) streamed, 1.30 (1.24-1.31) / 1.24
 * (1.22-1.27) in L2 (with nib32 as a broadcast and shift: without that, 1.14 and 1.24 in L2
 * at 7168). */
static inline __m256i q4_1_codes(const sk_block_q4_1 *a) {
    return nib32(a->qs);
}
static inline __m256i q5_1_codes(const sk_block_q5_1 *a) {
    return _mm256_or_si256(nib32(a->qs),
                           _mm256_and_si256(bits32(le32(a->qh)), _mm256_set1_epi8(0x10)));
}
/* The first 4 bytes (two fp16) of four consecutive blocks of `size` bytes, as 8 fp16. */
static inline __m128i fp16_pairs4(const uint8_t *p, size_t size) {
    uint64_t lo = (uint64_t)le32(p) | (uint64_t)le32(p + size) << 32;
    uint64_t hi = (uint64_t)le32(p + 2 * size) | (uint64_t)le32(p + 3 * size) << 32;
    return _mm_set_epi64x((long long)hi, (long long)lo);
}
#define SK_DEF_Q_1(NAME, BT, CODES)                                                                \
    static float dot_##NAME(int64_t n, const void *w, const void *x, const float *ws) {            \
        (void)ws;                                                                                  \
        const BT *a = w;                                                                           \
        const sk_block_q8_1 *b = x;                                                                \
        __m256 acc = _mm256_setzero_ps(), sm = acc;                                                \
        int64_t nb = n / 32, ib = 0;                                                               \
        for (; ib + 4 <= nb; ib += 4) {                                                            \
            SK_MCA_BEGIN("dot_" #NAME);                                                            \
            pf_ahead(a + ib, 2);                                                                   \
            __m256 P = _mm256_mul_ps(                                                              \
                _mm256_cvtph_ps(fp16_pairs4((const uint8_t *)(a + ib), sizeof(BT))),               \
                _mm256_cvtph_ps(fp16_pairs4((const uint8_t *)(b + ib), sizeof(sk_block_q8_1))));   \
            sm = _mm256_add_ps(sm, P);                                                             \
            for (int k = 0; k < 4; k++) {                                                          \
                __m256i p = dot_us(CODES(a + ib + k), ld256(b[ib + k].qs));                        \
                acc = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(P, _mm256_set1_epi32(2 * k)),       \
                                      _mm256_cvtepi32_ps(p), acc);                                 \
            }                                                                                      \
            SK_MCA_END();                                                                          \
        }                                                                                          \
        float st = 0.0f;                                                                           \
        for (; ib < nb; ib++) {                                                                    \
            __m256i p = dot_us(CODES(a + ib), ld256(b[ib].qs));                                    \
            acc = _mm256_fmadd_ps(_mm256_set1_ps(fp16(a[ib].d) * fp16(b[ib].d)),                   \
                                  _mm256_cvtepi32_ps(p), acc);                                     \
            st += fp16(a[ib].m) * fp16(b[ib].s);                                                   \
        }                                                                                          \
        __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(sm), _mm256_extractf128_ps(sm, 1));          \
        __m128 odd = _mm_movehdup_ps(s4); /* [s1 s1 s3 s3]: the m·s lanes */                      \
        return hsum8(acc) + _mm_cvtss_f32(_mm_add_ss(odd, _mm_movehl_ps(odd, odd))) + st;          \
    }
SK_DEF_Q_1(q4_1, sk_block_q4_1, q4_1_codes)
SK_DEF_Q_1(q5_1, sk_block_q5_1, q5_1_codes)
#undef SK_DEF_Q_1

/* ---- K-quants ---- */

/* Q4_K/Q5_K 6-bit scales and mins of the 8 sub-blocks from the 12 packed bytes:
 * words A = bytes 0..3, B = 4..7, C = 8..11;
 * sc[0..3] = A & 63, mn[0..3] = B & 63,
 * sc[4..7] = (C & 0xF) | (A >> 6) << 4, mn[4..7] = (C >> 4) | (B >> 6) << 4.
 * Done in general-purpose registers: the vector pipes are the bottleneck of these kernels
 * (a byte-shuffle version measured slower). *S = the 8 scales as int16 in both 128-bit
 * lanes, *m16 = the 8 mins as int16, each twice (pairs with the 16 bsums). */
static inline void kscales(const uint8_t *s, __m256i *S, __m256i *m16) {
    uint32_t A = le32(s), B = le32(s + 4), C = le32(s + 8);
    uint32_t sc0 = A & 0x3f3f3f3fu, mn0 = B & 0x3f3f3f3fu;
    uint32_t sc1 = (C & 0x0f0f0f0fu) | (((A >> 6) & 0x03030303u) << 4);
    uint32_t mn1 = ((C >> 4) & 0x0f0f0f0fu) | (((B >> 6) & 0x03030303u) << 4);
    *S = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sc1, (int)sc0)));
    __m128i m8 = _mm_set_epi32(0, 0, (int)mn1, (int)mn0);
    *m16 = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
}

/* Byte-shuffle masks that spread int16 lane j of a (twice broadcast) 8 × int16 vector over
 * all 16 lanes. */
static const uint8_t k_lane16[8][32] = {
#define SK_L(j)                                                                                    \
    {                                                                                              \
        2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1,  \
            2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j,         \
            2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1, 2 * j, 2 * j + 1,     \
            2 * j, 2 * j + 1, 2 * j, 2 * j + 1                                                     \
    }
    SK_L(0), SK_L(1), SK_L(2), SK_L(3), SK_L(4),
    SK_L(5), SK_L(6), SK_L(7)
#undef SK_L
};

/* Q4_K: 64 values per 32 code bytes, value i in the low nibble of byte i and value i + 32 in
 * its high nibble; sub-blocks of 32 values, each with its own 6-bit scale. One vector takes
 * 16 code bytes broadcast to both lanes, the high lane shifted right by 4 (V: values 0..15
 * low lane, 32..47 high lane), so its lanes belong to two sub-blocks (2p, 2p+1) and the
 * second 16 bytes (W: values 16..31, 48..63) to the same two; the activations come in that
 * order from the rearranged copy act.c appends (quarters 0, 2, 1, 3). maddubs(V)+maddubs(W)
 * stays exact in int16 (|pair| ≤ 2·15·128, two of them < 2^15), and one madd by
 * [sc_2p ×8 | sc_2p+1 ×8] applies both scales: per 64 values 2 maddubs and 1 madd where one
 * sub-block per vector takes 2 and 2 (about 4 % faster in cache at 7168 columns, 13 % at
 * 1536, measured on the Zen 3). */
static const uint8_t k_pair16[4][32] = {
#define SK_P(j)                                                                                    \
    {                                                                                              \
        4 * j, 4 * j + 1, 4 * j, 4 * j + 1, 4 * j, 4 * j + 1, 4 * j, 4 * j + 1, 4 * j, 4 * j + 1,  \
            4 * j, 4 * j + 1, 4 * j, 4 * j + 1, 4 * j, 4 * j + 1, 4 * j + 2, 4 * j + 3, 4 * j + 2, \
            4 * j + 3, 4 * j + 2, 4 * j + 3, 4 * j + 2, 4 * j + 3, 4 * j + 2, 4 * j + 3,           \
            4 * j + 2, 4 * j + 3, 4 * j + 2, 4 * j + 3, 4 * j + 2, 4 * j + 3                       \
    }
    SK_P(0), SK_P(1), SK_P(2), SK_P(3)
#undef SK_P
};

/* The codes of values 64p + [0..15 | 32..47] (half 0) or 64p + [16..31 | 48..63] (half 1). */
static inline __m256i q4k_half(const uint8_t *qs, int p, int half) {
    __m256i q = _mm256_broadcastsi128_si256(ld128(qs + 32 * p + 16 * half));
    return _mm256_and_si256(_mm256_srlv_epi32(q, _mm256_setr_epi32(0, 0, 0, 0, 4, 4, 4, 4)),
                            _mm256_set1_epi8(0x0F));
}

/* Σ_j sc_j·Σ u·q over the 8 sub-blocks of one Q4_K block (8 int32 lanes), with S as from
 * kscales and xp the block's 256 rearranged activation bytes. */
static inline __m256i q4k_isum(const sk_block_q4_K *a, const int8_t *xp, __m256i S) {
    __m256i isum = _mm256_setzero_si256();
    for (int p = 0; p < 4; p++) {
        __m256i s16 =
            _mm256_add_epi16(_mm256_maddubs_epi16(q4k_half(a->qs, p, 0), ld256(xp + 64 * p)),
                             _mm256_maddubs_epi16(q4k_half(a->qs, p, 1), ld256(xp + 64 * p + 32)));
        isum = _mm256_add_epi32(isum,
                                _mm256_madd_epi16(s16, _mm256_shuffle_epi8(S, ld256(k_pair16[p]))));
    }
    return isum;
}

/* Q8_K rows: the rearranged copy of the qs (act.c). */
static inline const int8_t *q8k_xperm(const void *x, int64_t n) {
    return (const int8_t *)x + sk_act_q8_K_xperm_offset(n);
}

/* One Q4_K block · Q8_K block (xp its rearranged qs), accumulated into acc as d·I − dmin·M. */
static inline __m256 q4k_block(const sk_block_q4_K *a, const sk_block_q8_K *b, const int8_t *xp,
                               __m256 acc) {
    __m256i S, m16;
    kscales(a->scales, &S, &m16);
    __m256i isum = q4k_isum(a, xp, S);
    __m256i msum = _mm256_madd_epi16(ld256(b->bsums), m16);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(b->d * fp16(a->d)), _mm256_cvtepi32_ps(isum), acc);
    return _mm256_fnmadd_ps(_mm256_set1_ps(b->d * fp16(a->dmin)), _mm256_cvtepi32_ps(msum), acc);
}

/* Q8_K rows: after the n/256 blocks, 8 int16 per block: the sums of q per 32 (act.c). A pair
 * of Q4_K blocks takes its min term in one madd of both blocks' sums by [mins a | mins b]. */
static inline const int16_t *q8k_s32(const void *x, int64_t n) {
    return (const int16_t *)((const uint8_t *)x + sk_act_q8_K_s32_offset(n));
}
/* The 8 mins of a Q4_K block as bytes (as kscales). */
static inline uint64_t kmins(const uint8_t *s) {
    uint32_t B = le32(s + 4), C = le32(s + 8);
    uint32_t mn0 = B & 0x3f3f3f3fu;
    uint32_t mn1 = ((C >> 4) & 0x0f0f0f0fu) | (((B >> 6) & 0x03030303u) << 4);
    return (uint64_t)mn0 | (uint64_t)mn1 << 32;
}

/* The scales of two Q4_K blocks (any two) at once in vector registers, the same values as
 * kscales: one 128-bit lane per block holds, after the decode, bytes sc0..7 then mn0..7. With
 * words A, B, C of a block: X = [A C B C] per lane, shifted right by 4 in the last dword and
 * masked to [63 15 63 15] per byte; plus the two high bits, ((A or B) >> 6) << 4, in dwords 1
 * and 3. The 16 bytes loaded from each block are its 12 scale bytes and 4 bytes of qs. */
static const uint8_t k_q4k_dec[4][32] = {
    {0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11,
     0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11},
    {0x80, 0x80, 0x80, 0x80, 0, 1, 2, 3, 0x80, 0x80, 0x80, 0x80, 4, 5, 6, 7,
     0x80, 0x80, 0x80, 0x80, 0, 1, 2, 3, 0x80, 0x80, 0x80, 0x80, 4, 5, 6, 7},
    /* → S: sc0..7 as int16, in both lanes (after the lane broadcast) */
    {0, 0x80, 1, 0x80, 2, 0x80, 3, 0x80, 4, 0x80, 5, 0x80, 6, 0x80, 7, 0x80,
     0, 0x80, 1, 0x80, 2, 0x80, 3, 0x80, 4, 0x80, 5, 0x80, 6, 0x80, 7, 0x80},
    /* → M: mn0..7 as int16, per lane (lane 0: block a, lane 1: block b) */
    {8, 0x80, 9, 0x80, 10, 0x80, 11, 0x80, 12, 0x80, 13, 0x80, 14, 0x80, 15, 0x80,
     8, 0x80, 9, 0x80, 10, 0x80, 11, 0x80, 12, 0x80, 13, 0x80, 14, 0x80, 15, 0x80},
};
static inline void kscales2(const uint8_t *sa, const uint8_t *sb, __m256i *Sa, __m256i *Sb,
                            __m256i *M) {
    __m256i raw = _mm256_inserti128_si256(_mm256_castsi128_si256(ld128(sa)), ld128(sb), 1);
    __m256i X = _mm256_shuffle_epi8(raw, ld256(k_q4k_dec[0]));
    __m256i Y = _mm256_shuffle_epi8(raw, ld256(k_q4k_dec[1]));
    X = _mm256_and_si256(_mm256_srlv_epi32(X, _mm256_setr_epi32(0, 0, 0, 4, 0, 0, 0, 4)),
                         _mm256_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f,
                                           0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
    Y = _mm256_and_si256(_mm256_srli_epi32(Y, 2), _mm256_setr_epi32(0, 0x30303030, 0, 0x30303030, 0,
                                                                    0x30303030, 0, 0x30303030));
    __m256i o = _mm256_or_si256(X, Y);
    __m256i oa = _mm256_permute2x128_si256(o, o, 0x00), ob = _mm256_permute2x128_si256(o, o, 0x11);
    __m256i ks = ld256(k_q4k_dec[2]);
    *Sa = _mm256_shuffle_epi8(oa, ks);
    *Sb = _mm256_shuffle_epi8(ob, ks);
    *M = _mm256_shuffle_epi8(o, ld256(k_q4k_dec[3]));
}

static float dot_q4_K(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q4_K *a = w;
    const sk_block_q8_K *b = x;
    const int16_t *s32 = q8k_s32(x, n);
    const int8_t *xp = q8k_xperm(x, n);
    const __m256i i0 = _mm256_set1_epi32(0), i2 = _mm256_set1_epi32(2),
                  i13 = _mm256_setr_epi32(1, 1, 1, 1, 3, 3, 3, 3);
    __m256 acc = _mm256_setzero_ps();
    int64_t nb = n / 256, ib = 0;
    for (; ib + 2 <= nb; ib += 2) {
        SK_MCA_BEGIN("dot_q4_K");
        pf_ahead(a + ib, 5); /* the pair's 288 bytes */
        __m256i S0, S1, M;
        kscales2(a[ib].scales, a[ib + 1].scales, &S0, &S1, &M);
        __m128i h = _mm_insert_epi32(_mm_cvtsi32_si128((int)le32((const uint8_t *)(a + ib))),
                                     (int)le32((const uint8_t *)(a + ib + 1)), 1);
        __m256 d = _mm256_castps128_ps256(
            _mm_mul_ps(_mm_cvtph_ps(h), _mm_setr_ps(b[ib].d, b[ib].d, b[ib + 1].d, b[ib + 1].d)));
        __m256i I0 = q4k_isum(a + ib, xp + 256 * ib, S0);
        __m256i I1 = q4k_isum(a + ib + 1, xp + 256 * (ib + 1), S1);
        __m256i ms = _mm256_madd_epi16(ld256(s32 + 8 * ib), M);
        acc = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(d, i0), _mm256_cvtepi32_ps(I0), acc);
        acc = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(d, i2), _mm256_cvtepi32_ps(I1), acc);
        acc = _mm256_fnmadd_ps(_mm256_permutevar8x32_ps(d, i13), _mm256_cvtepi32_ps(ms), acc);
        SK_MCA_END();
    }
    if (ib < nb) acc = q4k_block(a + ib, b + ib, xp + 256 * ib, acc);
    return hsum8(acc);
}

/* One Q4_K row, four tokens: nibbles, scale vectors and mins decoded once per block; per
 * token the same float operations in the same order as dot_q4_K (pairs of blocks, the min
 * term of a pair in one step; an odd last block as q4k_block). */
static void gemm4_q4_K(int64_t n, const void *w, const void *x, size_t xstride, const float *ws,
                       float *y, int64_t ystride) {
    (void)ws;
    const sk_block_q4_K *a = w;
    const sk_block_q8_K *b[4];
    const int16_t *s32[4];
    const int8_t *xp[4];
    for (int t = 0; t < 4; t++) {
        b[t] = (const sk_block_q8_K *)((const uint8_t *)x + t * xstride);
        s32[t] = q8k_s32(b[t], n);
        xp[t] = q8k_xperm(b[t], n);
    }
    __m256 c[4];
    for (int t = 0; t < 4; t++) c[t] = _mm256_setzero_ps();
    int64_t nb = n / 256, ib = 0;
    /* I[t] += the sub-block sums of block blk for the 4 tokens */
#define SK_I4(I, blk, jb)                                                                          \
    do {                                                                                           \
        for (int t = 0; t < 4; t++) I[t] = _mm256_setzero_si256();                                 \
        for (int p = 0; p < 4; p++) {                                                              \
            __m256i v0 = q4k_half((blk)->qs, p, 0), v1 = q4k_half((blk)->qs, p, 1);                \
            __m256i sp = _mm256_shuffle_epi8(S, ld256(k_pair16[p]));                               \
            for (int t = 0; t < 4; t++) {                                                          \
                const int8_t *yy = xp[t] + 256 * (jb) + 64 * p;                                    \
                __m256i s16 = _mm256_add_epi16(_mm256_maddubs_epi16(v0, ld256(yy)),                \
                                               _mm256_maddubs_epi16(v1, ld256(yy + 32)));          \
                I[t] = _mm256_add_epi32(I[t], _mm256_madd_epi16(s16, sp));                         \
            }                                                                                      \
        }                                                                                          \
    } while (0)
    for (; ib + 2 <= nb; ib += 2) {
        __m256i S, m16, Ia[4], Ib[4];
        kscales(a[ib].scales, &S, &m16);
        SK_I4(Ia, a + ib, ib);
        kscales(a[ib + 1].scales, &S, &m16);
        SK_I4(Ib, a + ib + 1, ib + 1);
        __m256i M = _mm256_cvtepu8_epi16(
            _mm_set_epi64x((long long)kmins(a[ib + 1].scales), (long long)kmins(a[ib].scales)));
        float dwa = fp16(a[ib].d), dma = fp16(a[ib].dmin);
        float dwb = fp16(a[ib + 1].d), dmb = fp16(a[ib + 1].dmin);
        for (int t = 0; t < 4; t++) {
            float xa = b[t][ib].d, xb = b[t][ib + 1].d;
            __m256i ms = _mm256_madd_epi16(ld256(s32[t] + 8 * ib), M);
            c[t] = _mm256_fmadd_ps(_mm256_set1_ps(dwa * xa), _mm256_cvtepi32_ps(Ia[t]), c[t]);
            c[t] = _mm256_fmadd_ps(_mm256_set1_ps(dwb * xb), _mm256_cvtepi32_ps(Ib[t]), c[t]);
            c[t] = _mm256_fnmadd_ps(_mm256_set_m128(_mm_set1_ps(dmb * xb), _mm_set1_ps(dma * xa)),
                                    _mm256_cvtepi32_ps(ms), c[t]);
        }
    }
    if (ib < nb) {
        __m256i S, m16, I[4];
        kscales(a[ib].scales, &S, &m16);
        SK_I4(I, a + ib, ib);
        float dw = fp16(a[ib].d), dm = fp16(a[ib].dmin);
        for (int t = 0; t < 4; t++) {
            __m256i ms = _mm256_madd_epi16(ld256(b[t][ib].bsums), m16);
            c[t] = _mm256_fmadd_ps(_mm256_set1_ps(b[t][ib].d * dw), _mm256_cvtepi32_ps(I[t]), c[t]);
            c[t] = _mm256_fnmadd_ps(_mm256_set1_ps(b[t][ib].d * dm), _mm256_cvtepi32_ps(ms), c[t]);
        }
    }
#undef SK_I4
    for (int t = 0; t < 4; t++) y[t * ystride] = hsum8(c[t]);
}

/* Every byte of v with its bits from, from+1, … moved to to, to+1, … by one 16-bit shift
 * (none when from = to). The bits a shift carries over from the neighbouring byte land below
 * `to` (left shifts) or above the moved field (right shifts), so a caller that masks the
 * field keeps only bits of the same byte. Used for the high bits of Q3_K (bit k of hmask to
 * bit 2), Q5_K (bit b of qh to bit 4) and Q6_K (bits 2k..2k+1 of qh to 4..5): one shift per
 * field where a running shift of the source, a mask and a shift back took two or three.
 * Q5_K: 7 shifts per block where 16 were; same codes; dot_q5_K on the Zen 3, paired medians
 * of 12-15 rounds (IQR): 1.090 (1.075-1.113) at 7168 columns and 1.081 (1.077-1.092) at 1536
 * in L2; streamed at 2 threads 1.078 (1.047-1.089) and 1.075 (1.071-1.088). llvm-mca: 22.9
 * cycles per block, was 25.2. */
static inline __m256i byte_bits_move(__m256i v, int from, int to) {
    return from < to   ? _mm256_slli_epi16(v, to - from)
           : from > to ? _mm256_srli_epi16(v, from - to)
                       : v;
}

static float dot_q5_K(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q5_K *a = w;
    const sk_block_q8_K *b = x;
    const __m256i m4 = _mm256_set1_epi8(0x0F), b4 = _mm256_set1_epi8(0x10);
    __m256 acc = _mm256_setzero_ps(), accm = acc;
    for (int64_t ib = 0; ib < n / 256; ib++) {
        SK_MCA_BEGIN("dot_q5_K");
        pf_ahead(a + ib, 3);
        __m256i S, m16;
        kscales(a[ib].scales, &S, &m16);
        __m256i qh = ld256(a[ib].qh), isum = _mm256_setzero_si256();
        for (int p = 0; p < 4; p++) {
            __m256i q = ld256(a[ib].qs + 32 * p);
            __m256i hl = _mm256_and_si256(byte_bits_move(qh, 2 * p, 4), b4);
            __m256i hh = _mm256_and_si256(byte_bits_move(qh, 2 * p + 1, 4), b4);
            __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), hl);
            __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), hh);
            __m256i p0 = _mm256_maddubs_epi16(lo, ld256(b[ib].qs + 64 * p));
            __m256i p1 = _mm256_maddubs_epi16(hi, ld256(b[ib].qs + 64 * p + 32));
            p0 = _mm256_madd_epi16(p0, _mm256_shuffle_epi8(S, ld256(k_lane16[2 * p])));
            p1 = _mm256_madd_epi16(p1, _mm256_shuffle_epi8(S, ld256(k_lane16[2 * p + 1])));
            isum = _mm256_add_epi32(isum, _mm256_add_epi32(p0, p1));
        }
        __m256i msum = _mm256_madd_epi16(ld256(b[ib].bsums), m16);
        acc =
            _mm256_fmadd_ps(_mm256_set1_ps(b[ib].d * fp16(a[ib].d)), _mm256_cvtepi32_ps(isum), acc);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(b[ib].d * fp16(a[ib].dmin)), _mm256_cvtepi32_ps(msum),
                               accm);
        SK_MCA_END();
    }
    return hsum8(acc) - hsum8(accm);
}

/* The 16 int8 scales of a K-quant block (Q2_K: unsigned 4-bit, Q3_K/Q6_K: signed) widened to
 * int16 once per block: S[0] = scales 0-7, S[1] = 8-15, each in both 128-bit lanes. */
static inline void scales16(__m128i s8, int is_signed, __m256i S[2]) {
    __m128i hi8 = _mm_unpackhi_epi64(s8, s8);
    __m128i lo = is_signed ? _mm_cvtepi8_epi16(s8) : _mm_cvtepu8_epi16(s8);
    __m128i hi = is_signed ? _mm_cvtepi8_epi16(hi8) : _mm_cvtepu8_epi16(hi8);
    S[0] = _mm256_broadcastsi128_si256(lo);
    S[1] = _mm256_broadcastsi128_si256(hi);
}

/* int16 scale vector for 32 values covering 16-value sub-blocks i and i+1 (i even): lanes
 * 0..7 = s[i], lanes 8..15 = s[i+1]; one in-lane shuffle of S (scales16), where widening
 * each pair from bytes (a byte shuffle, then a lane-crossing extension) took about 2.5
 * micro-ops. Same bits; Zen 3, 7168 columns, new/old paired medians: Q2_K 1.12 streamed on 2
 * threads (IQR 1.12-1.13), 1.15 in L1; Q6_K 1.07 streamed (0.92-1.18), 1.10 in L1; Q3_K
 * 1.01-1.07 (with its high-bit change below, 1.18 streamed). */
static inline __m256i scale_pair(const __m256i S[2], int i) {
    return _mm256_shuffle_epi8(S[i / 8], ld256(k_pair16[(i % 8) / 2]));
}

/* The 6-bit codes of 128 Q6_K values (one half of a block) from its 64 ql bytes (l0, l1) and
 * 32 qh bytes: u[k] = low or high nibble of ql | bits 2k..2k+1 of qh at bits 4..5
 * (byte_bits_move, mask 0x30): 3 shifts per half where shift right by 2k, mask with 3 and
 * shift left by 4 took 7. Same codes; dot_q6_K on the Zen 3, paired medians of 15 rounds:
 * 1.065 (IQR 1.056-1.093) at 7168 columns and 1.064 (1.060-1.082) at 1536 in L2; streamed at
 * 2 threads, where it already reads at 0.8-0.9 of the probe, 0.98-1.00. llvm-mca: 21.4
 * cycles per block, was 23.5. */
static inline void q6k_codes(__m256i l0, __m256i l1, __m256i qh, __m256i u[4]) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    const __m256i lo[4] = {_mm256_and_si256(l0, m4), _mm256_and_si256(l1, m4),
                           _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                           _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4)};
    for (int k = 0; k < 4; k++)
        u[k] = _mm256_or_si256(lo[k], _mm256_and_si256(byte_bits_move(qh, 2 * k, 4), m30));
}

/* One Q6_K block · Q8_K block into acc (8 lanes): the 6-bit codes u (0..63) times x with the
 * signed scales, minus the −32 offset through the bsums. */
static inline __m256 q6k_block(const sk_block_q6_K *a, const sk_block_q8_K *b, __m256 acc) {
    __m128i s8 = ld128(a->scales);
    __m256i S[2], isum = _mm256_setzero_si256();
    scales16(s8, 1, S);
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = a->ql + 64 * h;
        const int8_t *y = b->qs + 128 * h;
        __m256i u[4];
        q6k_codes(ld256(ql), ld256(ql + 32), ld256(a->qh + 32 * h), u);
#define SK_Q6K_K(k, u)                                                                             \
    isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(u, ld256(y + 32 * (k))),  \
                                                    scale_pair(S, 8 * h + 2 * (k))))
        SK_Q6K_K(0, u[0]);
        SK_Q6K_K(1, u[1]);
        SK_Q6K_K(2, u[2]);
        SK_Q6K_K(3, u[3]);
#undef SK_Q6K_K
    }
    /* the −32 offset: 32·Σ_sb sc_sb·bsums_sb */
    __m256i corr = _mm256_madd_epi16(ld256(b->bsums), _mm256_cvtepi8_epi16(s8));
    isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(corr, 5));
    return _mm256_fmadd_ps(_mm256_set1_ps(b->d * fp16(a->d)), _mm256_cvtepi32_ps(isum), acc);
}

static float dot_q6_K(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q6_K *a = w;
    const sk_block_q8_K *b = x;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < n / 256; ib++) {
        SK_MCA_BEGIN("dot_q6_K");
        pf_ahead(a + ib, 4);
        acc = q6k_block(a + ib, b + ib, acc);
        SK_MCA_END();
    }
    return hsum8(acc);
}

/* One Q6_K row, four tokens: the 6-bit codes and scale vectors decoded once per block; per
 * token the same integer sums and f32 operations as dot_q6_K (bit-identical). */
static void gemm4_q6_K(int64_t n, const void *w, const void *x, size_t xstride, const float *ws,
                       float *y, int64_t ystride) {
    (void)ws;
    const sk_block_q6_K *a = w;
    const sk_block_q8_K *b[4];
    for (int t = 0; t < 4; t++) b[t] = (const sk_block_q8_K *)((const uint8_t *)x + t * xstride);
    __m256 c[4];
    for (int t = 0; t < 4; t++) c[t] = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < n / 256; ib++) {
        __m128i s8 = ld128(a[ib].scales);
        __m256i S[2], i0 = _mm256_setzero_si256(), i1 = i0, i2 = i0, i3 = i0;
        scales16(s8, 1, S);
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = a[ib].ql + 64 * h;
            __m256i u[4];
            q6k_codes(ld256(ql), ld256(ql + 32), ld256(a[ib].qh + 32 * h), u);
            for (int k = 0; k < 4; k++) {
                __m256i sp = scale_pair(S, 8 * h + 2 * k);
                int off = 128 * h + 32 * k;
                i0 = _mm256_add_epi32(
                    i0,
                    _mm256_madd_epi16(_mm256_maddubs_epi16(u[k], ld256(b[0][ib].qs + off)), sp));
                i1 = _mm256_add_epi32(
                    i1,
                    _mm256_madd_epi16(_mm256_maddubs_epi16(u[k], ld256(b[1][ib].qs + off)), sp));
                i2 = _mm256_add_epi32(
                    i2,
                    _mm256_madd_epi16(_mm256_maddubs_epi16(u[k], ld256(b[2][ib].qs + off)), sp));
                i3 = _mm256_add_epi32(
                    i3,
                    _mm256_madd_epi16(_mm256_maddubs_epi16(u[k], ld256(b[3][ib].qs + off)), sp));
            }
        }
        __m256i s16 = _mm256_cvtepi8_epi16(s8);
        float dw = fp16(a[ib].d);
        __m256i is[4] = {i0, i1, i2, i3};
        for (int t = 0; t < 4; t++) {
            __m256i corr = _mm256_madd_epi16(ld256(b[t][ib].bsums), s16);
            __m256i isum = _mm256_sub_epi32(is[t], _mm256_slli_epi32(corr, 5));
            c[t] = _mm256_fmadd_ps(_mm256_set1_ps(b[t][ib].d * dw), _mm256_cvtepi32_ps(isum), c[t]);
        }
    }
    for (int t = 0; t < 4; t++) y[t * ystride] = hsum8(c[t]);
}

/* The 16 six-bit Q3_K scales minus 32 as int8, from words A = bytes 0..3, B = 4..7, C = 8..11:
 * scales 0-3 = A & 0xF | (C & 3) << 4, 4-7 = B & 0xF | (C >> 2 & 3) << 4,
 * 8-11 = A >> 4 | (C >> 4 & 3) << 4, 12-15 = B >> 4 | (C >> 6 & 3) << 4 (per byte). */
static inline __m128i q3k_scales(const uint8_t *s) {
    uint32_t A = le32(s), B = le32(s + 4), C = le32(s + 8);
    const uint32_t m4 = 0x0F0F0F0Fu, m2 = 0x03030303u;
    __m128i v =
        _mm_set_epi32((int)(((B >> 4) & m4) | (((C >> 6) & m2) << 4)),
                      (int)(((A >> 4) & m4) | (((C >> 4) & m2) << 4)),
                      (int)((B & m4) | (((C >> 2) & m2) << 4)), (int)((A & m4) | ((C & m2) << 4)));
    return _mm_sub_epi8(v, _mm_set1_epi8(32));
}

static float dot_q3_K(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q3_K *a = w;
    const sk_block_q8_K *b = x;
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < n / 256; ib++) {
        SK_MCA_BEGIN("dot_q3_K");
        pf_ahead(a + ib, 2);
        __m128i s8 = q3k_scales(a[ib].scales);
        __m256i S[2], hm = ld256(a[ib].hmask), isum = _mm256_setzero_si256();
        scales16(s8, 1, S);
        for (int h = 0; h < 2; h++) {
            __m256i q = ld256(a[ib].qs + 32 * h);
            for (int j = 0; j < 4; j++) {
                /* high bit 4h + j of each hmask byte at bit 2 */
                __m256i hb = _mm256_and_si256(byte_bits_move(hm, 4 * h + j, 2), four);
                __m256i u = _mm256_or_si256(_mm256_and_si256(q, m3), hb);
                q = _mm256_srli_epi16(q, 2);
                __m256i p = _mm256_maddubs_epi16(u, ld256(b[ib].qs + 128 * h + 32 * j));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, scale_pair(S, 8 * h + 2 * j)));
            }
        }
        __m256i corr = _mm256_madd_epi16(ld256(b[ib].bsums), _mm256_cvtepi8_epi16(s8));
        isum = _mm256_sub_epi32(isum, _mm256_slli_epi32(corr, 2));
        acc =
            _mm256_fmadd_ps(_mm256_set1_ps(b[ib].d * fp16(a[ib].d)), _mm256_cvtepi32_ps(isum), acc);
        SK_MCA_END();
    }
    return hsum8(acc);
}

static float dot_q2_K(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_q2_K *a = w;
    const sk_block_q8_K *b = x;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m128i m4 = _mm_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps(), accm = acc;
    for (int64_t ib = 0; ib < n / 256; ib++) {
        SK_MCA_BEGIN("dot_q2_K");
        pf_ahead(a + ib, 2);
        __m128i s = ld128(a[ib].scales);
        __m128i sc = _mm_and_si128(s, m4), mn = _mm_and_si128(_mm_srli_epi16(s, 4), m4);
        __m256i S[2], isum = _mm256_setzero_si256();
        scales16(sc, 0, S);
        for (int h = 0; h < 2; h++) {
            __m256i q = ld256(a[ib].qs + 32 * h);
            for (int j = 0; j < 4; j++) {
                __m256i u = _mm256_and_si256(q, m3);
                q = _mm256_srli_epi16(q, 2);
                __m256i p = _mm256_maddubs_epi16(u, ld256(b[ib].qs + 128 * h + 32 * j));
                isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, scale_pair(S, 8 * h + 2 * j)));
            }
        }
        __m256i msum = _mm256_madd_epi16(ld256(b[ib].bsums), _mm256_cvtepu8_epi16(mn));
        acc =
            _mm256_fmadd_ps(_mm256_set1_ps(b[ib].d * fp16(a[ib].d)), _mm256_cvtepi32_ps(isum), acc);
        accm = _mm256_fmadd_ps(_mm256_set1_ps(b[ib].d * fp16(a[ib].dmin)), _mm256_cvtepi32_ps(msum),
                               accm);
        SK_MCA_END();
    }
    return hsum8(acc) - hsum8(accm);
}

/* The 8 IQ4_XS sub-block scales ls−32 as int16, twice (both 128-bit lanes). */
static inline __m256i iq4xs_scales(const sk_block_iq4_xs *a) {
    uint32_t l = le32(a->scales_l);
    __m128i low8 = _mm_unpacklo_epi8(_mm_cvtsi32_si128((int)(l & 0x0F0F0F0Fu)),
                                     _mm_cvtsi32_si128((int)((l >> 4) & 0x0F0F0F0Fu)));
    __m256i h = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(a->scales_h),
                                                   _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14)),
                                 _mm256_set1_epi32(3));
    __m128i h16 = _mm_packus_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    __m128i ls = _mm_or_si128(_mm_cvtepu8_epi16(low8), _mm_slli_epi16(h16, 4));
    return _mm256_broadcastsi128_si256(_mm_sub_epi16(ls, _mm_set1_epi16(32)));
}

/* IQ4_XS: sub-block k (32 values) is qs[16k..16k+15], value i in the low nibble of byte i and
 * i + 16 in its high nibble. One 32-byte load takes sub-blocks 2p and 2p+1 as the two lanes,
 * so its low nibbles are values 0..15 of each and its high nibbles 16..31: the activations
 * in that order are the rearranged Q8_K copy the Q4_K kernels read (quarters 0, 2, 1, 3,
 * act.c), and one scale vector [ls_2p ×8 | ls_2p+1 ×8] serves both halves. The products take
 * the sign trick; each maddubs is widened by its own madd (two |v|·|x| pairs reach 2·127·127,
 * so two of them do not fit int16). Against one sub-block per vector (nibbles split by a
 * 128-bit shift and a lane insert, a scale shuffle per sub-block), on the Zen 3, paired
 * medians of 12-15 rounds (IQR): 1.27 (1.26-1.30) at 7168 columns and 1.25 (1.13-1.32) at
 * 2048 in L2, one thread; streamed from 256 MB at 2 threads 1.25 (1.18-1.29) and 1.25
 * (1.22-1.29). llvm-mca (bench/mca.sh): 23.2 cycles per block where the old loop took 30.2. */
static float dot_iq4_xs(int64_t n, const void *w, const void *x, const float *ws) {
    (void)ws;
    const sk_block_iq4_xs *a = w;
    const sk_block_q8_K *b = x;
    const int8_t *xp = q8k_xperm(x, n);
    const __m256i lut = _mm256_broadcastsi128_si256(ld128(sk_iq4nl_values));
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < n / 256; ib++) {
        SK_MCA_BEGIN("dot_iq4_xs");
        pf_ahead(a + ib, 3);
        __m256i S = iq4xs_scales(&a[ib]), isum = _mm256_setzero_si256();
        const int8_t *y = xp + 256 * ib;
        for (int p = 0; p < 4; p++) {
            __m256i v = ld256(a[ib].qs + 32 * p);
            __m256i ql = _mm256_shuffle_epi8(lut, _mm256_and_si256(v, m4));
            __m256i qh = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), m4));
            __m256i yl = ld256(y + 64 * p), yh = ld256(y + 64 * p + 32);
            __m256i pl = _mm256_maddubs_epi16(_mm256_sign_epi8(ql, ql), _mm256_sign_epi8(yl, ql));
            __m256i ph = _mm256_maddubs_epi16(_mm256_sign_epi8(qh, qh), _mm256_sign_epi8(yh, qh));
            __m256i sp = _mm256_shuffle_epi8(S, ld256(k_pair16[p]));
            isum = _mm256_add_epi32(
                isum, _mm256_add_epi32(_mm256_madd_epi16(pl, sp), _mm256_madd_epi16(ph, sp)));
        }
        acc =
            _mm256_fmadd_ps(_mm256_set1_ps(b[ib].d * fp16(a[ib].d)), _mm256_cvtepi32_ps(isum), acc);
        SK_MCA_END();
    }
    return hsum8(acc);
}

/* ---- activation quantizers (bit-identical to kern_scalar.c's) ---- */

/* x·scale clamped to [-128, 127] with NaN → 0, as the scalar clamp_i8. */
static inline __m256 q_clamp(__m256 v) {
    v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
    return _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-128.0f)), _mm256_set1_ps(127.0f));
}

/* Round half away from zero of a clamped vector: trunc, then ±1 where the exact fraction
 * reaches ±0.5 (the scalar round_away_i8). */
static inline __m256i q_round_away(__m256 v) {
    __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    __m256 f = _mm256_sub_ps(v, t), one = _mm256_set1_ps(1.0f);
    t = _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(f, _mm256_set1_ps(0.5f), _CMP_GE_OQ), one));
    t = _mm256_sub_ps(t, _mm256_and_ps(_mm256_cmp_ps(f, _mm256_set1_ps(-0.5f), _CMP_LE_OQ), one));
    return _mm256_cvttps_epi32(t);
}

/* Four vectors of 8 int32 in [-128, 127] → 32 int8 in order. */
static inline __m256i q_pack32(__m256i a, __m256i b, __m256i c, __m256i d) {
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* Max over |x| of 8n values with NaN lanes ignored: max_ps returns its second operand when
 * either is NaN, and the running maximum (second) never is. */
static inline float q_amax(const float *x, int n8) {
    const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    __m256 m = _mm256_setzero_ps();
    for (int i = 0; i < n8; i++)
        m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + 8 * i), abs), m);
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

static inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

static void quant_q8_0(const float *x, sk_block_q8_0 *y, int16_t *qsum, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++, x += 32) {
        float amax = q_amax(x, 4);
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        __m256 s = _mm256_set1_ps(id);
        __m256i q[4];
        for (int i = 0; i < 4; i++)
            q[i] = q_round_away(q_clamp(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * i), s)));
        _mm256_storeu_si256((__m256i *)y[b].qs, q_pack32(q[0], q[1], q[2], q[3]));
        y[b].d = sk_f32_to_fp16(d);
        qsum[b] = (int16_t)hsum_i32(
            _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    }
}

static void quant_q8_K(const float *x, sk_block_q8_K *y, int64_t n) {
    const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7FFFFFFF));
    for (int64_t b = 0; b < n / 256; b++, x += 256) {
        float amax = q_amax(x, 32);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof y[b]);
            continue;
        }
        /* the first value of largest magnitude, as the scalar strict-greater scan finds */
        float max = 0.0f;
        const __m256 am = _mm256_set1_ps(amax);
        for (int i = 0; i < 32; i++) {
            __m256 a = _mm256_and_ps(_mm256_loadu_ps(x + 8 * i), abs);
            int m = _mm256_movemask_ps(_mm256_cmp_ps(a, am, _CMP_EQ_OQ));
            if (m) {
                max = x[8 * i + __builtin_ctz((unsigned)m)];
                break;
            }
        }
        float iscale = -127.0f / max;
        __m256 s = _mm256_set1_ps(iscale);
        for (int g = 0; g < 8; g++) { /* 32 values: 4 vectors, 2 bsums */
            __m256i q[4];
            for (int i = 0; i < 4; i++) {
                __m256 v = q_clamp(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * g + 8 * i), s));
                q[i] = _mm256_cvtps_epi32(
                    _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            }
            _mm256_storeu_si256((__m256i *)(y[b].qs + 32 * g), q_pack32(q[0], q[1], q[2], q[3]));
            y[b].bsums[2 * g] = (int16_t)hsum_i32(_mm256_add_epi32(q[0], q[1]));
            y[b].bsums[2 * g + 1] = (int16_t)hsum_i32(_mm256_add_epi32(q[2], q[3]));
        }
        y[b].d = 1.0f / iscale;
    }
}

/* ---- vector ops ---- */

/* e^x for 8 floats: x = n·ln2 + r, |r| ≤ ln2/2, e^r by the degree-7 Taylor-like minimax
 * polynomial of Cephes' expf; 2^n through the exponent bits. Inputs are clamped to
 * [-87.3, 88.3]: below (−inf included) the result is 0, above ≈ 2e38 instead of inf. */
static inline __m256 exp8(__m256 x) {
    __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_GE_OQ); /* below (and NaN): 0 */
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), keep);
}

static float v_dot(const float *a, const float *b, int64_t n) {
    return dot_f32(n, a, b, NULL);
}
static void v_add(float *y, const float *a, const float *b, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (; i < n; i++) y[i] = a[i] + b[i];
}
static void v_mad(float *y, const float *x, float s, int64_t n) {
    __m256 sv = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i,
                         _mm256_fmadd_ps(sv, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] += s * x[i];
}
/* Eight rows at a time, one accumulator each (the eight chains hide the FMA latency) and q
 * loaded once per 8 columns for all of them; the eight sums reduced together. */
static void v_attn_dots(const float *q, const float *k, size_t ld, int64_t n, int64_t d,
                        float *out) {
    const int64_t d8 = d & ~(int64_t)7;
    int64_t s = 0;
    for (; s + 8 <= n; s += 8) {
        const float *r = k + (size_t)s * ld;
        __m256 a[8];
        for (int j = 0; j < 8; j++) a[j] = _mm256_setzero_ps();
        for (int64_t i = 0; i < d8; i += 8) {
            __m256 qv = _mm256_loadu_ps(q + i);
            for (int j = 0; j < 8; j++)
                a[j] = _mm256_fmadd_ps(_mm256_loadu_ps(r + j * ld + i), qv, a[j]);
        }
        __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
        __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
        __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
        __m256 sum = _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                                   _mm256_permute2f128_ps(u0, u1, 0x31));
        _mm256_storeu_ps(out + s, sum);
        for (int64_t i = d8; i < d; i++)
            for (int j = 0; j < 8; j++) out[s + j] += q[i] * r[j * ld + i];
    }
    for (; s < n; s++) {
        const float *r = k + (size_t)s * ld;
        __m256 a = _mm256_setzero_ps();
        for (int64_t i = 0; i < d8; i += 8)
            a = _mm256_fmadd_ps(_mm256_loadu_ps(r + i), _mm256_loadu_ps(q + i), a);
        float t = hsum8(a);
        for (int64_t i = d8; i < d; i++) t += q[i] * r[i];
        out[s] = t;
    }
}

/* o += p[s]·v_s for s in order, with o held in registers 64 floats at a time: the lane
 * operations of n v_mad calls (fmadd(p, v, o), then the scalar tail), so the same bits. */
static void v_attn_mix(float *o, const float *v, size_t ld, const float *p, int64_t n, int64_t d) {
    int64_t i = 0;
    for (; i + 64 <= d; i += 64) {
        __m256 a[8];
        for (int j = 0; j < 8; j++) a[j] = _mm256_loadu_ps(o + i + 8 * j);
        for (int64_t s = 0; s < n; s++) {
            const float *r = v + (size_t)s * ld + i;
            __m256 ps = _mm256_set1_ps(p[s]);
            for (int j = 0; j < 8; j++)
                a[j] = _mm256_fmadd_ps(ps, _mm256_loadu_ps(r + 8 * j), a[j]);
        }
        for (int j = 0; j < 8; j++) _mm256_storeu_ps(o + i + 8 * j, a[j]);
    }
    for (; i + 8 <= d; i += 8) {
        __m256 a = _mm256_loadu_ps(o + i);
        for (int64_t s = 0; s < n; s++)
            a = _mm256_fmadd_ps(_mm256_set1_ps(p[s]), _mm256_loadu_ps(v + (size_t)s * ld + i), a);
        _mm256_storeu_ps(o + i, a);
    }
    for (; i < d; i++) {
        float y = o[i];
        for (int64_t s = 0; s < n; s++) y += p[s] * v[(size_t)s * ld + i];
        o[i] = y;
    }
}

static void v_scale(float *y, float s, int64_t n) {
    __m256 sv = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(sv, _mm256_loadu_ps(y + i)));
    for (; i < n; i++) y[i] *= s;
}
static float v_sumsq(const float *x, int64_t n) {
    return dot_f32(n, x, x, NULL);
}
static void v_mul_scale(float *y, const float *x, const float *w, float s, int64_t n) {
    __m256 sv = _mm256_set1_ps(s);
    int64_t i = 0;
    if (w) {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), sv),
                                                  _mm256_loadu_ps(w + i)));
        for (; i < n; i++) y[i] = x[i] * s * w[i];
    } else {
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), sv));
        for (; i < n; i++) y[i] = x[i] * s;
    }
}
static float v_max(const float *x, int64_t n) {
    __m256 m = _mm256_set1_ps(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    float r = _mm_cvtss_f32(h);
    for (; i < n; i++) r = x[i] > r ? x[i] : r;
    return r;
}
static float v_exp_sub_sum(float *x, float m, int64_t n) {
    __m256 mv = _mm256_set1_ps(m), s = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
        _mm256_storeu_ps(x + i, e);
        s = _mm256_add_ps(s, e);
    }
    float r = hsum8(s);
    for (; i < n; i++) {
        x[i] = expf(x[i] - m);
        r += x[i];
    }
    return r;
}
static inline __m256 silu8(__m256 g) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
    return _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}
static void v_silu(float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, silu8(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) x[i] = x[i] / (1.0f + expf(-x[i]));
}
static void v_swiglu(float *out, const float *g, const float *u, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(out + i,
                         _mm256_mul_ps(silu8(_mm256_loadu_ps(g + i)), _mm256_loadu_ps(u + i)));
    for (; i < n; i++) out[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}
static void v_sigmoid(float *x, int64_t n) {
    int64_t i = 0;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_loadu_ps(x + i)));
        _mm256_storeu_ps(x + i, _mm256_div_ps(one, _mm256_add_ps(one, e)));
    }
    for (; i < n; i++) x[i] = 1.0f / (1.0f + expf(-x[i]));
}

static uint64_t v_read_sum(const void *p, size_t bytes) {
    const uint8_t *q = p;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
            a7 = a0;
    for (size_t i = 0; i + 256 <= bytes; i += 256) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *)(q + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *)(q + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *)(q + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *)(q + i + 96)));
        a4 = _mm256_add_epi64(a4, _mm256_load_si256((const __m256i *)(q + i + 128)));
        a5 = _mm256_add_epi64(a5, _mm256_load_si256((const __m256i *)(q + i + 160)));
        a6 = _mm256_add_epi64(a6, _mm256_load_si256((const __m256i *)(q + i + 192)));
        a7 = _mm256_add_epi64(a7, _mm256_load_si256((const __m256i *)(q + i + 224)));
    }
    __m256i s =
        _mm256_xor_si256(_mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3)),
                         _mm256_xor_si256(_mm256_xor_si256(a4, a5), _mm256_xor_si256(a6, a7)));
    uint64_t o[4];
    _mm256_storeu_si256((__m256i *)o, s);
    return o[0] ^ o[1] ^ o[2] ^ o[3];
}

void sk_kfuncs_fill_avx2(sk_kfuncs *f) {
    f->dot[SK_KT_F32] = dot_f32;
    f->dot[SK_KT_F16] = dot_f16;
    f->dot[SK_KT_BF16] = dot_bf16;
    f->dot[SK_KT_F8] = dot_f8;
    f->dot[SK_KT_Q8_0] = dot_q8_0;
    f->dot4[SK_KT_Q8_0] = dot4_q8_0;
    f->gemm4[SK_KT_Q8_0] = gemm4_q8_0;
    f->dot[SK_KT_Q4_0] = dot_q4_0;
    f->dot[SK_KT_Q4_1] = dot_q4_1;
    f->dot[SK_KT_Q5_0] = dot_q5_0;
    f->dot[SK_KT_Q5_1] = dot_q5_1;
    f->dot[SK_KT_IQ4_NL] = dot_iq4_nl;
    f->dot[SK_KT_Q2_K] = dot_q2_K;
    f->dot[SK_KT_Q3_K] = dot_q3_K;
    f->dot[SK_KT_Q4_K] = dot_q4_K;
    f->gemm4[SK_KT_Q4_K] = gemm4_q4_K;
    f->gemm4[SK_KT_Q5_0] = gemm4_q5_0;
    f->dot[SK_KT_Q5_K] = dot_q5_K;
    f->dot[SK_KT_Q6_K] = dot_q6_K;
    f->gemm4[SK_KT_Q6_K] = gemm4_q6_K;
    f->dot[SK_KT_IQ4_XS] = dot_iq4_xs;
    f->vec_dot_f32 = v_dot;
    f->vec_add = v_add;
    f->vec_mad = v_mad;
    f->vec_scale = v_scale;
    f->sumsq = v_sumsq;
    f->mul_scale = v_mul_scale;
    f->vec_max = v_max;
    f->exp_sub_sum = v_exp_sub_sum;
    f->silu = v_silu;
    f->swiglu = v_swiglu;
    f->sigmoid = v_sigmoid;
    f->read_sum = v_read_sum;
    f->quant_q8_0 = quant_q8_0;
    f->quant_q8_K = quant_q8_K;
    f->attn_dots = v_attn_dots;
    f->attn_mix = v_attn_mix;
}
#else
typedef int sk_kern_avx2_unused; /* not an x86-64 build: only the scalar kernels exist */
#endif
