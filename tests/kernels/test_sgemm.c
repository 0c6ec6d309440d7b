/* test_sgemm.c — sk_sgemm at every CPU level against a naive double-precision product: shapes
 * around the 6×16 tile and the 256-long K blocks (1, 5, 6, 7, 15, 16, 17, …, 257, 513), all
 * four transpose combinations, alpha / beta variants, leading dimensions wider than the
 * matrices, and the rules the trainer relies on: beta = 0 never reads C (NaN there stays out),
 * alpha = 0 or K = 0 scales C by beta, columns past N and rows past M are left alone, and row
 * ranges computed by separate calls equal the whole call bit for bit. */
#include "sk_kernels.h"
#include "sk_test.h"

#include <stdint.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float rndf(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return -1.0f + 2.0f * (float)((rng_state >> 40) & 0xFFFFFF) / 16777216.0f;
}

static int set_level(int lvl) {
    sk_err e = {0};
    return sk_kernels_set_level((sk_cpu_level)lvl, &e) == SK_OK;
}

#define PAD 3 /* extra columns in every leading dimension (and a guard band in C) */

typedef struct prob {
    bool ta, tb;
    int M, N, K, lda, ldb, ldc;
    float *A, *B, *C0;
} prob;

static void prob_make(prob *p, bool ta, bool tb, int M, int N, int K) {
    p->ta = ta;
    p->tb = tb;
    p->M = M;
    p->N = N;
    p->K = K;
    int ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    p->lda = ac + PAD;
    p->ldb = bc + PAD;
    p->ldc = N + PAD;
    p->A = malloc(sizeof(float) * ((size_t)ar * p->lda + 1));
    p->B = malloc(sizeof(float) * ((size_t)br * p->ldb + 1));
    p->C0 = malloc(sizeof(float) * ((size_t)M * p->ldc + 1));
    for (size_t i = 0; i < (size_t)ar * p->lda; i++) p->A[i] = rndf();
    for (size_t i = 0; i < (size_t)br * p->ldb; i++) p->B[i] = rndf();
    for (size_t i = 0; i < (size_t)M * p->ldc; i++) p->C0[i] = rndf();
}

static void prob_free(prob *p) {
    free(p->A);
    free(p->B);
    free(p->C0);
}

static double opa(const prob *p, int i, int k) {
    return p->ta ? p->A[(size_t)k * p->lda + i] : p->A[(size_t)i * p->lda + k];
}
static double opb(const prob *p, int k, int j) {
    return p->tb ? p->B[(size_t)j * p->ldb + k] : p->B[(size_t)k * p->ldb + j];
}

/* runs sk_sgemm on a copy of C0 and checks every element against the double reference, with
 * the float summation bound (K + 4)·2^-23 · (|alpha|·Σ|a·b| + |beta·c|); the guard columns of
 * C must be untouched */
static int check_prob(const prob *p, float alpha, float beta, const char *what) {
    size_t nc = (size_t)p->M * p->ldc;
    float *C = malloc(sizeof(float) * (nc + 1));
    memcpy(C, p->C0, sizeof(float) * nc);
    sk_sgemm(p->ta, p->tb, p->M, p->N, p->K, alpha, p->A, p->lda, p->B, p->ldb, beta, C, p->ldc);
    int bad = 0;
    double eps = (p->K + 4) * (1.0 / 8388608.0);
    for (int i = 0; i < p->M && bad < 3; i++) {
        for (int j = 0; j < p->ldc; j++) {
            size_t at = (size_t)i * p->ldc + j;
            if (j >= p->N) {
                if (memcmp(&C[at], &p->C0[at], sizeof(float))) bad++;
                continue;
            }
            double s = 0, mag = 0;
            for (int k = 0; k < p->K; k++) {
                double t = opa(p, i, k) * opb(p, k, j);
                s += t;
                mag += fabs(t);
            }
            double c0 = beta == 0.0f ? 0.0 : (double)beta * p->C0[at];
            double ref = alpha * s + c0, tol = eps * (fabs(alpha) * mag + fabs(c0)) + 1e-30;
            if (!(fabs(C[at] - ref) <= tol)) {
                if (!bad)
                    fprintf(stderr, "  %s: C[%d][%d] = %.9g, reference %.9g (tol %.3g)\n", what, i,
                            j, C[at], ref, tol);
                bad++;
            }
        }
    }
    free(C);
    return bad == 0;
}

static const int dims[] = {1, 5, 6, 7, 15, 16, 17, 31, 33, 64, 100};
#define NDIMS ((int)(sizeof dims / sizeof dims[0]))

static void check_level(int lvl) {
    const char *ln = sk_cpu_level_name((sk_cpu_level)lvl);
    static const float alphas[] = {1.0f, 0.125f, -1.5f}, betas[] = {0.0f, 1.0f, 0.5f};
    int n = 0;
    for (int t = 0; t < 4; t++) {
        bool ta = t & 1, tb = t & 2;
        /* every M × N of the edge sizes, K cycling through them plus the K-block edges */
        static const int ks[] = {1, 7, 16, 33, 255, 256, 257, 100};
        for (int mi = 0; mi < NDIMS; mi++)
            for (int ni = 0; ni < NDIMS; ni++) {
                int K = ks[(mi * NDIMS + ni + t) % 8];
                prob p;
                prob_make(&p, ta, tb, dims[mi], dims[ni], K);
                float al = alphas[(mi + ni) % 3], be = betas[(mi + 2 * ni + t) % 3];
                char what[96];
                snprintf(what, sizeof what, "%s %c%c M=%d N=%d K=%d alpha=%g beta=%g", ln,
                         ta ? 'T' : 'N', tb ? 'T' : 'N', p.M, p.N, K, al, be);
                CHECK_MSG(check_prob(&p, al, be, what), "%s", what);
                prob_free(&p);
                n++;
            }
        /* larger: several row / column / K blocks (MC 144, NC 1024, KC 256) */
        static const int big[][3] = {{150, 40, 513}, {64, 1030, 70}, {290, 33, 300}, {7, 2049, 20}};
        for (int b = 0; b < 4; b++) {
            prob p;
            prob_make(&p, ta, tb, big[b][0], big[b][1], big[b][2]);
            for (int v = 0; v < 3; v++) {
                char what[96];
                snprintf(what, sizeof what, "%s %c%c M=%d N=%d K=%d alpha=%g beta=%g", ln,
                         ta ? 'T' : 'N', tb ? 'T' : 'N', p.M, p.N, p.K, alphas[v], betas[v]);
                CHECK_MSG(check_prob(&p, alphas[v], betas[v], what), "%s", what);
            }
            prob_free(&p);
        }
    }
    CHECK(n == 4 * NDIMS * NDIMS);
}

static void test_levels(void) {
    int ran = 0;
    for (int lvl = SK_CPU_SCALAR; lvl <= SK_CPU_AVX512; lvl++) {
        if (!set_level(lvl)) {
            fprintf(stderr, "  (level %s not available here)\n",
                    sk_cpu_level_name((sk_cpu_level)lvl));
            continue;
        }
        check_level(lvl);
        ran++;
    }
    set_level(sk_cpu_best());
    CHECK(ran >= 1);
}

/* beta = 0 must not read C; alpha = 0 and K = 0 scale C by beta without reading A or B */
static void test_special(void) {
    for (int lvl = SK_CPU_SCALAR; lvl <= SK_CPU_AVX512; lvl++) {
        if (!set_level(lvl)) continue;
        for (int t = 0; t < 4; t++) {
            prob p;
            prob_make(&p, t & 1, t & 2, 13, 21, 40);
            float *C = malloc(sizeof(float) * (size_t)p.M * p.ldc);
            for (size_t i = 0; i < (size_t)p.M * p.ldc; i++) C[i] = NAN;
            sk_sgemm(p.ta, p.tb, p.M, p.N, p.K, 1.0f, p.A, p.lda, p.B, p.ldb, 0.0f, C, p.ldc);
            int ok = 1;
            for (int i = 0; i < p.M; i++)
                for (int j = 0; j < p.N; j++) ok &= isfinite(C[(size_t)i * p.ldc + j]);
            CHECK_MSG(ok, "level %d t %d: beta 0 read C", lvl, t);
            memcpy(C, p.C0, sizeof(float) * (size_t)p.M * p.ldc);
            sk_sgemm(p.ta, p.tb, p.M, p.N, p.K, 0.0f, NULL, p.lda, NULL, p.ldb, 0.5f, C, p.ldc);
            ok = 1;
            for (int i = 0; i < p.M; i++)
                for (int j = 0; j < p.N; j++)
                    ok &= C[(size_t)i * p.ldc + j] == 0.5f * p.C0[(size_t)i * p.ldc + j];
            CHECK_MSG(ok, "level %d t %d: alpha 0", lvl, t);
            sk_sgemm(p.ta, p.tb, p.M, p.N, 0, 1.0f, NULL, p.lda, NULL, p.ldb, 0.0f, C, p.ldc);
            ok = 1;
            for (int i = 0; i < p.M; i++)
                for (int j = 0; j < p.N; j++) ok &= C[(size_t)i * p.ldc + j] == 0.0f;
            CHECK_MSG(ok, "level %d t %d: K 0", lvl, t);
            free(C);
            prob_free(&p);
        }
        /* empty products touch nothing */
        float c = 7.0f;
        sk_sgemm(false, false, 0, 1, 1, 1.0f, NULL, 1, NULL, 1, 0.0f, &c, 1);
        sk_sgemm(false, false, 1, 0, 1, 1.0f, NULL, 1, NULL, 1, 0.0f, &c, 1);
        CHECK(c == 7.0f);
    }
    set_level(sk_cpu_best());
}

/* rows split at arbitrary points (not multiples of the tile) and columns split likewise give
 * the whole call's bits: what lets the trainer split products over threads */
static void test_split_bitexact(void) {
    for (int lvl = SK_CPU_SCALAR; lvl <= SK_CPU_AVX512; lvl++) {
        if (!set_level(lvl)) continue;
        for (int t = 0; t < 4; t++) {
            prob p;
            prob_make(&p, t & 1, t & 2, 77, 90, 300);
            size_t nc = (size_t)p.M * p.ldc;
            float *W = malloc(sizeof(float) * nc), *S = malloc(sizeof(float) * nc);
            memcpy(W, p.C0, sizeof(float) * nc);
            memcpy(S, p.C0, sizeof(float) * nc);
            sk_sgemm(p.ta, p.tb, p.M, p.N, p.K, 0.75f, p.A, p.lda, p.B, p.ldb, 1.0f, W, p.ldc);
            static const int cuts[] = {0, 5, 23, 24, 61, 77};
            for (int c = 0; c + 1 < 6; c++) {
                int r0 = cuts[c], r1 = cuts[c + 1];
                const float *A = p.ta ? p.A + r0 : p.A + (size_t)r0 * p.lda;
                /* each row range also split into two column ranges at 37 */
                const float *B2 = p.tb ? p.B + (size_t)37 * p.ldb : p.B + 37;
                sk_sgemm(p.ta, p.tb, r1 - r0, 37, p.K, 0.75f, A, p.lda, p.B, p.ldb, 1.0f,
                         S + (size_t)r0 * p.ldc, p.ldc);
                sk_sgemm(p.ta, p.tb, r1 - r0, p.N - 37, p.K, 0.75f, A, p.lda, B2, p.ldb, 1.0f,
                         S + (size_t)r0 * p.ldc + 37, p.ldc);
            }
            CHECK_MSG(!memcmp(W, S, sizeof(float) * nc), "level %d t %d: split differs", lvl, t);
            free(W);
            free(S);
            prob_free(&p);
        }
    }
    set_level(sk_cpu_best());
}

int main(void) {
    RUN(test_levels);
    RUN(test_special);
    RUN(test_split_bitexact);
    return sk_test_report("sgemm");
}
