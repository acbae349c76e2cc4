/*
 * count_key.h - what kind of sample a record is: a CPU-timer sample of a
 * running thread, or a wall-clock sample of a thread that sleeps or is
 * blocked.  The sampler decides it (the handler, the wall-clock tick); the
 * key travels with the record through the ring and the raw-stack table
 * into the call tree, and names the counts of every output format.
 *
 * Owns: the enum and its names ("RUNNABLE", "WAITING", "BLOCKED",
 * "TIMED_WAITING", as CodeGuru Profiler spells them).
 * Thread safety: any thread; no state.
 * Signal safety: the enum is plain data the handler writes; the two
 * functions are not called from handlers (they are async-signal-safe all
 * the same: no allocation, no locks).
 */
#ifndef CG_COUNT_KEY_H
#define CG_COUNT_KEY_H

enum cg_count_key {
    CG_KEY_RUNNABLE = 0, /* CPU-timer samples */
    CG_KEY_WAITING = 1,  /* wall samples of threads sleeping (state S) */
    CG_KEY_BLOCKED = 2,  /* wall samples of threads in uninterruptible wait (D),
                          * or of Java threads blocked on a monitor */
    CG_KEY_TIMED_WAITING = 3, /* wall samples of Java threads waiting with a
                               * timeout (Thread.sleep, wait(ms), parkNanos) */
    CG_KEY_COUNT = 4,
};

/* "RUNNABLE", "WAITING", "BLOCKED", "TIMED_WAITING"; "UNKNOWN" for anything else. */
const char *cg_count_key_name(enum cg_count_key key);

/* 0 and *out, or CG_EINVAL for another name. */
int cg_count_key_parse(const char *name, enum cg_count_key *out);

#endif
