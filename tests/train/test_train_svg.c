/* test_train_svg — the loss chart (sk_train_write_loss_svg, DIR/loss.svg of `seek train`):
 *  - the SVG is well-formed XML (a small checker here: one root, every tag closed in order,
 *    quoted attributes, no stray '<' or '&'; plus `xmllint --noout` when it is installed);
 *  - every polyline point, mapped back through the plot rectangle and the data ranges the
 *    chart declares, gives the (step, loss) of its metrics.jsonl line; one series per MTP depth;
 *  - tick labels exist on both axes, the ranges cover the data;
 *  - a malformed metrics file is an error with a message, not a chart. */
#include "sk_test.h"
#include "sk_train.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char tmpdir[256];

/* minimal XML well-formedness: returns NULL if fine, else a description */
static const char *xml_check(const char *s) {
    static char msg[200];
    const char *stack[64];
    size_t slen[64];
    int depth = 0, roots = 0;
    const char *p = s;
    if (!strncmp(p, "<?xml", 5)) {
        p = strstr(p, "?>");
        if (!p) return "unterminated XML declaration";
        p += 2;
    }
    while (*p) {
        if (*p == '&') {
            const char *q = strchr(p, ';');
            if (!q || q - p > 8) return "bare '&'";
            p = q + 1;
            continue;
        }
        if (*p != '<') {
            if (depth == 0 && !strchr(" \t\r\n", *p)) return "text outside the root element";
            p++;
            continue;
        }
        if (p[1] == '/') { /* end tag */
            const char *n = p + 2, *q = n;
            while (*q && *q != '>' && !strchr(" \t\n", *q)) q++;
            if (depth == 0) return "end tag without start";
            depth--;
            if ((size_t)(q - n) != slen[depth] || strncmp(n, stack[depth], slen[depth])) {
                snprintf(msg, sizeof msg, "</%.*s> closes <%.*s>", (int)(q - n), n,
                         (int)slen[depth], stack[depth]);
                return msg;
            }
            p = strchr(q, '>');
            if (!p) return "unterminated end tag";
            p++;
            continue;
        }
        const char *n = p + 1, *q = n;
        while (*q && (isalnum((unsigned char)*q) || *q == '-' || *q == ':' || *q == '_')) q++;
        if (q == n) return "'<' not starting a tag";
        size_t nl = (size_t)(q - n);
        /* attributes */
        for (;;) {
            while (*q == ' ' || *q == '\n' || *q == '\t') q++;
            if (*q == '>' || (*q == '/' && q[1] == '>')) break;
            const char *an = q;
            while (*q && (isalnum((unsigned char)*q) || *q == '-' || *q == ':' || *q == '_')) q++;
            if (q == an || *q != '=' || (q[1] != '"' && q[1] != '\'')) {
                snprintf(msg, sizeof msg, "bad attribute in <%.*s>", (int)nl, n);
                return msg;
            }
            char quote = q[1];
            const char *v = q + 2, *ve = strchr(v, quote);
            if (!ve) return "unterminated attribute value";
            for (const char *c = v; c < ve; c++)
                if (*c == '<') return "'<' inside an attribute value";
            q = ve + 1;
        }
        if (depth == 0) roots++;
        if (roots > 1) return "more than one root element";
        if (*q == '/') {
            p = q + 2;
        } else {
            if (depth == 64) return "too deep";
            stack[depth] = n;
            slen[depth] = nl;
            depth++;
            p = q + 1;
        }
    }
    if (depth != 0) return "unclosed element";
    if (roots != 1) return "no root element";
    return NULL;
}

static double attr_num(const char *s, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "%s=\"", name);
    const char *p = strstr(s, key);
    return p ? strtod(p + strlen(key), NULL) : NAN;
}

/* points of <polyline id="ID" ...>, as (x, y) pairs; returns the count */
static int points(const char *svg, const char *id, double *xy, int max) {
    char key[64];
    snprintf(key, sizeof key, "<polyline id=\"%s\"", id);
    const char *p = strstr(svg, key);
    if (!p) return -1;
    p = strstr(p, "points=\"");
    if (!p) return -1;
    p += 8;
    int n = 0;
    while (*p && *p != '"' && n < max) {
        char *e;
        xy[2 * n] = strtod(p, &e);
        if (*e != ',') return -1;
        xy[2 * n + 1] = strtod(e + 1, &e);
        n++;
        p = e;
        while (*p == ' ') p++;
    }
    return n;
}

static void test_chart(void) {
    char mp[400], sp[400];
    snprintf(mp, sizeof mp, "%s/metrics.jsonl", tmpdir);
    snprintf(sp, sizeof sp, "%s/loss.svg", tmpdir);
    enum { NS = 37 };
    double main_l[NS], m1[NS], m2[NS];
    FILE *f = fopen(mp, "w");
    for (int i = 0; i < NS; i++) {
        main_l[i] = 2.0 + 6.0 * exp(-i / 8.0) + 0.05 * sin(i);
        m1[i] = main_l[i] + 0.4;
        m2[i] = main_l[i] + 0.9 - 0.01 * i;
        fprintf(f,
                "{\"step\":%d,\"loss\":%.7g,\"main\":%.7g,\"mtp\":[%.7g,%.7g],\"balance\":1.0,"
                "\"lr\":0.001,\"seconds\":0.5}\n",
                i + 1, main_l[i] + 0.3 * (m1[i] + m2[i]) / 2, main_l[i], m1[i], m2[i]);
    }
    fclose(f);
    sk_err e = {0};
    CHECK_OK(sk_train_write_loss_svg(mp, sp, &e), &e);
    char *svg = NULL;
    size_t len = 0;
    CHECK_OK(sk_read_file(sp, 1 << 24, &svg, &len, &e), &e);
    if (!svg) return;
    const char *bad = xml_check(svg);
    CHECK_MSG(!bad, "loss.svg is not well-formed: %s", bad ? bad : "");
    if (system("command -v xmllint >/dev/null 2>&1") == 0) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", sp);
        CHECK_MSG(system(cmd) == 0, "xmllint rejects %s", sp);
        printf("xmllint --noout: ok\n");
    } else {
        printf("xmllint not installed: own well-formedness check only\n");
    }
    CHECK(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
    CHECK(strstr(svg, ">step</text>") != NULL);
    CHECK(strstr(svg, "loss (nats/token)</text>") != NULL);
    const char *g = strstr(svg, "<g id=\"plot\"");
    CHECK(g != NULL);
    if (!g) goto done;
    double s0 = attr_num(g, "data-step0"), s1 = attr_num(g, "data-step1"),
           l0 = attr_num(g, "data-loss0"), l1 = attr_num(g, "data-loss1");
    CHECK(s0 <= 1 && s1 >= NS && s1 - s0 < 2.0 * NS);
    double lo = 1e9, hi = -1e9;
    for (int i = 0; i < NS; i++) {
        lo = fmin(lo, main_l[i]);
        hi = fmax(hi, fmax(m1[i], m2[i]));
    }
    CHECK(l0 <= lo && l1 >= hi && l1 - l0 < 2.0 * (hi - lo));
    /* count y tick labels: text elements with text-anchor="end" */
    int nlab = 0;
    for (const char *p = svg; (p = strstr(p, "text-anchor=\"end\">")); p++) nlab++;
    CHECK_MSG(nlab >= 3 && nlab <= 20, "%d y tick labels", nlab);
    const char *ids[] = {"main", "mtp1", "mtp2"};
    const double *vals[] = {main_l, m1, m2};
    double worst = 0;
    for (int k = 0; k < 3; k++) {
        double xy[2 * 64];
        int n = points(svg, ids[k], xy, 64);
        CHECK_MSG(n == NS, "series %s: %d points", ids[k], n);
        for (int i = 0; i < n && i < NS; i++) {
            double step = s0 + (xy[2 * i] - 80) / 740 * (s1 - s0);
            double loss = l1 - (xy[2 * i + 1] - 40) / 370 * (l1 - l0);
            CHECK_NEAR(step, i + 1, 1e-2);
            worst = fmax(worst, fabs(loss - vals[k][i]) / (l1 - l0));
        }
    }
    CHECK_MSG(worst < 1e-4, "points deviate from metrics by %g of the axis range", worst);
    CHECK(points(svg, "mtp3", (double[2]){0}, 1) == -1);
    printf("loss.svg: %zu bytes, 3 series x %d points, worst deviation %.1e of the y range, "
           "%d y tick labels\n",
           len, NS, worst, nlab);
done:
    free(svg);
}

static void test_bad_metrics(void) {
    char mp[400], sp[400];
    snprintf(mp, sizeof mp, "%s/bad.jsonl", tmpdir);
    snprintf(sp, sizeof sp, "%s/bad.svg", tmpdir);
    FILE *f = fopen(mp, "w");
    fprintf(f, "{\"step\":1,\"main\":3.5,\"mtp\":[]}\n{\"step\":2,\"mai");
    fclose(f);
    sk_err e = {0};
    CHECK(sk_train_write_loss_svg(mp, sp, &e) == SK_ERR_FORMAT);
    CHECK(strstr(e.msg, "line 2") != NULL);
    CHECK(access(sp, F_OK) != 0);
    sk_err e2 = {0};
    CHECK(sk_train_write_loss_svg("/nonexistent/metrics.jsonl", sp, &e2) != SK_OK);
    CHECK(e2.msg[0] != 0);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/seek-train-svg-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_chart);
    RUN(test_bad_metrics);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return sk_test_report("train_svg");
}
