/* pretok.c — pre-tokenizers: sequences of PCRE2 regex splits (spec §5.3).
 *
 * Patterns are written in the Hugging Face (Rust regex / Oniguruma) dialect. PCRE2 runs them
 * in UTF + UCP mode with JIT. One dialect difference is rewritten before compiling: PCRE2's
 * `\s` also matches U+180E, which is not Unicode White_Space, so `\s` / `\S` become explicit
 * White_Space classes. Each step splits every piece of the previous step independently (the
 * piece is the whole regex subject, so `$` and lookarounds see only that piece). The steps run
 * depth first: every piece goes through the next step as soon as it is found, so memory stays
 * proportional to a piece, not to the text. */
#include <stdlib.h>
#include <string.h>

#include "tok_internal.h"

/* Unicode White_Space (PropList.txt), as a class body. */
#define WS_BODY                                                                                    \
    "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{"   \
    "202F}\\x{205F}\\x{3000}"

/* ---- built-in pre-tokenizers (llama.cpp names; patterns as in the models' tokenizer.json) ---- */

static const char *const pat_deepseek_v3[] = {
    "\\p{N}{1,3}",
    "[\xe4\xb8\x80-\xe9\xbe\xa5\xe3\x81\x80-\xe3\x82\x9f\xe3\x82\xa0-\xe3\x83\xbf]"
    "+", /* [一-龥぀-ゟ゠-ヿ]+
          */
    "[!\"#$%&'()*+,\\-./"
    ":;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
    "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
    NULL,
};

static const char *const pat_deepseek_llm[] = {
    "[\r\n]",
    "\\s?[A-Za-z\xc2\xb5\xc3\x80-\xc3\x96\xc3\x98-\xc3\xb6\xc3\xb8-"
    "\xc6\xba\xc6\xbc-"
    "\xc6\xbf\xc7\x84-"
    "\xca\x93\xca\x95-\xca\xaf\xcd\xb0-\xcd\xb3\xcd\xb6\xcd\xb7\xcd\xbb-"
    "\xcd\xbd\xcd\xbf\xce\x86\xce"
    "\x88-\xce\x8a\xce\x8c\xce\x8e-\xce\xa1\xce\xa3-\xcf\xb5\xcf\xb7-"
    "\xd2\x81\xd2\x8a-"
    "\xd4\xaf\xd4\xb1-"
    "\xd5\x96\xe1\x82\xa0-\xe1\x83\x85\xe1\x8e\xa0-\xe1\x8f\xb5\xe1\x8f\xb8-"
    "\xe1\x8f\xbd\xe1\xb2\x90-"
    "\xe1\xb2\xba\xe1\xb2\xbd-\xe1\xb2\xbf\xe1\xb4\x80-\xe1\xb4\xab\xe1\xb5\xab-"
    "\xe1\xb5\xb7\xe1\xb5"
    "\xb9-\xe1\xb6\x9a\xe1\xb8\x80-\xe1\xbc\x95\xe1\xbc\x98-"
    "\xe1\xbc\x9d\xe1\xbc\xa0-"
    "\xe1\xbd\x85\xe1"
    "\xbd\x88-\xe1\xbd\x8d\xe1\xbd\x90-"
    "\xe1\xbd\x97\xe1\xbd\x99\xe1\xbd\x9b\xe1\xbd\x9d\xe1\xbd\x9f-"
    "\xe1\xbd\xbd\xe1\xbe\x80-\xe1\xbe\xb4\xe1\xbe\xb6-"
    "\xe1\xbe\xbc\xe1\xbe\xbe\xe1\xbf\x82-"
    "\xe1\xbf"
    "\x84\xe1\xbf\x86-\xe1\xbf\x8c\xe1\xbf\x90-\xe1\xbf\x93\xe1\xbf\x96-"
    "\xe1\xbf\x9b\xe1\xbf\xa0-"
    "\xe1"
    "\xbf\xac\xe1\xbf\xb2-\xe1\xbf\xb4\xe1\xbf\xb6-"
    "\xe1\xbf\xbc\xe2\x84\x82\xe2\x84\x87\xe2\x84\x8a-"
    "\xe2\x84\x93\xe2\x84\x95\xe2\x84\x99-"
    "\xe2\x84\x9d\xe2\x84\xa4\xe2\x84\xa6\xe2\x84\xa8\xe2\x84\xaa-"
    "\xe2\x84\xad\xe2\x84\xaf-\xe2\x84\xb4\xe2\x84\xb9\xe2\x84\xbc-"
    "\xe2\x84\xbf\xe2\x85\x85-"
    "\xe2\x85"
    "\x89\xe2\x85\x8e\xe2\x86\x83\xe2\x86\x84\xe2\xb0\x80-\xe2\xb1\xbb\xe2\xb1\xbe-"
    "\xe2\xb3\xa4\xe2"
    "\xb3\xab-\xe2\xb3\xae\xe2\xb3\xb2\xe2\xb3\xb3\xea\x99\x80-"
    "\xea\x99\xad\xea\x9a\x80-"
    "\xea\x9a\x9b"
    "\xea\x9c\xa2-\xea\x9d\xaf\xea\x9d\xb1-\xea\x9e\x87\xea\x9e\x8b-"
    "\xea\x9e\x8e\xea\xad\xb0-"
    "\xea\xae"
    "\xbf\xef\xac\x80-\xef\xac\x86\xef\xac\x93-\xef\xac\x97\xef\xbc\xa1-"
    "\xef\xbc\xba\xef\xbd\x81-"
    "\xef"
    "\xbd\x9a\xf0\x90\x90\x80-\xf0\x90\x91\x8f\xf0\x90\x92\xb0-"
    "\xf0\x90\x93\x93\xf0\x90\x93\x98-"
    "\xf0"
    "\x90\x93\xbb\xf0\x90\xb2\x80-\xf0\x90\xb2\xb2\xf0\x90\xb3\x80-"
    "\xf0\x90\xb3\xb2\xf0\x91\xa2\xa0-"
    "\xf0\x91\xa3\x9f\xf0\x9e\xa4\x80-\xf0\x9e\xa5\x83]+",
    /* \s?[!-/:-~！-／：-～‘-‟　-。]+ */
    "\\s?[!-/"
    ":-~\xef\xbc\x81-\xef\xbc\x8f\xef\xbc\x9a-\xef\xbd\x9e\xe2\x80\x98-"
    "\xe2\x80\x9f\xe3\x80\x80-"
    "\xe3\x80\x82]+",
    "\\s+$",
    "[\xe4\xb8\x80-\xe9\xbe\xa5\xe0\xa0\x80-\xe4\xb8\x80\xea\xb0\x80-\xed\x9f\xbf]"
    "+", /* [一-龥ࠀ-一가-퟿]+
          */
    "\\p{N}+",
    NULL,
};

static const char *const pat_deepseek_coder[] = {
    "[\r\n]",      "\\s?\\p{L}+",
    "\\s?\\p{P}+", "[\xe4\xb8\x80-\xe9\xbe\xa5\xe0\xa0\x80-\xe4\xb8\x80\xea\xb0\x80-\xed\x9f\xbf]+",
    "\\p{N}",      NULL,
};

static const char *const pat_qwen2[] = {
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL,
};

static const char *const pat_llama3[] = {
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL,
};

static const char *const pat_gpt2[] = {
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
    NULL,
};

const char *const tok_pretok_names[] = {
    "deepseek-v3", "deepseek-llm", "deepseek-coder", "qwen2", "llama-bpe", "gpt2", NULL};

const char *const *tok_pretok_patterns(const char *canon) {
    if (!strcmp(canon, "deepseek-v3")) return pat_deepseek_v3;
    if (!strcmp(canon, "deepseek-llm")) return pat_deepseek_llm;
    if (!strcmp(canon, "deepseek-coder")) return pat_deepseek_coder;
    if (!strcmp(canon, "qwen2")) return pat_qwen2;
    if (!strcmp(canon, "llama-bpe")) return pat_llama3;
    if (!strcmp(canon, "gpt2")) return pat_gpt2;
    return NULL;
}

int tok_pretok_add_named(tok_pretok *p, const char *name, const char **canon, bool *ignore_merges,
                         sk_err *e) {
    const char *c = NULL;
    *ignore_merges = false;
    if (!strcmp(name, "deepseek-v3"))
        c = "deepseek-v3";
    else if (!strcmp(name, "deepseek-llm"))
        c = "deepseek-llm";
    else if (!strcmp(name, "deepseek-coder"))
        c = "deepseek-coder";
    else if (!strcmp(name, "qwen2") || !strcmp(name, "deepseek-r1-qwen"))
        c = "qwen2";
    else if (!strcmp(name, "llama-bpe") || !strcmp(name, "llama3")) {
        c = "llama-bpe";
        *ignore_merges = true;
    } else if (!strcmp(name, "gpt-2") || !strcmp(name, "gpt2") || !strcmp(name, "default"))
        c = "gpt2";
    if (!c)
        return sk_err_set(
            e, SK_ERR_UNSUPPORTED,
            "pre-tokenizer \"%s\" is not supported (known: deepseek-v3, deepseek-llm, "
            "deepseek-coder, deepseek-r1-qwen, qwen2, llama-bpe, llama3, gpt2)",
            name);
    *canon = c;
    for (const char *const *pp = tok_pretok_patterns(c); *pp; pp++) {
        int rc = tok_pretok_add(p, *pp, strlen(*pp), TOK_SPLIT_ISOLATED, false, e);
        if (rc) return rc;
    }
    return SK_OK;
}

/* Rewrites `\s`/`\S` into explicit White_Space classes. Returns a malloc'd pattern. */
static int rewrite_ws(const char *pat, size_t len, char **out, size_t *out_len, sk_err *e) {
    size_t ws = strlen(WS_BODY), cap;
    if (!sk_mul_ok(len, ws + 4, &cap) || !sk_add_ok(cap, 1, &cap))
        return sk_err_set(e, SK_ERR_RANGE, "regex too long");
    char *o = sk_malloc(cap, e);
    if (!o) return e ? e->code : SK_ERR_NOMEM;
    size_t k = 0;
    bool in_class = false;
    for (size_t i = 0; i < len; i++) {
        char c = pat[i];
        if (c == '\\' && i + 1 < len) {
            char d = pat[i + 1];
            if (d == 's' || d == 'S') {
                if (in_class && d == 'S') {
                    free(o);
                    return sk_err_set(
                        e, SK_ERR_UNSUPPORTED,
                        "regex \"%.*s\": \\S inside a character class is not supported", (int)len,
                        pat);
                }
                if (!in_class) o[k++] = '[';
                if (d == 'S') o[k++] = '^';
                memcpy(o + k, WS_BODY, ws);
                k += ws;
                if (!in_class) o[k++] = ']';
            } else {
                o[k++] = c;
                o[k++] = d;
            }
            i++;
            continue;
        }
        if (!in_class && c == '[') {
            in_class = true;
            o[k++] = c;
            /* a ']' right after '[' or '[^' is literal */
            if (i + 1 < len && pat[i + 1] == '^') o[k++] = pat[++i];
            if (i + 1 < len && pat[i + 1] == ']') o[k++] = pat[++i];
            continue;
        }
        if (in_class && c == ']') in_class = false;
        o[k++] = c;
    }
    o[k] = 0;
    *out = o;
    *out_len = k;
    return SK_OK;
}

int tok_pretok_add(tok_pretok *p, const char *pattern, size_t len, tok_split_behavior b,
                   bool invert, sk_err *e) {
    if (p->n_steps >= TOK_MAX_STEPS)
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "pre-tokenizer: more than %d split steps",
                          TOK_MAX_STEPS);
    char *pat = NULL;
    size_t plen = 0;
    int rc = rewrite_ws(pattern, len, &pat, &plen, e);
    if (rc) return rc;
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    pcre2_code *re = pcre2_compile(
        (PCRE2_SPTR)pat, plen, PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_UTF_CHECK,
        &errcode, &erroff, NULL);
    free(pat);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof msg);
        return sk_err_set(e, SK_ERR_FORMAT, "pre-tokenizer regex \"%.*s\": %s (near offset %zu)",
                          (int)(len > 200 ? 200 : len), pattern, (const char *)msg, (size_t)erroff);
    }
    tok_step *ns = realloc(p->steps, sizeof(*ns) * (size_t)(p->n_steps + 1));
    if (!ns) {
        pcre2_code_free(re);
        return sk_err_set(e, SK_ERR_NOMEM, "out of memory adding a pre-tokenizer step");
    }
    p->steps = ns;
    tok_step *s = &p->steps[p->n_steps++];
    s->re = re;
    s->jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
    s->behavior = b;
    s->invert = invert;
    /* match data large enough for any step: we only read group 0 */
    if (!p->md) {
        p->md = pcre2_match_data_create(1, NULL);
        if (!p->md) return sk_err_set(e, SK_ERR_NOMEM, "out of memory (PCRE2 match data)");
    }
    return SK_OK;
}

void tok_pretok_free(tok_pretok *p) {
    for (int i = 0; i < p->n_steps; i++) pcre2_code_free(p->steps[i].re);
    free(p->steps);
    if (p->md) pcre2_match_data_free(p->md);
    for (int i = 0; i < TOK_MAX_STEPS; i++) free(p->lvl[i]);
    free(p->seg);
    memset(p, 0, sizeof *p);
}

static int grow_slow(void **buf, size_t *cap, size_t need, size_t elem, sk_err *e) {
    size_t nc = *cap ? *cap : 64, bytes;
    while (nc < need) nc *= 2;
    if (!sk_mul_ok(nc, elem, &bytes))
        return sk_err_set(e, SK_ERR_RANGE, "pre-tokenizer: too many pieces");
    void *nb = realloc(*buf, bytes);
    if (!nb) return sk_err_set(e, SK_ERR_NOMEM, "pre-tokenizer: out of memory");
    *buf = nb;
    *cap = nc;
    return SK_OK;
}

static inline int grow(void **buf, size_t *cap, size_t need, size_t elem, sk_err *e) {
    return need <= *cap ? SK_OK : grow_slow(buf, cap, need, elem, e);
}

static inline size_t utf8_adv(const uint8_t *s, size_t n) {
    int l = sk_utf8_seq_len(s, n);
    return l > 0 ? (size_t)l : 1;
}

/* Splits piece [off, off+len) of text by step s, appending pieces to p->b (count *nb). */
/* Splits piece [off, off+len) of text by step s (any behaviour) into the buffer of level lvl. */
static int split_piece(tok_pretok *p, int lvl, const tok_step *s, const char *text, size_t off,
                       size_t len, size_t *nb, sk_err *e) {
    const uint8_t *subj = (const uint8_t *)text + off;
    size_t nseg = 0, pos = 0, prev = 0;
    int rc;
    while (pos <= len) {
        int m = s->jit ? pcre2_jit_match(s->re, subj, len, pos, 0, p->md, NULL)
                       : pcre2_match(s->re, subj, len, pos, PCRE2_NO_UTF_CHECK, p->md, NULL);
        if (m == PCRE2_ERROR_NOMATCH) break;
        if (m < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(m, msg, sizeof msg);
            return sk_err_set(e, SK_ERR_INVALID, "pre-tokenizer regex match failed: %s",
                              (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
        size_t ms = ov[0], me = ov[1];
        if (me <= ms) { /* empty match: skip one character */
            if (ms >= len) break;
            pos = ms + utf8_adv(subj + ms, len - ms);
            continue;
        }
        if ((rc = grow((void **)&p->seg, &p->cap_seg, nseg + 2, sizeof(*p->seg), e))) return rc;
        if (ms > prev) {
            p->seg[nseg].off = prev;
            p->seg[nseg].len = ms - prev;
            p->seg[nseg++].m = false;
        }
        p->seg[nseg].off = ms;
        p->seg[nseg].len = me - ms;
        p->seg[nseg++].m = true;
        prev = pos = me;
    }
    if ((rc = grow((void **)&p->seg, &p->cap_seg, nseg + 1, sizeof(*p->seg), e))) return rc;
    if (prev < len) {
        p->seg[nseg].off = prev;
        p->seg[nseg].len = len - prev;
        p->seg[nseg++].m = false;
    }
    if (s->invert)
        for (size_t i = 0; i < nseg; i++) p->seg[i].m = !p->seg[i].m;
    if ((rc = grow((void **)&p->lvl[lvl], &p->lvl_cap[lvl], *nb + nseg, sizeof(tok_span), e)))
        return rc;
    tok_span *out = p->lvl[lvl];
    size_t k = *nb, first = *nb;
    bool prev_m = false;
    switch (s->behavior) {
    case TOK_SPLIT_ISOLATED:
        for (size_t i = 0; i < nseg; i++) out[k++] = (tok_span){off + p->seg[i].off, p->seg[i].len};
        break;
    case TOK_SPLIT_REMOVED:
        for (size_t i = 0; i < nseg; i++)
            if (!p->seg[i].m) out[k++] = (tok_span){off + p->seg[i].off, p->seg[i].len};
        break;
    case TOK_SPLIT_MERGED_PREV:
        for (size_t i = 0; i < nseg; i++) {
            if (p->seg[i].m && !prev_m && k > first)
                out[k - 1].len = off + p->seg[i].off + p->seg[i].len - out[k - 1].off;
            else
                out[k++] = (tok_span){off + p->seg[i].off, p->seg[i].len};
            prev_m = p->seg[i].m;
        }
        break;
    case TOK_SPLIT_MERGED_NEXT:
        /* walk backwards: a match is prepended to the piece that follows it */
        for (size_t j = nseg; j-- > 0;) {
            if (p->seg[j].m && !prev_m && k > first) {
                size_t end = out[k - 1].off + out[k - 1].len;
                out[k - 1].off = off + p->seg[j].off;
                out[k - 1].len = end - out[k - 1].off;
            } else {
                out[k++] = (tok_span){off + p->seg[j].off, p->seg[j].len};
            }
            prev_m = p->seg[j].m;
        }
        for (size_t a = first, b = k - 1; k > first && a < b; a++, b--) {
            tok_span t = out[a];
            out[a] = out[b];
            out[b] = t;
        }
        break;
    case TOK_SPLIT_CONTIGUOUS:
        for (size_t i = 0; i < nseg; i++) {
            if (p->seg[i].m == prev_m && k > first)
                out[k - 1].len = off + p->seg[i].off + p->seg[i].len - out[k - 1].off;
            else
                out[k++] = (tok_span){off + p->seg[i].off, p->seg[i].len};
            prev_m = p->seg[i].m;
        }
        break;
    }
    *nb = k;
    return SK_OK;
}

/* Applies steps lvl.. to piece [off, off+len) depth first: each piece of a step is split by
 * the next step right away, so memory stays proportional to one piece, not to the text. */
static int run_level(tok_pretok *p, int lvl, const char *text, size_t off, size_t len,
                     tok_word_fn cb, void *ctx, sk_err *e) {
    if (lvl == p->n_steps) return cb(ctx, off, len, e);
    const tok_step *s = &p->steps[lvl];
    int rc;
    if (s->behavior != TOK_SPLIT_ISOLATED || s->invert) { /* materialize, then recurse */
        size_t n = 0;
        if ((rc = split_piece(p, lvl, s, text, off, len, &n, e))) return rc;
        for (size_t i = 0; i < n; i++) {
            tok_span sp = p->lvl[lvl][i]; /* deeper levels use their own buffers */
            if ((rc = run_level(p, lvl + 1, text, sp.off, sp.len, cb, ctx, e))) return rc;
        }
        return SK_OK;
    }
    /* Isolated: gaps and matches in order, each passed down as soon as it is found */
    const uint8_t *subj = (const uint8_t *)text + off;
    size_t pos = 0, prev = 0;
    while (pos <= len) {
        int m = s->jit ? pcre2_jit_match(s->re, subj, len, pos, 0, p->md, NULL)
                       : pcre2_match(s->re, subj, len, pos, PCRE2_NO_UTF_CHECK, p->md, NULL);
        if (m == PCRE2_ERROR_NOMATCH) break;
        if (m < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(m, msg, sizeof msg);
            return sk_err_set(e, SK_ERR_INVALID, "pre-tokenizer regex match failed: %s",
                              (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(p->md);
        size_t ms = ov[0], me = ov[1]; /* copied: deeper levels reuse the match data */
        if (me <= ms) {                /* empty match: skip one character */
            if (ms >= len) break;
            pos = ms + utf8_adv(subj + ms, len - ms);
            continue;
        }
        if (ms > prev && (rc = run_level(p, lvl + 1, text, off + prev, ms - prev, cb, ctx, e)))
            return rc;
        if ((rc = run_level(p, lvl + 1, text, off + ms, me - ms, cb, ctx, e))) return rc;
        prev = pos = me;
    }
    if (prev < len) return run_level(p, lvl + 1, text, off + prev, len - prev, cb, ctx, e);
    return SK_OK;
}

int tok_pretok_each(tok_pretok *p, const char *text, size_t len, tok_word_fn cb, void *ctx,
                    sk_err *e) {
    if (!len) return SK_OK;
    if (p->n_steps > TOK_MAX_STEPS)
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "pre-tokenizer has %d steps (at most %d)",
                          p->n_steps, TOK_MAX_STEPS);
    return run_level(p, 0, text, 0, len, cb, ctx, e);
}
