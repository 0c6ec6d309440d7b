/* test_quantize_cmd — `seek quantize` (src/cli/cmd_quantize.c, compiled into this test):
 * every golden model quantized to q8_0 must match the llama.cpp-family quantizer's file tensor
 * for tensor (types, shapes, bytes); k-quant runs (with llama.cpp's fallbacks) match direct
 * codec calls; output does not depend on the thread count; bad arguments and inputs fail
 * cleanly. The output files are read back with the independent reader in gguf_mini.h. */
#include "gguf_mini.h"
#include "sk_test.h"
#include "sk_tensor.h"

#include <unistd.h>

int sk_cmd_quantize(int argc, char **argv);

static char g_dir[64];

/* A path for messages: relative to tests/data when it is there. */
static const char *short_path(const char *p) {
    const size_t n = strlen(SEEK_TEST_DATA);
    return strncmp(p, SEEK_TEST_DATA, n) == 0 && p[n] == '/' ? p + n + 1 : p;
}

static int run(const char *in, const char *out, const char *type, const char *threads) {
    char *argv[8] = {"quantize", (char *)in, (char *)out, (char *)type, NULL};
    int argc = 4;
    if (threads) {
        argv[argc++] = "--threads";
        argv[argc++] = (char *)threads;
    }
    return sk_cmd_quantize(argc, argv);
}

/* Tensor-by-tensor comparison of two GGUF files: names, types, shapes and bytes. */
static void compare_files(const char *got_path, const char *want_path, uint32_t want_ftype) {
    gm_file a, b;
    CHECK_MSG(gm_open(&a, got_path) == 0, "cannot read %s", got_path);
    CHECK_MSG(gm_open(&b, want_path) == 0, "cannot read %s", want_path);
    CHECK(a.n_tensors == b.n_tensors);
    CHECK(a.has_file_type && a.file_type == want_ftype);
    int n_same = 0, n_quantized = 0;
    for (uint64_t i = 0; i < b.n_tensors; i++) {
        const gm_tensor *w = &b.t[i], *t = gm_find(&a, w->name);
        CHECK_MSG(t != NULL, "%s missing", w->name);
        if (!t) continue;
        CHECK_MSG(t->type == w->type, "%s: type %s, want %s", w->name, sk_type_name(t->type),
                  sk_type_name(w->type));
        CHECK(memcmp(t->ne, w->ne, sizeof t->ne) == 0);
        size_t sz = 0;
        if (t->type != w->type ||
            !sk_row_size(w->type, w->ne[0] * w->ne[1] * w->ne[2] * w->ne[3], &sz))
            continue;
        const void *pa = gm_data(&a, t, sz), *pb = gm_data(&b, w, sz);
        CHECK(pa && pb);
        if (pa && pb && memcmp(pa, pb, sz) == 0)
            n_same++;
        else
            CHECK_MSG(0, "%s: bytes differ", w->name);
        n_quantized += sk_type_info(w->type)->quantized;
    }
    fprintf(stderr, "    %s: %d/%llu tensors identical (%d quantized)\n", short_path(want_path),
            n_same, (unsigned long long)b.n_tensors, n_quantized);
    CHECK(n_quantized > 0);
    gm_close(&a);
    gm_close(&b);
}

static void test_golden_q8_0(void) {
    static const char *models[] = {"qwen2-tiny", "llama3-tiny", "ds3-tiny", "ds2-lite-tiny",
                                   "ds3-grouped"};
    for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
        char in[512], want[512], out[512];
        snprintf(in, sizeof in, SEEK_TEST_DATA "/golden/%s/model.gguf", models[m]);
        snprintf(want, sizeof want, SEEK_TEST_DATA "/golden/%s/model-q8_0.gguf", models[m]);
        snprintf(out, sizeof out, "%s/%s-q8_0.gguf", g_dir, models[m]);
        CHECK_MSG(run(in, out, "q8_0", "2") == 0, "quantize %s failed", models[m]);
        compare_files(out, want, 7);
        unlink(out);
    }
}

/* Requantize quant-q8_0.gguf (rows of 256 and 512) to q4_k, and ds3-tiny (rows of 32..192) to
 * q4_k: checks the fallback and that every tensor equals the codec applied directly. */
static void check_against_codec(const char *in, const char *out, int target, int fallback) {
    gm_file a, b;
    CHECK(gm_open(&a, out) == 0);
    CHECK(gm_open(&b, in) == 0);
    int n_k = 0, n_fb = 0, n_kept = 0;
    sk_err e = {0};
    for (uint64_t i = 0; i < b.n_tensors; i++) {
        const gm_tensor *src = &b.t[i], *t = gm_find(&a, src->name);
        CHECK(t != NULL);
        if (!t) continue;
        const int64_t n = src->ne[0] * src->ne[1] * src->ne[2] * src->ne[3];
        size_t in_sz = 0, out_sz = 0;
        CHECK(sk_row_size(src->type, n, &in_sz) && sk_row_size(t->type, n, &out_sz));
        const void *pin = gm_data(&b, src, in_sz), *pout = gm_data(&a, t, out_sz);
        CHECK(pin && pout);
        if (!pin || !pout) continue;
        const bool is_matrix = src->n_dims >= 2 && !strstr(src->name, "ffn_gate_inp");
        if (!is_matrix) {
            CHECK_MSG(t->type == src->type, "%s should be kept", src->name);
            CHECK(memcmp(pin, pout, in_sz) == 0);
            n_kept++;
            continue;
        }
        int want_type = target;
        if (src->ne[0] % sk_type_info(target)->block_size) want_type = fallback;
        CHECK_MSG(t->type == want_type, "%s: %s, want %s", src->name, sk_type_name(t->type),
                  sk_type_name(want_type));
        float *f = malloc((size_t)n * 4);
        void *q = malloc(out_sz);
        CHECK_OK(sk_dequant(src->type, pin, f, n, &e), &e);
        CHECK_OK(sk_quant(want_type, f, q, n, &e), &e);
        CHECK_MSG(memcmp(q, pout, out_sz) == 0, "%s: bytes differ from the codec", src->name);
        free(f);
        free(q);
        if (want_type == target)
            n_k++;
        else
            n_fb++;
    }
    fprintf(stderr, "    %s: %d in %s, %d fell back, %d kept\n", short_path(in), n_k,
            sk_type_name(target), n_fb, n_kept);
    CHECK(n_kept > 0);
    gm_close(&a);
    gm_close(&b);
}

static void test_k_quant_and_fallback(void) {
    char out[512];
    snprintf(out, sizeof out, "%s/q4k-a.gguf", g_dir);
    const char *in1 = SEEK_TEST_DATA "/golden/quant/quant-q8_0.gguf";
    CHECK(run(in1, out, "q4_k", "3") == 0);
    check_against_codec(in1, out, SK_TYPE_Q4_K, -1);
    const char *in2 = SEEK_TEST_DATA "/golden/ds3-tiny/model.gguf";
    CHECK(run(in2, out, "Q4_K", NULL) == 0);
    check_against_codec(in2, out, SK_TYPE_Q4_K, SK_TYPE_Q5_0); /* llama.cpp's q4_K fallback */
    CHECK(run(in2, out, "q6_k", NULL) == 0);
    check_against_codec(in2, out, SK_TYPE_Q6_K, SK_TYPE_Q8_0);
    unlink(out);
}

/* f32 → bf16 / f16 → other types: half-precision inputs are decoded before encoding. */
static void test_half_precision_paths(void) {
    char h[512], o[512];
    snprintf(h, sizeof h, "%s/half.gguf", g_dir);
    snprintf(o, sizeof o, "%s/half-q.gguf", g_dir);
    const char *in = SEEK_TEST_DATA "/golden/llama3-tiny/model.gguf";
    CHECK(run(in, h, "bf16", "2") == 0);
    check_against_codec(in, h, SK_TYPE_BF16, -1);
    CHECK(run(h, o, "q5_1", "2") == 0);
    check_against_codec(h, o, SK_TYPE_Q5_1, -1);
    CHECK(run(in, h, "f16", "2") == 0);
    check_against_codec(in, h, SK_TYPE_F16, -1);
    CHECK(run(h, o, "iq4_nl", "2") == 0);
    check_against_codec(h, o, SK_TYPE_IQ4_NL, -1);
    CHECK(run(h, o, "f32", "2") == 0); /* back to f32: exactly the f16 values */
    check_against_codec(h, o, SK_TYPE_F32, -1);
    unlink(h);
    unlink(o);
}

static void test_threads_do_not_change_output(void) {
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/t1.gguf", g_dir);
    snprintf(b, sizeof b, "%s/t4.gguf", g_dir);
    const char *in = SEEK_TEST_DATA "/golden/quant/quant-q8_0.gguf";
    CHECK(run(in, a, "q5_k", "1") == 0);
    CHECK(run(in, b, "q5_k", "4") == 0);
    size_t la = 0, lb = 0;
    void *da = sk_test_slurp(a, &la), *db = sk_test_slurp(b, &lb);
    CHECK(la == lb && la > 0 && memcmp(da, db, la) == 0);
    free(da);
    free(db);
    unlink(a);
    unlink(b);
}

static void test_bad_usage(void) {
    char out[512], bad[512];
    snprintf(out, sizeof out, "%s/x.gguf", g_dir);
    const char *in = SEEK_TEST_DATA "/golden/qwen2-tiny/model.gguf";
    char *help[] = {"quantize", "--help", NULL};
    CHECK(sk_cmd_quantize(2, help) == 0);
    char *none[] = {"quantize", NULL};
    CHECK(sk_cmd_quantize(1, none) == 2);
    CHECK(run(in, out, "q9_9", NULL) == 2);
    CHECK(run(in, out, "q8_k", NULL) == 2); /* activations only */
    CHECK(run(in, out, "q8_0", "0") == 2);
    CHECK(run(in, out, "q8_0", "many") == 2);
    CHECK(run(in, in, "q8_0", NULL) == 2); /* would overwrite its input */
    CHECK(run(SEEK_TEST_DATA "/does-not-exist.gguf", out, "q8_0", NULL) == 1);
    CHECK(access(out, F_OK) != 0);
    /* a truncated model: the reader's error, exit status 1, no output file */
    size_t len = 0;
    void *data = sk_test_slurp(in, &len);
    snprintf(bad, sizeof bad, "%s/truncated.gguf", g_dir);
    FILE *f = fopen(bad, "wb");
    CHECK(f != NULL);
    if (f) {
        fwrite(data, 1, len / 2, f);
        fclose(f);
    }
    CHECK(run(bad, out, "q8_0", NULL) == 1);
    CHECK(access(out, F_OK) != 0);
    free(data);
    unlink(bad);
}

int main(void) {
    setenv("SEEK_PROGRESS", "0", 1);
    snprintf(g_dir, sizeof g_dir, "/tmp/sk_quantize_test_XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 2;
    }
    RUN(test_golden_q8_0);
    RUN(test_k_quant_and_fallback);
    RUN(test_half_precision_paths);
    RUN(test_threads_do_not_change_output);
    RUN(test_bad_usage);
    rmdir(g_dir);
    return sk_test_report("tensor_quantize_cmd");
}
