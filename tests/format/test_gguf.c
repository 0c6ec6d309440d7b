/* Tests for the GGUF reader and writer: round trips of every value type and several tensor
 * types, splits, copy_kv, and the golden/quant files checked against case.json/manifest.json
 * and config.json. */
#include "sk_gguf.h"
#include "sk_json.h"
#include "sk_test.h"

#include <inttypes.h>
#include <unistd.h>

static char g_tmp[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmp, name);
    return buf[k];
}

typedef struct fill_ctx {
    uint8_t seed;
    int calls;
} fill_ctx;

static int fill_pattern(void *ctx, void *dst, uint64_t n, sk_err *e) {
    fill_ctx *c = ctx;
    c->calls++;
    for (uint64_t i = 0; i < n; i++) ((uint8_t *)dst)[i] = (uint8_t)(c->seed + i * 7);
    return SK_OK;
}

static int fill_fail(void *ctx, void *dst, uint64_t n, sk_err *e) {
    return sk_err_set(e, SK_ERR_IO, "source vanished");
}

/* Writes a file with every value type and tensors of several types; returns the writer's
 * expectations through the checks below. */
static void build_all_types(sk_gguf_writer *w, float *f32data, uint8_t *q8data, fill_ctx *fc) {
    sk_err e;
    CHECK_OK(sk_gguf_set_u8(w, "t.u8", 200, &e), &e);
    int8_t i8 = -100;
    CHECK_OK(sk_gguf_set_scalar(w, "t.i8", SK_GGUF_INT8, &i8, &e), &e);
    uint16_t u16 = 60000;
    CHECK_OK(sk_gguf_set_scalar(w, "t.u16", SK_GGUF_UINT16, &u16, &e), &e);
    int16_t i16 = -30000;
    CHECK_OK(sk_gguf_set_scalar(w, "t.i16", SK_GGUF_INT16, &i16, &e), &e);
    CHECK_OK(sk_gguf_set_u32(w, "t.u32", 4000000000u, &e), &e);
    CHECK_OK(sk_gguf_set_i32(w, "t.i32", -2000000000, &e), &e);
    CHECK_OK(sk_gguf_set_f32(w, "t.f32", 0.1f, &e), &e);
    CHECK_OK(sk_gguf_set_bool(w, "t.bool", true, &e), &e);
    CHECK_OK(sk_gguf_set_str(w, "t.str", "héllo\n\"world\"", &e), &e);
    CHECK_OK(sk_gguf_set_u64(w, "t.u64", 18000000000000000000ull, &e), &e);
    int64_t i64 = -9000000000000000000ll;
    CHECK_OK(sk_gguf_set_scalar(w, "t.i64", SK_GGUF_INT64, &i64, &e), &e);
    double f64 = 3.141592653589793;
    CHECK_OK(sk_gguf_set_scalar(w, "t.f64", SK_GGUF_FLOAT64, &f64, &e), &e);
    int32_t ia[5] = {1, -2, 3, -4, 5};
    CHECK_OK(sk_gguf_set_arr(w, "t.arr_i32", SK_GGUF_INT32, ia, 5, &e), &e);
    float fa[3] = {1.5f, -2.5f, 1e-3f};
    CHECK_OK(sk_gguf_set_arr(w, "t.arr_f32", SK_GGUF_FLOAT32, fa, 3, &e), &e);
    CHECK_OK(sk_gguf_set_arr(w, "t.arr_empty", SK_GGUF_UINT8, NULL, 0, &e), &e);
    const char *sa[4] = {"a", "", "Ġthe", "<｜begin▁of▁sentence｜>"};
    CHECK_OK(sk_gguf_set_arr_str(w, "t.arr_str", sa, 4, &e), &e);
    CHECK_OK(sk_gguf_set_u32(w, "t.replaced", 1, &e), &e);
    CHECK_OK(sk_gguf_set_str(w, "t.replaced", "second", &e), &e); /* last value wins */
    CHECK_OK(sk_gguf_set_str(w, "general.architecture", "llama", &e), &e);

    for (int i = 0; i < 64 * 3; i++) f32data[i] = (float)i * 0.25f - 7.0f;
    for (int i = 0; i < 34 * 4; i++) q8data[i] = (uint8_t)(i * 13 + 1);
    int64_t ne_f32[2] = {64, 3};
    CHECK_OK(sk_gguf_add_tensor(w, "a.f32", SK_TYPE_F32, 2, ne_f32, f32data, NULL, NULL, &e), &e);
    int64_t ne_q8[3] = {64, 1, 2}; /* 2 rows of 2 blocks */
    CHECK_OK(sk_gguf_add_tensor(w, "b.q8_0", SK_TYPE_Q8_0, 3, ne_q8, q8data, NULL, NULL, &e), &e);
    int64_t ne_f16[1] = {17}; /* odd size: padding follows */
    CHECK_OK(sk_gguf_add_tensor(w, "c.f16", SK_TYPE_F16, 1, ne_f16, NULL, fill_pattern, fc, &e),
             &e);
    int64_t ne_q4k[4] = {256, 2, 1, 2};
    CHECK_OK(sk_gguf_add_tensor(w, "d.q4_K", SK_TYPE_Q4_K, 4, ne_q4k, NULL, fill_pattern, fc, &e),
             &e);
    int64_t ne_bf16[2] = {5, 5};
    CHECK_OK(sk_gguf_add_tensor(w, "e.bf16", SK_TYPE_BF16, 2, ne_bf16, NULL, fill_pattern, fc, &e),
             &e);
}

static void check_all_types(const sk_gguf *g, const float *f32data, const uint8_t *q8data,
                            uint8_t seed) {
    uint32_t u32;
    int64_t i64;
    float f;
    bool b;
    const char *s;
    size_t len;
    CHECK(sk_gguf_version(g) == 3);
    CHECK(sk_gguf_alignment(g) == 32);
    CHECK(sk_gguf_get_u32(g, "t.u8", &u32) && u32 == 200);
    CHECK(sk_gguf_get_i64(g, "t.i8", &i64) && i64 == -100);
    CHECK(!sk_gguf_get_u32(g, "t.i8", &u32)); /* negative does not fit */
    CHECK(sk_gguf_get_u32(g, "t.u16", &u32) && u32 == 60000);
    CHECK(sk_gguf_get_i64(g, "t.i16", &i64) && i64 == -30000);
    CHECK(sk_gguf_get_u32(g, "t.u32", &u32) && u32 == 4000000000u);
    CHECK(sk_gguf_get_i64(g, "t.i32", &i64) && i64 == -2000000000);
    CHECK(sk_gguf_get_f32(g, "t.f32", &f) && f == 0.1f);
    CHECK(sk_gguf_get_f32(g, "t.u32", &f) && f == 4000000000.0f); /* integers accepted */
    CHECK(sk_gguf_get_bool(g, "t.bool", &b) && b);
    CHECK(!sk_gguf_get_bool(g, "t.u8", &b));
    CHECK(sk_gguf_get_str(g, "t.str", &s, &len) && len == strlen("héllo\n\"world\"") &&
          !memcmp(s, "héllo\n\"world\"", len));
    CHECK(!sk_gguf_get_u32(g, "t.u64", &u32)); /* too large for u32 */
    CHECK(!sk_gguf_get_i64(g, "t.u64", &i64)); /* too large for i64 */
    CHECK(sk_gguf_get_i64(g, "t.i64", &i64) && i64 == -9000000000000000000ll);
    CHECK(sk_gguf_get_f32(g, "t.f64", &f) && f == (float)3.141592653589793);
    sk_gguf_vtype et;
    uint64_t count;
    const void *data;
    CHECK(sk_gguf_get_arr(g, "t.arr_i32", &et, &count, &data) && et == SK_GGUF_INT32 && count == 5);
    int32_t ia[5];
    memcpy(ia, data, sizeof ia);
    CHECK(ia[0] == 1 && ia[1] == -2 && ia[4] == 5);
    CHECK(sk_gguf_get_arr(g, "t.arr_f32", &et, &count, &data) && et == SK_GGUF_FLOAT32 &&
          count == 3);
    float fa[3];
    memcpy(fa, data, sizeof fa);
    CHECK(fa[1] == -2.5f && fa[2] == 1e-3f);
    CHECK(sk_gguf_get_arr(g, "t.arr_empty", &et, &count, &data) && et == SK_GGUF_UINT8 &&
          count == 0);
    CHECK(sk_gguf_get_arr(g, "t.arr_str", &et, &count, &data) && et == SK_GGUF_STRING &&
          count == 4);
    CHECK(sk_gguf_get_arr_str(g, "t.arr_str", 2, &s, &len) && len == strlen("Ġthe") &&
          !memcmp(s, "Ġthe", len));
    CHECK(sk_gguf_get_arr_str(g, "t.arr_str", 1, &s, &len) && len == 0);
    CHECK(sk_gguf_get_arr_str(g, "t.arr_str", 3, &s, &len) &&
          len == strlen("<｜begin▁of▁sentence｜>"));
    CHECK(!sk_gguf_get_arr_str(g, "t.arr_str", 4, &s, &len));
    CHECK(sk_gguf_get_str(g, "t.replaced", &s, &len) && len == 6 && !memcmp(s, "second", 6));
    CHECK(sk_gguf_find_key(g, "nope") == -1);
    CHECK(!sk_gguf_get_u32(g, "nope", &u32));
    char buf[128];
    int64_t ki = sk_gguf_find_key(g, "t.str");
    CHECK(ki >= 0 && sk_gguf_kv_type(g, ki) == SK_GGUF_STRING);
    CHECK(sk_gguf_kv_to_string(g, ki, buf, sizeof buf) == SK_OK &&
          !strcmp(buf, "\"héllo\\n\\\"world\\\"\""));
    ki = sk_gguf_find_key(g, "t.arr_str");
    CHECK(sk_gguf_kv_to_string(g, ki, buf, sizeof buf) == SK_OK && !strcmp(buf, "[4 x str]"));
    ki = sk_gguf_find_key(g, "t.i32");
    CHECK(sk_gguf_kv_to_string(g, ki, buf, sizeof buf) == SK_OK && !strcmp(buf, "-2000000000"));
    CHECK(sk_gguf_kv_to_string(g, ki, buf, 4) == SK_OK && !strcmp(buf, "-20")); /* truncated */

    CHECK(sk_gguf_n_tensors(g) == 5);
    int64_t ti = sk_gguf_find_tensor(g, "a.f32");
    const sk_gguf_tensor_info *t = sk_gguf_tensor(g, ti);
    CHECK(t && t->type == SK_TYPE_F32 && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 3 &&
          t->ne[2] == 1 && t->nbytes == 64 * 3 * 4 && !memcmp(t->data, f32data, 64 * 3 * 4));
    CHECK(t && ((uintptr_t)t->data % 32) == 0);
    t = sk_gguf_tensor(g, sk_gguf_find_tensor(g, "b.q8_0"));
    CHECK(t && t->type == SK_TYPE_Q8_0 && t->n_dims == 3 && t->ne[2] == 2 && t->nbytes == 34 * 4 &&
          !memcmp(t->data, q8data, 34 * 4));
    t = sk_gguf_tensor(g, sk_gguf_find_tensor(g, "c.f16"));
    CHECK(t && t->type == SK_TYPE_F16 && t->nbytes == 34);
    bool pat = t != NULL;
    for (uint64_t i = 0; t && i < t->nbytes; i++)
        pat = pat && ((const uint8_t *)t->data)[i] == (uint8_t)(seed + i * 7);
    CHECK(pat);
    t = sk_gguf_tensor(g, sk_gguf_find_tensor(g, "d.q4_K"));
    CHECK(t && t->type == SK_TYPE_Q4_K && t->n_dims == 4 && t->ne[3] == 2 && t->nbytes == 144 * 4);
    t = sk_gguf_tensor(g, sk_gguf_find_tensor(g, "e.bf16"));
    CHECK(t && t->type == SK_TYPE_BF16 && t->nbytes == 50 && ((uintptr_t)t->data % 32) == 0);
    sk_tensor v = sk_gguf_tensor_view(g, sk_gguf_find_tensor(g, "a.f32"));
    CHECK(v.type == SK_TYPE_F32 && v.ne[0] == 64 && v.ne[1] == 3 && v.nbytes == 768 &&
          ((float *)v.data)[5] == f32data[5] && !strcmp(v.name, "a.f32"));
    CHECK(sk_gguf_find_tensor(g, "zzz") == -1);
    CHECK(sk_gguf_tensor(g, 5) == NULL);
}

static void test_roundtrip(void) {
    sk_err e;
    sk_gguf_writer *w = sk_gguf_writer_new(&e);
    float f32data[64 * 3];
    uint8_t q8data[34 * 4];
    fill_ctx fc = {11, 0};
    build_all_types(w, f32data, q8data, &fc);
    sk_progress pr;
    memset(&pr, 0, sizeof pr);
    pr.label = "test";
    CHECK_OK(sk_gguf_write(w, tmp_path("all.gguf"), 0, &pr, &e), &e);
    CHECK(fc.calls == 3);
    CHECK(pr.done == 768 + 136 + 34 + 576 + 50);
    sk_gguf_writer_free(w);
    sk_gguf *g = NULL;
    CHECK_OK(sk_gguf_open(tmp_path("all.gguf"), &g, &e), &e);
    if (!g) return;
    check_all_types(g, f32data, q8data, 11);
    CHECK(sk_gguf_n_splits(g) == 1);

    /* copy_kv + re-adding tensors from the map gives an identical file */
    sk_gguf_writer *w2 = sk_gguf_writer_new(&e);
    CHECK_OK(sk_gguf_copy_kv(w2, g, NULL, &e), &e);
    for (int64_t i = 0; i < sk_gguf_n_tensors(g); i++) {
        const sk_gguf_tensor_info *t = sk_gguf_tensor(g, i);
        CHECK_OK(
            sk_gguf_add_tensor(w2, t->name, t->type, t->n_dims, t->ne, t->data, NULL, NULL, &e),
            &e);
    }
    CHECK_OK(sk_gguf_write(w2, tmp_path("copy.gguf"), 0, NULL, &e), &e);
    sk_gguf_writer_free(w2);
    size_t la, lb;
    char *a = sk_test_slurp(tmp_path("all.gguf"), &la);
    char *b = sk_test_slurp(tmp_path("copy.gguf"), &lb);
    CHECK(la == lb && !memcmp(a, b, la));
    free(a);
    free(b);

    /* copy with a skipped prefix */
    w2 = sk_gguf_writer_new(&e);
    CHECK_OK(sk_gguf_copy_kv(w2, g, "t.arr", &e), &e);
    CHECK_OK(sk_gguf_write(w2, tmp_path("skip.gguf"), 0, NULL, &e), &e);
    sk_gguf_writer_free(w2);
    sk_gguf *g2 = NULL;
    CHECK_OK(sk_gguf_open(tmp_path("skip.gguf"), &g2, &e), &e);
    if (g2) {
        CHECK(sk_gguf_n_kv(g2) == sk_gguf_n_kv(g) - 4);
        CHECK(sk_gguf_find_key(g2, "t.arr_str") == -1 && sk_gguf_find_key(g2, "t.f64") >= 0);
        CHECK(sk_gguf_n_tensors(g2) == 0);
        sk_gguf_close(g2);
    }
    sk_gguf_close(g);
}

static void test_alignment_and_writer_errors(void) {
    sk_err e;
    sk_gguf_writer *w = sk_gguf_writer_new(&e);
    CHECK_OK(sk_gguf_set_u32(w, "general.alignment", 64, &e), &e);
    float x[3] = {1, 2, 3};
    int64_t ne1[1] = {3};
    CHECK_OK(sk_gguf_add_tensor(w, "x", SK_TYPE_F32, 1, ne1, x, NULL, NULL, &e), &e);
    CHECK_OK(sk_gguf_add_tensor(w, "y", SK_TYPE_F32, 1, ne1, x, NULL, NULL, &e), &e);
    CHECK(sk_gguf_add_tensor(w, "y", SK_TYPE_F32, 1, ne1, x, NULL, NULL, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "duplicate") != NULL);
    int64_t ne_bad[1] = {33};
    CHECK(sk_gguf_add_tensor(w, "q", SK_TYPE_Q8_0, 1, ne_bad, x, NULL, NULL, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "block size") != NULL);
    CHECK(sk_gguf_add_tensor(w, "q", 99, 1, ne1, x, NULL, NULL, &e) == SK_ERR_INVALID);
    CHECK(sk_gguf_add_tensor(w, "q", SK_TYPE_F8_E4M3, 1, ne1, x, NULL, NULL, &e) == SK_ERR_INVALID);
    CHECK(sk_gguf_add_tensor(w, "q", SK_TYPE_F32, 5, ne1, x, NULL, NULL, &e) == SK_ERR_INVALID);
    int64_t ne0[1] = {0};
    CHECK(sk_gguf_add_tensor(w, "q", SK_TYPE_F32, 1, ne0, x, NULL, NULL, &e) == SK_ERR_INVALID);
    CHECK(sk_gguf_add_tensor(w, "q", SK_TYPE_F32, 1, ne1, NULL, NULL, NULL, &e) == SK_ERR_INVALID);
    CHECK_OK(sk_gguf_write(w, tmp_path("al64.gguf"), 0, NULL, &e), &e);
    sk_gguf *g = NULL;
    CHECK_OK(sk_gguf_open(tmp_path("al64.gguf"), &g, &e), &e);
    if (g) {
        CHECK(sk_gguf_alignment(g) == 64);
        const sk_gguf_tensor_info *t = sk_gguf_tensor(g, 1);
        CHECK(t && t->offset == 64 && ((const float *)t->data)[2] == 3.0f);
        sk_gguf_close(g);
    }
    /* a failing fill aborts the write and leaves no file behind */
    int64_t ne2[1] = {8};
    CHECK_OK(sk_gguf_add_tensor(w, "z", SK_TYPE_F32, 1, ne2, NULL, fill_fail, NULL, &e), &e);
    unlink(tmp_path("fail.gguf"));
    CHECK(sk_gguf_write(w, tmp_path("fail.gguf"), 0, NULL, &e) == SK_ERR_IO);
    CHECK(strstr(e.msg, "source vanished") && strstr(e.msg, "\"z\""));
    CHECK(access(tmp_path("fail.gguf"), F_OK) != 0);
    sk_gguf_writer_free(w);
}

typedef struct rows_ctx {
    int calls;
    int64_t next; /* the row the writer must ask for next */
    int bad;
} rows_ctx;

static int fill_rows_pattern(void *ctx, void *dst, int64_t r0, int64_t n, sk_err *e) {
    rows_ctx *c = ctx;
    c->calls++;
    if (r0 != c->next || n <= 0) c->bad++;
    c->next = r0 + n;
    for (int64_t r = 0; r < n; r++)
        for (int k = 0; k < 40; k++) ((float *)dst)[r * 40 + k] = (float)((r0 + r) * 100 + k);
    return SK_OK;
}

/* Row-range fills arrive in consecutive chunks no larger than the chunk size. */
static void test_fill_rows(void) {
    sk_err e;
    sk_gguf_writer *w = sk_gguf_writer_new(&e);
    sk_gguf_writer_set_chunk_bytes(w, 3 * 160 + 10); /* 3 rows of 40 floats per call */
    rows_ctx rc = {0, 0, 0};
    int64_t ne[3] = {40, 5, 3}; /* 15 rows */
    CHECK_OK(sk_gguf_add_tensor_rows(w, "r", SK_TYPE_F32, 3, ne, fill_rows_pattern, &rc, &e), &e);
    rows_ctx rc2 = {0, 0, 0};
    int64_t ne2[1] = {40}; /* one row, larger than nothing: still asked once */
    sk_gguf_writer_set_chunk_bytes(w, 1);
    CHECK_OK(sk_gguf_add_tensor_rows(w, "s", SK_TYPE_F32, 1, ne2, fill_rows_pattern, &rc2, &e), &e);
    CHECK_OK(sk_gguf_write(w, tmp_path("rows.gguf"), 0, NULL, &e), &e);
    sk_gguf_writer_free(w);
    CHECK(rc.calls == 15 && rc.bad == 0 && rc.next == 15); /* chunk now 1 byte: one row per call */
    CHECK(rc2.calls == 1 && rc2.bad == 0);
    sk_gguf *g = NULL;
    CHECK_OK(sk_gguf_open(tmp_path("rows.gguf"), &g, &e), &e);
    if (!g) return;
    const sk_gguf_tensor_info *t = sk_gguf_tensor(g, 0);
    bool ok = t && t->nbytes == 15 * 160;
    for (int64_t r = 0; ok && r < 15; r++)
        for (int k = 0; k < 40; k++)
            ok = ok && ((const float *)t->data)[r * 40 + k] == (float)(r * 100 + k);
    CHECK(ok);
    sk_gguf_close(g);
    /* with the 490-byte chunk: 5 calls of 3 rows */
    w = sk_gguf_writer_new(&e);
    sk_gguf_writer_set_chunk_bytes(w, 3 * 160 + 10);
    rows_ctx rc3 = {0, 0, 0};
    CHECK_OK(sk_gguf_add_tensor_rows(w, "r", SK_TYPE_F32, 3, ne, fill_rows_pattern, &rc3, &e), &e);
    CHECK_OK(sk_gguf_write(w, tmp_path("rows.gguf"), 0, NULL, &e), &e);
    sk_gguf_writer_free(w);
    CHECK(rc3.calls == 5 && rc3.bad == 0 && rc3.next == 15);
}

static void test_splits(void) {
    sk_err e;
    sk_gguf_writer *w = sk_gguf_writer_new(&e);
    CHECK_OK(sk_gguf_set_str(w, "general.architecture", "qwen2", &e), &e);
    CHECK_OK(sk_gguf_set_u32(w, "qwen2.block_count", 7, &e), &e);
    static float data[5][256];
    for (int t = 0; t < 5; t++)
        for (int i = 0; i < 256; i++) data[t][i] = (float)(t * 1000 + i);
    char name[32];
    for (int t = 0; t < 5; t++) {
        snprintf(name, sizeof name, "t%d", t);
        int64_t ne[1] = {256};
        CHECK_OK(sk_gguf_add_tensor(w, name, SK_TYPE_F32, 1, ne, data[t], NULL, NULL, &e), &e);
    }
    /* 1024 bytes per tensor, 2048 per split → 3 splits (2 + 2 + 1) */
    CHECK(sk_gguf_write(w, tmp_path("sp.bin"), 2048, NULL, &e) == SK_ERR_INVALID);
    CHECK_OK(sk_gguf_write(w, tmp_path("sp.gguf"), 2048, NULL, &e), &e);
    sk_gguf_writer_free(w);
    CHECK(access(tmp_path("sp-00001-of-00003.gguf"), F_OK) == 0);
    CHECK(access(tmp_path("sp-00003-of-00003.gguf"), F_OK) == 0);
    CHECK(access(tmp_path("sp.gguf"), F_OK) != 0);
    for (int from = 1; from <= 3; from++) {
        char p[64];
        snprintf(p, sizeof p, "sp-%05d-of-00003.gguf", from);
        sk_gguf *g = NULL;
        CHECK_OK(sk_gguf_open(tmp_path(p), &g, &e), &e);
        if (!g) continue;
        CHECK(sk_gguf_n_splits(g) == 3);
        CHECK(sk_gguf_n_tensors(g) == 5);
        uint32_t bc;
        CHECK(sk_gguf_get_u32(g, "qwen2.block_count", &bc) && bc == 7);
        for (int t = 0; t < 5; t++) {
            snprintf(name, sizeof name, "t%d", t);
            const sk_gguf_tensor_info *ti = sk_gguf_tensor(g, sk_gguf_find_tensor(g, name));
            CHECK(ti && ti->split == t / 2 && !memcmp(ti->data, data[t], 1024));
        }
        sk_gguf_close(g);
    }
    /* a missing split is an error naming it */
    unlink(tmp_path("sp-00002-of-00003.gguf"));
    sk_gguf *g = NULL;
    CHECK(sk_gguf_open(tmp_path("sp-00001-of-00003.gguf"), &g, &e) != SK_OK);
    CHECK(strstr(e.msg, "sp-00002-of-00003.gguf") != NULL);
    /* a split file renamed so that its count no longer matches */
    rename(tmp_path("sp-00001-of-00003.gguf"), tmp_path("x-00001-of-00001.gguf"));
    CHECK(sk_gguf_open(tmp_path("x-00001-of-00001.gguf"), &g, &e) == SK_ERR_FORMAT);
    CHECK(strstr(e.msg, "split.count") != NULL);
}

/* Rewriting an output with fewer splits (or unsplit) removes the earlier run's split files of
 * that name, which would otherwise sit beside the new ones; other names are left alone. */
static void test_stale_splits(void) {
    sk_err e = {0};
    static float data[5][256];
    char name[32];
    for (int round = 0; round < 3; round++) {
        sk_gguf_writer *w = sk_gguf_writer_new(&e);
        CHECK(w != NULL);
        if (!w) return;
        for (int t = 0; t < 5; t++) {
            snprintf(name, sizeof name, "t%d", t);
            int64_t ne[1] = {256};
            CHECK_OK(sk_gguf_add_tensor(w, name, SK_TYPE_F32, 1, ne, data[t], NULL, NULL, &e), &e);
        }
        /* 1024 bytes per tensor: 1024 per split → 5 splits, 2048 → 3, unsplit */
        const uint64_t max[3] = {1024, 2048, 0};
        CHECK_OK(sk_gguf_write(w, tmp_path("st.gguf"), max[round], NULL, &e), &e);
        sk_gguf_writer_free(w);
        if (round == 0) { /* a file of another prefix that must survive */
            FILE *f = fopen(tmp_path("stx-00001-of-00005.gguf"), "wb");
            if (f) fclose(f);
        }
    }
    for (int k = 1; k <= 5; k++) {
        char p[64];
        snprintf(p, sizeof p, "st-%05d-of-00005.gguf", k);
        CHECK_MSG(access(tmp_path(p), F_OK) != 0, "%s left behind", p);
        snprintf(p, sizeof p, "st-%05d-of-00003.gguf", k);
        CHECK_MSG(access(tmp_path(p), F_OK) != 0, "%s left behind", p);
    }
    CHECK(access(tmp_path("st.gguf"), F_OK) == 0);
    CHECK(access(tmp_path("stx-00001-of-00005.gguf"), F_OK) == 0);
}

/* Tensor count per type for a case's model*.gguf. */
static void count_types(const sk_gguf *g, int64_t counts[SK_TYPE_GGML_COUNT]) {
    memset(counts, 0, sizeof(int64_t) * SK_TYPE_GGML_COUNT);
    for (int64_t i = 0; i < sk_gguf_n_tensors(g); i++) counts[sk_gguf_tensor(g, i)->type]++;
}

static void test_golden_cases(void) {
    const char *cases[] = {"ds3-tiny", "ds3-grouped", "ds2-lite-tiny", "qwen2-tiny", "llama3-tiny"};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char p[512];
        sk_err e;
        json_t *cj = NULL, *cfg = NULL;
        snprintf(p, sizeof p, "%s/golden/%s/case.json", SEEK_TEST_DATA, cases[c]);
        CHECK_OK(sk_json_load_file(p, 1 << 24, &cj, &e), &e);
        snprintf(p, sizeof p, "%s/golden/%s/config.json", SEEK_TEST_DATA, cases[c]);
        CHECK_OK(sk_json_load_file(p, 1 << 20, &cfg, &e), &e);
        if (!cj || !cfg) continue;
        const char *arch = json_string_value(json_object_get(cj, "architecture"));
        json_t *types = json_object_get(cj, "q8_0_tensor_types");
        int64_t n_q8 = json_integer_value(json_object_get(types, "Q8_0"));
        int64_t n_f32 = json_integer_value(json_object_get(types, "F32"));
        int64_t hidden = 0, layers = 0, vocab = 0;
        CHECK_OK(sk_json_get_int(cfg, "hidden_size", &hidden, NULL, "config", &e), &e);
        CHECK_OK(sk_json_get_int(cfg, "num_hidden_layers", &layers, NULL, "config", &e), &e);
        CHECK_OK(sk_json_get_int(cfg, "vocab_size", &vocab, NULL, "config", &e), &e);
        const char *files[2] = {"model.gguf", "model-q8_0.gguf"};
        for (int f = 0; f < 2; f++) {
            snprintf(p, sizeof p, "%s/golden/%s/%s", SEEK_TEST_DATA, cases[c], files[f]);
            sk_gguf *g = NULL;
            CHECK_OK(sk_gguf_open(p, &g, &e), &e);
            if (!g) continue;
            int64_t counts[SK_TYPE_GGML_COUNT];
            count_types(g, counts);
            if (f == 0) {
                CHECK_MSG(counts[SK_TYPE_F32] == n_q8 + n_f32, "%s: %" PRId64 " F32 tensors",
                          cases[c], counts[SK_TYPE_F32]);
            } else {
                CHECK_MSG(counts[SK_TYPE_Q8_0] == n_q8 && counts[SK_TYPE_F32] == n_f32,
                          "%s: q8_0 %" PRId64 " f32 %" PRId64, cases[c], counts[SK_TYPE_Q8_0],
                          counts[SK_TYPE_F32]);
            }
            CHECK(sk_gguf_n_tensors(g) == n_q8 + n_f32);
            const char *s;
            size_t len;
            CHECK(sk_gguf_get_str(g, "general.architecture", &s, &len) && len == strlen(arch) &&
                  !memcmp(s, arch, len));
            char key[128];
            uint32_t u;
            snprintf(key, sizeof key, "%s.block_count", arch);
            CHECK(sk_gguf_get_u32(g, key, &u) && u == (uint32_t)layers);
            snprintf(key, sizeof key, "%s.embedding_length", arch);
            CHECK(sk_gguf_get_u32(g, key, &u) && u == (uint32_t)hidden);
            const sk_gguf_tensor_info *te =
                sk_gguf_tensor(g, sk_gguf_find_tensor(g, "token_embd.weight"));
            CHECK(te && te->n_dims == 2 && te->ne[0] == hidden && te->ne[1] == vocab);
            CHECK(sk_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 288, &s, &len) &&
                  len == strlen("<｜begin▁of▁sentence｜>") &&
                  !memcmp(s, "<｜begin▁of▁sentence｜>", len));
            uint64_t n_tok = 0;
            CHECK(sk_gguf_get_arr(g, "tokenizer.ggml.tokens", NULL, &n_tok, NULL) &&
                  n_tok == (uint64_t)vocab);
            /* every layer has its attention norm */
            for (int64_t l = 0; l < layers; l++) {
                snprintf(key, sizeof key, "blk.%" PRId64 ".attn_norm.weight", l);
                const sk_gguf_tensor_info *t = sk_gguf_tensor(g, sk_gguf_find_tensor(g, key));
                CHECK(t && t->type == SK_TYPE_F32 && t->n_dims == 1 && t->ne[0] == hidden);
            }
            sk_gguf_close(g);
        }
        json_decref(cj);
        json_decref(cfg);
    }
}

static void test_golden_quant(void) {
    char p[512];
    sk_err e;
    json_t *man = NULL;
    snprintf(p, sizeof p, "%s/golden/quant/manifest.json", SEEK_TEST_DATA);
    CHECK_OK(sk_json_load_file(p, 1 << 20, &man, &e), &e);
    if (!man) return;
    const char *tname;
    json_t *ent;
    int n_files = 0;
    json_object_foreach(man, tname, ent) {
        snprintf(p, sizeof p, "%s/golden/quant/%s", SEEK_TEST_DATA,
                 json_string_value(json_object_get(ent, "file")));
        sk_gguf *g = NULL;
        CHECK_OK(sk_gguf_open(p, &g, &e), &e);
        if (!g) continue;
        n_files++;
        int want_type = sk_type_from_name(tname);
        CHECK(want_type >= 0);
        const char *tn;
        json_t *ti;
        json_object_foreach(json_object_get(ent, "tensors"), tn, ti) {
            const sk_gguf_tensor_info *t = sk_gguf_tensor(g, sk_gguf_find_tensor(g, tn));
            CHECK_MSG(t != NULL, "%s: %s missing", p, tn);
            if (!t) continue;
            int64_t n = json_integer_value(json_object_get(ti, "n"));
            int ty = sk_type_from_name(json_string_value(json_object_get(ti, "type")));
            CHECK_MSG(t->type == ty && ty == want_type, "%s: %s type %d", p, tn, t->type);
            CHECK(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3] == n);
            size_t rb;
            CHECK(sk_row_size(t->type, t->ne[0], &rb) &&
                  rb * (uint64_t)(n / t->ne[0]) == t->nbytes);
        }
        /* every matrix has the file's type, 1-D tensors are F32 */
        for (int64_t i = 0; i < sk_gguf_n_tensors(g); i++) {
            const sk_gguf_tensor_info *t = sk_gguf_tensor(g, i);
            if (t->n_dims == 1) CHECK(t->type == SK_TYPE_F32);
        }
        sk_gguf_close(g);
    }
    CHECK(n_files == 12);
    json_decref(man);
}

/* A DeepSeek-V3-sized vocabulary (129,280 tokens, 127,741 merges) opens fast and gives O(1)
 * access to any element. */
static void test_big_vocab(void) {
    enum { NT = 129280, NM = 127741 };
    sk_err e;
    char **toks = malloc(NT * sizeof *toks), **merges = malloc(NM * sizeof *merges);
    for (int i = 0; i < NT; i++) {
        toks[i] = malloc(24);
        snprintf(toks[i], 24, "tok%d", i);
    }
    for (int i = 0; i < NM; i++) {
        merges[i] = malloc(32);
        snprintf(merges[i], 32, "m%d x%d", i, i % 97);
    }
    sk_gguf_writer *w = sk_gguf_writer_new(&e);
    CHECK_OK(sk_gguf_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)toks, NT, &e),
             &e);
    CHECK_OK(sk_gguf_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)merges, NM, &e),
             &e);
    CHECK_OK(sk_gguf_write(w, tmp_path("vocab.gguf"), 0, NULL, &e), &e);
    sk_gguf_writer_free(w);
    double t0 = sk_time_sec();
    sk_gguf *g = NULL;
    CHECK_OK(sk_gguf_open(tmp_path("vocab.gguf"), &g, &e), &e);
    double dt = sk_time_sec() - t0;
    fprintf(stderr, "  opened a %d-token vocabulary in %.1f ms\n", NT, dt * 1e3);
    CHECK(dt < 2.0); /* ~2 ms on the build machine; generous for sanitizers */
    if (g) {
        const char *s;
        size_t len;
        CHECK(sk_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 128815, &s, &len) && len == 9 &&
              !memcmp(s, "tok128815", 9));
        CHECK(sk_gguf_get_arr_str(g, "tokenizer.ggml.merges", NM - 1, &s, &len) &&
              len == strlen(merges[NM - 1]) && !memcmp(s, merges[NM - 1], len));
        sk_gguf_close(g);
    }
    for (int i = 0; i < NT; i++) free(toks[i]);
    for (int i = 0; i < NM; i++) free(merges[i]);
    free(toks);
    free(merges);
}

static void test_open_errors(void) {
    sk_err e;
    sk_gguf *g = NULL;
    CHECK(sk_gguf_open(tmp_path("does-not-exist.gguf"), &g, &e) == SK_ERR_IO && g == NULL);
    CHECK(strstr(e.msg, "does-not-exist.gguf") != NULL);
    CHECK(sk_gguf_open(g_tmp, &g, &e) == SK_ERR_IO); /* a folder */
}

int main(void) {
    snprintf(g_tmp, sizeof g_tmp, "/tmp/seek-test-gguf-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", g_tmp);
    if (system(cmd) != 0) return 2;
    RUN(test_roundtrip);
    RUN(test_alignment_and_writer_errors);
    RUN(test_fill_rows);
    RUN(test_splits);
    RUN(test_stale_splits);
    RUN(test_golden_cases);
    RUN(test_golden_quant);
    RUN(test_big_vocab);
    RUN(test_open_errors);
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    if (system(cmd) != 0) return 2;
    return sk_test_report("gguf");
}
