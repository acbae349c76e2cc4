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
 *      thread and Thread* (cached in the thread's block, which the
 *      handler found before the walk: core/sample/threads.h).  GetEnv reads
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
 *   4. It can fault on an inconsistent frame.  The guard (jvm_guard.c)
 *      jumps back here when the fault is in libjvm's code during this
 *      call on this thread, and passes every other fault to the VM's
 *      handler.  A fault caught is counted, never fatal.
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

_Atomic(struct jvm_sampler *) cg_jvm_sampler;
static _Atomic bool g_forgotten;

static _Atomic uint64_t g_failures[CG_JVM_REASONS];

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
    /* The handler found (or cached) this thread's block before the walk;
     * without one there is nowhere to keep the guard's state. */
    struct cg_thread_block *block = cg_jvm_thread_block_sigsafe();
    if (!block)
        return 0;
    void *vm_thread = pthread_getspecific(s->thread_key);
    if (!vm_thread)
        return 0;
    if (vm_thread != block->jvm_thread) {
        JNIEnv *env = NULL;
        if ((*s->vm)->GetEnv(s->vm, (void **)&env, JNI_VERSION_1_6) != JNI_OK)
            env = NULL;
        block->jvm_env = env;
        block->jvm_thread = vm_thread;
    }
    if (!block->jvm_env)
        return 0;
    struct asgct_trace trace = {block->jvm_env, 0, (struct asgct_frame *)words};
    jint max_frames = (jint)(max_words / 2);
    /* The guard's jump buffer is on this frame's stack, which stays live
     * for the whole call: the block only points at it, and only during
     * the call (a fault elsewhere finds NULL).  savemask 0: no sigprocmask
     * per sample; the guard unblocks. */
    sigjmp_buf jmp;
    if (sigsetjmp(jmp, 0) == 0) {
        block->jvm_walk_jmp = &jmp;
        s->agct(&trace, max_frames, ucontext);
    } else {
        trace.num_frames = -(CG_JVM_REASONS - 1);
    }
    block->jvm_walk_jmp = NULL;
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
