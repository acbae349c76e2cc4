/*
 * own_thread.c - the agent's threads start with libc's pthread_create and
 * every signal blocked (see own_thread.h).
 *
 * DESIGN: the new thread inherits the creator's mask, so the mask is
 * filled around the call and restored after it.  What it won't do: fall
 * back on the pthread_create symbol (our own wrapper) when the table has
 * no original.
 */
#include "core/base/own_thread.h"

#include <errno.h>
#include <signal.h>

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
