/* test_train_cli — `seek grad` and `seek train` end to end (the command functions are
 * compiled into this test from src/cli/):
 *  - seek grad output equals the PyTorch reference (tests/data/trainref) within 1e-4;
 *  - seek train: the loss falls on a learnable token stream; N steps straight and N/2 +
 *    --resume N/2 give bit-identical weights, checkpoints and metrics; the saved model
 *    reloads; usage errors return 2, bad input 1 with a message (test_train_serve checks
 *    that the inference runtime serves it);
 *  - AdamW / schedule / bias-update unit checks against hand-computed values. */
#include "sk_safetensors.h"
#include "sk_test.h"
#include "sk_train.h"
#include "train_internal.h"

#include <sys/stat.h>
#include <unistd.h>

int sk_cmd_grad(int argc, char **argv);
int sk_cmd_train(int argc, char **argv);

static char tmpdir[256];

static float get_f(const sk_st_tensor *t, size_t i) {
    float v;
    memcpy(&v, (const char *)t->data + 4 * i, 4);
    return v;
}

static void grad_case(const char *cs) {
    char w[512], b[512], mk[512], out[512], ref[512];
    snprintf(w, sizeof w, "%s/trainref/%s/weights.safetensors", SEEK_TEST_DATA, cs);
    snprintf(b, sizeof b, "%s/trainref/%s/batch.txt", SEEK_TEST_DATA, cs);
    snprintf(mk, sizeof mk, "%s/trainref/%s/mask.txt", SEEK_TEST_DATA, cs);
    snprintf(ref, sizeof ref, "%s/trainref/%s/grads.safetensors", SEEK_TEST_DATA, cs);
    snprintf(out, sizeof out, "%s/g-%s.safetensors", tmpdir, cs);
    const char *args[] = {"grad", "--weights", w, "--tokens", b, "--mask", mk, "--out", out, NULL};
    CHECK(sk_test_run_cmd(sk_cmd_grad, args) == 0);
    sk_err e = {0};
    sk_st *a = NULL, *r = NULL;
    CHECK_OK(sk_st_open(out, &a, &e), &e);
    CHECK_OK(sk_st_open(ref, &r, &e), &e);
    if (!a || !r) goto done;
    CHECK(sk_st_n_tensors(a) == sk_st_n_tensors(r));
    double worst = 0;
    for (int64_t i = 0; i < sk_st_n_tensors(r); i++) {
        const sk_st_tensor *rt = sk_st_tensor_at(r, i);
        int64_t j = sk_st_find(a, rt->name);
        CHECK_MSG(j >= 0, "%s missing from seek grad output", rt->name);
        if (j < 0) continue;
        const sk_st_tensor *at = sk_st_tensor_at(a, j);
        CHECK(at->dtype == SK_ST_F32 && at->n_dims == rt->n_dims && at->nbytes == rt->nbytes);
        if (at->nbytes != rt->nbytes) continue;
        double mx = 0, md = 0;
        for (size_t k = 0; k < rt->nbytes / 4; k++) {
            mx = fmax(mx, fabs(get_f(rt, k)));
            md = fmax(md, fabs(get_f(rt, k) - get_f(at, k)));
        }
        double rel = mx > 0 ? md / mx : md;
        CHECK_MSG(rel <= 1e-4, "%s: rel %g", rt->name, rel);
        worst = fmax(worst, rel);
    }
    printf("seek grad %-10s %lld tensors, worst max|diff|/max|ref| %.2e\n", cs,
           (long long)sk_st_n_tensors(r), worst);
done:
    sk_st_close(a);
    sk_st_close(r);
}

static void test_grad_v3_mtp2(void) {
    grad_case("v3-mtp2");
}
static void test_grad_v2lite(void) {
    grad_case("v2lite");
}

static void test_grad_usage(void) {
    const char *a1[] = {"grad", "--weights", "x", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_grad, a1) == 2);
    const char *a2[] = {"grad", "--help", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_grad, a2) == 0);
    char w[512], out[512];
    snprintf(w, sizeof w, "%s/trainref/v2lite/weights.safetensors", SEEK_TEST_DATA);
    snprintf(out, sizeof out, "%s/nope.safetensors", tmpdir);
    const char *a3[] = {"grad",  "--weights", w,   "--tokens", "/nonexistent/batch.txt",
                        "--out", out,         NULL};
    CHECK(sk_test_run_cmd(sk_cmd_grad, a3) == 1);
    /* weights that do not fit the config */
    char cfg[512], b[512];
    snprintf(cfg, sizeof cfg, "%s/trainref/v3-mtp1/config.json", SEEK_TEST_DATA);
    snprintf(b, sizeof b, "%s/trainref/v2lite/batch.txt", SEEK_TEST_DATA);
    const char *a4[] = {"grad", "--weights", w, "--tokens", b, "--config", cfg, "--out", out, NULL};
    CHECK(sk_test_run_cmd(sk_cmd_grad, a4) == 1);
    CHECK(access(out, F_OK) != 0);
}

/* ---- training ---- */
static char cfgp[512], datap[512];

static void write_data(void) {
    snprintf(cfgp, sizeof cfgp, "%s/trainref/v3-mtp1/config.json", SEEK_TEST_DATA);
    snprintf(datap, sizeof datap, "%s/data.txt", tmpdir);
    FILE *f = fopen(datap, "w");
    uint32_t s = 12345;
    for (int i = 0; i < 40; i++) {
        s = s * 1103515245u + 12345u;
        int a = (int)(s >> 16) % 48, d = 1 + (int)(s >> 8) % 4;
        for (int j = 0; j < 13; j++) fprintf(f, "%s%d", j ? " " : "", (a + d * j) % 48);
        fputc('\n', f);
    }
    fclose(f);
}

static void test_train_resume(void) {
    write_data();
    char d1[300], d2[300], a[512], b[512];
    snprintf(d1, sizeof d1, "%s/straight", tmpdir);
    snprintf(d2, sizeof d2, "%s/resumed", tmpdir);
    const char *r1[] = {"train", "--config", cfgp,   "--data",   datap, "--out",
                        d1,      "--steps",  "40",   "--batch",  "4",   "--accum",
                        "2",     "--lr",     "3e-3", "--warmup", "4",   "--cosine-start",
                        "10",    "--quiet",  NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r1) == 0);
    const char *r2[] = {"train", "--config", cfgp,           "--data",   datap, "--out",
                        d2,      "--steps",  "40",           "--batch",  "4",   "--accum",
                        "2",     "--lr",     "3e-3",         "--warmup", "4",   "--cosine-start",
                        "10",    "--quiet",  "--stop-after", "20",       NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r2) == 0);
    snprintf(a, sizeof a, "%s/model.safetensors", d2);
    CHECK(access(a, F_OK) != 0); /* not finished yet */
    const char *r3[] = {"train", "--config", cfgp,       "--data",   datap, "--out",
                        d2,      "--steps",  "40",       "--batch",  "4",   "--accum",
                        "2",     "--lr",     "3e-3",     "--warmup", "4",   "--cosine-start",
                        "10",    "--quiet",  "--resume", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r3) == 0);
    const char *files[] = {"model.safetensors", "config.json"};
    for (int i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "%s/%s", d1, files[i]);
        snprintf(b, sizeof b, "%s/%s", d2, files[i]);
        CHECK_MSG(sk_test_same_file(a, b), "%s differs between the straight and the resumed run", files[i]);
    }
    /* checkpoint: weights + Adam moments (after the 8-byte magic and the 128-byte header,
     * which holds the metrics file size, itself depending on the timings) */
    {
        size_t na = 0, nb = 0;
        snprintf(a, sizeof a, "%s/ckpt.bin", d1);
        snprintf(b, sizeof b, "%s/ckpt.bin", d2);
        unsigned char *x = sk_test_read(a, &na), *y = sk_test_read(b, &nb);
        CHECK(x && y && na == nb && na > 144);
        if (x && y && na == nb && na > 144) CHECK(memcmp(x + 136, y + 136, na - 144) == 0);
        free(x);
        free(y);
    }
    /* metrics: 40 lines, equal up to the timing fields */
    {
        size_t na = 0, nb = 0;
        snprintf(a, sizeof a, "%s/metrics.jsonl", d1);
        snprintf(b, sizeof b, "%s/metrics.jsonl", d2);
        char *x = (char *)sk_test_read(a, &na), *y = (char *)sk_test_read(b, &nb);
        int lines = 0;
        if (x && y) {
            x[na] = y[nb] = 0;
            char *p = x, *q = y;
            while (*p && *q) {
                char *pe = strstr(p, ",\"tokens\""), *qe = strstr(q, ",\"tokens\"");
                CHECK(pe && qe && pe - p == qe - q && memcmp(p, q, (size_t)(pe - p)) == 0);
                lines++;
                p = strchr(p, '\n');
                q = strchr(q, '\n');
                if (!p || !q) break;
                p++;
                q++;
            }
        }
        CHECK(lines == 40);
        free(x);
        free(y);
    }
    /* the loss falls */
    snprintf(a, sizeof a, "%s/metrics.jsonl", d1);
    double l1 = sk_test_line_number(a, 1, "main"), l40 = sk_test_line_number(a, 40, "main");
    printf("train: main loss step 1 %.4f -> step 40 %.4f\n", l1, l40);
    CHECK(l40 < l1 - 0.5);
    /* the final model reloads into a trainer model with the same config */
    sk_err e = {0};
    sk_model_config cfg;
    CHECK_OK(sk_model_config_from_hf(cfgp, &cfg, &e), &e);
    sk_tmodel *m = NULL;
    CHECK_OK(sk_tmodel_new(&cfg, &m, &e), &e);
    snprintf(a, sizeof a, "%s/model.safetensors", d1);
    if (m) CHECK_OK(sk_tmodel_load(m, a, &e), &e);
    /* the bias moved (aux-loss-free update) and stays a multiple of gamma */
    if (m) {
        int bi = sk_tmodel_find(m, "model.layers.1.mlp.gate.e_score_correction_bias");
        CHECK(bi >= 0);
        double sumabs = 0;
        for (size_t j = 0; bi >= 0 && j < m->tp[bi].n; j++) {
            float v = m->params[m->tp[bi].off + j];
            sumabs += fabs(v);
            CHECK(fabs(v / 1e-3 - round(v / 1e-3)) < 1e-3);
        }
        CHECK(sumabs > 0);
    }
    sk_tmodel_free(m);
    /* a resume with a different batch is refused */
    const char *r4[] = {"train",   "--config", cfgp,      "--data", datap,     "--out",    d2,
                        "--steps", "50",       "--batch", "8",      "--quiet", "--resume", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r4) == 1);
    /* a corrupt checkpoint is refused */
    snprintf(a, sizeof a, "%s/ckpt.bin", d2);
    FILE *f = fopen(a, "r+b");
    fseek(f, 200, SEEK_SET);
    fputc(0x5a, f);
    fclose(f);
    const char *r5[] = {"train", "--config", cfgp,       "--data",  datap, "--out",
                        d2,      "--steps",  "50",       "--batch", "4",   "--accum",
                        "2",     "--quiet",  "--resume", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r5) == 1);
}

/* --eval-data: eval_loss on every --eval-every-th step and the last; the last one equals the
 * main loss of a forward pass of the saved model over the eval set; evaluating changes nothing
 * of the training (bit-identical weights to a run without it). */
static void test_train_eval(void) {
    write_data();
    char evp[300], d1[300], d2[300], a[512], b[512];
    snprintf(evp, sizeof evp, "%s/eval.txt", tmpdir);
    FILE *f = fopen(evp, "w");
    CHECK(f != NULL);
    if (!f) return;
    int32_t ev_ids[6 * 13];
    for (int i = 0; i < 6; i++) /* other progressions than the training lines' */
        for (int j = 0; j < 13; j++) ev_ids[i * 13 + j] = (5 + 7 * i + (i % 3 + 1) * j) % 48;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 13; j++) fprintf(f, "%d%c", ev_ids[i * 13 + j], j == 12 ? '\n' : ' ');
    if (f) fclose(f);
    snprintf(d1, sizeof d1, "%s/eval-on", tmpdir);
    snprintf(d2, sizeof d2, "%s/eval-off", tmpdir);
    const char *r1[] = {
        "train",       "--config", cfgp,           "--data", datap,  "--out", d1,
        "--steps",     "12",       "--batch",      "6",      "--lr", "3e-3",  "--quiet",
        "--eval-data", evp,        "--eval-every", "5",      NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r1) == 0);
    const char *r2[] = {"train", "--config", cfgp, "--data", datap,  "--out",   d2,  "--steps",
                        "12",    "--batch",  "6",  "--lr",   "3e-3", "--quiet", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, r2) == 0);
    snprintf(a, sizeof a, "%s/model.safetensors", d1);
    snprintf(b, sizeof b, "%s/model.safetensors", d2);
    CHECK_MSG(sk_test_same_file(a, b), "evaluating changed the training");
    snprintf(a, sizeof a, "%s/metrics.jsonl", d1);
    for (int line = 1; line <= 12; line++) {
        double v = sk_test_line_number(a, line, "eval_loss");
        bool want = line == 5 || line == 10 || line == 12;
        CHECK_MSG(want ? isfinite(v) && v > 0 : isnan(v), "line %d eval_loss %g", line, v);
        if (want) CHECK(sk_test_line_number(a, line, "eval_tokens") == 6 * 12);
    }
    double last = sk_test_line_number(a, 12, "eval_loss");
    /* the same number from the saved weights: one forward pass over the 6 eval lines */
    sk_err e = {0};
    sk_model_config cfg;
    CHECK_OK(sk_model_config_from_hf(cfgp, &cfg, &e), &e);
    sk_tmodel *m = NULL;
    CHECK_OK(sk_tmodel_new(&cfg, &m, &e), &e);
    snprintf(b, sizeof b, "%s/model.safetensors", d1);
    if (m) CHECK_OK(sk_tmodel_load(m, b, &e), &e);
    if (m) {
        sk_tbatch bt = {.B = 6, .S = 13, .ids = ev_ids, .mask = NULL};
        sk_tstats st;
        CHECK_OK(sk_tmodel_loss(m, &bt, &st, NULL, &e), &e);
        printf("train: held-out loss %.6f (metrics) vs %.6f (forward of the saved model)\n", last,
               st.main);
        CHECK_NEAR(last, st.main, 1e-5 * fabs(st.main));
    }
    sk_tmodel_free(m);
    /* the chart carries the held-out series */
    snprintf(b, sizeof b, "%s/loss.svg", d1);
    size_t n = 0;
    char *svg = (char *)sk_test_read(b, &n);
    CHECK(svg && n > 0);
    if (svg) {
        svg[n] = 0;
        CHECK(strstr(svg, "<polyline id=\"eval\"") && strstr(svg, "held-out"));
    }
    free(svg);
    /* an eval set of another sequence length is refused */
    f = fopen(evp, "w");
    if (f) {
        fputs("1 2 3 4 5\n", f);
        fclose(f);
    }
    CHECK(sk_test_run_cmd(sk_cmd_train, r1) == 1);
}

static void test_train_usage(void) {
    const char *a1[] = {"train", "--config", "x.json", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, a1) == 2);
    const char *a2[] = {"train", "--help", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, a2) == 0);
    const char *a3[] = {"train", "--config", cfgp,   "--data", datap,
                        "--out", tmpdir,     "--lr", "abc",    NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, a3) == 2);
    const char *a4[] = {"train",   "--config", cfgp,      "--data", datap,     "--out", tmpdir,
                        "--batch", "3",        "--accum", "2",      "--quiet", NULL};
    CHECK(sk_test_run_cmd(sk_cmd_train, a4) == 1);
}

/* ---- optimizer units ---- */
static void test_schedule(void) {
    sk_adamw_cfg c;
    sk_adamw_defaults(&c);
    c.lr = 1.0f;
    c.warmup = 4;
    c.constant = 6;
    c.total = 20;
    c.min_lr_frac = 0.1f;
    CHECK_NEAR(sk_lr_at(&c, 0), 0.25, 1e-7);
    CHECK_NEAR(sk_lr_at(&c, 3), 1.0, 1e-7);
    CHECK_NEAR(sk_lr_at(&c, 9), 1.0, 1e-7);
    CHECK_NEAR(sk_lr_at(&c, 10), 1.0, 1e-7);  /* cosine starts at 1 */
    CHECK_NEAR(sk_lr_at(&c, 15), 0.55, 1e-6); /* half way: 0.1 + 0.9 * 0.5 */
    CHECK_NEAR(sk_lr_at(&c, 20), 0.1, 1e-7);
    c.constant = -1;
    CHECK_NEAR(sk_lr_at(&c, 19), 1.0, 1e-7);
}

static void test_adamw(void) {
    sk_model_config cfg;
    sk_err e = {0};
    CHECK_OK(sk_model_config_from_hf(cfgp, &cfg, &e), &e);
    sk_tmodel *m = NULL;
    CHECK_OK(sk_tmodel_new(&cfg, &m, &e), &e);
    if (!m) return;
    for (size_t i = 0; i < m->n_floats; i++) m->params[i] = 0.5f;
    sk_tmodel_zero_grad(m);
    int ie = sk_tmodel_find(m, "model.embed_tokens.weight"),
        in = sk_tmodel_find(m, "model.norm.weight"),
        ib = sk_tmodel_find(m, "model.layers.1.mlp.gate.e_score_correction_bias");
    CHECK(ie >= 0 && in >= 0 && ib >= 0);
    m->grads[m->tp[ie].off] = 3.0f; /* the only non-zero gradient: norm 3 > clip 1 -> g = 1 */
    m->grads[m->tp[in].off] = 0.0f;
    float *mv = calloc(2 * m->n_floats, sizeof(float));
    sk_adamw_cfg c;
    sk_adamw_defaults(&c);
    c.lr = 0.01f;
    double norm = sk_adamw_step(m, &c, mv, 0);
    CHECK_NEAR(norm, 3.0, 1e-6);
    /* step 1: mhat = g, vhat = g^2 -> update = lr * (1 + wd * w) for a decayed matrix */
    CHECK_NEAR(m->params[m->tp[ie].off], 0.5 - 0.01 * (1.0 + 0.1 * 0.5), 1e-6);
    CHECK_NEAR(m->params[m->tp[ie].off + 1], 0.5 - 0.01 * 0.1 * 0.5, 1e-7); /* decay only */
    CHECK_NEAR(m->params[m->tp[in].off], 0.5, 0);                           /* norms: no decay */
    CHECK_NEAR(m->params[m->tp[ib].off], 0.5, 0);                           /* buffer untouched */
    /* bias update: b += gamma * sign(mean - load) */
    sk_tmodel_reset_load(m);
    int E = cfg.n_routed;
    for (int i = 0; i < E; i++) m->load[1 * E + i] = i < 2 ? 10 : 1;
    sk_tmodel_bias_update(m, 0.25f);
    CHECK_NEAR(m->params[m->tp[ib].off + 0], 0.25, 1e-7); /* overloaded: down */
    CHECK_NEAR(m->params[m->tp[ib].off + 5], 0.75, 1e-7); /* underloaded: up */
    free(mv);
    sk_tmodel_free(m);
}

/* FP8 checkpoints (F8_E4M3 + weight_scale_inv, 128x128 blocks) load dequantized. */
static void test_load_fp8(void) {
    sk_model_config cfg;
    sk_err e = {0};
    CHECK_OK(sk_model_config_from_hf(cfgp, &cfg, &e), &e);
    sk_tmodel *a = NULL, *b = NULL;
    CHECK_OK(sk_tmodel_new(&cfg, &a, &e), &e);
    CHECK_OK(sk_tmodel_new(&cfg, &b, &e), &e);
    if (!a || !b) goto out;
    sk_tmodel_init(a, 99, 0.5f);
    sk_st_writer *w = sk_st_writer_new(&e);
    float *expect = calloc(a->n_floats, sizeof(float));
    int n_fp8 = 0;
    for (int i = 0; i < a->n_tp; i++) {
        const sk_tparam *p = &a->tp[i];
        const float *src = a->params + p->off;
        if (p->n_dims == 2 && strstr(p->name, "proj")) {
            int64_t R = p->shape[0], C = p->shape[1], br = (R + 127) / 128, bc = (C + 127) / 128;
            float *sc = calloc((size_t)(br * bc), sizeof(float));
            uint8_t *q = malloc((size_t)(R * C));
            for (int64_t r = 0; r < R; r++)
                for (int64_t c = 0; c < C; c++) {
                    float *m = &sc[(r / 128) * bc + c / 128];
                    if (fabsf(src[r * C + c]) / 448.0f > *m) *m = fabsf(src[r * C + c]) / 448.0f;
                }
            for (int64_t r = 0; r < R; r++)
                for (int64_t c = 0; c < C; c++) {
                    float s = sc[(r / 128) * bc + c / 128];
                    q[r * C + c] = sk_f32_to_fp8_e4m3(s > 0 ? src[r * C + c] / s : 0);
                    expect[p->off + r * C + c] = sk_fp8_e4m3_to_f32(q[r * C + c]) * s;
                }
            char nm[256];
            snprintf(nm, sizeof nm, "%s_scale_inv", p->name);
            int64_t sh[2] = {br, bc};
            CHECK_OK(sk_st_writer_add(w, p->name, SK_ST_F8_E4M3, 2, p->shape, q, &e), &e);
            CHECK_OK(sk_st_writer_add(w, nm, SK_ST_F32, 2, sh, sc, &e), &e);
            free(sc);
            free(q);
            n_fp8++;
        } else {
            memcpy(expect + p->off, src, p->n * sizeof(float));
            CHECK_OK(sk_st_writer_add(w, p->name, SK_ST_F32, p->n_dims, p->shape, src, &e), &e);
        }
    }
    char path[512];
    snprintf(path, sizeof path, "%s/fp8.safetensors", tmpdir);
    CHECK_OK(sk_st_writer_write(w, path, &e), &e);
    sk_st_writer_free(w);
    CHECK_OK(sk_tmodel_load(b, path, &e), &e);
    CHECK(n_fp8 > 10);
    CHECK(memcmp(b->params, expect, a->n_floats * sizeof(float)) == 0);
    free(expect);
out:
    sk_tmodel_free(a);
    sk_tmodel_free(b);
}

/* A config with MTP but without mtp_loss_scaling_factor is refused (conventions, 2). */
static void test_config_needs_lambda(void) {
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s/trainref/v3-mtp1/config.json", SEEK_TEST_DATA);
    snprintf(dst, sizeof dst, "%s/nolambda.json", tmpdir);
    size_t n;
    char *t = (char *)sk_test_read(src, &n);
    t[n] = 0;
    char *k = strstr(t, "\"mtp_loss_scaling_factor\"");
    CHECK(k != NULL);
    if (k) memcpy(k, "\"xtp", 4); /* rename the key */
    FILE *f = fopen(dst, "w");
    fwrite(t, 1, n, f);
    fclose(f);
    free(t);
    sk_model_config cfg;
    sk_err e = {0};
    CHECK_OK(sk_model_config_from_hf(dst, &cfg, &e), &e);
    CHECK(sk_train_check_config_json(dst, &cfg, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "mtp_loss_scaling_factor") != NULL);
}

/* Gradient accumulation: two half batches with scale 1/2 give the full-batch gradient. */
static void test_accumulation(void) {
    sk_model_config cfg;
    sk_err e = {0};
    char cp[512];
    snprintf(cp, sizeof cp, "%s/trainref/v3-mtp2/config.json", SEEK_TEST_DATA);
    CHECK_OK(sk_model_config_from_hf(cp, &cfg, &e), &e);
    sk_tmodel *m = NULL;
    CHECK_OK(sk_tmodel_new(&cfg, &m, &e), &e);
    if (!m) return;
    sk_tmodel_init(m, 5, 0.2f);
    int32_t ids[4 * 12];
    for (int i = 0; i < 48; i++) ids[i] = (i * 7 + i / 12) % cfg.n_vocab;
    sk_tbatch full = {4, 12, ids, NULL}, h1 = {2, 12, ids, NULL}, h2 = {2, 12, ids + 24, NULL};
    sk_tstats st;
    sk_tmodel_zero_grad(m);
    CHECK_OK(sk_tmodel_grad(m, &full, 1.0f, &st, &e), &e);
    float *g = malloc(m->n_floats * sizeof(float));
    memcpy(g, m->grads, m->n_floats * sizeof(float));
    double lfull = st.loss, lacc = 0;
    sk_tmodel_zero_grad(m);
    CHECK_OK(sk_tmodel_grad(m, &h1, 0.5f, &st, &e), &e);
    lacc += 0.5 * st.loss;
    CHECK_OK(sk_tmodel_grad(m, &h2, 0.5f, &st, &e), &e);
    lacc += 0.5 * st.loss;
    CHECK_NEAR(lacc, lfull, 1e-5 * fabs(lfull));
    double md = 0, mx = 0;
    for (size_t i = 0; i < m->n_floats; i++) {
        md = fmax(md, fabs(g[i] - m->grads[i]));
        mx = fmax(mx, fabs(g[i]));
    }
    CHECK(mx > 0 && md <= 1e-5 * mx);
    /* the trainer's threaded loops (cross-entropy rows, products split in row blocks over the
     * pool) give the gradient to float rounding (the split products may round differently) */
    CHECK_OK(sk_tmodel_set_threads(m, 3, &e), &e);
    sk_tmodel_zero_grad(m);
    sk_tstats st3;
    CHECK_OK(sk_tmodel_grad(m, &full, 1.0f, &st3, &e), &e);
    {
        double d3 = 0;
        for (size_t i = 0; i < m->n_floats; i++) d3 = fmax(d3, fabs(g[i] - m->grads[i]));
        CHECK_MSG(d3 <= 1e-5 * mx, "3 threads: max|dg| %g (max|g| %g)", d3, mx);
    }
    CHECK_NEAR(st3.loss, lfull, 1e-6 * fabs(lfull));
    /* a batch large enough (N = 6 x 39 rows, > the 64-row threshold) for the pool-threaded
     * RMSNorm / RoPE / SwiGLU / attention loops and the split products: 1 thread and 3 threads
     * agree to float rounding, and 3 threads twice give the same bits */
    {
        int32_t big[6 * 40];
        for (int i = 0; i < 240; i++) big[i] = (i * 13 + i / 40 * 5) % cfg.n_vocab;
        sk_tbatch bb = {6, 40, big, NULL};
        sk_tstats s1, s3;
        CHECK_OK(sk_tmodel_set_threads(m, 1, &e), &e);
        sk_tmodel_zero_grad(m);
        CHECK_OK(sk_tmodel_grad(m, &bb, 1.0f, &s1, &e), &e);
        memcpy(g, m->grads, m->n_floats * sizeof(float));
        CHECK_OK(sk_tmodel_set_threads(m, 3, &e), &e);
        sk_tmodel_zero_grad(m);
        CHECK_OK(sk_tmodel_grad(m, &bb, 1.0f, &s3, &e), &e);
        double gm = 0, gd = 0;
        for (size_t i = 0; i < m->n_floats; i++) {
            gm = fmax(gm, fabs(g[i]));
            gd = fmax(gd, fabs(g[i] - m->grads[i]));
        }
        CHECK(gm > 0);
        CHECK_MSG(gd <= 1e-5 * gm, "1 vs 3 threads: max|dg| %g (max|g| %g)", gd, gm);
        CHECK_NEAR(s1.loss, s3.loss, 1e-6 * fabs(s1.loss));
        float *g3 = malloc(m->n_floats * sizeof(float));
        memcpy(g3, m->grads, m->n_floats * sizeof(float));
        sk_tstats s3b;
        sk_tmodel_zero_grad(m);
        CHECK_OK(sk_tmodel_grad(m, &bb, 1.0f, &s3b, &e), &e);
        CHECK(memcmp(g3, m->grads, m->n_floats * sizeof(float)) == 0);
        CHECK(s3b.loss == s3.loss);
        free(g3);
    }
    free(g);
    sk_tmodel_free(m);
}

/* bf16 products: rounding to nearest even, and a gradient close to (not equal to) f32 */
static void test_bf16(void) {
    float in[] = {1.0f,
                  1.0f + 0x1p-8f,
                  1.0f + 0x1p-8f + 0x1p-20f,
                  1.0f + 3 * 0x1p-8f,
                  -2.5f,
                  0x1p-130f,
                  3.0e38f,
                  INFINITY,
                  -INFINITY};
    float want[] = {1.0f,
                    1.0f,
                    1.0f + 0x1p-7f,
                    1.0f + 4 * 0x1p-8f,
                    -2.5f,
                    0x1p-130f,
                    3.0e38f /* rounded below */,
                    INFINITY,
                    -INFINITY};
    float out[9];
    tr_bf16_round(out, in, 9);
    for (int i = 0; i < 9; i++) {
        if (i == 6) {
            CHECK(fabsf(out[i] - in[i]) <= in[i] * 0x1p-8f && out[i] != in[i]);
            continue;
        }
        CHECK_MSG(out[i] == want[i], "bf16(%a) = %a, want %a", in[i], out[i], want[i]);
    }
    float nan_in = NAN, nan_out;
    tr_bf16_round(&nan_out, &nan_in, 1);
    CHECK(isnan(nan_out));
    sk_model_config cfg;
    sk_err e = {0};
    char cp[512];
    snprintf(cp, sizeof cp, "%s/trainref/v3-mtp2/config.json", SEEK_TEST_DATA);
    CHECK_OK(sk_model_config_from_hf(cp, &cfg, &e), &e);
    sk_tmodel *m = NULL;
    CHECK_OK(sk_tmodel_new(&cfg, &m, &e), &e);
    if (!m) return;
    sk_tmodel_init(m, 9, 0.2f);
    int32_t ids[4 * 12];
    for (int i = 0; i < 48; i++) ids[i] = (i * 5 + i / 12) % cfg.n_vocab;
    sk_tbatch bt = {4, 12, ids, NULL};
    sk_tstats s32, s16;
    sk_tmodel_zero_grad(m);
    CHECK_OK(sk_tmodel_grad(m, &bt, 1.0f, &s32, &e), &e);
    float *g = malloc(m->n_floats * sizeof(float));
    memcpy(g, m->grads, m->n_floats * sizeof(float));
    sk_train_set_bf16(true);
    CHECK(sk_train_get_bf16());
    sk_tmodel_zero_grad(m);
    CHECK_OK(sk_tmodel_grad(m, &bt, 1.0f, &s16, &e), &e);
    sk_train_set_bf16(false);
    double md = 0, mx = 0;
    for (size_t i = 0; i < m->n_floats; i++) {
        md = fmax(md, fabs(g[i] - m->grads[i]));
        mx = fmax(mx, fabs(g[i]));
    }
    printf("bf16 products: loss %.6f vs f32 %.6f; gradient max|diff|/max|g| %.2e\n", s16.loss,
           s32.loss, md / mx);
    CHECK(s16.loss != s32.loss && fabs(s16.loss - s32.loss) < 1e-2 * fabs(s32.loss));
    CHECK(md > 0 && md < 5e-2 * mx);
    free(g);
    sk_tmodel_free(m);
}

int main(void) {
    sk_train_set_threads(1);
    RUN(test_bf16);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/seek-train-test-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    write_data();
    RUN(test_grad_v3_mtp2);
    RUN(test_grad_v2lite);
    RUN(test_grad_usage);
    RUN(test_schedule);
    RUN(test_adamw);
    RUN(test_train_resume);
    RUN(test_train_eval);
    RUN(test_train_usage);
    RUN(test_load_fp8);
    RUN(test_accumulation);
    RUN(test_config_needs_lambda);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return sk_test_report("train_cli");
}
