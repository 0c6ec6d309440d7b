/* data.c — token files in the BATCH.txt line format (see sk_train.h). */
#include "sk_train.h"

#include <stdlib.h>
#include <string.h>

int sk_tokfile_read(const char *path, int n_vocab, sk_tokfile *out, sk_err *e) {
    return sk_tokfile_read_bounded(path, n_vocab, (uint64_t)1 << 34, 1, 1000000, out, e);
}

int sk_tokfile_read_bounded(const char *path, int n_vocab, uint64_t max_bytes, long min_ids,
                            long max_ids, sk_tokfile *out, sk_err *e) {
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t len = 0;
    int rc = sk_read_file(path, max_bytes, &buf, &len, e);
    if (rc) return rc;
    size_t cap = 0, n = 0;
    int32_t *ids = NULL;
    long line = 0;
    int S = -1, n_lines = 0;
    size_t i = 0;
    while (i < len) {
        line++;
        size_t start_n = n;
        int col = 1;
        size_t ls = i;
        while (i < len && buf[i] != '\n') {
            char ch = buf[i];
            if (ch == ' ' || ch == '\t' || ch == '\r') {
                i++;
                continue;
            }
            if (ch < '0' || ch > '9') {
                col = (int)(i - ls) + 1;
                rc = sk_err_set(e, SK_ERR_FORMAT, "%s:%ld:%d: expected a token id, found '%c'",
                                path, line, col, ch >= 32 && ch < 127 ? ch : '?');
                goto fail;
            }
            int64_t v = 0;
            size_t s0 = i;
            while (i < len && buf[i] >= '0' && buf[i] <= '9') {
                v = v * 10 + (buf[i] - '0');
                if (v > 0x7fffffff) {
                    rc = sk_err_set(e, SK_ERR_RANGE, "%s:%ld:%d: number too large", path, line,
                                    (int)(s0 - ls) + 1);
                    goto fail;
                }
                i++;
            }
            if (n_vocab > 0 && v >= n_vocab) {
                rc = sk_err_set(e, SK_ERR_RANGE, "%s:%ld:%d: %s %lld is outside [0, %d)", path, line,
                                (int)(s0 - ls) + 1, n_vocab == 2 ? "mask value" : "token id",
                                (long long)v, n_vocab);
                goto fail;
            }
            if (n == cap) {
                size_t nc = cap ? 2 * cap : 4096;
                int32_t *np = realloc(ids, nc * sizeof(int32_t));
                if (!np) {
                    rc = sk_err_set(e, SK_ERR_NOMEM, "%s: out of memory", path);
                    goto fail;
                }
                ids = np;
                cap = nc;
            }
            ids[n++] = (int32_t)v;
        }
        if (i < len) i++; /* the newline */
        size_t cnt = n - start_n;
        if (cnt == 0) continue; /* blank line */
        if (S < 0) {
            if ((long)cnt < min_ids || (long)cnt > max_ids) {
                rc = sk_err_set(e, (long)cnt > max_ids ? SK_ERR_RANGE : SK_ERR_FORMAT,
                                "%s:%ld: a line of %zu ids (need %ld .. %ld)", path, line, cnt,
                                min_ids, max_ids);
                goto fail;
            }
            S = (int)cnt;
        } else if ((int)cnt != S) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "%s:%ld: line has %zu ids, the first line has %d (every line must have "
                            "the same length)",
                            path, line, cnt, S);
            goto fail;
        }
        if (++n_lines == INT32_MAX) {
            rc = sk_err_set(e, SK_ERR_RANGE, "%s: too many lines", path);
            goto fail;
        }
    }
    if (n_lines == 0) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "%s: no sequences (empty file)", path);
        goto fail;
    }
    free(buf);
    out->n_lines = n_lines;
    out->S = S;
    out->ids = ids;
    return SK_OK;
fail:
    free(buf);
    free(ids);
    return rc;
}

void sk_tokfile_free(sk_tokfile *f) {
    if (!f) return;
    free(f->ids);
    memset(f, 0, sizeof *f);
}
