/* cmd_grad.c — `seek grad`: the loss and every parameter gradient of a DeepSeek-architecture
 * model on one batch, per training-conventions.md, written as F32 safetensors. */
#include "sk_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void grad_usage(FILE *f) {
    fprintf(f, "usage: seek grad --weights W.safetensors --tokens BATCH.txt [--mask MASK.txt]\n"
               "                 [--config C.json] --out G.safetensors [--threads N]\n\n"
               "Computes loss = L_main + (lambda/D) sum_k L_k + alpha sum_l L_bal (training\n"
               "conventions) on the batch (one sequence per line, every line the same length)\n"
               "and writes G.safetensors: `loss` (shape []) and, for every tensor of the\n"
               "weights file, its gradient under the same name and shape (F32). The MTP copies\n"
               "of embedding and head carry the shared gradient; e_score_correction_bias gets\n"
               "zeros. config.json beside the weights is read when --config is absent.\n"
               "MASK.txt (same shape, 0/1): mask[b][j] = 1 counts token j as a target.\n");
}

int sk_cmd_grad(int argc, char **argv) {
    const char *weights = NULL, *tokens = NULL, *mask = NULL, *config = NULL, *out = NULL;
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            grad_usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "seek grad: %s needs a value (or is unknown)\n\n", a);
            grad_usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--weights"))
            weights = v;
        else if (!strcmp(a, "--tokens"))
            tokens = v;
        else if (!strcmp(a, "--mask"))
            mask = v;
        else if (!strcmp(a, "--config"))
            config = v;
        else if (!strcmp(a, "--out"))
            out = v;
        else if (!strcmp(a, "--threads"))
            threads = atoi(v);
        else {
            fprintf(stderr, "seek grad: unknown option %s\n\n", a);
            grad_usage(stderr);
            return 2;
        }
    }
    if (!weights || !tokens || !out) {
        fprintf(stderr, "seek grad: --weights, --tokens and --out are required\n\n");
        grad_usage(stderr);
        return 2;
    }
    sk_err e = {0};
    int rc = 1;
    char *cfg_path = NULL;
    sk_tmodel *m = NULL;
    sk_tokfile ids = {0}, mk = {0};
    uint8_t *mbuf = NULL;
    if (config) {
        cfg_path = strdup(config);
    } else {
        /* config.json beside the weights file (or inside the weights folder) */
        if (sk_is_dir(weights)) {
            cfg_path = sk_path_join(weights, "config.json", &e);
        } else {
            const char *sl = strrchr(weights, '/');
            size_t dl = sl ? (size_t)(sl - weights) : 1;
            char *dir = malloc(dl + 1);
            if (dir) {
                memcpy(dir, sl ? weights : ".", dl);
                dir[dl] = 0;
                cfg_path = sk_path_join(dir, "config.json", &e);
                free(dir);
            }
        }
    }
    if (!cfg_path) {
        fprintf(stderr, "seek grad: out of memory\n");
        return 1;
    }
    sk_model_config cfg;
    if (sk_model_config_from_hf(cfg_path, &cfg, &e) ||
        sk_train_check_config_json(cfg_path, &cfg, &e))
        goto fail;
    if (sk_tmodel_new(&cfg, &m, &e) || sk_tmodel_load(m, weights, &e) ||
        sk_tmodel_set_threads(m, threads, &e))
        goto fail;
    sk_train_set_threads(threads);
    if (sk_tokfile_read(tokens, cfg.n_vocab, &ids, &e)) goto fail;
    if (mask) {
        if (sk_tokfile_read(mask, 2, &mk, &e)) goto fail;
        if (mk.n_lines != ids.n_lines || mk.S != ids.S) {
            sk_err_set(&e, SK_ERR_INVALID,
                       "%s: %d lines of %d values, but %s has %d lines of %d ids", mask, mk.n_lines,
                       mk.S, tokens, ids.n_lines, ids.S);
            goto fail;
        }
        mbuf = malloc((size_t)mk.n_lines * mk.S);
        if (!mbuf) {
            sk_err_set(&e, SK_ERR_NOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < (size_t)mk.n_lines * mk.S; i++) mbuf[i] = (uint8_t)mk.ids[i];
    }
    sk_tbatch bt = {.B = ids.n_lines, .S = ids.S, .ids = ids.ids, .mask = mbuf};
    sk_tstats st;
    sk_tmodel_zero_grad(m);
    if (sk_tmodel_grad(m, &bt, 1.0f, &st, &e)) goto fail;
    if (sk_tmodel_save_grads(m, st.loss, out, &e)) goto fail;
    printf("loss %.9g (main %.9g", st.loss, st.main);
    for (int k = 0; k < cfg.n_mtp; k++) printf(", mtp%d %.9g", k + 1, st.mtp[k]);
    if (cfg.n_routed > 0) printf(", balance %.9g", st.bal);
    printf(") over %d x %d tokens -> %s\n", bt.B, bt.S, out);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "seek grad: %s\n", e.msg);
done:
    free(cfg_path);
    free(mbuf);
    sk_tokfile_free(&ids);
    sk_tokfile_free(&mk);
    sk_tmodel_free(m);
    return rc;
}
