/* dispatch.c — CPU feature detection (cpuid + xgetbv on x86-64; on aarch64 Advanced SIMD is
 * always there) and the per-level function tables. Tables are filled once (pthread_once); the
 * active level is an atomic index that SEEK_CPU=scalar|avx2|avx512|neon caps at start-up and
 * sk_kernels_set_level changes later. */
#include "kernels_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#if defined(SEEK_HAVE_X86_KERNELS)
#include <cpuid.h>
#endif
#if defined(SEEK_HAVE_NEON_KERNELS)
#include <sys/auxv.h>
#endif

#define N_LEVELS 4

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static sk_kfuncs g_tables[N_LEVELS];
static int g_have[N_LEVELS];
static sk_cpu_level g_best = SK_CPU_SCALAR;
static atomic_int g_active;
static char g_features[128];
#if defined(SEEK_HAVE_X86_KERNELS)
static int g_vnni;
#endif

#if defined(SEEK_HAVE_X86_KERNELS)
static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

static void detect_x86(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    if (!osxsave || !avx) return;
    uint64_t xcr0 = read_xcr0();
    if ((xcr0 & 6) != 6) return; /* the OS does not save YMM state */
    unsigned max_leaf = __get_cpuid_max(0, NULL);
    if (max_leaf < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    int avx2 = (b >> 5) & 1;
    int f512 = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    int vnni = (c >> 11) & 1;
    unsigned a1 = 0, b1, c1, d1;
    if (a >= 1) __cpuid_count(7, 1, a1, b1, c1, d1);
    int bf16 = (a1 >> 5) & 1;
    if (avx2 && fma && f16c) {
        g_best = SK_CPU_AVX2;
        strcat(g_features, "avx2 fma f16c");
    }
    int os512 = (xcr0 & 0xE6) == 0xE6; /* opmask, ZMM_Hi256, Hi16_ZMM + YMM */
    if (g_best == SK_CPU_AVX2 && f512 && dq && bw && vl && os512) {
        g_best = SK_CPU_AVX512;
        strcat(g_features, " avx512f avx512bw avx512dq avx512vl");
        g_vnni = vnni;
        if (vnni) strcat(g_features, " avx512vnni");
        if (bf16) strcat(g_features, " avx512bf16");
    }
}
#endif

#if defined(SEEK_HAVE_NEON_KERNELS)
/* Advanced SIMD is mandatory in AArch64 Linux; the optional extensions are only reported
 * (the NEON kernels use none of them). */
static void detect_neon(void) {
    g_best = SK_CPU_NEON;
    strcat(g_features, "asimd");
#if defined(HWCAP_ASIMDDP)
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) strcat(g_features, " asimddp");
#endif
}
#endif

static sk_cpu_level parse_level(const char *s, int *ok) {
    *ok = 1;
    if (!strcasecmp(s, "scalar")) return SK_CPU_SCALAR;
    if (!strcasecmp(s, "avx2")) return SK_CPU_AVX2;
    if (!strcasecmp(s, "avx512")) return SK_CPU_AVX512;
    if (!strcasecmp(s, "neon")) return SK_CPU_NEON;
    *ok = 0;
    return SK_CPU_SCALAR;
}

static void init_once(void) {
    sk_k_init_fp8_lut();
    g_features[0] = 0;
#if defined(SEEK_HAVE_X86_KERNELS)
    detect_x86();
#endif
#if defined(SEEK_HAVE_NEON_KERNELS)
    detect_neon();
#endif
    if (!g_features[0]) strcpy(g_features, "(none)");
    sk_kfuncs_fill_scalar(&g_tables[SK_CPU_SCALAR]);
    g_have[SK_CPU_SCALAR] = 1;
#if defined(SEEK_HAVE_X86_KERNELS)
    if (g_best >= SK_CPU_AVX2) {
        g_tables[SK_CPU_AVX2] = g_tables[SK_CPU_SCALAR];
        sk_kfuncs_fill_avx2(&g_tables[SK_CPU_AVX2]);
        g_have[SK_CPU_AVX2] = 1;
    }
    if (g_best >= SK_CPU_AVX512) {
        g_tables[SK_CPU_AVX512] = g_tables[SK_CPU_AVX2];
        sk_kfuncs_fill_avx512(&g_tables[SK_CPU_AVX512], g_vnni);
        g_have[SK_CPU_AVX512] = 1;
    }
#endif
#if defined(SEEK_HAVE_NEON_KERNELS)
    g_tables[SK_CPU_NEON] = g_tables[SK_CPU_SCALAR];
    sk_kfuncs_fill_neon(&g_tables[SK_CPU_NEON]);
    g_have[SK_CPU_NEON] = 1;
#endif
    sk_cpu_level lvl = g_best;
    const char *env = getenv("SEEK_CPU");
    if (env && *env) {
        int ok;
        sk_cpu_level want = parse_level(env, &ok);
        if (!ok)
            SK_WARN("SEEK_CPU=%s is not one of scalar, avx2, avx512, neon; using %s", env,
                    sk_cpu_level_name(lvl));
        else if (want < lvl || (want != lvl && g_have[want]))
            lvl = want;
        else if (want != lvl)
            SK_WARN("SEEK_CPU=%s: this CPU or build lacks it; using %s", env,
                    sk_cpu_level_name(lvl));
    }
    atomic_store(&g_active, (int)lvl);
}

sk_cpu_level sk_cpu_best(void) {
    pthread_once(&g_once, init_once);
    return g_best;
}

sk_cpu_level sk_kernels_level(void) {
    pthread_once(&g_once, init_once);
    return (sk_cpu_level)atomic_load(&g_active);
}

int sk_kernels_set_level(sk_cpu_level level, sk_err *e) {
    pthread_once(&g_once, init_once);
    if ((int)level < 0 || (int)level >= N_LEVELS || !g_have[level])
        return sk_err_set(e, SK_ERR_UNSUPPORTED,
                          "kernel level %s is not available on this CPU/build",
                          sk_cpu_level_name(level));
    atomic_store(&g_active, (int)level);
    return SK_OK;
}

const char *sk_cpu_level_name(sk_cpu_level level) {
    switch (level) {
    case SK_CPU_SCALAR:
        return "scalar";
    case SK_CPU_AVX2:
        return "avx2";
    case SK_CPU_AVX512:
        return "avx512";
    case SK_CPU_NEON:
        return "neon";
    }
    return "unknown";
}

const char *sk_cpu_features(void) {
    pthread_once(&g_once, init_once);
    return g_features;
}

const sk_kfuncs *sk_kfuncs_active(void) {
    pthread_once(&g_once, init_once);
    return &g_tables[atomic_load_explicit(&g_active, memory_order_relaxed)];
}

const sk_kfuncs *sk_kfuncs_for_level(sk_cpu_level level) {
    pthread_once(&g_once, init_once);
    if ((int)level < 0 || (int)level >= N_LEVELS || !g_have[level]) return NULL;
    return &g_tables[level];
}
