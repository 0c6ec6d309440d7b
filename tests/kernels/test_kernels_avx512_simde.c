/* test_kernels_avx512_simde.c — the AVX-512 kernels (src/kernels/kern_avx512.c) on CPUs
 * without AVX-512. The same file, compiled again against SIMDe's portable AVX-512
 * (SK_AVX512_SIMDE, kern_avx512_simde.h; -mavx2 -mfma -mf16c, no -mavx512*), fills the table of
 * that level from the AVX2 table as dispatch.c does, once without and once with VNNI. Checked:
 *   - the entries it overrides are exactly the expected ones, and are other functions than the
 *     AVX2 (and scalar, and any native AVX-512) ones, so a pass cannot come from AVX2 code;
 *   - every overridden entry against the scalar reference on sizes with odd tails and masked
 *     remainders, with the tolerances of test_kernels (dots: 1e-5 of Σ|w·x|) and
 *     test_kernel_ops (vector ops); inputs end where their allocation ends and outputs carry
 *     guard values, so reads (ASan) or writes past n show;
 *   - the whole table, inherited entries included: every weight type's dot / dot4 / gemm4
 *     against the scalar reference, dot4 and gemm4 equal to the level's dot bit for bit (what
 *     sk_matmul == sk_matvec relies on), and the remaining vector ops.
 * This checks the logic of the AVX-512 code, not its speed on real hardware. */
#include "sk_kernels.h"
#include "sk_test.h"

#include "kernels_internal.h" /* slots, per-level tables, sk_kfuncs_fill_avx512_simde */
#include "kern_test.h"

#include <stddef.h>
#include <stdint.h>

/* ---- deterministic random numbers ---- */
/* exactly `bytes` (at least 1), so ASan sees any read past the end */
static void *exact_alloc(size_t bytes) {
    return malloc(bytes ? bytes : 1);
}

/* ---- the tables ---- */
static const sk_kfuncs *g_scalar, *g_avx2, *g_native512;
static sk_kfuncs g_emu[2]; /* [has_vnni] */
static int g_ready;

/* Element sizes tried by the per-element kernels: every n up to 70 (each 16-lane remainder,
 * the 32- and 64-wide loops' tails), around the loop widths, and two long odd rows. */
static const int64_t k_extra_sizes[] = {79,  80,  81,  95,  96,  97,   127,
                                        128, 129, 255, 256, 257, 1007, 4109};
#define N_SMALL 71
#define N_SIZES (N_SMALL + (int)(sizeof k_extra_sizes / sizeof k_extra_sizes[0]))
static int64_t size_at(int i) {
    return i < N_SMALL ? i : k_extra_sizes[i - N_SMALL];
}

/* Every slot of a table, named (sk_kfuncs holds nothing else: the assertion below makes a new
 * member a compile error here until it is listed). */
typedef void (*fnptr)(void);
#define N_VEC_SLOTS 16
#define N_SLOTS     (3 * SK_KT_COUNT + N_VEC_SLOTS)
_Static_assert(sizeof(sk_kfuncs) == N_SLOTS * sizeof(fnptr), "sk_kfuncs changed: list it here");

static const char *kt_name(int kt) {
    static const char *names[SK_KT_COUNT] = {"F32",  "F16",    "BF16",   "Q8_0", "Q4_0", "Q4_1",
                                             "Q5_0", "Q5_1",   "Q2_K",   "Q3_K", "Q4_K", "Q5_K",
                                             "Q6_K", "IQ4_NL", "IQ4_XS", "F8"};
    return kt >= 0 && kt < SK_KT_COUNT ? names[kt] : "?";
}

static void table_slots(const sk_kfuncs *f, fnptr *p, char (*name)[24]) {
    int n = 0;
    for (int kt = 0; kt < SK_KT_COUNT; kt++) {
        p[n] = (fnptr)f->dot[kt];
        snprintf(name[n++], 24, "dot[%s]", kt_name(kt));
        p[n] = (fnptr)f->dot4[kt];
        snprintf(name[n++], 24, "dot4[%s]", kt_name(kt));
        p[n] = (fnptr)f->gemm4[kt];
        snprintf(name[n++], 24, "gemm4[%s]", kt_name(kt));
    }
#define SLOT(m) (p[n] = (fnptr)f->m, snprintf(name[n++], 24, "%s", #m))
    SLOT(vec_dot_f32), SLOT(vec_add), SLOT(vec_mad), SLOT(vec_scale), SLOT(sumsq);
    SLOT(mul_scale), SLOT(vec_max), SLOT(exp_sub_sum), SLOT(silu), SLOT(swiglu);
    SLOT(sigmoid), SLOT(read_sum), SLOT(quant_q8_0), SLOT(quant_q8_K);
    SLOT(attn_dots), SLOT(attn_mix);
#undef SLOT
}

/* What kern_avx512.c overrides; with VNNI also the Q8_0 int8 dots. Each is checked
 * by a test below. */
static const char *const k_overrides[] = {"dot[F32]",  "dot[F16]", "dot[BF16]", "vec_dot_f32",
                                          "vec_add",   "vec_mad",  "vec_scale", "sumsq",
                                          "mul_scale", "vec_max",  "read_sum",  "attn_mix"};
static const char *const k_overrides_vnni[] = {"dot[Q8_0]", "dot4[Q8_0]"};

static int expected_override(const char *name, int vnni) {
    for (size_t i = 0; i < sizeof k_overrides / sizeof k_overrides[0]; i++)
        if (!strcmp(name, k_overrides[i])) return 1;
    for (size_t i = 0; vnni && i < sizeof k_overrides_vnni / sizeof k_overrides_vnni[0]; i++)
        if (!strcmp(name, k_overrides_vnni[i])) return 1;
    return 0;
}

#define NEED_EMU()                                                                                 \
    do {                                                                                           \
        if (!g_ready) SKIP("no AVX2 level: the emulated object needs AVX2, FMA and F16C");         \
    } while (0)

/* ---- tests ---- */

static void test_setup(void) {
    g_scalar = sk_kfuncs_for_level(SK_CPU_SCALAR);
    g_avx2 = sk_kfuncs_for_level(SK_CPU_AVX2);
    g_native512 = sk_kfuncs_for_level(SK_CPU_AVX512);
    CHECK(g_scalar != NULL);
    fprintf(stderr, "    cpu: %s (native avx512 level: %s)\n", sk_cpu_features(),
            g_native512 ? "yes" : "no");
    if (!g_avx2 || !g_scalar) return;
    for (int v = 0; v < 2; v++) {
        g_emu[v] = *g_avx2;
        sk_kfuncs_fill_avx512_simde(&g_emu[v], v);
    }
    g_ready = 1;
}

/* The overridden slots are exactly the expected ones, and are not the AVX2, scalar or native
 * AVX-512 functions; the others are the AVX2 ones. */
static void test_overrides(void) {
    NEED_EMU();
    static fnptr pe[N_SLOTS], p2[N_SLOTS], ps[N_SLOTS], pn[N_SLOTS];
    static char name[N_SLOTS][24], unused[N_SLOTS][24];
    table_slots(g_avx2, p2, name);
    table_slots(g_scalar, ps, unused);
    if (g_native512) table_slots(g_native512, pn, unused);
    for (int v = 0; v < 2; v++) {
        table_slots(&g_emu[v], pe, unused);
        int n_over = 0;
        for (int i = 0; i < N_SLOTS; i++) {
            int over = pe[i] != p2[i], want = expected_override(name[i], v);
            n_over += over;
            CHECK_MSG(over == want, "vnni=%d %s: %s", v, name[i],
                      over ? "overridden but not checked by this test (add it)"
                           : "expected an AVX-512 override, got the AVX2 entry");
            if (want) {
                CHECK_MSG(pe[i] != NULL && pe[i] != ps[i], "vnni=%d %s: scalar or NULL", v,
                          name[i]);
                if (g_native512)
                    CHECK_MSG(pe[i] != pn[i], "vnni=%d %s: the native AVX-512 function", v,
                              name[i]);
            }
        }
        size_t want_n = sizeof k_overrides / sizeof k_overrides[0] +
                        (v ? sizeof k_overrides_vnni / sizeof k_overrides_vnni[0] : 0);
        CHECK_MSG(n_over == (int)want_n, "vnni=%d: %d overrides, expected %zu", v, n_over, want_n);
    }
}

/* ---- weights and activations ---- */

/* rows × n weights of `type` (each row exactly row_bytes, the whole exactly rows·row_bytes),
 * their dequantized values wf (F8: with the scale), and for F8 the scale-grid row ws.
 * raw: Q8_0 / Q4_0 from random code bytes (Q8_0 then holds −128) with sane scales; otherwise
 * quantized from random floats by sk_quant. */
typedef struct wmat {
    int type;
    int64_t n, rows;
    size_t row_bytes;
    uint8_t *w;
    float *wf, *ws;
} wmat;

static void wmat_make(wmat *m, int type, int64_t n, int64_t rows, int raw) {
    memset(m, 0, sizeof *m);
    m->type = type, m->n = n, m->rows = rows;
    CHECK(sk_row_size(type, n, &m->row_bytes));
    size_t nb = m->row_bytes * (size_t)rows;
    m->w = exact_alloc(nb);
    m->wf = malloc(sizeof(float) * (size_t)(n * rows + 1));
    float *src = malloc(sizeof(float) * (size_t)(n * rows + 1));
    rnd_vec(src, n * rows, 1.0f);
    sk_err e = {0};
    if (type == SK_TYPE_F8_E4M3) {
        m->ws = malloc(sizeof(float) * (size_t)((n + 127) / 128 + 1));
        for (int64_t i = 0; i < (n + 127) / 128; i++) m->ws[i] = rndf(0.0005f, 0.003f);
        for (size_t i = 0; i < nb; i++) {
            m->w[i] = (uint8_t)rnd32();
            if ((m->w[i] & 0x7F) == 0x7F) m->w[i] ^= 1; /* no NaN codes */
        }
        for (int64_t i = 0; i < n * rows; i++)
            m->wf[i] = sk_fp8_e4m3_to_f32(m->w[i]) * m->ws[(i % n) / 128];
    } else {
        if (raw && (type == SK_TYPE_Q8_0 || type == SK_TYPE_Q4_0)) {
            for (size_t i = 0; i < nb; i++) m->w[i] = (uint8_t)rnd32();
            for (int64_t b = 0; b < n * rows / 32; b++) {
                sk_fp16 d = sk_f32_to_fp16(rndf(0.001f, 0.02f) * (rnd32() & 1 ? 1 : -1));
                if (type == SK_TYPE_Q8_0) {
                    sk_block_q8_0 *blk = (sk_block_q8_0 *)m->w + b;
                    blk->d = d;
                    if (b % 3 == 0) blk->qs[b % 32] = -128; /* the extreme code */
                } else {
                    ((sk_block_q4_0 *)m->w + b)->d = d;
                }
            }
        } else {
            for (int64_t r = 0; r < rows; r++)
                CHECK_OK(sk_quant(type, src + r * n, m->w + r * m->row_bytes, n, &e), &e);
        }
        for (int64_t r = 0; r < rows; r++)
            CHECK_OK(sk_dequant(type, m->w + r * m->row_bytes, m->wf + r * n, n, &e), &e);
    }
    free(src);
}

static void wmat_free(wmat *m) {
    free(m->w);
    free(m->wf);
    free(m->ws);
}

/* 4 prepared activation rows of n values, each exactly xs bytes (one allocation each, so a
 * read past a row shows), and the first row dequantized. */
typedef struct arows {
    sk_act a;
    size_t xs;
    uint8_t *x[4];
    uint8_t *x4; /* the 4 rows back to back, for gemm4 */
    float *xd;
} arows;

static void arows_make(arows *r, sk_act a, int64_t n) {
    r->a = a;
    r->xs = sk_act_row_bytes(a, n);
    r->x4 = exact_alloc(4 * r->xs);
    float *x = malloc(sizeof(float) * (size_t)(n + 1));
    for (int t = 0; t < 4; t++) {
        rnd_vec(x, n, 1.0f);
        r->x[t] = exact_alloc(r->xs);
        sk_act_quantize(a, x, r->x[t], n);
        memcpy(r->x4 + t * r->xs, r->x[t], r->xs);
    }
    r->xd = malloc(sizeof(float) * (size_t)(n + 1));
    act_dequant(a, r->x[0], r->xd, n);
    free(x);
}

static void arows_free(arows *r) {
    for (int t = 0; t < 4; t++) free(r->x[t]);
    free(r->x4);
    free(r->xd);
}

/* Σ|w·x| of row r against the dequantized activation (the scale of the tolerance) */
static double row_mag(const wmat *m, int64_t r, const float *xd) {
    double mag = 0;
    for (int64_t c = 0; c < m->n; c++) mag += fabs((double)m->wf[r * m->n + c] * xd[c]);
    return mag > 0 ? mag : 1;
}

/* One weight type at one size in table f: every row's dot against the scalar reference
 * (1e-5 of Σ|w·x|, as test_kernels); dot4 and gemm4, where f has them, equal f's dot bit for
 * bit. *worst gets the largest relative error; returns 0 on a bit mismatch. */
static int check_dots(const sk_kfuncs *f, int type, int64_t n, int raw, double *worst, char *why,
                      size_t why_len) {
    int kt = sk_kt_from_type(type), ok = 1;
    enum { ROWS = 5 };
    wmat m;
    wmat_make(&m, type, n, ROWS, raw);
    arows x;
    arows_make(&x, sk_kt_act(kt), n);
    float yd[ROWS];
    for (int64_t r = 0; r < ROWS; r++) {
        const uint8_t *w = m.w + r * m.row_bytes;
        yd[r] = f->dot[kt](n, w, x.x[0], m.ws);
        float ys = g_scalar->dot[kt](n, w, x.x[0], m.ws);
        double rel = fabs((double)yd[r] - ys) / row_mag(&m, r, x.xd);
        if (!(rel <= *worst)) *worst = rel; /* NaN too */
    }
    if (f->dot4[kt]) {
        float y4[4];
        f->dot4[kt](n, m.w, m.row_bytes, x.x[0], m.ws, y4);
        for (int r = 0; r < 4; r++)
            if (y4[r] != yd[r]) {
                ok = 0;
                snprintf(why, why_len, "dot4 row %d: %.9g, dot %.9g", r, y4[r], yd[r]);
            }
    }
    if (f->gemm4[kt]) {
        float yg[8];
        for (int64_t r = 0; r < ROWS; r++) {
            const uint8_t *w = m.w + r * m.row_bytes;
            for (int i = 0; i < 8; i++) yg[i] = -1.0f;
            f->gemm4[kt](n, w, x.x4, x.xs, m.ws, yg, 2);
            for (int t = 0; t < 4; t++) {
                float yt = f->dot[kt](n, w, x.x[t], m.ws);
                if (yg[2 * t] != yt) {
                    ok = 0;
                    snprintf(why, why_len, "gemm4 row %lld token %d: %.9g, dot %.9g", (long long)r,
                             t, yg[2 * t], yt);
                }
                if (yg[2 * t + 1] != -1.0f) {
                    ok = 0;
                    snprintf(why, why_len, "gemm4 wrote between its ystride outputs");
                }
            }
        }
    }
    arows_free(&x);
    wmat_free(&m);
    return ok;
}

/* sizes per block: element types every size_at(); 32-blocks 1..9 blocks (each remainder of
 * the 2- and 4-block loops) and longer odd counts; 256-blocks 1..5 */
static const int64_t k_blocks32[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 41, 44, 125};
static const int64_t k_blocks256[] = {1, 2, 3, 4, 5};

static void check_type_all_sizes(const sk_kfuncs *f, int vnni, int type, int raw) {
    int64_t b = block_of(type);
    int count = b == 1    ? N_SIZES
                : b == 32 ? (int)(sizeof k_blocks32 / sizeof k_blocks32[0])
                          : (int)(sizeof k_blocks256 / sizeof k_blocks256[0]);
    for (int i = 0; i < count; i++) {
        int64_t n = b == 1 ? size_at(i) : b * (b == 32 ? k_blocks32[i] : k_blocks256[i]);
        if (n == 0) continue; /* rows of no elements: no row size */
        double worst = 0;
        char why[160] = "";
        int same = check_dots(f, type, n, raw, &worst, why, sizeof why);
        CHECK_MSG(worst <= 1e-5, "vnni=%d %s n %lld%s: dot vs scalar rel err %.3g", vnni,
                  sk_type_name(type), (long long)n, raw ? " (raw codes)" : "", worst);
        CHECK_MSG(same, "vnni=%d %s n %lld: %s", vnni, sk_type_name(type), (long long)n, why);
    }
}

/* The overridden float dots (F32, F16, BF16) at every size, odd tails and the masked tail of
 * the F32 dot included. */
static void test_float_dots(void) {
    NEED_EMU();
    for (int v = 0; v < 2; v++) {
        check_type_all_sizes(&g_emu[v], v, SK_TYPE_F32, 0);
        check_type_all_sizes(&g_emu[v], v, SK_TYPE_F16, 0);
        check_type_all_sizes(&g_emu[v], v, SK_TYPE_BF16, 0);
    }
}

/* The VNNI int8 dots (Q8_0 dot and dot4), from raw code bytes (−128 included) and from
 * quantized floats; they equal the inherited gemm4 (AVX2) bit for bit. Without VNNI these
 * slots are the AVX2 ones (test_overrides), checked here all the same; Q4_0 (the AVX2 dot at
 * this level) too. */
static void test_int8_dots(void) {
    NEED_EMU();
    for (int v = 0; v < 2; v++)
        for (int raw = 0; raw < 2; raw++) {
            check_type_all_sizes(&g_emu[v], v, SK_TYPE_Q8_0, raw);
            check_type_all_sizes(&g_emu[v], v, SK_TYPE_Q4_0, raw);
        }
}

/* The whole table, inherited (AVX2) entries included: every weight type's dot / dot4 / gemm4
 * against the scalar reference, and every slot covered by a type. */
static void test_whole_table(void) {
    NEED_EMU();
    int covered[SK_KT_COUNT] = {0};
    for (int ti = 0; ti < N_TYPES; ti++) {
        int kt = sk_kt_from_type(k_types[ti]);
        CHECK(kt >= 0 && kt < SK_KT_COUNT);
        if (kt < 0 || kt >= SK_KT_COUNT) continue;
        covered[kt] = 1;
        for (int v = 0; v < 2; v++) check_type_all_sizes(&g_emu[v], v, k_types[ti], 0);
    }
    for (int kt = 0; kt < SK_KT_COUNT; kt++)
        CHECK_MSG(covered[kt], "slot %s has no type in this test", kt_name(kt));
}

/* ---- vector ops ---- */

#define GUARD  16
#define GUARDV 12345.0f

static float *reguard(float *y, int64_t n) { /* y[n..n+GUARD) = GUARDV again */
    for (int i = 0; i < GUARD; i++) y[n + i] = GUARDV;
    return y;
}
static float *guarded(int64_t n) { /* n floats, then GUARD guard values */
    return reguard(malloc(sizeof(float) * (size_t)(n + GUARD)), n);
}
static int guards_ok(const float *y, int64_t n) {
    for (int i = 0; i < GUARD; i++)
        if (y[n + i] != GUARDV) return 0;
    return 1;
}

/* The overridden vector ops at every size: dot and sum of squares (1e-6 of Σ|a·b| against a
 * double sum, as test_kernel_ops), add / scale / mul_scale / max equal to the scalar
 * reference exactly (the same float operations), mad within 1e-6 of |y|+|s·x| (one rounding
 * with FMA, two without); nothing written past n. */
static void test_vec_ops(void) {
    NEED_EMU();
    for (int v = 0; v < 2; v++) {
        const sk_kfuncs *f = &g_emu[v];
        for (int si = 0; si < N_SIZES; si++) {
            int64_t n = size_at(si);
            float *a = exact_alloc(sizeof(float) * (size_t)n),
                  *b = exact_alloc(sizeof(float) * (size_t)n),
                  *w = exact_alloc(sizeof(float) * (size_t)n);
            float *y = guarded(n), *ys = guarded(n);
            for (int64_t i = 0; i < n; i++) {
                a[i] = rndf(-2, 2);
                b[i] = rndf(-2, 2);
                w[i] = rndf(0.5f, 1.5f);
            }
            if (n > 2) a[n - 1] = 5.0f; /* the maximum in the last (masked / tail) lane */
            double ref = 0, mag = 0, ss = 0;
            for (int64_t i = 0; i < n; i++) {
                ref += (double)a[i] * b[i];
                mag += fabs((double)a[i] * b[i]);
                ss += (double)a[i] * a[i];
            }
            float d = f->vec_dot_f32(a, b, n), q = f->sumsq(a, n);
            CHECK_MSG(fabs(d - ref) <= 1e-6 * mag, "vnni=%d n %lld: vec_dot_f32 %.9g, want %.9g", v,
                      (long long)n, d, ref);
            CHECK_MSG(fabs(q - ss) <= 1e-6 * ss, "vnni=%d n %lld: sumsq %.9g, want %.9g", v,
                      (long long)n, q, ss);
            /* add */
            f->vec_add(reguard(y, n), a, b, n);
            g_scalar->vec_add(ys, a, b, n);
            CHECK_MSG(!memcmp(y, ys, sizeof(float) * (size_t)n) && guards_ok(y, n),
                      "vnni=%d n %lld: vec_add", v, (long long)n);
            /* scale (in place) */
            memcpy(y, a, sizeof(float) * (size_t)n);
            memcpy(ys, a, sizeof(float) * (size_t)n);
            f->vec_scale(reguard(y, n), 0.37f, n);
            g_scalar->vec_scale(ys, 0.37f, n);
            CHECK_MSG(!memcmp(y, ys, sizeof(float) * (size_t)n) && guards_ok(y, n),
                      "vnni=%d n %lld: vec_scale", v, (long long)n);
            /* mul_scale, with and without the weight */
            for (int withw = 0; withw < 2; withw++) {
                f->mul_scale(reguard(y, n), a, withw ? w : NULL, 0.81f, n);
                g_scalar->mul_scale(ys, a, withw ? w : NULL, 0.81f, n);
                CHECK_MSG(!memcmp(y, ys, sizeof(float) * (size_t)n) && guards_ok(y, n),
                          "vnni=%d n %lld: mul_scale (weight %d)", v, (long long)n, withw);
            }
            /* mad */
            memcpy(y, a, sizeof(float) * (size_t)n);
            f->vec_mad(reguard(y, n), b, -1.25f, n);
            int ok = guards_ok(y, n);
            for (int64_t i = 0; i < n; i++)
                ok &= fabs(y[i] - ((double)a[i] - 1.25 * b[i])) <=
                      1e-6 * (fabs(a[i]) + fabs(1.25 * b[i]));
            CHECK_MSG(ok, "vnni=%d n %lld: vec_mad", v, (long long)n);
            /* attn_mix: rows a, b, w (stride n) weighted into y, the same bits as this
             * table's vec_mad row by row */
            {
                float *rows = exact_alloc(sizeof(float) * (size_t)(3 * n + 1));
                memcpy(rows, a, sizeof(float) * (size_t)n);
                memcpy(rows + n, b, sizeof(float) * (size_t)n);
                memcpy(rows + 2 * n, w, sizeof(float) * (size_t)n);
                const float pw[3] = {0.3f, -1.7f, 0.9f};
                memcpy(ys, b, sizeof(float) * (size_t)n);
                for (int r = 0; r < 3; r++) f->vec_mad(ys, rows + r * n, pw[r], n);
                memcpy(y, b, sizeof(float) * (size_t)n);
                f->attn_mix(reguard(y, n), rows, (size_t)n, pw, 3, n);
                CHECK_MSG(!memcmp(y, ys, sizeof(float) * (size_t)n) && guards_ok(y, n),
                          "vnni=%d n %lld: attn_mix differs from row-by-row vec_mad", v,
                          (long long)n);
                free(rows);
            }
            /* max, with the largest value last, first, and all negative */
            float mx = f->vec_max(a, n), mxs = g_scalar->vec_max(a, n);
            CHECK_MSG(mx == mxs, "vnni=%d n %lld: vec_max %g, scalar %g", v, (long long)n, mx, mxs);
            for (int64_t i = 0; i < n; i++) a[i] = -1.0f - (float)((i * 7) % 13);
            if (n > 0) a[0] = -0.5f;
            mx = f->vec_max(a, n), mxs = g_scalar->vec_max(a, n);
            CHECK_MSG(mx == mxs, "vnni=%d n %lld: vec_max (negative) %g, scalar %g", v,
                      (long long)n, mx, mxs);
            free(a);
            free(b);
            free(w);
            free(y);
            free(ys);
        }
    }
}

/* The inherited vector ops of the table (exp_sub_sum, silu, swiglu, sigmoid: AVX2) against
 * double references, with test_kernel_ops's tolerances. */
static void test_inherited_vec_ops(void) {
    NEED_EMU();
    for (int v = 0; v < 2; v++) {
        const sk_kfuncs *f = &g_emu[v];
        for (int si = 1; si < N_SIZES; si++) {
            int64_t n = size_at(si);
            float *g = exact_alloc(sizeof(float) * (size_t)n),
                  *u = exact_alloc(sizeof(float) * (size_t)n);
            float *y = guarded(n);
            for (int64_t i = 0; i < n; i++) g[i] = rndf(-20, 20), u[i] = rndf(0.5f, 1.5f);
            int ok_silu = 1, ok_sig = 1, ok_sw = 1, ok_exp = 1;
            memcpy(y, g, sizeof(float) * (size_t)n);
            f->silu(reguard(y, n), n);
            ok_silu &= guards_ok(y, n);
            for (int64_t i = 0; i < n; i++) {
                double s = g[i] / (1.0 + exp(-(double)g[i]));
                ok_silu &= fabs(y[i] - s) <= 2e-6 * fabs(s) + 1e-30;
            }
            memcpy(y, g, sizeof(float) * (size_t)n);
            f->sigmoid(reguard(y, n), n);
            ok_sig &= guards_ok(y, n);
            for (int64_t i = 0; i < n; i++) {
                double s = 1.0 / (1.0 + exp(-(double)g[i]));
                ok_sig &= fabs(y[i] - s) <= 2e-6 * s + 1e-30;
            }
            f->swiglu(reguard(y, n), g, u, n);
            ok_sw &= guards_ok(y, n);
            for (int64_t i = 0; i < n; i++) {
                double s = g[i] / (1.0 + exp(-(double)g[i])) * u[i];
                ok_sw &= fabs(y[i] - s) <= 3e-6 * fabs(s) + 1e-30;
            }
            /* exp(x - max) (the difference rounded to float, as the kernels take it) and its
             * sum, normalised as sk_softmax does */
            float mx = -INFINITY;
            double se = 0;
            for (int64_t i = 0; i < n; i++) mx = g[i] > mx ? g[i] : mx;
            for (int64_t i = 0; i < n; i++) se += exp((double)(g[i] - mx));
            memcpy(y, g, sizeof(float) * (size_t)n);
            float sum = f->exp_sub_sum(reguard(y, n), mx, n);
            ok_exp &= guards_ok(y, n) && fabs(sum - se) <= 1e-5 * se;
            for (int64_t i = 0; i < n; i++) {
                double p = exp((double)(g[i] - mx)) / se;
                ok_exp &= fabs(y[i] / sum - p) <= 1e-6 * p + 1e-30;
            }
            CHECK_MSG(ok_silu, "vnni=%d n %lld: silu", v, (long long)n);
            CHECK_MSG(ok_sig, "vnni=%d n %lld: sigmoid", v, (long long)n);
            CHECK_MSG(ok_sw, "vnni=%d n %lld: swiglu", v, (long long)n);
            CHECK_MSG(ok_exp, "vnni=%d n %lld: exp_sub_sum", v, (long long)n);
            free(g);
            free(u);
            free(y);
        }
    }
}

/* The bandwidth probe's sum has no scalar twin (each level reduces its own way; the contract
 * is a value depending on every byte): against a transcription of the AVX-512 reduction (8
 * u64 lanes in 4 accumulators of 64-byte loads, 256 bytes per step, xor of the accumulators,
 * then the wrapping sum of the lanes), and changed by a flip of any byte tried. */
static uint64_t ref_read_sum512(const uint8_t *p, size_t bytes) {
    uint64_t acc[4][8] = {{0}}, s = 0;
    for (size_t i = 0; i + 256 <= bytes; i += 256)
        for (int k = 0; k < 4; k++)
            for (int j = 0; j < 8; j++) {
                uint64_t q;
                memcpy(&q, p + i + 64 * k + 8 * j, 8);
                acc[k][j] += q;
            }
    for (int j = 0; j < 8; j++) s += acc[0][j] ^ acc[1][j] ^ acc[2][j] ^ acc[3][j];
    return s;
}

static void test_read_sum(void) {
    NEED_EMU();
    const size_t sizes[] = {256, 512, 768, 4096, 256 * 37};
    for (int v = 0; v < 2; v++)
        for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
            size_t bytes = sizes[si];
            uint8_t *p = aligned_alloc(64, bytes);
            CHECK(p != NULL);
            if (!p) return;
            for (size_t i = 0; i < bytes; i++) p[i] = (uint8_t)rnd32();
            uint64_t got = g_emu[v].read_sum(p, bytes);
            CHECK_MSG(got == ref_read_sum512(p, bytes), "vnni=%d %zu bytes: read_sum %llx", v,
                      bytes, (unsigned long long)got);
            const size_t at[] = {0, 7, 63, 64, 200, bytes / 2 + 3, bytes - 1};
            for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
                p[at[k]] ^= 0x10;
                uint64_t flipped = g_emu[v].read_sum(p, bytes);
                p[at[k]] ^= 0x10;
                CHECK_MSG(flipped != got, "vnni=%d %zu bytes: byte %zu does not count", v, bytes,
                          at[k]);
            }
            free(p);
        }
}

int main(void) {
    rng_state = 0x853C49E6748FEA9Bull; /* this test's own seed */
    RUN(test_setup);
    RUN(test_overrides);
    RUN(test_float_dots);
    RUN(test_int8_dots);
    RUN(test_whole_table);
    RUN(test_vec_ops);
    RUN(test_inherited_vec_ops);
    RUN(test_read_sum);
    return sk_test_report("kernels_avx512_simde");
}
