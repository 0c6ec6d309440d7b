/* api.c — the request/response shapes of the API that need no model: the tool system prompt and
 * the assistant message assembled from generated text (sk_server.h). */
#include "server_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOOL_MARKUP_EXAMPLE                                                                            \
    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>FUNCTION_NAME\n" \
    "```json\n{\"argument\": \"value\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>"

int srv_check_tools(const json_t *tools, sk_err *e) {
    if (!json_is_array(tools))
        return sk_err_set(e, SK_ERR_FORMAT, "\"tools\" must be an array, got %s",
                          sk_json_type_name(tools));
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t) {
        if (!json_is_object(t))
            return sk_err_set(e, SK_ERR_FORMAT, "tools[%zu] must be an object", i);
        const json_t *ty = json_object_get(t, "type");
        if (ty && (!json_is_string(ty) || strcmp(json_string_value(ty), "function")))
            return sk_err_set(e, SK_ERR_FORMAT, "tools[%zu].type must be \"function\"", i);
        const json_t *f = json_object_get(t, "function");
        if (!json_is_object(f))
            return sk_err_set(e, SK_ERR_FORMAT, "tools[%zu].function must be an object", i);
        const json_t *name = json_object_get(f, "name");
        if (!json_is_string(name) || !json_string_length(name))
            return sk_err_set(e, SK_ERR_FORMAT,
                              "tools[%zu].function.name must be a non-empty string", i);
        const json_t *d = json_object_get(f, "description");
        if (d && !json_is_string(d) && !json_is_null(d))
            return sk_err_set(e, SK_ERR_FORMAT, "tools[%zu].function.description must be a string",
                              i);
        const json_t *p = json_object_get(f, "parameters");
        if (p && !json_is_object(p) && !json_is_null(p))
            return sk_err_set(e, SK_ERR_FORMAT, "tools[%zu].function.parameters must be an object",
                              i);
    }
    return SK_OK;
}

/* The server's own text of the tool prompt, between the caller-supplied pieces. */
typedef struct trusted_list {
    sk_text_span *v;
    size_t n, cap, start; /* start: where the current server-written run began */
    bool oom;
} trusted_list;

/* A caller-supplied piece [at, end) of the prompt: closes the server-written run before it. */
static void trusted_cut(trusted_list *t, size_t at, size_t end) {
    if (at > t->start && !t->oom) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 8;
            sk_text_span *nv = realloc(t->v, cap * sizeof *nv);
            if (!nv) {
                t->oom = true;
                return;
            }
            t->v = nv;
            t->cap = cap;
        }
        t->v[t->n++] = (sk_text_span){t->start, at - t->start};
    }
    t->start = end;
}

int sk_server_tool_prompt(const json_t *tools, const char *forced, char **out, sk_err *e) {
    return sk_server_tool_prompt_ex(tools, forced, out, NULL, NULL, e);
}

int sk_server_tool_prompt_ex(const json_t *tools, const char *forced, char **out,
                             sk_text_span **trusted, size_t *n_trusted, sk_err *e) {
    *out = NULL;
    if (trusted) {
        *trusted = NULL;
        *n_trusted = 0;
    }
    int rc = srv_check_tools(tools, e);
    if (rc) return rc;
    srv_buf b = {0};
    trusted_list tl = {0};
    srv_buf_puts(&b, "## Tools\n\nYou can call the functions listed below. To call one or more of "
                     "them, end your answer with this markup, one <｜tool▁call▁begin｜>…"
                     "<｜tool▁call▁end｜> block per call, the arguments as a JSON object:\n\n");
    srv_buf_puts(&b, TOOL_MARKUP_EXAMPLE);
    srv_buf_puts(&b, "\n\nThe results of the calls come back in tool messages. Functions (name, "
                     "description, JSON schema of the arguments):\n");
    size_t i;
    const json_t *t;
    json_array_foreach(tools, i, t) {
        const json_t *f = json_object_get(t, "function");
        char *s = json_dumps(f, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!s) {
            srv_buf_free(&b);
            return sk_err_set(e, SK_ERR_NOMEM, "cannot serialise tools[%zu]", i);
        }
        srv_buf_puts(&b, "\n");
        size_t at = b.len;
        srv_buf_puts(&b, s);
        trusted_cut(&tl, at, b.len);
        free(s);
    }
    srv_buf_puts(&b, "\n");
    if (forced && *forced) {
        srv_buf_puts(&b, "\nYou must call the function ");
        size_t at = b.len;
        srv_buf_puts(&b, forced);
        trusted_cut(&tl, at, b.len);
        srv_buf_puts(&b, " in this answer.\n");
    } else if (forced) {
        srv_buf_puts(&b, "\nYou must call at least one of these functions in this answer.\n");
    }
    trusted_cut(&tl, b.len, b.len);
    if (b.oom || tl.oom) {
        srv_buf_free(&b);
        free(tl.v);
        return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    }
    *out = b.s;
    if (trusted) {
        *trusted = tl.v;
        *n_trusted = tl.n;
    } else {
        free(tl.v);
    }
    return SK_OK;
}

json_t *srv_tool_calls_json(const sk_chat_parsed *p, unsigned long call_seq, bool with_index) {
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < p->n_calls; i++) {
        char id[48];
        snprintf(id, sizeof id, "call_%08lx%02zx", call_seq & 0xffffffffUL, i & 0xff);
        const sk_chat_tool_call *c = &p->calls[i];
        json_t *tc =
            json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type", c->type ? c->type : "function",
                      "function", "name", c->name ? c->name : "", "arguments",
                      c->arguments ? c->arguments : "");
        if (tc && with_index) json_object_set_new(tc, "index", json_integer((json_int_t)i));
        if (!tc || json_array_append_new(arr, tc)) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int sk_server_chat_message(const char *text, size_t len, bool starts_in_reasoning,
                           bool with_reasoning, bool parse_tools, unsigned long call_seq,
                           json_t **msg, bool *has_tool_calls, sk_err *e) {
    *msg = NULL;
    *has_tool_calls = false;
    sk_reasoning *rp = sk_reasoning_new(starts_in_reasoning, e);
    if (!rp) return e ? e->code : SK_ERR_NOMEM;
    int rc = sk_reasoning_feed(rp, text, len, e);
    if (!rc) rc = sk_reasoning_finish(rp, e);
    if (rc) {
        sk_reasoning_free(rp);
        return rc;
    }
    size_t rlen = 0, alen = 0;
    const char *reasoning = sk_reasoning_text(rp, &rlen);
    const char *answer = sk_reasoning_answer(rp, &alen);
    json_t *m = json_object();
    if (!m) goto nomem;
    json_object_set_new(m, "role", json_string("assistant"));
    json_object_set_new(m, "content", json_stringn(answer, alen));
    if (with_reasoning || rlen)
        json_object_set_new(m, "reasoning_content", json_stringn(reasoning, rlen));
    if (parse_tools) {
        sk_chat_parsed p;
        sk_err pe = {0};
        if (!sk_chat_parse_tool_calls(answer, alen, &p, &pe)) {
            if (p.n_calls) {
                json_t *calls = srv_tool_calls_json(&p, call_seq, false);
                if (!calls) {
                    sk_chat_parsed_free(&p);
                    goto nomem;
                }
                json_object_set_new(m, "content",
                                    p.content && *p.content ? json_string(p.content) : json_null());
                json_object_set_new(m, "tool_calls", calls);
                *has_tool_calls = true;
            }
            sk_chat_parsed_free(&p);
        } else {
            /* malformed markup: the answer is returned as it is, as plain content */
            SK_DEBUG("server: tool-call markup not parsed: %s", pe.msg);
        }
    }
    if (!json_object_get(m, "content")) goto nomem; /* json_stringn failed */
    sk_reasoning_free(rp);
    *msg = m;
    return SK_OK;
nomem:
    json_decref(m);
    sk_reasoning_free(rp);
    return sk_err_set(e, SK_ERR_NOMEM, "cannot build the chat message");
}

/* ---- growable byte buffer ---- */

void srv_buf_put(srv_buf *b, const char *s, size_t n) {
    if (b->oom) return;
    size_t need;
    if (!sk_add_ok(b->len, n, &need) || !sk_add_ok(need, 1, &need)) {
        b->oom = true;
        return;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void srv_buf_puts(srv_buf *b, const char *s) {
    srv_buf_put(b, s, strlen(s));
}

void srv_buf_free(srv_buf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

/* ---- streaming deltas ------------------------------------------------------------------ */

static const char *const TOOL_MARKERS[] = {"<｜tool▁calls▁begin｜>", "<｜tool▁call▁begin｜>"};
#define N_MARKERS (sizeof TOOL_MARKERS / sizeof *TOOL_MARKERS)

struct sk_server_stream {
    sk_reasoning *rp;
    bool with_reasoning, parse_tools;
    unsigned long seq;
    sk_server_delta_fn fn;
    void *ud;
    srv_buf answer;     /* the answer so far */
    size_t sent;        /* bytes of answer sent as content */
    bool in_markup;     /* a tool-call marker was seen: the rest is held back */
    bool markup_failed; /* it did not parse: everything is content */
};

int sk_server_stream_new(bool starts_in_reasoning, bool with_reasoning, bool parse_tools,
                         unsigned long call_seq, sk_server_delta_fn fn, void *ud,
                         sk_server_stream **out, sk_err *e) {
    *out = NULL;
    sk_server_stream *st = calloc(1, sizeof *st);
    if (!st) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    st->rp = sk_reasoning_new(starts_in_reasoning, e);
    if (!st->rp) {
        free(st);
        return e ? e->code : SK_ERR_NOMEM;
    }
    st->with_reasoning = with_reasoning;
    st->parse_tools = parse_tools;
    st->seq = call_seq;
    st->fn = fn;
    st->ud = ud;
    *out = st;
    return SK_OK;
}

void sk_server_stream_free(sk_server_stream *st) {
    if (!st) return;
    sk_reasoning_free(st->rp);
    srv_buf_free(&st->answer);
    free(st);
}

static void send_content(sk_server_stream *st, const char *s, size_t n) {
    if (!n) return;
    json_t *d = json_object();
    if (!d) return;
    json_object_set_new(d, "content", json_stringn(s, n));
    if (st->with_reasoning) json_object_set_new(d, "reasoning_content", json_null());
    st->fn(st->ud, d);
}

/* Length of the longest suffix of a[from..len) that is a proper prefix of a marker. */
static size_t marker_tail(const char *a, size_t from, size_t len) {
    size_t best = 0;
    for (size_t k = 0; k < N_MARKERS; k++) {
        size_t ml = strlen(TOOL_MARKERS[k]);
        size_t maxt = ml - 1 < len - from ? ml - 1 : len - from;
        for (size_t t = maxt; t > best; t--) {
            if (!memcmp(a + len - t, TOOL_MARKERS[k], t)) {
                best = t;
                break;
            }
        }
    }
    return best;
}

/* Sends the answer committed so far, up to a tool-call marker (or a possible start of one). */
static void send_answer(sk_server_stream *st, bool final) {
    if (st->in_markup || !st->answer.s || st->answer.len <= st->sent) return;
    const char *a = st->answer.s;
    size_t len = st->answer.len, upto = len;
    if (st->parse_tools && !st->markup_failed) {
        for (size_t k = 0; k < N_MARKERS; k++) {
            const char *f =
                memmem(a + st->sent, len - st->sent, TOOL_MARKERS[k], strlen(TOOL_MARKERS[k]));
            if (f && (size_t)(f - a) < upto) {
                upto = (size_t)(f - a);
                st->in_markup = true;
            }
        }
        if (!st->in_markup && !final) upto = len - marker_tail(a, st->sent, len);
    }
    send_content(st, a + st->sent, upto - st->sent);
    st->sent = upto;
}

static int take(sk_server_stream *st, bool final, sk_err *e) {
    const char *r, *a;
    size_t rl, al;
    sk_reasoning_take_delta(st->rp, &r, &rl, &a, &al);
    if (rl) {
        json_t *d = json_object();
        if (!d) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
        json_object_set_new(d, "content", json_null());
        json_object_set_new(d, "reasoning_content", json_stringn(r, rl));
        st->fn(st->ud, d);
    }
    if (al) srv_buf_put(&st->answer, a, al);
    if (st->answer.oom) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    send_answer(st, final);
    return SK_OK;
}

int sk_server_stream_feed(sk_server_stream *st, const char *text, size_t len, sk_err *e) {
    int rc = sk_reasoning_feed(st->rp, text, len, e);
    return rc ? rc : take(st, false, e);
}

int sk_server_stream_finish(sk_server_stream *st, bool *has_tool_calls, sk_err *e) {
    *has_tool_calls = false;
    int rc = sk_reasoning_finish(st->rp, e);
    if (!rc) rc = take(st, false, e);
    if (rc) return rc;
    if (st->in_markup) {
        sk_chat_parsed p;
        sk_err pe = {0};
        const char *a = st->answer.s ? st->answer.s : "";
        if (!sk_chat_parse_tool_calls(a, st->answer.len, &p, &pe) && p.n_calls) {
            json_t *calls = srv_tool_calls_json(&p, st->seq, true);
            json_t *d = calls ? json_object() : NULL;
            if (!d) {
                json_decref(calls);
                sk_chat_parsed_free(&p);
                return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
            }
            json_object_set_new(d, "tool_calls", calls);
            st->fn(st->ud, d);
            *has_tool_calls = true;
        } else {
            st->in_markup = false; /* not a valid call: the held-back text is content */
            st->markup_failed = true;
        }
        sk_chat_parsed_free(&p);
    }
    send_answer(st, true);
    return SK_OK;
}
