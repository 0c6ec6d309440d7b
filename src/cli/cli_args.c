/* cli_args.c — shared numeric option parsing (see cli_args.h). */
#include "cli_args.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

int sk_cli_parse_int(const char *cmd, const char *name, const char *s, int64_t lo, int64_t hi,
                     int64_t *out) {
    const char *sp = cmd ? " " : "";
    if (!cmd) cmd = "";
    char *end = NULL;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || end == s || *end) {
        fprintf(stderr, "seek%s%s: %s wants an integer, not '%s'\n", sp, cmd, name,
                s ? s : "(nothing)");
        return 2;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        fprintf(stderr, "seek%s%s: %s %s is out of range (min %" PRId64 ", max %" PRId64 ")\n", sp,
                cmd, name, s, lo, hi);
        return 2;
    }
    *out = (int64_t)v;
    return 0;
}
