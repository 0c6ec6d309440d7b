/* cmd_data.c — `seek data tokenize|pack|info`: text to token shards, shards to packed training
 * sequences in the BATCH.txt line format, and a summary of a shard set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_data.h"
#include "sk_tokenizer.h"

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: seek data tokenize --tokenizer PATH --input FILE [FILE …] --out PREFIX [options]\n"
        "       seek data pack --shards PREFIX --seq-len T --out FILE.txt [options]\n"
        "       seek data info PREFIX [--seq-len T]\n"
        "\n"
        "tokenize  encodes documents to token shards PREFIX-00000.bin, PREFIX-00001.bin, …\n"
        "  --tokenizer PATH     tokenizer.json, a directory holding it, or a GGUF model\n"
        "  --split MODE         auto (default: .jsonl -> jsonl, else file), file (a file is one\n"
        "                       document), paragraph (blank lines separate documents), jsonl\n"
        "                       (each line an object whose \"text\" is a document)\n"
        "  --shard-tokens N     start a new shard before a document that would pass N tokens\n"
        "                       (default 100000000)\n"
        "  --parse-special      encode special-token text (e.g. <｜User｜>) as the special id\n"
        "pack      writes one epoch of packed sequences, T+1 ids per line (BOS doc EOS BOS doc …\n"
        "          cut every T+1 tokens; the last partial sequence is dropped), for seek train\n"
        "  --shuffle            shuffle the sequences (seeded; --seed S, default 0)\n"
        "  --mask FILE.txt      also write the loss mask (0 for the BOS of a document)\n"
        "info      prints shards, documents, tokens, vocabulary, BOS/EOS (and packed sequences)\n");
}

static int parse_u64(const char *opt, const char *v, uint64_t *out) {
    char *end;
    unsigned long long x = strtoull(v, &end, 10);
    if (!*v || *end || v[0] == '-') {
        fprintf(stderr, "seek data: %s: bad number '%s'\n", opt, v);
        return -1;
    }
    *out = x;
    return 0;
}

static int load_tok(const char *path, sk_tokenizer **t, sk_err *e) {
    size_t n = strlen(path);
    if (n > 5 && !strcmp(path + n - 5, ".gguf")) return sk_tokenizer_load_gguf_file(path, t, e);
    return sk_tokenizer_load_hf(path, t, e);
}

static int cmd_tokenize(int argc, char **argv) {
    const char *tok = NULL, *out = NULL, *split_s = "auto";
    const char **inputs = calloc((size_t)argc + 1, sizeof(char *));
    size_t n_in = 0;
    uint64_t shard_tokens = 0;
    bool parse_special = false;
    int ret = 2;
    if (!inputs) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool hv = i + 1 < argc;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            ret = 0;
            goto done;
        } else if (!strcmp(a, "--tokenizer") && hv) {
            tok = argv[++i];
        } else if (!strcmp(a, "--input")) {
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2)) inputs[n_in++] = argv[++i];
        } else if (!strcmp(a, "--out") && hv) {
            out = argv[++i];
        } else if (!strcmp(a, "--split") && hv) {
            split_s = argv[++i];
        } else if (!strcmp(a, "--shard-tokens") && hv) {
            if (parse_u64(a, argv[++i], &shard_tokens) || shard_tokens == 0) goto done;
        } else if (!strcmp(a, "--parse-special")) {
            parse_special = true;
        } else {
            fprintf(stderr, "seek data tokenize: unknown or incomplete option '%s'\n", a);
            goto done;
        }
    }
    if (!tok || !out || !n_in) {
        fprintf(stderr, "seek data tokenize: --tokenizer, --input and --out are required\n");
        usage(stderr);
        goto done;
    }
    sk_err e = {0};
    sk_data_split split;
    if (sk_data_split_parse(split_s, &split, &e)) {
        fprintf(stderr, "seek data tokenize: %s\n", e.msg);
        goto done;
    }
    ret = 1;
    sk_tokenizer *t = NULL;
    if (load_tok(tok, &t, &e)) {
        fprintf(stderr, "seek data tokenize: %s\n", e.msg);
        goto done;
    }
    sk_data_tokenize_stats st;
    double t0 = sk_time_sec();
    if (sk_data_tokenize_files(t, inputs, n_in, split, parse_special, out, shard_tokens, &st, &e)) {
        fprintf(stderr, "seek data tokenize: %s\n", e.msg);
        sk_tokenizer_free(t);
        goto done;
    }
    double dt = sk_time_sec() - t0;
    printf("wrote %s: %u shard(s), %llu documents, %llu tokens from %llu bytes (%.3f tokens/byte) "
           "in %.2f s\n",
           out, st.n_shards, (unsigned long long)st.n_docs, (unsigned long long)st.n_tokens,
           (unsigned long long)st.n_bytes,
           st.n_bytes ? (double)st.n_tokens / (double)st.n_bytes : 0.0, dt);
    sk_tokenizer_free(t);
    ret = 0;
done:
    free(inputs);
    return ret;
}

/* Appends the decimal ids of one line to a growing buffer. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static int sb_reserve(sbuf *b, size_t more) {
    if (b->n + more <= b->cap) return 0;
    size_t nc = b->cap ? b->cap : 1 << 16;
    while (nc < b->n + more) nc *= 2;
    char *np = realloc(b->p, nc);
    if (!np) return -1;
    b->p = np;
    b->cap = nc;
    return 0;
}

static int sb_line(sbuf *b, const int32_t *v, const uint8_t *m, size_t n) {
    if (sb_reserve(b, n * 12 + 2)) return -1;
    for (size_t i = 0; i < n; i++) {
        int k = m ? snprintf(b->p + b->n, 4, "%s%d", i ? " " : "", m[i])
                  : snprintf(b->p + b->n, 13, "%s%d", i ? " " : "", (int)v[i]);
        b->n += (size_t)k;
    }
    b->p[b->n++] = '\n';
    return 0;
}

static int cmd_pack(int argc, char **argv) {
    const char *shards = NULL, *out = NULL, *mask_out = NULL;
    uint64_t T = 0, seed = 0;
    bool shuffle = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool hv = i + 1 < argc;
        if (!strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--shards") && hv) {
            shards = argv[++i];
        } else if (!strcmp(a, "--out") && hv) {
            out = argv[++i];
        } else if (!strcmp(a, "--mask") && hv) {
            mask_out = argv[++i];
        } else if (!strcmp(a, "--seq-len") && hv) {
            if (parse_u64(a, argv[++i], &T)) return 2;
        } else if (!strcmp(a, "--seed") && hv) {
            if (parse_u64(a, argv[++i], &seed)) return 2;
        } else if (!strcmp(a, "--shuffle")) {
            shuffle = true;
        } else {
            fprintf(stderr, "seek data pack: unknown or incomplete option '%s'\n", a);
            return 2;
        }
    }
    if (!shards || !out || T < 1 || T > (1u << 24)) {
        fprintf(stderr, "seek data pack: --shards, --out and --seq-len T (1 .. %u) are required\n",
                1u << 24);
        usage(stderr);
        return 2;
    }
    sk_err e = {0};
    sk_shard_set *set = NULL; /* the loader also reads line files; pack wants shards */
    if (sk_shard_set_open(shards, &set, &e)) {
        fprintf(stderr, "seek data pack: %s\n", e.msg);
        return 1;
    }
    sk_shard_set_close(set);
    sk_data_loader *l = NULL;
    if (sk_data_loader_open(shards, (int)T, 1, seed, shuffle ? SK_DATA_SHUFFLE : 0, 0, &l, &e)) {
        fprintf(stderr, "seek data pack: %s\n", e.msg);
        return 1;
    }
    size_t S = (size_t)T + 1;
    uint64_t n = sk_data_loader_n_seq(l);
    int32_t *ids = malloc(S * sizeof(int32_t));
    uint8_t *m = malloc(S);
    sbuf bi = {0}, bm = {0};
    int ret = 1;
    if (!ids || !m) goto fail;
    for (uint64_t s = 0; s < n; s++) {
        if (sk_data_loader_next(l, ids, m, &e)) {
            fprintf(stderr, "seek data pack: %s\n", e.msg);
            goto fail;
        }
        if (sb_line(&bi, ids, NULL, S) || (mask_out && sb_line(&bm, NULL, m, S))) {
            fprintf(stderr, "seek data pack: out of memory\n");
            goto fail;
        }
    }
    if (sk_write_file_atomic(out, bi.p, bi.n, &e) ||
        (mask_out && sk_write_file_atomic(mask_out, bm.p, bm.n, &e))) {
        fprintf(stderr, "seek data pack: %s\n", e.msg);
        goto fail;
    }
    printf("wrote %s: %llu sequences of %zu ids%s\n", out, (unsigned long long)n, S,
           shuffle ? " (shuffled)" : "");
    ret = 0;
fail:
    free(ids);
    free(m);
    free(bi.p);
    free(bm.p);
    sk_data_loader_close(l);
    return ret;
}

static int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    uint64_t T = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--seq-len") && i + 1 < argc) {
            if (parse_u64(argv[i], argv[i + 1], &T) || T < 1 || T > (1u << 24)) return 2;
            i++;
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            fprintf(stderr, "seek data info: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    sk_err e = {0};
    sk_shard_set *s = NULL;
    if (sk_shard_set_open(path, &s, &e)) {
        fprintf(stderr, "seek data info: %s\n", e.msg);
        return 1;
    }
    printf("shards      %u\ndocuments   %llu\ntokens      %llu\nvocab       %d (u%u ids)\n"
           "bos         %d\neos         %d\nset id      %016llx\n",
           sk_shard_set_n_shards(s), (unsigned long long)sk_shard_set_n_docs(s),
           (unsigned long long)sk_shard_set_n_tokens(s), (int)sk_shard_set_vocab(s),
           8 * sk_shard_set_token_bytes(s), (int)sk_shard_set_bos(s), (int)sk_shard_set_eos(s),
           (unsigned long long)sk_shard_set_id(s));
    sk_shard_set_close(s);
    if (T) {
        sk_data_loader *l = NULL;
        if (sk_data_loader_open(path, (int)T, 1, 0, 0, 0, &l, &e)) {
            fprintf(stderr, "seek data info: %s\n", e.msg);
            return 1;
        }
        printf("sequences   %llu of %llu ids\n", (unsigned long long)sk_data_loader_n_seq(l),
               (unsigned long long)T + 1);
        sk_data_loader_close(l);
    }
    return 0;
}

int sk_cmd_data(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "tokenize")) return cmd_tokenize(argc - 1, argv + 1);
    if (!strcmp(argv[1], "pack")) return cmd_pack(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info")) return cmd_info(argc - 1, argv + 1);
    fprintf(stderr, "seek data: unknown subcommand '%s' (known: tokenize, pack, info)\n", argv[1]);
    return 2;
}
