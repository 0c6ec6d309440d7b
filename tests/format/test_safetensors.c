/* Tests for the safetensors reader and writer: golden model.safetensors against model.gguf,
 * written files (single, sharded through an index, folder), FP8 views with scales. */
#include "sk_gguf.h"
#include "sk_json.h"
#include "sk_safetensors.h"
#include "sk_test.h"

#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_tmp[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmp, name);
    return buf[k];
}

static void test_dtypes(void) {
    CHECK(!strcmp(sk_st_dtype_name(SK_ST_BF16), "BF16"));
    CHECK(!strcmp(sk_st_dtype_name(SK_ST_F8_E4M3), "F8_E4M3"));
    CHECK(sk_st_dtype_size(SK_ST_F64) == 8 && sk_st_dtype_size(SK_ST_F8_E5M2) == 1 &&
          sk_st_dtype_size(SK_ST_I16) == 2 && sk_st_dtype_size(SK_ST_BOOL) == 1);
    CHECK(sk_st_dtype_size(SK_ST_DTYPE_COUNT) == 0);
}

/* The golden HF weights hold the same values as the GGUF (BF16 vs F32); check a few tensors
 * with known names and every shape against config.json. */
static void test_golden(void) {
    const char *cases[] = {"ds3-tiny", "ds3-grouped", "ds2-lite-tiny", "qwen2-tiny", "llama3-tiny"};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char p[512];
        sk_err e;
        snprintf(p, sizeof p, "%s/golden/%s/model.safetensors", SEEK_TEST_DATA, cases[c]);
        sk_st *st = NULL;
        CHECK_OK(sk_st_open(p, &st, &e), &e);
        snprintf(p, sizeof p, "%s/golden/%s/model.gguf", SEEK_TEST_DATA, cases[c]);
        sk_gguf *g = NULL;
        CHECK_OK(sk_gguf_open(p, &g, &e), &e);
        if (!st || !g) {
            sk_st_close(st);
            sk_gguf_close(g);
            continue;
        }
        /* opening the folder finds the same file */
        snprintf(p, sizeof p, "%s/golden/%s", SEEK_TEST_DATA, cases[c]);
        sk_st *st2 = NULL;
        CHECK_OK(sk_st_open(p, &st2, &e), &e);
        CHECK(st2 && sk_st_n_tensors(st2) == sk_st_n_tensors(st));
        sk_st_close(st2);

        int64_t ie = sk_st_find(st, "model.embed_tokens.weight");
        int64_t ge = sk_gguf_find_tensor(g, "token_embd.weight");
        CHECK(ie >= 0 && ge >= 0);
        if (ie >= 0 && ge >= 0) {
            sk_tensor v;
            CHECK_OK(sk_st_tensor_view(st, ie, &v, &e), &e);
            const sk_gguf_tensor_info *gt = sk_gguf_tensor(g, ge);
            CHECK(v.type == SK_TYPE_BF16 && v.n_dims == 2 && v.ne[0] == gt->ne[0] &&
                  v.ne[1] == gt->ne[1]);
            const float *gf = gt->data;
            bool same = true;
            for (int64_t i = 0; i < v.ne[0] * v.ne[1]; i++) {
                uint16_t h;
                memcpy(&h, (const uint8_t *)v.data + 2 * i, 2);
                same = same && sk_bf16_to_f32(h) == gf[i];
            }
            CHECK_MSG(same, "%s: embeddings differ between safetensors and gguf", cases[c]);
        }
        int64_t in = sk_st_find(st, "model.norm.weight");
        CHECK(in >= 0 && sk_st_tensor_at(st, in)->n_dims == 1);
        /* every tensor's bytes are inside the file and the count is plausible */
        uint64_t total = 0;
        for (int64_t i = 0; i < sk_st_n_tensors(st); i++) total += sk_st_tensor_at(st, i)->nbytes;
        CHECK(total < sk_st_file_bytes(st));
        CHECK(sk_st_tensor_at(st, sk_st_n_tensors(st)) == NULL);
        CHECK(sk_st_find(st, "nope") == -1);
        sk_st_close(st);
        sk_gguf_close(g);
    }
}

static void test_write_read(void) {
    sk_err e;
    sk_st_writer *w = sk_st_writer_new(&e);
    CHECK_OK(sk_st_writer_set_metadata(w, "format", "pt", &e), &e);
    float a[6] = {1, 2, 3, 4, 5, 6};
    int64_t sa[2] = {2, 3};
    CHECK_OK(sk_st_writer_add(w, "z.weight", SK_ST_F32, 2, sa, a, &e), &e);
    uint16_t b[4] = {0x3f80, 0x4000, 0xbf80, 0};
    int64_t sb[1] = {4};
    CHECK_OK(sk_st_writer_add(w, "a.bias", SK_ST_BF16, 1, sb, b, &e), &e);
    int64_t i64 = -5;
    CHECK_OK(sk_st_writer_add(w, "scalar", SK_ST_I64, 0, NULL, &i64, &e), &e);
    int64_t s0[2] = {0, 3};
    CHECK_OK(sk_st_writer_add(w, "empty", SK_ST_F16, 2, s0, NULL, &e), &e);
    CHECK(sk_st_writer_add(w, "a.bias", SK_ST_BF16, 1, sb, b, &e) == SK_ERR_INVALID);
    CHECK(sk_st_writer_add(w, "__metadata__", SK_ST_BF16, 1, sb, b, &e) == SK_ERR_INVALID);
    CHECK_OK(sk_st_writer_write(w, tmp_path("w.safetensors"), &e), &e);
    sk_st_writer_free(w);

    size_t len;
    uint8_t *raw = sk_test_slurp(tmp_path("w.safetensors"), &len);
    uint64_t hl;
    memcpy(&hl, raw, 8);
    CHECK(hl % 8 == 0 && raw[8] == '{');
    CHECK(len == 8 + hl + 24 + 8 + 8 + 0);
    /* stored sorted by name: a.bias, empty, scalar, z.weight */
    CHECK(!memcmp(raw + 8 + hl, b, 8));
    free(raw);

    sk_st *st = NULL;
    CHECK_OK(sk_st_open(tmp_path("w.safetensors"), &st, &e), &e);
    if (!st) return;
    CHECK(sk_st_n_tensors(st) == 4);
    const char *fmt = sk_st_metadata(st, "format");
    CHECK(fmt && !strcmp(fmt, "pt"));
    CHECK(sk_st_metadata(st, "other") == NULL);
    const sk_st_tensor *t = sk_st_tensor_at(st, sk_st_find(st, "z.weight"));
    CHECK(t && t->dtype == SK_ST_F32 && t->n_dims == 2 && t->shape[0] == 2 && t->shape[1] == 3 &&
          t->nbytes == 24 && !memcmp(t->data, a, 24));
    t = sk_st_tensor_at(st, sk_st_find(st, "scalar"));
    CHECK(t && t->n_dims == 0 && t->nbytes == 8 && !memcmp(t->data, &i64, 8));
    sk_tensor v;
    CHECK_OK(sk_st_tensor_view(st, sk_st_find(st, "z.weight"), &v, &e), &e);
    CHECK(v.type == SK_TYPE_F32 && v.ne[0] == 3 && v.ne[1] == 2 && v.ne[2] == 1 && v.nbytes == 24);
    CHECK(sk_st_tensor_view(st, sk_st_find(st, "scalar"), &v, &e) == SK_ERR_UNSUPPORTED);
    CHECK(sk_st_tensor_view(st, sk_st_find(st, "empty"), &v, &e) == SK_ERR_UNSUPPORTED);
    CHECK(sk_st_tensor_view(st, 99, &v, &e) == SK_ERR_RANGE);
    sk_st_close(st);
}

static void write_shard(const char *name, const char *t1, const char *t2, float base) {
    sk_err e;
    sk_st_writer *w = sk_st_writer_new(&e);
    float d[8];
    for (int i = 0; i < 8; i++) d[i] = base + (float)i;
    int64_t s[2] = {2, 4};
    CHECK_OK(sk_st_writer_add(w, t1, SK_ST_F32, 2, s, d, &e), &e);
    if (t2) CHECK_OK(sk_st_writer_add(w, t2, SK_ST_F32, 1, s + 1, d, &e), &e);
    CHECK_OK(sk_st_writer_write(w, tmp_path(name), &e), &e);
    sk_st_writer_free(w);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_sharded(void) {
    sk_err e;
    mkdir(tmp_path("sh"), 0755);
    write_shard("sh/model-00001-of-00002.safetensors", "layer.0.w", "layer.0.b", 0);
    write_shard("sh/model-00002-of-00002.safetensors", "layer.1.w", NULL, 100);
    write_text(tmp_path("sh/model.safetensors.index.json"),
               "{\"metadata\": {\"total_size\": 80}, \"weight_map\": {"
               "\"layer.0.w\": \"model-00001-of-00002.safetensors\","
               "\"layer.0.b\": \"model-00001-of-00002.safetensors\","
               "\"layer.1.w\": \"model-00002-of-00002.safetensors\"}}");
    const char *opens[3] = {"sh", "sh/model.safetensors.index.json",
                            "sh/model-00002-of-00002.safetensors"};
    for (int k = 0; k < 3; k++) {
        sk_st *st = NULL;
        CHECK_OK(sk_st_open(tmp_path(opens[k]), &st, &e), &e);
        if (!st) continue;
        CHECK(sk_st_n_tensors(st) == 3);
        const sk_st_tensor *t = sk_st_tensor_at(st, sk_st_find(st, "layer.1.w"));
        CHECK(t && t->file == 1 && ((const float *)t->data)[3] == 103.0f);
        t = sk_st_tensor_at(st, sk_st_find(st, "layer.0.b"));
        CHECK(t && t->file == 0);
        sk_st_close(st);
    }
    /* folder without an index: every .safetensors file */
    mkdir(tmp_path("sh2"), 0755);
    write_shard("sh2/a.safetensors", "x", NULL, 1);
    write_shard("sh2/b.safetensors", "y", NULL, 2);
    sk_st *st = NULL;
    CHECK_OK(sk_st_open(tmp_path("sh2"), &st, &e), &e);
    CHECK(st && sk_st_n_tensors(st) == 2);
    sk_st_close(st);
    /* the same tensor in two shards */
    write_shard("sh2/c.safetensors", "x", NULL, 3);
    CHECK(sk_st_open(tmp_path("sh2"), &st, &e) == SK_ERR_FORMAT);
    CHECK(strstr(e.msg, "\"x\"") != NULL);
    /* index naming a tensor that is not in its file */
    write_text(tmp_path("sh/model.safetensors.index.json"),
               "{\"weight_map\": {\"layer.0.w\": \"model-00001-of-00002.safetensors\","
               "\"layer.9.w\": \"model-00002-of-00002.safetensors\"}}");
    CHECK(sk_st_open(tmp_path("sh"), &st, &e) == SK_ERR_FORMAT);
    CHECK(strstr(e.msg, "layer.9.w") != NULL);
    /* index naming a tensor in the wrong file */
    write_text(tmp_path("sh/model.safetensors.index.json"),
               "{\"weight_map\": {\"layer.0.w\": \"model-00002-of-00002.safetensors\","
               "\"layer.1.w\": \"model-00002-of-00002.safetensors\"}}");
    CHECK(sk_st_open(tmp_path("sh"), &st, &e) == SK_ERR_FORMAT);
    /* index with a path escaping the folder, a missing shard, bad JSON */
    write_text(tmp_path("sh/model.safetensors.index.json"),
               "{\"weight_map\": {\"layer.0.w\": \"../x.safetensors\"}}");
    CHECK(sk_st_open(tmp_path("sh"), &st, &e) == SK_ERR_FORMAT);
    write_text(tmp_path("sh/model.safetensors.index.json"),
               "{\"weight_map\": {\"layer.0.w\": \"missing.safetensors\"}}");
    CHECK(sk_st_open(tmp_path("sh"), &st, &e) == SK_ERR_IO);
    CHECK(strstr(e.msg, "missing.safetensors") != NULL);
    write_text(tmp_path("sh/model.safetensors.index.json"), "{\"weight_map\": {");
    CHECK(sk_st_open(tmp_path("sh"), &st, &e) == SK_ERR_FORMAT);
    CHECK(strstr(e.msg, "index.json") && strstr(e.msg, "line"));
    mkdir(tmp_path("empty"), 0755);
    CHECK(sk_st_open(tmp_path("empty"), &st, &e) == SK_ERR_NOTFOUND);
}

/* FP8 weight [200][300] with a [2][3] scale grid; the view's dequantization follows
 * W = fp8 * scale[i/128][j/128]. */
static void test_fp8(void) {
    sk_err e;
    enum { M = 200, N = 300 };
    static uint8_t w8[M * N];
    float sc[2 * 3] = {0.5f, 2.0f, 1.0f, -1.0f, 0.25f, 8.0f};
    for (int i = 0; i < M * N; i++) {
        uint8_t b = (uint8_t)((i * 37 + 11) & 0xFF);
        if ((b & 0x7F) == 0x7F) b = 0x10; /* avoid NaN codes */
        w8[i] = b;
    }
    sk_st_writer *w = sk_st_writer_new(&e);
    int64_t sw[2] = {M, N}, ss[2] = {2, 3}, sbad[2] = {3, 2};
    CHECK_OK(sk_st_writer_add(w, "l.weight", SK_ST_F8_E4M3, 2, sw, w8, &e), &e);
    CHECK_OK(sk_st_writer_add(w, "l.weight_scale_inv", SK_ST_F32, 2, ss, sc, &e), &e);
    CHECK_OK(sk_st_writer_add(w, "nos.weight", SK_ST_F8_E4M3, 2, sw, w8, &e), &e);
    CHECK_OK(sk_st_writer_add(w, "bad.weight", SK_ST_F8_E4M3, 2, sw, w8, &e), &e);
    CHECK_OK(sk_st_writer_add(w, "bad.weight_scale_inv", SK_ST_F32, 2, sbad, sc, &e), &e);
    /* an odd-sized tensor sorted first makes the following data unaligned */
    uint8_t odd[3] = {1, 2, 3};
    int64_t so[1] = {3};
    CHECK_OK(sk_st_writer_add(w, "a.odd", SK_ST_U8, 1, so, odd, &e), &e);
    CHECK_OK(sk_st_writer_write(w, tmp_path("fp8.safetensors"), &e), &e);
    sk_st_writer_free(w);
    sk_st *st = NULL;
    CHECK_OK(sk_st_open(tmp_path("fp8.safetensors"), &st, &e), &e);
    if (!st) return;
    sk_tensor v;
    CHECK_OK(sk_st_tensor_view(st, sk_st_find(st, "l.weight"), &v, &e), &e);
    CHECK(v.type == SK_TYPE_F8_E4M3 && v.ne[0] == N && v.ne[1] == M && v.scale != NULL);
    CHECK(((uintptr_t)v.scale & 3) == 0);
    bool ok = v.scale != NULL;
    for (int i = 0; ok && i < M; i += 7)
        for (int j = 0; j < N; j += 5) {
            float want = sk_fp8_e4m3_to_f32(w8[i * N + j]) * sc[(i / 128) * 3 + j / 128];
            float got = sk_fp8_e4m3_to_f32(((const uint8_t *)v.data)[i * N + j]) *
                        v.scale[(i / 128) * 3 + j / 128];
            if (got != want) ok = false;
        }
    CHECK(ok);
    CHECK(sk_st_tensor_view(st, sk_st_find(st, "nos.weight"), &v, &e) == SK_ERR_FORMAT);
    CHECK(strstr(e.msg, "nos.weight_scale_inv") != NULL);
    CHECK(sk_st_tensor_view(st, sk_st_find(st, "bad.weight"), &v, &e) == SK_ERR_FORMAT);
    CHECK(sk_st_tensor_view(st, sk_st_find(st, "a.odd"), &v, &e) == SK_ERR_UNSUPPORTED);
    sk_st_close(st);
}

int main(void) {
    snprintf(g_tmp, sizeof g_tmp, "/tmp/seek-test-st-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", g_tmp);
    if (system(cmd) != 0) return 2;
    RUN(test_dtypes);
    RUN(test_golden);
    RUN(test_write_read);
    RUN(test_sharded);
    RUN(test_fp8);
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    if (system(cmd) != 0) return 2;
    return sk_test_report("safetensors");
}
