/* chat_tools.c — parses the V3/R1 tool-call markup out of a model answer (sk_chat.h). */
#include "chat_internal.h"

#include <string.h>

static const char *find(const char *s, const char *end, const char *needle) {
    size_t nl = strlen(needle);
    if ((size_t)(end - s) < nl) return NULL;
    return memmem(s, (size_t)(end - s), needle, nl);
}

static bool starts(const char *s, const char *end, const char *prefix) {
    size_t n = strlen(prefix);
    return (size_t)(end - s) >= n && !memcmp(s, prefix, n);
}

static const char *skip_ws(const char *s, const char *end) {
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) s++;
    return s;
}

static char *dup(sk_arena *a, const char *s, const char *end, sk_err *e) {
    return sk_arena_strdup(a, s, (size_t)(end - s), e);
}

/* One call body (between <｜tool▁call▁begin｜> and <｜tool▁call▁end｜>). */
static int parse_call(sk_arena *a, const char *b, const char *end, sk_chat_tool_call *tc,
                      size_t idx, sk_err *e) {
    const char *sep = find(b, end, SK_CHAT_T_SEP);
    if (!sep) return sk_err_set(e, SK_ERR_FORMAT, "tool call %zu has no " SK_CHAT_T_SEP, idx);
    const char *after = sep + strlen(SK_CHAT_T_SEP);
    const char *nl = memchr(after, '\n', (size_t)(end - after));
    if (nl && starts(nl + 1, end, "```")) {
        /* V3/R1: TYPE<sep>NAME\n```json\nARGS\n``` */
        tc->type = dup(a, b, sep, e);
        tc->name = dup(a, after, nl, e);
        const char *fence = nl + 1 + 3;
        const char *line_end = memchr(fence, '\n', (size_t)(end - fence));
        if (!line_end)
            return sk_err_set(e, SK_ERR_FORMAT,
                              "tool call %zu: the ``` fence of the arguments is not "
                              "followed by a newline",
                              idx);
        const char *args = line_end + 1;
        const char *close = NULL;
        for (const char *p = find(args, end, "```"); p; p = find(p + 3, end, "```")) close = p;
        if (!close)
            return sk_err_set(e, SK_ERR_FORMAT,
                              "tool call %zu: the arguments' ``` fence is not closed", idx);
        const char *args_end = close;
        if (args_end > args && args_end[-1] == '\n') args_end--;
        if (skip_ws(close + 3, end) != end)
            return sk_err_set(e, SK_ERR_FORMAT, "tool call %zu: text after the closing ``` fence",
                              idx);
        tc->arguments = dup(a, args, args_end, e);
    } else {
        /* V3.1: NAME<sep>ARGS */
        tc->type = sk_arena_strdup(a, "function", 8, e);
        tc->name = dup(a, skip_ws(b, sep), sep, e);
        tc->arguments = dup(a, after, end, e);
    }
    if (!tc->type || !tc->name || !tc->arguments) return SK_ERR_NOMEM;
    if (!*tc->name)
        return sk_err_set(e, SK_ERR_FORMAT, "tool call %zu has an empty function name", idx);
    return SK_OK;
}

int sk_chat_parse_tool_calls(const char *text, size_t len, sk_chat_parsed *out, sk_err *e) {
    memset(out, 0, sizeof *out);
    sk_arena_init(&out->arena, 16 * 1024);
    if (!text && len) {
        sk_err_set(e, SK_ERR_INVALID, "tool-call parser: NULL text");
        goto fail;
    }
    if (!text) text = "";
    const char *end = text + len;
    const char *blk = find(text, end, SK_CHAT_T_CALLS_BEGIN);
    out->content = dup(&out->arena, text, blk ? blk : end, e);
    if (!out->content) goto fail;
    if (!blk) return SK_OK;

    /* count calls to size the array */
    size_t cap = 0;
    for (const char *p = find(blk, end, SK_CHAT_T_CALL_BEGIN); p;
         p = find(p + 1, end, SK_CHAT_T_CALL_BEGIN))
        cap++;
    if (cap) {
        size_t bytes;
        if (!sk_mul_ok(cap, sizeof(sk_chat_tool_call), &bytes)) {
            sk_err_set(e, SK_ERR_RANGE, "too many tool calls");
            goto fail;
        }
        out->calls = sk_arena_alloc(&out->arena, bytes, 8, e);
        if (!out->calls) goto fail;
    }
    const char *p = blk + strlen(SK_CHAT_T_CALLS_BEGIN);
    for (;;) {
        p = skip_ws(p, end);
        if (p == end)
            break; /* generation stopped before <｜tool▁calls▁end｜>: accept complete calls */
        if (starts(p, end, SK_CHAT_T_CALLS_END)) break;
        if (!starts(p, end, SK_CHAT_T_CALL_BEGIN)) {
            sk_err_set(
                e, SK_ERR_FORMAT,
                "unexpected text at byte %zu of the tool-call block (expected " SK_CHAT_T_CALL_BEGIN
                ")",
                (size_t)(p - blk));
            goto fail;
        }
        const char *body = p + strlen(SK_CHAT_T_CALL_BEGIN);
        const char *cend = find(body, end, SK_CHAT_T_CALL_END);
        const char *next_begin = find(body, end, SK_CHAT_T_CALL_BEGIN);
        if (!cend || (next_begin && next_begin < cend)) {
            sk_err_set(e, SK_ERR_FORMAT, "tool call %zu is not terminated by " SK_CHAT_T_CALL_END,
                       out->n_calls);
            goto fail;
        }
        if (parse_call(&out->arena, body, cend, &out->calls[out->n_calls], out->n_calls, e))
            goto fail;
        out->n_calls++;
        p = cend + strlen(SK_CHAT_T_CALL_END);
    }
    return SK_OK;
fail:;
    int code = e && e->code ? e->code : SK_ERR_FORMAT;
    sk_chat_parsed_free(out);
    return code;
}

void sk_chat_parsed_free(sk_chat_parsed *p) {
    if (!p) return;
    sk_arena_free(&p->arena);
    p->content = NULL;
    p->calls = NULL;
    p->n_calls = 0;
}
