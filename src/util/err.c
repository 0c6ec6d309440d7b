/* err.c — status codes and error messages (see sk_util.h). */
#include "sk_util.h"

#include <stdio.h>
#include <string.h>

int sk_err_set(sk_err *e, int code, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        e->code = code;
    }
    return code;
}

int sk_err_prefix(sk_err *e, const char *fmt, ...) {
    if (!e) return SK_ERR_INVALID;
    char old[SK_ERR_MSG_MAX];
    memcpy(old, e->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n + 2 < sizeof e->msg) {
        size_t k = (size_t)n;
        e->msg[k++] = ':';
        e->msg[k++] = ' ';
        size_t room = sizeof e->msg - k - 1, ol = strlen(old);
        if (ol > room) ol = room;
        memcpy(e->msg + k, old, ol);
        e->msg[k + ol] = '\0';
    }
    return e->code ? e->code : SK_ERR_INVALID;
}

void sk_err_clear(sk_err *e) {
    if (e) {
        e->code = SK_OK;
        e->msg[0] = '\0';
    }
}

const char *sk_code_name(int code) {
    switch (code) {
    case SK_OK: return "ok";
    case SK_ERR_IO: return "I/O error";
    case SK_ERR_FORMAT: return "malformed input";
    case SK_ERR_NOMEM: return "out of memory";
    case SK_ERR_INVALID: return "invalid argument";
    case SK_ERR_UNSUPPORTED: return "unsupported";
    case SK_ERR_RANGE: return "out of range";
    case SK_ERR_NOTFOUND: return "not found";
    case SK_ERR_INTERRUPTED: return "interrupted";
    default: return "unknown error";
    }
}
