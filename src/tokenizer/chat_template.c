/* chat_template.c — the DeepSeek chat templates re-implemented in C (see sk_chat.h). Each
 * renderer follows its Jinja original statement by statement, including the namespace flags
 * (is_first, is_tool, is_output_first) that the originals never reset. */
#include "chat_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Special-token texts (spec §5.4). */
#define T_BOS                                                                                      \
    "<\xEF\xBD\x9C"                                                                                \
    "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"
#define T_EOS                                                                                      \
    "<\xEF\xBD\x9C"                                                                                \
    "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"
#define T_USER "<\xEF\xBD\x9CUser\xEF\xBD\x9C>"
#define T_ASSISTANT                                                                                \
    "<\xEF\xBD\x9C"                                                                                \
    "Assistant\xEF\xBD\x9C>"

static const struct {
    sk_chat_kind kind;
    const char *name;
} kind_names[] = {
    {SK_CHAT_DEEPSEEK3, "deepseek3"},
    {SK_CHAT_DEEPSEEK_R1, "deepseek-r1"},
    {SK_CHAT_R1_DISTILL_QWEN, "r1-distill-qwen"},
    {SK_CHAT_R1_DISTILL_LLAMA, "r1-distill-llama"},
    {SK_CHAT_DEEPSEEK2, "deepseek2"},
};
#define N_KINDS   (sizeof kind_names / sizeof kind_names[0])
#define KIND_LIST "deepseek3, deepseek-r1, r1-distill-qwen, r1-distill-llama, deepseek2"

const char *sk_chat_kind_name(sk_chat_kind kind) {
    for (size_t i = 0; i < N_KINDS; i++)
        if (kind_names[i].kind == kind) return kind_names[i].name;
    return "unknown";
}

int sk_chat_kind_from_name(const char *name, sk_chat_kind *out, sk_err *e) {
    if (!name) return sk_err_set(e, SK_ERR_INVALID, "no chat template name given");
    for (size_t i = 0; i < N_KINDS; i++) {
        if (!strcmp(kind_names[i].name, name)) {
            *out = kind_names[i].kind;
            return SK_OK;
        }
    }
    return sk_err_set(e, SK_ERR_INVALID, "unknown chat template name '%s' (known: " KIND_LIST ")",
                      name);
}

bool sk_chat_kind_forces_think(sk_chat_kind kind) {
    return kind == SK_CHAT_DEEPSEEK_R1 || kind == SK_CHAT_R1_DISTILL_QWEN ||
           kind == SK_CHAT_R1_DISTILL_LLAMA;
}

/* ---- detection ------------------------------------------------------------------------- */

int sk_chat_template_detect(const char *tmpl, const char *arch, sk_chat_kind *out, sk_err *e) {
    if (!tmpl || !*tmpl)
        return sk_err_set(e, SK_ERR_NOTFOUND,
                          "the model has no chat template; pass --chat-template NAME (" KIND_LIST
                          ")");
    bool has_user = strstr(tmpl, T_USER) != NULL;
    bool has_asst = strstr(tmpl, T_ASSISTANT) != NULL;
    bool has_think = strstr(tmpl, "</think>") != NULL;
    if (strstr(tmpl, "'Assistant: ' + message['content'] + eos_token") ||
        (strstr(tmpl, "'User: ' + message['content']") && strstr(tmpl, "'Assistant:'") &&
         !has_user)) {
        *out = SK_CHAT_DEEPSEEK2;
        return SK_OK;
    }
    if (has_user && has_asst) {
        /* DeepSeek-V3.1 and later put a `thinking` switch and </think> into the generation
         * prompt; their format is not one of the families above. */
        if (strstr(tmpl, "thinking") && has_think && !strstr(tmpl, "split('</think>')")) {
            return sk_err_set(e, SK_ERR_UNSUPPORTED,
                              "this is a DeepSeek-V3.1-style hybrid-thinking chat template, which "
                              "Seek does not implement; pass --chat-template NAME with one "
                              "of: " KIND_LIST);
        }
        if (has_think) {
            if (strstr(tmpl, "is_first_sp")) {
                *out = SK_CHAT_DEEPSEEK_R1;
            } else {
                *out = (arch && !strcmp(arch, "llama")) ? SK_CHAT_R1_DISTILL_LLAMA
                                                        : SK_CHAT_R1_DISTILL_QWEN;
            }
            return SK_OK;
        }
        *out = SK_CHAT_DEEPSEEK3;
        return SK_OK;
    }
    /* quote the first 60 bytes, whole UTF-8 characters only, blanks for control characters */
    char head[61];
    size_t k = 0, tl = strlen(tmpl);
    while (k < tl) {
        int n = sk_utf8_seq_len((const uint8_t *)tmpl + k, tl - k);
        if (n <= 0) n = 1; /* invalid byte: copied as is, one at a time */
        if (k + (size_t)n > sizeof head - 1) break;
        for (int j = 0; j < n; j++) {
            char c = tmpl[k + (size_t)j];
            head[k + (size_t)j] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
        }
        k += (size_t)n;
    }
    head[k] = 0;
    return sk_err_set(e, SK_ERR_UNSUPPORTED,
                      "unrecognised chat template (it begins \"%s%s\"); pass --chat-template NAME "
                      "with one of: " KIND_LIST,
                      head, strlen(tmpl) > k ? "…" : "");
}

/* ---- output buffer --------------------------------------------------------------------- */

int sk_chat_buf_add(sk_chat_buf *b, const char *s, size_t n, sk_err *e) {
    if (b->failed) return SK_ERR_NOMEM;
    size_t need;
    if (!sk_add_ok(b->len, n, &need) || !sk_add_ok(need, 1, &need)) {
        b->failed = true;
        return sk_err_set(e, SK_ERR_RANGE, "chat text too long");
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) {
            if (cap > SIZE_MAX / 2) {
                cap = need;
                break;
            }
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return sk_err_set(e, SK_ERR_NOMEM, "out of memory growing a %zu-byte chat buffer", cap);
        }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return SK_OK;
}

int sk_chat_buf_puts(sk_chat_buf *b, const char *s, sk_err *e) {
    return sk_chat_buf_add(b, s, strlen(s), e);
}

int sk_chat_buf_user(sk_chat_buf *b, const char *s, size_t n, sk_err *e) {
    size_t at = b->len;
    int rc = sk_chat_buf_add(b, s, n, e);
    if (rc || !b->track || !n) return rc;
    if (b->n_spans && b->spans[b->n_spans - 1].off + b->spans[b->n_spans - 1].len == at) {
        b->spans[b->n_spans - 1].len += n;
        return SK_OK;
    }
    if (b->n_spans == b->cap_spans) {
        size_t cap = b->cap_spans ? b->cap_spans * 2 : 16;
        sk_text_span *ns = cap < SIZE_MAX / sizeof *ns ? realloc(b->spans, cap * sizeof *ns) : NULL;
        if (!ns) {
            b->failed = true;
            return sk_err_set(e, SK_ERR_NOMEM, "out of memory (%zu chat spans)", cap);
        }
        b->spans = ns;
        b->cap_spans = cap;
    }
    b->spans[b->n_spans++] = (sk_text_span){at, n};
    return SK_OK;
}

void sk_chat_buf_free(sk_chat_buf *b) {
    free(b->p);
    free(b->spans);
    memset(b, 0, sizeof *b);
}

/* ---- rendering ------------------------------------------------------------------------- */

const char *sk_chat_strip_reasoning(const char *s) {
    const char *last = NULL;
    for (const char *p = strstr(s, "</think>"); p; p = strstr(p + 1, "</think>")) last = p;
    return last ? last + strlen("</think>") : s;
}

static const char *role_name(sk_chat_role r) {
    switch (r) {
    case SK_CHAT_ROLE_SYSTEM:
        return "system";
    case SK_CHAT_ROLE_USER:
        return "user";
    case SK_CHAT_ROLE_ASSISTANT:
        return "assistant";
    case SK_CHAT_ROLE_TOOL:
        return "tool";
    default:
        return "other";
    }
}

/* Appends text s, which is m->content or a suffix of it, as caller-supplied text less m's
 * trusted ranges (appended as template text). */
static int put_text(sk_chat_buf *b, const sk_chat_msg *m, const char *s, size_t i, sk_err *e) {
    size_t len = strlen(s);
    if (!m->n_trusted) return sk_chat_buf_user(b, s, len, e);
    size_t clen = strlen(m->content), base = (size_t)(s - m->content), cur = 0, prev_end = 0;
    if (!m->trusted)
        return sk_err_set(e, SK_ERR_INVALID, "message %zu: trusted ranges are NULL", i);
    for (size_t k = 0; k < m->n_trusted; k++) {
        const sk_text_span *r = &m->trusted[k];
        if (r->off < prev_end || r->off > clen || r->len > clen - r->off)
            return sk_err_set(e, SK_ERR_INVALID,
                              "message %zu: trusted range %zu (offset %zu, %zu bytes) is out of "
                              "order or outside the %zu-byte content",
                              i, k, r->off, r->len, clen);
        prev_end = r->off + r->len;
        size_t a = r->off > base ? r->off - base : 0, z = prev_end > base ? prev_end - base : 0;
        if (z > len) z = len;
        if (a >= z) continue;
        if (a > cur) sk_chat_buf_user(b, s + cur, a - cur, e);
        sk_chat_buf_add(b, s + a, z - a, e);
        cur = z;
    }
    if (len > cur) sk_chat_buf_user(b, s + cur, len - cur, e);
    return b->failed ? SK_ERR_NOMEM : SK_OK;
}

/* The template concatenates this message's content: null cannot be rendered. */
static int need_content(const sk_chat_msg *m, size_t i, sk_err *e) {
    if (m->content) return SK_OK;
    if (m->role == SK_CHAT_ROLE_ASSISTANT)
        return sk_err_set(e, SK_ERR_INVALID,
                          "message %zu (assistant): content is null and there are no tool calls "
                          "this template can render",
                          i);
    return sk_err_set(e, SK_ERR_INVALID, "message %zu (%s): content is null", i,
                      role_name(m->role));
}

/* <｜tool▁call▁begin｜>TYPE<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜> */
static int put_tool_call(sk_chat_buf *b, const sk_chat_tool_call *tc, size_t i, size_t j,
                         sk_err *e) {
    if (!tc->name || !tc->arguments)
        return sk_err_set(e, SK_ERR_INVALID, "message %zu: tool call %zu has no function %s", i, j,
                          tc->name ? "arguments" : "name");
    sk_chat_buf_puts(b, SK_CHAT_T_CALL_BEGIN, e);
    if (tc->type)
        sk_chat_buf_user(b, tc->type, strlen(tc->type), e);
    else
        sk_chat_buf_puts(b, "function", e);
    sk_chat_buf_puts(b, SK_CHAT_T_SEP, e);
    sk_chat_buf_user(b, tc->name, strlen(tc->name), e);
    sk_chat_buf_puts(b, "\n```json\n", e);
    sk_chat_buf_user(b, tc->arguments, strlen(tc->arguments), e);
    sk_chat_buf_puts(b, "\n```", e);
    return sk_chat_buf_puts(b, SK_CHAT_T_CALL_END, e);
}

/* System prompt: deepseek3 / deepseek-r1 join all system messages with "\n\n"; the distill
 * templates keep only the last one. */
static int put_system(sk_chat_buf *b, const sk_chat_msg *msgs, size_t n, bool join, sk_err *e) {
    const sk_chat_msg *last = NULL;
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].role != SK_CHAT_ROLE_SYSTEM) continue;
        if (need_content(&msgs[i], i, e)) return SK_ERR_INVALID;
        if (join) {
            if (!first) sk_chat_buf_puts(b, "\n\n", e);
            if (put_text(b, &msgs[i], msgs[i].content, i, e)) return SK_ERR_INVALID;
            first = false;
        } else {
            last = &msgs[i];
        }
    }
    if (!join && last && put_text(b, last, last->content, (size_t)(last - msgs), e))
        return SK_ERR_INVALID;
    return b->failed ? SK_ERR_NOMEM : SK_OK;
}

/* deepseek3 (join_system, think=false) and the R1-Distill templates (last system, think). */
static int render_v3_like(sk_chat_buf *b, const sk_chat_msg *msgs, size_t n, bool add_gen,
                          bool join_system, bool think, sk_err *e) {
    sk_chat_buf_puts(b, T_BOS, e);
    if (put_system(b, msgs, n, join_system, e)) return SK_ERR_INVALID;
    bool is_first = false, is_tool = false, is_output_first = true;
    for (size_t i = 0; i < n; i++) {
        const sk_chat_msg *m = &msgs[i];
        switch (m->role) {
        case SK_CHAT_ROLE_USER:
            if (need_content(m, i, e)) return SK_ERR_INVALID;
            is_tool = false;
            sk_chat_buf_puts(b, T_USER, e);
            if (put_text(b, m, m->content, i, e)) return SK_ERR_INVALID;
            break;
        case SK_CHAT_ROLE_ASSISTANT:
            if (!m->content) {
                if (!m->has_tool_calls) return need_content(m, i, e);
                is_tool = false;
                for (size_t j = 0; j < m->n_tool_calls; j++) {
                    if (!is_first) {
                        sk_chat_buf_puts(b, T_ASSISTANT SK_CHAT_T_CALLS_BEGIN, e);
                        if (put_tool_call(b, &m->tool_calls[j], i, j, e)) return SK_ERR_INVALID;
                        is_first = true;
                    } else {
                        sk_chat_buf_puts(b, "\n", e);
                        if (put_tool_call(b, &m->tool_calls[j], i, j, e)) return SK_ERR_INVALID;
                        sk_chat_buf_puts(b, SK_CHAT_T_CALLS_END T_EOS, e);
                    }
                }
            } else if (is_tool) {
                sk_chat_buf_puts(b, SK_CHAT_T_OUTPUTS_END, e);
                if (put_text(b, m, m->content, i, e)) return SK_ERR_INVALID;
                sk_chat_buf_puts(b, T_EOS, e);
                is_tool = false;
            } else {
                sk_chat_buf_puts(b, T_ASSISTANT, e);
                if (put_text(b, m, think ? sk_chat_strip_reasoning(m->content) : m->content, i, e))
                    return SK_ERR_INVALID;
                sk_chat_buf_puts(b, T_EOS, e);
            }
            break;
        case SK_CHAT_ROLE_TOOL:
            if (need_content(m, i, e)) return SK_ERR_INVALID;
            is_tool = true;
            if (is_output_first) {
                sk_chat_buf_puts(b, SK_CHAT_T_OUTPUTS_BEGIN SK_CHAT_T_OUTPUT_BEGIN, e);
                is_output_first = false;
            } else {
                sk_chat_buf_puts(b, "\n" SK_CHAT_T_OUTPUT_BEGIN, e);
            }
            if (put_text(b, m, m->content, i, e)) return SK_ERR_INVALID;
            sk_chat_buf_puts(b, SK_CHAT_T_OUTPUT_END, e);
            break;
        default:
            break;
        }
    }
    if (is_tool) sk_chat_buf_puts(b, SK_CHAT_T_OUTPUTS_END, e);
    if (add_gen && !is_tool) sk_chat_buf_puts(b, think ? T_ASSISTANT "<think>\n" : T_ASSISTANT, e);
    return b->failed ? SK_ERR_NOMEM : SK_OK;
}

/* deepseek-r1: tool calls keyed on the presence of tool_calls, content before the calls. */
static int render_r1(sk_chat_buf *b, const sk_chat_msg *msgs, size_t n, bool add_gen, sk_err *e) {
    sk_chat_buf_puts(b, T_BOS, e);
    if (put_system(b, msgs, n, true, e)) return SK_ERR_INVALID;
    bool is_first = false, is_tool = false, is_output_first = true;
    for (size_t i = 0; i < n; i++) {
        const sk_chat_msg *m = &msgs[i];
        switch (m->role) {
        case SK_CHAT_ROLE_USER:
            if (need_content(m, i, e)) return SK_ERR_INVALID;
            is_tool = false;
            sk_chat_buf_puts(b, T_USER, e);
            if (put_text(b, m, m->content, i, e)) return SK_ERR_INVALID;
            break;
        case SK_CHAT_ROLE_ASSISTANT:
            if (m->has_tool_calls) {
                is_tool = false;
                for (size_t j = 0; j < m->n_tool_calls; j++) {
                    if (!is_first) {
                        sk_chat_buf_puts(b, T_ASSISTANT, e);
                        if (m->content && put_text(b, m, m->content, i, e)) return SK_ERR_INVALID;
                        sk_chat_buf_puts(b, SK_CHAT_T_CALLS_BEGIN, e);
                        is_first = true;
                    } else {
                        sk_chat_buf_puts(b, "\n", e);
                    }
                    if (put_tool_call(b, &m->tool_calls[j], i, j, e)) return SK_ERR_INVALID;
                }
                sk_chat_buf_puts(b, SK_CHAT_T_CALLS_END T_EOS, e);
            } else {
                if (need_content(m, i, e)) return SK_ERR_INVALID;
                if (is_tool) {
                    sk_chat_buf_puts(b, SK_CHAT_T_OUTPUTS_END, e);
                    if (put_text(b, m, m->content, i, e)) return SK_ERR_INVALID;
                    is_tool = false;
                } else {
                    sk_chat_buf_puts(b, T_ASSISTANT, e);
                    if (put_text(b, m, sk_chat_strip_reasoning(m->content), i, e))
                        return SK_ERR_INVALID;
                }
                sk_chat_buf_puts(b, T_EOS, e);
            }
            break;
        case SK_CHAT_ROLE_TOOL:
            if (need_content(m, i, e)) return SK_ERR_INVALID;
            is_tool = true;
            if (is_output_first) {
                sk_chat_buf_puts(b, SK_CHAT_T_OUTPUTS_BEGIN, e);
                is_output_first = false;
            }
            sk_chat_buf_puts(b, SK_CHAT_T_OUTPUT_BEGIN, e);
            if (put_text(b, m, m->content, i, e)) return SK_ERR_INVALID;
            sk_chat_buf_puts(b, SK_CHAT_T_OUTPUT_END, e);
            break;
        default:
            break;
        }
    }
    if (is_tool) sk_chat_buf_puts(b, SK_CHAT_T_OUTPUTS_END, e);
    if (add_gen && !is_tool) sk_chat_buf_puts(b, T_ASSISTANT "<think>\n", e);
    return b->failed ? SK_ERR_NOMEM : SK_OK;
}

static int render_v2(sk_chat_buf *b, const sk_chat_msg *msgs, size_t n, bool add_gen, sk_err *e) {
    sk_chat_buf_puts(b, T_BOS, e);
    for (size_t i = 0; i < n; i++) {
        const sk_chat_msg *m = &msgs[i];
        switch (m->role) {
        case SK_CHAT_ROLE_USER:
            if (need_content(m, i, e)) return SK_ERR_INVALID;
            sk_chat_buf_puts(b, "User: ", e);
            if (put_text(b, m, m->content, i, e)) return SK_ERR_INVALID;
            sk_chat_buf_puts(b, "\n\n", e);
            break;
        case SK_CHAT_ROLE_ASSISTANT:
            if (need_content(m, i, e)) return SK_ERR_INVALID;
            sk_chat_buf_puts(b, "Assistant: ", e);
            if (put_text(b, m, m->content, i, e)) return SK_ERR_INVALID;
            sk_chat_buf_puts(b, T_EOS, e);
            break;
        case SK_CHAT_ROLE_SYSTEM:
            if (need_content(m, i, e)) return SK_ERR_INVALID;
            if (put_text(b, m, m->content, i, e)) return SK_ERR_INVALID;
            sk_chat_buf_puts(b, "\n\n", e);
            break;
        default:
            break;
        }
    }
    if (add_gen) sk_chat_buf_puts(b, "Assistant:", e);
    return b->failed ? SK_ERR_NOMEM : SK_OK;
}

static int render(sk_chat_kind kind, const sk_chat_msg *msgs, size_t n, bool add_generation_prompt,
                  char **out, sk_text_span **spans, size_t *n_spans, sk_err *e) {
    *out = NULL;
    if (spans) {
        *spans = NULL;
        *n_spans = 0;
    }
    if (n > 0 && !msgs) return sk_err_set(e, SK_ERR_INVALID, "chat render: messages is NULL");
    sk_chat_buf b = {.track = spans != NULL};
    int rc;
    switch (kind) {
    case SK_CHAT_DEEPSEEK3:
        rc = render_v3_like(&b, msgs, n, add_generation_prompt, true, false, e);
        break;
    case SK_CHAT_R1_DISTILL_QWEN:
    case SK_CHAT_R1_DISTILL_LLAMA:
        rc = render_v3_like(&b, msgs, n, add_generation_prompt, false, true, e);
        break;
    case SK_CHAT_DEEPSEEK_R1:
        rc = render_r1(&b, msgs, n, add_generation_prompt, e);
        break;
    case SK_CHAT_DEEPSEEK2:
        rc = render_v2(&b, msgs, n, add_generation_prompt, e);
        break;
    default:
        return sk_err_set(e, SK_ERR_INVALID,
                          "chat render: unknown template kind %d (known: " KIND_LIST ")",
                          (int)kind);
    }
    if (b.failed) rc = e && e->code ? e->code : SK_ERR_NOMEM; /* the buffer's error, not INVALID */
    if (rc != SK_OK) {
        sk_chat_buf_free(&b);
        sk_err_prefix(e, "%s template", sk_chat_kind_name(kind));
        return rc;
    }
    if (!b.p && sk_chat_buf_add(&b, "", 0, e)) {
        sk_chat_buf_free(&b);
        return SK_ERR_NOMEM;
    }
    *out = b.p;
    if (spans) {
        *spans = b.n_spans ? b.spans : NULL;
        *n_spans = b.n_spans;
        if (!b.n_spans) free(b.spans);
    } else {
        free(b.spans);
    }
    return SK_OK;
}

int sk_chat_render(sk_chat_kind kind, const sk_chat_msg *msgs, size_t n, bool add_generation_prompt,
                   char **out, sk_err *e) {
    return render(kind, msgs, n, add_generation_prompt, out, NULL, NULL, e);
}

int sk_chat_render_spans(sk_chat_kind kind, const sk_chat_msg *msgs, size_t n,
                         bool add_generation_prompt, char **out, sk_text_span **spans,
                         size_t *n_spans, sk_err *e) {
    if (!spans || !n_spans) {
        *out = NULL;
        return sk_err_set(e, SK_ERR_INVALID, "chat render: spans output is NULL");
    }
    return render(kind, msgs, n, add_generation_prompt, out, spans, n_spans, e);
}

int sk_chat_encode(sk_tokenizer *tok, sk_chat_kind kind, const sk_chat_msg *msgs, size_t n,
                   bool add_generation_prompt, unsigned flags, int32_t **ids, size_t *n_ids,
                   sk_err *e) {
    *ids = NULL;
    *n_ids = 0;
    char *text = NULL;
    sk_text_span *spans = NULL;
    size_t n_spans = 0;
    int rc = sk_chat_render_spans(kind, msgs, n, add_generation_prompt, &text, &spans, &n_spans, e);
    if (rc) return rc;
    rc = sk_tokenizer_encode_ex(tok, text, strlen(text), flags, spans, n_spans, ids, n_ids, e);
    free(text);
    free(spans);
    return rc;
}
