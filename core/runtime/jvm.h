/*
 * jvm.h - Java frames from inside a HotSpot JVM, with no flag on the
 * command line (docs/java.md).
 *
 * The agent thread polls: once libjvm.so is loaded and the VM is fully
 * created, it attaches itself as a daemon thread named "cgagent", takes a
 * JVMTI environment, makes jmethodIDs for every class (loaded ones now,
 * new ones from ClassPrepare) and publishes AsyncGetCallTrace to the
 * signal handler.  The handler (cg_jvm_walk_sigsafe) appends the
 * interrupted thread's Java frames to its record as tagged words
 * (core/sample/ring.h, CG_JAVA_WORD_TAG); the agent thread turns each
 * (jmethodID, bci) into "com.example.Foo.method" and the source file.
 * In a process that is not a JVM nothing here does more than one
 * dl_iterate_phdr per library load.
 *
 * Owns: the JVMTI environment, the jmethodID → name table and every name
 * it hands out (valid until cg_jvm_free), the published sampler, the
 * SIGSEGV/SIGBUS guard around AsyncGetCallTrace and what sigaction and
 * signal answer for those two signals while it is installed.
 * Thread safety: cg_jvm_poll, cg_jvm_frame and cg_jvm_wall_sample on the
 * agent thread; JVMTI callbacks run on the VM's threads and take the
 * object's lock.  After the VM's death no JVMTI call is made again.
 * Signal safety: cg_jvm_walk_sigsafe (see jvm_sample.c for the one
 * residual risk), cg_jvm_guard_sigaction and cg_jvm_guard_signal are
 * async-signal-safe; nothing else is.
 */
#ifndef CG_JVM_H
#define CG_JVM_H

#include "core/base/real_fns.h"
#include "core/sample/count_key.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cg_jvm;

struct cg_jvm_options {
    const struct cg_real_fns *real; /* libc's sigaction (borrowed) */
    /* Called on the thread that ends the VM (JVMTI VMDeath), before the
     * last JVMTI call: the agent names what its rings hold.  May block
     * for a bounded time.  NULL: nothing. */
    void (*before_death)(void *ctx);
    void *ctx;
};

/* A Java frame's names; strings borrowed from the jvm object. */
struct cg_java_frame {
    const char *name; /* "com.example.Foo.method", or a "[...]" placeholder */
    const char *file; /* "Foo.java", or NULL */
    int line;         /* source line, 0 when unknown */
};

/* Small and inert until a VM shows up.  NULL when out of memory. */
struct cg_jvm *cg_jvm_new(const struct cg_jvm_options *opts);

/* Frees names and tables.  Only for an object that never attached (an
 * attached VM may still call back): the agent leaks it at exit. */
void cg_jvm_free(struct cg_jvm *jvm);

/* Agent thread, every drain.  modules_changed: libraries were loaded or
 * unloaded since the last call.  Attaches once the VM is ready.  Returns
 * true while attached. */
bool cg_jvm_poll(struct cg_jvm *jvm, bool modules_changed);

/* Agent thread: names of the Java frame (method, bci), cached per
 * method.  Always fills *out (placeholders for unloaded classes, for a
 * walk that failed (method 0: bci holds the reason) and after the VM's
 * death for methods never seen before). */
void cg_jvm_frame(struct cg_jvm *jvm, uint64_t method, int32_t bci, struct cg_java_frame *out);

/* Bytes held by names and tables. */
size_t cg_jvm_bytes(const struct cg_jvm *jvm);

/* Fork child: the VM does not exist here; never attach or walk again. */
void cg_jvm_forget_in_child(void);

/* Walks the interrupted thread's Java stack into words (pairs of tagged
 * bci word and jmethodID, leaf first), at most max_words.  Returns the
 * words written: 0 when the thread is no Java thread, has no Java frame
 * or no VM is attached.  A failed walk writes one pair with method 0 and
 * the reason.  Async-signal-safe; call only from the profiling signal's
 * handler on the interrupted thread, once the thread's word points at its
 * own block (core/base/thread_tls.h): the JNIEnv cache and the fault
 * guard's state live there (0 without one). */
size_t cg_jvm_walk_sigsafe(void *ucontext, uint64_t *words, size_t max_words);

/* One Java thread off the CPU: its OS thread id, its Java frames as
 * words (pairs of tagged bci word and jmethodID, leaf first, as
 * cg_jvm_walk_sigsafe writes them; borrowed for the call) and its state. */
typedef void (*cg_jvm_wall_fn)(void *ctx, pid_t tid, const uint64_t *words, size_t n_words,
                               enum cg_count_key key);

/* Agent thread, each wall tick: one JVMTI GetAllStackTraces (a
 * safepoint); every Java thread that is BLOCKED (on a monitor), WAITING
 * or TIMED_WAITING and whose OS thread id is known goes to fn, its
 * methods already named.  RUNNABLE threads are not reported.  Returns how
 * many threads were reported, or -1 when thread states are not available
 * (no VM attached, VM dead, the VM exports no thread id offsets). */
int cg_jvm_wall_sample(struct cg_jvm *jvm, size_t max_frames, cg_jvm_wall_fn fn, void *ctx);

/* The sigaction and signal wrappers ask these first.  While the fault
 * guard holds SIGSEGV or SIGBUS (core/runtime/jvm_guard.c) they answer
 * for it: a query gets the JVM's own action, as without the agent (the
 * JVM's -Xcheck:jni compares it with what it installed); a new handler
 * is installed for real, replaces the guard for that signal for good, and
 * the caller is told the JVM's was there.  They set *rc (sigaction's
 * return value) or *prev (signal's) and return true; false: not theirs,
 * the wrapper goes on as usual.  Any thread; async-signal-safe. */
bool cg_jvm_guard_sigaction(int signo, const struct sigaction *act, struct sigaction *old,
                            int *rc);
bool cg_jvm_guard_signal(int signo, sighandler_t handler, sighandler_t *prev);

/* Walks per failure reason since start (index -num_frames of
 * AsyncGetCallTrace, 11: a fault caught inside it; index 0 counts walks
 * of VM threads with no Java frame, which are no failure). */
#define CG_JVM_REASONS 12
void cg_jvm_walk_failures(uint64_t out[CG_JVM_REASONS]);

#endif
