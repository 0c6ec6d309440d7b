/* test_train_serve — a model trained by `seek train` is served by the inference runtime
 * without conversion: sk_model_open on the output folder (model.safetensors + config.json)
 * and sk_model_eval give the trainer's own forward logits (tolerance 1e-3 x max|logit|,
 * the golden-file tolerance for f32 paths), and so does DIR/model.gguf (written by seek
 * train through the HF->GGUF converter) opened by the GGUF loader. */
#include "sk_test.h"
#include "sk_train.h"

#include <stdlib.h>
#include <unistd.h>

static void test_serve(void) {
    char dir[] = "/tmp/seek-train-serve-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0);
        return;
    }
    char cfgp[512], datap[600], cmd[700];
    snprintf(cfgp, sizeof cfgp, "%s/trainref/v3-mtp1/config.json", SEEK_TEST_DATA);
    snprintf(datap, sizeof datap, "%s/data.txt", dir);
    FILE *f = fopen(datap, "w");
    for (int i = 0; i < 16; i++) {
        for (int j = 0; j < 13; j++) fprintf(f, "%s%d", j ? " " : "", (3 * i + 5 * j) % 48);
        fputc('\n', f);
    }
    fclose(f);
    sk_err e = {0};
    sk_model_config cfg;
    CHECK_OK(sk_model_config_from_hf(cfgp, &cfg, &e), &e);
    sk_trainer_opts o;
    sk_trainer_opts_defaults(&o);
    char out[600];
    snprintf(out, sizeof out, "%s/run", dir);
    o.out_dir = out;
    o.data_path = datap;
    o.steps = 5;
    o.batch = 4;
    o.quiet = true;
    o.opt.lr = 1e-2f;
    CHECK_OK(sk_train_run(&cfg, cfgp, &o, &e), &e);
    sk_tmodel *m = NULL;
    CHECK_OK(sk_tmodel_new(&cfg, &m, &e), &e);
    char wp[700];
    snprintf(wp, sizeof wp, "%s/model.safetensors", out);
    if (m) CHECK_OK(sk_tmodel_load(m, wp, &e), &e);
    sk_model_opts mo;
    sk_model_opts_init(&mo);
    mo.n_threads = 1;
    sk_model *im = NULL;
    CHECK_OK(sk_model_open(out, &mo, &im, &e), &e);
    sk_model_ctx *ctx = NULL;
    sk_model_ctx_params cp;
    sk_model_ctx_params_init(&cp);
    cp.n_ctx = 64;
    if (im) CHECK_OK(sk_model_ctx_new(im, &cp, &ctx, &e), &e);
    int32_t ids[13] = {5, 9, 13, 17, 21, 25, 29, 33, 37, 41, 45, 1, 0};
    int V = cfg.n_vocab;
    float *li = malloc(sizeof(float) * 12 * V), *lt = malloc(sizeof(float) * 12 * V);
    if (ctx && m) {
        CHECK_OK(sk_model_eval(ctx, ids, 12, li, true, &e), &e);
        sk_tbatch bt = {1, 13, ids, NULL};
        sk_tstats st;
        CHECK_OK(sk_tmodel_loss(m, &bt, &st, lt, &e), &e);
        double md = 0, mx = 0;
        /* not fmax(): two fmax reductions in one loop crash gcc 12's aarch64 vectorizer
         * (ICE in vect_transform_reduction); this form also lets a NaN fail the check */
        for (int i = 0; i < 12 * V; i++) {
            double d = fabs(li[i] - lt[i]), a = fabs(lt[i]);
            if (!(d <= md)) md = d;
            if (!(a <= mx)) mx = a;
        }
        printf("trained model served by sk_model_eval: max|logit diff| %.3e (max|logit| %.3f)\n",
               md, mx);
        CHECK(md <= 1e-3 * fmax(1.0, mx));
        /* the GGUF that seek train wrote beside it (deepseek2, llama.cpp names, converted by
         * sk_convert_hf) gives the same logits through the GGUF loader */
        char gp[700];
        snprintf(gp, sizeof gp, "%s/model.gguf", out);
        sk_model *gm = NULL;
        sk_model_ctx *gc = NULL;
        CHECK_OK(sk_model_open(gp, &mo, &gm, &e), &e);
        if (gm) CHECK_OK(sk_model_ctx_new(gm, &cp, &gc, &e), &e);
        if (gc) {
            CHECK(sk_model_get_config(gm)->arch == SK_ARCH_DEEPSEEK2);
            CHECK_OK(sk_model_eval(gc, ids, 12, li, true, &e), &e);
            double gd = 0;
            for (int i = 0; i < 12 * V; i++) gd = fmax(gd, fabs(li[i] - lt[i]));
            printf("model.gguf served by sk_model_eval: max|logit diff| %.3e\n", gd);
            CHECK(gd <= 1e-3 * fmax(1.0, mx));
        }
        sk_model_ctx_free(gc);
        sk_model_close(gm);
    }
    free(li);
    free(lt);
    sk_model_ctx_free(ctx);
    sk_model_close(im);
    sk_tmodel_free(m);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    sk_train_set_threads(1);
    RUN(test_serve);
    return sk_test_report("train_serve");
}
