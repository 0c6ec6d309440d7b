/* pool.c — a persistent pthread pool; thread 0 of every task is the caller.
 *
 * A task is published in one atomic word, `state` = generation << 32 | OPEN << 31 | number
 * of workers running it. A worker joins the task of a generation it has not run yet by a
 * compare-and-swap that adds 1 to the running count while OPEN is set; fn and ctx are
 * written before the state is published and not changed while any worker runs, so a worker
 * that joined reads the right ones.
 *   sk_pool_run: the caller runs its part, then waits until all n-1 workers have run the
 *     task (static splits by ith and sk_pool_barrier need every thread), then closes it.
 *   sk_pool_run_dynamic: the caller runs its part, then closes the task at once and waits
 *     only for the workers already inside; a worker that was asleep or descheduled never
 *     holds up the caller, which matters on a loaded machine (decode dispatches a few
 *     hundred small tasks per token).
 * Idle workers spin with `pause` for PAUSE_NS (longer than the gaps between a decode step's
 * dispatches), then with sched_yield up to SPIN_NS (on a loaded machine this hands the CPU to
 * a runnable thread, maybe our own caller), then sleep on a condition variable; the caller
 * signals it only when a worker sleeps. Waits inside a task (barrier, join) spin with `pause`
 * and yield only after YIELD_AFTER rounds, when the thread waited on was likely preempted. */
#include "sk_util.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OPEN_BIT     ((uint64_t)1 << 31)
#define RUNNING_MASK (OPEN_BIT - 1)
#define PAUSE_NS     20000  /* an idle worker spins with pause this long (decode's gaps) */
#define SPIN_NS      200000 /* then spins with sched_yield up to this long, then sleeps */
#define YIELD_AFTER  256    /* pause rounds of a wait inside a task before yielding */

struct sk_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    _Alignas(64) atomic_uint_fast64_t state; /* generation | OPEN | running workers */
    atomic_int finished;                     /* workers done with the current task */
    atomic_int sleepers;                     /* workers waiting on cv */
    atomic_int stop;
    sk_pool_fn fn;
    void *ctx;
    uint32_t gen;
    /* barrier */
    _Alignas(64) atomic_int bar_count;
    atomic_uint bar_phase;
};

typedef struct {
    sk_pool *p;
    int ith;
} worker_arg;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* One round of a wait inside a task. */
static inline void wait_round(int *spins) {
    if (++*spins < YIELD_AFTER) {
        cpu_relax();
    } else {
        *spins = YIELD_AFTER / 2;
        sched_yield();
    }
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A task of a generation other than `seen` is open: worth trying to join. */
static inline bool joinable(uint64_t s, uint32_t seen) {
    return (s & OPEN_BIT) && (uint32_t)(s >> 32) != seen;
}

static void *worker_main(void *arg) {
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    sk_pool *p = wa.p;
    uint32_t seen = 0;
    for (;;) {
        uint64_t s = atomic_load_explicit(&p->state, memory_order_acquire);
        if (!joinable(s, seen)) {
            /* spin, then sleep until the state changes */
            uint64_t t0 = 0;
            for (int i = 0;; i++) {
                if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return NULL;
                s = atomic_load_explicit(&p->state, memory_order_acquire);
                if (joinable(s, seen)) break;
                if (t0 && now_ns() - t0 >= PAUSE_NS) {
                    sched_yield();
                } else {
                    cpu_relax();
                    if ((i & 63) != 63) continue;
                }
                uint64_t t = now_ns();
                if (!t0) t0 = t;
                if (t - t0 < SPIN_NS) continue;
                pthread_mutex_lock(&p->mu);
                atomic_fetch_add(&p->sleepers, 1);
                while (!atomic_load(&p->stop) && !joinable(atomic_load(&p->state), seen))
                    pthread_cond_wait(&p->cv, &p->mu);
                atomic_fetch_sub(&p->sleepers, 1);
                pthread_mutex_unlock(&p->mu);
                t0 = 0;
            }
        }
        /* join: count ourselves in while the task is still open */
        if (!atomic_compare_exchange_weak_explicit(&p->state, &s, s + 1, memory_order_acquire,
                                                   memory_order_relaxed))
            continue;
        seen = (uint32_t)(s >> 32);
        p->fn(p->ctx, wa.ith, p->n);
        atomic_fetch_add_explicit(&p->finished, 1, memory_order_relaxed);
        atomic_fetch_sub_explicit(&p->state, 1, memory_order_release);
    }
}

int sk_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

sk_pool *sk_pool_new(int n_threads, sk_err *e) {
    if (n_threads <= 0) n_threads = sk_cpu_count();
    if (n_threads > 512) n_threads = 512;
    sk_pool *p = sk_aligned_alloc(64, sizeof *p, e);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->n = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    atomic_init(&p->state, 0);
    atomic_init(&p->finished, 0);
    atomic_init(&p->sleepers, 0);
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

/* Publishes fn/ctx as a new open task (no worker runs one now) and wakes sleepers. */
static void publish(sk_pool *p, sk_pool_fn fn, void *ctx) {
    p->fn = fn;
    p->ctx = ctx;
    p->gen = p->gen + 1 ? p->gen + 1 : 1; /* generation 0 is "none yet" for the workers */
    atomic_store_explicit(&p->finished, 0, memory_order_relaxed);
    atomic_store(&p->state, (uint64_t)p->gen << 32 | OPEN_BIT); /* seq_cst: see sleepers */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

/* Closes the task and waits until no worker runs it. */
static void close_task(sk_pool *p) {
    atomic_fetch_and_explicit(&p->state, ~OPEN_BIT, memory_order_acq_rel);
    int spins = 0;
    while (atomic_load_explicit(&p->state, memory_order_acquire) & RUNNING_MASK) wait_round(&spins);
}

void sk_pool_run(sk_pool *p, sk_pool_fn fn, void *ctx) {
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    publish(p, fn, ctx);
    fn(ctx, 0, p->n);
    int spins = 0;
    while (atomic_load_explicit(&p->finished, memory_order_acquire) < p->n - 1) wait_round(&spins);
    close_task(p);
}

void sk_pool_run_dynamic(sk_pool *p, sk_pool_fn fn, void *ctx) {
    if (!p || p->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    publish(p, fn, ctx);
    fn(ctx, 0, p->n);
    close_task(p);
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
    while (atomic_load_explicit(&p->bar_phase, memory_order_acquire) == phase) wait_round(&spins);
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
