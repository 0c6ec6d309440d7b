/* mem.c — allocation wrappers and the arena allocator (see sk_util.h). */
#include "sk_util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void *sk_malloc(size_t n, sk_err *e) {
    void *p = malloc(n ? n : 1);
    if (!p) sk_err_set(e, SK_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *sk_calloc(size_t count, size_t size, sk_err *e) {
    size_t n;
    if (!sk_mul_ok(count, size, &n)) {
        sk_err_set(e, SK_ERR_RANGE, "allocation size %zu x %zu overflows", count, size);
        return NULL;
    }
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) sk_err_set(e, SK_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *sk_aligned_alloc(size_t align, size_t n, sk_err *e) {
    void *p = NULL;
    if (align < sizeof(void *)) align = sizeof(void *);
    if (posix_memalign(&p, align, n ? n : 1) != 0) {
        sk_err_set(e, SK_ERR_NOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
    return p;
}

void sk_mem_advise_huge(void *p, size_t n) {
#ifdef MADV_HUGEPAGE
    long ps = sysconf(_SC_PAGESIZE); /* madvise wants a page start: 4 KiB, or 16/64 KiB on ARM */
    uintptr_t mask = (uintptr_t)(ps > 0 ? ps : 4096) - 1, a = ((uintptr_t)p + mask) & ~mask;
    if (p && n > a - (uintptr_t)p) (void)madvise((void *)a, n - (a - (uintptr_t)p), MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

void *sk_huge_alloc(size_t n, sk_err *e) {
    void *p = sk_aligned_alloc((size_t)2 << 20, n, e);
    sk_mem_advise_huge(p, n);
    return p;
}

char *sk_strdup(const char *s, sk_err *e) {
    size_t n = strlen(s);
    char *d = sk_malloc(n + 1, e);
    if (d) memcpy(d, s, n + 1);
    return d;
}

struct sk_arena_block {
    sk_arena_block *next;
    size_t size, used;
    _Alignas(64) unsigned char data[];
};

void sk_arena_init(sk_arena *a, size_t block_size) {
    a->head = NULL;
    a->block_size = block_size ? block_size : ((size_t)1 << 20);
    a->used_total = 0;
}

void *sk_arena_alloc(sk_arena *a, size_t n, size_t align, sk_err *e) {
    if (align == 0) align = 16;
    if ((align & (align - 1)) != 0 || align > 4096) {
        sk_err_set(e, SK_ERR_INVALID, "arena: alignment %zu is not a power of two <= 4096", align);
        return NULL;
    }
    sk_arena_block *b = a->head;
    if (b) {
        uintptr_t base = (uintptr_t)b->data;
        size_t off = (size_t)(((base + b->used + align - 1) & ~(uintptr_t)(align - 1)) - base);
        if (off <= b->size && n <= b->size - off) {
            b->used = off + n;
            a->used_total += n;
            return memset(b->data + off, 0, n);
        }
    }
    size_t need;
    if (!sk_add_ok(n, align, &need)) {
        sk_err_set(e, SK_ERR_RANGE, "arena: allocation of %zu bytes overflows", n);
        return NULL;
    }
    size_t size = need > a->block_size ? need : a->block_size, total;
    if (!sk_add_ok(size, sizeof(sk_arena_block), &total)) {
        sk_err_set(e, SK_ERR_RANGE, "arena: allocation of %zu bytes overflows", n);
        return NULL;
    }
    b = sk_aligned_alloc(64, total, e);
    if (!b) return NULL;
    b->size = size;
    b->used = 0;
    b->next = a->head;
    a->head = b;
    return sk_arena_alloc(a, n, align, e);
}

char *sk_arena_strdup(sk_arena *a, const char *s, size_t len, sk_err *e) {
    size_t n;
    if (!sk_add_ok(len, 1, &n)) {
        sk_err_set(e, SK_ERR_RANGE, "arena: string too long");
        return NULL;
    }
    char *d = sk_arena_alloc(a, n, 1, e);
    if (d) memcpy(d, s, len);
    return d;
}

void sk_arena_free(sk_arena *a) {
    sk_arena_block *b = a->head;
    while (b) {
        sk_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}
