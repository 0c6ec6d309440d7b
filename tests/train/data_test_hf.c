/* data_test_hf — tokenizers written by `seek tokenizer train` (deepseek-v3, qwen2 and llama3
 * pre-tokenizers) encode identically in Seek and in transformers.js (tests/train/
 * data_hf_encode.js, run with node from the tokenizer tests' npm oracle): the tokenizer.json
 * is a valid Hugging Face file and its pre-tokenizer regexes mean the same in both.
 * Arguments: NODE ORACLE_DIR. Exit code 77 (skip) without node or the oracle's node_modules. */
#include "sk_data.h"
#include "sk_json.h"
#include "sk_test.h"
#include "sk_tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char tmpdir[256], node[512], oracle[512];

static const char *lines[] = {
    "Hello world! It's a test: don't, won't, I'm, they've, we'll, she'd.",
    "Numbers 1 12 123 1234 12345678 3.14159 and 1,000,000.",
    "Unicode: 深度求索 ひらがな カタカナ 한국어 Ελληνικά русский العربية",
    "Emoji \xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xF0\x9F\x9A\x80 done",
    "tabs\tand  double  spaces   \n\n  indented\r\nCRLF line\n",
    "<\xEF\xBD\x9CUser\xEF\xBD\x9C>What is 2+2?<\xEF\xBD\x9C"
    "Assistant\xEF\xBD\x9C><think>\nfour</think>4",
    "    if (x == 1) { return y->z[0]; } // C code\n",
};

/* JSON-string-encodes s into f (ASCII controls escaped; UTF-8 passed through). */
static void put_json(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputs("\"\n", f);
}

static void check_pre(const char *pre, const char *canon) {
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s/tests/train/data_sample.txt", SEEK_SOURCE_DIR);
    size_t len = 0;
    char *text = sk_test_slurp(path, &len);
    const char *texts[16];
    size_t lens[16];
    texts[0] = text;
    lens[0] = len;
    size_t nl = sizeof lines / sizeof lines[0];
    for (size_t i = 0; i < nl; i++) texts[1 + i] = lines[i], lens[1 + i] = strlen(lines[i]);
    sk_bpe_train_opts o;
    sk_bpe_train_opts_default(&o);
    o.vocab_size = 1200;
    o.pre = pre;
    o.quiet = true;
    o.min_frequency = 1;
    sk_err e = {0};
    sk_bpe_result *r = NULL;
    CHECK_OK(sk_bpe_train(texts, lens, 1 + nl, &o, &r, &e), &e);
    snprintf(dir, sizeof dir, "%s/%s", tmpdir, pre);
    if (r) CHECK_OK(sk_bpe_write_hf(r, &o, dir, &e), &e);
    sk_bpe_result_free(r);
    sk_tokenizer *t = NULL;
    CHECK_OK(sk_tokenizer_load_hf(dir, &t, &e), &e);
    if (!t) {
        free(text);
        return;
    }
    CHECK(!strcmp(sk_tokenizer_pre(t), canon));
    /* inputs: the lines, and the held-out file split into paragraphs */
    char in[600], out[600], cmd[4096];
    snprintf(in, sizeof in, "%s/in-%s.jsonl", tmpdir, pre);
    snprintf(out, sizeof out, "%s/out-%s.jsonl", tmpdir, pre);
    FILE *f = fopen(in, "wb");
    for (size_t i = 0; i < nl; i++) put_json(f, lines[i]);
    snprintf(path, sizeof path, "%s/tests/train/data_heldout.txt", SEEK_SOURCE_DIR);
    char *held = sk_test_slurp(path, NULL);
    int n_in = (int)nl;
    for (char *p = held; *p;) { /* paragraphs: split at blank lines */
        char *q = strstr(p, "\n\n");
        if (q) *q = 0;
        if (*p) {
            put_json(f, p);
            n_in++;
        }
        if (!q) break;
        p = q + 2;
    }
    fclose(f);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && NODE_PATH='%s/node_modules' '%s' '%s/tests/train/data_hf_encode.js' '%s' "
             "'%s' '%s'",
             oracle, oracle, node, SEEK_SOURCE_DIR, dir, in, out);
    CHECK(system(cmd) == 0);
    /* compare line by line */
    f = fopen(in, "rb");
    FILE *g = fopen(out, "rb");
    CHECK(f && g);
    char *a = NULL, *b = NULL;
    size_t ac = 0, bc = 0;
    int compared = 0;
    while (f && g && getline(&a, &ac, f) > 0 && getline(&b, &bc, g) > 0) {
        json_t *sj = json_loads(a, JSON_DECODE_ANY, NULL), *ij = json_loads(b, 0, NULL);
        CHECK(json_is_string(sj) && json_is_array(ij));
        if (json_is_string(sj) && json_is_array(ij)) {
            int32_t *ids = NULL;
            size_t n = 0;
            CHECK_OK(sk_tokenizer_encode(t, json_string_value(sj), json_string_length(sj),
                                         SK_TOK_PARSE_SPECIAL, &ids, &n, &e),
                     &e);
            bool same = n == json_array_size(ij);
            for (size_t k = 0; same && k < n; k++)
                same = ids[k] == json_integer_value(json_array_get(ij, k));
            CHECK_MSG(same, "%s: line %d encodes differently (seek %zu ids, transformers.js %zu)",
                      pre, compared + 1, n, json_array_size(ij));
            free(ids);
        }
        json_decref(sj);
        json_decref(ij);
        compared++;
    }
    CHECK(compared == n_in);
    free(a);
    free(b);
    if (f) fclose(f);
    if (g) fclose(g);
    free(held);
    free(text);
    sk_tokenizer_free(t);
}

static void test_deepseek_v3(void) {
    check_pre("deepseek-v3", "deepseek-v3");
}
static void test_qwen2(void) {
    check_pre("qwen2", "qwen2");
}
static void test_llama3(void) {
    check_pre("llama3", "llama-bpe");
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: test_data_hf NODE ORACLE_DIR\n");
        return 2;
    }
    snprintf(node, sizeof node, "%s", argv[1]);
    snprintf(oracle, sizeof oracle, "%s", argv[2]);
    char probe[700];
    snprintf(probe, sizeof probe, "%s/node_modules/@lenml/tokenizers/package.json", oracle);
    struct stat st;
    if (stat(node, &st) != 0 || stat(probe, &st) != 0) {
        fprintf(stderr, "skip: node (%s) or the npm oracle (%s) is missing\n", node, probe);
        return 77;
    }
    const char *td = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/seek-data-hf-XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_deepseek_v3);
    RUN(test_qwen2);
    RUN(test_llama3);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return sk_test_report("data_hf");
}
