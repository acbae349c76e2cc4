/*
 * buf.c - the growable string of sigv4/ that never leaves a copy of its
 * text behind (see sigv4_internal.h).
 *
 * DESIGN: what sigv4 builds (canonical headers and request, the
 * presigned query) may hold the session token, so a block is wiped over
 * its whole capacity before it is released, on growth as on cleanup.
 * Growth is malloc + copy + wipe + release, never realloc: realloc may
 * move the text and free the old block without wiping it.  Releasing goes
 * through one function so that a test can check every released block for
 * zeros (the `release` seam).  Capacity doubles from 256 bytes, so a
 * request is built with a handful of copies.
 *
 * What it won't do: shrink, or protect the text while it is in use.
 */
#include "sigv4/sigv4_internal.h"

#include <mbedtls/platform_util.h>
#include <stdlib.h>
#include <string.h>

static void release(struct sigv4_buf *b, char *block, size_t size)
{
    if (!block)
        return;
    mbedtls_platform_zeroize(block, size);
    if (b->release)
        b->release(block, size);
    else
        free(block);
}

void sigv4_buf_put(struct sigv4_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = malloc(cap);
        if (!grown) {
            b->oom = true;
            return;
        }
        if (b->s)
            memcpy(grown, b->s, b->len + 1);
        release(b, b->s, b->cap);
        b->s = grown;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void sigv4_buf_puts(struct sigv4_buf *b, const char *s)
{
    sigv4_buf_put(b, s, strlen(s));
}

char *sigv4_buf_take(struct sigv4_buf *b)
{
    if (b->oom) {
        sigv4_buf_cleanup(b);
        return NULL;
    }
    char *s = b->s;
    sigv4_release_fn *keep = b->release;
    memset(b, 0, sizeof(*b));
    b->release = keep;
    return s;
}

void sigv4_buf_cleanup(struct sigv4_buf *b)
{
    sigv4_release_fn *keep = b->release;
    release(b, b->s, b->cap);
    memset(b, 0, sizeof(*b));
    b->release = keep;
}

void sigv4_free_secret(char *s)
{
    if (!s)
        return;
    mbedtls_platform_zeroize(s, strlen(s));
    free(s);
}
