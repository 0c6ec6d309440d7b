/* data_docs.c — splitting input files into documents (see sk_data_split in sk_data.h). */
#include "sk_data.h"

#include <stdlib.h>
#include <string.h>

#include "sk_json.h"

#define DOC_MAX_FILE_BYTES ((uint64_t)1 << 36)

int sk_data_split_parse(const char *s, sk_data_split *out, sk_err *e) {
    if (!strcmp(s, "auto"))
        *out = SK_DATA_SPLIT_AUTO;
    else if (!strcmp(s, "file"))
        *out = SK_DATA_SPLIT_FILE;
    else if (!strcmp(s, "paragraph"))
        *out = SK_DATA_SPLIT_PARAGRAPH;
    else if (!strcmp(s, "jsonl"))
        *out = SK_DATA_SPLIT_JSONL;
    else
        return sk_err_set(e, SK_ERR_INVALID,
                          "document split \"%s\" unknown (use auto, file, paragraph or jsonl)", s);
    return SK_OK;
}

static bool ends_with(const char *s, const char *suf) {
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

static bool blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\f' && s[i] != '\v')
            return false;
    return true;
}

/* Paragraphs: maximal runs of non-blank lines; the text of a paragraph runs from the start of
 * its first line to the end of its last line (newline excluded). */
static int split_paragraphs(const char *buf, size_t len, sk_data_doc_fn fn, void *ctx, sk_err *e) {
    size_t i = 0, start = 0, end = 0;
    bool in_par = false;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t le = nl ? (size_t)(nl - buf) : len;
        if (blank(buf + i, le - i)) {
            if (in_par) {
                int rc = fn(ctx, buf + start, end - start, e);
                if (rc) return rc;
                in_par = false;
            }
        } else {
            if (!in_par) start = i, in_par = true;
            end = le;
        }
        i = nl ? le + 1 : len;
    }
    if (in_par) return fn(ctx, buf + start, end - start, e);
    return SK_OK;
}

static int split_jsonl(const char *path, const char *buf, size_t len, sk_data_doc_fn fn, void *ctx,
                       sk_err *e) {
    size_t i = 0;
    long line = 0;
    while (i < len) {
        line++;
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t le = nl ? (size_t)(nl - buf) : len;
        if (!blank(buf + i, le - i)) {
            json_error_t je;
            json_t *j = json_loadb(buf + i, le - i, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
            if (!j)
                return sk_err_set(e, SK_ERR_FORMAT, "%s:%ld: invalid JSON (column %d): %s", path,
                                  line, je.column, je.text);
            const json_t *t = json_is_object(j) ? json_object_get(j, "text") : NULL;
            if (!json_is_string(t)) {
                json_decref(j);
                return sk_err_set(e, SK_ERR_FORMAT,
                                  "%s:%ld: expected an object with a string field \"text\"", path,
                                  line);
            }
            int rc = SK_OK;
            if (json_string_length(t) > 0)
                rc = fn(ctx, json_string_value(t), json_string_length(t), e);
            json_decref(j);
            if (rc) return rc;
        }
        i = nl ? le + 1 : len;
    }
    return SK_OK;
}

int sk_data_read_docs(const char *path, sk_data_split split, sk_data_doc_fn fn, void *ctx,
                      sk_err *e) {
    if (split == SK_DATA_SPLIT_AUTO)
        split = ends_with(path, ".jsonl") ? SK_DATA_SPLIT_JSONL : SK_DATA_SPLIT_FILE;
    char *buf = NULL;
    size_t len = 0;
    int rc = sk_read_file(path, DOC_MAX_FILE_BYTES, &buf, &len, e);
    if (rc) return rc;
    switch (split) {
    case SK_DATA_SPLIT_FILE:
        rc = len ? fn(ctx, buf, len, e) : SK_OK;
        break;
    case SK_DATA_SPLIT_PARAGRAPH:
        rc = split_paragraphs(buf, len, fn, ctx, e);
        break;
    default:
        rc = split_jsonl(path, buf, len, fn, ctx, e);
        break;
    }
    free(buf);
    return rc;
}
