/* test_train_dp — the data-parallel pass (a model with a pool of P threads splits the batch
 * into shares of whole sequences, one per thread, and sums their gradients) against the serial
 * pass (no pool) on the same parameters and batch: a V3-style tiny model (q LoRA, MoE with
 * sigmoid routing, bias and groups, balance loss alpha = 0.1, MTP depth 1).
 *
 * Cases: 2 and 3 threads; batches that split evenly (4 on 2) and unevenly (5 on 2, 4 on 3),
 * fewer sequences than threads (2 on 3), one sequence (1 on 3: the intra-op path), with and
 * without a mask (including a share whose targets are all masked out), scale 0.5 into
 * gradients that already hold a micro-batch (accumulation), and the loss-only call with logits.
 *
 * Tolerance: per tensor max|g_dp - g_serial| <= 1e-5 * max|g_serial| (float32 rounding of
 * differently ordered sums measured at <= 2.1e-6 here; a balance loss averaged over a share's
 * sequences instead of the batch's moves some tensor by ~2e-2, a wrong count more); loss,
 * L_main, L_mtp, L_bal within 1e-6 relative; expert loads equal exactly. Two data-parallel
 * calls give bit-identical gradients (the fixed reduction order; the share buffers are re-zeroed).
 */
#include "sk_test.h"
#include "train_internal.h"

#include <stdint.h>

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static float frand(void) { /* uniform [-1, 1) */
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (float)((double)(rs >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static sk_model_config tiny(void) {
    sk_model_config c;
    sk_model_config_init(&c);
    c.arch = SK_ARCH_DEEPSEEK2;
    c.n_vocab = 48;
    c.n_embd = 16;
    c.n_layer = 2;
    c.n_head = 2;
    c.n_head_kv = 2;
    c.n_ff = 24;
    c.rms_eps = 1e-6f;
    c.rope_theta = 10000;
    c.max_ctx = 4096;
    c.q_lora_rank = 12;
    c.kv_lora_rank = 8;
    c.qk_nope_dim = 4;
    c.qk_rope_dim = 4;
    c.v_head_dim = 4;
    c.n_dense_lead = 1;
    c.moe_layer_freq = 1;
    c.n_routed = 8;
    c.n_active = 2;
    c.n_shared = 1;
    c.moe_ff = 8;
    c.n_group = 4;
    c.topk_group = 2;
    c.routed_scale = 2.5f;
    c.norm_topk = true;
    c.gating = SK_GATING_SIGMOID;
    c.has_exp_bias = true;
    c.n_mtp = 1;
    c.mtp_lambda = 0.3f;
    c.aux_alpha = 0.1f;
    c.rope_scaling = SK_ROPE_SCALING_YARN;
    c.rope_factor = 40;
    c.rope_orig_ctx = 4096;
    c.yarn_beta_fast = 32;
    c.yarn_beta_slow = 1;
    c.yarn_mscale = c.yarn_mscale_all_dim = 1.0f;
    c.bos_id = c.eos_id = -1;
    return c;
}

#define MAXB 6
#define S    12

typedef struct run_out {
    float *g;     /* [n_floats] */
    double *load; /* [nl * E] */
    sk_tstats st;
} run_out;

/* One forward/backward (two with accum: scale 0.5 each, the second on the batch reversed) with
 * `threads` (1 = serial), gradients starting at zero. */
static int grad_run(sk_tmodel *m, int threads, const sk_tbatch *b, bool accum, run_out *o) {
    sk_err e = {0};
    CHECK_OK(sk_tmodel_set_threads(m, threads, &e), &e);
    sk_tmodel_zero_grad(m);
    sk_tmodel_reset_load(m);
    int rc = sk_tmodel_grad(m, b, accum ? 0.5f : 1.0f, &o->st, &e);
    CHECK_OK(rc, &e);
    if (!rc && accum) {
        int32_t ids[MAXB * S];
        uint8_t mk[MAXB * S];
        for (int s = 0; s < b->B; s++) {
            memcpy(ids + (size_t)s * S, b->ids + (size_t)(b->B - 1 - s) * S, sizeof(int32_t) * S);
            if (b->mask) memcpy(mk + (size_t)s * S, b->mask + (size_t)(b->B - 1 - s) * S, S);
        }
        sk_tbatch b2 = {b->B, S, ids, b->mask ? mk : NULL};
        sk_tstats st2;
        rc = sk_tmodel_grad(m, &b2, 0.5f, &st2, &e);
        CHECK_OK(rc, &e);
    }
    size_t nl = (size_t)(m->cfg.n_layer + m->cfg.n_mtp) * (size_t)m->cfg.n_routed;
    o->g = malloc(sizeof(float) * m->n_floats);
    o->load = malloc(sizeof(double) * nl);
    if (!o->g || !o->load) return -1;
    memcpy(o->g, m->grads, sizeof(float) * m->n_floats);
    memcpy(o->load, m->load, sizeof(double) * nl);
    return rc;
}

static void out_free(run_out *o) {
    free(o->g);
    free(o->load);
}

/* worst per-tensor max|a-b| / max|ref| over the trainable tensors; counts the tensors whose
 * serial gradient is zero (unchosen experts) in *n_zero */
static double compare_grads(const char *what, const sk_tmodel *m, const float *ref,
                            const float *got, int *n_zero) {
    double worst = 0;
    for (int i = 0; i < m->n_tp; i++) {
        const sk_tparam *p = &m->tp[i];
        double gmax = 0, dmax = 0;
        for (size_t j = 0; j < p->n; j++) {
            gmax = fmax(gmax, fabs(ref[p->off + j]));
            dmax = fmax(dmax, fabs((double)ref[p->off + j] - got[p->off + j]));
        }
        if (p->buffer) {
            CHECK_MSG(dmax == 0, "%s: %s (buffer) differs", what, p->name);
            continue;
        }
        if (gmax == 0) { /* an expert no token chose */
            CHECK_MSG(dmax == 0, "%s: %s: serial gradient zero, data-parallel not", what, p->name);
            (*n_zero)++;
            continue;
        }
        double r = dmax / gmax;
        CHECK_MSG(r <= 1e-5, "%s: %s: max diff %.3g of max %.3g (rel %.3g)", what, p->name, dmax,
                  gmax, r);
        if (r > worst) worst = r;
    }
    return worst;
}

static void check_case(sk_tmodel *m, int threads, int B, bool mask, bool accum) {
    int32_t ids[MAXB * S];
    uint8_t mk[MAXB * S];
    for (int i = 0; i < B * S; i++) {
        ids[i] = (int32_t)((frand() + 1) * 0.5f * m->cfg.n_vocab) % m->cfg.n_vocab;
        mk[i] = (i % 3) != 1;
    }
    /* the last sequence has no counted target: with 3+ sequences on 2 threads the second
     * share's counts differ from the first's */
    if (mask && B >= 3)
        for (int j = 0; j < S; j++) mk[(B - 1) * S + j] = 0;
    sk_tbatch b = {B, S, ids, mask ? mk : NULL};
    char what[96];
    snprintf(what, sizeof what, "%d threads, B=%d%s%s", threads, B, mask ? ", mask" : "",
             accum ? ", accum 2" : "");
    run_out ser = {0}, dp = {0}, dp2 = {0};
    if (grad_run(m, 1, &b, accum, &ser) || grad_run(m, threads, &b, accum, &dp) ||
        grad_run(m, threads, &b, accum, &dp2))
        goto done;
    int n_zero = 0;
    double worst = compare_grads(what, m, ser.g, dp.g, &n_zero);
    CHECK_MSG(n_zero * 4 < m->n_tp, "%s: %d of %d gradients are zero", what, n_zero, m->n_tp);
    CHECK_MSG(memcmp(dp.g, dp2.g, sizeof(float) * m->n_floats) == 0,
              "%s: two data-parallel runs differ", what);
    double tl = 1e-6 * fabs(ser.st.loss);
    CHECK_NEAR(dp.st.loss, ser.st.loss, tl);
    CHECK_NEAR(dp.st.main, ser.st.main, 1e-6 * fabs(ser.st.main));
    CHECK_NEAR(dp.st.mtp[0], ser.st.mtp[0], 1e-6 * fabs(ser.st.mtp[0]));
    CHECK_NEAR(dp.st.bal, ser.st.bal, 1e-6 * fabs(ser.st.bal));
    CHECK(dp.st.n_main == ser.st.n_main);
    CHECK(ser.st.bal > 0 && ser.st.mtp[0] > 0);
    size_t nl = (size_t)(m->cfg.n_layer + m->cfg.n_mtp) * (size_t)m->cfg.n_routed;
    CHECK_MSG(memcmp(ser.load, dp.load, sizeof(double) * nl) == 0, "%s: expert loads differ", what);
    printf("%-32s loss %.7f (serial %.7f), worst gradient rel diff %.2e\n", what, dp.st.loss,
           ser.st.loss, worst);
done:
    out_free(&ser);
    out_free(&dp);
    out_free(&dp2);
}

static sk_tmodel *make_model(void) {
    sk_model_config c = tiny();
    sk_err e = {0};
    sk_tmodel *m = NULL;
    CHECK_OK(sk_tmodel_new(&c, &m, &e), &e);
    if (!m) return NULL;
    sk_tmodel_init(m, 11, 0.3f);
    for (int i = 0; i < m->n_tp; i++) { /* non-trivial norms and bias */
        sk_tparam *p = &m->tp[i];
        if (p->n_dims == 1)
            for (size_t j = 0; j < p->n; j++)
                m->params[p->off + j] += (p->buffer ? 0.3f : 0.2f) * frand();
    }
    return m;
}

static void test_grad_even(void) {
    sk_tmodel *m = make_model();
    if (!m) return;
    check_case(m, 2, 4, false, false);
    check_case(m, 2, 4, true, false);
    sk_tmodel_free(m);
}

static void test_grad_uneven(void) {
    sk_tmodel *m = make_model();
    if (!m) return;
    check_case(m, 2, 5, true, false);
    check_case(m, 3, 4, true, false);
    check_case(m, 3, 6, false, false);
    sk_tmodel_free(m);
}

static void test_grad_few_sequences(void) {
    sk_tmodel *m = make_model();
    if (!m) return;
    check_case(m, 3, 2, true, false); /* fewer sequences than threads */
    check_case(m, 3, 1, true, false); /* one sequence: the intra-op path */
    sk_tmodel_free(m);
}

static void test_grad_accum(void) {
    sk_tmodel *m = make_model();
    if (!m) return;
    check_case(m, 2, 4, true, true);
    check_case(m, 3, 5, true, true);
    sk_tmodel_free(m);
}

/* sk_tmodel_loss: the same stats and main-head logits */
static void test_loss_logits(void) {
    sk_tmodel *m = make_model();
    if (!m) return;
    int B = 5, V = m->cfg.n_vocab;
    int32_t ids[MAXB * S];
    uint8_t mk[MAXB * S];
    for (int i = 0; i < B * S; i++) {
        ids[i] = (int32_t)((frand() + 1) * 0.5f * V) % V;
        mk[i] = (i % 4) != 2;
    }
    sk_tbatch b = {B, S, ids, mk};
    size_t nlg = (size_t)B * (S - 1) * V;
    float *l1 = malloc(sizeof(float) * nlg), *l2 = malloc(sizeof(float) * nlg);
    sk_err e = {0};
    sk_tstats s1, s2;
    CHECK_OK(sk_tmodel_set_threads(m, 1, &e), &e);
    CHECK_OK(sk_tmodel_loss(m, &b, &s1, l1, &e), &e);
    CHECK_OK(sk_tmodel_set_threads(m, 2, &e), &e);
    CHECK_OK(sk_tmodel_loss(m, &b, &s2, l2, &e), &e);
    CHECK_NEAR(s2.loss, s1.loss, 1e-6 * fabs(s1.loss));
    double dmax = 0, lmax = 0;
    for (size_t i = 0; i < nlg; i++) {
        dmax = fmax(dmax, fabs((double)l1[i] - l2[i]));
        lmax = fmax(lmax, fabs(l1[i]));
    }
    CHECK_MSG(lmax > 0 && dmax <= 1e-5 * lmax, "logits differ: %.3g of %.3g", dmax, lmax);
    free(l1);
    free(l2);
    sk_tmodel_free(m);
}

/* errors from a share (a bad id in the second half of the batch) come back with the message */
static void test_error(void) {
    sk_tmodel *m = make_model();
    if (!m) return;
    sk_err e = {0};
    int32_t ids[4 * S];
    for (int i = 0; i < 4 * S; i++) ids[i] = i % 7;
    ids[3 * S + 2] = 999;
    sk_tbatch b = {4, S, ids, NULL};
    CHECK_OK(sk_tmodel_set_threads(m, 2, &e), &e);
    CHECK(sk_tmodel_grad(m, &b, 1.0f, NULL, &e) == SK_ERR_RANGE);
    CHECK(strstr(e.msg, "999") != NULL);
    sk_tmodel_free(m);
}

int main(void) {
    sk_train_set_threads(1); /* tiny matrices */
    RUN(test_grad_even);
    RUN(test_grad_uneven);
    RUN(test_grad_few_sequences);
    RUN(test_grad_accum);
    RUN(test_loss_logits);
    RUN(test_error);
    return sk_test_report("train_dp");
}
