/* train_step_ab.c — one forward/backward pass (sk_tmodel_grad) of the bench/train_vs_torch.sh
 * model and batch (bench/train_config.json, 8 sequences of 257 random ids, 2 threads) with the
 * two matrix product backends of sk_train_set_gemm, alternating every pass in the order
 * ABBA BAAB … so that a change in the machine's load hits both alike. Prints the medians of
 * wall seconds and process CPU seconds per pass and tokens/s (256 per sequence). AdamW is left
 * out (it runs no matrix product). Built and run by bench/train_step_ab.sh. */
#include "sk_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clk(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmpd);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: train_step_ab CONFIG.json [PASSES_PER_BACKEND] [THREADS]\n");
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 8, threads = argc > 3 ? atoi(argv[3]) : 2;
    enum { B = 8, S = 257 };
    sk_err e = {0};
    sk_model_config cfg;
    sk_tmodel *m = NULL;
    if (sk_model_config_from_hf(argv[1], &cfg, &e) || sk_tmodel_new(&cfg, &m, &e) ||
        sk_tmodel_set_threads(m, threads, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    sk_tmodel_init(m, 1234, 0.02f);
    static int32_t ids[B * S];
    uint64_t r = 7;
    for (int i = 0; i < B * S; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((r >> 33) % (uint64_t)cfg.n_vocab);
    }
    sk_tbatch b = {B, S, ids, NULL};
    sk_tstats st;
    double *wall[2], *cpu[2], loss[2] = {0, 0};
    int k[2] = {0, 0};
    for (int g = 0; g < 2; g++) {
        wall[g] = malloc(sizeof(double) * (size_t)n);
        cpu[g] = malloc(sizeof(double) * (size_t)n);
    }
    for (int i = -2; i < 2 * n; i++) { /* two warm-up passes */
        int g = i < 0 ? i + 2 : ((i & 1) ^ ((i >> 1) & 1)) ^ ((i >> 2) & 1);
        sk_train_set_gemm(g ? SK_TRAIN_GEMM_SEEK : SK_TRAIN_GEMM_BLAS);
        sk_tmodel_zero_grad(m);
        sk_tmodel_reset_load(m);
        double w0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_PROCESS_CPUTIME_ID);
        if (sk_tmodel_grad(m, &b, 1.0f, &st, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            return 1;
        }
        double w = clk(CLOCK_MONOTONIC) - w0, c = clk(CLOCK_PROCESS_CPUTIME_ID) - c0;
        loss[g] = st.loss;
        if (i < 0 || k[g] >= n) continue;
        wall[g][k[g]] = w;
        cpu[g][k[g]++] = c;
    }
    const char *name[2] = {"blas", "seek"};
    double mw[2], mc[2];
    for (int g = 0; g < 2; g++) {
        mw[g] = median(wall[g], k[g]);
        mc[g] = median(cpu[g], k[g]);
        printf("%s: %d passes, median %.3f s wall (%.1f tok/s), %.3f CPU-s per pass; loss %.6f\n",
               name[g], k[g], mw[g], B * (S - 1) / mw[g], mc[g], loss[g]);
    }
    printf("seek vs blas: tokens/s x%.3f, CPU-s per pass x%.3f (blas/seek)\n", mw[0] / mw[1],
           mc[0] / mc[1]);
    sk_tmodel_free(m);
    return 0;
}
