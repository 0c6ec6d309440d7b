/* Negative tests: corrupted GGUF and safetensors files (truncated at every offset, every header
 * byte flipped, and a table of targeted lies: magic, version, counts, types, offsets, lengths,
 * overlaps, duplicates, bad UTF-8, bad JSON). Each must fail with SK_ERR_FORMAT or SK_ERR_RANGE
 * (SK_ERR_UNSUPPORTED for an unsupported version) and a message, never crash (run under ASan). */
#include "sk_gguf.h"
#include "sk_safetensors.h"
#include "sk_test.h"

#include <inttypes.h>
#include <unistd.h>

static char g_path[256];

/* ---- a test-side GGUF serializer that remembers where each field is ---- */

typedef struct buf {
    uint8_t d[4096];
    size_t n;
} buf;

static size_t b_put(buf *b, const void *p, size_t n) {
    size_t at = b->n;
    memcpy(b->d + b->n, p, n);
    b->n += n;
    return at;
}
static size_t b_u32(buf *b, uint32_t v) {
    return b_put(b, &v, 4);
}
static size_t b_u64(buf *b, uint64_t v) {
    return b_put(b, &v, 8);
}
static size_t b_str(buf *b, const char *s) {
    size_t at = b_u64(b, strlen(s));
    b_put(b, s, strlen(s));
    return at;
}

typedef struct layout {
    size_t version, n_tensors, n_kv;
    size_t key_len[5], key[5], kv_type[5], val[5];
    size_t arr_elem_type, arr_count, arr_str1_len;
    size_t t_name_len[3], t_name[3], t_ndims[3], t_ne0[3], t_ne1[3], t_type[3], t_off[3];
    size_t data_start, size;
} layout;

/* 5 KVs, 3 tensors: t.f32 [8] F32 @0, t.q8 [32,2] Q8_0 @32, t.f16 [16] F16 @128. The last
 * tensor ends exactly at the end of the file. */
static void build_gguf(buf *b, layout *L) {
    memset(b, 0, sizeof *b);
    b_put(b, "GGUF", 4);
    L->version = b_u32(b, 3);
    L->n_tensors = b_u64(b, 3);
    L->n_kv = b_u64(b, 5);
    L->key_len[0] = b_str(b, "general.architecture");
    L->key[0] = L->key_len[0] + 8;
    L->kv_type[0] = b_u32(b, SK_GGUF_STRING);
    L->val[0] = b_str(b, "llama");
    L->key_len[1] = b_str(b, "general.alignment");
    L->key[1] = L->key_len[1] + 8;
    L->kv_type[1] = b_u32(b, SK_GGUF_UINT32);
    L->val[1] = b_u32(b, 32);
    L->key_len[2] = b_str(b, "tok.tokens");
    L->key[2] = L->key_len[2] + 8;
    L->kv_type[2] = b_u32(b, SK_GGUF_ARRAY);
    L->val[2] = L->arr_elem_type = b_u32(b, SK_GGUF_STRING);
    L->arr_count = b_u64(b, 3);
    b_str(b, "a");
    L->arr_str1_len = b_str(b, "bc");
    b_str(b, "def");
    L->key_len[3] = b_str(b, "arr.f32");
    L->key[3] = L->key_len[3] + 8;
    L->kv_type[3] = b_u32(b, SK_GGUF_ARRAY);
    L->val[3] = b_u32(b, SK_GGUF_FLOAT32);
    b_u64(b, 2);
    float f2[2] = {1, 2};
    b_put(b, f2, 8);
    L->key_len[4] = b_str(b, "x.u8");
    L->key[4] = L->key_len[4] + 8;
    L->kv_type[4] = b_u32(b, SK_GGUF_UINT8);
    uint8_t u8 = 7;
    L->val[4] = b_put(b, &u8, 1);
    const char *names[3] = {"t.f32", "t.q8", "t.f16"};
    int nd[3] = {1, 2, 1}, ty[3] = {SK_TYPE_F32, SK_TYPE_Q8_0, SK_TYPE_F16};
    int64_t ne0[3] = {8, 32, 16}, ne1[3] = {1, 2, 1};
    uint64_t off[3] = {0, 32, 128};
    for (int i = 0; i < 3; i++) {
        L->t_name_len[i] = b_str(b, names[i]);
        L->t_name[i] = L->t_name_len[i] + 8;
        L->t_ndims[i] = b_u32(b, (uint32_t)nd[i]);
        L->t_ne0[i] = b_u64(b, (uint64_t)ne0[i]);
        L->t_ne1[i] = nd[i] > 1 ? b_u64(b, (uint64_t)ne1[i]) : 0;
        L->t_type[i] = b_u32(b, (uint32_t)ty[i]);
        L->t_off[i] = b_u64(b, off[i]);
    }
    while (b->n % 32) b->d[b->n++] = 0;
    L->data_start = b->n;
    for (int i = 0; i < 160; i++) b->d[b->n++] = (uint8_t)(i * 3); /* 32 + 96 + 32 */
    L->size = b->n;
}

static void write_bytes(const void *p, size_t n) {
    FILE *f = fopen(g_path, "wb");
    if (n) fwrite(p, 1, n, f);
    fclose(f);
}

/* Opens g_path; returns the status, checks that failures carry a message. */
static int try_gguf(sk_err *e) {
    sk_gguf *g = NULL;
    sk_err_clear(e);
    int rc = sk_gguf_open(g_path, &g, e);
    if (rc == SK_OK) {
        /* touch every accessor so ASan sees any bad pointer */
        char tmp[256];
        for (int64_t i = 0; i < sk_gguf_n_kv(g); i++) sk_gguf_kv_to_string(g, i, tmp, sizeof tmp);
        uint64_t cnt = 0;
        if (sk_gguf_get_arr(g, "tok.tokens", NULL, &cnt, NULL))
            for (uint64_t i = 0; i < cnt; i++) {
                const char *s;
                size_t l;
                if (sk_gguf_get_arr_str(g, "tok.tokens", i, &s, &l) && l) tmp[0] = s[l - 1];
            }
        volatile uint8_t acc = 0;
        for (int64_t i = 0; i < sk_gguf_n_tensors(g); i++) {
            const sk_gguf_tensor_info *t = sk_gguf_tensor(g, i);
            for (uint64_t k = 0; k < t->nbytes; k++) acc ^= ((const uint8_t *)t->data)[k];
        }
        (void)acc;
        sk_gguf_close(g);
    } else {
        CHECK(g == NULL);
        CHECK(e->msg[0] != 0);
    }
    return rc;
}

static bool is_clean_failure(int rc) {
    return rc == SK_ERR_FORMAT || rc == SK_ERR_RANGE || rc == SK_ERR_UNSUPPORTED;
}

static void test_gguf_baseline_and_truncation(void) {
    buf b;
    layout L;
    build_gguf(&b, &L);
    sk_err e;
    write_bytes(b.d, b.n);
    CHECK_OK(try_gguf(&e), &e);
    int bad = 0;
    for (size_t cut = 0; cut < b.n; cut++) {
        write_bytes(b.d, cut);
        int rc = try_gguf(&e);
        if (rc != SK_ERR_FORMAT) {
            bad++;
            fprintf(stderr, "  truncated at %zu: rc %d (%s)\n", cut, rc, e.msg);
        }
    }
    CHECK(bad == 0);
    write_bytes(b.d, L.data_start + 100);
    CHECK(try_gguf(&e) == SK_ERR_FORMAT && strstr(e.msg, "t.f16") && strstr(e.msg, "outside"));
}

static void test_gguf_every_byte(void) {
    buf b;
    layout L;
    build_gguf(&b, &L);
    sk_err e;
    const uint8_t masks[4] = {0x01, 0x80, 0xFF, 0x40};
    int n_fail = 0, n_ok = 0, unclean = 0;
    for (size_t pos = 0; pos < L.data_start; pos++) {
        for (int m = 0; m < 4; m++) {
            buf c = b;
            c.d[pos] ^= masks[m];
            write_bytes(c.d, c.n);
            int rc = try_gguf(&e);
            if (rc == SK_OK)
                n_ok++;
            else if (is_clean_failure(rc))
                n_fail++;
            else {
                unclean++;
                fprintf(stderr, "  byte %zu ^ %02x: rc %d (%s)\n", pos, masks[m], rc, e.msg);
            }
        }
    }
    fprintf(stderr, "  %d mutations rejected, %d accepted (values/padding/names)\n", n_fail, n_ok);
    CHECK(unclean == 0);
    CHECK(n_fail > 3 * (int)L.data_start / 2);
}

typedef struct gcase {
    const char *what;
    size_t *field; /* into the layout */
    int width;     /* 1, 4 or 8 */
    uint64_t value;
    int code;
    const char *msg; /* must appear in the message */
} gcase;

static void test_gguf_table(void) {
    buf b;
    layout L;
    build_gguf(&b, &L);
    size_t magic = 0, magic3 = 3;
    gcase cases[] = {
        {"wrong magic", &magic, 1, 'X', SK_ERR_FORMAT, "magic"},
        {"wrong magic byte 3", &magic3, 1, 'G', SK_ERR_FORMAT, "magic"},
        {"version 1", &L.version, 4, 1, SK_ERR_UNSUPPORTED, "version 1"},
        {"big-endian", &L.version, 4, 0x03000000, SK_ERR_UNSUPPORTED, "big-endian"},
        {"version 4", &L.version, 4, 4, SK_ERR_FORMAT, "version 4"},
        {"version 0", &L.version, 4, 0, SK_ERR_FORMAT, "version"},
        {"huge n_tensors", &L.n_tensors, 8, 1ull << 40, SK_ERR_FORMAT, "tensor count"},
        {"max n_tensors", &L.n_tensors, 8, UINT64_MAX, SK_ERR_FORMAT, "tensor count"},
        {"huge n_kv", &L.n_kv, 8, 1ull << 40, SK_ERR_FORMAT, "key/value count"},
        {"n_kv one too many", &L.n_kv, 8, 6, SK_ERR_FORMAT, ""},
        {"n_tensors one too many", &L.n_tensors, 8, 4, SK_ERR_FORMAT, ""},
        {"key length huge", &L.key_len[0], 8, 1ull << 62, SK_ERR_FORMAT, "runs past"},
        {"key length max", &L.key_len[0], 8, UINT64_MAX, SK_ERR_FORMAT, "runs past"},
        {"key length 0", &L.key_len[0], 8, 0, SK_ERR_FORMAT, ""},
        {"value type 13", &L.kv_type[0], 4, 13, SK_ERR_FORMAT, "unknown value type"},
        {"value type huge", &L.kv_type[4], 4, 0xFFFFFFFF, SK_ERR_FORMAT, "unknown value type"},
        {"string value length lies", &L.val[0], 8, 1ull << 50, SK_ERR_FORMAT,
         "general.architecture"},
        {"alignment 3", &L.val[1], 4, 3, SK_ERR_FORMAT, "power of two"},
        {"alignment 0", &L.val[1], 4, 0, SK_ERR_FORMAT, "power of two"},
        {"alignment type", &L.kv_type[1], 4, SK_GGUF_INT32, SK_ERR_FORMAT, "general.alignment"},
        {"array elem type 13", &L.arr_elem_type, 4, 13, SK_ERR_FORMAT, "element type"},
        {"nested array", &L.arr_elem_type, 4, SK_GGUF_ARRAY, SK_ERR_FORMAT, "nested"},
        {"string array count huge", &L.arr_count, 8, 1ull << 60, SK_ERR_FORMAT, "tok.tokens"},
        {"string array count +1", &L.arr_count, 8, 4, SK_ERR_FORMAT, ""},
        {"string element length", &L.arr_str1_len, 8, 1ull << 40, SK_ERR_FORMAT, "element 1"},
        {"numeric array count", &L.val[3], 4, SK_GGUF_FLOAT64, SK_ERR_FORMAT, ""},
        {"key not UTF-8", &L.key[0], 1, 0xC0, SK_ERR_FORMAT, "UTF-8"},
        {"key with NUL", &L.key[2], 1, 0, SK_ERR_FORMAT, "UTF-8"},
        {"tensor name not UTF-8", &L.t_name[1], 1, 0xFF, SK_ERR_FORMAT, "UTF-8"},
        {"tensor name length", &L.t_name_len[0], 8, 1ull << 33, SK_ERR_FORMAT, "name of tensor 0"},
        {"n_dims 0", &L.t_ndims[0], 4, 0, SK_ERR_FORMAT, "n_dims"},
        {"n_dims 5", &L.t_ndims[0], 4, 5, SK_ERR_FORMAT, "n_dims"},
        {"dimension 0", &L.t_ne0[0], 8, 0, SK_ERR_FORMAT, "dimension 0"},
        {"dimension negative", &L.t_ne1[1], 8, (uint64_t)-5, SK_ERR_FORMAT, "dimension 1"},
        {"dimensions overflow", &L.t_ne1[1], 8, 1ull << 62, SK_ERR_RANGE, "t.q8"},
        {"lying dimension", &L.t_ne1[1], 8, 3, SK_ERR_FORMAT, ""},
        {"unknown tensor type", &L.t_type[0], 4, 99, SK_ERR_FORMAT, "unknown tensor type"},
        {"removed tensor type 4", &L.t_type[0], 4, 4, SK_ERR_FORMAT, "unknown tensor type"},
        {"Seek-internal type", &L.t_type[0], 4, SK_TYPE_F8_E4M3, SK_ERR_FORMAT,
         "unknown tensor type"},
        {"ne[0] not block multiple", &L.t_ne0[1], 8, 48, SK_ERR_FORMAT, "block size"},
        {"type change breaks size", &L.t_type[0], 4, SK_TYPE_Q8_0, SK_ERR_FORMAT, "block size"},
        {"offset unaligned", &L.t_off[1], 8, 33, SK_ERR_FORMAT, "alignment"},
        {"offset outside", &L.t_off[2], 8, 4096, SK_ERR_FORMAT, "outside"},
        {"offset huge", &L.t_off[2], 8, UINT64_MAX - 31, SK_ERR_FORMAT, "outside"},
        {"overlap", &L.t_off[2], 8, 96, SK_ERR_FORMAT, "overlap"},
        {"overlap at 0", &L.t_off[1], 8, 0, SK_ERR_FORMAT, "overlap"},
    };
    sk_err e;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        buf c = b;
        size_t at = *cases[i].field;
        memcpy(c.d + at, &cases[i].value, (size_t)cases[i].width);
        write_bytes(c.d, c.n);
        int rc = try_gguf(&e);
        CHECK_MSG(rc == cases[i].code && strstr(e.msg, cases[i].msg), "%s: rc %d, message: %s",
                  cases[i].what, rc, e.msg);
        CHECK_MSG(strstr(e.msg, g_path) != NULL, "%s: message does not name the file: %s",
                  cases[i].what, e.msg);
    }
    {
        /* renaming a key keeps the file valid (the byte flips above rely on that) */
        buf c = b;
        memcpy(c.d + L.key[4], "t", 1); /* "t.u8" */
        write_bytes(c.d, c.n);
        CHECK(try_gguf(&e) == SK_OK);
    }
    {
        /* Build a file whose two keys are equal. */
        buf c;
        memset(&c, 0, sizeof c);
        b_put(&c, "GGUF", 4);
        b_u32(&c, 3);
        b_u64(&c, 0);
        b_u64(&c, 2);
        b_str(&c, "same.key");
        b_u32(&c, SK_GGUF_UINT32);
        b_u32(&c, 1);
        b_str(&c, "same.key");
        b_u32(&c, SK_GGUF_UINT32);
        b_u32(&c, 2);
        write_bytes(c.d, c.n);
        CHECK(try_gguf(&e) == SK_ERR_FORMAT && strstr(e.msg, "duplicate key \"same.key\""));
    }
    {
        /* two tensors with the same name: "t.f16" → "t.f32" (same length) */
        buf c = b;
        memcpy(c.d + L.t_name[2], "t.f32", 5);
        write_bytes(c.d, c.n);
        CHECK(try_gguf(&e) == SK_ERR_FORMAT && strstr(e.msg, "duplicate tensor name \"t.f32\""));
    }
    {
        /* zero tensors, zero KVs: a valid empty file */
        buf c;
        memset(&c, 0, sizeof c);
        b_put(&c, "GGUF", 4);
        b_u32(&c, 2);
        b_u64(&c, 0);
        b_u64(&c, 0);
        write_bytes(c.d, c.n);
        CHECK(try_gguf(&e) == SK_OK);
    }
    write_bytes("", 0);
    CHECK(try_gguf(&e) == SK_ERR_FORMAT && strstr(e.msg, "magic"));
}

/* ---- safetensors ---- */

static void write_st(const char *header, const void *data, size_t data_len, uint64_t hl_override) {
    size_t hl = strlen(header);
    uint64_t n = hl_override ? hl_override : hl;
    FILE *f = fopen(g_path, "wb");
    fwrite(&n, 8, 1, f);
    fwrite(header, 1, hl, f);
    if (data_len) fwrite(data, 1, data_len, f);
    fclose(f);
}

static int try_st(sk_err *e) {
    sk_st *st = NULL;
    sk_err_clear(e);
    int rc = sk_st_open(g_path, &st, e);
    if (rc == SK_OK) {
        volatile uint8_t acc = 0;
        for (int64_t i = 0; i < sk_st_n_tensors(st); i++) {
            const sk_st_tensor *t = sk_st_tensor_at(st, i);
            for (uint64_t k = 0; k < t->nbytes; k++) acc ^= ((const uint8_t *)t->data)[k];
            sk_tensor v;
            sk_err e2;
            sk_st_tensor_view(st, i, &v, &e2);
        }
        (void)acc;
        sk_st_close(st);
    } else {
        CHECK(st == NULL);
        CHECK(e->msg[0] != 0);
    }
    return rc;
}

static const char *k_good = "{\"__metadata__\":{\"format\":\"pt\"},"
                            "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                            "\"b\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[16,24]}}";

static void test_st_truncation_and_bytes(void) {
    uint8_t data[24];
    for (int i = 0; i < 24; i++) data[i] = (uint8_t)i;
    sk_err e;
    write_st(k_good, data, 24, 0);
    CHECK_OK(try_st(&e), &e);
    size_t len;
    uint8_t *full = sk_test_slurp(g_path, &len);
    int bad = 0;
    for (size_t cut = 0; cut < len; cut++) {
        FILE *f = fopen(g_path, "wb");
        fwrite(full, 1, cut, f);
        fclose(f);
        int rc = try_st(&e);
        if (rc != SK_ERR_FORMAT) {
            bad++;
            fprintf(stderr, "  truncated at %zu: rc %d (%s)\n", cut, rc, e.msg);
        }
    }
    CHECK(bad == 0);
    int unclean = 0, n_fail = 0;
    const uint8_t masks[3] = {0x01, 0x80, 0xFF};
    for (size_t pos = 0; pos < len - 24; pos++)
        for (int m = 0; m < 3; m++) {
            full[pos] ^= masks[m];
            FILE *f = fopen(g_path, "wb");
            fwrite(full, 1, len, f);
            fclose(f);
            full[pos] ^= masks[m];
            int rc = try_st(&e);
            if (rc == SK_ERR_FORMAT || rc == SK_ERR_RANGE)
                n_fail++;
            else if (rc != SK_OK) {
                unclean++;
                fprintf(stderr, "  byte %zu ^ %02x: rc %d (%s)\n", pos, masks[m], rc, e.msg);
            }
        }
    fprintf(stderr, "  %d safetensors mutations rejected\n", n_fail);
    CHECK(unclean == 0 && n_fail > 0);
    free(full);
}

typedef struct scase {
    const char *what;
    const char *header;
    uint64_t hl_override;
    const char *msg;
} scase;

static void test_st_table(void) {
    uint8_t data[64] = {0};
    scase cases[] = {
        {"bad JSON", "{\"a\":{\"dtype\":\"F32\",", 0, "invalid JSON"},
        {"not an object", "[1, 2, 3]                ", 0, "not a JSON object"},
        {"leading space", " {}", 0, "not a JSON object"},
        {"trailing garbage", "{} x", 0, "invalid JSON"},
        {"unknown dtype", "{\"a\":{\"dtype\":\"F17\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0,
         "unknown dtype"},
        {"dtype not string", "{\"a\":{\"dtype\":5,\"shape\":[1],\"data_offsets\":[0,4]}}", 0,
         "dtype"},
        {"no shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 0, "shape"},
        {"shape negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 0,
         "shape[0]"},
        {"shape float", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 0,
         "shape[0]"},
        {"shape 9 dims",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 0,
         "dimensions"},
        {"shape overflow",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,4]}}",
         0, "overflow"},
        {"offsets missing", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 0, "data_offsets"},
        {"offsets 3 long", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 0,
         "data_offsets"},
        {"offsets reversed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 0,
         "outside"},
        {"offsets outside", "{\"a\":{\"dtype\":\"F32\",\"shape\":[32],\"data_offsets\":[0,128]}}",
         0, "outside"},
        {"offsets negative", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 0,
         "data_offsets"},
        {"size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 0,
         "span"},
        {"overlap",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
         0, "overlap"},
        {"same range",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}",
         0, "overlap"},
        {"metadata not object", "{\"__metadata__\":[1]}", 0, "__metadata__"},
        {"metadata value", "{\"__metadata__\":{\"a\":1}}", 0, "__metadata__"},
        {"entry not object", "{\"a\":[1,2]}", 0, "not an object"},
        {"empty name", "{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0,
         "empty name"},
        {"bad UTF-8 in name",
         "{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0, "invalid JSON"},
        {"NUL escape in name",
         "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 0,
         "invalid JSON"},
        {"duplicate name",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
         "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
         0, "invalid JSON"},
        {"header length past end", "{}", 1000, "exceeds the file size"},
        {"header length huge", "{}", 1ull << 62, "exceeds the file size"},
        {"header length max", "{}", UINT64_MAX, "exceeds the file size"},
    };
    sk_err e;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_st(cases[i].header, data, sizeof data, cases[i].hl_override);
        int rc = try_st(&e);
        CHECK_MSG((rc == SK_ERR_FORMAT || rc == SK_ERR_RANGE) && strstr(e.msg, cases[i].msg) &&
                      strstr(e.msg, g_path),
                  "%s: rc %d, message: %s", cases[i].what, rc, e.msg);
    }
    /* a file shorter than the length prefix */
    write_bytes("\x02\x00\x00", 3);
    CHECK(try_st(&e) == SK_ERR_FORMAT && strstr(e.msg, "truncated"));
    /* an empty header object is a valid file with no tensors */
    write_st("{}", NULL, 0, 0);
    CHECK(try_st(&e) == SK_OK);
}

int main(void) {
    snprintf(g_path, sizeof g_path, "/tmp/seek-test-corrupt-%d.bin", (int)getpid());
    RUN(test_gguf_baseline_and_truncation);
    RUN(test_gguf_every_byte);
    RUN(test_gguf_table);
    RUN(test_st_truncation_and_bytes);
    RUN(test_st_table);
    unlink(g_path);
    return sk_test_report("format_corrupt");
}
