/*
 * cpu_account.h - the agent's own CPU time, split by activity: each
 * activity is bracketed by two CLOCK_THREAD_CPUTIME_ID reads on the thread
 * doing it (the agent or the upload thread), summed per period and written
 * as debugInfo.genericMetrics "agentCpuNs.<activity>" (docs/format.md).
 *
 * Owns: nothing (a plain array of counters the caller keeps).
 * Thread safety: a struct cg_cpu_account belongs to one thread.
 * Signal safety: cg_cpu_account_now is async-signal-safe (clock_gettime);
 * nothing here is used in the handler.
 */
#ifndef CG_CPU_ACCOUNT_H
#define CG_CPU_ACCOUNT_H

#include "core/base/clock.h"

#include <stdint.h>

enum cg_activity {
    CG_ACT_DRAIN,        /* rings into the raw-stack table */
    CG_ACT_THREAD_SCAN,  /* /proc/self/task: threads to register or retire */
    CG_ACT_WALL,         /* wall-clock stacks of threads off the CPU */
    CG_ACT_SYMBOLIZE,    /* symbol tables, names for PCs, the call tree */
    CG_ACT_ENCODE,       /* JSON, pprof and folded text */
    CG_ACT_LOCAL_WRITE,  /* files in CGAGENT_OUTPUT */
    CG_ACT_UPLOAD,       /* the upload thread, but for its encoding */
    CG_ACT_OTHER,        /* the rest of the agent thread (limits, loader checks) */
    CG_ACT_N
};

struct cg_cpu_account {
    uint64_t ns[CG_ACT_N];
};

/* The calling thread's CPU clock in ns: the start of an activity. */
static inline uint64_t cg_cpu_account_now(void)
{
    return cg_clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

/* Charges the CPU since `start_ns` (from cg_cpu_account_now on this
 * thread) to `act`; acc may be NULL (nothing counted). */
static inline void cg_cpu_account_add(struct cg_cpu_account *acc, enum cg_activity act,
                                      uint64_t start_ns)
{
    if (acc)
        acc->ns[act] += cg_cpu_account_now() - start_ns;
}

/* The activity's name in genericMetrics, after "agentCpuNs.". */
static inline const char *cg_activity_name(enum cg_activity act)
{
    static const char *const names[CG_ACT_N] = {
        "drain", "threadScan", "wallSampling", "symbolization",
        "encoding", "localWrite", "upload", "other",
    };
    return (unsigned)act < CG_ACT_N ? names[act] : "?";
}

#endif
