/* pool.c — a persistent pthread pool. Every task runs on all n threads (thread 0 is the
 * caller); workers spin briefly on a generation counter, then sleep on a condition
 * variable. The barrier is a sense-reversing counter. */
#include "sk_util.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

struct sk_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint gen;      /* bumped for each task */
    atomic_int pending;   /* workers still running the current task */
    atomic_int stop;
    sk_pool_fn fn;
    void *ctx;
    /* barrier */
    atomic_int bar_count;
    atomic_uint bar_phase;
};

typedef struct {
    sk_pool *p;
    int ith;
} worker_arg;

static void spin_pause(int i) {
#if defined(__x86_64__) || defined(__i386__)
    if (i < 64) { __builtin_ia32_pause(); return; }
#else
    (void)i;
#endif
    sched_yield();
}

static void *worker_main(void *arg) {
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    sk_pool *p = wa.p;
    unsigned seen = 0;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen &&
               !atomic_load(&p->stop)) {
            if (++spins < 2000) {
                spin_pause(spins);
                continue;
            }
            pthread_mutex_lock(&p->mu);
            while (atomic_load(&p->gen) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        seen = g;
        p->fn(p->ctx, wa.ith, p->n);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
    return NULL;
}

int sk_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

sk_pool *sk_pool_new(int n_threads, sk_err *e) {
    if (n_threads <= 0) n_threads = sk_cpu_count();
    if (n_threads > 512) n_threads = 512;
    sk_pool *p = sk_calloc(1, sizeof *p, e);
    if (!p) return NULL;
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->gen, 0);
    atomic_init(&p->pending, 0);
    atomic_init(&p->stop, 0);
    atomic_init(&p->bar_count, 0);
    atomic_init(&p->bar_phase, 0);
    p->threads = sk_calloc((size_t)n_threads, sizeof(pthread_t), e);
    if (!p->threads) goto fail;
    for (int i = 1; i < n_threads; i++) {
        worker_arg *wa = sk_malloc(sizeof *wa, e);
        if (!wa) goto fail;
        wa->p = p;
        wa->ith = i;
        if (pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            sk_err_set(e, SK_ERR_NOMEM, "cannot start thread %d of %d", i, n_threads);
            p->n = i; /* only the started ones are joined */
            goto fail;
        }
    }
    return p;
fail:
    sk_pool_free(p);
    return NULL;
}

int sk_pool_size(const sk_pool *p) {
    return p ? p->n : 1;
}

void sk_pool_run(sk_pool *p, sk_pool_fn fn, void *ctx) {
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->pending, p->n - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add_explicit(&p->gen, 1, memory_order_release);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->n);
    int spins = 0;
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) spin_pause(++spins);
}

void sk_pool_barrier(sk_pool *p) {
    if (!p || p->n == 1) return;
    unsigned phase = atomic_load_explicit(&p->bar_phase, memory_order_acquire);
    if (atomic_fetch_add_explicit(&p->bar_count, 1, memory_order_acq_rel) == p->n - 1) {
        atomic_store_explicit(&p->bar_count, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->bar_phase, 1, memory_order_release);
        return;
    }
    int spins = 0;
    while (atomic_load_explicit(&p->bar_phase, memory_order_acquire) == phase) spin_pause(++spins);
}

void sk_pool_free(sk_pool *p) {
    if (!p) return;
    if (p->threads) {
        pthread_mutex_lock(&p->mu);
        atomic_store(&p->stop, 1);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        for (int i = 1; i < p->n; i++)
            if (p->threads[i]) pthread_join(p->threads[i], NULL);
        free(p->threads);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
