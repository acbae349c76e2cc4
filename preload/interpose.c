/*
 * interpose.c - the libc entry points libcgagent.so wraps.
 *
 * DESIGN: each wrapper forwards to the real function (dlsym RTLD_NEXT)
 * and does one small thing around it:
 *   pthread_create  runs the new thread through a trampoline that
 *                   registers it (ring + CPU timer) and unblocks SIGPROF;
 *   sigaction/signal when the application installs its own SIGPROF
 *                   handler, the agent stands aside first; for
 *                   SIGTERM/SIGINT/SIGHUP held by the agent
 *                   (exit_signals.c) the program sees SIG_DFL and the
 *                   agent steps aside when it installs its own;
 *                   while the Java walk's fault guard holds SIGSEGV and
 *                   SIGBUS, the program (and the JVM's -Xcheck:jni) sees
 *                   the JVM's handlers there (core/runtime/jvm.h);
 *   setitimer       when the application arms ITIMER_PROF, likewise;
 *   _exit, _Exit    the last period is reported (bounded, signal-safe)
 *                   before the process goes: fork children of servers
 *                   often leave this way, skipping exit() and destructors.
 *
 * What it won't do: wrap dlopen/dlclose.  glibc's dlopen finds the
 * caller's RUNPATH and $ORIGIN from its return address, so a wrapper
 * would make every plugin load look like it came from libcgagent.so.
 * Library loads are noticed through dl_iterate_phdr's dlpi_adds/subs.
 *
 * Exports: these six names and python.c's mprotect, nothing
 * else (libcgagent.map).  The
 * version script is anonymous: a named version would stop the loader from
 * binding programs' versioned references (pthread_create@GLIBC_2.34) to us.
 */
#include "preload/preload.h"

#include "core/base/log.h"
#include "core/base/own_thread.h"
#include "core/runtime/jvm.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>


struct cg_real_fns cg_real;
/* A whole lookup has been made (by the constructor at the latest). */
static atomic_bool g_resolved_once;

CG_NO_SANITIZE bool cg_real_resolve(void)
{
    /* dlsym is not async-signal-safe (the loader's lock, dlerror's
     * buffer), and sigaction, signal and _exit are: a program may call
     * them from its own signal handlers.  So libc's functions are looked
     * up once, by the first caller (the constructor, or a wrapper called
     * before it, from another library's constructor); after that the
     * answer stands and no wrapper reaches dlsym again. */
    if (atomic_load_explicit(&g_resolved_once, memory_order_acquire))
        goto out;
    /* Idempotent and race-free enough: every thread stores the same
     * values; the pointers are written before any reader needs them. */
    if (!cg_real.real_pthread_create)
        cg_real.real_pthread_create = dlsym(RTLD_NEXT, "pthread_create");
    if (!cg_real.real_sigaction)
        cg_real.real_sigaction = dlsym(RTLD_NEXT, "sigaction");
    if (!cg_real.real_signal)
        cg_real.real_signal = dlsym(RTLD_NEXT, "signal");
    if (!cg_real.real_setitimer)
        cg_real.real_setitimer = dlsym(RTLD_NEXT, "setitimer");
    if (!cg_real.real_exit)
        *(void **)&cg_real.real_exit = dlsym(RTLD_NEXT, "_exit");
    atomic_store_explicit(&g_resolved_once, true, memory_order_release);
out:
    return cg_real.real_pthread_create && cg_real.real_sigaction && cg_real.real_signal &&
           cg_real.real_setitimer;
}

struct start_args {
    void *(*fn)(void *);
    void *arg;
};

static void *trampoline(void *p)
{
    struct start_args sa = *(struct start_args *)p;
    free(p);
    cg_lifetime_thread_started();
    cg_preload_thread_started();
    return sa.fn(sa.arg);
}

CG_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                             void *(*start)(void *), void *arg)
{
    if (!cg_real.real_pthread_create && !cg_real_resolve() && !cg_real.real_pthread_create)
        return EAGAIN;
    if (!atomic_load(&cg_preload_agent))
        return cg_real.real_pthread_create(thread, attr, start, arg);
    /* libcurl's resolver started from the upload thread: the agent's own,
     * never sampled, never keeping the process alive (lifetime.c). */
    if (cg_own_thread_is_current())
        return cg_own_thread_create_child(&cg_real, thread, attr, start, arg);
    struct start_args *sa = malloc(sizeof(*sa));
    if (!sa) /* the thread still runs; the agent's task scan finds it */
        return cg_real.real_pthread_create(thread, attr, start, arg);
    sa->fn = start;
    sa->arg = arg;
    bool counted = cg_lifetime_thread_creating();
    int rc = cg_real.real_pthread_create(thread, attr, trampoline, sa);
    if (rc != 0) {
        free(sa);
        if (counted)
            cg_lifetime_thread_not_created();
    }
    return rc;
}

CG_NO_SANITIZE static bool takes_profile_signal(int signo, const struct sigaction *act)
{
    if (signo != CG_PROFILE_SIGNAL || !act)
        return false;
    if (!(act->sa_flags & SA_SIGINFO) &&
        (act->sa_handler == SIG_DFL || act->sa_handler == SIG_IGN))
        return false;
    return !cg_preload_is_our_handler(act);
}

CG_EXPORT int sigaction(int signo, const struct sigaction *act, struct sigaction *old)
{
    if (!cg_real.real_sigaction && !cg_real_resolve() && !cg_real.real_sigaction) {
        errno = ENOSYS;
        return -1;
    }
    if (takes_profile_signal(signo, act))
        cg_preload_app_took_signal("the application installed its own SIGPROF handler");
    int rc;
    if (signo == CG_PROFILE_SIGNAL && cg_profile_signal_sigaction(act, old, &rc))
        return rc;
    if (cg_exit_signals_sigaction(signo, act, old, &rc))
        return rc;
    if (cg_jvm_guard_sigaction(signo, act, old, &rc))
        return rc;
    return cg_real.real_sigaction(signo, act, old);
}

CG_EXPORT sighandler_t signal(int signo, sighandler_t handler)
{
    if (!cg_real.real_signal && !cg_real_resolve() && !cg_real.real_signal) {
        errno = ENOSYS;
        return SIG_ERR;
    }
    if (signo == CG_PROFILE_SIGNAL && handler != SIG_DFL && handler != SIG_IGN &&
        handler != SIG_ERR)
        cg_preload_app_took_signal("the application installed its own SIGPROF handler");
    sighandler_t prev;
    if (signo == CG_PROFILE_SIGNAL && cg_profile_signal_signal(handler, &prev))
        return prev;
    if (cg_exit_signals_signal(signo, handler, &prev))
        return prev;
    if (cg_jvm_guard_signal(signo, handler, &prev))
        return prev;
    return cg_real.real_signal(signo, handler);
}

/* glibc's prototype names the timer with its own enum type; musl's, as
 * POSIX does, with an int. */
#ifdef __GLIBC__
typedef __itimer_which_t cg_itimer_which;
#else
typedef int cg_itimer_which;
#endif

CG_EXPORT int setitimer(cg_itimer_which which, const struct itimerval *value,
                        struct itimerval *old)
{
    if (!cg_real.real_setitimer && !cg_real_resolve() && !cg_real.real_setitimer) {
        errno = ENOSYS;
        return -1;
    }
    if (which == ITIMER_PROF && value &&
        (value->it_value.tv_sec || value->it_value.tv_usec))
        cg_preload_app_took_signal("the application armed ITIMER_PROF");
    return cg_real.real_setitimer(which, value, old);
}

/* Both names: programs call either, and glibc's own internal calls (from
 * exit(), posix_spawn children) do not come through here. */
static __attribute__((noreturn)) CG_NO_SANITIZE void exit_after_flush(int status)
{
    cg_preload_before_exit_sigsafe();
    if (cg_real.real_exit)
        cg_real.real_exit(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

CG_EXPORT void _exit(int status)
{
    exit_after_flush(status);
}

CG_EXPORT void _Exit(int status)
{
    exit_after_flush(status);
}
