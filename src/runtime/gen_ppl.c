/* gen_ppl.c — windowed perplexity (see gen_ppl.h). */
#include "gen_ppl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void finish(sk_ppl_result *r) {
    if (r->n_scored <= 0) return;
    double mean = r->nll_sum / (double)r->n_scored;
    r->ppl = exp(mean);
    double var = r->nll_sq / (double)r->n_scored - mean * mean;
    r->ppl_err = r->n_scored > 1 && var > 0 ? r->ppl * sqrt(var / (double)(r->n_scored - 1)) : 0;
}

int sk_perplexity(sk_model_ctx *ctx, int n_vocab, const int32_t *tokens, int64_t n, int window,
                  int stride, int n_chunk, volatile sig_atomic_t *cancel, sk_ppl_progress_fn fn,
                  void *ud, sk_ppl_result *r, sk_err *e) {
    memset(r, 0, sizeof *r);
    if (n < 2) return sk_err_set(e, SK_ERR_INVALID, "perplexity: need at least 2 tokens, got %lld",
                                 (long long)n);
    if (window < 2) return sk_err_set(e, SK_ERR_INVALID, "perplexity: window %d < 2", window);
    if (stride < 1 || stride > window)
        return sk_err_set(e, SK_ERR_INVALID, "perplexity: stride %d outside [1, window = %d]",
                          stride, window);
    if (window > sk_model_ctx_capacity(ctx))
        return sk_err_set(e, SK_ERR_RANGE, "perplexity: window %d exceeds the context of %d tokens",
                          window, sk_model_ctx_capacity(ctx));
    if (n_vocab < 1) return sk_err_set(e, SK_ERR_INVALID, "perplexity: bad vocabulary size");
    for (int64_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return sk_err_set(e, SK_ERR_RANGE, "perplexity: token %lld is id %d, outside [0, %d)",
                              (long long)i, (int)tokens[i], n_vocab);
    if (n_chunk <= 0) n_chunk = 64;
    if (n_chunk > window) n_chunk = window;
    int n_windows = 1;
    if (n > window) n_windows = 1 + (int)((n - window + stride - 1) / stride);
    float *logits = sk_calloc((size_t)n_chunk * (size_t)n_vocab, sizeof *logits, e);
    if (!logits) return SK_ERR_NOMEM;
    double t0 = sk_time_sec();
    int rc = SK_OK;
    int64_t scored_until = 1; /* targets < this index are scored */
    for (int w = 0; w < n_windows; w++) {
        int64_t s = (int64_t)w * stride, end = s + window < n ? s + window : n;
        sk_model_ctx_reset(ctx);
        for (int64_t p = s; p < end - 1; p += n_chunk) {
            if (cancel && *cancel) {
                rc = sk_err_set(e, SK_ERR_INTERRUPTED, "perplexity: interrupted");
                goto done;
            }
            int cn = (int)(end - p < n_chunk ? end - p : n_chunk);
            rc = sk_model_eval(ctx, tokens + p, cn, logits, true, e);
            if (rc) {
                sk_err_prefix(e, "perplexity: window %d", w);
                goto done;
            }
            for (int j = 0; j < cn; j++) {
                int64_t target = p + j + 1;
                if (target >= end || target < scored_until) continue;
                const float *l = logits + (size_t)j * (size_t)n_vocab;
                float mx = l[0];
                for (int v = 1; v < n_vocab; v++) mx = l[v] > mx ? l[v] : mx;
                double sum = 0;
                for (int v = 0; v < n_vocab; v++) sum += exp((double)l[v] - mx);
                double nll = -((double)l[tokens[target]] - mx - log(sum));
                if (!isfinite(nll)) {
                    rc = sk_err_set(e, SK_ERR_RANGE,
                                    "perplexity: non-finite log-likelihood at token %lld",
                                    (long long)target);
                    goto done;
                }
                r->nll_sum += nll;
                r->nll_sq += nll * nll;
                r->n_scored++;
            }
        }
        scored_until = end;
        r->n_windows = w + 1;
        finish(r);
        r->seconds = sk_time_sec() - t0;
        if (fn) fn(ud, w, n_windows, r);
    }
done:
    r->seconds = sk_time_sec() - t0;
    finish(r);
    free(logits);
    return rc;
}
