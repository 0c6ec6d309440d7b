/*
 * gen_ppl — perplexity of a token sequence under a model, in (possibly overlapping) windows.
 *
 * Windows of `window` tokens start at 0, stride, 2·stride, … until one reaches the end. Each
 * window is evaluated from an empty cache; token t+1 is scored with the logits after token t,
 * and every target token is scored exactly once, in the first window that reaches it — so with
 * stride < window every scored token after the first window has at least window − stride
 * tokens of context. PPL = exp(mean negative log-likelihood), natural log.
 */
#ifndef SK_GEN_PPL_H
#define SK_GEN_PPL_H

#include "sk_model.h"
#include "sk_util.h"

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sk_ppl_result {
    double nll_sum;   /* Σ −log p(target) */
    double nll_sq;    /* Σ (−log p)², for the standard error */
    int64_t n_scored; /* target tokens scored */
    int n_windows;
    double ppl;       /* exp(nll_sum / n_scored) */
    double ppl_err;   /* standard error of ppl (delta method) */
    double seconds;
} sk_ppl_result;

/* Called after each window with the running result. */
typedef void (*sk_ppl_progress_fn)(void *ud, int window, int n_windows, const sk_ppl_result *r);

/* ctx: an evaluation context with capacity ≥ window (it is reset for every window).
 * n_chunk: tokens per sk_model_eval call (≤ 0: 64). cancel may be NULL (then SK_ERR_INTERRUPTED
 * is never returned). */
int sk_perplexity(sk_model_ctx *ctx, int n_vocab, const int32_t *tokens, int64_t n, int window,
                  int stride, int n_chunk, volatile sig_atomic_t *cancel, sk_ppl_progress_fn fn,
                  void *ud, sk_ppl_result *r, sk_err *e);

#ifdef __cplusplus
}
#endif
#endif
