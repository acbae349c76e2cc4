/*
 * thread_tls.h - the agent's one initial-exec thread-local: a word per
 * thread that points at the thread's block and carries three flags.
 *
 * Why one word: initial-exec thread-locals of a library loaded after the
 * program started (the shim dlopen's the agent) come out of glibc's small
 * static-TLS surplus, shared with every library the program itself opens
 * later; a program whose library needs initial-exec TLS fails to load it
 * ("cannot allocate memory in static TLS block") once the surplus is
 * spent.  So the agent takes 8 bytes of it, in every process, and keeps
 * its per-thread state in ordinary memory the word points at.
 * Initial-exec, not the general-dynamic model: a general-dynamic read goes
 * through __tls_get_addr, which may allocate on a thread's first use, and
 * the signal handlers read the word.
 *
 * The word:
 *   - bits 3..63: the calling thread's block (struct cg_thread_block,
 *     core/sample/threads.h: it lives in the thread's slot of the
 *     registry, allocated by the agent), or NULL when the thread has none
 *     yet (the SIGPROF handler then finds the slot by tid and caches it);
 *   - CG_TLS_OWN: the thread is one of the agent's own
 *     (core/base/own_thread.h);
 *   - CG_TLS_FORK_UNBLOCK: set by the fork prepare handler when it
 *     blocked the profiling signal, so that the parent and child handlers
 *     on the same thread unblock it again (preload/preload.c);
 *   - CG_TLS_IN_HANDLER: the SIGPROF handler runs on this thread, its
 *     re-entry guard (preload/handler.c).  Here rather than in the block:
 *     the word's line is hot (it sits by the thread's TCB, which libc
 *     touches all the time), while a store to a slot line the handler
 *     does not otherwise write costs a cache miss in every sample.
 * A block pointer is a cache: it is trusted only with its owner checked
 * (cg_thread_block.owner == cg_thread_tls_self()).
 *
 * Owns: the calling thread's word (nothing it points at).
 * Thread safety: each thread reads and writes only its own word.  A
 * signal handler on the same thread may run between a caller's read and
 * write of it: the SIGPROF handler leaves CG_TLS_IN_HANDLER as it found
 * it, callers that change the other flags do it with the profiling signal
 * blocked (or, on own threads, every signal), and a block the handler
 * cached is the one the caller sets anyway.
 * Signal safety: everything here is async-signal-safe (a load or a store
 * of the calling thread's static TLS; no call, no allocation).
 */
#ifndef CG_THREAD_TLS_H
#define CG_THREAD_TLS_H

#include <stdbool.h>
#include <stdint.h>

struct cg_thread_block;

#define CG_TLS_OWN ((uintptr_t)1)
#define CG_TLS_FORK_UNBLOCK ((uintptr_t)2)
#define CG_TLS_IN_HANDLER ((uintptr_t)4)
#define CG_TLS_FLAGS (CG_TLS_OWN | CG_TLS_FORK_UNBLOCK | CG_TLS_IN_HANDLER)

/* The word; use the functions below. */
extern __thread uintptr_t cg_thread_tls_word __attribute__((tls_model("initial-exec")));

/* The calling thread's block, or NULL. */
static inline struct cg_thread_block *cg_thread_tls_block(void)
{
    return (struct cg_thread_block *)(cg_thread_tls_word & ~CG_TLS_FLAGS);
}

/* Points the calling thread's word at `block` (NULL: none), flags kept.
 * `block` must be aligned to 8 bytes at least (threads.h checks). */
static inline void cg_thread_tls_set_block(struct cg_thread_block *block)
{
    cg_thread_tls_word = (cg_thread_tls_word & CG_TLS_FLAGS) | (uintptr_t)block;
}

/* Whether the calling thread's word has `flag` (one of CG_TLS_FLAGS). */
static inline bool cg_thread_tls_has(uintptr_t flag)
{
    return (cg_thread_tls_word & flag) != 0;
}

/* Sets or clears `flag` in the calling thread's word. */
static inline void cg_thread_tls_set_flag(uintptr_t flag, bool on)
{
    uintptr_t w = cg_thread_tls_word;
    cg_thread_tls_word = on ? (w | flag) : (w & ~flag);
}

/* A value that tells the calling thread apart from every other live
 * thread of the process: the address of its word.  A thread's word is in
 * its own static TLS, so no two live threads share it (a new thread may
 * get an old one's, after that one ended); a fork child's thread keeps
 * the forking thread's.  The agent records it in a block to say whose the
 * block is. */
static inline const void *cg_thread_tls_self(void)
{
    return (const void *)&cg_thread_tls_word;
}

#endif
