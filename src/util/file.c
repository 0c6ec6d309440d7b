/* file.c — mmap, whole-file reads, atomic writes, paths and UTF-8 checks (see sk_util.h). */
#include "sk_util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads the open file m->fd of m->size bytes into fresh anonymous memory. */
static int read_copy(sk_mmap *m, const char *path, sk_err *e) {
    void *p = mmap(NULL, (size_t)m->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (p == MAP_FAILED)
        return sk_err_set(e, SK_ERR_NOMEM, "%s: cannot allocate %llu bytes to read it into: %s",
                          path, (unsigned long long)m->size, strerror(errno));
    sk_mem_advise_huge(p, (size_t)m->size);
    uint64_t got = 0;
    while (got < m->size) {
        uint64_t want = m->size - got;
        if (want > ((uint64_t)1 << 30)) want = (uint64_t)1 << 30;
        ssize_t r = pread(m->fd, (uint8_t *)p + got, (size_t)want, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int er = r < 0 ? errno : 0;
            munmap(p, (size_t)m->size);
            return sk_err_set(e, SK_ERR_IO, "%s: read failed at byte %llu of %llu: %s", path,
                              (unsigned long long)got, (unsigned long long)m->size,
                              er ? strerror(er) : "file shrank while reading");
        }
        got += (uint64_t)r;
    }
    if (mprotect(p, (size_t)m->size, PROT_READ) != 0) { /* as read-only as the map */
        int er = errno;
        munmap(p, (size_t)m->size);
        return sk_err_set(e, SK_ERR_IO, "%s: mprotect failed: %s", path, strerror(er));
    }
    m->data = p;
    m->copied = true;
    close(m->fd);
    m->fd = -1;
    return SK_OK;
}

int sk_mmap_open(sk_mmap *m, const char *path, sk_err *e) {
    return sk_mmap_open_copy(m, path, false, e);
}

int sk_mmap_open_copy(sk_mmap *m, const char *path, bool copy, sk_err *e) {
    m->data = NULL;
    m->size = 0;
    m->copied = false;
    m->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (m->fd < 0) return sk_err_set(e, SK_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(m->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(m->fd);
        m->fd = -1;
        return sk_err_set(e, SK_ERR_IO, "%s: not a regular file", path);
    }
    m->size = (uint64_t)st.st_size;
    if (m->size == 0) {
        m->data = (const uint8_t *)"";
        return SK_OK;
    }
    if ((uint64_t)(size_t)m->size != m->size) {
        close(m->fd);
        m->fd = -1;
        return sk_err_set(e, SK_ERR_RANGE, "%s: file of %llu bytes does not fit the address space",
                          path, (unsigned long long)m->size);
    }
    if (copy) {
        int rc = read_copy(m, path, e);
        if (rc) {
            close(m->fd);
            m->fd = -1;
            m->size = 0;
        }
        return rc;
    }
    void *p = mmap(NULL, (size_t)m->size, PROT_READ, MAP_SHARED, m->fd, 0);
    if (p == MAP_FAILED) {
        int er = errno;
        close(m->fd);
        m->fd = -1;
        return sk_err_set(e, SK_ERR_IO, "%s: mmap failed: %s", path, strerror(er));
    }
    /* Where the page cache can hold 2 MiB folios (ext4 and XFS on recent kernels), faults
     * then read ahead in 2 MiB units and map them whole. */
    sk_mem_advise_huge(p, (size_t)m->size);
    m->data = p;
    return SK_OK;
}

void sk_mmap_close(sk_mmap *m) {
    if (m->data && m->size) munmap((void *)m->data, (size_t)m->size);
    if (m->fd >= 0) close(m->fd);
    m->data = NULL;
    m->size = 0;
    m->fd = -1;
    m->copied = false;
}

int sk_read_file(const char *path, uint64_t max_bytes, char **out, size_t *len, sk_err *e) {
    *out = NULL;
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return sk_err_set(e, SK_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return sk_err_set(e, SK_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        fclose(f);
        return sk_err_set(e, SK_ERR_RANGE, "%s: file is %lld bytes, more than the %llu allowed",
                          path, (long long)st.st_size, (unsigned long long)max_bytes);
    }
    size_t n = (size_t)st.st_size;
    char *buf = sk_malloc(n + 1, e);
    if (!buf) {
        fclose(f);
        return SK_ERR_NOMEM;
    }
    if (n && fread(buf, 1, n, f) != n) {
        free(buf);
        fclose(f);
        return sk_err_set(e, SK_ERR_IO, "%s: short read", path);
    }
    fclose(f);
    buf[n] = 0;
    *out = buf;
    if (len) *len = n;
    return SK_OK;
}

int sk_write_file_atomic(const char *path, const void *data, size_t len, sk_err *e) {
    size_t plen = strlen(path);
    char *tmp = sk_malloc(plen + 16, e);
    if (!tmp) return SK_ERR_NOMEM;
    snprintf(tmp, plen + 16, "%s.tmp%d", path, (int)getpid());
    int rc = SK_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = sk_err_set(e, SK_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            rc = sk_err_set(e, SK_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            goto done;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        rc = sk_err_set(e, SK_ERR_IO, "%s: fsync/close failed: %s", tmp, strerror(errno));
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        rc = sk_err_set(e, SK_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
        unlink(tmp);
        goto done;
    }
    sk_fsync_parent_dir(path);
done:
    free(tmp);
    return rc;
}

void sk_fsync_parent_dir(const char *path) {
    char *dup = strdup(path);
    if (!dup) return;
    int dfd = open(dirname(dup), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dup);
}

bool sk_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

bool sk_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool sk_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *sk_path_join(const char *dir, const char *name, sk_err *e) {
    size_t a = strlen(dir), b = strlen(name);
    char *s = sk_malloc(a + b + 2, e);
    if (!s) return NULL;
    memcpy(s, dir, a);
    size_t k = a;
    if (k && s[k - 1] != '/') s[k++] = '/';
    memcpy(s + k, name, b + 1);
    return s;
}

int sk_utf8_seq_len(const uint8_t *s, size_t n) {
    if (n == 0) return 0;
    uint8_t c = s[0];
    if (c < 0x80) return 1;
    int len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return 0;
    if ((size_t)len > n) return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
    if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
    return len;
}

bool sk_utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        int l = sk_utf8_seq_len(s + i, n - i);
        if (!l) return false;
        i += (size_t)l;
    }
    return true;
}
