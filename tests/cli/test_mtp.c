/* test_mtp — self-speculative decoding with the MTP module (sk_gen_params.mtp) on
 * tests/data/mtp-tiny, a DeepSeek-V3-style model (MLA + MoE + one MTP module) trained by
 * `seek train` on arithmetic letter sequences (tests/data/mtp-tiny/gen.sh):
 *  - greedy output with MTP is token-identical to plain greedy decoding (whole and chunked
 *    prefill, repetition penalty, prefix reuse across runs, patterned and unpatterned prompts);
 *  - drafts are accepted (> 50% on patterned prompts) and every accepted draft saves one
 *    main-model call: decode calls = generated - 1 - accepted;
 *  - the cache holds exactly the generated tokens afterwards (a pending draft is cut);
 *  - MTP is refused for temperature > 0 and for a model without an MTP module. */
#include "sk_generate.h"
#include "sk_test.h"

#define MTP_MODEL SEEK_TEST_DATA "/mtp-tiny"
#define TOKENIZER SEEK_TEST_DATA "/golden/ds3-tiny/model.gguf"

typedef struct tokrec {
    int32_t t[256];
    int n;
} tokrec;

static void on_token(void *ud, int32_t id) {
    tokrec *r = ud;
    if (r->n < 256) r->t[r->n] = id;
    r->n++;
}

static sk_model *g_model;
static sk_tokenizer *g_tok;

static sk_gen *new_gen(int n_ctx) {
    sk_err e = {0};
    sk_model_ctx_params cp;
    sk_model_ctx_params_init(&cp);
    cp.n_ctx = n_ctx;
    sk_gen *g = NULL;
    CHECK_OK(sk_gen_new(g_model, g_tok, &cp, &g, &e), &e);
    return g;
}

/* One generation; the tokens land in rec. */
static bool gen_run(sk_gen *g, const int32_t *prompt, int n, const sk_gen_params *p, tokrec *rec,
                    sk_gen_stats *st) {
    sk_err e = {0};
    memset(rec, 0, sizeof *rec);
    sk_gen_set_token_fn(g, on_token, rec);
    int rc = sk_gen_run(g, prompt, n, p, NULL, NULL, st, &e);
    CHECK_OK(rc, &e);
    return rc == SK_OK;
}

/* the letters of s as token ids (ids 65..90 are single-byte tokens in the ds3-tiny vocab) */
static int letters(const char *s, int32_t *out) {
    int n = 0;
    out[n++] = sk_tokenizer_bos(g_tok);
    for (; *s; s++) out[n++] = (int32_t)(unsigned char)*s;
    return n;
}

static int total_draft, total_accept;

static void compare(const char *text, int n_predict, int n_chunk, float rep_penalty) {
    int32_t prompt[512];
    int n = letters(text, prompt);
    sk_gen_params p;
    sk_gen_params_init(&p);
    p.n_predict = n_predict;
    p.n_chunk = n_chunk;
    p.sampling.repetition_penalty = rep_penalty;
    sk_gen *a = new_gen(512), *b = new_gen(512);
    if (!a || !b) goto out;
    tokrec ra, rb;
    sk_gen_stats sa, sb;
    if (!gen_run(a, prompt, n, &p, &ra, &sa)) goto out;
    p.mtp = true;
    if (!gen_run(b, prompt, n, &p, &rb, &sb)) goto out;
    CHECK_MSG(ra.n == rb.n, "'%s': %d tokens plain, %d with MTP", text, ra.n, rb.n);
    int first_diff = -1;
    for (int i = 0; i < ra.n && i < rb.n && i < 256; i++)
        if (ra.t[i] != rb.t[i] && first_diff < 0) first_diff = i;
    CHECK_MSG(first_diff < 0, "'%s' (chunk %d, penalty %g): MTP output differs at token %d", text,
              n_chunk, (double)rep_penalty, first_diff);
    CHECK(sa.n_gen == n_predict && sb.n_gen == n_predict);
    /* plain: every generated token but the last is evaluated alone */
    CHECK(sa.n_draft == 0 && sa.n_decode_evals == sa.n_gen - 1);
    /* MTP: each accepted draft replaces one main-model call */
    CHECK(sb.n_draft > 0 && sb.n_accept <= sb.n_draft);
    CHECK_MSG(sb.n_decode_evals == sb.n_gen - 1 - sb.n_accept,
              "'%s': %d decode calls, %d generated, %d accepted", text, sb.n_decode_evals,
              sb.n_gen, sb.n_accept);
    /* the cache holds the prompt and the evaluated generated tokens, no pending draft */
    int nc;
    sk_gen_cached(b, &nc);
    CHECK(nc == n + sb.n_gen - 1);
    CHECK(sk_model_ctx_pos(sk_gen_ctx(b)) == nc);
    /* the MTP slot covers the prompt and kept up with the decoding: behind by the ≤ 2 rows
     * waiting for their next token, plus the last token (evaluated alone: no draft pays off) */
    int mp = sk_model_ctx_mtp_pos(sk_gen_ctx(b), 1);
    CHECK_MSG(mp >= nc - 3 && mp <= nc, "'%.12s': MTP slot at %d of %d", text, mp, nc);
    total_draft += sb.n_draft;
    total_accept += sb.n_accept;
    printf("  '%.12s' (%d) chunk %d penalty %g: %d drafts, %d accepted (%.0f%%), %d vs %d main calls\n",
           text, n, n_chunk, (double)rep_penalty, sb.n_draft, sb.n_accept,
           100.0 * sk_gen_accept_rate(&sb), sb.n_decode_evals, sa.n_decode_evals);
out:
    sk_gen_free(a);
    sk_gen_free(b);
}

/* A second run whose prompt extends the first (prompt + part of the answer + more letters)
 * reuses the cache, also the MTP slot, and still matches plain decoding from scratch. */
static void reuse(void) {
    int32_t p1[64], p2[128];
    int n1 = letters("ADGJMP", p1);
    sk_gen_params p;
    sk_gen_params_init(&p);
    p.n_predict = 20;
    p.mtp = true;
    sk_gen *g = new_gen(256), *ref = new_gen(256);
    if (!g || !ref) goto out;
    tokrec r1, r2, rr;
    sk_gen_stats s1, s2, sr;
    if (!gen_run(g, p1, n1, &p, &r1, &s1)) goto out;
    int n2 = n1;
    memcpy(p2, p1, (size_t)n1 * sizeof *p1);
    for (int i = 0; i < 9; i++) p2[n2++] = r1.t[i];
    p2[n2++] = 'C';
    p2[n2++] = 'E';
    if (!gen_run(g, p2, n2, &p, &r2, &s2)) goto out;
    CHECK(s2.n_reused >= n1);
    p.mtp = false;
    if (!gen_run(ref, p2, n2, &p, &rr, &sr)) goto out;
    CHECK(rr.n == r2.n);
    for (int i = 0; i < rr.n && i < 256; i++) CHECK_MSG(rr.t[i] == r2.t[i], "reuse: token %d", i);
    CHECK(s2.n_decode_evals == s2.n_gen - 1 - s2.n_accept);
out:
    sk_gen_free(g);
    sk_gen_free(ref);
}

static void refusals(void) {
    int32_t prompt[16];
    int n = letters("ABC", prompt);
    sk_gen_params p;
    sk_gen_params_init(&p);
    p.n_predict = 4;
    p.mtp = true;
    p.sampling.temperature = 0.7f;
    sk_gen *g = new_gen(64);
    if (!g) return;
    sk_err e = {0};
    CHECK(sk_gen_run(g, prompt, n, &p, NULL, NULL, NULL, &e) == SK_ERR_INVALID);
    CHECK(strstr(e.msg, "greedy") != NULL);
    sk_gen_free(g);

    /* a model without an MTP module */
    sk_model *m = NULL;
    sk_model_opts mo;
    sk_model_opts_init(&mo);
    mo.n_threads = 2;
    CHECK_OK(sk_model_open(SEEK_TEST_DATA "/golden/ds3-tiny/model.gguf", &mo, &m, &e), &e);
    if (!m) return;
    sk_gen *g2 = NULL;
    CHECK_OK(sk_gen_new(m, g_tok, NULL, &g2, &e), &e);
    if (g2) {
        p.sampling.temperature = 0;
        memset(&e, 0, sizeof e);
        CHECK(sk_gen_run(g2, prompt, n, &p, NULL, NULL, NULL, &e) == SK_ERR_INVALID);
        CHECK(strstr(e.msg, "MTP module") != NULL);
    }
    sk_gen_free(g2);
    sk_model_close(m);
}

static void test_identical_to_greedy(void) {
    CHECK(sk_model_get_config(g_model)->n_mtp == 1);
    compare("ACEGIKM", 40, 0, 1.0f);
    compare("BCDEF", 60, 0, 1.0f);
    compare("QTWZCF", 48, 3, 1.0f);     /* chunked prefill */
    compare("KPUZEJ", 48, 0, 1.0f);
    compare("ABCDEFGH", 48, 0, 1.3f);   /* greedy with a repetition penalty */
    compare("ZQAMBXKRDE", 48, 2, 1.0f); /* no pattern: more rejections */
    /* a long prompt: the MTP prefill keeps hidden rows 256 at a time */
    static char longp[400];
    for (int i = 0; i < 330; i++) longp[i] = (char)('A' + (3 * i) % 26);
    longp[330] = 0;
    compare(longp, 40, 0, 1.0f);
    compare(longp, 40, 100, 1.0f);
    CHECK_MSG(total_accept * 2 > total_draft, "acceptance %d / %d is not above 50%%",
              total_accept, total_draft);
}

int main(void) {
    sk_err e = {0};
    sk_model_opts mo;
    sk_model_opts_init(&mo);
    mo.n_threads = 2;
    if (sk_model_open(MTP_MODEL, &mo, &g_model, &e) ||
        sk_tokenizer_load_gguf_file(TOKENIZER, &g_tok, &e)) {
        fprintf(stderr, "test_mtp: %s\n", e.msg);
        return 1;
    }
    RUN(test_identical_to_greedy);
    RUN(reuse);
    RUN(refusals);
    sk_tokenizer_free(g_tok);
    sk_model_close(g_model);
    return sk_test_report("mtp");
}
