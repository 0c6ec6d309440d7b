/* cmd_perplexity.c — `seek perplexity -m MODEL -f TEXT`: perplexity over a text file. */
#include "cli_args.h"
#include "cli_gen.h"
#include "gen_ppl.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: seek perplexity -m MODEL -f TEXT [--window N] [--stride S] [options]\n\n"
               "Tokenizes the file (BOS first) and prints the perplexity of the model over it, in\n"
               "windows of N tokens (default 512) starting every S tokens (default N/2); every\n"
               "token is scored once, with the context of its window.\n\n"
               "options:\n"
               "  -f, --file PATH         the text\n"
               "  --window N              tokens per window (alias --ctx-window; default 512)\n"
               "  --stride S              distance between window starts (default N/2)\n"
               "  -b, --batch N           tokens per evaluation call (default 64)\n");
    cli_opts_usage(f, false);
}

static void progress(void *ud, int w, int nw, const sk_ppl_result *r) {
    (void)ud;
    fprintf(stderr, "[%d/%d] %lld tokens, ppl %.4f\n", w + 1, nw, (long long)r->n_scored, r->ppl);
}

int sk_cmd_perplexity(int argc, char **argv) {
    cli_opts o;
    cli_opts_init(&o);
    const char *file = NULL;
    long window = 512, stride = 0, batch = 64;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--ctx") || !strcmp(a, "-c")) a = "--window"; /* the window is the context */
        int r = !strcmp(a, "--window") ? 0 : cli_opts_parse(&o, "perplexity", argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (i + 1 < argc && (!strcmp(a, "-f") || !strcmp(a, "--file"))) {
            file = argv[++i];
        } else if (i + 1 < argc && (!strcmp(a, "--window") || !strcmp(a, "--ctx-window") ||
                                    !strcmp(a, "--stride") || !strcmp(a, "-b") ||
                                    !strcmp(a, "--batch"))) {
            int64_t v;
            if (sk_cli_parse_int("perplexity", a, argv[i + 1], 1, 1 << 24, &v)) return 2;
            if (!strcmp(a, "--stride")) stride = v;
            else if (!strcmp(a, "-b") || !strcmp(a, "--batch")) batch = v;
            else window = v;
            i++;
        } else {
            fprintf(stderr, "seek perplexity: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!o.model || !file) {
        fprintf(stderr, "seek perplexity: need -m MODEL and -f TEXT\n\n");
        usage(stderr);
        return 2;
    }
    if (window < 2) {
        fprintf(stderr, "seek perplexity: --window must be at least 2\n");
        return 2;
    }
    if (!stride) stride = window / 2 > 0 ? window / 2 : 1;
    if (stride > window) {
        fprintf(stderr, "seek perplexity: --stride %ld exceeds --window %ld\n", stride, window);
        return 2;
    }
    sk_err e = {0};
    char *text = NULL;
    size_t len = 0;
    if (sk_read_file(file, 1u << 30, &text, &len, &e)) {
        fprintf(stderr, "seek perplexity: %s\n", e.msg);
        return 1;
    }
    o.n_ctx = (int)window;
    cli_llm l;
    sk_model_ctx *ctx = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    int ret = 1;
    if (cli_llm_open(&l, &o, false, &e)) {
        fprintf(stderr, "seek perplexity: %s\n", e.msg);
        free(text);
        return 1;
    }
    if (sk_tokenizer_encode(l.tok, text, len, SK_TOK_ADD_BOS, &ids, &n, &e)) {
        fprintf(stderr, "seek perplexity: %s: %s\n", file, e.msg);
        goto done;
    }
    if (n < 2) {
        fprintf(stderr, "seek perplexity: %s has fewer than 2 tokens\n", file);
        goto done;
    }
    sk_model_ctx_params cp;
    sk_model_ctx_params_init(&cp);
    cp.n_ctx = (int)window;
    cp.n_batch = (int)batch;
    cp.cache_type = o.cache_type;
    if (sk_model_ctx_new(l.m, &cp, &ctx, &e)) {
        fprintf(stderr, "seek perplexity: %s\n", e.msg);
        goto done;
    }
    sk_ppl_result r;
    cli_sigint_arm();
    int rc = sk_perplexity(ctx, sk_model_get_config(l.m)->n_vocab, ids, (int64_t)n, (int)window,
                           (int)stride, (int)batch, &cli_cancel, progress, NULL, &r, &e);
    cli_sigint_disarm();
    if (rc) {
        fprintf(stderr, "seek perplexity: %s\n", e.msg);
        goto done;
    }
    printf("perplexity: %.4f +/- %.4f over %lld tokens (%zu in the file, %d windows of %ld, "
           "stride %ld), %.1f tokens/s\n",
           r.ppl, r.ppl_err, (long long)r.n_scored, n, r.n_windows, window, stride,
           r.seconds > 0 ? (double)r.n_scored / r.seconds : 0.0);
    ret = 0;
done:
    sk_model_ctx_free(ctx);
    free(ids);
    free(text);
    cli_llm_close(&l);
    return ret;
}
