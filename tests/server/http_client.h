/* http_client.h — a tiny blocking HTTP/1.1 client over raw loopback sockets for the server
 * tests: whole requests (Connection: close, read to EOF), hand-made bytes (malformed requests),
 * chunked-body decoding and SSE event splitting. Every socket has send/receive timeouts, so a
 * server that hangs fails the test instead of blocking it. */
#ifndef SK_TEST_HTTP_CLIENT_H
#define SK_TEST_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define HC_TIMEOUT_S 60

typedef struct hc_resp {
    int status;    /* 0: no status line (closed without a response) */
    char *headers; /* raw header block, NUL-terminated (malloc'd) */
    char *body;    /* de-chunked, NUL-terminated (malloc'd) */
    size_t body_len;
} hc_resp;

static void hc_free(hc_resp *r) {
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

static int hc_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval tv = {HC_TIMEOUT_S, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool hc_send(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        c += k;
        n -= (size_t)k;
    }
    return true;
}

/* Appends what arrives to *buf until EOF, an error/timeout, or (needle non-NULL) until the
 * buffer contains needle. Returns false on timeout/error before EOF (or before needle). */
static bool hc_recv(int fd, char **buf, size_t *len, const char *needle) {
    size_t cap = *len + 4096;
    char *b = realloc(*buf, cap + 1);
    if (!b) return false;
    *buf = b;
    for (;;) {
        b[*len] = 0;
        if (needle && strstr(b, needle)) return true;
        if (cap - *len < 1024) {
            cap *= 2;
            if (cap > ((size_t)64 << 20)) return false;
            char *nb = realloc(b, cap + 1);
            if (!nb) return false;
            *buf = b = nb;
        }
        ssize_t k = recv(fd, b + *len, cap - *len, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return false; /* timeout or reset */
        if (k == 0) {
            b[*len] = 0;
            return needle == NULL;
        }
        *len += (size_t)k;
    }
}

/* Splits a raw response into status, headers and (de-chunked) body. */
static void hc_parse(const char *raw, size_t n, hc_resp *r) {
    memset(r, 0, sizeof *r);
    r->headers = calloc(1, 1);
    r->body = calloc(1, 1);
    if (n < 12 || strncmp(raw, "HTTP/1.", 7)) return;
    r->status = atoi(raw + 9);
    const char *he = strstr(raw, "\r\n\r\n");
    if (!he) return;
    size_t hl = (size_t)(he - raw);
    free(r->headers);
    r->headers = malloc(hl + 1);
    memcpy(r->headers, raw, hl);
    r->headers[hl] = 0;
    const char *p = he + 4, *end = raw + n;
    bool chunked = strcasestr(r->headers, "Transfer-Encoding: chunked") != NULL;
    free(r->body);
    r->body = malloc((size_t)(end - p) + 1);
    size_t bl = 0;
    if (!chunked) {
        memcpy(r->body, p, (size_t)(end - p));
        bl = (size_t)(end - p);
    } else {
        while (p < end) {
            char *e2;
            unsigned long sz = strtoul(p, &e2, 16);
            const char *crlf = strstr(p, "\r\n");
            if (!crlf || e2 == p) break;
            p = crlf + 2;
            if (sz == 0 || (size_t)(end - p) < sz) break;
            memcpy(r->body + bl, p, sz);
            bl += sz;
            p += sz + 2;
        }
    }
    r->body[bl] = 0;
    r->body_len = bl;
}

/* Sends raw bytes on a new connection and reads the whole answer (to EOF). */
static int hc_raw(int port, const char *req, size_t n, hc_resp *r) {
    memset(r, 0, sizeof *r);
    int fd = hc_connect(port);
    if (fd < 0) return -1;
    char *buf = NULL;
    size_t len = 0;
    bool ok = hc_send(fd, req, n);
    ok = hc_recv(fd, &buf, &len, NULL) && ok;
    close(fd);
    hc_parse(buf ? buf : "", len, r);
    free(buf);
    return ok ? 0 : -1;
}

/* Builds "METHOD PATH HTTP/1.1" with Host, Connection: close, Content-Length (if body) and the
 * extra header lines (each ending in \r\n, may be NULL). malloc'd. */
static char *hc_build(const char *method, const char *path, const char *body, size_t body_len,
                      const char *extra, size_t *n) {
    size_t cap = strlen(method) + strlen(path) + (extra ? strlen(extra) : 0) + body_len + 256;
    char *s = malloc(cap);
    int k = snprintf(s, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s", method,
                     path, extra ? extra : "");
    if (body)
        k += snprintf(s + k, cap - (size_t)k,
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n", body_len);
    k += snprintf(s + k, cap - (size_t)k, "\r\n");
    if (body) memcpy(s + k, body, body_len);
    *n = (size_t)k + (body ? body_len : 0);
    return s;
}

static int hc_request(int port, const char *method, const char *path, const char *body,
                      const char *extra, hc_resp *r) {
    size_t n;
    char *req = hc_build(method, path, body, body ? strlen(body) : 0, extra, &n);
    int rc = hc_raw(port, req, n, r);
    free(req);
    return rc;
}

#endif
