/* libFuzzer target: the safetensors reader on arbitrary bytes (through a memfd), with tensor
 * views (FP8 scale attachment) of every accepted tensor. */
#include "sk_safetensors.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz.safetensors", 0);
        if (fd < 0) return 0;
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size) return 0;
    sk_st *st = NULL;
    sk_err e;
    if (sk_st_open(path, &st, &e) != SK_OK) {
        if (!e.msg[0]) __builtin_trap();
        return 0;
    }
    volatile uint8_t acc = 0;
    for (int64_t i = 0; i < sk_st_n_tensors(st); i++) {
        const sk_st_tensor *t = sk_st_tensor_at(st, i);
        if (sk_st_find(st, t->name) != i) __builtin_trap();
        if (t->nbytes)
            acc ^= ((const uint8_t *)t->data)[0] ^ ((const uint8_t *)t->data)[t->nbytes - 1];
        sk_tensor v;
        if (sk_st_tensor_view(st, i, &v, &e) == SK_OK && v.scale) {
            int64_t n = ((v.ne[1] * v.ne[2] * v.ne[3] + 127) / 128) * ((v.ne[0] + 127) / 128);
            acc ^= (uint8_t)(v.scale[n - 1] > 0);
        }
    }
    sk_st_metadata(st, "format");
    (void)acc;
    sk_st_close(st);
    return 0;
}
