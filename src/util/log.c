/* log.c — leveled logging to stderr, and the monotonic clock (see sk_util.h). */
#include "sk_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int g_level = -1;

static int level_from_env(void) {
    const char *s = getenv("SEEK_LOG");
    if (!s) return SK_LOG_WARN;
    if (!strcmp(s, "error")) return SK_LOG_ERROR;
    if (!strcmp(s, "info")) return SK_LOG_INFO;
    if (!strcmp(s, "debug")) return SK_LOG_DEBUG;
    return SK_LOG_WARN;
}

void sk_log_set_level(sk_log_level level) {
    g_level = (int)level;
}

sk_log_level sk_log_get_level(void) {
    if (g_level < 0) g_level = level_from_env();
    return (sk_log_level)g_level;
}

void sk_log(sk_log_level level, const char *fmt, ...) {
    if ((int)level > (int)sk_log_get_level()) return;
    static const char *names[] = {"error", "warning", "info", "debug"};
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "seek: %s: %s\n", names[level], buf);
}

double sk_time_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
