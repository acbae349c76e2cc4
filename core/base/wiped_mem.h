/*
 * wiped_mem.h - an allocator whose blocks are wiped when released, for
 * libraries that hold secrets in memory they allocate (libcurl's request
 * buffers, expat's parse of an STS answer) and take allocator hooks.
 *
 * A block is [size_t size | padding | user bytes]: the header is one
 * max_align_t, so the user part keeps malloc's alignment.  Growing a block
 * allocates, copies and wipes the old one (realloc could leave a copy
 * behind).  Memory comes from malloc (the program's, through the bridge).
 *
 * Owns: nothing beyond the blocks it hands out.
 * Thread safety: as malloc.
 * Signal safety: none.
 */
#ifndef CG_WIPED_MEM_H
#define CG_WIPED_MEM_H

#include <stddef.h>

void *cg_wiped_malloc(size_t n);
/* Wipes the whole block, then frees it; NULL is ignored. */
void cg_wiped_free(void *p);
/* As realloc: NULL on failure, p then still valid. */
void *cg_wiped_realloc(void *p, size_t n);

#endif
