/* api.c — include/seek.h on top of the model, tokenizer, chat and generation layers.
 *
 * Every public function converts between the public types (seek_*) and the internal ones
 * (sk_*): errors are reported in an internal sk_err and copied into the caller's seek_error;
 * memory handed to the caller comes from malloc (seek_free is free). The reasoning split of
 * streamed output is the chat module's parser (sk_reasoning), fed by sk_gen_run's pieces,
 * exactly as `seek run` / `seek chat` print it. Nothing here prints or exits. */
#include "seek.h"

#include "sk_chat.h"
#include "sk_generate.h"
#include "sk_model.h"
#include "sk_sampler.h"
#include "sk_tokenizer.h"
#include "sk_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert((int)SEEK_ERR_IO == (int)SK_ERR_IO && (int)SEEK_ERR_FORMAT == (int)SK_ERR_FORMAT &&
                   (int)SEEK_ERR_NOMEM == (int)SK_ERR_NOMEM &&
                   (int)SEEK_ERR_INVALID == (int)SK_ERR_INVALID &&
                   (int)SEEK_ERR_UNSUPPORTED == (int)SK_ERR_UNSUPPORTED &&
                   (int)SEEK_ERR_RANGE == (int)SK_ERR_RANGE &&
                   (int)SEEK_ERR_NOTFOUND == (int)SK_ERR_NOTFOUND &&
                   (int)SEEK_ERR_CANCELLED == (int)SK_ERR_INTERRUPTED,
               "seek_status mirrors sk_code");
_Static_assert((int)SEEK_CACHE_F32 == (int)SK_CACHE_F32 &&
                   (int)SEEK_CACHE_F16 == (int)SK_CACHE_F16 &&
                   (int)SEEK_CACHE_BF16 == (int)SK_CACHE_BF16 &&
                   (int)SEEK_CACHE_Q8_0 == (int)SK_CACHE_Q8_0,
               "seek_cache_type mirrors sk_cache_type");
_Static_assert(SEEK_MAX_STOP == SK_GEN_MAX_STOP - 1, "stop list ends with NULL internally");
_Static_assert(SEEK_ERROR_MAX == SK_ERR_MSG_MAX, "same message size");

struct seek_tokenizer {
    sk_tokenizer *tok;
};

struct seek_model {
    sk_model *m;
    seek_tokenizer tok;
    seek_model_params params;
    sk_chat_kind kind;             /* SK_CHAT_UNKNOWN when no template was recognised */
    char kind_err[SK_ERR_MSG_MAX]; /* why */
};

struct seek_session {
    seek_model *model;
    sk_gen *gen;
};

/* ---- errors ------------------------------------------------------------------------------ */

/* Copies an internal error into the caller's; returns the code. */
static int fail(seek_error *err, int rc, const sk_err *e) {
    if (rc == SK_OK) rc = SK_ERR_INVALID;
    if (err) {
        err->code = rc;
        snprintf(err->message, sizeof err->message, "%s",
                 e && e->msg[0] ? e->msg : sk_code_name(rc));
    }
    return rc;
}

#define FAILF(err, code, ...)                                                                      \
    do {                                                                                           \
        sk_err fe_ = {0};                                                                          \
        sk_err_set(&fe_, (code), __VA_ARGS__);                                                     \
        return fail((err), (code), &fe_);                                                          \
    } while (0)

const char *seek_status_name(int status) {
    switch (status) {
    case SEEK_OK:
        return "ok";
    case SEEK_ERR_IO:
        return "i/o error";
    case SEEK_ERR_FORMAT:
        return "format error";
    case SEEK_ERR_NOMEM:
        return "out of memory";
    case SEEK_ERR_INVALID:
        return "invalid argument";
    case SEEK_ERR_UNSUPPORTED:
        return "unsupported";
    case SEEK_ERR_RANGE:
        return "out of range";
    case SEEK_ERR_NOTFOUND:
        return "not found";
    case SEEK_ERR_CANCELLED:
        return "cancelled";
    }
    return "unknown";
}

void seek_free(void *p) {
    free(p);
}

void seek_log_quiet(void) {
    sk_log_set_level(SK_LOG_ERROR);
}

/* ---- models -------------------------------------------------------------------------------- */

void seek_model_params_init(seek_model_params *p) {
    memset(p, 0, sizeof *p);
    p->cache_type = SEEK_CACHE_F32;
}

static const char *arch_name(sk_arch a) {
    const char *n = sk_arch_name(a);
    return n ? n : "unknown";
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcmp(s + n - k, suffix);
}

int seek_model_open(const char *path, const seek_model_params *params, seek_model **out,
                    seek_error *err) {
    if (out) *out = NULL;
    if (!out) FAILF(err, SK_ERR_INVALID, "seek_model_open: out is NULL");
    if (!path || !*path) FAILF(err, SK_ERR_INVALID, "seek_model_open: no model path given");
    seek_model_params p;
    if (params)
        p = *params;
    else
        seek_model_params_init(&p);
    if (p.n_threads > 1024)
        FAILF(err, SK_ERR_INVALID, "seek_model_params.n_threads %d is above 1024", p.n_threads);
    if (p.n_ctx > (1 << 24))
        FAILF(err, SK_ERR_INVALID, "seek_model_params.n_ctx %d is above %d", p.n_ctx, 1 << 24);
    if (p.cache_type < SEEK_CACHE_F32 || p.cache_type > SEEK_CACHE_Q8_0)
        FAILF(err, SK_ERR_INVALID,
              "seek_model_params.cache_type %d is not a seek_cache_type (0..3)", p.cache_type);

    sk_err e = {0};
    int rc;
    seek_model *m = sk_calloc(1, sizeof *m, &e);
    if (!m) return fail(err, SK_ERR_NOMEM, &e);
    m->params = p;
    m->params.tokenizer = NULL; /* the caller's strings are not kept */
    m->params.chat_template = NULL;
    sk_model_opts mo;
    sk_model_opts_init(&mo);
    mo.n_threads = p.n_threads;
    mo.no_mmap = p.no_mmap != 0;
    rc = sk_model_open(path, &mo, &m->m, &e);
    if (rc) goto fail;
    const char *tp = p.tokenizer ? p.tokenizer : path;
    bool gguf = !sk_is_dir(tp) && !ends_with(tp, ".json");
    rc = gguf ? sk_tokenizer_load_gguf_file(tp, &m->tok.tok, &e)
              : sk_tokenizer_load_hf(tp, &m->tok.tok, &e);
    if (rc) {
        sk_err_prefix(&e, "%s: tokenizer", tp);
        goto fail;
    }
    const sk_model_config *cfg = sk_model_get_config(m->m);
    if (sk_tokenizer_n_vocab(m->tok.tok) > cfg->n_vocab) {
        rc = sk_err_set(&e, SK_ERR_INVALID,
                        "%s: the tokenizer has %d tokens, more than the model's %d", tp,
                        (int)sk_tokenizer_n_vocab(m->tok.tok), cfg->n_vocab);
        goto fail;
    }
    m->kind = SK_CHAT_UNKNOWN;
    if (p.chat_template) {
        rc = sk_chat_kind_from_name(p.chat_template, &m->kind, &e);
        if (rc) {
            sk_err_prefix(&e, "seek_model_params.chat_template");
            goto fail;
        }
    } else {
        sk_err ke = {0};
        const char *tmpl = sk_tokenizer_chat_template(m->tok.tok);
        if (!tmpl)
            snprintf(m->kind_err, sizeof m->kind_err,
                     "%s has no chat template (set seek_model_params.chat_template)", path);
        else if (sk_chat_template_detect(tmpl, arch_name(cfg->arch), &m->kind, &ke))
            snprintf(m->kind_err, sizeof m->kind_err, "%s", ke.msg);
    }
    *out = m;
    return SEEK_OK;
fail:
    seek_model_close(m);
    return fail(err, rc, &e);
}

void seek_model_close(seek_model *m) {
    if (!m) return;
    sk_tokenizer_free(m->tok.tok);
    sk_model_close(m->m);
    free(m);
}

const char *seek_model_arch(const seek_model *m) {
    return m ? arch_name(sk_model_get_config(m->m)->arch) : "unknown";
}

int32_t seek_model_n_vocab(const seek_model *m) {
    return m ? sk_model_get_config(m->m)->n_vocab : 0;
}

int32_t seek_model_n_ctx_train(const seek_model *m) {
    return m ? sk_model_get_config(m->m)->max_ctx : 0;
}

int32_t seek_model_n_layer(const seek_model *m) {
    return m ? sk_model_get_config(m->m)->n_layer : 0;
}

int32_t seek_model_n_embd(const seek_model *m) {
    return m ? sk_model_get_config(m->m)->n_embd : 0;
}

int seek_model_is_reasoner(const seek_model *m) {
    return m && m->kind != SK_CHAT_UNKNOWN && sk_chat_kind_forces_think(m->kind);
}

const char *seek_model_chat_template(const seek_model *m) {
    return m && m->kind != SK_CHAT_UNKNOWN ? sk_chat_kind_name(m->kind) : NULL;
}

/* ---- tokenizer ------------------------------------------------------------------------------ */

seek_tokenizer *seek_model_tokenizer(seek_model *m) {
    return m ? &m->tok : NULL;
}

int32_t seek_tokenizer_n_vocab(const seek_tokenizer *t) {
    return t ? sk_tokenizer_n_vocab(t->tok) : 0;
}

int32_t seek_tokenizer_bos(const seek_tokenizer *t) {
    return t ? sk_tokenizer_bos(t->tok) : -1;
}

int32_t seek_tokenizer_eos(const seek_tokenizer *t) {
    return t ? sk_tokenizer_eos(t->tok) : -1;
}

int seek_tokenize(seek_tokenizer *t, const char *text, size_t len, unsigned flags, int32_t **ids,
                  size_t *n_ids, seek_error *err) {
    if (ids) *ids = NULL;
    if (n_ids) *n_ids = 0;
    if (!t || !ids || !n_ids) FAILF(err, SK_ERR_INVALID, "seek_tokenize: NULL tokenizer or output");
    if (!text && len) FAILF(err, SK_ERR_INVALID, "seek_tokenize: text is NULL but len is %zu", len);
    if (flags & ~(unsigned)(SEEK_TOKENIZE_ADD_BOS | SEEK_TOKENIZE_SPECIAL))
        FAILF(err, SK_ERR_INVALID, "seek_tokenize: unknown flags 0x%x", flags);
    unsigned f = 0;
    if (flags & SEEK_TOKENIZE_ADD_BOS) f |= SK_TOK_ADD_BOS;
    if (flags & SEEK_TOKENIZE_SPECIAL) f |= SK_TOK_PARSE_SPECIAL;
    sk_err e = {0};
    int rc = sk_tokenizer_encode(t->tok, text ? text : "", len, f, ids, n_ids, &e);
    if (rc) return fail(err, rc, &e);
    if (*n_ids == 0) {
        free(*ids);
        *ids = NULL;
    }
    return SEEK_OK;
}

int seek_detokenize(const seek_tokenizer *t, const int32_t *ids, size_t n_ids, unsigned flags,
                    char **text, size_t *len, seek_error *err) {
    if (text) *text = NULL;
    if (len) *len = 0;
    if (!t || !text) FAILF(err, SK_ERR_INVALID, "seek_detokenize: NULL tokenizer or output");
    if (!ids && n_ids)
        FAILF(err, SK_ERR_INVALID, "seek_detokenize: ids is NULL but n is %zu", n_ids);
    if (flags & ~(unsigned)SEEK_DETOKENIZE_SKIP_SPECIAL)
        FAILF(err, SK_ERR_INVALID, "seek_detokenize: unknown flags 0x%x", flags);
    int32_t nv = sk_tokenizer_n_vocab(t->tok);
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= nv)
            FAILF(err, SK_ERR_RANGE,
                  "seek_detokenize: ids[%zu] = %d is outside the vocabulary [0, %d)", i,
                  (int)ids[i], (int)nv);
    sk_err e = {0};
    size_t l = 0;
    static const int32_t none[1] = {0};
    int rc = sk_tokenizer_decode(t->tok, n_ids ? ids : none, n_ids,
                                 (flags & SEEK_DETOKENIZE_SKIP_SPECIAL) != 0, text, &l, &e);
    if (rc) return fail(err, rc, &e);
    if (len) *len = l;
    return SEEK_OK;
}

/* ---- chat ------------------------------------------------------------------------------------ */

/* The public messages as the chat module's (*out malloc'd). */
static int to_chat_msgs(const seek_chat_message *msgs, size_t n, sk_chat_msg **out, sk_err *e) {
    *out = NULL;
    if (!msgs && n) return sk_err_set(e, SK_ERR_INVALID, "messages is NULL but n is %zu", n);
    if (n == 0) return sk_err_set(e, SK_ERR_INVALID, "no messages");
    sk_chat_msg *cm = sk_calloc(n, sizeof *cm, e);
    if (!cm) return SK_ERR_NOMEM;
    static const struct {
        const char *name;
        sk_chat_role role;
    } roles[] = {{"system", SK_CHAT_ROLE_SYSTEM},
                 {"user", SK_CHAT_ROLE_USER},
                 {"assistant", SK_CHAT_ROLE_ASSISTANT},
                 {"tool", SK_CHAT_ROLE_TOOL}};
    for (size_t i = 0; i < n; i++) {
        const char *r = msgs[i].role;
        size_t k = 0;
        while (r && k < sizeof roles / sizeof roles[0] && strcmp(r, roles[k].name)) k++;
        if (!r || k == sizeof roles / sizeof roles[0]) {
            free(cm);
            return sk_err_set(e, SK_ERR_INVALID,
                              "messages[%zu].role %s%s%s is not system, user, assistant or tool", i,
                              r ? "\"" : "", r ? r : "NULL", r ? "\"" : "");
        }
        if (!msgs[i].content) {
            free(cm);
            return sk_err_set(e, SK_ERR_INVALID, "messages[%zu].content is NULL", i);
        }
        cm[i].role = roles[k].role;
        cm[i].content = msgs[i].content;
    }
    *out = cm;
    return SK_OK;
}

static int need_template(const seek_model *m, sk_err *e) {
    if (m->kind == SK_CHAT_UNKNOWN) return sk_err_set(e, SK_ERR_UNSUPPORTED, "%s", m->kind_err);
    return SK_OK;
}

int seek_chat_apply(const seek_model *m, const seek_chat_message *msgs, size_t n_msgs,
                    int add_generation_prompt, char **text, seek_error *err) {
    if (text) *text = NULL;
    if (!m || !text) FAILF(err, SK_ERR_INVALID, "seek_chat_apply: NULL model or output");
    sk_err e = {0};
    sk_chat_msg *cm = NULL;
    int rc = need_template(m, &e);
    if (!rc) rc = to_chat_msgs(msgs, n_msgs, &cm, &e);
    if (!rc) rc = sk_chat_render(m->kind, cm, n_msgs, add_generation_prompt != 0, text, &e);
    free(cm);
    if (rc) {
        sk_err_prefix(&e, "seek_chat_apply");
        return fail(err, rc, &e);
    }
    return SEEK_OK;
}

static int chat_encode(seek_model *m, const seek_chat_message *msgs, size_t n_msgs, bool gen_prompt,
                       int32_t **ids, size_t *n_ids, sk_err *e) {
    sk_chat_msg *cm = NULL;
    int rc = need_template(m, e);
    if (!rc) rc = to_chat_msgs(msgs, n_msgs, &cm, e);
    /* Message text is protected: only the template's own markup becomes special tokens. */
    if (!rc)
        rc = sk_chat_encode(m->tok.tok, m->kind, cm, n_msgs, gen_prompt,
                            SK_TOK_PARSE_SPECIAL | SK_TOK_ADD_BOS, ids, n_ids, e);
    free(cm);
    return rc;
}

int seek_chat_tokenize(seek_model *m, const seek_chat_message *msgs, size_t n_msgs,
                       int add_generation_prompt, int32_t **ids, size_t *n_ids, seek_error *err) {
    if (ids) *ids = NULL;
    if (n_ids) *n_ids = 0;
    if (!m || !ids || !n_ids)
        FAILF(err, SK_ERR_INVALID, "seek_chat_tokenize: NULL model or output");
    sk_err e = {0};
    int rc = chat_encode(m, msgs, n_msgs, add_generation_prompt != 0, ids, n_ids, &e);
    if (rc) {
        sk_err_prefix(&e, "seek_chat_tokenize");
        return fail(err, rc, &e);
    }
    return SEEK_OK;
}

/* ---- sessions ----------------------------------------------------------------------------------
 */

int seek_session_new(seek_model *m, seek_session **out, seek_error *err) {
    if (out) *out = NULL;
    if (!m || !out) FAILF(err, SK_ERR_INVALID, "seek_session_new: NULL model or output");
    sk_err e = {0};
    seek_session *s = sk_calloc(1, sizeof *s, &e);
    if (!s) return fail(err, SK_ERR_NOMEM, &e);
    s->model = m;
    sk_model_ctx_params cp;
    sk_model_ctx_params_init(&cp);
    if (m->params.n_ctx > 0) cp.n_ctx = m->params.n_ctx;
    cp.cache_type = m->params.cache_type;
    int rc = sk_gen_new(m->m, m->tok.tok, &cp, &s->gen, &e);
    if (rc) {
        free(s);
        sk_err_prefix(&e, "seek_session_new");
        return fail(err, rc, &e);
    }
    *out = s;
    return SEEK_OK;
}

void seek_session_free(seek_session *s) {
    if (!s) return;
    sk_gen_free(s->gen);
    free(s);
}

int32_t seek_session_n_ctx(const seek_session *s) {
    return s ? sk_gen_n_ctx(s->gen) : 0;
}

void seek_session_reset(seek_session *s) {
    if (s) sk_gen_reset(s->gen);
}

int seek_logits(seek_session *s, const int32_t *ids, size_t n_ids, int all_rows, float *logits,
                size_t capacity, seek_error *err) {
    if (!s || !ids || !logits)
        FAILF(err, SK_ERR_INVALID, "seek_logits: NULL session, ids or logits");
    if (n_ids == 0) FAILF(err, SK_ERR_INVALID, "seek_logits: no tokens");
    int n_ctx = sk_gen_n_ctx(s->gen);
    if (n_ids > (size_t)n_ctx)
        FAILF(err, SK_ERR_RANGE, "seek_logits: %zu tokens do not fit the context of %d", n_ids,
              n_ctx);
    size_t nv = (size_t)seek_model_n_vocab(s->model);
    size_t need = all_rows ? n_ids * nv : nv;
    if (capacity < need)
        FAILF(err, SK_ERR_RANGE, "seek_logits: the buffer holds %zu floats, %zu are needed",
              capacity, need);
    sk_gen_reset(s->gen);
    sk_err e = {0};
    int rc = sk_model_eval(sk_gen_ctx(s->gen), ids, (int)n_ids, logits, all_rows != 0, &e);
    sk_gen_reset(s->gen); /* the generator's record of the cache would be stale */
    if (rc) {
        sk_err_prefix(&e, "seek_logits");
        return fail(err, rc, &e);
    }
    return SEEK_OK;
}

/* ---- generation --------------------------------------------------------------------------------
 */

void seek_gen_params_init(seek_gen_params *p, const seek_model *m) {
    memset(p, 0, sizeof *p);
    sk_sampler_params sp;
    if (seek_model_is_reasoner(m)) {
        sp = sk_sampler_reasoner_params();
    } else {
        sp = sk_sampler_default_params();
        sp.temperature = 0.7f;
        sp.top_p = 0.95f;
    }
    p->max_tokens = -1;
    p->temperature = sp.temperature;
    p->top_k = sp.top_k;
    p->top_p = sp.top_p;
    p->min_p = sp.min_p;
    p->repeat_penalty = sp.repetition_penalty;
    p->presence_penalty = sp.presence_penalty;
    p->frequency_penalty = sp.frequency_penalty;
    p->repeat_last_n = sp.penalty_last_n;
    p->seed = sp.seed;
    p->think_budget = -1;
    p->prompt_in_think = -1;
    p->split_reasoning = 1;
}

/* Checks the public parameters, naming the field, and converts them. */
static int convert_params(const seek_gen_params *p, sk_gen_params *gp, sk_err *e) {
#define BAD(...) return sk_err_set(e, SK_ERR_INVALID, "seek_gen_params." __VA_ARGS__)
    if (!isfinite(p->temperature) || p->temperature < 0)
        BAD("temperature %g must be a finite number >= 0", (double)p->temperature);
    if (!isfinite(p->top_p) || p->top_p < 0) BAD("top_p %g must be in [0, 1]", (double)p->top_p);
    if (!(p->min_p >= 0 && p->min_p <= 1)) BAD("min_p %g must be in [0, 1]", (double)p->min_p);
    if (!isfinite(p->repeat_penalty) || !(p->repeat_penalty > 0))
        BAD("repeat_penalty %g must be > 0", (double)p->repeat_penalty);
    if (!(p->presence_penalty >= -2 && p->presence_penalty <= 2))
        BAD("presence_penalty %g must be in [-2, 2]", (double)p->presence_penalty);
    if (!(p->frequency_penalty >= -2 && p->frequency_penalty <= 2))
        BAD("frequency_penalty %g must be in [-2, 2]", (double)p->frequency_penalty);
    if (p->repeat_last_n < -1) BAD("repeat_last_n %d must be >= -1", (int)p->repeat_last_n);
    if (p->n_stop > SEEK_MAX_STOP) BAD("n_stop %zu is above %d", p->n_stop, SEEK_MAX_STOP);
    if (p->n_stop && !p->stop) BAD("stop is NULL but n_stop is %zu", p->n_stop);
    for (size_t i = 0; i < p->n_stop; i++)
        if (!p->stop[i] || !p->stop[i][0]) BAD("stop[%zu] is NULL or empty", i);
    if (p->prompt_in_think < -1 || p->prompt_in_think > 1)
        BAD("prompt_in_think %d must be -1, 0 or 1", p->prompt_in_think);
    if (p->split_reasoning != 0 && p->split_reasoning != 1)
        BAD("split_reasoning %d must be 0 or 1", p->split_reasoning);
#undef BAD
    sk_gen_params_init(gp);
    gp->n_predict = p->max_tokens < 0 ? -1 : p->max_tokens;
    gp->sampling.temperature = p->temperature;
    gp->sampling.top_k = p->top_k;
    gp->sampling.top_p = p->top_p;
    gp->sampling.min_p = p->min_p;
    gp->sampling.repetition_penalty = p->repeat_penalty;
    gp->sampling.presence_penalty = p->presence_penalty;
    gp->sampling.frequency_penalty = p->frequency_penalty;
    gp->sampling.penalty_last_n = p->repeat_last_n;
    gp->sampling.seed = p->seed;
    for (size_t i = 0; i < p->n_stop; i++) gp->stop[i] = p->stop[i];
    gp->think_budget = p->think_budget < 0 ? -1 : p->think_budget;
    return SK_OK;
}

/* Whether the prompt's text ends with "<think>" (trailing whitespace ignored). */
static int prompt_ends_in_think(const sk_tokenizer *tok, const int32_t *ids, size_t n, bool *out,
                                sk_err *e) {
    *out = false;
    size_t k = n < 4 ? n : 4;
    if (!k) return SK_OK;
    char *s = NULL;
    size_t len = 0;
    int rc = sk_tokenizer_decode(tok, ids + n - k, k, false, &s, &len, e);
    if (rc) return rc;
    while (len &&
           (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n'))
        s[--len] = 0;
    *out = ends_with(s, "<think>");
    free(s);
    return SK_OK;
}

typedef struct stream {
    seek_piece_fn fn;
    void *user;
    sk_reasoning *rp; /* NULL without the reasoning split */
    bool stopped;     /* the callback asked to stop */
    int rc;           /* an error inside the piece callback */
    sk_err e;
} stream;

static void deliver(stream *st, seek_piece_kind kind, const char *text, size_t len) {
    if (!len || !st->fn || st->stopped) return;
    if (st->fn(st->user, kind, text, len)) st->stopped = true;
}

static void drain(stream *st) {
    const char *r, *a;
    size_t rl, al;
    sk_reasoning_take_delta(st->rp, &r, &rl, &a, &al);
    deliver(st, SEEK_PIECE_REASONING, r, rl);
    deliver(st, SEEK_PIECE_ANSWER, a, al);
}

static int on_piece(void *ud, const char *text, size_t len) {
    stream *st = ud;
    if (!st->rp) {
        deliver(st, SEEK_PIECE_ANSWER, text, len);
        return st->stopped;
    }
    st->rc = sk_reasoning_feed(st->rp, text, len, &st->e);
    if (st->rc) return 1;
    drain(st);
    return st->stopped;
}

static int generate(seek_session *s, const int32_t *prompt, size_t n_prompt,
                    const seek_gen_params *params, seek_piece_fn on_piece_fn, void *user,
                    seek_gen_result *result, sk_err *e) {
    seek_gen_params def;
    if (!params) {
        seek_gen_params_init(&def, s->model);
        params = &def;
    }
    sk_gen_params gp;
    int rc = convert_params(params, &gp, e);
    if (rc) return rc;
    if (n_prompt == 0) return sk_err_set(e, SK_ERR_INVALID, "the prompt is empty");
    if (n_prompt > (size_t)sk_gen_n_ctx(s->gen))
        return sk_err_set(e, SK_ERR_RANGE,
                          "the prompt of %zu tokens does not fit the context of %d", n_prompt,
                          sk_gen_n_ctx(s->gen));
    int32_t nv = seek_model_n_vocab(s->model);
    for (size_t i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= nv)
            return sk_err_set(e, SK_ERR_RANGE, "prompt[%zu] = %d is outside the vocabulary [0, %d)",
                              i, (int)prompt[i], (int)nv);
    bool in_think = params->prompt_in_think == 1;
    if (params->prompt_in_think < 0) {
        rc = prompt_ends_in_think(s->model->tok.tok, prompt, n_prompt, &in_think, e);
        if (rc) return rc;
    }
    gp.starts_in_reasoning = in_think;
    stream st = {.fn = on_piece_fn, .user = user};
    if (params->split_reasoning) {
        st.rp = sk_reasoning_new(in_think, e);
        if (!st.rp) return e->code ? e->code : SK_ERR_NOMEM;
    }
    sk_gen_stats stats;
    memset(&stats, 0, sizeof stats);
    rc = sk_gen_run(s->gen, prompt, (int)n_prompt, &gp, on_piece, &st, &stats, e);
    if (!rc && st.rc) {
        rc = st.rc;
        *e = st.e;
    }
    if (!rc && st.rp) {
        rc = sk_reasoning_finish(st.rp, e);
        if (!rc) drain(&st);
    }
    sk_reasoning_free(st.rp);
    if (rc) return rc;
    if (result) {
        memset(result, 0, sizeof *result);
        result->n_prompt = stats.n_prompt;
        result->n_reused = stats.n_reused;
        result->n_generated = stats.n_gen;
        result->n_reasoning = stats.n_reasoning;
        result->t_prompt = stats.t_prompt;
        result->t_generate = stats.t_gen;
        switch (stats.stop) {
        case SK_GEN_STOP_EOS:
            result->stop = SEEK_STOP_EOS;
            break;
        case SK_GEN_STOP_STRING:
            result->stop = SEEK_STOP_STRING;
            break;
        case SK_GEN_STOP_LENGTH:
            result->stop = SEEK_STOP_LENGTH;
            break;
        case SK_GEN_STOP_CONTEXT:
            result->stop = SEEK_STOP_CONTEXT;
            break;
        case SK_GEN_STOP_CANCELLED:
            result->stop = SEEK_STOP_CANCELLED;
            break;
        default:
            result->stop = SEEK_STOP_NONE;
            break;
        }
    }
    return SK_OK;
}

int seek_generate(seek_session *s, const int32_t *prompt, size_t n_prompt,
                  const seek_gen_params *params, seek_piece_fn on_piece_fn, void *user,
                  seek_gen_result *result, seek_error *err) {
    if (!s || (!prompt && n_prompt))
        FAILF(err, SK_ERR_INVALID, "seek_generate: NULL session or prompt");
    sk_err e = {0};
    int rc = generate(s, prompt, n_prompt, params, on_piece_fn, user, result, &e);
    if (rc) {
        sk_err_prefix(&e, "seek_generate");
        return fail(err, rc, &e);
    }
    return SEEK_OK;
}

int seek_chat(seek_session *s, const seek_chat_message *msgs, size_t n_msgs,
              const seek_gen_params *params, seek_piece_fn on_piece_fn, void *user,
              seek_gen_result *result, seek_error *err) {
    if (!s) FAILF(err, SK_ERR_INVALID, "seek_chat: NULL session");
    sk_err e = {0};
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = chat_encode(s->model, msgs, n_msgs, true, &ids, &n, &e);
    if (!rc) rc = generate(s, ids, n, params, on_piece_fn, user, result, &e);
    free(ids);
    if (rc) {
        sk_err_prefix(&e, "seek_chat");
        return fail(err, rc, &e);
    }
    return SEEK_OK;
}
