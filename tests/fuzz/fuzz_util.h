/*
 * fuzz_util.h - what the fuzz targets share: an exact-size copy of the
 * input (so AddressSanitizer sees a read one byte past it), a temporary
 * file holding bytes, and quiet logging.
 *
 * Owns: nothing beyond what each call returns (the caller frees it).
 * Thread safety: one fuzzing thread.
 * Signal safety: none.
 */
#ifndef CG_FUZZ_UTIL_H
#define CG_FUZZ_UTIL_H

#include "core/base/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Exactly `size` bytes (malloc(0) may be NULL: one byte then). */
static inline char *fuzz_copy(const uint8_t *data, size_t size)
{
    char *p = malloc(size ? size : 1);
    if (p && size)
        memcpy(p, data, size);
    return p;
}

/* The bytes plus a NUL (for parsers of C strings; embedded NULs end them). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *p = malloc(size + 1);
    if (p) {
        memcpy(p, data, size);
        p[size] = '\0';
    }
    return p;
}

/* Writes the bytes to a fresh file under /tmp; its path in path[64]. */
static inline int fuzz_file(const uint8_t *data, size_t size, char path[64])
{
    snprintf(path, 64, "/tmp/cgagent-fuzz-%d-XXXXXX", (int)getpid());
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(fd);
    return 0;
}

/* The first byte picks one of n parsers (returned); the rest is the
 * input.  -1 for an empty input. */
static inline int fuzz_pick(const uint8_t **data, size_t *size, unsigned n)
{
    if (*size < 1)
        return -1;
    int which = (int)((*data)[0] % n);
    (*data)++;
    (*size)--;
    return which;
}

static inline void fuzz_quiet(void)
{
    cg_log_set_level(CG_LOG_ERROR);
    cg_log_set_file("/dev/null");
}

#endif
