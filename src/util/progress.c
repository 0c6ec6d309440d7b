/* progress.c — a terminal progress bar for long operations (see sk_util.h). */
#include "sk_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void fmt_amount(char *buf, size_t n, uint64_t v, const char *unit) {
    if (unit && !strcmp(unit, "B")) {
        if (v >= (1ull << 30)) snprintf(buf, n, "%.2f GB", (double)v / (1ull << 30));
        else if (v >= (1ull << 20)) snprintf(buf, n, "%.1f MB", (double)v / (1ull << 20));
        else snprintf(buf, n, "%.1f KB", (double)v / 1024.0);
    } else {
        snprintf(buf, n, "%llu%s%s", (unsigned long long)v, unit ? " " : "", unit ? unit : "");
    }
}

static void fmt_time(char *buf, size_t n, double s) {
    if (s < 0 || s > 1e7) s = 0;
    unsigned t = (unsigned)s;
    if (t >= 3600) snprintf(buf, n, "%u:%02u:%02u", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%02u:%02u", t / 60, t % 60);
}

static void draw(sk_progress *p, bool final) {
    double now = sk_time_sec(), el = now - p->t_start;
    double frac = p->total ? (double)p->done / (double)p->total : 1.0;
    if (frac > 1) frac = 1;
    char done[32], total[32], elapsed[16], eta[16];
    fmt_amount(done, sizeof done, p->done, p->unit);
    fmt_amount(total, sizeof total, p->total, p->unit);
    fmt_time(elapsed, sizeof elapsed, el);
    fmt_time(eta, sizeof eta, frac > 0 ? el / frac - el : 0);
    if (p->tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\r%s [%s] %3d%% %s/%s %s ETA %s\033[K", p->label, bar, (int)(frac * 100),
                done, total, elapsed, final ? "00:00" : eta);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s: %3d%% %s/%s %s\n", p->label, (int)(frac * 100), done, total, elapsed);
    }
    fflush(stderr);
    p->t_last = now;
    p->drawn = true;
}

void sk_progress_begin(sk_progress *p, const char *label, uint64_t total, const char *unit) {
    memset(p, 0, sizeof *p);
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->t_start = p->t_last = sk_time_sec();
    const char *env = getenv("SEEK_PROGRESS");
    p->enabled = !(env && !strcmp(env, "0"));
    p->tty = isatty(2);
    p->last_decile = -1;
}

void sk_progress_update(sk_progress *p, uint64_t done) {
    p->done = done;
    if (!p->enabled) return;
    if (p->tty) {
        if (sk_time_sec() - p->t_last >= 0.1 || !p->drawn) draw(p, false);
    } else {
        int dec = p->total ? (int)(10 * (double)done / (double)p->total) : 10;
        if (dec > p->last_decile && dec < 10) {
            p->last_decile = dec;
            draw(p, false);
        }
    }
}

void sk_progress_add(sk_progress *p, uint64_t delta) {
    sk_progress_update(p, p->done + delta);
}

void sk_progress_end(sk_progress *p) {
    if (!p->enabled) return;
    p->done = p->total;
    draw(p, true);
}
