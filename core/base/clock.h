/*
 * clock.h - nanosecond and millisecond readings of the POSIX clocks, for
 * the agent's periods, deadlines and CPU accounting.
 *
 * Owns: nothing (inline wrappers of clock_gettime).
 * Thread safety: any thread.
 * Signal safety: async-signal-safe (clock_gettime is, and a vDSO call).
 */
#ifndef CG_CLOCK_H
#define CG_CLOCK_H

#include <stdint.h>
#include <time.h>

/* clk's current value in ns (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID, ...). */
static inline uint64_t cg_clock_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Milliseconds since the epoch (CLOCK_REALTIME): profile start and end. */
static inline uint64_t cg_clock_epoch_ms(void)
{
    return cg_clock_ns(CLOCK_REALTIME) / 1000000u;
}

#endif
