/* data_loader.c — packed, shuffled, resumable batches from a shard set or a line-format token
 * file (rules in sk_data.h). */
#include "sk_data.h"
#include "sk_train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sk_data_loader {
    int T, B;
    uint64_t seed;
    unsigned flags;
    int32_t vocab;
    /* shards */
    sk_shard_set *set;
    uint64_t *stream_start; /* [n_docs+1] stream position of each document's first token */
    uint64_t n_docs;
    int32_t bos, eos;
    /* line file */
    int32_t *lines; /* [n_seq][T+1] */
    uint64_t n_seq;
    uint64_t *perm; /* permutation of the epoch perm_epoch (shuffle only) */
    uint64_t perm_epoch;
    bool perm_valid;
    uint64_t epoch, index;
    uint64_t fingerprint;
};

/* ---- the documented generator ---- */

/* Uniform in [0, range), range >= 1 (Lemire's multiply-shift with rejection). */
static uint64_t bounded(uint64_t *s, uint64_t range) {
    unsigned __int128 m = (unsigned __int128)sk_splitmix64(s) * range;
    uint64_t l = (uint64_t)m;
    if (l < range) {
        uint64_t t = (0 - range) % range;
        while (l < t) {
            m = (unsigned __int128)sk_splitmix64(s) * range;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

static void make_perm(sk_data_loader *l, uint64_t epoch) {
    uint64_t n = l->n_seq, s = l->seed ^ (epoch * 0xD1B54A32D192ED03ull);
    for (uint64_t i = 0; i < n; i++) l->perm[i] = i;
    for (uint64_t i = n - 1; i >= 1 && i < n; i--) {
        uint64_t j = bounded(&s, i + 1);
        uint64_t t = l->perm[i];
        l->perm[i] = l->perm[j];
        l->perm[j] = t;
    }
    l->perm_epoch = epoch;
    l->perm_valid = true;
}

/* ---- line files ---- */

static int read_lines(const char *path, int T, int32_t n_vocab, sk_data_loader *l, sk_err *e) {
    sk_tokfile f;
    int rc = sk_tokfile_read_bounded(path, n_vocab, (uint64_t)1 << 36, 2, 1L << 24, &f, e);
    if (rc) return rc;
    if (T > 0 && f.S != T + 1) {
        rc = sk_err_set(e, SK_ERR_INVALID,
                        "%s: lines have %d ids but the sequence length %d needs %d", path, f.S, T,
                        T + 1);
        sk_tokfile_free(&f);
        return rc;
    }
    l->lines = f.ids; /* the loader owns the ids now (freed with free()) */
    l->n_seq = (uint64_t)f.n_lines;
    l->T = f.S - 1;
    return SK_OK;
}

/* ---- open / close ---- */

bool sk_data_path_is_shards(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        size_t n = strlen(path) + 16;
        char *p0 = malloc(n);
        if (!p0) return false;
        snprintf(p0, n, "%s-00000.bin", path);
        bool ok = sk_file_exists(p0);
        free(p0);
        return ok;
    }
    char m[8] = {0};
    size_t k = fread(m, 1, 8, f);
    fclose(f);
    return k == 8 && !memcmp(m, SK_SHARD_MAGIC, 8);
}

void sk_data_loader_close(sk_data_loader *l) {
    if (!l) return;
    sk_shard_set_close(l->set);
    free(l->stream_start);
    free(l->lines);
    free(l->perm);
    free(l);
}

int sk_data_loader_open(const char *path, int T, int batch, uint64_t seed, unsigned flags,
                        int32_t n_vocab, sk_data_loader **out, sk_err *e) {
    *out = NULL;
    if (batch < 1) return sk_err_set(e, SK_ERR_INVALID, "batch size %d must be at least 1", batch);
    if (T > (1 << 24)) return sk_err_set(e, SK_ERR_INVALID, "sequence length %d is too long", T);
    sk_data_loader *l = sk_calloc(1, sizeof *l, e);
    if (!l) return SK_ERR_NOMEM;
    l->B = batch;
    l->seed = seed;
    l->flags = flags;
    int rc;
    uint64_t fp = SK_FNV_BASIS;
    if (sk_data_path_is_shards(path)) {
        if (T < 1) {
            rc = sk_err_set(e, SK_ERR_INVALID,
                            "%s: a shard set needs a sequence length T >= 1 (got %d)", path, T);
            goto fail;
        }
        if ((rc = sk_shard_set_open(path, &l->set, e))) goto fail;
        l->T = T;
        l->vocab = sk_shard_set_vocab(l->set);
        if (n_vocab > 0 && l->vocab > n_vocab) {
            rc = sk_err_set(e, SK_ERR_INVALID,
                            "%s: the shards' vocabulary (%d) is larger than the model's (%d)", path,
                            (int)l->vocab, (int)n_vocab);
            goto fail;
        }
        l->bos = sk_shard_set_bos(l->set);
        l->eos = sk_shard_set_eos(l->set);
        l->n_docs = sk_shard_set_n_docs(l->set);
        if (!(l->stream_start = sk_calloc(l->n_docs + 1, sizeof(uint64_t), e))) goto nomem;
        uint64_t extra = (uint64_t)(l->bos >= 0) + (uint64_t)(l->eos >= 0), pos = 0;
        for (uint64_t d = 0; d < l->n_docs; d++) {
            size_t dl = 0;
            if ((rc = sk_shard_set_doc_read(l->set, d, 0, NULL, 0, &dl, e))) goto fail;
            l->stream_start[d] = pos;
            pos += dl + extra;
        }
        l->stream_start[l->n_docs] = pos;
        l->n_seq = pos / ((uint64_t)T + 1);
        if (l->n_seq == 0) {
            rc = sk_err_set(e, SK_ERR_INVALID,
                            "%s: %llu packed tokens are fewer than one sequence of T+1 = %d", path,
                            (unsigned long long)pos, T + 1);
            goto fail;
        }
        uint64_t sid = sk_shard_set_id(l->set);
        fp = sk_data_fnv1a(fp, "shards", 6);
        fp = sk_data_fnv1a(fp, &sid, sizeof sid);
    } else {
        if (!sk_file_exists(path)) {
            rc = sk_err_set(e, SK_ERR_NOTFOUND,
                            "%s: no such token file, and no shard set %s-00000.bin", path, path);
            goto fail;
        }
        if ((rc = read_lines(path, T, n_vocab, l, e))) goto fail;
        l->vocab = n_vocab > 0 ? n_vocab : 0;
        fp = sk_data_fnv1a(fp, "lines", 5);
        fp = sk_data_fnv1a(fp, l->lines, l->n_seq * (size_t)(l->T + 1) * sizeof(int32_t));
    }
    uint64_t meta[4] = {(uint64_t)l->T, l->seed, l->flags, l->n_seq};
    l->fingerprint = sk_data_fnv1a(fp, meta, sizeof meta);
    if (flags & SK_DATA_SHUFFLE) {
        if (!(l->perm = sk_calloc(l->n_seq, sizeof(uint64_t), e))) goto nomem;
    }
    *out = l;
    return SK_OK;
nomem:
    rc = SK_ERR_NOMEM;
fail:
    sk_data_loader_close(l);
    return rc;
}

int sk_data_loader_T(const sk_data_loader *l) {
    return l->T;
}
int sk_data_loader_batch(const sk_data_loader *l) {
    return l->B;
}
uint64_t sk_data_loader_n_seq(const sk_data_loader *l) {
    return l->n_seq;
}
int32_t sk_data_loader_vocab(const sk_data_loader *l) {
    return l->vocab;
}

/* Packed sequence i (unshuffled index) into ids[T+1] / mask[T+1]. */
int sk_data_loader_seq(sk_data_loader *l, uint64_t i, int32_t *ids, uint8_t *mask, sk_err *e) {
    size_t S = (size_t)l->T + 1;
    if (i >= l->n_seq)
        return sk_err_set(e, SK_ERR_RANGE, "sequence %llu out of range (%llu per epoch)",
                          (unsigned long long)i, (unsigned long long)l->n_seq);
    if (l->lines) {
        memcpy(ids, l->lines + i * S, S * sizeof(int32_t));
        if (mask) {
            mask[0] = 0;
            memset(mask + 1, 1, S - 1);
        }
        return SK_OK;
    }
    uint64_t p = i * S;
    /* the document holding stream position p: last d with stream_start[d] <= p */
    uint64_t lo = 0, hi = l->n_docs;
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (l->stream_start[mid] <= p)
            lo = mid;
        else
            hi = mid;
    }
    uint64_t d = lo, q = p - l->stream_start[d];
    size_t k = 0;
    while (k < S) {
        if (d >= l->n_docs)
            return sk_err_set(e, SK_ERR_RANGE, "packing ran past the last document (internal)");
        uint64_t dlen = l->stream_start[d + 1] - l->stream_start[d];
        uint64_t body = dlen - (uint64_t)(l->bos >= 0) - (uint64_t)(l->eos >= 0);
        while (q < dlen && k < S) {
            uint64_t qq = q;
            bool is_bos = false;
            if (l->bos >= 0) {
                if (qq == 0) {
                    ids[k] = l->bos;
                    is_bos = true;
                    goto put;
                }
                qq--;
            }
            if (qq < body) { /* copy a run of document tokens */
                size_t run = (size_t)(body - qq);
                if (run > S - k) run = S - k;
                int rc = sk_shard_set_doc_read(l->set, d, qq, ids + k, run, NULL, e);
                if (rc) return rc;
                if (mask) memset(mask + k, 1, run);
                k += run;
                q += run;
                continue;
            }
            ids[k] = l->eos; /* qq == body */
        put:
            if (mask) mask[k] = is_bos ? 0 : 1;
            k++;
            q++;
        }
        d++;
        q = 0;
    }
    if (mask) mask[0] = 0;
    return SK_OK;
}

int sk_data_loader_next(sk_data_loader *l, int32_t *ids, uint8_t *mask, sk_err *e) {
    size_t S = (size_t)l->T + 1;
    uint64_t epoch = l->epoch, index = l->index;
    for (int b = 0; b < l->B; b++) {
        if (index >= l->n_seq) {
            epoch++;
            index = 0;
        }
        uint64_t s = index;
        if (l->perm) {
            if (!l->perm_valid || l->perm_epoch != epoch) make_perm(l, epoch);
            s = l->perm[index];
        }
        int rc =
            sk_data_loader_seq(l, s, ids + (size_t)b * S, mask ? mask + (size_t)b * S : NULL, e);
        if (rc) return rc;
        index++;
    }
    l->epoch = epoch;
    l->index = index;
    return SK_OK;
}

void sk_data_loader_get_pos(const sk_data_loader *l, sk_data_pos *pos) {
    pos->fingerprint = l->fingerprint;
    pos->epoch = l->epoch;
    pos->index = l->index;
}

int sk_data_loader_set_pos(sk_data_loader *l, const sk_data_pos *pos, sk_err *e) {
    if (pos->fingerprint != l->fingerprint)
        return sk_err_set(e, SK_ERR_INVALID,
                          "data position belongs to other data or settings (fingerprint %016llx, "
                          "this loader %016llx): same data, sequence length, seed and shuffle "
                          "are needed to resume",
                          (unsigned long long)pos->fingerprint, (unsigned long long)l->fingerprint);
    if (pos->index > l->n_seq)
        return sk_err_set(e, SK_ERR_RANGE, "data position index %llu beyond %llu sequences",
                          (unsigned long long)pos->index, (unsigned long long)l->n_seq);
    l->epoch = pos->epoch;
    l->index = pos->index;
    return SK_OK;
}

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

void sk_data_pos_encode(const sk_data_pos *pos, uint8_t out[SK_DATA_POS_BYTES]) {
    memcpy(out, "SKDP", 4);
    out[4] = 1, out[5] = out[6] = out[7] = 0;
    put64(out + 8, pos->fingerprint);
    put64(out + 16, pos->epoch);
    put64(out + 24, pos->index);
    put64(out + 32, sk_data_fnv1a(SK_FNV_BASIS, out, 32));
}

int sk_data_pos_decode(const uint8_t *buf, size_t len, sk_data_pos *pos, sk_err *e) {
    if (len != SK_DATA_POS_BYTES || memcmp(buf, "SKDP", 4))
        return sk_err_set(e, SK_ERR_FORMAT, "data position: not %u bytes starting with SKDP",
                          SK_DATA_POS_BYTES);
    if (buf[4] != 1 || buf[5] || buf[6] || buf[7])
        return sk_err_set(e, SK_ERR_UNSUPPORTED, "data position: unknown version");
    if (get64(buf + 32) != sk_data_fnv1a(SK_FNV_BASIS, buf, 32))
        return sk_err_set(e, SK_ERR_FORMAT, "data position: checksum mismatch");
    pos->fingerprint = get64(buf + 8);
    pos->epoch = get64(buf + 16);
    pos->index = get64(buf + 24);
    return SK_OK;
}
