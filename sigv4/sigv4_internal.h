/*
 * sigv4_internal.h - the canonicalisation stages and the wiping string
 * buffer, for sigv4/ itself, tests and the fuzz target.  Private to
 * sigv4/ (and its tests).
 *
 * The stages each return a malloc'd string (the caller frees it, wiping
 * it first when it may hold a secret: a canonical query in query form
 * carries the session token) or NULL when out of memory.
 *
 * Owns: nothing; results are the caller's.
 * Thread safety: reentrant.
 * Signal safety: none (they allocate).
 */
#ifndef CG_SIGV4_INTERNAL_H
#define CG_SIGV4_INTERNAL_H

#include "sigv4/sigv4.h"

/* Receives a block a struct sigv4_buf lets go of, after it was wiped:
 * `size` is the whole allocation.  A test seam; the default is free(). */
typedef void sigv4_release_fn(void *block, size_t size);

/* A growable NUL-terminated string for text that may hold a secret (the
 * canonical headers and request carry x-amz-security-token).  Every block
 * it lets go of is wiped over its whole capacity first: on growth (no
 * realloc, which may move the text and free the old copy unwiped: a new
 * block is allocated, the text copied, the old block wiped and released)
 * and on cleanup.  Zero-initialise it; after a failed allocation `oom` is
 * set and later puts do nothing.
 * Ownership: the buffer owns `s` until sigv4_buf_take hands it over. */
struct sigv4_buf {
    char *s;                   /* the text; NULL until the first put */
    size_t len;                /* bytes of text, without the NUL */
    size_t cap;                /* bytes allocated at s */
    bool oom;                  /* an allocation failed: the text is incomplete */
    sigv4_release_fn *release; /* NULL: free(); tests check the wiping here */
};

/* Appends n bytes of s (which must not point into b's own text). */
void sigv4_buf_put(struct sigv4_buf *b, const char *s, size_t n);
/* Appends a NUL-terminated string. */
void sigv4_buf_puts(struct sigv4_buf *b, const char *s);
/* Hands the text over (the caller wipes and frees it) and leaves b empty.
 * Returns NULL when nothing was put or after a failed allocation. */
char *sigv4_buf_take(struct sigv4_buf *b);
/* Wipes and releases the text; b is left zeroed except for `release`.
 * Safe on a zeroed or cleaned buffer. */
void sigv4_buf_cleanup(struct sigv4_buf *b);

/* Wipes a NUL-terminated string and frees it; NULL is fine. */
void sigv4_free_secret(char *s);

/* RFC 3986 encoding: everything but A-Z a-z 0-9 - _ . ~ becomes %XX
 * (upper-case hex); '/' is kept when keep_slash. */
char *sigv4_uri_encode(const char *s, size_t len, bool keep_slash);

/* The canonical URI of a path (normalised and/or encoded per options). */
char *sigv4_canonical_uri(const char *path, bool normalize, bool double_encode);

/* The canonical query string of a raw query (may be NULL). */
char *sigv4_canonical_query(const char *query);

/* Trimmed, white-space-squeezed header value. */
char *sigv4_canonical_header_value(const char *value);

#endif
