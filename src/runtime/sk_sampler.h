/*
 * sampler — picks the next token from a row of logits. Depends on util only (no model code).
 *
 * Pipeline, in this order, for one call of sk_sampler_sample (logits are never modified; the
 * sampler works on its own copy):
 *
 *  1. Penalties over the window W = the last `penalty_last_n` tokens passed to
 *     sk_sampler_accept (all accepted tokens if penalty_last_n < 0, none if 0). For every
 *     distinct token t in W, with c_t = its number of occurrences in W:
 *       repetition (CTRL / llama.cpp):  l_t = l_t > 0 ? l_t / repetition_penalty
 *                                                     : l_t * repetition_penalty
 *       presence / frequency (OpenAI):  l_t = l_t - presence_penalty - c_t * frequency_penalty
 *     (repetition first, then presence/frequency). Tokens not in W are untouched.
 *  2. temperature < SK_SAMPLER_MIN_TEMP (1e-6, and so also <= 0 or NaN): greedy — the largest
 *     logit wins (ties: the lowest id). Steps 3–6 and the RNG are skipped. (Below 1e-6, 1/T can
 *     overflow to inf and the weights to NaN; any such temperature is greedy in effect. Likewise
 *     when max l_t / temperature overflows to inf.)
 *  3. Temperature: z_t = l_t / temperature; p_t = softmax(z) over the candidates still in play.
 *  4. top-k (top_k > 0): keep the k largest z (ties broken by lower id).
 *  5. top-p (0 < top_p < 1): sort the remaining candidates by p descending (ties: lower id
 *     first), renormalise, keep the SHORTEST prefix whose cumulative probability is >= top_p
 *     (at least one token).
 *  6. min-p (min_p > 0): keep candidates with p_t >= min_p * max_t p_t.
 *  7. Draw: u = uniform [0,1) from the RNG (exactly one draw per sampled token); walk the kept
 *     candidates — in descending order when step 4 or 5 ran (they sort), else by token id — and
 *     return the first whose cumulative weight exp(z_t - z_max) exceeds u * (sum of weights)
 *     (if rounding leaves u * sum at the total, the last candidate with a weight > 0).
 * Logits that are NaN are treated as -inf; if every logit is -inf the call fails.
 *
 * Efficiency: a full sort of the 129k vocabulary is never done. top-k uses a partial selection
 * (O(V + k log k)). top-p without top-k makes one pass that sums the total mass into a histogram
 * of 1024 bins by distance below z_max (64 nats in all; the last bin holds the rest), finds the
 * bin where the cumulative mass reaches top_p, and collects and sorts only the candidates in the
 * bins above it (a superset of the nucleus) — everything if the nucleus reaches the tail bin — so
 * typical peaked distributions cost O(V) plus a sort of a few candidates.
 *
 * RNG: xoshiro256** (Blackman & Vigna), state seeded from the 64-bit seed through splitmix64.
 * One draw (one 64-bit output, top 53 bits → [0,1)) per sampled token, so a seed reproduces the
 * same token sequence for the same logits on every platform.
 *
 * Ownership: an sk_sampler owns its scratch buffers (O(V)) and token window.
 */
#ifndef SK_SAMPLER_H
#define SK_SAMPLER_H

#include "sk_util.h"

/* Temperatures below this sample greedily (step 2). */
#define SK_SAMPLER_MIN_TEMP 1e-6f

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sk_sampler_params {
    float temperature;        /* <= 0: greedy */
    int32_t top_k;            /* <= 0: off */
    float top_p;              /* >= 1 (or <= 0): off */
    float min_p;              /* <= 0: off */
    float repetition_penalty; /* 1: off; must be > 0 */
    float presence_penalty;   /* 0: off (OpenAI range -2..2) */
    float frequency_penalty;  /* 0: off (OpenAI range -2..2) */
    int32_t penalty_last_n;   /* window length; 0: no penalties; < 0: every accepted token */
    uint64_t seed;
} sk_sampler_params;

/* temperature 1, no truncation, no penalties, penalty_last_n 64, seed 0. */
sk_sampler_params sk_sampler_default_params(void);
/* Greedy decoding (temperature 0). */
sk_sampler_params sk_sampler_greedy_params(void);
/* DeepSeek's recommendation for R1 and the R1-Distill reasoner models: temperature 0.6,
 * top-p 0.95, no other truncation or penalties. */
sk_sampler_params sk_sampler_reasoner_params(void);

/* Checks ranges (temperature finite, repetition_penalty > 0, top_p/min_p in [0,1] …). */
int sk_sampler_params_check(const sk_sampler_params *p, sk_err *e);

typedef struct sk_sampler sk_sampler;

sk_sampler *sk_sampler_new(const sk_sampler_params *p, int32_t n_vocab, sk_err *e);
void sk_sampler_free(sk_sampler *s);
const sk_sampler_params *sk_sampler_params_of(const sk_sampler *s);
/* Clears the token window and reseeds the RNG. */
void sk_sampler_reset(sk_sampler *s, uint64_t seed);

/* Adds a token to the penalty window (prompt tokens too, if they should be penalised). */
int sk_sampler_accept(sk_sampler *s, int32_t token, sk_err *e);
/* Samples from logits[n_vocab] (steps 1–7); does not accept the token. */
int sk_sampler_sample(sk_sampler *s, const float *logits, int32_t *token, sk_err *e);
/* sample + accept. */
int sk_sampler_next(sk_sampler *s, const float *logits, int32_t *token, sk_err *e);

/* The distribution step 7 draws from, for inspection and tests: up to max_out candidates in
 * descending probability, probabilities renormalised over the kept set. *n_out = number kept
 * (may exceed max_out; only max_out are written). Greedy yields the one argmax with p = 1. */
typedef struct sk_token_prob {
    int32_t id;
    float p;
} sk_token_prob;
int sk_sampler_candidates(sk_sampler *s, const float *logits, sk_token_prob *out, size_t max_out,
                          size_t *n_out, sk_err *e);

/* Step 1 alone, in place, as a pure function: `window` holds the n_window most recent tokens. */
int sk_sampler_apply_penalties(const sk_sampler_params *p, const int32_t *window, size_t n_window,
                               float *logits, int32_t n_vocab, sk_err *e);

/* The RNG, sk_rng (xoshiro256** with splitmix64 seeding), is declared in sk_util.h. */

#ifdef __cplusplus
}
#endif
#endif
