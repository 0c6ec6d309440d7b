/* decode_speed.c — llama.cpp's generation speed on a GGUF file, for comparison with
 * `seek bench -m FILE` (bench/llamacpp/speed.sh runs both alternately).
 * Loads FILE with libllama (CPU, mmap), evaluates a P-token prompt in one batch, then
 * decodes N tokens one at a time (greedy argmax of the logits, as `seek bench` does) and
 * prints prompt and generation tokens/s and the CPU milliseconds per generated token.
 *
 *   decode_speed FILE THREADS [P] [N]
 */
#include "llama.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu_now(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

static void quiet(enum ggml_log_level level, const char *text, void *ud) {
    (void)ud;
    if (level >= GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FILE THREADS [P] [N]\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[2]), P = argc > 3 ? atoi(argv[3]) : 64, N = argc > 4 ? atoi(argv[4]) : 32;
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = (uint32_t)(P + N + 16);
    cp.n_batch = cp.n_ubatch = (uint32_t)P;
    cp.n_threads = cp.n_threads_batch = threads;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) return 1;
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    int nv = llama_vocab_n_tokens(vocab);
    llama_token *toks = malloc(sizeof *toks * (size_t)P);
    for (int i = 0; i < P; i++) toks[i] = (llama_token)((i * 7919 + 13) % nv);
    double t0 = now();
    if (llama_decode(ctx, llama_batch_get_one(toks, P))) return 1;
    double tp = now() - t0;
    llama_token cur = 0;
    double t1 = now(), c1 = cpu_now();
    for (int i = 0; i < N; i++) {
        const float *lg = llama_get_logits_ith(ctx, -1);
        int best = 0;
        for (int j = 1; j < nv; j++)
            if (lg[j] > lg[best]) best = j;
        cur = best;
        if (llama_decode(ctx, llama_batch_get_one(&cur, 1))) return 1;
    }
    double tg = now() - t1, cg = cpu_now() - c1;
    printf("llama.cpp prompt:      %d tokens, %.2f tokens/s\n", P, P / tp);
    printf("llama.cpp generation:  %d tokens, %.2f tokens/s (%.1f ms CPU per token)\n", N, N / tg,
           cg * 1e3 / N);
    llama_free(ctx);
    llama_model_free(model);
    free(toks);
    return 0;
}
