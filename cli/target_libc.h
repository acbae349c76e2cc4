/*
 * target_libc.h - which C library a program runs with, and which agent
 * library that calls for (`cgagent run`).
 *
 * A glibc agent preloaded into a musl program stops it before main (musl's
 * loader cannot find libc.so.6 and exits 127), and a musl agent preloaded
 * into a glibc program is refused by glibc's loader with an error line.
 * So `cgagent run`, the one entrypoint wrapper for every image, reads the
 * program's PT_INTERP (ld-musl-<arch>.so.1: musl; ld-linux-*: glibc) and
 * preloads the agent built for that libc.  An agent library's libc is
 * read from its DT_NEEDED entries (musl's libc.so, glibc's libc.so.6).
 *
 * Owns: nothing (reads files with pread; no allocation).
 * Thread safety: reentrant.
 * Signal safety: none.
 */
#ifndef CG_TARGET_LIBC_H
#define CG_TARGET_LIBC_H

#include <stddef.h>

enum cg_libc_kind {
    CG_LIBC_UNKNOWN = 0, /* static, not ELF, unreadable, or another loader */
    CG_LIBC_GLIBC = 1,
    CG_LIBC_MUSL = 2,
};

/* "glibc", "musl" or "unknown". */
const char *cg_libc_name(enum cg_libc_kind k);

/* The libc of the program `cmd` would start: found as execvp finds it (a
 * name without a slash through PATH), then its PT_INTERP; a script's is
 * its #! interpreter's (at most 4 levels).  An interpreter named for glibc
 * that is a link to musl's (Alpine's gcompat) counts as musl. */
enum cg_libc_kind cg_target_libc(const char *cmd);

/* The libc the shared library at `path` was linked against. */
enum cg_libc_kind cg_library_libc(const char *path);

/* The libc a program interpreter path names (its base name, and the base
 * name of what it links to). */
enum cg_libc_kind cg_interp_libc(const char *interp);

#endif
