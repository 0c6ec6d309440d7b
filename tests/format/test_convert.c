/* Tests for the HF → GGUF converter: every golden case converted and compared tensor by tensor
 * (names, types, shapes, bytes) and key by key with the golden model.gguf made by llama.cpp's
 * converter; Q8_0 output against llama.cpp's model-q8_0.gguf; an FP8 checkpoint against the
 * dequantization rule; tokenizer.json conversion against the golden tokenizer arrays; errors. */
#include "sk_convert.h"
#include "sk_tokenizer_export.h"
#include "sk_gguf.h"
#include "sk_json.h"
#include "sk_safetensors.h"
#include "sk_test.h"

#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_tmp[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmp, name);
    return buf[k];
}

static const char *golden(const char *c, const char *f) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/golden/%s%s%s", SEEK_TEST_DATA, c, f ? "/" : "",
             f ? f : "");
    return buf[k];
}

static int convert(const char *dir, const char *out, int type, bool kvb, sk_convert_info *info,
                   sk_err *e) {
    sk_convert_opts o;
    memset(&o, 0, sizeof o);
    o.type = type;
    o.kv_b_split = kvb;
    /* ds2-lite (27 layers) streams every tensor a row at a time: exercises the chunked path,
     * including kv_b kept across the ranges of attn_k_b */
    if (kvb) o.chunk_bytes = 1;
    o.n_threads = 2;
    o.tokenizer = sk_tokenizer_convert_hf;
    return sk_convert_hf(dir, out, &o, info, e);
}

/* Every tensor of want is in got with the same type, shape and bytes, and nothing else is. */
static int compare_tensors(const sk_gguf *got, const sk_gguf *want, const char *what) {
    int bad = 0;
    for (int64_t i = 0; i < sk_gguf_n_tensors(want); i++) {
        const sk_gguf_tensor_info *w = sk_gguf_tensor(want, i);
        const sk_gguf_tensor_info *g = sk_gguf_tensor(got, sk_gguf_find_tensor(got, w->name));
        if (!g) {
            fprintf(stderr, "  %s: %s missing\n", what, w->name);
            bad++;
            continue;
        }
        bool same = g->type == w->type && g->n_dims == w->n_dims && g->nbytes == w->nbytes &&
                    !memcmp(g->ne, w->ne, sizeof g->ne);
        if (!same) {
            fprintf(stderr,
                    "  %s: %s: type %d/%d ne [%" PRId64 ",%" PRId64 ",%" PRId64 "] vs [%" PRId64
                    ",%" PRId64 ",%" PRId64 "]\n",
                    what, w->name, g->type, w->type, g->ne[0], g->ne[1], g->ne[2], w->ne[0],
                    w->ne[1], w->ne[2]);
            bad++;
        } else if (memcmp(g->data, w->data, (size_t)w->nbytes) != 0) {
            uint64_t first = 0;
            while (((const uint8_t *)g->data)[first] == ((const uint8_t *)w->data)[first]) first++;
            fprintf(stderr, "  %s: %s: bytes differ (first at byte %" PRIu64 ")\n", what, w->name,
                    first);
            bad++;
        }
    }
    if (sk_gguf_n_tensors(got) != sk_gguf_n_tensors(want)) {
        fprintf(stderr, "  %s: %" PRId64 " tensors, golden has %" PRId64 "\n", what,
                sk_gguf_n_tensors(got), sk_gguf_n_tensors(want));
        bad++;
    }
    return bad;
}

/* Every key the converter wrote equals the golden key (type and value); every golden key that
 * is not about the tokenizer or the file's description was written. */
static int compare_kv(const sk_gguf *got, const sk_gguf *want, const char *what, bool tokenizer) {
    int bad = 0;
    char a[512], b[512];
    for (int64_t i = 0; i < sk_gguf_n_kv(got); i++) {
        const char *k = sk_gguf_kv_key(got, i);
        if (!strcmp(k, "general.file_type") || !strcmp(k, "general.quantization_version")) continue;
        if (!tokenizer && !strcmp(k, "tokenizer.ggml.model")) {
            /* no tokenizer.json: the converter marks the file vocabulary-less for llama.cpp */
            sk_gguf_kv_to_string(got, i, a, sizeof a);
            if (strcmp(a, "\"none\"") != 0) {
                fprintf(stderr, "  %s: tokenizer.ggml.model = %s, want none\n", what, a);
                bad++;
            }
            continue;
        }
        int64_t j = sk_gguf_find_key(want, k);
        if (j < 0) {
            if (!strcmp(k, "tokenizer.chat_template")) continue;
            fprintf(stderr, "  %s: wrote %s, which the golden file does not have\n", what, k);
            bad++;
            continue;
        }
        sk_gguf_kv_to_string(got, i, a, sizeof a);
        sk_gguf_kv_to_string(want, j, b, sizeof b);
        if (sk_gguf_kv_type(got, i) != sk_gguf_kv_type(want, j) || strcmp(a, b) != 0) {
            fprintf(stderr, "  %s: %s = %s (type %d), golden %s (type %d)\n", what, k, a,
                    sk_gguf_kv_type(got, i), b, sk_gguf_kv_type(want, j));
            bad++;
        }
    }
    for (int64_t j = 0; j < sk_gguf_n_kv(want); j++) {
        const char *k = sk_gguf_kv_key(want, j);
        if (!strcmp(k, "general.description")) continue;
        if (!tokenizer && !strncmp(k, "tokenizer.", 10)) continue;
        if (sk_gguf_find_key(got, k) < 0) {
            fprintf(stderr, "  %s: golden key %s not written\n", what, k);
            bad++;
        }
    }
    return bad;
}

static const char *k_cases[] = {"ds3-tiny", "ds3-grouped", "ds2-lite-tiny", "qwen2-tiny",
                                "llama3-tiny"};

static void test_golden_f32(void) {
    for (size_t c = 0; c < sizeof k_cases / sizeof *k_cases; c++) {
        sk_err e;
        sk_convert_info info;
        bool kvb = !strcmp(k_cases[c], "ds2-lite-tiny"); /* that golden file has attn_k_b/v_b */
        const char *out = tmp_path("f32.gguf");
        CHECK_OK(convert(golden(k_cases[c], NULL), out, SK_TYPE_F32, kvb, &info, &e), &e);
        CHECK(!info.has_tokenizer);
        sk_gguf *got = NULL, *want = NULL;
        CHECK_OK(sk_gguf_open(out, &got, &e), &e);
        CHECK_OK(sk_gguf_open(golden(k_cases[c], "model.gguf"), &want, &e), &e);
        if (got && want) {
            CHECK_MSG(compare_tensors(got, want, k_cases[c]) == 0, "%s tensors", k_cases[c]);
            CHECK_MSG(compare_kv(got, want, k_cases[c], false) == 0, "%s metadata", k_cases[c]);
            CHECK(info.n_tensors == sk_gguf_n_tensors(want));
        }
        sk_gguf_close(got);
        sk_gguf_close(want);
    }
}

/* --type q8_0 reproduces llama.cpp's quantized golden file bit for bit. */
static void test_golden_q8_0(void) {
    for (size_t c = 0; c < sizeof k_cases / sizeof *k_cases; c++) {
        sk_err e;
        bool kvb = !strcmp(k_cases[c], "ds2-lite-tiny");
        const char *out = tmp_path("q8.gguf");
        CHECK_OK(convert(golden(k_cases[c], NULL), out, SK_TYPE_Q8_0, kvb, NULL, &e), &e);
        sk_gguf *got = NULL, *want = NULL;
        CHECK_OK(sk_gguf_open(out, &got, &e), &e);
        CHECK_OK(sk_gguf_open(golden(k_cases[c], "model-q8_0.gguf"), &want, &e), &e);
        if (got && want)
            CHECK_MSG(compare_tensors(got, want, k_cases[c]) == 0, "%s q8_0", k_cases[c]);
        uint32_t ft = 0;
        CHECK(got && sk_gguf_get_u32(got, "general.file_type", &ft) && ft == 7);
        sk_gguf_close(got);
        sk_gguf_close(want);
    }
}

/* Other types: shapes as in the golden file, matrices in the requested (or fallback) type and
 * values close to the F32 originals. */
static void test_other_types(void) {
    const int types[3] = {SK_TYPE_F16, SK_TYPE_BF16, SK_TYPE_Q4_K};
    for (int k = 0; k < 3; k++) {
        sk_err e;
        sk_convert_info info;
        const char *out = tmp_path("t.gguf");
        CHECK_OK(convert(golden("qwen2-tiny", NULL), out, types[k], false, &info, &e), &e);
        sk_gguf *got = NULL, *want = NULL;
        CHECK_OK(sk_gguf_open(out, &got, &e), &e);
        CHECK_OK(sk_gguf_open(golden("qwen2-tiny", "model.gguf"), &want, &e), &e);
        if (!got || !want) continue;
        double max_rel = 0;
        for (int64_t i = 0; i < sk_gguf_n_tensors(want); i++) {
            const sk_gguf_tensor_info *w = sk_gguf_tensor(want, i);
            int64_t gi = sk_gguf_find_tensor(got, w->name);
            const sk_gguf_tensor_info *g = sk_gguf_tensor(got, gi);
            CHECK(g && !memcmp(g->ne, w->ne, sizeof g->ne));
            if (!g) continue;
            if (w->n_dims == 1)
                CHECK(g->type == SK_TYPE_F32);
            else {
                /* hidden 128 is not a multiple of 256: q4_K falls back to q8_0 */
                int want_t = types[k] == SK_TYPE_Q4_K ? SK_TYPE_Q8_0 : types[k];
                CHECK_MSG(g->type == want_t, "%s: %s", w->name, sk_type_name(g->type));
            }
            sk_tensor v = sk_gguf_tensor_view(got, gi);
            float *row = malloc((size_t)w->ne[0] * sizeof *row);
            double num = 0, den = 0;
            for (int64_t r = 0; r < w->ne[1] * w->ne[2]; r++) {
                CHECK_OK(sk_tensor_dequant_row(&v, r, row, &e), &e);
                const float *ref = (const float *)w->data + r * w->ne[0];
                for (int64_t x = 0; x < w->ne[0]; x++) {
                    num += (row[x] - ref[x]) * (row[x] - ref[x]);
                    den += ref[x] * ref[x];
                }
            }
            free(row);
            double rel = den > 0 ? sqrt(num / den) : 0;
            if (rel > max_rel) max_rel = rel;
        }
        double tol = types[k] == SK_TYPE_F16 ? 1e-3 : types[k] == SK_TYPE_BF16 ? 1e-12 : 2e-2;
        CHECK_MSG(max_rel <= tol, "%s: relative error %g", sk_type_name(types[k]), max_rel);
        CHECK(types[k] != SK_TYPE_Q4_K || info.n_fallback > 0);
        sk_gguf_close(got);
        sk_gguf_close(want);
    }
}

/* ---- FP8 ---- */

static void link_or_copy_config(const char *src_case, const char *dst_dir) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s/config.json'", dst_dir,
             golden(src_case, "config.json"), dst_dir);
    CHECK(system(cmd) == 0);
}

/* ds3-tiny re-encoded as DeepSeek's FP8 release: every projection F8_E4M3 with a 128x128
 * scale grid; converting it must give fp8 * scale for every element. */
static void test_fp8_checkpoint(void) {
    sk_err e;
    sk_st *st = NULL;
    CHECK_OK(sk_st_open(golden("ds3-tiny", "model.safetensors"), &st, &e), &e);
    if (!st) return;
    const char *dir = tmp_path("fp8");
    char dirc[512];
    snprintf(dirc, sizeof dirc, "%s", dir);
    link_or_copy_config("ds3-tiny", dirc);
    sk_st_writer *w = sk_st_writer_new(&e);
    int n_fp8 = 0;
    for (int64_t i = 0; i < sk_st_n_tensors(st); i++) {
        const sk_st_tensor *t = sk_st_tensor_at(st, i);
        bool proj = strstr(t->name, "_proj.weight") && t->n_dims == 2;
        if (!proj) {
            CHECK_OK(sk_st_writer_add(w, t->name, t->dtype, t->n_dims, t->shape, t->data, &e), &e);
            continue;
        }
        /* scale grid: pick per-block scales so that values fit fp8; blocks of 128 rows/cols */
        int64_t M = t->shape[0], N = t->shape[1], sr = (M + 127) / 128, sc = (N + 127) / 128;
        float *scale = malloc((size_t)(sr * sc) * sizeof *scale);
        uint8_t *q = malloc((size_t)(M * N));
        for (int64_t b = 0; b < sr * sc; b++) scale[b] = 0.001f * (float)(1 + (b + i) % 5);
        for (int64_t r = 0; r < M; r++)
            for (int64_t cc = 0; cc < N; cc++) {
                uint16_t h;
                memcpy(&h, (const uint8_t *)t->data + 2 * (r * N + cc), 2);
                float x = sk_bf16_to_f32(h) / scale[(r / 128) * sc + cc / 128];
                q[r * N + cc] = sk_f32_to_fp8_e4m3(x);
            }
        int64_t ss[2] = {sr, sc};
        char sn[256];
        snprintf(sn, sizeof sn, "%s_scale_inv", t->name);
        CHECK_OK(sk_st_writer_add(w, t->name, SK_ST_F8_E4M3, 2, t->shape, q, &e), &e);
        CHECK_OK(sk_st_writer_add(w, sn, SK_ST_F32, 2, ss, scale, &e), &e);
        free(scale);
        free(q);
        n_fp8++;
    }
    /* an MTP layer (index num_hidden_layers) as in the V3/R1 release: skipped */
    uint16_t mtp[64] = {0};
    int64_t s64[1] = {64};
    CHECK_OK(sk_st_writer_add(w, "model.layers.4.enorm.weight", SK_ST_BF16, 1, s64, mtp, &e), &e);
    char sp[600];
    snprintf(sp, sizeof sp, "%s/model.safetensors", dirc);
    CHECK_OK(sk_st_writer_write(w, sp, &e), &e);
    sk_st_writer_free(w);
    sk_st_close(st);
    CHECK(n_fp8 > 20);

    const char *out = tmp_path("fp8.gguf");
    CHECK_OK(convert(dirc, out, SK_TYPE_F32, false, NULL, &e), &e);
    sk_gguf *g = NULL;
    CHECK_OK(sk_gguf_open(out, &g, &e), &e);
    st = NULL;
    CHECK_OK(sk_st_open(sp, &st, &e), &e);
    if (!g || !st) {
        sk_gguf_close(g);
        sk_st_close(st);
        return;
    }
    CHECK(sk_gguf_find_tensor(g, "blk.0.attn_q_a.weight") >= 0);
    CHECK(sk_gguf_n_tensors(g) == 66 && sk_gguf_find_tensor(g, "blk.4.enorm.weight") < 0);
    /* check a dense projection, an expert stack and a shared expert element by element */
    struct {
        const char *gguf, *hf;
        int64_t expert;
    } checks[] = {
        {"blk.0.attn_q_a.weight", "model.layers.0.self_attn.q_a_proj.weight", -1},
        {"blk.0.attn_kv_b.weight", "model.layers.0.self_attn.kv_b_proj.weight", -1},
        {"blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight", -1},
        {"blk.2.ffn_up_exps.weight", "model.layers.2.mlp.experts.7.up_proj.weight", 7},
        {"blk.3.ffn_down_exps.weight", "model.layers.3.mlp.experts.15.down_proj.weight", 15},
        {"blk.1.ffn_gate_shexp.weight", "model.layers.1.mlp.shared_experts.gate_proj.weight", -1},
    };
    for (size_t k = 0; k < sizeof checks / sizeof *checks; k++) {
        const sk_gguf_tensor_info *gt = sk_gguf_tensor(g, sk_gguf_find_tensor(g, checks[k].gguf));
        int64_t hi = sk_st_find(st, checks[k].hf);
        char sn[256];
        snprintf(sn, sizeof sn, "%s_scale_inv", checks[k].hf);
        int64_t si = sk_st_find(st, sn);
        CHECK_MSG(gt && hi >= 0 && si >= 0, "%s", checks[k].gguf);
        if (!gt || hi < 0 || si < 0) continue;
        const sk_st_tensor *ht = sk_st_tensor_at(st, hi), *hs = sk_st_tensor_at(st, si);
        CHECK(ht->dtype == SK_ST_F8_E4M3);
        int64_t M = ht->shape[0], N = ht->shape[1], sc = (N + 127) / 128;
        CHECK(gt->ne[0] == N && gt->ne[1] == M);
        const float *base =
            (const float *)gt->data + (checks[k].expert >= 0 ? checks[k].expert * M * N : 0);
        int bad = 0;
        for (int64_t r = 0; r < M; r++)
            for (int64_t cc = 0; cc < N; cc++) {
                float s;
                memcpy(&s, (const uint8_t *)hs->data + 4 * ((r / 128) * sc + cc / 128), 4);
                float want = sk_fp8_e4m3_to_f32(((const uint8_t *)ht->data)[r * N + cc]) * s;
                if (base[r * N + cc] != want) bad++;
            }
        CHECK_MSG(bad == 0, "%s: %d elements differ from fp8*scale", checks[k].gguf, bad);
    }
    /* norms and the router stay exactly the BF16 originals */
    const sk_gguf_tensor_info *gn =
        sk_gguf_tensor(g, sk_gguf_find_tensor(g, "blk.1.ffn_gate_inp.weight"));
    CHECK(gn && gn->type == SK_TYPE_F32);
    sk_gguf_close(g);
    sk_st_close(st);
    /* a missing scale is an error naming it */
    sk_st_writer *w2 = sk_st_writer_new(&e);
    uint8_t q[4] = {1, 2, 3, 4};
    int64_t s2[2] = {2, 2};
    CHECK_OK(sk_st_writer_add(w2, "model.embed_tokens.weight", SK_ST_F8_E4M3, 2, s2, q, &e), &e);
    CHECK_OK(sk_st_writer_write(w2, sp, &e), &e);
    sk_st_writer_free(w2);
    CHECK(convert(dirc, out, SK_TYPE_F32, false, NULL, &e) == SK_ERR_FORMAT);
    CHECK(strstr(e.msg, "model.embed_tokens.weight_scale_inv") != NULL);
}

/* ---- tokenizer ---- */

static const char *k_qwen2_re = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
                                " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                                "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char *k_llama_re = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{"
                                "1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                                "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* Writes tokenizer.json / tokenizer_config.json rebuilt from a golden GGUF's arrays (types 1 →
 * vocab, 3/4 → added tokens, 5 left out), with the given pre-tokenizer patterns. */
static void write_tokenizer(const sk_gguf *g, const char *dir, const char *const *patterns,
                            int n_pat, bool pair_merges) {
    json_t *tok = json_object(), *model = json_object(), *vocab = json_object(),
           *added = json_array(), *merges = json_array(), *pre = json_object(), *seq = json_array();
    const void *tdata;
    uint64_t n = 0, nm = 0;
    sk_gguf_get_arr(g, "tokenizer.ggml.token_type", NULL, &n, &tdata);
    for (uint64_t i = 0; i < n; i++) {
        int32_t t;
        memcpy(&t, (const uint8_t *)tdata + 4 * i, 4);
        const char *s;
        size_t len;
        sk_gguf_get_arr_str(g, "tokenizer.ggml.tokens", i, &s, &len);
        json_t *str = json_stringn(s, len);
        if (t == 1)
            json_object_set_new(vocab, json_string_value(str), json_integer((json_int_t)i));
        else if (t == 3 || t == 4) {
            json_t *a = json_object();
            json_object_set_new(a, "id", json_integer((json_int_t)i));
            json_object_set(a, "content", str);
            json_object_set_new(a, "special", json_boolean(t == 3));
            json_array_append_new(added, a);
        }
        json_decref(str);
    }
    sk_gguf_get_arr(g, "tokenizer.ggml.merges", NULL, &nm, NULL);
    for (uint64_t i = 0; i < nm; i++) {
        const char *s;
        size_t len;
        sk_gguf_get_arr_str(g, "tokenizer.ggml.merges", i, &s, &len);
        if (!pair_merges) {
            json_array_append_new(merges, json_stringn(s, len));
        } else {
            const char *sp = memchr(s, ' ', len);
            json_t *p = json_array();
            json_array_append_new(p, json_stringn(s, (size_t)(sp - s)));
            json_array_append_new(p, json_stringn(sp + 1, len - (size_t)(sp - s) - 1));
            json_array_append_new(merges, p);
        }
    }
    json_object_set_new(model, "type", json_string("BPE"));
    json_object_set_new(model, "vocab", vocab);
    json_object_set_new(model, "merges", merges);
    for (int i = 0; i < n_pat; i++) {
        json_t *sp = json_object(), *pat = json_object();
        json_object_set_new(pat, "Regex", json_string(patterns[i]));
        json_object_set_new(sp, "type", json_string("Split"));
        json_object_set_new(sp, "pattern", pat);
        json_object_set_new(sp, "behavior", json_string("Isolated"));
        json_array_append_new(seq, sp);
    }
    json_object_set_new(pre, "type", json_string("Sequence"));
    json_object_set_new(pre, "pretokenizers", seq);
    json_object_set_new(tok, "version", json_string("1.0"));
    json_object_set_new(tok, "added_tokens", added);
    json_object_set_new(tok, "pre_tokenizer", pre);
    json_object_set_new(tok, "model", model);
    char p[600];
    snprintf(p, sizeof p, "%s/tokenizer.json", dir);
    CHECK(json_dump_file(tok, p, 0) == 0);
    json_decref(tok);
    const char *cfg = "{\"add_bos_token\": true, \"add_eos_token\": false,"
                      " \"bos_token\": {\"content\": \"<｜begin▁of▁sentence｜>\"},"
                      " \"eos_token\": \"<｜end▁of▁sentence｜>\","
                      " \"chat_template\": \"{% for m in messages %}{{ m.content }}{% endfor %}\"}";
    snprintf(p, sizeof p, "%s/tokenizer_config.json", dir);
    FILE *f = fopen(p, "w");
    fputs(cfg, f);
    fclose(f);
}

static void test_tokenizer(void) {
    static const char *ds3_pats[3] = {
        "\\p{N}{1,3}", "[一-龥぀-ゟ゠-ヿ]+",
        "[!\"#$%&'()*+,\\-./"
        ":;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
        "?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
    struct {
        const char *c;
        const char *const *pats;
        int n_pats;
        bool pairs;
    } cases[3] = {{"qwen2-tiny", &k_qwen2_re, 1, false},
                  {"llama3-tiny", &k_llama_re, 1, true},
                  {"ds3-tiny", ds3_pats, 3, false}};
    for (int k = 0; k < 3; k++) {
        sk_err e;
        sk_gguf *want = NULL;
        CHECK_OK(sk_gguf_open(golden(cases[k].c, "model.gguf"), &want, &e), &e);
        if (!want) continue;
        char dir[512];
        snprintf(dir, sizeof dir, "%s/tok-%s", g_tmp, cases[k].c);
        link_or_copy_config(cases[k].c, dir);
        char cmd[1300];
        snprintf(cmd, sizeof cmd, "ln -sf '%s' '%s/model.safetensors'",
                 golden(cases[k].c, "model.safetensors"), dir);
        CHECK(system(cmd) == 0);
        write_tokenizer(want, dir, cases[k].pats, cases[k].n_pats, cases[k].pairs);
        sk_convert_info info;
        const char *out = tmp_path("tok.gguf");
        CHECK_OK(convert(dir, out, SK_TYPE_F32, false, &info, &e), &e);
        CHECK(info.has_tokenizer);
        sk_gguf *got = NULL;
        CHECK_OK(sk_gguf_open(out, &got, &e), &e);
        if (!got) {
            sk_gguf_close(want);
            continue;
        }
        /* every key equal, except the tokens the golden file calls <|unused_N|> (absent from
         * our tokenizer.json, so they become [PADn]) */
        const char *skip[3] = {"tokenizer.ggml.tokens", "tokenizer.ggml.token_type", NULL};
        (void)skip;
        char a[256], b[256];
        const char *keys[] = {"tokenizer.ggml.model",        "tokenizer.ggml.pre",
                              "tokenizer.ggml.merges",       "tokenizer.ggml.bos_token_id",
                              "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_bos_token",
                              "tokenizer.ggml.add_eos_token"};
        for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
            int64_t gi = sk_gguf_find_key(got, keys[i]), wi = sk_gguf_find_key(want, keys[i]);
            CHECK_MSG(gi >= 0 && wi >= 0, "%s %s", cases[k].c, keys[i]);
            if (gi < 0 || wi < 0) continue;
            sk_gguf_kv_to_string(got, gi, a, sizeof a);
            sk_gguf_kv_to_string(want, wi, b, sizeof b);
            CHECK_MSG(!strcmp(a, b) && sk_gguf_kv_type(got, gi) == sk_gguf_kv_type(want, wi),
                      "%s %s: %s vs %s", cases[k].c, keys[i], a, b);
        }
        uint64_t nm = 0, nm2 = 0;
        sk_gguf_get_arr(got, "tokenizer.ggml.merges", NULL, &nm, NULL);
        sk_gguf_get_arr(want, "tokenizer.ggml.merges", NULL, &nm2, NULL);
        CHECK(nm == nm2 && nm == 32);
        for (uint64_t i = 0; i < nm; i++) {
            const char *s1, *s2;
            size_t l1, l2;
            sk_gguf_get_arr_str(got, "tokenizer.ggml.merges", i, &s1, &l1);
            sk_gguf_get_arr_str(want, "tokenizer.ggml.merges", i, &s2, &l2);
            CHECK(l1 == l2 && !memcmp(s1, s2, l1));
        }
        uint64_t n = 0, n2 = 0;
        const void *t1, *t2;
        CHECK(sk_gguf_get_arr(got, "tokenizer.ggml.token_type", NULL, &n, &t1));
        CHECK(sk_gguf_get_arr(want, "tokenizer.ggml.token_type", NULL, &n2, &t2));
        CHECK(n == n2 && n == 512);
        int bad = 0;
        for (uint64_t i = 0; i < n && i < n2; i++) {
            int32_t y1, y2;
            memcpy(&y1, (const uint8_t *)t1 + 4 * i, 4);
            memcpy(&y2, (const uint8_t *)t2 + 4 * i, 4);
            const char *s1, *s2;
            size_t l1, l2;
            sk_gguf_get_arr_str(got, "tokenizer.ggml.tokens", i, &s1, &l1);
            sk_gguf_get_arr_str(want, "tokenizer.ggml.tokens", i, &s2, &l2);
            char pad[32];
            snprintf(pad, sizeof pad, "[PAD%" PRIu64 "]", i);
            bool ok = y1 == y2 && (y2 == 5 ? (l1 == strlen(pad) && !memcmp(s1, pad, l1))
                                           : (l1 == l2 && !memcmp(s1, s2, l1)));
            if (!ok && bad++ < 5)
                fprintf(stderr, "  %s token %" PRIu64 ": %.*s (%d) vs %.*s (%d)\n", cases[k].c, i,
                        (int)l1, s1, y1, (int)l2, s2, y2);
        }
        CHECK_MSG(bad == 0, "%s: %d tokens differ", cases[k].c, bad);
        const char *ct;
        size_t ctl;
        CHECK(sk_gguf_get_str(got, "tokenizer.chat_template", &ct, &ctl) && ctl > 10);
        sk_gguf_close(got);
        sk_gguf_close(want);
    }
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* One reader: a folder whose tokenizer_config.json has no add_bos_token and a chat_template
 * list without a "default" entry. `seek tokenize --tokenizer DIR` (sk_tokenizer_load_hf) and the
 * converted GGUF must agree on every id, add_bos and the template (the converter used to be a
 * second reader that defaulted add_bos to true and dropped such a template). */
static void test_tokenizer_one_reader(void) {
    sk_err e = {0};
    sk_gguf *want = NULL;
    CHECK_OK(sk_gguf_open(golden("qwen2-tiny", "model.gguf"), &want, &e), &e);
    if (!want) return;
    char dir[512], p[700], cmd[1300];
    snprintf(dir, sizeof dir, "%s/tok-one-reader", g_tmp);
    link_or_copy_config("qwen2-tiny", dir);
    snprintf(cmd, sizeof cmd, "ln -sf '%s' '%s/model.safetensors'",
             golden("qwen2-tiny", "model.safetensors"), dir);
    CHECK(system(cmd) == 0);
    write_tokenizer(want, dir, &k_qwen2_re, 1, false);
    sk_gguf_close(want);
    snprintf(p, sizeof p, "%s/tokenizer_config.json", dir);
    write_file(p, "{\"eos_token\": \"<｜end▁of▁sentence｜>\", \"chat_template\": "
                  "[{\"name\": \"tool_use\", \"template\": \"T{{ messages[0].content }}\"}]}");
    const char *out = tmp_path("one-reader.gguf");
    sk_convert_info info;
    CHECK_OK(convert(dir, out, SK_TYPE_F32, false, &info, &e), &e);
    sk_tokenizer *a = NULL, *b = NULL;
    CHECK_OK(sk_tokenizer_load_hf(dir, &a, &e), &e);
    CHECK_OK(sk_tokenizer_load_gguf_file(out, &b, &e), &e);
    if (a && b) {
        CHECK(sk_tokenizer_add_bos(a) == sk_tokenizer_add_bos(b));
        CHECK(sk_tokenizer_eos(a) == sk_tokenizer_eos(b) && sk_tokenizer_eos(a) >= 0);
        const char *ta = sk_tokenizer_chat_template(a), *tb = sk_tokenizer_chat_template(b);
        CHECK(ta && tb && !strcmp(ta, tb) && !strcmp(ta, "T{{ messages[0].content }}"));
        CHECK(!strcmp(sk_tokenizer_pre(a), "qwen2") && sk_tokenizer_n_vocab(b) >= sk_tokenizer_n_vocab(a));
        const char *texts[] = {"Hello world, 123 4567!", "  tabs\tand\nnewlines\n\n",
                               "<｜end▁of▁sentence｜>x", "caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd"};
        for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
            int32_t *ia = NULL, *ib = NULL;
            size_t na = 0, nb = 0;
            unsigned fl = SK_TOK_ADD_BOS | SK_TOK_PARSE_SPECIAL;
            CHECK_OK(sk_tokenizer_encode(a, texts[k], strlen(texts[k]), fl, &ia, &na, &e), &e);
            CHECK_OK(sk_tokenizer_encode(b, texts[k], strlen(texts[k]), fl, &ib, &nb, &e), &e);
            CHECK_MSG(na == nb && na > 0 && !memcmp(ia, ib, na * sizeof *ia),
                      "\"%s\": %zu ids from the folder, %zu from the GGUF", texts[k], na, nb);
            free(ia);
            free(ib);
        }
    }
    sk_tokenizer_free(a);
    sk_tokenizer_free(b);
}


static void test_errors(void) {
    sk_err e;
    char dir[512], p[600], cmd[1300];
    snprintf(dir, sizeof dir, "%s/err", g_tmp);
    mkdir(dir, 0755);
    CHECK(convert(dir, tmp_path("x.gguf"), SK_TYPE_F32, false, NULL, &e) == SK_ERR_IO);
    CHECK(strstr(e.msg, "config.json") != NULL);
    snprintf(p, sizeof p, "%s/config.json", dir);
    write_file(p, "{\"model_type\": \"gpt_neox\"}");
    CHECK(convert(dir, tmp_path("x.gguf"), SK_TYPE_F32, false, NULL, &e) == SK_ERR_UNSUPPORTED);
    CHECK(strstr(e.msg, "gpt_neox") != NULL);
    write_file(p, "{\"model_type\": \"qwen2\", ");
    CHECK(convert(dir, tmp_path("x.gguf"), SK_TYPE_F32, false, NULL, &e) == SK_ERR_FORMAT);
    CHECK(convert(golden("qwen2-tiny", "config.json"), tmp_path("x.gguf"), SK_TYPE_F32, false, NULL,
                  &e) == SK_ERR_INVALID);
    CHECK(convert(golden("qwen2-tiny", NULL), tmp_path("x.gguf"), SK_TYPE_IQ2_XXS, false, NULL,
                  &e) == SK_ERR_UNSUPPORTED);
    unlink(tmp_path("x.gguf"));
    /* a tensor without a GGUF name, and a missing one */
    snprintf(cmd, sizeof cmd, "cp '%s' '%s/config.json'", golden("qwen2-tiny", "config.json"), dir);
    CHECK(system(cmd) == 0);
    sk_st *st = NULL;
    CHECK_OK(sk_st_open(golden("qwen2-tiny", "model.safetensors"), &st, &e), &e);
    if (!st) return;
    for (int mode = 0; mode < 2; mode++) {
        sk_st_writer *w = sk_st_writer_new(&e);
        for (int64_t i = 0; i < sk_st_n_tensors(st); i++) {
            const sk_st_tensor *t = sk_st_tensor_at(st, i);
            if (mode == 1 && !strcmp(t->name, "model.layers.1.mlp.up_proj.weight")) continue;
            CHECK_OK(sk_st_writer_add(w, t->name, t->dtype, t->n_dims, t->shape, t->data, &e), &e);
        }
        if (mode == 0) {
            float x = 1;
            int64_t s1[1] = {1};
            CHECK_OK(sk_st_writer_add(w, "model.extra.weight", SK_ST_F32, 1, s1, &x, &e), &e);
        }
        snprintf(p, sizeof p, "%s/model.safetensors", dir);
        CHECK_OK(sk_st_writer_write(w, p, &e), &e);
        sk_st_writer_free(w);
        int rc = convert(dir, tmp_path("x.gguf"), SK_TYPE_F32, false, NULL, &e);
        if (mode == 0)
            CHECK(rc == SK_ERR_UNSUPPORTED && strstr(e.msg, "model.extra.weight"));
        else
            CHECK(rc == SK_ERR_NOTFOUND && strstr(e.msg, "model.layers.1.mlp.up_proj.weight"));
    }
    sk_st_close(st);
    CHECK(access(tmp_path("x.gguf"), F_OK) != 0); /* nothing half-written */
}

int main(void) {
    snprintf(g_tmp, sizeof g_tmp, "/tmp/seek-test-convert-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", g_tmp);
    if (system(cmd) != 0) return 2;
    setenv("SEEK_PROGRESS", "0", 1);
    sk_log_set_level(SK_LOG_ERROR); /* the fallback-type warnings are expected */
    RUN(test_golden_f32);
    RUN(test_golden_q8_0);
    RUN(test_other_types);
    RUN(test_fp8_checkpoint);
    RUN(test_tokenizer);
    RUN(test_tokenizer_one_reader);
    RUN(test_errors);
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_tmp);
    if (system(cmd) != 0) return 2;
    return sk_test_report("convert");
}
