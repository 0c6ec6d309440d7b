/* cmd_logits.c — `seek logits`: the logits of every position of a token sequence, written as
 * little-endian f32 rows (n_tokens × n_vocab), batched or one token per call through the
 * cache. The model is a GGUF file or a Hugging Face folder. */
#include "cli.h"
#include "sk_model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: seek logits -m MODEL --tokens-file T.txt --out L.f32 [options]\n"
            "\n"
            "Evaluates the token ids of T.txt (decimal, whitespace separated) and writes the\n"
            "logits after every position as little-endian f32 rows (n_tokens x n_vocab).\n"
            "MODEL is a .gguf file or a Hugging Face folder (config.json + *.safetensors).\n"
            "\n"
            "options:\n"
            "  --one-by-one          one token per evaluation (the decode/cache path)\n"
            "  --cache-type TYPE     f32 (default), f16, bf16 or q8_0\n"
            "  --batch N             tokens per forward chunk (default 64)\n"
            "  --exact               quantized weights with f32 activations (row dequantization)\n"
            "  -t, --threads N       threads (default: all CPUs)\n"
            "  --no-mmap             read the weights into memory instead of mapping the file\n"
            "  -h, --help            this text\n");
}

static int read_tokens(const char *path, int32_t **out, int *n, sk_err *e) {
    char *buf = NULL;
    size_t len = 0;
    int rc = sk_read_file(path, 1u << 30, &buf, &len, e);
    if (rc) return rc;
    size_t cap = 256;
    int32_t *t = malloc(cap * sizeof *t);
    int cnt = 0;
    char *p = buf;
    if (!t) rc = sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    while (!rc) {
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 0 || v > INT32_MAX ||
            (*end && *end != ' ' && *end != '\n' && *end != '\t' && *end != '\r')) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: token %d is not a non-negative integer id", path,
                            cnt + 1);
            break;
        }
        if ((size_t)cnt == cap) {
            int32_t *nt = realloc(t, 2 * cap * sizeof *t);
            if (!nt) {
                rc = sk_err_set(e, SK_ERR_NOMEM, "out of memory");
                break;
            }
            t = nt;
            cap *= 2;
        }
        t[cnt++] = (int32_t)v;
        p = end;
    }
    free(buf);
    if (!rc && cnt == 0) rc = sk_err_set(e, SK_ERR_FORMAT, "%s: no token ids", path);
    if (rc) {
        free(t);
        return rc;
    }
    *out = t;
    *n = cnt;
    return SK_OK;
}

int sk_cmd_logits(int argc, char **argv) {
    const char *model = NULL, *tokf = NULL, *outf = NULL;
    bool one = false;
    int cache = SK_CACHE_F32, threads = 0, batch = 0;
    sk_model_opts opts;
    sk_model_opts_init(&opts);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && has) {
            model = argv[++i];
        } else if (!strcmp(a, "--tokens-file") && has) {
            tokf = argv[++i];
        } else if ((!strcmp(a, "--out") || !strcmp(a, "-o")) && has) {
            outf = argv[++i];
        } else if (!strcmp(a, "--one-by-one")) {
            one = true;
        } else if (!strcmp(a, "--exact")) {
            opts.exact_f32 = true;
        } else if (!strcmp(a, "--no-mmap")) {
            opts.no_mmap = true;
        } else if (!strcmp(a, "--cache-type") && has) {
            cache = sk_cache_type_from_name(argv[++i]);
            if (cache < 0) {
                fprintf(stderr, "seek logits: unknown cache type '%s' (f32, f16, bf16, q8_0)\n", argv[i]);
                return 2;
            }
        } else if ((!strcmp(a, "-t") || !strcmp(a, "--threads")) && has) {
            threads = atoi(argv[++i]);
            if (threads <= 0 || threads > 1024) {
                fprintf(stderr, "seek logits: bad thread count '%s'\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--batch") && has) {
            batch = atoi(argv[++i]);
            if (batch <= 0) {
                fprintf(stderr, "seek logits: bad batch size '%s'\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "seek logits: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!model || !tokf || !outf) {
        fprintf(stderr, "seek logits: -m, --tokens-file and --out are required\n\n");
        usage(stderr);
        return 2;
    }
    opts.n_threads = threads;
    sk_err e = {0};
    int32_t *tok = NULL;
    int n = 0;
    sk_model *m = NULL;
    sk_model_ctx *ctx = NULL;
    float *lg = NULL;
    FILE *f = NULL;
    int ret = 1;
    if (read_tokens(tokf, &tok, &n, &e)) goto fail;
    double t0 = sk_time_sec();
    if (sk_model_open(model, &opts, &m, &e)) goto fail;
    double t1 = sk_time_sec();
    const sk_model_config *c = sk_model_get_config(m);
    sk_model_ctx_params p;
    sk_model_ctx_params_init(&p);
    p.n_ctx = n;
    p.n_batch = batch;
    p.cache_type = cache;
    if (sk_model_ctx_new(m, &p, &ctx, &e)) goto fail;
    size_t row = (size_t)c->n_vocab;
    lg = malloc((size_t)n * row * sizeof(float));
    if (!lg) {
        sk_err_set(&e, SK_ERR_NOMEM, "out of memory for %d x %d logits", n, c->n_vocab);
        goto fail;
    }
    double t2 = sk_time_sec();
    if (one) {
        for (int i = 0; i < n; i++)
            if (sk_model_eval(ctx, tok + i, 1, lg + (size_t)i * row, false, &e)) goto fail;
    } else {
        if (sk_model_eval(ctx, tok, n, lg, true, &e)) goto fail;
    }
    double t3 = sk_time_sec();
    f = fopen(outf, "wb");
    if (!f) {
        sk_err_set(&e, SK_ERR_IO, "%s: cannot create: %s", outf, strerror(errno));
        goto fail;
    }
    if (fwrite(lg, sizeof(float), (size_t)n * row, f) != (size_t)n * row || fclose(f) != 0) {
        f = NULL;
        sk_err_set(&e, SK_ERR_IO, "%s: write failed: %s", outf, strerror(errno));
        goto fail;
    }
    f = NULL;
    fprintf(stderr,
            "seek logits: %d tokens x %d logits -> %s (load %.2f s, eval %.3f s = %.1f tok/s %s, "
            "%s cache %zu bytes/token)\n",
            n, c->n_vocab, outf, t1 - t0, t3 - t2, n / (t3 - t2 > 0 ? t3 - t2 : 1e-9),
            one ? "one-by-one" : "batched", sk_cache_type_name(cache),
            sk_model_ctx_cache_bytes_per_token(ctx));
    ret = 0;
fail:
    if (ret) fprintf(stderr, "seek logits: %s\n", e.msg);
    if (f) fclose(f);
    free(lg);
    free(tok);
    sk_model_ctx_free(ctx);
    sk_model_close(m);
    return ret;
}
