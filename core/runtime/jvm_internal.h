/*
 * jvm_internal.h - what jvm.c (attach, callbacks, names),
 * jvm_sample.c (the handler's walk and its fault guard) and
 * jvm_threads.c (thread states from JVMTI) share.  Private to
 * core/runtime/.
 *
 * Owns: the layout of struct cg_jvm and of the published sampler.
 * Thread safety: the sampler is written once by the agent thread before
 * it is published (release) and never changed; it is unpublished at the
 * VM's death and never freed.
 * Signal safety: the sampler is read by the signal handler; the
 * functions declared here are not async-signal-safe.
 */
#ifndef CG_JVM_INTERNAL_H
#define CG_JVM_INTERNAL_H

#include "core/runtime/jvm.h"

#include <jni.h>
/* jvmti.h declares one old-style function pointer type. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <jvmti.h>
#pragma GCC diagnostic pop
#include <pthread.h>
#include <stdatomic.h>

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

/* Installs the SIGSEGV/SIGBUS guard in front of the VM's handlers.
 * Returns 0, or -1 (nothing installed) when the VM's handler is not
 * there. */
int cg_jvm_guard_install(const struct cg_real_fns *real);

/* True in a fork child (cg_jvm_forget_in_child was called). */
bool cg_jvm_forgotten(void);

/* Reads the offsets that map a JavaThread* to its OS thread id from the
 * VM's exported gHotSpotVMStructs (jvm_threads.c).  Agent thread. */
void cg_jvm_threads_init(struct cg_jvm *jvm);

#endif
