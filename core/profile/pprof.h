/*
 * pprof.h - the call tree as a gzipped pprof profile (profile.proto), the
 * format of `go tool pprof`, speedscope and most profile viewers.
 *
 * One sample type per count key that has samples ("RUNNABLE"/"count",
 * "WAITING"/"count", "BLOCKED"/"count"), so pprof's totals equal the
 * CodeGuru document's.  Each distinct (function name, file) is one
 * Function and one Location; each node with self samples is one Sample
 * whose locations run leaf first.  Mappings carry the object files.
 *
 * Owns: nothing; the tree is borrowed, the result is malloc'd and the
 * caller's.
 * Thread safety: reentrant (the agent thread, for the local sink).
 * Signal safety: none (it allocates, zlib).
 */
#ifndef CG_PPROF_H
#define CG_PPROF_H

#include <stddef.h>
#include <stdint.h>

struct cg_calltree;
struct cg_profile_meta;

/* Encodes and gzips.  Returns the bytes (caller frees) and their length,
 * or NULL when out of memory. */
unsigned char *cg_pprof_encode_gz(const struct cg_calltree *tree,
                                  const struct cg_profile_meta *meta, size_t *len_out);

#endif
