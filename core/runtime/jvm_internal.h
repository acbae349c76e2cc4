/*
 * jvm_internal.h - what jvm.c (attach, callbacks, names) and
 * jvm_sample.c (the handler's walk and its fault guard) share.  Private
 * to core/runtime/.
 *
 * Owns: the layout of the published sampler.
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
#include <pthread.h>
#include <stdatomic.h>

struct asgct_trace;

struct jvm_sampler {
    void (*agct)(struct asgct_trace *trace, jint depth, void *ucontext);
    JavaVM *vm;
    pthread_key_t thread_key; /* HotSpot's key holding each thread's Thread* */
};

/* NULL until attached, NULL again after the VM's death. */
extern _Atomic(struct jvm_sampler *) cg_jvm_sampler;

/* Installs the SIGSEGV/SIGBUS guard in front of the VM's handlers.
 * Returns 0, or -1 (nothing installed) when the VM's handler is not
 * there. */
int cg_jvm_guard_install(const struct cg_real_fns *real);

/* True in a fork child (cg_jvm_forget_in_child was called). */
bool cg_jvm_forgotten(void);

#endif
