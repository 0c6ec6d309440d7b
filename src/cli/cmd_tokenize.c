/* cmd_tokenize.c — `seek tokenize`: encode text to ids, decode ids to text, encode a JSON-lines
 * file, or measure the encoder's speed. */
#include <jansson.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_tokenizer.h"

#include <time.h>

/* CPU seconds of this thread: the benchmark is single-threaded, and on a busy machine the
 * wall clock also counts time spent waiting for a core. */
static double cpu_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(FILE *f) {
    fprintf(
        f,
        "usage: seek tokenize (-m MODEL.gguf | --tokenizer DIR_OR_JSON) [options] TEXT|-\n"
        "       seek tokenize (-m … | --tokenizer …) --decode ID [ID …]\n"
        "       seek tokenize (-m … | --tokenizer …) --jsonl FILE|-\n"
        "       seek tokenize (-m … | --tokenizer …) --bench FILE [--seconds S]\n"
        "       seek tokenize (-m … | --tokenizer …) --info\n"
        "\n"
        "Encodes TEXT (or stdin with '-') with the model's byte-level BPE tokenizer.\n"
        "  -m, --model FILE     a GGUF model (tokenizer.ggml.* metadata)\n"
        "  --tokenizer PATH     a Hugging Face tokenizer.json, or a directory holding it\n"
        "                       (tokenizer_config.json beside it gives BOS/EOS and add_bos_token)\n"
        "  --special            match control tokens such as <｜User｜> in the text\n"
        "  --no-bos             do not prepend the BOS token\n"
        "  --ids                print the ids on one line (default)\n"
        "  --pieces             print one token per line: id, TAB, its text as a JSON string\n"
        "  --decode ID…         print the text of the ids (invalid UTF-8 becomes U+FFFD)\n"
        "  --skip-special       with --decode: leave out special tokens\n"
        "  --jsonl FILE         each line a JSON string -> each output line a JSON array of ids\n"
        "  --bench FILE         encode FILE repeatedly (at least --seconds, default 3) and print\n"
        "                       the speed: the first (cold word cache) pass and the average\n"
        "  --info               print vocabulary size, special ids and the pre-tokenizer\n");
}

static int load(const char *model, const char *tokpath, sk_tokenizer **t) {
    sk_err e = {0};
    int rc =
        model ? sk_tokenizer_load_gguf_file(model, t, &e) : sk_tokenizer_load_hf(tokpath, t, &e);
    if (rc) fprintf(stderr, "seek tokenize: %s\n", e.msg);
    return rc;
}

static int read_all(FILE *f, char **out, size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (!b) return -1;
    for (;;) {
        if (n == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return -1;
            }
            b = nb;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    if (ferror(f)) {
        free(b);
        return -1;
    }
    *out = b;
    *len = n;
    return 0;
}

static void print_json_str(const char *s, size_t n) {
    json_t *j = json_stringn(s, n);
    char *d = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    fputs(d ? d : "\"\"", stdout);
    free(d);
    json_decref(j);
}

static int print_ids(const sk_tokenizer *t, const int32_t *ids, size_t n, bool pieces) {
    if (!pieces) {
        for (size_t i = 0; i < n; i++) printf(i ? " %d" : "%d", ids[i]);
        putchar('\n');
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = 0;
        const uint8_t *p = sk_tokenizer_token_to_piece(t, ids[i], &l);
        printf("%d\t", ids[i]);
        /* a piece may be part of a UTF-8 character: show it lossily, then its bytes */
        char *clean = NULL;
        size_t cl = 0;
        if (sk_utf8_sanitize(p, l, &clean, &cl, NULL) == 0) {
            print_json_str(clean, cl);
            free(clean);
        }
        if (!sk_utf8_valid(p, l)) {
            fputs("\tbytes", stdout);
            for (size_t k = 0; k < l; k++) printf(" %02x", p[k]);
        }
        putchar('\n');
    }
    return 0;
}

static int do_jsonl(sk_tokenizer *t, const char *path, unsigned flags) {
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "seek tokenize: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
        json_error_t je;
        json_t *j = json_loadb(line, (size_t)len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!json_is_string(j)) {
            fprintf(stderr, "seek tokenize: %s:%zu: not a JSON string%s%s\n", path, lineno,
                    j ? "" : ": ", j ? "" : je.text);
            json_decref(j);
            rc = 1;
            break;
        }
        int32_t *ids = NULL;
        size_t n = 0;
        sk_err e = {0};
        if (sk_tokenizer_encode(t, json_string_value(j), json_string_length(j), flags, &ids, &n,
                                &e)) {
            fprintf(stderr, "seek tokenize: %s:%zu: %s\n", path, lineno, e.msg);
            json_decref(j);
            rc = 1;
            break;
        }
        putchar('[');
        for (size_t i = 0; i < n; i++) printf(i ? ",%d" : "%d", ids[i]);
        fputs("]\n", stdout);
        free(ids);
        json_decref(j);
    }
    if (!rc && ferror(f)) { /* getline's -1 was an error (e.g. a directory), not the end */
        fprintf(stderr, "seek tokenize: %s: read failed: %s\n", path, strerror(errno));
        rc = 1;
    }
    free(line);
    if (f != stdin) fclose(f);
    return rc;
}

static int do_bench(const char *model, const char *tokpath, const char *path, double seconds,
                    unsigned flags) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "seek tokenize: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    char *buf;
    size_t len;
    int r = read_all(f, &buf, &len);
    fclose(f);
    if (r) {
        fprintf(stderr, "seek tokenize: cannot read %s\n", path);
        return 1;
    }
    sk_tokenizer *t = NULL;
    double t0 = sk_time_sec();
    if (load(model, tokpath, &t)) {
        free(buf);
        return 1;
    }
    double t_load = sk_time_sec() - t0;
    int passes = 0;
    size_t ntok = 0;
    double first = 0, total = 0, first_cpu = 0, total_cpu = 0, best_cpu = 1e30;
    while (passes < 2 || total < seconds) {
        int32_t *ids = NULL;
        size_t n = 0;
        sk_err e = {0};
        double a = sk_time_sec(), ac = cpu_sec();
        if (sk_tokenizer_encode(t, buf, len, flags, &ids, &n, &e)) {
            fprintf(stderr, "seek tokenize: %s\n", e.msg);
            sk_tokenizer_free(t);
            free(buf);
            return 1;
        }
        double dt = sk_time_sec() - a, dc = cpu_sec() - ac;
        if (passes == 0) {
            first = dt;
            first_cpu = dc;
        }
        total += dt;
        total_cpu += dc;
        if (passes > 0 && dc < best_cpu) best_cpu = dc;
        ntok = n;
        free(ids);
        passes++;
    }
    double mb = (double)len / 1e6;
    printf("file %s: %.2f MB, %zu tokens (%.2f bytes/token); load %.2f s\n", path, mb, ntok,
           ntok ? (double)len / (double)ntok : 0.0, t_load);
    printf("first pass (cold word cache): %.1f MB/s, %.0f tokens/s (wall); %.1f MB/s (CPU time)\n",
           mb / first, (double)ntok / first, mb / first_cpu);
    printf("average of %d passes:         %.1f MB/s, %.0f tokens/s (wall); %.1f MB/s (CPU time)\n",
           passes, mb * passes / total, (double)ntok * passes / total, mb * passes / total_cpu);
    printf("best warm pass:               %.1f MB/s (CPU time)\n", mb / best_cpu);
    sk_tokenizer_free(t);
    free(buf);
    return 0;
}

int sk_cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *tokpath = NULL, *jsonl = NULL, *bench = NULL, *text = NULL;
    bool special = false, no_bos = false, pieces = false, decode = false, skip_special = false,
         info = false;
    double seconds = 3;
    int first_id = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && i + 1 < argc) {
            model = argv[++i];
        } else if (!strcmp(a, "--tokenizer") && i + 1 < argc) {
            tokpath = argv[++i];
        } else if (!strcmp(a, "--special")) {
            special = true;
        } else if (!strcmp(a, "--no-bos")) {
            no_bos = true;
        } else if (!strcmp(a, "--ids")) {
            pieces = false;
        } else if (!strcmp(a, "--pieces")) {
            pieces = true;
        } else if (!strcmp(a, "--skip-special")) {
            skip_special = true;
        } else if (!strcmp(a, "--info")) {
            info = true;
        } else if (!strcmp(a, "--jsonl") && i + 1 < argc) {
            jsonl = argv[++i];
        } else if (!strcmp(a, "--bench") && i + 1 < argc) {
            bench = argv[++i];
        } else if (!strcmp(a, "--seconds") && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (!strcmp(a, "--decode")) {
            decode = true;
            first_id = i + 1;
            break; /* the rest are ids */
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "seek tokenize: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!text) {
            text = a;
        } else {
            fprintf(stderr, "seek tokenize: more than one TEXT argument (quote the text)\n");
            return 2;
        }
    }
    if (!model == !tokpath) {
        fprintf(stderr, "seek tokenize: give exactly one of -m MODEL.gguf or --tokenizer PATH\n");
        usage(stderr);
        return 2;
    }
    unsigned flags = (special ? SK_TOK_PARSE_SPECIAL : 0) | (no_bos ? 0 : SK_TOK_ADD_BOS);
    if (bench) return do_bench(model, tokpath, bench, seconds, flags);
    if (!decode && !jsonl && !info && !text) {
        fprintf(stderr, "seek tokenize: no TEXT (use '-' for stdin)\n");
        usage(stderr);
        return 2;
    }
    sk_tokenizer *t = NULL;
    if (load(model, tokpath, &t)) return 1;
    int rc = 0;
    if (info) {
        printf("vocabulary  %d tokens\npre         %s\nbos         %d\neos         %d\npad         "
               "%d\n"
               "add_bos     %s\nchat_tmpl   %s\n",
               sk_tokenizer_n_vocab(t), sk_tokenizer_pre(t), sk_tokenizer_bos(t),
               sk_tokenizer_eos(t), sk_tokenizer_pad(t), sk_tokenizer_add_bos(t) ? "yes" : "no",
               sk_tokenizer_chat_template(t) ? "yes" : "no");
    } else if (decode) {
        int32_t *ids = calloc((size_t)(argc - first_id) + 1, sizeof *ids);
        size_t n = 0;
        for (int i = first_id; ids && i < argc; i++) {
            char *end;
            long v = strtol(argv[i], &end, 10);
            if (*argv[i] == 0 || *end || v < 0 || v >= sk_tokenizer_n_vocab(t)) {
                fprintf(stderr, "seek tokenize: --decode: '%s' is not a token id in [0, %d)\n",
                        argv[i], sk_tokenizer_n_vocab(t));
                rc = 2;
                break;
            }
            ids[n++] = (int32_t)v;
        }
        if (!rc) {
            char *out = NULL;
            size_t len = 0;
            sk_err e = {0};
            if (sk_tokenizer_decode(t, ids, n, skip_special, &out, &len, &e)) {
                fprintf(stderr, "seek tokenize: %s\n", e.msg);
                rc = 1;
            } else {
                fwrite(out, 1, len, stdout);
                putchar('\n');
                free(out);
            }
        }
        free(ids);
    } else if (jsonl) {
        rc = do_jsonl(t, jsonl, flags);
    } else {
        char *buf = NULL;
        size_t len = 0;
        if (!strcmp(text, "-")) {
            if (read_all(stdin, &buf, &len)) {
                fprintf(stderr, "seek tokenize: cannot read stdin\n");
                rc = 1;
            }
        }
        if (!rc) {
            int32_t *ids = NULL;
            size_t n = 0;
            sk_err e = {0};
            if (sk_tokenizer_encode(t, buf ? buf : text, buf ? len : strlen(text), flags, &ids, &n,
                                    &e)) {
                fprintf(stderr, "seek tokenize: %s\n", e.msg);
                rc = 1;
            } else {
                print_ids(t, ids, n, pieces);
                free(ids);
            }
        }
        free(buf);
    }
    sk_tokenizer_free(t);
    return rc;
}
