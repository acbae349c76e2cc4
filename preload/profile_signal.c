/*
 * profile_signal.c - what the program sees of SIGPROF while the agent's
 * handler holds it.
 *
 * Without the agent a program finds SIGPROF at SIG_DFL, and may set it to
 * SIG_DFL or SIG_IGN (a shell, a daemon resetting every signal, CPython's
 * signal module reading every disposition at start, its test suite).  Let
 * through, SIG_DFL would make the agent's next timer expiry kill the
 * process ("Profiling timer expired"), and a query would show the agent's
 * handler (CPython's signal.getsignal(SIGPROF) answered None).
 *
 * DESIGN: as exit_signals.c does for SIGTERM and friends, the sigaction
 * and signal wrappers keep a "program's view" of SIGPROF: queries report
 * it (SIG_DFL at first), SIG_DFL and SIG_IGN only change it, and the
 * agent's handler stays installed.  A handler of the program's own makes
 * the agent stand aside for good (interpose.c) and is installed for real;
 * from then on the wrappers pass everything through.  The one difference
 * left: a SIGPROF sent with kill() while the program "has" SIG_DFL is
 * ignored (the agent's handler drops signals that are not from its
 * timers) instead of ending the process.
 *
 * What it won't do: catch dispositions changed by a raw rt_sigaction
 * system call, sigset() or sysv_signal() (not wrapped).
 */
#include "preload/preload.h"

#include <signal.h>
#include <stdatomic.h>
#include <string.h>

/* True while the agent's handler is installed and the program has not
 * installed one of its own. */
static atomic_bool g_held;
/* The program's view: SIG_DFL or SIG_IGN, and the flags it gave. */
static _Atomic(sighandler_t) g_view_handler = SIG_DFL;
static atomic_int g_view_flags;

void cg_profile_signal_hold(void)
{
    atomic_store(&g_view_handler, SIG_DFL);
    atomic_store(&g_view_flags, 0);
    atomic_store(&g_held, true);
}

CG_NO_SANITIZE static void view(struct sigaction *old)
{
    memset(old, 0, sizeof(*old));
    old->sa_handler = atomic_load(&g_view_handler);
    old->sa_flags = atomic_load(&g_view_flags);
    sigemptyset(&old->sa_mask);
}

CG_NO_SANITIZE static bool is_default_or_ignore(sighandler_t h, int flags)
{
    return !(flags & SA_SIGINFO) && (h == SIG_DFL || h == SIG_IGN);
}

CG_NO_SANITIZE bool cg_profile_signal_sigaction(const struct sigaction *act,
                                                struct sigaction *old, int *rc)
{
    if (!atomic_load(&g_held))
        return false;
    if (act && !is_default_or_ignore(act->sa_handler, act->sa_flags)) {
        if (cg_preload_is_our_handler(act))
            return false; /* our own (re)installation */
        /* The program's handler: the caller stands aside and installs it. */
        struct sigaction before;
        view(&before);
        atomic_store(&g_held, false);
        *rc = cg_real.real_sigaction(CG_PROFILE_SIGNAL, act, NULL);
        if (*rc != 0)
            atomic_store(&g_held, true);
        else if (old)
            *old = before;
        return true;
    }
    struct sigaction before;
    view(&before);
    if (act) {
        atomic_store(&g_view_handler, act->sa_handler);
        atomic_store(&g_view_flags, act->sa_flags);
    }
    if (old)
        *old = before;
    *rc = 0;
    return true;
}

CG_NO_SANITIZE bool cg_profile_signal_signal(sighandler_t handler, sighandler_t *prev)
{
    if (!atomic_load(&g_held) || handler == SIG_ERR)
        return false;
    sighandler_t before = atomic_load(&g_view_handler);
    if (handler == SIG_DFL || handler == SIG_IGN) {
        atomic_store(&g_view_handler, handler);
        atomic_store(&g_view_flags, 0);
        *prev = before;
        return true;
    }
    atomic_store(&g_held, false);
    sighandler_t r = cg_real.real_signal(CG_PROFILE_SIGNAL, handler);
    if (r == SIG_ERR)
        atomic_store(&g_held, true);
    *prev = r == SIG_ERR ? SIG_ERR : before;
    return true;
}
