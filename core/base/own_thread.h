/*
 * own_thread.h - the agent's own threads (the agent thread, the upload
 * thread): how they start, and the condition variables they wait on.
 *
 * Such a thread is created with libc's pthread_create taken from the
 * table preload/ passes down (real_fns.h), never through our wrapper, so
 * it is not registered or sampled; and with every signal blocked, so it
 * never runs a signal handler of ours or of the application's, is never
 * interrupted mid-update, and a SIGPIPE from a socket stays pending there.
 *
 * Owns: nothing; the caller owns the pthread_t (and joins it), the
 * condition variable and its lock.
 * Thread safety: any thread (the caller's signal mask is restored before
 * returning).
 * Signal safety: not async-signal-safe (pthread_create).
 */
#ifndef CG_OWN_THREAD_H
#define CG_OWN_THREAD_H

#include "core/base/real_fns.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Starts fn(arg) on a new thread with every signal blocked, through
 * real->real_pthread_create.  Returns 0 or -errno. */
int cg_own_thread_start(const struct cg_real_fns *real, pthread_t *thread,
                        void *(*fn)(void *), void *arg);

/* Initialises a condition variable whose timed waits take CLOCK_MONOTONIC
 * deadlines, so a wall-clock step (NTP, the user) never stretches or cuts
 * a wait.  Destroy with pthread_cond_destroy. */
void cg_own_thread_cond_init(pthread_cond_t *cond);

/* With `lock` held: waits on `cond` (made by cg_own_thread_cond_init)
 * until *done is true or CLOCK_MONOTONIC reaches deadline_ns.  Returns
 * *done, read under the lock. */
bool cg_own_thread_wait_done(pthread_cond_t *cond, pthread_mutex_t *lock, const bool *done,
                             uint64_t deadline_ns);

#endif
