/* cli_gen.h — what `seek run`, `seek chat`, `seek bench -m` and `seek perplexity` share:
 * opening a model with its tokenizer and chat template, the sampling options, and printing
 * streamed output with the reasoning shown apart from the answer (dimmed on a terminal,
 * wrapped in <think>…</think> lines otherwise, or hidden). */
#ifndef SK_CLI_GEN_H
#define SK_CLI_GEN_H

#include "sk_chat.h"
#include "sk_generate.h"
#include "sk_model.h"
#include "sk_sampler.h"
#include "sk_tokenizer.h"

#include <signal.h>
#include <stdio.h>

/* Options common to the generating commands. */
typedef struct cli_opts {
    const char *model;
    const char *tokenizer;  /* --tokenizer PATH (GGUF file or HF folder/tokenizer.json) or NULL */
    int n_threads;
    bool no_mmap;           /* --no-mmap: read the weights into private memory */
    int n_ctx;              /* 0: model default (min(max_ctx, 4096)) */
    int cache_type;         /* sk_cache_type */
    const char *chat_template; /* --chat-template NAME or NULL */
    sk_sampler_params sampling;
    bool sampling_set;      /* any sampling flag was given (else the model's defaults) */
    bool temp_set, top_p_set;
} cli_opts;

void cli_opts_init(cli_opts *o);
/* Consumes argv[*i] (and its value) if it is a common option; returns 1 if consumed, 0 if not,
 * -1 on a bad value (message printed, prefixed with cmd). */
int cli_opts_parse(cli_opts *o, const char *cmd, int argc, char **argv, int *i);
/* Usage lines of the common options. */
void cli_opts_usage(FILE *f, bool sampling);

/* Generation flags shared by `seek run` and `seek chat`: -s/--system TEXT, --hide-think,
 * --stats, --mtp, -n/--n-predict N, --think-budget N (N >= -1; -1: none). */
typedef struct cli_gen_flags {
    const char *system;
    bool hide_think, stats, mtp;
    int n_predict, think_budget;
} cli_gen_flags;

void cli_gen_flags_init(cli_gen_flags *g);
/* Same contract as cli_opts_parse. */
int cli_gen_flags_parse(cli_gen_flags *g, const char *cmd, int argc, char **argv, int *i);
/* --mtp decodes greedily: an explicit positive --temp is refused (message printed, -1). */
int cli_gen_flags_check(const cli_gen_flags *g, const cli_opts *o, const char *cmd);

typedef struct cli_llm {
    sk_model *m;
    sk_tokenizer *tok;
    sk_gen *gen;
    sk_chat_kind kind;  /* SK_CHAT_UNKNOWN if none (raw prompts only) */
    bool reasoner;      /* the template ends the generation prompt inside <think> */
    char kind_err[SK_ERR_MSG_MAX]; /* why kind is unknown */
} cli_llm;

/* Opens model + tokenizer (+ generator when with_gen). Prints nothing. */
int cli_llm_open(cli_llm *l, const cli_opts *o, bool with_gen, sk_err *e);
void cli_llm_close(cli_llm *l);
/* The sampling parameters to use: the user's, else reasoner defaults (temp 0.6, top-p 0.95)
 * for R1-style models, else temp 0.7 / top-p 0.95. */
sk_sampler_params cli_llm_sampling(const cli_llm *l, const cli_opts *o);

/* Renders msgs with the chat template (generation prompt added) and encodes them. */
int cli_llm_encode_chat(cli_llm *l, const sk_chat_msg *msgs, size_t n, int32_t **ids, size_t *n_ids,
                        sk_err *e);

/* Streamed-output printer: splits reasoning from the answer with the chat module's parser. */
typedef struct cli_printer {
    FILE *out;
    sk_reasoning *rp;
    bool tty, hide_think;
    bool think_open; /* the reasoning block has been opened on the output */
    bool answer_started;
    /* collected for the conversation history */
    char *answer, *reasoning;
    size_t answer_len, reasoning_len;
} cli_printer;

int cli_printer_begin(cli_printer *p, FILE *out, bool starts_in_reasoning, bool hide_think,
                      sk_err *e);
int cli_printer_piece(void *ud, const char *text, size_t len); /* an sk_gen_piece_fn */
/* Flushes the parser; ends the output with a newline. */
int cli_printer_end(cli_printer *p, sk_err *e);
void cli_printer_free(cli_printer *p);

/* SIGINT handling: while armed, Ctrl-C sets cli_cancel instead of killing the process. */
extern volatile sig_atomic_t cli_cancel;
void cli_sigint_arm(void);
void cli_sigint_disarm(void);

void cli_print_stats(FILE *f, const sk_gen_stats *st);

#endif
