/* libFuzzer target: the GGUF reader on arbitrary bytes (through a memfd, as sk_gguf_open maps a
 * path). An accepted file has every accessor exercised so ASan sees any bad pointer. */
#include "sk_gguf.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz.gguf", 0);
        if (fd < 0) return 0;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) return 0;
    sk_gguf *g = NULL;
    sk_err e;
    if (sk_gguf_open(path, &g, &e) != SK_OK) {
        if (!e.msg[0]) __builtin_trap(); /* every failure must explain itself */
        return 0;
    }
    char buf[256];
    volatile uint8_t acc = 0;
    for (int64_t i = 0; i < sk_gguf_n_kv(g); i++) {
        const char *key = sk_gguf_kv_key(g, i);
        sk_gguf_kv_to_string(g, i, buf, sizeof buf);
        uint32_t u;
        int64_t v;
        float f;
        bool b;
        const char *s;
        size_t len;
        sk_gguf_get_u32(g, key, &u);
        sk_gguf_get_i64(g, key, &v);
        sk_gguf_get_f32(g, key, &f);
        sk_gguf_get_bool(g, key, &b);
        if (sk_gguf_get_str(g, key, &s, &len) && len) acc ^= (uint8_t)s[len - 1];
        sk_gguf_vtype et;
        uint64_t count;
        const void *arr;
        if (sk_gguf_get_arr(g, key, &et, &count, &arr))
            for (uint64_t j = 0; j < count && j < 4096; j++)
                if (sk_gguf_get_arr_str(g, key, j, &s, &len) && len) acc ^= (uint8_t)s[len - 1];
    }
    for (int64_t i = 0; i < sk_gguf_n_tensors(g); i++) {
        const sk_gguf_tensor_info *t = sk_gguf_tensor(g, i);
        if (sk_gguf_find_tensor(g, t->name) != i) __builtin_trap();
        if (t->nbytes)
            acc ^= ((const uint8_t *)t->data)[0] ^ ((const uint8_t *)t->data)[t->nbytes - 1];
    }
    (void)acc;
    sk_gguf_close(g);
    return 0;
}
