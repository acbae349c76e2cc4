/*
 * bridge.h - what the preload shim (shim/shim.c, libcgagent.so) hands the
 * implementation (libcgagent-impl.so) it loads with RTLD_DEEPBIND.
 *
 * Why: with RTLD_DEEPBIND the implementation and the libraries it loads
 * look symbols up in their own scope before the program's, which is the
 * point (the agent's jansson, mbedTLS, expat, zlib, libunwind and
 * inih, never the program's copies: docs/security.md).  Two things must
 * still come from the program's scope:
 *   - the allocator: libc's own functions (strdup, getline, …) and any
 *     library the program already loaded allocate with the program's
 *     malloc (tcmalloc, jemalloc, …); the agent frees what they return,
 *     so it must use the same one.  bridge.c defines malloc and friends in
 *     the implementation, forwarding to these pointers.
 *   - environ: a program that refers to it (CPython does) has its own
 *     copy; libc updates that one, not the symbol a deep-bound library
 *     would see.
 * The shim fills the table by static initialisation, so it is complete
 * before any of the implementation's code or constructors run.
 *
 * Owns: the layout of cgagent_shim_bridge_1 (the shim defines the one
 * instance; the implementation reads it).
 * Thread safety: constant after the shim is loaded; any thread.
 * Signal safety: reading it is async-signal-safe; the allocator is not.
 */
#ifndef CG_PRELOAD_BRIDGE_H
#define CG_PRELOAD_BRIDGE_H

#include <stddef.h>

/* The implementation's file name, beside libcgagent.so. */
#define CG_IMPL_FILE "libcgagent-impl.so"

struct cg_shim_bridge {
    void *(*malloc)(size_t size);
    void (*free)(void *p);
    void *(*calloc)(size_t n, size_t size);
    void *(*realloc)(void *p, size_t size);
    int (*posix_memalign)(void **p, size_t align, size_t size);
    void *(*aligned_alloc)(size_t align, size_t size);
    void *(*memalign)(size_t align, size_t size);
    void *(*valloc)(size_t size);
    void *(*pvalloc)(size_t size);
    size_t (*malloc_usable_size)(void *p);
    char ***environ; /* the program's environ, the one libc updates */
};

/* Defined by the shim, exported into the global scope; the implementation
 * refuses to load without it (an undefined symbol fails its dlopen).  The
 * name carries the layout's version: a change to the struct changes the
 * name, so a shim and an agent from different builds fail to load, with
 * one line, instead of misreading the table. */
extern const struct cg_shim_bridge cgagent_shim_bridge_1;

#endif
