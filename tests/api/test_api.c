/* test_api — the public C API (include/seek.h) on models/default.gguf (a tiny DeepSeek-V3
 * architecture model with the R1 chat template) and the golden tiny models: every function,
 * checked against the internal layers it wraps (model config, tokenizer, chat renderer and
 * encoder, reasoning parser) and against a hand-written greedy loop over seek_logits; and the
 * error paths (missing and garbage files, bad parameters, out-of-range ids, small buffers). */
#include "seek.h"
#include "sk_chat.h"
#include "sk_model.h"
#include "sk_test.h"
#include "sk_tokenizer.h"

#include <stdint.h>
#include <unistd.h>

#define DEFAULT_MODEL SEEK_SOURCE_DIR "/models/default.gguf"
#define GOLDEN        SEEK_TEST_DATA "/golden/"

static seek_model *open_default(int n_ctx) {
    seek_model_params p;
    seek_model_params_init(&p);
    p.n_threads = 2;
    p.n_ctx = n_ctx;
    seek_model *m = NULL;
    seek_error err = {0};
    int rc = seek_model_open(DEFAULT_MODEL, &p, &m, &err);
    CHECK_MSG(rc == SEEK_OK && m, "open: %d %s", rc, err.message);
    return m;
}

/* ---- collecting streamed pieces ---- */

typedef struct collect {
    char text[2][8192]; /* [SEEK_PIECE_ANSWER], [SEEK_PIECE_REASONING] */
    size_t len[2];
    int n_pieces;
    int stop_after; /* > 0: ask to stop after this many pieces */
} collect;

static int on_piece(void *user, seek_piece_kind kind, const char *text, size_t len) {
    collect *c = user;
    CHECK(kind == SEEK_PIECE_ANSWER || kind == SEEK_PIECE_REASONING);
    CHECK(len > 0);
    size_t k = kind == SEEK_PIECE_REASONING ? 1 : 0;
    if (c->len[k] + len < sizeof c->text[k]) {
        memcpy(c->text[k] + c->len[k], text, len);
        c->len[k] += len;
        c->text[k][c->len[k]] = 0;
    }
    c->n_pieces++;
    return c->stop_after > 0 && c->n_pieces >= c->stop_after;
}

/* ---- tests ---- */

static void test_version_and_status(void) {
    CHECK(!strcmp(seek_version(), SEEK_VERSION_STRING));
    CHECK(!strcmp(seek_status_name(SEEK_OK), "ok"));
    CHECK(!strcmp(seek_status_name(SEEK_ERR_FORMAT), "format error"));
    CHECK(!strcmp(seek_status_name(12345), "unknown"));
    seek_free(NULL);
    seek_model_params p;
    memset(&p, 0x5a, sizeof p);
    seek_model_params_init(&p);
    CHECK(p.n_threads == 0 && p.n_ctx == 0 && p.cache_type == SEEK_CACHE_F32 && !p.tokenizer &&
          !p.chat_template);
}

static void test_open_errors(void) {
    seek_model *m = (seek_model *)&m; /* must be reset to NULL */
    seek_error err = {0};
    int rc = seek_model_open("/nonexistent/dir/model.gguf", NULL, &m, &err);
    CHECK(rc != SEEK_OK && m == NULL);
    CHECK(err.code == rc && strstr(err.message, "/nonexistent/dir/model.gguf"));

    /* a garbage file */
    char path[] = "/tmp/seek_api_garbageXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) {
        const char junk[] = "this is not a GGUF file, just some text padding it out a bit more";
        CHECK(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk);
        close(fd);
        memset(&err, 0, sizeof err);
        rc = seek_model_open(path, NULL, &m, &err);
        CHECK_MSG(rc == SEEK_ERR_FORMAT && m == NULL, "garbage: %d %s", rc, err.message);
        CHECK(err.message[0] != 0);
        /* a NULL error struct is allowed */
        CHECK(seek_model_open(path, NULL, &m, NULL) == SEEK_ERR_FORMAT && m == NULL);
        unlink(path);
    }

    /* a folder without config.json */
    memset(&err, 0, sizeof err);
    rc = seek_model_open(SEEK_TEST_DATA, NULL, &m, &err);
    CHECK_MSG(rc != SEEK_OK && m == NULL && err.message[0], "dir: %d %s", rc, err.message);

    /* bad parameters */
    seek_model_params p;
    seek_model_params_init(&p);
    p.cache_type = 9;
    memset(&err, 0, sizeof err);
    CHECK(seek_model_open(DEFAULT_MODEL, &p, &m, &err) == SEEK_ERR_INVALID && !m);
    CHECK(strstr(err.message, "cache_type"));
    seek_model_params_init(&p);
    p.n_ctx = 1 << 30;
    CHECK(seek_model_open(DEFAULT_MODEL, &p, &m, &err) == SEEK_ERR_INVALID && !m);
    CHECK(strstr(err.message, "n_ctx"));
    seek_model_params_init(&p);
    p.chat_template = "no-such-template";
    memset(&err, 0, sizeof err);
    CHECK(seek_model_open(DEFAULT_MODEL, &p, &m, &err) == SEEK_ERR_INVALID && !m);
    CHECK_MSG(strstr(err.message, "chat_template") && strstr(err.message, "deepseek-r1"), "%s",
              err.message);
    seek_model_params_init(&p);
    p.tokenizer = "/nonexistent/tokenizer.json";
    CHECK(seek_model_open(DEFAULT_MODEL, &p, &m, &err) != SEEK_OK && !m);
    CHECK(seek_model_open(NULL, NULL, &m, &err) == SEEK_ERR_INVALID && !m);
    CHECK(seek_model_open("", NULL, &m, &err) == SEEK_ERR_INVALID && !m);
    CHECK(seek_model_open(DEFAULT_MODEL, NULL, NULL, &err) == SEEK_ERR_INVALID);
    seek_model_close(NULL);
}

static void test_model_info(void) {
    seek_model *m = open_default(0);
    if (!m) return;
    /* the reference: the model layer's own reading of the same file */
    sk_model *ref = NULL;
    sk_err e = {0};
    CHECK_OK(sk_model_open(DEFAULT_MODEL, NULL, &ref, &e), &e);
    if (ref) {
        const sk_model_config *c = sk_model_get_config(ref);
        CHECK(seek_model_n_vocab(m) == c->n_vocab);
        CHECK(seek_model_n_ctx_train(m) == c->max_ctx);
        CHECK(seek_model_n_layer(m) == c->n_layer);
        CHECK(seek_model_n_embd(m) == c->n_embd);
        CHECK(c->arch == SK_ARCH_DEEPSEEK2);
        sk_model_close(ref);
    }
    CHECK(!strcmp(seek_model_arch(m), "deepseek2"));
    CHECK(seek_model_n_vocab(m) > 1000 && seek_model_n_ctx_train(m) > 0);
    CHECK(seek_model_is_reasoner(m) == 1);
    CHECK(seek_model_chat_template(m) && !strcmp(seek_model_chat_template(m), "deepseek-r1"));
    seek_tokenizer *t = seek_model_tokenizer(m);
    CHECK(t && seek_tokenizer_n_vocab(t) <= seek_model_n_vocab(m));
    CHECK(seek_tokenizer_bos(t) >= 0 && seek_tokenizer_eos(t) >= 0);
    seek_model_close(m);

    /* the golden tiny models: architectures, and no chat template */
    static const struct {
        const char *dir, *arch;
    } golden[] = {{"ds3-tiny", "deepseek2"}, {"qwen2-tiny", "qwen2"}, {"llama3-tiny", "llama"}};
    for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, GOLDEN "%s/model.gguf", golden[i].dir);
        seek_error err = {0};
        CHECK_MSG(seek_model_open(path, NULL, &m, &err) == SEEK_OK, "%s: %s", path, err.message);
        if (!m) continue;
        CHECK(!strcmp(seek_model_arch(m), golden[i].arch));
        CHECK(seek_model_is_reasoner(m) == 0 && seek_model_chat_template(m) == NULL);
        seek_chat_message msg = {"user", "hi"};
        char *text = NULL;
        CHECK(seek_chat_apply(m, &msg, 1, 1, &text, &err) == SEEK_ERR_UNSUPPORTED && !text);
        CHECK_MSG(strstr(err.message, "chat template"), "%s", err.message);
        seek_model_close(m);
    }
    /* a chat template chosen by name */
    seek_model_params p;
    seek_model_params_init(&p);
    p.chat_template = "deepseek3";
    seek_error err = {0};
    CHECK(seek_model_open(GOLDEN "ds3-tiny/model.gguf", &p, &m, &err) == SEEK_OK);
    if (m) {
        CHECK(seek_model_is_reasoner(m) == 0 && !strcmp(seek_model_chat_template(m), "deepseek3"));
        seek_model_close(m);
    }
}

static void test_tokenize(void) {
    seek_model *m = open_default(0);
    if (!m) return;
    seek_tokenizer *t = seek_model_tokenizer(m);
    sk_tokenizer *ref = NULL;
    sk_err e = {0};
    CHECK_OK(sk_tokenizer_load_gguf_file(DEFAULT_MODEL, &ref, &e), &e);
    seek_error err = {0};
    const char *text =
        "The License is free software; caf\xc3\xa9 <\xef\xbd\x9cUser\xef\xbd\x9c> 42.";
    int32_t *ids = NULL, *rids = NULL;
    size_t n = 0, rn = 0;
    CHECK(seek_tokenize(t, text, strlen(text), SEEK_TOKENIZE_ADD_BOS, &ids, &n, &err) == SEEK_OK);
    if (ref) {
        CHECK_OK(sk_tokenizer_encode(ref, text, strlen(text), SK_TOK_ADD_BOS, &rids, &rn, &e), &e);
        CHECK(n == rn && rids && ids && !memcmp(ids, rids, n * sizeof *ids));
        free(rids);
        rids = NULL;
    }
    CHECK(n > 2 && ids[0] == seek_tokenizer_bos(t));
    /* round trip: without specials the BOS disappears and the text comes back */
    char *back = NULL;
    size_t blen = 0;
    CHECK(seek_detokenize(t, ids, n, SEEK_DETOKENIZE_SKIP_SPECIAL, &back, &blen, &err) == SEEK_OK);
    CHECK_MSG(back && blen == strlen(text) && !strcmp(back, text), "'%s'", back);
    seek_free(back);
    /* with specials: the BOS text comes first */
    CHECK(seek_detokenize(t, ids, n, 0, &back, NULL, &err) == SEEK_OK);
    CHECK(back && strlen(back) > strlen(text) && !strcmp(back + strlen(back) - strlen(text), text));
    seek_free(back);
    seek_free(ids);

    /* special tokens: parsed only with SEEK_TOKENIZE_SPECIAL */
    const char *user = "<\xef\xbd\x9cUser\xef\xbd\x9c>";
    int32_t user_id = ref ? sk_tokenizer_find(ref, user) : -1;
    CHECK(user_id >= 0);
    CHECK(seek_tokenize(t, user, strlen(user), SEEK_TOKENIZE_SPECIAL, &ids, &n, &err) == SEEK_OK);
    CHECK(n == 1 && ids[0] == user_id);
    seek_free(ids);
    CHECK(seek_tokenize(t, user, strlen(user), 0, &ids, &n, &err) == SEEK_OK);
    CHECK(n > 1);
    for (size_t i = 0; i < n; i++) CHECK(ids[i] != user_id);
    seek_free(ids);
    /* empty text */
    CHECK(seek_tokenize(t, "", 0, 0, &ids, &n, &err) == SEEK_OK && n == 0 && ids == NULL);
    CHECK(seek_detokenize(t, NULL, 0, 0, &back, &blen, &err) == SEEK_OK && back && blen == 0);
    seek_free(back);

    /* errors */
    int32_t bad[2] = {1, seek_tokenizer_n_vocab(t)};
    memset(&err, 0, sizeof err);
    CHECK(seek_detokenize(t, bad, 2, 0, &back, &blen, &err) == SEEK_ERR_RANGE && !back);
    CHECK_MSG(strstr(err.message, "ids[1]"), "%s", err.message);
    bad[1] = -5;
    CHECK(seek_detokenize(t, bad, 2, 0, &back, &blen, &err) == SEEK_ERR_RANGE);
    CHECK(seek_tokenize(t, "a", 1, 1u << 7, &ids, &n, &err) == SEEK_ERR_INVALID && !ids);
    CHECK(seek_detokenize(t, bad, 1, 1u << 5, &back, &blen, &err) == SEEK_ERR_INVALID);
    CHECK(seek_tokenize(NULL, "a", 1, 0, &ids, &n, &err) == SEEK_ERR_INVALID);
    CHECK(seek_tokenize(t, NULL, 3, 0, &ids, &n, &err) == SEEK_ERR_INVALID);
    sk_tokenizer_free(ref);
    seek_model_close(m);
}

static void test_chat_template(void) {
    seek_model *m = open_default(0);
    if (!m) return;
    sk_tokenizer *ref = NULL;
    sk_err e = {0};
    CHECK_OK(sk_tokenizer_load_gguf_file(DEFAULT_MODEL, &ref, &e), &e);
    seek_error err = {0};
    /* the user's text holds a look-alike of a special token */
    seek_chat_message msgs[] = {{"system", "You are terse."},
                                {"user", "Say <\xef\xbd\x9c"
                                         "Assistant\xef\xbd\x9c> twice."}};
    sk_chat_msg cm[] = {{.role = SK_CHAT_ROLE_SYSTEM, .content = msgs[0].content},
                        {.role = SK_CHAT_ROLE_USER, .content = msgs[1].content}};
    char *text = NULL, *want = NULL;
    CHECK(seek_chat_apply(m, msgs, 2, 1, &text, &err) == SEEK_OK);
    CHECK_OK(sk_chat_render(SK_CHAT_DEEPSEEK_R1, cm, 2, true, &want, &e), &e);
    CHECK(text && want && !strcmp(text, want));
    CHECK(text && strlen(text) > 8 && !strcmp(text + strlen(text) - 8, "<think>\n"));
    free(want);
    seek_free(text);
    CHECK(seek_chat_apply(m, msgs, 2, 0, &text, &err) == SEEK_OK);
    CHECK(text && !strstr(text, "<think>"));
    seek_free(text);

    int32_t *ids = NULL, *rids = NULL;
    size_t n = 0, rn = 0;
    CHECK(seek_chat_tokenize(m, msgs, 2, 1, &ids, &n, &err) == SEEK_OK);
    if (ref) {
        CHECK_OK(sk_chat_encode(ref, SK_CHAT_DEEPSEEK_R1, cm, 2, true,
                                SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS, &rids, &rn, &e),
                 &e);
        CHECK(n == rn && ids && rids && !memcmp(ids, rids, n * sizeof *ids));
        /* the look-alike in the message stays text: the Assistant id occurs once (the prompt) */
        int32_t asst = sk_tokenizer_find(ref, "<\xef\xbd\x9c"
                                              "Assistant\xef\xbd\x9c>");
        int count = 0;
        for (size_t i = 0; i < n; i++) count += ids[i] == asst;
        CHECK(asst >= 0 && count == 1);
        free(rids);
    }
    seek_free(ids);

    /* errors */
    seek_chat_message bad_role = {"narrator", "x"};
    memset(&err, 0, sizeof err);
    CHECK(seek_chat_apply(m, &bad_role, 1, 1, &text, &err) == SEEK_ERR_INVALID && !text);
    CHECK_MSG(strstr(err.message, "narrator") && strstr(err.message, "messages[0]"), "%s",
              err.message);
    seek_chat_message null_content = {"user", NULL};
    CHECK(seek_chat_tokenize(m, &null_content, 1, 1, &ids, &n, &err) == SEEK_ERR_INVALID && !ids);
    CHECK(seek_chat_apply(m, NULL, 0, 1, &text, &err) == SEEK_ERR_INVALID);
    CHECK(seek_chat_apply(m, msgs, 2, 1, NULL, &err) == SEEK_ERR_INVALID);
    sk_tokenizer_free(ref);
    seek_model_close(m);
}

/* argmax with ties to the lower id (the sampler's greedy rule) */
static int32_t argmax(const float *l, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (l[i] > l[best]) best = i;
    return best;
}

static void test_logits_and_greedy(void) {
    seek_model *m = open_default(128);
    if (!m) return;
    seek_tokenizer *t = seek_model_tokenizer(m);
    seek_session *s = NULL;
    seek_error err = {0};
    CHECK(seek_session_new(m, &s, &err) == SEEK_OK && s);
    if (!s) {
        seek_model_close(m);
        return;
    }
    CHECK(seek_session_n_ctx(s) == 128);
    int32_t nv = seek_model_n_vocab(m);
    int32_t *prompt = NULL;
    size_t np = 0;
    CHECK(seek_tokenize(t, "The License", 11, SEEK_TOKENIZE_ADD_BOS, &prompt, &np, &err) == 0);
    if (!prompt) goto out;

    /* all rows vs last row */
    float *all = malloc(np * (size_t)nv * sizeof *all), *last = malloc((size_t)nv * sizeof *last);
    CHECK(seek_logits(s, prompt, np, 1, all, np * (size_t)nv, &err) == SEEK_OK);
    CHECK(seek_logits(s, prompt, np, 0, last, (size_t)nv, &err) == SEEK_OK);
    float maxdiff = 0;
    for (int32_t i = 0; i < nv; i++) {
        float d = fabsf(all[(np - 1) * (size_t)nv + (size_t)i] - last[i]);
        if (d > maxdiff) maxdiff = d;
    }
    CHECK_MSG(maxdiff < 1e-3f, "maxdiff %g", (double)maxdiff);

    /* a hand-written greedy loop over seek_logits (each step from an empty cache) */
    enum { N_GEN = 12 };
    int32_t seq[64];
    memcpy(seq, prompt, np * sizeof *seq);
    size_t ns = np;
    int32_t eos = seek_tokenizer_eos(t);
    for (int k = 0; k < N_GEN; k++) {
        CHECK(seek_logits(s, seq, ns, 0, last, (size_t)nv, &err) == SEEK_OK);
        int32_t id = argmax(last, nv);
        if (id == eos) break;
        seq[ns++] = id;
    }
    char *want = NULL;
    CHECK(seek_detokenize(t, seq + np, ns - np, 0, &want, NULL, &err) == SEEK_OK);

    /* seek_generate, greedy, raw text */
    seek_gen_params gp;
    seek_gen_params_init(&gp, m);
    gp.temperature = 0;
    gp.max_tokens = N_GEN;
    gp.split_reasoning = 0;
    collect c;
    memset(&c, 0, sizeof c);
    seek_gen_result res;
    CHECK(seek_generate(s, prompt, np, &gp, on_piece, &c, &res, &err) == SEEK_OK);
    CHECK_MSG(want && !strcmp(c.text[0], want), "generate '%s' vs loop '%s'", c.text[0], want);
    CHECK(c.len[1] == 0);
    CHECK(res.n_prompt == (int)np && res.n_generated == (int)(ns - np));
    if (ns - np == N_GEN) CHECK(res.stop == SEEK_STOP_LENGTH);
    /* the same prompt again reuses the cache */
    memset(&c, 0, sizeof c);
    CHECK(seek_generate(s, prompt, np, &gp, on_piece, &c, &res, &err) == SEEK_OK);
    CHECK(res.n_reused > 0 && want && !strcmp(c.text[0], want));
    seek_session_reset(s);
    memset(&c, 0, sizeof c);
    CHECK(seek_generate(s, prompt, np, &gp, on_piece, &c, &res, &err) == SEEK_OK);
    CHECK(res.n_reused == 0 && want && !strcmp(c.text[0], want));

    /* split mode, no <think>: the answer is the text minus leading whitespace */
    gp.split_reasoning = 1;
    memset(&c, 0, sizeof c);
    CHECK(seek_generate(s, prompt, np, &gp, on_piece, &c, &res, &err) == SEEK_OK);
    const char *w = want ? want : "";
    while (*w == ' ' || *w == '\n' || *w == '\t' || *w == '\r') w++;
    CHECK_MSG(!strcmp(c.text[0], w) && c.len[1] == 0, "'%s' vs '%s'", c.text[0], w);

    /* a stop string taken from the middle of the output */
    if (want && strlen(want) > 12) {
        char stop[5];
        memcpy(stop, want + 8, 4);
        stop[4] = 0;
        const char *stops[] = {stop};
        gp.stop = stops;
        gp.n_stop = 1;
        gp.split_reasoning = 0;
        memset(&c, 0, sizeof c);
        CHECK(seek_generate(s, prompt, np, &gp, on_piece, &c, &res, &err) == SEEK_OK);
        CHECK(res.stop == SEEK_STOP_STRING);
        const char *at = strstr(want, stop);
        CHECK(at && c.len[0] == (size_t)(at - want) && !strncmp(c.text[0], want, c.len[0]));
        gp.stop = NULL;
        gp.n_stop = 0;
    }

    /* the callback stops the generation */
    gp.split_reasoning = 0;
    memset(&c, 0, sizeof c);
    c.stop_after = 1;
    CHECK(seek_generate(s, prompt, np, &gp, on_piece, &c, &res, &err) == SEEK_OK);
    CHECK(res.stop == SEEK_STOP_CANCELLED && c.n_pieces == 1);
    /* no callback at all */
    CHECK(seek_generate(s, prompt, np, &gp, NULL, NULL, NULL, &err) == SEEK_OK);

    /* a repetition penalty changes the greedy text of this repetitive model */
    gp.max_tokens = 32;
    memset(&c, 0, sizeof c);
    CHECK(seek_generate(s, prompt, np, &gp, on_piece, &c, &res, &err) == SEEK_OK);
    char plain[8192];
    memcpy(plain, c.text[0], c.len[0] + 1);
    gp.repeat_penalty = 1.5f;
    gp.frequency_penalty = 0.5f;
    memset(&c, 0, sizeof c);
    CHECK(seek_generate(s, prompt, np, &gp, on_piece, &c, &res, &err) == SEEK_OK);
    CHECK(strcmp(plain, c.text[0]) != 0);

    /* sampling: a seed reproduces its output */
    seek_gen_params_init(&gp, m);
    gp.temperature = 0.9f;
    gp.top_k = 40;
    gp.top_p = 0.9f;
    gp.min_p = 0.01f;
    gp.seed = 1234;
    gp.max_tokens = 16;
    gp.split_reasoning = 0;
    seek_session_reset(s); /* the same cache state: a reused prefix may change the logits */
    memset(&c, 0, sizeof c);
    CHECK(seek_generate(s, prompt, np, &gp, on_piece, &c, &res, &err) == SEEK_OK);
    memcpy(plain, c.text[0], c.len[0] + 1);
    seek_session_reset(s);
    memset(&c, 0, sizeof c);
    CHECK(seek_generate(s, prompt, np, &gp, on_piece, &c, &res, &err) == SEEK_OK);
    CHECK_MSG(!strcmp(plain, c.text[0]) && c.len[0] > 0, "'%s' vs '%s'", plain, c.text[0]);

    /* logits errors */
    memset(&err, 0, sizeof err);
    CHECK(seek_logits(s, prompt, np, 1, all, (size_t)nv, &err) == SEEK_ERR_RANGE);
    CHECK_MSG(strstr(err.message, "floats"), "%s", err.message);
    int32_t bad[2] = {1, nv + 7};
    CHECK(seek_logits(s, bad, 2, 0, last, (size_t)nv, &err) == SEEK_ERR_RANGE);
    CHECK(seek_logits(s, prompt, 0, 0, last, (size_t)nv, &err) == SEEK_ERR_INVALID);
    int32_t *longp = calloc(200, sizeof *longp);
    CHECK(seek_logits(s, longp, 200, 0, last, (size_t)nv, &err) == SEEK_ERR_RANGE);
    /* the session still works after the errors */
    CHECK(seek_logits(s, prompt, np, 0, last, (size_t)nv, &err) == SEEK_OK);

    /* generation errors */
    seek_gen_params_init(&gp, m);
    memset(&err, 0, sizeof err);
    CHECK(seek_generate(s, longp, 200, &gp, NULL, NULL, NULL, &err) == SEEK_ERR_RANGE);
    CHECK_MSG(strstr(err.message, "context"), "%s", err.message);
    CHECK(seek_generate(s, prompt, 0, &gp, NULL, NULL, NULL, &err) == SEEK_ERR_INVALID);
    CHECK(seek_generate(s, bad, 2, &gp, NULL, NULL, NULL, &err) == SEEK_ERR_RANGE);
    gp.temperature = NAN;
    CHECK(seek_generate(s, prompt, np, &gp, NULL, NULL, NULL, &err) == SEEK_ERR_INVALID);
    CHECK_MSG(strstr(err.message, "temperature"), "%s", err.message);
    seek_gen_params_init(&gp, m);
    gp.top_p = -1;
    CHECK(seek_generate(s, prompt, np, &gp, NULL, NULL, NULL, &err) == SEEK_ERR_INVALID);
    seek_gen_params_init(&gp, m);
    gp.repeat_penalty = 0;
    CHECK(seek_generate(s, prompt, np, &gp, NULL, NULL, NULL, &err) == SEEK_ERR_INVALID);
    CHECK(strstr(err.message, "repeat_penalty"));
    seek_gen_params_init(&gp, m);
    const char *many[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    gp.stop = many;
    gp.n_stop = 8;
    CHECK(seek_generate(s, prompt, np, &gp, NULL, NULL, NULL, &err) == SEEK_ERR_INVALID);
    CHECK(strstr(err.message, "n_stop"));
    const char *empty[1] = {""};
    gp.stop = empty;
    gp.n_stop = 1;
    CHECK(seek_generate(s, prompt, np, &gp, NULL, NULL, NULL, &err) == SEEK_ERR_INVALID);
    seek_gen_params_init(&gp, m);
    gp.prompt_in_think = 2;
    CHECK(seek_generate(s, prompt, np, &gp, NULL, NULL, NULL, &err) == SEEK_ERR_INVALID);
    CHECK(seek_generate(NULL, prompt, np, &gp, NULL, NULL, NULL, &err) == SEEK_ERR_INVALID);
    free(longp);
    free(all);
    free(last);
    seek_free(want);
out:
    seek_free(prompt);
    seek_session_free(s);
    seek_model_close(m);
}

static void test_chat_reasoning(void) {
    seek_model_params mp;
    seek_model_params_init(&mp);
    mp.n_threads = 2;
    mp.n_ctx = 64;
    mp.cache_type = SEEK_CACHE_F16;
    seek_model *m = NULL;
    seek_error err = {0};
    CHECK(seek_model_open(DEFAULT_MODEL, &mp, &m, &err) == SEEK_OK);
    if (!m) return;
    seek_session *s = NULL;
    CHECK(seek_session_new(m, &s, &err) == SEEK_OK && seek_session_n_ctx(s) == 64);
    seek_chat_message msgs[] = {{"user", "What is a license?"}};

    /* the raw text (tags included) */
    seek_gen_params gp;
    seek_gen_params_init(&gp, m);
    CHECK(gp.temperature > 0.59f && gp.temperature < 0.61f && gp.top_p > 0.94f); /* reasoner */
    gp.temperature = 0;
    gp.max_tokens = 24;
    gp.split_reasoning = 0;
    collect raw;
    memset(&raw, 0, sizeof raw);
    seek_gen_result res;
    CHECK(seek_chat(s, msgs, 1, &gp, on_piece, &raw, &res, &err) == SEEK_OK);
    CHECK(raw.len[0] > 0 && raw.len[1] == 0);

    /* split: reasoning and answer as the chat module's parser gives them */
    gp.split_reasoning = 1;
    collect c;
    memset(&c, 0, sizeof c);
    CHECK(seek_chat(s, msgs, 1, &gp, on_piece, &c, &res, &err) == SEEK_OK);
    sk_err e = {0};
    sk_reasoning *rp = sk_reasoning_new(true, &e);
    CHECK_OK(sk_reasoning_feed(rp, raw.text[0], raw.len[0], &e), &e);
    CHECK_OK(sk_reasoning_finish(rp, &e), &e);
    size_t rl, al;
    const char *r = sk_reasoning_text(rp, &rl), *a = sk_reasoning_answer(rp, &al);
    CHECK_MSG(rl == c.len[1] && !memcmp(r, c.text[1], rl), "reasoning '%s' vs '%s'", c.text[1], r);
    CHECK_MSG(al == c.len[0] && !memcmp(a, c.text[0], al), "answer '%s' vs '%s'", c.text[0], a);
    CHECK(c.len[1] > 0 && res.n_reasoning > 0);
    sk_reasoning_free(rp);

    /* the same through seek_chat_tokenize + seek_generate (auto-detected <think>) */
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK(seek_chat_tokenize(m, msgs, 1, 1, &ids, &n, &err) == SEEK_OK);
    collect g;
    memset(&g, 0, sizeof g);
    CHECK(seek_generate(s, ids, n, &gp, on_piece, &g, &res, &err) == SEEK_OK);
    CHECK(!strcmp(g.text[0], c.text[0]) && !strcmp(g.text[1], c.text[1]));
    /* told the prompt is not in <think>: all of it is answer */
    gp.prompt_in_think = 0;
    memset(&g, 0, sizeof g);
    CHECK(seek_generate(s, ids, n, &gp, on_piece, &g, &res, &err) == SEEK_OK);
    CHECK(g.len[1] == 0 && g.len[0] > 0);
    gp.prompt_in_think = -1;
    seek_free(ids);

    /* the think budget forces "</think>" */
    gp.think_budget = 2;
    gp.split_reasoning = 0;
    memset(&g, 0, sizeof g);
    CHECK(seek_chat(s, msgs, 1, &gp, on_piece, &g, &res, &err) == SEEK_OK);
    if (res.stop != SEEK_STOP_EOS) CHECK_MSG(strstr(g.text[0], "</think>"), "'%s'", g.text[0]);
    CHECK(res.n_reasoning <= 2 + 4);

    /* the context fills up: a clean stop (the last token is sampled, never evaluated) */
    seek_gen_params_init(&gp, m);
    gp.temperature = 0;
    memset(&g, 0, sizeof g);
    CHECK(seek_chat(s, msgs, 1, &gp, on_piece, &g, &res, &err) == SEEK_OK);
    CHECK(res.stop == SEEK_STOP_CONTEXT || res.stop == SEEK_STOP_EOS);
    if (res.stop == SEEK_STOP_CONTEXT)
        CHECK_MSG(res.n_prompt + res.n_generated == 64 + 1, "%d + %d", res.n_prompt,
                  res.n_generated);

    /* NULL params: the model's defaults */
    CHECK(seek_chat(s, msgs, 1, NULL, NULL, NULL, &res, &err) == SEEK_OK);
    seek_chat_message bad = {"user", NULL};
    CHECK(seek_chat(s, &bad, 1, NULL, NULL, NULL, &res, &err) == SEEK_ERR_INVALID);
    seek_session *none = (seek_session *)&none;
    CHECK(seek_session_new(NULL, &none, &err) == SEEK_ERR_INVALID && none == NULL);
    seek_session_free(s);
    seek_session_free(NULL);
    seek_model_close(m);
}

int main(void) {
    seek_log_quiet();
    RUN(test_version_and_status);
    RUN(test_open_errors);
    RUN(test_model_info);
    RUN(test_tokenize);
    RUN(test_chat_template);
    RUN(test_logits_and_greedy);
    RUN(test_chat_reasoning);
    return sk_test_report("api");
}
