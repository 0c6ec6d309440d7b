/* server_internal.h — helpers shared by the server's files (not a public header). */
#ifndef SK_SERVER_INTERNAL_H
#define SK_SERVER_INTERNAL_H

#include "sk_chat.h"
#include "sk_json.h"
#include "sk_server.h"

typedef struct srv_buf {
    char *s; /* NUL-terminated when non-NULL */
    size_t len, cap;
    bool oom;
} srv_buf;

void srv_buf_put(srv_buf *b, const char *s, size_t n);
void srv_buf_puts(srv_buf *b, const char *s);
void srv_buf_free(srv_buf *b);

int srv_check_tools(const json_t *tools, sk_err *e);
/* [{id, type, function:{name, arguments}}] (+ "index" for streaming deltas); NULL on OOM. */
json_t *srv_tool_calls_json(const sk_chat_parsed *p, unsigned long call_seq, bool with_index);

#endif
