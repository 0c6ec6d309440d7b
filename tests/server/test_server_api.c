/* test_server_api — the model-free parts of the API: the assistant message assembled from
 * generated text (reasoning split, V3/R1 tool-call markup → tool_calls) and the system prompt
 * that describes tools (its markup example must parse with the chat module's parser). */
#include "sk_chat.h"
#include "sk_json.h"
#include "sk_server.h"
#include "sk_test.h"

#define CALLS_BEGIN "<｜tool▁calls▁begin｜>"
#define CALLS_END   "<｜tool▁calls▁end｜>"
#define CALL_BEGIN  "<｜tool▁call▁begin｜>"
#define CALL_END    "<｜tool▁call▁end｜>"
#define SEP         "<｜tool▁sep｜>"

static const char *str(const json_t *o, const char *k) {
    return json_string_value(json_object_get(o, k));
}

static json_t *message(const char *text, bool starts, bool with_r, bool tools, bool *has) {
    json_t *m = NULL;
    sk_err e = {0};
    CHECK_OK(sk_server_chat_message(text, strlen(text), starts, with_r, tools, 42, &m, has, &e),
             &e);
    return m;
}

static void test_reasoning_and_tool_call(void) {
    const char *t =
        "<think>\nI should look it up.\n</think>\n\nLet me check." CALLS_BEGIN CALL_BEGIN
        "function" SEP "get_weather\n```json\n{\"city\": \"Paris\"}\n```" CALL_END CALLS_END;
    bool has = false;
    json_t *m = message(t, false, true, true, &has);
    CHECK(m && has);
    if (!m) return;
    CHECK(!strcmp(str(m, "role"), "assistant"));
    CHECK(!strcmp(str(m, "reasoning_content"), "I should look it up."));
    CHECK(str(m, "content") && !strcmp(str(m, "content"), "Let me check."));
    const json_t *calls = json_object_get(m, "tool_calls");
    CHECK(json_array_size(calls) == 1);
    const json_t *c = json_array_get(calls, 0);
    CHECK(str(c, "id") && !strncmp(str(c, "id"), "call_", 5));
    CHECK(!strcmp(str(c, "type"), "function"));
    const json_t *f = json_object_get(c, "function");
    CHECK(!strcmp(str(f, "name"), "get_weather"));
    CHECK(!strcmp(str(f, "arguments"), "{\"city\": \"Paris\"}"));
    json_decref(m);
}

static void test_two_calls_no_content(void) {
    const char *t =
        "abc\n</think>\n\n" CALLS_BEGIN CALL_BEGIN "function" SEP "a\n```json\n{}\n```" CALL_END
        "\n" CALL_BEGIN "function" SEP "b\n```json\n{\"x\":1}\n```" CALL_END CALLS_END;
    bool has = false;
    json_t *m = message(t, true, true, true, &has);
    CHECK(m && has);
    if (!m) return;
    CHECK(!strcmp(str(m, "reasoning_content"), "abc"));
    CHECK(json_is_null(json_object_get(m, "content")));
    const json_t *calls = json_object_get(m, "tool_calls");
    CHECK(json_array_size(calls) == 2);
    CHECK(!strcmp(str(json_object_get(json_array_get(calls, 1), "function"), "name"), "b"));
    CHECK(!strcmp(str(json_object_get(json_array_get(calls, 1), "function"), "arguments"),
                  "{\"x\":1}"));
    /* distinct ids */
    CHECK(strcmp(str(json_array_get(calls, 0), "id"), str(json_array_get(calls, 1), "id")));
    json_decref(m);
}

static void test_plain_answers(void) {
    bool has = true;
    json_t *m = message("thinking...\n</think>\n\nThe answer is 4.", true, true, true, &has);
    CHECK(m && !has);
    if (m) {
        CHECK(!strcmp(str(m, "reasoning_content"), "thinking..."));
        CHECK(!strcmp(str(m, "content"), "The answer is 4."));
        CHECK(!json_object_get(m, "tool_calls"));
    }
    json_decref(m);
    /* ended inside the reasoning */
    m = message("still thinking", true, true, false, &has);
    CHECK(m && !has);
    if (m) {
        CHECK(!strcmp(str(m, "reasoning_content"), "still thinking"));
        CHECK(!strcmp(str(m, "content"), ""));
    }
    json_decref(m);
    /* a chat model: no reasoning_content unless there was some */
    m = message("Hello!", false, false, false, &has);
    CHECK(m && !json_object_get(m, "reasoning_content"));
    if (m) CHECK(!strcmp(str(m, "content"), "Hello!"));
    json_decref(m);
    /* markup with tools off: returned verbatim */
    const char *t =
        "x" CALLS_BEGIN CALL_BEGIN "function" SEP "f\n```json\n{}\n```" CALL_END CALLS_END;
    m = message(t, false, false, false, &has);
    CHECK(m && !has);
    if (m) CHECK(!strcmp(str(m, "content"), t));
    json_decref(m);
    /* malformed markup with tools on: returned verbatim as content, no tool_calls */
    const char *bad = "x" CALLS_BEGIN CALL_BEGIN "function" SEP "f\n```json\n{}";
    m = message(bad, false, false, true, &has);
    CHECK(m && !has);
    if (m) {
        CHECK(!strcmp(str(m, "content"), bad));
        CHECK(!json_object_get(m, "tool_calls"));
    }
    json_decref(m);
}

static void test_tool_prompt(void) {
    json_error_t je;
    json_t *tools = json_loads(
        "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather "
        "of a city\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
        "\"string\"}}}}},{\"function\":{\"name\":\"now\"}}]",
        0, &je);
    CHECK(tools != NULL);
    sk_err e = {0};
    char *p = NULL;
    CHECK_OK(sk_server_tool_prompt(tools, NULL, &p, &e), &e);
    CHECK(p && strstr(p, "\"get_weather\"") && strstr(p, "Weather of a city") &&
          strstr(p, "\"now\"") && strstr(p, CALLS_BEGIN));
    CHECK(p && !strstr(p, "must call"));
    /* the markup example in the prompt is what the parser reads */
    const char *ex = p ? strstr(p, CALLS_BEGIN) : NULL;
    const char *ex_end = ex ? strstr(ex, CALLS_END) : NULL;
    CHECK(ex && ex_end);
    if (ex && ex_end) {
        sk_chat_parsed parsed;
        size_t n = (size_t)(ex_end - ex) + strlen(CALLS_END);
        CHECK_OK(sk_chat_parse_tool_calls(ex, n, &parsed, &e), &e);
        CHECK(parsed.n_calls == 1);
        if (parsed.n_calls == 1) {
            CHECK(!strcmp(parsed.calls[0].name, "FUNCTION_NAME"));
            json_t *args = json_loads(parsed.calls[0].arguments, 0, &je);
            CHECK(json_is_object(args));
            json_decref(args);
        }
        sk_chat_parsed_free(&parsed);
    }
    free(p);
    p = NULL;
    CHECK_OK(sk_server_tool_prompt(tools, "get_weather", &p, &e), &e);
    CHECK(p && strstr(p, "must call the function get_weather"));
    free(p);
    p = NULL;
    CHECK_OK(sk_server_tool_prompt(tools, "", &p, &e), &e);
    CHECK(p && strstr(p, "at least one"));
    free(p);
    /* the server-written ranges: all but the tools' JSON and the forced name */
    p = NULL;
    sk_text_span *tr = NULL;
    size_t ntr = 0;
    CHECK_OK(sk_server_tool_prompt_ex(tools, "now", &p, &tr, &ntr, &e), &e);
    if (p) {
        size_t len = strlen(p);
        char *mask = calloc(len + 1, 1); /* 1: trusted */
        for (size_t i = 0; i < ntr; i++) {
            CHECK(tr[i].len > 0 && tr[i].off + tr[i].len <= len);
            if (i) CHECK(tr[i].off > tr[i - 1].off + tr[i - 1].len);
            if (tr[i].off + tr[i].len <= len) memset(mask + tr[i].off, 1, tr[i].len);
        }
        CHECK(ntr == 4); /* before, between and after the two tools' JSON and before "now" */
        const char *mk = strstr(p, CALLS_BEGIN), *js = strstr(p, "{\"name\":\"get_weather\"");
        const char *js2 = strstr(p, "{\"name\":\"now\"}"), *nm = strstr(p, "function now in");
        CHECK(mk && js && js2 && nm);
        if (mk && js && js2 && nm) {
            CHECK(mask[mk - p] && mask[0] && mask[len - 1]);
            for (const char *q = js; *q != '\n'; q++) CHECK(!mask[q - p]);
            for (const char *q = js2; *q != '\n'; q++) CHECK(!mask[q - p]);
            CHECK(mask[js - p - 1] && mask[js2 - p - 1]); /* the "\n" before each */
            CHECK(!mask[nm - p + 9] && !mask[nm - p + 11] && mask[nm - p + 12]);
        }
        free(mask);
    }
    free(p);
    free(tr);
    json_decref(tools);

    static const char *const bad[] = {
        "{}",
        "[1]",
        "[{\"type\":\"retrieval\",\"function\":{\"name\":\"x\"}}]",
        "[{\"type\":\"function\"}]",
        "[{\"function\":{\"name\":\"\"}}]",
        "[{\"function\":{\"name\":\"x\",\"parameters\":[]}}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *t = json_loads(bad[i], 0, &je);
        p = NULL;
        sk_err be = {0};
        CHECK_MSG(sk_server_tool_prompt(t, NULL, &p, &be) != 0, "case %zu accepted", i);
        CHECK(p == NULL && be.msg[0]);
        json_decref(t);
    }
}

typedef struct collected {
    char reasoning[2048], content[2048];
    json_t *calls;
    int n_deltas;
    bool content_null_pairs; /* every content delta carried "reasoning_content": null */
} collected;

static void on_delta(void *ud, json_t *d) {
    collected *c = ud;
    c->n_deltas++;
    const char *r = json_string_value(json_object_get(d, "reasoning_content"));
    const char *t = json_string_value(json_object_get(d, "content"));
    if (r) strncat(c->reasoning, r, sizeof c->reasoning - strlen(c->reasoning) - 1);
    if (t) {
        strncat(c->content, t, sizeof c->content - strlen(c->content) - 1);
        if (!json_is_null(json_object_get(d, "reasoning_content"))) c->content_null_pairs = false;
    }
    if (json_object_get(d, "tool_calls")) {
        CHECK(c->calls == NULL);
        c->calls = json_incref(json_object_get(d, "tool_calls"));
    }
    json_decref(d);
}

/* Feeding a text in pieces of `step` characters gives deltas whose concatenation is the
 * non-streamed message, whatever the split. */
static void test_stream_matches_message(void) {
    static const char *const texts[] = {
        "<think>\nI should look it up.\n</think>\n\nLet me check." CALLS_BEGIN CALL_BEGIN
        "function" SEP "get_weather\n```json\n{\"city\": \"Paris\"}\n```" CALL_END CALLS_END,
        "abc\n</think>\n\n" CALLS_BEGIN CALL_BEGIN "function" SEP "a\n```json\n{}\n```" CALL_END
        "\n" CALL_BEGIN "function" SEP "b\n```json\n{\"x\":1}\n```" CALL_END CALLS_END,
        "thinking...\n</think>\n\nThe answer is 4 < 5 and <｜ is not a marker.",
        "x < y" CALLS_BEGIN CALL_BEGIN "function" SEP "f\n```json\n{}", /* unterminated */
        "still thinking, <｜tool",
        "Plain answer with ünïcødé — and <b>tags</b>.",
    };
    for (size_t ti = 0; ti < sizeof texts / sizeof *texts; ti++) {
        for (int starts = 0; starts < 2; starts++) {
            for (int tools = 0; tools < 2; tools++) {
                bool has = false;
                json_t *m = message(texts[ti], starts, true, tools, &has);
                if (!m) continue;
                const char *want_r = str(m, "reasoning_content") ? str(m, "reasoning_content") : "";
                const char *want_c = str(m, "content") ? str(m, "content") : "";
                for (size_t step = 1; step <= 64; step = step * 2 + 1) {
                    collected c;
                    memset(&c, 0, sizeof c);
                    c.content_null_pairs = true;
                    sk_server_stream *st = NULL;
                    sk_err e = {0};
                    CHECK_OK(sk_server_stream_new(starts, true, tools, 42, on_delta, &c, &st, &e),
                             &e);
                    if (!st) continue;
                    const char *p = texts[ti];
                    size_t len = strlen(p), off = 0;
                    while (off < len) {
                        size_t end = off;
                        for (size_t k = 0; k < step && end < len; k++) {
                            int n = sk_utf8_seq_len((const uint8_t *)p + end, len - end);
                            end += n > 0 ? (size_t)n : 1;
                        }
                        CHECK_OK(sk_server_stream_feed(st, p + off, end - off, &e), &e);
                        off = end;
                    }
                    bool shas = false;
                    CHECK_OK(sk_server_stream_finish(st, &shas, &e), &e);
                    CHECK_MSG(!strcmp(c.reasoning, want_r),
                              "text %zu step %zu: reasoning '%s' vs '%s'", ti, step, c.reasoning,
                              want_r);
                    CHECK_MSG(!strcmp(c.content, want_c),
                              "text %zu step %zu tools %d: content '%s' vs '%s'", ti, step, tools,
                              c.content, want_c);
                    CHECK(shas == has);
                    CHECK(c.content_null_pairs);
                    if (has) {
                        const json_t *mc = json_object_get(m, "tool_calls");
                        CHECK(json_array_size(c.calls) == json_array_size(mc));
                        for (size_t k = 0; k < json_array_size(mc) && k < json_array_size(c.calls);
                             k++) {
                            const json_t *a = json_array_get(mc, k),
                                         *b = json_array_get(c.calls, k);
                            CHECK(json_integer_value(json_object_get(b, "index")) == (json_int_t)k);
                            CHECK(!strcmp(str(a, "id"), str(b, "id")));
                            CHECK(json_equal(json_object_get(a, "function"),
                                             json_object_get(b, "function")));
                        }
                    } else {
                        CHECK(c.calls == NULL);
                    }
                    json_decref(c.calls);
                    sk_server_stream_free(st);
                }
                json_decref(m);
            }
        }
    }
}

int main(void) {
    RUN(test_stream_matches_message);
    RUN(test_reasoning_and_tool_call);
    RUN(test_two_calls_no_content);
    RUN(test_plain_answers);
    RUN(test_tool_prompt);
    return sk_test_report("server_api");
}
