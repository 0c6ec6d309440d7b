/* chat_json.c — OpenAI-style chat messages from JSON into sk_chat_msg arrays (sk_chat.h). */
#include "chat_internal.h"
#include "sk_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *arena_copy(sk_arena *a, const char *s, size_t len, sk_err *e) {
    return sk_arena_strdup(a, s, len, e);
}

/* content: string, null/absent (NULL), or an array of {type:"text", text} parts. */
static int get_content(const json_t *msg, const char *key, sk_arena *a, const char **out, size_t i,
                       sk_err *e) {
    *out = NULL;
    const json_t *c = json_object_get(msg, key);
    if (!c || json_is_null(c)) return SK_OK;
    if (json_is_string(c)) {
        *out = arena_copy(a, json_string_value(c), json_string_length(c), e);
        return *out ? SK_OK : SK_ERR_NOMEM;
    }
    if (json_is_array(c)) {
        sk_chat_buf b = {0};
        size_t j;
        const json_t *part;
        json_array_foreach(c, j, part) {
            const json_t *text = json_is_object(part) ? json_object_get(part, "text") : NULL;
            if (!text || !json_is_string(text)) {
                sk_chat_buf_free(&b);
                return sk_err_set(
                    e, SK_ERR_FORMAT,
                    "message %zu: %s part %zu is not a {\"type\": \"text\", \"text\": "
                    "string} object",
                    i, key, j);
            }
            if (sk_chat_buf_add(&b, json_string_value(text), json_string_length(text), e)) {
                sk_chat_buf_free(&b);
                return SK_ERR_NOMEM;
            }
        }
        *out = arena_copy(a, b.p ? b.p : "", b.len, e);
        sk_chat_buf_free(&b);
        return *out ? SK_OK : SK_ERR_NOMEM;
    }
    return sk_err_set(e, SK_ERR_FORMAT,
                      "message %zu: \"%s\" must be a string, null or an array of text parts", i,
                      key);
}

static int get_opt_str(const json_t *obj, const char *key, sk_arena *a, const char **out,
                       const char *what, sk_err *e) {
    *out = NULL;
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return SK_OK;
    if (!json_is_string(v))
        return sk_err_set(e, SK_ERR_FORMAT, "%s: \"%s\" must be a string", what, key);
    *out = arena_copy(a, json_string_value(v), json_string_length(v), e);
    return *out ? SK_OK : SK_ERR_NOMEM;
}

static int get_tool_call(const json_t *tc, sk_arena *a, sk_chat_tool_call *out, size_t i, size_t j,
                         sk_err *e) {
    char what[64];
    snprintf(what, sizeof what, "message %zu tool call %zu", i, j);
    if (!json_is_object(tc)) return sk_err_set(e, SK_ERR_FORMAT, "%s is not an object", what);
    if (get_opt_str(tc, "id", a, &out->id, what, e)) return SK_ERR_FORMAT;
    if (get_opt_str(tc, "type", a, &out->type, what, e)) return SK_ERR_FORMAT;
    const json_t *fn = json_object_get(tc, "function");
    if (!fn || !json_is_object(fn))
        return sk_err_set(e, SK_ERR_FORMAT, "%s has no \"function\" object", what);
    if (get_opt_str(fn, "name", a, &out->name, what, e)) return SK_ERR_FORMAT;
    if (!out->name) return sk_err_set(e, SK_ERR_FORMAT, "%s: function has no \"name\"", what);
    const json_t *args = json_object_get(fn, "arguments");
    if (!args) return sk_err_set(e, SK_ERR_FORMAT, "%s: function has no \"arguments\"", what);
    if (json_is_string(args)) {
        out->arguments = arena_copy(a, json_string_value(args), json_string_length(args), e);
    } else {
        char *s = json_dumps(args, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s) return sk_err_set(e, SK_ERR_NOMEM, "%s: cannot serialise arguments", what);
        out->arguments = arena_copy(a, s, strlen(s), e);
        free(s);
    }
    return out->arguments ? SK_OK : SK_ERR_NOMEM;
}

static sk_chat_role parse_role(const char *r) {
    if (!strcmp(r, "system")) return SK_CHAT_ROLE_SYSTEM;
    if (!strcmp(r, "user")) return SK_CHAT_ROLE_USER;
    if (!strcmp(r, "assistant")) return SK_CHAT_ROLE_ASSISTANT;
    if (!strcmp(r, "tool")) return SK_CHAT_ROLE_TOOL;
    return SK_CHAT_ROLE_OTHER;
}

int sk_chat_msgs_from_json(const json_t *root, sk_chat_msgs *out, sk_err *e) {
    memset(out, 0, sizeof *out);
    sk_arena_init(&out->arena, 64 * 1024);
    const json_t *arr = root;
    if (json_is_object(root)) arr = json_object_get(root, "messages");
    if (!arr || !json_is_array(arr)) {
        sk_err_set(e, SK_ERR_FORMAT,
                   "chat messages must be a JSON array or an object with a \"messages\" array");
        goto fail;
    }
    size_t n = json_array_size(arr);
    if (n > 0) {
        size_t bytes;
        if (!sk_mul_ok(n, sizeof(sk_chat_msg), &bytes)) {
            sk_err_set(e, SK_ERR_RANGE, "too many chat messages (%zu)", n);
            goto fail;
        }
        out->msgs = sk_arena_alloc(&out->arena, bytes, 8, e);
        if (!out->msgs) goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(arr, i);
        sk_chat_msg *msg = &out->msgs[i];
        if (!json_is_object(m)) {
            sk_err_set(e, SK_ERR_FORMAT, "message %zu is not an object", i);
            goto fail;
        }
        const json_t *role = json_object_get(m, "role");
        if (!role || !json_is_string(role)) {
            sk_err_set(e, SK_ERR_FORMAT, "message %zu has no \"role\" string", i);
            goto fail;
        }
        msg->role = parse_role(json_string_value(role));
        if (get_content(m, "content", &out->arena, &msg->content, i, e)) goto fail;
        if (get_content(m, "reasoning_content", &out->arena, &msg->reasoning_content, i, e))
            goto fail;
        char what[32];
        snprintf(what, sizeof what, "message %zu", i);
        if (get_opt_str(m, "tool_call_id", &out->arena, &msg->tool_call_id, what, e)) goto fail;
        const json_t *tcs = json_object_get(m, "tool_calls");
        if (tcs && !json_is_null(tcs)) {
            if (!json_is_array(tcs)) {
                sk_err_set(e, SK_ERR_FORMAT, "message %zu: \"tool_calls\" must be an array", i);
                goto fail;
            }
            msg->has_tool_calls = true;
            msg->n_tool_calls = json_array_size(tcs);
            if (msg->n_tool_calls) {
                size_t bytes;
                if (!sk_mul_ok(msg->n_tool_calls, sizeof(sk_chat_tool_call), &bytes)) {
                    sk_err_set(e, SK_ERR_RANGE, "message %zu: too many tool calls", i);
                    goto fail;
                }
                sk_chat_tool_call *calls = sk_arena_alloc(&out->arena, bytes, 8, e);
                if (!calls) goto fail;
                for (size_t j = 0; j < msg->n_tool_calls; j++)
                    if (get_tool_call(json_array_get(tcs, j), &out->arena, &calls[j], i, j, e))
                        goto fail;
                msg->tool_calls = calls;
            }
        }
    }
    out->n = n;
    return SK_OK;
fail:
    sk_chat_msgs_free(out);
    return e ? (e->code ? e->code : SK_ERR_FORMAT) : SK_ERR_FORMAT;
}

int sk_chat_msgs_load_buf(const char *buf, size_t len, const char *what, sk_chat_msgs *out,
                          sk_err *e) {
    memset(out, 0, sizeof *out);
    json_t *root = NULL;
    int rc = sk_json_load_buf(buf, len, what, &root, e);
    if (rc) return rc;
    rc = sk_chat_msgs_from_json(root, out, e);
    json_decref(root);
    if (rc) sk_err_prefix(e, "%s", what);
    return rc;
}

int sk_chat_msgs_load_file(const char *path, sk_chat_msgs *out, sk_err *e) {
    memset(out, 0, sizeof *out);
    json_t *root = NULL;
    int rc = sk_json_load_file(path, 256ull << 20, &root, e);
    if (rc) return rc;
    rc = sk_chat_msgs_from_json(root, out, e);
    json_decref(root);
    if (rc) sk_err_prefix(e, "%s", path);
    return rc;
}

void sk_chat_msgs_free(sk_chat_msgs *m) {
    if (!m) return;
    sk_arena_free(&m->arena);
    m->msgs = NULL;
    m->n = 0;
}
