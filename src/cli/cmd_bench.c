/* cmd_bench.c — `seek bench MODE …`: benchmarks. Modes live in the table below, each a
 * function taking (argc, argv) with argv[0] = the mode name:
 *   kernels  matvec GB/s per weight type against the measured memory read bandwidth, and
 *            matmul GFLOP/s for prompt batches.
 * A model benchmark (`seek bench -m MODEL …`) goes beside it: add its function to
 * `k_modes` (a mode name) or to the `-m` branch in sk_cmd_bench. */
#include "bench_model.h"
#include "cli.h"

#include "sk_kernels.h"
#include "sk_tensor.h"
#include "sk_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU seconds of the whole process (all threads). */
static double cpu_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bench_kernels(int argc, char **argv);

typedef struct bench_mode {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} bench_mode;

static const bench_mode k_modes[] = {
    {"kernels", bench_kernels, "matvec GB/s per weight type vs memory bandwidth; matmul GFLOP/s"},
};

static void bench_usage(FILE *f) {
    fprintf(f, "usage: seek bench -m MODEL [-p 512] [-n 128] [-t THREADS]   (model benchmark)\n"
               "       seek bench MODE [OPTIONS]\n\nmodes:\n");
    for (size_t i = 0; i < sizeof k_modes / sizeof k_modes[0]; i++)
        fprintf(f, "  %-10s %s\n", k_modes[i].name, k_modes[i].help);
    fprintf(f, "\n`seek bench MODE --help` describes a mode; `seek bench -m MODEL --help` the model\n"
               "benchmark's options (--reps, --cache-type, --no-mmap, --mtp, ...).\n");
}

int sk_cmd_bench(int argc, char **argv) {
    if (argc < 2) {
        bench_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        bench_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof k_modes / sizeof k_modes[0]; i++)
        if (!strcmp(argv[1], k_modes[i].name)) return k_modes[i].fn(argc - 1, argv + 1);
    /* `seek bench -m MODEL [-p N] [-n N] [-t N]`: options first means the model benchmark. */
    if (argv[1][0] == '-') return sk_bench_model(argc, argv);
    fprintf(stderr, "seek bench: unknown mode '%s'\n\n", argv[1]);
    bench_usage(stderr);
    return 2;
}

/* ---- seek bench kernels ---- */

static void kernels_usage(FILE *f) {
    fprintf(
        f,
        "usage: seek bench kernels [-t THREADS] [--size MB] [--types LIST] [--cols N]\n"
        "                          [--reps N] [--matmul-types LIST] [--matmul-size MB] "
        "[--no-matmul]\n\n"
        "For each weight type, times y = W x on a matrix of --size MiB of weights (default 512,\n"
        "far beyond the caches) and prints the weight bytes streamed per second next to the\n"
        "memory read bandwidth (1 GiB buffer, all threads; its passes alternate with the matvec\n"
        "calls so both see the same load on the machine) and their ratio; then the same per CPU\n"
        "second of the threads (GB per CPU-second × threads), steadier on a shared machine.\n"
        "Then times prompt-batch matmul (n = 32 and 128 tokens) on --matmul-size MiB (default "
        "128)\n"
        "and compares its time per token with n separate matvecs (wall clock, and CPU seconds).\n\n"
        "  -t, --threads N      threads (default: all CPUs)\n"
        "  --size MB            matvec weight bytes per type (default 512)\n"
        "  --types LIST         comma-separated: f32,f16,bf16,f8_e4m3,q8_0,q4_0,q4_1,q5_0,q5_1,\n"
        "                       q2_k,q3_k,q4_k,q5_k,q6_k,iq4_nl,iq4_xs (default: all)\n"
        "  --cols N             input width (default 7168, DeepSeek-V3's hidden size)\n"
        "  --reps N             timed matvec repetitions per type, best is kept (default 10)\n"
        "  --matmul-types LIST  types for the matmul test (default q8_0,q4_k,f16)\n"
        "  --matmul-size MB     matmul weight bytes (default 128)\n"
        "  --no-matmul          skip the matmul test\n\n"
        "SEEK_CPU=scalar|avx2|avx512 caps the kernel level.\n");
}

static const int k_all_types[] = {SK_TYPE_F32,  SK_TYPE_F16,  SK_TYPE_BF16,   SK_TYPE_F8_E4M3,
                                  SK_TYPE_Q8_0, SK_TYPE_Q4_0, SK_TYPE_Q4_1,   SK_TYPE_Q5_0,
                                  SK_TYPE_Q5_1, SK_TYPE_Q2_K, SK_TYPE_Q3_K,   SK_TYPE_Q4_K,
                                  SK_TYPE_Q5_K, SK_TYPE_Q6_K, SK_TYPE_IQ4_NL, SK_TYPE_IQ4_XS};
#define N_ALL ((int)(sizeof k_all_types / sizeof k_all_types[0]))

static int parse_types(const char *list, int *out, int max, int *n) {
    *n = 0;
    char buf[512];
    if (strlen(list) >= sizeof buf) return -1;
    strcpy(buf, list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        int t = sk_type_from_name(tok);
        if (t < 0 || !sk_matvec_supports(t)) {
            fprintf(stderr, "seek bench kernels: unknown or unsupported type '%s'\n", tok);
            return -1;
        }
        if (*n >= max) return -1;
        out[(*n)++] = t;
    }
    return *n > 0 ? 0 : -1;
}

/* Byte offsets of the fp16 scale fields inside a block, so random blocks get sane scales. */
static int fp16_fields(int type, int off[2]) {
    switch (type) {
    case SK_TYPE_Q8_0:
    case SK_TYPE_Q4_0:
    case SK_TYPE_Q5_0:
    case SK_TYPE_IQ4_NL:
    case SK_TYPE_IQ4_XS:
        off[0] = 0;
        return 1;
    case SK_TYPE_Q4_1:
    case SK_TYPE_Q5_1:
    case SK_TYPE_Q4_K:
    case SK_TYPE_Q5_K:
        off[0] = 0, off[1] = 2;
        return 2;
    case SK_TYPE_Q2_K:
        off[0] = 80, off[1] = 82;
        return 2;
    case SK_TYPE_Q3_K:
        off[0] = 108;
        return 1;
    case SK_TYPE_Q6_K:
        off[0] = 208;
        return 1;
    default:
        return 0;
    }
}

typedef struct fill_job {
    uint8_t *p;
    size_t n;
    int type;
} fill_job;

/* Random, finite weights: quantized codes are random bytes with small positive fp16 scales;
 * float types get values of magnitude 0.5..1 (no NaN, Inf or subnormals). */
static void fill_task(void *ctx, int ith, int nth) {
    fill_job *j = ctx;
    size_t lo, hi;
    sk_split_range(j->n / 64, ith, nth, &lo, &hi);
    uint64_t s = 0x9E3779B97F4A7C15ull * (uint64_t)(ith + 1);
    for (size_t i = lo * 64; i < hi * 64; i += 8) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        uint64_t v = s;
        switch (j->type) {
        case SK_TYPE_F32:
            v = (v & 0x80007FFF80007FFFull) | 0x3F0000003F000000ull;
            break;
        case SK_TYPE_F16:
            v = (v & 0x83FF83FF83FF83FFull) | 0x3800380038003800ull;
            break;
        case SK_TYPE_BF16:
            v = (v & 0x807F807F807F807Full) | 0x3F003F003F003F00ull;
            break;
        case SK_TYPE_F8_E4M3:
            v &= 0xB7B7B7B7B7B7B7B7ull;
            break;
        }
        memcpy(j->p + i, &v, 8);
    }
}

static int make_matrix(sk_kctx *k, int type, int64_t cols, size_t bytes, sk_tensor *t,
                       float **scale, sk_err *e) {
    size_t rb;
    if (!sk_row_size(type, cols, &rb))
        return sk_err_set(e, SK_ERR_INVALID, "--cols %lld is not a multiple of the %s block",
                          (long long)cols, sk_type_name(type));
    int64_t rows = (int64_t)((bytes + rb - 1) / rb);
    rows = (rows + 3) & ~(int64_t)3;
    size_t total = rb * (size_t)rows;
    uint8_t *w = sk_aligned_alloc(4096, (total + 4095) & ~(size_t)4095, e);
    if (!w) return e->code;
    fill_job fj = {w, (total + 63) & ~(size_t)63, type}; /* within the 4 KiB-rounded buffer */
    sk_pool_run(sk_kctx_pool(k), fill_task, &fj);
    int off[2], nf = fp16_fields(type, off);
    const sk_type_traits *tr = sk_type_info(type);
    if (nf) {
        size_t nblk = total / (size_t)tr->type_size;
        for (size_t b = 0; b < nblk; b++)
            for (int f = 0; f < nf; f++) {
                sk_fp16 h = sk_f32_to_fp16(0.001f + 0.0001f * (float)(b % 97));
                memcpy(w + b * (size_t)tr->type_size + off[f], &h, 2);
            }
    }
    *scale = NULL;
    if (type == SK_TYPE_F8_E4M3) {
        size_t n = (size_t)((rows + 127) / 128) * (size_t)((cols + 127) / 128);
        *scale = sk_malloc(n * sizeof(float), e);
        if (!*scale) {
            free(w);
            return e->code;
        }
        for (size_t i = 0; i < n; i++) (*scale)[i] = 0.001f * (float)(1 + i % 7);
    }
    *t = (sk_tensor){.name = "bench.weight",
                     .type = type,
                     .n_dims = 2,
                     .ne = {cols, rows, 1, 1},
                     .data = w,
                     .nbytes = total,
                     .scale = *scale};
    return SK_OK;
}

static int bench_kernels(int argc, char **argv) {
    int threads = 0, reps = 10, no_matmul = 0;
    double size_mb = 512, mm_mb = 128;
    int64_t cols = 7168;
    int types[N_ALL], ntypes = N_ALL, mm_types[N_ALL], n_mm = 3;
    memcpy(types, k_all_types, sizeof types);
    mm_types[0] = SK_TYPE_Q8_0, mm_types[1] = SK_TYPE_Q4_K, mm_types[2] = SK_TYPE_F16;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            kernels_usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--threads")) && has) {
            threads = atoi(argv[++i]);
        } else if (!strcmp(a, "--size") && has) {
            size_mb = atof(argv[++i]);
        } else if (!strcmp(a, "--matmul-size") && has) {
            mm_mb = atof(argv[++i]);
        } else if (!strcmp(a, "--cols") && has) {
            cols = atoll(argv[++i]);
        } else if (!strcmp(a, "--reps") && has) {
            reps = atoi(argv[++i]);
        } else if (!strcmp(a, "--types") && has) {
            if (parse_types(argv[++i], types, N_ALL, &ntypes)) return 2;
        } else if (!strcmp(a, "--matmul-types") && has) {
            if (parse_types(argv[++i], mm_types, N_ALL, &n_mm)) return 2;
        } else if (!strcmp(a, "--no-matmul")) {
            no_matmul = 1;
        } else {
            fprintf(stderr, "seek bench kernels: unknown or incomplete option '%s'\n\n", a);
            kernels_usage(stderr);
            return 2;
        }
    }
    if (size_mb < 1 || size_mb > 65536 || mm_mb < 1 || mm_mb > 65536 || cols < 256 ||
        cols > (1 << 24) || reps < 1 || threads < 0 || threads > 512) {
        fprintf(
            stderr,
            "seek bench kernels: option out of range (size 1..65536 MB, cols ≥ 256, reps ≥ 1)\n");
        return 2;
    }
    sk_err e = {0};
    sk_kctx *k = sk_kctx_new(threads, &e);
    if (!k) {
        fprintf(stderr, "seek bench kernels: %s\n", e.msg);
        return 1;
    }
    int nth = sk_kctx_threads(k), rc = 1;
    printf("cpu: %s; kernels: %s; threads: %d\n", sk_cpu_features(),
           sk_cpu_level_name(sk_kernels_level()), nth);
    printf("matvec: %lld columns, %.0f MiB of weights per type, best of %d calls; read bandwidth:\n"
           "1 GiB buffer, best of %d passes alternating with those calls\n\n",
           (long long)cols, size_mb, reps, reps);
    printf("%-8s %10s %12s %12s %8s %10s %9s %9s %8s\n", "type", "rows", "matvec GB/s", "read GB/s",
           "ratio", "ms/call", "mv/cpu-s", "rd/cpu-s", "ratio");
    float *x = NULL, *y = NULL, *scale = NULL, *X = NULL, *Y = NULL;
    sk_tensor W = {0};
    sk_bw_probe *probe = sk_bw_probe_new(k, (size_t)1 << 30, &e);
    if (!probe) goto fail;
    for (int ti = 0; ti < ntypes; ti++) {
        int type = types[ti];
        if (make_matrix(k, type, cols, (size_t)(size_mb * 1048576.0), &W, &scale, &e)) goto fail;
        free(x);
        free(y);
        x = sk_malloc(sizeof(float) * (size_t)cols, &e);
        y = sk_malloc(sizeof(float) * (size_t)W.ne[1], &e);
        if (!x || !y) goto fail;
        for (int64_t i = 0; i < cols; i++) x[i] = (float)((i * 7919) % 2001 - 1000) / 1000.0f;
        if (sk_matvec(k, &W, x, y, &e)) goto fail; /* warm-up */
        /* bandwidth passes and matvecs alternate, so both see the same machine load */
        /* also per CPU second (÷ threads): what the threads did while they ran, which is
         * steadier than wall time when other processes share the cores */
        double best = 1e30, bw = 0, best_cpu = 1e30, bw_cpu = 0;
        for (int r = 0; r < reps; r++) {
            double c0 = cpu_sec();
            double g = sk_bw_probe_run(probe);
            double cb = (cpu_sec() - c0) / nth;
            if (g > bw) bw = g;
            if (cb > 0 && (double)(1u << 30) / cb / 1e9 > bw_cpu)
                bw_cpu = (double)(1u << 30) / cb / 1e9;
            double t0 = sk_time_sec();
            c0 = cpu_sec();
            if (sk_matvec(k, &W, x, y, &e)) goto fail;
            double dt = sk_time_sec() - t0, dc = (cpu_sec() - c0) / nth;
            if (dt < best) best = dt;
            if (dc > 0 && dc < best_cpu) best_cpu = dc;
        }
        double gbs = (double)W.nbytes / best / 1e9, gcpu = (double)W.nbytes / best_cpu / 1e9;
        printf("%-8s %10lld %12.2f %12.2f %8.3f %10.2f %9.2f %9.2f %8.3f\n", sk_type_name(type),
               (long long)W.ne[1], gbs, bw, gbs / bw, best * 1e3, gcpu, bw_cpu, gcpu / bw_cpu);
        fflush(stdout);
        free(W.data);
        free(scale);
        W.data = NULL;
        scale = NULL;
    }
    if (!no_matmul) {
        printf("\nmatmul (prompt batch): %lld columns, %.0f MiB of weights\n", (long long)cols,
               mm_mb);
        printf("%-8s %5s %10s %14s %16s %9s %11s\n", "type", "n", "GFLOP/s", "ms/token",
               "matvec ms/token", "speedup", "cpu-s spdup");
        for (int ti = 0; ti < n_mm; ti++) {
            int type = mm_types[ti];
            if (make_matrix(k, type, cols, (size_t)(mm_mb * 1048576.0), &W, &scale, &e)) goto fail;
            int64_t rows = W.ne[1];
            const int ns[2] = {32, 128};
            X = sk_malloc(sizeof(float) * (size_t)(cols * 128), &e);
            Y = sk_malloc(sizeof(float) * (size_t)(rows * 128), &e);
            if (!X || !Y) goto fail;
            for (int64_t i = 0; i < cols * 128; i++)
                X[i] = (float)((i * 7919) % 2001 - 1000) / 1000.0f;
            /* matvec time per token on the same matrix, same activations */
            double tv = 1e30, tvc = 1e30;
            for (int r = 0; r < 3; r++) {
                double t0 = sk_time_sec(), c0 = cpu_sec();
                for (int t = 0; t < 4; t++)
                    if (sk_matvec(k, &W, X + t * cols, Y, &e)) goto fail;
                double dt = (sk_time_sec() - t0) / 4, dc = (cpu_sec() - c0) / 4;
                if (dt < tv) tv = dt;
                if (dc < tvc) tvc = dc;
            }
            for (int ni = 0; ni < 2; ni++) {
                int64_t n = ns[ni];
                double tm = 1e30, tmc = 1e30;
                for (int r = 0; r < 3; r++) {
                    double t0 = sk_time_sec(), c0 = cpu_sec();
                    if (sk_matmul(k, &W, X, n, Y, &e)) goto fail;
                    double dt = sk_time_sec() - t0, dc = cpu_sec() - c0;
                    if (dt < tm) tm = dt;
                    if (dc < tmc) tmc = dc;
                }
                double flops = 2.0 * (double)cols * (double)rows * (double)n;
                printf("%-8s %5lld %10.1f %14.3f %16.3f %8.1fx %10.1fx\n", sk_type_name(type),
                       (long long)n, flops / tm / 1e9, tm / (double)n * 1e3, tv * 1e3,
                       tv / (tm / (double)n), tvc / (tmc / (double)n));
                fflush(stdout);
            }
            free(X);
            free(Y);
            free(W.data);
            free(scale);
            X = Y = scale = NULL;
            W.data = NULL;
        }
    }
    rc = 0;
fail:
    if (rc) fprintf(stderr, "seek bench kernels: %s\n", e.msg);
    free(x);
    free(y);
    free(X);
    free(Y);
    free(W.data);
    free(scale);
    sk_bw_probe_free(probe);
    sk_kctx_free(k);
    return rc;
}
