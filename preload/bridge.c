/*
 * bridge.c - the implementation's side of preload/bridge.h: built only
 * into libcgagent-impl.so, the library the shim loads deep-bound.
 *
 * DESIGN: RTLD_DEEPBIND puts the implementation's own scope (itself, then
 * its dependencies, libc among them) before the program's, so a call to
 * malloc from here, or from jansson or libunwind when we loaded
 * them, would reach libc's malloc even when the program runs tcmalloc or
 * jemalloc: while libc's own strdup, getline and realpath, and any library
 * the program had already loaded, allocate from the program's.  Freeing
 * one with the other corrupts the heap.  Defining the allocator here, the
 * first object of that scope, sends every one of those calls to the
 * program's allocator through the table the shim filled.  The constructor
 * points core/base/environ at the program's environ the same way; it runs
 * before preload.c's (priority 101), so the agent never sees the other.
 *
 * pipe2 and pipe are defined here for the same scope, for another reason:
 * libunwind's generic unwinder (libunwind-x86_64.so.8, loaded with us)
 * opens a memory-validation pipe at its first use and again whenever a
 * read on it fails, and keeps it for the life of the process.  Made where
 * the kernel puts it, it would take the lowest free numbers, 0 when the
 * program was started with stdin closed.  These make the pipe and move
 * both ends to the floor (core/base/fd_floor.h).  They reach only the
 * libraries loaded with the implementation and the agent itself: the
 * implementation is opened RTLD_LOCAL, so the program's own pipe2 calls
 * still go to libc, and so do those of libunwind.so.8, which the shim
 * loaded into the program's scope (preload.c initialises that one with
 * the low numbers held; docs/internals.md, "Descriptors").
 *
 * What it won't do: allocate, log, or hold state of its own.
 */
#include "preload/bridge.h"

#include "core/base/environ.h"
#include "core/base/fd_floor.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BRIDGE_EXPORT __attribute__((visibility("default")))

BRIDGE_EXPORT void *malloc(size_t size)
{
    return cgagent_shim_bridge_1.malloc(size);
}

BRIDGE_EXPORT void free(void *p)
{
    cgagent_shim_bridge_1.free(p);
}

BRIDGE_EXPORT void *calloc(size_t n, size_t size)
{
    return cgagent_shim_bridge_1.calloc(n, size);
}

BRIDGE_EXPORT void *realloc(void *p, size_t size)
{
    return cgagent_shim_bridge_1.realloc(p, size);
}

BRIDGE_EXPORT int posix_memalign(void **p, size_t align, size_t size)
{
    return cgagent_shim_bridge_1.posix_memalign(p, align, size);
}

BRIDGE_EXPORT void *aligned_alloc(size_t align, size_t size)
{
    return cgagent_shim_bridge_1.aligned_alloc(align, size);
}

BRIDGE_EXPORT void *memalign(size_t align, size_t size)
{
    return cgagent_shim_bridge_1.memalign(align, size);
}

BRIDGE_EXPORT void *valloc(size_t size)
{
    return cgagent_shim_bridge_1.valloc(size);
}

BRIDGE_EXPORT void *pvalloc(size_t size)
{
    return cgagent_shim_bridge_1.pvalloc(size);
}

BRIDGE_EXPORT size_t malloc_usable_size(void *p)
{
    return cgagent_shim_bridge_1.malloc_usable_size(p);
}

/* libc's pipe2 by its system call (a call to pipe2 would come back here),
 * then both ends at the floor, with the flags asked for (close-on-exec
 * only if asked).  Async-signal-safe, as pipe2 is. */
BRIDGE_EXPORT int pipe2(int fds[2], int flags)
{
    int pair[2];
    if (syscall(SYS_pipe2, pair, flags) != 0)
        return -1;
    int saved_errno = errno;
    pair[0] = cg_fd_raise(pair[0]);
    pair[1] = cg_fd_raise(pair[1]);
    if (!(flags & O_CLOEXEC)) { /* cg_fd_raise's are close-on-exec */
        fcntl(pair[0], F_SETFD, 0);
        fcntl(pair[1], F_SETFD, 0);
    }
    fds[0] = pair[0];
    fds[1] = pair[1];
    errno = saved_errno;
    return 0;
}

BRIDGE_EXPORT int pipe(int fds[2])
{
    return pipe2(fds, 0);
}

__attribute__((constructor(101))) static void bridge_init(void)
{
    cg_environ_use(cgagent_shim_bridge_1.environ);
}
