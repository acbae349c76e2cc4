/*
 * own_thread.c - the agent's threads start with libc's pthread_create and
 * every signal blocked, and wait on CLOCK_MONOTONIC (see own_thread.h).
 *
 * DESIGN: the new thread inherits the creator's mask, so the mask is
 * filled around the call and restored after it.  What it won't do: fall
 * back on the pthread_create symbol (our own wrapper) when the table has
 * no original.
 */
#include "core/base/own_thread.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

int cg_own_thread_start(const struct cg_real_fns *real, pthread_t *thread,
                        void *(*fn)(void *), void *arg)
{
    if (!real || !real->real_pthread_create)
        return -ENOSYS;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = real->real_pthread_create(thread, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc ? -rc : 0;
}

void cg_own_thread_cond_init(pthread_cond_t *cond)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &ca);
    pthread_condattr_destroy(&ca);
}

bool cg_own_thread_wait_done(pthread_cond_t *cond, pthread_mutex_t *lock, const bool *done,
                             uint64_t deadline_ns)
{
    struct timespec ts = {(time_t)(deadline_ns / 1000000000u), (long)(deadline_ns % 1000000000u)};
    int rc = 0;
    while (!*done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(cond, lock, &ts);
    return *done;
}
