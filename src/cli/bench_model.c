/* bench_model.c — model benchmark (see bench_model.h). */
#include "bench_model.h"
#include "sk_kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_sec(void) { /* CPU time of all threads of the process */
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Reads one byte per 4 KiB page of t, so that the timed passes do not pay for mapping the
 * file's pages (page faults) on first touch. */
static uint64_t touch(const sk_tensor *t) {
    if (!sk_tensor_present(t) || !t->data) return 0;
    const volatile uint8_t *p = t->data;
    uint64_t acc = 0;
    for (size_t i = 0; i < t->nbytes; i += 4096) acc += p[i];
    return acc + p[t->nbytes - 1];
}

static uint64_t touch_weights(const sk_model_weights *w) {
    const sk_model_config *c = &w->cfg;
    uint64_t acc = touch(&w->tok_embd) + touch(&w->output) + touch(&w->output_norm);
    for (int il = 0; il < c->n_layer + c->n_mtp; il++) {
        const sk_layer_weights *y = &w->layers[il];
        const sk_tensor *ts[] = {
            &y->attn_norm,  &y->q_a,      &y->q_a_norm,  &y->q_b,    &y->q,        &y->kv_a,
            &y->kv_a_norm,  &y->k_b,      &y->v_b,       &y->kv_b,   &y->k,        &y->v,
            &y->o,          &y->ffn_norm, &y->ffn_gate,  &y->ffn_up, &y->ffn_down, &y->gate_inp,
            &y->shexp_gate, &y->shexp_up, &y->shexp_down};
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) acc += touch(ts[i]);
        for (int x = 0; x < c->n_routed && y->exp_gate && y->exp_up && y->exp_down; x++)
            acc += touch(&y->exp_gate[x]) + touch(&y->exp_up[x]) + touch(&y->exp_down[x]);
    }
    return acc;
}

static uint64_t tb(const sk_tensor *t) {
    return sk_tensor_present(t) ? (uint64_t)t->nbytes : 0;
}

uint64_t sk_bench_bytes_per_token(const sk_model_weights *w) {
    const sk_model_config *c = &w->cfg;
    uint64_t b = 0;
    if (sk_tensor_present(&w->tok_embd) && w->tok_embd.ne[1] > 0)
        b += (uint64_t)sk_tensor_row_bytes(&w->tok_embd);
    b += tb(&w->output_norm) + tb(&w->output) + tb(&w->rope_freqs);
    for (int il = 0; il < c->n_layer; il++) {
        const sk_layer_weights *y = &w->layers[il];
        b += tb(&y->attn_norm) + tb(&y->q_a) + tb(&y->q_a_norm) + tb(&y->q_b) + tb(&y->q) +
             tb(&y->kv_a) + tb(&y->kv_a_norm);
        if (sk_tensor_present(&y->k_b) && sk_tensor_present(&y->v_b))
            b += tb(&y->k_b) + tb(&y->v_b);
        else
            b += tb(&y->kv_b);
        b += tb(&y->k) + tb(&y->v) + tb(&y->q_bias) + tb(&y->k_bias) + tb(&y->v_bias) + tb(&y->o) +
             tb(&y->ffn_norm) + tb(&y->ffn_gate) + tb(&y->ffn_up) + tb(&y->ffn_down) +
             tb(&y->gate_inp) + tb(&y->exp_bias) + tb(&y->shexp_gate) + tb(&y->shexp_up) +
             tb(&y->shexp_down);
        if (c->n_routed > 0 && y->exp_gate && y->exp_up && y->exp_down) {
            uint64_t per = tb(&y->exp_gate[0]) + tb(&y->exp_up[0]) + tb(&y->exp_down[0]);
            b += per * (uint64_t)c->n_active;
        }
    }
    return b;
}

/* a bandwidth pass every BW_EVERY generated tokens (the pass is not timed as decoding) */
enum { BW_EVERY = 8 };

/* One bandwidth pass over the probe's mib MiB: keeps the best GB/s (*bw) and GB per
 * CPU-second (*bw_cpu); adds the pass's wall and CPU seconds to *wall / *cpu when given. */
static double bw_pass(sk_bw_probe *probe, long mib, double *bw, double *bw_cpu, double *wall,
                      double *cpu) {
    double t0 = sk_time_sec(), c0 = cpu_sec();
    double g = sk_bw_probe_run(probe);
    double dc = cpu_sec() - c0;
    if (g > *bw) *bw = g;
    if (dc > 0 && (double)((size_t)mib << 20) / 1e9 / dc > *bw_cpu)
        *bw_cpu = (double)((size_t)mib << 20) / 1e9 / dc;
    if (wall) *wall += sk_time_sec() - t0;
    if (cpu) *cpu += dc;
    return g;
}

/* A decoding window (the tokens between two bandwidth passes) and the pass right after it:
 * both ran under about the same load from the rest of the machine. */
typedef struct bw_window {
    int tokens;
    double seconds, pass_gbps;
} bw_window;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: seek bench -m MODEL [-p 512] [-n 128] [-t THREADS] [options]\n\n"
            "Evaluates a random prompt of -p tokens in one batch, then decodes -n tokens one at\n"
            "a time (greedy), and reports tokens/s of both, the weight bytes read per generated\n"
            "token (MoE: dense weights + the routed experts actually used), the memory read\n"
            "bandwidth measured in the same run, the share of it the decoding achieves, and\n"
            "the KV / latent cache bytes per token. The weights are touched once before the\n"
            "timed passes (page faults of the mapped file are not timed). Bandwidth passes\n"
            "run between the generated tokens (one every 8, not timed as decoding) and after\n"
            "each repetition, so both see the same load on the machine; the best pass is the\n"
            "roofline the decoding is compared with (best repetition). `paired` compares\n"
            "each stretch of decoding between two passes with the pass right after it (the\n"
            "median over all stretches of all repetitions): the best pass of a run can come\n"
            "from a quiet moment the decoding did not get, so on a busy machine this reads\n"
            "higher and closer to what the code achieves. The same ratio per CPU-second\n"
            "(bytes / CPU time of all threads) is printed too: it is steadier on a shared\n"
            "machine. `breakdown` splits a generated token's time\n"
            "into the matrix products, choosing the token, and everything else.\n\n"
            "options:\n"
            "  -p N                    prompt tokens (default 512)\n"
            "  -n N                    generated tokens (default 128)\n"
            "  -r, --reps N            repetitions, best taken (default 1)\n"
            "  --bw-mib N              buffer for the bandwidth probe in MiB (default 1024;\n"
            "                          0 skips the probe)\n"
            "  -m, --model PATH        a .gguf file or a Hugging Face folder\n"
            "  -t, --threads N         threads (default: all CPUs)\n"
            "  --cache-type T          f32 (default), f16, bf16, q8_0\n"
            "  --no-mmap               read the weights into memory instead of mapping the file\n"
            "  --mtp                   also decode with MTP self-speculation (models with an\n"
            "                          MTP module): tokens/s, draft acceptance rate, main-model\n"
            "                          calls, and whether the tokens equal plain greedy's\n");
}

static int32_t argmax(const float *x, int n) {
    return (int32_t)sk_argmax(x, n);
}

typedef struct mtp_result {
    double tps;
    int drafts, accepted, calls;
} mtp_result;

/* Greedy decoding of n_gen tokens after the prompt with MTP self-speculation (the scheme of
 * sk_gen_run with params.mtp, written on the model API): the MTP module drafts the token after
 * the chosen one, the model evaluates both in one call, a wrong draft is truncated away.
 * Writes the chosen tokens to out[n_gen]. */
static int bench_mtp(sk_model_ctx *ctx, const sk_model_config *c, const int32_t *prompt,
                     int n_prompt, int n_gen, int32_t *out, mtp_result *r, sk_err *e) {
    const size_t E = (size_t)c->n_embd, V = (size_t)c->n_vocab;
    int n_ctx = sk_model_ctx_capacity(ctx);
    int rc = SK_ERR_NOMEM;
    float *hid = malloc((size_t)n_prompt * E * sizeof(float));
    float *pend = malloc(4 * E * sizeof(float)), *vlog = malloc(2 * V * sizeof(float));
    float *vhid = malloc(2 * E * sizeof(float)), *mlog = malloc(V * sizeof(float));
    int32_t *hist = malloc((size_t)n_ctx * sizeof(int32_t));
    memset(r, 0, sizeof *r);
    if (!hid || !pend || !vlog || !vhid || !mlog || !hist) {
        sk_err_set(e, rc, "out of memory");
        goto done;
    }
    sk_model_ctx_reset(ctx);
    if ((rc = sk_model_eval_ex(ctx, prompt, n_prompt, NULL, true, hid, e))) goto done;
    if (n_prompt > 1 &&
        (rc = sk_model_mtp_eval(ctx, 1, prompt + 1, hid, n_prompt - 1, NULL, false, NULL, e)))
        goto done;
    if ((rc = sk_model_logits_from_hidden(ctx, hid + (size_t)(n_prompt - 1) * E, 1, vlog, e)))
        goto done;
    memcpy(hist, prompt, (size_t)n_prompt * sizeof *prompt);
    memcpy(pend, hid + (size_t)(n_prompt - 1) * E, E * sizeof(float));
    int P = n_prompt, npend = 1, done_n = 1;
    bool live = true;
    double t0 = sk_time_sec();
    int32_t tok = argmax(vlog, (int)V);
    out[0] = tok;
    while (done_n < n_gen) {
        if (live && P + 2 <= n_ctx && done_n + 1 < n_gen) {
            int mp = sk_model_ctx_mtp_pos(ctx, 1);
            int32_t mt[4];
            for (int j = 0; j < npend; j++) mt[j] = j + 1 < npend ? hist[mp + j + 1] : tok;
            if ((rc = sk_model_mtp_eval(ctx, 1, mt, pend, npend, mlog, false, NULL, e))) goto done;
            int32_t pair[2] = {tok, argmax(mlog, (int)V)};
            if ((rc = sk_model_eval_ex(ctx, pair, 2, vlog, true, vhid, e))) goto done;
            r->calls++;
            r->drafts++;
            hist[P++] = tok;
            memcpy(pend, vhid, E * sizeof(float));
            npend = 1;
            int32_t y = argmax(vlog, (int)V);
            out[done_n++] = y;
            if (y == pair[1] && done_n < n_gen) {
                r->accepted++;
                hist[P++] = y;
                memcpy(pend + E, vhid + E, E * sizeof(float));
                npend = 2;
                tok = argmax(vlog + V, (int)V);
                out[done_n++] = tok;
            } else {
                if ((rc = sk_model_ctx_truncate(ctx, P, e))) goto done;
                tok = y;
            }
        } else {
            live = false; /* the MTP slot falls behind; plain decoding from here */
            if ((rc = sk_model_eval(ctx, &tok, 1, vlog, false, e))) goto done;
            r->calls++;
            hist[P++] = tok;
            tok = argmax(vlog, (int)V);
            out[done_n++] = tok;
        }
    }
    r->tps = n_gen / (sk_time_sec() - t0);
    rc = SK_OK;
done:
    free(hid);
    free(pend);
    free(vlog);
    free(vhid);
    free(mlog);
    free(hist);
    return rc;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int sk_bench_model(int argc, char **argv) {
    const char *model = NULL;
    long n_prompt = 512, n_gen = 128, threads = 0, reps = 1, bw_mib = 1024;
    int cache_type = SK_CACHE_F32;
    bool mtp = false, no_mmap = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--mtp")) {
            mtp = true;
            continue;
        }
        if (!strcmp(a, "--no-mmap")) {
            no_mmap = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "seek bench: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        int bad = 0;
        if (!strcmp(a, "-m") || !strcmp(a, "--model"))
            model = v;
        else if (!strcmp(a, "--cache-type"))
            bad = (cache_type = sk_cache_type_from_name(v)) < 0;
        else if (!strcmp(a, "-p"))
            bad = parse_long(v, 1, 1 << 20, &n_prompt);
        else if (!strcmp(a, "-n"))
            bad = parse_long(v, 1, 1 << 20, &n_gen);
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads"))
            bad = parse_long(v, 0, 1024, &threads);
        else if (!strcmp(a, "-r") || !strcmp(a, "--reps"))
            bad = parse_long(v, 1, 100, &reps);
        else if (!strcmp(a, "--bw-mib"))
            bad = parse_long(v, 0, 1 << 20, &bw_mib);
        else {
            fprintf(stderr, "seek bench: unknown option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
        if (bad) {
            fprintf(stderr, "seek bench: bad value '%s' for %s\n", v, a);
            return 2;
        }
    }
    if (!model) {
        fprintf(stderr, "seek bench: need -m MODEL (or `seek bench kernels`)\n\n");
        usage(stderr);
        return 2;
    }
    sk_err e = {0};
    sk_model *m = NULL;
    sk_model_ctx *ctx = NULL;
    int32_t *toks = NULL, *plain_out = NULL, *mtp_out = NULL;
    float *logits = NULL;
    sk_bw_probe *probe = NULL;
    bw_window *win = NULL; /* decoding windows and their bandwidth passes */
    double *wr = NULL;
    int nwin = 0, max_win = 0;
    int ret = 1;
    sk_model_opts mo;
    sk_model_opts_init(&mo);
    mo.n_threads = (int)threads;
    mo.no_mmap = no_mmap;
    if (sk_model_open(model, &mo, &m, &e)) {
        fprintf(stderr, "seek bench: %s\n", e.msg);
        return 1;
    }
    const sk_model_config *c = sk_model_get_config(m);
    if (mtp && (c->arch != SK_ARCH_DEEPSEEK2 || c->n_mtp < 1)) {
        fprintf(stderr, "seek bench: --mtp: %s has no MTP module\n", model);
        goto done;
    }
    sk_model_ctx_params cp;
    sk_model_ctx_params_init(&cp);
    cp.n_ctx = (int)(n_prompt + n_gen);
    cp.cache_type = cache_type;
    if (sk_model_ctx_new(m, &cp, &ctx, &e)) {
        fprintf(stderr, "seek bench: %s\n", e.msg);
        goto done;
    }
    toks = calloc((size_t)n_prompt, sizeof *toks);
    plain_out = calloc((size_t)n_gen, sizeof *plain_out);
    mtp_out = calloc((size_t)n_gen, sizeof *mtp_out);
    logits = calloc((size_t)c->n_vocab, sizeof *logits);
    if (!toks || !logits || !plain_out || !mtp_out) {
        fprintf(stderr, "seek bench: out of memory\n");
        goto done;
    }
    uint64_t x = 0x243F6A8885A308D3ull;
    for (long i = 0; i < n_prompt; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        toks[i] = (int32_t)(x % (uint64_t)c->n_vocab);
    }
    if (c->bos_id >= 0 && c->bos_id < c->n_vocab) toks[0] = c->bos_id;
    sk_kctx *kc = sk_model_kctx(m);
    if (bw_mib > 0) {
        probe = sk_bw_probe_new(kc, (size_t)bw_mib << 20, &e);
        if (!probe) fprintf(stderr, "seek bench: bandwidth probe: %s\n", e.msg);
    }
    if (touch_weights(sk_model_get_weights(m)) == 0x5eedull) fprintf(stderr, " \n");
    double best_pp = 0, best_tg = 0, pp_cpu = 0, tg_cpu = 0, bw = -1, bw_cpu = -1;
    double tg_wall = 0, tg_pick = 0;
    sk_kctx_stats tg_st = {0};
    max_win = (int)(reps * (n_gen / BW_EVERY + 1));
    win = malloc((size_t)max_win * sizeof *win);
    wr = malloc((size_t)max_win * sizeof *wr);
    if (!win || !wr) {
        fprintf(stderr, "seek bench: out of memory\n");
        goto done;
    }
    for (long r = 0; r < reps; r++) {
        sk_model_ctx_reset(ctx);
        double t0 = sk_time_sec(), c0 = cpu_sec();
        if (sk_model_eval(ctx, toks, (int)n_prompt, logits, false, &e)) {
            fprintf(stderr, "seek bench: prompt: %s\n", e.msg);
            goto done;
        }
        double pp = (double)n_prompt / (sk_time_sec() - t0);
        double ppc = (cpu_sec() - c0) / (double)n_prompt;
        double pick = 0;
        sk_kctx_stats_reset(kc);
        t0 = sk_time_sec();
        c0 = cpu_sec();
        double probe_wall = 0, probe_cpu = 0; /* taken out of the decoding's times */
        double w0 = t0;                       /* the current window's start */
        long wi = 0;                          /* and first token */
        for (long i = 0; i < n_gen; i++) {
            if (probe && i % BW_EVERY == BW_EVERY / 2) { /* a bandwidth pass between tokens */
                double tw = sk_time_sec();
                double g = bw_pass(probe, bw_mib, &bw, &bw_cpu, &probe_wall, &probe_cpu);
                if (i > wi && nwin < max_win) win[nwin++] = (bw_window){(int)(i - wi), tw - w0, g};
                w0 = sk_time_sec();
                wi = i;
            }
            double ta = sk_time_sec();
            int32_t next = argmax(logits, c->n_vocab);
            plain_out[i] = next;
            pick += sk_time_sec() - ta;
            if (sk_model_eval(ctx, &next, 1, logits, false, &e)) {
                fprintf(stderr, "seek bench: decode: %s\n", e.msg);
                goto done;
            }
        }
        double wall = sk_time_sec() - t0 - probe_wall;
        double tg = (double)n_gen / wall, tgc = (cpu_sec() - c0 - probe_cpu) / (double)n_gen;
        if (pp > best_pp) best_pp = pp, pp_cpu = ppc;
        if (tg > best_tg) {
            best_tg = tg, tg_cpu = tgc, tg_wall = wall, tg_pick = pick;
            sk_kctx_stats_get(kc, &tg_st);
        }
        /* and three more after the repetition (short runs get several passes too) */
        for (int b = 0; probe && b < 3; b++) bw_pass(probe, bw_mib, &bw, &bw_cpu, NULL, NULL);
    }
    mtp_result mr = {0};
    for (long r = 0; mtp && r < reps; r++) {
        mtp_result cur;
        if (bench_mtp(ctx, c, toks, (int)n_prompt, (int)n_gen, mtp_out, &cur, &e)) {
            fprintf(stderr, "seek bench: mtp decode: %s\n", e.msg);
            goto done;
        }
        if (cur.tps > mr.tps) mr = cur;
    }
    uint64_t bpt = sk_bench_bytes_per_token(sk_model_get_weights(m));
    /* MLA with the F16 Wkᵀ cache: decoding reads it instead of the k rows of attn_kv_b */
    for (int l = 0; l < c->n_layer; l++) {
        size_t wb = sk_model_mla_wkt_bytes(m, l);
        const sk_tensor *kvb = &sk_model_get_weights(m)->layers[l].kv_b;
        if (!wb || !sk_tensor_present(kvb)) continue;
        uint64_t krows = (uint64_t)kvb->nbytes / (uint64_t)(c->qk_nope_dim + c->v_head_dim) *
                         (uint64_t)c->qk_nope_dim;
        bpt = bpt - krows + wb;
    }
    double achieved = (double)bpt * best_tg / 1e9;
    printf("model:       %s (%d layers, %d threads)\n", model, c->n_layer,
           sk_kctx_threads(sk_model_kctx(m)));
    printf("prompt:      %ld tokens, %.2f tokens/s (%.1f ms CPU per token)\n", n_prompt, best_pp,
           1e3 * pp_cpu);
    printf("generation:  %ld tokens, %.2f tokens/s (%.1f ms CPU per token)\n", n_gen, best_tg,
           1e3 * tg_cpu);
    printf("weights/tok: %.1f MB read per generated token%s\n", (double)bpt / 1e6,
           c->n_routed > 0 ? " (dense + routed experts used)" : "");
    printf("achieved:    %.2f GB/s of weight reads\n", achieved);
    if (bw > 0)
        printf("bandwidth:   %.2f GB/s measured (%zu MiB read), %.1f%% achieved\n", bw,
               (size_t)bw_mib, 100.0 * achieved / bw);
    if (nwin > 0) {
        for (int i = 0; i < nwin; i++)
            wr[i] = (double)bpt * win[i].tokens / win[i].seconds / 1e9 / win[i].pass_gbps;
        qsort(wr, (size_t)nwin, sizeof *wr, cmp_double);
        printf("paired:      %.1f%% median (%.1f-%.1f%%) over %d windows: each window's decoding "
               "against the bandwidth pass right after it\n",
               100.0 * (nwin % 2 ? wr[nwin / 2] : 0.5 * (wr[nwin / 2 - 1] + wr[nwin / 2])),
               100.0 * wr[0], 100.0 * wr[nwin - 1], nwin);
    }
    if (bw_cpu > 0 && tg_cpu > 0)
        printf("per CPU-s:   decode %.2f GB of weights per CPU-second, bandwidth probe %.2f, "
               "%.1f%% (steadier under load)\n",
               (double)bpt / 1e9 / tg_cpu, bw_cpu, 100.0 * (double)bpt / 1e9 / tg_cpu / bw_cpu);
    if (tg_wall > 0) {
        double per = 1e3 * tg_wall / (double)n_gen, mv = 1e3 * tg_st.seconds / (double)n_gen;
        double pk = 1e3 * tg_pick / (double)n_gen;
        printf("breakdown:   %.2f ms per generated token: %.2f ms in %.0f products (%.0f "
               "dispatches, %.1f MB at %.2f GB/s), %.2f ms choosing the token, %.2f ms other "
               "(attention, norms, RoPE, routing, embedding)\n",
               per, mv, (double)tg_st.ops / (double)n_gen, (double)tg_st.dispatches / (double)n_gen,
               (double)tg_st.weight_bytes / 1e6 / (double)n_gen,
               tg_st.seconds > 0 ? (double)tg_st.weight_bytes / tg_st.seconds / 1e9 : 0.0, pk,
               per - mv - pk);
    }
    if (mtp) {
        bool same = !memcmp(plain_out, mtp_out, (size_t)n_gen * sizeof *mtp_out);
        printf("mtp:         %ld tokens, %.2f tokens/s (%.2fx), %d drafts, %d accepted (%.1f%%), "
               "%d main-model calls (plain: %ld), tokens %s plain greedy\n",
               n_gen, mr.tps, best_tg > 0 ? mr.tps / best_tg : 0, mr.drafts, mr.accepted,
               mr.drafts ? 100.0 * mr.accepted / mr.drafts : 0.0, mr.calls, n_gen,
               same ? "equal" : "DIFFER from");
    }
    printf("cache:       %zu bytes per token (%s)\n", sk_model_ctx_cache_bytes_per_token(ctx),
           sk_cache_type_name(cache_type));
    ret = 0;
done:
    free(win);
    free(wr);
    free(toks);
    free(plain_out);
    free(mtp_out);
    free(logits);
    sk_bw_probe_free(probe);
    sk_model_ctx_free(ctx);
    sk_model_close(m);
    return ret;
}
