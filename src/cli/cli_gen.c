/* cli_gen.c — model opening, sampling options and reasoning-aware printing for the generating
 * commands (see cli_gen.h). */
#include "cli_gen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* which sampling fields the user set */
enum {
    SET_TEMP = 1, SET_TOPK = 2, SET_TOPP = 4, SET_MINP = 8, SET_REP = 16, SET_PRES = 32,
    SET_FREQ = 64, SET_LASTN = 128, SET_SEED = 256,
};
static unsigned g_set;

void cli_opts_init(cli_opts *o) {
    memset(o, 0, sizeof *o);
    o->cache_type = SK_CACHE_F32;
    o->sampling = sk_sampler_default_params();
    g_set = 0;
}

static int parse_num(const char *cmd, const char *opt, const char *s, double lo, double hi,
                     double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "seek %s: %s wants a number in [%g, %g], not '%s'\n", cmd, opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_opts_parse(cli_opts *o, const char *cmd, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    if (!strcmp(a, "--no-mmap")) {
        o->no_mmap = true;
        return 1;
    }
    static const char *const with_value[] = {
        "-m", "--model", "--tokenizer", "-t", "--threads", "-c", "--ctx", "--cache-type", "--chat-template",
        "--temp", "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--presence-penalty",
        "--frequency-penalty", "--repeat-last-n", "--seed", NULL};
    int k = 0;
    while (with_value[k] && strcmp(with_value[k], a)) k++;
    if (!with_value[k]) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "seek %s: %s needs a value\n", cmd, a);
        return -1;
    }
    const char *v = argv[++*i];
    double d;
    if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
        o->model = v;
    } else if (!strcmp(a, "--tokenizer")) {
        o->tokenizer = v;
    } else if (!strcmp(a, "--chat-template")) {
        o->chat_template = v;
    } else if (!strcmp(a, "--cache-type")) {
        o->cache_type = sk_cache_type_from_name(v);
        if (o->cache_type < 0) {
            fprintf(stderr, "seek %s: --cache-type wants f32, f16, bf16 or q8_0, not '%s'\n", cmd, v);
            return -1;
        }
    } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
        if (parse_num(cmd, a, v, 0, 1024, &d)) return -1;
        o->n_threads = (int)d;
    } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx")) {
        if (parse_num(cmd, a, v, 1, 1 << 24, &d)) return -1;
        o->n_ctx = (int)d;
    } else if (!strcmp(a, "--temp")) {
        if (parse_num(cmd, a, v, 0, 100, &d)) return -1;
        o->sampling.temperature = (float)d;
        o->temp_set = true;
        g_set |= SET_TEMP;
    } else if (!strcmp(a, "--top-k")) {
        if (parse_num(cmd, a, v, 0, 1 << 24, &d)) return -1;
        o->sampling.top_k = (int32_t)d;
        g_set |= SET_TOPK;
    } else if (!strcmp(a, "--top-p")) {
        if (parse_num(cmd, a, v, 0, 1, &d)) return -1;
        o->sampling.top_p = (float)d;
        g_set |= SET_TOPP;
    } else if (!strcmp(a, "--min-p")) {
        if (parse_num(cmd, a, v, 0, 1, &d)) return -1;
        o->sampling.min_p = (float)d;
        g_set |= SET_MINP;
    } else if (!strcmp(a, "--repeat-penalty")) {
        if (parse_num(cmd, a, v, 1e-3, 100, &d)) return -1;
        o->sampling.repetition_penalty = (float)d;
        g_set |= SET_REP;
    } else if (!strcmp(a, "--presence-penalty")) {
        if (parse_num(cmd, a, v, -2, 2, &d)) return -1;
        o->sampling.presence_penalty = (float)d;
        g_set |= SET_PRES;
    } else if (!strcmp(a, "--frequency-penalty")) {
        if (parse_num(cmd, a, v, -2, 2, &d)) return -1;
        o->sampling.frequency_penalty = (float)d;
        g_set |= SET_FREQ;
    } else if (!strcmp(a, "--repeat-last-n")) {
        if (parse_num(cmd, a, v, -1, 1 << 24, &d)) return -1;
        o->sampling.penalty_last_n = (int32_t)d;
        g_set |= SET_LASTN;
    } else if (!strcmp(a, "--seed")) {
        if (parse_num(cmd, a, v, 0, 9007199254740992.0, &d)) return -1;
        o->sampling.seed = (uint64_t)d;
        g_set |= SET_SEED;
    }
    o->sampling_set = g_set != 0;
    return 1;
}

void cli_opts_usage(FILE *f, bool sampling) {
    fprintf(f, "  -m, --model PATH        a .gguf file (any split) or a Hugging Face folder\n"
               "  --tokenizer PATH        the tokenizer of another .gguf file or Hugging Face\n"
               "                          folder / tokenizer.json (default: the model's own)\n"
               "  -t, --threads N         threads (default: all CPUs)\n"
               "  --no-mmap               read the weights into memory instead of mapping the\n"
               "                          file (slower start, a private copy; streams faster\n"
               "                          on some machines)\n"
               "  -c, --ctx N             context size in tokens (default: min(model, 4096))\n"
               "  --cache-type T          KV/latent cache type: f32 (default), f16, bf16, q8_0\n");
    if (!sampling) return;
    fprintf(f, "  --chat-template NAME    deepseek3, deepseek-r1, r1-distill-qwen, r1-distill-llama,\n"
               "                          deepseek2 (default: recognised from the model)\n"
               "  --temp T                temperature, 0 = greedy (default 0.6 for R1-style\n"
               "                          reasoners, else 0.7)\n"
               "  --top-k K  --top-p P  --min-p M   truncation (default top-p 0.95)\n"
               "  --repeat-penalty R  --presence-penalty P  --frequency-penalty F\n"
               "  --repeat-last-n N       penalty window (default 64, -1 all)\n"
               "  --seed S                sampling seed (default 0)\n");
}

int cli_llm_open(cli_llm *l, const cli_opts *o, bool with_gen, sk_err *e) {
    memset(l, 0, sizeof *l);
    if (!o->model) return sk_err_set(e, SK_ERR_INVALID, "no model given (-m PATH)");
    sk_model_opts mo;
    sk_model_opts_init(&mo);
    mo.n_threads = o->n_threads;
    mo.no_mmap = o->no_mmap;
    int rc = sk_model_open(o->model, &mo, &l->m, e);
    if (rc) return rc;
    const char *tp = o->tokenizer ? o->tokenizer : o->model;
    size_t tl = strlen(tp);
    bool gguf = !sk_is_dir(tp) && !(tl >= 5 && !strcmp(tp + tl - 5, ".json"));
    rc = gguf ? sk_tokenizer_load_gguf_file(tp, &l->tok, e) : sk_tokenizer_load_hf(tp, &l->tok, e);
    if (rc) {
        sk_err_prefix(e, "%s: tokenizer", tp);
        goto fail;
    }
    l->kind = SK_CHAT_UNKNOWN;
    if (o->chat_template) {
        rc = sk_chat_kind_from_name(o->chat_template, &l->kind, e);
        if (rc) goto fail;
    } else {
        const char *tmpl = sk_tokenizer_chat_template(l->tok);
        sk_err ke = {0};
        if (!tmpl)
            snprintf(l->kind_err, sizeof l->kind_err,
                     "%s has no chat template (use --chat-template NAME or --raw)", o->model);
        else if (sk_chat_template_detect(tmpl, sk_arch_name(sk_model_get_config(l->m)->arch),
                                         &l->kind, &ke))
            snprintf(l->kind_err, sizeof l->kind_err, "%s", ke.msg);
    }
    l->reasoner = l->kind != SK_CHAT_UNKNOWN && sk_chat_kind_forces_think(l->kind);
    if (with_gen) {
        sk_model_ctx_params cp;
        sk_model_ctx_params_init(&cp);
        if (o->n_ctx > 0) cp.n_ctx = o->n_ctx;
        cp.cache_type = o->cache_type;
        rc = sk_gen_new(l->m, l->tok, &cp, &l->gen, e);
        if (rc) goto fail;
    }
    return SK_OK;
fail:
    cli_llm_close(l);
    return rc;
}

void cli_llm_close(cli_llm *l) {
    sk_gen_free(l->gen);
    sk_tokenizer_free(l->tok);
    sk_model_close(l->m);
    memset(l, 0, sizeof *l);
}

sk_sampler_params cli_llm_sampling(const cli_llm *l, const cli_opts *o) {
    sk_sampler_params p;
    if (l->reasoner) {
        p = sk_sampler_reasoner_params();
    } else {
        p = sk_sampler_default_params();
        p.temperature = 0.7f;
        p.top_p = 0.95f;
    }
    const sk_sampler_params *u = &o->sampling;
    if (g_set & SET_TEMP) p.temperature = u->temperature;
    if (g_set & SET_TOPK) p.top_k = u->top_k;
    if (g_set & SET_TOPP) p.top_p = u->top_p;
    if (g_set & SET_MINP) p.min_p = u->min_p;
    if (g_set & SET_REP) p.repetition_penalty = u->repetition_penalty;
    if (g_set & SET_PRES) p.presence_penalty = u->presence_penalty;
    if (g_set & SET_FREQ) p.frequency_penalty = u->frequency_penalty;
    if (g_set & SET_LASTN) p.penalty_last_n = u->penalty_last_n;
    if (g_set & SET_SEED) p.seed = u->seed;
    return p;
}

int cli_llm_encode_chat(cli_llm *l, const sk_chat_msg *msgs, size_t n, int32_t **ids, size_t *n_ids,
                        sk_err *e) {
    *ids = NULL;
    *n_ids = 0;
    if (l->kind == SK_CHAT_UNKNOWN) return sk_err_set(e, SK_ERR_UNSUPPORTED, "%s", l->kind_err);
    /* Message text is protected: only the template's own markup becomes special tokens. */
    return sk_chat_encode(l->tok, l->kind, msgs, n, true, SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS,
                          ids, n_ids, e);
}

/* ---- generation flags of run and chat ---- */

void cli_gen_flags_init(cli_gen_flags *g) {
    *g = (cli_gen_flags){.system = NULL, .n_predict = -1, .think_budget = -1};
}

int cli_gen_flags_parse(cli_gen_flags *g, const char *cmd, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    if (!strcmp(a, "--hide-think")) {
        g->hide_think = true;
    } else if (!strcmp(a, "--stats")) {
        g->stats = true;
    } else if (!strcmp(a, "--mtp")) {
        g->mtp = true;
    } else if (*i + 1 < argc && (!strcmp(a, "-s") || !strcmp(a, "--system"))) {
        g->system = argv[++*i];
    } else if (*i + 1 < argc && (!strcmp(a, "-n") || !strcmp(a, "--n-predict") ||
                                 !strcmp(a, "--think-budget"))) {
        const char *s = argv[*i + 1];
        char *end;
        long v = strtol(s, &end, 10);
        if (*end || end == s || v < -1 || v > 1 << 24) {
            fprintf(stderr, "seek %s: %s wants an integer >= -1, not '%s'\n", cmd, a, s);
            return -1;
        }
        if (!strcmp(a, "--think-budget")) g->think_budget = (int)v;
        else g->n_predict = (int)v;
        ++*i;
    } else {
        return 0;
    }
    return 1;
}

int cli_gen_flags_check(const cli_gen_flags *g, const cli_opts *o, const char *cmd) {
    if (g->mtp && o->temp_set && o->sampling.temperature > 0) {
        fprintf(stderr, "seek %s: --mtp decodes greedily; drop --temp or use --temp 0\n", cmd);
        return -1;
    }
    return 0;
}

/* ---- printing ------------------------------------------------------------------------- */

static int grow_append(char **buf, size_t *len, const char *s, size_t n) {
    char *p = realloc(*buf, *len + n + 1);
    if (!p) return -1;
    memcpy(p + *len, s, n);
    *len += n;
    p[*len] = 0;
    *buf = p;
    return 0;
}

int cli_printer_begin(cli_printer *p, FILE *out, bool starts_in_reasoning, bool hide_think,
                      sk_err *e) {
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = isatty(fileno(out));
    p->hide_think = hide_think;
    p->rp = sk_reasoning_new(starts_in_reasoning, e);
    if (!p->rp) return e && e->code ? e->code : SK_ERR_NOMEM;
    if (grow_append(&p->answer, &p->answer_len, "", 0) ||
        grow_append(&p->reasoning, &p->reasoning_len, "", 0))
        return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    return SK_OK;
}

static int printer_drain(cli_printer *p) {
    const char *r, *a;
    size_t rl, al;
    sk_reasoning_take_delta(p->rp, &r, &rl, &a, &al);
    if (rl) {
        if (grow_append(&p->reasoning, &p->reasoning_len, r, rl)) return -1;
        if (!p->hide_think) {
            if (!p->think_open) {
                if (!p->tty) fputs("<think>\n", p->out);
                p->think_open = true;
            }
            if (p->tty) fputs("\x1b[2m", p->out);
            fwrite(r, 1, rl, p->out);
            if (p->tty) fputs("\x1b[0m", p->out);
        }
    }
    if (al) {
        if (grow_append(&p->answer, &p->answer_len, a, al)) return -1;
        if (p->think_open && !p->answer_started) fputs(p->tty ? "\n\n" : "\n</think>\n\n", p->out);
        p->answer_started = true;
        fwrite(a, 1, al, p->out);
    }
    fflush(p->out);
    return 0;
}

int cli_printer_piece(void *ud, const char *text, size_t len) {
    cli_printer *p = ud;
    if (sk_reasoning_feed(p->rp, text, len, NULL)) return 1;
    return printer_drain(p) ? 1 : 0;
}

int cli_printer_end(cli_printer *p, sk_err *e) {
    int rc = sk_reasoning_finish(p->rp, e);
    if (rc) return rc;
    if (printer_drain(p)) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    if (p->think_open && !p->answer_started && !p->tty) fputs("\n</think>", p->out);
    fputc('\n', p->out);
    fflush(p->out);
    return SK_OK;
}

void cli_printer_free(cli_printer *p) {
    sk_reasoning_free(p->rp);
    free(p->answer);
    free(p->reasoning);
    memset(p, 0, sizeof *p);
}

/* ---- Ctrl-C ----------------------------------------------------------------------------- */

volatile sig_atomic_t cli_cancel;

static void on_sigint(int sig) {
    (void)sig;
    if (cli_cancel) _exit(130); /* a second Ctrl-C before the first was handled quits */
    cli_cancel = 1;
}

void cli_sigint_arm(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    cli_cancel = 0;
}

void cli_sigint_disarm(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

void cli_print_stats(FILE *f, const sk_gen_stats *st) {
    fprintf(f,
            "prompt: %d tokens (%d reused, %d evaluated) %.2f tok/s | generation: %d tokens "
            "%.2f tok/s | stop: %s\n",
            st->n_prompt, st->n_reused, st->n_eval, sk_gen_prompt_tps(st), st->n_gen,
            sk_gen_gen_tps(st), sk_gen_stop_name(st->stop));
    if (st->n_draft > 0)
        fprintf(f,
                "mtp: %d drafts, %d accepted (%.1f%%) | %d main-model decode calls for %d "
                "tokens\n",
                st->n_draft, st->n_accept, 100.0 * sk_gen_accept_rate(st), st->n_decode_evals,
                st->n_gen);
}
