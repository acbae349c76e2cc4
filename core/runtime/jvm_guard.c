/*
 * jvm_guard.c - the SIGSEGV/SIGBUS guard around AsyncGetCallTrace, and
 * what the program (and the JVM's own checks) see of those two signals
 * while it is installed (docs/java.md, "Failed walks").
 *
 * DESIGN: AsyncGetCallTrace can fault on an inconsistent frame, a known,
 * rare HotSpot failure.  At attach a handler goes in front of the VM's
 * for SIGSEGV and SIGBUS, with the VM's own mask and flags.  It jumps
 * back out of the walk (jvm_sample.c, "[Java: walk faulted]") only when
 * both hold:
 *   - the fault is on a thread inside the guarded call: around it the
 *     walk points the thread's block (core/sample/threads.h, found through
 *     the agent's one thread-local and trusted only when its owner is the
 *     faulting thread) at its jump buffer, and the SIGPROF handler that
 *     makes the call blocks every asynchronous signal (preload/preload.c), so
 *     no other handler of the program runs nested inside the call and has
 *     its own fault taken for ours;
 *   - the faulting instruction is in libjvm's executable segments, found
 *     once at attach (dl_iterate_phdr in jvm.c), never in the handler.
 * Every other fault goes to the handler it replaced, the VM's, which
 * needs them (implicit null checks, safepoint polls, the SafeFetch stubs
 * it resumes) and reports real crashes: a fault in the program's code,
 * in a library or in code the VM generated is never swallowed.
 *
 * What the program sees: with -Xcheck:jni HotSpot checks, every few
 * milliseconds (os::run_periodic_checks), that its SIGSEGV, SIGBUS, ...
 * handlers and flags are still the ones it installed, and prints
 * "Warning: SIGSEGV handler modified!" and every handler if not.  It
 * reads them through dlsym(RTLD_DEFAULT, "sigaction"), on purpose the
 * first definition in the process's scope so that libjsig's interposer
 * answers: in a preloaded process that is the agent's sigaction wrapper
 * (preload/interpose.c), which asks cg_jvm_guard_sigaction first.  A
 * query of SIGSEGV or SIGBUS answers the VM's action, the one the
 * kernel held before the guard: the check, hs_err's handler list and the
 * program all see what they would see without the agent.  The guard
 * stays on under -Xcheck:jni (leaving it off there would cost those runs
 * their protection; installing it around each call, a sigaction pair per
 * sample).  Installing a handler for either signal (the program, a JNI
 * library, the VM's crash reporting) replaces the guard for that signal
 * for good: the new handler is installed as asked, the caller is told the
 * VM's was there, and walks go on without a guard for that signal.
 * What it won't do: look anything up, allocate or log in the handler;
 * hide the guard from a raw rt_sigaction system call.
 */
#include "core/runtime/jvm_internal.h"
#include "core/sample/ucontext_regs.h"

#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>

/* The wrappers call in here, and a sanitizer runtime's own start-up calls
 * sigaction before it is ready (as preload/preload.h's CG_NO_SANITIZE). */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define NO_SANITIZE __attribute__((no_sanitize("thread", "address", "undefined")))
#else
#define NO_SANITIZE
#endif

/* Index 0 is SIGSEGV, 1 SIGBUS.  The VM's actions are written once before
 * the guard is installed and never change. */
static struct sigaction g_vm_action[2];
/* Our handler holds the signal and nobody replaced it: queries are
 * answered with the VM's action. */
static atomic_bool g_guarding[2];
static struct jvm_text g_text[CG_JVM_TEXT_MAX];
static size_t g_n_text;
static cg_real_sigaction_fn *g_real_sigaction;
static cg_real_signal_fn *g_real_signal;

NO_SANITIZE static int index_of(int signo)
{
    return signo == SIGSEGV ? 0 : signo == SIGBUS ? 1 : -1;
}

static bool in_libjvm_sigsafe(uintptr_t pc)
{
    for (size_t i = 0; i < g_n_text; i++)
        if (pc >= g_text[i].start && pc < g_text[i].end)
            return true;
    return false;
}

static void chain_sigsafe(const struct sigaction *old, int signo, siginfo_t *info, void *uc)
{
    if (old->sa_flags & SA_SIGINFO) {
        if (old->sa_sigaction)
            old->sa_sigaction(signo, info, uc);
        return;
    }
    if (old->sa_handler == SIG_IGN)
        return;
    if (old->sa_handler == SIG_DFL) {
        /* Restore the default and return: the fault repeats and kills the
         * process as it would have without us. */
        g_real_sigaction(signo, old, NULL);
        return;
    }
    old->sa_handler(signo);
}

static void fault_sigsafe(int signo, siginfo_t *info, void *uc)
{
    struct cg_thread_block *block = cg_jvm_thread_block_sigsafe();
    sigjmp_buf *walk = block ? block->jvm_walk_jmp : NULL;
    if (walk && in_libjvm_sigsafe(cg_ucontext_pc_sigsafe(uc))) {
        /* SIGSEGV/SIGBUS are blocked while this handler runs; unblock them
         * before leaving it by a jump, or the next fault of the VM's own
         * would kill the thread. */
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGSEGV);
        sigaddset(&s, SIGBUS);
        pthread_sigmask(SIG_UNBLOCK, &s, NULL);
        siglongjmp(*walk, 1);
    }
    int i = index_of(signo);
    chain_sigsafe(&g_vm_action[i < 0 ? 0 : i], signo, info, uc);
}

/* Puts the guard in front of the handler `signo` has now, keeping its
 * mask and flags.  0, or -1 with nothing changed. */
static int guard_one(int signo)
{
    int i = index_of(signo);
    struct sigaction cur;
    memset(&cur, 0, sizeof(cur)); /* the kernel fills 64 bits of the mask */
    if (g_real_sigaction(signo, NULL, &cur) != 0)
        return -1;
    g_vm_action[i] = cur;
    struct sigaction sa = cur;
    sa.sa_sigaction = fault_sigsafe;
    sa.sa_flags = (cur.sa_flags & ~SA_RESETHAND) | SA_SIGINFO;
    /* From here queries answer the VM's action, which is still the
     * kernel's until the install below. */
    atomic_store(&g_guarding[i], true);
    struct sigaction prev;
    if (g_real_sigaction(signo, &sa, &prev) != 0) {
        atomic_store(&g_guarding[i], false);
        return -1;
    }
    if (prev.sa_sigaction != cur.sa_sigaction || prev.sa_flags != cur.sa_flags) {
        /* Someone installed a handler between the two calls: theirs stays. */
        g_real_sigaction(signo, &prev, NULL);
        atomic_store(&g_guarding[i], false);
        return -1;
    }
    return 0;
}

int cg_jvm_guard_install(const struct cg_real_fns *real, const struct jvm_text *text,
                         size_t n_text)
{
    if (n_text == 0)
        return -1; /* no libjvm code known: no fault would ever be ours */
    struct sigaction cur;
    if (real->real_sigaction(SIGSEGV, NULL, &cur) != 0 || !(cur.sa_flags & SA_SIGINFO))
        return -1; /* not the VM's handler: leave faults alone */
    g_n_text = n_text < CG_JVM_TEXT_MAX ? n_text : CG_JVM_TEXT_MAX;
    memcpy(g_text, text, g_n_text * sizeof(*g_text));
    g_real_sigaction = real->real_sigaction;
    g_real_signal = real->real_signal;
    if (guard_one(SIGSEGV) != 0)
        return -1;
    if (guard_one(SIGBUS) != 0) {
        /* Both or neither: put the VM's SIGSEGV handler back. */
        atomic_store(&g_guarding[0], false);
        real->real_sigaction(SIGSEGV, &g_vm_action[0], NULL);
        return -1;
    }
    return 0;
}

NO_SANITIZE bool cg_jvm_guard_sigaction(int signo, const struct sigaction *act,
                                        struct sigaction *old, int *rc)
{
    int i = index_of(signo);
    if (i < 0 || !atomic_load(&g_guarding[i]))
        return false;
    if (!act) {
        if (old)
            *old = g_vm_action[i];
        *rc = 0;
        return true;
    }
    /* A handler of someone else's replaces the guard for good. */
    *rc = g_real_sigaction(signo, act, NULL);
    if (*rc == 0) {
        atomic_store(&g_guarding[i], false);
        if (old)
            *old = g_vm_action[i];
    }
    return true;
}

NO_SANITIZE bool cg_jvm_guard_signal(int signo, sighandler_t handler, sighandler_t *prev)
{
    int i = index_of(signo);
    if (i < 0 || handler == SIG_ERR || !atomic_load(&g_guarding[i]))
        return false;
    if (g_real_signal(signo, handler) == SIG_ERR) {
        *prev = SIG_ERR;
        return true;
    }
    atomic_store(&g_guarding[i], false);
    /* As glibc's signal() answers: the old action's handler field, which
     * is sa_sigaction's pointer for an SA_SIGINFO handler. */
    *prev = g_vm_action[i].sa_handler;
    return true;
}
