/*
 * cpu_burn.h - process CPU time for a workload to spend, for the agent to
 * sample.
 *
 * cpu_burn() runs a loop of integer arithmetic until the process has used
 * `seconds` more CPU time and returns a value that depends on every step,
 * so the caller can keep it (a volatile, or a test of it) and the loop is
 * not optimised away.  It is always inlined, so the samples land in the
 * caller's own noinline function (own_symbols_work, …), which its program
 * names as where it burns CPU.  Static: it adds nothing to what a program
 * exports (-rdynamic).
 *
 * Owns: nothing.
 * Thread safety: reentrant (CLOCK_PROCESS_CPUTIME_ID counts every thread).
 * Signal safety: async-signal-safe (clock_gettime only), though no
 * workload calls it from a handler.
 */
#ifndef CG_WORKLOADS_CPU_BURN_H
#define CG_WORKLOADS_CPU_BURN_H

#include <stdint.h>
#include <time.h>

static inline double cpu_burn_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline __attribute__((always_inline)) uint64_t cpu_burn(double seconds)
{
    uint64_t x = 1;
    double end = cpu_burn_now_s() + seconds;
    while (cpu_burn_now_s() < end)
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

#endif
