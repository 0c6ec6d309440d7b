/* gguf_mini.h — a deliberately small, independent GGUF tensor-table reader for the tensor
 * tests (it does not use src/format/, so the codec tests do not depend on that module, and the
 * two readers cross-check each other where both are used). Test data only: it trusts the file
 * less than it should a user's (bounds are checked, messages are terse). */
#ifndef GGUF_MINI_H
#define GGUF_MINI_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char name[128];
    int type, n_dims;
    int64_t ne[4];
    uint64_t offset;
} gm_tensor;

typedef struct {
    uint8_t *buf;
    size_t len, pos;
    int bad;
    uint64_t n_tensors, alignment, data_start;
    gm_tensor *t;
    uint32_t file_type;
    int has_file_type;
} gm_file;

static int gm_need(gm_file *g, size_t n) {
    if (g->bad || n > g->len - g->pos) {
        g->bad = 1;
        return 0;
    }
    return 1;
}
static uint64_t gm_u(gm_file *g, size_t n) {
    uint64_t v = 0;
    if (!gm_need(g, n)) return 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)g->buf[g->pos + i] << (8 * i);
    g->pos += n;
    return v;
}
static void gm_skip(gm_file *g, uint64_t n) {
    if (n > g->len - g->pos)
        g->bad = 1;
    else
        g->pos += n;
}
static size_t gm_scalar_size(uint32_t t) {
    static const size_t s[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < 13 ? s[t] : 0;
}
static void gm_skip_value(gm_file *g, uint32_t t) {
    if (t == 8) {
        gm_skip(g, gm_u(g, 8));
    } else if (t == 9) {
        uint32_t et = (uint32_t)gm_u(g, 4);
        uint64_t n = gm_u(g, 8);
        for (uint64_t i = 0; i < n && !g->bad; i++) gm_skip_value(g, et);
    } else if (gm_scalar_size(t)) {
        gm_skip(g, gm_scalar_size(t));
    } else {
        g->bad = 1;
    }
}

/* Reads path; returns 0 on success. */
static int gm_open(gm_file *g, const char *path) {
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    g->buf = malloc((size_t)n + 1);
    g->len = (size_t)n;
    if (!g->buf || fread(g->buf, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return -1;
    }
    fclose(f);
    if (gm_u(g, 4) != 0x46554747u) return -1;
    uint32_t ver = (uint32_t)gm_u(g, 4);
    if (ver != 2 && ver != 3) return -1;
    g->n_tensors = gm_u(g, 8);
    uint64_t n_kv = gm_u(g, 8);
    g->alignment = 32;
    for (uint64_t i = 0; i < n_kv && !g->bad; i++) {
        uint64_t kl = gm_u(g, 8);
        if (!gm_need(g, kl)) break;
        char key[256] = {0};
        memcpy(key, g->buf + g->pos, kl < 255 ? kl : 255);
        g->pos += kl;
        uint32_t t = (uint32_t)gm_u(g, 4);
        if (!strcmp(key, "general.alignment") && t == 4) {
            g->alignment = gm_u(g, 4);
        } else if (!strcmp(key, "general.file_type") && t == 4) {
            g->file_type = (uint32_t)gm_u(g, 4);
            g->has_file_type = 1;
        } else {
            gm_skip_value(g, t);
        }
    }
    if (g->bad || g->n_tensors > 100000 || g->alignment == 0) return -1;
    g->t = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->t);
    for (uint64_t i = 0; i < g->n_tensors && !g->bad; i++) {
        uint64_t nl = gm_u(g, 8);
        if (nl >= sizeof g->t[i].name || !gm_need(g, nl)) {
            g->bad = 1;
            break;
        }
        memcpy(g->t[i].name, g->buf + g->pos, nl);
        g->pos += nl;
        g->t[i].n_dims = (int)gm_u(g, 4);
        if (g->t[i].n_dims < 1 || g->t[i].n_dims > 4) g->bad = 1;
        for (int d = 0; d < 4; d++) g->t[i].ne[d] = 1;
        for (int d = 0; d < g->t[i].n_dims && !g->bad; d++) g->t[i].ne[d] = (int64_t)gm_u(g, 8);
        g->t[i].type = (int)gm_u(g, 4);
        g->t[i].offset = gm_u(g, 8);
    }
    if (g->bad) return -1;
    g->data_start = (g->pos + g->alignment - 1) / g->alignment * g->alignment;
    return 0;
}

static const gm_tensor *gm_find(const gm_file *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->t[i].name, name)) return &g->t[i];
    return NULL;
}

/* Pointer to a tensor's bytes if nbytes of them lie inside the file, else NULL. */
static const void *gm_data(const gm_file *g, const gm_tensor *t, size_t nbytes) {
    uint64_t start = g->data_start + t->offset;
    if (start < g->data_start || start > g->len || nbytes > g->len - start) return NULL;
    return g->buf + start;
}

static void gm_close(gm_file *g) {
    free(g->buf);
    free(g->t);
    memset(g, 0, sizeof *g);
}

#endif
