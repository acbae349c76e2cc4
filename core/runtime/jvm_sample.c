/*
 * jvm_sample.c - the signal handler's half of the Java support: a Java
 * thread's frames through AsyncGetCallTrace, and the guard around it.
 *
 * DESIGN: jvm.c publishes one struct jvm_sampler (AsyncGetCallTrace, the
 * JavaVM, HotSpot's pthread key of its Thread*) once attached, and takes
 * it back at the VM's death.  In the handler:
 *   1. pthread_getspecific(HotSpot's key) says whether this thread is a
 *      VM thread at all; it is what HotSpot's own signal handler uses
 *      (Thread::current_or_null_safe) because a plain read of a __thread
 *      variable of a dlopen'ed library can allocate.  A native thread the
 *      VM never saw stops here.
 *   2. For a VM thread, the JNIEnv comes from JavaVM::GetEnv, once per
 *      thread and Thread* (cached in initial-exec TLS).  GetEnv reads
 *      libjvm's __thread variable; the key being set means the VM wrote
 *      that variable on this thread, so the block exists.  Residual risk:
 *      if a library with TLS was dlopen'ed since this thread last touched
 *      TLS, glibc's __tls_get_addr updates the thread's vector first and
 *      may allocate; it happens once per thread, on its first sample.
 *      GC and compiler threads answer JNI_EDETACHED or have no Java
 *      frame: native stacks only.
 *   3. AsyncGetCallTrace writes ASGCT_CallFrame {jint bci; jmethodID}
 *      records, 16 bytes, straight into the ring record; each is then
 *      rewritten as a tagged bci word and the jmethodID (ring.h).
 *   4. It can fault on an inconsistent frame.  A SIGSEGV/SIGBUS handler,
 *      installed after the VM's own, jumps back out of the walk when the
 *      fault is ours (a TLS flag), and otherwise passes every fault to the
 *      handler it replaced, the VM's, which needs them (implicit null
 *      checks, safepoint polls).  A fault is counted, never fatal.
 * What it won't do: call into the VM after its death, or on a thread the
 * VM does not know.
 */
#include "core/runtime/jvm_internal.h"

#include "core/sample/ring.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

#define TLS_IE __attribute__((tls_model("initial-exec")))

_Atomic(struct jvm_sampler *) cg_jvm_sampler;
static _Atomic bool g_forgotten;

static __thread void *tls_vm_thread TLS_IE; /* HotSpot Thread* seen last */
static __thread JNIEnv *tls_env TLS_IE;     /* its JNIEnv; NULL: not Java */
static __thread volatile sig_atomic_t tls_in_walk TLS_IE;
static __thread sigjmp_buf tls_walk_jmp TLS_IE;

static _Atomic uint64_t g_failures[CG_JVM_REASONS];
static struct sigaction g_old_segv, g_old_bus; /* the VM's, chained to */
static int (*g_real_sigaction)(int, const struct sigaction *, struct sigaction *);

/* AsyncGetCallTrace's frame, written over the record's words. */
struct __attribute__((may_alias)) asgct_frame {
    jint bci;
    jmethodID method;
};
struct asgct_trace {
    JNIEnv *env;
    jint num_frames;
    struct asgct_frame *frames;
};

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
    if (tls_in_walk) {
        /* SIGSEGV/SIGBUS are blocked while this handler runs; unblock them
         * before leaving it by a jump, or the next fault of the VM's own
         * would kill the thread. */
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGSEGV);
        sigaddset(&s, SIGBUS);
        pthread_sigmask(SIG_UNBLOCK, &s, NULL);
        siglongjmp(tls_walk_jmp, 1);
    }
    chain_sigsafe(signo == SIGBUS ? &g_old_bus : &g_old_segv, signo, info, uc);
}

int cg_jvm_guard_install(const struct cg_real_fns *real)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = fault_sigsafe;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigfillset(&sa.sa_mask);
    sigdelset(&sa.sa_mask, SIGSEGV);
    sigdelset(&sa.sa_mask, SIGBUS);
    /* The VM's handler runs inside ours and must see the mask it asked
     * for: block what it blocks and no more. */
    struct sigaction cur;
    if (real->real_sigaction(SIGSEGV, NULL, &cur) != 0 || !(cur.sa_flags & SA_SIGINFO))
        return -1; /* not the VM's handler: leave faults alone */
    sa.sa_mask = cur.sa_mask;
    if (real->real_sigaction(SIGBUS, NULL, &g_old_bus) != 0)
        return -1;
    g_old_segv = cur;
    g_real_sigaction = real->real_sigaction;
    if (real->real_sigaction(SIGSEGV, &sa, NULL) != 0)
        return -1;
    if (real->real_sigaction(SIGBUS, &sa, NULL) != 0) {
        real->real_sigaction(SIGSEGV, &g_old_segv, NULL);
        return -1;
    }
    return 0;
}

void cg_jvm_forget_in_child(void)
{
    atomic_store(&g_forgotten, true);
    atomic_store(&cg_jvm_sampler, NULL);
}

bool cg_jvm_forgotten(void)
{
    return atomic_load(&g_forgotten);
}

static void count_failure_sigsafe(int reason)
{
    if (reason >= 0 && reason < CG_JVM_REASONS)
        atomic_fetch_add_explicit(&g_failures[reason], 1, memory_order_relaxed);
}

void cg_jvm_walk_failures(uint64_t out[CG_JVM_REASONS])
{
    for (int i = 0; i < CG_JVM_REASONS; i++)
        out[i] = atomic_load_explicit(&g_failures[i], memory_order_relaxed);
}

size_t cg_jvm_walk_sigsafe(void *ucontext, uint64_t *words, size_t max_words)
{
    /* Acquire pairs with the release in jvm.c's publish. */
    struct jvm_sampler *s = atomic_load_explicit(&cg_jvm_sampler, memory_order_acquire);
    if (!s || max_words < 2)
        return 0;
    void *vm_thread = pthread_getspecific(s->thread_key);
    if (!vm_thread)
        return 0;
    if (vm_thread != tls_vm_thread) {
        JNIEnv *env = NULL;
        if ((*s->vm)->GetEnv(s->vm, (void **)&env, JNI_VERSION_1_6) != JNI_OK)
            env = NULL;
        tls_env = env;
        tls_vm_thread = vm_thread;
    }
    if (!tls_env)
        return 0;
    struct asgct_trace trace = {tls_env, 0, (struct asgct_frame *)words};
    jint max_frames = (jint)(max_words / 2);
    tls_in_walk = 1;
    /* savemask 0: no sigprocmask per sample; fault_sigsafe unblocks. */
    if (sigsetjmp(tls_walk_jmp, 0) == 0)
        s->agct(&trace, max_frames, ucontext);
    else
        trace.num_frames = -(CG_JVM_REASONS - 1);
    tls_in_walk = 0;
    if (trace.num_frames > 0) {
        size_t n = (size_t)trace.num_frames;
        for (size_t i = 0; i < n; i++) {
            struct asgct_frame *f = (struct asgct_frame *)&words[2 * i];
            uint32_t bci = (uint32_t)f->bci;
            words[2 * i] = CG_JAVA_WORD_TAG | bci;
        }
        return 2 * n;
    }
    count_failure_sigsafe(-trace.num_frames);
    if (trace.num_frames == 0)
        return 0; /* a VM thread with no Java frame: native only */
    words[0] = CG_JAVA_WORD_TAG | (uint32_t)trace.num_frames;
    words[1] = 0;
    return 2;
}
