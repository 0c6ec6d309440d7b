/* generate.c — prefill, decode, stop conditions, streaming and prefix reuse (sk_generate.h). */
#include "sk_generate.h"

#include <stdlib.h>
#include <string.h>

struct sk_gen {
    sk_model *m;
    sk_tokenizer *tok;
    sk_model_ctx *ctx;
    int n_ctx, n_vocab;
    int32_t *cached; /* n_cached tokens held by the cache; capacity n_ctx */
    int n_cached;
    float *logits; /* n_vocab */
    sk_tokenizer_decoder *dec;
    int32_t eog[4];
    int n_eog;
    int32_t think_open, think_close;
    sk_gen_token_fn token_fn;
    void *token_ud;
    /* MTP self-speculation (allocated on the first run with params.mtp) */
    int n_embd;
    float *hid; /* [hid_rows][n_embd] hidden states of a prefill chunk */
    int hid_rows;
    float *pend; /* [4][n_embd] hidden of main positions mtp_pos .. n_cached-1 */
    int n_pend;
    float *vlog;   /* [2][n_vocab] verify logits */
    float *vhid;   /* [2][n_embd] verify hidden states */
    float *mlog;   /* [n_vocab] MTP logits */
    bool spec;     /* the cache holds an unconfirmed draft after the last cached token */
    bool mtp_live; /* the MTP slot is in step (pend valid) */
    int32_t draft;
};

const char *sk_gen_stop_name(sk_gen_stop s) {
    switch (s) {
    case SK_GEN_STOP_NONE:
        return "none";
    case SK_GEN_STOP_EOS:
        return "end of sequence";
    case SK_GEN_STOP_STRING:
        return "stop string";
    case SK_GEN_STOP_LENGTH:
        return "length limit";
    case SK_GEN_STOP_CONTEXT:
        return "context full";
    case SK_GEN_STOP_CANCELLED:
        return "cancelled";
    }
    return "?";
}

void sk_gen_params_init(sk_gen_params *p) {
    memset(p, 0, sizeof *p);
    p->n_predict = -1;
    p->n_chunk = 0;
    p->sampling = sk_sampler_greedy_params();
    p->think_budget = -1;
}

int sk_gen_new(sk_model *m, sk_tokenizer *tok, const sk_model_ctx_params *cp, sk_gen **out,
               sk_err *e) {
    *out = NULL;
    if (!m || !tok) return sk_err_set(e, SK_ERR_INVALID, "generate: no model or tokenizer");
    sk_gen *g = sk_calloc(1, sizeof *g, e);
    if (!g) return SK_ERR_NOMEM;
    g->m = m;
    g->tok = tok;
    sk_model_ctx_params def;
    sk_model_ctx_params_init(&def);
    int rc = sk_model_ctx_new(m, cp ? cp : &def, &g->ctx, e);
    if (rc) goto fail;
    g->n_ctx = sk_model_ctx_capacity(g->ctx);
    g->n_vocab = sk_model_get_config(m)->n_vocab;
    if (sk_tokenizer_n_vocab(tok) > g->n_vocab) {
        rc = sk_err_set(e, SK_ERR_FORMAT,
                        "generate: the tokenizer has %d tokens but the model only %d logits",
                        (int)sk_tokenizer_n_vocab(tok), g->n_vocab);
        goto fail;
    }
    g->cached = sk_calloc((size_t)g->n_ctx, sizeof *g->cached, e);
    g->logits = sk_calloc((size_t)g->n_vocab, sizeof *g->logits, e);
    if (!g->cached || !g->logits) {
        rc = SK_ERR_NOMEM;
        goto fail;
    }
    g->dec = sk_tokenizer_decoder_new(tok, false, e);
    if (!g->dec) {
        rc = e && e->code ? e->code : SK_ERR_NOMEM;
        goto fail;
    }
    int32_t eos = sk_tokenizer_eos(tok);
    if (eos >= 0) g->eog[g->n_eog++] = eos;
    int32_t eot = sk_tokenizer_find(tok, "<|EOT|>");
    if (eot >= 0 && eot != eos) g->eog[g->n_eog++] = eot;
    g->think_open = sk_tokenizer_find(tok, "<think>");
    g->think_close = sk_tokenizer_find(tok, "</think>");
    *out = g;
    return SK_OK;
fail:
    sk_gen_free(g);
    return rc;
}

void sk_gen_free(sk_gen *g) {
    if (!g) return;
    sk_model_ctx_free(g->ctx);
    sk_tokenizer_decoder_free(g->dec);
    free(g->cached);
    free(g->logits);
    free(g->hid);
    free(g->pend);
    free(g->vlog);
    free(g->vhid);
    free(g->mlog);
    free(g);
}

sk_model_ctx *sk_gen_ctx(sk_gen *g) {
    return g->ctx;
}

int sk_gen_n_ctx(const sk_gen *g) {
    return g->n_ctx;
}

const int32_t *sk_gen_cached(const sk_gen *g, int *n) {
    *n = g->n_cached;
    return g->cached;
}

void sk_gen_reset(sk_gen *g) {
    sk_model_ctx_reset(g->ctx);
    g->n_cached = 0;
    g->n_pend = 0;
    g->spec = false;
}

void sk_gen_set_token_fn(sk_gen *g, sk_gen_token_fn fn, void *ud) {
    g->token_fn = fn;
    g->token_ud = ud;
}

/* ---- streamed text with stop strings -------------------------------------------------- */

typedef struct textbuf {
    char *s;
    size_t len, cap, emitted;
} textbuf;

static int tb_append(textbuf *t, const char *s, size_t n, sk_err *e) {
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1) cap *= 2;
        char *p = realloc(t->s, cap);
        if (!p) return sk_err_set(e, SK_ERR_NOMEM, "generate: out of memory (text)");
        t->s = p;
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = 0;
    return SK_OK;
}

/* Emits text[emitted, upto) to the callback. Returns non-zero if the callback asked to stop. */
static int tb_emit(textbuf *t, size_t upto, sk_gen_piece_fn fn, void *ud) {
    int stop = 0;
    if (upto > t->emitted && fn) stop = fn(ud, t->s + t->emitted, upto - t->emitted);
    if (upto > t->emitted) t->emitted = upto;
    return stop;
}

/* After new text was appended: finds a stop string (returns its offset in *hit), or computes
 * how much can be emitted safely (everything but a suffix that could start a stop string). */
static size_t tb_safe(const textbuf *t, const sk_gen_params *p, size_t from, bool *found,
                      size_t *hit) {
    *found = false;
    size_t safe = t->len;
    for (int i = 0; i < SK_GEN_MAX_STOP && p->stop[i]; i++) {
        const char *st = p->stop[i];
        size_t sl = strlen(st);
        if (!sl) continue;
        /* search from a little before the new text so a stop string split across pieces
         * is found */
        size_t start = from > sl ? from - sl : 0;
        if (start < t->emitted) start = t->emitted;
        const char *f = t->len > start ? memmem(t->s + start, t->len - start, st, sl) : NULL;
        if (f) {
            size_t off = (size_t)(f - t->s);
            if (!*found || off < *hit) *hit = off;
            *found = true;
            continue;
        }
        /* longest suffix of the text that is a proper prefix of st */
        size_t maxk = sl - 1 < t->len - t->emitted ? sl - 1 : t->len - t->emitted;
        for (size_t k = maxk; k > 0; k--) {
            if (!memcmp(t->s + t->len - k, st, k)) {
                if (t->len - k < safe) safe = t->len - k;
                break;
            }
        }
    }
    return safe;
}

/* ---- the loop ------------------------------------------------------------------------- */

static bool is_eog(const sk_gen *g, int32_t id) {
    for (int i = 0; i < g->n_eog; i++)
        if (g->eog[i] == id) return true;
    return false;
}

static bool cancelled(const sk_gen_params *p) {
    return p->cancel && *p->cancel;
}

static int eval_tokens(sk_gen *g, const int32_t *t, int n, bool want_logits, sk_err *e) {
    int rc = sk_model_eval(g->ctx, t, n, want_logits ? g->logits : NULL, false, e);
    if (rc) return rc;
    memcpy(g->cached + g->n_cached, t, (size_t)n * sizeof *t);
    g->n_cached += n;
    return SK_OK;
}

/* ---- MTP self-speculation ------------------------------------------------------------ */

static int mtp_setup(sk_gen *g, const sk_gen_params *p, int chunk, sk_err *e) {
    const sk_model_config *c = sk_model_get_config(g->m);
    if (c->arch != SK_ARCH_DEEPSEEK2 || c->n_mtp < 1)
        return sk_err_set(e, SK_ERR_INVALID,
                          "generate: MTP speculative decoding needs a model with an MTP module "
                          "(num_nextn_predict_layers >= 1); this one has none");
    if (p->sampling.temperature > 0)
        return sk_err_set(e, SK_ERR_INVALID,
                          "generate: MTP speculative decoding supports greedy decoding only "
                          "(temperature 0), not temperature %g",
                          (double)p->sampling.temperature);
    g->n_embd = c->n_embd;
    const size_t E = (size_t)c->n_embd, V = (size_t)g->n_vocab;
    if (!g->pend) {
        g->pend = sk_calloc(4 * E, sizeof(float), e);
        g->vlog = sk_calloc(2 * V, sizeof(float), e);
        g->vhid = sk_calloc(2 * E, sizeof(float), e);
        g->mlog = sk_calloc(V, sizeof(float), e);
        if (!g->pend || !g->vlog || !g->vhid || !g->mlog) return SK_ERR_NOMEM;
    }
    /* hidden rows kept per step: at most ~256 tokens, a multiple of n_batch */
    int nb = sk_model_ctx_n_batch(g->ctx), rows = nb * (256 / nb > 1 ? 256 / nb : 1);
    if (rows > chunk) rows = chunk;
    if (rows != g->hid_rows) {
        free(g->hid);
        g->hid_rows = 0;
        g->hid = sk_calloc((size_t)rows * E, sizeof(float), e);
        if (!g->hid) return SK_ERR_NOMEM;
        g->hid_rows = rows;
    }
    return SK_OK;
}

static void pend_push(sk_gen *g, const float *h) {
    const size_t E = (size_t)g->n_embd;
    if (g->n_pend == 4) { /* cannot happen (at most 3 rows wait); keep the newest anyway */
        g->mtp_live = false;
        return;
    }
    memcpy(g->pend + (size_t)g->n_pend * E, h, E * sizeof(float));
    g->n_pend++;
}

/* Prefill chunk [i, i+n) of the prompt with MTP: main model with every hidden row, then the
 * MTP block over the positions whose next token is known; the last prompt position waits in
 * pend. want_logits: the chunk ends the prompt (logits of its last row into g->logits). The
 * hidden rows are kept for g->hid_rows tokens at a time, a multiple of the context's n_batch,
 * so the forward chunks (and thus the logits) are those of one sk_model_eval over [i, i+n). */
static int mtp_prefill(sk_gen *g, const int32_t *prompt, int n_prompt, int i, int n,
                       bool want_logits, sk_err *e) {
    const size_t E = (size_t)g->n_embd;
    for (int s = i; s < i + n;) {
        int m = i + n - s < g->hid_rows ? i + n - s : g->hid_rows;
        int rc = sk_model_eval_ex(g->ctx, prompt + s, m, NULL, true, g->hid, e);
        if (rc) return rc;
        memcpy(g->cached + g->n_cached, prompt + s, (size_t)m * sizeof *prompt);
        g->n_cached += m;
        int known = s + m < n_prompt ? m : m - 1; /* rows whose next token is in the prompt */
        if (g->mtp_live && known > 0) {
            rc = sk_model_mtp_eval(g->ctx, 1, prompt + s + 1, g->hid, known, NULL, false, NULL, e);
            if (rc) return sk_err_prefix(e, "MTP prefill");
        }
        if (known < m) {
            g->n_pend = 0;
            pend_push(g, g->hid + (size_t)(m - 1) * E);
        }
        if (want_logits && s + m == i + n) {
            rc = sk_model_logits_from_hidden(g->ctx, g->hid + (size_t)(m - 1) * E, 1, g->logits, e);
            if (rc) return rc;
        }
        s += m;
    }
    return SK_OK;
}

static int32_t argmax(const float *x, int n) {
    return (int32_t)sk_argmax(x, n);
}

/* The decode step for a chosen token tok (instead of evaluating it alone): confirms or
 * rejects a pending draft, then (draft_ok) drafts the token after tok with the MTP module and
 * verifies [tok, draft] in one main-model call. Leaves g->logits = the logits after tok. */
static int mtp_step(sk_gen *g, int32_t tok, bool draft_ok, sk_gen_stats *st, sk_err *e) {
    const size_t E = (size_t)g->n_embd, V = (size_t)g->n_vocab;
    int rc;
    if (g->spec) {
        g->spec = false;
        if (tok == g->draft) { /* accepted: the cache already holds it */
            g->cached[g->n_cached++] = tok;
            memcpy(g->logits, g->vlog + V, V * sizeof(float));
            pend_push(g, g->vhid + E);
            st->n_accept++;
            return SK_OK;
        }
        rc = sk_model_ctx_truncate(g->ctx, g->n_cached, e);
        if (rc) return rc;
    }
    if (draft_ok && g->mtp_live && g->n_pend > 0 && g->n_cached + 2 <= g->n_ctx) {
        /* MTP positions mtp_pos .. n_cached-1 get the next tokens cached[..] and tok */
        int n = g->n_pend, mp = sk_model_ctx_mtp_pos(g->ctx, 1);
        int32_t toks[4];
        if (mp + n != g->n_cached) {
            g->mtp_live = false;
        } else {
            for (int j = 0; j < n; j++) toks[j] = j + 1 < n ? g->cached[mp + j + 1] : tok;
            rc = sk_model_mtp_eval(g->ctx, 1, toks, g->pend, n, g->mlog, false, NULL, e);
            if (rc) return sk_err_prefix(e, "MTP draft");
            g->n_pend = 0;
            int32_t pair[2] = {tok, argmax(g->mlog, g->n_vocab)};
            rc = sk_model_eval_ex(g->ctx, pair, 2, g->vlog, true, g->vhid, e);
            if (rc) return rc;
            st->n_decode_evals++;
            st->n_draft++;
            g->cached[g->n_cached++] = tok;
            memcpy(g->logits, g->vlog, V * sizeof(float));
            pend_push(g, g->vhid);
            g->draft = pair[1];
            g->spec = true;
            return SK_OK;
        }
    }
    /* no draft: one token, the MTP slot falls behind for the rest of this run */
    g->mtp_live = false;
    rc = sk_model_eval(g->ctx, &tok, 1, g->logits, false, e);
    if (rc) return rc;
    st->n_decode_evals++;
    g->cached[g->n_cached++] = tok;
    return SK_OK;
}

int sk_gen_run(sk_gen *g, const int32_t *prompt, int n_prompt, const sk_gen_params *p,
               sk_gen_piece_fn on_piece, void *ud, sk_gen_stats *stats, sk_err *e) {
    sk_gen_stats st;
    memset(&st, 0, sizeof st);
    sk_sampler *smp = NULL;
    int32_t *forced = NULL;
    size_t n_forced = 0, i_forced = 0;
    textbuf tb = {0};
    int rc = SK_OK;
    if (stats) *stats = st;
    if (!prompt || n_prompt < 1)
        return sk_err_set(e, SK_ERR_INVALID, "generate: the prompt is empty (at least one token)");
    if (n_prompt > g->n_ctx)
        return sk_err_set(e, SK_ERR_RANGE,
                          "generate: the prompt has %d tokens but the context holds only %d "
                          "(raise the context size or shorten the prompt)",
                          n_prompt, g->n_ctx);
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= g->n_vocab)
            return sk_err_set(e, SK_ERR_RANGE,
                              "generate: prompt token %d is id %d, outside [0, %d)", i,
                              (int)prompt[i], g->n_vocab);
    rc = sk_sampler_params_check(&p->sampling, e);
    if (rc) return rc;
    st.n_prompt = n_prompt;

    /* a draft left in the cache by an earlier run is not part of it */
    if (g->spec) {
        g->spec = false;
        rc = sk_model_ctx_truncate(g->ctx, g->n_cached, e);
        if (rc) return rc;
    }
    int chunk = p->n_chunk > 0 ? p->n_chunk : n_prompt;
    if (p->mtp) {
        rc = mtp_setup(g, p, chunk < n_prompt ? chunk : n_prompt, e);
        if (rc) return rc;
        g->n_pend = 0;
        g->mtp_live = true;
    }

    /* prefix reuse */
    int k = 0;
    while (k < g->n_cached && k < n_prompt && g->cached[k] == prompt[k]) k++;
    if (k == n_prompt) k = n_prompt - 1; /* evaluate at least the last token for its logits */
    /* MTP needs the hidden states of the positions its slot has not seen: re-evaluate them */
    if (p->mtp && k > sk_model_ctx_mtp_pos(g->ctx, 1)) k = sk_model_ctx_mtp_pos(g->ctx, 1);
    if (k < g->n_cached) {
        rc = sk_model_ctx_truncate(g->ctx, k, e);
        if (rc) goto done;
        g->n_cached = k;
    }
    st.n_reused = k;

    /* prefill */
    double t0 = sk_time_sec();
    for (int i = k; i < n_prompt; i += chunk) {
        if (cancelled(p)) {
            st.stop = SK_GEN_STOP_CANCELLED;
            st.t_prompt = sk_time_sec() - t0;
            goto done;
        }
        int n = n_prompt - i < chunk ? n_prompt - i : chunk;
        rc = p->mtp ? mtp_prefill(g, prompt, n_prompt, i, n, i + n == n_prompt, e)
                    : eval_tokens(g, prompt + i, n, i + n == n_prompt, e);
        if (rc) {
            sk_err_prefix(e, "generate: prompt tokens %d..%d", i, i + n - 1);
            goto done;
        }
        st.n_eval += n;
    }
    st.t_prompt = sk_time_sec() - t0;

    smp = sk_sampler_new(&p->sampling, g->n_vocab, e);
    if (!smp) {
        rc = e && e->code ? e->code : SK_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < n_prompt; i++) {
        rc = sk_sampler_accept(smp, prompt[i], e);
        if (rc) goto done;
    }
    sk_tokenizer_decoder_reset(g->dec);

    /* decode */
    bool in_reasoning = p->starts_in_reasoning, budget_spent = false;
    int reasoning_sampled = 0;
    t0 = sk_time_sec();
    for (;;) {
        if (cancelled(p)) {
            st.stop = SK_GEN_STOP_CANCELLED;
            break;
        }
        if (p->n_predict >= 0 && st.n_gen >= p->n_predict) {
            st.stop = SK_GEN_STOP_LENGTH;
            break;
        }
        if (in_reasoning && p->think_budget >= 0 && !budget_spent &&
            reasoning_sampled >= p->think_budget) {
            static const char close[] = "\n</think>\n\n";
            free(forced);
            forced = NULL;
            rc = sk_tokenizer_encode(g->tok, close, sizeof close - 1, SK_TOK_PARSE_SPECIAL, &forced,
                                     &n_forced, e);
            if (rc) goto done;
            i_forced = 0;
            budget_spent = true;
        }
        int32_t tok;
        bool is_forced = i_forced < n_forced;
        if (is_forced) {
            tok = forced[i_forced++];
            rc = sk_sampler_accept(smp, tok, e);
        } else {
            rc = sk_sampler_next(smp, g->logits, &tok, e);
        }
        if (rc) goto done;
        if (!is_forced && is_eog(g, tok)) {
            st.stop = SK_GEN_STOP_EOS;
            break;
        }
        st.n_gen++;
        if (in_reasoning) {
            st.n_reasoning++;
            if (!is_forced) reasoning_sampled++;
        }
        if (tok == g->think_open && g->think_open >= 0) in_reasoning = true;
        if (tok == g->think_close && g->think_close >= 0) {
            in_reasoning = false;
            budget_spent = true;
            if (!is_forced) n_forced = i_forced = 0; /* the model closed the block itself */
        }
        if (g->token_fn) g->token_fn(g->token_ud, tok);

        const char *piece;
        size_t plen;
        rc = sk_tokenizer_decoder_push(g->dec, tok, &piece, &plen, e);
        if (rc) goto done;
        size_t from = tb.len;
        rc = tb_append(&tb, piece, plen, e);
        if (rc) goto done;
        bool found;
        size_t hit = 0;
        size_t safe = tb_safe(&tb, p, from, &found, &hit);
        if (found) {
            tb_emit(&tb, hit, on_piece, ud);
            tb.emitted = tb.len; /* the stop string and what follows are dropped */
            st.stop = SK_GEN_STOP_STRING;
            break;
        }
        if (tb_emit(&tb, safe, on_piece, ud)) {
            st.stop = SK_GEN_STOP_CANCELLED;
            break;
        }
        if (p->n_predict >= 0 && st.n_gen >= p->n_predict) {
            st.stop = SK_GEN_STOP_LENGTH; /* no need to evaluate the last token */
            break;
        }
        if (g->n_cached >= g->n_ctx) {
            st.stop = SK_GEN_STOP_CONTEXT;
            break;
        }
        if (p->mtp) {
            /* a draft pays off only if two more tokens may follow */
            bool draft_ok = p->n_predict < 0 || st.n_gen + 2 <= p->n_predict;
            rc = mtp_step(g, tok, draft_ok, &st, e);
        } else {
            rc = eval_tokens(g, &tok, 1, true, e);
            if (!rc) st.n_decode_evals++;
        }
        if (rc) {
            sk_err_prefix(e, "generate: token %d", st.n_gen);
            goto done;
        }
    }
    /* flush what the decoder and the stop-string check held back */
    if (st.stop != SK_GEN_STOP_STRING) {
        const char *piece;
        size_t plen;
        sk_tokenizer_decoder_flush(g->dec, &piece, &plen);
        rc = tb_append(&tb, piece, plen, e);
        if (rc) goto done;
        if (st.stop != SK_GEN_STOP_CANCELLED) tb_emit(&tb, tb.len, on_piece, ud);
    }
    st.t_gen = sk_time_sec() - t0;
done:
    if (g->spec) { /* an unconfirmed draft leaves the cache */
        g->spec = false;
        sk_err e2 = {0};
        int rc2 = sk_model_ctx_truncate(g->ctx, g->n_cached, &e2);
        if (rc2 && !rc) {
            rc = rc2;
            if (e) *e = e2;
        }
    }
    if (stats) *stats = st;
    sk_sampler_free(smp);
    free(forced);
    free(tb.s);
    return rc;
}

typedef struct collect {
    textbuf tb;
    int rc;
} collect;

static int collect_piece(void *ud, const char *text, size_t len) {
    collect *c = ud;
    if (tb_append(&c->tb, text, len, NULL)) c->rc = SK_ERR_NOMEM;
    return c->rc;
}

int sk_gen_run_text(sk_gen *g, const int32_t *prompt, int n_prompt, const sk_gen_params *p,
                    char **out, sk_gen_stats *stats, sk_err *e) {
    collect c = {{0}, 0};
    *out = NULL;
    int rc = sk_gen_run(g, prompt, n_prompt, p, collect_piece, &c, stats, e);
    if (!rc && c.rc) rc = sk_err_set(e, SK_ERR_NOMEM, "generate: out of memory (text)");
    if (!rc && !c.tb.s) rc = tb_append(&c.tb, "", 0, e);
    if (rc) {
        free(c.tb.s);
        return rc;
    }
    *out = c.tb.s;
    return SK_OK;
}
