/*
 * bridge.c - the implementation's side of preload/bridge.h: built only
 * into libcgagent-impl.so, the library the shim loads deep-bound.
 *
 * DESIGN: RTLD_DEEPBIND puts the implementation's own scope (itself, then
 * its dependencies, libc among them) before the program's, so a call to
 * malloc from here, or from jansson, libelf or libunwind when we loaded
 * them, would reach libc's malloc even when the program runs tcmalloc or
 * jemalloc: while libc's own strdup, getline and realpath, and any library
 * the program had already loaded, allocate from the program's.  Freeing
 * one with the other corrupts the heap.  Defining the allocator here, the
 * first object of that scope, sends every one of those calls to the
 * program's allocator through the table the shim filled.  The constructor
 * points core/base/environ at the program's environ the same way; it runs
 * before preload.c's (priority 101), so the agent never sees the other.
 *
 * What it won't do: allocate, log, or hold state of its own.
 */
#include "preload/bridge.h"

#include "core/base/environ.h"

#include <malloc.h>
#include <stdlib.h>

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

__attribute__((constructor(101))) static void bridge_init(void)
{
    cg_environ_use(cgagent_shim_bridge_1.environ);
}
