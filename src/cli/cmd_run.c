/* cmd_run.c — `seek run -m MODEL -p PROMPT`: one generation, streamed to stdout. */
#include "cli_gen.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: seek run -m MODEL (-p PROMPT | -f FILE) [options]\n\n"
               "Renders the prompt with the model's chat template (unless --raw), generates and\n"
               "streams the answer to stdout. The reasoning of R1-style models is shown apart:\n"
               "dimmed on a terminal, between <think> and </think> lines otherwise.\n\n"
               "options:\n"
               "  -p, --prompt TEXT       the user message (or the raw text with --raw)\n"
               "  -f, --file PATH         read the prompt from a file\n"
               "  -s, --system TEXT       a system message\n"
               "  -n, --n-predict N       at most N new tokens (default: until EOS / context full)\n"
               "  --raw                   no chat template: the prompt text is the model input\n"
               "  --hide-think            do not print the reasoning\n"
               "  --think-budget N        force </think> after N reasoning tokens\n"
               "  --stop TEXT             stop when the output contains TEXT (repeatable)\n"
               "  --stats                 print token counts and speeds to stderr (with --mtp:\n"
               "                          drafts, acceptance rate, main-model calls)\n"
               "  --mtp                   self-speculative decoding with the model's MTP module\n"
               "                          (DeepSeek-V3/R1 checkpoints that keep it): the module\n"
               "                          drafts the next token, the model verifies token and\n"
               "                          draft in one pass. Greedy only: the output is that of\n"
               "                          --temp 0 (the default with --mtp; --temp > 0 is refused)\n");
    cli_opts_usage(f, true);
}

int sk_cmd_run(int argc, char **argv) {
    cli_opts o;
    cli_opts_init(&o);
    const char *prompt = NULL, *file = NULL;
    bool raw = false;
    int n_stop = 0;
    const char *stops[SK_GEN_MAX_STOP] = {0};
    cli_gen_flags gf;
    cli_gen_flags_init(&gf);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_opts_parse(&o, "run", argc, argv, &i);
        if (r == 0) r = cli_gen_flags_parse(&gf, "run", argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--raw")) {
            raw = true;
        } else if (i + 1 < argc && (!strcmp(a, "-p") || !strcmp(a, "--prompt"))) {
            prompt = argv[++i];
        } else if (i + 1 < argc && (!strcmp(a, "-f") || !strcmp(a, "--file"))) {
            file = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--stop")) {
            if (n_stop >= SK_GEN_MAX_STOP - 1 || !argv[i + 1][0]) {
                fprintf(stderr, "seek run: at most %d non-empty --stop strings\n",
                        SK_GEN_MAX_STOP - 1);
                return 2;
            }
            stops[n_stop++] = argv[++i];
        } else {
            fprintf(stderr, "seek run: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!o.model || (!prompt == !file)) {
        fprintf(stderr, "seek run: need -m MODEL and one of -p PROMPT / -f FILE\n\n");
        usage(stderr);
        return 2;
    }
    if (cli_gen_flags_check(&gf, &o, "run")) return 2;
    const char *system = gf.system;
    bool hide = gf.hide_think, stats = gf.stats, mtp = gf.mtp;
    int n_predict = gf.n_predict, think_budget = gf.think_budget;
    sk_err e = {0};
    char *file_text = NULL;
    if (file) {
        size_t len;
        if (sk_read_file(file, 64u << 20, &file_text, &len, &e)) {
            fprintf(stderr, "seek run: %s\n", e.msg);
            return 1;
        }
        prompt = file_text;
    }
    cli_llm l;
    int ret = 1;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    cli_printer pr = {0};
    if (cli_llm_open(&l, &o, true, &e)) {
        fprintf(stderr, "seek run: %s\n", e.msg);
        free(file_text);
        return 1;
    }
    int rc;
    if (raw) {
        rc = sk_tokenizer_encode(l.tok, prompt, strlen(prompt), SK_TOK_ADD_BOS, &ids, &n_ids, &e);
    } else {
        sk_chat_msg msgs[2];
        size_t n = 0;
        memset(msgs, 0, sizeof msgs);
        if (system) msgs[n++] = (sk_chat_msg){.role = SK_CHAT_ROLE_SYSTEM, .content = system};
        msgs[n++] = (sk_chat_msg){.role = SK_CHAT_ROLE_USER, .content = prompt};
        rc = cli_llm_encode_chat(&l, msgs, n, &ids, &n_ids, &e);
    }
    if (rc) {
        fprintf(stderr, "seek run: %s\n", e.msg);
        goto done;
    }
    sk_gen_params gp;
    sk_gen_params_init(&gp);
    gp.n_predict = n_predict;
    gp.sampling = cli_llm_sampling(&l, &o);
    if (mtp) {
        gp.mtp = true;
        gp.sampling.temperature = 0; /* greedy; penalties the user set still apply */
    }
    gp.starts_in_reasoning = !raw && l.reasoner;
    gp.think_budget = think_budget;
    gp.cancel = &cli_cancel;
    memcpy(gp.stop, stops, sizeof stops);
    if (cli_printer_begin(&pr, stdout, gp.starts_in_reasoning, hide, &e)) {
        fprintf(stderr, "seek run: %s\n", e.msg);
        goto done;
    }
    sk_gen_stats st;
    cli_sigint_arm();
    rc = sk_gen_run(l.gen, ids, (int)n_ids, &gp, cli_printer_piece, &pr, &st, &e);
    cli_sigint_disarm();
    if (rc) {
        fputc('\n', stdout);
        fprintf(stderr, "seek run: %s\n", e.msg);
        goto done;
    }
    if (cli_printer_end(&pr, &e)) {
        fprintf(stderr, "seek run: %s\n", e.msg);
        goto done;
    }
    if (st.stop == SK_GEN_STOP_CONTEXT)
        fprintf(stderr, "seek run: stopped: the context of %d tokens is full (raise --ctx)\n",
                sk_gen_n_ctx(l.gen));
    if (st.stop == SK_GEN_STOP_CANCELLED) fprintf(stderr, "seek run: interrupted\n");
    if (stats) cli_print_stats(stderr, &st);
    ret = 0;
done:
    cli_printer_free(&pr);
    free(ids);
    free(file_text);
    cli_llm_close(&l);
    return ret;
}
