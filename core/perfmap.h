/*
 * perfmap.h - JIT symbol maps: /tmp/perf-PID.map, the text file that
 * Node.js (--perf-basic-prof), CPython >= 3.12 (PYTHONPERFSUPPORT=1, -X
 * perf) and JVM perf-map agents write so profilers can name code that
 * lives in no ELF file.
 *
 * Format: one "START SIZE NAME" line per code object, START and SIZE in hex
 * (with or without 0x), NAME the rest of the line.  The file is only ever
 * appended to; a later line for the same address wins (JIT code is
 * recompiled and its memory reused).
 *
 * Only a regular file owned by the process's effective user is read (/tmp
 * is shared).  Reading: on first use, then again (only the new bytes) when a lookup
 * misses and the file has grown, at most once per 100 ms.  Bounded: lines
 * over 4 KiB are skipped, at most 1,000,000 entries are kept (the oldest
 * go first), names are interned in the shared string pool.
 *
 * Ownership: the map owns its table; names belong to `strs`.
 * Thread safety: one thread at a time (the agent thread).
 */
#ifndef CG_PERFMAP_H
#define CG_PERFMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cg_perfmap;
struct cg_strpool;

/* The map of process `pid` (path /tmp/perf-PID.map), or of `path` when
 * not NULL.  Never fails for a missing file (it may appear later);
 * NULL only when out of memory. */
struct cg_perfmap *cg_perfmap_new(pid_t pid, const char *path, struct cg_strpool *strs);
void cg_perfmap_free(struct cg_perfmap *m);

/* The name of the code object holding `pc`, or NULL. */
const char *cg_perfmap_lookup(struct cg_perfmap *m, uint64_t pc);

/* The file path, for the frame's "file". */
const char *cg_perfmap_path(const struct cg_perfmap *m);

size_t cg_perfmap_entries(const struct cg_perfmap *m);

/* Parses one line; exposed for tests.  Returns 0 and the fields (name
 * points into `line`, trimmed, not NUL-terminated: *name_len), or -1. */
int cg_perfmap_parse_line(const char *line, size_t len, uint64_t *start, uint64_t *size,
                          const char **name, size_t *name_len);

#endif
