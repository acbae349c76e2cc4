/*
 * jvm_internal.h - what jvm.c (attach, callbacks, names),
 * jvm_sample.c (the handler's walk), jvm_guard.c (the fault guard around
 * it) and jvm_threads.c (thread states from JVMTI) share.  Private to
 * core/runtime/.
 *
 * Owns: the layout of struct cg_jvm and of the published sampler.  The
 * walk's per-thread state (JNIEnv cache, where the guard jumps to) is in
 * the thread's block (core/sample/threads.h, struct cg_thread_block).
 * Thread safety: the sampler is written once by the agent thread before
 * it is published (release) and never changed; it is unpublished at the
 * VM's death and never freed.
 * Signal safety: the sampler and the thread's block are read by the
 * signal handlers; the functions declared here are not async-signal-safe.
 */
#ifndef CG_JVM_INTERNAL_H
#define CG_JVM_INTERNAL_H

#include "core/runtime/jvm.h"

#include "core/base/thread_tls.h"
#include "core/sample/threads.h"

#include <jni.h>
/* jvmti.h declares one old-style function pointer type. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <jvmti.h>
#pragma GCC diagnostic pop
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>

struct asgct_trace;

struct jvm_sampler {
    void (*agct)(struct asgct_trace *trace, jint depth, void *ucontext);
    JavaVM *vm;
    pthread_key_t thread_key; /* HotSpot's key holding each thread's Thread* */
};

struct name_entry {
    uint64_t method; /* 0: empty */
    char *name;
    char *file;
    jvmtiLineNumberEntry *lines; /* JVMTI-allocated, sorted by bci */
    jint n_lines;
};

struct cg_jvm {
    struct cg_jvm_options opts;
    bool libjvm_loaded;
    bool failed;                /* gave up: native only */
    bool attached;
    uint64_t vm_seen_ns;        /* when JNI_GetCreatedJavaVMs first answered */
    jint (*get_vms)(JavaVM **, jsize, jsize *);
    JavaVM *vm;
    JNIEnv *env;                /* the agent thread's */
    jvmtiEnv *ti;
    struct jvm_sampler sampler;
    pthread_mutex_t lock;       /* every JVMTI call made here; guards dead */
    bool dead;
    struct name_entry *names;   /* open addressing, power-of-two size */
    size_t names_cap, names_used;
    size_t names_bytes;
    /* Thread states (jvm_threads.c); set at attach. */
    jfieldID eetop;             /* java.lang.Thread.eetop: its JavaThread* */
    long off_osthread;          /* Thread::_osthread (gHotSpotVMStructs); -1: unknown */
    long off_thread_id;         /* OSThread::_thread_id; -1: unknown */
    bool states_off;            /* gave up on thread states: logged once */
};

/* NULL until attached, NULL again after the VM's death. */
extern _Atomic(struct jvm_sampler *) cg_jvm_sampler;

/* [start, end) of one of libjvm's executable segments. */
struct jvm_text {
    uintptr_t start, end;
};
#define CG_JVM_TEXT_MAX 4

/* Installs the SIGSEGV/SIGBUS guard in front of the VM's handlers
 * (jvm_guard.c); a fault is the walk's only when its PC is in one of
 * text[0..n_text) (copied).  Returns 0, or -1 (nothing installed) when
 * the VM's handler is not there or no text is known.  Agent thread, once,
 * before the sampler is published. */
int cg_jvm_guard_install(const struct cg_real_fns *real, const struct jvm_text *text,
                         size_t n_text);

/* The walk's and the guard's per-thread state is the calling thread's
 * block (jvm_walk_jmp, set by jvm_sample.c around AsyncGetCallTrace to
 * the point jvm_guard.c jumps back to; the JNIEnv cache): the one the
 * thread's word points at (core/base/thread_tls.h), trusted only when its
 * owner is the calling thread.  NULL when the thread has none.
 * Async-signal-safe. */
static inline struct cg_thread_block *cg_jvm_thread_block_sigsafe(void)
{
    struct cg_thread_block *b = cg_thread_tls_block();
    return b && b->owner == cg_thread_tls_self() ? b : NULL;
}

/* PushLocalFrame(env, capacity): 0, or -1 with no exception left
 * pending.  Agent thread. */
static inline int cg_jvm_push_frame(JNIEnv *env, jint capacity)
{
    if ((*env)->PushLocalFrame(env, capacity) == 0)
        return 0;
    if ((*env)->ExceptionCheck(env))
        (*env)->ExceptionClear(env);
    return -1;
}

/* A JVMTI call just made n local references in the current frame (one
 * per class, one per thread): say so.  Without the agent nothing checks
 * this; with -Xcheck:jni the next JNI call would print "WARNING: JNI local
 * refs: N, exceeds capacity: M" on the program's output (the checker's
 * planned capacity becomes the request plus the live references plus 32,
 * so asking after they exist is enough).  The request is capped at
 * HotSpot's default MaxJNILocalCapacity, 65536, above which the VM says
 * no; the live references still count.  Agent thread. */
static inline void cg_jvm_ensure_capacity(JNIEnv *env, jint n)
{
    if (n > 65536)
        n = 65536;
    if (n > 0 && (*env)->EnsureLocalCapacity(env, n) != 0 && (*env)->ExceptionCheck(env))
        (*env)->ExceptionClear(env);
}

/* True in a fork child (cg_jvm_forget_in_child was called). */
bool cg_jvm_forgotten(void);

/* Reads the offsets that map a JavaThread* to its OS thread id from the
 * VM's exported gHotSpotVMStructs (jvm_threads.c).  Agent thread. */
void cg_jvm_threads_init(struct cg_jvm *jvm);

#endif
