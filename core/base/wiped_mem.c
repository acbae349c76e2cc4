/*
 * wiped_mem.c - blocks wiped on release (wiped_mem.h says why).
 */
#include "core/base/wiped_mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HDR sizeof(max_align_t)

void *cg_wiped_malloc(size_t n)
{
    if (n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *b = malloc(HDR + n);
    if (!b)
        return NULL;
    memcpy(b, &n, sizeof(n));
    return b + HDR;
}

void cg_wiped_free(void *p)
{
    if (!p)
        return;
    unsigned char *b = (unsigned char *)p - HDR;
    size_t n;
    memcpy(&n, b, sizeof(n));
    explicit_bzero(b, HDR + n);
    free(b);
}

void *cg_wiped_realloc(void *p, size_t n)
{
    if (!p)
        return cg_wiped_malloc(n);
    size_t old;
    memcpy(&old, (unsigned char *)p - HDR, sizeof(old));
    void *q = cg_wiped_malloc(n);
    if (!q)
        return NULL; /* p stays valid, as with realloc */
    memcpy(q, p, old < n ? old : n);
    cg_wiped_free(p);
    return q;
}
