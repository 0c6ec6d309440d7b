/* test_tokenizer_vocab.c — llama.cpp's tokenizer test files through the GGUF path:
 * tests/data/tokenizer/ggml-vocab-NAME.gguf (vocabulary only) + .inp (test strings separated by
 * lines "__ggml_vocab_test__") + .out (one line of expected ids per string, no BOS; generated
 * with Hugging Face tokenizers). Also malformed-GGUF errors for the tokenizer keys. */
#include <unistd.h>

#include "sk_gguf.h"
#include "sk_test.h"
#include "sk_tokenizer.h"
#include "tok_test_util.h"

#define SEP "\n__ggml_vocab_test__\n"

static void run_vocab(const char *name, const char *want_pre, int32_t want_bos) {
    char path[512], inp_path[600], out_path[600];
    snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-%s.gguf", SEEK_TEST_DATA, name);
    snprintf(inp_path, sizeof inp_path, "%s.inp", path);
    snprintf(out_path, sizeof out_path, "%s.out", path);
    sk_tokenizer *t = NULL;
    sk_err e = {0};
    CHECK_OK(sk_tokenizer_load_gguf_file(path, &t, &e), &e);
    if (!t) return;
    CHECK(!strcmp(sk_tokenizer_pre(t), want_pre));
    CHECK(sk_tokenizer_bos(t) == want_bos);
    size_t il, ol;
    char *inp = sk_test_slurp(inp_path, &il);
    char *out = sk_test_slurp(out_path, &ol);
    /* split .out into lines */
    char *lines[256];
    size_t nlines = 0;
    for (char *p = out; nlines < 256;) {
        lines[nlines++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = 0;
        p = nl + 1;
        if (!*p) break;
    }
    size_t ncase = 0, nfail = 0;
    char *p = inp;
    for (;;) {
        char *sep = strstr(p, SEP);
        if (!sep) break;
        size_t len = (size_t)(sep - p);
        CHECK(ncase < nlines);
        if (ncase >= nlines) break;
        int32_t want[2048];
        size_t nw = tok_parse_ids(lines[ncase], want, 2048);
        int32_t *ids = NULL;
        size_t n = 0;
        CHECK_OK(sk_tokenizer_encode(t, p, len, 0, &ids, &n, &e), &e);
        if (n != nw || memcmp(ids, want, n * sizeof *ids)) {
            nfail++;
            fprintf(stderr, "  %s case %zu \"%.*s\":\n    got ", name, ncase,
                    (int)(len > 80 ? 80 : len), p);
            for (size_t i = 0; i < n && i < 40; i++) fprintf(stderr, " %d", ids[i]);
            fprintf(stderr, "\n    want%s\n", lines[ncase]);
        }
        /* decoding gives the text back */
        char *txt = NULL;
        size_t tl = 0;
        CHECK_OK(sk_tokenizer_decode(t, ids, n, false, &txt, &tl, &e), &e);
        CHECK(txt && tl == len && !memcmp(txt, p, len));
        free(txt);
        free(ids);
        ncase++;
        p = sep + strlen(SEP);
    }
    fprintf(stderr, "  %s: %zu cases, %zu failed\n", name, ncase, nfail);
    CHECK(ncase == nlines && ncase >= 40);
    CHECK(nfail == 0);
    free(inp);
    free(out);
    sk_tokenizer_free(t);
}

static void test_deepseek_llm(void) {
    run_vocab("deepseek-llm", "deepseek-llm", 100000);
}
static void test_deepseek_coder(void) {
    run_vocab("deepseek-coder", "deepseek-coder", 32013);
}

/* Writes a small GGUF with the given tokenizer keys and expects loading to fail with `needle`. */
static void expect_gguf_error(int variant, const char *needle) {
    char path[] = "/tmp/seek-tok-bad-XXXXXX.gguf";
    int fd = mkstemps(path, 5);
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);
    sk_err e = {0};
    sk_gguf_writer *w = sk_gguf_writer_new(&e);
    const char *toks[] = {"a", "b", "ab", "\xc4\xa0"};
    int32_t types[] = {1, 1, 1, 9};
    const char *merges[] = {"a b", "a"};
    sk_gguf_set_str(w, "tokenizer.ggml.model", variant == 0 ? "llama" : "gpt2", &e);
    if (variant != 1) sk_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 4, &e);
    if (variant == 2) sk_gguf_set_arr(w, "tokenizer.ggml.token_type", SK_GGUF_INT32, types, 3, &e);
    if (variant == 3) sk_gguf_set_arr(w, "tokenizer.ggml.token_type", SK_GGUF_INT32, types, 4, &e);
    if (variant == 4) sk_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, 2, &e);
    if (variant == 5) sk_gguf_set_str(w, "tokenizer.ggml.pre", "no-such-pre", &e);
    if (variant == 6) sk_gguf_set_arr(w, "tokenizer.ggml.tokens", SK_GGUF_INT32, types, 4, &e);
    CHECK_OK(sk_gguf_write(w, path, 0, NULL, &e), &e);
    sk_gguf_writer_free(w);
    sk_tokenizer *t = NULL;
    int rc = sk_tokenizer_load_gguf_file(path, &t, &e);
    CHECK_MSG(rc != 0 && !t && strstr(e.msg, needle), "variant %d: want \"%s\", got rc %d \"%s\"",
              variant, needle, rc, e.msg);
    sk_tokenizer_free(t);
    unlink(path);
}

static void test_gguf_errors(void) {
    expect_gguf_error(0, "only \"gpt2\"");
    expect_gguf_error(1, "tokenizer.ggml.tokens");
    expect_gguf_error(2, "token_type has 3 entries");
    expect_gguf_error(3, "token_type[3] = 9");
    expect_gguf_error(4, "tokenizer.ggml.merges[1]");
    expect_gguf_error(5, "no-such-pre");
    expect_gguf_error(6, "not an array of strings");
    sk_tokenizer *t = NULL;
    sk_err e = {0};
    CHECK(sk_tokenizer_load_gguf_file(SEEK_TEST_DATA "/tokenizer/no-such-file.gguf", &t, &e) != 0 &&
          !t);
}

/* A tiny valid vocabulary: chat template, add_bos false (FORCE_BOS still adds it), merges. */
static void test_gguf_small(void) {
    char path[] = "/tmp/seek-tok-small-XXXXXX.gguf";
    int fd = mkstemps(path, 5);
    CHECK(fd >= 0);
    if (fd < 0) return;
    close(fd);
    sk_err e = {0};
    sk_gguf_writer *w = sk_gguf_writer_new(&e);
    const char *toks[] = {"<s>",
                          "a",
                          "b",
                          "ab",
                          "\xc4\xa0",
                          "\xc4\xa0"
                          "ab",
                          "<think>"};
    int32_t types[] = {3, 1, 1, 1, 1, 1, 4};
    const char *merges[] = {"a b", "\xc4\xa0 ab"};
    CHECK_OK(sk_gguf_set_str(w, "tokenizer.ggml.model", "gpt2", &e), &e);
    CHECK_OK(sk_gguf_set_str(w, "tokenizer.ggml.pre", "deepseek-v3", &e), &e);
    CHECK_OK(sk_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 7, &e), &e);
    CHECK_OK(sk_gguf_set_arr(w, "tokenizer.ggml.token_type", SK_GGUF_INT32, types, 7, &e), &e);
    CHECK_OK(sk_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, 2, &e), &e);
    CHECK_OK(sk_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 0, &e), &e);
    CHECK_OK(sk_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 99, &e),
             &e); /* out of range: ignored */
    CHECK_OK(sk_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", false, &e), &e);
    CHECK_OK(sk_gguf_set_str(w, "tokenizer.chat_template", "{{ messages }}", &e), &e);
    CHECK_OK(sk_gguf_write(w, path, 0, NULL, &e), &e);
    sk_gguf_writer_free(w);
    sk_tokenizer *t = NULL;
    CHECK_OK(sk_tokenizer_load_gguf_file(path, &t, &e), &e);
    unlink(path);
    if (!t) return;
    CHECK(sk_tokenizer_chat_template(t) &&
          !strcmp(sk_tokenizer_chat_template(t), "{{ messages }}"));
    CHECK(sk_tokenizer_bos(t) == 0 && sk_tokenizer_eos(t) == -1 && !sk_tokenizer_add_bos(t));
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK_OK(sk_tokenizer_encode(t, "ab ab<think>", 12, SK_TOK_ADD_BOS, &ids, &n, &e), &e);
    CHECK(n == 3 && ids[0] == 3 && ids[1] == 5 && ids[2] == 6); /* <think> is USER_DEFINED */
    free(ids);
    CHECK_OK(sk_tokenizer_encode(t, "ab", 2, SK_TOK_ADD_BOS | SK_TOK_FORCE_BOS, &ids, &n, &e), &e);
    CHECK(n == 2 && ids[0] == 0 && ids[1] == 3);
    free(ids);
    /* CONTROL text without PARSE_SPECIAL is plain text; '<', 's', '>' have no byte tokens in
     * this vocabulary, so they are dropped (as Hugging Face does without an unk token) */
    CHECK_OK(sk_tokenizer_encode(t, "<s>b", 4, 0, &ids, &n, &e), &e);
    CHECK(n == 1 && ids[0] == 2);
    free(ids);
    CHECK_OK(sk_tokenizer_encode(t, "<s>b", 4, SK_TOK_PARSE_SPECIAL, &ids, &n, &e), &e);
    CHECK(n == 2 && ids[0] == 0 && ids[1] == 2);
    free(ids);
    sk_tokenizer_free(t);
}

int main(void) {
    RUN(test_deepseek_llm);
    RUN(test_deepseek_coder);
    RUN(test_gguf_errors);
    RUN(test_gguf_small);
    return sk_test_report("tokenizer_vocab");
}
