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
    char old[SK_ERR_MSG_MAX], pre[SK_ERR_MSG_MAX];
    memcpy(old, e->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    if (n < 0) return e->code ? e->code : SK_ERR_INVALID;
    /* "prefix: message". When both do not fit, the message (the original cause) keeps at least
     * half the buffer and the prefix is cut; the cut prefix ends in "...". */
    size_t pl = strlen(pre), ol = strlen(old);
    const size_t cap = sizeof e->msg - 1; /* characters, excluding the NUL */
    if (pl + 2 + ol > cap) {
        size_t keep_old = ol < cap / 2 ? ol : cap / 2;
        size_t room_pre = cap - 2 - keep_old;
        if (pl > room_pre) {
            pl = room_pre;
            if (pl >= 3) memcpy(pre + pl - 3, "...", 3);
        }
        if (pl + 2 + ol > cap) ol = cap - 2 - pl;
    }
    memcpy(e->msg, pre, pl);
    e->msg[pl] = ':';
    e->msg[pl + 1] = ' ';
    memcpy(e->msg + pl + 2, old, ol);
    e->msg[pl + 2 + ol] = '\0';
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
