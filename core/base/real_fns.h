/*
 * real_fns.h - the libc functions behind preload's wrappers, as a table of
 * pointers that preload/ fills (dlsym RTLD_NEXT) and passes down.
 *
 * libcgagent.so defines pthread_create, sigaction, signal, setitimer,
 * _exit and _Exit itself (preload/interpose.c).  Code below preload/ never
 * calls those names: a call from inside the library would bind to our own
 * wrapper, and a reader could not tell a call down from a call up.  It
 * calls the originals through this table, whose fields are named real_*
 * so that no one mistakes them for the wrappers.
 *
 * Owns: nothing; the table is plain data.  preload/interpose.c owns the
 * process's one instance (cg_real); others borrow a const pointer to it.
 * Thread safety: filled once before any agent thread exists, then
 * read-only; any thread may read it.
 * Signal safety: reading a pointer is async-signal-safe; whether the call
 * is depends on the function (real_exit is, real_pthread_create is not).
 */
#ifndef CG_REAL_FNS_H
#define CG_REAL_FNS_H

#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

typedef int cg_real_pthread_create_fn(pthread_t *thread, const pthread_attr_t *attr,
                                      void *(*start)(void *), void *arg);
typedef int cg_real_sigaction_fn(int signo, const struct sigaction *act, struct sigaction *old);
typedef sighandler_t cg_real_signal_fn(int signo, sighandler_t handler);
typedef int cg_real_setitimer_fn(int which, const struct itimerval *value,
                                 struct itimerval *old);
typedef void cg_real_exit_fn(int status); /* does not return */

struct cg_real_fns {
    cg_real_pthread_create_fn *real_pthread_create; /* threads the agent starts
                                                       must not be registered */
    cg_real_sigaction_fn *real_sigaction;   /* installs our own handler */
    cg_real_signal_fn *real_signal;
    cg_real_setitimer_fn *real_setitimer;
    cg_real_exit_fn *real_exit;             /* _exit, after the last flush */
};

#endif
