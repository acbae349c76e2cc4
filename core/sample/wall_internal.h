/*
 * wall_internal.h - the /proc parsers of wall.c, for its tests and fuzz
 * target.  Private to core/sample/.
 *
 * Owns: nothing.
 * Thread safety: reentrant.
 * Signal safety: none.
 */
#ifndef CG_WALL_INTERNAL_H
#define CG_WALL_INTERNAL_H

#include "core/sample/wall.h"

/* The state letter of a NUL-terminated /proc/self/task/TID/stat text
 * (after the last ')') into out->state.  Returns 0 or CG_EPARSE. */
int cg_wall_parse_stat(const char *stat, struct cg_wall_state *out);

/* A NUL-terminated /proc/self/task/TID/syscall text ("running", or
 * "NR a0 … a5 SP PC", or "-1 SP PC") into out's nr, sp, pc and
 * in_syscall.  Writes into `text`.  Returns 0 or CG_EPARSE. */
int cg_wall_parse_syscall(char *text, struct cg_wall_state *out);

#endif
