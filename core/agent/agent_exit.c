/*
 * agent_exit.c - the end of an agent: stop (the destructor: exit(),
 * return from main) and the _exit flush (the _exit/_Exit wrappers and the
 * exit-signal handler).
 *
 * Fork and exec need nothing here.  A fork child gets a fresh agent from
 * preload/'s atfork handler (cg_agent_new + cg_agent_start) and leaks its
 * copy of the parent's, which another thread may have been changing when
 * memory was copied; exec deletes every POSIX timer and LD_PRELOAD brings
 * a fresh agent into the new image.
 *
 * DESIGN: both ways out first ask whether a final report would keep
 * anything (cg_agent_has_data_sigsafe: a record in a ring, samples not
 * yet reported, a profile in the upload queue).  When nothing was
 * recorded (a fork child that execs or exits at once, a program too short
 * to take a sample) they return at once: that final report would write
 * and send nothing, so there is nothing to wait for.  Otherwise they set a
 * deadline, let the agent thread do the work (last drain, final report,
 * upload flush) and wait for it, bounded.  Both wake the thread through its
 * futex word (cg_agent_wake); the _exit path may run in a signal handler, where no lock may
 * be taken, so it sets exit_requested rather than stop_requested and sleeps on the `finished` futex word.
 * What it won't do: keep a process from exiting, or free what a late
 * signal could still read.
 */
#include "core/agent/agent_internal.h"

#include "core/base/error.h"
#include "core/base/log.h"
#include "core/base/own_thread.h"
#include "core/sample/threads.h"
#include "core/upload/uploader.h"

#include <limits.h>
#include <linux/futex.h>

bool cg_agent_has_data_sigsafe(struct cg_agent *a)
{
    /* This order matters: the agent thread stores `unreported` before it
     * moves a slot's records_taken on, and queues the report with the
     * uploader before it clears `unreported`; reading in the same order
     * (all sequentially consistent) cannot miss samples in transit. */
    /* A stand-down not yet logged (cg_agent_stand_aside_sigsafe) counts
     * too: the final round logs it. */
    return cg_threads_undrained_sigsafe(a->threads) || atomic_load(&a->unreported) ||
           cg_uploader_holds_sigsafe(a->uploader) || atomic_load(&a->aside_why) != NULL;
}

void cg_agent_wake(struct cg_agent *a)
{
    atomic_fetch_add(&a->wake_seq, 1);
    syscall(SYS_futex, (uint32_t *)&a->wake_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void cg_agent_drain_soon_sigsafe(struct cg_agent *a)
{
    if (!a)
        return;
    atomic_store(&a->drain_soon, true);
    cg_agent_wake(a);
}

void cg_agent_mark_finished(struct cg_agent *a)
{
    atomic_store(&a->finished, 1);
    syscall(SYS_futex, (uint32_t *)&a->finished, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

int cg_agent_stop(struct cg_agent *a, uint64_t timeout_ms)
{
    /* A stand-down the wrappers left to the agent thread is logged here if
     * that thread has not got to it (one of the two takes it). */
    cg_agent_finish_stand_aside(a);
    cg_uploader_stop_soon(a->uploader);
    atomic_store(&a->stopped, true);
    cg_agent_delete_timers(a);
    if (!a->thread_started)
        return 0;
    if (!cg_agent_has_data_sigsafe(a)) {
        /* The thread is left waiting: it ends with the process. */
        CG_DEBUG("nothing recorded since the last report: no final report");
        return 0;
    }
    uint64_t deadline = cg_clock_ns(CLOCK_MONOTONIC) + timeout_ms * 1000000u;
    uint64_t unset = 0;
    atomic_compare_exchange_strong(&a->stop_deadline_ns, &unset, deadline);
    pthread_mutex_lock(&a->wake_lock);
    a->stop_requested = true;
    cg_agent_wake(a);
    bool done = cg_own_thread_wait_done(&a->wake_cond, &a->wake_lock, &a->done, deadline);
    pthread_mutex_unlock(&a->wake_lock);
    if (!done) {
        CG_WARN("the final report did not finish within %llu ms; exiting without it",
                (unsigned long long)timeout_ms);
        return CG_ESTATE;
    }
    pthread_join(a->thread, NULL);
    a->thread_started = false;
    return 0;
}

void cg_agent_exit_flush_sigsafe(struct cg_agent *a, uint64_t timeout_ms)
{
    /* Only the process that owns this agent (not a vfork child sharing its
     * memory), only while its thread runs, and only when there is
     * something to report: most fork children exit with nothing. */
    if (!a || getpid() != a->pid || !a->thread_started || atomic_load(&a->finished) ||
        cg_agent_current_tid() == atomic_load(&a->tid) || !cg_agent_has_data_sigsafe(a))
        return;
    uint64_t now = cg_clock_ns(CLOCK_MONOTONIC);
    uint64_t deadline = now + timeout_ms * 1000000u;
    uint64_t unset = 0;
    atomic_compare_exchange_strong(&a->stop_deadline_ns, &unset, deadline);
    atomic_store(&a->exit_requested, true);
    cg_agent_wake(a);
    /* No lock, no condition variable: the agent thread is woken through
     * its futex word, and wakes this one when it is done.
     * A raw futex wait is a system call with no user-space state, so it
     * is async-signal-safe; EINTR or a spurious wake-up just loops. */
    uint64_t give_up = deadline + 200000000u;
    while (!atomic_load(&a->finished) && (now = cg_clock_ns(CLOCK_MONOTONIC)) < give_up) {
        uint64_t left = give_up - now;
        struct timespec ts = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
        syscall(SYS_futex, (uint32_t *)&a->finished, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
    }
}
