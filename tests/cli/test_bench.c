/* test_bench — the model benchmark (src/cli/bench_model.c): the weight bytes per generated
 * token against a count made from the GGUF tensor table, and a short run of the benchmark. */
#include "bench_model.h"
#include "sk_gguf.h"
#include "sk_test.h"

#include <unistd.h>

#define GOLDEN SEEK_TEST_DATA "/golden/"

/* Expected bytes from the raw tensor table: everything, minus the embedding table plus one
 * row, minus the unused share of the stacked experts, minus attn_kv_b where attn_k_b/v_b exist. */
static uint64_t expected_bytes(const char *path, int n_active) {
    sk_err e = {0};
    sk_gguf *g = NULL;
    CHECK_OK(sk_gguf_open(path, &g, &e), &e);
    if (!g) return 0;
    uint64_t total = 0;
    for (int64_t i = 0; i < sk_gguf_n_tensors(g); i++) {
        const sk_gguf_tensor_info *t = sk_gguf_tensor(g, i);
        uint64_t b = t->nbytes;
        if (!strcmp(t->name, "token_embd.weight")) b = t->nbytes / (uint64_t)t->ne[1];
        if (strstr(t->name, "_exps.weight"))
            b = t->nbytes / (uint64_t)t->ne[2] * (uint64_t)n_active;
        if (strstr(t->name, "attn_kv_b")) {
            char kb[96];
            snprintf(kb, sizeof kb, "%.*sattn_k_b.weight",
                     (int)(strstr(t->name, "attn_kv_b") - t->name), t->name);
            if (sk_gguf_find_tensor(g, kb) >= 0) b = 0;
        }
        total += b;
    }
    /* tied embeddings: the head reads the whole table */
    int64_t te = sk_gguf_find_tensor(g, "token_embd.weight");
    if (sk_gguf_find_tensor(g, "output.weight") < 0 && te >= 0)
        total += sk_gguf_tensor(g, te)->nbytes;
    sk_gguf_close(g);
    return total;
}

static void check_bytes(const char *name) {
    char path[512];
    snprintf(path, sizeof path, GOLDEN "%s/model.gguf", name);
    sk_err e = {0};
    sk_model *m = NULL;
    sk_model_opts mo;
    sk_model_opts_init(&mo);
    mo.n_threads = 1;
    CHECK_OK(sk_model_open(path, &mo, &m, &e), &e);
    if (!m) return;
    const sk_model_config *c = sk_model_get_config(m);
    uint64_t got = sk_bench_bytes_per_token(sk_model_get_weights(m));
    uint64_t want = expected_bytes(path, c->n_active);
    CHECK_MSG(got == want, "%s: %llu bytes per token, expected %llu", name, (unsigned long long)got,
              (unsigned long long)want);
    sk_model_close(m);
}

static void test_bytes_per_token(void) {
    check_bytes("qwen2-tiny");
    check_bytes("llama3-tiny");
    check_bytes("ds3-tiny");
    check_bytes("ds2-lite-tiny");
}

/* Runs sk_bench_model with stdout captured; returns the exit code, *out the text (free). */
static int bench_captured(int argc, char **argv, char **out) {
    char path[] = "/tmp/seek-test-bench-XXXXXX";
    int fd = mkstemp(path);
    *out = NULL;
    if (fd < 0) return -1;
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    int rc = sk_bench_model(argc, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(fd);
    *out = sk_test_slurp(path, NULL);
    unlink(path);
    return rc;
}

static void test_bench_runs(void) {
    /* 12 tokens, 2 repetitions: a bandwidth pass before token 4 of each repetition (one every
     * 8 tokens, at 4 mod 8), so one decoding window (tokens 0..3) per repetition is paired */
    char *argv[] = {"bench",    "-m", GOLDEN "ds3-tiny/model-q8_0.gguf",
                    "-p",       "16", "-n",
                    "12",       "-t", "2",
                    "--bw-mib", "64", "-r",
                    "2",        NULL};
    char *out;
    CHECK(bench_captured(13, argv, &out) == 0);
    const char *pl = out ? strstr(out, "paired: ") : NULL;
    double med = 0, lo = 0, hi = 0;
    int nw = 0;
    CHECK_MSG(pl && sscanf(pl, "paired: %lf%% median (%lf-%lf%%) over %d windows", &med, &lo, &hi,
                           &nw) == 4,
              "no paired line in: %s", out ? out : "");
    CHECK(nw == 2 && lo > 0 && lo <= med && med <= hi);
    free(out);
    char *bad[] = {"bench", "-m", GOLDEN "ds3-tiny/model.gguf", "-p", "zero", NULL};
    CHECK(sk_bench_model(5, bad) == 2);
    char *missing[] = {"bench", "-m", "/nonexistent.gguf", NULL};
    CHECK(sk_bench_model(3, missing) == 1);
}

/* --mtp on the tiny trained MTP model: the speculative tokens equal plain greedy's, drafts
 * are accepted, fewer main-model calls; refused for a model without an MTP module. */
static void test_bench_mtp(void) {
    char path[] = "/tmp/seek-test-bench-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    char *argv[] = {"bench",    "-m", SEEK_TEST_DATA "/mtp-tiny",
                    "-p",       "8",  "-n",
                    "40",       "-t", "2",
                    "--bw-mib", "0",  "--mtp",
                    NULL};
    int rc = sk_bench_model(12, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    close(fd);
    CHECK(rc == 0);
    char *out = sk_test_slurp(path, NULL);
    unlink(path);
    int drafts = 0, acc = 0, calls = 0;
    const char *m = out ? strstr(out, "mtp: ") : NULL;
    CHECK_MSG(m && sscanf(m,
                          "mtp: %*d tokens, %*f tokens/s (%*fx), %d drafts, %d accepted (%*f%%), "
                          "%d main-model calls",
                          &drafts, &acc, &calls) == 3,
              "no mtp line in: %s", out ? out : "");
    CHECK(m && strstr(m, "tokens equal plain greedy"));
    CHECK(acc > 0 && acc <= drafts && calls == 40 - 1 - acc);
    free(out);
    char *nomtp[] = {"bench", "-m", GOLDEN "ds3-tiny/model.gguf", "-p", "4", "-n", "4",
                     "--mtp", NULL};
    CHECK(sk_bench_model(8, nomtp) == 1);
}

int main(void) {
    RUN(test_bytes_per_token);
    RUN(test_bench_runs);
    RUN(test_bench_mtp);
    return sk_test_report("bench");
}
