/* test_kernels.c — matvec/matmul kernels of every weight type, at every SIMD level this CPU
 * supports, against (a) an independent double-precision reference built from a dequantizer
 * written here from the spec (§4 decode loops) and (b) the scalar reference; plus the
 * activation quantizers, threading, tiling and argument errors. Levels the CPU lacks are
 * skipped (SKIP), so the same binary checks AVX-512 on a machine that has it. */
#include "sk_kernels.h"
#include "sk_test.h"

#include "kernels_internal.h" /* slots and per-level tables (src/kernels) */
#include "kern_test.h"

#include <stdint.h>

/* ---- independent dequantizer (spec §4 loops, decode order) ---- */

static void ref_dequant_row(int type, const void *src, float *y, int64_t n) {
    switch (type) {
    case SK_TYPE_F32:
        memcpy(y, src, (size_t)n * 4);
        return;
    case SK_TYPE_F16:
        for (int64_t i = 0; i < n; i++) y[i] = h2f(((const sk_fp16 *)src)[i]);
        return;
    case SK_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) y[i] = sk_bf16_to_f32(((const sk_bf16 *)src)[i]);
        return;
    case SK_TYPE_F8_E4M3:
        for (int64_t i = 0; i < n; i++) y[i] = sk_fp8_e4m3_to_f32(((const uint8_t *)src)[i]);
        return;
    }
    for (int64_t ib = 0;
         ib < n / 32 && (type == SK_TYPE_Q8_0 || type == SK_TYPE_Q4_0 || type == SK_TYPE_Q4_1 ||
                         type == SK_TYPE_Q5_0 || type == SK_TYPE_Q5_1 || type == SK_TYPE_IQ4_NL);
         ib++) {
        float *o = y + 32 * ib;
        if (type == SK_TYPE_Q8_0) {
            const sk_block_q8_0 *b = (const sk_block_q8_0 *)src + ib;
            for (int j = 0; j < 32; j++) o[j] = h2f(b->d) * b->qs[j];
        } else if (type == SK_TYPE_Q4_0) {
            const sk_block_q4_0 *b = (const sk_block_q4_0 *)src + ib;
            for (int j = 0; j < 16; j++) {
                o[j] = h2f(b->d) * ((b->qs[j] & 0xF) - 8);
                o[j + 16] = h2f(b->d) * ((b->qs[j] >> 4) - 8);
            }
        } else if (type == SK_TYPE_Q4_1) {
            const sk_block_q4_1 *b = (const sk_block_q4_1 *)src + ib;
            for (int j = 0; j < 16; j++) {
                o[j] = h2f(b->d) * (b->qs[j] & 0xF) + h2f(b->m);
                o[j + 16] = h2f(b->d) * (b->qs[j] >> 4) + h2f(b->m);
            }
        } else if (type == SK_TYPE_Q5_0 || type == SK_TYPE_Q5_1) {
            const uint8_t *qh, *qs;
            float d, m = 0;
            int off = 16;
            if (type == SK_TYPE_Q5_0) {
                const sk_block_q5_0 *b = (const sk_block_q5_0 *)src + ib;
                qh = b->qh, qs = b->qs, d = h2f(b->d);
            } else {
                const sk_block_q5_1 *b = (const sk_block_q5_1 *)src + ib;
                qh = b->qh, qs = b->qs, d = h2f(b->d), m = h2f(b->m), off = 0;
            }
            uint32_t h = qh[0] | qh[1] << 8 | qh[2] << 16 | (uint32_t)qh[3] << 24;
            for (int j = 0; j < 16; j++) {
                int lo = (qs[j] & 0xF) | (((h >> j) & 1) << 4);
                int hi = (qs[j] >> 4) | (((h >> (j + 16)) & 1) << 4);
                o[j] = d * (lo - off) + m;
                o[j + 16] = d * (hi - off) + m;
            }
        } else {
            const sk_block_iq4_nl *b = (const sk_block_iq4_nl *)src + ib;
            for (int j = 0; j < 16; j++) {
                o[j] = h2f(b->d) * sk_iq4nl_values[b->qs[j] & 0xF];
                o[j + 16] = h2f(b->d) * sk_iq4nl_values[b->qs[j] >> 4];
            }
        }
    }
    for (int64_t ib = 0; ib < n / 256; ib++) {
        float *o = y + 256 * ib;
        if (type == SK_TYPE_Q2_K) {
            const sk_block_q2_K *b = (const sk_block_q2_K *)src + ib;
            float d = h2f(b->d), dm = h2f(b->dmin);
            int is = 0;
            for (int half = 0; half < 2; half++) {
                const uint8_t *q = b->qs + 32 * half;
                for (int j = 0; j < 4; j++) {
                    uint8_t sc = b->scales[is++];
                    for (int l = 0; l < 16; l++)
                        *o++ = d * (sc & 0xF) * ((q[l] >> (2 * j)) & 3) - dm * (sc >> 4);
                    sc = b->scales[is++];
                    for (int l = 0; l < 16; l++)
                        *o++ = d * (sc & 0xF) * ((q[l + 16] >> (2 * j)) & 3) - dm * (sc >> 4);
                }
            }
        } else if (type == SK_TYPE_Q3_K) {
            const sk_block_q3_K *b = (const sk_block_q3_K *)src + ib;
            int sc[16];
            for (int i = 0; i < 16; i++) {
                int low4 = i < 8 ? (b->scales[i] & 0xF) : (b->scales[i - 8] >> 4);
                int high2 = (b->scales[8 + i % 4] >> (2 * (i / 4))) & 3;
                sc[i] = (low4 | high2 << 4) - 32;
            }
            float d = h2f(b->d);
            int is = 0, bit = 1;
            for (int half = 0; half < 2; half++) {
                const uint8_t *q = b->qs + 32 * half;
                for (int j = 0; j < 4; j++) {
                    for (int l = 0; l < 16; l++)
                        *o++ =
                            d * sc[is] * (((q[l] >> (2 * j)) & 3) - ((b->hmask[l] & bit) ? 0 : 4));
                    for (int l = 0; l < 16; l++)
                        *o++ = d * sc[is + 1] *
                               (((q[l + 16] >> (2 * j)) & 3) - ((b->hmask[l + 16] & bit) ? 0 : 4));
                    is += 2;
                    bit <<= 1;
                }
            }
        } else if (type == SK_TYPE_Q4_K || type == SK_TYPE_Q5_K) {
            const uint8_t *scales, *qs, *qh = NULL;
            float d, dm;
            if (type == SK_TYPE_Q4_K) {
                const sk_block_q4_K *b = (const sk_block_q4_K *)src + ib;
                scales = b->scales, qs = b->qs, d = h2f(b->d), dm = h2f(b->dmin);
            } else {
                const sk_block_q5_K *b = (const sk_block_q5_K *)src + ib;
                scales = b->scales, qs = b->qs, qh = b->qh, d = h2f(b->d), dm = h2f(b->dmin);
            }
            for (int p = 0; p < 4; p++) {
                int sc[2], mn[2];
                for (int t = 0; t < 2; t++) {
                    int j = 2 * p + t;
                    if (j < 4) {
                        sc[t] = scales[j] & 63;
                        mn[t] = scales[j + 4] & 63;
                    } else {
                        sc[t] = (scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4);
                        mn[t] = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
                    }
                }
                const uint8_t *q = qs + 32 * p;
                for (int l = 0; l < 32; l++)
                    *o++ = d * sc[0] * ((q[l] & 0xF) + (qh && (qh[l] & (1 << (2 * p))) ? 16 : 0)) -
                           dm * mn[0];
                for (int l = 0; l < 32; l++)
                    *o++ = d * sc[1] * ((q[l] >> 4) + (qh && (qh[l] & (2 << (2 * p))) ? 16 : 0)) -
                           dm * mn[1];
            }
        } else if (type == SK_TYPE_Q6_K) {
            const sk_block_q6_K *b = (const sk_block_q6_K *)src + ib;
            float d = h2f(b->d);
            for (int half = 0; half < 2; half++) {
                const uint8_t *ql = b->ql + 64 * half, *qh = b->qh + 32 * half;
                const int8_t *sc = b->scales + 8 * half;
                float *yy = o + 128 * half;
                for (int l = 0; l < 32; l++) {
                    int is = l / 16;
                    yy[l] = d * sc[is] * (((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                    yy[l + 32] =
                        d * sc[is + 2] * (((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                    yy[l + 64] = d * sc[is + 4] * (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                    yy[l + 96] =
                        d * sc[is + 6] * (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
                }
            }
        } else if (type == SK_TYPE_IQ4_XS) {
            const sk_block_iq4_xs *b = (const sk_block_iq4_xs *)src + ib;
            for (int s = 0; s < 8; s++) {
                int ls = ((b->scales_l[s / 2] >> (4 * (s % 2))) & 0xF) |
                         (((b->scales_h >> (2 * s)) & 3) << 4);
                float dl = h2f(b->d) * (ls - 32);
                const uint8_t *q = b->qs + 16 * s;
                for (int j = 0; j < 16; j++) {
                    o[32 * s + j] = dl * sk_iq4nl_values[q[j] & 0xF];
                    o[32 * s + 16 + j] = dl * sk_iq4nl_values[q[j] >> 4];
                }
            }
        }
    }
}

/* ---- random weights of every type (random code bytes, sane scale fields) ---- */
static sk_fp16 rnd_h(float lo, float hi) {
    return sk_f32_to_fp16(rndf(lo, hi));
}

static void *make_weights(int type, int64_t cols, int64_t rows, size_t *row_bytes) {
    CHECK(sk_row_size(type, cols, row_bytes));
    size_t nb = *row_bytes * (size_t)rows;
    uint8_t *w = malloc(nb + 64);
    for (size_t i = 0; i < nb; i++) w[i] = (uint8_t)rnd32();
    int64_t n = cols * rows;
    switch (type) {
    case SK_TYPE_F32:
        for (int64_t i = 0; i < n; i++) ((float *)w)[i] = rndf(-1, 1);
        break;
    case SK_TYPE_F16:
        for (int64_t i = 0; i < n; i++) ((sk_fp16 *)w)[i] = rnd_h(-1, 1);
        break;
    case SK_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) ((sk_bf16 *)w)[i] = sk_f32_to_bf16(rndf(-1, 1));
        break;
    case SK_TYPE_F8_E4M3:
        for (int64_t i = 0; i < n; i++)
            if ((w[i] & 0x7F) == 0x7F) w[i] ^= 1; /* no NaN codes */
        break;
    case SK_TYPE_Q8_0:
        for (int64_t b = 0; b < n / 32; b++) ((sk_block_q8_0 *)w)[b].d = rnd_h(0.001f, 0.02f);
        break;
    case SK_TYPE_Q4_0:
        for (int64_t b = 0; b < n / 32; b++) ((sk_block_q4_0 *)w)[b].d = rnd_h(-0.1f, 0.1f);
        break;
    case SK_TYPE_IQ4_NL:
        for (int64_t b = 0; b < n / 32; b++) ((sk_block_iq4_nl *)w)[b].d = rnd_h(0.001f, 0.01f);
        break;
    case SK_TYPE_Q4_1:
        for (int64_t b = 0; b < n / 32; b++) {
            ((sk_block_q4_1 *)w)[b].d = rnd_h(0.001f, 0.1f);
            ((sk_block_q4_1 *)w)[b].m = rnd_h(-0.8f, 0.0f);
        }
        break;
    case SK_TYPE_Q5_0:
        for (int64_t b = 0; b < n / 32; b++) ((sk_block_q5_0 *)w)[b].d = rnd_h(-0.05f, 0.05f);
        break;
    case SK_TYPE_Q5_1:
        for (int64_t b = 0; b < n / 32; b++) {
            ((sk_block_q5_1 *)w)[b].d = rnd_h(0.001f, 0.05f);
            ((sk_block_q5_1 *)w)[b].m = rnd_h(-0.8f, 0.0f);
        }
        break;
    case SK_TYPE_Q2_K:
        for (int64_t b = 0; b < n / 256; b++) {
            ((sk_block_q2_K *)w)[b].d = rnd_h(0.001f, 0.05f);
            ((sk_block_q2_K *)w)[b].dmin = rnd_h(0.001f, 0.05f);
        }
        break;
    case SK_TYPE_Q3_K:
        for (int64_t b = 0; b < n / 256; b++) ((sk_block_q3_K *)w)[b].d = rnd_h(0.001f, 0.02f);
        break;
    case SK_TYPE_Q4_K:
        for (int64_t b = 0; b < n / 256; b++) {
            ((sk_block_q4_K *)w)[b].d = rnd_h(0.0005f, 0.005f);
            ((sk_block_q4_K *)w)[b].dmin = rnd_h(0.0005f, 0.005f);
        }
        break;
    case SK_TYPE_Q5_K:
        for (int64_t b = 0; b < n / 256; b++) {
            ((sk_block_q5_K *)w)[b].d = rnd_h(0.0005f, 0.005f);
            ((sk_block_q5_K *)w)[b].dmin = rnd_h(0.0005f, 0.005f);
        }
        break;
    case SK_TYPE_Q6_K:
        for (int64_t b = 0; b < n / 256; b++) ((sk_block_q6_K *)w)[b].d = rnd_h(0.0001f, 0.001f);
        break;
    case SK_TYPE_IQ4_XS:
        for (int64_t b = 0; b < n / 256; b++) ((sk_block_iq4_xs *)w)[b].d = rnd_h(0.0001f, 0.001f);
        break;
    }
    return w;
}

/* A test matrix: cols a multiple of the block (several blocks), an odd row count. */
typedef struct tmat {
    int type;
    int64_t cols, rows;
    void *w;
    size_t row_bytes;
    float *scale; /* F8 */
    sk_tensor t;
    float *wf; /* dequantized [rows][cols] (F8: scale applied) */
} tmat;

static void tmat_make(tmat *m, int type, int64_t cols, int64_t rows) {
    memset(m, 0, sizeof *m);
    m->type = type;
    m->cols = cols;
    m->rows = rows;
    m->w = make_weights(type, cols, rows, &m->row_bytes);
    m->wf = malloc(sizeof(float) * (size_t)(cols * rows));
    int64_t sc_cols = (cols + 127) / 128, sc_rows = (rows + 127) / 128;
    if (type == SK_TYPE_F8_E4M3) {
        m->scale = malloc(sizeof(float) * (size_t)(sc_cols * sc_rows));
        for (int64_t i = 0; i < sc_cols * sc_rows; i++) m->scale[i] = rndf(0.0005f, 0.003f);
    }
    for (int64_t r = 0; r < rows; r++) {
        ref_dequant_row(type, (uint8_t *)m->w + r * m->row_bytes, m->wf + r * cols, cols);
        if (m->scale)
            for (int64_t c = 0; c < cols; c++)
                m->wf[r * cols + c] *= m->scale[(r / 128) * sc_cols + c / 128];
    }
    m->t = (sk_tensor){.name = "test.weight",
                       .type = type,
                       .n_dims = 2,
                       .ne = {cols, rows, 1, 1},
                       .data = m->w,
                       .nbytes = m->row_bytes * (size_t)rows,
                       .scale = m->scale};
}

static void tmat_free(tmat *m) {
    free(m->w);
    free(m->wf);
    free(m->scale);
}

/* Columns for a type: many blocks; for per-element types an odd count with a partial
 * 128-wide FP8 scale block and SIMD tails. */
static int64_t test_cols(int type) {
    int64_t b = block_of(type);
    if (b == 1) return 1000 + 7;
    if (b == 32) return 32 * 41;
    return 256 * 5;
}

/* ---- tests ---- */

static void test_levels(void) {
    /* SEEK_CPU caps the start-up level (ctest runs this binary once with SEEK_CPU=scalar) */
    const char *env = getenv("SEEK_CPU");
    if (env && !strcmp(env, "scalar")) CHECK(sk_kernels_level() == SK_CPU_SCALAR);
    sk_cpu_level best = sk_cpu_best();
    fprintf(stderr, "    cpu: %s (best %s, active %s)\n", sk_cpu_features(),
            sk_cpu_level_name(best), sk_cpu_level_name(sk_kernels_level()));
    CHECK(sk_kernels_level() <= best);
    sk_err e = {0};
    CHECK_OK(sk_kernels_set_level(SK_CPU_SCALAR, &e), &e);
    CHECK(sk_kernels_level() == SK_CPU_SCALAR);
    CHECK(sk_kfuncs_for_level(SK_CPU_SCALAR) != NULL);
    /* NEON exists exactly on aarch64 builds, where it is the best level */
#if defined(__aarch64__)
    CHECK(best == SK_CPU_NEON && sk_kfuncs_for_level(SK_CPU_NEON) != NULL);
    CHECK(sk_kernels_set_level(SK_CPU_AVX2, &e) == SK_ERR_UNSUPPORTED);
    CHECK(strstr(e.msg, "avx2") != NULL);
#else
    CHECK(sk_kernels_set_level(SK_CPU_NEON, &e) == SK_ERR_UNSUPPORTED);
    CHECK(strstr(e.msg, "neon") != NULL);
#endif
    if (best < SK_CPU_AVX512) {
        CHECK(sk_kernels_set_level(SK_CPU_AVX512, &e) == SK_ERR_UNSUPPORTED);
        CHECK(sk_kfuncs_for_level(SK_CPU_AVX512) == NULL);
    }
    CHECK_OK(sk_kernels_set_level(best, &e), &e);
    CHECK(!strcmp(sk_cpu_level_name(SK_CPU_AVX2), "avx2"));
    CHECK(!strcmp(sk_cpu_level_name(SK_CPU_NEON), "neon"));
}

static void test_act_quant(void) {
    /* Q8_0 by hand: x = 1..32 → d = 32/127, q[k] = round((k+1)*127/32) */
    float x[512];
    for (int i = 0; i < 32; i++) x[i] = (float)(i + 1);
    /* block + f32 copy of its scale + f32 d·Σq */
    CHECK(sk_act_row_bytes(SK_ACT_Q8_0, 32) == 44);
    union {
        sk_block_q8_0 b;
        float f[11];
    } u0;
    sk_block_q8_0 q0;
    sk_act_quantize(SK_ACT_Q8_0, x, &u0, 32);
    q0 = u0.b;
    CHECK(u0.f[sk_act_q8_0_fscale_offset(32) / 4] == h2f(q0.d));
    /* 64 values: two blocks, then 2 + 2 floats, then at 32-byte alignment the pair's qs
     * rearranged (low halves of both blocks, then high halves) */
    CHECK(sk_act_row_bytes(SK_ACT_Q8_0, 64) == 96 + 64);
    {
        float x64[64];
        for (int i = 0; i < 64; i++) x64[i] = (float)((i * 37) % 64) - 31.5f;
        uint8_t buf[160];
        sk_act_quantize(SK_ACT_Q8_0, x64, buf, 64);
        const sk_block_q8_0 *qb = (const sk_block_q8_0 *)buf;
        const int8_t *xp = (const int8_t *)(buf + 96);
        int okp = 1;
        for (int j = 0; j < 16; j++)
            okp &= xp[j] == qb[0].qs[j] && xp[16 + j] == qb[1].qs[j] &&
                   xp[32 + j] == qb[0].qs[16 + j] && xp[48 + j] == qb[1].qs[16 + j];
        CHECK(okp);
    }
    {
        int qsum = 0;
        for (int j = 0; j < 32; j++) qsum += q0.qs[j];
        CHECK(u0.f[sk_act_q8_0_fscale_offset(32) / 4 + 1] == h2f(q0.d) * (float)qsum);
    }
    CHECK_NEAR(h2f(q0.d), 32.0 / 127.0, 2e-4);
    CHECK(q0.qs[31] == 127);
    CHECK(q0.qs[0] == 4);   /* 3.97 */
    CHECK(q0.qs[15] == 64); /* 16*127/32 = 63.5 → away from zero */
    /* Q8_1 s = fp16(d * Σq) */
    sk_block_q8_1 q1;
    sk_act_quantize(SK_ACT_Q8_1, x, &q1, 32);
    int sum = 0;
    for (int i = 0; i < 32; i++) sum += q1.qs[i];
    CHECK(q1.s == sk_f32_to_fp16((float)sum * (32.0f / 127.0f)));
    /* all zero → d 0, q 0 */
    float z[256] = {0};
    sk_act_quantize(SK_ACT_Q8_0, z, &u0, 32);
    CHECK(u0.b.d == 0 && u0.b.qs[3] == 0);
    /* Q8_K: max magnitude maps to −127·sign/−… ; bsums are the sums; round trip error ≤ d/2 */
    rnd_vec(x, 512, 2.0f);
    x[100] = -7.0f; /* the largest magnitude, negative */
    /* 2 blocks, then 8 int16 sums per 32 values per block, then (32-aligned) the qs again
     * with each 64 values' 16-byte quarters in the order 0 2 1 3 */
    size_t krow = sk_act_row_bytes(SK_ACT_Q8_K, 512);
    CHECK(sk_act_q8_K_s32_offset(512) == 2 * sizeof(sk_block_q8_K));
    CHECK(sk_act_q8_K_xperm_offset(512) == ((2 * sizeof(sk_block_q8_K) + 32 + 31) & ~(size_t)31));
    CHECK(krow == sk_act_q8_K_xperm_offset(512) + 512 && krow % 32 == 0);
    sk_block_q8_K k[5];
    CHECK(sizeof k >= krow);
    sk_act_quantize(SK_ACT_Q8_K, x, k, 512);
    {
        int16_t s32[16];
        memcpy(s32, &k[2], sizeof s32);
        int oks = 1;
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int i = 0; i < 32; i++) s += k[j / 8].qs[32 * (j % 8) + i];
            oks &= s32[j] == s;
        }
        CHECK(oks);
        const int8_t *xp = (const int8_t *)k + sk_act_q8_K_xperm_offset(512);
        static const int quarter[4] = {0, 2, 1, 3};
        int okp = 1;
        for (int i = 0; i < 512; i++) {
            int blk = i / 256, c = (i % 256) / 64, qt = (i % 64) / 16;
            okp &= xp[i] == k[blk].qs[64 * c + 16 * quarter[qt] + i % 16];
        }
        CHECK(okp);
    }
    CHECK(k[0].qs[100] == -127); /* iscale = -127/max: the extreme always maps to -127 */
    CHECK_NEAR(k[0].d, 7.0 / 127.0, 1e-7);
    for (int b = 0; b < 2; b++) {
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int i = 0; i < 16; i++) s += k[b].qs[16 * j + i];
            CHECK(k[b].bsums[j] == s);
        }
        for (int i = 0; i < 256; i++)
            CHECK(fabsf(k[b].d * k[b].qs[i] - x[256 * b + i]) <= fabsf(k[b].d) * 0.5001f);
    }
    sk_act_quantize(SK_ACT_Q8_K, z, k, 256);
    CHECK(k[0].d == 0 && k[0].bsums[5] == 0);
    /* non-finite input must not be undefined behaviour */
    x[3] = INFINITY;
    x[4] = NAN;
    sk_act_quantize(SK_ACT_Q8_0, x, &u0, 32);
    sk_act_quantize(SK_ACT_Q8_K, x, k, 256);
}

/* llama.cpp's reference activation quantizers, as written there (roundf / rintf of the
 * scaled value), with the maximum taken as `a > amax` (NaN never wins): the oracle for the
 * scalar table on inputs without NaN. */
static void oracle_q8_0(const float *x, sk_block_q8_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / 32; b++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; j++) {
            float v = roundf(x[j] * id); /* NaN (inf·0): coded 0, as documented */
            y[b].qs[j] = (int8_t)(v != v ? 0.0f : v > 127.0f ? 127.0f : v < -128.0f ? -128.0f : v);
        }
        y[b].d = sk_f32_to_fp16(d);
    }
}

static void oracle_q8_K(const float *x, sk_block_q8_K *y, int64_t n) {
    for (int64_t b = 0; b < n / 256; b++, x += 256) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < 256; j++)
            if (fabsf(x[j]) > amax) amax = fabsf(x[j]), max = x[j];
        memset(&y[b], 0, sizeof y[b]);
        if (amax == 0.0f) continue;
        float iscale = -127.0f / max;
        for (int j = 0; j < 256; j++) {
            float v = rintf(iscale * x[j]);
            y[b].qs[j] = (int8_t)(v != v ? 0.0f : v > 127.0f ? 127.0f : v < -128.0f ? -128.0f : v);
        }
        for (int j = 0; j < 16; j++) {
            int sum = 0;
            for (int i = 0; i < 16; i++) sum += y[b].qs[16 * j + i];
            y[b].bsums[j] = (int16_t)sum;
        }
        y[b].d = 1.0f / iscale;
    }
}

/* One of several kinds of test row (n values): kind 0 ordinary, 1 exact ties (a block
 * maximum of 127 and half-integers), 2 any bit pattern (NaN, ±inf, subnormals, huge), 3 tiny
 * and zero values, 4 a few ±inf among ordinary ones, 5 wide exponent range, 6 NaN among
 * ordinary values. */
static void act_row(float *x, int64_t n, int kind) {
    for (int64_t i = 0; i < n; i++) {
        uint32_t r = rnd32();
        float v;
        switch (kind) {
        case 0:
            v = rndf(-3.0f, 3.0f);
            break;
        case 1:
            v = (float)((int)(r % 255) - 127) * (r & 256 ? 0.5f : 1.0f);
            break;
        case 2:
            memcpy(&v, &r, 4);
            break;
        case 3:
            v = r % 5 == 0 ? 0.0f : (float)((int)(r % 200) - 100) * 1e-40f;
            break;
        case 4:
            v = r % 61 == 0 ? (r & 1 ? INFINITY : -INFINITY) : rndf(-5.0f, 5.0f);
            break;
        case 5:
            v = ldexpf(rndf(-1.0f, 1.0f), (int)(r % 80) - 40);
            break;
        default:
            v = r % 37 == 0 ? NAN : rndf(-1.0f, 1.0f);
            break;
        }
        x[i] = v;
    }
    if (kind == 1)
        for (int64_t i = 0; i < n; i += 32) x[i] = 127.0f;
}

/* The block quantizers of every level give the scalar table's bytes (whole prepared rows,
 * every activation format), and the scalar table gives llama.cpp's on rows without NaN. */
static void test_act_quant_levels(void) {
    enum { N = 1024 };
    static float x[N];
    static uint8_t ref[8192], got[8192];
    static sk_block_q8_0 o0[N / 32];
    static sk_block_q8_K oK[N / 256];
    const sk_kfuncs *sc = sk_kfuncs_for_level(SK_CPU_SCALAR);
    int bad_oracle = 0, bad_level = 0, rows = 0;
    for (int it = 0; it < 700; it++) {
        int kind = it % 7;
        int64_t n = 256 * (1 + it % 4); /* 256..1024: Q8_K needs whole 256-blocks */
        act_row(x, n, kind);
        if (kind != 2 && kind != 6) { /* no NaN: compare with the oracle */
            oracle_q8_0(x, o0, n);
            sk_act_quantize_with(sc, SK_ACT_Q8_0, x, ref, n);
            bad_oracle += memcmp(ref, o0, (size_t)(n / 32) * sizeof o0[0]) != 0;
            oracle_q8_K(x, oK, n);
            sk_act_quantize_with(sc, SK_ACT_Q8_K, x, ref, n);
            bad_oracle += memcmp(ref, oK, (size_t)(n / 256) * sizeof oK[0]) != 0;
        }
        for (int lv = SK_CPU_SCALAR + 1; lv <= SK_CPU_NEON; lv++) {
            const sk_kfuncs *f = sk_kfuncs_for_level((sk_cpu_level)lv);
            if (!f) continue;
            for (int a = SK_ACT_Q8_0; a <= SK_ACT_Q8_K; a++) {
                size_t bytes = sk_act_row_bytes((sk_act)a, n);
                memset(ref, 0xA5, bytes);
                memset(got, 0xA5, bytes);
                sk_act_quantize_with(sc, (sk_act)a, x, ref, n);
                sk_act_quantize_with(f, (sk_act)a, x, got, n);
                if (memcmp(ref, got, bytes)) {
                    if (!bad_level)
                        fprintf(stderr, "level %s act %d kind %d n %lld differs from scalar\n",
                                sk_cpu_level_name((sk_cpu_level)lv), a, kind, (long long)n);
                    bad_level++;
                }
                rows++;
            }
        }
    }
    CHECK_MSG(bad_oracle == 0, "%d rows differ from llama.cpp's quantizers", bad_oracle);
    CHECK_MSG(bad_level == 0, "%d of %d rows differ between levels", bad_level, rows);
    /* the edge cases by hand: ties away from zero (Q8_0) and to even (Q8_K) */
    float t[256] = {0};
    t[0] = 127.0f, t[1] = 2.5f, t[2] = -2.5f, t[3] = 3.5f, t[4] = NAN, t[5] = -0.5f;
    for (int lv = SK_CPU_SCALAR; lv <= SK_CPU_NEON; lv++) {
        const sk_kfuncs *f = sk_kfuncs_for_level((sk_cpu_level)lv);
        if (!f) continue;
        sk_block_q8_0 b0;
        int16_t qs;
        f->quant_q8_0(t, &b0, &qs, 32);
        CHECK(b0.qs[1] == 3 && b0.qs[2] == -3 && b0.qs[3] == 4 && b0.qs[4] == 0 && b0.qs[5] == -1);
        CHECK(qs == 127 + 3 - 3 + 4 - 1);
        sk_block_q8_K bk;
        f->quant_q8_K(t, &bk, 256); /* max 127 → iscale -1: ties of -x go to even */
        CHECK(bk.qs[0] == -127 && bk.qs[1] == -2 && bk.qs[2] == 2 && bk.qs[3] == -4 &&
              bk.qs[4] == 0 && bk.qs[5] == 0);
        CHECK(bk.d == -1.0f && bk.bsums[0] == -127 - 2 + 2 - 4);
    }
}

/* Scalar reference dot == double-precision dot of the dequantized weight and activation. */
static void test_scalar_vs_dequant(void) {
    const sk_kfuncs *f = sk_kfuncs_for_level(SK_CPU_SCALAR);
    for (int ti = 0; ti < N_TYPES; ti++) {
        int type = k_types[ti], kt = sk_kt_from_type(type);
        CHECK(kt >= 0);
        tmat m;
        int64_t cols = test_cols(type);
        tmat_make(&m, type, cols, 5);
        sk_act a = sk_kt_act(kt);
        float *x = malloc(sizeof(float) * (size_t)cols), *xd = malloc(sizeof(float) * (size_t)cols);
        void *xa = malloc(sk_act_row_bytes(a, cols));
        rnd_vec(x, cols, 1.0f);
        sk_act_quantize(a, x, xa, cols);
        act_dequant(a, xa, xd, cols);
        double worst = 0;
        for (int64_t r = 0; r < m.rows; r++) {
            double ref = 0, mag = 0;
            for (int64_t c = 0; c < cols; c++) {
                ref += (double)m.wf[r * cols + c] * xd[c];
                mag += fabs((double)m.wf[r * cols + c] * xd[c]);
            }
            if (a == SK_ACT_Q8_1) {
                /* the min term uses the stored s = fp16(d·Σq) of the activation block, not the
                 * exact Σ of its dequantized values (llama.cpp's definition) */
                for (int64_t b = 0; b < cols / 32; b++) {
                    const uint8_t *blk =
                        (uint8_t *)m.w + r * m.row_bytes + b * (m.row_bytes / (size_t)(cols / 32));
                    sk_fp16 mh;
                    memcpy(&mh, blk + 2, 2); /* Q4_1 / Q5_1: {d, m, ...} */
                    const sk_block_q8_1 *xb = (const sk_block_q8_1 *)xa + b;
                    double exact = 0;
                    for (int j = 0; j < 32; j++) exact += xd[b * 32 + j];
                    ref += h2f(mh) * (h2f(xb->s) - exact);
                }
            }
            const float *ws = m.scale ? m.scale + (r / 128) * ((cols + 127) / 128) : NULL;
            float got = f->dot[kt](cols, (uint8_t *)m.w + r * m.row_bytes, xa, ws);
            double rel = fabs(got - ref) / (mag > 0 ? mag : 1);
            if (rel > worst) worst = rel;
        }
        CHECK_MSG(worst <= 1e-5, "%s: scalar dot vs dequantized reference: rel err %.3g",
                  sk_type_name(type), worst);
        /* the dequantizer of the tensor module, where it handles the type, must agree */
        if (type != SK_TYPE_F8_E4M3) {
            float *dq = malloc(sizeof(float) * (size_t)cols);
            sk_err e = {0};
            if (sk_dequant(type, m.w, dq, cols, &e) == SK_OK) {
                int same = 1;
                for (int64_t c = 0; c < cols; c++)
                    same &= dq[c] == m.wf[c] || (isnan(dq[c]) && isnan(m.wf[c]));
                CHECK_MSG(same, "%s: test dequantizer disagrees with sk_dequant",
                          sk_type_name(type));
            }
            free(dq);
        }
        free(x);
        free(xd);
        free(xa);
        tmat_free(&m);
    }
}

/* Every level's dot/dot4 == scalar reference (tolerance relative to Σ|w·x|), over sk_matvec
 * with threads, odd row counts (dot4 tails) and direct table calls. */
static void test_levels_vs_scalar(void) {
    sk_err e = {0};
    sk_kctx *k = sk_kctx_new(2, &e);
    CHECK(k != NULL);
    if (!k) return;
    int tested = 0;
    for (int lvl = SK_CPU_AVX2; lvl <= SK_CPU_NEON; lvl++) {
        if (!sk_kfuncs_for_level((sk_cpu_level)lvl)) {
            fprintf(stderr, "    level %s: not on this CPU, skipped\n",
                    sk_cpu_level_name((sk_cpu_level)lvl));
            continue;
        }
        tested++;
        for (int ti = 0; ti < N_TYPES; ti++) {
            int type = k_types[ti];
            tmat m;
            int64_t cols = test_cols(type), rows = 37;
            tmat_make(&m, type, cols, rows);
            float *x = malloc(sizeof(float) * (size_t)cols);
            rnd_vec(x, cols, 1.0f);
            float *ys = malloc(sizeof(float) * (size_t)rows),
                  *yv = malloc(sizeof(float) * (size_t)rows);
            CHECK_OK(sk_kernels_set_level(SK_CPU_SCALAR, &e), &e);
            CHECK_OK(sk_matvec(k, &m.t, x, ys, &e), &e);
            CHECK_OK(sk_kernels_set_level((sk_cpu_level)lvl, &e), &e);
            CHECK_OK(sk_matvec(k, &m.t, x, yv, &e), &e);
            /* magnitude from the prepared activation */
            int kt = sk_kt_from_type(type);
            sk_act a = sk_kt_act(kt);
            void *xa = malloc(sk_act_row_bytes(a, cols));
            float *xd = malloc(sizeof(float) * (size_t)cols);
            sk_act_quantize(a, x, xa, cols);
            act_dequant(a, xa, xd, cols);
            double worst = 0;
            for (int64_t r = 0; r < rows; r++) {
                double mag = 0;
                for (int64_t c = 0; c < cols; c++) mag += fabs((double)m.wf[r * cols + c] * xd[c]);
                double rel = fabs((double)yv[r] - ys[r]) / (mag > 0 ? mag : 1);
                if (rel > worst) worst = rel;
            }
            CHECK_MSG(worst <= 1e-5, "%s at %s: matvec vs scalar rel err %.3g", sk_type_name(type),
                      sk_cpu_level_name((sk_cpu_level)lvl), worst);
            /* direct dot4 where the level has one: equals its own single-row dot */
            const sk_kfuncs *f = sk_kfuncs_for_level((sk_cpu_level)lvl);
            if (f->dot4[kt]) {
                float y4[4];
                f->dot4[kt](cols, m.w, m.row_bytes, xa, m.scale, y4);
                for (int r = 0; r < 4; r++) {
                    double mag = 0;
                    for (int64_t c = 0; c < cols; c++)
                        mag += fabs((double)m.wf[r * cols + c] * xd[c]);
                    CHECK_MSG(fabs((double)y4[r] - ys[r]) <= 1e-5 * mag, "%s dot4 row %d: %g vs %g",
                              sk_type_name(type), r, y4[r], ys[r]);
                }
            }
            free(xa);
            free(xd);
            free(x);
            free(ys);
            free(yv);
            tmat_free(&m);
        }
    }
    CHECK_OK(sk_kernels_set_level(sk_cpu_best(), &e), &e);
    sk_kctx_free(k);
    if (!tested) SKIP("no SIMD level on this CPU");
}

/* The row lengths of the benchmark models (1536, 2048, 8960: R1-Distill-Qwen-1.5B; 1408:
 * V2-Lite experts; 7168: V3), which select different code paths in the SIMD kernels (rows
 * streamed one after the other or 4 interleaved; odd block counts leave a 1-block tail):
 * per level, dot4 and gemm4 equal the level's dot bit for bit, and dot equals the scalar
 * reference up to float rounding (relative to Σ|w·x|). */
static void test_row_lengths(void) {
    const sk_kfuncs *fs = sk_kfuncs_for_level(SK_CPU_SCALAR);
    /* plus 1344, 1376: 32-blocks leaving 2 and 3 blocks after the 4-block loop; 144 ... 7184
     * (per-element types only): FP8 rows whose last 128-wide scale block ends in the SIMD
     * dots' 32-, 16- and single-code tails */
    const int64_t cols_list[] = {1408, 1536, 2048, 4000, 7168, 8960, 1344,
                                 1376, 144,  176,  200,  1007, 1151, 7184};
    int tested = 0;
    for (int lvl = SK_CPU_AVX2; lvl <= SK_CPU_NEON; lvl++) {
        const sk_kfuncs *f = sk_kfuncs_for_level((sk_cpu_level)lvl);
        if (!f) continue;
        tested++;
        for (int ti = 0; ti < N_TYPES; ti++) {
            int type = k_types[ti], kt = sk_kt_from_type(type);
            for (int ci = 0; ci < (int)(sizeof cols_list / sizeof cols_list[0]); ci++) {
                int64_t cols = cols_list[ci], rows = 8;
                if (cols % block_of(type)) continue;
                tmat m;
                tmat_make(&m, type, cols, rows);
                const float *ws = m.scale; /* FP8's scale row (rows < 128), else NULL */
                sk_act a = sk_kt_act(kt);
                size_t xs = sk_act_row_bytes(a, cols);
                float *x = malloc(sizeof(float) * (size_t)cols * 4),
                      *xd = malloc(sizeof(float) * (size_t)cols);
                uint8_t *xa = malloc(xs * 4);
                rnd_vec(x, cols * 4, 1.0f);
                for (int t = 0; t < 4; t++) sk_act_quantize(a, x + t * cols, xa + t * xs, cols);
                act_dequant(a, xa, xd, cols);
                float yd[8], y4[8], yg[4];
                const uint8_t *w = m.w;
                int same4 = 1, sameg = 1, sames = 1;
                double worst = 0;
                for (int64_t r = 0; r < rows; r++) {
                    yd[r] = f->dot[kt](cols, w + r * m.row_bytes, xa, ws);
                    float ys = fs->dot[kt](cols, w + r * m.row_bytes, xa, ws);
                    double mag = 0;
                    for (int64_t c = 0; c < cols; c++)
                        mag += fabs((double)m.wf[r * cols + c] * xd[c]);
                    double rel = fabs((double)yd[r] - ys) / (mag > 0 ? mag : 1);
                    if (rel > worst) worst = rel;
                    sames &= yd[r] == ys;
                }
                CHECK_MSG(worst <= 1e-5, "%s cols %lld at %s: dot vs scalar rel err %.3g",
                          sk_type_name(type), (long long)cols, sk_cpu_level_name((sk_cpu_level)lvl),
                          worst);
                /* the NEON K-quant dots form the block's exact I and M and then apply the
                 * scales as the scalar code does (kern_neon.c): equal bit for bit */
                if (lvl == SK_CPU_NEON && block_of(type) == 256)
                    CHECK_MSG(sames, "%s cols %lld at neon: dot differs from scalar",
                              sk_type_name(type), (long long)cols);
                if (f->dot4[kt]) {
                    f->dot4[kt](cols, w, m.row_bytes, xa, ws, y4);
                    f->dot4[kt](cols, w + 4 * m.row_bytes, m.row_bytes, xa, ws, y4 + 4);
                    for (int r = 0; r < 8; r++) same4 &= y4[r] == yd[r];
                }
                CHECK_MSG(same4, "%s cols %lld at %s: dot4 differs from dot", sk_type_name(type),
                          (long long)cols, sk_cpu_level_name((sk_cpu_level)lvl));
                if (f->gemm4[kt])
                    for (int64_t r = 0; r < rows; r++) {
                        f->gemm4[kt](cols, w + r * m.row_bytes, xa, xs, ws, yg, 1);
                        for (int t = 0; t < 4; t++)
                            sameg &=
                                yg[t] == f->dot[kt](cols, w + r * m.row_bytes, xa + t * xs, ws);
                    }
                CHECK_MSG(sameg, "%s cols %lld at %s: gemm4 differs from dot", sk_type_name(type),
                          (long long)cols, sk_cpu_level_name((sk_cpu_level)lvl));
                free(x);
                free(xd);
                free(xa);
                tmat_free(&m);
            }
        }
    }
    if (!tested) SKIP("no SIMD level on this CPU");
}

/* sk_matmul == n × sk_matvec bit for bit (same kernels, tiles only reorder the loops), for
 * token counts around the tile size, 1 and 3 threads, every level. */
static void test_matmul(void) {
    sk_err e = {0};
    for (int nth = 1; nth <= 3; nth += 2) {
        sk_kctx *k = sk_kctx_new(nth, &e);
        CHECK(k && sk_kctx_threads(k) == nth);
        if (!k) return;
        for (int lvl = SK_CPU_SCALAR; lvl <= SK_CPU_NEON; lvl++) {
            if (!sk_kfuncs_for_level((sk_cpu_level)lvl)) continue;
            CHECK_OK(sk_kernels_set_level((sk_cpu_level)lvl, &e), &e);
            const int types[] = {SK_TYPE_Q8_0, SK_TYPE_Q4_K, SK_TYPE_F16, SK_TYPE_Q6_K,
                                 SK_TYPE_F8_E4M3};
            for (int ti = 0; ti < 5; ti++) {
                int type = types[ti];
                tmat m;
                /* 3 blocks of 256: a pair and an odd last block */
                int64_t cols = block_of(type) == 1 ? 300 : 768, rows = 133;
                tmat_make(&m, type, cols, rows);
                int64_t n = 19;
                float *X = malloc(sizeof(float) * (size_t)(n * cols));
                float *Y = malloc(sizeof(float) * (size_t)(n * rows)),
                      *y = malloc(sizeof(float) * (size_t)rows);
                rnd_vec(X, n * cols, 1.0f);
                CHECK_OK(sk_matmul(k, &m.t, X, n, Y, &e), &e);
                int same = 1;
                for (int64_t t = 0; t < n; t++) {
                    CHECK_OK(sk_matvec(k, &m.t, X + t * cols, y, &e), &e);
                    for (int64_t r = 0; r < rows; r++) same &= y[r] == Y[t * rows + r];
                }
                CHECK_MSG(same, "%s at %s, %d threads: matmul differs from matvec",
                          sk_type_name(type), sk_cpu_level_name((sk_cpu_level)lvl), nth);
                /* and is close to the float reference of the dequantized weights */
                double worst = 0;
                for (int64_t t = 0; t < n; t++)
                    for (int64_t r = 0; r < rows; r++) {
                        double ref = 0, mag = 0;
                        for (int64_t c = 0; c < cols; c++) {
                            ref += (double)m.wf[r * cols + c] * X[t * cols + c];
                            mag += fabs((double)m.wf[r * cols + c] * X[t * cols + c]);
                        }
                        double rel = fabs(Y[t * rows + r] - ref) / mag;
                        if (rel > worst) worst = rel;
                    }
                /* 8-bit activation rounding: ~1/254 of the magnitude at worst */
                double tol = block_of(type) == 1 ? 1e-5 : 1e-2;
                CHECK_MSG(worst <= tol, "%s: matmul vs float reference %.3g", sk_type_name(type),
                          worst);
                free(X);
                free(Y);
                free(y);
                tmat_free(&m);
            }
        }
        CHECK_OK(sk_kernels_set_level(sk_cpu_best(), &e), &e);
        sk_kctx_free(k);
    }
}

/* Threads only split rows: 1 and 3 threads give bit-identical results, on matrices big
 * enough to be split (small products run on the caller alone). */
static void test_threads(void) {
    sk_err e = {0};
    sk_kctx *k1 = sk_kctx_new(1, &e), *k3 = sk_kctx_new(3, &e);
    CHECK(k1 && k3);
    if (!k1 || !k3) goto done;
    const int types[] = {SK_TYPE_Q8_0, SK_TYPE_Q4_K, SK_TYPE_BF16, SK_TYPE_IQ4_XS, SK_TYPE_F8_E4M3};
    for (int ti = 0; ti < 5; ti++) {
        tmat m;
        int64_t cols = 2048, rows = 301;
        tmat_make(&m, types[ti], cols, rows);
        CHECK(m.t.nbytes > (256u << 10));
        float *x = malloc(sizeof(float) * (size_t)cols), *y1 = malloc(sizeof(float) * (size_t)rows),
              *y3 = malloc(sizeof(float) * (size_t)rows);
        rnd_vec(x, cols, 1.0f);
        for (int rep = 0; rep < 3; rep++) {
            CHECK_OK(sk_matvec(k1, &m.t, x, y1, &e), &e);
            CHECK_OK(sk_matvec(k3, &m.t, x, y3, &e), &e);
            CHECK_MSG(!memcmp(y1, y3, sizeof(float) * (size_t)rows), "%s: 3 threads differ from 1",
                      sk_type_name(types[ti]));
        }
        /* and against the float reference (8-bit activation rounding aside) */
        double worst = 0;
        for (int64_t r = 0; r < rows; r++) {
            double ref = 0, mag = 0;
            for (int64_t c = 0; c < cols; c++) {
                ref += (double)m.wf[r * cols + c] * x[c];
                mag += fabs((double)m.wf[r * cols + c] * x[c]);
            }
            double rel = fabs(y3[r] - ref) / mag;
            if (rel > worst) worst = rel;
        }
        CHECK_MSG(worst <= (block_of(types[ti]) == 1 ? 1e-5 : 1e-2),
                  "%s: threaded matvec vs reference %.3g", sk_type_name(types[ti]), worst);
        free(x);
        free(y1);
        free(y3);
        tmat_free(&m);
    }
done:
    sk_kctx_free(k1);
    sk_kctx_free(k3);
}

/* The bandwidth probe runs at every level and reports a finite positive rate. */
static void test_bandwidth_probe(void) {
    sk_err e = {0};
    sk_kctx *k = sk_kctx_new(2, &e);
    CHECK(k != NULL);
    if (!k) return;
    for (int lvl = SK_CPU_SCALAR; lvl <= SK_CPU_NEON; lvl++) {
        if (sk_kernels_set_level((sk_cpu_level)lvl, &e)) continue;
        double g = sk_bench_read_bandwidth(k, 8u << 20, 2, &e);
        CHECK_MSG(g > 0.05 && g < 1e5, "%s: %g GB/s", sk_cpu_level_name((sk_cpu_level)lvl), g);
    }
    sk_bw_probe *p = sk_bw_probe_new(k, 3u << 20, &e);
    CHECK(p != NULL);
    if (p) {
        double a = sk_bw_probe_run(p), b = sk_bw_probe_run(p);
        CHECK(a > 0 && b > 0 && isfinite(a) && isfinite(b));
    }
    sk_bw_probe_free(p);
    CHECK(sk_bw_probe_new(NULL, 1u << 20, &e) == NULL && e.code == SK_ERR_INVALID);
    CHECK_OK(sk_kernels_set_level(sk_cpu_best(), &e), &e);
    sk_kctx_free(k);
}

static void test_matvec_errors(void) {
    sk_err e = {0};
    sk_kctx *k = sk_kctx_new(1, &e);
    CHECK(k != NULL);
    if (!k) return;
    float x[512] = {0}, y[8];
    uint8_t buf[4096] = {0};
    sk_tensor t = {.name = "blk.0.ffn_up.weight",
                   .type = SK_TYPE_Q4_K,
                   .n_dims = 2,
                   .ne = {512, 8, 1, 1},
                   .data = buf,
                   .nbytes = 144 * 2 * 8};
    CHECK_OK(sk_matvec(k, &t, x, y, &e), &e);
    t.nbytes = 100;
    CHECK(sk_matvec(k, &t, x, y, &e) == SK_ERR_RANGE);
    CHECK(strstr(e.msg, "blk.0.ffn_up.weight") != NULL);
    t.nbytes = sizeof buf;
    t.ne[0] = 500;
    CHECK(sk_matvec(k, &t, x, y, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "multiple") != NULL);
    t.ne[0] = 512;
    t.type = SK_TYPE_IQ2_XXS;
    CHECK(sk_matvec(k, &t, x, y, &e) == SK_ERR_UNSUPPORTED);
    CHECK(!sk_matvec_supports(SK_TYPE_IQ2_XXS) && sk_matvec_supports(SK_TYPE_Q6_K));
    t.type = SK_TYPE_F8_E4M3;
    CHECK(sk_matvec(k, &t, x, y, &e) == SK_ERR_INVALID); /* no scale grid */
    t.type = SK_TYPE_Q8_0;
    t.ne[2] = 2;
    CHECK(sk_matvec(k, &t, x, y, &e) == SK_ERR_INVALID);
    t.ne[2] = 1;
    t.data = NULL;
    CHECK(sk_matvec(k, &t, x, y, &e) == SK_ERR_INVALID);
    t.data = buf;
    CHECK(sk_matmul(k, &t, x, -1, y, &e) == SK_ERR_INVALID);
    CHECK_OK(sk_matmul(k, &t, x, 0, y, &e), &e);
    sk_kctx_free(k);
}

int main(void) {
    RUN(test_levels);
    RUN(test_act_quant);
    RUN(test_act_quant_levels);
    RUN(test_scalar_vs_dequant);
    RUN(test_levels_vs_scalar);
    RUN(test_row_lengths);
    RUN(test_matmul);
    RUN(test_threads);
    RUN(test_bandwidth_probe);
    RUN(test_matvec_errors);
    return sk_test_report("kernels");
}
