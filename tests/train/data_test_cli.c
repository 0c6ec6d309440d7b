/* data_test_cli — `seek tokenizer train` and `seek data tokenize|pack|info` end to end (the
 * command functions are compiled into this test from src/cli/):
 *  - the trained tokenizer loads with the requested vocab size and the DeepSeek-R1 template
 *    (equal to tests/chat/templates/deepseek-r1.jinja);
 *  - tokenize → pack writes lines that the trainer's own reader (sk_tokfile_read, used by
 *    `seek train --data`) parses into exactly the loader's packed sequences, with the mask file;
 *  - usage errors return 2, bad input 1. */
#include "sk_data.h"
#include "sk_test.h"
#include "sk_tokenizer.h"
#include "sk_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sk_cmd_tokenizer(int argc, char **argv);
int sk_cmd_data(int argc, char **argv);

static char tmpdir[256];

static char *tmp(const char *name) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static char sample[512], heldout[512];

/* sk_test_run_cmd with stderr captured into *err (malloc'd). */
static int run_cmd_err(int (*fn)(int, char **), const char *const *args, char **err) {
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(tmp("stderr.txt"), "w");
    dup2(fileno(f), 2);
    int rc = sk_test_run_cmd(fn, args);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(f);
    *err = sk_test_slurp(tmp("stderr.txt"), NULL);
    return rc;
}

/* An --out that cannot be a directory fails before the training, with the reason (it used to
 * train first and fail on the write). vocab 100 would also fail, in the trainer: the message
 * shows which check ran. Out-of-range numbers say so. */
static void test_out_checked_first(void) {
    FILE *f = fopen(tmp("a-file"), "wb");
    if (f) fclose(f);
    char out[600];
    snprintf(out, sizeof out, "%s/sub", tmp("a-file"));
    const char *a[] = {"tokenizer", "train", "--input", sample, "--vocab-size", "100",
                       "--out", out, "--quiet", NULL};
    char *err = NULL;
    CHECK(run_cmd_err(sk_cmd_tokenizer, a, &err) == 1);
    CHECK_MSG(err && strstr(err, "--out: cannot create directory") && strstr(err, "File exists"),
              "%s", err ? err : "");
    free(err);
    const char *b[] = {"tokenizer", "train", "--input", sample, "--vocab-size", "99999999",
                       "--out", tmp("x"), "--quiet", NULL};
    CHECK(run_cmd_err(sk_cmd_tokenizer, b, &err) == 2);
    CHECK_MSG(err && strstr(err, "out of range (min 1, max 16777216)"), "%s", err ? err : "");
    free(err);
}

static void test_usage(void) {
    const char *a1[] = {"tokenizer", "--help", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_tokenizer, a1) == 0);
    const char *a2[] = {"tokenizer", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_tokenizer, a2) == 2);
    const char *a3[] = {"tokenizer", "train", "--input", sample, "--out", tmp("x"), NULL};
    CHECK(sk_test_run_cmd(sk_cmd_tokenizer, a3) == 2);
    const char *a4[] = {"tokenizer", "train", "--input", sample, "--vocab-size",
                        "12ab",      "--out", tmp("x"),  NULL};
    CHECK(sk_test_run_cmd(sk_cmd_tokenizer, a4) == 2);
    const char *a5[] = {"tokenizer", "fly", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_tokenizer, a5) == 2);
    const char *a6[] = {"tokenizer", "train", "--input", tmp("absent.txt"), "--vocab-size",
                        "300",       "--out", tmp("x"),  "--quiet",         NULL};
    CHECK(sk_test_run_cmd(sk_cmd_tokenizer, a6) == 1);
    const char *a7[] = {"tokenizer", "train", "--input", sample,    "--vocab-size",
                        "100",       "--out", tmp("x"),  "--quiet", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_tokenizer, a7) == 1);
    FILE *f = fopen(tmp("empty.txt"), "wb");
    if (f) fclose(f);
    const char *a8[] = {"tokenizer", "train", "--input", tmp("empty.txt"), "--vocab-size", "300",
                        "--out", tmp("x"), "--quiet", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_tokenizer, a8) == 1);
    const char *a9[] = {"tokenizer", "train", "--input", sample, "--vocab-size", "300", "--out",
                        tmp("x"), "--pre", "gpt2", "--quiet", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_tokenizer, a9) == 1);
    const char *b1[] = {"data", "--help", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_data, b1) == 0);
    const char *b2[] = {"data", "pack", "--shards", tmp("none"), NULL};
    CHECK(sk_test_run_cmd(sk_cmd_data, b2) == 2);
    const char *b3[] = {"data", "pack",  "--shards",   tmp("none"), "--seq-len",
                        "8",    "--out", tmp("o.txt"), NULL};
    CHECK(sk_test_run_cmd(sk_cmd_data, b3) == 1);
    const char *b4[] = {"data", "info", tmp("none"), NULL};
    CHECK(sk_test_run_cmd(sk_cmd_data, b4) == 1);
    const char *b5[] = {"data", "tokenize", "--tokenizer", tmp("none"), "--input",
                        sample, "--out",    tmp("t"),      NULL};
    CHECK(sk_test_run_cmd(sk_cmd_data, b5) == 1);
    const char *b6[] = {"data", "shuffle", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_data, b6) == 2);
}

static void test_pipeline(void) {
    const char *a[] = {"tokenizer", "train", "--input",  sample,    "--vocab-size",
                       "800",       "--out", tmp("tok"), "--quiet", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_tokenizer, a) == 0);
    sk_err e = {0};
    sk_tokenizer *t = NULL;
    CHECK_OK(sk_tokenizer_load_hf(tmp("tok"), &t, &e), &e);
    if (!t) return;
    CHECK(sk_tokenizer_n_vocab(t) == 800);
    char tp[512];
    snprintf(tp, sizeof tp, "%s/tests/chat/templates/deepseek-r1.jinja", SEEK_SOURCE_DIR);
    char *tmpl = sk_test_slurp(tp, NULL);
    CHECK(sk_tokenizer_chat_template(t) && !strcmp(sk_tokenizer_chat_template(t), tmpl));
    free(tmpl);

    /* --special and --pre */
    const char *a2[] = {"tokenizer", "train", "--input", sample, "--vocab-size", "400", "--out",
                        tmp("tok2"), "--pre", "qwen2", "--special", "<s>,</s>,<pad>",
                        "--min-frequency", "3", "--no-chat-template", "--quiet", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_tokenizer, a2) == 0);
    sk_tokenizer *t2 = NULL;
    CHECK_OK(sk_tokenizer_load_hf(tmp("tok2"), &t2, &e), &e);
    if (t2) {
        CHECK(sk_tokenizer_n_vocab(t2) == 400 && !strcmp(sk_tokenizer_pre(t2), "qwen2"));
        CHECK(sk_tokenizer_bos(t2) == 0 && sk_tokenizer_eos(t2) == 1);
        CHECK(sk_tokenizer_find(t2, "<pad>") == 2 && sk_tokenizer_find(t2, "<think>") < 0);
        CHECK(sk_tokenizer_chat_template(t2) == NULL);
        sk_tokenizer_free(t2);
    }

    const char *b[] = {"data", "tokenize", "--tokenizer", tmp("tok"), "--input",
                       sample, heldout,    "--out",       tmp("sh"),  NULL};
    CHECK(sk_test_run_cmd(sk_cmd_data, b) == 0);
    const char *c[] = {"data", "info", tmp("sh"), "--seq-len", "63", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_data, c) == 0);
    const char *d[] = {"data",  "pack",         "--shards", tmp("sh"),       "--seq-len", "63",
                       "--out", tmp("seq.txt"), "--mask",   tmp("mask.txt"), NULL};
    CHECK(sk_test_run_cmd(sk_cmd_data, d) == 0);
    sk_data_loader *l = NULL;
    CHECK_OK(sk_data_loader_open(tmp("sh"), 63, 1, 0, 0, 800, &l, &e), &e);
    sk_tokfile tf = {0}, mf = {0};
    CHECK_OK(sk_tokfile_read(tmp("seq.txt"), 800, &tf, &e), &e);
    CHECK_OK(sk_tokfile_read(tmp("mask.txt"), 2, &mf, &e), &e);
    if (l && tf.ids && mf.ids) {
        CHECK(tf.S == 64 && (uint64_t)tf.n_lines == sk_data_loader_n_seq(l));
        CHECK(mf.S == 64 && mf.n_lines == tf.n_lines);
        /* about (35149 + 11358) bytes / 3-4 bytes per token / 64 */
        CHECK(tf.n_lines > 100);
        int32_t ids[64];
        uint8_t m[64];
        int bad = 0;
        for (int i = 0; i < tf.n_lines; i++) {
            sk_data_loader_seq(l, (uint64_t)i, ids, m, &e);
            if (memcmp(ids, tf.ids + (size_t)i * 64, sizeof ids)) bad++;
            for (int j = 0; j < 64; j++)
                if (mf.ids[(size_t)i * 64 + j] != m[j]) bad++;
        }
        CHECK(bad == 0);
        /* the first sequence starts a document: BOS, and the text decodes to the sample's start */
        CHECK(tf.ids[0] == 0 && mf.ids[0] == 0 && mf.ids[1] == 1);
        char *out = NULL;
        size_t ol = 0;
        CHECK_OK(sk_tokenizer_decode(t, tf.ids + 1, 63, false, &out, &ol, &e), &e);
        char *s = sk_test_slurp(sample, NULL);
        CHECK(out && ol > 20 && !strncmp(out, s, 20));
        free(s);
        free(out);
    }
    /* shuffled: the same lines in another order */
    const char *f[] = {"data",  "pack",          "--shards",  tmp("sh"), "--seq-len", "63",
                       "--out", tmp("shuf.txt"), "--shuffle", "--seed",  "7",         NULL};
    CHECK(sk_test_run_cmd(sk_cmd_data, f) == 0);
    sk_tokfile sf = {0};
    CHECK_OK(sk_tokfile_read(tmp("shuf.txt"), 800, &sf, &e), &e);
    if (sf.ids && tf.ids) {
        CHECK(sf.n_lines == tf.n_lines);
        long moved = 0, found = 0;
        for (int i = 0; i < sf.n_lines; i++) {
            moved += memcmp(sf.ids + (size_t)i * 64, tf.ids + (size_t)i * 64, 256) != 0;
            for (int k = 0; k < tf.n_lines; k++)
                if (!memcmp(sf.ids + (size_t)i * 64, tf.ids + (size_t)k * 64, 256)) {
                    found++;
                    break;
                }
        }
        CHECK(found == sf.n_lines && moved > sf.n_lines / 2);
    }
    sk_tokfile_free(&sf);
    sk_tokfile_free(&tf);
    sk_tokfile_free(&mf);
    sk_data_loader_close(l);
    sk_tokenizer_free(t);
}

int main(void) {
    const char *td = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/seek-data-cli-XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(sample, sizeof sample, "%s/tests/train/data_sample.txt", SEEK_SOURCE_DIR);
    snprintf(heldout, sizeof heldout, "%s/tests/train/data_heldout.txt", SEEK_SOURCE_DIR);
    RUN(test_usage);
    RUN(test_out_checked_first);
    RUN(test_pipeline);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return sk_test_report("data_cli");
}
