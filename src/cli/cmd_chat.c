/* cmd_chat.c — `seek chat -m MODEL`: an interactive conversation (see usage()). */
#include "cli_gen.h"
#include "lineedit.h"
#include "sk_json.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f, "usage: seek chat -m MODEL [options]\n\n"
               "An interactive conversation. Each turn is rendered with the model's chat template;\n"
               "the cached prefix of the conversation is reused, so only the new turn is evaluated.\n"
               "When the context would overflow, the oldest turns are dropped (the system prompt is\n"
               "kept). Ctrl-C stops a generation; at the prompt it quits. Reads plain lines when\n"
               "stdin is not a terminal.\n\n"
               "commands: /reset (new conversation), /save FILE (the conversation as JSON),\n"
               "          /help, /quit\n\n"
               "options:\n"
               "  -s, --system TEXT       the system prompt\n"
               "  -n, --n-predict N       at most N tokens per answer (default: until EOS)\n"
               "  --hide-think            do not print the reasoning\n"
               "  --think-budget N        force </think> after N reasoning tokens\n"
               "  --stats                 print token counts and speeds after each answer\n"
               "  --mtp                   self-speculative decoding with the model's MTP module\n"
               "                          (greedy only, as in `seek run --mtp`)\n");
    cli_opts_usage(f, true);
}

typedef struct turn {
    sk_chat_role role;
    char *content;
    char *reasoning; /* assistant turns; may be NULL */
} turn;

typedef struct convo {
    turn *t;
    size_t n, cap;
} convo;

static int convo_add(convo *c, sk_chat_role role, const char *content, const char *reasoning) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        turn *t = realloc(c->t, cap * sizeof *t);
        if (!t) return -1;
        c->t = t;
        c->cap = cap;
    }
    turn *t = &c->t[c->n];
    t->role = role;
    t->content = strdup(content ? content : "");
    t->reasoning = reasoning && *reasoning ? strdup(reasoning) : NULL;
    if (!t->content) return -1;
    c->n++;
    return 0;
}

static void convo_remove(convo *c, size_t i) {
    free(c->t[i].content);
    free(c->t[i].reasoning);
    memmove(&c->t[i], &c->t[i + 1], (c->n - i - 1) * sizeof *c->t);
    c->n--;
}

static void convo_clear(convo *c, bool keep_system) {
    for (size_t i = c->n; i-- > 0;)
        if (!keep_system || c->t[i].role != SK_CHAT_ROLE_SYSTEM) convo_remove(c, i);
}

static int convo_save(const convo *c, const char *path, sk_err *e) {
    json_t *arr = json_array();
    if (!arr) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c->n; i++) {
        const turn *t = &c->t[i];
        const char *role = t->role == SK_CHAT_ROLE_SYSTEM ? "system"
                           : t->role == SK_CHAT_ROLE_USER ? "user"
                                                          : "assistant";
        json_t *o = json_object();
        if (!o) break;
        json_object_set_new(o, "role", json_string(role));
        json_object_set_new(o, "content", json_stringn(t->content, strlen(t->content)));
        if (t->reasoning)
            json_object_set_new(o, "reasoning_content", json_stringn(t->reasoning, strlen(t->reasoning)));
        json_array_append_new(arr, o);
    }
    char *s = json_dumps(arr, JSON_INDENT(2));
    json_decref(arr);
    if (!s) return sk_err_set(e, SK_ERR_NOMEM, "cannot serialise the conversation");
    size_t len = strlen(s);
    char *s2 = realloc(s, len + 2);
    if (!s2) {
        free(s);
        return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    }
    s2[len] = '\n';
    s2[len + 1] = 0;
    int rc = sk_write_file_atomic(path, s2, len + 1, e);
    free(s2);
    return rc;
}

/* Encodes the whole conversation (generation prompt added). */
static int encode(cli_llm *l, const convo *c, int32_t **ids, size_t *n, sk_err *e) {
    sk_chat_msg *m = calloc(c->n ? c->n : 1, sizeof *m);
    if (!m) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < c->n; i++) {
        m[i].role = c->t[i].role;
        m[i].content = c->t[i].content;
    }
    int rc = cli_llm_encode_chat(l, m, c->n, ids, n, e);
    free(m);
    return rc;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

static void help(FILE *f) {
    fprintf(f, "/reset        start a new conversation (keeps the system prompt)\n"
               "/save FILE    write the conversation as JSON\n"
               "/help         this text\n"
               "/quit         leave (also Ctrl-D)\n");
}

int sk_cmd_chat(int argc, char **argv) {
    cli_opts o;
    cli_opts_init(&o);
    cli_gen_flags gf;
    cli_gen_flags_init(&gf);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = cli_opts_parse(&o, "chat", argc, argv, &i);
        if (r == 0) r = cli_gen_flags_parse(&gf, "chat", argc, argv, &i);
        if (r < 0) return 2;
        if (r > 0) continue;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "seek chat: unknown or incomplete option '%s'\n\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!o.model) {
        fprintf(stderr, "seek chat: need -m MODEL\n\n");
        usage(stderr);
        return 2;
    }
    if (cli_gen_flags_check(&gf, &o, "chat")) return 2;
    const char *system = gf.system;
    bool hide = gf.hide_think, stats = gf.stats, mtp = gf.mtp;
    int n_predict = gf.n_predict, think_budget = gf.think_budget;
    sk_err e = {0};
    cli_llm l;
    if (cli_llm_open(&l, &o, true, &e)) {
        fprintf(stderr, "seek chat: %s\n", e.msg);
        return 1;
    }
    if (l.kind == SK_CHAT_UNKNOWN) {
        fprintf(stderr, "seek chat: %s\n", l.kind_err);
        cli_llm_close(&l);
        return 1;
    }
    lineedit *le = lineedit_new(true);
    convo c = {0};
    int ret = 1;
    if (!le || (system && convo_add(&c, SK_CHAT_ROLE_SYSTEM, system, NULL))) {
        fprintf(stderr, "seek chat: out of memory\n");
        goto done;
    }
    bool tty = lineedit_interactive(le);
    const int n_ctx = sk_gen_n_ctx(l.gen);
    const int reserve = n_predict > 0 ? (n_predict < n_ctx / 2 ? n_predict : n_ctx / 2)
                                      : (n_ctx / 4 < 512 ? n_ctx / 4 : 512);
    if (tty)
        fprintf(stderr, "seek chat: %s (%s template, context %d tokens). /help for commands.\n",
                o.model, sk_chat_kind_name(l.kind), n_ctx);
    sk_gen_params gp;
    sk_gen_params_init(&gp);
    gp.n_predict = n_predict;
    gp.sampling = cli_llm_sampling(&l, &o);
    if (mtp) {
        gp.mtp = true;
        gp.sampling.temperature = 0;
    }
    gp.starts_in_reasoning = l.reasoner;
    gp.think_budget = think_budget;
    gp.cancel = &cli_cancel;
    char *line;
    while ((line = lineedit_read(le, "> ")) != NULL) {
        char *s = trim(line);
        if (!*s) {
            free(line);
            continue;
        }
        lineedit_add_history(le, s);
        if (s[0] == '/') {
            bool quit = false;
            if (!strcmp(s, "/quit") || !strcmp(s, "/exit")) {
                quit = true;
            } else if (!strcmp(s, "/reset")) {
                convo_clear(&c, true);
                sk_gen_reset(l.gen);
                fprintf(stderr, "[new conversation]\n");
            } else if (!strcmp(s, "/help")) {
                help(tty ? stdout : stderr);
            } else if (!strncmp(s, "/save", 5) && (s[5] == ' ' || !s[5])) {
                const char *path = trim(s + 5);
                if (!*path) fprintf(stderr, "usage: /save FILE\n");
                else if (convo_save(&c, path, &e)) fprintf(stderr, "seek chat: %s\n", e.msg);
                else fprintf(stderr, "[saved %zu messages to %s]\n", c.n, path);
            } else {
                fprintf(stderr, "unknown command %s (/help lists them)\n", s);
            }
            free(line);
            if (quit) break;
            continue;
        }
        if (convo_add(&c, SK_CHAT_ROLE_USER, s, NULL)) {
            free(line);
            fprintf(stderr, "seek chat: out of memory\n");
            goto done;
        }
        free(line);
        int32_t *ids = NULL;
        size_t n_ids = 0;
        for (;;) {
            if (encode(&l, &c, &ids, &n_ids, &e)) {
                fprintf(stderr, "seek chat: %s\n", e.msg);
                goto done;
            }
            if ((int)n_ids + reserve <= n_ctx) break;
            /* drop the oldest non-system turn (a user message and its answer) */
            size_t first = 0;
            while (first < c.n && c.t[first].role == SK_CHAT_ROLE_SYSTEM) first++;
            if (first + 1 >= c.n) break; /* only the new message is left */
            convo_remove(&c, first);
            if (first < c.n - 1 && c.t[first].role == SK_CHAT_ROLE_ASSISTANT)
                convo_remove(&c, first);
            fprintf(stderr, "[context full: dropped the oldest turn]\n");
            free(ids);
            ids = NULL;
        }
        if ((int)n_ids >= n_ctx) {
            fprintf(stderr,
                    "seek chat: this message needs %zu tokens but the context holds %d (raise "
                    "--ctx); it was not sent\n",
                    n_ids, n_ctx);
            convo_remove(&c, c.n - 1);
            free(ids);
            continue;
        }
        cli_printer pr;
        if (cli_printer_begin(&pr, stdout, l.reasoner, hide, &e)) {
            free(ids);
            fprintf(stderr, "seek chat: %s\n", e.msg);
            goto done;
        }
        sk_gen_stats st;
        cli_sigint_arm();
        int rc = sk_gen_run(l.gen, ids, (int)n_ids, &gp, cli_printer_piece, &pr, &st, &e);
        cli_sigint_disarm();
        free(ids);
        if (rc) {
            cli_printer_free(&pr);
            fprintf(stderr, "\nseek chat: %s\n", e.msg);
            goto done;
        }
        if (cli_printer_end(&pr, &e)) {
            cli_printer_free(&pr);
            fprintf(stderr, "seek chat: %s\n", e.msg);
            goto done;
        }
        if (st.stop == SK_GEN_STOP_CANCELLED) fprintf(stderr, "[interrupted]\n");
        if (st.stop == SK_GEN_STOP_CONTEXT) fprintf(stderr, "[stopped: the context is full]\n");
        if (stats) cli_print_stats(stderr, &st);
        if (tty) fputc('\n', stdout);
        int arc = convo_add(&c, SK_CHAT_ROLE_ASSISTANT, pr.answer, pr.reasoning);
        cli_printer_free(&pr);
        if (arc) {
            fprintf(stderr, "seek chat: out of memory\n");
            goto done;
        }
    }
    ret = 0;
done:
    convo_clear(&c, false);
    free(c.t);
    lineedit_free(le);
    cli_llm_close(&l);
    return ret;
}
