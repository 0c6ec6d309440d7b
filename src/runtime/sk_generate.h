/*
 * generate — the generation loop on top of the model API: prompt prefill in chunks, then
 * decoding one token at a time with the sampler, text streamed through a callback.
 *
 * A generator (sk_gen) owns one evaluation context (the KV / MLA latent cache) and remembers
 * which tokens that cache holds. sk_gen_run takes the WHOLE token sequence of the next prompt
 * (e.g. a re-rendered multi-turn conversation): the longest common prefix with the cached
 * tokens is kept, the cache is truncated there and only the rest is evaluated (at least the
 * last prompt token, whose logits start the decoding). Generated tokens that were evaluated
 * stay cached, so a next prompt that repeats them reuses them as well.
 *
 * Stopping, reported in sk_gen_stats.stop:
 *   SK_GEN_STOP_EOS        an end-of-generation token was sampled: the tokenizer's EOS or
 *                          "<|EOT|>" (not streamed, not evaluated);
 *   SK_GEN_STOP_STRING     the text contains one of params.stop (the text up to it is streamed;
 *                          the stop string and what follows are not);
 *   SK_GEN_STOP_LENGTH     params.n_predict tokens were generated;
 *   SK_GEN_STOP_CONTEXT    the cache is full (a clean stop: the answer so far is kept);
 *   SK_GEN_STOP_CANCELLED  *params.cancel became non-zero (checked between prefill chunks and
 *                          before every decoded token; e.g. set by a SIGINT handler) or the
 *                          piece callback returned non-zero. The cache stays consistent.
 * A prompt that does not fit the context at all is an error (SK_ERR_RANGE, naming both sizes),
 * and nothing is evaluated.
 *
 * Streaming. Pieces are UTF-8 text from the tokenizer's streaming decoder (a character is never
 * split across pieces). Special tokens other than the end-of-generation ones are rendered as
 * their text (so "<think>" / "</think>" reach the caller's reasoning parser). Text that might
 * be the beginning of a stop string is held back until it is decided.
 *
 * Thinking budget (params.think_budget ≥ 0): while the output is inside a reasoning block
 * (params.starts_in_reasoning, or after a generated "<think>"), at most think_budget tokens are
 * sampled; then "\n</think>\n\n" is forced (encoded and evaluated as if generated) and the
 * answer follows.
 *
 * MTP (params.mtp): self-speculative decoding. The MTP module keeps its own cache slot in step
 * with the main model (every prompt position too: the prefill keeps the hidden states of a
 * chunk and runs the MTP block over them). After a token t is chosen, the MTP module drafts
 * d = argmax of its logits from (h of the last main position, embedding of t); the main model
 * then evaluates [t, d] in ONE call, which gives the logits after t (used to choose the next
 * token exactly as plain decoding would) and, if that token equals d, the logits after d as
 * well, so the next token needs no main-model call. A rejected draft is cut from the cache
 * (sk_model_ctx_truncate). Draft depth 1. Restricted to greedy sampling: the chosen tokens
 * are then exactly those of plain decoding, because the logits of a row do not depend on the
 * batch size (sk_matmul equals n sk_matvec calls bit for bit, attention is computed per token
 * and head, and a 2-token batch always takes the absorbed MLA form unless the context was made
 * with SK_MLA_EXPANDED). With temperature > 0 the run is refused (SK_ERR_INVALID; the
 * speculative-sampling acceptance rule is not implemented). Stats: n_draft, n_accept,
 * n_decode_evals (every accepted draft saves one call: at a length stop, plain decoding makes
 * n_gen - 1 calls and MTP decoding n_gen - 1 - n_accept).
 *
 * Ownership. The generator keeps pointers to the model and tokenizer (the caller keeps them
 * alive and closes them after sk_gen_free). Not thread-safe; one run at a time.
 */
#ifndef SK_GENERATE_H
#define SK_GENERATE_H

#include "sk_model.h"
#include "sk_sampler.h"
#include "sk_tokenizer.h"
#include "sk_util.h"

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sk_gen_stop {
    SK_GEN_STOP_NONE = 0,
    SK_GEN_STOP_EOS,
    SK_GEN_STOP_STRING,
    SK_GEN_STOP_LENGTH,
    SK_GEN_STOP_CONTEXT,
    SK_GEN_STOP_CANCELLED,
} sk_gen_stop;

const char *sk_gen_stop_name(sk_gen_stop s); /* "eos", "stop string", "length", … */

#define SK_GEN_MAX_STOP 8

typedef struct sk_gen_params {
    int n_predict;            /* max generated tokens; < 0: until EOS or the context is full */
    int n_chunk;              /* prompt tokens per sk_model_eval call; ≤ 0: the whole rest */
    sk_sampler_params sampling;
    const char *stop[SK_GEN_MAX_STOP]; /* stop strings (NULL-terminated list, non-empty strings) */
    bool starts_in_reasoning; /* the prompt ends inside <think> (R1 templates) */
    int think_budget;         /* < 0: no budget */
    volatile sig_atomic_t *cancel; /* may be NULL */
    /* Self-speculative decoding with the model's MTP module (DeepSeek-V3/R1 style checkpoints
     * with num_nextn_predict_layers ≥ 1; an error for other models). Greedy sampling only
     * (temperature 0; penalties allowed): an error otherwise. See "MTP" above. */
    bool mtp;
} sk_gen_params;

/* n_predict -1, n_chunk 0 (whole), greedy sampling, no stop strings, no budget. */
void sk_gen_params_init(sk_gen_params *p);

typedef struct sk_gen_stats {
    int n_prompt;     /* tokens of the prompt */
    int n_reused;     /* of those, found in the cache */
    int n_eval;       /* prompt tokens evaluated (n_prompt - n_reused, or 1 if all were cached) */
    int n_gen;        /* tokens generated (forced think-budget tokens included) */
    int n_reasoning;  /* of those, inside the reasoning block */
    double t_prompt;  /* seconds spent evaluating the prompt */
    double t_gen;     /* seconds spent sampling and evaluating generated tokens */
    sk_gen_stop stop;
    int n_decode_evals; /* main-model sk_model_eval calls while decoding */
    int n_draft;        /* MTP: draft tokens proposed (and verified) */
    int n_accept;       /* MTP: of those, accepted (each saved one main-model call) */
} sk_gen_stats;

static inline double sk_gen_accept_rate(const sk_gen_stats *s) {
    return s->n_draft > 0 ? (double)s->n_accept / s->n_draft : 0;
}

static inline double sk_gen_prompt_tps(const sk_gen_stats *s) {
    return s->t_prompt > 0 ? s->n_eval / s->t_prompt : 0;
}
static inline double sk_gen_gen_tps(const sk_gen_stats *s) {
    return s->t_gen > 0 ? s->n_gen / s->t_gen : 0;
}

/* Receives streamed text (len > 0). Return non-zero to stop the generation (cancelled). */
typedef int (*sk_gen_piece_fn)(void *ud, const char *text, size_t len);
/* Optional: receives every generated token id (before its text), e.g. for tests. */
typedef void (*sk_gen_token_fn)(void *ud, int32_t id);

typedef struct sk_gen sk_gen;

/* Creates the evaluation context (cp may be NULL for defaults). */
int sk_gen_new(sk_model *m, sk_tokenizer *tok, const sk_model_ctx_params *cp, sk_gen **out,
               sk_err *e);
void sk_gen_free(sk_gen *g);
sk_model_ctx *sk_gen_ctx(sk_gen *g);
int sk_gen_n_ctx(const sk_gen *g);
/* Tokens the cache currently holds (valid until the next run/reset). */
const int32_t *sk_gen_cached(const sk_gen *g, int *n);
void sk_gen_reset(sk_gen *g); /* forget the cache */
void sk_gen_set_token_fn(sk_gen *g, sk_gen_token_fn fn, void *ud);

/* Runs prompt → generation (see above). on_piece may be NULL. stats may be NULL. A stop for
 * any of the listed reasons returns SK_OK; errors (bad parameters, model failures) return a
 * code with e set. */
int sk_gen_run(sk_gen *g, const int32_t *prompt, int n_prompt, const sk_gen_params *p,
               sk_gen_piece_fn on_piece, void *ud, sk_gen_stats *stats, sk_err *e);

/* Convenience: sk_gen_run collecting the streamed text into *out (malloc'd, NUL-terminated). */
int sk_gen_run_text(sk_gen *g, const int32_t *prompt, int n_prompt, const sk_gen_params *p,
                    char **out, sk_gen_stats *stats, sk_err *e);

#ifdef __cplusplus
}
#endif
#endif
