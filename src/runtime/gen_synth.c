/* gen_synth.c — random-weight GGUF files of real DeepSeek-family shapes (see gen_synth.h). */
#include "gen_synth.h"

#include "gen_templates.h"
#include "sk_tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shapes --------------------------------------------------------------------------- */

enum { ARCH_DEEPSEEK2, ARCH_QWEN2, ARCH_LLAMA };
enum { TPL_R1, TPL_R1_DISTILL, TPL_DEEPSEEK2 };

typedef struct synth_special {
    const char *text;
    int real_id;
    int type; /* GGUF token type: 3 CONTROL, 4 USER_DEFINED */
} synth_special;

#define MAX_SPECIALS 24

typedef struct synth_shape {
    const char *name, *general_name;
    int arch;
    int n_vocab, n_embd, n_layer, n_head, n_head_kv, n_ff;
    float eps, theta;
    uint32_t ctx;
    bool qkv_bias;
    /* deepseek2 */
    int q_lora, kv_lora, nope, rope, vdim;
    int n_dense, n_routed, n_active, n_shared, moe_ff, n_group, topk_group;
    float routed_scale;
    bool norm_topk, exp_bias;
    int gating;
    float yarn_factor, mscale_all_dim;
    uint32_t yarn_orig;
    /* llama3 rope scaling */
    bool llama3;
    float l3_factor, l3_low, l3_high;
    float l3_orig;
    /* tokenizer */
    const char *pre;
    int tpl;
    const char *bos, *eos;
    synth_special specials[MAX_SPECIALS];
} synth_shape;

#define BOS_TXT "<｜begin▁of▁sentence｜>"
#define EOS_TXT "<｜end▁of▁sentence｜>"

static const synth_shape k_shapes[] = {
    {
        .name = "r1-distill-qwen-1.5b", .general_name = "DeepSeek R1 Distill Qwen 1.5B (synthetic)",
        .arch = ARCH_QWEN2, .n_vocab = 151936, .n_embd = 1536, .n_layer = 28, .n_head = 12,
        .n_head_kv = 2, .n_ff = 8960, .eps = 1e-6f, .theta = 10000.0f, .ctx = 131072,
        .qkv_bias = true, .pre = "qwen2", .tpl = TPL_R1_DISTILL, .bos = BOS_TXT, .eos = EOS_TXT,
        .specials = {{EOS_TXT, 151643, 3}, {"<｜User｜>", 151644, 3}, {"<｜Assistant｜>", 151645, 3},
                     {BOS_TXT, 151646, 3}, {"<|EOT|>", 151647, 3}, {"<think>", 151648, 4},
                     {"</think>", 151649, 4}},
    },
    {
        .name = "r1-distill-qwen-7b", .general_name = "DeepSeek R1 Distill Qwen 7B (synthetic)",
        .arch = ARCH_QWEN2, .n_vocab = 152064, .n_embd = 3584, .n_layer = 28, .n_head = 28,
        .n_head_kv = 4, .n_ff = 18944, .eps = 1e-6f, .theta = 10000.0f, .ctx = 131072,
        .qkv_bias = true, .pre = "qwen2", .tpl = TPL_R1_DISTILL, .bos = BOS_TXT, .eos = EOS_TXT,
        .specials = {{EOS_TXT, 151643, 3}, {"<｜User｜>", 151644, 3}, {"<｜Assistant｜>", 151645, 3},
                     {BOS_TXT, 151646, 3}, {"<|EOT|>", 151647, 3}, {"<think>", 151648, 4},
                     {"</think>", 151649, 4}},
    },
    {
        .name = "r1-distill-llama-8b", .general_name = "DeepSeek R1 Distill Llama 8B (synthetic)",
        .arch = ARCH_LLAMA, .n_vocab = 128256, .n_embd = 4096, .n_layer = 32, .n_head = 32,
        .n_head_kv = 8, .n_ff = 14336, .eps = 1e-5f, .theta = 500000.0f, .ctx = 131072,
        .llama3 = true, .l3_factor = 8.0f, .l3_low = 1.0f, .l3_high = 4.0f, .l3_orig = 8192.0f,
        .pre = "llama-bpe", .tpl = TPL_R1_DISTILL, .bos = BOS_TXT, .eos = EOS_TXT,
        .specials = {{BOS_TXT, 128000, 3}, {EOS_TXT, 128001, 3}, {"<｜User｜>", 128011, 3},
                     {"<｜Assistant｜>", 128012, 3}, {"<think>", 128013, 4},
                     {"</think>", 128014, 4}},
    },
    {
        .name = "deepseek-v2-lite", .general_name = "DeepSeek V2 Lite Chat (synthetic)",
        .arch = ARCH_DEEPSEEK2, .n_vocab = 102400, .n_embd = 2048, .n_layer = 27, .n_head = 16,
        .n_head_kv = 16, .n_ff = 10944, .eps = 1e-6f, .theta = 10000.0f, .ctx = 163840,
        .q_lora = 0, .kv_lora = 512, .nope = 128, .rope = 64, .vdim = 128, .n_dense = 1,
        .n_routed = 64, .n_active = 6, .n_shared = 2, .moe_ff = 1408, .n_group = 1,
        .topk_group = 1, .routed_scale = 1.0f, .norm_topk = false, .exp_bias = false,
        .gating = 1, .yarn_factor = 40.0f, .mscale_all_dim = 0.707f, .yarn_orig = 4096,
        .pre = "deepseek-llm", .tpl = TPL_DEEPSEEK2, .bos = BOS_TXT, .eos = EOS_TXT,
        .specials = {{BOS_TXT, 100000, 3}, {EOS_TXT, 100001, 3}},
    },
    {
        .name = "deepseek-v3", .general_name = "DeepSeek R1 (synthetic)",
        .arch = ARCH_DEEPSEEK2, .n_vocab = 129280, .n_embd = 7168, .n_layer = 61, .n_head = 128,
        .n_head_kv = 128, .n_ff = 18432, .eps = 1e-6f, .theta = 10000.0f, .ctx = 163840,
        .q_lora = 1536, .kv_lora = 512, .nope = 128, .rope = 64, .vdim = 128, .n_dense = 3,
        .n_routed = 256, .n_active = 8, .n_shared = 1, .moe_ff = 2048, .n_group = 8,
        .topk_group = 4, .routed_scale = 2.5f, .norm_topk = true, .exp_bias = true, .gating = 2,
        .yarn_factor = 40.0f, .mscale_all_dim = 1.0f, .yarn_orig = 4096, .pre = "deepseek-v3",
        .tpl = TPL_R1, .bos = BOS_TXT, .eos = EOS_TXT,
        .specials = {{BOS_TXT, 0, 3},
                     {EOS_TXT, 1, 3},
                     {"<｜▁pad▁｜>", 2, 3},
                     {"<think>", 128798, 4},
                     {"</think>", 128799, 4},
                     {"<｜fim▁hole｜>", 128800, 3},
                     {"<｜fim▁begin｜>", 128801, 3},
                     {"<｜fim▁end｜>", 128802, 3},
                     {"<｜User｜>", 128803, 3},
                     {"<｜Assistant｜>", 128804, 3},
                     {"<|EOT|>", 128805, 3},
                     {"<｜tool▁calls▁begin｜>", 128806, 3},
                     {"<｜tool▁calls▁end｜>", 128807, 3},
                     {"<｜tool▁call▁begin｜>", 128808, 3},
                     {"<｜tool▁call▁end｜>", 128809, 3},
                     {"<｜tool▁outputs▁begin｜>", 128810, 3},
                     {"<｜tool▁outputs▁end｜>", 128811, 3},
                     {"<｜tool▁output▁begin｜>", 128812, 3},
                     {"<｜tool▁output▁end｜>", 128813, 3},
                     {"<｜tool▁sep｜>", 128814, 3}},
    },
};
#define N_SHAPES ((int)(sizeof k_shapes / sizeof k_shapes[0]))

int sk_synth_n_shapes(void) {
    return N_SHAPES;
}

const char *sk_synth_shape_name(int i) {
    return i >= 0 && i < N_SHAPES ? k_shapes[i].name : NULL;
}

/* 40 merges of common English pairs, byte-level unicode ("Ġ" = space); every part is a byte
 * symbol or the result of an earlier merge. */
static const char *const k_merges[][2] = {
    {"Ġ", "t"}, {"h", "e"},   {"i", "n"},  {"Ġ", "a"},  {"e", "r"},  {"o", "n"},  {"r", "e"},
    {"Ġt", "he"}, {"Ġ", "s"}, {"a", "t"},  {"e", "n"},  {"Ġ", "o"},  {"Ġ", "w"},  {"i", "s"},
    {"o", "r"},  {"e", "s"},  {"Ġ", "c"},  {"i", "t"},  {"a", "n"},  {"in", "g"}, {"Ġ", "b"},
    {"Ġ", "f"},  {"Ġ", "p"},  {"e", "d"},  {"o", "u"},  {"a", "l"},  {"a", "r"},  {"Ġ", "m"},
    {"Ġt", "o"}, {"Ġo", "f"}, {"Ġ", "i"},  {"Ġa", "n"}, {"Ġan", "d"}, {"Ġ", "h"}, {"Ġ", "d"},
    {"l", "e"},  {"Ġi", "s"}, {"Ġ", "in"}, {"t", "h"},  {"Ġ", "n"},
};
#define N_MERGES ((int)(sizeof k_merges / sizeof k_merges[0]))

static int n_specials(const synth_shape *s) {
    int n = 0;
    while (n < MAX_SPECIALS && s->specials[n].text) n++;
    return n;
}

/* ---- the plan ------------------------------------------------------------------------- */

enum { K_NORMAL, K_ONES, K_ZEROS, K_ROPE_FREQS, K_KB, K_VB };

typedef struct synth_tensor {
    char name[64];
    int type, n_dims;
    int64_t ne[4];
    int kind;
    float std;
    uint64_t key;  /* per-tensor seed */
    uint64_t nbytes;
    /* K_KB / K_VB: the attn_kv_b this is derived from */
    uint64_t src_key;
    float src_std;
    bool derived;
} synth_tensor;

typedef struct synth_plan {
    const synth_shape *s;
    sk_synth_opts o;
    int n_layer, n_dense, n_routed, n_active, n_group, topk_group, n_vocab;
    int mla;
    synth_tensor *t;
    int n, cap;
    float *row; /* scratch: one row of f32 per thread, row_cap floats each */
    size_t row_cap;
    sk_pool *pool; /* NULL: single-threaded */
} synth_plan;

static uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint64_t hash_str(uint64_t h, const char *s) {
    for (; *s; s++) h = mix64(h ^ (uint8_t)*s);
    return h;
}

/* Irwin–Hall sum of four 16-bit uniforms, scaled to unit variance (bounded by ±3.46). */
static inline float unit_noise(uint64_t key, uint64_t idx) {
    uint64_t h = mix64(key ^ mix64(idx));
    float s = (float)(h & 0xffff) + (float)((h >> 16) & 0xffff) + (float)((h >> 32) & 0xffff) +
              (float)(h >> 48);
    return (s + 2.0f) * (1.0f / 65536.0f) * 1.7320508f - 2.0f * 1.7320508f;
}

/* The type a matrix with rows of ne0 elements gets when `want` was asked for: llama.cpp's
 * fallbacks for rows that are not a multiple of 256 (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0),
 * then Q8_0, then F16. */
static int matrix_type(int want, int64_t ne0) {
    const sk_type_traits *tr = sk_type_info(want);
    if (tr->block_size > 0 && ne0 % tr->block_size == 0) return want;
    int fb = want == SK_TYPE_Q4_K ? SK_TYPE_Q5_0 : want == SK_TYPE_Q5_K ? SK_TYPE_Q5_1 : SK_TYPE_Q8_0;
    const sk_type_traits *ft = sk_type_info(fb);
    if (ft->can_quant && ne0 % ft->block_size == 0) return fb;
    if (ne0 % SK_QK8_0 == 0) return SK_TYPE_Q8_0;
    return SK_TYPE_F16;
}

static int plan_add(synth_plan *p, int kind, int type, float std, sk_err *e, const char *fmt,
                    int layer, int n_dims, int64_t ne0, int64_t ne1, int64_t ne2) {
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 256;
        synth_tensor *t = realloc(p->t, (size_t)cap * sizeof *t);
        if (!t) return sk_err_set(e, SK_ERR_NOMEM, "synth: out of memory planning tensors");
        p->t = t;
        p->cap = cap;
    }
    synth_tensor *t = &p->t[p->n];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, fmt, layer);
    t->n_dims = n_dims;
    t->ne[0] = ne0;
    t->ne[1] = n_dims > 1 ? ne1 : 1;
    t->ne[2] = n_dims > 2 ? ne2 : 1;
    t->ne[3] = 1;
    t->kind = kind;
    t->type = n_dims == 1 ? SK_TYPE_F32 : (type < 0 ? matrix_type(p->o.type, ne0) : type);
    t->std = std;
    t->key = hash_str(mix64(p->o.seed), t->name);
    size_t row;
    if (!sk_row_size(t->type, ne0, &row))
        return sk_err_set(e, SK_ERR_INVALID, "synth: %s: row of %lld is not encodable as %s",
                          t->name, (long long)ne0, sk_type_name(t->type));
    uint64_t nb = row;
    if (!sk_mul_u64_ok(nb, (uint64_t)t->ne[1], &nb) || !sk_mul_u64_ok(nb, (uint64_t)t->ne[2], &nb))
        return sk_err_set(e, SK_ERR_RANGE, "synth: %s: size overflows", t->name);
    t->nbytes = nb;
    p->n++;
    return SK_OK;
}

#define ADD(kind, type, std, name, n_dims, ne0, ne1, ne2)                                       \
    do {                                                                                         \
        int rc_ = plan_add(p, kind, type, std, e, name, il, n_dims, ne0, ne1, ne2);              \
        if (rc_) return rc_;                                                                     \
    } while (0)

static int plan_build(synth_plan *p, const sk_synth_opts *o, sk_err *e) {
    memset(p, 0, sizeof *p);
    p->o = *o;
    if (!o->shape) return sk_err_set(e, SK_ERR_INVALID, "synth: no shape given");
    for (int i = 0; i < N_SHAPES; i++)
        if (!strcmp(o->shape, k_shapes[i].name)) p->s = &k_shapes[i];
    if (!p->s) {
        char list[512] = "";
        for (int i = 0; i < N_SHAPES; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, k_shapes[i].name, sizeof list - strlen(list) - 1);
        }
        return sk_err_set(e, SK_ERR_INVALID, "synth: unknown shape \"%s\" (known: %s)", o->shape,
                          list);
    }
    const synth_shape *s = p->s;
    static const int ok_types[] = {SK_TYPE_F32,  SK_TYPE_F16,  SK_TYPE_BF16, SK_TYPE_Q8_0,
                                   SK_TYPE_Q4_0, SK_TYPE_Q4_K, SK_TYPE_Q5_K, SK_TYPE_Q6_K};
    bool type_ok = false;
    for (size_t i = 0; i < sizeof ok_types / sizeof ok_types[0]; i++)
        if (o->type == ok_types[i]) type_ok = true;
    if (!type_ok)
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "synth: weight type %s is not offered (f32 f16 bf16 q8_0 q4_0 q4_k "
                          "q5_k q6_k)",
                          sk_type_name(o->type));
    if (!sk_type_info(o->type)->can_quant && o->type != SK_TYPE_F32)
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "synth: the tensor layer cannot encode %s yet",
                          sk_type_name(o->type));
    if (o->n_layers < 0 || o->n_layers > s->n_layer)
        return sk_err_set(e, SK_ERR_INVALID, "synth: --layers %d is out of range [1, %d] for %s",
                          o->n_layers, s->n_layer, s->name);
    p->n_layer = o->n_layers ? o->n_layers : s->n_layer;
    p->n_dense = s->n_dense;
    if (s->arch == ARCH_DEEPSEEK2 && p->n_layer < s->n_layer) {
        /* keep the leading dense layers, but leave at least one MoE layer (--layers 1: a
         * single MoE layer, no dense one) */
        if (p->n_dense > p->n_layer - 1) p->n_dense = p->n_layer - 1;
    }
    p->n_routed = s->n_routed;
    p->n_active = s->n_active;
    p->n_group = s->n_group;
    p->topk_group = s->topk_group;
    if (o->n_experts) {
        if (s->arch != ARCH_DEEPSEEK2)
            return sk_err_set(e, SK_ERR_INVALID, "synth: --experts applies to MoE shapes only, "
                                                 "and %s is dense", s->name);
        if (o->n_experts < 1 || o->n_experts > s->n_routed)
            return sk_err_set(e, SK_ERR_INVALID, "synth: --experts %d is out of range [1, %d]",
                              o->n_experts, s->n_routed);
        p->n_routed = o->n_experts;
        if (p->n_active > p->n_routed) p->n_active = p->n_routed;
        /* group-limited routing needs equal groups of at least 2 experts that can hold the
         * active ones; otherwise route over one group */
        if (p->n_group > 1) {
            int per = p->n_routed / p->n_group;
            if (p->n_routed % p->n_group || per < 2 || per * p->topk_group < p->n_active) {
                p->n_group = 1;
                p->topk_group = 1;
            }
        }
    }
    if (o->mla < SK_SYNTH_MLA_LEGACY || o->mla > SK_SYNTH_MLA_MAINLINE)
        return sk_err_set(e, SK_ERR_INVALID, "synth: unknown MLA layout %d", o->mla);
    if (o->mla != SK_SYNTH_MLA_LEGACY && s->arch != ARCH_DEEPSEEK2)
        return sk_err_set(e, SK_ERR_INVALID, "synth: --mla applies to deepseek2 shapes only");
    p->mla = o->mla;
    int ns = n_specials(s);
    int min_vocab = 256 + N_MERGES + ns;
    p->n_vocab = o->n_vocab ? o->n_vocab : s->n_vocab;
    if (p->n_vocab < min_vocab || p->n_vocab > 1 << 22)
        return sk_err_set(e, SK_ERR_INVALID,
                          "synth: --vocab %d is out of range [%d, %d] (256 bytes + %d merges + %d "
                          "special tokens at least)",
                          p->n_vocab, min_vocab, 1 << 22, N_MERGES, ns);

    int il = 0;
    const int64_t E = s->n_embd, V = p->n_vocab;
    const float resid_std = 0.02f / sqrtf(2.0f * (float)p->n_layer);
    ADD(K_NORMAL, -1, 0.02f, "token_embd.weight", 2, E, V, 1);
    if (s->llama3) ADD(K_ROPE_FREQS, SK_TYPE_F32, 0, "rope_freqs.weight", 1, 64, 1, 1);
    for (il = 0; il < p->n_layer; il++) {
        ADD(K_ONES, 0, 0, "blk.%d.attn_norm.weight", 1, E, 1, 1);
        if (s->arch == ARCH_DEEPSEEK2) {
            int64_t H = s->n_head, qk = s->nope + s->rope;
            if (s->q_lora) {
                ADD(K_NORMAL, -1, 0.02f, "blk.%d.attn_q_a.weight", 2, E, s->q_lora, 1);
                ADD(K_ONES, 0, 0, "blk.%d.attn_q_a_norm.weight", 1, s->q_lora, 1, 1);
                ADD(K_NORMAL, -1, 0.02f, "blk.%d.attn_q_b.weight", 2, s->q_lora, H * qk, 1);
            } else {
                ADD(K_NORMAL, -1, 0.02f, "blk.%d.attn_q.weight", 2, E, H * qk, 1);
            }
            ADD(K_NORMAL, -1, 0.02f, "blk.%d.attn_kv_a_mqa.weight", 2, E, s->kv_lora + s->rope, 1);
            ADD(K_ONES, 0, 0, "blk.%d.attn_kv_a_norm.weight", 1, s->kv_lora, 1, 1);
            /* the (virtual) attn_kv_b every layout derives from */
            uint64_t kvb_key = hash_str(mix64(p->o.seed), "attn_kv_b");
            kvb_key = mix64(kvb_key ^ (uint64_t)il);
            if (o->mla != SK_SYNTH_MLA_MAINLINE) {
                ADD(K_NORMAL, -1, 0.02f, "blk.%d.attn_kv_b.weight", 2, s->kv_lora,
                    H * (s->nope + s->vdim), 1);
                p->t[p->n - 1].key = kvb_key;
            }
            if (o->mla != SK_SYNTH_MLA_LEGACY) {
                int nd = o->mla == SK_SYNTH_MLA_MAINLINE ? 3 : 2;
                if (nd == 3) ADD(K_KB, -1, 0.02f, "blk.%d.attn_k_b.weight", 3, s->nope, s->kv_lora, H);
                else ADD(K_KB, -1, 0.02f, "blk.%d.attn_k_b.weight", 2, s->nope, H * s->kv_lora, 1);
                p->t[p->n - 1].src_key = kvb_key;
                p->t[p->n - 1].derived = nd == 2;
                if (nd == 3) ADD(K_VB, -1, 0.02f, "blk.%d.attn_v_b.weight", 3, s->kv_lora, s->vdim, H);
                else ADD(K_VB, -1, 0.02f, "blk.%d.attn_v_b.weight", 2, s->kv_lora, H * s->vdim, 1);
                p->t[p->n - 1].src_key = kvb_key;
                p->t[p->n - 1].derived = nd == 2;
            }
            ADD(K_NORMAL, -1, resid_std, "blk.%d.attn_output.weight", 2, H * s->vdim, E, 1);
        } else {
            int64_t hd = E / s->n_head, q = s->n_head * hd, kv = s->n_head_kv * hd;
            ADD(K_NORMAL, -1, 0.02f, "blk.%d.attn_q.weight", 2, E, q, 1);
            ADD(K_NORMAL, -1, 0.02f, "blk.%d.attn_k.weight", 2, E, kv, 1);
            ADD(K_NORMAL, -1, 0.02f, "blk.%d.attn_v.weight", 2, E, kv, 1);
            if (s->qkv_bias) {
                ADD(K_NORMAL, 0, 0.02f, "blk.%d.attn_q.bias", 1, q, 1, 1);
                ADD(K_NORMAL, 0, 0.02f, "blk.%d.attn_k.bias", 1, kv, 1, 1);
                ADD(K_NORMAL, 0, 0.02f, "blk.%d.attn_v.bias", 1, kv, 1, 1);
            }
            ADD(K_NORMAL, -1, resid_std, "blk.%d.attn_output.weight", 2, q, E, 1);
        }
        ADD(K_ONES, 0, 0, "blk.%d.ffn_norm.weight", 1, E, 1, 1);
        bool moe = s->arch == ARCH_DEEPSEEK2 && il >= p->n_dense;
        if (!moe) {
            ADD(K_NORMAL, -1, 0.02f, "blk.%d.ffn_gate.weight", 2, E, s->n_ff, 1);
            ADD(K_NORMAL, -1, 0.02f, "blk.%d.ffn_up.weight", 2, E, s->n_ff, 1);
            ADD(K_NORMAL, -1, resid_std, "blk.%d.ffn_down.weight", 2, s->n_ff, E, 1);
        } else {
            int64_t X = p->n_routed, F = s->moe_ff, SF = (int64_t)s->n_shared * s->moe_ff;
            ADD(K_NORMAL, SK_TYPE_F32, 0.02f, "blk.%d.ffn_gate_inp.weight", 2, E, X, 1);
            if (s->exp_bias) ADD(K_ZEROS, 0, 0, "blk.%d.exp_probs_b.bias", 1, X, 1, 1);
            ADD(K_NORMAL, -1, 0.02f, "blk.%d.ffn_gate_exps.weight", 3, E, F, X);
            ADD(K_NORMAL, -1, 0.02f, "blk.%d.ffn_up_exps.weight", 3, E, F, X);
            ADD(K_NORMAL, -1, resid_std, "blk.%d.ffn_down_exps.weight", 3, F, E, X);
            ADD(K_NORMAL, -1, 0.02f, "blk.%d.ffn_gate_shexp.weight", 2, E, SF, 1);
            ADD(K_NORMAL, -1, 0.02f, "blk.%d.ffn_up_shexp.weight", 2, E, SF, 1);
            ADD(K_NORMAL, -1, resid_std, "blk.%d.ffn_down_shexp.weight", 2, SF, E, 1);
        }
    }
    il = 0;
    ADD(K_ONES, 0, 0, "output_norm.weight", 1, E, 1, 1);
    ADD(K_NORMAL, -1, 0.02f, "output.weight", 2, E, V, 1);
    return SK_OK;
}
#undef ADD

static void plan_free(synth_plan *p) {
    if (p->pool) sk_pool_free(p->pool);
    p->pool = NULL;
    free(p->t);
    free(p->row);
    p->t = NULL;
    p->row = NULL;
}

static void plan_info(const synth_plan *p, sk_synth_info *info) {
    memset(info, 0, sizeof *info);
    info->n_tensors = p->n;
    info->n_layers = p->n_layer;
    info->n_dense_layers = p->s->arch == ARCH_DEEPSEEK2 ? p->n_dense : p->n_layer;
    info->n_experts = p->s->arch == ARCH_DEEPSEEK2 ? p->n_routed : 0;
    info->n_vocab = p->n_vocab;
    for (int i = 0; i < p->n; i++) {
        const synth_tensor *t = &p->t[i];
        info->tensor_bytes += t->nbytes;
        if (!t->derived) info->params += (uint64_t)(t->ne[0] * t->ne[1] * t->ne[2]);
    }
}

int sk_synth_plan(const sk_synth_opts *o, sk_synth_info *info, sk_err *e) {
    synth_plan p;
    int rc = plan_build(&p, o, e);
    if (!rc && info) plan_info(&p, info);
    plan_free(&p);
    return rc;
}

/* ---- tensor bytes --------------------------------------------------------------------- */

typedef struct fill_ctx {
    synth_plan *p;
    const synth_tensor *t;
} fill_ctx;

/* llama3 rope scaling as per-pair frequency divisors (spec §2.3). */
static float llama3_divisor(const synth_shape *s, int i) {
    double f = pow((double)s->theta, -2.0 * i / 128.0);
    double wavelen = 2.0 * M_PI / f;
    double lo_wl = s->l3_orig / s->l3_low, hi_wl = s->l3_orig / s->l3_high;
    if (wavelen < hi_wl) return 1.0f;
    if (wavelen > lo_wl) return s->l3_factor;
    double smooth = (s->l3_orig / wavelen - s->l3_low) / (s->l3_high - s->l3_low);
    double used = (1.0 - smooth) * f / s->l3_factor + smooth * f;
    return (float)(f / used);
}

static void gen_row(const synth_plan *p, const synth_tensor *t, int64_t r, float *row) {
    const int64_t n = t->ne[0];
    const synth_shape *s = p->s;
    switch (t->kind) {
    case K_ONES:
        for (int64_t j = 0; j < n; j++) row[j] = 1.0f;
        break;
    case K_ZEROS:
        memset(row, 0, (size_t)n * sizeof *row);
        break;
    case K_ROPE_FREQS:
        for (int64_t j = 0; j < n; j++) row[j] = llama3_divisor(s, (int)j);
        break;
    case K_NORMAL:
        for (int64_t j = 0; j < n; j++)
            row[j] = t->std * unit_noise(t->key, (uint64_t)(r * n + j));
        break;
    case K_KB: {
        /* element (j, h*kv_lora + c) = kv_b[h*(nope+v) + j, c] */
        int64_t h = r / s->kv_lora, c = r % s->kv_lora;
        for (int64_t j = 0; j < n; j++) {
            uint64_t idx = (uint64_t)((h * (s->nope + s->vdim) + j) * s->kv_lora + c);
            row[j] = t->std * unit_noise(t->src_key, idx);
        }
        break;
    }
    case K_VB: {
        /* element (c, h*v + i) = kv_b[h*(nope+v) + nope + i, c] */
        int64_t h = r / s->vdim, i = r % s->vdim;
        for (int64_t c = 0; c < n; c++) {
            uint64_t idx = (uint64_t)((h * (s->nope + s->vdim) + s->nope + i) * s->kv_lora + c);
            row[c] = t->std * unit_noise(t->src_key, idx);
        }
        break;
    }
    }
}

typedef struct fill_job {
    synth_plan *p;
    const synth_tensor *t;
    uint8_t *out;
    size_t row_bytes;
    int64_t nrows;
    int rc[SK_SYNTH_MAX_THREADS];
    sk_err err[SK_SYNTH_MAX_THREADS];
} fill_job;

static void fill_rows(void *ctx, int ith, int nth) {
    fill_job *j = ctx;
    const synth_tensor *t = j->t;
    float *row = j->p->row + (size_t)ith * j->p->row_cap;
    size_t lo, hi;
    sk_split_range((size_t)j->nrows, ith, nth, &lo, &hi);
    for (size_t r = lo; r < hi; r++) {
        gen_row(j->p, t, (int64_t)r, row);
        uint8_t *dst = j->out + r * j->row_bytes;
        if (t->type == SK_TYPE_F32) {
            memcpy(dst, row, j->row_bytes);
        } else {
            j->rc[ith] = sk_quant(t->type, row, dst, t->ne[0], &j->err[ith]);
            if (j->rc[ith]) return;
        }
    }
}

static int fill_tensor(void *ctx, void *dst, uint64_t nbytes, sk_err *e) {
    fill_ctx *f = ctx;
    synth_plan *p = f->p;
    const synth_tensor *t = f->t;
    if (nbytes != t->nbytes)
        return sk_err_set(e, SK_ERR_INVALID, "synth: %s: writer asked for %llu bytes, planned %llu",
                          t->name, (unsigned long long)nbytes, (unsigned long long)t->nbytes);
    size_t n0 = (size_t)t->ne[0];
    fill_job *j = calloc(1, sizeof *j);
    if (!j) return sk_err_set(e, SK_ERR_NOMEM, "synth: out of memory");
    j->p = p;
    j->t = t;
    j->out = dst;
    j->nrows = t->ne[1] * t->ne[2];
    if (!sk_row_size(t->type, t->ne[0], &j->row_bytes)) {
        free(j);
        return sk_err_set(e, SK_ERR_INVALID, "synth: %s: bad row size", t->name);
    }
    int nth = p->pool ? sk_pool_size(p->pool) : 1;
    if (p->row_cap < n0) {
        free(p->row);
        p->row = malloc(n0 * (size_t)nth * sizeof *p->row);
        p->row_cap = p->row ? n0 : 0;
        if (!p->row) {
            free(j);
            return sk_err_set(e, SK_ERR_NOMEM, "synth: out of memory");
        }
    }
    if (p->pool && j->nrows > 1) sk_pool_run(p->pool, fill_rows, j);
    else fill_rows(j, 0, 1);
    int rc = SK_OK;
    for (int i = 0; i < nth && !rc; i++)
        if (j->rc[i]) {
            rc = j->rc[i];
            sk_err_set(e, rc, "synth: %s: %s", t->name, j->err[i].msg);
        }
    free(j);
    return rc;
}

/* ---- metadata ------------------------------------------------------------------------- */

static uint32_t file_type_of(int type) {
    switch (type) {
    case SK_TYPE_F32: return 0;
    case SK_TYPE_F16: return 1;
    case SK_TYPE_Q4_0: return 2;
    case SK_TYPE_Q8_0: return 7;
    case SK_TYPE_Q4_K: return 14; /* Q4_K_S */
    case SK_TYPE_Q5_K: return 16; /* Q5_K_S */
    case SK_TYPE_Q6_K: return 18;
    case SK_TYPE_BF16: return 32;
    default: return 0;
    }
}

/* UTF-8 of the GPT-2 byte symbol of byte b (§5.2). */
static int byte_symbol(int b, char out[4]) {
    uint32_t cp;
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) {
        cp = (uint32_t)b;
    } else {
        int n = 0;
        for (int x = 0; x < b; x++)
            if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255))) n++;
        cp = 256u + (uint32_t)n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        out[1] = 0;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    out[2] = 0;
    return 2;
}

typedef struct vocab {
    char **text;
    int32_t *type;
    int n;
    int bos, eos;
} vocab;

static void vocab_free(vocab *v) {
    if (v->text)
        for (int i = 0; i < v->n; i++) free(v->text[i]);
    free(v->text);
    free(v->type);
}

static int vocab_build(const synth_plan *p, vocab *v, sk_err *e) {
    const synth_shape *s = p->s;
    int ns = n_specials(s), V = p->n_vocab;
    memset(v, 0, sizeof *v);
    v->n = V;
    v->bos = v->eos = -1;
    v->text = calloc((size_t)V, sizeof *v->text);
    v->type = calloc((size_t)V, sizeof *v->type);
    if (!v->text || !v->type) return sk_err_set(e, SK_ERR_NOMEM, "synth: out of memory (vocab)");
    bool real_ids = true;
    for (int i = 0; i < ns; i++)
        if (s->specials[i].real_id >= V) real_ids = false;
    int next_special = 256 + N_MERGES; /* compact layout */
    for (int i = 0; i < ns; i++) {
        int id = real_ids ? s->specials[i].real_id : next_special++;
        v->text[id] = sk_strdup(s->specials[i].text, e);
        if (!v->text[id]) return SK_ERR_NOMEM;
        v->type[id] = s->specials[i].type;
        if (!strcmp(s->specials[i].text, s->bos)) v->bos = id;
        if (!strcmp(s->specials[i].text, s->eos)) v->eos = id;
    }
    /* bytes, then merges, in the free ids from 0 up */
    int id = 0;
    for (int k = 0; k < 256 + N_MERGES; k++) {
        while (id < V && v->text[id]) id++;
        if (id >= V) return sk_err_set(e, SK_ERR_INVALID, "synth: vocabulary too small");
        char buf[64];
        if (k < 256) {
            byte_symbol(k, buf);
        } else {
            snprintf(buf, sizeof buf, "%s%s", k_merges[k - 256][0], k_merges[k - 256][1]);
        }
        v->text[id] = sk_strdup(buf, e);
        if (!v->text[id]) return SK_ERR_NOMEM;
        v->type[id] = 1;
    }
    for (int i = 0; i < V; i++) {
        if (v->text[i]) continue;
        char buf[32];
        snprintf(buf, sizeof buf, "[PAD%d]", i);
        v->text[i] = sk_strdup(buf, e);
        if (!v->text[i]) return SK_ERR_NOMEM;
        v->type[i] = 5;
    }
    return SK_OK;
}

#define TRY(x)                                                                                   \
    do {                                                                                         \
        rc = (x);                                                                                \
        if (rc) goto done;                                                                       \
    } while (0)

static int set_metadata(sk_gguf_writer *w, const synth_plan *p, sk_err *e) {
    const synth_shape *s = p->s;
    int rc = SK_OK;
    const char *arch = s->arch == ARCH_DEEPSEEK2 ? "deepseek2"
                       : s->arch == ARCH_QWEN2   ? "qwen2"
                                                 : "llama";
    char k[128];
#define KEY(x) (snprintf(k, sizeof k, "%s.%s", arch, x), k)
    vocab v;
    memset(&v, 0, sizeof v);
    TRY(sk_gguf_set_str(w, "general.architecture", arch, e));
    TRY(sk_gguf_set_str(w, "general.name", s->general_name, e));
    TRY(sk_gguf_set_u32(w, "general.file_type", file_type_of(p->o.type), e));
    TRY(sk_gguf_set_u32(w, "general.quantization_version", 2, e));
    TRY(sk_gguf_set_u32(w, KEY("block_count"), (uint32_t)p->n_layer, e));
    TRY(sk_gguf_set_u32(w, KEY("context_length"), s->ctx, e));
    TRY(sk_gguf_set_u32(w, KEY("embedding_length"), (uint32_t)s->n_embd, e));
    TRY(sk_gguf_set_u32(w, KEY("feed_forward_length"), (uint32_t)s->n_ff, e));
    TRY(sk_gguf_set_u32(w, KEY("attention.head_count"), (uint32_t)s->n_head, e));
    bool mainline = s->arch == ARCH_DEEPSEEK2 && p->mla == SK_SYNTH_MLA_MAINLINE;
    TRY(sk_gguf_set_u32(w, KEY("attention.head_count_kv"), mainline ? 1u : (uint32_t)s->n_head_kv, e));
    TRY(sk_gguf_set_f32(w, KEY("rope.freq_base"), s->theta, e));
    TRY(sk_gguf_set_f32(w, KEY("attention.layer_norm_rms_epsilon"), s->eps, e));
    TRY(sk_gguf_set_u32(w, KEY("vocab_size"), (uint32_t)p->n_vocab, e));
    if (s->arch == ARCH_LLAMA) {
        TRY(sk_gguf_set_u32(w, KEY("rope.dimension_count"), (uint32_t)(s->n_embd / s->n_head), e));
    }
    if (s->arch == ARCH_DEEPSEEK2) {
        /* Written as 0 when there is no q LoRA: llama.cpp infers "Lite" from a 27-layer count
         * and otherwise requires the key (a V2-Lite shape cut to fewer layers needs it). */
        TRY(sk_gguf_set_u32(w, KEY("attention.q_lora_rank"), (uint32_t)s->q_lora, e));
        TRY(sk_gguf_set_u32(w, KEY("attention.kv_lora_rank"), (uint32_t)s->kv_lora, e));
        if (mainline) {
            TRY(sk_gguf_set_u32(w, KEY("attention.key_length"), (uint32_t)(s->kv_lora + s->rope), e));
            TRY(sk_gguf_set_u32(w, KEY("attention.value_length"), (uint32_t)s->kv_lora, e));
            TRY(sk_gguf_set_u32(w, KEY("attention.key_length_mla"), (uint32_t)(s->nope + s->rope), e));
            TRY(sk_gguf_set_u32(w, KEY("attention.value_length_mla"), (uint32_t)s->vdim, e));
        } else {
            TRY(sk_gguf_set_u32(w, KEY("attention.key_length"), (uint32_t)(s->nope + s->rope), e));
            TRY(sk_gguf_set_u32(w, KEY("attention.value_length"), (uint32_t)s->vdim, e));
        }
        TRY(sk_gguf_set_u32(w, KEY("rope.dimension_count"), (uint32_t)s->rope, e));
        TRY(sk_gguf_set_u32(w, KEY("leading_dense_block_count"), (uint32_t)p->n_dense, e));
        TRY(sk_gguf_set_u32(w, KEY("expert_feed_forward_length"), (uint32_t)s->moe_ff, e));
        TRY(sk_gguf_set_u32(w, KEY("expert_count"), (uint32_t)p->n_routed, e));
        TRY(sk_gguf_set_u32(w, KEY("expert_used_count"), (uint32_t)p->n_active, e));
        TRY(sk_gguf_set_u32(w, KEY("expert_shared_count"), (uint32_t)s->n_shared, e));
        TRY(sk_gguf_set_f32(w, KEY("expert_weights_scale"), s->routed_scale, e));
        TRY(sk_gguf_set_bool(w, KEY("expert_weights_norm"), s->norm_topk, e));
        TRY(sk_gguf_set_u32(w, KEY("expert_gating_func"), (uint32_t)s->gating, e));
        TRY(sk_gguf_set_u32(w, KEY("expert_group_count"), (uint32_t)p->n_group, e));
        TRY(sk_gguf_set_u32(w, KEY("expert_group_used_count"), (uint32_t)p->topk_group, e));
        TRY(sk_gguf_set_str(w, KEY("rope.scaling.type"), "yarn", e));
        TRY(sk_gguf_set_f32(w, KEY("rope.scaling.factor"), s->yarn_factor, e));
        TRY(sk_gguf_set_u32(w, KEY("rope.scaling.original_context_length"), s->yarn_orig, e));
        TRY(sk_gguf_set_f32(w, KEY("rope.scaling.yarn_log_multiplier"), 0.1f * s->mscale_all_dim,
                            e));
    }
#undef KEY
    /* tokenizer */
    TRY(vocab_build(p, &v, e));
    const char *merges[N_MERGES];
    char merge_buf[N_MERGES][32];
    for (int i = 0; i < N_MERGES; i++) {
        snprintf(merge_buf[i], sizeof merge_buf[i], "%s %s", k_merges[i][0], k_merges[i][1]);
        merges[i] = merge_buf[i];
    }
    TRY(sk_gguf_set_str(w, "tokenizer.ggml.model", "gpt2", e));
    TRY(sk_gguf_set_str(w, "tokenizer.ggml.pre", s->pre, e));
    TRY(sk_gguf_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v.text,
                            (uint64_t)v.n, e));
    TRY(sk_gguf_set_arr(w, "tokenizer.ggml.token_type", SK_GGUF_INT32, v.type, (uint64_t)v.n, e));
    TRY(sk_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, N_MERGES, e));
    TRY(sk_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)v.bos, e));
    TRY(sk_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)v.eos, e));
    TRY(sk_gguf_set_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)v.eos, e));
    TRY(sk_gguf_set_bool(w, "tokenizer.ggml.add_bos_token", true, e));
    TRY(sk_gguf_set_bool(w, "tokenizer.ggml.add_eos_token", false, e));
    const char *tpl = s->tpl == TPL_R1           ? SK_TEMPLATE_DEEPSEEK_R1
                      : s->tpl == TPL_R1_DISTILL ? SK_TEMPLATE_R1_DISTILL
                                                 : SK_TEMPLATE_DEEPSEEK2;
    TRY(sk_gguf_set_str(w, "tokenizer.chat_template", tpl, e));
done:
    vocab_free(&v);
    return rc;
}

int sk_synth_write(const sk_synth_opts *o, const char *path, sk_progress *progress,
                   sk_synth_info *info, sk_err *e) {
    synth_plan p;
    sk_gguf_writer *w = NULL;
    fill_ctx *ctx = NULL;
    int rc = plan_build(&p, o, e);
    if (rc) goto done;
    if (info) plan_info(&p, info);
    if (o->n_threads != 1) {
        int nt = o->n_threads > 0 ? o->n_threads : sk_cpu_count();
        if (nt > SK_SYNTH_MAX_THREADS) nt = SK_SYNTH_MAX_THREADS;
        if (nt > 1) {
            p.pool = sk_pool_new(nt, e);
            if (!p.pool) {
                rc = SK_ERR_NOMEM;
                goto done;
            }
        }
    }
    w = sk_gguf_writer_new(e);
    if (!w) {
        rc = SK_ERR_NOMEM;
        goto done;
    }
    TRY(set_metadata(w, &p, e));
    ctx = calloc((size_t)p.n, sizeof *ctx);
    if (!ctx) {
        rc = sk_err_set(e, SK_ERR_NOMEM, "synth: out of memory");
        goto done;
    }
    for (int i = 0; i < p.n; i++) {
        ctx[i].p = &p;
        ctx[i].t = &p.t[i];
        TRY(sk_gguf_add_tensor(w, p.t[i].name, p.t[i].type, p.t[i].n_dims, p.t[i].ne, NULL,
                               fill_tensor, &ctx[i], e));
    }
    TRY(sk_gguf_write(w, path, 0, progress, e));
done:
    if (rc) sk_err_prefix(e, "synth %s", o->shape ? o->shape : "?");
    free(ctx);
    sk_gguf_writer_free(w);
    plan_free(&p);
    return rc;
}
