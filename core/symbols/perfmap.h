/*
 * perfmap.h - JIT symbol maps: /tmp/perf-PID.map, the text file that
 * Node.js (--perf-basic-prof), CPython >= 3.12 (PYTHONPERFSUPPORT=1, -X
 * perf) and JVM perf-map agents write so profilers can name code that
 * lives in no ELF file.
 *
 * Format: one "START SIZE NAME" line per code object, START and SIZE in hex
 * (with or without 0x), NAME the rest of the line.  The file is only ever
 * appended to; a later line for overlapping addresses wins (the JIT freed
 * the older code and reused its memory).
 *
 * Only a regular file (not a symlink) owned by the process's effective
 * user is read: /tmp is shared.  Reading: on the first lookup, then again
 * (only the appended bytes) on a lookup at least 100 ms after the last
 * check, if the file grew; a file that shrank or was replaced is read
 * afresh.  Bounded: lines over 4 KiB are skipped; of a backlog over 32 MiB
 * only the newest 32 MiB are read; at most `max_entries` code objects are
 * kept — when full, the ones a newer line overlaps go first, then the
 * oldest, down to half — and their names (deduplicated) in at most
 * `max_name_bytes`.
 *
 * Owns: the map owns its table and names.
 * Thread safety: one thread at a time (the agent thread).
 * Signal safety: none (it allocates and reads files).
 */
#ifndef CG_PERFMAP_H
#define CG_PERFMAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cg_perfmap;

struct cg_perfmap_options {
    const char *path;          /* NULL: /tmp/perf-PID.map (copied) */
    size_t max_entries;        /* 0: 131072 (4 MiB of table) */
    size_t max_name_bytes;     /* 0: 4 MiB */
    uint64_t (*clock_ns)(void); /* NULL: CLOCK_MONOTONIC; tests inject one */
};

/* The map of process `pid`.  Never fails for a missing file (it may
 * appear later); NULL only when out of memory.  `opts` may be NULL. */
struct cg_perfmap *cg_perfmap_new(pid_t pid, const struct cg_perfmap_options *opts);
void cg_perfmap_free(struct cg_perfmap *m);

/* The name of the code object holding `pc`, or NULL.  May read the file
 * first (see above).  The name belongs to the map and stays valid until
 * the next cg_perfmap_lookup or cg_perfmap_free: copy it to keep it. */
const char *cg_perfmap_lookup(struct cg_perfmap *m, uint64_t pc);

/* The file path. */
const char *cg_perfmap_path(const struct cg_perfmap *m);

/* Code objects held, and bytes of memory held (table and names). */
size_t cg_perfmap_entries(const struct cg_perfmap *m);
size_t cg_perfmap_bytes(const struct cg_perfmap *m);

/* Parses one line; exposed for tests.  Returns 0 and the fields (name
 * points into `line`, trimmed, not NUL-terminated: *name_len), or -1. */
int cg_perfmap_parse_line(const char *line, size_t len, uint64_t *start, uint64_t *size,
                          const char **name, size_t *name_len);

#endif
