/* sgemm_bench.c — sk_sgemm against single-threaded OpenBLAS cblas_sgemm on the matrix products
 * of one training step of bench/train_config.json (batch 8 × 256 tokens on 2 threads: 1024
 * tokens per thread), with the transposes and beta that src/train/tops.c uses. The two run in
 * alternating rounds (so a change in the machine's load hits both); per shape the best round
 * of each is printed, and the per-step total weights each shape by its calls per step (counted
 * with an interposed cblas_sgemm on `seek train`). Built and run by bench/sgemm_vs_blas.sh. */
#include "sk_kernels.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int n);

typedef struct shape {
    const char *what;
    char ta, tb;
    int M, N, K;
    float alpha, beta;
    int calls; /* per step, both threads */
} shape;

static const shape shapes[] = {
    {"head fwd  x·Wᵀ", 'N', 'T', 1024, 4096, 256, 1, 0, 4},
    {"head dx   dy·W", 'N', 'N', 1024, 256, 4096, 1, 1, 4},
    {"head dW   dyᵀ·x", 'T', 'N', 4096, 256, 1024, 1, 1, 4},
    {"ffn fwd", 'N', 'T', 1024, 768, 256, 1, 0, 4},
    {"ffn dx", 'N', 'N', 1024, 256, 768, 1, 1, 4},
    {"ffn dW", 'T', 'N', 768, 256, 1024, 1, 1, 4},
    {"shared fwd", 'N', 'T', 1024, 192, 256, 1, 0, 12},
    {"shared dW", 'T', 'N', 192, 256, 1024, 1, 1, 12},
    {"shared dx", 'N', 'N', 1024, 256, 192, 1, 1, 12},
    {"expert fwd", 'N', 'T', 256, 192, 256, 1, 0, 128},
    {"expert dW", 'T', 'N', 192, 256, 256, 1, 1, 128},
    {"expert dx", 'N', 'N', 256, 256, 192, 1, 1, 128},
    {"q_a fwd", 'N', 'T', 1024, 128, 256, 1, 0, 16},
    {"kv_a fwd", 'N', 'T', 1024, 80, 256, 1, 0, 16},
    {"router fwd", 'N', 'T', 1024, 8, 256, 1, 0, 12},
    {"attn QKᵀ", 'N', 'T', 64, 192, 32, 0.15f, 0, 320},
    {"attn QKᵀ full", 'N', 'T', 64, 256, 32, 0.15f, 0, 256},
    {"attn P·V", 'N', 'N', 64, 32, 192, 1, 0, 160},
    {"attn dPᵀ·Q", 'T', 'N', 192, 32, 64, 1, 1, 320},
    {"attn dS·K", 'N', 'N', 64, 32, 256, 1, 1, 128},
};
#define NS ((int)(sizeof shapes / sizeof shapes[0]))

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static float *rnd(size_t n) {
    float *p = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) p[i] = (float)((i * 2654435761u) % 1000) * 0.001f - 0.5f;
    return p;
}

/* seconds per call of one backend over `reps` calls */
static double run(const shape *s, int seek, int reps, const float *A, const float *B, float *C) {
    int lda = s->ta == 'T' ? s->M : s->K, ldb = s->tb == 'T' ? s->K : s->N, ldc = s->N;
    double t0 = now();
    for (int r = 0; r < reps; r++) {
        if (seek)
            sk_sgemm(s->ta == 'T', s->tb == 'T', s->M, s->N, s->K, s->alpha, A, lda, B, ldb,
                     s->beta, C, ldc);
        else
            cblas_sgemm(CblasRowMajor, s->ta == 'T' ? CblasTrans : CblasNoTrans,
                        s->tb == 'T' ? CblasTrans : CblasNoTrans, s->M, s->N, s->K, s->alpha, A,
                        lda, B, ldb, s->beta, C, ldc);
    }
    return (now() - t0) / reps;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5;
    openblas_set_num_threads(1);
    printf("kernel level %s (%s); %d alternating rounds, best round per backend\n",
           sk_cpu_level_name(sk_kernels_level()), sk_cpu_features(), rounds);
    printf("%-16s %c%c %5s %5s %5s  %9s %9s  %6s\n", "product", 'o', 'p', "M", "N", "K",
           "seek GF/s", "blas GF/s", "ratio");
    double step[2] = {0, 0};
    for (int i = 0; i < NS; i++) {
        const shape *s = &shapes[i];
        size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
        float *A = rnd(na), *B = rnd(nb), *C = rnd(nc);
        double fl = 2.0 * s->M * s->N * (double)s->K;
        int reps = (int)(2e8 / fl) + 1; /* ~2-4 ms per round */
        double best[2] = {1e30, 1e30};
        run(s, 1, 1, A, B, C);
        run(s, 0, 1, A, B, C);
        for (int r = 0; r < rounds; r++)
            for (int b = 0; b < 2; b++) {
                double t = run(s, b == 0, reps, A, B, C);
                if (t < best[b]) best[b] = t;
            }
        printf("%-16s %c%c %5d %5d %5d  %9.1f %9.1f  %6.2f\n", s->what, s->ta, s->tb, s->M, s->N,
               s->K, fl / best[0] * 1e-9, fl / best[1] * 1e-9, best[1] / best[0]);
        step[0] += best[0] * s->calls;
        step[1] += best[1] * s->calls;
        free(A);
        free(B);
        free(C);
    }
    printf("one step's products (weighted by calls): seek %.1f ms, blas %.1f ms, ratio %.2f\n",
           step[0] * 1e3, step[1] * 1e3, step[1] / step[0]);
    return 0;
}
