/* load.c — building an sk_tokenizer from GGUF metadata or from a Hugging Face tokenizer.json
 * (+ tokenizer_config.json). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sk_json.h"
#include "tok_internal.h"

#define TOK_JSON_MAX (512ull << 20)
/* tokenizer.json: the largest id may be at most 2 * (number of entries) + this - 1 */
#define TOK_MAX_ID_SLACK 1024

static sk_tokenizer *tok_alloc(sk_err *e) {
    return sk_calloc(1, sizeof(sk_tokenizer), e);
}

/* Splits a merge line "left right" at the first space after the first byte. */
static int split_merge(const char *s, size_t len, size_t *cut, const char *what, int64_t i,
                       sk_err *e) {
    for (size_t k = 1; k + 1 < len; k++) {
        if (s[k] == ' ') {
            *cut = k;
            return SK_OK;
        }
    }
    return sk_err_set(e, SK_ERR_FORMAT, "%s[%lld] = \"%.*s\": expected \"left right\"", what,
                      (long long)i, (int)(len > 100 ? 100 : len), s);
}

static int32_t check_special_id(const sk_tokenizer *t, int64_t v, const char *key) {
    if (v < 0 || v >= t->n_vocab) {
        SK_WARN("tokenizer: %s = %lld is outside the vocabulary [0, %d); ignored", key,
                (long long)v, (int)t->n_vocab);
        return -1;
    }
    return (int32_t)v;
}

/* ---- GGUF ---- */

int sk_tokenizer_load_gguf(const sk_gguf *g, sk_tokenizer **out, sk_err *e) {
    *out = NULL;
    const char *path = sk_gguf_path(g);
    int rc;
    const char *s;
    size_t sl;
    if (!sk_gguf_get_str(g, "tokenizer.ggml.model", &s, &sl))
        return sk_err_set(e, SK_ERR_NOTFOUND,
                          "%s: tokenizer.ggml.model: key missing (no tokenizer)", path);
    if (sl != 4 || memcmp(s, "gpt2", 4))
        return sk_err_set(
            e, SK_ERR_UNSUPPORTED,
            "%s: tokenizer.ggml.model = \"%.*s\": only \"gpt2\" (byte-level BPE) is supported",
            path, (int)(sl > 64 ? 64 : sl), s);
    sk_gguf_vtype et;
    uint64_t n_tok = 0, n_merges = 0, n_types = 0;
    const void *data;
    if (!sk_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n_tok, &data) || et != SK_GGUF_STRING)
        return sk_err_set(e, SK_ERR_FORMAT,
                          "%s: tokenizer.ggml.tokens: missing or not an array of strings", path);
    if (n_tok == 0 || n_tok > (1u << 30))
        return sk_err_set(e, SK_ERR_FORMAT,
                          "%s: tokenizer.ggml.tokens: %llu entries is out of range", path,
                          (unsigned long long)n_tok);
    sk_gguf_vtype tt = SK_GGUF_INT32;
    const void *types = NULL;
    if (sk_gguf_find_key(g, "tokenizer.ggml.token_type") >= 0) {
        if (!sk_gguf_get_arr(g, "tokenizer.ggml.token_type", &tt, &n_types, &types) ||
            (tt != SK_GGUF_INT32 && tt != SK_GGUF_UINT32))
            return sk_err_set(e, SK_ERR_FORMAT,
                              "%s: tokenizer.ggml.token_type: not an array of int32", path);
        if (n_types != n_tok)
            return sk_err_set(e, SK_ERR_FORMAT,
                              "%s: tokenizer.ggml.token_type has %llu entries but tokens has %llu",
                              path, (unsigned long long)n_types, (unsigned long long)n_tok);
    }
    sk_tokenizer *t = tok_alloc(e);
    if (!t) return e ? e->code : SK_ERR_NOMEM;
    if ((rc = tok_init(t, (int32_t)n_tok, e))) goto fail_prefix;
    for (uint64_t i = 0; i < n_tok; i++) {
        if (!sk_gguf_get_arr_str(g, "tokenizer.ggml.tokens", i, &s, &sl)) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: tokenizer.ggml.tokens[%llu]: unreadable", path,
                            (unsigned long long)i);
            goto fail;
        }
        int type = SK_TOKEN_NORMAL;
        if (types) {
            int32_t v;
            memcpy(&v, (const uint8_t *)types + i * 4, 4);
            if (v < SK_TOKEN_NORMAL || v > SK_TOKEN_BYTE) {
                rc = sk_err_set(e, SK_ERR_FORMAT,
                                "%s: tokenizer.ggml.token_type[%llu] = %d is not 1..6", path,
                                (unsigned long long)i, (int)v);
                goto fail;
            }
            type = v;
            if (type == SK_TOKEN_BYTE || type == SK_TOKEN_UNKNOWN) type = SK_TOKEN_CONTROL;
        }
        if ((rc = tok_set_token(t, (int32_t)i, s, sl, type, e))) goto fail_prefix;
    }
    if ((rc = tok_finish_vocab(t, e))) goto fail_prefix;
    if (sk_gguf_find_key(g, "tokenizer.ggml.merges") >= 0) {
        if (!sk_gguf_get_arr(g, "tokenizer.ggml.merges", &et, &n_merges, &data) ||
            et != SK_GGUF_STRING) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: tokenizer.ggml.merges: not an array of strings",
                            path);
            goto fail;
        }
        if (n_merges > (1u << 30)) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: tokenizer.ggml.merges: too many entries", path);
            goto fail;
        }
    }
    if ((rc = tok_reserve_merges(t, n_merges, e))) goto fail_prefix;
    for (uint64_t i = 0; i < n_merges; i++) {
        size_t cut = 0;
        if (!sk_gguf_get_arr_str(g, "tokenizer.ggml.merges", i, &s, &sl)) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "%s: tokenizer.ggml.merges[%llu]: unreadable", path,
                            (unsigned long long)i);
            goto fail;
        }
        if ((rc = split_merge(s, sl, &cut, "tokenizer.ggml.merges", (int64_t)i, e)) ||
            (rc = tok_add_merge(t, s, cut, s + cut + 1, sl - cut - 1, (int32_t)i, e))) {
            sk_err_prefix(e, "%s", path);
            goto fail;
        }
    }
    int64_t v;
    if (sk_gguf_get_i64(g, "tokenizer.ggml.bos_token_id", &v))
        t->bos = check_special_id(t, v, "bos_token_id");
    if (sk_gguf_get_i64(g, "tokenizer.ggml.eos_token_id", &v))
        t->eos = check_special_id(t, v, "eos_token_id");
    if (sk_gguf_get_i64(g, "tokenizer.ggml.padding_token_id", &v))
        t->pad = check_special_id(t, v, "padding_token_id");
    bool b;
    t->add_bos = sk_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b) ? b : false;
    char pre[64] = "default";
    if (sk_gguf_get_str(g, "tokenizer.ggml.pre", &s, &sl)) {
        if (sl >= sizeof pre) {
            rc = sk_err_set(e, SK_ERR_UNSUPPORTED, "%s: tokenizer.ggml.pre = \"%.*s…\": unknown",
                            path, 60, s);
            goto fail;
        }
        memcpy(pre, s, sl);
        pre[sl] = 0;
    } else {
        SK_WARN("%s: tokenizer.ggml.pre missing; using the GPT-2 pre-tokenizer", path);
    }
    const char *canon;
    if ((rc = tok_pretok_add_named(&t->pretok, pre, &canon, &t->ignore_merges, e))) {
        sk_err_prefix(e, "%s: tokenizer.ggml.pre", path);
        goto fail;
    }
    snprintf(t->pre, sizeof t->pre, "%s", canon);
    if (sk_gguf_get_str(g, "tokenizer.chat_template", &s, &sl)) {
        t->chat_template = sk_malloc(sl + 1, e);
        if (!t->chat_template) {
            rc = e ? e->code : SK_ERR_NOMEM;
            goto fail;
        }
        memcpy(t->chat_template, s, sl);
        t->chat_template[sl] = 0;
    } else if (sk_gguf_find_key(g, "tokenizer.chat_template") >= 0) {
        SK_WARN("%s: tokenizer.chat_template is not a string; ignored (no chat template)", path);
    }
    *out = t;
    return SK_OK;
fail_prefix:
    sk_err_prefix(e, "%s", path);
fail:
    sk_tokenizer_free(t);
    return rc;
}

int sk_tokenizer_load_gguf_file(const char *path, sk_tokenizer **out, sk_err *e) {
    sk_gguf *g = NULL;
    int rc = sk_gguf_open(path, &g, e);
    if (rc) return rc;
    rc = sk_tokenizer_load_gguf(g, out, e);
    sk_gguf_close(g);
    return rc;
}

/* ---- Hugging Face tokenizer.json ---- */

typedef struct pat_list {
    const char *p[16];
    int n;
    bool other; /* a step that is not a plain isolated regex split */
} pat_list;

static int escape_literal(const char *s, size_t n, char **out, sk_err *e) {
    size_t cap;
    if (!sk_mul_ok(n, 2, &cap) || !sk_add_ok(cap, 1, &cap))
        return sk_err_set(e, SK_ERR_RANGE, "pattern too long");
    char *o = sk_malloc(cap, e);
    if (!o) return e ? e->code : SK_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80 &&
            !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            o[k++] = '\\';
        o[k++] = (char)c;
    }
    o[k] = 0;
    *out = o;
    return SK_OK;
}

static int parse_pre(sk_tokenizer *t, const json_t *pt, pat_list *pl, int depth, sk_err *e) {
    int rc;
    if (!pt || json_is_null(pt)) return SK_OK;
    if (depth > 8) return sk_err_set(e, SK_ERR_FORMAT, "pre_tokenizer: nested too deeply");
    const char *type = NULL;
    if ((rc = sk_json_get_str(pt, "type", &type, NULL, "pre_tokenizer", e))) return rc;
    if (!type) return sk_err_set(e, SK_ERR_FORMAT, "pre_tokenizer: missing \"type\"");
    if (!strcmp(type, "Sequence")) {
        const json_t *arr = json_object_get(pt, "pretokenizers");
        if (!json_is_array(arr))
            return sk_err_set(e, SK_ERR_FORMAT,
                              "pre_tokenizer Sequence: \"pretokenizers\" is not an array");
        for (size_t i = 0; i < json_array_size(arr); i++)
            if ((rc = parse_pre(t, json_array_get(arr, i), pl, depth + 1, e))) return rc;
        return SK_OK;
    }
    if (!strcmp(type, "Split")) {
        const json_t *pat = json_object_get(pt, "pattern");
        const char *rx = NULL, *lit = NULL;
        if (json_is_object(pat)) {
            const json_t *r = json_object_get(pat, "Regex"), *s = json_object_get(pat, "String");
            if (json_is_string(r))
                rx = json_string_value(r);
            else if (json_is_string(s))
                lit = json_string_value(s);
        }
        if (!rx && !lit)
            return sk_err_set(e, SK_ERR_FORMAT,
                              "pre_tokenizer Split: \"pattern\" needs a \"Regex\" or \"String\"");
        const char *beh = "Isolated";
        if ((rc = sk_json_get_str(pt, "behavior", &beh, NULL, "pre_tokenizer Split", e))) return rc;
        tok_split_behavior b;
        if (!strcmp(beh, "Isolated"))
            b = TOK_SPLIT_ISOLATED;
        else if (!strcmp(beh, "Removed"))
            b = TOK_SPLIT_REMOVED;
        else if (!strcmp(beh, "MergedWithPrevious"))
            b = TOK_SPLIT_MERGED_PREV;
        else if (!strcmp(beh, "MergedWithNext"))
            b = TOK_SPLIT_MERGED_NEXT;
        else if (!strcmp(beh, "Contiguous"))
            b = TOK_SPLIT_CONTIGUOUS;
        else
            return sk_err_set(e, SK_ERR_UNSUPPORTED, "pre_tokenizer Split: behavior \"%s\" unknown",
                              beh);
        bool inv = false;
        if ((rc = sk_json_get_bool(pt, "invert", &inv, NULL, "pre_tokenizer Split", e))) return rc;
        if (rx) {
            size_t n = json_string_length(json_object_get(pat, "Regex"));
            if ((rc = tok_pretok_add(&t->pretok, rx, n, b, inv, e))) return rc;
            if (pl->n < 16 && b == TOK_SPLIT_ISOLATED && !inv)
                pl->p[pl->n++] = rx;
            else
                pl->other = true;
        } else {
            char *esc = NULL;
            if ((rc = escape_literal(lit, json_string_length(json_object_get(pat, "String")), &esc,
                                     e)))
                return rc;
            rc = tok_pretok_add(&t->pretok, esc, strlen(esc), b, inv, e);
            free(esc);
            pl->other = true;
            if (rc) return rc;
        }
        return SK_OK;
    }
    if (!strcmp(type, "Digits")) {
        bool ind = false;
        if ((rc = sk_json_get_bool(pt, "individual_digits", &ind, NULL, "pre_tokenizer Digits", e)))
            return rc;
        const char *rx = ind ? "\\p{N}" : "\\p{N}+";
        if (pl->n < 16) pl->p[pl->n++] = rx;
        return tok_pretok_add(&t->pretok, rx, strlen(rx), TOK_SPLIT_ISOLATED, false, e);
    }
    if (!strcmp(type, "ByteLevel")) {
        bool aps = false, use_regex = true;
        if ((rc = sk_json_get_bool(pt, "add_prefix_space", &aps, NULL, "pre_tokenizer ByteLevel",
                                   e)))
            return rc;
        if ((rc =
                 sk_json_get_bool(pt, "use_regex", &use_regex, NULL, "pre_tokenizer ByteLevel", e)))
            return rc;
        if (aps)
            return sk_err_set(e, SK_ERR_UNSUPPORTED,
                              "pre_tokenizer ByteLevel: add_prefix_space=true is not supported");
        if (use_regex) {
            const char *rx = tok_pretok_patterns("gpt2")[0];
            if (pl->n < 16) pl->p[pl->n++] = rx;
            return tok_pretok_add(&t->pretok, rx, strlen(rx), TOK_SPLIT_ISOLATED, false, e);
        }
        return SK_OK;
    }
    return sk_err_set(e, SK_ERR_UNSUPPORTED, "pre_tokenizer type \"%s\" is not supported", type);
}

/* One unit of a regex's text: a byte, or an escape "\\x" as 0x100 | x; the escapes \\r \\n \\t
 * read as the control characters they stand for, so "[\\r\\n]" equals "[<CR><LF>]". */
static int pat_unit(const char *s, size_t *i) {
    unsigned char c = (unsigned char)s[*i];
    if (c != '\\' || !s[*i + 1]) {
        (*i)++;
        return c;
    }
    unsigned char x = (unsigned char)s[*i + 1];
    *i += 2;
    return x == 'r' ? '\r' : x == 'n' ? '\n' : x == 't' ? '\t' : 0x100 | x;
}

/* Equal as regexes up to the spelling of \r, \n and \t. */
static bool same_pattern(const char *a, const char *b) {
    size_t i = 0, j = 0;
    for (;;) {
        if (!a[i] || !b[j]) return !a[i] && !b[j];
        if (pat_unit(a, &i) != pat_unit(b, &j)) return false;
    }
}

/* Names the pre-tokenizer if its regex list equals a built-in one. */
static void name_pre(sk_tokenizer *t, const pat_list *pl) {
    if (pl->other) return;
    for (const char *const *nm = tok_pretok_names; *nm; nm++) {
        const char *const *bp = tok_pretok_patterns(*nm);
        int k = 0;
        while (bp[k] && k < pl->n && same_pattern(bp[k], pl->p[k])) k++;
        if (!bp[k] && k == pl->n) {
            snprintf(t->pre, sizeof t->pre, "%s", *nm);
            return;
        }
    }
}

/* bos_token etc. in tokenizer_config.json: a string or {"content": …}. */
static const char *config_token(const json_t *cfg, const char *key) {
    const json_t *v = json_object_get(cfg, key);
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_object(v)) {
        const json_t *c = json_object_get(v, "content");
        if (json_is_string(c)) return json_string_value(c);
    }
    return NULL;
}

/* A post_processor (TemplateProcessing, possibly inside a Sequence) whose "single" template
 * starts with a special token: that token is prepended (Llama 3 adds BOS this way). Returns its
 * text or NULL. */
static const char *template_prefix(const json_t *pp, int depth) {
    if (!json_is_object(pp) || depth > 4) return NULL;
    const char *type = json_string_value(json_object_get(pp, "type"));
    if (!type) return NULL;
    if (!strcmp(type, "Sequence")) {
        const json_t *arr = json_object_get(pp, "processors");
        for (size_t i = 0; i < json_array_size(arr); i++) {
            const char *r = template_prefix(json_array_get(arr, i), depth + 1);
            if (r) return r;
        }
        return NULL;
    }
    if (strcmp(type, "TemplateProcessing")) return NULL;
    const json_t *first = json_array_get(json_object_get(pp, "single"), 0);
    const json_t *st = json_object_get(first, "SpecialToken");
    return json_string_value(json_object_get(st, "id"));
}

static int hf_get_id(const json_t *v, int64_t *id, const char *what, sk_err *e) {
    if (!json_is_integer(v)) return sk_err_set(e, SK_ERR_FORMAT, "%s: id is not an integer", what);
    *id = json_integer_value(v);
    if (*id < 0 || *id >= (1 << 30))
        return sk_err_set(e, SK_ERR_FORMAT, "%s: id %lld out of range", what, (long long)*id);
    return SK_OK;
}

/* The paths of tokenizer.json and tokenizer_config.json for a folder or a tokenizer.json path
 * (both malloc'd). */
static int hf_paths(const char *path, char **tj_path, char **cfg_path, sk_err *e) {
    *tj_path = *cfg_path = NULL;
    if (sk_is_dir(path)) {
        *tj_path = sk_path_join(path, "tokenizer.json", e);
        *cfg_path = sk_path_join(path, "tokenizer_config.json", e);
    } else {
        *tj_path = sk_strdup(path, e);
        const char *slash = strrchr(path, '/');
        if (slash) {
            char *dir = sk_strdup(path, e);
            if (dir) {
                dir[slash - path] = 0;
                *cfg_path = sk_path_join(dir, "tokenizer_config.json", e);
                free(dir);
            }
        } else {
            *cfg_path = sk_strdup("tokenizer_config.json", e);
        }
    }
    if (*tj_path && *cfg_path) return SK_OK;
    free(*tj_path);
    free(*cfg_path);
    *tj_path = *cfg_path = NULL;
    return e ? e->code : SK_ERR_NOMEM;
}

/* tokenizer_config.json if present (*cfg stays NULL if absent). Integers as reals: some configs
 * hold "model_max_length": 1e30 written as an integer (Llama 3), which jansson rejects as "too
 * big integer". */
static int load_hf_config(const char *cfg_path, json_t **cfg, sk_err *e) {
    *cfg = NULL;
    if (!sk_file_exists(cfg_path)) return SK_OK;
    int rc = sk_json_load_file_ex(cfg_path, 64u << 20, SK_JSON_INT_AS_REAL, cfg, e);
    if (!rc && !json_is_object(*cfg)) {
        json_decref(*cfg);
        *cfg = NULL;
        rc = sk_err_set(e, SK_ERR_FORMAT, "%s: expected a JSON object", cfg_path);
    }
    return rc;
}

int sk_tokenizer_hf_config_bool(const char *path, const char *key, bool *val, bool *found,
                                sk_err *e) {
    *found = false;
    char *tj_path, *cfg_path;
    int rc = hf_paths(path, &tj_path, &cfg_path, e);
    if (rc) return rc;
    json_t *cfg = NULL;
    if (!(rc = load_hf_config(cfg_path, &cfg, e)) && cfg)
        rc = sk_json_get_bool(cfg, key, val, found, cfg_path, e);
    json_decref(cfg);
    free(tj_path);
    free(cfg_path);
    return rc;
}

int sk_tokenizer_load_hf(const char *path, sk_tokenizer **out, sk_err *e) {
    *out = NULL;
    int rc;
    char *tj_path = NULL, *cfg_path = NULL;
    json_t *root = NULL, *cfg = NULL;
    sk_tokenizer *t = NULL;
    if ((rc = hf_paths(path, &tj_path, &cfg_path, e))) goto done;
    if ((rc = sk_json_load_file(tj_path, TOK_JSON_MAX, &root, e))) goto done;
    if ((rc = load_hf_config(cfg_path, &cfg, e))) goto done;
    const json_t *model = json_object_get(root, "model");
    if (!json_is_object(model)) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "%s: \"model\" missing or not an object", tj_path);
        goto done;
    }
    const char *mtype = NULL;
    if ((rc = sk_json_get_str(model, "type", &mtype, NULL, "model", e))) goto prefix;
    if (mtype && strcmp(mtype, "BPE")) {
        rc = sk_err_set(e, SK_ERR_UNSUPPORTED, "model.type = \"%s\": only BPE is supported", mtype);
        goto prefix;
    }
    bool bf = false;
    if ((rc = sk_json_get_bool(model, "byte_fallback", &bf, NULL, "model", e))) goto prefix;
    if (bf) {
        rc = sk_err_set(e, SK_ERR_UNSUPPORTED, "model.byte_fallback = true is not supported");
        goto prefix;
    }
    const json_t *vocab = json_object_get(model, "vocab");
    const json_t *merges = json_object_get(model, "merges");
    const json_t *added = json_object_get(root, "added_tokens");
    if (!json_is_object(vocab)) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "model.vocab missing or not an object");
        goto prefix;
    }
    if (merges && !json_is_array(merges)) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "model.merges is not an array");
        goto prefix;
    }
    if (added && !json_is_null(added) && !json_is_array(added)) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "added_tokens is not an array");
        goto prefix;
    }
    int64_t max_id = -1, id = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)vocab, key, val) {
        if ((rc = hf_get_id(val, &id, "model.vocab", e))) goto prefix;
        if (id > max_id) max_id = id;
    }
    for (size_t i = 0; added && i < json_array_size(added); i++) {
        const json_t *a = json_array_get(added, i);
        if ((rc = hf_get_id(json_object_get(a, "id"), &id, "added_tokens", e))) goto prefix;
        if (id > max_id) max_id = id;
    }
    if (max_id < 0) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "model.vocab is empty");
        goto prefix;
    }
    /* ids are dense in real tokenizers (gaps become [PADn] fillers); a sparse id far past the
     * number of entries would make us build millions of fillers */
    size_t n_entries = json_object_size(vocab) + (added ? json_array_size(added) : 0);
    if ((uint64_t)max_id + 1 > 2 * (uint64_t)n_entries + TOK_MAX_ID_SLACK) {
        rc = sk_err_set(e, SK_ERR_FORMAT,
                        "token id %lld is far past the %zu vocabulary and added-token entries "
                        "(at most %llu allowed)",
                        (long long)max_id, n_entries,
                        (unsigned long long)(2 * (uint64_t)n_entries + TOK_MAX_ID_SLACK - 1));
        goto prefix;
    }
    t = tok_alloc(e);
    if (!t) {
        rc = e ? e->code : SK_ERR_NOMEM;
        goto done;
    }
    if ((rc = tok_init(t, (int32_t)(max_id + 1), e))) goto prefix;
    json_object_foreach((json_t *)vocab, key, val) {
        id = json_integer_value(val);
        if (t->tokens[id].text) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "model.vocab: id %lld is used twice (\"%s\", \"%s\")",
                            (long long)id, t->tokens[id].text, key);
            goto prefix;
        }
        if ((rc = tok_set_token(t, (int32_t)id, key, strlen(key), SK_TOKEN_NORMAL, e))) goto prefix;
    }
    for (size_t i = 0; added && i < json_array_size(added); i++) {
        const json_t *a = json_array_get(added, i);
        const json_t *c = json_object_get(a, "content");
        if (!json_is_string(c)) {
            rc = sk_err_set(e, SK_ERR_FORMAT, "added_tokens[%zu].content is not a string", i);
            goto prefix;
        }
        bool special = false, strip = false, any_strip = false;
        if ((rc = sk_json_get_bool(a, "special", &special, NULL, "added_tokens", e))) goto prefix;
        static const char *const strip_keys[] = {"lstrip", "rstrip", "single_word"};
        for (int k = 0; k < 3; k++) {
            if ((rc = sk_json_get_bool(a, strip_keys[k], &strip, NULL, "added_tokens", e)))
                goto prefix;
            any_strip |= strip;
        }
        if (any_strip) /* DeepSeek, Qwen2 and Llama 3 set none of these */
            SK_WARN("%s: added token \"%s\": lstrip/rstrip/single_word are not applied", tj_path,
                    json_string_value(c));
        id = json_integer_value(json_object_get(a, "id"));
        const char *txt = json_string_value(c);
        size_t len = json_string_length(c);
        if ((rc = tok_set_token(t, (int32_t)id, txt, len, tok_added_type(txt, len, special), e)))
            goto prefix;
    }
    if ((rc = tok_finish_vocab(t, e))) goto prefix;
    size_t nm = merges ? json_array_size(merges) : 0;
    if (nm > (1u << 30)) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "model.merges: too many entries");
        goto prefix;
    }
    if ((rc = tok_reserve_merges(t, nm, e))) goto prefix;
    for (size_t i = 0; i < nm; i++) {
        const json_t *m = json_array_get(merges, i);
        if (json_is_string(m)) {
            const char *s = json_string_value(m);
            size_t sl = json_string_length(m), cut = 0;
            if ((rc = split_merge(s, sl, &cut, "model.merges", (int64_t)i, e))) goto prefix;
            if ((rc = tok_add_merge(t, s, cut, s + cut + 1, sl - cut - 1, (int32_t)i, e)))
                goto prefix;
        } else if (json_is_array(m) && json_array_size(m) == 2 &&
                   json_is_string(json_array_get(m, 0)) && json_is_string(json_array_get(m, 1))) {
            const json_t *l = json_array_get(m, 0), *r = json_array_get(m, 1);
            if ((rc = tok_add_merge(t, json_string_value(l), json_string_length(l),
                                    json_string_value(r), json_string_length(r), (int32_t)i, e)))
                goto prefix;
        } else {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "model.merges[%zu]: expected \"a b\" or [\"a\", \"b\"]", i);
            goto prefix;
        }
    }
    bool im = false;
    if ((rc = sk_json_get_bool(model, "ignore_merges", &im, NULL, "model", e))) goto prefix;
    t->ignore_merges = im;
    /* normalizer: none, an empty Sequence, or NFC (accepted, not applied) */
    const json_t *norm = json_object_get(root, "normalizer");
    if (norm && !json_is_null(norm)) {
        const char *nt = NULL;
        if ((rc = sk_json_get_str(norm, "type", &nt, NULL, "normalizer", e))) goto prefix;
        const json_t *seq = json_object_get(norm, "normalizers");
        if (nt && !strcmp(nt, "NFC")) {
            SK_INFO("%s: NFC normalizer is not applied (input is used as given)", tj_path);
        } else if (!nt || strcmp(nt, "Sequence") || (seq && json_array_size(seq) != 0)) {
            rc = sk_err_set(e, SK_ERR_UNSUPPORTED, "normalizer \"%s\" is not supported",
                            nt ? nt : "?");
            goto prefix;
        }
    }
    pat_list pl = {0};
    if ((rc = parse_pre(t, json_object_get(root, "pre_tokenizer"), &pl, 0, e))) goto prefix;
    name_pre(t, &pl);
    bool ab = false, found = false;
    if (cfg && (rc = sk_json_get_bool(cfg, "add_bos_token", &ab, &found, cfg_path, e))) goto done;
    if (found) {
        t->add_bos = ab;
    } else { /* no add_bos_token: does the post-processor prepend a token? */
        const char *pre_tok = template_prefix(json_object_get(root, "post_processor"), 0);
        int32_t pid = pre_tok ? tok_lookup(t, pre_tok, strlen(pre_tok)) : -1;
        if (pid >= 0) {
            t->add_bos = true;
            t->bos = pid;
        }
    }
    if (cfg) {
        const char *bt = config_token(cfg, "bos_token"), *et = config_token(cfg, "eos_token"),
                   *pt = config_token(cfg, "pad_token");
        if (bt && tok_lookup(t, bt, strlen(bt)) >= 0) t->bos = tok_lookup(t, bt, strlen(bt));
        if (et) t->eos = tok_lookup(t, et, strlen(et));
        if (pt) t->pad = tok_lookup(t, pt, strlen(pt));
        const json_t *ct = json_object_get(cfg, "chat_template");
        const char *cts = NULL;
        if (json_is_string(ct))
            cts = json_string_value(ct);
        else if (json_is_array(ct)) { /* [{"name": "default", "template": …}, …] */
            for (size_t i = 0; i < json_array_size(ct); i++) {
                const json_t *it = json_array_get(ct, i);
                const json_t *nmv = json_object_get(it, "name"),
                             *tv = json_object_get(it, "template");
                if (json_is_string(tv) &&
                    (!cts || (json_is_string(nmv) && !strcmp(json_string_value(nmv), "default"))))
                    cts = json_string_value(tv);
            }
        }
        if (ct && !cts && !json_is_null(ct))
            SK_WARN("%s: chat_template is neither a string nor a list of {name, template}; "
                    "ignored (no chat template)",
                    cfg_path);
        if (cts && !(t->chat_template = sk_strdup(cts, e))) {
            rc = e ? e->code : SK_ERR_NOMEM;
            goto done;
        }
    }
    *out = t;
    t = NULL;
    rc = SK_OK;
    goto done;
prefix:
    sk_err_prefix(e, "%s", tj_path);
done:
    sk_tokenizer_free(t);
    json_decref(root);
    json_decref(cfg);
    free(tj_path);
    free(cfg_path);
    return rc;
}
