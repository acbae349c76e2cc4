/*
 * loaded_objects.h - the loaded objects as the agent thread last listed
 * them, so that the SIGPROF handler never asks musl's dynamic loader.
 *
 * musl's libc.so is also its dynamic loader, and one lock guards its list
 * of objects: dlopen holds it for writing from start to end (finding,
 * mapping and relocating the library), and dl_iterate_phdr takes it for
 * reading between objects.  libunwind calls dl_iterate_phdr whenever its
 * caches do not hold an address (its "cold path"), from the handler.  A
 * handler that interrupted a thread inside dlopen would wait forever for
 * its own thread; one that interrupted a thread holding any lock a dlopen
 * elsewhere needs (malloc's, in that dlopen's allocations) would wait for
 * that dlopen, which waits for it.  glibc's loader has separate locks and
 * the glibc build keeps only samples inside ld.so from unwinding
 * (preload/handler.c); on musl the loader's code is all of libc.
 *
 * So in the musl build (dist/musl.mk) every call of dl_iterate_phdr is
 * linked to __wrap_dl_iterate_phdr (ld --wrap; libunwind's calls included),
 * which answers from this list while the calling thread runs the SIGPROF
 * handler (core/base/thread_tls.h's CG_TLS_IN_HANDLER) and from the loader
 * everywhere else.  The list is append-only: musl never unloads an object
 * (its dlclose does nothing), so an object listed once stays mapped, and
 * the handler reads entries the agent thread published with a release
 * store of the count.  Objects dlopen'ed since the last refresh are
 * missing until the agent thread's next drain refreshes it: libunwind
 * then finds no unwind table for their frames there (a shorter stack, or
 * the frame-rule walk, which steps from the agent's copies of the tables).
 *
 * Owns: a fixed table of CG_LOADED_OBJECTS_MAX entries (static storage).
 * Thread safety: one writer, cg_loaded_objects_refresh() (the constructor,
 * then the agent thread), serialised by a mutex; any number of readers.
 * Signal safety: cg_loaded_objects_iterate_sigsafe() is async-signal-safe
 * and lock-free; the wrapper is in the handler; refresh is not
 * (dl_iterate_phdr).
 */
#ifndef CG_LOADED_OBJECTS_H
#define CG_LOADED_OBJECTS_H

#include <link.h>
#include <stddef.h>

/* Objects listed at most; later ones stay unknown to the handler. */
#define CG_LOADED_OBJECTS_MAX 1024

typedef int cg_phdr_callback_fn(struct dl_phdr_info *info, size_t size, void *data);

/* Appends the objects the loader lists that the table does not hold yet.
 * Returns the number of objects held, or CG_EFULL when some did not fit
 * (logged once, at info level: nothing to fix). */
int cg_loaded_objects_refresh(void);

/* dl_iterate_phdr's contract over the table: calls fn for each object in
 * load order until it returns non-zero, and returns that value (0 after
 * the last).  dlpi_adds is the number of objects held; dlpi_subs is 0;
 * there is no TLS information (dlpi_tls_modid 0, dlpi_tls_data NULL). */
int cg_loaded_objects_iterate_sigsafe(cg_phdr_callback_fn *fn, void *data);

/* Objects held. */
size_t cg_loaded_objects_count(void);

#ifdef CG_MUSL
/* The musl build's dl_iterate_phdr (ld --wrap=dl_iterate_phdr): the table
 * in the SIGPROF handler, the loader elsewhere. */
int __wrap_dl_iterate_phdr(cg_phdr_callback_fn *fn, void *data);
#endif

#endif
