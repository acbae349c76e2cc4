/*
 * folded.h - folded stacks ("root;caller;leaf COUNT" per line), the input
 * format of flamegraph.pl, speedscope and inferno.
 *
 * Owns: nothing; the tree is borrowed and the text returned is the
 * caller's to free.
 * Thread safety: reentrant (the agent thread, `cgagent report`).
 * Signal safety: none (it allocates).
 */
#ifndef CG_FOLDED_H
#define CG_FOLDED_H

#include "core/profile/calltree.h"

#include <stddef.h>

/* One line per node with self samples of `key`, root first; ';' and
 * control characters in names become '_' so the format stays parseable.
 * Returns malloc'd text (possibly empty) and its length, or NULL when out
 * of memory. */
char *cg_folded_encode(const struct cg_calltree *tree, enum cg_count_key key, size_t *len_out);

#endif
