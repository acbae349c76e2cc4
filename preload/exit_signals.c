/*
 * exit_signals.c - the last period of a process killed by SIGTERM,
 * SIGINT or SIGHUP.
 *
 * DESIGN: `docker stop`, a pod deletion or Ctrl-C end most programs with
 * one of these signals at its default action, and a process dying by a
 * signal runs no destructor: its last period would be lost.  When the
 * agent starts and the program has left one of them at SIG_DFL, the agent
 * installs a handler of its own.  On the signal the handler asks the
 * agent thread to stop sampling, report and flush, exactly as the _exit
 * wrapper does (an atomic flag, a futex wake of the agent thread and a
 * bounded futex wait: async-signal-safe, at most the 5 s exit budget;
 * about 3 ms in all for a small profile), then restores SIG_DFL and
 * re-raises, so the process dies by the same signal with the same wait
 * status.
 *
 * The program must not see any of it: sigaction() and signal() (wrapped
 * in interpose.c) report SIG_DFL for a signal the agent holds, and the
 * moment the program installs a handler or SIG_IGN the agent's handler
 * is replaced by it for good.  Setting SIG_DFL keeps the agent's.  exec
 * resets caught signals to SIG_DFL, so a new image sees nothing either;
 * a fork child inherits the handler and flushes its own agent.
 *
 * A second signal during the flush (SA_NODEFER, empty sa_mask) kills at
 * once; a signal that comes when there is nothing to flush (nothing
 * recorded since the last report, no agent thread yet, a vfork child, the
 * agent already finished) kills at once.
 * If the signal interrupts a thread holding a lock the agent thread needs
 * (malloc's, say) the flush times out and the process dies with it lost.
 *
 * What it won't do: take a signal the program handles or ignores; catch
 * dispositions changed by a raw rt_sigaction system call, sigset() or
 * sysv_signal() (not wrapped); hide the handler from /proc/PID/status
 * (SigCgt).
 */
#include "preload/preload.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

/* The wrappers' helpers can run before a sanitizer runtime is initialised
 * (see interpose.c). */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define CG_NO_SANITIZE __attribute__((no_sanitize("thread", "address", "undefined")))
#else
#define CG_NO_SANITIZE
#endif

static const int exit_signals[] = {SIGTERM, SIGINT, SIGHUP};
#define N_EXIT_SIGNALS (sizeof(exit_signals) / sizeof(exit_signals[0]))

/* True while the agent's handler is installed for exit_signals[i] on the
 * program's behalf (the program believes it is SIG_DFL). */
static atomic_bool g_held[N_EXIT_SIGNALS];
/* Set by the first signal: later ones die at once. */
static atomic_bool g_flushing;

CG_NO_SANITIZE static int slot_of(int signo)
{
    for (size_t i = 0; i < N_EXIT_SIGNALS; i++)
        if (exit_signals[i] == signo)
            return (int)i;
    return -1;
}

static void die_by_signal_sigsafe(int signo)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    int i = slot_of(signo);
    if (i >= 0)
        atomic_store(&g_held[i], false);
    cg_real.real_sigaction(signo, &dfl, NULL);
    /* raise() is async-signal-safe; the signal is not blocked here
     * (SA_NODEFER), so the default action happens before it returns. */
    raise(signo);
    /* Still alive: the program blocked it in this thread's mask before we
     * ran (cannot be: it was delivered), or installed a handler in the
     * meantime.  Unblock, so it is delivered as it would have been. */
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, signo);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

static void on_exit_signal_sigsafe(int signo, siginfo_t *info, void *uc)
{
    (void)info;
    (void)uc;
    int saved_errno = errno;
    if (!atomic_exchange(&g_flushing, true))
        cg_preload_before_exit_sigsafe(); /* bounded: the _exit wrapper's wait */
    die_by_signal_sigsafe(signo);
    errno = saved_errno;
}

void cg_exit_signals_install(void)
{
    for (size_t i = 0; i < N_EXIT_SIGNALS; i++) {
        struct sigaction cur;
        if (cg_real.real_sigaction(exit_signals[i], NULL, &cur) != 0 ||
            cur.sa_handler != SIG_DFL)
            continue; /* the program's handler, or SIG_IGN: leave it */
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_exit_signal_sigsafe;
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        atomic_store(&g_held[i], true);
        if (cg_real.real_sigaction(exit_signals[i], &sa, NULL) != 0)
            atomic_store(&g_held[i], false);
    }
}

/* What the program believes is installed. */
CG_NO_SANITIZE static void as_default(struct sigaction *old)
{
    memset(old, 0, sizeof(*old));
    old->sa_handler = SIG_DFL;
    sigemptyset(&old->sa_mask);
}

CG_NO_SANITIZE bool cg_exit_signals_sigaction(int signo, const struct sigaction *act, struct sigaction *old,
                               int *rc)
{
    int i = slot_of(signo);
    if (i < 0 || !atomic_load(&g_held[i]))
        return false;
    if (act && act->sa_handler != SIG_DFL) {
        /* The program takes the signal (or ignores it): step aside. */
        atomic_store(&g_held[i], false);
        *rc = cg_real.real_sigaction(signo, act, old);
        if (*rc != 0)
            atomic_store(&g_held[i], true);
        else if (old)
            as_default(old);
        return true;
    }
    /* A query, or SIG_DFL: the agent's handler stays, the program sees
     * the default. */
    if (old)
        as_default(old);
    *rc = 0;
    return true;
}

CG_NO_SANITIZE bool cg_exit_signals_signal(int signo, sighandler_t handler, sighandler_t *prev)
{
    int i = slot_of(signo);
    if (i < 0 || !atomic_load(&g_held[i]) || handler == SIG_ERR)
        return false;
    if (handler == SIG_DFL) {
        *prev = SIG_DFL;
        return true;
    }
    atomic_store(&g_held[i], false);
    sighandler_t r = cg_real.real_signal(signo, handler);
    if (r == SIG_ERR) {
        atomic_store(&g_held[i], true);
        *prev = SIG_ERR;
    } else {
        *prev = SIG_DFL;
    }
    return true;
}
