/* trainer.c — the `seek train` loop: data order, gradient accumulation, AdamW, bias update,
 * metrics (JSON lines), progress line, atomic checkpoints and bit-exact resume.
 *
 * Data: o->data_path is read by the data loader (sk_data.h): a line file (BATCH.txt format,
 * never shuffled, so step s uses lines s*B .. s*B+B-1 modulo the number of lines; an optional
 * --mask file of the same shape) or a shard set packed into sequences of T+1 ids (--seq-len T),
 * shuffled per epoch with --seed unless --no-shuffle, with the loader's packing mask (BOS is
 * never a target). With --accum A the loader hands out A micro-batches of B/A sequences in
 * order, so the sequence order does not depend on A.
 *
 * Checkpoint DIR/ckpt.bin (little-endian, written to ckpt.bin.tmp, fsync'd, renamed):
 *   "SKCKPT01", the 256-byte header ck_hdr (version 2), f32 params[n], f32 adam_m[n],
 *   f32 adam_v[n], u64 checksum of everything before it (fnv below).
 * The header holds the step, the run's settings that a bit-exact resume needs (batch, accum,
 * thread count, bf16, seed, data kind, shuffle, sequence length, sequences per epoch, the mask
 * file's hash, the matrix product backend) and the loader position (sk_data_pos_encode: epoch,
 * index and the data's fingerprint). --resume refuses any difference with a message naming it:
 * other --batch, --accum, --threads (a different split of the float sums), --bf16, --seq-len,
 * --seed (for shuffled shards), other data or mask, another SEEK_GEMM backend. The RNG words are
 * kept for future stochastic parts; the loop draws no random numbers after init. Version-1
 * checkpoints (before the loader) are refused. */
#include "sk_convert.h"
#include "sk_data.h"
#include "sk_json.h"
#include "sk_kernels.h"
#include "sk_tokenizer_export.h"
#include "train_internal.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sk_trainer_opts_defaults(sk_trainer_opts *o) {
    memset(o, 0, sizeof *o);
    o->steps = 100;
    o->batch = 8;
    o->accum = 1;
    o->seed = 1234;
    o->init_std = 0;
    sk_adamw_defaults(&o->opt);
    o->ckpt_every = 0;
    o->gguf = true;
}

void sk_train_set_threads(int n) {
    if (n > 0) openblas_set_num_threads(n);
}

/* c = a bᵀ (n×n) with the trainer's matrix product backend */
static void peak_gemm(bool own, int n, const float *a, const float *b, float *c) {
    if (own)
        sk_sgemm(false, true, n, n, n, 1, a, n, b, n, 0, c, n);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1, a, n, b, n, 0, c, n);
}

enum { PEAK_N = 512, PEAK_REPS = 3 };
typedef struct peak_job {
    bool own;
    const float *a, *b;
    float *c; /* one n×n output per thread */
} peak_job;

static void peak_task(void *ctx, int ith, int nth) {
    (void)nth;
    peak_job *j = ctx;
    for (int k = 0; k < PEAK_REPS; k++)
        peak_gemm(j->own, PEAK_N, j->a, j->b, j->c + (size_t)ith * PEAK_N * PEAK_N);
}

/* The machine's sgemm throughput as the trainer uses it: OpenBLAS multithreaded over all the
 * threads it was given, or sk_sgemm (single-threaded) running on every thread of the pool at
 * once, each thread its own product, as the data-parallel trainer runs them. Best of 5 short
 * rounds (they catch the quiet moments of a loaded machine). */
double sk_train_measure_peak(sk_pool *pool) {
    const int n = PEAK_N;
    bool own = sk_train_get_gemm() == SK_TRAIN_GEMM_SEEK;
    int nth = own && pool ? sk_pool_size(pool) : 1;
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n * (size_t)nth);
    if (!a || !b || !c) {
        free(a);
        free(b);
        free(c);
        return 0;
    }
    for (int i = 0; i < n * n; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    peak_job j = {own, a, b, c};
    peak_gemm(own, n, a, b, c);
    double best = 0;
    for (int r = 0; r < 5; r++) {
        double t0 = sk_time_sec();
        if (nth > 1)
            sk_pool_run(pool, peak_task, &j);
        else
            peak_task(&j, 0, 1);
        double dt = sk_time_sec() - t0;
        double fl = 2.0 * n * n * (double)n * PEAK_REPS * nth / (dt > 0 ? dt : 1e-9);
        if (fl > best) best = fl;
    }
    free(a);
    free(b);
    free(c);
    return best;
}

/* FLOPs of forward+backward per trained token (6 x active matmul parameters + attention). */
static double flops_per_token(const sk_tmodel *m, int T) {
    const sk_model_config *c = &m->cfg;
    double act = 0;
    for (int i = 0; i < m->n_tp; i++) {
        const sk_tparam *p = &m->tp[i];
        if (p->n_dims != 2 || p->buffer || !strcmp(p->name, "model.embed_tokens.weight")) continue;
        if (strstr(p->name, ".experts.")) continue;
        act += (double)p->n;
    }
    int n_moe = 0;
    for (int l = 0; l < c->n_layer + c->n_mtp; l++) n_moe += sk_model_is_moe_layer(c, l);
    act += (double)n_moe * c->n_active * 3.0 * c->moe_ff * c->n_embd;
    act += (double)c->n_mtp * c->n_vocab * c->n_embd; /* the shared head runs once per depth */
    double attn = (double)(c->n_layer + c->n_mtp) * c->n_head *
                  (double)(c->qk_nope_dim + c->qk_rope_dim + c->v_head_dim) *
                  T; /* causal: T/2 x 2 */
    return 6.0 * act + 6.0 * attn;
}

/* ---- checkpoint ---- */
#define CK_VERSION 2
enum { CK_DATA_LINES = 1, CK_DATA_SHARDS = 2 };
typedef struct ck_hdr {
    /* words 0..15 (version 1 had only these) */
    uint64_t version, step, n_floats, n_tp, layout_hash, batch, n_lines /* sequences per epoch */,
        seq_len /* T+1 */, data_pos /* loader index */, metrics_bytes, seed, rng[4], accum;
    /* version 2 */
    uint64_t threads;   /* trainer pool threads (1 = no pool) */
    uint64_t data_kind; /* CK_DATA_LINES / CK_DATA_SHARDS */
    uint64_t shuffle;   /* 1: shards permuted per epoch */
    uint64_t mask_hash; /* FNV-1a of the --mask file's ids, 0 = no mask file */
    uint64_t bf16;
    uint64_t epoch; /* loader epoch (also inside dpos) */
    uint64_t gemm;  /* matrix products: SK_TRAIN_GEMM_BLAS / _SEEK (0: written before this
                     * word was used, when every product was OpenBLAS's) */
    uint64_t reserved[1];
    uint8_t dpos[SK_DATA_POS_BYTES]; /* sk_data_pos_encode of the loader position */
    uint8_t pad[24];
} ck_hdr;
/* test_train_cli compares checkpoints from byte 136 on (past metrics_bytes, which depends on
 * the timing fields of metrics.jsonl): everything after word 9 must be deterministic. */
_Static_assert(sizeof(ck_hdr) == 256, "ck_hdr layout: 256-byte header");

/* Checksum: 64-bit words mixed multiplicatively (tail bytes one by one). Save and load hash
 * the same pieces (magic, header, params, moments), so piece tails line up. */
static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const uint8_t *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h ^= w;
        h *= 0x9E3779B97F4A7C15ull;
        h ^= h >> 32;
    }
    for (; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t layout_hash(const sk_tmodel *m) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < m->n_tp; i++) {
        h = fnv(h, m->tp[i].name, strlen(m->tp[i].name) + 1);
        h = fnv(h, m->tp[i].shape, sizeof m->tp[i].shape);
        h = fnv(h, &m->tp[i].off, sizeof m->tp[i].off);
    }
    return h;
}

static int write_all(int fd, const void *p, size_t n, uint64_t *h, const char *path, sk_err *e) {
    const uint8_t *b = p;
    *h = fnv(*h, p, n);
    while (n > 0) {
        ssize_t w = write(fd, b, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return sk_err_set(e, SK_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        }
        b += w;
        n -= (size_t)w;
    }
    return SK_OK;
}

static int ckpt_save(const char *dir, const sk_tmodel *m, const float *mv, const ck_hdr *hd,
                     sk_err *e) {
    char *path = sk_path_join(dir, "ckpt.bin", e);
    if (!path) return SK_ERR_NOMEM;
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 5);
    if (!tmp) {
        free(path);
        return sk_err_set(e, SK_ERR_NOMEM, "out of memory");
    }
    memcpy(tmp, path, pl);
    memcpy(tmp + pl, ".tmp", 5);
    int rc = SK_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        rc = sk_err_set(e, SK_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    uint64_t h = 0xcbf29ce484222325ull;
    size_t nb = m->n_floats * sizeof(float);
    if ((rc = write_all(fd, "SKCKPT01", 8, &h, tmp, e)) ||
        (rc = write_all(fd, hd, sizeof *hd, &h, tmp, e)) ||
        (rc = write_all(fd, m->params, nb, &h, tmp, e)) ||
        (rc = write_all(fd, mv, 2 * nb, &h, tmp, e))) {
        close(fd);
        goto done;
    }
    uint64_t hh = h, dummy = 0;
    if ((rc = write_all(fd, &hh, 8, &dummy, tmp, e))) {
        close(fd);
        goto done;
    }
    if (fsync(fd) != 0) {
        rc = sk_err_set(e, SK_ERR_IO, "%s: fsync failed: %s", tmp, strerror(errno));
        close(fd);
        goto done;
    }
    if (close(fd) != 0) {
        rc = sk_err_set(e, SK_ERR_IO, "%s: close failed: %s", tmp, strerror(errno));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        rc = sk_err_set(e, SK_ERR_IO, "rename %s -> %s failed: %s", tmp, path, strerror(errno));
        goto done;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
done:
    free(path);
    free(tmp);
    return rc;
}

static int ckpt_load(const char *dir, sk_tmodel *m, float *mv, ck_hdr *hd, sk_err *e) {
    char *path = sk_path_join(dir, "ckpt.bin", e);
    if (!path) return SK_ERR_NOMEM;
    sk_mmap mp = {0};
    int rc = sk_mmap_open(&mp, path, e);
    if (rc) {
        sk_err_prefix(e, "--resume");
        free(path);
        return rc;
    }
    size_t nb = m->n_floats * sizeof(float);
    uint64_t want = 8 + sizeof *hd + 3 * (uint64_t)nb + 8;
    if (mp.size < 16 || memcmp(mp.data, "SKCKPT01", 8) != 0) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "%s: not a Seek checkpoint (%s)", path,
                        mp.size < 8 ? "truncated: shorter than the magic" : "bad magic");
        goto done;
    }
    uint64_t ver;
    memcpy(&ver, mp.data + 8, 8);
    if (ver == 1) {
        rc = sk_err_set(e, SK_ERR_UNSUPPORTED,
                        "%s: checkpoint version 1 (written before the data loader position was "
                        "stored) cannot be resumed by this version; start a new run",
                        path);
        goto done;
    }
    if (ver != CK_VERSION) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "%s: checkpoint version %llu is not supported", path,
                        (unsigned long long)ver);
        goto done;
    }
    if (mp.size < 8 + sizeof *hd) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "%s: truncated: %llu bytes, shorter than the header",
                        path, (unsigned long long)mp.size);
        goto done;
    }
    memcpy(hd, mp.data + 8, sizeof *hd);
    if (hd->n_floats != m->n_floats || hd->n_tp != (uint64_t)m->n_tp ||
        hd->layout_hash != layout_hash(m)) {
        rc = sk_err_set(e, SK_ERR_FORMAT,
                        "%s: the checkpoint was written for a different model (parameter layout "
                        "differs from the config)",
                        path);
        goto done;
    }
    if (mp.size != want) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "%s: size %llu, expected %llu (truncated?)", path,
                        (unsigned long long)mp.size, (unsigned long long)want);
        goto done;
    }
    uint64_t h = fnv(0xcbf29ce484222325ull, mp.data, 8), stored;
    h = fnv(h, mp.data + 8, sizeof *hd);
    h = fnv(h, mp.data + 8 + sizeof *hd, nb);
    h = fnv(h, mp.data + 8 + sizeof *hd + nb, 2 * nb);
    memcpy(&stored, mp.data + want - 8, 8);
    if (h != stored) {
        rc = sk_err_set(e, SK_ERR_FORMAT, "%s: checksum mismatch (corrupt checkpoint)", path);
        goto done;
    }
    memcpy(m->params, mp.data + 8 + sizeof *hd, nb);
    memcpy(mv, mp.data + 8 + sizeof *hd + nb, 2 * nb);
done:
    sk_mmap_close(&mp);
    free(path);
    return rc;
}

static int copy_file(const char *src, const char *dst, sk_err *e) {
    char *buf = NULL;
    size_t len = 0;
    int rc = sk_read_file(src, (uint64_t)1 << 24, &buf, &len, e);
    if (rc) return rc;
    rc = sk_write_file_atomic(dst, buf, len, e);
    free(buf);
    return rc;
}

/* DIR/model.gguf (deepseek2, llama.cpp names and keys, F32 matrices) from the folder just
 * written (model.safetensors + config.json), by the HF converter; the tokenizer files of
 * o->tokenizer_dir, if given, are copied into DIR first so that the GGUF carries them. */
static int write_gguf(const sk_trainer_opts *o, sk_err *e) {
    int rc = SK_OK;
    char *g = sk_path_join(o->out_dir, "model.gguf", e);
    if (!g) return SK_ERR_NOMEM;
    if (o->tokenizer_dir) {
        const char *names[] = {"tokenizer.json", "tokenizer_config.json"};
        for (int i = 0; i < 2 && !rc; i++) {
            char *src = sk_path_join(o->tokenizer_dir, names[i], e);
            char *dst = sk_path_join(o->out_dir, names[i], e);
            if (!src || !dst)
                rc = SK_ERR_NOMEM;
            else if (i == 0 || access(src, R_OK) == 0)
                rc = copy_file(src, dst, e);
            free(src);
            free(dst);
        }
        if (rc) sk_err_prefix(e, "--tokenizer");
    }
    if (!rc) {
        sk_convert_opts co;
        memset(&co, 0, sizeof co);
        co.type = SK_TYPE_F32;
        co.n_threads = o->threads > 0 ? o->threads : 0;
        co.tokenizer = sk_tokenizer_convert_hf; /* tokenizer.json in DIR, if any */
        rc = sk_convert_hf(o->out_dir, g, &co, NULL, e);
        if (rc) sk_err_prefix(e, "writing %s", g);
    }
    free(g);
    return rc;
}

static double init_std_from_json(const char *path) {
    json_t *root = NULL;
    double v = 0.02;
    if (path && sk_json_load_file(path, (uint64_t)1 << 24, &root, NULL) == SK_OK) {
        double x;
        bool found = false;
        if (sk_json_get_num(root, "initializer_range", &x, &found, path, NULL) == SK_OK && found &&
            x > 0)
            v = x;
        json_decref(root);
    }
    return v;
}

int sk_train_check_config_json(const char *path, const sk_model_config *cfg, sk_err *e) {
    json_t *root = NULL;
    int rc = sk_json_load_file(path, (uint64_t)1 << 24, &root, e);
    if (rc) return rc;
    double x = 0;
    bool found = false, seq_aux = true, found_sa = false;
    rc = sk_json_get_num(root, "mtp_loss_scaling_factor", &x, &found, path, e);
    if (!rc) rc = sk_json_get_bool(root, "seq_aux", &seq_aux, &found_sa, path, e);
    json_decref(root);
    if (rc) return rc;
    if (cfg->aux_alpha != 0.0f && found_sa && !seq_aux)
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "%s: aux_loss_alpha is %g with seq_aux false; only the sequence-wise "
                          "balance loss (seq_aux: true) is implemented",
                          path, cfg->aux_alpha);
    if (cfg->n_mtp > 0 && !found)
        return sk_err_set(e, SK_ERR_INVALID,
                          "%s: num_nextn_predict_layers is %d but mtp_loss_scaling_factor (the MTP "
                          "loss weight lambda) is missing",
                          path, cfg->n_mtp);
    return SK_OK;
}

/* --resume: the settings a bit-exact continuation needs must equal the checkpoint's. */
static const char *gemm_name(uint64_t g) {
    return g == SK_TRAIN_GEMM_SEEK ? "Seek's sk_sgemm" : "OpenBLAS";
}

static int check_resume(const ck_hdr *hd, const sk_trainer_opts *o, bool shards, unsigned dflags,
                        uint64_t n_seq, int S, uint64_t n_threads, uint64_t mask_hash, sk_err *e) {
    const char *kind = shards ? "a shard set" : "a line file";
    const char *ck_kind = hd->data_kind == CK_DATA_SHARDS ? "a shard set" : "a line file";
    if (hd->batch != (uint64_t)o->batch || hd->accum != (uint64_t)o->accum)
        return sk_err_set(e, SK_ERR_INVALID,
                          "--resume: the checkpoint used --batch %llu --accum %llu; now --batch %d "
                          "--accum %d (the data order and the gradient sums would change)",
                          (unsigned long long)hd->batch, (unsigned long long)hd->accum, o->batch,
                          o->accum);
    if (hd->data_kind != (shards ? CK_DATA_SHARDS : CK_DATA_LINES))
        return sk_err_set(e, SK_ERR_INVALID,
                          "--resume: the checkpoint was trained on %s, --data %s is %s", ck_kind,
                          o->data_path, kind);
    if (hd->seq_len != (uint64_t)S || hd->n_lines != n_seq)
        return sk_err_set(e, SK_ERR_INVALID,
                          "--resume: the checkpoint's data had %llu sequences of %llu ids; --data "
                          "%s gives %llu sequences of %d ids (other data or --seq-len)",
                          (unsigned long long)hd->n_lines, (unsigned long long)hd->seq_len,
                          o->data_path, (unsigned long long)n_seq, S);
    if (hd->shuffle != ((dflags & SK_DATA_SHUFFLE) ? 1u : 0u))
        return sk_err_set(e, SK_ERR_INVALID, "--resume: the checkpoint was trained %s; now %s",
                          hd->shuffle ? "with shuffling" : "with --no-shuffle",
                          hd->shuffle ? "--no-shuffle" : "with shuffling");
    if (hd->shuffle && hd->seed != o->seed)
        return sk_err_set(e, SK_ERR_INVALID,
                          "--resume: the checkpoint shuffled the shards with --seed %llu; now "
                          "--seed %llu (the data order would change)",
                          (unsigned long long)hd->seed, (unsigned long long)o->seed);
    if (hd->mask_hash != mask_hash)
        return sk_err_set(e, SK_ERR_INVALID, "--resume: %s",
                          !hd->mask_hash ? "the checkpoint was trained without --mask"
                          : !mask_hash   ? "the checkpoint was trained with a --mask file"
                                         : "the --mask file differs from the checkpoint's");
    if (hd->threads != n_threads)
        return sk_err_set(e, SK_ERR_INVALID,
                          "--resume: the checkpoint was trained with %llu threads, now %llu: the "
                          "float sums would be split differently and the run would not continue "
                          "bit for bit; resume with --threads %llu",
                          (unsigned long long)hd->threads, (unsigned long long)n_threads,
                          (unsigned long long)hd->threads);
    if (hd->bf16 != (o->bf16 ? 1u : 0u))
        return sk_err_set(e, SK_ERR_INVALID, "--resume: the checkpoint was trained %s; now %s",
                          hd->bf16 ? "with --bf16" : "without --bf16",
                          o->bf16 ? "with --bf16" : "without it");
    uint64_t was = hd->gemm ? hd->gemm : SK_TRAIN_GEMM_BLAS, now = sk_train_get_gemm();
    if (was != now)
        return sk_err_set(e, SK_ERR_INVALID,
                          "--resume: the checkpoint's matrix products ran on %s, now on %s: the "
                          "run would not continue bit for bit; resume with --gemm %s",
                          gemm_name(was), gemm_name(now),
                          was == SK_TRAIN_GEMM_SEEK ? "seek" : "blas");
    return SK_OK;
}

static void fmt_hms(char *b, size_t n, double s) {
    if (!(s >= 0) || s > 1e7) s = 0;
    int t = (int)(s + 0.5);
    if (t >= 3600)
        snprintf(b, n, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(b, n, "%02d:%02d", t / 60, t % 60);
}

/* The main head's mean cross-entropy over nb micro-batches of the evaluation set read from its
 * start (p0), forward only; ids/mask are the training buffers (mb × S). Shards count the
 * targets their packing mask keeps; line files every target. */
static int eval_loss(sk_tmodel *m, sk_data_loader *ev, bool shards, const sk_data_pos *p0, int nb,
                     int mb, int S, int32_t *ids, uint8_t *mask, double *loss, int64_t *ntok,
                     sk_err *e) {
    int rc = sk_data_loader_set_pos(ev, p0, e);
    if (rc) return rc;
    double sum = 0;
    int64_t n = 0;
    for (int b = 0; b < nb; b++) {
        if ((rc = sk_data_loader_next(ev, ids, shards ? mask : NULL, e))) return rc;
        sk_tbatch bt = {.B = mb, .S = S, .ids = ids, .mask = shards ? mask : NULL};
        sk_tstats st;
        if ((rc = sk_tmodel_loss(m, &bt, &st, NULL, e))) return rc;
        sum += st.main * (double)st.n_main;
        n += st.n_main;
    }
    *loss = n > 0 ? sum / (double)n : NAN;
    *ntok = n;
    return SK_OK;
}

int sk_train_run(const sk_model_config *cfg, const char *config_json_path, const sk_trainer_opts *o,
                 sk_err *e) {
    int rc;
    sk_tmodel *m = NULL;
    sk_data_loader *dl = NULL;
    sk_tokfile maskf = {0};
    uint64_t mask_hash = 0;
    float *mv = NULL;
    FILE *mf = NULL;
    char *mpath = NULL, *fpath = NULL, *cpath = NULL, *svgpath = NULL;
    int32_t *ids = NULL;
    uint8_t *mask = NULL;
    sk_data_loader *ev = NULL;
    sk_data_pos ev0;
    int ev_batches = 0, ev_every = 0;
    bool ev_shards = false;
    if (o->batch <= 0 || o->accum <= 0 || o->batch % o->accum != 0)
        return sk_err_set(e, SK_ERR_INVALID, "--batch %d must be a positive multiple of --accum %d",
                          o->batch, o->accum);
    if (o->steps <= 0) return sk_err_set(e, SK_ERR_INVALID, "--steps must be positive");
    if (o->seq_len < 0) return sk_err_set(e, SK_ERR_INVALID, "--seq-len must be positive");
    const bool shards = sk_data_path_is_shards(o->data_path);
    const int mb = o->batch / o->accum;
    if (shards && o->seq_len <= 0)
        return sk_err_set(e, SK_ERR_INVALID,
                          "%s is a token shard set: --seq-len T is required (sequences of T+1 "
                          "packed ids)",
                          o->data_path);
    if (shards && o->mask_path)
        return sk_err_set(e, SK_ERR_INVALID,
                          "--mask applies to a line-format --data file; a shard set carries its "
                          "own packing mask");
    const unsigned dflags = shards && !o->no_shuffle ? SK_DATA_SHUFFLE : 0;
    /* line files: the seed plays no part in the order, so it is left out of the fingerprint */
    if ((rc = sk_data_loader_open(o->data_path, o->seq_len, mb, shards ? o->seed : 0, dflags,
                                  cfg->n_vocab, &dl, e))) {
        sk_err_prefix(e, "--data");
        return rc;
    }
    const int T = sk_data_loader_T(dl), S = T + 1;
    const uint64_t n_seq = sk_data_loader_n_seq(dl);
    if (T <= cfg->n_mtp) {
        rc = sk_err_set(e, SK_ERR_INVALID, "%s: sequences of %d ids are too short for MTP depth %d",
                        o->data_path, S, cfg->n_mtp);
        goto done;
    }
    if (o->eval_path) {
        if (o->eval_every < 0 || o->eval_batches < 0) {
            rc = sk_err_set(e, SK_ERR_INVALID, "--eval-every and --eval-batches must be >= 0");
            goto done;
        }
        ev_shards = sk_data_path_is_shards(o->eval_path);
        if ((rc = sk_data_loader_open(o->eval_path, T, mb, 0, 0, cfg->n_vocab, &ev, e))) {
            sk_err_prefix(e, "--eval-data");
            goto done;
        }
        sk_data_loader_get_pos(ev, &ev0);
        uint64_t whole = sk_data_loader_n_seq(ev) / (uint64_t)mb;
        if (whole < 1) whole = 1; /* fewer sequences than a micro-batch: it wraps around */
        ev_batches = o->eval_batches > 0 ? o->eval_batches : (int)(whole < 64 ? whole : 64);
        ev_every = o->eval_every > 0 ? o->eval_every : (int)(o->steps / 20 > 0 ? o->steps / 20 : 1);
    }
    if (o->mask_path) {
        if ((rc = sk_tokfile_read(o->mask_path, 2, &maskf, e))) {
            sk_err_prefix(e, "--mask");
            goto done;
        }
        if ((uint64_t)maskf.n_lines != n_seq || maskf.S != S) {
            rc = sk_err_set(e, SK_ERR_INVALID,
                            "--mask %s: %d lines of %d values, but the data %s has %llu lines of "
                            "%d ids (the mask must have the data's shape)",
                            o->mask_path, maskf.n_lines, maskf.S, o->data_path,
                            (unsigned long long)n_seq, S);
            goto done;
        }
        mask_hash = sk_data_fnv1a(SK_FNV_BASIS, maskf.ids,
                                  (size_t)maskf.n_lines * (size_t)S * sizeof(int32_t)) |
                    1u; /* never 0 (0 = no mask) */
    }
    if (mkdir(o->out_dir, 0755) != 0 && errno != EEXIST) {
        rc = sk_err_set(e, SK_ERR_IO, "%s: cannot create directory: %s", o->out_dir,
                        strerror(errno));
        goto done;
    }
    if ((rc = sk_tmodel_new(cfg, &m, e))) goto done;
    if ((rc = sk_tmodel_set_threads(m, o->threads, e))) goto done;
    sk_train_set_bf16(o->bf16);
    {
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        double phys = pages > 0 && psz > 0 ? (double)pages * (double)psz : 0;
        double need = 4.0 * (double)m->n_floats * sizeof(float);
        if (phys > 0 && need > phys) {
            rc = sk_err_set(e, SK_ERR_NOMEM,
                            "train: weights, gradients and Adam moments need %.1f GB; this machine "
                            "has %.1f GB",
                            need / 1e9, phys / 1e9);
            goto done;
        }
    }
    mv = calloc(2 * m->n_floats + 1, sizeof(float));
    if (!mv) {
        rc = sk_err_set(e, SK_ERR_NOMEM, "train: out of memory (Adam moments)");
        goto done;
    }
    ck_hdr hd;
    memset(&hd, 0, sizeof hd);
    int64_t step0 = 0;
    mpath = sk_path_join(o->out_dir, "metrics.jsonl", e);
    if (!mpath) {
        rc = SK_ERR_NOMEM;
        goto done;
    }
    const uint64_t n_threads = m->pool ? (uint64_t)sk_pool_size(m->pool) : 1;
    if (o->resume) {
        if ((rc = ckpt_load(o->out_dir, m, mv, &hd, e))) goto done;
        if ((rc = check_resume(&hd, o, shards, dflags, n_seq, S, n_threads, mask_hash, e)))
            goto done;
        sk_data_pos pos;
        if ((rc = sk_data_pos_decode(hd.dpos, sizeof hd.dpos, &pos, e)) ||
            (rc = sk_data_loader_set_pos(dl, &pos, e))) {
            sk_err_prefix(e, "--resume: %s/ckpt.bin", o->out_dir);
            goto done;
        }
        if (pos.epoch * n_seq + pos.index != hd.step * (uint64_t)o->batch) {
            rc = sk_err_set(e, SK_ERR_FORMAT,
                            "--resume: %s/ckpt.bin: data position (epoch %llu, sequence %llu) "
                            "does not match step %llu of batch %d",
                            o->out_dir, (unsigned long long)pos.epoch,
                            (unsigned long long)pos.index, (unsigned long long)hd.step, o->batch);
            goto done;
        }
        step0 = (int64_t)hd.step;
        /* drop metric lines written after the checkpoint */
        if (truncate(mpath, (off_t)hd.metrics_bytes) != 0 && errno != ENOENT) {
            rc = sk_err_set(e, SK_ERR_IO, "%s: cannot truncate: %s", mpath, strerror(errno));
            goto done;
        }
        mf = fopen(mpath, "a");
    } else {
        if (o->init_weights) {
            if ((rc = sk_tmodel_load(m, o->init_weights, e))) goto done;
        } else {
            float sd = o->init_std > 0 ? o->init_std : (float)init_std_from_json(config_json_path);
            sk_tmodel_init(m, o->seed, sd);
        }
        hd.seed = o->seed;
        uint64_t s = o->seed;
        for (int i = 0; i < 4; i++)
            hd.rng[i] = (s = s * 6364136223846793005ull + 1442695040888963407ull);
        mf = fopen(mpath, "w");
    }
    if (!mf) {
        rc = sk_err_set(e, SK_ERR_IO, "%s: cannot open: %s", mpath, strerror(errno));
        goto done;
    }
    hd.version = CK_VERSION;
    hd.n_floats = m->n_floats;
    hd.n_tp = (uint64_t)m->n_tp;
    hd.layout_hash = layout_hash(m);
    hd.batch = (uint64_t)o->batch;
    hd.accum = (uint64_t)o->accum;
    hd.n_lines = n_seq;
    hd.seq_len = (uint64_t)S;
    hd.threads = n_threads;
    hd.data_kind = shards ? CK_DATA_SHARDS : CK_DATA_LINES;
    hd.shuffle = (dflags & SK_DATA_SHUFFLE) ? 1 : 0;
    hd.mask_hash = mask_hash;
    hd.bf16 = o->bf16 ? 1 : 0;
    hd.gemm = (uint64_t)sk_train_get_gemm();
    sk_adamw_cfg opt = o->opt;
    if (opt.total <= 0) opt.total = (int)o->steps;
    const bool use_mask = shards || maskf.ids;
    ids = malloc(sizeof(int32_t) * (size_t)mb * S);
    mask = malloc((size_t)mb * S);
    if (!ids || !mask) {
        rc = sk_err_set(e, SK_ERR_NOMEM, "out of memory");
        goto done;
    }
    double peak = sk_train_measure_peak(m->pool);
    double fpt = flops_per_token(m, T);
    if (!o->quiet)
        fprintf(stderr,
                "%lld trainable parameters; %.3g GFLOP per token (fwd+bwd); sgemm peak measured "
                "%.1f GFLOP/s (%s)%s\n",
                (long long)sk_tmodel_n_trainable(m), fpt * 1e-9, peak * 1e-9,
                gemm_name(sk_train_get_gemm()), o->bf16 ? "; bf16 matrix products" : "");
    double t_start = sk_time_sec(), t_draw = 0;
    bool tty = isatty(2);
    int64_t end = o->steps;
    if (o->stop_after > 0 && o->stop_after < end) end = o->stop_after;
    int E = cfg->n_routed;
    for (int64_t s = step0; s < end; s++) {
        double t0 = sk_time_sec();
        sk_tmodel_zero_grad(m);
        sk_tmodel_reset_load(m);
        sk_tstats acc;
        memset(&acc, 0, sizeof acc);
        int64_t ntok = 0;
        for (int a = 0; a < o->accum; a++) {
            sk_data_pos p0;
            sk_data_loader_get_pos(dl, &p0);
            if ((rc = sk_data_loader_next(dl, ids, shards ? mask : NULL, e))) {
                sk_err_prefix(e, "step %lld: --data", (long long)s);
                goto done;
            }
            if (maskf.ids) /* line files are not shuffled: the batch is lines p0.index + i */
                for (int i = 0; i < mb; i++) {
                    uint64_t line = (p0.index + (uint64_t)i) % n_seq;
                    for (int j = 0; j < S; j++)
                        mask[(size_t)i * S + j] = (uint8_t)maskf.ids[line * (uint64_t)S + j];
                }
            sk_tbatch bt = {.B = mb, .S = S, .ids = ids, .mask = use_mask ? mask : NULL};
            sk_tstats st;
            if ((rc = sk_tmodel_grad(m, &bt, 1.0f / (float)o->accum, &st, e))) {
                sk_err_prefix(e, "step %lld", (long long)s);
                goto done;
            }
            acc.loss += st.loss / o->accum;
            acc.main += st.main / o->accum;
            acc.bal += st.bal / o->accum;
            for (int k = 0; k < cfg->n_mtp; k++) acc.mtp[k] += st.mtp[k] / o->accum;
            ntok += (int64_t)mb * T;
        }
        if (!isfinite(acc.loss)) {
            rc = sk_err_set(e, SK_ERR_RANGE, "step %lld: loss is %f (diverged); lower --lr",
                            (long long)s, acc.loss);
            goto done;
        }
        float lr = sk_lr_at(&opt, s);
        double gnorm = sk_adamw_step(m, &opt, mv, s);
        /* expert load of this step, before the bias moves */
        double lmax_mean = 0;
        int n_moe = 0;
        for (int l = 0; E > 0 && l < cfg->n_layer + cfg->n_mtp; l++) {
            if (!sk_model_is_moe_layer(cfg, l)) continue;
            double mx = 0, sum = 0;
            for (int i = 0; i < E; i++) {
                sum += m->load[(size_t)l * E + i];
                if (m->load[(size_t)l * E + i] > mx) mx = m->load[(size_t)l * E + i];
            }
            if (sum > 0) lmax_mean += mx / (sum / E);
            n_moe++;
        }
        if (n_moe) lmax_mean /= n_moe;
        sk_tmodel_bias_update(m, opt.bias_gamma);
        double dt = sk_time_sec() - t0;
        double tps = dt > 0 ? (double)ntok / dt : 0;
        double mfu = peak > 0 ? tps * fpt / peak : 0;
        /* held-out loss (not timed: tok/s and MFU are the training step's) */
        double ev_loss = NAN;
        int64_t ev_tok = 0;
        if (ev && ((s + 1) % ev_every == 0 || s + 1 == end)) {
            if ((rc = eval_loss(m, ev, ev_shards, &ev0, ev_batches, mb, S, ids, mask, &ev_loss,
                                &ev_tok, e))) {
                sk_err_prefix(e, "step %lld: --eval-data", (long long)s + 1);
                goto done;
            }
        }
        fprintf(mf, "{\"step\":%lld,\"loss\":%.7g,\"main\":%.7g,\"mtp\":[", (long long)s + 1,
                acc.loss, acc.main);
        for (int k = 0; k < cfg->n_mtp; k++) fprintf(mf, "%s%.7g", k ? "," : "", acc.mtp[k]);
        fprintf(
            mf,
            "],\"balance\":%.7g,\"lr\":%.6g,\"grad_norm\":%.6g,\"tokens\":%lld,\"tok_per_s\":%.1f,"
            "\"mfu\":%.5f,\"load_max_over_mean\":%.4f,\"seconds\":%.4f",
            acc.bal, lr, gnorm, (long long)ntok, tps, mfu, lmax_mean, dt);
        if (ev_tok > 0)
            fprintf(mf, ",\"eval_loss\":%.7g,\"eval_tokens\":%lld", ev_loss, (long long)ev_tok);
        fputs("}\n", mf);
        fflush(mf);
        if (!o->quiet) {
            double now = sk_time_sec(), el = now - t_start;
            double eta = (s + 1 > step0) ? el / (double)(s + 1 - step0) * (double)(end - s - 1) : 0;
            double avg_tps = el > 0 ? (double)(s + 1 - step0) * (double)ntok / el : 0;
            bool last_step = s + 1 == end;
            int every = (int)((end - step0) / 10 > 0 ? (end - step0) / 10 : 1);
            bool show = tty ? (now - t_draw >= 0.1 || last_step)
                            : ((s + 1 - step0) % every == 0 || last_step);
            if (show) {
                char etab[32];
                fmt_hms(etab, sizeof etab, eta);
                char lb[96] = "";
                if (E > 0) snprintf(lb, sizeof lb, "  load max/mean %.2f", lmax_mean);
                if (ev_tok > 0)
                    snprintf(lb + strlen(lb), sizeof lb - strlen(lb), "  eval %.4f", ev_loss);
                fprintf(stderr,
                        "%sstep %lld/%lld  loss %.4f  lr %.2e  |g| %.3f  %.0f tok/s  MFU %.2f%%%s  "
                        "ETA %s%s",
                        tty ? "\r" : "", (long long)s + 1, (long long)o->steps, acc.loss, lr, gnorm,
                        avg_tps, peak > 0 ? 100 * avg_tps * fpt / peak : 0.0, lb, etab,
                        tty ? (last_step ? "\n" : "   ") : "\n");
                t_draw = now;
            }
        }
        bool last = s + 1 == end;
        if (last || (o->ckpt_every > 0 && (s + 1) % o->ckpt_every == 0)) {
            hd.step = (uint64_t)(s + 1);
            sk_data_pos dp;
            sk_data_loader_get_pos(dl, &dp);
            hd.data_pos = dp.index;
            hd.epoch = dp.epoch;
            sk_data_pos_encode(&dp, hd.dpos);
            long pos = ftell(mf);
            hd.metrics_bytes = pos > 0 ? (uint64_t)pos : 0;
            if ((rc = ckpt_save(o->out_dir, m, mv, &hd, e))) goto done;
            if (!svgpath && !(svgpath = sk_path_join(o->out_dir, "loss.svg", e))) {
                rc = SK_ERR_NOMEM;
                goto done;
            }
            if ((rc = sk_train_write_loss_svg(mpath, svgpath, e))) goto done;
        }
    }
    if (end == o->steps) {
        fpath = sk_path_join(o->out_dir, "model.safetensors", e);
        cpath = sk_path_join(o->out_dir, "config.json", e);
        if (!fpath || !cpath) {
            rc = SK_ERR_NOMEM;
            goto done;
        }
        if ((rc = sk_tmodel_save(m, fpath, e))) goto done;
        if (config_json_path && (rc = copy_file(config_json_path, cpath, e))) goto done;
        if (config_json_path && o->gguf && (rc = write_gguf(o, e))) goto done;
    }
    rc = SK_OK;
done:
    sk_train_set_bf16(false);
    if (mf) fclose(mf);
    free(mpath);
    free(svgpath);
    free(fpath);
    free(cpath);
    free(ids);
    free(mask);
    free(mv);
    sk_tmodel_free(m);
    sk_tokfile_free(&maskf);
    sk_data_loader_close(dl);
    sk_data_loader_close(ev);
    return rc;
}
