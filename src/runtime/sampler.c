/* sampler.c — token sampling: penalties, greedy, temperature, top-k, top-p, min-p and a seeded
 * xoshiro256** draw (see sk_sampler.h for the exact formulas and order). */
#include "sk_sampler.h"
#include "sk_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The RNG (sk_rng: xoshiro256** seeded by SplitMix64) lives in util (sk_util.h). */

/* ---- parameters ---------------------------------------------------------------------- */

sk_sampler_params sk_sampler_default_params(void) {
    sk_sampler_params p = {0};
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.repetition_penalty = 1.0f;
    p.presence_penalty = 0.0f;
    p.frequency_penalty = 0.0f;
    p.penalty_last_n = 64;
    p.seed = 0;
    return p;
}

sk_sampler_params sk_sampler_greedy_params(void) {
    sk_sampler_params p = sk_sampler_default_params();
    p.temperature = 0.0f;
    return p;
}

sk_sampler_params sk_sampler_reasoner_params(void) {
    sk_sampler_params p = sk_sampler_default_params();
    p.temperature = 0.6f;
    p.top_p = 0.95f;
    return p;
}

int sk_sampler_params_check(const sk_sampler_params *p, sk_err *e) {
    if (!isfinite(p->temperature))
        return sk_err_set(e, SK_ERR_INVALID, "sampler: temperature must be finite");
    if (!(p->top_p >= 0.0f) || !isfinite(p->top_p))
        return sk_err_set(e, SK_ERR_INVALID,
                          "sampler: top_p %g must be in [0, 1] (values >= 1 disable it)",
                          (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return sk_err_set(e, SK_ERR_INVALID, "sampler: min_p %g must be in [0, 1]",
                          (double)p->min_p);
    if (!(p->repetition_penalty > 0.0f) || !isfinite(p->repetition_penalty))
        return sk_err_set(e, SK_ERR_INVALID, "sampler: repetition_penalty %g must be > 0",
                          (double)p->repetition_penalty);
    if (!isfinite(p->presence_penalty) || !isfinite(p->frequency_penalty))
        return sk_err_set(e, SK_ERR_INVALID,
                          "sampler: presence/frequency penalties must be finite");
    return SK_OK;
}

static bool penalties_active(const sk_sampler_params *p) {
    return p->penalty_last_n != 0 && (p->repetition_penalty != 1.0f ||
                                      p->presence_penalty != 0.0f || p->frequency_penalty != 0.0f);
}

static inline float penalise(const sk_sampler_params *p, float l, int32_t count) {
    if (p->repetition_penalty != 1.0f)
        l = l > 0.0f ? l / p->repetition_penalty : l * p->repetition_penalty;
    return l - p->presence_penalty - (float)count * p->frequency_penalty;
}

int sk_sampler_apply_penalties(const sk_sampler_params *p, const int32_t *window, size_t n_window,
                               float *logits, int32_t n_vocab, sk_err *e) {
    if (n_vocab <= 0)
        return sk_err_set(e, SK_ERR_INVALID, "sampler: n_vocab %d must be > 0", n_vocab);
    if (sk_sampler_params_check(p, e)) return SK_ERR_INVALID;
    if (!penalties_active(p) || n_window == 0) return SK_OK;
    if (p->penalty_last_n > 0 && n_window > (size_t)p->penalty_last_n) {
        window += n_window - (size_t)p->penalty_last_n;
        n_window = (size_t)p->penalty_last_n;
    }
    int32_t *counts = sk_calloc((size_t)n_vocab, sizeof *counts, e);
    if (!counts) return SK_ERR_NOMEM;
    for (size_t i = 0; i < n_window; i++) {
        if (window[i] < 0 || window[i] >= n_vocab) {
            free(counts);
            return sk_err_set(e, SK_ERR_RANGE, "sampler: window token %d out of range [0, %d)",
                              window[i], n_vocab);
        }
        counts[window[i]]++;
    }
    for (size_t i = 0; i < n_window; i++) {
        int32_t t = window[i];
        if (counts[t] > 0) {
            logits[t] = penalise(p, logits[t], counts[t]);
            counts[t] = 0; /* applied once per distinct token */
        }
    }
    free(counts);
    return SK_OK;
}

/* ---- sampler state ------------------------------------------------------------------- */

struct sk_sampler {
    sk_sampler_params p;
    int32_t n_vocab;
    sk_rng rng;
    float *work;         /* [n_vocab] penalised logits, NaN → -inf */
    int32_t *idx;        /* [n_vocab] selection scratch */
    int32_t *counts;     /* [n_vocab] occurrences in the window */
    sk_token_prob *cand; /* [n_vocab] candidates: id and z (then probability) */
    uint64_t *rk, *rk2;  /* [n_vocab] radix-sort keys */
    int32_t *win; /* window tokens: a ring of win_cap (penalty_last_n > 0) or a growing list */
    size_t win_cap, win_len, win_head;
};

sk_sampler *sk_sampler_new(const sk_sampler_params *p, int32_t n_vocab, sk_err *e) {
    if (n_vocab <= 0) {
        sk_err_set(e, SK_ERR_INVALID, "sampler: n_vocab %d must be > 0", n_vocab);
        return NULL;
    }
    if (sk_sampler_params_check(p, e)) return NULL;
    sk_sampler *s = sk_calloc(1, sizeof *s, e);
    if (!s) return NULL;
    s->p = *p;
    s->n_vocab = n_vocab;
    size_t nv = (size_t)n_vocab;
    s->work = sk_calloc(nv, sizeof *s->work, e);
    s->idx = s->work ? sk_calloc(nv, sizeof *s->idx, e) : NULL;
    s->counts = s->idx ? sk_calloc(nv, sizeof *s->counts, e) : NULL;
    s->cand = s->counts ? sk_calloc(nv, sizeof *s->cand, e) : NULL;
    s->rk = s->cand ? sk_calloc(nv, sizeof *s->rk, e) : NULL;
    s->rk2 = s->rk ? sk_calloc(nv, sizeof *s->rk2, e) : NULL;
    if (!s->rk2) goto fail;
    if (p->penalty_last_n > 0) {
        s->win_cap = (size_t)p->penalty_last_n;
        s->win = sk_calloc(s->win_cap, sizeof *s->win, e);
        if (!s->win) goto fail;
    }
    sk_rng_seed(&s->rng, p->seed);
    return s;
fail:
    sk_sampler_free(s);
    return NULL;
}

void sk_sampler_free(sk_sampler *s) {
    if (!s) return;
    free(s->work);
    free(s->idx);
    free(s->counts);
    free(s->cand);
    free(s->rk);
    free(s->rk2);
    free(s->win);
    free(s);
}

const sk_sampler_params *sk_sampler_params_of(const sk_sampler *s) {
    return &s->p;
}

void sk_sampler_reset(sk_sampler *s, uint64_t seed) {
    memset(s->counts, 0, (size_t)s->n_vocab * sizeof *s->counts);
    s->win_len = s->win_head = 0;
    s->p.seed = seed;
    sk_rng_seed(&s->rng, seed);
}

int sk_sampler_accept(sk_sampler *s, int32_t token, sk_err *e) {
    if (token < 0 || token >= s->n_vocab)
        return sk_err_set(e, SK_ERR_RANGE, "sampler: token %d out of range [0, %d)", token,
                          s->n_vocab);
    if (s->p.penalty_last_n == 0) return SK_OK;
    if (s->p.penalty_last_n > 0) {
        if (s->win_len == s->win_cap) { /* evict the oldest */
            s->counts[s->win[s->win_head]]--;
            s->win[s->win_head] = token;
            s->win_head = (s->win_head + 1) % s->win_cap;
        } else {
            s->win[(s->win_head + s->win_len) % s->win_cap] = token;
            s->win_len++;
        }
    } else {
        if (s->win_len == s->win_cap) {
            size_t cap = s->win_cap ? s->win_cap * 2 : 256;
            size_t bytes;
            if (!sk_mul_ok(cap, sizeof *s->win, &bytes))
                return sk_err_set(e, SK_ERR_RANGE, "sampler: token history too long");
            int32_t *w = realloc(s->win, bytes);
            if (!w)
                return sk_err_set(e, SK_ERR_NOMEM, "sampler: out of memory for the token history");
            s->win = w;
            s->win_cap = cap;
        }
        s->win[s->win_len++] = token;
    }
    s->counts[token]++;
    return SK_OK;
}

/* Copies logits into work (NaN → -inf) and applies the window penalties. */
static void prepare(sk_sampler *s, const float *logits) {
    size_t nv = (size_t)s->n_vocab;
    /* NaN → -inf; x + 0.0f folds -0 into +0 so that equal logits compare equal everywhere */
    for (size_t i = 0; i < nv; i++) s->work[i] = isnan(logits[i]) ? -INFINITY : logits[i] + 0.0f;
    if (!penalties_active(&s->p)) return;
    for (size_t i = 0; i < s->win_len; i++) {
        int32_t t = s->win[i];
        if (s->counts[t] > 0) {
            s->work[t] = penalise(&s->p, s->work[t], s->counts[t]);
            s->counts[t] = -s->counts[t]; /* mark applied */
        }
    }
    for (size_t i = 0; i < s->win_len; i++) {
        int32_t t = s->win[i];
        if (s->counts[t] < 0) s->counts[t] = -s->counts[t];
    }
}

/* Ordering: larger value first, then lower id. */
static inline bool before(const float *v, int32_t a, int32_t b) {
    return v[a] > v[b] || (v[a] == v[b] && a < b);
}

/* Rearranges idx[0..n) so that idx[0..k) holds the k best (unordered). */
static void select_top(const float *v, int32_t *idx, size_t n, size_t k) {
    size_t lo = 0, hi = n; /* the k-th boundary lies in [lo, hi) */
    while (hi - lo > 1 && k > lo && k < hi) {
        size_t mid = lo + (hi - lo) / 2;
        /* median of three as pivot, moved to hi-1 */
        int32_t a = idx[lo], b = idx[mid], c = idx[hi - 1], piv;
        if (before(v, a, b))
            piv = before(v, b, c) ? b : (before(v, a, c) ? c : a);
        else
            piv = before(v, a, c) ? a : (before(v, b, c) ? c : b);
        size_t pi = piv == a ? lo : (piv == b ? mid : hi - 1);
        idx[pi] = idx[hi - 1];
        idx[hi - 1] = piv;
        size_t store = lo;
        for (size_t i = lo; i < hi - 1; i++) {
            if (before(v, idx[i], piv)) {
                int32_t t = idx[i];
                idx[i] = idx[store];
                idx[store] = t;
                store++;
            }
        }
        idx[hi - 1] = idx[store];
        idx[store] = piv;
        if (store == k || store + 1 == k) return;
        if (store > k)
            hi = store;
        else
            lo = store + 1;
    }
}

static _Thread_local const float *t_sort_v; /* qsort has no context argument */
static int cmp_idx(const void *pa, const void *pb) {
    int32_t a = *(const int32_t *)pa, b = *(const int32_t *)pb;
    if (before(t_sort_v, a, b)) return -1;
    if (before(t_sort_v, b, a)) return 1;
    return 0;
}

/* Sort key: ascending key order == descending value, then ascending id. Floats map to
 * order-preserving unsigned integers (NaN never reaches here; -0 was folded into +0). */
static inline uint64_t sort_key(float f, int32_t id) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u); /* ascending with f */
    return ((uint64_t)~u << 32) | (uint32_t)id;
}

/* Sorts idx[0..n) by (value desc, id asc): qsort for short lists, else an LSD radix sort on
 * 64-bit keys, 8 bits per pass, skipping passes where every key has the same byte. */
static void sort_idx(sk_sampler *s, const float *v, int32_t *idx, size_t n) {
    if (n < 512) {
        t_sort_v = v;
        qsort(idx, n, sizeof *idx, cmp_idx);
        return;
    }
    uint64_t *a = s->rk, *b = s->rk2;
    for (size_t i = 0; i < n; i++) a[i] = sort_key(v[idx[i]], idx[i]);
    for (int shift = 0; shift < 64; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++) count[((a[i] >> shift) & 0xFF) + 1]++;
        bool single = false;
        for (int d = 1; d <= 256; d++)
            if (count[d] == n) single = true;
        if (single) continue;
        for (int d = 0; d < 256; d++) count[d + 1] += count[d];
        for (size_t i = 0; i < n; i++) b[count[(a[i] >> shift) & 0xFF]++] = a[i];
        uint64_t *t = a;
        a = b;
        b = t;
    }
    for (size_t i = 0; i < n; i++) idx[i] = (int32_t)(uint32_t)a[i];
}

#define HIST_BINS 1024
#define HIST_NATS 64.0

/* Builds the kept candidate set in s->cand (p = unnormalised weight exp(z - zmax)), returns its
 * size in *n and the weight sum in *sum. */
static int build(sk_sampler *s, const float *logits, size_t *n, double *sum, sk_err *e) {
    prepare(s, logits);
    const float *w = s->work;
    size_t nv = (size_t)s->n_vocab;
    int32_t best = (int32_t)sk_argmax(w, (int64_t)nv);
    if (w[best] == -INFINITY)
        return sk_err_set(e, SK_ERR_INVALID, "sampler: every logit is -inf or NaN");
    if (w[best] == INFINITY) { /* an infinite logit takes all the mass */
        s->cand[0] = (sk_token_prob){best, 1.0f};
        *n = 1;
        *sum = 1.0;
        return SK_OK;
    }
    /* greedy for T <= 0 and for tiny T, where 1/T overflows or makes every weight but the
     * best underflow to 0 (see SK_SAMPLER_MIN_TEMP in sk_sampler.h) */
    const float inv_t = s->p.temperature >= SK_SAMPLER_MIN_TEMP ? 1.0f / s->p.temperature : 0.0f;
    const float zmax = w[best] * inv_t;
    if (!(s->p.temperature >= SK_SAMPLER_MIN_TEMP) || !isfinite(inv_t) || !isfinite(zmax)) {
        s->cand[0] = (sk_token_prob){best, 1.0f};
        *n = 1;
        *sum = 1.0;
        return SK_OK;
    }
    /* weights exp(z - zmax) in float (the same expression everywhere, so every pass agrees);
     * sums in double */
#define WEIGHT(x) ((double)expf((x)*inv_t - zmax))
    bool use_k = s->p.top_k > 0 && (size_t)s->p.top_k < nv;
    bool use_p = s->p.top_p > 0.0f && s->p.top_p < 1.0f;
    size_t kept = 0;
    if (use_k || use_p) {
        for (size_t i = 0; i < nv; i++) s->idx[i] = (int32_t)i;
        size_t k;
        double total = 0.0; /* mass over the set top-p normalises against */
        if (use_k) {
            k = (size_t)s->p.top_k;
            select_top(w, s->idx, nv, k);
            sort_idx(s, w, s->idx, k);
            for (size_t i = 0; i < k; i++) total += WEIGHT(w[s->idx[i]]);
        } else {
            /* One pass: the total mass and a histogram of the mass by distance below zmax
             * (HIST_BINS bins of HIST_NATS / HIST_BINS nats; the last bin holds the rest). The
             * bins from the top down to the one where the mass reaches top_p bound a superset
             * of the nucleus; only that superset is collected and sorted. */
            double hist[HIST_BINS];
            memset(hist, 0, sizeof hist);
            const double bin_scale = HIST_BINS / HIST_NATS;
            for (size_t i = 0; i < nv; i++) {
                float d = zmax - w[i] * inv_t; /* >= 0; +inf for -inf logits */
                double m = (double)expf(-d);
                total += m;
                size_t b = d < HIST_NATS ? (size_t)(d * bin_scale) : HIST_BINS - 1;
                hist[b < HIST_BINS ? b : HIST_BINS - 1] += m;
            }
            double target = (double)s->p.top_p * total, cum = 0.0;
            size_t last = HIST_BINS - 1;
            for (size_t b = 0; b < HIST_BINS; b++) {
                cum += hist[b];
                if (cum >= target) {
                    last = b;
                    break;
                }
            }
            k = 0;
            if (last == HIST_BINS - 1) {
                k = nv; /* the nucleus reaches into the tail bin: take everything */
            } else {
                for (size_t i = 0; i < nv; i++) {
                    float d = zmax - w[i] * inv_t;
                    if (d < HIST_NATS && (size_t)(d * bin_scale) <= last) s->idx[k++] = (int32_t)i;
                }
            }
            sort_idx(s, w, s->idx, k);
        }
        size_t keep = k;
        if (use_p) {
            double target = (double)s->p.top_p * total, cum = 0.0;
            keep = 0;
            while (keep < k) {
                cum += WEIGHT(w[s->idx[keep]]);
                keep++;
                if (cum >= target) break;
            }
        }
        for (size_t i = 0; i < keep; i++) {
            int32_t id = s->idx[i];
            s->cand[kept++] = (sk_token_prob){id, (float)WEIGHT(w[id])};
        }
    } else {
        for (size_t i = 0; i < nv; i++) {
            if (w[i] == -INFINITY) continue;
            s->cand[kept++] = (sk_token_prob){(int32_t)i, (float)WEIGHT(w[i])};
        }
    }
    /* min-p: p_t >= min_p * p_max; the best candidate has weight 1 (z = zmax) */
    if (s->p.min_p > 0.0f) {
        size_t j = 0;
        for (size_t i = 0; i < kept; i++)
            if (s->cand[i].p >= s->p.min_p) s->cand[j++] = s->cand[i];
        kept = j;
    }
#undef WEIGHT
    double tot = 0.0;
    for (size_t i = 0; i < kept; i++) tot += s->cand[i].p;
    *n = kept;
    *sum = tot;
    return SK_OK;
}

int sk_sampler_sample(sk_sampler *s, const float *logits, int32_t *token, sk_err *e) {
    if (!logits) return sk_err_set(e, SK_ERR_INVALID, "sampler: logits is NULL");
    size_t n;
    double sum;
    int rc = build(s, logits, &n, &sum, e);
    if (rc) return rc;
    if (n == 1) {
        *token = s->cand[0].id;
        return SK_OK;
    }
    double u = sk_rng_uniform(&s->rng) * sum, cum = 0.0;
    for (size_t i = 0; i < n; i++) {
        cum += s->cand[i].p;
        if (u < cum) {
            *token = s->cand[i].id;
            return SK_OK;
        }
    }
    /* rounding: u*sum landed on the total; return the last candidate that carries weight */
    size_t last = n - 1;
    while (last > 0 && !(s->cand[last].p > 0.0f)) last--;
    *token = s->cand[last].id;
    return SK_OK;
}

int sk_sampler_next(sk_sampler *s, const float *logits, int32_t *token, sk_err *e) {
    int rc = sk_sampler_sample(s, logits, token, e);
    if (rc) return rc;
    return sk_sampler_accept(s, *token, e);
}

static int cmp_cand_desc(const void *pa, const void *pb) {
    const sk_token_prob *a = pa, *b = pb;
    if (before(t_sort_v, a->id, b->id)) return -1;
    if (before(t_sort_v, b->id, a->id)) return 1;
    return 0;
}

int sk_sampler_candidates(sk_sampler *s, const float *logits, sk_token_prob *out, size_t max_out,
                          size_t *n_out, sk_err *e) {
    if (!logits) return sk_err_set(e, SK_ERR_INVALID, "sampler: logits is NULL");
    size_t n;
    double sum;
    int rc = build(s, logits, &n, &sum, e);
    if (rc) return rc;
    /* order by logit (exact), not by the float weights, which can tie for distinct logits */
    t_sort_v = s->work;
    qsort(s->cand, n, sizeof *s->cand, cmp_cand_desc);
    for (size_t i = 0; i < n && i < max_out; i++)
        out[i] = (sk_token_prob){s->cand[i].id, (float)(s->cand[i].p / sum)};
    *n_out = n;
    return SK_OK;
}
