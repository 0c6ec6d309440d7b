/* tok_export.c — read-only views of a loaded tokenizer and the tokenizer.ggml.* writer (see
 * sk_tokenizer_export.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_tokenizer_export.h"
#include "tok_internal.h"

int32_t sk_tokenizer_n_merge_ranks(const sk_tokenizer *t) {
    int32_t n = 0;
    for (size_t i = 0; i < t->merge_cap; i++)
        if (t->merges[i].rank >= 0 && t->merges[i].rank >= n) n = t->merges[i].rank + 1;
    return n;
}

void sk_tokenizer_merge_pairs(const sk_tokenizer *t, int32_t *left, int32_t *right) {
    int32_t n = sk_tokenizer_n_merge_ranks(t);
    for (int32_t r = 0; r < n; r++) left[r] = right[r] = -1;
    for (size_t i = 0; i < t->merge_cap; i++) {
        const tok_merge_slot *m = &t->merges[i];
        if (m->rank < 0) continue;
        left[m->rank] = (int32_t)(uint32_t)(m->key >> 32);
        right[m->rank] = (int32_t)(uint32_t)m->key;
    }
}

#define DS_BOS                                                                                     \
    "<\xEF\xBD\x9C"                                                                                \
    "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"

int sk_tokenizer_write_gguf(const sk_tokenizer *t, sk_gguf_writer *w, int64_t n_vocab_min,
                            const int64_t fallback_ids[3], bool add_eos, sk_err *e) {
    int rc = SK_OK;
    const int64_t nt = t->n_vocab;
    const int64_t n = n_vocab_min > nt ? n_vocab_min : nt;
    const char **toks = sk_calloc((size_t)n, sizeof *toks, e);
    int32_t *types = toks ? sk_calloc((size_t)n, sizeof *types, e) : NULL;
    char(*pads)[32] = NULL;
    int32_t nm = sk_tokenizer_n_merge_ranks(t);
    int32_t *ml = types ? sk_calloc((size_t)nm + 1, sizeof *ml, e) : NULL;
    int32_t *mr = ml ? sk_calloc((size_t)nm + 1, sizeof *mr, e) : NULL;
    char **ms = mr ? sk_calloc((size_t)nm + 1, sizeof *ms, e) : NULL;
    size_t n_ms = 0;
    if (!ms) {
        rc = e ? e->code : SK_ERR_NOMEM;
        goto done;
    }
    if (n > nt && !(pads = sk_calloc((size_t)(n - nt), sizeof *pads, e))) {
        rc = e ? e->code : SK_ERR_NOMEM;
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        if (i < nt) {
            toks[i] = t->tokens[i].text;
            types[i] = t->tokens[i].type;
        } else {
            snprintf(pads[i - nt], sizeof pads[i - nt], "[PAD%" PRId64 "]", i);
            toks[i] = pads[i - nt];
            types[i] = SK_TOKEN_UNUSED;
        }
    }
    sk_tokenizer_merge_pairs(t, ml, mr);
    for (int32_t r = 0; r < nm; r++) {
        if (ml[r] < 0) continue; /* a duplicate merge: never applied, not written */
        const tok_entry *a = &t->tokens[ml[r]], *b = &t->tokens[mr[r]];
        size_t len = (size_t)a->len + 1 + b->len;
        char *s = sk_malloc(len + 1, e);
        if (!s) {
            rc = e ? e->code : SK_ERR_NOMEM;
            goto done;
        }
        memcpy(s, a->text, a->len);
        s[a->len] = ' ';
        memcpy(s + a->len + 1, b->text, b->len);
        s[len] = '\0';
        ms[n_ms++] = s;
    }
    const char *pre = t->pre;
    if (!strcmp(pre, "qwen2") && sk_tokenizer_find(t, DS_BOS) >= 0) pre = "deepseek-r1-qwen";
    if (!strcmp(pre, "custom")) {
        SK_WARN("tokenizer: the pre-tokenizer matches no built-in one; writing "
                "tokenizer.ggml.pre = \"default\"");
        pre = "default";
    }
    if ((rc = sk_gguf_set_str(w, "tokenizer.ggml.model", "gpt2", e)) ||
        (rc = sk_gguf_set_str(w, "tokenizer.ggml.pre", pre, e)) ||
        (rc = sk_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, (uint64_t)n, e)) ||
        (rc = sk_gguf_set_arr(w, "tokenizer.ggml.token_type", SK_GGUF_INT32, types, (uint64_t)n,
                              e)) ||
        (rc = sk_gguf_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)ms,
                                  (uint64_t)n_ms, e)))
        goto done;
    const int32_t own[3] = {t->bos, t->eos, t->pad};
    static const char *const keys[3] = {"tokenizer.ggml.bos_token_id",
                                        "tokenizer.ggml.eos_token_id",
                                        "tokenizer.ggml.padding_token_id"};
    for (int s = 0; s < 3; s++) {
        int64_t id = own[s] >= 0 ? own[s] : (fallback_ids ? fallback_ids[s] : -1);
        if (id >= 0 && id < n && (rc = sk_gguf_set_u32(w, keys[s], (uint32_t)id, e))) goto done;
    }
    if ((rc = sk_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", t->add_bos, e)) ||
        (rc = sk_gguf_set_bool(w, "tokenizer.ggml.add_eos_token", add_eos, e)))
        goto done;
    if (t->chat_template &&
        (rc = sk_gguf_set_str(w, "tokenizer.chat_template", t->chat_template, e)))
        goto done;
done:
    for (size_t i = 0; i < n_ms; i++) free(ms[i]);
    free(ms);
    free(ml);
    free(mr);
    free(pads);
    free(toks);
    free(types);
    return rc;
}

int sk_tokenizer_convert_hf(void *ctx, const char *hf_dir, sk_gguf_writer *w, int64_t n_vocab,
                            const int64_t fallback_ids[3], bool *written, sk_err *e) {
    (void)ctx;
    *written = false;
    char *tp = sk_path_join(hf_dir, "tokenizer.json", e);
    if (!tp) return e ? e->code : SK_ERR_NOMEM;
    bool have = sk_file_exists(tp);
    free(tp);
    if (!have) {
        SK_WARN("%s: no tokenizer.json: the GGUF will have no tokenizer", hf_dir);
        return SK_OK;
    }
    sk_tokenizer *t = NULL;
    int rc = sk_tokenizer_load_hf(hf_dir, &t, e);
    if (rc) return rc;
    bool add_eos = false, found = false;
    if (!(rc = sk_tokenizer_hf_config_bool(hf_dir, "add_eos_token", &add_eos, &found, e)))
        rc = sk_tokenizer_write_gguf(t, w, n_vocab, fallback_ids, add_eos, e);
    sk_tokenizer_free(t);
    if (!rc) *written = true;
    return rc;
}
