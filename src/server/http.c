/* http.c — the libmicrohttpd wrapper (sk_http.h). */
#include "sk_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

struct sk_http {
    struct MHD_Daemon *d;
    atomic_int active; /* requests begun and not yet completed */
    sk_http_handler handler;
    void *ud;
    size_t max_body;
    int port;
};

/* Per-request state, kept in MHD's con_cls between calls of the access handler. */
typedef struct req_state {
    char *buf;
    size_t len, cap;
    bool responded;
    bool too_big; /* the body passed max_body: the rest is dropped */
} req_state;

typedef struct stream_state {
    sk_http_stream_fn fn;
    sk_http_free_fn free_fn;
    void *ud;
} stream_state;

const char *sk_http_header(const sk_http_req *r, const char *name) {
    if (!r || !r->conn_) return NULL;
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn_, MHD_HEADER_KIND, name);
}

bool sk_http_fd_closed(int fd) {
    if (fd < 0) return false;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true; /* orderly shutdown by the peer */
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return true;
    return false;
}

void sk_http_resp_header(sk_http_resp *r, const char *name, const char *value) {
    for (int i = 0; i < SK_HTTP_MAX_EXTRA_HEADERS; i++) {
        if (!r->hdr_name[i]) {
            r->hdr_name[i] = name;
            r->hdr_value[i] = value;
            return;
        }
    }
}

void sk_http_resp_error(sk_http_resp *r, int status, const char *type, const char *code,
                        const char *fmt, ...) {
    char msg[SK_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    free(r->body);
    r->body = NULL;
    r->body_len = 0;
    r->status = status;
    r->content_type = "application/json";
    /* json_stringn replaces nothing: messages may quote client bytes, so keep them valid UTF-8
     * by dropping what is not. */
    size_t ml = strlen(msg), w = 0;
    for (size_t i = 0; i < ml;) {
        int k = sk_utf8_seq_len((const uint8_t *)msg + i, ml - i);
        if (k <= 0) {
            i++;
            continue;
        }
        memmove(msg + w, msg + i, (size_t)k);
        w += (size_t)k;
        i += (size_t)k;
    }
    msg[w] = 0;
    json_t *err = json_pack("{s:s, s:s, s:n, s:s?}", "message", msg, "type",
                            type ? type : "invalid_request_error", "param", "code", code);
    json_t *root = err ? json_pack("{s:o}", "error", err) : NULL;
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (s) {
        r->body = s;
        r->body_len = strlen(s);
    }
}

static void add_cors(struct MHD_Response *resp) {
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    stream_state *s = cls;
    ssize_t n = s->fn(s->ud, buf, max);
    if (n > 0) return n;
    return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls) {
    stream_state *s = cls;
    if (s->free_fn) s->free_fn(s->ud);
    free(s);
}

/* Queues r on the connection; takes over r's body / stream. */
static enum MHD_Result send_resp(struct MHD_Connection *c, sk_http_resp *r) {
    struct MHD_Response *resp = NULL;
    if (r->stream) {
        stream_state *s = malloc(sizeof *s);
        if (!s) {
            if (r->stream_free) r->stream_free(r->stream_ud);
            return MHD_NO;
        }
        s->fn = r->stream;
        s->free_fn = r->stream_free;
        s->ud = r->stream_ud;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_reader, s,
                                                 stream_free);
        if (!resp) {
            stream_free(s);
            return MHD_NO;
        }
    } else if (r->body) {
        resp = MHD_create_response_from_buffer(r->body_len, r->body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(r->body);
            return MHD_NO;
        }
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!resp) return MHD_NO;
    }
    r->body = NULL;
    r->stream = NULL;
    if (r->status != 204)
        MHD_add_response_header(resp, "Content-Type",
                                r->content_type ? r->content_type : "application/json");
    add_cors(resp);
    for (int i = 0; i < SK_HTTP_MAX_EXTRA_HEADERS && r->hdr_name[i]; i++)
        MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)(r->status ? r->status : 500), resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *type,
                                  const char *msg) {
    sk_http_resp r = {0};
    sk_http_resp_error(&r, status, type, NULL, "%s", msg);
    return send_resp(c, &r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)version;
    sk_http *s = cls;
    req_state *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st) return MHD_NO;
        *con_cls = st;
        atomic_fetch_add(&s->active, 1);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(cl, &end, 10);
            if (!errno && end != cl && !*end && v > s->max_body) {
                char msg[160];
                snprintf(msg, sizeof msg, "request body of %llu bytes exceeds the limit of %zu", v,
                         s->max_body);
                st->responded = true;
                return send_error(c, 413, "invalid_request_error", msg);
            }
        }
        return MHD_YES;
    }
    if (st->responded) { /* answered already (413 from Content-Length): drop the body */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size, need;
        *upload_data_size = 0;
        if (st->too_big) return MHD_YES; /* discarded; answered 413 when the body ends */
        if (!sk_add_ok(st->len, n, &need) || need > s->max_body) {
            /* libmicrohttpd accepts a response only before the body or after all of it, so the
             * rest is read and dropped (memory stays bounded) and 413 follows */
            st->too_big = true;
            free(st->buf);
            st->buf = NULL;
            st->len = st->cap = 0;
            return MHD_YES;
        }
        if (need + 1 > st->cap) {
            size_t cap = st->cap ? st->cap : 4096;
            while (cap < need + 1) cap *= 2;
            char *nb = realloc(st->buf, cap);
            if (!nb) return MHD_NO;
            st->buf = nb;
            st->cap = cap;
        }
        memcpy(st->buf + st->len, upload_data, n);
        st->len = need;
        st->buf[st->len] = 0;
        return MHD_YES;
    }
    if (st->too_big) {
        char msg[160];
        snprintf(msg, sizeof msg, "request body exceeds the limit of %zu bytes", s->max_body);
        st->responded = true;
        return send_error(c, 413, "invalid_request_error", msg);
    }
    /* the whole request is here */
    st->responded = true;
    sk_http_resp r = {0};
    if (!strcmp(method, "OPTIONS")) {
        r.status = 204;
        return send_resp(c, &r);
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    sk_http_req req = {
        .method = method,
        .path = url,
        .body = st->buf ? st->buf : "",
        .body_len = st->len,
        .fd = ci ? ci->connect_fd : -1,
        .conn_ = c,
    };
    s->handler(s->ud, &req, &r);
    return send_resp(c, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)c;
    (void)toe;
    sk_http *s = cls;
    req_state *st = *con_cls;
    if (st) {
        atomic_fetch_sub(&s->active, 1);
        free(st->buf);
        free(st);
        *con_cls = NULL;
    }
}

static void on_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = 0;
    SK_DEBUG("http: %s", msg);
}

int sk_http_start(const sk_http_opts *o, sk_http_handler h, void *ud, sk_http **out, sk_err *e) {
    *out = NULL;
    const char *host = o->host ? o->host : "127.0.0.1";
    if (!strcmp(host, "localhost")) host = "127.0.0.1";
    if (o->port < 0 || o->port > 65535)
        return sk_err_set(e, SK_ERR_INVALID, "port %d is not in 0..65535", o->port);
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    const struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)o->port);
        sa = (const struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)o->port);
        sa = (const struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        return sk_err_set(e, SK_ERR_INVALID,
                          "host '%s' is not a numeric IPv4/IPv6 address or localhost", host);
    }
    sk_http *s = calloc(1, sizeof *s);
    if (!s) return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    s->handler = h;
    s->ud = ud;
    s->max_body = o->max_body ? o->max_body : (size_t)8 << 20;
    unsigned conns = o->max_conns > 0 ? (unsigned)o->max_conns : 64;
    unsigned timeout = o->timeout_s > 0 ? (unsigned)o->timeout_s : 300;
    s->d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, s,
                            MHD_OPTION_EXTERNAL_LOGGER, on_log, s, MHD_OPTION_SOCK_ADDR, sa,
                            MHD_OPTION_CONNECTION_LIMIT, conns, MHD_OPTION_CONNECTION_TIMEOUT,
                            timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (!s->d) {
        int err = errno;
        free(s);
        return sk_err_set(e, SK_ERR_IO, "cannot listen on %s port %d: %s", host, o->port,
                          err ? strerror(err) : "libmicrohttpd failed to start");
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? (int)di->port : o->port;
    *out = s;
    return SK_OK;
}

int sk_http_port(const sk_http *s) {
    return s ? s->port : 0;
}

void sk_http_quiesce(sk_http *s) {
    if (!s || !s->d) return;
    MHD_socket fd = MHD_quiesce_daemon(s->d);
    if (fd != MHD_INVALID_SOCKET) close(fd);
}

void sk_http_stop(sk_http *s, double drain_s) {
    if (!s) return;
    /* let responses in flight reach their clients first (bounded) */
    double t0 = sk_time_sec();
    while (s->d && atomic_load(&s->active) > 0 && sk_time_sec() - t0 < drain_s) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (s->d) MHD_stop_daemon(s->d);
    free(s);
}
