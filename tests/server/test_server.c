/* test_server — `seek serve` end to end, in-process, over loopback sockets: the golden
 * ds3-tiny model (random weights, vocab 512) served with the deepseek-r1 template, so every
 * answer starts inside <think> and the reasoning split is exercised. The numbers are checked
 * against an independent generation (sk_gen in this process) and the tokenizer; malformed input
 * of every kind must produce a JSON error status and leave the server serving. */
#include "http_client.h"
#include "sk_chat.h"
#include "sk_generate.h"
#include "sk_json.h"
#include "sk_server.h"
#include "sk_test.h"

#include <pthread.h>
#include <time.h>

#define MODEL    SEEK_TEST_DATA "/golden/ds3-tiny/model.gguf"
#define MAX_BODY (256 * 1024)

static sk_server *g_srv;
static int g_port;
static sk_tokenizer *g_tok;
static char g_long_user[64]; /* a user message whose greedy answer runs ≥ 3000 tokens */

/* ---- helpers ---------------------------------------------------------------------------- */

static json_t *body_json(const hc_resp *r) {
    json_error_t je;
    json_t *j = json_loadb(r->body, r->body_len, JSON_ALLOW_NUL, &je);
    if (!j) fprintf(stderr, "  (not JSON: %s: %.200s)\n", je.text, r->body);
    return j;
}

static const char *jstr(const json_t *o, const char *path) {
    /* "a.b.c" lookups through objects; digits index arrays */
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *cur = o;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
        if (json_is_array(cur))
            cur = json_array_get(cur, (size_t)atoi(tok));
        else
            cur = json_object_get(cur, tok);
    }
    return json_is_string(cur) ? json_string_value(cur) : NULL;
}

static const json_t *jget(const json_t *o, const char *path) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *cur = o;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
        if (json_is_array(cur))
            cur = json_array_get(cur, (size_t)atoi(tok));
        else
            cur = json_object_get(cur, tok);
    }
    return cur;
}

static long long jint(const json_t *o, const char *path) {
    const json_t *v = jget(o, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -999999;
}

/* A chat request body: one user message (plus optional JSON members, e.g. "\"stream\":true"). */
static char *chat_body(const char *user, int max_tokens, const char *extra) {
    json_t *m =
        json_pack("{s:s, s:[{s:s, s:s}], s:i, s:i, s:i}", "model", "tiny", "messages", "role",
                  "user", "content", user, "max_tokens", max_tokens, "temperature", 0, "seed", 7);
    char *s = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (extra) {
        size_t n = strlen(s);
        char *t = malloc(n + strlen(extra) + 3);
        memcpy(t, s, n - 1);
        sprintf(t + n - 1, ",%s}", extra);
        free(s);
        s = t;
    }
    return s;
}

static json_t *post_json(int port, const char *path, const char *body, int *status) {
    hc_resp r;
    CHECK(hc_request(port, "POST", path, body, NULL, &r) == 0);
    *status = r.status;
    json_t *j = body_json(&r);
    hc_free(&r);
    return j;
}

/* Number of tokens of messages rendered with deepseek-r1 and encoded like the server does. */
static size_t count_tokens(const sk_chat_msg *msgs, size_t n, int32_t **ids_out) {
    sk_err e = {0};
    char *text = NULL;
    int32_t *ids = NULL;
    size_t nid = 0;
    CHECK_OK(sk_chat_render(SK_CHAT_DEEPSEEK_R1, msgs, n, true, &text, &e), &e);
    if (text)
        CHECK_OK(sk_tokenizer_encode(g_tok, text, strlen(text),
                                     SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS, &ids, &nid, &e),
                 &e);
    free(text);
    if (ids_out)
        *ids_out = ids;
    else
        free(ids);
    return nid;
}

/* Parses an SSE body into a JSON array of the data objects; *done: ended with [DONE]. */
static json_t *sse_events(const char *body, bool *done) {
    json_t *arr = json_array();
    *done = false;
    const char *p = body;
    while (*p) {
        const char *end = strstr(p, "\n\n");
        if (!end) break;
        if (!strncmp(p, "data: ", 6)) {
            if (!strncmp(p + 6, "[DONE]", 6)) {
                *done = true;
            } else {
                json_error_t je;
                json_t *o = json_loadb(p + 6, (size_t)(end - p - 6), JSON_ALLOW_NUL, &je);
                CHECK_MSG(o != NULL, "bad SSE data: %.100s", p);
                if (o) json_array_append_new(arr, o);
            }
        }
        p = end + 2;
    }
    return arr;
}

typedef struct streamed {
    char reasoning[65536], content[65536];
    const char *finish;
    json_t *events;
    json_t *usage;
    bool done, role_first;
} streamed;

static void stream_collect(const char *body, streamed *s) {
    memset(s, 0, sizeof *s);
    s->events = sse_events(body, &s->done);
    size_t i;
    json_t *ev;
    json_array_foreach(s->events, i, ev) {
        CHECK(!strcmp(jstr(ev, "object") ? jstr(ev, "object") : "", "chat.completion.chunk"));
        const json_t *ch = json_object_get(ev, "choices");
        if (json_object_get(ev, "usage") && !json_is_null(json_object_get(ev, "usage"))) {
            CHECK(json_array_size(ch) == 0);
            s->usage = json_object_get(ev, "usage");
            continue;
        }
        CHECK(json_array_size(ch) == 1);
        const json_t *d = jget(ev, "choices.0.delta");
        if (i == 0)
            s->role_first = jstr(ev, "choices.0.delta.role") &&
                            !strcmp(jstr(ev, "choices.0.delta.role"), "assistant");
        const char *r = json_string_value(json_object_get(d, "reasoning_content"));
        const char *c = json_string_value(json_object_get(d, "content"));
        if (r) strncat(s->reasoning, r, sizeof s->reasoning - strlen(s->reasoning) - 1);
        if (c) strncat(s->content, c, sizeof s->content - strlen(s->content) - 1);
        const char *f = jstr(ev, "choices.0.finish_reason");
        if (f) {
            CHECK(s->finish == NULL); /* exactly one final chunk */
            s->finish = f;
        }
    }
}

static void health(json_t **out) {
    hc_resp r;
    CHECK(hc_request(g_port, "GET", "/health", NULL, NULL, &r) == 0);
    CHECK(r.status == 200);
    *out = body_json(&r);
    CHECK(*out != NULL);
    hc_free(&r);
}

/* Waits (bounded) until the server is idle; returns the health object. */
static json_t *wait_idle(int queued_expected) {
    json_t *h = NULL;
    for (int k = 0; k < 400; k++) {
        json_decref(h);
        health(&h);
        if (!h) return NULL;
        if (!json_is_true(json_object_get(h, "busy")) && jint(h, "queued") == queued_expected)
            return h;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return h;
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_routes(void) {
    hc_resp r;
    CHECK(hc_request(g_port, "GET", "/health", NULL, NULL, &r) == 0);
    CHECK(r.status == 200);
    CHECK(strcasestr(r.headers, "Access-Control-Allow-Origin: *") != NULL);
    json_t *j = body_json(&r);
    CHECK(j && !strcmp(jstr(j, "status"), "ok"));
    json_decref(j);
    hc_free(&r);

    CHECK(hc_request(g_port, "GET", "/v1/models", NULL, NULL, &r) == 0);
    CHECK(r.status == 200);
    j = body_json(&r);
    CHECK(j && jstr(j, "data.0.id") && !strcmp(jstr(j, "data.0.id"), "tiny"));
    CHECK(j && !strcmp(jstr(j, "object"), "list"));
    json_decref(j);
    hc_free(&r);

    CHECK(hc_request(g_port, "GET", "/v1/models/tiny", NULL, NULL, &r) == 0);
    CHECK(r.status == 200);
    j = body_json(&r);
    CHECK(j && jstr(j, "id") && !strcmp(jstr(j, "id"), "tiny"));
    json_decref(j);
    hc_free(&r);
    CHECK(hc_request(g_port, "GET", "/v1/models/other", NULL, NULL, &r) == 0);
    CHECK(r.status == 404);
    hc_free(&r);

    CHECK(hc_request(g_port, "GET", "/v2/nothing", NULL, NULL, &r) == 0);
    CHECK(r.status == 404);
    j = body_json(&r);
    CHECK(j && jstr(j, "error.message") && strstr(jstr(j, "error.message"), "/v2/nothing"));
    json_decref(j);
    hc_free(&r);

    CHECK(hc_request(g_port, "GET", "/v1/chat/completions", NULL, NULL, &r) == 0);
    CHECK(r.status == 405);
    CHECK(strcasestr(r.headers, "Allow: POST") != NULL);
    j = body_json(&r);
    CHECK(j && jstr(j, "error.message"));
    json_decref(j);
    hc_free(&r);

    CHECK(hc_request(g_port, "POST", "/v1/models", "{}", NULL, &r) == 0);
    CHECK(r.status == 405);
    hc_free(&r);

    CHECK(hc_request(g_port, "OPTIONS", "/v1/chat/completions", NULL,
                     "Origin: http://example.test\r\nAccess-Control-Request-Method: POST\r\n",
                     &r) == 0);
    CHECK(r.status == 204);
    CHECK(strcasestr(r.headers, "Access-Control-Allow-Methods:") != NULL);
    hc_free(&r);
}

/* The first generation of the server (fresh cache) equals an independent sk_gen run; a stream
 * of the same request gives the same text as the non-streamed answer. */
static void test_chat_matches_generator(void) {
    const char *user = "Hi there";
    const int N = 24;
    sk_chat_msg msg = {.role = SK_CHAT_ROLE_USER, .content = user};
    int32_t *ids = NULL;
    size_t n_ids = count_tokens(&msg, 1, &ids);
    CHECK(n_ids > 4);

    /* independent generation */
    sk_err e = {0};
    sk_model *m = NULL;
    sk_gen *g = NULL;
    sk_model_opts mo;
    sk_model_opts_init(&mo);
    mo.n_threads = 1;
    CHECK_OK(sk_model_open(MODEL, &mo, &m, &e), &e);
    sk_model_ctx_params cp;
    sk_model_ctx_params_init(&cp);
    cp.n_ctx = 4096;
    if (m) CHECK_OK(sk_gen_new(m, g_tok, &cp, &g, &e), &e);
    char *text = NULL;
    sk_gen_stats st;
    memset(&st, 0, sizeof st);
    if (g) {
        sk_gen_params p;
        sk_gen_params_init(&p);
        p.n_predict = N;
        p.starts_in_reasoning = true;
        CHECK_OK(sk_gen_run_text(g, ids, (int)n_ids, &p, &text, &st, &e), &e);
    }
    sk_gen_free(g);
    sk_model_close(m);
    free(ids);
    sk_reasoning *rp = sk_reasoning_new(true, &e);
    CHECK(rp && text);
    if (!rp || !text) {
        sk_reasoning_free(rp);
        free(text);
        return;
    }
    sk_reasoning_feed(rp, text, strlen(text), &e);
    sk_reasoning_finish(rp, &e);
    const char *want_r = sk_reasoning_text(rp, NULL), *want_a = sk_reasoning_answer(rp, NULL);

    char *body = chat_body(user, N, NULL);
    int status = 0;
    json_t *a = post_json(g_port, "/v1/chat/completions", body, &status);
    CHECK(status == 200);
    CHECK(a != NULL);
    if (a) {
        CHECK(!strcmp(jstr(a, "object"), "chat.completion"));
        CHECK(!strcmp(jstr(a, "model"), "tiny"));
        CHECK(!strcmp(jstr(a, "choices.0.message.role"), "assistant"));
        const char *r = jstr(a, "choices.0.message.reasoning_content");
        const char *c = jstr(a, "choices.0.message.content");
        CHECK_MSG(r && !strcmp(r, want_r), "reasoning '%s' vs generator '%s'", r, want_r);
        CHECK_MSG(c && !strcmp(c, want_a), "content '%s' vs generator '%s'", c, want_a);
        const char *fin = st.stop == SK_GEN_STOP_LENGTH ? "length" : "stop";
        CHECK(!strcmp(jstr(a, "choices.0.finish_reason"), fin));
        CHECK(jint(a, "usage.prompt_tokens") == (long long)n_ids);
        CHECK(jint(a, "usage.completion_tokens") == st.n_gen);
        CHECK(jint(a, "usage.total_tokens") == (long long)n_ids + st.n_gen);
        CHECK(jint(a, "usage.completion_tokens_details.reasoning_tokens") == st.n_reasoning);
        CHECK(jint(a, "usage.prompt_cache_hit_tokens") == 0); /* the first request */
        CHECK(jint(a, "usage.prompt_cache_miss_tokens") == (long long)n_ids);
    }
    json_decref(a);
    sk_reasoning_free(rp);
    free(text);

    /* same request twice more, non-streamed then streamed: both find the prompt cached */
    json_t *b = post_json(g_port, "/v1/chat/completions", body, &status);
    CHECK(status == 200);
    free(body);
    body = chat_body(user, N, "\"stream\":true,\"stream_options\":{\"include_usage\":true}");
    hc_resp r;
    CHECK(hc_request(g_port, "POST", "/v1/chat/completions", body, NULL, &r) == 0);
    CHECK(r.status == 200);
    CHECK(strcasestr(r.headers, "Content-Type: text/event-stream") != NULL);
    static streamed s;
    stream_collect(r.body, &s);
    CHECK(s.done);
    CHECK(s.role_first);
    if (b) {
        CHECK(jint(b, "usage.prompt_cache_hit_tokens") == (long long)n_ids - 1);
        CHECK_MSG(!strcmp(s.reasoning, jstr(b, "choices.0.message.reasoning_content")),
                  "streamed reasoning '%s' vs '%s'", s.reasoning,
                  jstr(b, "choices.0.message.reasoning_content"));
        CHECK(!strcmp(s.content, jstr(b, "choices.0.message.content")));
        CHECK(s.finish && !strcmp(s.finish, jstr(b, "choices.0.finish_reason")));
        CHECK(s.usage != NULL);
        if (s.usage) {
            CHECK(json_integer_value(json_object_get(s.usage, "completion_tokens")) ==
                  jint(b, "usage.completion_tokens"));
            CHECK(json_integer_value(json_object_get(s.usage, "prompt_tokens")) ==
                  (long long)n_ids);
            CHECK(json_integer_value(json_object_get(s.usage, "prompt_cache_hit_tokens")) ==
                  (long long)n_ids - 1);
        }
    }
    json_decref(s.events);
    json_decref(b);
    hc_free(&r);
    free(body);
}

/* max_tokens → "length"; a stop string cuts the same greedy text where it first occurs. */
static void test_stop_and_length(void) {
    const char *user = "Stop here";
    char *body = chat_body(user, 16, NULL);
    int status;
    json_t *w = post_json(g_port, "/v1/chat/completions", body, &status); /* warms the cache */
    json_decref(w);
    json_t *a = post_json(g_port, "/v1/chat/completions", body, &status);
    free(body);
    CHECK(status == 200 && a);
    if (!a) return;
    const char *full = jstr(a, "choices.0.message.reasoning_content");
    CHECK(full != NULL);
    if (jint(a, "usage.completion_tokens") == 16)
        CHECK(!strcmp(jstr(a, "choices.0.finish_reason"), "length"));
    /* a character of the output whose first occurrence is not at the start */
    size_t len = full ? strlen(full) : 0, off = 0, cl = 0;
    for (size_t i = 1; i < len; i += cl ? cl : 1) {
        cl = (size_t)sk_utf8_seq_len((const uint8_t *)full + i, len - i);
        if (!cl) continue;
        if (full[i] == '\n' || full[i] == '\r' || full[i] == '<' || full[i] == '>') continue;
        char c[8] = {0};
        memcpy(c, full + i, cl);
        if (!strstr(full, c) || (size_t)(strstr(full, c) - full) == i) {
            off = i;
            break;
        }
    }
    if (!off) {
        json_decref(a);
        SKIP("the greedy output has no usable stop character");
    }
    char stop[8] = {0};
    memcpy(stop, full + off, (size_t)sk_utf8_seq_len((const uint8_t *)full + off, len - off));
    json_t *sj = json_pack("[s]", stop);
    char *sjs = json_dumps(sj, JSON_COMPACT);
    char extra[128];
    snprintf(extra, sizeof extra, "\"stop\":%s", sjs);
    free(sjs);
    json_decref(sj);
    body = chat_body(user, 16, extra);
    json_t *b = post_json(g_port, "/v1/chat/completions", body, &status);
    CHECK(status == 200 && b);
    if (b) {
        char want[4096];
        snprintf(want, sizeof want, "%.*s", (int)off, full);
        size_t wl = strlen(want);
        while (wl && (want[wl - 1] == '\n' || want[wl - 1] == '\r')) want[--wl] = 0;
        const char *got = jstr(b, "choices.0.message.reasoning_content");
        CHECK_MSG(got && !strcmp(got, want), "stop %s: got '%s' want '%s'", stop, got, want);
        CHECK(!strcmp(jstr(b, "choices.0.finish_reason"), "stop"));
        CHECK(jint(b, "usage.completion_tokens") < jint(a, "usage.completion_tokens"));
    }
    /* streamed with the stop string: the same text */
    free(body);
    snprintf(extra + strlen(extra), sizeof extra - strlen(extra), ",\"stream\":true");
    body = chat_body(user, 16, extra);
    hc_resp r;
    CHECK(hc_request(g_port, "POST", "/v1/chat/completions", body, NULL, &r) == 0);
    static streamed s;
    stream_collect(r.body, &s);
    CHECK(s.done && s.finish && !strcmp(s.finish, "stop"));
    if (b) CHECK(!strcmp(s.reasoning, jstr(b, "choices.0.message.reasoning_content")));
    CHECK(s.usage == NULL); /* no include_usage */
    json_decref(s.events);
    hc_free(&r);
    free(body);
    json_decref(a);
    json_decref(b);
}

/* The second turn of a conversation reuses the cached prefix of the first. */
static void test_prefix_reuse(void) {
    int status;
    char *body = chat_body("What is a cat?", 8, NULL);
    json_t *a = post_json(g_port, "/v1/chat/completions", body, &status);
    free(body);
    CHECK(status == 200 && a);
    if (!a) return;
    const char *rc = jstr(a, "choices.0.message.reasoning_content");
    const char *cc = jstr(a, "choices.0.message.content");
    json_t *req = json_pack("{s:[{s:s,s:s},{s:s,s:s,s:s},{s:s,s:s}], s:i, s:i}", "messages", "role",
                            "user", "content", "What is a cat?", "role", "assistant", "content",
                            cc ? cc : "", "reasoning_content", rc ? rc : "", "role", "user",
                            "content", "And a dog?", "max_tokens", 4, "temperature", 0);
    char *b2 = json_dumps(req, JSON_COMPACT);
    json_t *b = post_json(g_port, "/v1/chat/completions", b2, &status);
    CHECK(status == 200 && b);
    sk_chat_msg t1 = {.role = SK_CHAT_ROLE_USER, .content = "What is a cat?"};
    sk_chat_msg t2[3] = {t1,
                         {.role = SK_CHAT_ROLE_ASSISTANT, .content = cc ? cc : ""},
                         {.role = SK_CHAT_ROLE_USER, .content = "And a dog?"}};
    int32_t *i1 = NULL, *i2 = NULL;
    size_t n1 = count_tokens(&t1, 1, &i1), n2 = count_tokens(t2, 3, &i2);
    size_t lcp = 0;
    while (lcp < n1 && lcp < n2 && i1[lcp] == i2[lcp]) lcp++;
    if (b) {
        long long hit = jint(b, "usage.prompt_cache_hit_tokens");
        long long miss = jint(b, "usage.prompt_cache_miss_tokens");
        CHECK(jint(b, "usage.prompt_tokens") == (long long)n2); /* reasoning_content not rendered */
        CHECK(hit + miss == (long long)n2);
        CHECK_MSG(hit >= (long long)lcp && hit > 0 && hit < (long long)n2,
                  "hit %lld, common prefix %zu of %zu", hit, lcp, n2);
    }
    free(i1);
    free(i2);
    free(b2);
    json_decref(req);
    json_decref(a);
    json_decref(b);
}

static void test_completions(void) {
    const char *prompt = "Once upon a time";
    json_t *req = json_pack("{s:s, s:i, s:i}", "prompt", prompt, "max_tokens", 6, "temperature", 0);
    char *body = json_dumps(req, JSON_COMPACT);
    int status;
    json_t *w = post_json(g_port, "/v1/completions", body, &status);
    json_decref(w);
    json_t *a = post_json(g_port, "/v1/completions", body, &status);
    CHECK(status == 200 && a);
    sk_err e = {0};
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK_OK(sk_tokenizer_encode(g_tok, prompt, strlen(prompt),
                                 SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS, &ids, &n, &e),
             &e);
    free(ids);
    if (a) {
        CHECK(!strcmp(jstr(a, "object"), "text_completion"));
        CHECK(jint(a, "usage.prompt_tokens") == (long long)n);
        long long ct = jint(a, "usage.completion_tokens");
        CHECK(ct >= 1 && ct <= 6);
        CHECK(!strcmp(jstr(a, "choices.0.finish_reason"), ct == 6 ? "length" : "stop"));
        CHECK(jstr(a, "choices.0.text") != NULL);
    }
    json_object_set_new(req, "stream", json_true());
    free(body);
    body = json_dumps(req, JSON_COMPACT);
    hc_resp r;
    CHECK(hc_request(g_port, "POST", "/v1/completions", body, NULL, &r) == 0);
    bool done;
    json_t *ev = sse_events(r.body, &done);
    CHECK(done);
    char text[4096] = {0};
    size_t i;
    json_t *x;
    json_array_foreach(ev, i, x) {
        const char *t = jstr(x, "choices.0.text");
        if (t) strncat(text, t, sizeof text - strlen(text) - 1);
    }
    if (a) CHECK(!strcmp(text, jstr(a, "choices.0.text")));
    json_decref(ev);
    hc_free(&r);
    free(body);
    json_decref(req);
    json_decref(a);
}

/* Message text never turns into special tokens: a chat request whose content spells
 * "<｜end▁of▁sentence｜>" and "<｜Assistant｜>" is counted as the protected encoding
 * (sk_chat_encode), not as the rendering parsed for special tokens; /v1/completions takes a raw
 * prompt, whose special-token texts are parsed on purpose. */
static void test_special_text_in_messages(void) {
    const char *user = "Say <\xef\xbd\x9c"
                       "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c> then <\xef\xbd\x9c"
                       "Assistant\xef\xbd\x9c>";
    int32_t eos = sk_tokenizer_find(g_tok, "<\xef\xbd\x9c"
                                           "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>");
    CHECK(eos >= 0 && sk_tokenizer_is_control(g_tok, eos));
    sk_chat_msg msg = {.role = SK_CHAT_ROLE_USER, .content = user};
    int32_t *old = NULL, *prot = NULL;
    size_t n_old = count_tokens(&msg, 1, &old), n_prot = 0;
    sk_err e = {0};
    CHECK_OK(sk_chat_encode(g_tok, SK_CHAT_DEEPSEEK_R1, &msg, 1, true,
                            SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS, &prot, &n_prot, &e),
             &e);
    size_t eos_old = 0, eos_prot = 0;
    for (size_t i = 0; i < n_old; i++) eos_old += old[i] == eos;
    for (size_t i = 0; i < n_prot; i++) eos_prot += prot[i] == eos;
    CHECK(eos_old == 1 && eos_prot == 0); /* the test tells the two encodings apart */
    CHECK(n_prot != n_old);
    free(old);
    free(prot);
    char *body = chat_body(user, 1, NULL);
    int status;
    json_t *a = post_json(g_port, "/v1/chat/completions", body, &status);
    CHECK(status == 200);
    CHECK_MSG(a && jint(a, "usage.prompt_tokens") == (long long)n_prot,
              "prompt_tokens %lld, protected %zu, special-parsed %zu",
              jint(a, "usage.prompt_tokens"), n_prot, n_old);
    json_decref(a);
    free(body);

    json_t *req = json_pack("{s:s, s:i, s:i}", "prompt", user, "max_tokens", 1, "temperature", 0);
    body = json_dumps(req, JSON_COMPACT);
    int32_t *raw = NULL;
    size_t n_raw = 0;
    CHECK_OK(sk_tokenizer_encode(g_tok, user, strlen(user), SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS,
                                 &raw, &n_raw, &e),
             &e);
    free(raw);
    a = post_json(g_port, "/v1/completions", body, &status);
    CHECK(status == 200);
    CHECK(a && jint(a, "usage.prompt_tokens") == (long long)n_raw);
    json_decref(a);
    free(body);
    json_decref(req);
}

static void test_tools_request(void) {
    const char *tools = "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                        "\"description\":\"Weather of a city\",\"parameters\":{\"type\":\"object\","
                        "\"properties\":{\"city\":{\"type\":\"string\"}}}}}]";
    json_t *tj = NULL;
    {
        char buf[512];
        snprintf(buf, sizeof buf, "{%s}", tools);
        json_error_t je;
        tj = json_loads(buf, 0, &je);
    }
    CHECK(tj != NULL);
    char *tp = NULL;
    sk_err e = {0};
    CHECK_OK(sk_server_tool_prompt(json_object_get(tj, "tools"), NULL, &tp, &e), &e);
    sk_chat_msg two[2] = {{.role = SK_CHAT_ROLE_SYSTEM, .content = tp},
                          {.role = SK_CHAT_ROLE_USER, .content = "Weather in Paris?"}};
    size_t with_tools = count_tokens(two, 2, NULL), without = count_tokens(two + 1, 1, NULL);
    CHECK(with_tools > without);

    char extra[1024];
    snprintf(extra, sizeof extra, "%s", tools);
    char *body = chat_body("Weather in Paris?", 2, extra);
    int status;
    json_t *a = post_json(g_port, "/v1/chat/completions", body, &status);
    CHECK(status == 200);
    if (a) CHECK(jint(a, "usage.prompt_tokens") == (long long)with_tools);
    json_decref(a);
    free(body);

    snprintf(extra, sizeof extra, "%s,\"tool_choice\":\"none\"", tools);
    body = chat_body("Weather in Paris?", 2, extra);
    a = post_json(g_port, "/v1/chat/completions", body, &status);
    CHECK(status == 200);
    if (a) CHECK(jint(a, "usage.prompt_tokens") == (long long)without);
    json_decref(a);
    free(body);

    snprintf(extra, sizeof extra,
             "%s,\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}", tools);
    body = chat_body("Weather in Paris?", 2, extra);
    a = post_json(g_port, "/v1/chat/completions", body, &status);
    CHECK(status == 400);
    CHECK(a && strstr(jstr(a, "error.message"), "nope"));
    json_decref(a);
    free(body);
    free(tp);
    json_decref(tj);

    /* a conversation with an assistant tool call and the tool's result */
    const char *conv =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\","
        "\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
        "\"{\\\"city\\\": \\\"Paris\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"22 C, sunny\"}],"
        "\"max_tokens\":2,\"temperature\":0}";
    sk_chat_msgs cm;
    CHECK_OK(sk_chat_msgs_load_buf(conv, strlen(conv), "conv", &cm, &e), &e);
    size_t want = e.code ? 0 : count_tokens(cm.msgs, cm.n, NULL);
    if (!e.code) sk_chat_msgs_free(&cm);
    a = post_json(g_port, "/v1/chat/completions", conv, &status);
    CHECK(status == 200);
    CHECK_MSG(a && jint(a, "usage.prompt_tokens") == (long long)want, "prompt %lld, want %zu",
              jint(a, "usage.prompt_tokens"), want);
    json_decref(a);
}

/* Malformed or ill-typed requests: 400 with a message naming the problem. */
static void test_bad_requests(void) {
    static const struct {
        const char *body;
        int status;
        const char *needle; /* in error.message */
    } cases[] = {
        {"{\"messages\": [", 400, "invalid JSON"},
        {"", 400, "invalid JSON"},
        {"[1,2,3]", 400, "JSON object"},
        {"{\"max_tokens\": 3}", 400, "messages"},
        {"{\"messages\": \"hello\"}", 400, "messages"},
        {"{\"messages\": []}", 400, "empty"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":42}]}", 400, "content"},
        {"{\"messages\": [{\"role\":\"wizard\",\"content\":\"x\"}]}", 400, "wizard"},
        {"{\"messages\": [{\"content\":\"x\"}]}", 400, "role"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"temperature\": \"hot\"}", 400,
         "temperature"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"temperature\": 5}", 400,
         "temperature"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"max_tokens\": 0}", 400,
         "max_tokens"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"max_tokens\": 2.5}", 400,
         "max_tokens"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"stop\": 5}", 400, "stop"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"stop\": [\"a\", 1]}", 400,
         "stop"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"stream\": \"yes\"}", 400,
         "stream"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"seed\": -1}", 400, "seed"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"top_p\": 0}", 400, "top_p"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"n\": 2}", 400, "\"n\""},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"tools\": \"x\"}", 400, "tools"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"tools\": "
         "[{\"type\":\"function\"}]}",
         400, "tools[0]"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"stream_options\": 3}", 400,
         "stream_options"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"\\ud800\"}]}", 400, "invalid JSON"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"logit_bias\": {\"5\": 10}}",
         400, "logit_bias"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"tool_choice\": 7}", 400,
         "tool_choice"},
        {"{\"messages\": [{\"role\":\"user\",\"content\":\"x\"}], \"response_format\": "
         "{\"type\":\"json_object\"}}",
         400, "response_format"},
        {"{\"messages\": [{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{}}]}]}", 400,
         "name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        hc_resp r;
        CHECK(hc_request(g_port, "POST", "/v1/chat/completions", cases[i].body, NULL, &r) == 0);
        CHECK_MSG(r.status == cases[i].status, "case %zu: status %d", i, r.status);
        json_t *j = body_json(&r);
        const char *msg = j ? jstr(j, "error.message") : NULL;
        CHECK_MSG(msg && strstr(msg, cases[i].needle), "case %zu: message '%s' lacks '%s'", i,
                  msg ? msg : r.body, cases[i].needle);
        CHECK(j && jstr(j, "error.type"));
        json_decref(j);
        hc_free(&r);
    }
    /* raw invalid UTF-8 bytes inside a string */
    const char bad[] = "{\"messages\": [{\"role\":\"user\",\"content\":\"a\xff\xfe b\xc3\"}]}";
    hc_resp r;
    CHECK(hc_request(g_port, "POST", "/v1/chat/completions", bad, NULL, &r) == 0);
    CHECK(r.status == 400);
    json_t *j = body_json(&r); /* the error body itself must be valid JSON (valid UTF-8) */
    CHECK(j && jstr(j, "error.message") && strstr(jstr(j, "error.message"), "UTF-8"));
    json_decref(j);
    hc_free(&r);
    /* a prompt longer than the context */
    size_t big = 40000;
    char *s = malloc(big + 128);
    strcpy(s, "{\"messages\": [{\"role\":\"user\",\"content\":\"");
    size_t k = strlen(s);
    for (size_t i = 0; i < big; i++) s[k++] = (char)('a' + (i * 7) % 26);
    strcpy(s + k, "\"}]}");
    CHECK(hc_request(g_port, "POST", "/v1/chat/completions", s, NULL, &r) == 0);
    CHECK(r.status == 400);
    j = body_json(&r);
    CHECK(j && jstr(j, "error.code") && !strcmp(jstr(j, "error.code"), "context_length_exceeded"));
    json_decref(j);
    hc_free(&r);
    free(s);
}

static void test_body_limit(void) {
    hc_resp r;
    /* announced too big: answered before the body is sent */
    const char *req = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      "Content-Length: 100000000\r\n\r\n";
    CHECK(hc_raw(g_port, req, strlen(req), &r) == 0);
    CHECK(r.status == 413);
    json_t *j = body_json(&r);
    CHECK(j && jstr(j, "error.message") && strstr(jstr(j, "error.message"), "limit"));
    json_decref(j);
    hc_free(&r);
    /* chunked upload that grows past the limit */
    int fd = hc_connect(g_port);
    CHECK(fd >= 0);
    if (fd >= 0) {
        const char *h = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n";
        hc_send(fd, h, strlen(h));
        char *chunk = malloc(16384 + 16);
        int hl = sprintf(chunk, "4000\r\n");
        memset(chunk + hl, 'x', 16384);
        memcpy(chunk + hl + 16384, "\r\n", 2);
        bool sent = true;
        for (int i = 0; sent && i < MAX_BODY / 16384 + 4; i++)
            sent = hc_send(fd, chunk, (size_t)hl + 16386);
        if (sent) sent = hc_send(fd, "0\r\n\r\n", 5);
        CHECK(sent);
        free(chunk);
        char *buf = NULL;
        size_t len = 0;
        hc_recv(fd, &buf, &len, NULL);
        hc_parse(buf ? buf : "", len, &r);
        CHECK_MSG(r.status == 413, "chunked upload: status %d", r.status);
        hc_free(&r);
        free(buf);
        close(fd);
    }
    /* a body just under the limit is read (and rejected as JSON, not for its size) */
    char *s = malloc(MAX_BODY);
    memset(s, ' ', MAX_BODY - 1);
    s[0] = '{';
    s[MAX_BODY - 2] = '}';
    s[MAX_BODY - 1] = 0;
    CHECK(hc_request(g_port, "POST", "/v1/chat/completions", s, NULL, &r) == 0);
    CHECK(r.status == 400);
    hc_free(&r);
    free(s);
    json_t *hj;
    health(&hj);
    json_decref(hj);
}

/* Several requests on one keep-alive connection, pipelined. */
static void test_keep_alive(void) {
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":2,"
                       "\"temperature\":0}";
    char req[1024];
    int n =
        snprintf(req, sizeof req,
                 "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                 "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s"
                 "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 strlen(body), body);
    int fd = hc_connect(g_port);
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK(hc_send(fd, req, (size_t)n));
    char *buf = NULL;
    size_t len = 0;
    CHECK(hc_recv(fd, &buf, &len, NULL));
    close(fd);
    int count = 0;
    for (const char *p = buf; p && (p = strstr(p, "HTTP/1.1 200")); p++) count++;
    CHECK_MSG(count == 3, "%d responses of 200", count);
    CHECK(buf && strstr(buf, "\"chat.completion\"") && strstr(buf, "\"object\":\"list\""));
    free(buf);
}

static void test_garbage_http(void) {
    static const char *const junk[] = {
        "GARBAGE\r\n\r\n",
        "GET\r\n\r\n",
        "POST /v1/chat/completions HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "POST /v1/chat/completions HTTP/9.9\r\nHost: x\r\n\r\n",
        "\x01\x02\x03\xff\xfe\r\n\r\n",
        "GET /health HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    };
    for (size_t i = 0; i < sizeof junk / sizeof *junk; i++) {
        hc_resp r;
        hc_raw(g_port, junk[i], strlen(junk[i]), &r); /* may time out only if the server hangs */
        CHECK_MSG(r.status == 0 || (r.status >= 400 && r.status < 600), "junk %zu: status %d", i,
                  r.status);
        hc_free(&r);
    }
    /* truncated requests: the client goes away mid-headers and mid-body */
    const char *partial[] = {"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Le",
                             "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 500"
                             "\r\n\r\n{\"messages\": [{\"role\":"};
    for (int i = 0; i < 2; i++) {
        int fd = hc_connect(g_port);
        CHECK(fd >= 0);
        if (fd >= 0) {
            hc_send(fd, partial[i], strlen(partial[i]));
            close(fd);
        }
    }
    /* a huge request line */
    size_t n = 200000;
    char *big = malloc(n + 64);
    memcpy(big, "GET /", 5);
    memset(big + 5, 'a', n);
    strcpy(big + 5 + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    hc_resp r;
    hc_raw(g_port, big, strlen(big), &r);
    CHECK(r.status == 0 || (r.status >= 400 && r.status < 500));
    hc_free(&r);
    free(big);
    json_t *h;
    health(&h);
    CHECK(h && !strcmp(jstr(h, "status"), "ok"));
    json_decref(h);
}

/* Finds a user message whose greedy answer runs long (no early EOS): bounded search. */
static bool find_long_prompt(void) {
    for (int i = 0; i < 30; i++) {
        char user[64];
        snprintf(user, sizeof user, "Hello %d", i);
        char *body = chat_body(user, 3000, NULL); /* as open_long_stream asks */
        int status;
        json_t *a = post_json(g_port, "/v1/chat/completions", body, &status);
        free(body);
        bool ok = a && jstr(a, "choices.0.finish_reason") &&
                  !strcmp(jstr(a, "choices.0.finish_reason"), "length");
        json_decref(a);
        if (ok) {
            snprintf(g_long_user, sizeof g_long_user, "%s", user);
            return true;
        }
    }
    return false;
}

/* Opens a long streamed generation and returns its socket once deltas are flowing. */
static int open_long_stream(int port) {
    char *body = chat_body(g_long_user, 3000, "\"stream\":true");
    size_t n;
    char *req = hc_build("POST", "/v1/chat/completions", body, strlen(body), NULL, &n);
    free(body);
    int fd = hc_connect(port);
    if (fd >= 0) {
        hc_send(fd, req, n);
        char *buf = NULL;
        size_t len = 0;
        bool got = hc_recv(fd, &buf, &len, "\"reasoning_content\":\"");
        CHECK(got);
        free(buf);
    }
    free(req);
    return fd;
}

static void test_disconnect_mid_stream(void) {
    if (!g_long_user[0]) SKIP("no long-running prompt found");
    json_t *h0 = wait_idle(0);
    long long cancelled0 = jint(h0, "requests.cancelled");
    json_decref(h0);
    int fd = open_long_stream(g_port);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    json_t *h = wait_idle(0);
    CHECK(h && jint(h, "requests.cancelled") == cancelled0 + 1);
    json_decref(h);
    /* the server goes on serving */
    char *body = chat_body("After the disconnect", 4, NULL);
    int status;
    json_t *a = post_json(g_port, "/v1/chat/completions", body, &status);
    CHECK(status == 200);
    CHECK(a && jint(a, "usage.completion_tokens") >= 1);
    json_decref(a);
    free(body);
}

/* Sends a chat request for `text` on a new connection without reading its answer and waits (up
 * to 4 s) until /health counts one request in the queue. Returns the socket (or -1); *body and
 * *req are the request's JSON and bytes, *h the last /health answer (the caller frees all). */
static int send_queued(const char *text, char **body, char **req, json_t **h) {
    *body = chat_body(text, 3, NULL);
    size_t n;
    *req = hc_build("POST", "/v1/chat/completions", *body, strlen(*body), NULL, &n);
    int b = hc_connect(g_port);
    CHECK(b >= 0);
    if (b >= 0) hc_send(b, *req, n);
    *h = NULL;
    for (int k = 0; k < 200; k++) {
        json_decref(*h);
        health(h);
        if (jint(*h, "queued") == 1) break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return b;
}

static void test_queue_full(void) {
    if (!g_long_user[0]) SKIP("no long-running prompt found");
    int a = open_long_stream(g_port); /* running */
    /* B waits in the queue (max_queue 1) */
    char *body, *req;
    json_t *h;
    int b = send_queued("Queued", &body, &req, &h);
    CHECK(h && jint(h, "queued") == 1 && json_is_true(json_object_get(h, "busy")));
    json_decref(h);
    /* C is refused */
    hc_resp r;
    CHECK(hc_request(g_port, "POST", "/v1/chat/completions", body, NULL, &r) == 0);
    CHECK(r.status == 503);
    CHECK(strcasestr(r.headers, "Retry-After:") != NULL);
    json_t *j = body_json(&r);
    CHECK(j && jstr(j, "error.code") && !strcmp(jstr(j, "error.code"), "queue_full"));
    json_decref(j);
    hc_free(&r);
    /* A goes away; B is served */
    if (a >= 0) close(a);
    if (b >= 0) {
        char *buf = NULL;
        size_t len = 0;
        CHECK(hc_recv(b, &buf, &len, NULL));
        hc_parse(buf ? buf : "", len, &r);
        CHECK(r.status == 200);
        j = body_json(&r);
        CHECK(j && jint(j, "usage.completion_tokens") >= 1);
        json_decref(j);
        hc_free(&r);
        free(buf);
        close(b);
    }
    free(req);
    free(body);
    h = wait_idle(0);
    json_decref(h);
}

/* A queued request whose client goes away is dropped without running. */
static void test_disconnect_while_queued(void) {
    if (!g_long_user[0]) SKIP("no long-running prompt found");
    json_t *h0 = wait_idle(0);
    long long cancelled0 = jint(h0, "requests.cancelled"), done0 = jint(h0, "requests.completed");
    json_decref(h0);
    int a = open_long_stream(g_port);
    char *body, *req;
    json_t *h;
    int b = send_queued("Queued then gone", &body, &req, &h);
    CHECK(jint(h, "queued") == 1);
    json_decref(h);
    if (b >= 0) close(b);
    /* the waiting connection polls its socket every 100 ms: let it notice first */
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    if (a >= 0) close(a);
    h = wait_idle(0);
    /* A may have ended by itself meanwhile (EOS); B must not have run: */
    long long dc = jint(h, "requests.cancelled") - cancelled0;
    long long dd = jint(h, "requests.completed") - done0;
    CHECK_MSG(dc >= 1 && dc + dd == 2, "cancelled +%lld, completed +%lld", dc, dd);
    json_decref(h);
    /* had B run, its prompt would be in the cache now (all but one token reused) */
    int status;
    json_t *again = post_json(g_port, "/v1/chat/completions", body, &status);
    CHECK(status == 200 && again);
    CHECK_MSG(jint(again, "usage.prompt_cache_hit_tokens") < jint(again, "usage.prompt_tokens") - 1,
              "hit %lld of %lld", jint(again, "usage.prompt_cache_hit_tokens"),
              jint(again, "usage.prompt_tokens"));
    json_decref(again);
    free(req);
    free(body);
}

static void test_api_key(void) {
    sk_server_opts o;
    sk_server_opts_init(&o);
    o.model_path = MODEL;
    o.port = 0;
    o.n_threads = 1;
    o.n_ctx = 256;
    o.api_key = "sekret"; /* and no chat template: the golden GGUF has none */
    sk_server *s = NULL;
    sk_err e = {0};
    CHECK_OK(sk_server_start(&o, &s, &e), &e);
    if (!s) return;
    int port = sk_server_port(s);
    hc_resp r;
    CHECK(hc_request(port, "GET", "/v1/models", NULL, NULL, &r) == 0);
    CHECK(r.status == 401);
    json_t *j = body_json(&r);
    CHECK(j && jstr(j, "error.type") && !strcmp(jstr(j, "error.type"), "authentication_error"));
    json_decref(j);
    hc_free(&r);
    CHECK(hc_request(port, "POST", "/v1/chat/completions", "{}", "Authorization: Bearer wrong\r\n",
                     &r) == 0);
    CHECK(r.status == 401);
    hc_free(&r);
    CHECK(hc_request(port, "GET", "/v1/models", NULL, "Authorization: Bearer sekretX\r\n", &r) ==
          0);
    CHECK(r.status == 401);
    hc_free(&r);
    CHECK(hc_request(port, "GET", "/v1/models", NULL, "Authorization: Bearer sekret\r\n", &r) == 0);
    CHECK(r.status == 200);
    hc_free(&r);
    CHECK(hc_request(port, "GET", "/health", NULL, NULL, &r) == 0);
    CHECK(r.status == 200);
    hc_free(&r);
    /* without a chat template only raw completions work */
    CHECK(hc_request(port, "POST", "/v1/chat/completions",
                     "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
                     "Authorization: Bearer sekret\r\n", &r) == 0);
    CHECK(r.status == 400);
    CHECK(strstr(r.body, "--chat-template") != NULL);
    hc_free(&r);
    CHECK(hc_request(port, "POST", "/v1/completions", "{\"prompt\":\"x\",\"max_tokens\":2}",
                     "Authorization: Bearer sekret\r\n", &r) == 0);
    CHECK(r.status == 200);
    hc_free(&r);
    sk_server_stop(s);
}

/* Stopping the server during a stream ends the stream and returns promptly. */
static void test_shutdown_mid_stream(void) {
    if (!g_long_user[0]) SKIP("no long-running prompt found");
    sk_server_opts o;
    sk_server_opts_init(&o);
    o.model_path = MODEL;
    o.port = 0;
    o.n_threads = 1;
    o.n_ctx = 4096;
    o.chat_template = "deepseek-r1";
    sk_server *s = NULL;
    sk_err e = {0};
    CHECK_OK(sk_server_start(&o, &s, &e), &e);
    if (!s) return;
    int port = sk_server_port(s);
    int fd = open_long_stream(port);
    double t0 = sk_time_sec();
    sk_server_stop(s);
    CHECK(sk_time_sec() - t0 < 20);
    if (fd >= 0) {
        char *buf = NULL;
        size_t len = 0;
        CHECK(hc_recv(fd, &buf, &len, NULL)); /* EOF, not a timeout */
        CHECK_MSG(buf && strstr(buf, "\"error\"") != NULL, "tail: %s",
                  buf ? buf + (len > 300 ? len - 300 : 0) : "");
        free(buf);
        close(fd);
    }
    /* nothing listens on the port any more */
    int c = hc_connect(port);
    CHECK(c < 0);
    if (c >= 0) close(c);
}

int main(void) {
    sk_err e = {0};
    if (sk_tokenizer_load_gguf_file(MODEL, &g_tok, &e)) {
        fprintf(stderr, "tokenizer: %s\n", e.msg);
        return 1;
    }
    sk_server_opts o;
    sk_server_opts_init(&o);
    o.model_path = MODEL;
    o.port = 0;
    o.n_threads = 1;
    o.n_ctx = 4096;
    o.chat_template = "deepseek-r1";
    o.model_name = "tiny";
    o.max_queue = 1;
    o.max_body = MAX_BODY;
    if (sk_server_start(&o, &g_srv, &e)) {
        fprintf(stderr, "server: %s\n", e.msg);
        return 1;
    }
    g_port = sk_server_port(g_srv);
    RUN(test_routes);
    RUN(test_chat_matches_generator);
    RUN(test_stop_and_length);
    RUN(test_prefix_reuse);
    RUN(test_completions);
    RUN(test_special_text_in_messages);
    RUN(test_tools_request);
    RUN(test_bad_requests);
    RUN(test_body_limit);
    RUN(test_keep_alive);
    RUN(test_garbage_http);
    if (!find_long_prompt()) fprintf(stderr, "  no prompt with a long greedy answer found\n");
    RUN(test_disconnect_mid_stream);
    RUN(test_queue_full);
    RUN(test_disconnect_while_queued);
    RUN(test_api_key);
    RUN(test_shutdown_mid_stream);
    sk_server_stop(g_srv);
    sk_tokenizer_free(g_tok);
    return sk_test_report("server");
}
