/*
 * own_thread.h - starting one of the agent's own threads (the agent
 * thread, the upload thread).
 *
 * Such a thread is created with libc's pthread_create taken from the
 * table preload/ passes down (real_fns.h), never through our wrapper, so
 * it is not registered or sampled; and with every signal blocked, so it
 * never runs a signal handler of ours or of the application's, is never
 * interrupted mid-update, and a SIGPIPE from a socket stays pending there.
 *
 * Owns: nothing; the caller owns the pthread_t and joins it.
 * Thread safety: any thread (the caller's signal mask is restored before
 * returning).
 * Signal safety: not async-signal-safe (pthread_create).
 */
#ifndef CG_OWN_THREAD_H
#define CG_OWN_THREAD_H

#include "core/base/real_fns.h"

#include <pthread.h>

/* Starts fn(arg) on a new thread with every signal blocked, through
 * real->real_pthread_create.  Returns 0 or -errno. */
int cg_own_thread_start(const struct cg_real_fns *real, pthread_t *thread,
                        void *(*fn)(void *), void *arg);

#endif
