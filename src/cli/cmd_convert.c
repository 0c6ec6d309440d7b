/* cmd_convert.c — `seek convert HF_DIR OUT.gguf`: a Hugging Face DeepSeek/Qwen2/Llama checkpoint
 * to GGUF (see src/format/sk_convert.h). */
#include "cli_args.h"
#include "sk_convert.h"
#include "sk_tensor.h"
#include "sk_tokenizer_export.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(
        f, "usage: seek convert HF_DIR OUT.gguf [options]\n\n"
           "Converts a Hugging Face checkpoint folder (config.json, *.safetensors, optional\n"
           "tokenizer.json + tokenizer_config.json) of DeepSeek-V3/R1 (FP8 or BF16),\n"
           "DeepSeek-V2/V2-Lite, Qwen2 (R1-Distill-Qwen) or Llama (R1-Distill-Llama) to GGUF with\n"
           "llama.cpp's tensor names and metadata keys. Tensors are streamed one at a time.\n\n"
           "options:\n"
           "  --type T         matrix type: f32 f16 bf16 q8_0 q4_0 q4_k q5_k q6_k (default f16);\n"
           "                   norms, biases, the MoE router and 1-D tensors stay f32\n"
           "  --kv-b-split     deepseek2: also write attn_k_b/attn_v_b (ik_llama.cpp layout)\n"
           "  --name NAME      general.name (default: the folder's name)\n"
           "  --split-max-size N[K|M|G]  split the output into files of at most N tensor bytes\n"
           "  --threads N      worker threads (default: all CPUs)\n"
           "  --dry-run        print the plan, write nothing\n");
}

static int parse_size(const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s) return -1;
    uint64_t m = 1;
    if (*end == 'K' || *end == 'k')
        m = 1ull << 10, end++;
    else if (*end == 'M' || *end == 'm')
        m = 1ull << 20, end++;
    else if (*end == 'G' || *end == 'g')
        m = 1ull << 30, end++;
    if (*end || v == 0 || v > UINT64_MAX / m) return -1;
    *out = v * m;
    return 0;
}

int sk_cmd_convert(int argc, char **argv) {
    sk_convert_opts o;
    memset(&o, 0, sizeof o);
    o.type = SK_TYPE_F16;
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--kv-b-split")) {
            o.kv_b_split = true;
        } else if (!strcmp(a, "--dry-run")) {
            o.dry_run = true;
        } else if (!strcmp(a, "--type") || !strcmp(a, "--name") || !strcmp(a, "--split-max-size") ||
                   !strcmp(a, "--threads")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "seek convert: %s needs a value\n", a);
                return 2;
            }
            const char *v = argv[++i];
            if (!strcmp(a, "--type")) {
                o.type = sk_type_from_name(v);
                static const int ok[] = {SK_TYPE_F32,  SK_TYPE_F16,  SK_TYPE_BF16, SK_TYPE_Q8_0,
                                         SK_TYPE_Q4_0, SK_TYPE_Q4_K, SK_TYPE_Q5_K, SK_TYPE_Q6_K};
                bool good = false;
                for (size_t k = 0; k < sizeof ok / sizeof *ok; k++) good = good || o.type == ok[k];
                if (!good) {
                    fprintf(stderr,
                            "seek convert: --type %s is not one of f32 f16 bf16 q8_0 q4_0 q4_k "
                            "q5_k q6_k\n",
                            v);
                    return 2;
                }
            } else if (!strcmp(a, "--name")) {
                o.name = v;
            } else if (!strcmp(a, "--split-max-size")) {
                if (parse_size(v, &o.max_split_bytes)) {
                    fprintf(stderr, "seek convert: bad size '%s'\n", v);
                    return 2;
                }
            } else {
                int64_t n;
                if (sk_cli_parse_int("convert", a, v, 1, 1024, &n)) return 2;
                o.n_threads = (int)n;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "seek convert: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!in) {
            in = a;
        } else if (!out) {
            out = a;
        } else {
            fprintf(stderr, "seek convert: too many arguments\n");
            return 2;
        }
    }
    if (!in || (!out && !o.dry_run)) {
        usage(stderr);
        return 2;
    }
    sk_progress pr;
    memset(&pr, 0, sizeof pr);
    pr.label = "convert";
    o.progress = &pr;
    o.tokenizer = sk_tokenizer_convert_hf; /* the tokenizer layer's reader of tokenizer.json */
    sk_convert_info info;
    sk_err e = {0};
    double t0 = sk_time_sec();
    if (sk_convert_hf(in, out ? out : "", &o, &info, &e) != SK_OK) {
        fprintf(stderr, "seek convert: %s\n", e.msg);
        return 1;
    }
    double dt = sk_time_sec() - t0;
    fprintf(stderr,
            "%s%s: %s, %" PRId64 " tensors, %" PRIu64 " parameters, %.1f MiB of %s tensors%s%s",
            o.dry_run ? "plan for " : "wrote ", o.dry_run ? in : out, info.arch, info.n_tensors,
            info.n_params, (double)info.n_bytes / (1 << 20), sk_type_name(o.type),
            info.has_tokenizer ? "" : ", NO tokenizer",
            info.n_fallback ? " (some matrices in a fallback type)" : "");
    if (!o.dry_run) fprintf(stderr, " in %.1f s", dt);
    fputc('\n', stderr);
    return 0;
}
