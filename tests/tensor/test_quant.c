/* test_quant — encoders against llama.cpp's quantizer (tests/data/quantref: bytes written by
 * ggml_quantize_chunk for a 16384-value stress vector), round-trip error bounds, re-encoding of
 * llama.cpp-quantized tensors, thread-count independence, and input errors. */
#include "gguf_mini.h"
#include "sk_test.h"
#include "sk_tensor.h"

#define QREF SEEK_TEST_DATA "/quantref"
#define N_IN 16384

static const struct {
    const char *file;
    int type;
} k_ref[] = {
    {"f16", SK_TYPE_F16},       {"bf16", SK_TYPE_BF16}, {"q8_0", SK_TYPE_Q8_0},
    {"q8_1", SK_TYPE_Q8_1},     {"q4_0", SK_TYPE_Q4_0}, {"q4_1", SK_TYPE_Q4_1},
    {"q5_0", SK_TYPE_Q5_0},     {"q5_1", SK_TYPE_Q5_1}, {"q2_k", SK_TYPE_Q2_K},
    {"q3_k", SK_TYPE_Q3_K},     {"q4_k", SK_TYPE_Q4_K}, {"q5_k", SK_TYPE_Q5_K},
    {"q6_k", SK_TYPE_Q6_K},     {"q8_k", SK_TYPE_Q8_K}, {"iq4_nl", SK_TYPE_IQ4_NL},
    {"iq4_xs", SK_TYPE_IQ4_XS},
};
#define N_REF (sizeof k_ref / sizeof k_ref[0])

static float *load_input(void) {
    size_t len = 0;
    float *x = sk_test_slurp(QREF "/input.f32", &len);
    if (len != N_IN * sizeof(float)) {
        fprintf(stderr, "input.f32: %zu bytes\n", len);
        exit(2);
    }
    return x;
}

/* Byte equality with the oracle, reporting the first differing block. */
static void test_matches_llama_cpp(void) {
    float *x = load_input();
    sk_err e = {0};
    for (size_t k = 0; k < N_REF; k++) {
        const int type = k_ref[k].type;
        char path[512];
        snprintf(path, sizeof path, QREF "/%s.bin", k_ref[k].file);
        size_t ref_len = 0, sz = 0;
        uint8_t *ref = sk_test_slurp(path, &ref_len);
        CHECK(sk_row_size(type, N_IN, &sz));
        CHECK_MSG(ref_len == sz, "%s: %zu bytes, want %zu", path, ref_len, sz);
        uint8_t *out = calloc(1, sz);
        CHECK_OK(sk_quant(type, x, out, N_IN, &e), &e);
        const size_t bs = (size_t)sk_type_info(type)->type_size;
        int n_bad = 0, first = -1;
        for (size_t b = 0; b < sz / bs; b++)
            if (memcmp(out + b * bs, ref + b * bs, bs)) {
                if (first < 0) first = (int)b;
                n_bad++;
            }
        CHECK_MSG(n_bad == 0, "%s: %d of %zu blocks differ from llama.cpp, first block %d",
                  k_ref[k].file, n_bad, sz / bs, first);
        free(out);
        free(ref);
    }
    free(x);
}

static uint64_t rng = 88172645463325252ull;
static double uni(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}
static float gauss(void) {
    return (float)(sqrt(-2 * log(uni())) * cos(6.283185307179586 * uni()));
}

/* Quantize → dequantize of Gaussian data: relative RMS error within the type's expected range
 * (the bounds are 1.25x what llama.cpp's algorithms achieve on this data; a wrong bit layout or
 * scale gives errors of order 1). */
static void test_round_trip_error(void) {
    static const struct {
        int type;
        double max_rel_rmse;
    } k_bound[] = {
        {SK_TYPE_F16, 0.0003},   {SK_TYPE_BF16, 0.0021},  {SK_TYPE_Q8_0, 0.0067},
        {SK_TYPE_Q8_1, 0.0067},  {SK_TYPE_Q8_K, 0.0087},  {SK_TYPE_Q6_K, 0.022},
        {SK_TYPE_Q5_0, 0.053},   {SK_TYPE_Q5_1, 0.047},   {SK_TYPE_Q5_K, 0.045},
        {SK_TYPE_Q4_0, 0.106},   {SK_TYPE_Q4_1, 0.097},   {SK_TYPE_Q4_K, 0.089},
        {SK_TYPE_IQ4_NL, 0.094}, {SK_TYPE_IQ4_XS, 0.095}, {SK_TYPE_Q3_K, 0.19},
        {SK_TYPE_Q2_K, 0.37},
    };
    enum { N = 256 * 64 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    void *q = malloc(N * 4);
    double sx = 0;
    for (int i = 0; i < N; i++) {
        x[i] = gauss() * 0.03f;
        sx += (double)x[i] * x[i];
    }
    sk_err e = {0};
    for (size_t k = 0; k < sizeof k_bound / sizeof k_bound[0]; k++) {
        const int t = k_bound[k].type;
        CHECK_OK(sk_quant(t, x, q, N, &e), &e);
        CHECK_OK(sk_dequant(t, q, y, N, &e), &e);
        double se = 0;
        for (int i = 0; i < N; i++) se += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
        const double rel = sqrt(se / sx);
        fprintf(stderr, "    %-7s rel rmse %.5f (bound %.4f)\n", sk_type_name(t), rel,
                k_bound[k].max_rel_rmse);
        CHECK_MSG(rel <= k_bound[k].max_rel_rmse, "%s: rel rmse %.5f > %.4f", sk_type_name(t), rel,
                  k_bound[k].max_rel_rmse);
    }
    free(x);
    free(y);
    free(q);
}

/* Zero, constant and single-spike blocks decode exactly (or to the closest the format allows). */
static void test_special_blocks(void) {
    static const int types[] = {SK_TYPE_Q8_0, SK_TYPE_Q4_0, SK_TYPE_Q4_1,   SK_TYPE_Q5_0,
                                SK_TYPE_Q5_1, SK_TYPE_Q2_K, SK_TYPE_Q3_K,   SK_TYPE_Q4_K,
                                SK_TYPE_Q5_K, SK_TYPE_Q6_K, SK_TYPE_IQ4_NL, SK_TYPE_IQ4_XS,
                                SK_TYPE_Q8_K};
    float x[256], y[256];
    uint8_t q[512];
    sk_err e = {0};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const int t = types[k];
        memset(x, 0, sizeof x);
        CHECK_OK(sk_quant(t, x, q, 256, &e), &e);
        CHECK_OK(sk_dequant(t, q, y, 256, &e), &e);
        int nz = 0;
        for (int i = 0; i < 256; i++) nz += y[i] != 0;
        CHECK_MSG(nz == 0, "%s: zero block decodes to %d non-zeros", sk_type_name(t), nz);
        /* a lone spike: every format keeps its sign and rough size, and zeros stay small */
        x[77] = -3.0f;
        CHECK_OK(sk_quant(t, x, q, 256, &e), &e);
        CHECK_OK(sk_dequant(t, q, y, 256, &e), &e);
        CHECK_MSG(fabsf(y[77] + 3.0f) < 0.2f, "%s: spike -3 decodes to %g", sk_type_name(t), y[77]);
    }
}

/* Re-encoding llama.cpp-quantized tensors: for the legacy types (one scale from the block's
 * extremes) the decoded values re-encode to decode identically; for the searched-scale types the
 * re-encoded values stay close to the originals (bounds 2-3x the changes seen). */
static void test_requantize_golden(void) {
    static const struct {
        const char *file;
        int type;
        bool exact;
        double max_rel;
    } k_g[] = {
        {"quant-q8_0.gguf", SK_TYPE_Q8_0, true, 0},
        {"quant-q4_0.gguf", SK_TYPE_Q4_0, true, 0},
        {"quant-q5_0.gguf", SK_TYPE_Q5_0, true, 0},
        {"quant-q4_1.gguf", SK_TYPE_Q4_1, true, 0},
        {"quant-q6_k.gguf", SK_TYPE_Q6_K, false, 0.02},
        {"quant-q4_k.gguf", SK_TYPE_Q4_K, false, 0.001},
        {"quant-q5_k.gguf", SK_TYPE_Q5_K, false, 0.01},
        {"quant-iq4_xs.gguf", SK_TYPE_IQ4_XS, false, 0.05},
    };
    sk_err e = {0};
    for (size_t k = 0; k < sizeof k_g / sizeof k_g[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, SEEK_TEST_DATA "/golden/quant/%s", k_g[k].file);
        gm_file g;
        CHECK(gm_open(&g, path) == 0);
        const gm_tensor *t = gm_find(&g, "blk.0.attn_q.weight");
        CHECK(t && t->type == k_g[k].type);
        if (!t) {
            gm_close(&g);
            continue;
        }
        const int64_t n = t->ne[0] * t->ne[1];
        size_t sz;
        CHECK(sk_row_size(t->type, n, &sz));
        const void *data = gm_data(&g, t, sz);
        float *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4);
        void *q = malloc(sz);
        CHECK_OK(sk_dequant(t->type, data, a, n, &e), &e);
        CHECK_OK(sk_quant(t->type, a, q, n, &e), &e);
        CHECK_OK(sk_dequant(t->type, q, b, n, &e), &e);
        double se = 0, sa = 0;
        for (int64_t i = 0; i < n; i++) {
            se += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
            sa += (double)a[i] * a[i];
        }
        const double rel = sqrt(se / sa);
        fprintf(stderr, "    %-7s requantized: rel change %.6f\n", sk_type_name(t->type), rel);
        if (k_g[k].exact)
            CHECK_MSG(memcmp(a, b, (size_t)n * 4) == 0, "%s: re-encoding changed values",
                      k_g[k].file);
        else
            CHECK_MSG(rel <= k_g[k].max_rel, "%s: rel change %.5f", k_g[k].file, rel);
        free(a);
        free(b);
        free(q);
        gm_close(&g);
    }
}

/* Row-parallel encoding/decoding gives the same bytes for 1, 2 and 5 threads. */
static void test_threads_identical(void) {
    float *x = load_input();
    sk_err e = {0};
    static const int types[] = {SK_TYPE_Q4_K, SK_TYPE_Q8_0, SK_TYPE_IQ4_XS, SK_TYPE_F16};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        size_t sz;
        CHECK(sk_row_size(types[k], N_IN, &sz));
        uint8_t *a = malloc(sz), *b = malloc(sz);
        float *fa = malloc(N_IN * 4), *fb = malloc(N_IN * 4);
        CHECK_OK(sk_quant(types[k], x, a, N_IN, &e), &e);
        CHECK_OK(sk_dequant(types[k], a, fa, N_IN, &e), &e);
        for (int nt = 1; nt <= 5; nt += 2) {
            sk_pool *p = sk_pool_new(nt, &e);
            memset(b, 0xAB, sz);
            CHECK_OK(sk_quant_rows(p, types[k], x, b, 64, 256, &e), &e);
            CHECK(memcmp(a, b, sz) == 0);
            memset(fb, 0, N_IN * 4);
            CHECK_OK(sk_dequant_rows(p, types[k], a, fb, 64, 256, &e), &e);
            CHECK(memcmp(fa, fb, N_IN * 4) == 0);
            sk_pool_free(p);
        }
        CHECK_OK(sk_quant_rows(NULL, types[k], x, b, 64, 256, &e), &e);
        CHECK(memcmp(a, b, sz) == 0);
        free(a);
        free(b);
        free(fa);
        free(fb);
    }
    free(x);
}

/* The AVX2 lane-parallel fits against the scalar code on 512 super-blocks of assorted data:
 * Gaussians at scales from 1e-30 to 1e30, sparse and constant blocks, zeros, and random finite
 * bit patterns (whose overflowing sums drive the NaN/inf paths). Must be the same bytes. */
static void test_simd_matches_scalar(void) {
    enum { NB = 512, N = 256 * NB };
    float *x = malloc(N * sizeof(float));
    for (int b = 0; b < NB; b++) {
        float *v = x + 256 * b;
        const int kind = b % 8;
        const float sc = powf(10.0f, (float)(uni() * 60 - 30));
        for (int i = 0; i < 256; i++) {
            float f;
            switch (kind) {
            case 0:
                f = sc * gauss();
                break;
            case 1:
                f = (uni() < 0.1) ? sc * gauss() : 0.0f;
                break;
            case 2:
                f = (i / 32) % 2 ? sc : 0.0f;
                break; /* constant and zero sub-blocks */
            case 3:
                f = sc * (float)(int)(gauss() * 3);
                break;
            case 4: {
                uint32_t u;
                do {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    u = (uint32_t)(rng >> 32);
                } while ((u & 0x7F800000u) == 0x7F800000u);
                memcpy(&f, &u, 4);
            } break;
            case 5:
                f = (i % 16 == 3) ? -sc : sc * 1e-3f * gauss();
                break;
            case 6:
                f = fabsf(gauss()) * sc;
                break;
            default:
                f = gauss() * (float)(1 + i % 32) * sc;
                break;
            }
            v[i] = f;
        }
    }
    sk_quant_set_simd(true);
    if (!sk_quant_simd_active()) {
        free(x);
        SKIP("no AVX2 on this CPU: only the scalar encoders run");
    }
    sk_err e = {0};
    int n_types = 0;
    for (int t = 0; t < SK_TYPE_GGML_COUNT; t++) {
        if (!sk_type_info(t)->can_quant) continue;
        size_t sz;
        CHECK(sk_row_size(t, N, &sz));
        uint8_t *a = malloc(sz), *b = malloc(sz);
        sk_quant_set_simd(true);
        CHECK_OK(sk_quant(t, x, a, N, &e), &e);
        sk_quant_set_simd(false);
        CHECK_OK(sk_quant(t, x, b, N, &e), &e);
        sk_quant_set_simd(true);
        const size_t bs = (size_t)sk_type_info(t)->type_size;
        int n_bad = 0, first = -1;
        for (size_t k = 0; k < sz / bs; k++)
            if (memcmp(a + k * bs, b + k * bs, bs)) {
                if (first < 0) first = (int)k;
                n_bad++;
            }
        CHECK_MSG(n_bad == 0, "%s: %d blocks differ between SIMD and scalar, first %d",
                  sk_type_name(t), n_bad, first);
        n_types++;
        free(a);
        free(b);
    }
    CHECK(n_types >= 16);
    free(x);
}

/* Misaligned buffers (odd addresses) give the same results (and no misaligned access under UBSan).
 */
static void test_misaligned_buffers(void) {
    float *x = load_input();
    sk_err e = {0};
    for (int t = 0; t < SK_TYPE_GGML_COUNT; t++) {
        if (!sk_type_info(t)->can_quant) continue;
        size_t sz;
        CHECK(sk_row_size(t, N_IN, &sz));
        uint8_t *a = malloc(sz), *raw = malloc(sz + 1), *b = raw + 1;
        float *fa = malloc(N_IN * 4), *fb = malloc(N_IN * 4);
        CHECK_OK(sk_quant(t, x, a, N_IN, &e), &e);
        CHECK_OK(sk_quant(t, x, b, N_IN, &e), &e);
        CHECK_MSG(memcmp(a, b, sz) == 0, "%s: misaligned encode differs", sk_type_name(t));
        CHECK_OK(sk_dequant(t, a, fa, N_IN, &e), &e);
        CHECK_OK(sk_dequant(t, b, fb, N_IN, &e), &e);
        CHECK_MSG(memcmp(fa, fb, N_IN * 4) == 0, "%s: misaligned decode differs", sk_type_name(t));
        sk_tensor v = {
            .type = t, .n_dims = 2, .ne = {256, N_IN / 256, 1, 1}, .data = b, .nbytes = sz};
        CHECK_OK(sk_tensor_dequant_row(&v, 5, fb, &e), &e);
        CHECK(memcmp(fa + 5 * 256, fb, 256 * 4) == 0);
        free(a);
        free(raw);
        free(fa);
        free(fb);
    }
    free(x);
}

static void test_errors(void) {
    float x[512] = {0};
    uint8_t q[2048];
    sk_err e = {0};
    x[300] = NAN;
    CHECK(sk_quant(SK_TYPE_Q4_K, x, q, 512, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "300") && strstr(e.msg, "NaN"));
    x[300] = -INFINITY;
    CHECK(sk_quant(SK_TYPE_Q8_0, x, q, 512, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "infinite") != NULL);
    /* the row-parallel form names the global element index */
    sk_pool *p = sk_pool_new(2, &e);
    CHECK(sk_quant_rows(p, SK_TYPE_Q8_0, x, q, 16, 32, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "300") != NULL);
    sk_pool_free(p);
    /* F16/BF16 convert non-finite values */
    CHECK_OK(sk_quant(SK_TYPE_F16, x, q, 512, &e), &e);
    x[300] = 0;
    CHECK(sk_quant(SK_TYPE_Q4_K, x, q, 255, &e) == SK_ERR_INVALID);
    CHECK(sk_quant(SK_TYPE_Q4_0, x, q, 48, &e) == SK_ERR_INVALID);
    CHECK(sk_quant(SK_TYPE_IQ2_XXS, x, q, 256, &e) == SK_ERR_UNSUPPORTED);
    CHECK(sk_quant(SK_TYPE_F8_E4M3, x, q, 256, &e) == SK_ERR_UNSUPPORTED);
    CHECK(sk_quant(-3, x, q, 256, &e) == SK_ERR_UNSUPPORTED);
    CHECK(sk_quant_rows(NULL, SK_TYPE_Q4_K, x, q, 2, 100, &e) == SK_ERR_INVALID);
    CHECK(sk_quant_rows(NULL, SK_TYPE_Q8_0, x, q, INT64_MAX, 64, &e) == SK_ERR_RANGE);
}

int main(void) {
    RUN(test_matches_llama_cpp);
    RUN(test_round_trip_error);
    RUN(test_special_blocks);
    RUN(test_requantize_golden);
    RUN(test_threads_identical);
    RUN(test_simd_matches_scalar);
    RUN(test_misaligned_buffers);
    RUN(test_errors);
    return sk_test_report("tensor_quant");
}
