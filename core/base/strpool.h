/*
 * strpool.h - interned strings: one copy of each distinct string, living
 * until the pool is freed, so equal strings compare by pointer.
 *
 * Used by the call tree (frame names and files) and the symbolizer
 * (names it hands out must stay valid across refreshes).
 * Owns: every interned string, until cg_strpool_free.
 * Thread safety: none; one owner at a time.
 * Signal safety: none (it allocates).
 */
#ifndef CG_STRPOOL_H
#define CG_STRPOOL_H

#include <stddef.h>

struct cg_strpool;

struct cg_strpool *cg_strpool_new(void);
void cg_strpool_free(struct cg_strpool *pool);

/* The pool's copy of s (copied on first sight), or NULL when out of
 * memory.  s must not be NULL. */
const char *cg_strpool_intern(struct cg_strpool *pool, const char *s);

size_t cg_strpool_bytes(const struct cg_strpool *pool);

#endif
