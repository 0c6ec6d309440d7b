/* svg.c — the loss curve of a training run as an SVG line chart (DIR/loss.svg), drawn from
 * DIR/metrics.jsonl: the main loss (L_main) and, when the model has MTP, the loss of each
 * MTP depth (L_k), over optimizer steps; axes with "nice" ticks (1, 2, 5 x 10^k), labels,
 * a grid and a legend.
 *
 * Layout (pixels): an 860 x 480 canvas; the plot area is the rectangle
 * [SVG_L, SVG_L + SVG_W] x [SVG_T, SVG_T + SVG_H]. The <g id="plot"> element carries the
 * data ranges of that rectangle as attributes (data-step0, data-step1, data-loss0,
 * data-loss1), so that a reader can map every polyline point back to (step, loss):
 *   x = SVG_L + (step - step0) / (step1 - step0) * SVG_W
 *   y = SVG_T + (loss1 - loss) / (loss1 - loss0) * SVG_H
 * Each series is one <polyline id="main"|"mtp1".. points="x,y ..."> with one point per
 * metrics line (runs of more than SVG_MAX_POINTS steps keep every k-th line and the last);
 * the held-out loss (lines with "eval_loss", all kept) is <polyline id="eval"> with a dot per
 * evaluation. */
#include "sk_train.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SVG_CW         860
#define SVG_CH         480
#define SVG_L          80
#define SVG_T          40
#define SVG_W          740
#define SVG_H          370
#define SVG_MAX_POINTS 4000

typedef struct series {
    int n, cap;
    double *step, *loss;
} series;

static int series_push(series *s, double step, double loss) {
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 256;
        double *a = realloc(s->step, sizeof(double) * (size_t)cap);
        if (!a) return -1;
        s->step = a;
        double *b = realloc(s->loss, sizeof(double) * (size_t)cap);
        if (!b) return -1;
        s->loss = b;
        s->cap = cap;
    }
    s->step[s->n] = step;
    s->loss[s->n] = loss;
    s->n++;
    return 0;
}

/* tick spacing 1, 2 or 5 x 10^k giving about n intervals over span */
static double nice_step(double span, int n) {
    if (!(span > 0)) return 1;
    double raw = span / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

static void fmt_num(char *b, size_t n, double v, double step) {
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    if (dec > 6) dec = 6;
    if (fabs(v) < step * 1e-6) v = 0;
    snprintf(b, n, "%.*f", dec, v);
}

static const char *const COLORS[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};

int sk_train_write_loss_svg(const char *metrics_path, const char *svg_path, sk_err *e) {
    char *txt = NULL, *out = NULL;
    size_t len = 0, olen = 0;
    enum { EV = 1 + SK_TRAIN_MAX_MTP }; /* the held-out series */
    series ser[2 + SK_TRAIN_MAX_MTP];
    memset(ser, 0, sizeof ser);
    int n_ser = 1, rc = sk_read_file(metrics_path, (uint64_t)1 << 31, &txt, &len, e);
    if (rc) return rc;
    int64_t n_lines = 0;
    for (size_t i = 0; i < len; i++) n_lines += txt[i] == '\n';
    int64_t every = n_lines > SVG_MAX_POINTS ? (n_lines + SVG_MAX_POINTS - 1) / SVG_MAX_POINTS : 1;
    size_t pos = 0;
    int64_t li = 0;
    while (pos < len) {
        char *nl = memchr(txt + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - txt) : len;
        bool keep = li % every == 0 || !nl || end + 1 >= len ||
                    memmem(txt + pos, end - pos, "\"eval_loss\"", 11) != NULL;
        li++;
        if (end > pos && keep) {
            json_error_t je;
            json_t *o = json_loadb(txt + pos, end - pos, 0, &je);
            json_t *js = o ? json_object_get(o, "step") : NULL,
                   *jm = o ? json_object_get(o, "main") : NULL;
            if (!o || !json_is_number(js) || !json_is_number(jm)) {
                json_decref(o);
                rc = sk_err_set(e, SK_ERR_FORMAT, "%s: line %lld is not a metrics record",
                                metrics_path, (long long)li);
                goto done;
            }
            double st = json_number_value(js);
            int bad = series_push(&ser[0], st, json_number_value(jm));
            json_t *mt = json_object_get(o, "mtp");
            size_t k;
            json_t *v;
            json_array_foreach(mt, k, v) {
                if (k >= SK_TRAIN_MAX_MTP || !json_is_number(v)) break;
                if ((int)k + 2 > n_ser) n_ser = (int)k + 2;
                bad |= series_push(&ser[k + 1], st, json_number_value(v));
            }
            json_t *ev = json_object_get(o, "eval_loss");
            if (json_is_number(ev)) bad |= series_push(&ser[EV], st, json_number_value(ev));
            json_decref(o);
            if (bad) {
                rc = sk_err_set(e, SK_ERR_NOMEM, "loss chart: out of memory");
                goto done;
            }
        }
        pos = end + 1;
    }
    /* ranges */
    double s0 = INFINITY, s1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int k = 0; k <= EV; k++)
        for (int i = 0; i < ser[k].n; i++) {
            double l = ser[k].loss[i];
            if (!isfinite(l)) continue;
            s0 = fmin(s0, ser[k].step[i]);
            s1 = fmax(s1, ser[k].step[i]);
            y0 = fmin(y0, l);
            y1 = fmax(y1, l);
        }
    if (!(s0 <= s1)) s0 = 0, s1 = 1, y0 = 0, y1 = 1;
    double xs = nice_step(s1 - s0 > 0 ? s1 - s0 : 1, 8);
    if (xs < 1) xs = 1;
    double x0 = floor(s0 / xs) * xs, x1 = ceil(s1 / xs) * xs;
    if (x1 <= x0) x1 = x0 + xs;
    double ys = nice_step(y1 - y0 > 0 ? y1 - y0 : fmax(fabs(y0) * 0.1, 1e-3), 6);
    double l0 = floor(y0 / ys) * ys, l1 = ceil(y1 / ys) * ys;
    if (l1 <= l0) l1 = l0 + ys;
    FILE *f = open_memstream(&out, &olen);
    if (!f) {
        rc = sk_err_set(e, SK_ERR_NOMEM, "loss chart: out of memory");
        goto done;
    }
    fprintf(
        f,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
        "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
        "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"white\"/>\n"
        "<text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">Training loss</text>\n",
        SVG_CW, SVG_CH, SVG_CW, SVG_CH, SVG_CW, SVG_CH, SVG_L + SVG_W / 2);
    fprintf(f,
            "<g id=\"plot\" data-step0=\"%.17g\" data-step1=\"%.17g\" data-loss0=\"%.17g\" "
            "data-loss1=\"%.17g\">\n",
            x0, x1, l0, l1);
    /* grid, ticks and tick labels */
    char lab[64];
    for (int i = 0; i <= 200; i++) {
        double v = l0 + i * ys;
        if (v > l1 + ys * 1e-9) break;
        double y = SVG_T + (l1 - v) / (l1 - l0) * SVG_H;
        fmt_num(lab, sizeof lab, v, ys);
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"#e0e0e0\"/>\n"
                "<line x1=\"%d\" y1=\"%.2f\" x2=\"%d\" y2=\"%.2f\" stroke=\"black\"/>\n"
                "<text x=\"%d\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
                SVG_L, y, SVG_L + SVG_W, y, SVG_L - 5, y, SVG_L, y, SVG_L - 8, y + 4, lab);
    }
    for (int i = 0; i <= 200; i++) {
        double v = x0 + i * xs;
        if (v > x1 + xs * 1e-9) break;
        double x = SVG_L + (v - x0) / (x1 - x0) * SVG_W;
        fmt_num(lab, sizeof lab, v, xs);
        fprintf(f,
                "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"#e0e0e0\"/>\n"
                "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%d\" stroke=\"black\"/>\n"
                "<text x=\"%.2f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                x, SVG_T, x, SVG_T + SVG_H, x, SVG_T + SVG_H, x, SVG_T + SVG_H + 5, x,
                SVG_T + SVG_H + 20, lab);
    }
    fprintf(f,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"black\"/>\n"
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>\n"
            "<text x=\"18\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 18 %d)\">"
            "cross-entropy loss (nats/token)</text>\n",
            SVG_L, SVG_T, SVG_W, SVG_H, SVG_L + SVG_W / 2, SVG_CH - 12, SVG_T + SVG_H / 2,
            SVG_T + SVG_H / 2);
    for (int k = 0; k < n_ser; k++) {
        const char *col = COLORS[k % 5];
        if (k == 0)
            fprintf(f,
                    "<polyline id=\"main\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                    "points=\"",
                    col);
        else
            fprintf(f,
                    "<polyline id=\"mtp%d\" fill=\"none\" stroke=\"%s\" stroke-width=\"1\" "
                    "points=\"",
                    k, col);
        for (int i = 0; i < ser[k].n; i++) {
            double l = ser[k].loss[i];
            if (!isfinite(l)) continue;
            double x = SVG_L + (ser[k].step[i] - x0) / (x1 - x0) * SVG_W;
            double y = SVG_T + (l1 - l) / (l1 - l0) * SVG_H;
            fprintf(f, "%s%.3f,%.3f", i ? " " : "", x, y);
        }
        fprintf(f, "\"/>\n");
        /* legend entry */
        int ly = SVG_T + 15 + 18 * k;
        fprintf(
            f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>\n",
            SVG_L + SVG_W - 170, ly - 4, SVG_L + SVG_W - 145, ly - 4, col);
        if (k == 0)
            fprintf(f, "<text x=\"%d\" y=\"%d\">main (next token)</text>\n", SVG_L + SVG_W - 140,
                    ly);
        else
            fprintf(f, "<text x=\"%d\" y=\"%d\">MTP depth %d (token +%d)</text>\n",
                    SVG_L + SVG_W - 140, ly, k, k + 1);
    }
    if (ser[EV].n > 0) {
        const char *col = "#000000";
        fprintf(f,
                "<polyline id=\"eval\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                "stroke-dasharray=\"5,3\" points=\"",
                col);
        for (int i = 0, first = 1; i < ser[EV].n; i++) {
            double l = ser[EV].loss[i];
            if (!isfinite(l)) continue;
            fprintf(f, "%s%.3f,%.3f", first ? "" : " ",
                    SVG_L + (ser[EV].step[i] - x0) / (x1 - x0) * SVG_W,
                    SVG_T + (l1 - l) / (l1 - l0) * SVG_H);
            first = 0;
        }
        fprintf(f, "\"/>\n");
        for (int i = 0; i < ser[EV].n; i++) {
            double l = ser[EV].loss[i];
            if (!isfinite(l)) continue;
            fprintf(f, "<circle cx=\"%.3f\" cy=\"%.3f\" r=\"2.5\" fill=\"%s\"/>\n",
                    SVG_L + (ser[EV].step[i] - x0) / (x1 - x0) * SVG_W,
                    SVG_T + (l1 - l) / (l1 - l0) * SVG_H, col);
        }
        int ly = SVG_T + 15 + 18 * n_ser;
        fprintf(f,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\" "
                "stroke-dasharray=\"5,3\"/>\n<text x=\"%d\" y=\"%d\">held-out (main)</text>\n",
                SVG_L + SVG_W - 170, ly - 4, SVG_L + SVG_W - 145, ly - 4, col, SVG_L + SVG_W - 140,
                ly);
    }
    fprintf(f, "</g>\n</svg>\n");
    if (fclose(f) != 0 || !out) {
        rc = sk_err_set(e, SK_ERR_NOMEM, "loss chart: out of memory");
        goto done;
    }
    rc = sk_write_file_atomic(svg_path, out, olen, e);
done:
    for (int k = 0; k <= EV; k++) {
        free(ser[k].step);
        free(ser[k].loss);
    }
    free(out);
    free(txt);
    return rc;
}
