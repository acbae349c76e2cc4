/*
 * threads.h - the registry of profiled threads: one slot per thread, each
 * with its sample ring and its CPU timer.
 *
 * Slots live in one fixed array allocated at cg_threads_new(), so the
 * signal handler can look its slot up without locks or allocation.  A
 * slot moves FREE -> CLAIMED -> ACTIVE -> EXITED -> FREE:
 *   - a thread registers itself (pthread_create wrapper, constructor), or
 *     the agent thread registers a thread it found in /proc/self/task;
 *   - a thread marks its own slot EXITED from its TLS destructor, or the
 *     agent marks slots of threads that vanished;
 *   - only the agent thread (the consumer) frees EXITED slots, after it
 *     drained their rings.
 *
 * Owns: the slot array, every slot's ring and its thread's block (the
 * handlers' per-thread state, reached from the thread's one thread-local).
 * Thread safety: register/find/mark_exited may be called from any thread;
 * drain-side functions (for_each, reclaim) only from the consumer.
 * Signal safety: cg_threads_find_sigsafe() and cg_threads_undrained_sigsafe()
 * are async-signal-safe.
 */
#ifndef CG_THREADS_H
#define CG_THREADS_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cg_ring;

/* What the signal handlers keep per thread beyond their flags, in the
 * thread's slot instead of thread-locals (core/base/thread_tls.h: the
 * agent's one initial-exec thread-local points here).  Zeroed when the
 * slot is claimed; written only by the slot's own thread (its handlers,
 * or the thread setting its word), read by its handlers; 32 bytes, so
 * that the handler's stores stay off lines it would not otherwise touch.  A word left pointing at a slot that was
 * retired still points at readable memory: the registry is freed only
 * when no thread can have seen it (cg_threads_free). */
struct cg_thread_block {
    /* cg_thread_tls_self() of the thread this block serves, recorded by
     * that thread (when it registers, or at its handler's first sample);
     * NULL until then.  A thread trusts the block its word points at only
     * while this is its own: a slot retired and claimed for another thread
     * has another owner. */
    const void *owner;
    /* While AsyncGetCallTrace runs on this thread (core/runtime/
     * jvm_sample.c): the point the fault guard jumps back to
     * (core/runtime/jvm_guard.c), a buffer in the walk's own stack frame;
     * NULL outside the call. */
    sigjmp_buf *volatile jvm_walk_jmp;
    /* The Java walk's cache: HotSpot's Thread* seen last and its JNIEnv
     * (NULL: not a Java thread), so GetEnv runs once per thread. */
    void *jvm_thread;
    void *jvm_env;
};
/* The thread's word keeps three flags in a block pointer's low bits. */
_Static_assert(_Alignof(struct cg_thread_block) >= 8, "cg_thread_block alignment");

enum cg_slot_state {
    CG_SLOT_FREE = 0,
    CG_SLOT_CLAIMED = 1, /* being set up by the registering thread */
    CG_SLOT_ACTIVE = 2,
    CG_SLOT_EXITED = 3,  /* producer gone; consumer drains, then frees */
};

struct cg_thread_slot {
    _Atomic int state;          /* enum cg_slot_state */
    pid_t tid;                  /* kernel thread id */
    uint64_t start_ticks;       /* /proc start time: tells tid reuse apart;
                                   CG_START_TICKS_SELF or 0 (unknown) */
    _Atomic int timer_id;       /* kernel timer id, -1 when none; whoever
                                   exchanges it for -1 deletes it */
    bool has_timer;
    bool self_registered;       /* has a TLS destructor that will mark it EXITED */
    struct cg_ring *ring;
    uint64_t drops_reported;    /* consumer: ring drops already accounted */
    /* Written by the owning thread's handler only (relaxed), read by the
     * agent: the handler's own cost, for agentOverhead and `make bench`. */
    _Atomic uint64_t handler_ns;
    _Atomic uint64_t handler_calls;
    /* The thread's stack, [stack_lo, stack_hi), set by the thread itself
     * after registering (0, 0: unknown).  The handler's own stack walk
     * reads only inside it (core/sample/frame_rules.h). */
    _Atomic uint64_t stack_lo, stack_hi;
    /* The handler's last walk of this thread (core/sample/frame_rules.h):
     * allocated when the slot is claimed, used only by the owner's
     * handler; NULL when it could not be allocated. */
    struct cg_walk_memo *walk_memo;
    /* The thread's own per-thread state (see struct cg_thread_block). */
    struct cg_thread_block block;
    uint64_t handler_ns_reported; /* consumer */
    uint64_t handler_calls_reported; /* consumer */
    /* Records the consumer has taken from the ring (written by it only).
     * handler_calls counts the records committed (the handler bumps it
     * after each commit), so the two differ while the ring holds one:
     * how the _exit path tells, without a lock, whether there is anything
     * to report (cg_threads_undrained_sigsafe). */
    _Atomic uint64_t records_taken;
    /* Consumer only: the last wall-clock stack of this thread and the
     * (syscall, SP, PC) it was taken at; reused while they are unchanged. */
    long wall_nr;
    uint64_t wall_sp, wall_pc;
    uint64_t *wall_pcs;        /* malloc'd by the agent; freed on reclaim */
    size_t wall_depth;
};

struct cg_threads;

/* A registry with room for `max_threads` slots whose rings have
 * `ring_bytes` each.  Returns NULL when out of memory. */
struct cg_threads *cg_threads_new(size_t max_threads, size_t ring_bytes);

/* Frees every ring and the registry.  NULL-safe.  No producer may run:
 * call only when timers are deleted or in a fork child. */
void cg_threads_free(struct cg_threads *threads);

/* Claims a slot for `tid` and gives it a fresh ring.  Returns the ACTIVE
 * slot, or NULL when the registry is full or mmap failed (the caller
 * counts the thread as unprofiled).  Timers are the caller's job. */
struct cg_thread_slot *cg_threads_register(struct cg_threads *threads, pid_t tid,
                                           uint64_t start_ticks);

/* start_ticks of a slot its own thread registered: a thread registers
 * itself once, so another registration of that tid is another thread. */
#define CG_START_TICKS_SELF UINT64_MAX

/* Whether a thread whose start time is `start_ticks` (0: unknown) is not
 * the thread `slot` was registered for, though it has the same tid: the
 * slot was registered by its own thread (CG_START_TICKS_SELF), or both
 * start times are known and differ.  Unknown start times never count as
 * reuse.  Not async-signal-safe to call on a slot another thread may be
 * registering; the caller holds the registration lock. */
bool cg_threads_slot_reused(const struct cg_thread_slot *slot, uint64_t start_ticks);

/* The ACTIVE slot of `tid`, or NULL.  Async-signal-safe, lock-free. */
struct cg_thread_slot *cg_threads_find_sigsafe(struct cg_threads *threads, pid_t tid);

/* True when some slot (ACTIVE or EXITED) holds a record its consumer has
 * not taken yet: handler_calls != records_taken.  Async-signal-safe,
 * lock-free, one pass over the array.  A record committed while this runs
 * may be missed, as may one whose handler has not yet counted it; a slot
 * being registered or reclaimed may read as undrained (never the other
 * way): callers treat true as "maybe". */
bool cg_threads_undrained_sigsafe(struct cg_threads *threads);

/* Producer side is over for this slot (its thread exited or vanished). */
void cg_threads_mark_exited(struct cg_thread_slot *slot);

/* Calls fn for every ACTIVE or EXITED slot.  The consumer's; also safe
 * from a signal handler when fn only touches the slots' atomics (it reads
 * nothing else itself): the lock-free stand-down does that. */
void cg_threads_for_each(struct cg_threads *threads,
                         void (*fn)(struct cg_thread_slot *slot, void *ctx), void *ctx);

/* Consumer: frees an EXITED slot's ring and makes the slot FREE. */
void cg_threads_reclaim(struct cg_threads *threads, struct cg_thread_slot *slot);

/* Number of slots that are not FREE; and the registry's capacity. */
size_t cg_threads_count(const struct cg_threads *threads);
size_t cg_threads_capacity(const struct cg_threads *threads);

/* Bytes held by the registry and its rings. */
size_t cg_threads_bytes(const struct cg_threads *threads);

#endif
