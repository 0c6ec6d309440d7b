/* cmd_train.c — `seek train`: pre-train (or continue training) a DeepSeek-V3-architecture
 * model with AdamW on token shards (packed, shuffled) or a token-line file (with an optional
 * loss mask); checkpoints hold the data position and resume bit for bit. */
#include "sk_train.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void train_usage(FILE *f) {
    fprintf(f,
            "usage: seek train --config MODEL.json --data D --out DIR [options]\n\n"
            "Trains the model described by a Hugging Face config.json (DeepseekV3/V2) on D:\n"
            "  - a token file in the BATCH.txt line format (one training sequence of T+1 ids per\n"
            "    line, all lines the same length; step s uses lines s*B .. s*B+B-1 modulo the\n"
            "    number of lines), optionally with --mask MASK.txt of the same shape; or\n"
            "  - a token shard set written by `seek data tokenize` (PREFIX for PREFIX-00000.bin\n"
            "    ..., or one of its files): documents packed into sequences of --seq-len T + 1\n"
            "    ids (BOS doc EOS BOS doc ...; a BOS is never a target), every epoch in an order\n"
            "    shuffled by --seed.\n"
            "Writes DIR/metrics.jsonl, DIR/ckpt.bin (weights, Adam moments, step, RNG and data\n"
            "loader position; atomic) and at the end DIR/model.safetensors + DIR/config.json and\n"
            "DIR/model.gguf (deepseek2, llama.cpp names; without the MTP layers), loadable by\n"
            "`seek` inference. DIR/loss.svg charts the main and MTP losses over the steps\n"
            "(refreshed at every checkpoint).\n\n"
            "options:\n"
            "  --steps N          optimizer steps (default 100)\n"
            "  --batch B          sequences per step (default 8)\n"
            "  --accum A          micro-batches per step, A divides B (default 1)\n"
            "  --lr X             peak learning rate (default 1e-3)\n"
            "  --warmup W         linear warm-up steps (default 0)\n"
            "  --cosine-start C   steps at the peak after warm-up, then cosine decay to\n"
            "                     min-lr-frac*lr at the last step (default: no decay)\n"
            "  --min-lr-frac F    floor of the cosine (default 0.1)\n"
            "  --wd X             AdamW weight decay on matrices (default 0.1)\n"
            "  --beta1 X --beta2 X  AdamW betas (default 0.9 0.95)\n"
            "  --clip X           global gradient-norm clip, 0 = off (default 1.0)\n"
            "  --bias-gamma X     aux-loss-free bias update speed (default 1e-3)\n"
            "  --seed N           init seed (default 1234)\n"
            "  --init-std X       init std (default: config initializer_range or 0.02)\n"
            "  --init W.safetensors  start from these weights instead of a random init\n"
            "  --ckpt-every N     checkpoint every N steps (default: at the end only)\n"
            "  --stop-after N     stop after step N with a checkpoint (resume later)\n"
            "  --resume           continue from DIR/ckpt.bin, bit for bit; refused unless the\n"
            "                     data, --mask, --seq-len, --batch, --accum, --threads, --bf16\n"
            "                     (and --seed for shuffled shards) are those of the checkpoint\n"
            "  --seq-len T        shards: sequence length (T+1 ids per sequence; required);\n"
            "                     line files: must equal the lines' length - 1 if given\n"
            "  --mask MASK.txt    line files: 0/1 per token as a target (as `seek grad --mask`;\n"
            "                     column 0 unused); default: every target counts\n"
            "  --no-shuffle       shards: visit the packed sequences in order every epoch\n"
            "  --threads N        threads for OpenBLAS and the trainer loops (default: all CPUs)\n"
            "  --tokenizer DIR    copy DIR/tokenizer.json (+ tokenizer_config.json) next to the\n"
            "                     model and into model.gguf\n"
            "  --no-gguf          do not write DIR/model.gguf\n"
            "  --bf16             bf16 matrix products: operands rounded to bfloat16, float32\n"
            "                     accumulation (attention core, norms, optimizer stay float32)\n"
            "  --eval-data FILE   held-out data (line file or shard set, same sequence length):\n"
            "                     its main-head loss every --eval-every steps and at the end,\n"
            "                     as eval_loss in metrics.jsonl, the progress line and the chart\n"
            "  --eval-every N     steps between evaluations (default: steps/20)\n"
            "  --eval-batches N   micro-batches per evaluation (default: the whole set, <= 64)\n"
            "  --gemm B           matrix products: seek (Seek's own AVX2 sgemm), blas (OpenBLAS)\n"
            "                     or auto (default: seek where AVX2 is, else blas; the\n"
            "                     environment variable SEEK_GEMM sets the same); a checkpoint\n"
            "                     resumes only with the backend that wrote it\n"
            "  --quiet            no progress line\n");
}

static int parse_num(const char *opt, const char *v, double *out) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end) {
        fprintf(stderr, "seek train: %s: '%s' is not a number\n", opt, v);
        return 2;
    }
    *out = d;
    return 0;
}

int sk_cmd_train(int argc, char **argv) {
    sk_trainer_opts o;
    sk_trainer_opts_defaults(&o);
    const char *config = NULL;
    int cosine_start = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            train_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--resume")) {
            o.resume = true;
            continue;
        }
        if (!strcmp(a, "--quiet")) {
            o.quiet = true;
            continue;
        }
        if (!strcmp(a, "--bf16")) {
            o.bf16 = true;
            continue;
        }
        if (!strcmp(a, "--no-gguf")) {
            o.gguf = false;
            continue;
        }
        if (!strcmp(a, "--no-shuffle")) {
            o.no_shuffle = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "seek train: %s needs a value (or is unknown)\n\n", a);
            train_usage(stderr);
            return 2;
        }
        const char *v = argv[++i];
        double d = 0;
        if (!strcmp(a, "--config")) {
            config = v;
            continue;
        }
        if (!strcmp(a, "--data")) {
            o.data_path = v;
            continue;
        }
        if (!strcmp(a, "--out")) {
            o.out_dir = v;
            continue;
        }
        if (!strcmp(a, "--tokenizer")) {
            o.tokenizer_dir = v;
            continue;
        }
        if (!strcmp(a, "--init")) {
            o.init_weights = v;
            continue;
        }
        if (!strcmp(a, "--eval-data")) {
            o.eval_path = v;
            continue;
        }
        if (!strcmp(a, "--gemm")) {
            if (!strcmp(v, "blas"))
                sk_train_set_gemm(SK_TRAIN_GEMM_BLAS);
            else if (!strcmp(v, "seek"))
                sk_train_set_gemm(SK_TRAIN_GEMM_SEEK);
            else if (!strcmp(v, "auto"))
                sk_train_set_gemm(SK_TRAIN_GEMM_AUTO);
            else {
                fprintf(stderr, "seek train: --gemm wants blas, seek or auto, not '%s'\n", v);
                return 2;
            }
            continue;
        }
        if (!strcmp(a, "--mask")) {
            o.mask_path = v;
            continue;
        }
        if (parse_num(a, v, &d)) return 2;
        if (!strcmp(a, "--steps"))
            o.steps = (int64_t)d;
        else if (!strcmp(a, "--batch"))
            o.batch = (int)d;
        else if (!strcmp(a, "--accum"))
            o.accum = (int)d;
        else if (!strcmp(a, "--lr"))
            o.opt.lr = (float)d;
        else if (!strcmp(a, "--warmup"))
            o.opt.warmup = (int)d;
        else if (!strcmp(a, "--cosine-start"))
            cosine_start = (int)d;
        else if (!strcmp(a, "--min-lr-frac"))
            o.opt.min_lr_frac = (float)d;
        else if (!strcmp(a, "--wd"))
            o.opt.weight_decay = (float)d;
        else if (!strcmp(a, "--beta1"))
            o.opt.beta1 = (float)d;
        else if (!strcmp(a, "--beta2"))
            o.opt.beta2 = (float)d;
        else if (!strcmp(a, "--clip"))
            o.opt.clip = (float)d;
        else if (!strcmp(a, "--bias-gamma"))
            o.opt.bias_gamma = (float)d;
        else if (!strcmp(a, "--seed"))
            o.seed = (uint64_t)d;
        else if (!strcmp(a, "--init-std"))
            o.init_std = (float)d;
        else if (!strcmp(a, "--ckpt-every"))
            o.ckpt_every = (int)d;
        else if (!strcmp(a, "--stop-after"))
            o.stop_after = (int64_t)d;
        else if (!strcmp(a, "--eval-every") || !strcmp(a, "--eval-batches")) {
            if (d < 1 || d > (1 << 30) || d != (int)d) {
                fprintf(stderr, "seek train: %s %s must be a positive integer\n", a, v);
                return 2;
            }
            if (!strcmp(a, "--eval-every"))
                o.eval_every = (int)d;
            else
                o.eval_batches = (int)d;
        }
        else if (!strcmp(a, "--seq-len")) {
            if (d < 1 || d > (1 << 24) || d != (int)d) {
                fprintf(stderr, "seek train: --seq-len %s must be an integer in 1..16777216\n", v);
                return 2;
            }
            o.seq_len = (int)d;
        } else if (!strcmp(a, "--threads")) {
            sk_train_set_threads((int)d);
            o.threads = (int)d;
        } else {
            fprintf(stderr, "seek train: unknown option %s\n\n", a);
            train_usage(stderr);
            return 2;
        }
    }
    if (!config || !o.data_path || !o.out_dir) {
        fprintf(stderr, "seek train: --config, --data and --out are required\n\n");
        train_usage(stderr);
        return 2;
    }
    if (o.steps <= 0 || o.batch <= 0 || o.accum <= 0 || o.opt.lr <= 0 || o.opt.warmup < 0 ||
        o.ckpt_every < 0 || o.stop_after < 0) {
        fprintf(stderr,
                "seek train: --steps, --batch, --accum and --lr must be positive; --warmup, "
                "--ckpt-every and --stop-after non-negative\n");
        return 2;
    }
    o.opt.constant = cosine_start;
    o.opt.total = (int)o.steps;
    sk_err e = {0};
    sk_model_config cfg;
    if (sk_model_config_from_hf(config, &cfg, &e) || sk_train_check_config_json(config, &cfg, &e) ||
        sk_train_run(&cfg, config, &o, &e)) {
        fprintf(stderr, "seek train: %s\n", e.msg);
        return 1;
    }
    if (!o.quiet) {
        if (o.stop_after > 0 && o.stop_after < o.steps)
            fprintf(stderr, "stopped after step %lld; continue with --resume\n",
                    (long long)o.stop_after);
        else
            fprintf(
                stderr,
                "model written to %s/model.safetensors (+ config.json)%s; loss curve %s/loss.svg\n",
                o.out_dir, o.gguf ? " and model.gguf" : "", o.out_dir);
    }
    return 0;
}
