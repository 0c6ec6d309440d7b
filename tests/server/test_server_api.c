/* test_server_api — the model-free parts of the API: the assistant message assembled from
 * generated text (reasoning split, V3/R1 tool-call markup → tool_calls) and the system prompt
 * that describes tools (its markup example must parse with the chat module's parser). */
#include "sk_chat.h"
#include "sk_json.h"
#include "sk_server.h"
#include "sk_test.h"

#define CALLS_BEGIN "<｜tool▁calls▁begin｜>"
#define CALLS_END "<｜tool▁calls▁end｜>"
#define CALL_BEGIN "<｜tool▁call▁begin｜>"
#define CALL_END "<｜tool▁call▁end｜>"
#define SEP "<｜tool▁sep｜>"

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
    const char *t = "<think>\nI should look it up.\n</think>\n\nLet me check." CALLS_BEGIN CALL_BEGIN
                    "function" SEP "get_weather\n```json\n{\"city\": \"Paris\"}\n```" CALL_END
                    CALLS_END;
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
    const char *t = "abc\n</think>\n\n" CALLS_BEGIN CALL_BEGIN "function" SEP "a\n```json\n{}\n```"
                    CALL_END "\n" CALL_BEGIN "function" SEP "b\n```json\n{\"x\":1}\n```" CALL_END
                    CALLS_END;
    bool has = false;
    json_t *m = message(t, true, true, true, &has);
    CHECK(m && has);
    if (!m) return;
    CHECK(!strcmp(str(m, "reasoning_content"), "abc"));
    CHECK(json_is_null(json_object_get(m, "content")));
    const json_t *calls = json_object_get(m, "tool_calls");
    CHECK(json_array_size(calls) == 2);
    CHECK(!strcmp(str(json_object_get(json_array_get(calls, 1), "function"), "name"), "b"));
    CHECK(!strcmp(str(json_object_get(json_array_get(calls, 1), "function"), "arguments"), "{\"x\":1}"));
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
    const char *t = "x" CALLS_BEGIN CALL_BEGIN "function" SEP "f\n```json\n{}\n```" CALL_END CALLS_END;
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
    json_decref(tools);

    static const char *const bad[] = {
        "{}", "[1]", "[{\"type\":\"retrieval\",\"function\":{\"name\":\"x\"}}]",
        "[{\"type\":\"function\"}]", "[{\"function\":{\"name\":\"\"}}]",
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

int main(void) {
    RUN(test_reasoning_and_tool_call);
    RUN(test_two_calls_no_content);
    RUN(test_plain_answers);
    RUN(test_tool_prompt);
    return sk_test_report("server_api");
}
