/*
 * util — the bottom layer of Seek: errors, size arithmetic, arenas, a thread pool,
 * logging and a terminal progress bar. Depends on libc and pthreads only.
 *
 * Errors. Every fallible function returns an int status (SK_OK = 0, else an sk_code)
 * and, when the caller passes a non-NULL `sk_err *`, a human message saying what
 * failed (file, field, problem). Callees fill the message once at the point of
 * failure; callers may prepend context with sk_err_prefix(). Only cli/ exits.
 *
 * Ownership. sk_arena owns every block it hands out; sk_arena_free releases all
 * of them at once. sk_pool owns its worker threads until sk_pool_free.
 */
#ifndef SK_UTIL_H
#define SK_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes and error messages ------------------------------------------------ */

typedef enum sk_code {
    SK_OK = 0,
    SK_ERR_IO = 1,          /* open/read/write/mmap failed */
    SK_ERR_FORMAT = 2,      /* the bytes of a file or message are malformed */
    SK_ERR_NOMEM = 3,       /* allocation failed */
    SK_ERR_INVALID = 4,     /* a bad argument from the caller or user */
    SK_ERR_UNSUPPORTED = 5, /* well-formed but not handled (type, architecture, …) */
    SK_ERR_RANGE = 6,       /* a size or index out of bounds, or arithmetic overflow */
    SK_ERR_NOTFOUND = 7,    /* a named key/tensor/file is absent */
    SK_ERR_INTERRUPTED = 8, /* stopped by the user (Ctrl-C) */
} sk_code;

#define SK_ERR_MSG_MAX 1024

typedef struct sk_err {
    int code;                 /* sk_code */
    char msg[SK_ERR_MSG_MAX]; /* NUL-terminated human message */
} sk_err;

/* Records code and a printf-style message into e (if e is non-NULL); returns code. */
int sk_err_set(sk_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prepends "context: " to the message already in e; returns e->code (or SK_ERR_INVALID if e is NULL). */
int sk_err_prefix(sk_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sk_err_clear(sk_err *e);
const char *sk_code_name(int code);

/* ---- overflow-checked size arithmetic -------------------------------------------------- */

static inline bool sk_add_ok(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline bool sk_mul_ok(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool sk_add_u64_ok(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline bool sk_mul_u64_ok(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
/* Rounds x up to a multiple of align (a power of two or any positive value); false on overflow. */
static inline bool sk_align_up_ok(uint64_t x, uint64_t align, uint64_t *out) {
    uint64_t r = align ? x % align : 0;
    if (r == 0) { *out = x; return true; }
    return sk_add_u64_ok(x, align - r, out);
}

/* malloc/calloc/realloc wrappers that set an error message on failure. */
void *sk_malloc(size_t n, sk_err *e);
void *sk_calloc(size_t count, size_t size, sk_err *e); /* checks count*size overflow */
void *sk_aligned_alloc(size_t align, size_t n, sk_err *e); /* free with free() */
/* Asks the kernel to back [p, p + n) with transparent huge pages (Linux MADV_HUGEPAGE): fewer
 * TLB misses when a large buffer is streamed. A hint: nothing happens where it is not
 * supported or allowed. */
void sk_mem_advise_huge(void *p, size_t n);
/* n bytes aligned to 2 MiB with huge pages asked for (sk_mem_advise_huge); free with free(). */
void *sk_huge_alloc(size_t n, sk_err *e);
char *sk_strdup(const char *s, sk_err *e);

/* ---- arena allocator ------------------------------------------------------------------ */

typedef struct sk_arena_block sk_arena_block;
typedef struct sk_arena {
    sk_arena_block *head; /* newest block first */
    size_t block_size;    /* default size of a new block */
    size_t used_total;    /* bytes handed out, for reporting */
} sk_arena;

void sk_arena_init(sk_arena *a, size_t block_size); /* block_size 0 → 1 MiB */
/* Returns zeroed memory aligned to align (power of two ≤ 4096), or NULL with e set. */
void *sk_arena_alloc(sk_arena *a, size_t n, size_t align, sk_err *e);
char *sk_arena_strdup(sk_arena *a, const char *s, size_t len, sk_err *e); /* copies len bytes + NUL */
void sk_arena_free(sk_arena *a);

/* ---- persistent thread pool ------------------------------------------------------------- */

/* A task is run once by every thread: fn(ctx, ith, nth) with ith in [0, nth).
 * Thread 0 is the caller. Work is split by thread index; sk_pool_barrier inside a task
 * waits for all nth threads of that task. */
typedef struct sk_pool sk_pool;
typedef void (*sk_pool_fn)(void *ctx, int ith, int nth);

sk_pool *sk_pool_new(int n_threads, sk_err *e); /* n_threads ≤ 0 → number of online CPUs */
int sk_pool_size(const sk_pool *p);
void sk_pool_run(sk_pool *p, sk_pool_fn fn, void *ctx); /* blocks until every thread is done */
/* The same for a task whose threads take their work from shared counters (no split by ith,
 * no sk_pool_barrier): any subset of the threads may run it, the caller always. Returns once
 * the caller's part is done and no other thread is still inside, without waiting for a
 * worker that has not started (asleep or descheduled): the caller then did its share. */
void sk_pool_run_dynamic(sk_pool *p, sk_pool_fn fn, void *ctx);
void sk_pool_barrier(sk_pool *p);                         /* call from inside a task only */
void sk_pool_free(sk_pool *p);
int sk_cpu_count(void);

/* Splits [0, n) into nth near-equal contiguous parts; part ith is [*lo, *hi). */
static inline void sk_split_range(size_t n, int ith, int nth, size_t *lo, size_t *hi) {
    size_t per = n / (size_t)nth, rem = n % (size_t)nth, i = (size_t)ith;
    *lo = i * per + (i < rem ? i : rem);
    *hi = *lo + per + (i < rem ? 1 : 0);
}

/* ---- logging ------------------------------------------------------------------------ */

typedef enum sk_log_level {
    SK_LOG_ERROR = 0,
    SK_LOG_WARN = 1,
    SK_LOG_INFO = 2,
    SK_LOG_DEBUG = 3,
} sk_log_level;

void sk_log_set_level(sk_log_level level); /* default: SEEK_LOG env (error|warn|info|debug) or warn */
sk_log_level sk_log_get_level(void);
void sk_log(sk_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define SK_ERROR(...) sk_log(SK_LOG_ERROR, __VA_ARGS__)
#define SK_WARN(...)  sk_log(SK_LOG_WARN, __VA_ARGS__)
#define SK_INFO(...)  sk_log(SK_LOG_INFO, __VA_ARGS__)
#define SK_DEBUG(...) sk_log(SK_LOG_DEBUG, __VA_ARGS__)

/* ---- time ------------------------------------------------------------------------------ */

double sk_time_sec(void); /* monotonic seconds */

/* ---- progress bar ---------------------------------------------------------------------- */

/* Draws "label [#####.....]  42% 1.2/3.0 GB 00:12 ETA 00:17" on stderr when stderr is a
 * terminal (redrawn at most 10 times per second), or a line every 10% otherwise.
 * SEEK_PROGRESS=0 silences it. `unit` is "B" (byte counts shown as KB/MB/GB) or any word. */
typedef struct sk_progress {
    const char *label;
    const char *unit;
    uint64_t total, done;
    double t_start, t_last;
    int last_decile;
    bool tty, enabled, drawn;
} sk_progress;

void sk_progress_begin(sk_progress *p, const char *label, uint64_t total, const char *unit);
void sk_progress_update(sk_progress *p, uint64_t done);
void sk_progress_add(sk_progress *p, uint64_t delta);
void sk_progress_end(sk_progress *p);

/* ---- files -------------------------------------------------------------------------- */

/* A read-only view of a whole file: normally a shared memory map of it (the page cache's
 * pages, nothing copied). With copy (sk_mmap_open_copy, `--no-mmap`), the file is read once
 * into private anonymous memory instead (huge pages asked for with MADV_HUGEPAGE), and the
 * file is closed: the same bytes at the cost of the read and a private copy. The map asks for
 * huge pages too: where the page cache holds 2 MiB folios (ext4 on Linux 6.18 builds them
 * when it reads a file, not when one is written), the map uses them whole. On the 2-core VM
 * Seek was tuned on, with such a kernel, decoding from a map in 2 MiB pages and from the copy
 * both ran about 2 % faster than from a map of 4 KiB pages (in-process paired windows);
 * under an older kernel, whose page cache held only 4 KiB pages, the map had streamed 10-30 %
 * slower than the copy. Either way sk_mmap_close releases it. */
typedef struct sk_mmap {
    const uint8_t *data;
    uint64_t size;
    int fd;      /* -1 when copied */
    bool copied; /* data is anonymous memory holding a copy */
} sk_mmap;

int sk_mmap_open(sk_mmap *m, const char *path, sk_err *e);
int sk_mmap_open_copy(sk_mmap *m, const char *path, bool copy, sk_err *e);
void sk_mmap_close(sk_mmap *m);

/* Reads a whole file into a malloc'd NUL-terminated buffer (*len excludes the NUL).
 * Refuses files larger than max_bytes. */
int sk_read_file(const char *path, uint64_t max_bytes, char **out, size_t *len, sk_err *e);
/* Writes data atomically: path.tmp<pid>, fsync, rename, fsync of the directory. */
int sk_write_file_atomic(const char *path, const void *data, size_t len, sk_err *e);
bool sk_file_exists(const char *path);
bool sk_is_dir(const char *path);
/* True when both paths exist and name the same file (same device and inode), so writing
 * one would clobber the other (e.g. an output path equal to an mmapped input). */
bool sk_same_file(const char *a, const char *b);
/* fsyncs the directory holding path (after a rename into it); best effort, errors ignored. */
void sk_fsync_parent_dir(const char *path);
/* Joins dir and name with one '/'; returns malloc'd string. */
char *sk_path_join(const char *dir, const char *name, sk_err *e);

/* ---- random numbers ------------------------------------------------------------------ */

/* SplitMix64 (Steele, Lea, Flood 2014): a 64-bit state advanced by a fixed odd constant and
 * mixed; used directly for cheap seeded streams and to seed sk_rng. */
uint64_t sk_splitmix64(uint64_t *state);

/* xoshiro256** (Blackman & Vigna 2018), seeded by four SplitMix64 outputs of the seed.
 * Deterministic for a given seed on every platform. */
typedef struct sk_rng {
    uint64_t s[4];
} sk_rng;

void sk_rng_seed(sk_rng *r, uint64_t seed);
uint64_t sk_rng_next(sk_rng *r);
/* Uniform double in [0, 1) from the top 53 bits of the next output. */
double sk_rng_uniform(sk_rng *r);

/* ---- UTF-8 ----------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence starting at s (1..4), or 0 if invalid/incomplete
 * within n bytes. Rejects overlongs, surrogates and code points > U+10FFFF. */
int sk_utf8_seq_len(const uint8_t *s, size_t n);
bool sk_utf8_valid(const uint8_t *s, size_t n);

#ifdef __cplusplus
}
#endif
#endif
