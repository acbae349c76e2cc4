/*
 * pprof.h - the call tree as a gzipped pprof profile (profile.proto), the
 * format of `go tool pprof`, speedscope and most profile viewers.
 *
 * Four sample types, the same in every profile so profiles merge:
 * "samples"/"count" and "cpu"/"nanoseconds" (RUNNABLE samples, and times
 * the CPU period), "waiting"/"nanoseconds" and "blocked"/"nanoseconds"
 * (WAITING and BLOCKED samples times the wall period).  CPU is the
 * default_sample_type; period_type is cpu/nanoseconds with the CPU period
 * (1e9 / sampleWeights.RUNNABLE).  Each distinct (function name, file) is
 * one Function, each distinct (function, line) one Location whose Line
 * has the node's smallest known source line (pprof.c); each node with
 * self samples is one Sample whose locations run leaf first.  Mappings carry the object files
 * and their GNU build ids; meta->main_file, when set, is mapping 1 (the
 * "File:" pprof shows).
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
