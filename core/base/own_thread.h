/*
 * own_thread.h - the agent's own threads (the agent thread, the upload
 * thread, and the threads they make, such as libcurl's resolvers): how
 * they start, how they are told apart from the program's, and the
 * condition variables they wait on.
 *
 * Such a thread is created with libc's pthread_create taken from the
 * table preload/ passes down (real_fns.h), never through our wrapper, so
 * it is not registered or sampled; and with every signal blocked, so it
 * never runs a signal handler of ours or of the application's, is never
 * interrupted mid-update, and a SIGPIPE from a socket stays pending there.
 *
 * Own threads must never keep the process alive (docs/internals.md,
 * "Process lifetime"): each one records its kernel tid in a fixed table
 * from its first instruction to its last, so that a scan of
 * /proc/self/task can tell whether any of the program's threads is left.
 *
 * Owns: the table of own threads' tids and the meaning of the "own" flag
 * (CG_TLS_OWN in the thread's word, core/base/thread_tls.h); the caller
 * owns the pthread_t (and joins it), the condition variable and its lock.
 * Thread safety: any thread (the caller's signal mask is restored before
 * returning); the table is lock-free.
 * Signal safety: cg_own_thread_is_current and cg_own_thread_is_tid are
 * async-signal-safe; nothing else here is.
 */
#ifndef CG_OWN_THREAD_H
#define CG_OWN_THREAD_H

#include "core/base/real_fns.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Starts fn(arg) on a new own thread with every signal blocked, through
 * real->real_pthread_create.  Returns 0 or -errno. */
int cg_own_thread_start(const struct cg_real_fns *real, pthread_t *thread,
                        void *(*fn)(void *), void *arg);

/* For the pthread_create wrapper when the caller is an own thread (libcurl
 * starting a resolver from the upload thread): the new thread is own too.
 * Same arguments and result as pthread_create (an errno value). */
int cg_own_thread_create_child(const struct cg_real_fns *real, pthread_t *thread,
                               const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

/* True on an own thread. */
bool cg_own_thread_is_current(void);

/* True when tid is a live own thread of this process. */
bool cg_own_thread_is_tid(pid_t tid);

/* True when every live task of the process but the caller is an own
 * thread or a zombie (the main thread after pthread_exit stays one until
 * the process ends).  Reads /proc/self/task; false when it cannot be
 * read, or when a thread starting right now has not yet recorded itself:
 * a "false" is never wrong in the harmful direction. */
bool cg_own_threads_alone(void);

/* Fork child: the parent's own threads do not exist here. */
void cg_own_threads_forget_in_child(void);

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
