/* cmd_synth.c — `seek synth SHAPE OUT.gguf`: a random-weight GGUF of a real model shape. */
#include "cli_args.h"
#include "gen_synth.h"
#include "sk_tensor.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: seek synth SHAPE OUT.gguf [options]\n"
            "       seek synth SHAPE --dry-run [options]\n\n"
            "Writes a GGUF with random weights and the exact tensor names, shapes and metadata\n"
            "of a real model (loadable by seek and llama.cpp), plus a small byte-level BPE\n"
            "tokenizer with the model's special tokens and its chat template.\n\n"
            "shapes:");
    for (int i = 0; i < sk_synth_n_shapes(); i++) fprintf(f, " %s", sk_synth_shape_name(i));
    fprintf(f, "\n\noptions:\n"
               "  --type T       matrix type: f32 f16 bf16 q8_0 q4_0 q4_k q5_k q6_k (default f16)\n"
               "  --layers N     keep N layers (leading dense layers kept, >= 1 MoE layer left)\n"
               "  --experts N    keep N routed experts (MoE shapes)\n"
               "  --vocab N      vocabulary size (default: the model's)\n"
               "  --seed S       weight seed (default 42)\n"
               "  --mla L        deepseek2 MLA layout: legacy (attn_kv_b; default), ik (attn_kv_b +\n"
               "                 2-D attn_k_b/attn_v_b), mainline (3-D attn_k_b/attn_v_b only)\n"
               "  -t, --threads N  generation threads (default: all CPUs)\n"
               "  --dry-run      print the plan (tensors, parameters, bytes) and write nothing\n");
}

int sk_cmd_synth(int argc, char **argv) {
    sk_synth_opts o = {.type = SK_TYPE_F16, .seed = 42};
    const char *out = NULL;
    bool dry = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int64_t v;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--dry-run")) {
            dry = true;
        } else if (!strcmp(a, "--type") || !strcmp(a, "--layers") || !strcmp(a, "--experts") ||
                   !strcmp(a, "--vocab") || !strcmp(a, "--seed") || !strcmp(a, "--mla") ||
                   !strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "seek synth: %s needs a value\n", a);
                return 2;
            }
            const char *val = argv[++i];
            if (!strcmp(a, "--mla")) {
                if (!strcmp(val, "legacy")) o.mla = SK_SYNTH_MLA_LEGACY;
                else if (!strcmp(val, "ik")) o.mla = SK_SYNTH_MLA_IK;
                else if (!strcmp(val, "mainline")) o.mla = SK_SYNTH_MLA_MAINLINE;
                else {
                    fprintf(stderr, "seek synth: --mla wants legacy, ik or mainline, not '%s'\n", val);
                    return 2;
                }
            } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
                if (sk_cli_parse_int("synth", a, val, 0, 1024, &v)) return 2;
                o.n_threads = (int)v;
            } else if (!strcmp(a, "--type")) {
                o.type = sk_type_from_name(val);
                if (o.type < 0) {
                    fprintf(stderr, "seek synth: unknown type '%s'\n", val);
                    return 2;
                }
            } else if (!strcmp(a, "--seed")) {
                if (sk_cli_parse_int("synth", a, val, 0, INT64_MAX, &v)) return 2;
                o.seed = (uint64_t)v;
            } else {
                if (sk_cli_parse_int("synth", a, val, 1, 1 << 24, &v)) return 2;
                if (!strcmp(a, "--layers")) o.n_layers = (int)v;
                else if (!strcmp(a, "--experts")) o.n_experts = (int)v;
                else o.n_vocab = (int)v;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "seek synth: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!o.shape) {
            o.shape = a;
        } else if (!out) {
            out = a;
        } else {
            fprintf(stderr, "seek synth: unexpected argument '%s'\n", a);
            return 2;
        }
    }
    if (!o.shape || (!out && !dry)) {
        usage(stderr);
        return 2;
    }
    sk_err e = {0};
    sk_synth_info info;
    int rc = sk_synth_plan(&o, &info, &e);
    if (rc) {
        fprintf(stderr, "seek synth: %s\n", e.msg);
        return rc == SK_ERR_INVALID ? 2 : 1;
    }
    printf("%s: %d layers (%d dense), %d routed experts, vocab %d, %d tensors, %" PRIu64
           " parameters, %.3f GB of tensor data (%s)\n",
           o.shape, info.n_layers, info.n_dense_layers, info.n_experts, info.n_vocab,
           info.n_tensors, info.params, (double)info.tensor_bytes / 1e9, sk_type_name(o.type));
    if (dry) return 0;
    sk_progress prog = {.label = "synth"};
    rc = sk_synth_write(&o, out, &prog, NULL, &e);
    if (rc) {
        fprintf(stderr, "seek synth: %s\n", e.msg);
        return 1;
    }
    printf("wrote %s\n", out);
    return 0;
}
