/* The sampler: each filter against a brute-force reference (full sort / full softmax in double),
 * penalties against their formulas, the RNG against an independent implementation, and the
 * empirical distribution of 20,000 draws against the softmax. */
#include "sk_sampler.h"
#include "sk_test.h"

#include <stdint.h>

static double frand(uint64_t *x) { /* test-local LCG, independent of sk_rng */
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*x >> 11) * 0x1.0p-53;
}

static void random_logits(float *l, int n, uint64_t seed, double scale) {
    uint64_t x = seed;
    for (int i = 0; i < n; i++) l[i] = (float)((frand(&x) * 2.0 - 1.0) * scale);
}

/* Brute force: tempered softmax in double over all tokens; order by (p desc, id asc). */
typedef struct {
    int id;
    double p;
} ref_t;
static int cmp_ref(const void *a, const void *b) {
    const ref_t *x = a, *y = b;
    if (x->p > y->p) return -1;
    if (x->p < y->p) return 1;
    return x->id - y->id;
}
static ref_t *ref_sorted(const float *l, int n, double temp) {
    ref_t *r = malloc(sizeof *r * (size_t)n);
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++) mx = fmax(mx, l[i] / temp);
    for (int i = 0; i < n; i++) sum += r[i].p = exp(l[i] / temp - mx), r[i].id = i;
    for (int i = 0; i < n; i++) r[i].p /= sum;
    qsort(r, (size_t)n, sizeof *r, cmp_ref);
    return r;
}

static void test_rng_reference(void) {
    /* xoshiro256** seeded by splitmix64, from an independent Python implementation of the
     * published algorithms (its splitmix64 reproduces Vigna's reference values for seed 1234567:
     * 6457827717110365317, 3203168211198807973, …). */
    static const uint64_t want0[] = {11091344671253066420ull, 13793997310169335082ull,
                                     1900383378846508768ull, 7684712102626143532ull};
    static const uint64_t want42[] = {1546998764402558742ull, 6990951692964543102ull,
                                      12544586762248559009ull, 17057574109182124193ull};
    sk_rng r;
    sk_rng_seed(&r, 0);
    for (int i = 0; i < 4; i++) CHECK(sk_rng_next(&r) == want0[i]);
    sk_rng_seed(&r, 42);
    for (int i = 0; i < 4; i++) CHECK(sk_rng_next(&r) == want42[i]);
    double mean = 0;
    for (int i = 0; i < 100000; i++) {
        double u = sk_rng_uniform(&r);
        CHECK(u >= 0.0 && u < 1.0);
        mean += u;
    }
    CHECK_NEAR(mean / 100000, 0.5, 0.005);
}

static void test_greedy_and_topk1(void) {
    enum { N = 5000 };
    float *l = malloc(sizeof(float) * N);
    sk_err e = {0};
    for (uint64_t seed = 1; seed <= 20; seed++) {
        random_logits(l, N, seed, 8.0);
        int best = 0;
        for (int i = 1; i < N; i++)
            if (l[i] > l[best]) best = i;
        sk_sampler_params g = sk_sampler_greedy_params();
        sk_sampler_params k1 = sk_sampler_default_params();
        k1.top_k = 1;
        k1.temperature = 0.8f;
        k1.seed = seed;
        sk_sampler *sg = sk_sampler_new(&g, N, &e), *sk = sk_sampler_new(&k1, N, &e);
        int32_t tg = -1, tk = -1;
        CHECK_OK(sk_sampler_sample(sg, l, &tg, &e), &e);
        CHECK_OK(sk_sampler_sample(sk, l, &tk, &e), &e);
        CHECK(tg == best && tk == best);
        sk_sampler_free(sg);
        sk_sampler_free(sk);
    }
    /* ties: the lowest id wins, in greedy and in top-k */
    float t[6] = {1, 3, 0, 3, 3, -1};
    sk_sampler_params g = sk_sampler_greedy_params();
    sk_sampler *s = sk_sampler_new(&g, 6, &e);
    int32_t tok;
    CHECK_OK(sk_sampler_sample(s, t, &tok, &e), &e);
    CHECK(tok == 1);
    sk_sampler_free(s);
    sk_sampler_params k = sk_sampler_default_params();
    k.top_k = 2;
    s = sk_sampler_new(&k, 6, &e);
    sk_token_prob c[6];
    size_t n;
    CHECK_OK(sk_sampler_candidates(s, t, c, 6, &n, &e), &e);
    CHECK(n == 2 && c[0].id == 1 && c[1].id == 3);
    CHECK_NEAR(c[0].p, 0.5, 1e-6);
    sk_sampler_free(s);
    free(l);
}

/* Candidates vs brute force for top-p (several p), min-p and top-k+top-p, small and 129k vocab. */
static void check_filter(int n, uint64_t seed, double scale, float temp, int top_k, float top_p,
                         float min_p) {
    float *l = malloc(sizeof(float) * (size_t)n);
    random_logits(l, n, seed, scale);
    sk_sampler_params p = sk_sampler_default_params();
    p.temperature = temp;
    p.top_k = top_k;
    p.top_p = top_p;
    p.min_p = min_p;
    sk_err e = {0};
    sk_sampler *s = sk_sampler_new(&p, n, &e);
    sk_token_prob *c = malloc(sizeof *c * (size_t)n);
    size_t got = 0;
    CHECK_OK(sk_sampler_candidates(s, l, c, (size_t)n, &got, &e), &e);

    ref_t *r = ref_sorted(l, n, temp);
    int keep = n;
    if (top_k > 0 && top_k < n) keep = top_k;
    double mass = 0;
    for (int i = 0; i < keep; i++) mass += r[i].p;
    for (int i = 0; i < keep; i++) r[i].p /= mass; /* renormalise over the top-k set */
    if (top_p > 0 && top_p < 1) {
        double cum = 0;
        int j = 0;
        while (j < keep) {
            cum += r[j++].p;
            if (cum >= top_p) break;
        }
        /* the prefix is the shortest: without its last token the mass is below top_p */
        CHECK(cum - r[j - 1].p < top_p);
        keep = j;
    }
    if (min_p > 0) {
        int j = 0;
        for (int i = 0; i < keep; i++)
            if (r[i].p >= min_p * r[0].p) r[j++] = r[i];
        keep = j;
    }
    mass = 0;
    for (int i = 0; i < keep; i++) mass += r[i].p;
    CHECK_MSG(got == (size_t)keep, "n=%d k=%d p=%g minp=%g: kept %zu, reference %d", n, top_k,
              (double)top_p, (double)min_p, got, keep);
    for (int i = 0; i < keep && (size_t)i < got; i++) {
        CHECK_MSG(c[i].id == r[i].id, "rank %d: id %d, reference %d", i, c[i].id, r[i].id);
        CHECK_NEAR(c[i].p, r[i].p / mass, 1e-5);
    }
    free(r);
    free(c);
    sk_sampler_free(s);
    free(l);
}

static void test_top_p(void) {
    /* exact hand example: p = 0.5, 0.25, 0.125, 0.125 */
    float l[4] = {logf(0.125f), logf(0.5f), logf(0.125f), logf(0.25f)};
    sk_sampler_params p = sk_sampler_default_params();
    sk_err e = {0};
    float ps[] = {0.4f, 0.6f, 0.7f, 0.8f, 0.99f};
    size_t want[] = {1, 2, 2, 3, 4};
    for (int i = 0; i < 5; i++) {
        p.top_p = ps[i];
        sk_sampler *s = sk_sampler_new(&p, 4, &e);
        sk_token_prob c[4];
        size_t n;
        CHECK_OK(sk_sampler_candidates(s, l, c, 4, &n, &e), &e);
        CHECK_MSG(n == want[i], "top_p %g kept %zu", (double)ps[i], n);
        CHECK(c[0].id == 1);
        if (n >= 2) CHECK(c[1].id == 3);
        if (n >= 3) CHECK(c[2].id == 0); /* tie 0.125: lower id first */
        sk_sampler_free(s);
    }
    for (uint64_t seed = 1; seed <= 4; seed++) {
        check_filter(1000, seed, 5.0, 1.0f, 0, 0.9f, 0);
        check_filter(1000, seed, 2.0, 0.7f, 0, 0.5f, 0);
        check_filter(1000, seed, 5.0, 1.3f, 40, 0.8f, 0);
    }
    /* the DeepSeek vocabulary size: flat logits force the K-doubling search to grow large */
    check_filter(129280, 7, 20.0, 0.6f, 0, 0.95f, 0);
    check_filter(129280, 8, 1.0, 1.0f, 0, 0.95f, 0);
    check_filter(129280, 9, 3.0, 1.0f, 50, 0.95f, 0);
}

static void test_min_p(void) {
    for (uint64_t seed = 1; seed <= 4; seed++) {
        check_filter(2000, seed, 4.0, 1.0f, 0, 1.0f, 0.05f);
        check_filter(2000, seed, 4.0, 0.5f, 0, 1.0f, 0.2f);
        check_filter(2000, seed, 4.0, 1.0f, 100, 0.9f, 0.1f);
    }
    check_filter(129280, 3, 10.0, 0.6f, 0, 1.0f, 0.01f);
    /* no truncation at all keeps every token */
    check_filter(3000, 5, 4.0, 1.0f, 0, 1.0f, 0);
}

static void test_penalties(void) {
    enum { N = 10 };
    float l[N] = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f, 1.0f, 0.0f, 4.0f, -0.5f, 1.5f};
    float ref[N];
    memcpy(ref, l, sizeof l);
    int32_t win[] = {9, 3, 3, 5, 7, 7, 7, 4};
    sk_sampler_params p = sk_sampler_default_params();
    p.repetition_penalty = 1.3f;
    p.presence_penalty = 0.5f;
    p.frequency_penalty = 0.25f;
    p.penalty_last_n = 7; /* the first token (9) falls out of the window */
    sk_err e = {0};
    CHECK_OK(sk_sampler_apply_penalties(&p, win, 8, l, N, &e), &e);
    /* counts in the window of 7: 3:2, 5:1, 7:3, 4:1 */
    int counts[N] = {0};
    counts[3] = 2, counts[5] = 1, counts[7] = 3, counts[4] = 1;
    for (int t = 0; t < N; t++) {
        float w = ref[t];
        if (counts[t]) {
            w = w > 0 ? w / 1.3f : w * 1.3f;
            w = w - 0.5f - 0.25f * (float)counts[t];
        }
        CHECK_MSG(fabsf(l[t] - w) < 1e-6f, "token %d: %g want %g", t, (double)l[t], (double)w);
    }
    CHECK(l[9] == ref[9] && l[0] == ref[0]);
    CHECK_NEAR(l[4], -2.0 * 1.3 - 0.5 - 0.25, 1e-6); /* negative logits are multiplied */
    CHECK_NEAR(l[7], 4.0 / 1.3 - 0.5 - 0.75, 1e-6);

    /* the sampler applies the same penalties to its window (ring of penalty_last_n = 3) */
    sk_sampler_params q = sk_sampler_default_params();
    q.repetition_penalty = 2.0f;
    q.frequency_penalty = 1.0f;
    q.penalty_last_n = 3;
    sk_sampler *s = sk_sampler_new(&q, N, &e);
    int32_t toks[] = {0, 7, 7, 3}; /* 0 is evicted */
    for (int i = 0; i < 4; i++) CHECK_OK(sk_sampler_accept(s, toks[i], &e), &e);
    sk_token_prob c[N];
    size_t n;
    CHECK_OK(sk_sampler_candidates(s, ref, c, N, &n, &e), &e);
    float pen[N];
    memcpy(pen, ref, sizeof pen);
    pen[7] = 4.0f / 2.0f - 2.0f;
    pen[3] = 3.0f / 2.0f - 1.0f;
    double mx = -1e9, sum = 0;
    for (int i = 0; i < N; i++) mx = fmax(mx, pen[i]);
    for (int i = 0; i < N; i++) sum += exp(pen[i] - mx);
    CHECK(n == N);
    for (size_t i = 0; i < n; i++) CHECK_NEAR(c[i].p, exp(pen[c[i].id] - mx) / sum, 1e-6);
    CHECK(c[0].id == 0); /* 2.0 is now the largest logit */
    sk_sampler_reset(s, 1);
    CHECK_OK(sk_sampler_candidates(s, ref, c, N, &n, &e), &e);
    CHECK(c[0].id == 7); /* reset cleared the window */
    sk_sampler_free(s);
}

static void test_seed_reproducible(void) {
    enum { N = 32000, STEPS = 64 };
    float *l = malloc(sizeof(float) * N);
    sk_sampler_params p = sk_sampler_reasoner_params();
    CHECK_NEAR(p.temperature, 0.6, 1e-7);
    CHECK_NEAR(p.top_p, 0.95, 1e-7);
    p.seed = 1234;
    p.repetition_penalty = 1.1f;
    sk_err e = {0};
    int32_t a[STEPS], b[STEPS], c[STEPS];
    sk_sampler *s1 = sk_sampler_new(&p, N, &e), *s2 = sk_sampler_new(&p, N, &e);
    p.seed = 1235;
    sk_sampler *s3 = sk_sampler_new(&p, N, &e);
    for (int i = 0; i < STEPS; i++) {
        random_logits(l, N, 100 + (uint64_t)i, 3.0);
        CHECK_OK(sk_sampler_next(s1, l, &a[i], &e), &e);
        CHECK_OK(sk_sampler_next(s2, l, &b[i], &e), &e);
        CHECK_OK(sk_sampler_next(s3, l, &c[i], &e), &e);
    }
    CHECK(!memcmp(a, b, sizeof a));
    CHECK(memcmp(a, c, sizeof a) != 0);
    sk_sampler_reset(s1, 1234);
    for (int i = 0; i < STEPS; i++) {
        random_logits(l, N, 100 + (uint64_t)i, 3.0);
        CHECK_OK(sk_sampler_next(s1, l, &c[i], &e), &e);
    }
    CHECK(!memcmp(a, c, sizeof a));
    sk_sampler_free(s1);
    sk_sampler_free(s2);
    sk_sampler_free(s3);
    free(l);
}

/* 20,000 draws: every token's frequency within 4.5 standard errors of its probability. */
static void check_frequencies(const float *l, int n, sk_sampler_params p) {
    enum { DRAWS = 20000 };
    sk_err e = {0};
    sk_sampler *s = sk_sampler_new(&p, n, &e);
    sk_token_prob c[16];
    size_t nc;
    CHECK_OK(sk_sampler_candidates(s, l, c, 16, &nc, &e), &e);
    int hist[16] = {0};
    for (int i = 0; i < DRAWS; i++) {
        int32_t t;
        CHECK_OK(sk_sampler_sample(s, l, &t, &e), &e);
        CHECK(t >= 0 && t < n);
        if (t >= 0 && t < n) hist[t]++;
    }
    double want[16] = {0};
    for (size_t i = 0; i < nc; i++) want[c[i].id] = c[i].p;
    for (int t = 0; t < n; t++) {
        double f = (double)hist[t] / DRAWS, se = sqrt(want[t] * (1 - want[t]) / DRAWS);
        CHECK_MSG(fabs(f - want[t]) <= 4.5 * se + 1e-9,
                  "token %d: frequency %.4f, probability %.4f", t, f, want[t]);
    }
    sk_sampler_free(s);
}

static void test_empirical(void) {
    float l[8] = {1.0f, 2.0f, 0.5f, -1.0f, 1.5f, 0.0f, 2.2f, -3.0f};
    sk_sampler_params p = sk_sampler_default_params();
    p.seed = 7;
    check_frequencies(l, 8, p); /* plain softmax */
    /* and the candidates of plain temperature sampling are the softmax itself */
    sk_err e = {0};
    p.temperature = 0.7f;
    sk_sampler *s = sk_sampler_new(&p, 8, &e);
    sk_token_prob c[8];
    size_t nc;
    CHECK_OK(sk_sampler_candidates(s, l, c, 8, &nc, &e), &e);
    ref_t *r = ref_sorted(l, 8, 0.7);
    CHECK(nc == 8);
    for (int i = 0; i < 8; i++) CHECK(c[i].id == r[i].id && fabs(c[i].p - r[i].p) < 1e-6);
    free(r);
    sk_sampler_free(s);
    check_frequencies(l, 8, p);
    p.top_k = 5;
    p.top_p = 0.8f;
    p.seed = 99;
    check_frequencies(l, 8, p);
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.3f;
    check_frequencies(l, 8, p);
}

static void test_errors(void) {
    sk_err e = {0};
    sk_sampler_params p = sk_sampler_default_params();
    CHECK(sk_sampler_new(&p, 0, &e) == NULL && e.code == SK_ERR_INVALID);
    p.repetition_penalty = 0.0f;
    CHECK(sk_sampler_new(&p, 10, &e) == NULL && strstr(e.msg, "repetition_penalty"));
    p = sk_sampler_default_params();
    p.temperature = NAN;
    CHECK(sk_sampler_new(&p, 10, &e) == NULL && strstr(e.msg, "temperature"));
    p = sk_sampler_default_params();
    p.min_p = 1.5f;
    CHECK(sk_sampler_new(&p, 10, &e) == NULL && strstr(e.msg, "min_p"));
    p = sk_sampler_default_params();
    sk_sampler *s = sk_sampler_new(&p, 4, &e);
    CHECK(sk_sampler_accept(s, 4, &e) == SK_ERR_RANGE);
    CHECK(sk_sampler_accept(s, -1, &e) == SK_ERR_RANGE);
    float inf[4] = {-INFINITY, NAN, -INFINITY, NAN};
    int32_t t;
    CHECK(sk_sampler_sample(s, inf, &t, &e) == SK_ERR_INVALID && strstr(e.msg, "-inf"));
    float nan1[4] = {NAN, 0.5f, -INFINITY, 0.25f}; /* NaN never wins */
    for (int i = 0; i < 200; i++) {
        CHECK_OK(sk_sampler_sample(s, nan1, &t, &e), &e);
        CHECK(t == 1 || t == 3);
    }
    float pinf[4] = {0.0f, INFINITY, 1.0f, 2.0f};
    CHECK_OK(sk_sampler_sample(s, pinf, &t, &e), &e);
    CHECK(t == 1);
    CHECK(sk_sampler_sample(s, NULL, &t, &e) == SK_ERR_INVALID);
    int32_t w[2] = {1, 9};
    float l[4] = {0};
    p.repetition_penalty = 1.2f;
    CHECK(sk_sampler_apply_penalties(&p, w, 2, l, 4, &e) == SK_ERR_RANGE);
    sk_sampler_free(s);
}

/* A tiny positive temperature (1/T overflows float) samples greedily, with and without top-p /
 * top-k, and the candidate list holds only the best token. Before the fix the weights became
 * NaN and the draw fell through to the last (worst) candidate. */
static void test_tiny_temperature(void) {
    const float logits[4] = {-3.0f, 5.0f, 1.0f, 0.5f}; /* token 1 is clearly best */
    const float temps[] = {1e-7f, 1e-37f, 1e-39f, 1e-45f};
    for (int k = 0; k < 4; k++) {
        for (int mode = 0; mode < 3; mode++) {
            sk_err e = {0};
            sk_sampler_params p = sk_sampler_default_params();
            p.temperature = temps[k];
            if (mode == 1) p.top_p = 0.9f;
            if (mode == 2) p.top_k = 3;
            sk_sampler *s = sk_sampler_new(&p, 4, &e);
            CHECK_OK(s ? SK_OK : e.code, &e);
            if (!s) continue;
            for (int i = 0; i < 20; i++) {
                int32_t t = -1;
                CHECK_OK(sk_sampler_sample(s, logits, &t, &e), &e);
                CHECK(t == 1);
            }
            sk_token_prob c[4];
            size_t n = 0;
            CHECK_OK(sk_sampler_candidates(s, logits, c, 4, &n, &e), &e);
            CHECK(n == 1 && c[0].id == 1 && c[0].p == 1.0f);
            sk_sampler_free(s);
        }
    }
    /* finite 1/T but max logit / T overflows: still the best token */
    sk_err e = {0};
    sk_sampler_params p = sk_sampler_default_params();
    p.temperature = 1e-5f;
    const float big[3] = {1e30f, 3e34f, -1e30f};
    sk_sampler *s = sk_sampler_new(&p, 3, &e);
    int32_t t = -1;
    CHECK_OK(sk_sampler_sample(s, big, &t, &e), &e);
    CHECK(t == 1);
    sk_sampler_free(s);
    /* just above the threshold it is still a proper (if peaked) sample */
    p.temperature = 2e-6f;
    s = sk_sampler_new(&p, 4, &e);
    CHECK_OK(sk_sampler_sample(s, logits, &t, &e), &e);
    CHECK(t == 1);
    sk_sampler_free(s);
}

int main(void) {
    RUN(test_rng_reference);
    RUN(test_greedy_and_topk1);
    RUN(test_top_p);
    RUN(test_min_p);
    RUN(test_penalties);
    RUN(test_seed_reproducible);
    RUN(test_empirical);
    RUN(test_errors);
    RUN(test_tiny_temperature);
    return sk_test_report("sampler");
}
