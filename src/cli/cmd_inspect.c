/* cmd_inspect.c — `seek inspect FILE_OR_DIR`: what a GGUF file or a Hugging Face checkpoint holds
 * (architecture, hyper-parameters, tokenizer, tensors, totals), optionally one tensor dumped to
 * little-endian f32. */
#include "sk_gguf.h"
#include "sk_json.h"
#include "sk_safetensors.h"
#include "sk_tensor.h"
#include "sk_tokenizer_export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: seek inspect [options] FILE_OR_DIR\n\n"
            "Describes a GGUF file (any split of a split model) or a Hugging Face checkpoint\n"
            "(a folder with config.json and *.safetensors, a .safetensors file or an index):\n"
            "architecture and hyper-parameters, tokenizer summary, the tensor table and totals.\n\n"
            "options:\n"
            "  --kv             print every metadata key (GGUF) / config entry (HF)\n"
            "  --no-tensors     leave out the tensor table\n"
            "  --tensor NAME    describe only this tensor\n"
            "  --dump OUT.f32   with --tensor: write it dequantized to little-endian float32\n"
            "                   (ggml element order: ne[0] fastest)\n");
}

static void fmt_bytes(uint64_t b, char *buf, size_t n) {
    if (b >= (1ull << 30))
        snprintf(buf, n, "%.2f GiB", (double)b / (double)(1ull << 30));
    else if (b >= (1ull << 20))
        snprintf(buf, n, "%.2f MiB", (double)b / (double)(1ull << 20));
    else if (b >= 1024)
        snprintf(buf, n, "%.1f KiB", (double)b / 1024.0);
    else
        snprintf(buf, n, "%" PRIu64 " B", b);
}

static void fmt_shape(const int64_t *ne, int n, char *buf, size_t len) {
    size_t k = 0;
    buf[0] = 0;
    k += (size_t)snprintf(buf + k, len - k, "[");
    for (int d = 0; d < n && k < len; d++)
        k += (size_t)snprintf(buf + k, len - k, "%s%" PRId64, d ? ", " : "", ne[d]);
    if (k < len) snprintf(buf + k, len - k, "]");
}

/* Writes every row of t dequantized to f32: into OUT.tmp<pid>, renamed onto OUT only once
 * complete (removed on any error), so a failed dump never leaves a partial OUT and the mmapped
 * input stays intact even if OUT names one of its files (the caller also refuses that). */
static int dump_tensor(const sk_tensor *t, const char *out) {
    size_t ol = strlen(out);
    char *tmp = malloc(ol + 32);
    if (!tmp) {
        fprintf(stderr, "seek inspect: out of memory\n");
        return 1;
    }
    snprintf(tmp, ol + 32, "%s.tmp%d", out, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        fprintf(stderr, "seek inspect: cannot create %s: %s\n", tmp, strerror(errno));
        free(tmp);
        return 1;
    }
    float *row = malloc((size_t)t->ne[0] * sizeof *row);
    if (!row) {
        fclose(f);
        unlink(tmp);
        free(tmp);
        fprintf(stderr, "seek inspect: out of memory\n");
        return 1;
    }
    int64_t rows = sk_tensor_nrows(t);
    int rc = 0;
    for (int64_t r = 0; r < rows && !rc; r++) {
        sk_err e = {0};
        if (sk_tensor_dequant_row(t, r, row, &e) != SK_OK) {
            fprintf(stderr, "seek inspect: %s: %s\n", t->name ? t->name : "tensor", e.msg);
            rc = 1;
        } else if (fwrite(row, sizeof *row, (size_t)t->ne[0], f) != (size_t)t->ne[0]) {
            fprintf(stderr, "seek inspect: %s: write failed: %s\n", tmp, strerror(errno));
            rc = 1;
        }
    }
    free(row);
    if (fclose(f) != 0 && !rc) {
        fprintf(stderr, "seek inspect: %s: write failed: %s\n", tmp, strerror(errno));
        rc = 1;
    }
    if (!rc && rename(tmp, out) != 0) {
        fprintf(stderr, "seek inspect: cannot rename %s to %s: %s\n", tmp, out, strerror(errno));
        rc = 1;
    }
    if (rc)
        unlink(tmp);
    else
        fprintf(stderr, "wrote %" PRId64 " floats (%" PRId64 " rows x %" PRId64 ") to %s\n",
                rows * t->ne[0], rows, t->ne[0], out);
    free(tmp);
    return rc;
}

typedef struct totals {
    int64_t n;
    uint64_t params, bytes;
    uint64_t type_bytes[256];
    int64_t type_count[256];
} totals;

static int type_slot(int type) {
    return type == SK_TYPE_F8_E4M3 ? 255 : (type >= 0 && type < 255 ? type : 254);
}

static void print_totals(const totals *t, bool st) {
    char b[64];
    fmt_bytes(t->bytes, b, sizeof b);
    printf("\ntotals: %" PRId64 " tensors, %" PRIu64 " parameters (%.3f B), %" PRIu64
           " bytes (%s)\n",
           t->n, t->params, (double)t->params / 1e9, t->bytes, b);
    for (int i = 0; i < 256; i++) {
        if (!t->type_count[i]) continue;
        fmt_bytes(t->type_bytes[i], b, sizeof b);
        const char *name =
            st ? sk_st_dtype_name((sk_st_dtype)i) : (i == 255 ? "f8_e4m3" : sk_type_name(i));
        printf("  %-8s %6" PRId64 " tensors %14" PRIu64 " bytes (%s)\n", name, t->type_count[i],
               t->type_bytes[i], b);
    }
}

/* ---- GGUF ---- */

static bool gguf_str(const sk_gguf *g, const char *key, char *buf, size_t n) {
    const char *s;
    size_t len;
    if (!sk_gguf_get_str(g, key, &s, &len)) return false;
    snprintf(buf, n, "%.*s", (int)(len < n ? len : n - 1), s);
    return true;
}

static int inspect_gguf(const char *path, bool kv, bool tensors, const char *tname,
                        const char *dump) {
    sk_gguf *g = NULL;
    sk_err e = {0};
    if (sk_gguf_open(path, &g, &e) != SK_OK) {
        fprintf(stderr, "seek inspect: %s\n", e.msg);
        return 1;
    }
    int rc = 0;
    if (tname) {
        int64_t i = sk_gguf_find_tensor(g, tname);
        if (i < 0) {
            fprintf(stderr, "seek inspect: %s: no tensor named \"%s\"\n", path, tname);
            sk_gguf_close(g);
            return 1;
        }
        const sk_gguf_tensor_info *t = sk_gguf_tensor(g, i);
        char sh[128];
        fmt_shape(t->ne, t->n_dims, sh, sizeof sh);
        printf("%s: %s %s, %" PRIu64 " bytes, split %d, offset %" PRIu64 "\n", t->name,
               sk_type_name(t->type), sh, t->nbytes, t->split, t->offset);
        if (dump) {
            sk_tensor v = sk_gguf_tensor_view(g, i);
            rc = dump_tensor(&v, dump);
        }
        sk_gguf_close(g);
        return rc;
    }
    char buf[4096], arch[128] = "?", name[256] = "";
    char b[64];
    fmt_bytes(sk_gguf_file_bytes(g), b, sizeof b);
    printf("file:          %s (GGUF v%u, %d split%s, alignment %" PRIu64 ", %s)\n", path,
           sk_gguf_version(g), sk_gguf_n_splits(g), sk_gguf_n_splits(g) == 1 ? "" : "s",
           sk_gguf_alignment(g), b);
    gguf_str(g, "general.architecture", arch, sizeof arch);
    printf("architecture:  %s\n", arch);
    if (gguf_str(g, "general.name", name, sizeof name)) printf("name:          %s\n", name);
    uint32_t ft;
    if (sk_gguf_get_u32(g, "general.file_type", &ft)) printf("file type:     %u\n", ft);
    printf("\nhyper-parameters:\n");
    size_t al = strlen(arch);
    for (int64_t i = 0; i < sk_gguf_n_kv(g); i++) {
        const char *k = sk_gguf_kv_key(g, i);
        if (strncmp(k, arch, al) != 0 || k[al] != '.') continue;
        sk_gguf_kv_to_string(g, i, buf, sizeof buf);
        printf("  %-40s %s\n", k + al + 1, buf);
    }
    printf("\ntokenizer:\n");
    char tm[64] = "", pre[64] = "";
    if (!gguf_str(g, "tokenizer.ggml.model", tm, sizeof tm)) {
        printf("  (none)\n");
    } else {
        gguf_str(g, "tokenizer.ggml.pre", pre, sizeof pre);
        uint64_t nt = 0, nm = 0;
        sk_gguf_get_arr(g, "tokenizer.ggml.tokens", NULL, &nt, NULL);
        sk_gguf_get_arr(g, "tokenizer.ggml.merges", NULL, &nm, NULL);
        printf("  model %s, pre %s, %" PRIu64 " tokens, %" PRIu64 " merges\n", tm,
               pre[0] ? pre : "(none)", nt, nm);
        const char *ids[] = {"bos", "eos", "padding", "unknown", "eot", "sep"};
        for (size_t k = 0; k < sizeof ids / sizeof *ids; k++) {
            char key[96];
            snprintf(key, sizeof key, "tokenizer.ggml.%s_token_id", ids[k]);
            uint32_t id;
            if (!sk_gguf_get_u32(g, key, &id)) continue;
            const char *s = "";
            size_t len = 0;
            sk_gguf_get_arr_str(g, "tokenizer.ggml.tokens", id, &s, &len);
            printf("  %-8s %u %.*s\n", ids[k], id, (int)(len > 80 ? 80 : len), s);
        }
        bool ab;
        if (sk_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &ab))
            printf("  add_bos  %s\n", ab ? "true" : "false");
        const char *ct;
        size_t ctl;
        if (sk_gguf_get_str(g, "tokenizer.chat_template", &ct, &ctl))
            printf("  chat template: present (%zu bytes)\n", ctl);
        else
            printf("  chat template: absent\n");
    }
    if (kv) {
        printf("\nmetadata (%" PRId64 " keys):\n", sk_gguf_n_kv(g));
        for (int64_t i = 0; i < sk_gguf_n_kv(g); i++) {
            sk_gguf_kv_to_string(g, i, buf, 200);
            printf("  %-50s %s\n", sk_gguf_kv_key(g, i), buf);
        }
    }
    totals t;
    memset(&t, 0, sizeof t);
    if (tensors) printf("\n%-5s %-40s %-8s %-28s %s\n", "#", "tensor", "type", "ne", "bytes");
    for (int64_t i = 0; i < sk_gguf_n_tensors(g); i++) {
        const sk_gguf_tensor_info *ti = sk_gguf_tensor(g, i);
        uint64_t nel =
            (uint64_t)ti->ne[0] * (uint64_t)ti->ne[1] * (uint64_t)ti->ne[2] * (uint64_t)ti->ne[3];
        t.n++;
        t.params += nel;
        t.bytes += ti->nbytes;
        t.type_bytes[type_slot(ti->type)] += ti->nbytes;
        t.type_count[type_slot(ti->type)]++;
        if (tensors) {
            char sh[128];
            fmt_shape(ti->ne, ti->n_dims, sh, sizeof sh);
            printf("%-5" PRId64 " %-40s %-8s %-28s %" PRIu64 "\n", i, ti->name,
                   sk_type_name(ti->type), sh, ti->nbytes);
        }
    }
    print_totals(&t, false);
    sk_gguf_close(g);
    return 0;
}

/* ---- Hugging Face ---- */

static void print_json_scalar(const char *k, json_t *v) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) return;
    size_t n = strlen(s);
    printf("  %-40s %.*s%s\n", k, (int)(n > 200 ? 200 : n), s, n > 200 ? "..." : "");
    free(s);
}

/* The tokenizer as the tokenizer module loads it (the same reader `seek tokenize --tokenizer`
 * and `seek convert` use). Returns 0, or 1 after printing an error for a malformed file; a
 * well-formed but unsupported tokenizer is reported on stdout and is not an error. */
static int hf_tokenizer(const char *dir) {
    printf("\ntokenizer:\n");
    char *p = sk_path_join(dir, "tokenizer.json", NULL);
    bool have = p && sk_file_exists(p);
    free(p);
    if (!have) {
        printf("  tokenizer.json: absent\n");
        return 0;
    }
    sk_tokenizer *t = NULL;
    sk_err e = {0};
    int rc = sk_tokenizer_load_hf(dir, &t, &e);
    if (rc == SK_ERR_UNSUPPORTED) {
        printf("  tokenizer.json: not supported by Seek: %s\n", e.msg);
        return 0;
    }
    if (rc) {
        fprintf(stderr, "seek inspect: %s\n", e.msg);
        return 1;
    }
    printf("  tokenizer.json: BPE, %d tokens, %d merges, pre-tokenizer %s\n",
           (int)sk_tokenizer_n_vocab(t), (int)sk_tokenizer_n_merge_ranks(t), sk_tokenizer_pre(t));
    const char *names[3] = {"bos", "eos", "padding"};
    const int32_t ids[3] = {sk_tokenizer_bos(t), sk_tokenizer_eos(t), sk_tokenizer_pad(t)};
    for (int i = 0; i < 3; i++) {
        if (ids[i] < 0) continue;
        size_t len = 0;
        const char *s = sk_tokenizer_token_text(t, ids[i], &len);
        printf("  %-8s %d %.*s\n", names[i], (int)ids[i], (int)(len > 80 ? 80 : len), s ? s : "");
    }
    printf("  add_bos  %s\n", sk_tokenizer_add_bos(t) ? "true" : "false");
    const char *ct = sk_tokenizer_chat_template(t);
    if (ct)
        printf("  chat template: present (%zu bytes)\n", strlen(ct));
    else
        printf("  chat template: absent\n");
    sk_tokenizer_free(t);
    return 0;
}

static int inspect_hf(const char *path, bool kv, bool tensors, const char *tname,
                      const char *dump) {
    sk_st *st = NULL;
    sk_err e = {0};
    if (sk_st_open(path, &st, &e) != SK_OK) {
        fprintf(stderr, "seek inspect: %s\n", e.msg);
        return 1;
    }
    int rc = 0;
    if (tname) {
        int64_t i = sk_st_find(st, tname);
        if (i < 0) {
            fprintf(stderr, "seek inspect: %s: no tensor named \"%s\"\n", path, tname);
            sk_st_close(st);
            return 1;
        }
        const sk_st_tensor *t = sk_st_tensor_at(st, i);
        char sh[160];
        fmt_shape(t->shape, t->n_dims, sh, sizeof sh);
        printf("%s: %s %s (HF order), %" PRIu64 " bytes, shard %d\n", t->name,
               sk_st_dtype_name(t->dtype), sh, t->nbytes, t->file);
        if (dump) {
            sk_tensor v;
            if (sk_st_tensor_view(st, i, &v, &e) != SK_OK) {
                fprintf(stderr, "seek inspect: %s\n", e.msg);
                rc = 1;
            } else {
                rc = dump_tensor(&v, dump);
            }
        }
        sk_st_close(st);
        return rc;
    }
    char *dir = NULL;
    if (sk_is_dir(path)) {
        dir = strdup(path);
    } else {
        const char *sl = strrchr(path, '/');
        dir = sl ? strndup(path, (size_t)(sl - path)) : strdup(".");
    }
    char b[64];
    fmt_bytes(sk_st_file_bytes(st), b, sizeof b);
    printf("checkpoint:    %s (safetensors, %s)\n", path, b);
    char *cp = dir ? sk_path_join(dir, "config.json", NULL) : NULL;
    json_t *cfg = NULL;
    if (cp && sk_file_exists(cp)) {
        if (sk_json_load_file(cp, 1ull << 24, &cfg, &e) != SK_OK) {
            fprintf(stderr, "seek inspect: %s\n", e.msg);
            free(cp);
            free(dir);
            sk_st_close(st);
            return 1;
        }
    }
    if (cfg) {
        json_t *archs = json_object_get(cfg, "architectures");
        const char *mt = json_string_value(json_object_get(cfg, "model_type"));
        printf("architecture:  %s (model_type %s)\n",
               json_string_value(json_array_get(archs, 0))
                   ? json_string_value(json_array_get(archs, 0))
                   : "?",
               mt ? mt : "?");
        printf("\nhyper-parameters:\n");
        static const char *keys[] = {"vocab_size",
                                     "hidden_size",
                                     "intermediate_size",
                                     "moe_intermediate_size",
                                     "num_hidden_layers",
                                     "num_attention_heads",
                                     "num_key_value_heads",
                                     "head_dim",
                                     "q_lora_rank",
                                     "kv_lora_rank",
                                     "qk_nope_head_dim",
                                     "qk_rope_head_dim",
                                     "v_head_dim",
                                     "n_routed_experts",
                                     "num_experts_per_tok",
                                     "n_shared_experts",
                                     "first_k_dense_replace",
                                     "n_group",
                                     "topk_group",
                                     "routed_scaling_factor",
                                     "norm_topk_prob",
                                     "scoring_func",
                                     "topk_method",
                                     "rms_norm_eps",
                                     "rope_theta",
                                     "rope_scaling",
                                     "max_position_embeddings",
                                     "tie_word_embeddings",
                                     "bos_token_id",
                                     "eos_token_id",
                                     "torch_dtype",
                                     "quantization_config"};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            json_t *v = json_object_get(cfg, keys[k]);
            if (v) print_json_scalar(keys[k], v);
        }
        if (kv) {
            printf("\nconfig.json (%zu entries):\n", json_object_size(cfg));
            const char *k;
            json_t *v;
            json_object_foreach(cfg, k, v) print_json_scalar(k, v);
        }
    } else {
        printf("config.json:   absent\n");
    }
    int ret = 0;
    if (dir) ret = hf_tokenizer(dir);
    totals t;
    memset(&t, 0, sizeof t);
    if (tensors)
        printf("\n%-5s %-56s %-8s %-24s %s\n", "#", "tensor", "dtype", "shape (HF)", "bytes");
    for (int64_t i = 0; i < sk_st_n_tensors(st); i++) {
        const sk_st_tensor *ti = sk_st_tensor_at(st, i);
        uint64_t nel = 1;
        for (int d = 0; d < ti->n_dims; d++) nel *= (uint64_t)ti->shape[d];
        t.n++;
        t.params += nel;
        t.bytes += ti->nbytes;
        t.type_bytes[ti->dtype] += ti->nbytes;
        t.type_count[ti->dtype]++;
        if (tensors) {
            char sh[160];
            fmt_shape(ti->shape, ti->n_dims, sh, sizeof sh);
            printf("%-5" PRId64 " %-56s %-8s %-24s %" PRIu64 "\n", i, ti->name,
                   sk_st_dtype_name(ti->dtype), sh, ti->nbytes);
        }
    }
    print_totals(&t, true);
    json_decref(cfg);
    free(cp);
    free(dir);
    sk_st_close(st);
    return ret;
}

static bool looks_gguf(const char *path) {
    if (sk_is_dir(path)) return false;
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char m[4] = {0};
    size_t n = fread(m, 1, 4, f);
    fclose(f);
    return n == 4 && !memcmp(m, "GGUF", 4);
}

int sk_cmd_inspect(int argc, char **argv) {
    const char *path = NULL, *tname = NULL, *dump = NULL;
    bool kv = false, tensors = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--kv")) {
            kv = true;
        } else if (!strcmp(a, "--no-tensors")) {
            tensors = false;
        } else if (!strcmp(a, "--tensor") || !strcmp(a, "--dump")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "seek inspect: %s needs a value\n", a);
                return 2;
            }
            if (!strcmp(a, "--tensor"))
                tname = argv[++i];
            else
                dump = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "seek inspect: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr, "seek inspect: more than one path given\n");
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    if (dump && !tname) {
        fprintf(stderr, "seek inspect: --dump needs --tensor NAME\n");
        return 2;
    }
    if (!sk_file_exists(path) && !sk_is_dir(path)) {
        fprintf(stderr, "seek inspect: %s: no such file or folder\n", path);
        return 1;
    }
    if (dump && sk_same_file(dump, path)) {
        fprintf(stderr, "seek inspect: --dump %s is the input file; choose another path\n", dump);
        return 2;
    }
    size_t n = strlen(path);
    bool gguf = looks_gguf(path) || (n > 5 && !strcmp(path + n - 5, ".gguf"));
    return gguf ? inspect_gguf(path, kv, tensors, tname, dump)
                : inspect_hf(path, kv, tensors, tname, dump);
}
