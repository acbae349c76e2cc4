/*
 * fd_floor.c - the agent's descriptors at or above a floor (fd_floor.h).
 *
 * DESIGN: the kernel has no "open at or above N"; only dup does
 * (F_DUPFD_CLOEXEC).  So a descriptor we keep is made where the kernel
 * puts it, the lowest free number, and moved at once (cg_fd_raise).  That
 * is two more system calls per descriptor, and a moment during which the
 * low number is ours: a program thread that opens in that moment gets the
 * next number instead, just as it would if we had opened a short-lived
 * file then.
 *
 * A library that keeps a descriptor's number in its own variables cannot
 * have it moved; cg_fd_run_above_floor instead holds every free number
 * below the floor while the library makes it.  The placeholders are dups
 * of one anonymous pipe, so each can be told from anything another
 * thread put at its number meanwhile, which is left alone; but what
 * another thread opens meanwhile lands above the floor, and may be among
 * the numbers marked close-on-exec after: it is for the constructor,
 * before the program's threads run.  A library loaded by the agent itself
 * has its calls redirected instead (core/base/curl_load.c).
 *
 * cg_fd_raise is async-signal-safe: fcntl and close are on the list, and
 * the limit is read with the raw prlimit64 system call (getrlimit is not
 * on the list).  It runs wherever a library loaded with the agent makes a
 * pipe (preload/bridge.c), which need not be an ordinary context.
 *
 * What it won't do: move a descriptor down, close one it did not make or
 * was not given, or allocate.
 */
#include "core/base/fd_floor.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The soft RLIMIT_NOFILE, or 0 when it cannot be read. */
static uint64_t nofile_limit(void)
{
    struct rlimit64 rl;
    if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) != 0)
        return 0;
    return rl.rlim_cur;
}

static int floor_for(uint64_t limit)
{
    if (limit == 0 || limit > 2u * CG_FD_FLOOR) /* unknown, or room enough */
        return CG_FD_FLOOR;
    return limit / 2 > 3 ? (int)(limit / 2) : 3;
}

int cg_fd_floor(void)
{
    int saved_errno = errno;
    int floor = floor_for(nofile_limit());
    errno = saved_errno;
    return floor;
}

/* Sets close-on-exec on fd (kept where it is). */
static void set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && !(fl & FD_CLOEXEC))
        fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

int cg_fd_raise(int fd)
{
    if (fd < 0)
        return fd;
    int saved_errno = errno;
    int floor = cg_fd_floor();
    int moved = -1;
    if (fd < floor)
        moved = fcntl(fd, F_DUPFD_CLOEXEC, floor);
    /* Every number from the floor to the limit taken (EMFILE), or the
     * floor not below the limit (EINVAL): at least leave 0, 1 and 2 to
     * the program. */
    if (moved < 0 && fd < 3)
        moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (moved >= 0) {
        close(fd);
        fd = moved;
    } else {
        set_cloexec(fd);
    }
    errno = saved_errno;
    return fd;
}

/* How many of the descriptors fn makes cg_fd_run_above_floor marks
 * close-on-exec (a library that makes more is not one we run this for). */
#define RUN_MARKED 8

/* Closes fd if it is still one of the placeholders (the same pipe): a
 * thread that dup2()'d one of its own descriptors onto that number keeps
 * it. */
static void release(int fd, const struct stat *placeholder)
{
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_dev == placeholder->st_dev &&
        st.st_ino == placeholder->st_ino)
        close(fd);
}

int cg_fd_run_above_floor(void (*fn)(void *arg), void *arg)
{
    int saved_errno = errno;
    int floor = cg_fd_floor();
    int held[CG_FD_FLOOR + 2];
    int next[RUN_MARKED]; /* the lowest free numbers from the floor up */
    int n = 0, n_next = 0, rc = 0;
    /* The placeholders are one anonymous pipe, which no one else can
     * name: its two ends, then dups of its read end.  The system call,
     * not pipe2: the split build's pipe2 (preload/bridge.c) would move
     * the ends to the floor. */
    int pair[2];
    struct stat placeholder;
    if (syscall(SYS_pipe2, pair, O_CLOEXEC) != 0) {
        rc = -errno;
    } else if (fstat(pair[0], &placeholder) != 0) {
        rc = -errno;
        close(pair[0]);
        close(pair[1]);
    } else {
        held[n++] = pair[0];
        held[n++] = pair[1];
        while (n < CG_FD_FLOOR + 2) {
            int fd = fcntl(pair[0], F_DUPFD_CLOEXEC, 0);
            if (fd < 0) {
                rc = -errno;
                break;
            }
            if (fd >= floor) { /* every number below the floor is held */
                close(fd);
                break;
            }
            held[n++] = fd;
        }
        /* Where fn's descriptors will go, taken and given back at once. */
        while (n_next < RUN_MARKED) {
            int fd = fcntl(pair[0], F_DUPFD_CLOEXEC, floor);
            if (fd < 0)
                break;
            next[n_next++] = fd;
        }
        for (int i = 0; i < n_next; i++)
            close(next[i]);
    }
    fn(arg);
    for (int i = 0; i < n_next; i++)
        set_cloexec(next[i]);
    while (n > 0)
        release(held[--n], &placeholder);
    errno = saved_errno;
    return rc;
}
