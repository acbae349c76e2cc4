/*
 * sigv4_internal.h - the canonicalisation stages, for tests and the fuzz
 * target.  Each returns a malloc'd string (caller frees) or NULL when out
 * of memory.  Private to sigv4/ (and its tests).
 *
 * Owns: nothing; results are the caller's.
 * Thread safety: reentrant.
 * Signal safety: none (it allocates).
 */
#ifndef CG_SIGV4_INTERNAL_H
#define CG_SIGV4_INTERNAL_H

#include "sigv4/sigv4.h"

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
