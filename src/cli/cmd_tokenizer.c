/* cmd_tokenizer.c — `seek tokenizer train`: train a byte-level BPE tokenizer on text files and
 * write a Hugging Face tokenizer.json + tokenizer_config.json that Seek (and HF) can load. */
#include <stdio.h>

#include "cli_args.h"
#include <stdlib.h>
#include <string.h>

#include "gen_templates.h"
#include "sk_data.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: seek tokenizer train --input FILE [FILE …] --vocab-size N --out DIR [options]\n"
            "\n"
            "Trains a byte-level BPE tokenizer (DeepSeek style) on the text of FILEs and writes\n"
            "DIR/tokenizer.json and DIR/tokenizer_config.json.\n"
            "  --input FILE…        text files; .jsonl files contribute their \"text\" fields\n"
            "  --vocab-size N       total vocabulary: special tokens + 256 bytes + merges\n"
            "  --out DIR            output directory (created)\n"
            "  --pre NAME           pre-tokenizer: deepseek-v3 (default), qwen2, llama3\n"
            "  --special LIST       comma-separated special tokens, ids 0.. in this order (the\n"
            "                       first is BOS, the second EOS); default:\n"
            "                       <｜begin▁of▁sentence｜>,<｜end▁of▁sentence｜>,<｜User｜>,\n"
            "                       <｜Assistant｜>,<think>,</think>\n"
            "  --min-frequency F    stop when the best pair occurs fewer than F times (default 2)\n"
            "  --split MODE         auto (default), file, paragraph, jsonl (see `seek data`)\n"
            "  --no-chat-template   do not write the DeepSeek-R1 chat template\n"
            "  --quiet              no progress output\n"
            "Ties between equally frequent pairs go to the smallest (left id, right id).\n");
}

typedef struct texts {
    char **t;
    size_t *len;
    size_t n, cap;
} texts;

static int add_text(void *ctx, const char *text, size_t len, sk_err *e) {
    texts *x = ctx;
    if (x->n == x->cap) {
        size_t nc = x->cap ? x->cap * 2 : 64;
        char **nt = realloc(x->t, nc * sizeof(char *));
        if (!nt) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
        x->t = nt;
        size_t *nl = realloc(x->len, nc * sizeof(size_t));
        if (!nl) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
        x->len = nl;
        x->cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    memcpy(c, text, len);
    c[len] = 0;
    x->t[x->n] = c;
    x->len[x->n++] = len;
    return SK_OK;
}

static int train(int argc, char **argv) {
    sk_bpe_train_opts o;
    sk_bpe_train_opts_default(&o);
    o.chat_template = SK_TEMPLATE_DEEPSEEK_R1;
    (void)SK_TEMPLATE_R1_DISTILL;
    (void)SK_TEMPLATE_DEEPSEEK2;
    const char *out = NULL, *special = NULL, *split_s = "auto";
    const char **inputs = calloc((size_t)argc + 1, sizeof(char *));
    size_t n_in = 0;
    char *spec_buf = NULL;
    const char **spec = NULL;
    int ret = 2;
    bool have_vocab = false;
    if (!inputs) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            ret = 0;
            goto done;
        } else if (!strcmp(a, "--input")) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) inputs[n_in++] = argv[++i];
        } else if (!strcmp(a, "--vocab-size") && has_val) {
            int64_t v;
            if (sk_cli_parse_int("tokenizer train", "--vocab-size", argv[++i], 1, 1 << 24, &v))
                goto done;
            o.vocab_size = (int32_t)v;
            have_vocab = true;
        } else if (!strcmp(a, "--out") && has_val) {
            out = argv[++i];
        } else if (!strcmp(a, "--pre") && has_val) {
            o.pre = argv[++i];
        } else if (!strcmp(a, "--special") && has_val) {
            special = argv[++i];
        } else if (!strcmp(a, "--min-frequency") && has_val) {
            int64_t v;
            if (sk_cli_parse_int("tokenizer train", "--min-frequency", argv[++i], 1, INT64_MAX,
                                 &v))
                goto done;
            o.min_frequency = v;
        } else if (!strcmp(a, "--split") && has_val) {
            split_s = argv[++i];
        } else if (!strcmp(a, "--no-chat-template")) {
            o.chat_template = NULL;
        } else if (!strcmp(a, "--quiet")) {
            o.quiet = true;
        } else {
            fprintf(stderr, "seek tokenizer train: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            goto done;
        }
    }
    if (!n_in || !out || !have_vocab) {
        fprintf(stderr, "seek tokenizer train: --input, --vocab-size and --out are required\n");
        usage(stderr);
        goto done;
    }
    sk_err e = {0};
    sk_data_split split;
    if (sk_data_split_parse(split_s, &split, &e)) {
        fprintf(stderr, "seek tokenizer train: %s\n", e.msg);
        goto done;
    }
    if (special) {
        size_t n = 1;
        for (const char *p = special; *p; p++) n += *p == ',';
        spec_buf = strdup(special);
        spec = calloc(n + 1, sizeof(char *));
        if (!spec_buf || !spec) {
            ret = 1;
            goto done;
        }
        size_t k = 0;
        for (char *save = NULL, *tok = strtok_r(spec_buf, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save))
            spec[k++] = tok;
        spec[k] = NULL;
        o.special = spec;
    }
    ret = 1;
    texts tx = {0};
    /* a bad --out fails now, not after the training */
    if (sk_data_prepare_out_dir(out, &e)) {
        fprintf(stderr, "seek tokenizer train: --out: %s\n", e.msg);
        goto free_texts;
    }
    for (size_t i = 0; i < n_in; i++)
        if (sk_data_read_docs(inputs[i], split, add_text, &tx, &e)) {
            fprintf(stderr, "seek tokenizer train: %s\n", e.msg);
            goto free_texts;
        }
    if (tx.n == 0) {
        fprintf(stderr, "seek tokenizer train: the input files hold no text\n");
        goto free_texts;
    }
    sk_bpe_result *r = NULL;
    double t0 = sk_time_sec();
    if (sk_bpe_train((const char *const *)tx.t, tx.len, tx.n, &o, &r, &e) ||
        sk_bpe_write_hf(r, &o, out, &e)) {
        fprintf(stderr, "seek tokenizer train: %s\n", e.msg);
        sk_bpe_result_free(r);
        goto free_texts;
    }
    double dt = sk_time_sec() - t0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < tx.n; i++) bytes += tx.len[i];
    printf("trained %s: %d tokens (%d special + 256 bytes + %d merges) from %zu documents, %llu "
           "bytes, %llu words (%llu distinct) in %.2f s\n",
           out, (int)r->vocab_size, (int)r->n_special, (int)r->n_merges, tx.n,
           (unsigned long long)bytes, (unsigned long long)r->n_words,
           (unsigned long long)r->n_unique_words, dt);
    if (r->vocab_size < o.vocab_size)
        fprintf(stderr,
                "seek tokenizer train: warning: stopped at %d of %d tokens (no pair occurs %lld "
                "or more times)\n",
                (int)r->vocab_size, (int)o.vocab_size, (long long)o.min_frequency);
    sk_bpe_result_free(r);
    ret = 0;
free_texts:
    for (size_t i = 0; i < tx.n; i++) free(tx.t[i]);
    free(tx.t);
    free(tx.len);
done:
    free(inputs);
    free(spec_buf);
    free(spec);
    return ret;
}

int sk_cmd_tokenizer(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "train")) return train(argc - 1, argv + 1);
    fprintf(stderr, "seek tokenizer: unknown subcommand '%s' (known: train)\n", argv[1]);
    return 2;
}
