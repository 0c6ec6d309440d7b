/* test_kernel_ops.c — vector ops at every SIMD level against double-precision references,
 * top-k, RoPE (adjacent and NEOX pairs) and the RoPE frequency helpers against independent
 * transcriptions of the published formulas (spec §1.8 table, golden README). */
#include "sk_kernels.h"
#include "sk_test.h"

#include <stdint.h>

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static float rndf(float lo, float hi) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return lo + (hi - lo) * (float)((rng_state >> 40) & 0xFFFFFF) / 16777216.0f;
}

#define N 1003 /* odd: every SIMD tail runs */

static int set_level(int lvl) {
    sk_err e = {0};
    return sk_kernels_set_level((sk_cpu_level)lvl, &e) == SK_OK;
}

static void check_vec_ops_level(int lvl) {
    const char *ln = sk_cpu_level_name((sk_cpu_level)lvl);
    static float a[N], b[N], y[N], w[N];
    for (int i = 0; i < N; i++) {
        a[i] = rndf(-2, 2);
        b[i] = rndf(-2, 2);
        w[i] = rndf(0.5f, 1.5f);
    }
    /* dot */
    double ref = 0, mag = 0;
    for (int i = 0; i < N; i++) ref += (double)a[i] * b[i], mag += fabs((double)a[i] * b[i]);
    CHECK_MSG(fabs(sk_vec_dot_f32(a, b, N) - ref) <= 1e-6 * mag, "%s dot", ln);
    CHECK(sk_vec_dot_f32(a, b, 0) == 0.0f);
    /* add, scale: exact */
    sk_vec_add(y, a, b, N);
    int ok = 1;
    for (int i = 0; i < N; i++) ok &= y[i] == a[i] + b[i];
    CHECK_MSG(ok, "%s add", ln);
    memcpy(y, a, sizeof a);
    sk_vec_scale(y, 0.37f, N);
    ok = 1;
    for (int i = 0; i < N; i++) ok &= y[i] == a[i] * 0.37f;
    CHECK_MSG(ok, "%s scale", ln);
    /* mad: one rounding (FMA) or two */
    memcpy(y, a, sizeof a);
    sk_vec_mad(y, b, -1.25f, N);
    ok = 1;
    for (int i = 0; i < N; i++)
        ok &= fabs(y[i] - ((double)a[i] - 1.25 * b[i])) <= 1e-6 * (fabs(a[i]) + fabs(1.25 * b[i]));
    CHECK_MSG(ok, "%s mad", ln);
    /* rmsnorm, with weight, without, in place */
    double ss = 0;
    for (int i = 0; i < N; i++) ss += (double)a[i] * a[i];
    double r = 1.0 / sqrt(ss / N + 1e-6);
    sk_rmsnorm(y, a, w, N, 1e-6f);
    ok = 1;
    for (int i = 0; i < N; i++)
        ok &= fabs(y[i] - a[i] * r * w[i]) <= 2e-6 * fabs(a[i] * r * w[i]) + 1e-7;
    CHECK_MSG(ok, "%s rmsnorm", ln);
    memcpy(y, a, sizeof a);
    sk_rmsnorm(y, y, NULL, N, 1e-6f);
    ok = 1;
    for (int i = 0; i < N; i++) ok &= fabs(y[i] - a[i] * r) <= 2e-6 * fabs(a[i] * r) + 1e-7;
    CHECK_MSG(ok, "%s rmsnorm in place", ln);
    /* softmax, with large logits and a masked (-inf) entry */
    for (int i = 0; i < N; i++) y[i] = rndf(-30, 30);
    y[5] = 85.0f;
    y[7] = -INFINITY;
    double mx = -INFINITY, se = 0;
    for (int i = 0; i < N; i++) mx = y[i] > mx ? y[i] : mx;
    for (int i = 0; i < N; i++) se += exp((double)y[i] - mx);
    memcpy(b, y, sizeof y);
    sk_softmax(y, N);
    ok = 1;
    double tot = 0;
    for (int i = 0; i < N; i++) {
        double p = exp((double)b[i] - mx) / se;
        ok &= fabs(y[i] - p) <= 1e-6 * p + 1e-30;
        tot += y[i];
    }
    CHECK_MSG(ok, "%s softmax", ln);
    CHECK_NEAR(tot, 1.0, 1e-5);
    CHECK(y[7] <= 1e-30f);
    /* silu, sigmoid, swiglu over a wide range */
    for (int i = 0; i < N; i++) a[i] = rndf(-20, 20);
    a[0] = -100.0f, a[1] = 100.0f, a[2] = 0.0f, a[3] = -87.0f, a[4] = 88.0f;
    memcpy(y, a, sizeof a);
    sk_silu(y, N);
    ok = 1;
    for (int i = 0; i < N; i++) {
        double s = a[i] / (1.0 + exp(-(double)a[i]));
        ok &= fabs(y[i] - s) <= 2e-6 * fabs(s) + 1e-30;
        if (!(fabs(y[i] - s) <= 2e-6 * fabs(s) + 1e-30))
            fprintf(stderr, "silu(%g) = %g, want %g\n", a[i], y[i], s);
    }
    CHECK_MSG(ok, "%s silu", ln);
    memcpy(y, a, sizeof a);
    sk_sigmoid(y, N);
    ok = 1;
    for (int i = 0; i < N; i++) {
        double s = 1.0 / (1.0 + exp(-(double)a[i]));
        ok &= fabs(y[i] - s) <= 2e-6 * s + 1e-30;
    }
    CHECK_MSG(ok, "%s sigmoid", ln);
    sk_swiglu(y, a, w, N);
    ok = 1;
    for (int i = 0; i < N; i++) {
        double s = a[i] / (1.0 + exp(-(double)a[i])) * w[i];
        ok &= fabs(y[i] - s) <= 3e-6 * fabs(s) + 1e-30;
    }
    CHECK_MSG(ok, "%s swiglu", ln);
}

/* sk_attn_dots against double-precision dots; sk_attn_mix bit-identical to sk_vec_mad called
 * row by row (what it replaces), for row lengths around every SIMD width and block count. */
static void check_attn_level(int lvl) {
    const char *ln = sk_cpu_level_name((sk_cpu_level)lvl);
    enum { LD = 611, ROWS = 37 };
    static float k[LD * ROWS], q[LD], out[ROWS], p[ROWS], y1[LD], y2[LD];
    for (int i = 0; i < LD * ROWS; i++) k[i] = rndf(-1, 1);
    for (int i = 0; i < LD; i++) q[i] = rndf(-1, 1);
    for (int i = 0; i < ROWS; i++) p[i] = rndf(0, 1);
    static const int64_t ds[] = {1, 7, 8, 9, 15, 16, 31, 63, 64, 65, 128, 129, 192, 512, 576, 611};
    int ok_dots = 1, ok_mix = 1;
    for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++) {
        const int64_t d = ds[di];
        for (int64_t n = 0; n <= ROWS; n += n < 17 ? 1 : 5) {
            for (int64_t s = 0; s < ROWS; s++) out[s] = -999.0f;
            sk_attn_dots(q, k, LD, n, d, out);
            for (int64_t s = 0; s < ROWS; s++) {
                if (s >= n) {
                    ok_dots &= out[s] == -999.0f; /* nothing past n written */
                    continue;
                }
                double ref = 0, mag = 0;
                for (int64_t i = 0; i < d; i++) {
                    ref += (double)q[i] * k[s * LD + i];
                    mag += fabs((double)q[i] * k[s * LD + i]);
                }
                ok_dots &= fabs(out[s] - ref) <= 1e-6 * mag + 1e-30;
            }
            for (int64_t i = 0; i < d; i++) y1[i] = y2[i] = rndf(-1, 1);
            for (int64_t s = 0; s < n; s++) sk_vec_mad(y1, k + s * LD, p[s], d);
            sk_attn_mix(y2, k, LD, p, n, d);
            ok_mix &= memcmp(y1, y2, (size_t)d * sizeof(float)) == 0;
        }
    }
    CHECK_MSG(ok_dots, "%s attn_dots", ln);
    CHECK_MSG(ok_mix, "%s attn_mix differs from row-by-row vec_mad", ln);
}

static void test_vec_ops(void) {
    int n = 0;
    for (int lvl = SK_CPU_SCALAR; lvl <= SK_CPU_NEON; lvl++) {
        if (!set_level(lvl)) {
            fprintf(stderr, "    level %s: not on this CPU, skipped\n",
                    sk_cpu_level_name((sk_cpu_level)lvl));
            continue;
        }
        check_vec_ops_level(lvl);
        check_attn_level(lvl);
        n++;
    }
    set_level(sk_cpu_best());
    CHECK(n >= 1);
}

/* sk_softmax_online over blocks, with a running output rescaled as it asks, gives the weights
 * and the weighted sum of sk_softmax over the whole row. */
static void test_softmax_online(void) {
    enum { NS = 203 };
    static float x[NS], ref[NS], blk[NS];
    for (int rep = 0; rep < 20; rep++) {
        const float amp = rep < 10 ? 3.0f : 40.0f; /* large scores: the maximum keeps moving */
        for (int i = 0; i < NS; i++) x[i] = rndf(-amp, amp) + (rep % 2 ? 0.2f * (float)i : 0.0f);
        memcpy(ref, x, sizeof x);
        sk_softmax(ref, NS);
        double want = 0; /* Σ p_i · v_i with v_i = i */
        for (int i = 0; i < NS; i++) want += (double)ref[i] * i;
        const int bs = 1 + rep % 17;
        float m = -INFINITY, l = 0.0f, acc = 0.0f;
        for (int s0 = 0; s0 < NS; s0 += bs) {
            int nb = NS - s0 < bs ? NS - s0 : bs;
            memcpy(blk, x + s0, (size_t)nb * sizeof(float));
            float r = sk_softmax_online(blk, nb, &m, &l);
            acc *= r;
            for (int i = 0; i < nb; i++) acc += blk[i] * (float)(s0 + i);
        }
        float mx = x[0];
        for (int i = 1; i < NS; i++) mx = x[i] > mx ? x[i] : mx;
        CHECK(m == mx);
        CHECK_MSG(fabs(acc / l - want) <= 1e-4 * (fabs(want) + 1), "block %d: %g, want %g", bs,
                  acc / l, want);
    }
    float one = 5.0f, m = -INFINITY, l = 0.0f;
    CHECK(sk_softmax_online(&one, 1, &m, &l) == 0.0f && m == 5.0f && l == 1.0f && one == 1.0f);
    CHECK(sk_softmax_online(&one, 0, &m, &l) == 1.0f && l == 1.0f);
}

static void test_argmax(void) {
    float x[10] = {0.5f, 2.0f, -1.0f, 2.0f, 7.0f, 0.5f, 2.0f, -3.0f, 7.0f, 1.0f};
    CHECK(sk_argmax(x, 10) == 4); /* ties: the first */
    CHECK(sk_argmax(x, 4) == 1);
    CHECK(sk_argmax(x, 1) == 0 && sk_argmax(x, 0) == 0);
    float y[5] = {-INFINITY, NAN, -2.0f, NAN, -1.0f};
    CHECK(sk_argmax(y, 5) == 4); /* NaNs skipped */
    float z[3] = {NAN, 5.0f, 6.0f};
    CHECK(sk_argmax(z, 3) == 0); /* as a loop comparing with x[best]: nothing beats a NaN */
    float w[4] = {-INFINITY, -INFINITY, INFINITY, INFINITY};
    CHECK(sk_argmax(w, 4) == 2);
    static float r[100000];
    int64_t ref = 0;
    for (int i = 0; i < 100000; i++) {
        r[i] = (float)(int)rndf(0, 5000);
        if (r[i] > r[ref]) ref = i;
    }
    CHECK(sk_argmax(r, 100000) == ref);
}

static void test_topk(void) {
    float x[10] = {0.5f, 2.0f, -1.0f, 2.0f, 7.0f, 0.5f, 2.0f, -3.0f, 7.0f, 1.0f};
    int32_t idx[10];
    sk_topk(x, 10, 4, idx);
    CHECK(idx[0] == 4 && idx[1] == 8 && idx[2] == 1 && idx[3] == 3); /* ties: lower index first */
    sk_topk(x, 10, 10, idx);
    int want[10] = {4, 8, 1, 3, 6, 9, 0, 5, 2, 7};
    int ok = 1;
    for (int i = 0; i < 10; i++) ok &= idx[i] == want[i];
    CHECK(ok);
    sk_topk(x, 10, 1, idx);
    CHECK(idx[0] == 4);
    /* random, against a selection by repeated arg-max */
    static float r[4096];
    for (int i = 0; i < 4096; i++) r[i] = (float)(int)rndf(0, 300); /* many ties */
    int32_t got[40];
    sk_topk(r, 4096, 40, got);
    static unsigned char used[4096];
    memset(used, 0, sizeof used);
    ok = 1;
    for (int k = 0; k < 40; k++) {
        int best = -1;
        for (int i = 0; i < 4096; i++)
            if (!used[i] && (best < 0 || r[i] > r[best])) best = i;
        used[best] = 1;
        ok &= got[k] == best;
    }
    CHECK(ok);
}

static void test_rope(void) {
    enum { DIM = 64, H = 3, STRIDE = 80 };
    float freqs[DIM / 2];
    sk_rope_freqs_plain(freqs, DIM, 10000.0f);
    for (int mode = 0; mode < 2; mode++) {
        sk_rope_mode m = mode ? SK_ROPE_NEOX : SK_ROPE_ADJACENT;
        static float x[H * STRIDE], x0[H * STRIDE];
        for (int i = 0; i < H * STRIDE; i++) x0[i] = x[i] = rndf(-1, 1);
        float pos = 37.0f;
        sk_rope(x, H, STRIDE, DIM, pos, freqs, m);
        int ok = 1;
        for (int h = 0; h < H; h++) {
            for (int i = 0; i < DIM / 2; i++) {
                int ia = mode ? i : 2 * i, ib = mode ? i + DIM / 2 : 2 * i + 1;
                double a = (double)(pos * freqs[i]);
                double ya = x0[h * STRIDE + ia] * cos(a) - x0[h * STRIDE + ib] * sin(a);
                double yb = x0[h * STRIDE + ia] * sin(a) + x0[h * STRIDE + ib] * cos(a);
                ok &= fabs(x[h * STRIDE + ia] - ya) < 2e-6 && fabs(x[h * STRIDE + ib] - yb) < 2e-6;
            }
            for (int i = DIM; i < STRIDE; i++)
                ok &= x[h * STRIDE + i] == x0[h * STRIDE + i]; /* untouched */
        }
        CHECK_MSG(ok, "rope mode %d", (int)m);
        /* position 0 is the identity */
        memcpy(x, x0, sizeof x);
        sk_rope(x, H, STRIDE, DIM, 0.0f, freqs, m);
        CHECK(!memcmp(x, x0, sizeof x));
    }
    /* adjacent vs NEOX: the same rotation on a de-interleaved copy */
    float a[DIM], n[DIM];
    for (int i = 0; i < DIM / 2; i++) {
        a[2 * i] = n[i] = rndf(-1, 1);
        a[2 * i + 1] = n[i + DIM / 2] = rndf(-1, 1);
    }
    sk_rope(a, 1, DIM, DIM, 1234.0f, freqs, SK_ROPE_ADJACENT);
    sk_rope(n, 1, DIM, DIM, 1234.0f, freqs, SK_ROPE_NEOX);
    int ok = 1;
    for (int i = 0; i < DIM / 2; i++) ok &= a[2 * i] == n[i] && a[2 * i + 1] == n[i + DIM / 2];
    CHECK(ok);
}

static void test_freqs(void) {
    /* plain */
    float f[64];
    sk_rope_freqs_plain(f, 128, 500000.0f);
    for (int i = 0; i < 64; i++)
        CHECK_NEAR(f[i], 1.0 / pow(500000.0, (2.0 * i) / 128.0),
                   1e-7 * (1.0 / pow(500000.0, (2.0 * i) / 128.0)));
    /* YaRN, DeepSeek V3: the spec §1.8 table (d 64, theta 1e4, s 40, L 4096, betas 32/1) */
    sk_rope_freqs_yarn(f, 64, 10000.0f, 40.0f, 4096, 32.0f, 1.0f);
    const struct {
        int i;
        double v;
    } tab[] = {{0, 1.0},
               {10, 5.6234132e-02},
               {11, 3.9006925e-02},
               {16, 5.4999999e-03},
               {22, 1.7782794e-04},
               {23, 3.3338036e-05},
               {31, 3.3338038e-06}};
    for (size_t k = 0; k < sizeof tab / sizeof tab[0]; k++)
        CHECK_MSG(fabs(f[tab[k].i] - tab[k].v) <= 2e-7 * tab[k].v, "yarn[%d] = %.8g, spec %.8g",
                  tab[k].i, f[tab[k].i], tab[k].v);
    /* YaRN, ds3-tiny (d 16): corr(32) = 16 ln(4096/(64π)) / (2 ln 1e4) = 2.618 → lo 2;
     * corr(1) = 5.63 → hi 6; so ramp r_i = (i-2)/4 clamped. Hand-derived, then checked. */
    double lo = 16 * log(4096 / (2 * M_PI * 32)) / (2 * log(10000.0));
    double hi = 16 * log(4096 / (2 * M_PI * 1)) / (2 * log(10000.0));
    CHECK(floor(lo) == 2 && ceil(hi) == 6);
    sk_rope_freqs_yarn(f, 16, 10000.0f, 40.0f, 4096, 32.0f, 1.0f);
    for (int i = 0; i < 8; i++) {
        double base = pow(10000.0, -i / 8.0);
        double r = i <= 2 ? 0 : i >= 6 ? 1 : (i - 2) / 4.0;
        double want = base * (1 - r) + base / 40 * r;
        CHECK_MSG(fabs(f[i] - want) <= 1e-7 * want, "ds3-tiny yarn[%d] = %.8g want %.8g", i, f[i],
                  want);
    }
    /* Llama 3 scaling (llama3-tiny: d 16, theta 5e5, factor 8, low 1, high 4, L 8192), written
     * as the GGUF rope_freqs divisor of the golden README: f / divisor. */
    sk_rope_freqs_llama3(f, 16, 500000.0f, 8.0f, 1.0f, 4.0f, 8192);
    int n_mid = 0, n_div = 0;
    for (int i = 0; i < 8; i++) {
        double base = 1.0 / pow(500000.0, 2.0 * i / 16), wl = 2 * M_PI / base, div;
        if (wl < 8192 / 4.0)
            div = 1;
        else if (wl > 8192 / 1.0)
            div = 8, n_div++;
        else {
            double a = (8192 / wl - 1) / (4 - 1);
            div = 1 / ((1 - a) / 8 + a);
            n_mid++;
        }
        CHECK_MSG(fabs(f[i] - base / div) <= 1e-7 * base, "llama3[%d] = %.8g want %.8g", i, f[i],
                  base / div);
    }
    CHECK(n_div > 0); /* the case covers the divided band */
    /* and a case with interpolated pairs (d 128, theta 5e5: Llama-3.1 8B) */
    float g[64];
    sk_rope_freqs_llama3(g, 128, 500000.0f, 8.0f, 1.0f, 4.0f, 8192);
    n_mid = 0;
    for (int i = 0; i < 64; i++) {
        double base = 1.0 / pow(500000.0, 2.0 * i / 128), wl = 2 * M_PI / base, want;
        if (wl < 2048)
            want = base;
        else if (wl > 8192)
            want = base / 8;
        else {
            double s = (8192 / wl - 1) / 3;
            want = (1 - s) * base / 8 + s * base;
            n_mid++;
        }
        CHECK_NEAR(g[i], want, 1e-7 * want);
    }
    CHECK(n_mid > 0);
}

int main(void) {
    RUN(test_vec_ops);
    RUN(test_softmax_online);
    RUN(test_argmax);
    RUN(test_topk);
    RUN(test_rope);
    RUN(test_freqs);
    return sk_test_report("kernel_ops");
}
