/* data_tokenize.c — text files to a token shard set with a Seek tokenizer. The only file of the
 * data pipeline that needs the tokenizer module's encoder. */
#include "sk_data.h"

#include <stdlib.h>
#include <string.h>

#include "sk_tokenizer.h"

typedef struct tok_ctx {
    sk_tokenizer *t;
    sk_shard_writer *w;
    unsigned flags;
    sk_data_tokenize_stats *st;
} tok_ctx;

static int on_doc(void *ctx, const char *text, size_t len, sk_err *e) {
    tok_ctx *c = ctx;
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = sk_tokenizer_encode(c->t, text, len, c->flags, &ids, &n, e);
    if (rc) return rc;
    if (n > 0) rc = sk_shard_writer_add(c->w, ids, n, e);
    free(ids);
    if (rc) return rc;
    if (n > 0) {
        c->st->n_docs++;
        c->st->n_tokens += n;
    }
    c->st->n_bytes += len;
    return SK_OK;
}

int sk_data_tokenize_files(sk_tokenizer *t, const char *const *files, size_t n_files,
                           sk_data_split split, bool parse_special, const char *prefix,
                           uint64_t shard_tokens, sk_data_tokenize_stats *st, sk_err *e) {
    sk_data_tokenize_stats local = {0};
    if (!st) st = &local;
    *st = (sk_data_tokenize_stats){0};
    sk_shard_writer *w = NULL;
    int rc = sk_shard_writer_open(prefix, sk_tokenizer_n_vocab(t), sk_tokenizer_bos(t),
                                  sk_tokenizer_eos(t), shard_tokens, &w, e);
    if (rc) return rc;
    tok_ctx c = {t, w, parse_special ? SK_TOK_PARSE_SPECIAL : 0u, st};
    for (size_t i = 0; i < n_files; i++) {
        rc = sk_data_read_docs(files[i], split, on_doc, &c, e);
        if (rc) {
            if (e && !strstr(e->msg, files[i])) sk_err_prefix(e, "%s", files[i]);
            sk_shard_writer_abort(w);
            return rc;
        }
    }
    if (st->n_docs == 0) {
        sk_shard_writer_abort(w);
        return sk_err_set(e, SK_ERR_INVALID, "the input files hold no (non-empty) documents");
    }
    return sk_shard_writer_finish(w, &st->n_shards, NULL, NULL, e);
}
