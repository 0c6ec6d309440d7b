/* test_dequant — decoders against llama.cpp's reference dequantization, bit for bit
 * (tests/data/golden/quant: every type in manifest.json), the F8_E4M3 block-scale rule, the
 * row-parallel form, and error handling. */
#include "gguf_mini.h"
#include "sk_test.h"
#include "sk_tensor.h"

#include <jansson.h>

#define QDIR SEEK_TEST_DATA "/golden/quant"

/* Decodes one tensor of a golden file three ways and compares each with the reference bits. */
static void check_golden_tensor(const gm_file *g, const char *file, const char *tname,
                                const char *tyname, int64_t n_expected) {
    const gm_tensor *t = gm_find(g, tname);
    CHECK_MSG(t != NULL, "%s: tensor %s missing", file, tname);
    if (!t) return;
    const int want_type = sk_type_from_name(tyname);
    CHECK_MSG(t->type == want_type, "%s %s: stored type %d, manifest says %s", file, tname, t->type,
              tyname);
    const int64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    CHECK(n == n_expected);
    size_t nbytes = 0;
    CHECK(sk_row_size(t->type, n, &nbytes));
    const void *data = gm_data(g, t, nbytes);
    CHECK_MSG(data != NULL, "%s %s: data out of file", file, tname);
    if (!data || n != n_expected) return;

    char ref_path[512];
    snprintf(ref_path, sizeof ref_path, QDIR "/%.*s.%s.f32", (int)(strlen(file) - 5), file, tname);
    size_t ref_len = 0;
    float *ref = sk_test_slurp(ref_path, &ref_len);
    CHECK_MSG(ref_len == (size_t)n * 4, "%s: %zu bytes, want %lld", ref_path, ref_len,
              (long long)n * 4);

    sk_err e = {0};
    float *out = calloc((size_t)n, sizeof(float));
    /* 1: the whole tensor at once */
    CHECK_OK(sk_dequant(t->type, data, out, n, &e), &e);
    int64_t first_bad = -1, n_bad = 0;
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&out[i], &ref[i], 4)) {
            if (first_bad < 0) first_bad = i;
            n_bad++;
        }
    CHECK_MSG(n_bad == 0, "%s %s: %lld of %lld values differ, first at %lld: got %.9g want %.9g",
              tyname, tname, (long long)n_bad, (long long)n, (long long)first_bad,
              first_bad >= 0 ? out[first_bad] : 0.0, first_bad >= 0 ? ref[first_bad] : 0.0);

    /* 2: row by row through a tensor view */
    sk_tensor v = {.name = tname,
                   .type = t->type,
                   .n_dims = t->n_dims,
                   .data = (void *)data,
                   .nbytes = nbytes};
    for (int d = 0; d < 4; d++) v.ne[d] = t->ne[d];
    memset(out, 0, (size_t)n * 4);
    for (int64_t r = 0; r < sk_tensor_nrows(&v); r++)
        CHECK_OK(sk_tensor_dequant_row(&v, r, out + r * v.ne[0], &e), &e);
    CHECK(memcmp(out, ref, (size_t)n * 4) == 0);

    /* 3: rows in parallel */
    sk_pool *pool = sk_pool_new(3, &e);
    CHECK(pool != NULL);
    memset(out, 0, (size_t)n * 4);
    CHECK_OK(sk_dequant_rows(pool, t->type, data, out, sk_tensor_nrows(&v), v.ne[0], &e), &e);
    CHECK(memcmp(out, ref, (size_t)n * 4) == 0);
    sk_pool_free(pool);
    free(out);
    free(ref);
}

static void test_golden_all_types(void) {
    json_error_t je;
    json_t *m = json_load_file(QDIR "/manifest.json", 0, &je);
    CHECK_MSG(m != NULL, "manifest.json: %s", je.text);
    if (!m) return;
    int n_types = 0, n_tensors = 0;
    const char *tyname;
    json_t *entry;
    json_object_foreach(m, tyname, entry) {
        const char *file = json_string_value(json_object_get(entry, "file"));
        CHECK(file != NULL);
        if (!file) continue;
        CHECK_MSG(sk_type_info(sk_type_from_name(tyname))->can_dequant, "type %s not decodable",
                  tyname);
        char path[512];
        snprintf(path, sizeof path, QDIR "/%s", file);
        gm_file g;
        CHECK_MSG(gm_open(&g, path) == 0, "cannot parse %s", path);
        const char *tname;
        json_t *tinfo;
        json_object_foreach(json_object_get(entry, "tensors"), tname, tinfo) {
            const char *ty = json_string_value(json_object_get(tinfo, "type"));
            check_golden_tensor(&g, file, tname, ty ? ty : "?",
                                json_integer_value(json_object_get(tinfo, "n")));
            n_tensors++;
        }
        gm_close(&g);
        n_types++;
    }
    json_decref(m);
    fprintf(stderr, "    %d types, %d tensors compared bit for bit\n", n_types, n_tensors);
    CHECK(n_types == 12);
    CHECK(n_tensors == 24);
}

/* Every F16 and BF16 code: F16 via the (separately verified) scalar converter, BF16 by bits. */
static void test_plain_types(void) {
    uint16_t codes[65536];
    for (int i = 0; i < 65536; i++) codes[i] = (uint16_t)i;
    float *out = malloc(65536 * sizeof(float));
    sk_err e = {0};
    CHECK_OK(sk_dequant(SK_TYPE_F16, codes, out, 65536, &e), &e);
    int bad = 0;
    for (int i = 0; i < 65536; i++) {
        float w = sk_fp16_to_f32((sk_fp16)i);
        if (memcmp(&w, &out[i], 4)) bad++;
    }
    CHECK(bad == 0);
    CHECK(out[0x3C00] == 1.0f && out[0xC000] == -2.0f && out[0x0001] == ldexpf(1, -24));
    CHECK_OK(sk_dequant(SK_TYPE_BF16, codes, out, 65536, &e), &e);
    bad = 0;
    for (int i = 0; i < 65536; i++) {
        uint32_t u;
        memcpy(&u, &out[i], 4);
        if (u != (uint32_t)i << 16) bad++;
    }
    CHECK(bad == 0);
    float f[3] = {1.5f, -0.0f, 3e38f}, g[3];
    CHECK_OK(sk_dequant(SK_TYPE_F32, f, g, 3, &e), &e);
    CHECK(memcmp(f, g, sizeof f) == 0);
    free(out);
}

/* FP8 with 128x128 scales: a 200x300 matrix (partial edge blocks) and a 3-D stack of two. */
static void test_fp8_block_scales(void) {
    enum { R = 200, C = 300, SR = 2, SC = 3 };
    uint8_t *w = malloc(2 * R * C);
    float scale[2 * SR * SC];
    uint32_t s = 12345;
    for (int i = 0; i < 2 * R * C; i++) {
        s = s * 1103515245u + 12345u;
        uint8_t b = (uint8_t)(s >> 16);
        if ((b & 0x7F) == 0x7F) b ^= 1; /* no NaN codes */
        w[i] = b;
    }
    for (int i = 0; i < 2 * SR * SC; i++) scale[i] = 0.001f * (float)(i + 1);
    sk_tensor t = {.name = "fp8",
                   .type = SK_TYPE_F8_E4M3,
                   .n_dims = 3,
                   .ne = {C, R, 2, 1},
                   .data = w,
                   .nbytes = 2 * R * C,
                   .scale = scale};
    float row[C];
    sk_err e = {0};
    int bad = 0;
    for (int m = 0; m < 2; m++)
        for (int r = 0; r < R; r++) {
            CHECK_OK(sk_tensor_dequant_row(&t, m * R + r, row, &e), &e);
            for (int c = 0; c < C; c++) {
                /* e4m3fn decoded from the bit fields here, independently of the converter */
                uint8_t b = w[(m * R + r) * C + c];
                int sg = b >> 7, ex = (b >> 3) & 15, mt = b & 7;
                float v = ex ? ldexpf(1.0f + mt / 8.0f, ex - 7) : ldexpf(mt / 8.0f, -6);
                if (sg) v = -v;
                float want = v * scale[m * SR * SC + (r / 128) * SC + c / 128];
                if (memcmp(&want, &row[c], 4)) bad++;
            }
        }
    CHECK_MSG(bad == 0, "%d fp8 values differ", bad);
    /* slice3 of expert 1 gives the same rows */
    sk_tensor s1 = sk_tensor_slice3(&t, 1);
    float row2[C];
    CHECK_OK(sk_tensor_dequant_row(&s1, 150, row2, &e), &e);
    CHECK_OK(sk_tensor_dequant_row(&t, R + 150, row, &e), &e);
    CHECK(memcmp(row, row2, sizeof row) == 0);
    /* errors: no scale grid; sk_dequant refuses fp8 */
    t.scale = NULL;
    CHECK(sk_tensor_dequant_row(&t, 0, row, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "scale") != NULL);
    CHECK(sk_dequant(SK_TYPE_F8_E4M3, w, row, 32, &e) == SK_ERR_INVALID);
    free(w);
}

static void test_errors(void) {
    sk_err e = {0};
    uint8_t buf[256] = {0};
    float out[256];
    CHECK(sk_dequant(SK_TYPE_Q4_0, buf, out, 33, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "multiple") != NULL);
    CHECK(sk_dequant(SK_TYPE_IQ2_XXS, buf, out, 256, &e) == SK_ERR_UNSUPPORTED);
    CHECK(strstr(e.msg, "iq2_xxs") != NULL);
    CHECK(sk_dequant(12345, buf, out, 1, &e) == SK_ERR_UNSUPPORTED);
    CHECK(sk_dequant(SK_TYPE_Q8_0, NULL, out, 32, &e) == SK_ERR_INVALID);
    CHECK(sk_dequant(SK_TYPE_Q8_0, buf, out, 0, &e) == SK_OK);
    sk_tensor t = {.name = "w",
                   .type = SK_TYPE_Q8_0,
                   .n_dims = 2,
                   .ne = {32, 2, 1, 1},
                   .data = buf,
                   .nbytes = 68};
    CHECK(sk_tensor_dequant_row(&t, 2, out, &e) == SK_ERR_RANGE);
    CHECK(strstr(e.msg, "w") != NULL);
    CHECK(sk_tensor_dequant_row(&t, -1, out, &e) == SK_ERR_RANGE);
    t.nbytes = 50; /* second row would run past the data */
    CHECK(sk_tensor_dequant_row(&t, 1, out, &e) == SK_ERR_RANGE);
    CHECK_OK(sk_tensor_dequant_row(&t, 0, out, &e), &e);
    t.ne[0] = 48; /* not a multiple of 32 */
    CHECK(sk_tensor_dequant_row(&t, 0, out, &e) == SK_ERR_FORMAT);
    CHECK(sk_dequant_rows(NULL, SK_TYPE_Q4_K, buf, out, 1, 100, &e) != SK_OK);
}

/* Arbitrary bytes (any scale bits, NaN/inf half scales, every nibble) decode without undefined
 * behaviour (checked by the sanitizer build), identically whole and block by block. */
static void test_random_bytes(void) {
    enum { BYTES = 1 << 16 };
    uint8_t *raw = malloc(BYTES);
    uint32_t s = 2463534242u;
    for (int i = 0; i < BYTES; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        raw[i] = (uint8_t)s;
    }
    sk_err e = {0};
    int n_types = 0;
    for (int t = 0; t < SK_TYPE_GGML_COUNT; t++) {
        const sk_type_traits *tt = sk_type_info(t);
        if (!tt->can_dequant) continue;
        const int64_t nblk = BYTES / tt->type_size, n = nblk * tt->block_size;
        float *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4);
        CHECK_OK(sk_dequant(t, raw, a, n, &e), &e);
        for (int64_t k = 0; k < nblk; k++)
            CHECK_OK(
                sk_dequant(t, raw + k * tt->type_size, b + k * tt->block_size, tt->block_size, &e),
                &e);
        CHECK_MSG(memcmp(a, b, (size_t)n * 4) == 0, "%s: whole vs per-block decode differ",
                  tt->name);
        free(a);
        free(b);
        n_types++;
    }
    CHECK(n_types >= 17);
    free(raw);
}

/* Traits flags agree with what the codec really does. */
static void test_traits_flags(void) {
    uint8_t buf[4096] = {0};
    float out[512], in[512] = {0};
    for (int t = 0; t < SK_TYPE_GGML_COUNT; t++) {
        const sk_type_traits *tt = sk_type_info(t);
        if (!tt->block_size) continue;
        sk_err e = {0};
        int rc = sk_dequant(t, buf, out, tt->block_size, &e);
        CHECK_MSG((rc == SK_OK) == tt->can_dequant,
                  "type %s: can_dequant %d but sk_dequant gives %d", tt->name, tt->can_dequant, rc);
        rc = sk_quant(t, in, buf, tt->block_size, &e);
        CHECK_MSG((rc == SK_OK) == tt->can_quant, "type %s: can_quant %d but sk_quant gives %d",
                  tt->name, tt->can_quant, rc);
    }
}

int main(void) {
    RUN(test_golden_all_types);
    RUN(test_plain_types);
    RUN(test_fp8_block_scales);
    RUN(test_errors);
    RUN(test_random_bytes);
    RUN(test_traits_flags);
    return sk_test_report("tensor_dequant");
}
