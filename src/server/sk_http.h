/*
 * http — a small HTTP/1.1 server over libmicrohttpd, the only file of Seek that includes
 * <microhttpd.h>. One thread per connection (so a handler may block: waiting in the
 * generation queue, or a streaming body waiting for the next token).
 *
 * A request reaches the handler once, complete: method, path (query string removed), headers
 * (looked up with sk_http_header) and the whole body. Bodies larger than opts.max_body are
 * answered 413 with a JSON error by this layer (from Content-Length before reading, or as soon
 * as the received bytes exceed it). Every response carries CORS headers
 * (Access-Control-Allow-Origin: *); OPTIONS requests (preflight) are answered 204 here.
 * Malformed HTTP is answered (400) or the connection closed by libmicrohttpd itself.
 *
 * Responses: either a complete body (malloc'd, owned by the layer after the handler returns)
 * or a stream: `stream(ud, buf, max)` is called from the connection's thread whenever more
 * body can be sent and returns bytes written (> 0, it may block until it has some), 0 at the
 * end of the body, or -1 to abort the connection. `stream_free(ud)` is called exactly once when
 * the connection is done with the stream (completed, aborted or the client went away).
 * A stream is sent with chunked transfer encoding (HTTP/1.1).
 *
 * sk_http_fd_closed tells whether the peer of a connection socket has closed it (a pending FIN
 * with nothing left to read), so that a blocked handler can notice a client that went away.
 */
#ifndef SK_HTTP_H
#define SK_HTTP_H

#include "sk_util.h"

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sk_http sk_http;

typedef struct sk_http_req {
    const char *method;
    const char *path; /* without the query string */
    const char *body; /* NUL-terminated (the NUL is not counted); "" when there is none */
    size_t body_len;
    int fd;      /* the connection socket, for sk_http_fd_closed; -1 if unknown */
    void *conn_; /* internal */
} sk_http_req;

/* The value of a request header (case-insensitive name), or NULL. */
const char *sk_http_header(const sk_http_req *r, const char *name);
/* True when the peer closed the connection (see above). */
bool sk_http_fd_closed(int fd);

typedef ssize_t (*sk_http_stream_fn)(void *ud, char *buf, size_t max);
typedef void (*sk_http_free_fn)(void *ud);

#define SK_HTTP_MAX_EXTRA_HEADERS 4

typedef struct sk_http_resp {
    int status;               /* 0 → 500 */
    const char *content_type; /* NULL → application/json */
    char *body;               /* malloc'd (taken over), may be NULL for an empty body */
    size_t body_len;
    const char *hdr_name[SK_HTTP_MAX_EXTRA_HEADERS]; /* extra headers (static strings) */
    const char *hdr_value[SK_HTTP_MAX_EXTRA_HEADERS];
    sk_http_stream_fn stream; /* non-NULL: a streamed body (body must be NULL) */
    sk_http_free_fn stream_free;
    void *stream_ud;
} sk_http_resp;

/* Adds an extra header to a response (names and values must outlive the call: static or
 * owned by stream_ud); silently ignored beyond SK_HTTP_MAX_EXTRA_HEADERS. */
void sk_http_resp_header(sk_http_resp *r, const char *name, const char *value);

/* Fills r with a JSON body {"error":{"message","type","param":null,"code"}} (OpenAI shape). */
void sk_http_resp_error(sk_http_resp *r, int status, const char *type, const char *code,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

typedef void (*sk_http_handler)(void *ud, const sk_http_req *req, sk_http_resp *resp);

typedef struct sk_http_opts {
    const char *host; /* numeric IPv4/IPv6 address or "localhost"; NULL → 127.0.0.1 */
    int port;         /* 0 → an ephemeral port (see sk_http_port) */
    size_t max_body;  /* 0 → 8 MiB */
    int max_conns;    /* 0 → 64 */
    int timeout_s;    /* idle connection timeout; 0 → 300 */
} sk_http_opts;

int sk_http_start(const sk_http_opts *o, sk_http_handler h, void *ud, sk_http **out, sk_err *e);
int sk_http_port(const sk_http *s);
/* Stops listening (new connections are refused); open connections go on. */
void sk_http_quiesce(sk_http *s);
/* Waits up to drain_s seconds for the requests in progress to complete (their responses sent),
 * then closes every connection and joins the threads. NULL is a no-op. */
void sk_http_stop(sk_http *s, double drain_s);

#ifdef __cplusplus
}
#endif
#endif
