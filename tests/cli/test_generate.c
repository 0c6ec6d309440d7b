/* test_generate — the generation loop (sk_generate.h) and windowed perplexity (gen_ppl.h) on
 * the golden tiny models: greedy decoding against a hand-written argmax loop over
 * sk_model_eval, determinism, chunked vs whole prefill, prefix reuse, context limits, EOS and
 * stop strings, cancellation, the thinking budget, UTF-8-safe streaming, and perplexity
 * against the reference logits. */
#include "gen_ppl.h"
#include "sk_generate.h"
#include "sk_gguf.h"
#include "sk_test.h"

#include <stdint.h>
#include <unistd.h>

#define GOLDEN SEEK_TEST_DATA "/golden/"

typedef struct loaded {
    sk_model *m;
    sk_tokenizer *tok;
    sk_gen *gen;
} loaded;

static bool load(loaded *l, const char *path, int n_ctx) {
    sk_err e = {0};
    memset(l, 0, sizeof *l);
    sk_model_opts mo;
    sk_model_opts_init(&mo);
    mo.n_threads = 2;
    CHECK_OK(sk_model_open(path, &mo, &l->m, &e), &e);
    if (!l->m) return false;
    CHECK_OK(sk_tokenizer_load_gguf_file(path, &l->tok, &e), &e);
    if (!l->tok) return false;
    sk_model_ctx_params cp;
    sk_model_ctx_params_init(&cp);
    cp.n_ctx = n_ctx;
    CHECK_OK(sk_gen_new(l->m, l->tok, &cp, &l->gen, &e), &e);
    return l->gen != NULL;
}

static void unload(loaded *l) {
    sk_gen_free(l->gen);
    sk_tokenizer_free(l->tok);
    sk_model_close(l->m);
}

/* token ids of a golden case */
static int read_tokens(const char *name, int32_t *out, int max) {
    char path[512];
    snprintf(path, sizeof path, GOLDEN "%s/tokens.txt", name);
    char *s = sk_test_slurp(path, NULL);
    int n = 0;
    char *p = s, *end;
    for (;;) {
        long v = strtol(p, &end, 10);
        if (end == p || n >= max) break;
        out[n++] = (int32_t)v;
        p = end;
    }
    free(s);
    return n;
}

typedef struct tokrec {
    int32_t t[512];
    int n;
    int cancel_after;
    volatile sig_atomic_t *flag;
} tokrec;

static void on_token(void *ud, int32_t id) {
    tokrec *r = ud;
    if (r->n < 512) r->t[r->n] = id;
    r->n++;
    if (r->flag && r->cancel_after > 0 && r->n >= r->cancel_after) *r->flag = 1;
}

/* Greedy generation equals argmax decoding written directly on sk_model_eval. */
static void check_greedy_reference(const char *name) {
    loaded l;
    char path[512];
    snprintf(path, sizeof path, GOLDEN "%s/model.gguf", name);
    if (!load(&l, path, 128)) {
        unload(&l);
        return;
    }
    int32_t prompt[64];
    int np = read_tokens(name, prompt, 12);
    const int N = 16;
    sk_err e = {0};
    /* reference */
    sk_model_ctx *ctx = NULL;
    sk_model_ctx_params cp;
    sk_model_ctx_params_init(&cp);
    cp.n_ctx = 128;
    CHECK_OK(sk_model_ctx_new(l.m, &cp, &ctx, &e), &e);
    int nv = sk_model_get_config(l.m)->n_vocab;
    float *lg = malloc((size_t)nv * sizeof *lg);
    int32_t ref[32];
    CHECK_OK(sk_model_eval(ctx, prompt, np, lg, false, &e), &e);
    for (int i = 0; i < N; i++) {
        int32_t best = 0;
        for (int v = 1; v < nv; v++)
            if (lg[v] > lg[best]) best = v;
        ref[i] = best;
        CHECK_OK(sk_model_eval(ctx, &best, 1, lg, false, &e), &e);
    }
    sk_model_ctx_free(ctx);
    free(lg);
    /* the generator, whole prefill and one-token chunks, twice */
    for (int run = 0; run < 3; run++) {
        tokrec rec = {0};
        sk_gen_set_token_fn(l.gen, on_token, &rec);
        sk_gen_reset(l.gen);
        sk_gen_params p;
        sk_gen_params_init(&p);
        p.n_predict = N;
        p.n_chunk = run == 2 ? 1 : 0;
        sk_gen_stats st;
        char *text = NULL;
        CHECK_OK(sk_gen_run_text(l.gen, prompt, np, &p, &text, &st, &e), &e);
        CHECK(st.stop == SK_GEN_STOP_LENGTH || st.stop == SK_GEN_STOP_EOS);
        CHECK(st.n_prompt == np && st.n_reused == 0 && st.n_eval == np);
        CHECK_MSG(rec.n == st.n_gen, "%s: %d tokens seen, %d counted", name, rec.n, st.n_gen);
        int same = 0;
        while (same < rec.n && same < N && rec.t[same] == ref[same]) same++;
        CHECK_MSG(same == rec.n && (st.stop == SK_GEN_STOP_EOS || rec.n == N),
                  "%s run %d: greedy differs from the argmax reference at token %d", name, run,
                  same);
        /* the streamed text is the decoding of the generated tokens, valid UTF-8 */
        char *dec = NULL;
        size_t dl = 0;
        CHECK_OK(sk_tokenizer_decode(l.tok, rec.t, (size_t)rec.n, false, &dec, &dl, &e), &e);
        CHECK(text && dec && !strcmp(text, dec));
        CHECK(text && sk_utf8_valid((const uint8_t *)text, strlen(text)));
        free(dec);
        free(text);
    }
    sk_gen_set_token_fn(l.gen, NULL, NULL);
    unload(&l);
}

static void test_greedy_qwen2(void) {
    check_greedy_reference("qwen2-tiny");
}
static void test_greedy_llama3(void) {
    check_greedy_reference("llama3-tiny");
}
static void test_greedy_ds3(void) {
    check_greedy_reference("ds3-tiny");
}

/* Multi-turn: the second prompt extends the first prompt + answer; only the new tokens are
 * evaluated, and the result equals a fresh generator's. */
static void test_prefix_reuse(void) {
    loaded l;
    if (!load(&l, GOLDEN "qwen2-tiny/model.gguf", 128)) {
        unload(&l);
        return;
    }
    sk_err e = {0};
    int32_t all[64];
    int n_all = read_tokens("qwen2-tiny", all, 64);
    CHECK(n_all >= 30);
    sk_gen_params p;
    sk_gen_params_init(&p);
    p.n_predict = 6;
    tokrec rec = {0};
    sk_gen_set_token_fn(l.gen, on_token, &rec);
    sk_gen_stats st;
    char *t1 = NULL, *t2 = NULL, *t3 = NULL;
    CHECK_OK(sk_gen_run_text(l.gen, all, 10, &p, &t1, &st, &e), &e);
    CHECK(st.n_reused == 0 && st.n_gen == 6);
    /* turn 2: first 10 tokens + the 6 generated (5 of them evaluated) + 8 new ones */
    int32_t turn2[64];
    memcpy(turn2, all, 10 * sizeof *all);
    memcpy(turn2 + 10, rec.t, 6 * sizeof *all);
    memcpy(turn2 + 16, all + 10, 8 * sizeof *all);
    int nc = 0;
    sk_gen_cached(l.gen, &nc);
    CHECK(nc == 15); /* the last generated token was never evaluated */
    rec.n = 0;
    CHECK_OK(sk_gen_run_text(l.gen, turn2, 24, &p, &t2, &st, &e), &e);
    CHECK_MSG(st.n_reused == 15 && st.n_eval == 9, "reused %d evaluated %d", st.n_reused, st.n_eval);
    int32_t second[6];
    memcpy(second, rec.t, sizeof second);
    /* an edited history: common prefix 5 → the cache is truncated there */
    int32_t turn3[64];
    memcpy(turn3, turn2, sizeof turn3);
    turn3[5] = (turn3[5] + 1) % 300;
    rec.n = 0;
    char *t4 = NULL;
    CHECK_OK(sk_gen_run_text(l.gen, turn3, 24, &p, &t4, &st, &e), &e);
    CHECK(st.n_reused == 5 && st.n_eval == 19);
    /* the same prompt again: everything cached but the last token, which is re-evaluated */
    CHECK_OK(sk_gen_run_text(l.gen, turn3, 24, &p, &t3, &st, &e), &e);
    CHECK(st.n_reused == 23 && st.n_eval == 1);
    CHECK(!strcmp(t3, t4));
    free(t3);
    free(t4);
    /* fresh generator on turn2 gives the same answer as the reusing one */
    sk_gen_reset(l.gen);
    rec.n = 0;
    CHECK_OK(sk_gen_run_text(l.gen, turn2, 24, &p, &t3, &st, &e), &e);
    CHECK(st.n_reused == 0 && !strcmp(t2, t3));
    CHECK(!memcmp(second, rec.t, sizeof second));
    free(t1);
    free(t2);
    free(t3);
    sk_gen_set_token_fn(l.gen, NULL, NULL);
    unload(&l);
}

static void test_context_limits(void) {
    loaded l;
    if (!load(&l, GOLDEN "llama3-tiny/model.gguf", 16)) {
        unload(&l);
        return;
    }
    sk_err e = {0};
    int32_t all[64];
    read_tokens("llama3-tiny", all, 64);
    CHECK(sk_gen_n_ctx(l.gen) == 16);
    sk_gen_params p;
    sk_gen_params_init(&p);
    sk_gen_stats st;
    char *t = NULL;
    /* a prompt longer than the context is refused with a message, nothing evaluated */
    int rc = sk_gen_run_text(l.gen, all, 20, &p, &t, &st, &e);
    CHECK(rc == SK_ERR_RANGE && strstr(e.msg, "20 tokens") && strstr(e.msg, "16"));
    CHECK(t == NULL);
    /* generation that fills the context stops cleanly */
    CHECK_OK(sk_gen_run_text(l.gen, all, 10, &p, &t, &st, &e), &e);
    CHECK(st.stop == SK_GEN_STOP_CONTEXT || st.stop == SK_GEN_STOP_EOS);
    if (st.stop == SK_GEN_STOP_CONTEXT) CHECK(st.n_gen == 7); /* 16 - 10 evaluated + 1 */
    int nc;
    sk_gen_cached(l.gen, &nc);
    CHECK(nc <= 16);
    free(t);
    /* empty prompt, out-of-range ids */
    CHECK(sk_gen_run_text(l.gen, all, 0, &p, &t, &st, &e) == SK_ERR_INVALID);
    int32_t bad[2] = {1, 1 << 20};
    CHECK(sk_gen_run_text(l.gen, bad, 2, &p, &t, &st, &e) == SK_ERR_RANGE);
    p.sampling.temperature = NAN;
    CHECK(sk_gen_run_text(l.gen, all, 4, &p, &t, &st, &e) != SK_OK);
    unload(&l);
}

/* Writes a copy of a golden GGUF whose EOS id is `eos` (tensors by pointer). */
static bool copy_with_eos(const char *src, const char *dst, uint32_t eos) {
    sk_err e = {0};
    sk_gguf *g = NULL;
    CHECK_OK(sk_gguf_open(src, &g, &e), &e);
    if (!g) return false;
    sk_gguf_writer *w = sk_gguf_writer_new(&e);
    bool ok = w && !sk_gguf_copy_kv(w, g, NULL, &e) &&
              !sk_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", eos, &e);
    for (int64_t i = 0; ok && i < sk_gguf_n_tensors(g); i++) {
        const sk_gguf_tensor_info *t = sk_gguf_tensor(g, i);
        ok = !sk_gguf_add_tensor(w, t->name, t->type, t->n_dims, t->ne, t->data, NULL, NULL, &e);
    }
    ok = ok && !sk_gguf_write(w, dst, 0, NULL, &e);
    CHECK_MSG(ok, "%s", e.msg);
    sk_gguf_writer_free(w);
    sk_gguf_close(g);
    return ok;
}

/* EOS ends the generation (not streamed); a stop string ends it with the text before it;
 * cancellation through the flag; all against an unconstrained greedy run. */
static void test_stops(void) {
    loaded l;
    if (!load(&l, GOLDEN "qwen2-tiny/model.gguf", 128)) {
        unload(&l);
        return;
    }
    sk_err e = {0};
    int32_t pr[64];
    int np = read_tokens("qwen2-tiny", pr, 8);
    sk_gen_params p;
    sk_gen_params_init(&p);
    p.n_predict = 24;
    tokrec free_run = {0};
    sk_gen_set_token_fn(l.gen, on_token, &free_run);
    sk_gen_stats st;
    char *full = NULL;
    CHECK_OK(sk_gen_run_text(l.gen, pr, np, &p, &full, &st, &e), &e);
    CHECK(st.stop == SK_GEN_STOP_LENGTH && free_run.n == 24);

    /* stop string: a 3-byte piece of the full text from its middle; the output is the text up
     * to its first occurrence */
    size_t fl = strlen(full);
    if (fl >= 12) {
        char stop[4];
        memcpy(stop, full + fl / 2, 3);
        stop[3] = 0;
        const char *first = strstr(full, stop);
        p.stop[0] = stop;
        char *t = NULL;
        sk_gen_reset(l.gen);
        tokrec rec = {0};
        sk_gen_set_token_fn(l.gen, on_token, &rec);
        CHECK_OK(sk_gen_run_text(l.gen, pr, np, &p, &t, &st, &e), &e);
        CHECK(st.stop == SK_GEN_STOP_STRING);
        CHECK(t && strlen(t) == (size_t)(first - full) && !strncmp(t, full, strlen(t)));
        free(t);
        p.stop[0] = NULL;
    } else {
        CHECK_MSG(0, "greedy text too short (%zu bytes) for the stop-string check", fl);
    }

    /* cancellation: the flag set after the 5th token stops before the 6th */
    volatile sig_atomic_t flag = 0;
    tokrec rec = {.cancel_after = 5, .flag = &flag};
    sk_gen_set_token_fn(l.gen, on_token, &rec);
    p.cancel = &flag;
    char *t = NULL;
    CHECK_OK(sk_gen_run_text(l.gen, pr, np, &p, &t, &st, &e), &e);
    CHECK(st.stop == SK_GEN_STOP_CANCELLED && st.n_gen == 5 && rec.n == 5);
    free(t);
    /* a flag already set cancels during the prefill: nothing generated */
    sk_gen_reset(l.gen);
    rec.n = 0;
    CHECK_OK(sk_gen_run_text(l.gen, pr, np, &p, &t, &st, &e), &e);
    CHECK(st.stop == SK_GEN_STOP_CANCELLED && st.n_gen == 0);
    free(t);
    p.cancel = NULL;
    sk_gen_set_token_fn(l.gen, NULL, NULL);
    unload(&l);

    /* EOS: a copy of the model whose EOS is the 7th greedy token (first occurrence) */
    int k = 6;
    for (int j = 0; j < k; j++)
        if (free_run.t[j] == free_run.t[k]) {
            k = j;
            break;
        }
    char dst[] = "/tmp/seek-test-gen-XXXXXX";
    int fd = mkstemp(dst);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    char path[64];
    snprintf(path, sizeof path, "%s.gguf", dst);
    if (copy_with_eos(GOLDEN "qwen2-tiny/model.gguf", path, (uint32_t)free_run.t[k])) {
        loaded l2;
        if (load(&l2, path, 128)) {
            CHECK(sk_tokenizer_eos(l2.tok) == free_run.t[k]);
            char *t2 = NULL;
            CHECK_OK(sk_gen_run_text(l2.gen, pr, np, &p, &t2, &st, &e), &e);
            CHECK(st.stop == SK_GEN_STOP_EOS && st.n_gen == k);
            char *dec = NULL;
            size_t dl;
            CHECK_OK(sk_tokenizer_decode(l2.tok, free_run.t, (size_t)k, false, &dec, &dl, &e), &e);
            CHECK(t2 && dec && !strcmp(t2, dec));
            free(dec);
            free(t2);
        }
        unload(&l2);
    }
    free(full);
    unlink(path);
    unlink(dst);
}

/* Thinking budget: after N reasoning tokens "\n</think>\n\n" is forced, then decoding goes on. */
static void test_think_budget(void) {
    loaded l;
    if (!load(&l, GOLDEN "ds3-tiny/model.gguf", 128)) {
        unload(&l);
        return;
    }
    sk_err e = {0};
    int32_t close_id = sk_tokenizer_find(l.tok, "</think>");
    CHECK(close_id >= 0);
    int32_t *forced = NULL;
    size_t nf = 0;
    CHECK_OK(sk_tokenizer_encode(l.tok, "\n</think>\n\n", 11, SK_TOK_PARSE_SPECIAL, &forced, &nf, &e), &e);
    int32_t pr[64];
    int np = read_tokens("ds3-tiny", pr, 10);
    sk_gen_params p;
    sk_gen_params_init(&p);
    p.n_predict = 12;
    p.starts_in_reasoning = true;
    p.think_budget = 3;
    tokrec rec = {0};
    sk_gen_set_token_fn(l.gen, on_token, &rec);
    sk_gen_stats st;
    char *t = NULL;
    CHECK_OK(sk_gen_run_text(l.gen, pr, np, &p, &t, &st, &e), &e);
    /* unless the model closed the block itself within 3 tokens, tokens 3.. are the forced ones */
    bool closed_early = false;
    for (int i = 0; i < 3 && i < rec.n; i++) closed_early |= rec.t[i] == close_id;
    if (!closed_early && st.stop != SK_GEN_STOP_EOS) {
        CHECK(rec.n == 12);
        CHECK(nf >= 2 && (int)nf + 3 <= rec.n);
        for (size_t i = 0; i < nf && 3 + i < (size_t)rec.n; i++) CHECK(rec.t[3 + i] == forced[i]);
        int close_at = 0;
        while (close_at < (int)nf && forced[close_at] != close_id) close_at++;
        CHECK(close_at < (int)nf && st.n_reasoning == 3 + close_at + 1);
        CHECK(t && strstr(t, "</think>"));
    }
    /* budget 0: the close comes first */
    rec.n = 0;
    p.think_budget = 0;
    free(t);
    CHECK_OK(sk_gen_run_text(l.gen, pr, np, &p, &t, &st, &e), &e);
    CHECK(rec.n >= (int)nf && !memcmp(rec.t, forced, nf * sizeof *forced));
    free(t);
    free(forced);
    sk_gen_set_token_fn(l.gen, NULL, NULL);
    unload(&l);
}

/* Perplexity over the golden tokens equals the one computed from the reference logits. */
static void check_ppl(const char *name) {
    loaded l;
    char path[512];
    snprintf(path, sizeof path, GOLDEN "%s/model.gguf", name);
    if (!load(&l, path, 64)) {
        unload(&l);
        return;
    }
    int32_t toks[64];
    int n = read_tokens(name, toks, 64);
    size_t bytes;
    snprintf(path, sizeof path, GOLDEN "%s/logits.f32", name);
    float *ref = sk_test_slurp(path, &bytes);
    int nv = sk_model_get_config(l.m)->n_vocab;
    CHECK(bytes == (size_t)n * (size_t)nv * sizeof(float));
    double nll = 0;
    for (int i = 0; i + 1 < n; i++) {
        const float *r = ref + (size_t)i * (size_t)nv;
        double mx = r[0], s = 0;
        for (int v = 1; v < nv; v++) mx = r[v] > mx ? r[v] : mx;
        for (int v = 0; v < nv; v++) s += exp(r[v] - mx);
        nll += -(r[toks[i + 1]] - mx - log(s));
    }
    double want = exp(nll / (n - 1));
    sk_err e = {0};
    sk_ppl_result res;
    for (int chunk = 5; chunk <= 64; chunk += 59) {
        CHECK_OK(sk_perplexity(sk_gen_ctx(l.gen), nv, toks, n, n, n, chunk, NULL, NULL, NULL, &res,
                               &e),
                 &e);
        CHECK(res.n_scored == n - 1 && res.n_windows == 1);
        CHECK_MSG(fabs(res.ppl / want - 1) < 1e-3, "%s: ppl %.6f, reference %.6f", name, res.ppl,
                  want);
    }
    /* windows of 16 every 8: 3 windows, every target scored once */
    CHECK_OK(sk_perplexity(sk_gen_ctx(l.gen), nv, toks, n, 16, 8, 4, NULL, NULL, NULL, &res, &e), &e);
    CHECK(res.n_scored == n - 1 && res.n_windows == 3 && isfinite(res.ppl) && res.ppl > 1);
    /* bad arguments */
    CHECK(sk_perplexity(sk_gen_ctx(l.gen), nv, toks, n, 100, 8, 4, NULL, NULL, NULL, &res, &e) ==
          SK_ERR_RANGE);
    CHECK(sk_perplexity(sk_gen_ctx(l.gen), nv, toks, n, 16, 17, 4, NULL, NULL, NULL, &res, &e) ==
          SK_ERR_INVALID);
    CHECK(sk_perplexity(sk_gen_ctx(l.gen), nv, toks, 1, 16, 8, 4, NULL, NULL, NULL, &res, &e) ==
          SK_ERR_INVALID);
    free(ref);
    unload(&l);
}

static void test_perplexity_qwen2(void) {
    check_ppl("qwen2-tiny");
}
static void test_perplexity_ds3(void) {
    check_ppl("ds3-tiny");
}

int main(void) {
    RUN(test_greedy_qwen2);
    RUN(test_greedy_llama3);
    RUN(test_greedy_ds3);
    RUN(test_prefix_reuse);
    RUN(test_context_limits);
    RUN(test_stops);
    RUN(test_think_budget);
    RUN(test_perplexity_qwen2);
    RUN(test_perplexity_ds3);
    return sk_test_report("generate");
}
