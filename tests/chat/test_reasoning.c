/* The streaming reasoning parser and the tool-call markup parser. */
#include "sk_chat.h"
#include "sk_test.h"

#define CALLS_BEGIN "<｜tool▁calls▁begin｜>"
#define CALLS_END   "<｜tool▁calls▁end｜>"
#define CALL_BEGIN  "<｜tool▁call▁begin｜>"
#define CALL_END    "<｜tool▁call▁end｜>"
#define SEP         "<｜tool▁sep｜>"

typedef struct {
    char reasoning[4096], answer[4096];
    bool unfinished;
} split_t;

/* Feeds `text` cut at the given boundaries (cuts[] ascending, n_cuts of them). */
static int run_split(bool started_in, const char *text, const size_t *cuts, size_t n_cuts,
                     split_t *out) {
    sk_err e = {0};
    sk_reasoning *r = sk_reasoning_new(started_in, &e);
    if (!r) return -1;
    size_t prev = 0, len = strlen(text);
    /* also rebuild the texts from the streaming deltas */
    char dr[4096] = {0}, da[4096] = {0};
    size_t ndr = 0, nda = 0;
    for (size_t i = 0; i <= n_cuts; i++) {
        size_t cut = i < n_cuts ? cuts[i] : len;
        if (sk_reasoning_feed(r, text + prev, cut - prev, &e)) {
            sk_reasoning_free(r);
            return -1;
        }
        prev = cut;
        const char *a, *b;
        size_t na, nb;
        sk_reasoning_take_delta(r, &a, &na, &b, &nb);
        memcpy(dr + ndr, a, na), ndr += na;
        memcpy(da + nda, b, nb), nda += nb;
    }
    if (sk_reasoning_finish(r, &e)) {
        sk_reasoning_free(r);
        return -1;
    }
    const char *a, *b;
    size_t na, nb;
    sk_reasoning_take_delta(r, &a, &na, &b, &nb);
    memcpy(dr + ndr, a, na), ndr += na;
    memcpy(da + nda, b, nb), nda += nb;
    size_t rl, al;
    const char *rt = sk_reasoning_text(r, &rl), *at = sk_reasoning_answer(r, &al);
    snprintf(out->reasoning, sizeof out->reasoning, "%s", rt);
    snprintf(out->answer, sizeof out->answer, "%s", at);
    out->unfinished = sk_reasoning_unfinished(r);
    int deltas_ok = ndr == rl && nda == al && !memcmp(dr, rt, rl) && !memcmp(da, at, al);
    sk_reasoning_free(r);
    return deltas_ok ? 0 : -2;
}

static void expect(bool started_in, const char *text, const char *reasoning, const char *answer,
                   bool unfinished) {
    split_t whole;
    CHECK(run_split(started_in, text, NULL, 0, &whole) == 0);
    CHECK_MSG(!strcmp(whole.reasoning, reasoning), "text %s: reasoning '%s' want '%s'", text,
              whole.reasoning, reasoning);
    CHECK_MSG(!strcmp(whole.answer, answer), "text %s: answer '%s' want '%s'", text, whole.answer,
              answer);
    CHECK(whole.unfinished == unfinished);
    /* every single cut point, and byte-by-byte, give the same split */
    size_t len = strlen(text);
    for (size_t c = 1; c < len; c++) {
        split_t s;
        CHECK(run_split(started_in, text, &c, 1, &s) == 0);
        CHECK_MSG(!strcmp(s.reasoning, reasoning) && !strcmp(s.answer, answer) &&
                      s.unfinished == unfinished,
                  "text %s cut at %zu: reasoning '%s' answer '%s'", text, c, s.reasoning, s.answer);
    }
    size_t cuts[512];
    size_t n = 0;
    for (size_t c = 1; c < len && n < 512; c++) cuts[n++] = c;
    split_t s;
    CHECK(run_split(started_in, text, cuts, n, &s) == 0);
    CHECK(!strcmp(s.reasoning, reasoning) && !strcmp(s.answer, answer) &&
          s.unfinished == unfinished);
}

static void test_forced_think(void) {
    /* R1: the prompt ended with "<think>\n", the output starts inside the reasoning */
    expect(true, "Okay, let me think.\nStep 2.\n</think>\n\nThe answer is 4.",
           "Okay, let me think.\nStep 2.", "The answer is 4.", false);
    /* a redundant opening tag is dropped */
    expect(true, "<think>\nR\n</think>\n\nA", "R", "A", false);
    expect(true, "\n<think>R</think>A", "R", "A", false);
    /* an empty reasoning block */
    expect(true, "\n\n</think>\n\nDirect answer.", "", "Direct answer.", false);
}

static void test_emitted_think(void) {
    expect(false, "<think>\nR\n</think>\n\nA", "R", "A", false);
    expect(false, "  \n<think>x</think>y", "x", "y", false);
    /* no opening tag at the start: everything is answer, tags included */
    expect(false, "Hello <think> world </think> end", "", "Hello <think> world </think> end",
           false);
    expect(false, "<thinking>not a tag</thinking>", "", "<thinking>not a tag</thinking>", false);
    expect(false, "<thi", "", "<thi", false);
    expect(false, "", "", "", false);
}

static void test_cut_off(void) {
    /* generation stopped inside the reasoning: all reasoning, empty answer, unfinished */
    expect(true, "reasoning goes on\nand on\n</thi", "reasoning goes on\nand on\n</thi", "", true);
    expect(true, "trailing newlines\n\n", "trailing newlines", "", true);
    expect(false, "<think>never closed", "never closed", "", true);
    expect(true, "", "", "", true);
    expect(true, "<thi", "<thi", "", true);
}

static void test_two_close_tags(void) {
    expect(true, "a</think>b</think>c", "a", "b</think>c", false);
    expect(true, "思考中\n</think>\n\n答案 🎉", "思考中", "答案 🎉", false);
}

static void test_held_newlines_and_errors(void) {
    sk_err e = {0};
    sk_reasoning *r = sk_reasoning_new(true, &e);
    CHECK(r != NULL);
    if (!r) return;
    CHECK(sk_reasoning_in_reasoning(r));
    CHECK_OK(sk_reasoning_feed(r, "abc\n\n", 5, &e), &e);
    CHECK(!strcmp(sk_reasoning_text(r, NULL), "abc"));
    CHECK_OK(sk_reasoning_feed(r, "def</", 5, &e), &e);
    CHECK(!strcmp(sk_reasoning_text(r, NULL), "abc\n\ndef"));
    CHECK_OK(sk_reasoning_feed(r, "think>", 6, &e), &e);
    CHECK(!sk_reasoning_in_reasoning(r));
    CHECK_OK(sk_reasoning_feed(r, " ok", 3, &e), &e);
    CHECK(!strcmp(sk_reasoning_answer(r, NULL), "ok"));
    CHECK_OK(sk_reasoning_finish(r, &e), &e);
    CHECK(!sk_reasoning_unfinished(r));
    CHECK(sk_reasoning_feed(r, "x", 1, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "after finish") != NULL);
    sk_reasoning_free(r);
}

/* Random chunkings of a long mixed text (fixed LCG seed). */
static void test_random_chunks(void) {
    const char *text = "Let me see.\n<think> is literal here.\n\nMore </th but not closed yet.\n"
                       "</think>\n\n\nFinal: use <think> and </think> freely. 答え";
    split_t whole;
    CHECK(run_split(true, text, NULL, 0, &whole) == 0);
    CHECK(!strcmp(whole.reasoning,
                  "Let me see.\n<think> is literal here.\n\nMore </th but not closed yet."));
    CHECK(!strcmp(whole.answer, "Final: use <think> and </think> freely. 答え"));
    uint32_t x = 12345;
    size_t len = strlen(text);
    for (int it = 0; it < 300; it++) {
        size_t cuts[64], n = 0, pos = 0;
        while (n < 64) {
            x = x * 1664525u + 1013904223u;
            pos += 1 + (x >> 24) % 7;
            if (pos >= len) break;
            cuts[n++] = pos;
        }
        split_t s;
        CHECK(run_split(true, text, cuts, n, &s) == 0);
        CHECK(!strcmp(s.reasoning, whole.reasoning) && !strcmp(s.answer, whole.answer));
    }
}

static void test_tool_calls(void) {
    const char *text = "Sure." CALLS_BEGIN CALL_BEGIN "function" SEP "get_weather\n```json\n"
                       "{\"city\": \"Paris\"}\n```" CALL_END "\n" CALL_BEGIN "function" SEP
                       "get_time\n```json\n{}\n```" CALL_END CALLS_END;
    sk_chat_parsed p;
    sk_err e = {0};
    CHECK_OK(sk_chat_parse_tool_calls(text, strlen(text), &p, &e), &e);
    CHECK(!strcmp(p.content, "Sure."));
    CHECK(p.n_calls == 2);
    if (p.n_calls == 2) {
        CHECK(!strcmp(p.calls[0].type, "function") && !strcmp(p.calls[0].name, "get_weather"));
        CHECK(!strcmp(p.calls[0].arguments, "{\"city\": \"Paris\"}"));
        CHECK(!strcmp(p.calls[1].name, "get_time") && !strcmp(p.calls[1].arguments, "{}"));
    }
    sk_chat_parsed_free(&p);

    /* no markup */
    CHECK_OK(sk_chat_parse_tool_calls("plain answer", 12, &p, &e), &e);
    CHECK(!strcmp(p.content, "plain answer") && p.n_calls == 0);
    sk_chat_parsed_free(&p);

    /* V3.1 form */
    const char *v31 = CALLS_BEGIN CALL_BEGIN "lookup" SEP "{\"q\":\"x\"}" CALL_END CALLS_END;
    CHECK_OK(sk_chat_parse_tool_calls(v31, strlen(v31), &p, &e), &e);
    CHECK(p.n_calls == 1 && !strcmp(p.content, ""));
    if (p.n_calls == 1)
        CHECK(!strcmp(p.calls[0].name, "lookup") &&
              !strcmp(p.calls[0].arguments, "{\"q\":\"x\"}") &&
              !strcmp(p.calls[0].type, "function"));
    sk_chat_parsed_free(&p);

    /* stopped right after the last call (no calls_end): complete calls are accepted */
    const char *open = CALLS_BEGIN CALL_BEGIN "function" SEP "f\n```json\n[1]\n```" CALL_END;
    CHECK_OK(sk_chat_parse_tool_calls(open, strlen(open), &p, &e), &e);
    CHECK(p.n_calls == 1);
    sk_chat_parsed_free(&p);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {CALLS_BEGIN CALL_BEGIN "function f\n```json\n{}\n```" CALL_END, "has no"},
        {CALLS_BEGIN CALL_BEGIN "function" SEP "f\n```json\n{}", "not terminated"},
        {CALLS_BEGIN "garbage" CALL_BEGIN "function" SEP "f\n```json\n{}\n```" CALL_END,
         "unexpected text"},
        {CALLS_BEGIN CALL_BEGIN "function" SEP "f\n```json" CALL_END, "not followed by a newline"},
        {CALLS_BEGIN CALL_BEGIN "function" SEP "f\n```json\n{}\n" CALL_END, "not closed"},
        {CALLS_BEGIN CALL_BEGIN "function" SEP "\n```json\n{}\n```" CALL_END,
         "empty function name"},
        {CALLS_BEGIN CALL_BEGIN "function" SEP "f\n```json\n{}\n``` extra" CALL_END,
         "after the closing"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sk_err e2 = {0};
        CHECK_MSG(sk_chat_parse_tool_calls(bad[i].text, strlen(bad[i].text), &p, &e2) ==
                      SK_ERR_FORMAT,
                  "bad case %zu accepted", i);
        CHECK_MSG(strstr(e2.msg, bad[i].msg) != NULL, "bad case %zu: '%s'", i, e2.msg);
        CHECK(p.content == NULL && p.n_calls == 0);
    }
}

/* What the R1 template renders for an assistant tool-call turn parses back to the same calls. */
static void test_tool_roundtrip(void) {
    sk_chat_tool_call calls[] = {
        {.name = "search", .arguments = "{\"q\": \"seek \\\"c\\\"\"}"},
        {.type = "function", .name = "fetch", .arguments = "{\"url\": \"a```b\"}"},
        {.name = "noargs", .arguments = "{}"}};
    sk_chat_msg m[] = {{.role = SK_CHAT_ROLE_USER, .content = "go"},
                       {.role = SK_CHAT_ROLE_ASSISTANT,
                        .content = "Calling.",
                        .tool_calls = calls,
                        .n_tool_calls = 3,
                        .has_tool_calls = true}};
    char *out = NULL;
    sk_err e = {0};
    CHECK_OK(sk_chat_render(SK_CHAT_DEEPSEEK_R1, m, 2, false, &out, &e), &e);
    if (!out) return;
    const char *start = strstr(out, "<｜Assistant｜>") + strlen("<｜Assistant｜>");
    const char *end = strstr(start, "<｜end▁of▁sentence｜>");
    CHECK(end != NULL);
    sk_chat_parsed p;
    CHECK_OK(sk_chat_parse_tool_calls(start, (size_t)(end - start), &p, &e), &e);
    CHECK(!strcmp(p.content, "Calling."));
    CHECK(p.n_calls == 3);
    for (size_t i = 0; i < p.n_calls && i < 3; i++) {
        CHECK(!strcmp(p.calls[i].name, calls[i].name));
        CHECK_MSG(!strcmp(p.calls[i].arguments, calls[i].arguments), "call %zu: %s", i,
                  p.calls[i].arguments);
        CHECK(!strcmp(p.calls[i].type, "function"));
    }
    sk_chat_parsed_free(&p);
    free(out);
}

int main(void) {
    RUN(test_forced_think);
    RUN(test_emitted_think);
    RUN(test_cut_off);
    RUN(test_two_close_tags);
    RUN(test_held_newlines_and_errors);
    RUN(test_random_chunks);
    RUN(test_tool_calls);
    RUN(test_tool_roundtrip);
    return sk_test_report("chat_reasoning");
}
