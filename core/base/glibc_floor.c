/*
 * glibc_floor.c - the glibc functions the agent uses that glibc 2.17 does
 * not have, for the portable build only (make dist; dist/dist.mk).
 *
 * DESIGN: the portable build binds every glibc function to its oldest
 * version no newer than the floor (dist/glibc_pins.py).  A function that
 * appeared later (getrandom 2.25, explicit_bzero 2.25, strerrordesc_np
 * 2.32, stat and fstat as functions 2.33) has no such version, so this
 * file defines it (arc4random 2.36 too), hidden: the agent's and its bundled libraries' calls
 * bind here at link time, and nothing of it is exported.  Each definition
 * does what glibc's does, with the system call where there is one, so the
 * agent behaves the same on every glibc.  dist/check_portable.py fails the
 * build on any version newer than the floor that is left.
 *
 * Compiled empty in every other build (CG_GLIBC_FLOOR unset).
 *
 * Owns: nothing.
 * Thread safety: every function is reentrant.
 * Signal safety: getrandom, arc4random, explicit_bzero, stat, fstat, lstat and fstatat
 * are async-signal-safe (one system call, or stores); strerrordesc_np
 * reads a constant table.
 */
#ifdef CG_GLIBC_FLOOR

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FLOOR_FN __attribute__((visibility("hidden")))

FLOOR_FN ssize_t getrandom(void *buf, size_t len, unsigned int flags)
{
    return syscall(SYS_getrandom, buf, len, flags);
}

/* For the retry jitter (sts/aws_request.c): kernels before 3.17 have no
 * getrandom, where the clock's nanoseconds, mixed, are random enough to
 * spread retries (glibc's would abort there instead). */
FLOOR_FN uint32_t arc4random(void)
{
    uint32_t v;
    if (getrandom(&v, sizeof(v), 0) == (ssize_t)sizeof(v))
        return v;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_sec;
    return (uint32_t)(x >> 32);
}

/* The barrier keeps the compiler from dropping stores to memory that is
 * freed next, as glibc's does. */
FLOOR_FN void explicit_bzero(void *p, size_t n)
{
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

/* newfstatat exists on every architecture the agent builds for (AArch64
 * has no stat system call), and its struct stat is glibc's on both. */
FLOOR_FN int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
    return (int)syscall(SYS_newfstatat, dirfd, path, st, flags);
}

FLOOR_FN int stat(const char *path, struct stat *st)
{
    return fstatat(AT_FDCWD, path, st, 0);
}

FLOOR_FN int lstat(const char *path, struct stat *st)
{
    return fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}

FLOOR_FN int fstat(int fd, struct stat *st)
{
    return fstatat(fd, "", st, AT_EMPTY_PATH);
}

/* glibc's strerrordesc_np is the text strerror gives in the C locale,
 * never translated and never a buffer of the caller's; sys_errlist has
 * those texts since glibc 2.12 at a version the pins allow. */
extern const char *const sys_errlist[];
extern const int sys_nerr;

FLOOR_FN const char *strerrordesc_np(int err)
{
    if (err < 0 || err >= sys_nerr)
        return NULL;
    return sys_errlist[err];
}

#endif
