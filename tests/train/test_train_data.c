/* test_train_data — `seek train`'s data input and resume guarantee:
 *  - a token shard set (sk_shard_writer, 2 shards) is packed, shuffled and trained on: the
 *    step-1 loss equals the loss of the first batch the loader hands out (with its packing
 *    mask), computed directly by sk_tmodel_loss on the same initial weights;
 *  - a line file with --mask: the step-1 loss equals the masked loss computed directly, and
 *    differs from the unmasked one;
 *  - shards, N steps straight vs N/2 (--stop-after) + --resume to N, with --accum and several
 *    epochs: identical model.safetensors, metrics (up to the timing fields) and checkpoint
 *    bytes past the header's metrics size;
 *  - --resume with other --threads, --seed, --seq-len, --no-shuffle, --batch, data, mask or
 *    matrix product backend (sk_train_set_gemm / SEEK_GEMM) is refused with a message naming
 *    the difference; a truncated, empty, corrupt or version-1 ckpt.bin gives a clear error. */
#include "sk_data.h"
#include "sk_test.h"
#include "sk_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sk_cmd_train(int argc, char **argv);

static char tmpdir[256], cfgp[512], shardp[512], shard2p[512], linep[512], maskp[512];

/* metrics.jsonl with the wall-clock fields (tok_per_s, mfu, seconds) removed */
static char *metrics_canon(const char *dir, int *n_lines) {
    char p[600];
    snprintf(p, sizeof p, "%s/metrics.jsonl", dir);
    size_t n;
    char *s = (char *)sk_test_read(p, &n);
    *n_lines = 0;
    if (!s) return NULL;
    char *out = malloc(n + 1), *o = out;
    for (char *line = s; *line;) {
        char *nl = strchr(line, '\n');
        if (!nl) break;
        *nl = 0;
        char *a = strstr(line, ",\"tok_per_s\":"), *b = strstr(line, ",\"load_max_over_mean\":"),
             *c = strstr(line, ",\"seconds\":");
        if (a && b && c && a < b && b < c)
            o += sprintf(o, "%.*s%.*s\n", (int)(a - line), line, (int)(c - b), b);
        else
            o += sprintf(o, "%s\n", line);
        (*n_lines)++;
        line = nl + 1;
    }
    *o = 0;
    free(s);
    return out;
}

static double metric(const char *dir, int line, const char *key) {
    char p[600];
    snprintf(p, sizeof p, "%s/metrics.jsonl", dir);
    return sk_test_line_number(p, line, key);
}

/* A shard set of 23 documents of 3..40 ids in [2, 48) (BOS 0, EOS 1), split into shards of at
 * most 200 tokens. */
static void write_shards(const char *prefix, uint32_t seed) {
    sk_err e = {0};
    sk_shard_writer *w = NULL;
    CHECK_OK(sk_shard_writer_open(prefix, 48, 0, 1, 200, &w, &e), &e);
    if (!w) return;
    uint32_t s = seed;
    int32_t doc[64];
    for (int d = 0; d < 23; d++) {
        s = s * 1103515245u + 12345u;
        int len = 3 + (int)((s >> 16) % 38), a = 2 + (int)((s >> 8) % 46), st = 1 + (int)(s % 5);
        for (int j = 0; j < len; j++) doc[j] = 2 + (a + st * j) % 46;
        CHECK_OK(sk_shard_writer_add(w, doc, (size_t)len, &e), &e);
    }
    uint32_t n_shards = 0;
    CHECK_OK(sk_shard_writer_finish(w, &n_shards, NULL, NULL, &e), &e);
    CHECK(n_shards >= 2);
}

static void write_lines(void) {
    FILE *f = fopen(linep, "w"), *g = fopen(maskp, "w");
    uint32_t s = 777;
    for (int i = 0; i < 12; i++) {
        s = s * 1103515245u + 12345u;
        int a = (int)(s >> 16) % 48, d = 1 + (int)(s >> 8) % 4;
        for (int j = 0; j < 13; j++) {
            fprintf(f, "%s%d", j ? " " : "", (a + d * j) % 48);
            fprintf(g, "%s%d", j ? " " : "", j >= 5 + i % 3); /* a prompt of 5..7 ids */
        }
        fputc('\n', f);
        fputc('\n', g);
    }
    fclose(f);
    fclose(g);
}

/* The main loss of the initial model (seed, std 0.02) on one batch. */
static double direct_loss(const int32_t *ids, const uint8_t *mask, int B, int S, uint64_t seed) {
    sk_err e = {0};
    sk_model_config cfg;
    CHECK_OK(sk_model_config_from_hf(cfgp, &cfg, &e), &e);
    sk_tmodel *m = NULL;
    CHECK_OK(sk_tmodel_new(&cfg, &m, &e), &e);
    if (!m) return NAN;
    sk_tmodel_init(m, seed, 0.02f);
    sk_tbatch b = {.B = B, .S = S, .ids = ids, .mask = mask};
    sk_tstats st;
    memset(&st, 0, sizeof st);
    CHECK_OK(sk_tmodel_loss(m, &b, &st, NULL, &e), &e);
    sk_tmodel_free(m);
    return st.main;
}

static void test_shards_step1(void) {
    char d[400];
    snprintf(d, sizeof d, "%s/s1", tmpdir);
    const char *r[] = {"train", "--config",  cfgp,      "--data",     shardp, "--out",
                       d,       "--seq-len", "15",      "--steps",    "1",    "--batch",
                       "4",     "--seed",    "9",       "--init-std", "0.02", "--threads",
                       "1",     "--no-gguf", "--quiet", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r) == 0);
    sk_err e = {0};
    sk_data_loader *l = NULL;
    CHECK_OK(sk_data_loader_open(shardp, 15, 4, 9, SK_DATA_SHUFFLE, 48, &l, &e), &e);
    if (!l) return;
    int32_t ids[4 * 16];
    uint8_t mask[4 * 16];
    CHECK_OK(sk_data_loader_next(l, ids, mask, &e), &e);
    int zeros = 0;
    for (int i = 0; i < 4; i++)
        for (int j = 1; j < 16; j++) zeros += mask[i * 16 + j] == 0;
    sk_data_loader_close(l);
    double want = direct_loss(ids, mask, 4, 16, 9), got = metric(d, 1, "main");
    printf("shards: step-1 main loss %.7g, direct %.7g (%d BOS targets masked)\n", got, want,
           zeros);
    CHECK_NEAR(got, want, 1e-5 * fabs(want));
    CHECK(zeros > 0); /* the batch holds document starts, so the mask matters */
    /* without --seq-len a shard set is refused */
    const char *r2[] = {"train", "--config", cfgp, "--data", shardp, "--out", d, "--quiet", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r2) == 1);
    /* --mask belongs to line files */
    const char *r3[] = {"train",     "--config", cfgp,     "--data", shardp,    "--out", d,
                        "--seq-len", "15",       "--mask", maskp,    "--quiet", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r3) == 1);
    const char *r4[] = {"train", "--config",  cfgp, "--data",  shardp, "--out",
                        d,       "--seq-len", "0",  "--quiet", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r4) == 2);
}

static void test_line_mask(void) {
    char d[400], d2[400];
    snprintf(d, sizeof d, "%s/m1", tmpdir);
    snprintf(d2, sizeof d2, "%s/m2", tmpdir);
    const char *r[] = {"train", "--config",  cfgp,      "--data",     linep,  "--mask",
                       maskp,   "--out",     d,         "--steps",    "1",    "--batch",
                       "4",     "--seed",    "5",       "--init-std", "0.02", "--threads",
                       "1",     "--no-gguf", "--quiet", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r) == 0);
    const char *r2[] = {"train",     "--config", cfgp,        "--data",     linep,
                        "--out",     d2,         "--steps",   "1",          "--batch",
                        "4",         "--seed",   "5",         "--init-std", "0.02",
                        "--threads", "1",        "--no-gguf", "--quiet",    NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r2) == 0);
    sk_err e = {0};
    sk_tokfile t = {0}, mk = {0};
    CHECK_OK(sk_tokfile_read(linep, 48, &t, &e), &e);
    CHECK_OK(sk_tokfile_read(maskp, 2, &mk, &e), &e);
    if (t.ids && mk.ids) {
        uint8_t mask[4 * 13];
        for (int i = 0; i < 4 * 13; i++) mask[i] = (uint8_t)mk.ids[i];
        double want = direct_loss(t.ids, mask, 4, 13, 5), got = metric(d, 1, "main");
        double plain = direct_loss(t.ids, NULL, 4, 13, 5), got2 = metric(d2, 1, "main");
        printf("--mask: step-1 main loss %.7g, direct %.7g; unmasked %.7g, direct %.7g\n", got,
               want, got2, plain);
        CHECK_NEAR(got, want, 1e-5 * fabs(want));
        CHECK_NEAR(got2, plain, 1e-5 * fabs(plain));
        CHECK(fabs(want - plain) > 1e-4);
    }
    sk_tokfile_free(&t);
    sk_tokfile_free(&mk);
    /* a mask of another shape is refused */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/badmask.txt", tmpdir);
    FILE *f = fopen(bad, "w");
    fputs("0 1 1\n", f);
    fclose(f);
    const char *r3[] = {"train", "--config", cfgp, "--data",  linep, "--mask",
                        bad,     "--out",    d,    "--quiet", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r3) == 1);
}

/* sk_train_run with the shard settings of the resume test; returns the status, message in e */
static int run_opts(const char *dir, int steps, int stop_after, bool resume, int threads,
                    uint64_t seed, int seq_len, bool no_shuffle, int batch, const char *data,
                    sk_err *e) {
    sk_model_config cfg;
    int rc = sk_model_config_from_hf(cfgp, &cfg, e);
    if (rc) return rc;
    sk_trainer_opts o;
    sk_trainer_opts_defaults(&o);
    o.out_dir = dir;
    o.data_path = data;
    o.steps = steps;
    o.stop_after = stop_after;
    o.resume = resume;
    o.batch = batch;
    o.accum = 2;
    o.threads = threads;
    o.seed = seed;
    o.seq_len = seq_len;
    o.no_shuffle = no_shuffle;
    o.quiet = true;
    o.gguf = false;
    o.opt.lr = 3e-3f;
    o.opt.warmup = 3;
    o.opt.constant = 4;
    o.opt.total = steps;
    o.ckpt_every = 3;
    return sk_train_run(&cfg, cfgp, &o, e);
}

static void expect_refused(const char *what, int rc, const sk_err *e, const char *needle) {
    CHECK_MSG(rc != 0, "%s: resume was not refused", what);
    if (rc) printf("  %s: %s\n", what, e->msg);
    CHECK_MSG(rc == 0 || strstr(e->msg, needle), "%s: message '%s' does not name '%s'", what,
              e->msg, needle);
}

static void test_shards_resume(void) {
    char d1[400], d2[400], a[600], b[600];
    snprintf(d1, sizeof d1, "%s/straight", tmpdir);
    snprintf(d2, sizeof d2, "%s/resumed", tmpdir);
    sk_err e = {0};
    /* 24 steps x 4 sequences of 13 ids: the set packs to ~40 sequences, so ~2.4 epochs */
    CHECK_OK(run_opts(d1, 24, 0, false, 2, 11, 12, false, 4, shardp, &e), &e);
    CHECK_OK(run_opts(d2, 24, 11, false, 2, 11, 12, false, 4, shardp, &e), &e);
    snprintf(a, sizeof a, "%s/model.safetensors", d2);
    CHECK(access(a, F_OK) != 0);
    CHECK_OK(run_opts(d2, 24, 0, true, 2, 11, 12, false, 4, shardp, &e), &e);
    snprintf(a, sizeof a, "%s/model.safetensors", d1);
    snprintf(b, sizeof b, "%s/model.safetensors", d2);
    CHECK_MSG(sk_test_same_file(a, b), "model.safetensors differs between the straight and resumed run");
    int na = 0, nb = 0;
    char *x = metrics_canon(d1, &na), *y = metrics_canon(d2, &nb);
    CHECK(x && y && na == 24 && nb == 24);
    CHECK_MSG(x && y && strcmp(x, y) == 0, "metrics differ after --stop-after + --resume");
    free(x);
    free(y);
    {
        size_t n1, n2;
        snprintf(a, sizeof a, "%s/ckpt.bin", d1);
        snprintf(b, sizeof b, "%s/ckpt.bin", d2);
        unsigned char *p = sk_test_read(a, &n1), *q = sk_test_read(b, &n2);
        CHECK(p && q && n1 == n2 && n1 > 264 + 8);
        if (p && q && n1 == n2 && n1 > 272) CHECK(memcmp(p + 136, q + 136, n1 - 144) == 0);
        free(p);
        free(q);
    }
    /* the loss falls, and the run is not the unshuffled order */
    double l1 = metric(d1, 1, "main"), l24 = metric(d1, 24, "main");
    printf("shards resume: main loss step 1 %.4f -> step 24 %.4f\n", l1, l24);
    CHECK(l24 < l1);

    /* refused resumes (the straight run's checkpoint is at step 24; ask for 30) */
    int rc;
    rc = run_opts(d1, 30, 0, true, 1, 11, 12, false, 4, shardp, &e);
    expect_refused("--threads 1", rc, &e, "threads");
    rc = run_opts(d1, 30, 0, true, 2, 12, 12, false, 4, shardp, &e);
    expect_refused("--seed 12", rc, &e, "--seed");
    rc = run_opts(d1, 30, 0, true, 2, 11, 13, false, 4, shardp, &e);
    expect_refused("--seq-len 13", rc, &e, "--seq-len");
    rc = run_opts(d1, 30, 0, true, 2, 11, 12, true, 4, shardp, &e);
    expect_refused("--no-shuffle", rc, &e, "shuffl");
    rc = run_opts(d1, 30, 0, true, 2, 11, 12, false, 8, shardp, &e);
    expect_refused("--batch 8", rc, &e, "--batch");
    rc = run_opts(d1, 30, 0, true, 2, 11, 12, false, 4, shard2p, &e);
    expect_refused("other shards", rc, &e, "data");
    rc = run_opts(d1, 30, 0, true, 2, 11, 0, false, 4, linep, &e);
    expect_refused("a line file", rc, &e, "line file");
    /* the other matrix product backend (the checkpoint records the one it ran with) */
    sk_train_set_gemm(sk_train_get_gemm() == SK_TRAIN_GEMM_SEEK ? SK_TRAIN_GEMM_BLAS
                                                                : SK_TRAIN_GEMM_SEEK);
    rc = run_opts(d1, 30, 0, true, 2, 11, 12, false, 4, shardp, &e);
    sk_train_set_gemm(SK_TRAIN_GEMM_AUTO);
    expect_refused("other matrix product backend", rc, &e, "--gemm");
    /* the refusals left the checkpoint alone: a proper resume still works */
    CHECK_OK(run_opts(d1, 26, 0, true, 2, 11, 12, false, 4, shardp, &e), &e);

    /* damaged checkpoints */
    size_t n;
    snprintf(a, sizeof a, "%s/ckpt.bin", d2);
    unsigned char *ck = sk_test_read(a, &n);
    CHECK(ck && n > 300);
    if (!ck || n <= 300) return;
    struct {
        const char *what, *needle;
        size_t len;
        size_t flip; /* byte to change, 0 = none */
        uint64_t version;
    } cases[] = {
        {"truncated", "truncated", n - 100, 0, 0},
        {"header only", "truncated", 200, 0, 0},
        {"empty", "ckpt.bin", 0, 0, 0},
        {"corrupt weights", "checksum", n, 8 + 256 + 40, 0},
        {"corrupt data position", "checksum", n, 8 + 192 + 20, 0},
        {"version 1", "version 1", n, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char *c = malloc(n);
        memcpy(c, ck, n);
        if (cases[i].flip) c[cases[i].flip] ^= 0x40;
        if (cases[i].version) memcpy(c + 8, &cases[i].version, 8);
        FILE *f = fopen(a, "wb");
        if (cases[i].len) fwrite(c, 1, cases[i].len, f);
        fclose(f);
        free(c);
        rc = run_opts(d2, 30, 0, true, 2, 11, 12, false, 4, shardp, &e);
        expect_refused(cases[i].what, rc, &e, cases[i].needle);
    }
    free(ck);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/seek-train-data-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(cfgp, sizeof cfgp, "%s/trainref/v3-mtp1/config.json", SEEK_TEST_DATA);
    snprintf(shardp, sizeof shardp, "%s/sh/a", tmpdir);
    snprintf(shard2p, sizeof shard2p, "%s/sh/b", tmpdir);
    snprintf(linep, sizeof linep, "%s/lines.txt", tmpdir);
    snprintf(maskp, sizeof maskp, "%s/mask.txt", tmpdir);
    write_shards(shardp, 31);
    write_shards(shard2p, 32);
    write_lines();
    RUN(test_shards_step1);
    RUN(test_line_mask);
    RUN(test_shards_resume);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return sk_test_report("train_data");
}
