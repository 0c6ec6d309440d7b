/* data_test_shard — token shards, document splitting, packing, shuffling and the resumable
 * loader (sk_data.h):
 *  - shard sets round-trip documents exactly (u16 and u32 ids, several shards), and corrupt,
 *    truncated, mixed or incomplete sets are refused with a message;
 *  - packed sequences equal a straightforward reference concatenation (BOS doc EOS …, cut
 *    every T+1) and the mask is 0 exactly at document starts;
 *  - shuffling is a seeded permutation per epoch, batches wrap across epochs, and a saved
 *    position resumes the identical batch stream; foreign positions are refused;
 *  - the BATCH.txt line format loads with the `seek train` order, bad lines are refused;
 *  - text files → documents (file, paragraph, jsonl) → shards with a trained tokenizer decode
 *    back to the original documents. */
#include "sk_data.h"
#include "sk_test.h"
#include "sk_tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static char *tmp(const char *name) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

static uint64_t rng = 12345;
static uint32_t rnd(uint32_t n) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((rng >> 33) % n);
}

typedef struct docs {
    int32_t **d;
    size_t *n;
    size_t count;
} docs;

static docs make_docs(size_t count, int32_t vocab, size_t maxlen) {
    docs D = {calloc(count, sizeof(int32_t *)), calloc(count, sizeof(size_t)), count};
    for (size_t i = 0; i < count; i++) {
        D.n[i] = 1 + rnd((uint32_t)maxlen);
        D.d[i] = malloc(D.n[i] * sizeof(int32_t));
        for (size_t k = 0; k < D.n[i]; k++) D.d[i][k] = (int32_t)rnd((uint32_t)vocab);
    }
    return D;
}
static void free_docs(docs *D) {
    for (size_t i = 0; i < D->count; i++) free(D->d[i]);
    free(D->d);
    free(D->n);
}

static int write_set(const char *prefix, const docs *D, int32_t vocab, int32_t bos, int32_t eos,
                     uint64_t shard_tokens, uint32_t *n_shards) {
    sk_err e = {0};
    sk_shard_writer *w = NULL;
    int rc = sk_shard_writer_open(prefix, vocab, bos, eos, shard_tokens, &w, &e);
    CHECK_OK(rc, &e);
    if (rc) return rc;
    for (size_t i = 0; i < D->count; i++) {
        rc = sk_shard_writer_add(w, D->d[i], D->n[i], &e);
        CHECK_OK(rc, &e);
        if (rc) {
            sk_shard_writer_abort(w);
            return rc;
        }
    }
    rc = sk_shard_writer_finish(w, n_shards, NULL, NULL, &e);
    CHECK_OK(rc, &e);
    return rc;
}

static void check_set(const char *path, const docs *D, int32_t vocab, uint32_t tb) {
    sk_err e = {0};
    sk_shard_set *s = NULL;
    CHECK_OK(sk_shard_set_open(path, &s, &e), &e);
    if (!s) return;
    CHECK(sk_shard_set_n_docs(s) == D->count);
    CHECK(sk_shard_set_vocab(s) == vocab && sk_shard_set_token_bytes(s) == tb);
    uint64_t tot = 0;
    int32_t *buf = malloc(4096 * sizeof(int32_t));
    for (size_t i = 0; i < D->count; i++) {
        size_t n = 0;
        CHECK_OK(sk_shard_set_doc(s, i, buf, 4096, &n, &e), &e);
        CHECK(n == D->n[i] && !memcmp(buf, D->d[i], n * sizeof(int32_t)));
        tot += D->n[i];
    }
    CHECK(sk_shard_set_n_tokens(s) == tot);
    size_t n = 0;
    CHECK(sk_shard_set_doc(s, D->count, buf, 4096, &n, &e) == SK_ERR_RANGE);
    free(buf);
    sk_shard_set_close(s);
}

static void test_shard_roundtrip(void) {
    docs D = make_docs(200, 50000, 300);
    uint32_t ns = 0;
    /* ~30k tokens in shards of <= 4000 tokens */
    if (write_set(tmp("a"), &D, 50000, 0, 1, 4000, &ns)) goto out;
    CHECK(ns >= 8);
    check_set(tmp("a"), &D, 50000, 2);
    check_set(tmp("a-00003.bin"), &D, 50000, 2); /* any member names the set */
    CHECK(!sk_file_exists(tmp("a-00000.bin.tmp")));
    char p[64];
    snprintf(p, sizeof p, "a-%05u.bin", ns);
    CHECK(!sk_file_exists(tmp(p)));
    docs B = make_docs(20, 129280, 100); /* u32 ids */
    for (size_t i = 0; i < B.count; i++) B.d[i][0] = 129279;
    if (!write_set(tmp("b"), &B, 129280, -1, -1, 0, &ns)) {
        CHECK(ns == 1);
        check_set(tmp("b"), &B, 129280, 4);
    }
    free_docs(&B);
out:
    free_docs(&D);
}

static void copy_file(const char *from, const char *to, long flip_at, long truncate_to) {
    size_t n = 0;
    uint8_t *b = sk_test_slurp(from, &n);
    if (flip_at >= 0 && (size_t)flip_at < n) b[flip_at] ^= 0x01;
    if (truncate_to >= 0 && (size_t)truncate_to < n) n = (size_t)truncate_to;
    FILE *f = fopen(to, "wb");
    fwrite(b, 1, n, f);
    fclose(f);
    free(b);
}

static void expect_open_error(const char *path, const char *needle) {
    sk_err e = {0};
    sk_shard_set *s = NULL;
    int rc = sk_shard_set_open(path, &s, &e);
    CHECK_MSG(rc != 0 && !s && strstr(e.msg, needle), "open %s: rc %d, message \"%s\", want \"%s\"",
              path, rc, e.msg, needle);
    sk_shard_set_close(s);
}

static void test_shard_errors(void) {
    docs D = make_docs(30, 1000, 100);
    uint32_t ns = 0;
    if (write_set(tmp("c"), &D, 1000, 0, 1, 500, &ns)) goto out;
    CHECK(ns >= 2);
    size_t n0 = 0;
    free(sk_test_slurp(tmp("c-00000.bin"), &n0));
    /* a flipped token byte, a truncated file, a wrong magic, a changed header field */
    copy_file(tmp("c-00000.bin"), tmp("d-00000.bin"), (long)n0 - 1, -1);
    expect_open_error(tmp("d"), "checksum");
    copy_file(tmp("c-00000.bin"), tmp("d-00000.bin"), -1, (long)n0 - 3);
    expect_open_error(tmp("d"), "does not match the header");
    copy_file(tmp("c-00000.bin"), tmp("d-00000.bin"), 0, -1);
    expect_open_error(tmp("d"), "bad magic");
    copy_file(tmp("c-00000.bin"), tmp("d-00000.bin"), 8, -1);
    expect_open_error(tmp("d"), "version");
    copy_file(tmp("c-00000.bin"), tmp("d-00000.bin"), 41, -1); /* n_docs */
    expect_open_error(tmp("d"), "does not match the header");
    copy_file(tmp("c-00000.bin"), tmp("d-00000.bin"), 73, -1); /* doc_start[0] */
    expect_open_error(tmp("d"), "offset");
    copy_file(tmp("c-00000.bin"), tmp("d-00000.bin"), 12, -1); /* token bytes 2 -> 3 */
    expect_open_error(tmp("d"), "token size");
    /* an incomplete set */
    copy_file(tmp("c-00000.bin"), tmp("d-00000.bin"), -1, -1);
    expect_open_error(tmp("d"), "missing");
    expect_open_error(tmp("nothing"), "no shard set");
    /* shards of two different sets */
    docs E = make_docs(30, 1000, 100);
    if (!write_set(tmp("f"), &E, 1000, 0, 1, 500, &ns)) {
        copy_file(tmp("f-00001.bin"), tmp("d-00001.bin"), -1, -1);
        expect_open_error(tmp("d"), "same set");
    }
    free_docs(&E);
    /* every single-bit flip and every truncation of a small one-shard set: never a crash; a
     * damaged offset table or token area, or a short file, is always refused */
    docs F = make_docs(5, 300, 12);
    if (!write_set(tmp("h"), &F, 300, 0, 1, 0, &ns)) {
        size_t hn = 0;
        uint8_t *orig = sk_test_slurp(tmp("h-00000.bin"), &hn);
        size_t accepted_body = 0;
        sk_err fe = {0};
        for (size_t pos = 0; pos < hn; pos++) {
            copy_file(tmp("h-00000.bin"), tmp("i-00000.bin"), (long)pos, -1);
            sk_shard_set *s = NULL;
            int rc = sk_shard_set_open(tmp("i"), &s, &fe);
            if (rc == 0 && pos >= SK_SHARD_HEADER_BYTES) accepted_body++;
            sk_shard_set_close(s);
        }
        CHECK_MSG(accepted_body == 0, "%zu flipped body bytes were accepted", accepted_body);
        size_t accepted_short = 0;
        for (size_t cut = 0; cut < hn; cut++) {
            copy_file(tmp("h-00000.bin"), tmp("i-00000.bin"), -1, (long)cut);
            sk_shard_set *s = NULL;
            if (sk_shard_set_open(tmp("i"), &s, &fe) == 0) accepted_short++;
            sk_shard_set_close(s);
        }
        CHECK(accepted_short == 0);
        free(orig);
    }
    free_docs(&F);
    /* writer input checks */
    sk_err e = {0};
    sk_shard_writer *w = NULL;
    CHECK(sk_shard_writer_open(tmp("g"), 0, -1, -1, 0, &w, &e) == SK_ERR_INVALID && !w);
    CHECK(sk_shard_writer_open(tmp("g"), 10, 10, -1, 0, &w, &e) == SK_ERR_INVALID && !w);
    CHECK_OK(sk_shard_writer_open(tmp("g"), 10, -1, -1, 0, &w, &e), &e);
    int32_t badid[] = {3, 10};
    CHECK(sk_shard_writer_add(w, badid, 2, &e) == SK_ERR_RANGE && strstr(e.msg, "outside"));
    sk_shard_writer_abort(w);
    CHECK(!sk_file_exists(tmp("g-00000.bin")));
out:
    free_docs(&D);
}

/* reference stream: BOS doc EOS for every document */
static int32_t *ref_stream(const docs *D, int32_t bos, int32_t eos, size_t *n, uint8_t **starts) {
    size_t tot = 0;
    for (size_t i = 0; i < D->count; i++) tot += D->n[i] + (bos >= 0) + (eos >= 0);
    int32_t *s = malloc(tot * sizeof(int32_t));
    uint8_t *st = calloc(tot, 1);
    size_t k = 0;
    for (size_t i = 0; i < D->count; i++) {
        if (bos >= 0) st[k] = 1, s[k++] = bos;
        memcpy(s + k, D->d[i], D->n[i] * sizeof(int32_t));
        k += D->n[i];
        if (eos >= 0) s[k++] = eos;
    }
    *n = tot;
    *starts = st;
    return s;
}

static void test_packing(void) {
    for (int variant = 0; variant < 2; variant++) {
        int32_t bos = variant ? -1 : 0, eos = variant ? -1 : 1;
        docs D = make_docs(60, 500, 80);
        for (size_t i = 0; i < D.count; i++)
            for (size_t k = 0; k < D.n[i]; k++) D.d[i][k] = 2 + D.d[i][k] % 498; /* no 0/1 */
        if (variant) D.n[5] = D.n[6] = D.n[59] = 0; /* empty documents, also at the end */
        const char *pf = variant ? "p1" : "p0";
        uint32_t ns = 0;
        if (write_set(tmp(pf), &D, 500, bos, eos, 700, &ns)) {
            free_docs(&D);
            continue;
        }
        size_t tot = 0;
        uint8_t *starts = NULL;
        int32_t *ref = ref_stream(&D, bos, eos, &tot, &starts);
        const int T = 37;
        sk_err e = {0};
        sk_data_loader *l = NULL;
        CHECK_OK(sk_data_loader_open(tmp(pf), T, 3, 0, 0, 0, &l, &e), &e);
        if (l) {
            uint64_t n = sk_data_loader_n_seq(l);
            CHECK(n == tot / (T + 1));
            int32_t ids[T + 1];
            uint8_t mask[T + 1];
            for (uint64_t i = 0; i < n; i++) {
                CHECK_OK(sk_data_loader_seq(l, i, ids, mask, &e), &e);
                CHECK_MSG(!memcmp(ids, ref + i * (T + 1), sizeof ids), "sequence %llu differs",
                          (unsigned long long)i);
                for (int j = 0; j <= T; j++) {
                    uint8_t want = j == 0 ? 0 : !starts[i * (T + 1) + (size_t)j];
                    CHECK(mask[j] == want);
                }
            }
            CHECK(sk_data_loader_seq(l, n, ids, mask, &e) == SK_ERR_RANGE);
            /* unshuffled batches: sequences s*B .. s*B+B-1 modulo n, across epochs */
            int32_t batch[3 * (T + 1)];
            for (uint64_t step = 0; step < n; step++) {
                CHECK_OK(sk_data_loader_next(l, batch, NULL, &e), &e);
                for (int b = 0; b < 3; b++) {
                    uint64_t want = (step * 3 + (uint64_t)b) % n;
                    CHECK(!memcmp(batch + b * (T + 1), ref + want * (T + 1), sizeof ids));
                }
            }
            sk_data_loader_close(l);
        }
        /* too long a sequence for the data */
        CHECK(sk_data_loader_open(tmp(pf), (int)tot, 1, 0, 0, 0, &l, &e) == SK_ERR_INVALID &&
              strstr(e.msg, "fewer than one sequence"));
        CHECK(sk_data_loader_open(tmp(pf), T, 1, 0, 0, 100, &l, &e) == SK_ERR_INVALID);
        free(ref);
        free(starts);
        free_docs(&D);
    }
}

static void test_shuffle_resume(void) {
    docs D = make_docs(100, 300, 60);
    uint32_t ns = 0;
    if (write_set(tmp("s"), &D, 300, 0, 1, 0, &ns)) goto out;
    const int T = 15, B = 4;
    sk_err e = {0};
    sk_data_loader *a = NULL, *b = NULL, *c = NULL;
    CHECK_OK(sk_data_loader_open(tmp("s"), T, B, 42, SK_DATA_SHUFFLE, 0, &a, &e), &e);
    CHECK_OK(sk_data_loader_open(tmp("s"), T, 1, 0, 0, 0, &b, &e), &e);
    if (!a || !b) goto close;
    uint64_t n = sk_data_loader_n_seq(a);
    CHECK(n > 40);
    /* epoch 0 and 1 are permutations of all sequences, and different orders */
    size_t S = (size_t)T + 1;
    int32_t *all = malloc(n * S * sizeof(int32_t));
    for (uint64_t i = 0; i < n; i++) sk_data_loader_seq(b, i, all + i * S, NULL, &e);
    uint64_t steps = 2 * n / B + 1;
    int32_t *stream = malloc(steps * B * S * sizeof(int32_t));
    uint64_t *which = malloc(steps * B * sizeof(uint64_t));
    for (uint64_t s = 0; s < steps; s++)
        CHECK_OK(sk_data_loader_next(a, stream + s * B * S, NULL, &e), &e);
    for (uint64_t k = 0; k < steps * B; k++) {
        which[k] = UINT64_MAX;
        for (uint64_t i = 0; i < n; i++)
            if (!memcmp(stream + k * S, all + i * S, S * sizeof(int32_t))) {
                which[k] = i;
                break;
            }
        CHECK(which[k] != UINT64_MAX);
    }
    for (int ep = 0; ep < 2; ep++) {
        uint8_t *seen = calloc(n, 1);
        uint64_t dups = 0, inorder = 0;
        for (uint64_t k = 0; k < n; k++) {
            uint64_t w = which[ep * n + k];
            if (w < n && seen[w]++) dups++;
            inorder += w == k;
        }
        CHECK_MSG(dups == 0, "epoch %d repeats %llu sequences", ep, (unsigned long long)dups);
        CHECK(inorder < n / 4);
        free(seen);
    }
    uint64_t same = 0;
    for (uint64_t k = 0; k < n; k++) same += which[k] == which[n + k];
    CHECK(same < n / 4);
    /* resume: save after 5 steps, restore in a new loader, compare the rest */
    sk_data_loader_close(a);
    a = NULL;
    CHECK_OK(sk_data_loader_open(tmp("s"), T, B, 42, SK_DATA_SHUFFLE, 0, &a, &e), &e);
    int32_t *buf = malloc(B * S * sizeof(int32_t));
    for (int s = 0; s < 5; s++) sk_data_loader_next(a, buf, NULL, &e);
    CHECK(!memcmp(buf, stream + 4 * B * S, B * S * sizeof(int32_t)));
    sk_data_pos pos;
    sk_data_loader_get_pos(a, &pos);
    uint8_t blob[SK_DATA_POS_BYTES];
    sk_data_pos_encode(&pos, blob);
    sk_data_pos back;
    CHECK_OK(sk_data_pos_decode(blob, sizeof blob, &back, &e), &e);
    CHECK_OK(sk_data_loader_open(tmp("s"), T, B, 42, SK_DATA_SHUFFLE, 0, &c, &e), &e);
    if (c) {
        CHECK_OK(sk_data_loader_set_pos(c, &back, &e), &e);
        for (uint64_t s = 5; s < steps; s++) {
            CHECK_OK(sk_data_loader_next(c, buf, NULL, &e), &e);
            CHECK_MSG(!memcmp(buf, stream + s * B * S, B * S * sizeof(int32_t)),
                      "resumed step %llu differs", (unsigned long long)s);
        }
    }
    /* a position of other settings, a damaged blob */
    sk_data_loader *d = NULL;
    CHECK_OK(sk_data_loader_open(tmp("s"), T, B, 43, SK_DATA_SHUFFLE, 0, &d, &e), &e);
    if (d)
        CHECK(sk_data_loader_set_pos(d, &back, &e) == SK_ERR_INVALID &&
              strstr(e.msg, "fingerprint"));
    sk_data_loader_close(d);
    blob[20] ^= 1;
    CHECK(sk_data_pos_decode(blob, sizeof blob, &back, &e) == SK_ERR_FORMAT);
    CHECK(sk_data_pos_decode(blob, 12, &back, &e) == SK_ERR_FORMAT);
    free(buf);
    free(all);
    free(stream);
    free(which);
close:
    sk_data_loader_close(a);
    sk_data_loader_close(b);
    sk_data_loader_close(c);
out:
    free_docs(&D);
}

static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    fputs(s, f);
    fclose(f);
}

static void test_line_format(void) {
    write_text(tmp("l.txt"), "1 2 3 4\n5 6 7 8\r\n\n9 10 11 12\n13 14 15 16\n17 18 19 20");
    sk_err e = {0};
    sk_data_loader *l = NULL;
    CHECK_OK(sk_data_loader_open(tmp("l.txt"), 0, 2, 0, 0, 100, &l, &e), &e);
    if (l) {
        CHECK(sk_data_loader_T(l) == 3 && sk_data_loader_n_seq(l) == 5);
        int32_t ids[8];
        uint8_t m[8];
        const int32_t want[3][8] = {{1, 2, 3, 4, 5, 6, 7, 8},
                                    {9, 10, 11, 12, 13, 14, 15, 16},
                                    {17, 18, 19, 20, 1, 2, 3, 4}};
        for (int s = 0; s < 3; s++) {
            CHECK_OK(sk_data_loader_next(l, ids, m, &e), &e);
            CHECK(!memcmp(ids, want[s], sizeof ids));
            CHECK(m[0] == 0 && m[1] == 1 && m[3] == 1 && m[4] == 0 && m[5] == 1);
        }
        sk_data_loader_close(l);
    }
    CHECK(sk_data_loader_open(tmp("l.txt"), 4, 2, 0, 0, 0, &l, &e) == SK_ERR_INVALID &&
          strstr(e.msg, "sequence length"));
    CHECK(sk_data_loader_open(tmp("l.txt"), 0, 2, 0, 0, 10, &l, &e) == SK_ERR_RANGE &&
          strstr(e.msg, "l.txt:4:3:") && strstr(e.msg, "outside"));
    write_text(tmp("r.txt"), "1 2 3\n4 5\n");
    CHECK(sk_data_loader_open(tmp("r.txt"), 0, 1, 0, 0, 0, &l, &e) == SK_ERR_FORMAT &&
          strstr(e.msg, ":2:"));
    write_text(tmp("x.txt"), "1 2 x\n");
    CHECK(sk_data_loader_open(tmp("x.txt"), 0, 1, 0, 0, 0, &l, &e) == SK_ERR_FORMAT &&
          strstr(e.msg, "'x'"));
    write_text(tmp("big.txt"), "1 99999999999\n");
    CHECK(sk_data_loader_open(tmp("big.txt"), 0, 1, 0, 0, 0, &l, &e) == SK_ERR_RANGE);
    write_text(tmp("empty.txt"), "\n\n");
    CHECK(sk_data_loader_open(tmp("empty.txt"), 0, 1, 0, 0, 0, &l, &e) == SK_ERR_FORMAT &&
          strstr(e.msg, "empty"));
    CHECK(sk_data_loader_open(tmp("l.txt"), 0, 0, 0, 0, 0, &l, &e) == SK_ERR_INVALID);
    CHECK(sk_data_loader_open(tmp("absent.txt"), 0, 1, 0, 0, 0, &l, &e) != 0);
}

typedef struct doclist {
    char *t[16];
    size_t n[16];
    int count;
} doclist;
static int on_doc(void *ctx, const char *text, size_t len, sk_err *e) {
    doclist *L = ctx;
    if (L->count == 16) return sk_err_set(e, SK_ERR_RANGE, "too many");
    L->t[L->count] = malloc(len + 1);
    memcpy(L->t[L->count], text, len);
    L->t[L->count][len] = 0;
    L->n[L->count++] = len;
    return SK_OK;
}
static void free_list(doclist *L) {
    for (int i = 0; i < L->count; i++) free(L->t[i]);
    L->count = 0;
}

static void test_docs_and_tokenize(void) {
    write_text(tmp("p.txt"), "\n\nFirst paragraph\nstill first.\n  \t\nSecond one.\n\n\n\nThird "
                             "\xE6\xB7\xB1\xE5\xBA\xA6 \xF0\x9F\x98\x80\n");
    write_text(tmp("d.jsonl"), "{\"text\": \"json doc \\u00e9\\n two lines\"}\n\n"
                               "{\"text\": \"\", \"id\": 3}\n{\"id\": 1, \"text\": \"last\"}\n");
    sk_err e = {0};
    doclist L = {0};
    CHECK_OK(sk_data_read_docs(tmp("p.txt"), SK_DATA_SPLIT_PARAGRAPH, on_doc, &L, &e), &e);
    CHECK(L.count == 3);
    if (L.count == 3) {
        CHECK(!strcmp(L.t[0], "First paragraph\nstill first."));
        CHECK(!strcmp(L.t[1], "Second one."));
        CHECK(!strcmp(L.t[2], "Third \xE6\xB7\xB1\xE5\xBA\xA6 \xF0\x9F\x98\x80"));
    }
    free_list(&L);
    CHECK_OK(sk_data_read_docs(tmp("p.txt"), SK_DATA_SPLIT_AUTO, on_doc, &L, &e), &e);
    CHECK(L.count == 1 && L.n[0] > 40);
    free_list(&L);
    CHECK_OK(sk_data_read_docs(tmp("d.jsonl"), SK_DATA_SPLIT_AUTO, on_doc, &L, &e), &e);
    CHECK(L.count == 2);
    if (L.count == 2) {
        CHECK(!strcmp(L.t[0], "json doc \xC3\xA9\n two lines") && !strcmp(L.t[1], "last"));
    }
    free_list(&L);
    write_text(tmp("bad.jsonl"), "{\"text\": \"a\"}\n{\"txt\": 1}\n");
    CHECK(sk_data_read_docs(tmp("bad.jsonl"), SK_DATA_SPLIT_AUTO, on_doc, &L, &e) ==
              SK_ERR_FORMAT &&
          strstr(e.msg, "bad.jsonl:2") && strstr(e.msg, "\"text\""));
    free_list(&L);
    write_text(tmp("bad2.jsonl"), "{\"text\": \"a\"\n");
    CHECK(sk_data_read_docs(tmp("bad2.jsonl"), SK_DATA_SPLIT_AUTO, on_doc, &L, &e) ==
              SK_ERR_FORMAT &&
          strstr(e.msg, "invalid JSON"));
    free_list(&L);
    sk_data_split sp;
    CHECK(sk_data_split_parse("lines", &sp, &e) == SK_ERR_INVALID && strstr(e.msg, "paragraph"));

    /* tokenize with a tokenizer trained here, decode the shards back */
    size_t len = 0;
    char path[512];
    snprintf(path, sizeof path, "%s/tests/train/data_sample.txt", SEEK_SOURCE_DIR);
    char *text = sk_test_slurp(path, &len);
    const char *texts[] = {text};
    sk_bpe_train_opts o;
    sk_bpe_train_opts_default(&o);
    o.vocab_size = 600;
    o.quiet = true;
    sk_bpe_result *r = NULL;
    CHECK_OK(sk_bpe_train(texts, &len, 1, &o, &r, &e), &e);
    if (r) CHECK_OK(sk_bpe_write_hf(r, &o, tmp("tok"), &e), &e);
    sk_bpe_result_free(r);
    free(text);
    sk_tokenizer *t = NULL;
    CHECK_OK(sk_tokenizer_load_hf(tmp("tok"), &t, &e), &e);
    if (!t) return;
    const char *files[] = {tmp("p.txt"), tmp("d.jsonl")};
    sk_data_tokenize_stats st;
    CHECK_OK(sk_data_tokenize_files(t, files, 2, SK_DATA_SPLIT_AUTO, false, tmp("tk"), 0, &st, &e),
             &e);
    CHECK(st.n_docs == 3 && st.n_shards == 1);
    sk_shard_set *s = NULL;
    CHECK_OK(sk_shard_set_open(tmp("tk"), &s, &e), &e);
    if (s) {
        CHECK(sk_shard_set_bos(s) == 0 && sk_shard_set_eos(s) == 1 && sk_shard_set_vocab(s) == 600);
        const char *want[] = {NULL, "json doc \xC3\xA9\n two lines", "last"};
        size_t pl = 0;
        want[0] = sk_test_slurp(tmp("p.txt"), &pl);
        for (uint64_t d = 0; d < 3; d++) {
            int32_t ids[512];
            size_t n = 0;
            CHECK_OK(sk_shard_set_doc(s, d, ids, 512, &n, &e), &e);
            char *out = NULL;
            size_t ol = 0;
            CHECK_OK(sk_tokenizer_decode(t, ids, n, false, &out, &ol, &e), &e);
            CHECK_MSG(out && !strcmp(out, want[d]), "document %llu decodes to \"%s\"",
                      (unsigned long long)d, out ? out : "");
            free(out);
        }
        free((void *)want[0]);
        sk_shard_set_close(s);
    }
    /* an input error names the file and leaves no shard behind */
    const char *bad[] = {tmp("p.txt"), tmp("bad.jsonl")};
    CHECK(sk_data_tokenize_files(t, bad, 2, SK_DATA_SPLIT_AUTO, false, tmp("tb"), 0, &st, &e) ==
              SK_ERR_FORMAT &&
          strstr(e.msg, "bad.jsonl"));
    CHECK(!sk_file_exists(tmp("tb-00000.bin")) && !sk_file_exists(tmp("tb-00000.bin.tmp")));
    write_text(tmp("blank.txt"), "\n \n");
    const char *blank[] = {tmp("blank.txt")};
    CHECK(sk_data_tokenize_files(t, blank, 1, SK_DATA_SPLIT_PARAGRAPH, false, tmp("tb"), 0, &st,
                                 &e) == SK_ERR_INVALID &&
          strstr(e.msg, "no (non-empty) documents"));
    sk_tokenizer_free(t);
}

int main(void) {
    const char *td = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/seek-data-shard-XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_shard_roundtrip);
    RUN(test_shard_errors);
    RUN(test_packing);
    RUN(test_shuffle_resume);
    RUN(test_line_format);
    RUN(test_docs_and_tokenize);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return sk_test_report("data_shard");
}
