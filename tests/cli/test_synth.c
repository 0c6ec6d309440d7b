/* test_synth — `seek synth`: planned sizes against the spec's parameter counts (§6), written
 * files re-read with the GGUF reader (names, shapes, types, metadata, tokenizer), the derived
 * MLA tensors against attn_kv_b, and byte-for-byte determinism per seed. */
#include "gen_synth.h"
#include "sk_gguf.h"
#include "sk_test.h"

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

static char g_dir[256];

static void tmp_path(char *buf, size_t n, const char *name) {
    snprintf(buf, n, "%s/%s", g_dir, name);
}

static sk_synth_opts opts(const char *shape, int type, int layers, int experts, int vocab) {
    sk_synth_opts o = {.shape = shape, .type = type, .n_layers = layers, .n_experts = experts,
                       .n_vocab = vocab, .seed = 42};
    return o;
}

/* Full-size plans: parameter counts of spec §6 and known tensor counts. */
static void test_plan_sizes(void) {
    sk_err e = {0};
    sk_synth_info in;
    sk_synth_opts o = opts("deepseek-v3", SK_TYPE_Q4_K, 0, 0, 0);
    CHECK_OK(sk_synth_plan(&o, &in, &e), &e);
    CHECK(in.params == 671026419200ull);
    /* 1025 tensors: the original-format R1 GGUF */
    CHECK(in.n_tensors == 1025);
    o.mla = SK_SYNTH_MLA_IK; /* + attn_k_b/attn_v_b for 61 layers */
    CHECK_OK(sk_synth_plan(&o, &in, &e), &e);
    CHECK(in.n_tensors == 1025 + 2 * 61 && in.params == 671026419200ull);
    o.mla = SK_SYNTH_MLA_MAINLINE; /* attn_kv_b replaced by attn_k_b + attn_v_b: 1086 */
    CHECK_OK(sk_synth_plan(&o, &in, &e), &e);
    CHECK(in.n_tensors == 1086 && in.params == 671026419200ull);
    CHECK(in.n_dense_layers == 3 && in.n_experts == 256 && in.n_vocab == 129280);
    o = opts("deepseek-v2-lite", SK_TYPE_Q8_0, 0, 0, 0);
    CHECK_OK(sk_synth_plan(&o, &in, &e), &e);
    CHECK(in.params == 15706484224ull);
    CHECK(in.n_dense_layers == 1 && in.n_layers == 27);
    struct { const char *shape; double billions; int n_tensors; } dense[] = {
        {"r1-distill-qwen-1.5b", 1.78, 28 * 12 + 3},
        {"r1-distill-qwen-7b", 7.62, 28 * 12 + 3},
        {"r1-distill-llama-8b", 8.03, 32 * 9 + 4},
    };
    for (int i = 0; i < 3; i++) {
        o = opts(dense[i].shape, SK_TYPE_F16, 0, 0, 0);
        CHECK_OK(sk_synth_plan(&o, &in, &e), &e);
        CHECK_MSG(fabs((double)in.params / 1e9 - dense[i].billions) < 0.006, "%s: %llu params",
                  dense[i].shape, (unsigned long long)in.params);
        CHECK_MSG(in.n_tensors == dense[i].n_tensors, "%s: %d tensors", dense[i].shape,
                  in.n_tensors);
        CHECK(in.tensor_bytes > 2 * in.params - 1000000 && in.tensor_bytes < 2 * in.params + 1000000000ull);
    }
    /* exact count for qwen 1.5B (untied head) */
    o = opts("r1-distill-qwen-1.5b", SK_TYPE_F16, 0, 0, 0);
    CHECK_OK(sk_synth_plan(&o, &in, &e), &e);
    CHECK(in.params == 1777088000ull);
    /* layer cut keeps dense layers but leaves one MoE layer */
    o = opts("deepseek-v3", SK_TYPE_Q4_0, 2, 8, 512);
    CHECK_OK(sk_synth_plan(&o, &in, &e), &e);
    CHECK(in.n_layers == 2 && in.n_dense_layers == 1 && in.n_experts == 8 && in.n_vocab == 512);
    o = opts("deepseek-v3", SK_TYPE_Q4_0, 5, 0, 0);
    CHECK_OK(sk_synth_plan(&o, &in, &e), &e);
    CHECK(in.n_dense_layers == 3);
    /* --layers 1 still leaves the promised MoE layer (it used to keep one dense layer only) */
    o = opts("deepseek-v3", SK_TYPE_Q4_0, 1, 8, 512);
    CHECK_OK(sk_synth_plan(&o, &in, &e), &e);
    CHECK(in.n_layers == 1 && in.n_dense_layers == 0);
    o = opts("deepseek-v2-lite", SK_TYPE_Q4_0, 1, 8, 512);
    CHECK_OK(sk_synth_plan(&o, &in, &e), &e);
    CHECK(in.n_layers == 1 && in.n_dense_layers == 0);
}

static void test_bad_options(void) {
    sk_err e = {0};
    sk_synth_info in;
    sk_synth_opts o = opts("deepseek-v9", SK_TYPE_F16, 0, 0, 0);
    CHECK(sk_synth_plan(&o, &in, &e) == SK_ERR_INVALID && strstr(e.msg, "unknown shape"));
    o = opts("deepseek-v3", SK_TYPE_F16, 62, 0, 0);
    CHECK(sk_synth_plan(&o, &in, &e) == SK_ERR_INVALID && strstr(e.msg, "--layers"));
    o = opts("deepseek-v3", SK_TYPE_F16, 2, 0, 100);
    CHECK(sk_synth_plan(&o, &in, &e) == SK_ERR_INVALID && strstr(e.msg, "--vocab"));
    o = opts("r1-distill-qwen-7b", SK_TYPE_F16, 2, 4, 0);
    CHECK(sk_synth_plan(&o, &in, &e) == SK_ERR_INVALID && strstr(e.msg, "--experts"));
    o = opts("deepseek-v3", SK_TYPE_F16, 2, 300, 0);
    CHECK(sk_synth_plan(&o, &in, &e) == SK_ERR_INVALID);
    o = opts("r1-distill-qwen-7b", SK_TYPE_F16, 2, 0, 0);
    o.mla = SK_SYNTH_MLA_IK;
    CHECK(sk_synth_plan(&o, &in, &e) == SK_ERR_INVALID && strstr(e.msg, "--mla"));
    o = opts("deepseek-v3", SK_TYPE_Q2_K, 2, 0, 0);
    CHECK(sk_synth_plan(&o, &in, &e) == SK_ERR_UNSUPPORTED);
    char p[300];
    tmp_path(p, sizeof p, "nodir/x.gguf");
    o = opts("r1-distill-qwen-1.5b", SK_TYPE_F16, 1, 0, 400);
    CHECK(sk_synth_write(&o, p, NULL, NULL, &e) != SK_OK);
    CHECK(e.msg[0] != 0);
}

static uint32_t u32(const sk_gguf *g, const char *key) {
    uint32_t v = 0xffffffffu;
    CHECK_MSG(sk_gguf_get_u32(g, key, &v), "missing key %s", key);
    return v;
}

static const sk_gguf_tensor_info *tensor(const sk_gguf *g, const char *name) {
    int64_t i = sk_gguf_find_tensor(g, name);
    CHECK_MSG(i >= 0, "missing tensor %s", name);
    return i >= 0 ? sk_gguf_tensor(g, i) : NULL;
}

static bool shape_is(const sk_gguf_tensor_info *t, int type, int64_t ne0, int64_t ne1,
                     int64_t ne2) {
    return t && t->type == type && t->ne[0] == ne0 && t->ne[1] == ne1 && t->ne[2] == ne2;
}

static int32_t find_token(const sk_gguf *g, const char *text) {
    sk_gguf_vtype et;
    uint64_t n;
    const void *d;
    if (!sk_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n, &d)) return -1;
    for (uint64_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        if (sk_gguf_get_arr_str(g, "tokenizer.ggml.tokens", i, &s, &len) && len == strlen(text) &&
            !memcmp(s, text, len))
            return (int32_t)i;
    }
    return -1;
}

static void test_qwen_file(void) {
    char p[300];
    tmp_path(p, sizeof p, "qwen.gguf");
    sk_err e = {0};
    sk_synth_opts o = opts("r1-distill-qwen-1.5b", SK_TYPE_Q8_0, 1, 0, 400);
    sk_synth_info in;
    CHECK_OK(sk_synth_write(&o, p, NULL, &in, &e), &e);
    sk_gguf *g = NULL;
    CHECK_OK(sk_gguf_open(p, &g, &e), &e);
    if (!g) return;
    CHECK(sk_gguf_n_tensors(g) == in.n_tensors && in.n_tensors == 12 + 3);
    const char *s;
    size_t len;
    CHECK(sk_gguf_get_str(g, "general.architecture", &s, &len) && len == 5 && !memcmp(s, "qwen2", 5));
    CHECK(u32(g, "qwen2.block_count") == 1);
    CHECK(u32(g, "qwen2.embedding_length") == 1536);
    CHECK(u32(g, "qwen2.feed_forward_length") == 8960);
    CHECK(u32(g, "qwen2.attention.head_count") == 12);
    CHECK(u32(g, "qwen2.attention.head_count_kv") == 2);
    CHECK(u32(g, "qwen2.context_length") == 131072);
    float f = 0;
    CHECK(sk_gguf_get_f32(g, "qwen2.rope.freq_base", &f) && f == 10000.0f);
    CHECK(sk_gguf_get_f32(g, "qwen2.attention.layer_norm_rms_epsilon", &f) && f == 1e-6f);
    CHECK(shape_is(tensor(g, "token_embd.weight"), SK_TYPE_Q8_0, 1536, 400, 1));
    CHECK(shape_is(tensor(g, "output.weight"), SK_TYPE_Q8_0, 1536, 400, 1));
    CHECK(shape_is(tensor(g, "output_norm.weight"), SK_TYPE_F32, 1536, 1, 1));
    CHECK(shape_is(tensor(g, "blk.0.attn_q.weight"), SK_TYPE_Q8_0, 1536, 1536, 1));
    CHECK(shape_is(tensor(g, "blk.0.attn_k.weight"), SK_TYPE_Q8_0, 1536, 256, 1));
    CHECK(shape_is(tensor(g, "blk.0.attn_v.bias"), SK_TYPE_F32, 256, 1, 1));
    CHECK(shape_is(tensor(g, "blk.0.ffn_down.weight"), SK_TYPE_Q8_0, 8960, 1536, 1));
    CHECK(sk_gguf_find_tensor(g, "blk.1.attn_q.weight") < 0);
    /* tokenizer: 400 tokens, specials compacted after bytes + merges, template of R1-Distill */
    CHECK(sk_gguf_get_str(g, "tokenizer.ggml.model", &s, &len) && len == 4 && !memcmp(s, "gpt2", 4));
    uint32_t bos = u32(g, "tokenizer.ggml.bos_token_id"), eos = u32(g, "tokenizer.ggml.eos_token_id");
    CHECK(bos < 400 && eos < 400 && bos != eos);
    CHECK((int32_t)bos == find_token(g, "<｜begin▁of▁sentence｜>"));
    CHECK((int32_t)eos == find_token(g, "<｜end▁of▁sentence｜>"));
    CHECK(find_token(g, "<think>") >= 0 && find_token(g, "</think>") >= 0);
    CHECK(find_token(g, "<｜User｜>") >= 0 && find_token(g, "<｜Assistant｜>") >= 0);
    CHECK(find_token(g, "Ġthe") >= 0 && find_token(g, "Ġ") >= 0 && find_token(g, "[PAD399]") == 399);
    sk_gguf_vtype et;
    uint64_t n;
    const void *d;
    CHECK(sk_gguf_get_arr(g, "tokenizer.ggml.token_type", &et, &n, &d) && et == SK_GGUF_INT32 && n == 400);
    if (n == 400) {
        int32_t ty;
        memcpy(&ty, (const char *)d + 4 * bos, 4);
        CHECK(ty == 3);
        memcpy(&ty, (const char *)d + 4 * (uint64_t)find_token(g, "<think>"), 4);
        CHECK(ty == 4);
    }
    CHECK(sk_gguf_get_arr(g, "tokenizer.ggml.merges", &et, &n, &d) && et == SK_GGUF_STRING && n == 40);
    CHECK(sk_gguf_get_str(g, "tokenizer.chat_template", &s, &len) && len > 100);
    const char *gen = "<｜Assistant｜><think>\\n";
    CHECK(len > strlen(gen) && memmem(s, len, gen, strlen(gen)) != NULL);
    /* weights look like an init: norms 1, matrices ~N(0, 0.02) */
    const sk_gguf_tensor_info *t = tensor(g, "blk.0.attn_norm.weight");
    if (t) {
        float w0;
        memcpy(&w0, t->data, 4);
        CHECK(w0 == 1.0f);
    }
    t = tensor(g, "blk.0.attn_q.weight");
    if (t) {
        int64_t cnt = 1536 * 64;
        float *row = malloc((size_t)cnt * sizeof *row);
        CHECK_OK(sk_dequant(SK_TYPE_Q8_0, t->data, row, cnt, &e), &e);
        double s1 = 0, s2 = 0;
        for (int64_t i = 0; i < cnt; i++) s1 += row[i], s2 += (double)row[i] * row[i];
        double mean = s1 / (double)cnt, sd = sqrt(s2 / (double)cnt - mean * mean);
        CHECK_NEAR(mean, 0.0, 0.001);
        CHECK_NEAR(sd, 0.02, 0.001);
        free(row);
    }
    sk_gguf_close(g);
}

/* Same seed → same bytes, whatever the thread count. */
static void test_deterministic(void) {
    char a[300], b[300];
    tmp_path(a, sizeof a, "qwen.gguf"); /* from test_qwen_file: all CPUs */
    tmp_path(b, sizeof b, "d2.gguf");
    sk_err e = {0};
    sk_synth_opts o = opts("r1-distill-qwen-1.5b", SK_TYPE_Q8_0, 1, 0, 400);
    o.n_threads = 1;
    CHECK_OK(sk_synth_write(&o, b, NULL, NULL, &e), &e);
    CHECK(sk_test_same_file(a, b));
    unlink(b);
}

/* Another seed → other weights, same layout and metadata (slow set). */
static void test_seed_changes_weights(void) {
    char a[300], b[300];
    tmp_path(a, sizeof a, "s42.gguf");
    tmp_path(b, sizeof b, "s43.gguf");
    sk_err e = {0};
    sk_synth_opts o = opts("r1-distill-qwen-1.5b", SK_TYPE_Q4_0, 1, 0, 400);
    CHECK_OK(sk_synth_write(&o, a, NULL, NULL, &e), &e);
    o.seed = 43;
    CHECK_OK(sk_synth_write(&o, b, NULL, NULL, &e), &e);
    sk_gguf *ga = NULL, *gb = NULL;
    CHECK_OK(sk_gguf_open(a, &ga, &e), &e);
    CHECK_OK(sk_gguf_open(b, &gb, &e), &e);
    if (ga && gb) {
        CHECK(sk_gguf_n_tensors(ga) == sk_gguf_n_tensors(gb) && sk_gguf_n_kv(ga) == sk_gguf_n_kv(gb));
        for (int64_t i = 0; i < sk_gguf_n_tensors(ga); i++) {
            const sk_gguf_tensor_info *x = sk_gguf_tensor(ga, i), *y = sk_gguf_tensor(gb, i);
            CHECK(!strcmp(x->name, y->name) && x->nbytes == y->nbytes);
            bool norm = strstr(x->name, "norm") != NULL;
            bool same = x->nbytes == y->nbytes && !memcmp(x->data, y->data, x->nbytes);
            CHECK_MSG(same == norm, "%s: %s", x->name, same ? "unchanged" : "changed");
        }
    }
    sk_gguf_close(ga);
    sk_gguf_close(gb);
    unlink(a);
    unlink(b);
}

/* llama: rope_freqs (llama3 scaling divisors), GQA shapes, no biases. */
static void test_llama_file(void) {
    char a[300];
    tmp_path(a, sizeof a, "llama.gguf");
    sk_err e = {0};
    sk_synth_opts o = opts("r1-distill-llama-8b", SK_TYPE_Q4_0, 1, 0, 320);
    CHECK_OK(sk_synth_write(&o, a, NULL, NULL, &e), &e);
    sk_gguf *g = NULL;
    CHECK_OK(sk_gguf_open(a, &g, &e), &e);
    if (!g) return;
    CHECK(u32(g, "llama.rope.dimension_count") == 128);
    CHECK(u32(g, "llama.attention.head_count_kv") == 8);
    CHECK(u32(g, "llama.vocab_size") == 320);
    const sk_gguf_tensor_info *t = tensor(g, "rope_freqs.weight");
    CHECK(shape_is(t, SK_TYPE_F32, 64, 1, 1));
    if (t) {
        /* llama3 divisors: 1 for short wavelengths, 8 for long ones, monotone between */
        float r[64];
        memcpy(r, t->data, sizeof r);
        CHECK(r[0] == 1.0f && r[63] == 8.0f);
        for (int i = 1; i < 64; i++) CHECK(r[i] >= r[i - 1]);
    }
    CHECK(shape_is(tensor(g, "blk.0.attn_k.weight"), SK_TYPE_Q4_0, 4096, 1024, 1));
    CHECK(shape_is(tensor(g, "blk.0.ffn_gate.weight"), SK_TYPE_Q4_0, 4096, 14336, 1));
    CHECK(sk_gguf_find_tensor(g, "blk.0.attn_q.bias") < 0);
    sk_gguf_close(g);
    unlink(a);
}

/* deepseek2 (V2-Lite): the MoE layer, the fallback type for rows that are not a multiple of 256,
 * and attn_k_b / attn_v_b equal to attn_kv_b rearranged. */
static void test_v2_lite_file(void) {
    char p[300];
    tmp_path(p, sizeof p, "v2.gguf");
    sk_err e = {0};
    sk_synth_opts o = opts("deepseek-v2-lite", SK_TYPE_Q4_K, 2, 2, 300);
    o.mla = SK_SYNTH_MLA_IK;
    CHECK_OK(sk_synth_write(&o, p, NULL, NULL, &e), &e);
    sk_gguf *g = NULL;
    CHECK_OK(sk_gguf_open(p, &g, &e), &e);
    if (!g) return;
    CHECK(u32(g, "deepseek2.block_count") == 2);
    CHECK(u32(g, "deepseek2.leading_dense_block_count") == 1);
    CHECK(u32(g, "deepseek2.expert_count") == 2);
    CHECK(u32(g, "deepseek2.expert_used_count") == 2);
    CHECK(u32(g, "deepseek2.expert_shared_count") == 2);
    CHECK(u32(g, "deepseek2.expert_feed_forward_length") == 1408);
    CHECK(u32(g, "deepseek2.attention.kv_lora_rank") == 512);
    CHECK(u32(g, "deepseek2.attention.key_length") == 192);
    CHECK(u32(g, "deepseek2.attention.value_length") == 128);
    CHECK(u32(g, "deepseek2.attention.head_count_kv") == 16);
    CHECK(u32(g, "deepseek2.rope.dimension_count") == 64);
    CHECK(u32(g, "deepseek2.expert_gating_func") == 1);
    CHECK(u32(g, "deepseek2.attention.q_lora_rank") == 0); /* no q LoRA, stated for llama.cpp */
    float f = 0;
    CHECK(sk_gguf_get_f32(g, "deepseek2.rope.scaling.yarn_log_multiplier", &f) && fabsf(f - 0.0707f) < 1e-6f);
    CHECK(sk_gguf_get_f32(g, "deepseek2.rope.scaling.factor", &f) && f == 40.0f);
    CHECK(shape_is(tensor(g, "blk.0.attn_q.weight"), SK_TYPE_Q4_K, 2048, 3072, 1));
    CHECK(shape_is(tensor(g, "blk.0.ffn_down.weight"), SK_TYPE_Q5_0, 10944, 2048, 1)); /* 10944 % 256 != 0 */
    CHECK(shape_is(tensor(g, "blk.1.ffn_gate_inp.weight"), SK_TYPE_F32, 2048, 2, 1));
    CHECK(shape_is(tensor(g, "blk.1.ffn_gate_exps.weight"), SK_TYPE_Q4_K, 2048, 1408, 2));
    CHECK(shape_is(tensor(g, "blk.1.ffn_down_exps.weight"), SK_TYPE_Q5_0, 1408, 2048, 2));
    CHECK(shape_is(tensor(g, "blk.1.ffn_up_shexp.weight"), SK_TYPE_Q4_K, 2048, 2816, 1));
    CHECK(sk_gguf_find_tensor(g, "blk.1.exp_probs_b.bias") < 0);
    CHECK(sk_gguf_find_tensor(g, "blk.0.ffn_gate_inp.weight") < 0);
    const sk_gguf_tensor_info *kvb = tensor(g, "blk.1.attn_kv_b.weight");
    const sk_gguf_tensor_info *kb = tensor(g, "blk.1.attn_k_b.weight");
    const sk_gguf_tensor_info *vb = tensor(g, "blk.1.attn_v_b.weight");
    CHECK(shape_is(kvb, SK_TYPE_Q4_K, 512, 16 * 256, 1));
    CHECK(shape_is(kb, SK_TYPE_Q5_0, 128, 16 * 512, 1));
    CHECK(shape_is(vb, SK_TYPE_Q4_K, 512, 16 * 128, 1));
    if (kvb && kb && vb && kvb->type == SK_TYPE_Q4_K && kb->type == SK_TYPE_Q5_0 && vb->type == SK_TYPE_Q4_K) {
        float *KV = malloc(sizeof(float) * 512 * 4096), *K = malloc(sizeof(float) * 128 * 8192),
              *Vb = malloc(sizeof(float) * 512 * 2048);
        CHECK_OK(sk_dequant(kvb->type, kvb->data, KV, 512 * 4096, &e), &e);
        CHECK_OK(sk_dequant(kb->type, kb->data, K, 128 * 8192, &e), &e);
        CHECK_OK(sk_dequant(vb->type, vb->data, Vb, 512 * 2048, &e), &e);
        double maxd = 0, maxv = 0;
        for (int h = 0; h < 16; h++)
            for (int c = 0; c < 512; c++) {
                for (int j = 0; j < 128; j++) {
                    double a = K[(size_t)(h * 512 + c) * 128 + j];
                    double b = KV[(size_t)(h * 256 + j) * 512 + c];
                    maxd = fmax(maxd, fabs(a - b));
                    maxv = fmax(maxv, fabs(b));
                }
                for (int i = 0; i < 128; i++) {
                    double a = Vb[(size_t)(h * 128 + i) * 512 + c];
                    double b = KV[(size_t)(h * 256 + 128 + i) * 512 + c];
                    CHECK(a == b); /* same rows, same type: identical encoding */
                    if (a != b) { h = 16; break; }
                }
            }
        CHECK(maxv > 0.04);
        CHECK_MSG(maxd < 0.01, "k_b vs kv_b max diff %g", maxd); /* q4_k vs q5_0 rounding */
        free(KV);
        free(K);
        free(Vb);
    }
    /* the mainline layout (1 layer): 3-D attn_k_b / attn_v_b with the same bytes, no attn_kv_b,
     * MLA metadata */
    char p2[300];
    tmp_path(p2, sizeof p2, "v2-mainline.gguf");
    o = opts("deepseek-v2-lite", SK_TYPE_Q4_K, 1, 0, 300);
    o.mla = SK_SYNTH_MLA_MAINLINE;
    CHECK_OK(sk_synth_write(&o, p2, NULL, NULL, &e), &e);
    sk_gguf *g2 = NULL;
    CHECK_OK(sk_gguf_open(p2, &g2, &e), &e);
    if (g2) {
        CHECK(u32(g2, "deepseek2.attention.head_count_kv") == 1);
        CHECK(u32(g2, "deepseek2.attention.key_length") == 576);
        CHECK(u32(g2, "deepseek2.attention.value_length") == 512);
        CHECK(u32(g2, "deepseek2.attention.key_length_mla") == 192);
        CHECK(u32(g2, "deepseek2.attention.value_length_mla") == 128);
        CHECK(sk_gguf_find_tensor(g2, "blk.0.attn_kv_b.weight") < 0);
        const sk_gguf_tensor_info *k3 = tensor(g2, "blk.0.attn_k_b.weight");
        const sk_gguf_tensor_info *v3 = tensor(g2, "blk.0.attn_v_b.weight");
        const sk_gguf_tensor_info *k2 = tensor(g, "blk.0.attn_k_b.weight");
        const sk_gguf_tensor_info *v2 = tensor(g, "blk.0.attn_v_b.weight");
        CHECK(shape_is(k3, SK_TYPE_Q5_0, 128, 512, 16) && k3->n_dims == 3);
        CHECK(shape_is(v3, SK_TYPE_Q4_K, 512, 128, 16) && v3->n_dims == 3);
        CHECK(k2 && k3 && k2->nbytes == k3->nbytes && !memcmp(k2->data, k3->data, k2->nbytes));
        CHECK(v2 && v3 && v2->nbytes == v3->nbytes && !memcmp(v2->data, v3->data, v2->nbytes));
        sk_gguf_close(g2);
    }
    unlink(p2);
    sk_gguf_close(g);
    unlink(p);
}

int main(int argc, char **argv) {
    bool big = argc > 1 && !strcmp(argv[1], "big");
    snprintf(g_dir, sizeof g_dir, "/tmp/seek-test-synth-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    if (!big) {
        RUN(test_plan_sizes);
        RUN(test_bad_options);
        RUN(test_qwen_file);
        RUN(test_deterministic);
    } else {
        RUN(test_seed_changes_weights);
        RUN(test_llama_file);
        RUN(test_v2_lite_file);
    }
    char p[300];
    tmp_path(p, sizeof p, "qwen.gguf");
    unlink(p);
    rmdir(g_dir);
    return sk_test_report(big ? "synth (big shapes)" : "synth");
}
