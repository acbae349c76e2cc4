/*
 * cpu_timer.h - one POSIX timer on one thread's CPU clock, delivered to
 * that thread (SIGEV_THREAD_ID).
 *
 * Raw syscalls are used instead of the libc wrappers: glibc's timer_create
 * rejects another thread's CPU clock id, and kernel timer ids let any
 * thread (the agent thread, the sigaction wrapper) arm, disarm or delete a
 * timer that targets another thread.  Timers are process-wide objects that
 * exec deletes and fork does not copy, which is what we want (an armed
 * ITIMER_PROF would survive exec and kill a program without the agent).
 *
 * Owns: nothing; the kernel owns the timers, callers (the registry's
 * slots) hold their ids.
 * Thread safety: all functions may be called from any thread.
 * Signal safety: cg_cpu_timer_disarm_sigsafe() is async-signal-safe (one
 * syscall); the others are not called from handlers.
 */
#ifndef CG_CPU_TIMER_H
#define CG_CPU_TIMER_H

#include <stdint.h>
#include <sys/types.h>

/* Creates a timer on thread `tid`'s CPU clock that sends `signo` to that
 * thread.  On success stores the kernel timer id in *timer_id_out and
 * returns 0; otherwise -errno (ESRCH: the thread is gone). */
int cg_cpu_timer_create(pid_t tid, int signo, int *timer_id_out);

/* Starts periodic expiry every `period_ns` of the thread's CPU time.  The
 * first expiry comes after a random fraction of one period so threads
 * created in lockstep do not all fire on the same tick. */
int cg_cpu_timer_arm(int timer_id, uint64_t period_ns);

/* Stops the timer (it stays allocated). */
int cg_cpu_timer_disarm_sigsafe(int timer_id);

/* Deletes the timer. */
int cg_cpu_timer_delete(int timer_id);

/* The kernel's tick rate (CONFIG_HZ), which is the most expiries per
 * second a thread CPU-clock timer can deliver: the kernel checks these
 * timers on the scheduler tick.  From the resolution of
 * CLOCK_MONOTONIC_COARSE (one tick), else /proc/config.gz or
 * /boot/config-RELEASE; 0 when none says.  Not signal-safe (the fallback
 * allocates). */
uint32_t cg_cpu_timer_kernel_hz(void);

/* The tick rate whose tick is `tick_ns` long (rounded), or 0 when that is
 * no plausible tick (outside 24..10000 Hz). */
uint32_t cg_cpu_timer_hz_from_tick_ns(uint64_t tick_ns);

/* Parses CONFIG_HZ out of kernel config text; 0 when absent (tests). */
uint32_t cg_cpu_timer_parse_config_hz(const char *text, size_t len);

#endif
