/*
 * fd_floor.h - keeping the agent's long-lived file descriptors out of the
 * numbers the program expects to get.
 *
 * open(), socket() and pipe() return the lowest free number.  A program
 * started with 0, 1 or 2 closed expects its next open() to fill that
 * slot (CPython, daemons, shells rely on it), and any program can count
 * on the numbers it has not opened being free.  A descriptor the agent
 * keeps (its log file, libcurl's keep-alive sockets, libunwind's
 * memory-validation pipes) is therefore moved to CG_FD_FLOOR or above as
 * soon as it is made (docs/internals.md, "Descriptors").
 *
 * Owns: nothing; the caller owns every descriptor passed in or returned.
 * Thread safety: any thread; but cg_fd_run_above_floor changes what other
 * threads' open() returns while it runs: only where no other thread runs
 * (see there).
 * Signal safety: cg_fd_floor and cg_fd_raise are async-signal-safe
 * (fcntl, close and prlimit, nothing else; errno is preserved);
 * cg_fd_run_above_floor is not meant for a handler.
 */
#ifndef CG_FD_FLOOR_H
#define CG_FD_FLOOR_H

/* Where the agent's descriptors go: at or above this number, below which
 * programs rarely reach (the shells' highest redirection fd is 9; most
 * programs never hold 100 files). */
#define CG_FD_FLOOR 100

/* The floor in this process: CG_FD_FLOOR; under a soft RLIMIT_NOFILE of
 * 2 * CG_FD_FLOOR or less, half the limit; never below 3, so that a
 * descriptor of ours never takes the place of stdin, stdout or stderr.
 * Read afresh at each call (the program may change its limit). */
int cg_fd_floor(void);

/* Moves `fd`, a descriptor the agent opened, to the lowest free number at
 * or above cg_fd_floor() (fcntl F_DUPFD_CLOEXEC) and closes the original.
 * When every number from the floor up to the limit is taken, it settles
 * for the lowest free number above 2; when even that fails (or fd is
 * already at or above the floor), fd itself is kept.  Whatever is
 * returned is close-on-exec.  A negative fd is returned unchanged, so
 * `cg_fd_raise(open(...))` keeps open's error.  Returns the descriptor to
 * use from now on; `fd` must not be used again unless it is returned. */
int cg_fd_raise(int fd);

/* Runs fn(arg) with every free descriptor below cg_fd_floor() held (dups
 * of one anonymous pipe), so that whatever fn opens lands at or above the
 * floor, then frees them; the first 8 numbers fn could get are made
 * close-on-exec afterwards.  For a library whose descriptors we cannot
 * move afterwards because it keeps their numbers in its own variables
 * and whose calls we cannot redirect (libunwind.so.8's validation pipe:
 * it lives in the program's scope).  While fn runs, another thread's
 * open() gets a number at or above the floor too, and may then be made
 * close-on-exec: so only where no other thread runs, the constructor.
 * (libcurl's wakeup socketpair was made under it on the upload thread,
 * and moved and marked the program's concurrent opens; its socket calls
 * are redirected instead: core/base/curl_load.c.)  A placeholder another
 * thread replaced with dup2() is left open.  Costs about three system
 * calls per free number below the floor (35 us for 97 here).  Returns 0;
 * or -errno when the numbers could not all be held (fn still runs, and
 * may get low numbers). */
int cg_fd_run_above_floor(void (*fn)(void *arg), void *arg);

#endif
