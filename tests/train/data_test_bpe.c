/* data_test_bpe — the byte-level BPE trainer (sk_bpe_train, `seek tokenizer train`):
 *  - hand-computed merges on toy corpora (the tie rule and word frequencies);
 *  - merges identical to a naive reference trainer (full recount every step) on real text, and
 *    Seek's tokenizer (an independent encoder) reproducing the trainer's final segmentation;
 *  - the written tokenizer.json loads with Seek's tokenizer: exact vocab size, specials, chat
 *    template, byte-exact round trips on held-out text (emoji, CJK, invalid UTF-8);
 *  - determinism, and clear errors on bad options. */
#include "sk_data.h"
#include "sk_test.h"
#include "sk_tokenizer.h"
#include "sk_chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];
static const char *const two_special[] = {"<s>", "</s>", NULL};

static char *path_in_tmp(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static sk_bpe_result *train_texts(const char *const *texts, size_t n, int32_t vocab, int64_t minf,
                                  const char *const *special, const char *pre) {
    size_t lens[64];
    for (size_t i = 0; i < n; i++) lens[i] = strlen(texts[i]);
    sk_bpe_train_opts o;
    sk_bpe_train_opts_default(&o);
    o.vocab_size = vocab;
    o.min_frequency = minf;
    o.special = special;
    o.pre = pre;
    o.quiet = true;
    sk_err e = {0};
    sk_bpe_result *r = NULL;
    CHECK_OK(sk_bpe_train(texts, lens, n, &o, &r, &e), &e);
    return r;
}

static const char *merge_str(const sk_bpe_result *r, int32_t m, char *buf, size_t cap) {
    snprintf(buf, cap, "%s %s", r->token[r->merges[m][0]], r->token[r->merges[m][1]]);
    return buf;
}

/* "aaabdaaabac" (one word for every pre-tokenizer). Pair counts count every adjacent position,
 * merges replace non-overlapping occurrences left to right, ties go to the smallest
 * (left id, right id); byte ids follow §5.2 so a < b < c < d, merged ids are larger.
 *   start  a a a b d a a a b a c   (a,a)=4 (a,b)=2 others 1      -> merge 1 "a a"
 *          aa a b d aa a b a c     (aa,a)=2 (a,b)=2: a < aa      -> merge 2 "a b"
 *          aa ab d aa ab a c       (aa,ab)=2                     -> merge 3 "aa ab"
 *          aaab d aaab a c         all 1; smallest left id is a  -> merge 4 "a c"
 *          aaab d aaab ac          left ids d < aaab             -> merge 5 "d aaab"
 *          aaab daaab ac           aaab (merge 3) < daaab (5)    -> merge 6 "aaab daaab"
 *          aaabdaaab ac                                          -> merge 7 "aaabdaaab ac"
 * With min_frequency 2 training stops after merge 3. */
static void test_toy_classic(void) {
    const char *texts[] = {"aaabdaaabac"};
    sk_bpe_result *r = train_texts(texts, 1, 2 + 256 + 100, 1, two_special, NULL);
    if (!r) return;
    const char *want[] = {"a a", "a b", "aa ab", "a c", "d aaab", "aaab daaab", "aaabdaaab ac"};
    CHECK(r->n_merges == 7);
    CHECK(r->vocab_size == 2 + 256 + 7);
    char buf[256];
    for (int m = 0; m < 7 && m < r->n_merges; m++)
        CHECK_MSG(!strcmp(merge_str(r, m, buf, sizeof buf), want[m]),
                  "merge %d is \"%s\", want \"%s\"", m, buf, want[m]);
    CHECK(r->merge_count[0] == 4 && r->merge_count[1] == 2 && r->merge_count[2] == 2 &&
          r->merge_count[3] == 1);
    sk_bpe_result_free(r);

    r = train_texts(texts, 1, 2 + 256 + 100, 2, two_special, NULL);
    if (!r) return;
    CHECK(r->n_merges == 3);
    sk_bpe_train_opts o;
    sk_bpe_train_opts_default(&o);
    sk_err e = {0};
    CHECK_OK(sk_bpe_write_hf(r, &o, path_in_tmp("toy"), &e), &e);
    sk_tokenizer *t = NULL;
    CHECK_OK(sk_tokenizer_load_hf(path_in_tmp("toy"), &t, &e), &e);
    if (t) {
        int32_t *ids = NULL;
        size_t n = 0;
        CHECK_OK(sk_tokenizer_encode(t, "aaabdaaabac", 11, 0, &ids, &n, &e), &e);
        const char *seg[] = {"aaab", "d", "aaab", "a", "c"};
        CHECK(n == 5);
        for (size_t i = 0; i < n && i < 5; i++)
            CHECK_MSG(!strcmp(sk_tokenizer_token_text(t, ids[i], NULL), seg[i]), "piece %zu = %s",
                      i, sk_tokenizer_token_text(t, ids[i], NULL));
        /* "aaab" is the last merge: id 2 + 256 + 2 */
        CHECK(n >= 1 && ids[0] == 2 + 256 + 2);
        free(ids);
        sk_tokenizer_free(t);
    }
    sk_bpe_result_free(r);
}

/* Word frequencies and both tie levels. deepseek-v3 words: "ab" " ab" " ab" " cd" " cd"
 * (a space joins the following word; Ġ = the space symbol, a remapped byte, so its id is larger
 * than every printable ASCII byte's).
 *   (a,b)=3 (Ġ,a)=2 (Ġ,c)=2 (c,d)=2          -> "a b"
 *   (Ġ,ab)=2 (Ġ,c)=2 (c,d)=2: left c < Ġ     -> "c d"
 *   (Ġ,ab)=2 (Ġ,cd)=2: right ab < cd          -> "Ġ ab", then "Ġ cd" */
static void test_toy_ties(void) {
    const char *texts[] = {"ab ab ab cd cd"};
    sk_bpe_result *r = train_texts(texts, 1, 2 + 256 + 4, 2, two_special, "deepseek-v3");
    if (!r) return;
    const char *want[] = {"a b", "c d", "\xC4\xA0 ab", "\xC4\xA0 cd"};
    CHECK(r->n_merges == 4 && r->vocab_size == 262);
    char buf[256];
    for (int m = 0; m < 4 && m < r->n_merges; m++)
        CHECK_MSG(!strcmp(merge_str(r, m, buf, sizeof buf), want[m]),
                  "merge %d is \"%s\", want \"%s\"", m, buf, want[m]);
    sk_bpe_result_free(r);
}

/* ---- naive reference trainer: recount every pair every step ---- */

typedef struct nword {
    int32_t *s;
    int n;
    int64_t f;
} nword;
typedef struct nwords {
    nword *w;
    size_t n, cap;
    char **text;
    size_t *len;
} nwords;

static void collect(void *ctx, const char *w, size_t len) {
    nwords *W = ctx;
    for (size_t i = 0; i < W->n; i++)
        if (W->len[i] == len && !memcmp(W->text[i], w, len)) {
            W->w[i].f++;
            return;
        }
    if (W->n == W->cap) {
        W->cap = W->cap ? W->cap * 2 : 256;
        W->w = realloc(W->w, W->cap * sizeof(nword));
        W->text = realloc(W->text, W->cap * sizeof(char *));
        W->len = realloc(W->len, W->cap * sizeof(size_t));
    }
    W->text[W->n] = malloc(len + 1);
    memcpy(W->text[W->n], w, len);
    W->text[W->n][len] = 0;
    W->len[W->n] = len;
    W->w[W->n] = (nword){NULL, 0, 1};
    W->n++;
}

typedef struct trip {
    int32_t a, b;
    int64_t c;
} trip;
static int trip_cmp(const void *x, const void *y) {
    const trip *p = x, *q = y;
    if (p->a != q->a) return p->a < q->a ? -1 : 1;
    if (p->b != q->b) return p->b < q->b ? -1 : 1;
    return 0;
}

/* §5.2 order of the byte symbols, written out independently of the trainer. */
static bool self_mapped(int x) {
    return (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
}
static int rank_of(int b) {
    int r = self_mapped(b) ? 0 : 188;
    for (int x = 0; x < b; x++)
        if (self_mapped(x) == self_mapped(b)) r++;
    return r;
}

static void test_reference_trainer(void) {
    size_t len = 0;
    char path[512];
    snprintf(path, sizeof path, "%s/tests/train/data_sample.txt", SEEK_SOURCE_DIR);
    char *full = sk_test_slurp(path, &len);
    if (len > 12000) len = 12000; /* the naive trainer is quadratic-ish */
    full[len] = 0;
    const char *texts[] = {full};
    const int32_t S = 2, M = 300;
    sk_bpe_result *r = train_texts(texts, 1, S + 256 + M, 2, two_special, "deepseek-v3");
    if (!r) {
        free(full);
        return;
    }
    CHECK(r->n_merges == M);
    sk_bpe_train_opts o;
    sk_bpe_train_opts_default(&o);
    sk_err e = {0};
    CHECK_OK(sk_bpe_write_hf(r, &o, path_in_tmp("ref"), &e), &e);
    sk_tokenizer *t = NULL;
    CHECK_OK(sk_tokenizer_load_hf(path_in_tmp("ref"), &t, &e), &e);
    if (!t) goto out;
    /* byte ids: token S + rank(b) must decode to byte b */
    for (int b = 0; b < 256; b++) {
        size_t pl = 0;
        const uint8_t *p = sk_tokenizer_token_to_piece(t, S + rank_of(b), &pl);
        CHECK_MSG(p && pl == 1 && p[0] == b, "byte %02x is not id %d", b, S + rank_of(b));
    }
    nwords W = {0};
    CHECK_OK(sk_tokenizer_pretokenize(t, full, len, 0, collect, &W, &e), &e);
    for (size_t i = 0; i < W.n; i++) {
        W.w[i].n = (int)W.len[i];
        W.w[i].s = malloc(W.len[i] * sizeof(int32_t));
        for (size_t k = 0; k < W.len[i]; k++) W.w[i].s[k] = S + rank_of((uint8_t)W.text[i][k]);
    }
    size_t cap = 0;
    for (size_t i = 0; i < W.n; i++) cap += W.len[i];
    trip *tr = malloc((cap + 1) * sizeof(trip));
    int agree = 0;
    for (int32_t m = 0; m < M; m++) {
        size_t nt = 0;
        for (size_t i = 0; i < W.n; i++)
            for (int k = 0; k + 1 < W.w[i].n; k++)
                tr[nt++] = (trip){W.w[i].s[k], W.w[i].s[k + 1], W.w[i].f};
        qsort(tr, nt, sizeof(trip), trip_cmp);
        trip best = {0, 0, 0};
        for (size_t i = 0; i < nt;) {
            trip c = tr[i];
            size_t j = i + 1;
            while (j < nt && tr[j].a == c.a && tr[j].b == c.b) c.c += tr[j++].c;
            if (c.c > best.c) best = c; /* sorted by (a,b): the first maximum is the smallest */
            i = j;
        }
        if (best.c < 2) break;
        int32_t X = S + 256 + m;
        if (m < r->n_merges && r->merges[m][0] == best.a && r->merges[m][1] == best.b &&
            r->merge_count[m] == best.c)
            agree++;
        else if (agree == m)
            fprintf(stderr,
                    "first difference at merge %d: reference (%d,%d) x%lld, trainer "
                    "(%d,%d) x%lld\n",
                    m, best.a, best.b, (long long)best.c, r->merges[m][0], r->merges[m][1],
                    (long long)r->merge_count[m]);
        for (size_t i = 0; i < W.n; i++) {
            int j = 0;
            for (int k = 0; k < W.w[i].n;) {
                if (k + 1 < W.w[i].n && W.w[i].s[k] == best.a && W.w[i].s[k + 1] == best.b) {
                    W.w[i].s[j++] = X;
                    k += 2;
                } else {
                    W.w[i].s[j++] = W.w[i].s[k++];
                }
            }
            W.w[i].n = j;
        }
    }
    CHECK_MSG(agree == M, "%d of %d merges agree with the reference", agree, M);
    /* Seek's encoder on every word gives the reference's final segmentation */
    size_t bad = 0;
    for (size_t i = 0; i < W.n; i++) {
        int32_t *ids = NULL;
        size_t n = 0;
        if (sk_tokenizer_encode(t, W.text[i], W.len[i], 0, &ids, &n, &e)) {
            bad++;
            continue;
        }
        if (n != (size_t)W.w[i].n || memcmp(ids, W.w[i].s, n * sizeof(int32_t))) {
            if (bad < 3) fprintf(stderr, "word \"%s\" segments differently\n", W.text[i]);
            bad++;
        }
        free(ids);
    }
    CHECK_MSG(bad == 0, "%zu of %zu words differ", bad, W.n);
    for (size_t i = 0; i < W.n; i++) {
        free(W.w[i].s);
        free(W.text[i]);
    }
    free(W.w);
    free(W.text);
    free(W.len);
    free(tr);
    sk_tokenizer_free(t);
out:
    sk_bpe_result_free(r);
    free(full);
}

/* ---- the full output on the sample corpus ---- */

static const char *extra_text =
    "数据和模型。深度求索的模型在中文文本上训练。数据和模型。ひらがなとカタカナ。"
    "emoji: \xF0\x9F\x98\x80\xF0\x9F\x98\x80 \xF0\x9F\x9A\x80 rockets \xF0\x9F\x9A\x80\n"
    "Numbers 12345678 and 3.14159, tabs\tand\r\nCRLF lines.\n";

static void train_sample(const char *dir, int32_t vocab, const char *tmpl) {
    size_t len = 0;
    char path[512];
    snprintf(path, sizeof path, "%s/tests/train/data_sample.txt", SEEK_SOURCE_DIR);
    char *full = sk_test_slurp(path, &len);
    const char *texts[] = {full, extra_text, extra_text};
    size_t lens[] = {len, strlen(extra_text), strlen(extra_text)};
    sk_bpe_train_opts o;
    sk_bpe_train_opts_default(&o);
    o.vocab_size = vocab;
    o.quiet = true;
    o.chat_template = tmpl;
    sk_err e = {0};
    sk_bpe_result *r = NULL;
    CHECK_OK(sk_bpe_train(texts, lens, 3, &o, &r, &e), &e);
    if (r) {
        CHECK(r->vocab_size == vocab);
        CHECK_OK(sk_bpe_write_hf(r, &o, dir, &e), &e);
    }
    sk_bpe_result_free(r);
    free(full);
}

static void roundtrip(sk_tokenizer *t, const char *s, size_t n, const char *want, size_t wn) {
    sk_err e = {0};
    int32_t *ids = NULL;
    size_t k = 0;
    CHECK_OK(sk_tokenizer_encode(t, s, n, 0, &ids, &k, &e), &e);
    char *out = NULL;
    size_t ol = 0;
    CHECK_OK(sk_tokenizer_decode(t, ids, k, false, &out, &ol, &e), &e);
    CHECK_MSG(out && ol == wn && !memcmp(out, want, wn), "round trip of \"%.*s\" gave \"%s\"",
              (int)n, s, out ? out : "(null)");
    free(ids);
    free(out);
}

static void test_sample_tokenizer(void) {
    char tp[512];
    snprintf(tp, sizeof tp, "%s/tests/chat/templates/deepseek-r1.jinja", SEEK_SOURCE_DIR);
    char *tmpl = sk_test_slurp(tp, NULL);
    const int32_t N = 1000;
    train_sample(path_in_tmp("sample"), N, tmpl);
    sk_err e = {0};
    sk_tokenizer *t = NULL;
    CHECK_OK(sk_tokenizer_load_hf(path_in_tmp("sample"), &t, &e), &e);
    if (!t) {
        free(tmpl);
        return;
    }
    CHECK(sk_tokenizer_n_vocab(t) == N);
    CHECK(!strcmp(sk_tokenizer_pre(t), "deepseek-v3"));
    CHECK(sk_tokenizer_bos(t) == 0 && sk_tokenizer_eos(t) == 1 && sk_tokenizer_add_bos(t));
    CHECK(sk_tokenizer_find(t, "<\xEF\xBD\x9CUser\xEF\xBD\x9C>") == 2);
    CHECK(sk_tokenizer_find(t, "<think>") == 4 && sk_tokenizer_find(t, "</think>") == 5);
    CHECK(sk_tokenizer_token_type(t, 2) == SK_TOKEN_CONTROL);
    CHECK(sk_tokenizer_token_type(t, 4) == SK_TOKEN_USER_DEFINED);
    const char *ct = sk_tokenizer_chat_template(t);
    CHECK(ct && !strcmp(ct, tmpl));
    sk_chat_kind kind = SK_CHAT_UNKNOWN;
    CHECK_OK(sk_chat_template_detect(ct, NULL, &kind, &e), &e);
    CHECK(kind == SK_CHAT_DEEPSEEK_R1);

    /* held-out text: exact byte round trip */
    char hp[512];
    snprintf(hp, sizeof hp, "%s/tests/train/data_heldout.txt", SEEK_SOURCE_DIR);
    size_t hl = 0;
    char *held = sk_test_slurp(hp, &hl);
    roundtrip(t, held, hl, held, hl);
    const char *uni =
        "Unicode: 深度求索 ひらがな カタカナ 한국어 Ελληνικά русский العربية "
        "\xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xF0\x9F\x91\xA8\xE2\x80\x8D"
        "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 e\xCC\x81 \t\r\n\x01\x7f 12345";
    roundtrip(t, uni, strlen(uni), uni, strlen(uni));
    /* invalid UTF-8: the tokenizer replaces each maximal ill-formed subpart by U+FFFD */
    const char bad[] = "ok \xFF\xC3 \xE2\x82 \xED\xA0\x80 end";
    char *san = NULL;
    size_t sl = 0;
    CHECK_OK(sk_utf8_sanitize((const uint8_t *)bad, sizeof bad - 1, &san, &sl, &e), &e);
    CHECK(san && strstr(san, "\xEF\xBF\xBD") != NULL);
    if (san) roundtrip(t, bad, sizeof bad - 1, san, sl);
    free(san);
    /* specials */
    const char *chat = "<\xEF\xBD\x9CUser\xEF\xBD\x9C>hi<think>x</think>";
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK_OK(sk_tokenizer_encode(t, chat, strlen(chat), SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS, &ids,
                                 &n, &e),
             &e);
    CHECK(n >= 5 && ids[0] == 0 && ids[1] == 2 && ids[n - 1] == 5);
    free(ids);
    /* compression: merges are used (text is shorter in tokens than in bytes) */
    CHECK_OK(sk_tokenizer_encode(t, held, hl, 0, &ids, &n, &e), &e);
    CHECK_MSG(n < hl / 2, "held-out text: %zu tokens for %zu bytes", n, hl);
    free(ids);
    free(held);
    sk_tokenizer_free(t);
    free(tmpl);
}

static void test_deterministic(void) {
    train_sample(path_in_tmp("det1"), 700, NULL);
    train_sample(path_in_tmp("det2"), 700, NULL);
    size_t a = 0, b = 0;
    char *x = sk_test_slurp(path_in_tmp("det1/tokenizer.json"), &a);
    char *y = sk_test_slurp(path_in_tmp("det2/tokenizer.json"), &b);
    CHECK(a == b && !memcmp(x, y, a));
    free(x);
    free(y);
}

static void test_other_pretokenizers(void) {
    const char *names[] = {"qwen2", "llama3"};
    const char *canon[] = {"qwen2", "llama-bpe"};
    for (int i = 0; i < 2; i++) {
        const char *texts[] = {"Hello world, hello worlds! It's 2025 and 12345 numbers."};
        sk_bpe_result *r = train_texts(texts, 1, 6 + 256 + 20, 1, NULL, names[i]);
        if (!r) continue;
        sk_bpe_train_opts o;
        sk_bpe_train_opts_default(&o);
        sk_err e = {0};
        char d[32];
        snprintf(d, sizeof d, "pre%d", i);
        CHECK_OK(sk_bpe_write_hf(r, &o, path_in_tmp(d), &e), &e);
        sk_tokenizer *t = NULL;
        CHECK_OK(sk_tokenizer_load_hf(path_in_tmp(d), &t, &e), &e);
        if (t) {
            CHECK_MSG(!strcmp(sk_tokenizer_pre(t), canon[i]), "pre = %s", sk_tokenizer_pre(t));
            roundtrip(t, texts[0], strlen(texts[0]), texts[0], strlen(texts[0]));
            sk_tokenizer_free(t);
        }
        sk_bpe_result_free(r);
    }
}

static void test_errors(void) {
    const char *texts[] = {"abc"};
    size_t lens[] = {3};
    sk_bpe_train_opts o;
    sk_bpe_train_opts_default(&o);
    o.quiet = true;
    sk_err e = {0};
    sk_bpe_result *r = NULL;
    o.vocab_size = 100;
    CHECK(sk_bpe_train(texts, lens, 1, &o, &r, &e) == SK_ERR_INVALID && !r);
    CHECK(strstr(e.msg, "at least 262") != NULL);
    o.vocab_size = 300;
    o.pre = "gpt5";
    CHECK(sk_bpe_train(texts, lens, 1, &o, &r, &e) == SK_ERR_INVALID && strstr(e.msg, "gpt5"));
    o.pre = NULL;
    const char *dup[] = {"<s>", "<s>", NULL};
    o.special = dup;
    CHECK(sk_bpe_train(texts, lens, 1, &o, &r, &e) == SK_ERR_INVALID && strstr(e.msg, "twice"));
    const char *byte[] = {"<s>", "a", NULL};
    o.special = byte;
    CHECK(sk_bpe_train(texts, lens, 1, &o, &r, &e) == SK_ERR_INVALID && strstr(e.msg, "byte"));
    const char *badutf[] = {"<s>", "\xFF", NULL};
    o.special = badutf;
    CHECK(sk_bpe_train(texts, lens, 1, &o, &r, &e) == SK_ERR_INVALID && strstr(e.msg, "UTF-8"));
    /* a special token's text is never created by a merge */
    const char *think[] = {"<s>", "</s>", "ab", NULL};
    const char *ab[] = {"ab ab ab ab"};
    size_t abl[] = {11};
    o.special = think;
    o.min_frequency = 1;
    CHECK_OK(sk_bpe_train(ab, abl, 1, &o, &r, &e), &e);
    if (r) {
        for (int32_t m = 0; m < r->n_merges; m++) CHECK(strcmp(r->token[3 + 256 + m], "ab"));
        CHECK(r->n_merges >= 1);
    }
    sk_bpe_result_free(r);
}

int main(void) {
    const char *td = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/seek-data-bpe-XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_toy_classic);
    RUN(test_toy_ties);
    RUN(test_reference_trainer);
    RUN(test_sample_tokenizer);
    RUN(test_deterministic);
    RUN(test_other_pretokenizers);
    RUN(test_errors);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return sk_test_report("data_bpe");
}
